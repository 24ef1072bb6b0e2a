"""Many systems over many data sets: score tables, Friedman test, Nemenyi critical difference."""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy import stats as sps

from ._base import ResultMixin, check_alpha, check_finite, fmt, fmt_p


def as_table(table: Any, stacklevel: int = 3) -> tuple[tuple[str, ...], np.ndarray]:
    """Normalise a score table to (system names, float array of shape (systems, datasets)).

    The field's pandas convention (autorank, scikit-posthocs, Demsar's tables): one column per
    system and one row per data set (or seed, or example); a mapping ``{system: scores}`` is
    accepted too. A table with more systems (columns) than data sets (rows) gets a
    ``UserWarning``: it is probably transposed.
    """
    if isinstance(table, Mapping):
        names = tuple(str(k) for k in table)
        values = np.asarray([np.asarray(v, dtype=np.float64) for v in table.values()])
        if values.ndim != 2 or values.shape[0] < 2 or values.shape[1] < 1:
            raise ValueError(
                "`table` as a mapping needs at least 2 systems, each with the same number of "
                f"scores (one per data set), got shape {values.shape}."
            )
        check_finite(values, "table")
        return names, values
    if hasattr(table, "columns") and hasattr(table, "to_numpy"):  # pandas DataFrame
        columns = tuple(str(c) for c in table.columns)
        values = np.asarray(table.to_numpy(dtype=np.float64)).T
    else:
        values = np.asarray(table, dtype=np.float64).T
        columns = tuple(f"system {i}" for i in range(values.shape[0])) if values.ndim else ()
    if values.ndim != 2 or values.shape[0] < 2 or values.shape[1] < 1:
        raise ValueError(
            "`table` needs one column per system (at least 2) and one row per data set, got "
            f"shape {values.T.shape}."
        )
    check_finite(values, "table")
    k, n = values.shape
    if k > n:
        warnings.warn(
            f"`table` has {k} columns (systems) but only {n} rows (data sets): it looks "
            "transposed. Score tables follow the pandas convention of autorank and "
            "scikit-posthocs, one column per system and one row per data set; pass `table.T` "
            "if your rows are systems.",
            UserWarning,
            stacklevel=stacklevel,
        )
    return columns, values


def rank_within_datasets(values: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """Rank systems within each data set (column of ``values``): 1 = best, ties averaged."""
    ranks: np.ndarray = sps.rankdata(-values if higher_is_better else values, axis=0)
    return ranks


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
        table: Scores, one column per system and one row per data set: a pandas DataFrame
            (column names are the system names), a 2-D array of shape (datasets, systems), or
            a mapping ``{system: per-dataset scores}``. More columns than rows warns (the
            table looks transposed).
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
    ranks = rank_within_datasets(values, higher_is_better)
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
