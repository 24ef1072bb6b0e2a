"""Rank many systems and group those that cannot be told apart (compact letter display)."""

from __future__ import annotations

import dataclasses
import string
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import numpy as np

from ._base import ResultMixin, fmt
from ._dispatch import enough_resamples, prepare, run_default
from ._metrics import CorpusMetric
from ._multiple import CORRECTION_NAMES, Correction, adjust
from ._pairwise import PairwiseComparison


def _letter(index: int) -> str:
    alphabet = string.ascii_lowercase
    out = ""
    index += 1
    while index > 0:
        index, rest = divmod(index - 1, len(alphabet))
        out = alphabet[rest] + out
    return out


def _absorb(columns: list[frozenset[str]]) -> list[frozenset[str]]:
    """Drop columns contained in another column (they add no information)."""
    unique = list(dict.fromkeys(columns))
    return [c for c in unique if not any(c < other for other in unique)]


def compact_letters(
    order: Sequence[str], differ: Iterable[tuple[str, str]]
) -> tuple[tuple[str, ...], ...]:
    """Groups of a compact letter display (Piepho 2004, insert-absorb with a sweep).

    Two systems share a group exactly when they are not in ``differ``: a pair the tests cannot
    tell apart always shares at least one group (groups may overlap), a pair that differs
    shares none.

    Args:
        order: Systems, best first (groups are ordered by their best member).
        differ: Pairs of systems that differ significantly.

    Returns:
        The groups, each in ``order`` order, best group first.
    """
    rank = {s: i for i, s in enumerate(order)}
    pairs = sorted({tuple(sorted(p, key=rank.__getitem__)) for p in differ}, key=lambda p: (
        rank[p[0]], rank[p[1]]))  # fmt: skip
    columns = [frozenset(order)]
    for i, j in pairs:
        split: list[frozenset[str]] = []
        for col in columns:
            split.extend([col - {i}, col - {j}] if i in col and j in col else [col])
        columns = _absorb([c for c in split if c])
    # Sweep: drop a system from a group when it has another group and every system it meets
    # in this one (none of which differ from it) also shares another group with it.
    for k in range(len(columns)):
        for s in sorted(columns[k], key=rank.__getitem__):
            others = [c for m, c in enumerate(columns) if m != k and s in c]
            if others and all(any(t in c for c in others) for t in columns[k] - {s}):
                columns[k] = columns[k] - {s}
    columns = _absorb([c for c in columns if c])
    groups = [tuple(sorted(c, key=rank.__getitem__)) for c in columns]
    groups.sort(key=lambda g: [rank[s] for s in g])
    return tuple(groups)


@dataclasses.dataclass(frozen=True)
class Ranking(ResultMixin):
    """Result of :func:`rank_systems`.

    Attributes:
        systems: System names, best first.
        scores: Their scores (corpus metric or mean), in the same order.
        clusters: The letter groups of a compact letter display, best first: systems in one
            group cannot be told apart. Groups may overlap (a system between two groups that
            differ from each other belongs to both).
        cluster_of: 1-based number of the first (best) group of each system, in ``systems``
            order.
        letters: Letters of each system (``"a"``, ``"ab"``, ...), in ``systems`` order: two
            systems share a letter exactly when the tests cannot tell them apart.
        group_letters: The letter of each group in ``clusters``.
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
    letters: tuple[str, ...] = ()
    group_letters: tuple[str, ...] = ()

    def summary(self) -> str:
        """One plain-language sentence describing the ranking."""
        parts = [
            f"{s} ({fmt(score, 2)}) {letters}"
            for s, score, letters in zip(self.systems, self.scores, self.letters, strict=True)
        ]
        return (
            "Ranking, best first; systems sharing a letter cannot be told apart, systems with no "
            f"letter in common differ ({CORRECTION_NAMES[self.correction]} over "
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
    """Rank systems by score and group those that cannot be told apart (compact letter display).

    All pairs are tested with the default test and adjusted together. The groups are those of
    a compact letter display, as statisticians report after all-pairs tests (Piepho 2004): two
    systems share a letter exactly when their adjusted p-value exceeds ``alpha``. Groups may
    overlap; unlike groups headed by the best remaining system, they never separate two
    systems the tests cannot tell apart.

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
    differ = [pair for k, pair in enumerate(pairs) if adj.rejected[k]]
    clusters = compact_letters(order, differ)
    group_letters = tuple(_letter(i) for i in range(len(clusters)))
    letters = tuple(
        "".join(g for g, c in zip(group_letters, clusters, strict=True) if s in c) for s in order
    )
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
        systems=tuple(order), scores=tuple(scores[s] for s in order), clusters=clusters,
        cluster_of=cluster_of, comparisons=comparisons, correction=correction,
        family_size=len(pairs), alpha=alpha, letters=letters, group_letters=group_letters,
        method=f"all-pairs {results[0].method}; compact letter display of the adjusted tests",
    )  # fmt: skip
