"""What a notebook sees of its job, inside the kernel.

A notebook calls :func:`context` once and finds every path through it. Inside a job (local run
directory or SageMaker container) the paths come from the ``SM_*`` variables. Opened by hand
(no ``SM_*`` variables) in a loclab project, the notebook is an *interactive run*: its tree is
``<state>/interactive/<run>/`` (``.loclab/`` of the project found from the notebook's folder,
or ``$LOCLAB_STATE_DIR``), and it logs its parameters and metrics to the project's MLflow store
(or ``$MLFLOW_TRACKING_URI``), tagged ``loclab.interactive=true``. Outside any project it writes
to a scratch folder, untracked.

Metrics go three ways: a line on stdout (SageMaker's metric regexes read the job log), a JSON
line in ``checkpoints/metrics.jsonl`` (a sweep driver reads it to prune, locally or from S3),
and MLflow when the job has a run (``MLFLOW_RUN_ID``, or the interactive run). A person at the
notebook sees one line per cell updated epoch by epoch instead of the protocol lines, and
:func:`show_learning_curve` draws the curve.
"""

from loclab.execution.contract import METRIC_LINE_PREFIX, metric_regex
from loclab.runtime._context import (
    CACHE_ENV,
    LEARNING_CURVE_FILE,
    PREDICTION_COLUMNS,
    JobContext,
    context,
    latest_checkpoint,
    log_metrics,
    set_tags,
    shared_cache_dir,
    show_learning_curve,
    write_predictions,
)
from loclab.runtime._secrets import register_job_secrets, secret_param

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
    "secret_param",
    "set_tags",
    "shared_cache_dir",
    "show_learning_curve",
    "write_predictions",
]

register_job_secrets()
