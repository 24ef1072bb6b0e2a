"""The ``compare:`` section: which systems to test against each other, and how.

Two shapes:

* ``systems:`` listed: each system (fixed parameters, or the sweep's ``best`` / rank ``k`` /
  ``top-k`` configurations) is re-run as one job per seed, and the jobs' per-example
  predictions are tested against the baseline's.
* ``systems:`` omitted: one job runs and its output holds every system (per-segment corpus
  statistics, e.g. the MT-engine comparison); the systems are the ones the job wrote.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from loclab.spec._base import SpecModel

__all__ = ["CORPUS_METRICS", "CORRELATION_METRICS", "TESTS", "CompareSpec", "SystemSpec"]

#: Tests ``compare.test`` may name; ``auto`` picks one from the data (``loclab.stats``).
TESTS = (
    "auto",
    "mcnemar",
    "permutation",
    "two_level_bootstrap",
    "seed_level",
    "ar",
    "williams",
    "bootstrap",
)
#: Tests that compare one run per system.
SINGLE_RUN_TESTS = ("mcnemar", "permutation", "ar", "williams", "bootstrap")
#: Correlations of predicted with gold scores (QE), read from predictions, by display name.
CORRELATION_METRICS = {
    "pearson": "Pearson r",
    "spearman": "Spearman rho",
    "kendall": "Kendall tau",
}
#: Corpus metrics computed from per-example sufficient statistics written by a job.
CORPUS_METRICS = ("bleu", "chrf", "chrfpp", "chrf++", "ter", "f1", "pearson")
#: Other spellings of corpus metrics, stored as the key the job writes (``chrf++`` is
#: ``chrfpp``: statistics files and MLflow names cannot hold ``+``).
METRIC_ALIASES = {"chrf++": "chrfpp"}
#: System names become parts of job names (letters, digits and inner hyphens).
SYSTEM_NAME = r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38}[A-Za-z0-9])?$"
_TOP_K = re.compile(r"^top-?(\d+)$")


class SystemSpec(SpecModel):
    """One system: fixed parameter overrides, or a configuration taken from the sweep.

    Attributes:
        params: Overrides of the notebook's parameters for this system.
        from_sweep: ``best``, a rank (``2`` = the sweep's second best), or ``top-k`` (expands
            into ``<name>-top1`` ... ``<name>-topk``, one system per rank).
        role: ``baseline`` or ``candidate``.
        label: Name shown in reports (defaults to the system's key).
    """

    params: dict[str, Any] = Field(default_factory=dict)
    from_sweep: Literal["best"] | int | None = None
    role: Literal["baseline", "candidate"] = "candidate"
    label: str | None = None

    @field_validator("from_sweep", mode="before")
    @classmethod
    def _rank(cls, value: Any) -> Any:
        if value is None or value == "best":
            return value
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            return value
        raise ValueError(
            f"{value!r} is not a sweep configuration; use 'best', a rank (1, 2, ...) or "
            "'top-<k>' for the k best"
        )


class CompareSpec(SpecModel):
    """Systems × seeds, and the statistics that decide between them.

    Attributes:
        systems: Systems re-run as jobs; omitted: the systems in the one job's output.
        baseline: The system every other one is tested against (default: the system with
            role ``baseline``, else the first).
        seeds: Training seeds per system (a count ``5`` means seeds 0..4).
        metrics: What is compared; the first decides the verdicts (the confirmatory family),
            the others are reported as secondary families. ``accuracy`` (per-example 0/1
            correctness), a numeric column of the predictions (per-example scores), a corpus
            metric whose statistics the job wrote (``bleu``, ``chrf``, ``chrfpp`` or ``chrf++``,
            ``ter``, ``f1``, ``pearson``), a correlation of the predictions' ``score`` with their
            gold ``label`` (``pearson``, ``spearman``, ``kendall``: quality estimation), or a
            final metric of the job (one value per run, e.g. ``test_f1``). Default:
            ``[accuracy]``.
        test: ``auto`` picks the test from the data; or ``mcnemar``, ``permutation``,
            ``two_level_bootstrap``, ``seed_level``, ``ar`` (approximate randomization),
            ``williams`` or ``bootstrap`` (correlations, one run per system).
        alpha: Family-wise error rate (or false discovery rate for ``bh``).
        correction: Adjustment of the confirmatory family (Holm by default).
        practical_threshold: Smallest difference of the first metric that matters.
        breakdowns: Prediction columns to break the first metric down by (exploratory).
        breakdown_correction: Adjustment across all breakdown cells (Benjamini-Hochberg).
        higher_is_better: Direction of the compared metrics; a corpus metric's own direction
            wins (TER is lower-is-better whatever this says).
        rank: Rank all systems and group those that cannot be told apart (default: with 3
            or more systems).
        n_resamples: Resamples (or randomization trials) per test.
        stats_seed: Seed of every resampling test.
        unit: What one example is, in verdict sentences (e.g. ``test sentences``).
        workers: Jobs run at once (each gets its share of the cores); default: the sweep's
            ``workers`` when there is a sweep, else 1.
    """

    systems: dict[str, SystemSpec] = Field(default_factory=dict)
    baseline: str | None = None
    seeds: list[int] = Field(default_factory=lambda: [0])
    metrics: list[str] = Field(default_factory=list)
    test: str = "auto"
    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    correction: Literal["holm", "bh", "bonferroni", "none"] = "holm"
    practical_threshold: float | None = Field(default=None, ge=0)
    breakdowns: list[str] = Field(default_factory=list)
    breakdown_correction: Literal["bh", "holm", "bonferroni", "none"] = "bh"
    higher_is_better: bool = True
    rank: bool | None = None
    n_resamples: int = Field(default=10_000, ge=1_000, le=1_000_000)
    stats_seed: int = Field(default=0, ge=0)
    unit: str = Field(default="test examples", min_length=1)
    workers: int | None = Field(default=None, ge=1, le=64)

    @model_validator(mode="before")
    @classmethod
    def _expand_top_k(cls, data: Any) -> Any:
        # `from_sweep: top-3` is three systems, one per rank, so every later stage sees plain
        # systems with a rank.
        if not isinstance(data, dict) or not isinstance(data.get("systems"), dict):
            return data
        systems: dict[str, Any] = {}
        for name, cfg in data["systems"].items():
            rank = cfg.get("from_sweep") if isinstance(cfg, dict) else None
            found = _TOP_K.match(rank) if isinstance(rank, str) else None
            if found is None or int(found.group(1)) < 1:
                systems[name] = cfg
                continue
            for r in range(1, int(found.group(1)) + 1):
                label = f"{cfg.get('label') or name} (sweep rank {r})"
                systems[f"{name}-top{r}"] = {**cfg, "from_sweep": r, "label": label}
        return {**data, "systems": systems}

    @field_validator("systems")
    @classmethod
    def _system_names(cls, value: dict[str, SystemSpec]) -> dict[str, SystemSpec]:
        for name in value:
            if not re.fullmatch(SYSTEM_NAME, name):
                raise ValueError(
                    f"system name '{name}' must be letters, digits and inner hyphens (at most "
                    "40); it becomes part of job names"
                )
        return value

    @field_validator("seeds", mode="before")
    @classmethod
    def _seeds_from_count(cls, value: Any) -> Any:
        # `seeds: 5` means seeds 0..4.
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 1:
                raise ValueError("seeds must be a positive count or a list of seeds")
            return list(range(value))
        return value

    @field_validator("seeds")
    @classmethod
    def _unique_seeds(cls, value: list[int]) -> list[int]:
        negative = [s for s in value if s < 0]
        if negative:
            raise ValueError(f"seed {negative[0]} is negative; seeds are 0 or more")
        if len(set(value)) != len(value):
            raise ValueError("seeds contain duplicates")
        if not value:
            raise ValueError("seeds must be a positive count or a list of seeds")
        return value

    @field_validator("metrics")
    @classmethod
    def _unique_metrics(cls, value: list[str]) -> list[str]:
        value = [METRIC_ALIASES.get(m, m) for m in value]
        seen = [m for i, m in enumerate(value) if m in value[:i]]
        if seen:
            raise ValueError(f"metric '{seen[0]}' is listed twice")
        return value

    @field_validator("test")
    @classmethod
    def _known_test(cls, value: str) -> str:
        if value not in TESTS:
            from loclab.params.validate import did_you_mean

            close = did_you_mean(value, TESTS)
            hint = f"did you mean '{close}'?" if close else f"valid: {', '.join(TESTS)}"
            raise ValueError(f"'{value}' is not a test loclab runs; {hint}")
        return value

    @property
    def discovered(self) -> bool:
        """True when the systems are the ones the job's output holds (no ``systems:``)."""
        return not self.systems

    def metric_names(self) -> list[str]:
        """The compared metrics, the deciding one first (``accuracy`` by default)."""
        return list(self.metrics) or ["accuracy"]

    def baseline_name(self) -> str:
        """The system the others are compared against."""
        if self.baseline or not self.systems:
            return self.baseline or ""
        for name, system in self.systems.items():
            if system.role == "baseline":
                return name
        return next(iter(self.systems))

    def label_of(self, system: str) -> str:
        """The name shown for ``system``."""
        cfg = self.systems.get(system)
        return (cfg.label if cfg is not None and cfg.label else None) or system

    def role_of(self, system: str) -> str:
        """``baseline`` for the system the others are tested against, else ``candidate``."""
        return "baseline" if system == self.baseline_name() else "candidate"
