"""The sweep's MLflow runs: the sweep's own run (reopened on resume) and each trial's tags."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna

    from loclab.results import SweepRecord
    from loclab.spec import Experiment
    from loclab.sweep.storage import StudyLocation
    from loclab.tracking import Tracker

__all__ = ["STUDY_RUN_ATTR", "close_sweep_run", "open_sweep_run", "tag_trial_run"]

#: Study user attribute holding the sweep's MLflow parent run (reused when a sweep resumes).
STUDY_RUN_ATTR = "loclab.mlflow_run_id"


def open_sweep_run(
    tracker: Tracker,
    exp: Experiment,
    location: StudyLocation,
    study: optuna.Study,
    parent_run_id: str | None,
) -> str:
    """The sweep's MLflow run: reopened when the sweep resumes, else created."""
    found = study.user_attrs.get(STUDY_RUN_ATTR)
    if found:
        try:
            tracker.client.get_run(found)
            tracker.client.update_run(found, status="RUNNING")
            return str(found)
        except Exception:
            pass  # another tracking store: start a run in this one
    sweep = exp.spec.sweep
    assert sweep is not None
    run_id = tracker.start_run(
        exp.name,
        f"{exp.name}-sweep",
        parent_run_id=parent_run_id,
        tags={
            "loclab.stage": "sweep",
            "optuna.study_name": location.name,
            "optuna.storage": location.display,
            "loclab.metric": sweep.metric,
            "loclab.direction": sweep.direction,
        },
        params={
            "sweep.n_trials": sweep.n_trials,
            "sweep.sampler": sweep.sampler,
            "sweep.pruner": sweep.pruner,
            "sweep.workers": sweep.workers,
            "sweep.seed": sweep.seed,
            **{f"space.{k}": v.model_dump(exclude_defaults=True) for k, v in sweep.space.items()},
        },
    )
    study.set_user_attr(STUDY_RUN_ATTR, run_id)
    return run_id


def close_sweep_run(
    tracker: Tracker, run_id: str, record: SweepRecord, path: Path, status: str
) -> None:
    """Counts and the best trial as tags, the record as an artifact, the final status."""
    tags: dict[str, Any] = {
        "loclab.complete": record.counts.complete,
        "loclab.pruned": record.counts.pruned,
        "loclab.failed": record.counts.failed,
        "loclab.finished": record.finished,
    }
    best = record.best
    if best is not None:
        tags["best.trial"] = best.number
        tags["best.value"] = best.value
        tags.update({f"best.{k}": v for k, v in best.params.items()})
        tracker.log_metrics(run_id, {f"best_{record.metric}": best.value})
    try:
        tracker.set_tags(run_id, tags)
        tracker.log_artifact(run_id, path)
    finally:
        tracker.end_run(run_id, status)


def tag_trial_run(
    tracker: Tracker, run_id: str, state: str, value: float | None, failure: str | None = None
) -> None:
    """How a trial ended, on its MLflow run (a failed trial's run is closed FAILED)."""
    tags: dict[str, Any] = {"optuna.trial_state": state}
    if value is not None and math.isfinite(value):
        tags["optuna.value"] = value
    if failure is not None:
        tags["loclab.failure"] = failure
    tracker.set_tags(run_id, tags)
    if state == "FAIL":
        # A job can finish cleanly and still fail the trial (no metric, NaN).
        tracker.end_run(run_id, "FAILED")
