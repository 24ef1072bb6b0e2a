"""Families of comparisons: multiple-comparison adjustment and the one table of their names."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np

from ._base import ResultMixin, check_alpha, check_finite, fmt

Correction = Literal["holm", "bh", "bonferroni", "none"]
#: Display name of each multiple-comparison adjustment, the one table every module and
#: report uses (keys are the ``correction`` / ``method`` values the API accepts).
CORRECTION_NAMES: dict[str, str] = {
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
        capped: np.ndarray = np.minimum(1.0, p * m)
        return capped
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
