"""The aligned data the analysis tests: runs, systems, metrics (:mod:`~loclab.compare.data`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from loclab.compare.segments import CorpusStatistics
from loclab.exceptions import LoclabError
from loclab.results import InteractiveSource
from loclab.stats import correlation

if TYPE_CHECKING:
    import pandas as pd

    from loclab.stats import CorpusMetric

__all__ = ["ComparisonData", "ComparisonError", "MetricData", "RunOutput", "SystemRuns"]


class ComparisonError(LoclabError):
    """The jobs' outputs cannot be compared (missing, misaligned or malformed)."""


@dataclass(frozen=True)
class RunOutput:
    """What one completed job wrote, as the analysis needs it.

    Attributes:
        system: The system the job ran (``run`` when systems come from its output).
        seed: Its training seed, when known.
        name: The job name.
        predictions: Its per-example predictions, or None.
        final_metrics: Metrics it reported without a step.
        corpus: Corpus-metric statistics it wrote, by metric key.
    """

    system: str
    seed: int | None
    name: str
    predictions: pd.DataFrame | None = None
    final_metrics: Mapping[str, float] = field(default_factory=dict)
    corpus: Mapping[str, CorpusStatistics] = field(default_factory=dict)


@dataclass(frozen=True)
class SystemRuns:
    """One system's completed runs.

    Attributes:
        name: System key.
        label: Name shown in reports.
        role: ``baseline`` or ``candidate``.
        seeds: Seed of each run (None when unknown), in row order of every matrix.
        jobs: Job name of each run.
        final_metrics: Final metrics of each run.
    """

    name: str
    label: str
    role: str
    seeds: tuple[int | None, ...]
    jobs: tuple[str, ...]
    final_metrics: tuple[Mapping[str, float], ...]


@dataclass(frozen=True)
class MetricData:
    """One compared metric for every system.

    Attributes:
        key: The name in the spec (``accuracy``, a column, ``bleu``, ``test_f1``...).
        name: Display name (``accuracy``, ``BLEU``, ``chrF2``...).
        source: ``predictions`` (per example), ``corpus`` (per-example statistics of a corpus
            metric), ``correlation`` (predicted scores correlated with gold scores, see
            :mod:`loclab.compare.correlation`) or ``final`` (one value per run).
        binary: Whether per-example values are all 0/1.
        values: System to ``(runs, examples)`` (predictions), ``(runs, examples, n_stats)``
            (corpus) or ``(runs,)`` (final).
        metric: The corpus metric, for ``corpus``.
        signature: sacrebleu's signature of the scores, when the job wrote one.
        gold: The gold scores every run is correlated with, for ``correlation``.
    """

    key: str
    name: str
    source: str
    binary: bool
    values: Mapping[str, np.ndarray]
    metric: CorpusMetric | None = None
    signature: str | None = None
    gold: np.ndarray | None = None

    def per_run(self, system: str) -> np.ndarray:
        """One value per run of ``system`` (mean, corpus score, or the final metric)."""
        v = self.values[system]
        if self.source == "predictions":
            return np.asarray(v.mean(axis=1), dtype=np.float64)
        if self.source == "corpus":
            assert self.metric is not None
            return np.asarray([self.metric.corpus_score(run) for run in v])
        if self.source == "correlation":
            method: Any = self.key
            return np.asarray([correlation(run, self.gold, method) for run in v])
        return v


@dataclass(frozen=True)
class ComparisonData:
    """Everything the analysis tests, aligned.

    Attributes:
        systems: Systems in display order (the baseline first).
        baseline: The baseline's key.
        metrics: Compared metrics, the deciding one first.
        example_ids: Shared example ids (None when only final metrics are compared).
        breakdowns: Breakdown column to its per-example values, aligned with ``example_ids``.
        interactive: Systems that are interactive runs (one run by hand, not jobs), to where
            each came from; they come after the spec's systems.
    """

    systems: Mapping[str, SystemRuns]
    baseline: str
    metrics: Mapping[str, MetricData]
    example_ids: np.ndarray | None
    breakdowns: Mapping[str, np.ndarray]
    interactive: Mapping[str, InteractiveSource] = field(default_factory=dict)

    @property
    def candidates(self) -> list[str]:
        """Every system but the baseline."""
        return [s for s in self.systems if s != self.baseline]

    def without_interactive(self) -> ComparisonData:
        """The same data with the spec's systems only (what the ranking compares)."""
        if not self.interactive:
            return self
        keep = [s for s in self.systems if s not in self.interactive]
        metrics = {
            key: dataclasses.replace(m, values={s: m.values[s] for s in keep})
            for key, m in self.metrics.items()
        }
        systems = {s: self.systems[s] for s in keep}
        return ComparisonData(systems, self.baseline, metrics, self.example_ids, self.breakdowns)
