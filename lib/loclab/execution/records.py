"""A finished job as the records keep it: everything a later reader needs, no run folder."""

from __future__ import annotations

import contextlib
import math

from loclab.execution.job import JobResult
from loclab.io import read_json
from loclab.results import EpochMetrics, ExperimentResults, JobRecord

__all__ = ["job_record", "job_tags"]

#: Labels a notebook writes for its job (``loclab.runtime.set_tags``).
TAGS_FILE = "tags.json"


def job_record(
    result: JobResult, *, backend: str = "local", results: ExperimentResults | None = None
) -> JobRecord:
    """The record of a finished job.

    Args:
        result: How the job ended.
        backend: Where it ran.
        results: The experiment's records; a job that did not complete gets a scrubbed copy
            of its executed notebook kept there, for the report to link.
    """
    tags = result.tags
    seed = tags.get("loclab.seed")
    copy = None
    if not result.ok and not result.skipped and results is not None:
        copy = results.keep_notebook(result.name, result.executed_notebook)
    return JobRecord(
        name=result.name,
        state=str(result.state),
        system=tags.get("loclab.system"),
        seed=int(seed) if seed not in (None, "") else None,
        role=tags.get("loclab.role"),
        key=result.key,
        failure=result.failure,
        exit_code=result.exit_code,
        started=result.started,
        ended=result.ended,
        cached=result.cached,
        backend=backend,
        mlflow_run_id=result.mlflow_run_id,
        tags=dict(tags),
        job_tags=job_tags(result),
        metrics=_finite(result.final_metrics()) if result.ok else {},
        epochs=[
            EpochMetrics(step=step, metrics=_finite(values))
            for step, values in result.epoch_metrics()
        ],
        run_dir=str(result.run_dir),
        executed_notebook=str(result.executed_notebook),
        predictions=str(result.predictions) if result.predictions.exists() else None,
        notebook_copy=copy,
    )


def job_tags(result: JobResult) -> dict[str, str]:
    """Labels the notebook wrote for its job (data fingerprint, validation set size...)."""
    path = result.layout.output_data_dir / TAGS_FILE
    if path.is_file():
        with contextlib.suppress(OSError, ValueError):
            found = read_json(path)
            if isinstance(found, dict):
                return {str(k): str(v) for k, v in found.items()}
    return {}


def _finite(values: dict[str, float]) -> dict[str, float]:
    out = {}
    for key, value in values.items():
        with contextlib.suppress(TypeError, ValueError):
            number = float(value)
            if math.isfinite(number):
                out[str(key)] = number
    return out
