"""Lightning glue between a training notebook and its job."""

from __future__ import annotations

import math
from typing import Any

import lightning as L

from loclab import runtime

__all__ = ["MetricsReporter", "mlflow_logger"]


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

    The tracking URI is always passed explicitly: without it Lightning falls back to a file
    store under ``./mlruns``.
    """
    ctx = ctx or runtime.context()
    if not ctx.mlflow_run_id:
        return False
    from lightning.pytorch.loggers import MLFlowLogger

    return MLFlowLogger(tracking_uri=ctx.mlflow_tracking_uri, run_id=ctx.mlflow_run_id)
