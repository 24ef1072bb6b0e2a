"""Rank many systems and group those that cannot be told apart (WMT-style clusters)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np

from ._base import ResultMixin, fmt
from ._dispatch import enough_resamples, prepare, run_default
from ._metrics import CorpusMetric
from ._multiple import CORRECTION_NAMES, Correction, PairwiseComparison, adjust


@dataclasses.dataclass(frozen=True)
class Ranking(ResultMixin):
    """Result of :func:`rank_systems`.

    Attributes:
        systems: System names, best first.
        scores: Their scores (corpus metric or mean), in the same order.
        clusters: Consecutive groups of systems that cannot be told apart, best first.
        cluster_of: 1-based cluster number of each system, in ``systems`` order.
        comparisons: Every pairwise comparison with raw and adjusted p-values.
        correction: Adjustment over all pairs.
        family_size: Number of pairwise comparisons.
        alpha: Error rate controlled.
        method: Description of the procedure.
    """

    systems: tuple[str, ...]
    scores: tuple[float, ...]
    clusters: tuple[tuple[str, ...], ...]
    cluster_of: tuple[int, ...]
    comparisons: tuple[PairwiseComparison, ...]
    correction: str
    family_size: int
    alpha: float
    method: str

    def summary(self) -> str:
        """One plain-language sentence describing the ranking."""
        parts = []
        for i, cluster in enumerate(self.clusters, start=1):
            members = ", ".join(
                f"{s} ({fmt(self.scores[self.systems.index(s)], 2)})" for s in cluster
            )
            parts.append(f"{i}: {members}")
        return (
            "Ranked clusters (a system joins the cluster of the best remaining system unless "
            f"it is significantly worse; {CORRECTION_NAMES[self.correction]} over "
            f"{self.family_size} pairs, alpha = {fmt(self.alpha)}): " + "; ".join(parts) + "."
        )


def rank_systems(
    systems: Mapping[str, Any],
    *,
    kind: Literal["auto", "continuous", "binary", "corpus", "seeds", "seed_level"] = "auto",
    metric: CorpusMetric | None = None,
    alpha: float = 0.05,
    correction: Correction = "holm",
    higher_is_better: bool = True,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> Ranking:
    """Rank systems by score and cluster those that cannot be told apart (WMT-style).

    All pairs are tested with the default test and adjusted together. Going down the ranking,
    the best remaining system heads a new cluster, which extends down to the lowest-ranked
    remaining system whose adjusted p-value against the head exceeds ``alpha`` (so clusters
    stay contiguous in rank order, as in sacrebleu/WMT tables).

    Args:
        systems: ``{name: scores}`` as for :func:`compare_systems`.
        kind: Kind of data (``"auto"`` to infer).
        metric: Corpus metric when ``systems`` holds sufficient statistics.
        alpha: Error rate to control.
        correction: Adjustment over all pairs.
        higher_is_better: Direction of the metric.
        n_resamples: Resamples per test; raised (with a warning) when the smallest attainable
            p-value could not pass the family's adjusted level.
        seed: Seed of every test.

    Returns:
        A :class:`Ranking`.
    """
    names = list(systems)
    if len(names) < 2:
        raise ValueError("`systems` needs at least two systems.")
    if metric is not None:
        scores = {s: metric.corpus_score(systems[s]) for s in names}
    else:
        scores = {s: float(np.mean(systems[s])) for s in names}
    order = sorted(names, key=lambda s: -scores[s] if higher_is_better else scores[s])
    pairs = [(order[i], order[j]) for i in range(len(order)) for j in range(i + 1, len(order))]
    results = []
    for s, t in pairs:
        kind_, x, y, _ = prepare(systems[s], systems[t], kind, metric)
        n_res = enough_resamples(n_resamples, len(pairs), alpha, kind_)
        results.append(run_default(kind_, x, y, metric, n_res, seed))
    adj = adjust([r.p_value for r in results], correction, alpha)
    p_of = {pair: adj.adjusted[k] for k, pair in enumerate(pairs)}
    clusters: list[tuple[str, ...]] = []
    start = 0
    while start < len(order):
        head = order[start]
        end = start
        for j in range(start + 1, len(order)):
            if p_of[(head, order[j])] > alpha:
                end = j
        clusters.append(tuple(order[start : end + 1]))
        start = end + 1
    cluster_of = tuple(next(i for i, c in enumerate(clusters, 1) if s in c) for s in order)
    comparisons = tuple(
        PairwiseComparison(
            a=s,
            b=t,
            estimate=float(r.estimate),
            ci=(float(r.ci[0]), float(r.ci[1])),
            p_value=float(r.p_value or 0.0),
            p_adjusted=adj.adjusted[k],
            rejected=adj.rejected[k],
            n=r.n,
            method=r.method,
            estimand=r.estimand,
        )
        for k, ((s, t), r) in enumerate(zip(pairs, results, strict=True))
    )
    return Ranking(
        systems=tuple(order), scores=tuple(scores[s] for s in order), clusters=tuple(clusters),
        cluster_of=cluster_of, comparisons=comparisons, correction=correction,
        family_size=len(pairs), alpha=alpha,
        method=f"all-pairs {results[0].method}, clusters headed by the best remaining system",
    )  # fmt: skip
