"""Scores of one system with an interval, and two systems measured on different examples.

A scheduled tick compares this week's run with a baseline run. On the same test set the
comparison is paired (the usual tests); when the test set changed there are no pairs, and
:func:`unpaired_bootstrap` resamples each run's examples independently. It answers "did the
score change?", not "did the system change?": a harder test set lowers the score of an
unchanged system, so its result carries a warning saying the two cannot be told apart.
:func:`score_interval` gives one run's score with a bootstrap interval over its examples (the
intervals of a history's trend figure).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from ._base import (
    ResultMixin,
    TestResult,
    check_confidence,
    check_finite,
    check_n_resamples,
    ci_text,
    fmt,
    make_rng,
    row_chunks,
)
from ._metrics import CorpusMetric
from ._resampling import bootstrap_counts, inversion_p_value, percentile_ci

__all__ = ["ScoreInterval", "score_interval", "unpaired_bootstrap"]

#: Said with every unpaired result.
UNPAIRED_WARNING = (
    "the two runs were measured on different examples, so the comparison is unpaired: a "
    "change of the test set and a change of the system cannot be told apart"
)


@dataclasses.dataclass(frozen=True)
class ScoreInterval(ResultMixin):
    """One system's score on its examples, with a bootstrap interval.

    Attributes:
        estimate: The score (mean of per-example values, or the corpus metric).
        ci: Percentile bootstrap interval at ``confidence``.
        n: Examples.
        confidence: Level of ``ci``.
        method: How the interval was computed.
    """

    estimate: float
    ci: tuple[float, float]
    n: int
    confidence: float
    method: str

    def summary(self) -> str:
        """One plain-language sentence describing the result."""
        return (
            f"Score {fmt(self.estimate)} ({ci_text(self.ci, self.confidence)}) on "
            f"{self.n:,} examples; {self.method}."
        )


def _values(x: Any, name: str, metric: CorpusMetric | None) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if metric is None:
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"`{name}` must be a non-empty 1-D array, got shape {arr.shape}.")
    else:
        if arr.ndim != 2 or arr.shape[0] == 0:
            raise ValueError(f"`{name}` must have shape (examples, n_stats), got {arr.shape}.")
        if metric.n_stats and arr.shape[1] != metric.n_stats:
            raise ValueError(
                f"`{name}` has {arr.shape[1]} statistics per example but {metric.name} needs "
                f"{metric.n_stats}."
            )
    check_finite(arr, name)
    return arr


def _score(x: np.ndarray, metric: CorpusMetric | None) -> float:
    return float(x.mean()) if metric is None else metric.corpus_score(x)


def _boot(
    x: np.ndarray, metric: CorpusMetric | None, n_resamples: int, rng: np.random.Generator
) -> np.ndarray:
    """Scores of ``n_resamples`` ordinary bootstrap resamples of the examples of ``x``."""
    n = x.shape[0]
    out = np.empty(n_resamples, dtype=np.float64)
    for rows in row_chunks(n_resamples, 16 * n):
        counts = bootstrap_counts(n, rows.stop - rows.start, rng)
        totals = counts @ x
        out[rows] = totals / n if metric is None else metric.score(totals)
    return out


def score_interval(
    values: Any,
    metric: CorpusMetric | None = None,
    *,
    n_resamples: int = 1_000,
    seed: int = 0,
    confidence: float = 0.95,
) -> ScoreInterval:
    """One system's score with a percentile bootstrap interval over its examples.

    Args:
        values: Per-example values ``(examples,)``, or per-example statistics
            ``(examples, n_stats)`` of ``metric``.
        metric: The corpus metric of the statistics (None: the mean of ``values``).
        n_resamples: Bootstrap resamples.
        seed: Seed of the random generator.
        confidence: Level of the interval.

    Returns:
        A :class:`ScoreInterval`.

    Raises:
        ValueError: On empty or non-finite input, or statistics that do not suit ``metric``.
    """
    x = _values(values, "values", metric)
    n_resamples = check_n_resamples(n_resamples, minimum=2)
    confidence = check_confidence(confidence)
    boot = _boot(x, metric, n_resamples, make_rng(seed))
    return ScoreInterval(
        estimate=_score(x, metric),
        ci=percentile_ci(boot, confidence),
        n=int(x.shape[0]),
        confidence=confidence,
        method=f"percentile bootstrap over examples ({n_resamples:,} resamples)",
    )


def unpaired_bootstrap(
    a: Any,
    b: Any,
    metric: CorpusMetric | None = None,
    *,
    n_resamples: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
) -> TestResult:
    """Score of A minus score of B when A and B were measured on different examples.

    Each side's examples are resampled independently; the interval is the percentile
    interval of the resampled differences and the p-value inverts it (the smallest
    ``1 - confidence`` at which it excludes 0), so the two agree. Use a paired test whenever
    both were measured on the same examples: it is far more sensitive.

    Args:
        a: Per-example values of A ``(n_a,)``, or statistics ``(n_a, n_stats)`` of ``metric``.
        b: The same for B (``n_b`` examples, any number).
        metric: The corpus metric of the statistics (None: means of the values).
        n_resamples: Bootstrap resamples.
        seed: Seed of the random generator.
        confidence: Level of the interval.

    Returns:
        A :class:`TestResult` whose estimate is ``score(A) - score(B)``; its ``warning``
        says why an unpaired comparison is read with care.

    Raises:
        ValueError: On empty or non-finite input, or statistics that do not suit ``metric``.
    """
    x, y = _values(a, "a", metric), _values(b, "b", metric)
    if metric is not None and x.shape[1] != y.shape[1]:
        raise ValueError(f"`a` and `b` have {x.shape[1]} and {y.shape[1]} statistics per example.")
    n_resamples = check_n_resamples(n_resamples, minimum=2)
    confidence = check_confidence(confidence)
    rng = make_rng(seed)
    deltas = _boot(x, metric, n_resamples, rng) - _boot(y, metric, n_resamples, rng)
    estimate = _score(x, metric) - _score(y, metric)
    p_value = 1.0 if np.all(deltas == 0) else inversion_p_value(deltas, 0.0)
    what = "mean" if metric is None else metric.name
    return TestResult(
        estimate=estimate, ci=percentile_ci(deltas, confidence), p_value=p_value,
        n=int(min(x.shape[0], y.shape[0])),
        method=f"unpaired bootstrap ({n_resamples:,} resamples, {x.shape[0]:,} and "
        f"{y.shape[0]:,} examples)",
        estimand=f"{what} difference (A - B), unpaired", statistic=estimate,
        confidence=confidence, ci_method="bootstrap percentile", n_resamples=n_resamples,
        se=float(deltas.std(ddof=1)), df=math.inf, p_resolution=1.0 / (n_resamples + 1),
        warning=UNPAIRED_WARNING,
    )  # fmt: skip
