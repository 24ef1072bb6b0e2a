"""Lightning glue between a training notebook and its job."""

from __future__ import annotations

import math
from typing import Any

import lightning as L

from loclab import runtime

__all__ = ["MetricsReporter", "fit", "mlflow_logger"]


class MetricsReporter(L.Callback):
    """Report validation metrics at the end of every validation epoch.

    The values go to stdout and ``checkpoints/metrics.jsonl``
    (see :func:`loclab.runtime.log_metrics`),
    where a sweep driver in another process reads them to prune. The kernel never talks to the
    study's storage: the same path works for a SageMaker job.

    Args:
        prefix: Only metrics whose name starts with this are reported (``"val_"`` by default).
    """

    def __init__(self, prefix: str = "val_") -> None:
        self.prefix = prefix

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Append this epoch's validation metrics."""
        if trainer.sanity_checking:
            return
        values: dict[str, float] = {}
        for name, value in trainer.callback_metrics.items():
            if name.startswith(self.prefix):
                number = float(value)
                values[name] = number if math.isfinite(number) else float("nan")
        if values:
            runtime.log_metrics(values, step=trainer.current_epoch, to_mlflow=False)


def mlflow_logger(ctx: runtime.JobContext | None = None) -> Any:
    """Lightning's MLflow logger bound to the job's run, or False when the job has none.

    The module's hyperparameters are logged as ``model.<name>`` next to the notebook's
    parameters. The tracking URI is always passed explicitly: without it Lightning falls back
    to a file store under ``./mlruns``.
    """
    ctx = ctx or runtime.context()
    if not ctx.mlflow_run_id:
        return False
    from lightning.fabric.utilities.logger import _convert_params, _flatten_dict
    from lightning.pytorch.loggers import MLFlowLogger

    class JobLogger(MLFlowLogger):
        """Logs the module's hyperparameters as ``model.<name>``.

        The job's run already holds the notebook's parameters, and a module's hyperparameter
        of the same name may differ (the MiniLM module's ``lr`` is the notebook's ``ft_lr``);
        MLflow refuses to change a logged value, which failed the job.
        """

        def log_hyperparams(self, params: Any) -> None:
            flat = _flatten_dict(_convert_params(params))
            super().log_hyperparams({f"model.{key}": value for key, value in flat.items()})

    return JobLogger(tracking_uri=ctx.mlflow_tracking_uri, run_id=ctx.mlflow_run_id)


def fit(
    module: L.LightningModule,
    datamodule: L.LightningDataModule,
    *,
    max_epochs: int,
    seed: int,
    ctx: runtime.JobContext | None = None,
    keep_best: bool = True,
) -> L.LightningModule:
    """Train ``module`` the way every loclab training notebook does, and return the model kept.

    Deterministic and seeded; per-epoch validation metrics reported for sweeps
    (:class:`MetricsReporter`) and logged to the job's MLflow run. With ``keep_best`` the epoch
    with the lowest ``val_loss`` is kept (its checkpoint, under the job's ``checkpoints/``,
    also lets a restarted job resume where it stopped); without it the last epoch is kept
    and nothing is written (for large models whose checkpoints would cost more than the
    epochs they save).

    Args:
        module: A loclab Lightning module with a ``load`` class method.
        datamodule: Its data.
        max_epochs: Training epochs.
        seed: Seed of every random choice in training.
        ctx: The job (the current one by default).
        keep_best: Keep the best validation epoch (and write checkpoints).

    Returns:
        The trained model (the best epoch's, reloaded, with ``keep_best``).
    """
    import logging

    from lightning.pytorch.callbacks import ModelCheckpoint

    ctx = ctx or runtime.context()
    # Lightning sets its loggers to INFO on import; its hardware banner is noise in a notebook.
    for name in ("lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)
    L.seed_everything(seed, workers=True, verbose=False)
    callbacks: list[L.Callback] = [MetricsReporter()]
    checkpoint = None
    if keep_best:
        checkpoint = ModelCheckpoint(
            dirpath=ctx.checkpoint_dir, monitor="val_loss", mode="min", save_last=True
        )
        callbacks.append(checkpoint)
    trainer = L.Trainer(
        max_epochs=max_epochs,
        deterministic=True,
        logger=mlflow_logger(ctx),
        callbacks=callbacks,
        enable_checkpointing=keep_best,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=ctx.checkpoint_dir,
    )
    resume = runtime.latest_checkpoint(ctx) if keep_best else None
    trainer.fit(module, datamodule=datamodule, ckpt_path=resume)
    if checkpoint is not None and checkpoint.best_model_path:
        best: L.LightningModule = type(module).load(checkpoint.best_model_path)  # type: ignore[attr-defined]
        return best
    return module
