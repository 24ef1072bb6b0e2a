"""Optuna sweeps over notebook parameters: parallel, pruned, crash-safe, tracked.

An ask/tell driver (:class:`SweepDriver`) owns the study; each trial is a job of
:mod:`loclab.execution` (its own process, kernel and run folder). Trials report per-epoch
metrics through ``checkpoints/metrics.jsonl``; the driver prunes them. Trials run as local
processes or, with ``backend: sagemaker``, as SageMaker training jobs (``workers`` at once). A
driver killed mid-sweep resumes where it stopped: a job that outlived it (SageMaker) is adopted
and its trial told when it ends; other trials it left running are failed and queued again.
"""

from loclab.sweep.driver import SweepDriver, SweepFailedError, SweepOutcome, job_name
from loclab.sweep.progress import SweepSnapshot, render_status
from loclab.sweep.results import build_record
from loclab.sweep.stage import run_sweep_stage
from loclab.sweep.storage import (
    StudyLocation,
    StudyNotFoundError,
    load_study,
    locate,
    open_study,
    resolve_location,
)

__all__ = [
    "StudyLocation",
    "StudyNotFoundError",
    "SweepDriver",
    "SweepFailedError",
    "SweepOutcome",
    "SweepSnapshot",
    "build_record",
    "job_name",
    "load_study",
    "locate",
    "open_study",
    "render_status",
    "resolve_location",
    "run_sweep_stage",
]
