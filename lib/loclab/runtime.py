"""What a notebook sees of its job, inside the kernel.

A notebook calls :func:`context` once and finds every path through it. Inside a job (local run
directory or SageMaker container) the paths come from the ``SM_*`` variables; opened by hand in
JupyterLab (no ``SM_*`` variables) the notebook gets a scratch tree under the system temp folder
and runs top to bottom with its defaults.

Metrics go three ways: a line on stdout (SageMaker's metric regexes read the job log), a JSON
line in ``checkpoints/metrics.jsonl`` (a sweep driver reads it to prune, locally or from S3),
and MLflow when the launcher handed the job a run (``MLFLOW_RUN_ID``).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loclab.execution.contract import (
    CHECKPOINT_ENV,
    METRIC_LINE_PREFIX,
    JobLayout,
    metric_regex,
    read_hyperparameters,
)
from loclab.io import atomic_path

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CACHE_ENV",
    "METRIC_LINE_PREFIX",
    "PREDICTION_COLUMNS",
    "JobContext",
    "context",
    "latest_checkpoint",
    "log_metrics",
    "metric_regex",
    "set_tags",
    "shared_cache_dir",
    "write_predictions",
]

#: Variable naming a data cache shared by the jobs of one machine (set by the launcher).
CACHE_ENV = "LOCLAB_CACHE_DIR"

#: Columns every ``predictions.parquet`` must have (more are welcome).
PREDICTION_COLUMNS = ("example_id", "label", "prediction", "score")
PREDICTIONS_FILE = "predictions.parquet"
TAGS_FILE = "tags.json"


@dataclass(frozen=True)
class JobContext:
    """Where a running notebook reads and writes.

    Attributes:
        name: The job name (``TRAINING_JOB_NAME``), or ``scratch-...`` when interactive.
        layout: The job's tree.
        interactive: True when no job launched this kernel (opened by hand).
        num_cpus: CPUs the job may use.
        num_gpus: GPUs the job may use.
        mlflow_tracking_uri: Where to log, when the launcher handed over a run.
        mlflow_run_id: The job's MLflow run, created by the launcher.
    """

    name: str
    layout: JobLayout
    interactive: bool
    num_cpus: int
    num_gpus: int
    mlflow_tracking_uri: str | None
    mlflow_run_id: str | None

    @property
    def model_dir(self) -> Path:
        """``SM_MODEL_DIR``: the trained model goes here."""
        return self.layout.model_dir

    @property
    def output_data_dir(self) -> Path:
        """``SM_OUTPUT_DATA_DIR``: predictions and other results go here."""
        return self.layout.output_data_dir

    @property
    def checkpoint_dir(self) -> Path:
        """Checkpoints (restored after a spot interruption)."""
        return self.layout.checkpoint_dir

    @property
    def hyperparameters(self) -> dict[str, str]:
        """The job's hyperparameters as strings, as SageMaker passes them."""
        return read_hyperparameters(self.layout)

    def channel(self, name: str) -> Path | None:
        """Folder of input channel ``name``, or None when the job has no such channel."""
        value = os.environ.get(f"SM_CHANNEL_{name.upper()}")
        if value:
            return Path(value)
        path = self.layout.channel_dir(name)
        return path if path.exists() else None


@lru_cache(maxsize=1)
def context() -> JobContext:
    """The current job, from the ``SM_*`` variables, or a scratch tree when there are none."""
    model_dir = os.environ.get("SM_MODEL_DIR")
    if model_dir:
        layout = JobLayout(Path(model_dir).parent)
        interactive = False
        name = os.environ.get("TRAINING_JOB_NAME", layout.root.name)
    else:
        layout = JobLayout(Path(tempfile.mkdtemp(prefix="loclab-scratch-")))
        interactive = True
        name = f"scratch-{layout.root.name}"
        print(f"loclab: no job variables set; writing to scratch folder {layout.root}")
    layout.create()
    return JobContext(
        name=name,
        layout=layout,
        interactive=interactive,
        num_cpus=int(os.environ.get("SM_NUM_CPUS", os.cpu_count() or 1)),
        num_gpus=int(os.environ.get("SM_NUM_GPUS", "0")),
        mlflow_tracking_uri=os.environ.get("MLFLOW_TRACKING_URI") or None,
        mlflow_run_id=os.environ.get("MLFLOW_RUN_ID") or None,
    )


def shared_cache_dir() -> Path:
    """The data cache the launcher shares between jobs, else a folder in the temp folder.

    The launcher names it in ``$LOCLAB_CACHE_DIR``.
    """
    value = os.environ.get(CACHE_ENV)
    return Path(value) if value else Path(tempfile.gettempdir()) / "loclab-data-cache"


def log_metrics(
    metrics: Mapping[str, float],
    step: int | None = None,
    *,
    to_mlflow: bool = True,
    ctx: JobContext | None = None,
) -> None:
    """Report metrics: stdout line, ``metrics.jsonl``, and MLflow when the job has a run.

    Args:
        metrics: Name to value; NaN and infinities are written as they are so a driver can
            fail the trial.
        step: Epoch (or step) the values belong to; None for final metrics.
        to_mlflow: Also log to the job's MLflow run (set False when a Lightning MLflow logger
            already does).
        ctx: The job; the current one by default.
    """
    ctx = ctx or context()
    values = {str(k): float(v) for k, v in metrics.items()}
    record = {"time": time.time(), "step": step, "metrics": values}
    ctx.layout.metrics_file.parent.mkdir(parents=True, exist_ok=True)
    with ctx.layout.metrics_file.open("a") as fh:
        fh.write(json.dumps(record, allow_nan=True) + "\n")
    shown = " ".join(f"{k}={v:.6g}" for k, v in values.items())
    where = "" if step is None else f"step={step} "
    print(f"{METRIC_LINE_PREFIX} {where}{shown}", flush=True)
    if to_mlflow and ctx.mlflow_run_id:
        client = _mlflow_client(ctx.mlflow_tracking_uri)
        finite = {k: v for k, v in values.items() if math.isfinite(v)}
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        client.log_batch(
            ctx.mlflow_run_id,
            metrics=[Metric(k, v, now, step or 0) for k, v in finite.items()],
        )


def set_tags(tags: Mapping[str, str], *, ctx: JobContext | None = None) -> None:
    """Attach tags (data fingerprint, ...) to the job and its MLflow run.

    Tags are also kept in ``output/data/tags.json`` so a launcher can copy them when the job ran
    where MLflow was not reachable.
    """
    ctx = ctx or context()
    path = ctx.output_data_dir / TAGS_FILE
    current = json.loads(path.read_text()) if path.exists() else {}
    current.update({str(k): str(v) for k, v in tags.items()})
    path.write_text(json.dumps(current, indent=2, sort_keys=True))
    if ctx.mlflow_run_id:
        client = _mlflow_client(ctx.mlflow_tracking_uri)
        for key, value in tags.items():
            client.set_tag(ctx.mlflow_run_id, str(key), str(value))


def write_predictions(frame: pd.DataFrame, *, ctx: JobContext | None = None) -> Path:
    """Write per-example test predictions to ``output/data/predictions.parquet``.

    Args:
        frame: One row per test example with at least ``example_id``, ``label``,
            ``prediction`` and ``score`` (the statistics stage pairs systems by example id).
        ctx: The job; the current one by default.

    Returns:
        The written file.
    """
    missing = [c for c in PREDICTION_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"predictions lack column(s) {missing}; required: {PREDICTION_COLUMNS}")
    if frame["example_id"].duplicated().any():
        raise ValueError("predictions have duplicate example_id values")
    ctx = ctx or context()
    path = ctx.output_data_dir / PREDICTIONS_FILE
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)
    return path


def latest_checkpoint(ctx: JobContext | None = None) -> Path | None:
    """The checkpoint to resume from: ``last.ckpt`` if present, else the newest ``*.ckpt``.

    After a spot interruption SageMaker restores ``checkpoints/`` from S3 before the job
    restarts; every restored file then has the same modification time, so Lightning's
    ``last.ckpt`` is preferred over timestamps. Pass the result to
    ``Trainer.fit(ckpt_path=...)``.
    """
    ctx = ctx or context()
    folder = Path(os.environ.get(CHECKPOINT_ENV, ctx.checkpoint_dir))
    found = list(folder.rglob("*.ckpt"))
    last = [p for p in found if p.name == "last.ckpt"]
    if last:
        return max(last, key=lambda p: p.stat().st_mtime)
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


@lru_cache(maxsize=4)
def _mlflow_client(tracking_uri: str | None) -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri)
