"""Almost Stochastic Order (Dror et al., 2019; del Barrio et al., 2018), vectorised.

Follows deepsig's ``aso`` (Ulmer et al., 2022) step by step so that the two agree: the same
quantile-function convention, the same integration grid (``t = dt, 2 dt, ...`` below 1, with
the first grid point left out of the violation integral), the same bootstrap of the score
distributions, the same standard-deviation estimate and the same Bonferroni adjustment of the
confidence level. Only the implementation differs: instead of one Python-level quantile
function call per grid point and resample, every bootstrap resample is drawn as multinomial
counts and its order statistics at the grid points are found with one ``searchsorted`` over
the cumulative counts of all resamples at once.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
from scipy import stats as sps

from ._base import ResultMixin, as_1d, check_n_resamples, fmt, make_rng, row_chunks


def _grid(dt: float) -> np.ndarray:
    # deepsig integrates over np.arange(dt, 1, dt); keep exactly that grid.
    return np.arange(dt, 1, dt)


def _quantile_positions(n: int, grid: np.ndarray) -> np.ndarray:
    """Order-statistic positions of the empirical quantile function at ``grid``."""
    positions: np.ndarray = np.clip(np.ceil(n * grid).astype(np.int64) - 1, 0, n - 1)
    return positions


def _violation_ratio(f: np.ndarray, g: np.ndarray, dt: float) -> np.ndarray:
    """epsilon_W2 of ``F`` (quantiles ``f``) over ``G`` (quantiles ``g``), along the last axis."""
    diff = g - f
    w2 = np.sum(diff**2 * dt, axis=-1)
    violation = np.where(f < g, diff, 0.0)[..., 1:]
    integral = np.sum(violation**2 * dt, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        # Identical quantile functions make the ratio 0/0; deepsig then returns 0.5.
        return np.where(w2 > 0, integral / np.where(w2 > 0, w2, 1.0), 0.5)


def _bootstrap_quantiles(
    sorted_scores: np.ndarray,
    positions: np.ndarray,
    n_rows: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Empirical quantiles (at ``positions``) of ``n_rows`` bootstrap resamples."""
    n = sorted_scores.size
    draws = rng.integers(0, n, size=(n_rows, n))
    offsets = np.arange(n_rows, dtype=np.int64) * n
    counts = np.bincount((draws + offsets[:, None]).ravel(), minlength=n_rows * n)
    # Cumulative counts of all rows, shifted so the concatenation is non-decreasing; the k-th
    # smallest value of row r is the first element whose cumulative count exceeds k.
    cum = counts.reshape(n_rows, n).cumsum(axis=1) + offsets[:, None]
    queries = positions[None, :] + offsets[:, None]
    found = np.searchsorted(cum.ravel(), queries.ravel(), side="right").reshape(queries.shape)
    quantiles: np.ndarray = sorted_scores[found - offsets[:, None]]
    return quantiles


@dataclasses.dataclass(frozen=True)
class ASOResult(ResultMixin):
    """Result of :func:`aso`.

    Attributes:
        estimate: Violation ratio epsilon_W2 (0 = A always better, 0.5 = no order, 1 = B).
        ci: One-sided interval ``(0, eps_min)`` at level ``confidence``.
        p_value: Always ``None``: ASO yields a bound, not a p-value.
        n: Total number of scores (``n_a + n_b``).
        method: Description of the procedure.
        eps_min: Upper confidence bound of the violation ratio (deepsig's return value).
        eps_min_reverse: The same bound for B over A (``1 - ratio`` plus the same margin).
        tau: Threshold below which A is declared almost stochastically better.
        a_dominates: ``eps_min < tau``.
        confidence: Confidence level after the Bonferroni adjustment.
        n_a: Number of scores of A.
        n_b: Number of scores of B.
        n_resamples: Bootstrap iterations.
        sigma: Bootstrap estimate of the standard deviation of the scaled ratio.
    """

    estimate: float
    ci: tuple[float, float]
    p_value: None
    n: int
    method: str
    eps_min: float
    eps_min_reverse: float
    tau: float
    a_dominates: bool
    confidence: float
    n_a: int
    n_b: int
    n_resamples: int
    sigma: float

    def summary(self) -> str:
        """One plain-language sentence describing the result."""
        if self.a_dominates:
            head = (
                f"A is almost stochastically better than B: eps_min = {fmt(self.eps_min)} is "
                f"below tau = {fmt(self.tau)}"
            )
        elif self.eps_min_reverse < self.tau:
            head = (
                f"B is almost stochastically better than A (eps_min for B over A = "
                f"{fmt(self.eps_min_reverse)} < tau = {fmt(self.tau)})"
            )
        else:
            head = (
                f"Neither system is almost stochastically better (eps_min = {fmt(self.eps_min)}"
                f", reverse {fmt(self.eps_min_reverse)}, tau = {fmt(self.tau)})"
            )
        return (
            f"{head}; A's score distribution violates dominance over B's with ratio "
            f"{fmt(self.estimate)} ({self.n_a} vs {self.n_b} scores, "
            f"{round(self.confidence * 1000) / 10}% confidence bound)."
        )


def aso(
    a: Any,
    b: Any,
    seed: int = 0,
    tau: float = 0.2,
    confidence: float = 0.95,
    n_resamples: int = 1000,
    num_comparisons: int = 1,
    dt: float = 0.005,
) -> ASOResult:
    """Almost Stochastic Order test of "A is better than B" (higher scores are better).

    Computes the violation ratio ``epsilon_W2`` of the quantile functions of the two score
    samples (the share of the squared Wasserstein distance where B's quantiles exceed A's) and
    its upper confidence bound ``eps_min = ratio + sigma / sqrt(n_a n_b / (n_a + n_b)) *
    z_confidence``, with ``sigma`` from a bootstrap of both samples. ``eps_min < tau`` (0.2 is
    the threshold recommended by Ulmer et al., 2022) means A almost stochastically dominates B.
    Matches deepsig's ``aso(a, b, confidence_level, num_comparisons, num_bootstrap_iterations,
    dt)`` up to bootstrap noise.

    Args:
        a: Scores of A (e.g. one per training seed); need not pair with ``b``.
        b: Scores of B.
        seed: Seed of the random generator.
        tau: Dominance threshold for ``a_dominates``.
        confidence: Confidence level of the bound before the Bonferroni adjustment.
        n_resamples: Bootstrap iterations for ``sigma``.
        num_comparisons: Size of the family; raises the confidence level to
            ``confidence + (1 - confidence) / num_comparisons`` (as deepsig does).
        dt: Integration step over the quantile levels.

    Returns:
        An :class:`ASOResult`.

    Raises:
        ValueError: On empty or non-finite input or invalid settings.
    """
    x = np.sort(as_1d(a, "a"))
    y = np.sort(as_1d(b, "b"))
    n_resamples = check_n_resamples(n_resamples, minimum=2)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"`confidence` must be in (0, 1), got {confidence!r}.")
    if num_comparisons < 1:
        raise ValueError(f"`num_comparisons` must be >= 1, got {num_comparisons!r}.")
    if not 0.0 < dt < 0.5:
        raise ValueError(f"`dt` must be in (0, 0.5), got {dt!r}.")
    if num_comparisons > 1:
        confidence += (1.0 - confidence) / num_comparisons
    grid = _grid(dt)
    pos_a = _quantile_positions(x.size, grid)
    pos_b = _quantile_positions(y.size, grid)
    ratio = float(_violation_ratio(x[pos_a], y[pos_b], dt))
    rng = make_rng(seed)
    samples = np.empty(n_resamples)
    for rows in row_chunks(n_resamples, 40 * (x.size + y.size) + 16 * grid.size):
        n_rows = rows.stop - rows.start
        f = _bootstrap_quantiles(x, pos_a, n_rows, rng)
        g = _bootstrap_quantiles(y, pos_b, n_rows, rng)
        samples[rows] = _violation_ratio(f, g, dt)
    const = math.sqrt(x.size * y.size / (x.size + y.size))
    sigma = float(np.std(const * (samples - ratio)))
    margin = -(1.0 / const) * sigma * float(sps.norm.ppf(1.0 - confidence))
    eps_min = float(np.clip(ratio + margin, 0.0, 1.0))
    eps_rev = float(np.clip(1.0 - ratio + margin, 0.0, 1.0))
    return ASOResult(
        estimate=ratio, ci=(0.0, eps_min), p_value=None, n=x.size + y.size,
        method=f"Almost Stochastic Order ({n_resamples:,} bootstrap iterations, dt = {dt})",
        eps_min=eps_min, eps_min_reverse=eps_rev, tau=float(tau), a_dominates=eps_min < tau,
        confidence=confidence, n_a=x.size, n_b=y.size, n_resamples=n_resamples, sigma=sigma,
    )  # fmt: skip
