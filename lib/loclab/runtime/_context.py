"""The job context and what a notebook reports through it (see :mod:`loclab.runtime`)."""

from __future__ import annotations

import atexit
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
from loclab.runtime._notebook import (
    calling_cell,
    draw_learning_curve,
    notebook_file,
    notebook_params,
    quiet_libraries,
    show_progress,
)
from loclab.runtime._secrets import drop_secret_columns

if TYPE_CHECKING:
    import pandas as pd

    from loclab.tracking.interactive import InteractiveRun

__all__ = [
    "CACHE_ENV",
    "LEARNING_CURVE_FILE",
    "METRIC_LINE_PREFIX",
    "PREDICTION_COLUMNS",
    "JobContext",
    "context",
    "latest_checkpoint",
    "log_metrics",
    "metric_regex",
    "set_tags",
    "shared_cache_dir",
    "show_learning_curve",
    "write_predictions",
]

#: Variable naming a data cache shared by the jobs of one machine (set by the launcher).
CACHE_ENV = "LOCLAB_CACHE_DIR"

#: Columns every ``predictions.parquet`` must have (more are welcome).
PREDICTION_COLUMNS = ("example_id", "label", "prediction", "score")
PREDICTIONS_FILE = "predictions.parquet"
TAGS_FILE = "tags.json"
#: The figure :func:`show_learning_curve` keeps in ``output/data``.
LEARNING_CURVE_FILE = "learning_curve.png"
#: Variables an interactive run reads (a job is handed its paths instead).
STATE_ENV = "LOCLAB_STATE_DIR"
TRACKING_ENV = "MLFLOW_TRACKING_URI"


@dataclass(frozen=True)
class JobContext:
    """Where a running notebook reads and writes.

    Attributes:
        name: The job name (``TRAINING_JOB_NAME``), the interactive run's name, or
            ``scratch-...`` outside a project.
        layout: The job's tree.
        interactive: True when no job launched this kernel (opened by hand).
        num_cpus: CPUs the job may use.
        num_gpus: GPUs the job may use.
        mlflow_tracking_uri: Where to log, when the job has a run.
        mlflow_run_id: The job's MLflow run (created by the launcher, or the interactive run).
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


_current: JobContext | None = None
_interactive: InteractiveRun | None = None
#: (cell, execution count) of the notebook cell that started the interactive run.
_started_by: tuple[str, int] | None = None


def context() -> JobContext:
    """The current job: from the ``SM_*`` variables, else an interactive run (module docstring).

    Calling it again returns the same context, except when the notebook cell that started an
    interactive run runs again (Run All a second time in the same kernel): that run is closed
    and a new one starts, so two passes never mix their metrics.
    """
    global _current, _started_by
    caller = calling_cell(depth=1)
    if _current is not None:
        rerun = (
            _current.interactive
            and caller is not None
            and _started_by is not None
            and caller[0] == _started_by[0]
            and caller[1] != _started_by[1]
        )
        if not rerun:
            return _current
        _finish_interactive()
    _current = _job_context() if os.environ.get("SM_MODEL_DIR") else _interactive_context()
    _started_by = caller
    return _current


def _job_context() -> JobContext:
    layout = JobLayout(Path(os.environ["SM_MODEL_DIR"]).parent)
    layout.create()
    return JobContext(
        name=os.environ.get("TRAINING_JOB_NAME", layout.root.name),
        layout=layout,
        interactive=False,
        num_cpus=_num_cpus(),
        num_gpus=int(os.environ.get("SM_NUM_GPUS", "0")),
        mlflow_tracking_uri=os.environ.get(TRACKING_ENV) or None,
        mlflow_run_id=os.environ.get("MLFLOW_RUN_ID") or None,
    )


def _interactive_context() -> JobContext:
    """A notebook opened by hand: an interactive run of its project, else a scratch folder."""
    global _interactive
    from loclab.spec import project_root

    notebook = notebook_file()
    root = project_root(notebook.parent if notebook is not None else Path.cwd())
    if root is None:
        layout = JobLayout(Path(tempfile.mkdtemp(prefix="loclab-scratch-")))
        layout.create()
        print(f"loclab: not in a loclab project; writing to scratch folder {layout.root}")
        return JobContext(f"scratch-{layout.root.name}", layout, True, _num_cpus(), 0, None, None)
    from loclab.paths import STATE_DIR, StateDir
    from loclab.tracking import default_tracking_uri

    folder = os.environ.get(STATE_ENV)
    state = StateDir(Path(folder).resolve() if folder else root / STATE_DIR)
    uri = os.environ.get(TRACKING_ENV) or default_tracking_uri(state)
    quiet_libraries()
    from loclab.tracking.interactive import InteractiveRun

    _interactive = InteractiveRun.start(
        state,
        project_root=root,
        notebook=notebook,
        params=notebook_params(notebook),
        tracking_uri=uri,
    )
    record = _interactive.record
    tracked = f"MLflow experiment '{record.mlflow_experiment}'" if record.mlflow_run_id else ""
    where = _interactive.layout.root
    print(f"loclab: interactive run {record.name} ({tracked or 'untracked'}); outputs in {where}")
    return JobContext(
        name=record.name,
        layout=_interactive.layout,
        interactive=True,
        num_cpus=_num_cpus(),
        num_gpus=0,
        mlflow_tracking_uri=uri if record.mlflow_run_id else None,
        mlflow_run_id=record.mlflow_run_id,
    )


def _num_cpus() -> int:
    return int(os.environ.get("SM_NUM_CPUS", os.cpu_count() or 1))


def _current_context() -> JobContext:
    """The context the notebook has (library calls never start a new interactive run)."""
    return _current if _current is not None else context()


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
    ctx = ctx or _current_context()
    values = {str(k): float(v) for k, v in metrics.items()}
    record = {"time": time.time(), "step": step, "metrics": values}
    ctx.layout.metrics_file.parent.mkdir(parents=True, exist_ok=True)
    with ctx.layout.metrics_file.open("a") as fh:
        fh.write(json.dumps(record, allow_nan=True) + "\n")
    if ctx.interactive:
        show_progress(values, step)
        if _interactive is not None and ctx.layout == _interactive.layout:
            _interactive.report(values, step)
    else:
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
    ctx = ctx or _current_context()
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
    frame = drop_secret_columns(frame, tuple(PREDICTION_COLUMNS))
    ctx = ctx or _current_context()
    path = ctx.output_data_dir / PREDICTIONS_FILE
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)
    if _interactive is not None and ctx.layout == _interactive.layout:
        _interactive.wrote_predictions(path)
    return path


def latest_checkpoint(ctx: JobContext | None = None) -> Path | None:
    """The checkpoint to resume from: ``last.ckpt`` if present, else the newest ``*.ckpt``.

    After a spot interruption SageMaker restores ``checkpoints/`` from S3 before the job
    restarts; every restored file then has the same modification time, so Lightning's
    ``last.ckpt`` is preferred over timestamps. Pass the result to
    ``Trainer.fit(ckpt_path=...)``.
    """
    ctx = ctx or _current_context()
    folder = Path(os.environ.get(CHECKPOINT_ENV, ctx.checkpoint_dir))
    found = list(folder.rglob("*.ckpt"))
    last = [p for p in found if p.name == "last.ckpt"]
    if last:
        return max(last, key=lambda p: p.stat().st_mtime)
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def show_learning_curve(*, ctx: JobContext | None = None) -> None:
    """Draw the per-epoch metrics reported so far, keep the figure, show it in the notebook.

    Losses (names containing ``loss``) and other metrics get one panel each. The figure is
    kept as ``output/data/learning_curve.png`` (an artifact of the run's MLflow run); nothing
    is drawn before an epoch was reported.
    """
    ctx = ctx or _current_context()
    draw_learning_curve(ctx.layout.metrics_file, ctx.output_data_dir / LEARNING_CURVE_FILE)


def _finish_interactive() -> None:
    """Close the interactive run (its kernel ends, or the notebook runs again)."""
    global _interactive
    if _interactive is not None:
        _interactive.finish()
        _interactive = None


atexit.register(_finish_interactive)


@lru_cache(maxsize=4)
def _mlflow_client(tracking_uri: str | None) -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri)
