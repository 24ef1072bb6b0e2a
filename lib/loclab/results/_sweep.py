"""The sweep record (``sweep.json``): the study's trials, its winners and what explains them."""

from __future__ import annotations

from typing import Any, ClassVar, Final, Literal

from pydantic import Field

from loclab.results._base import Record, RecordModel

__all__ = ["SweepRecord", "TrialCounts", "TrialRecord", "Winner"]

SWEEP_SCHEMA: Final = "loclab.sweep/2"


class TrialRecord(RecordModel):
    """One trial of the study.

    Attributes:
        number: Optuna's trial number.
        state: ``COMPLETE``, ``PRUNED``, ``FAIL``, ``RUNNING`` or ``WAITING``.
        value: The objective (a pruned trial: its last reported value), else None.
        params: The searched parameters' values.
        intermediate: Step to the sweep metric's value reported at that step.
        duration_s: Seconds from start to end, when it ended.
        last_step: The last step it reported.
        failure: Why it failed (or was stopped), else None.
        job: Its job's name.
        attempt: Attempt number of its job (a trial queued again after a crash runs again).
        requeued_from: The trial it re-runs after a crash, if any.
        run_dir: Its job's run folder (for people; the report never opens it).
        mlflow_run_id: Its MLflow run.
        notebook_copy: A scrubbed copy of the executed notebook of a trial that did not
            complete, relative to the results folder.
        job_tags: Labels its notebook wrote (data fingerprint, validation set size...).
    """

    number: int
    state: str
    value: float | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    intermediate: dict[int, float] = Field(default_factory=dict)
    duration_s: float | None = None
    last_step: int | None = None
    failure: str | None = None
    job: str | None = None
    attempt: int = 1
    requeued_from: int | None = None
    run_dir: str | None = None
    mlflow_run_id: str | None = None
    notebook_copy: str | None = None
    job_tags: dict[str, str] = Field(default_factory=dict)


class Winner(RecordModel):
    """A configuration handed to the comparison stage: rank 1 is the best.

    Attributes:
        rank: 1-based rank among completed trials with distinct parameters.
        number: The trial's number.
        value: Its objective value.
        params: The searched parameters' values.
    """

    rank: int
    number: int
    value: float
    params: dict[str, Any]


class TrialCounts(RecordModel):
    """Trials by state."""

    complete: int = 0
    pruned: int = 0
    failed: int = 0
    running: int = 0
    waiting: int = 0

    @property
    def finished(self) -> int:
        """Complete plus pruned: the trials that count towards ``n_trials``."""
        return self.complete + self.pruned

    @property
    def total(self) -> int:
        return self.complete + self.pruned + self.failed + self.running + self.waiting


class SweepRecord(Record):
    """The sweep's outcome, with everything a report or a later stage needs.

    Attributes:
        schema_: ``loclab.sweep/2``.
        experiment: The experiment's name.
        study_name: The Optuna study.
        storage: Where the study lives (a journal file or a database URL without password).
        storage_kind: ``journal`` or ``rdb``.
        metric: The metric optimized.
        direction: ``maximize`` or ``minimize``.
        n_trials: Finished trials asked for.
        sampler: The sampler's name.
        pruner: The pruner's name.
        counts: Trials by state.
        finished: True when ``n_trials`` trials are complete or pruned.
        winners: Best completed configurations with distinct parameters, best first.
        importances: Parameter to its importance (fANOVA), or None when not computable.
        importances_note: Why importances are missing, when they are.
        validation_examples: Examples the sweep metric is measured on, when the trials said
            (its sampling noise is shown in figures).
        mlflow_run_id: The sweep's MLflow run.
        trials: Every trial.
        inputs_key: Content address of the sweep (its section, the notebook, the job code,
            the fixed parameters): a finished sweep with the same key runs nothing new.
    """

    SCHEMA: ClassVar[str] = SWEEP_SCHEMA
    schema_: Literal["loclab.sweep/2"] = Field(default=SWEEP_SCHEMA, alias="schema")
    experiment: str
    study_name: str
    storage: str
    storage_kind: str
    metric: str
    direction: Literal["maximize", "minimize"]
    n_trials: int
    sampler: str = ""
    pruner: str = ""
    counts: TrialCounts = Field(default_factory=TrialCounts)
    finished: bool = False
    winners: list[Winner] = Field(default_factory=list)
    importances: dict[str, float] | None = None
    importances_note: str = ""
    validation_examples: int | None = None
    mlflow_run_id: str | None = None
    trials: list[TrialRecord] = Field(default_factory=list)
    inputs_key: str = ""

    @property
    def best(self) -> Winner | None:
        """The best completed trial, or None when none completed."""
        return self.winners[0] if self.winners else None

    def winner(self, rank: int) -> Winner | None:
        """The configuration of rank ``rank`` (1 = best), or None when there is none."""
        return next((w for w in self.winners if w.rank == rank), None)
