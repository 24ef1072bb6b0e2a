"""Many systems at once: multiple-comparison adjustment, Friedman/Nemenyi, pairwise tests."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from scipy import stats as sps

from ._base import ResultMixin, check_alpha, check_finite, fmt, fmt_p

Correction = Literal["holm", "bh", "bonferroni", "none"]
#: How each correction is named to readers (the one table; reports and tables use it).
CORRECTION_NAMES = {
    "holm": "Holm",
    "bh": "Benjamini-Hochberg",
    "bonferroni": "Bonferroni",
    "none": "no adjustment",
}


@dataclasses.dataclass(frozen=True)
class Adjustment(ResultMixin):
    """Result of :func:`adjust`.

    Attributes:
        p_values: The raw p-values, in input order.
        adjusted: Adjusted p-values (compare them with ``alpha`` directly).
        rejected: Whether each null hypothesis is rejected at ``alpha``.
        family_size: Number of hypotheses in the family (always report it).
        method: ``"holm"``, ``"bh"``, ``"bonferroni"`` or ``"none"``.
        alpha: Family-wise error rate (Holm, Bonferroni) or false discovery rate (BH).
        names: Labels of the hypotheses, if given.
    """

    p_values: tuple[float, ...]
    adjusted: tuple[float, ...]
    rejected: tuple[bool, ...]
    family_size: int
    method: str
    alpha: float
    names: tuple[str, ...] | None = None

    def summary(self) -> str:
        """One plain-language sentence describing the result."""
        what = "false discovery rate" if self.method == "bh" else "family-wise error rate"
        if self.method == "none":
            what = "per-comparison error rate"
        return (
            f"{sum(self.rejected)} of {self.family_size} hypotheses rejected at {what} "
            f"{fmt(self.alpha)} ({CORRECTION_NAMES[self.method]}, family of "
            f"{self.family_size})."
        )


def _adjusted(p: np.ndarray, method: str) -> np.ndarray:
    m = p.size
    if m == 0 or method == "none":
        return p.copy()
    if method == "bonferroni":
        return np.minimum(1.0, p * m)
    order = np.argsort(p, kind="stable")
    ranked = p[order]
    if method == "holm":
        # Step-down: the i-th smallest p (0-based) is multiplied by m - i; keep monotone.
        adj = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * ranked))
    elif method == "bh":
        # Step-up: m / rank, then a running minimum from the largest p downwards.
        adj = np.minimum.accumulate((m / np.arange(1, m + 1) * ranked)[::-1])[::-1]
        adj = np.minimum(1.0, adj)
    else:
        raise ValueError(f"`method` must be 'holm', 'bh', 'bonferroni' or 'none', got {method!r}.")
    out = np.empty(m)
    out[order] = adj
    return out


def adjust(
    p_values: Any,
    method: Correction = "holm",
    alpha: float = 0.05,
) -> Adjustment:
    """Adjust a family of p-values for multiple comparisons.

    Use Holm (family-wise error control) for the confirmatory family, e.g. every candidate
    against the production baseline; use Benjamini-Hochberg (false discovery rate) for
    exploratory breakdowns such as per-language or per-domain slices. The family size is always
    reported alongside.

    Args:
        p_values: A sequence of p-values, or a mapping from a label to a p-value.
        method: ``"holm"``, ``"bh"``, ``"bonferroni"`` or ``"none"``.
        alpha: Error rate to control.

    Returns:
        An :class:`Adjustment` in input order.

    Raises:
        ValueError: For p-values outside [0, 1], NaN, or an unknown method.
    """
    names = None
    if isinstance(p_values, Mapping):
        names = tuple(str(k) for k in p_values)
        p_values = list(p_values.values())
    p = np.asarray(p_values, dtype=np.float64).ravel()
    check_finite(p, "p_values")
    if np.any((p < 0) | (p > 1)):
        raise ValueError("`p_values` must lie in [0, 1].")
    alpha = check_alpha(alpha)
    if method not in CORRECTION_NAMES:
        raise ValueError(f"`method` must be 'holm', 'bh', 'bonferroni' or 'none', got {method!r}.")
    adj = _adjusted(p, method)
    return Adjustment(
        p_values=tuple(float(v) for v in p),
        adjusted=tuple(float(v) for v in adj),
        rejected=tuple(bool(v <= alpha) for v in adj),
        family_size=int(p.size),
        method=method,
        alpha=alpha,
        names=names,
    )


def as_table(table: Any) -> tuple[tuple[str, ...], np.ndarray]:
    """Normalise a systems x units table to (names, float array of shape (k, N))."""
    if hasattr(table, "index") and hasattr(table, "to_numpy"):  # pandas DataFrame
        names = tuple(str(i) for i in table.index)
        values = table.to_numpy(dtype=np.float64)
    elif isinstance(table, Mapping):
        names = tuple(str(k) for k in table)
        values = np.asarray([np.asarray(v, dtype=np.float64) for v in table.values()])
    else:
        values = np.asarray(table, dtype=np.float64)
        names = tuple(f"system {i}" for i in range(values.shape[0])) if values.ndim else ()
    if values.ndim != 2 or values.shape[0] < 2 or values.shape[1] < 1:
        raise ValueError(
            "`table` must have shape (systems, datasets) with at least 2 systems, got "
            f"{values.shape}."
        )
    check_finite(values, "table")
    return names, values


def _rank_rows(values: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """Rank systems within each dataset (column): 1 = best, ties get average ranks."""
    return sps.rankdata(-values if higher_is_better else values, axis=0)


@dataclasses.dataclass(frozen=True)
class FriedmanResult(ResultMixin):
    """Result of :func:`friedman_nemenyi`.

    Attributes:
        estimate: Kendall's W (0 = datasets disagree on the ranking, 1 = full agreement).
        ci: Not available for W; ``(nan, nan)``.
        p_value: Friedman chi-square p-value.
        n: Number of datasets (columns).
        method: Description of the procedure.
        statistic: Friedman chi-square.
        f_statistic: Iman-Davenport F.
        f_p_value: p-value of the Iman-Davenport F (less conservative than chi-square).
        f_df: Degrees of freedom of F.
        systems: System names, in input order.
        average_ranks: Average rank of each system (1 = best).
        critical_difference: Nemenyi critical difference of average ranks at ``alpha``.
        q_alpha: Studentized range quantile divided by sqrt(2).
        alpha: Significance level of the critical difference.
        groups: Maximal sets of systems (best first) whose average ranks are within the
            critical difference of each other: cannot be told apart.
    """

    estimate: float
    ci: tuple[float, float]
    p_value: float
    n: int
    method: str
    statistic: float
    f_statistic: float
    f_p_value: float
    f_df: tuple[int, int]
    systems: tuple[str, ...]
    average_ranks: tuple[float, ...]
    critical_difference: float
    q_alpha: float
    alpha: float
    groups: tuple[tuple[str, ...], ...]

    def summary(self) -> str:
        """One plain-language sentence describing the result."""
        order = np.argsort(self.average_ranks, kind="stable")
        ranks = ", ".join(f"{self.systems[i]} {self.average_ranks[i]:.3f}" for i in order)
        groups = "; ".join("{" + ", ".join(g) + "}" for g in self.groups if len(g) > 1)
        return (
            f"Average ranks over {self.n} datasets (1 = best): {ranks}. Friedman chi-square = "
            f"{self.statistic:.2f} (p = {fmt_p(self.p_value)}; Iman-Davenport F = "
            f"{self.f_statistic:.2f}, p = {fmt_p(self.f_p_value)}); average ranks further apart "
            f"than CD = {self.critical_difference:.2f} (Nemenyi, alpha = {fmt(self.alpha)}) "
            "differ significantly"
            + (f"; cannot be told apart: {groups}." if groups else "; every pair differs.")
        )


def _cd_groups(
    names: tuple[str, ...], ranks: np.ndarray, cd: float
) -> tuple[tuple[str, ...], ...]:
    order = np.argsort(ranks, kind="stable")
    sorted_ranks = ranks[order]
    groups: list[tuple[int, int]] = []
    for i in range(order.size):
        j = int(np.searchsorted(sorted_ranks, sorted_ranks[i] + cd, side="right")) - 1
        if not groups or j > groups[-1][1]:
            groups.append((i, j))
    return tuple(tuple(names[order[k]] for k in range(i, j + 1)) for i, j in groups)


def friedman_nemenyi(
    table: Any,
    alpha: float = 0.05,
    higher_is_better: bool = True,
    tie_correction: bool = True,
) -> FriedmanResult:
    """Friedman test with Iman-Davenport F and the Nemenyi critical difference (Demsar, 2006).

    Systems are ranked within each dataset (1 = best; ties get average ranks). With
    ``tie_correction=True`` the chi-square equals ``scipy.stats.friedmanchisquare``; with
    ``False`` it is the textbook formula used in Demsar's worked example. The Nemenyi critical
    difference is ``q_alpha * sqrt(k (k + 1) / (6 N))`` with ``q_alpha`` the studentized range
    quantile (infinite df) divided by sqrt(2).

    Args:
        table: Scores of shape (systems, datasets): a 2-D array, a mapping from system name to
            its per-dataset scores, or a pandas DataFrame with systems as rows.
        alpha: Level of the critical difference.
        higher_is_better: Whether higher scores rank first.
        tie_correction: Divide chi-square by the tie correction factor (as scipy does).

    Returns:
        A :class:`FriedmanResult`.

    Raises:
        ValueError: On malformed or non-finite tables.
    """
    names, values = as_table(table)
    alpha = check_alpha(alpha)
    k, n = values.shape
    ranks = _rank_rows(values, higher_is_better)
    avg = ranks.mean(axis=1)
    chi2 = 12.0 * n / (k * (k + 1)) * (np.sum(avg**2) - k * (k + 1) ** 2 / 4.0)
    if tie_correction:
        ties = 0.0
        for col in values.T:
            _, counts = np.unique(col, return_counts=True)
            ties += float(np.sum(counts.astype(np.float64) ** 3 - counts))
        factor = 1.0 - ties / (n * k * (k * k - 1))
        chi2 = chi2 / factor if factor > 0 else 0.0
    p_value = float(sps.chi2.sf(chi2, k - 1))
    denom = n * (k - 1) - chi2
    f_stat = (n - 1) * chi2 / denom if denom > 0 else math.inf
    f_df = (k - 1, (k - 1) * (n - 1))
    f_p = float(sps.f.sf(f_stat, *f_df)) if f_df[1] > 0 and math.isfinite(f_stat) else 0.0
    q_alpha = float(sps.studentized_range.ppf(1.0 - alpha, k, np.inf) / math.sqrt(2.0))
    cd = q_alpha * math.sqrt(k * (k + 1) / (6.0 * n))
    return FriedmanResult(
        estimate=float(chi2 / (n * (k - 1))), ci=(math.nan, math.nan), p_value=p_value, n=n,
        method="Friedman test" + (" (tie-corrected)" if tie_correction else "")
        + " with Iman-Davenport F and Nemenyi critical difference",
        statistic=float(chi2), f_statistic=float(f_stat), f_p_value=f_p, f_df=f_df,
        systems=names, average_ranks=tuple(float(r) for r in avg), critical_difference=cd,
        q_alpha=q_alpha, alpha=alpha, groups=_cd_groups(names, avg, cd),
    )  # fmt: skip


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

    Each row of ``table`` is a system and each column a paired unit: a dataset or language pair
    (Demsar recommends ``"wilcoxon"`` there) or a test example (``"permutation"``,
    ``"bootstrap"``, ``"t"``, or ``"mcnemar"`` for 0/1 outcomes). ``"ranks"`` is Demsar's
    z-test on Friedman average ranks, ``z = (R_a - R_b) / sqrt(k (k + 1) / (6 N))``, the usual
    post-hoc test against a control. The family is then adjusted with ``correction``.

    Args:
        table: Scores of shape (systems, units), as for :func:`friedman_nemenyi`.
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
    from ._paired import (
        mcnemar,
        paired_bootstrap,
        paired_permutation_test,
        paired_t_test,
        wilcoxon_signed_rank,
    )

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
    runners = {
        "wilcoxon": lambda x, y: wilcoxon_signed_rank(x, y),
        "permutation": lambda x, y: paired_permutation_test(x, y, n_resamples, seed),
        "t": lambda x, y: paired_t_test(x, y),
        "bootstrap": lambda x, y: paired_bootstrap(x, y, n_resamples, seed),
        "mcnemar": lambda x, y: mcnemar(x, y),
    }
    rows = []
    if test == "ranks":
        avg = _rank_rows(values, higher_is_better).mean(axis=1)
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
