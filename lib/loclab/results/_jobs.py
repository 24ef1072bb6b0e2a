"""The jobs record (``jobs.json``): one ``loclab run`` and the jobs of its job stage."""

from __future__ import annotations

from typing import Any, ClassVar, Final, Literal

from pydantic import Field

from loclab.results._base import EpochMetrics, Record, RecordModel
from loclab.spec import Spec

__all__ = ["JobRecord", "JobsRecord"]

JOBS_SCHEMA: Final = "loclab.jobs/2"


class JobRecord(RecordModel):
    """One job: how it ended and what it reported, stored so nothing needs its run folder.

    Attributes:
        name: Job name (also its run folder's name).
        state: ``COMPLETED``, ``FAILED``, ``TIMEOUT``, ``STOPPED`` or ``KILLED``.
        system: The compared system it ran (``run`` for a single job).
        seed: Its training seed, when it has one.
        role: ``baseline`` or ``candidate`` (comparison jobs).
        key: Content address of its inputs.
        failure: Why it did not complete (one line), else None.
        exit_code: Exit code of the job process, when known.
        started: Start time (seconds since the epoch).
        ended: End time.
        cached: True when an earlier identical run was reused.
        backend: ``local`` or ``sagemaker``.
        mlflow_run_id: Its MLflow run.
        tags: Labels the launcher gave it (system, seed, trial...).
        job_tags: Labels the notebook wrote (``output/data/tags.json``: data fingerprint...).
        metrics: Final metrics (reported without a step).
        epochs: Per-epoch metrics, in order (its learning curve).
        run_dir: Its run folder (for people; the report never opens it).
        executed_notebook: The executed notebook in its run folder.
        predictions: Its ``predictions.parquet``, when it wrote one.
        notebook_copy: A scrubbed copy of the executed notebook of a job that did not
            complete, relative to the results folder (the report links to it).
    """

    name: str
    state: str
    system: str | None = None
    seed: int | None = None
    role: str | None = None
    key: str = ""
    failure: str | None = None
    exit_code: int | None = None
    started: float = 0.0
    ended: float = 0.0
    cached: bool = False
    backend: str = "local"
    mlflow_run_id: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    job_tags: dict[str, str] = Field(default_factory=dict)
    metrics: dict[str, float] = Field(default_factory=dict)
    epochs: list[EpochMetrics] = Field(default_factory=list)
    run_dir: str = ""
    executed_notebook: str = ""
    predictions: str | None = None
    notebook_copy: str | None = None

    @property
    def ok(self) -> bool:
        """True when the job completed."""
        return self.state == "COMPLETED"

    @property
    def duration(self) -> float:
        """Seconds it ran (0 when unknown)."""
        return max(0.0, self.ended - self.started)


class JobsRecord(Record):
    """One run of an experiment (``loclab run`` / ``loclab compare``) and its job stage.

    The spec as run is stored here, once; every later reader gets it back typed.

    Attributes:
        schema_: ``loclab.jobs/2``.
        experiment: The experiment's name.
        spec_path: The spec file.
        spec: The spec as run (validated, defaults filled in).
        params: The spec's ``params`` plus the command line's ``-p`` values, typed.
        status: ``RUNNING`` while it runs, then ``FINISHED``, ``FAILED`` or ``KILLED``.
        started: Start time (seconds since the epoch).
        ended: End time (None while running).
        mlflow_parent_run_id: The experiment's MLflow run.
        provenance: Provenance tags (git SHA and dirty flag, versions, host).
        jobs: The job stage's jobs (empty for a sweep-only experiment).
    """

    SCHEMA: ClassVar[str] = JOBS_SCHEMA
    schema_: Literal["loclab.jobs/2"] = Field(default=JOBS_SCHEMA, alias="schema")
    experiment: str
    spec_path: str
    spec: Spec
    params: dict[str, Any] = Field(default_factory=dict)
    status: Literal["RUNNING", "FINISHED", "FAILED", "KILLED"] = "RUNNING"
    started: float
    ended: float | None = None
    mlflow_parent_run_id: str | None = None
    provenance: dict[str, str] = Field(default_factory=dict)
    jobs: list[JobRecord] = Field(default_factory=list)

    def job(self, name: str) -> JobRecord | None:
        """The job called ``name``, if it is in the record."""
        return next((j for j in self.jobs if j.name == name), None)
