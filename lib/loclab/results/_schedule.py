"""The schedule's state (``schedule.json``): baseline, status and since when, ticks, alerts.

Written by every tick of ``loclab schedule run`` (and by ``loclab schedule accept``); read by
the next tick (its baseline, the status an alert is a transition from), the report's "Since
the last good run" section and the reports index. Webhook URLs and passwords are never in it:
alert targets are kept as the spec writes them (``${MT_ALERT_WEBHOOK}``).
"""

from __future__ import annotations

from typing import ClassVar, Final, Literal

from pydantic import Field

from loclab.results._base import Record, RecordModel

__all__ = [
    "MAX_KEPT",
    "AlertSent",
    "ScheduleRecord",
    "ScheduleStatus",
    "Tick",
    "TickComparison",
    "TickOutcome",
]

SCHEDULE_SCHEMA: Final = "loclab.schedule/1"
#: Ticks and alerts kept in the record (older ones are dropped; the history keeps every run).
MAX_KEPT = 200

ScheduleStatus = Literal["new", "ok", "regressed", "failed"]
TickOutcome = Literal["baseline", "ok", "regressed", "failed", "skipped", "bad_input"]


class TickComparison(RecordModel):
    """One system on one metric, this run against the baseline run.

    Attributes:
        system: System key.
        label: Its display name.
        metric: Metric key.
        metric_name: Display name.
        higher_is_better: The metric's direction.
        value: This run's score.
        baseline_value: The baseline run's score.
        delta: ``value - baseline_value`` as the test estimates it.
        ci: Interval of ``delta`` adjusted for the family (0 lies outside it exactly when
            ``p_adjusted <= alpha``); None when the test gives none.
        ci_level: Confidence level of ``ci``.
        p_value: Raw two-sided p-value.
        p_adjusted: Holm-adjusted over every system and metric of the tick.
        decision: ``better``, ``worse``, ``no difference`` or ``too close to call`` (from
            ``loclab.stats.decide``, in the metric's own direction).
        regression: Significant and at least the practical threshold in the bad direction.
        threshold: The practical threshold applied (0 for none).
        test: The test used.
        paired: Whether examples were paired.
        n_examples: Examples the test used (shared ones when paired).
        sentence: The verdict in one sentence.
        warnings: Caveats.
    """

    system: str
    label: str = ""
    metric: str
    metric_name: str = ""
    higher_is_better: bool = True
    value: float | None = None
    baseline_value: float | None = None
    delta: float
    ci: tuple[float, float] | None = None
    ci_level: float = 0.95
    p_value: float
    p_adjusted: float
    decision: str
    regression: bool = False
    threshold: float = 0.0
    test: str = ""
    paired: bool = True
    n_examples: int | None = None
    sentence: str = ""
    warnings: list[str] = Field(default_factory=list)


class AlertSent(RecordModel):
    """One alert message, sent or not.

    Attributes:
        time: When it was attempted (seconds since the epoch).
        channel: ``webhook`` or ``email``.
        target: The target as the spec writes it (``${VAR}``, an address): never a URL.
        status: ``regression``, ``recovered`` or ``failure``.
        delivered: Whether the channel accepted it.
        attempts: Tries made.
        error: Why it was not delivered (the last try), None when it was.
    """

    time: float
    channel: str
    target: str
    status: str
    delivered: bool
    attempts: int = 1
    error: str | None = None


class Tick(RecordModel):
    """One tick of the schedule.

    Attributes:
        started: When it started (seconds since the epoch).
        ended: When it ended.
        outcome: ``baseline`` (the first run: nothing to compare with), ``ok``,
            ``regressed``, ``failed``, ``skipped`` (the previous tick was still running) or
            ``bad_input``.
        exit_code: What ``loclab schedule run`` exited with.
        run_id: The history point of its run.
        reused: The run was the previous one, reused unchanged (nothing changed since).
        baseline_run_id: The point it was compared with.
        attempts: Runs made (1 + retries used).
        failure: Why the run failed.
        comparisons: Every system and metric against the baseline.
        paired: Whether the comparison was paired (same test set), None without one.
        warnings: Caveats (an unpaired comparison, systems that appeared or went away...).
        missed: Scheduled times since the previous tick that had no tick (ISO 8601,
            the first ones when there are many).
        n_missed: How many there were.
        alerts: Messages sent by this tick.
        report: The report page written.
        published: Where the report was published, when it was.
    """

    started: float
    ended: float | None = None
    outcome: TickOutcome
    exit_code: int = 0
    run_id: str | None = None
    reused: bool = False
    baseline_run_id: str | None = None
    attempts: int = 0
    failure: str | None = None
    comparisons: list[TickComparison] = Field(default_factory=list)
    paired: bool | None = None
    warnings: list[str] = Field(default_factory=list)
    missed: list[str] = Field(default_factory=list)
    n_missed: int = 0
    alerts: list[AlertSent] = Field(default_factory=list)
    report: str | None = None
    published: str | None = None

    @property
    def regressions(self) -> list[TickComparison]:
        """The comparisons that regressed."""
        return [c for c in self.comparisons if c.regression]


class ScheduleRecord(Record):
    """The state of an experiment's schedule.

    Attributes:
        schema_: ``loclab.schedule/1``.
        experiment: The experiment's name.
        cron: The cron expression of the latest tick.
        timezone: Its time zone.
        baseline_mode: ``last_good``, ``previous`` or a pinned run id.
        baseline_run_id: The point the next tick is compared with (``last_good``: the
            latest run that did not regress, or the one accepted).
        accepted: When ``loclab schedule accept`` last made a run the baseline.
        status: ``new`` (no tick yet), ``ok``, ``regressed`` or ``failed``.
        since: When the status began (seconds since the epoch).
        since_run_id: The run it began with.
        last_tick: When the latest tick (skips included) started.
        ticks: The latest ticks, oldest first (at most :data:`MAX_KEPT`).
        alerts: The latest alerts, oldest first (at most :data:`MAX_KEPT`).
    """

    SCHEMA: ClassVar[str] = SCHEDULE_SCHEMA
    schema_: Literal["loclab.schedule/1"] = Field(default=SCHEDULE_SCHEMA, alias="schema")
    experiment: str
    cron: str = ""
    timezone: str = "UTC"
    baseline_mode: str = "last_good"
    baseline_run_id: str | None = None
    accepted: float | None = None
    status: ScheduleStatus = "new"
    since: float | None = None
    since_run_id: str | None = None
    last_tick: float | None = None
    ticks: list[Tick] = Field(default_factory=list)
    alerts: list[AlertSent] = Field(default_factory=list)

    @property
    def last(self) -> Tick | None:
        """The latest tick that was not skipped."""
        return next((t for t in reversed(self.ticks) if t.outcome != "skipped"), None)

    @property
    def skips(self) -> list[Tick]:
        """Ticks that found the previous one still running."""
        return [t for t in self.ticks if t.outcome == "skipped"]

    def with_tick(self, tick: Tick) -> ScheduleRecord:
        """This record with ``tick`` (and its alerts) appended, the oldest dropped."""
        return self.model_copy(
            update={
                "ticks": [*self.ticks, tick][-MAX_KEPT:],
                "alerts": [*self.alerts, *tick.alerts][-MAX_KEPT:],
                "last_tick": max(self.last_tick or 0.0, tick.started),
            }
        )
