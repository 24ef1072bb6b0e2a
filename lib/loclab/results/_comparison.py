"""The comparison record (``comparison.json``): tests, verdicts, breakdowns and ranking.

Verdict fields come from :class:`loclab.stats.Verdict` and its test's result; the models
that carry them (:class:`ComparisonEntry`, :class:`RankingRecord`) keep any further field
the statistics add, typed where declared here. Every field a reader reads is declared.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final, Literal

from pydantic import ConfigDict, Field

from loclab.results._base import Record, RecordModel
from loclab.results._source import InteractiveSource

__all__ = [
    "Answer",
    "BreakdownRow",
    "Breakdowns",
    "ComparisonEntry",
    "ComparisonRecord",
    "Family",
    "MetricInfo",
    "MetricSummary",
    "MissingJob",
    "RankingGroup",
    "RankingRecord",
    "SystemSummary",
]

COMPARISON_SCHEMA: Final = "loclab.comparison/2"


class MetricInfo(RecordModel):
    """A compared metric.

    Attributes:
        key: Its name in the spec.
        name: Display name.
        source: ``predictions``, ``corpus`` or ``final``.
        kind: ``binary``, ``continuous``, ``corpus`` or ``run``.
        role: ``confirmatory`` (the first, deciding metric) or ``secondary``.
        higher_is_better: Its direction.
        options: Options of a corpus metric (tokenizer...), when it has any.
        signature: A sacrebleu metric's signature (exactly how the score was computed).
        scale: Multiplier of differences for display (100: proportions as points).
        scale_unit: Unit of displayed differences (``points`` or "").
        digits: Decimals of displayed differences.
        percent: Whether scores read as percentages.
    """

    key: str
    name: str
    source: str
    kind: str
    role: str
    higher_is_better: bool = True
    options: dict[str, Any] | None = None
    signature: str | None = None
    scale: float = 1.0
    scale_unit: str = ""
    digits: int = 3
    percent: bool = False


class MetricSummary(RecordModel):
    """One metric of one system over its runs: mean and 95 % interval across seeds.

    Attributes:
        mean: Mean over runs (None without finite values).
        sd: Standard deviation across runs (None with fewer than two).
        ci: 95 % t-interval of the mean across runs (None with fewer than two).
        n: Runs with a finite value.
        name: Display name.
        source: ``predictions``, ``corpus`` or ``final``.
        per_seed: Seed (``run`` when unknown) to value.
    """

    mean: float | None = None
    sd: float | None = None
    ci: tuple[float, float] | None = None
    n: int = 0
    name: str = ""
    source: str = ""
    per_seed: dict[str, float | None] = Field(default_factory=dict)


class SystemSummary(RecordModel):
    """One compared system.

    Attributes:
        name: System key.
        label: Name shown to readers.
        role: ``baseline`` or ``candidate``.
        n_seeds: Completed runs.
        seeds: Seed of each run (None when unknown).
        jobs: Job name of each run.
        metrics: Metric key to its summary.
        confidence: Level of the intervals.
        deterministic: Its runs were identical on every seed: it ignores its training seed.
        skipped_seeds: Seeds not run because the system proved deterministic.
        interactive: Where it came from when it is an interactive run (a notebook run by
            hand, one training run), not jobs.
    """

    name: str
    label: str
    role: str
    n_seeds: int
    seeds: list[int | None] = Field(default_factory=list)
    jobs: list[str] = Field(default_factory=list)
    metrics: dict[str, MetricSummary] = Field(default_factory=dict)
    confidence: float = 0.95
    deterministic: bool = False
    skipped_seeds: list[int] = Field(default_factory=list)
    interactive: InteractiveSource | None = None


class Family(RecordModel):
    """Comparisons adjusted together (one per compared metric).

    Attributes:
        metric: Metric key.
        metric_name: Display name.
        role: ``confirmatory`` or ``secondary``.
        correction: Adjustment (``holm``, ``bh``, ``bonferroni``, ``none``).
        family_size: Comparisons adjusted together.
        alpha: Error rate controlled.
        threshold: Practical threshold applied (0 for none).
        systems: Candidates tested against the baseline.
        summary: The family's outcome in one paragraph.
    """

    metric: str
    metric_name: str
    role: str
    correction: str
    family_size: int
    alpha: float
    threshold: float
    systems: list[str]
    summary: str


class ComparisonEntry(RecordModel):
    """One candidate tested against the baseline on one metric: its verdict and evidence.

    Besides the fields declared here it carries every further field of the statistics'
    verdict (``loclab.stats.Verdict.to_dict()``). Differences are the system minus the
    baseline, in the metric's units (times ``scale`` in ``scale_unit`` for readers).

    Attributes:
        decision: ``better``, ``worse``, ``no difference`` or ``too close to call`` (empty
            in records written before decisions existed: read :attr:`outcome`).
        label: The earlier wording of the verdict, kept for older readers.
        ci: The verdict's interval, adjusted for the family like its decision.
        ci_level: Its confidence level.
        ci_unadjusted: The test's own interval, not adjusted (never shown beside a verdict).
        p_value: Raw p-value: the only one "how often chance gives such a gap" is said of.
        p_adjusted: p-value adjusted within the family.
        chance: How often chance alone gives such a gap, from the raw p-value, in words.
        threshold: Smallest difference that matters (0: none).
        clears_threshold: Whether the estimate is a gain of at least ``threshold``.
        gain_ruled_out: Whether ``ci`` rules out a gain of ``threshold`` or more.
        loss_ruled_out: Whether ``ci`` rules out a loss of ``threshold`` or more.
        power: Chance of detecting a true gain of ``threshold``.
        mde: Smallest difference detected 80 % of the time with this much data.
        design_caveat: What the design did not measure (one training run per system).
        next_step: What would settle a comparison that is too close to call.
        needed: The numbers behind ``next_step`` (``target``, ``examples``, ``seeds``).
        seed_agreement: On how many seeds the difference has its overall sign.
        deterministic: Whether the system and the baseline ignore their seeds.
        interactive: Whether the system is an interactive run (one run by hand, not jobs).
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    system: str
    baseline: str
    system_label: str
    baseline_label: str
    metric: str
    metric_name: str
    family: Literal["confirmatory", "secondary"]
    label: str
    decision: str = ""
    estimate: float | None = None
    ci: tuple[float | None, float | None] | None = None
    ci_level: float = 0.95
    ci_unadjusted: tuple[float | None, float | None] | None = None
    ci_unadjusted_level: float = 0.95
    p_value: float | None = None
    p_adjusted: float | None = None
    chance: str = ""
    alpha: float = 0.05
    correction: str = "holm"
    family_size: int = 1
    threshold: float = 0.0
    higher_is_better: bool = True
    clears_threshold: bool | None = None
    gain_ruled_out: bool | None = None
    loss_ruled_out: bool | None = None
    power: float | None = None
    mde: float | None = None
    scale: float = 1.0
    scale_unit: str = ""
    digits: int = 3
    kind: str = ""
    test: str = ""
    test_reason: str = ""
    method: str = ""
    sentence: str = ""
    warnings: list[str] = Field(default_factory=list)
    design_caveat: str = ""
    next_step: str = ""
    needed: dict[str, float | int | None] = Field(default_factory=dict)
    seed_agreement: dict[str, int] | None = None
    deterministic: dict[str, bool] = Field(default_factory=dict)
    n_examples: int | None = None
    n_seeds: dict[str, int] = Field(default_factory=dict)
    variance: dict[str, Any] | None = None
    result: dict[str, Any] = Field(default_factory=dict)
    per_seed: dict[str, Any] | None = None
    interactive: bool = False

    @property
    def outcome(self) -> str:
        """The decision (records from before decisions existed: mapped from the label)."""
        if self.decision:
            return self.decision
        return _LEGACY.get(self.label, self.label)


#: Labels of records written before decisions existed, as decisions.
_LEGACY = {"no detectable difference": "no difference", "needs more data": "too close to call"}


class BreakdownRow(RecordModel):
    """The deciding test on one subset of the examples (exploratory)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    column: str
    value: Any
    system: str
    baseline: str
    metric: str
    kind: str
    n: int
    estimate: float | None = None
    ci: tuple[float | None, float | None] | None = None
    p_value: float | None = None
    p_adjusted: float | None = None
    significant: bool = False
    label: str = ""
    decision: str = ""
    ci_level: float = 0.95
    flag: str = "exploratory"
    method: str = ""
    sentence: str = ""


class Breakdowns(RecordModel):
    """Every breakdown cell, adjusted together.

    Attributes:
        metric: The deciding metric.
        columns: Prediction columns broken down by.
        correction: Adjustment over all cells.
        family_size: Cells adjusted together.
        alpha: Error rate controlled.
        flag: Always ``exploratory``.
        note: What that means, for readers.
        warnings: Caveats.
        rows: One row per cell.
    """

    metric: str
    columns: list[str]
    correction: str
    family_size: int
    alpha: float
    flag: str = "exploratory"
    note: str = ""
    warnings: list[str] = Field(default_factory=list)
    rows: list[BreakdownRow] = Field(default_factory=list)


class RankingGroup(RecordModel):
    """Systems the all-pairs tests cannot tell apart.

    Attributes:
        group: 1-based group number, best first.
        letter: The group's letter in the compact letter display (``a`` is best).
        systems: System keys.
        labels: Their display names.
    """

    group: int
    letter: str = ""
    systems: list[str]
    labels: list[str]


class RankingRecord(RecordModel):
    """All systems ranked on the deciding metric, with groups (``loclab.stats.Ranking``).

    Groups are those of a compact letter display: two systems share a letter exactly when
    the all-pairs tests cannot tell them apart (groups may overlap). Besides the fields
    declared here it carries the ranking's own fields (pairwise tests...).

    Attributes:
        metric: The deciding metric's key.
        metric_name: Its display name.
        kind: The kind of test of every pair.
        systems: Systems, best first.
        scores: Their scores, in the same order.
        groups: The letter groups, best first.
        group_of: Each system's first (best) group number.
        letters_of: Each system's letters (``a``, ``ab``...).
        correction: Adjustment over all pairs.
        family_size: Pairs adjusted together.
        alpha: Error rate controlled.
        method: The procedure, in words.
        summary: The ranking in one sentence.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    metric: str
    metric_name: str
    kind: str
    systems: list[str]
    scores: list[float | None] = Field(default_factory=list)
    groups: list[RankingGroup] = Field(default_factory=list)
    group_of: dict[str, int] = Field(default_factory=dict)
    letters_of: dict[str, str] = Field(default_factory=dict)
    correction: str = "holm"
    family_size: int = 0
    alpha: float = 0.05
    method: str = ""
    summary: str = ""


class MissingJob(RecordModel):
    """A comparison job that did not complete (left out of the statistics).

    Attributes:
        name: The job's name.
        system: Its system.
        state: How it ended.
        failure: Why.
    """

    name: str
    system: str | None = None
    state: str
    failure: str | None = None


class Answer(RecordModel):
    """What the evidence supports and what to do (the headline's parts).

    Attributes:
        status: ``better`` (a candidate is better), ``worse`` (every candidate is worse),
            ``no difference`` or ``too close to call``.
        use: The system to use now (the baseline unless a candidate is better).
        headline: The answer in words, the report's first sentence.
        next_step: What would settle it ("" when settled).
    """

    status: str = ""
    use: str = ""
    headline: str = ""
    next_step: str = ""


class ComparisonRecord(Record):
    """The analysis of one run's comparison.

    The spec and the jobs are in the jobs record of the same run
    (:class:`~loclab.results.JobsRecord`, same ``mlflow_parent_run_id``).

    Attributes:
        schema_: ``loclab.comparison/2``.
        experiment: The experiment's name.
        created: When the analysis was made (ISO 8601).
        mode: ``jobs`` (systems x seeds as jobs) or ``discovered`` (one job scored them all).
        baseline: The baseline system's key.
        baseline_label: Its display name.
        primary_metric: The deciding metric's key.
        alpha: Error rate of each family.
        correction: Adjustment of the confirmatory family.
        family_size: Candidates in it.
        practical_threshold: Smallest difference that matters, if given.
        higher_is_better: Direction of the metrics.
        unit: What one example is, in sentences.
        n_examples: Examples compared (None for run-level metrics).
        metrics: The compared metrics, deciding first.
        systems: Per-system summaries.
        families: One per metric.
        comparisons: Every candidate against the baseline, every metric.
        breakdowns: Exploratory breakdowns, if configured.
        ranking: All systems ranked, with three or more systems (or when asked).
        headline: The answer in one sentence (what the evidence supports, what to do), for
            the report's first line and the index.
        answer: The answer's parts (status, the system to use, the next step).
        significance_note: What "significant" means.
        warnings: Caveats about the whole comparison.
        timings: Seconds spent per analysis step.
        jobs: The completed jobs analysed.
        missing_jobs: Jobs that did not complete (left out).
        mlflow_parent_run_id: The experiment's MLflow run.
        inputs_key: Content address of what the analysis read (the jobs' keys, the
            ``compare:`` section, the statistics code): equal keys, equal analysis.
    """

    SCHEMA: ClassVar[str] = COMPARISON_SCHEMA
    schema_: Literal["loclab.comparison/2"] = Field(default=COMPARISON_SCHEMA, alias="schema")
    experiment: str
    created: str
    mode: Literal["jobs", "discovered"]
    baseline: str
    baseline_label: str
    primary_metric: str
    alpha: float
    correction: str
    family_size: int
    practical_threshold: float | None = None
    higher_is_better: bool = True
    unit: str = "test examples"
    n_examples: int | None = None
    metrics: list[MetricInfo]
    systems: list[SystemSummary]
    families: list[Family]
    comparisons: list[ComparisonEntry]
    breakdowns: Breakdowns | None = None
    ranking: RankingRecord | None = None
    headline: str
    answer: Answer | None = None
    significance_note: str = ""
    warnings: list[str] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)
    jobs: list[str] = Field(default_factory=list)
    missing_jobs: list[MissingJob] = Field(default_factory=list)
    mlflow_parent_run_id: str | None = None
    inputs_key: str = ""

    def system(self, name: str) -> SystemSummary | None:
        """The summary of system ``name``."""
        return next((s for s in self.systems if s.name == name), None)

    @property
    def confirmatory(self) -> list[ComparisonEntry]:
        """The deciding metric's comparisons (the verdicts)."""
        return [c for c in self.comparisons if c.family == "confirmatory"]

    def label_of(self, system: str) -> str:
        """Display name of ``system`` (its key when unknown)."""
        found = self.system(system)
        return found.label if found else system

    @property
    def interactive(self) -> list[SystemSummary]:
        """The compared systems that are interactive runs (notebooks run by hand)."""
        return [s for s in self.systems if s.interactive is not None]
