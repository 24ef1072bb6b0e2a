"""Paired tests between all pairs of systems (or each against a control), adjusted as a family."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from scipy import stats as sps

from ._base import ResultMixin, TestResult, check_alpha, fmt, fmt_p
from ._friedman import as_table, rank_within_datasets
from ._mcnemar import mcnemar
from ._multiple import CORRECTION_NAMES, Correction, adjust
from ._paired import (
    paired_bootstrap,
    paired_permutation_test,
    paired_t_test,
    wilcoxon_signed_rank,
)


@dataclasses.dataclass(frozen=True)
class PairwiseComparison(ResultMixin):
    """One comparison inside :class:`PairwiseResult`.

    Attributes:
        a: First system.
        b: Second system (the control, when there is one).
        estimate: Effect estimate of ``a`` minus ``b`` (see ``estimand``).
        ci: Unadjusted confidence interval of the estimate (NaN when the test gives none).
        p_value: Raw two-sided p-value.
        p_adjusted: p-value adjusted within the family.
        rejected: ``p_adjusted <= alpha``.
        n: Paired units (datasets or examples).
        method: Test used.
        estimand: What ``estimate`` measures.
    """

    a: str
    b: str
    estimate: float
    ci: tuple[float, float]
    p_value: float
    p_adjusted: float
    rejected: bool
    n: int
    method: str
    estimand: str

    def summary(self) -> str:
        """One plain-language sentence describing the comparison."""
        verdict = "differ" if self.rejected else "cannot be told apart"
        return (
            f"{self.a} vs {self.b}: {self.estimand} {fmt(self.estimate)}, p = "
            f"{fmt_p(self.p_value)} (adjusted {fmt_p(self.p_adjusted)}) - they {verdict}."
        )


@dataclasses.dataclass(frozen=True)
class PairwiseResult(ResultMixin):
    """Result of :func:`pairwise_tests`.

    Attributes:
        comparisons: One entry per pair (or per system against the control).
        test: Test used for each pair.
        correction: Multiple-comparison adjustment.
        family_size: Number of comparisons in the family.
        alpha: Error rate controlled.
        control: Control system, or None for all pairs.
        n: Paired units per comparison.
        method: Description of the procedure.
    """

    comparisons: tuple[PairwiseComparison, ...]
    test: str
    correction: str
    family_size: int
    alpha: float
    control: str | None
    n: int
    method: str

    def summary(self) -> str:
        """One plain-language sentence describing the result."""
        hits = [f"{c.a} vs {c.b}" for c in self.comparisons if c.rejected]
        scope = f"against {self.control}" if self.control else "between all pairs"
        return (
            f"{self.family_size} comparisons {scope} ({self.test}, "
            f"{CORRECTION_NAMES[self.correction]}, family of {self.family_size}, alpha = "
            f"{fmt(self.alpha)}): "
            + (f"{len(hits)} unlikely to be chance: {', '.join(hits)}." if hits else
               "none is unlikely to be chance.")
        )  # fmt: skip


def pairwise_tests(
    table: Any,
    test: Literal["wilcoxon", "permutation", "t", "bootstrap", "mcnemar", "ranks"] = "wilcoxon",
    correction: Correction = "holm",
    control: str | None = None,
    alpha: float = 0.05,
    higher_is_better: bool = True,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> PairwiseResult:
    """Paired tests between all pairs of systems, or between each system and a control.

    Each column of ``table`` is a system and each row a paired unit: a dataset or language pair
    (Demsar recommends ``"wilcoxon"`` there) or a test example (``"permutation"``,
    ``"bootstrap"``, ``"t"``, or ``"mcnemar"`` for 0/1 outcomes). ``"ranks"`` is Demsar's
    z-test on Friedman average ranks, ``z = (R_a - R_b) / sqrt(k (k + 1) / (6 N))``, the usual
    post-hoc test against a control. The family is then adjusted with ``correction``.

    Args:
        table: Scores, one column per system and one row per paired unit (pandas DataFrame,
            2-D array of shape (units, systems), or a mapping ``{system: scores}``), as for
            :func:`friedman_nemenyi`.
        test: Per-pair test.
        correction: ``"holm"`` (confirmatory), ``"bh"`` (exploratory), ``"bonferroni"`` or
            ``"none"``.
        control: Compare every other system with this one instead of all pairs.
        alpha: Error rate controlled by ``correction``.
        higher_is_better: Direction of the scores (used by ``"ranks"``).
        n_resamples: Resamples for ``"permutation"`` and ``"bootstrap"``.
        seed: Seed for the resampling tests.

    Returns:
        A :class:`PairwiseResult` with per-pair estimates, raw and adjusted p-values.

    Raises:
        ValueError: For an unknown test or control, or a malformed table.
    """
    names, values = as_table(table)
    alpha = check_alpha(alpha)
    k, n = values.shape
    if control is not None and control not in names:
        raise ValueError(f"`control` {control!r} is not one of the systems {list(names)}.")
    if control is None:
        pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
    else:
        c = names.index(control)
        pairs = [(i, c) for i in range(k) if i != c]
    runners: dict[str, Callable[[np.ndarray, np.ndarray], TestResult]] = {
        "wilcoxon": lambda x, y: wilcoxon_signed_rank(x, y),
        "permutation": lambda x, y: paired_permutation_test(x, y, n_resamples, seed),
        "t": lambda x, y: paired_t_test(x, y),
        "bootstrap": lambda x, y: paired_bootstrap(x, y, n_resamples, seed),
        "mcnemar": lambda x, y: mcnemar(x, y),
    }
    rows: list[tuple[float, tuple[float, float], float]] = []
    if test == "ranks":
        avg = rank_within_datasets(values, higher_is_better).mean(axis=1)
        se = math.sqrt(k * (k + 1) / (6.0 * n))
        for i, j in pairs:
            # Lower rank is better, so a positive estimate means `a` ranks better than `b`.
            z = (avg[j] - avg[i]) / se
            rows.append((avg[j] - avg[i], (math.nan, math.nan), float(2 * sps.norm.sf(abs(z)))))
        method, estimand = "z-test on Friedman average ranks", "average-rank advantage"
    elif test in runners:
        run = runners[test]
        method = estimand = ""
        for i, j in pairs:
            res = run(values[i], values[j])
            rows.append((res.estimate, res.ci, float(res.p_value or 0.0)))
            method, estimand = res.method, res.estimand
    else:
        raise ValueError(
            "`test` must be one of 'wilcoxon', 'permutation', 't', 'bootstrap', 'mcnemar', "
            f"'ranks', got {test!r}."
        )
    adj = adjust([r[2] for r in rows], correction, alpha)
    comparisons = tuple(
        PairwiseComparison(
            a=names[i],
            b=names[j],
            estimate=float(est),
            ci=ci,
            p_value=p,
            p_adjusted=adj.adjusted[idx],
            rejected=adj.rejected[idx],
            n=n,
            method=method,
            estimand=estimand,
        )
        for idx, ((i, j), (est, ci, p)) in enumerate(zip(pairs, rows, strict=True))
    )
    return PairwiseResult(
        comparisons=comparisons, test=test, correction=correction, family_size=len(rows),
        alpha=alpha, control=control, n=n,
        method=f"{method}, {CORRECTION_NAMES[correction]} over {len(rows)} comparisons",
    )  # fmt: skip
