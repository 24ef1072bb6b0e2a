"""Paired two-system tests on per-example scores: permutation, bootstrap, t, McNemar."""

from __future__ import annotations

import functools
import math
from typing import Any, Literal

import numpy as np
from scipy import stats as sps

from ._base import (
    TestResult,
    check_confidence,
    check_n_resamples,
    make_rng,
    paired,
    tie_tolerance,
)
from ._resampling import (
    bca_ci,
    bootstrap_means,
    exact_subset_sums,
    inversion_p_value,
    percentile_ci,
    random_subset_sums,
)

# Exact enumeration of 2**n sign patterns is capped so that it stays a fraction of a second.
_MAX_EXACT_N = 22
# Below this many examples paired_bootstrap's p-value is flagged as anti-conservative.
BOOTSTRAP_MIN_N = 200
#: Below this many examples a BCa p-value can exceed its level on heavy-tailed differences.
BCA_MIN_N = 1_000


def _t_interval(d: np.ndarray, confidence: float) -> tuple[tuple[float, float], float, float]:
    """Student-t interval for the mean of ``d``; also returns its standard error and df."""
    n = d.size
    mean = float(d.mean())
    if n < 2:
        return (math.nan, math.nan), math.nan, math.nan
    se = float(d.std(ddof=1) / math.sqrt(n))
    half = float(sps.t.ppf(0.5 + confidence / 2.0, n - 1)) * se
    return (mean - half, mean + half), se, float(n - 1)


def paired_permutation_test(
    a: Any,
    b: Any,
    n_resamples: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
) -> TestResult:
    """Two-sided paired permutation (sign-flip, approximate randomization) test.

    Under the null hypothesis the two systems are exchangeable on every example, so the sign of
    each per-example difference ``a[i] - b[i]`` is equally likely to be flipped. The statistic is
    ``|mean(d)|``. When ``2**n <= n_resamples`` all sign patterns are enumerated and the p-value
    is exact; otherwise ``n_resamples`` random patterns are drawn and the p-value is
    ``(count + 1) / (n_resamples + 1)``, which keeps the test valid (never anti-conservative).
    Measured rejection rates of equal systems (skewed, heteroscedastic per-example noise) at a
    nominal 5 % with 999 resamples (2,000 simulations each, ``benchmarks/stats_calibration.py``):
    4.4 % with 12 examples, 4.3 % with 40, 5.6 % with 300, 5.5 % with 3,000.

    Memory stays bounded: random signs are drawn as packed bytes in chunks and resolved through
    per-byte lookup tables, so 1,000,000 examples x 10,000 resamples needs a few hundred MB.

    Args:
        a: Per-example scores of system A.
        b: Per-example scores of system B, paired with ``a``.
        n_resamples: Number of random sign patterns (Monte Carlo) when not enumerating.
        seed: Seed of the random generator.
        confidence: Level of the reported interval (a Student-t interval for the mean
            difference; the permutation test itself gives no interval).

    Returns:
        A :class:`TestResult` whose estimate is ``mean(a - b)``.

    Raises:
        ValueError: On length mismatch, empty or non-finite input.
    """
    x, y = paired(a, b)
    n_resamples = check_n_resamples(n_resamples)
    confidence = check_confidence(confidence)
    d = x - y
    n = d.size
    total = float(d.sum())
    tol = tie_tolerance(total, float(np.abs(d).sum()) * 1e-6)
    ci, se, df = _t_interval(d, confidence)
    if n <= _MAX_EXACT_N and 2**n <= n_resamples:
        # Flipping the subset S turns the sum into total - 2 * sum(d[S]).
        null = np.abs(total - 2.0 * exact_subset_sums(d))
        count = int(np.count_nonzero(null >= abs(total) - tol))
        p_value = count / 2**n
        method = f"paired permutation test (exact, all {2**n:,} sign patterns)"
        return TestResult(
            estimate=total / n, ci=ci, p_value=p_value, n=n, method=method,
            statistic=total / n, confidence=confidence, ci_method="Student t",
            n_resamples=None, se=se, df=df, p_resolution=2.0 / 2**n, exact=True,
        )  # fmt: skip
    rng = make_rng(seed)
    null = np.abs(total - 2.0 * random_subset_sums(d, n_resamples, rng))
    count = int(np.count_nonzero(null >= abs(total) - tol))
    p_value = (count + 1) / (n_resamples + 1)
    return TestResult(
        estimate=total / n, ci=ci, p_value=p_value, n=n,
        method=f"paired permutation test (sign flips, {n_resamples:,} resamples)",
        statistic=total / n, confidence=confidence, ci_method="Student t",
        n_resamples=n_resamples, se=se, df=df, p_resolution=1.0 / (n_resamples + 1),
    )  # fmt: skip


def paired_bootstrap(
    a: Any,
    b: Any,
    n_resamples: int = 10_000,
    seed: int = 0,
    method: Literal["percentile", "bca"] = "percentile",
    confidence: float = 0.95,
) -> TestResult:
    """Paired bootstrap confidence interval for the mean difference ``mean(a - b)``.

    Examples are resampled with replacement (the same indices for both systems). ``"bca"``
    applies the bias-corrected and accelerated interval with the jackknife acceleration
    (computed in closed form for the mean, so it costs O(n)).

    The p-value is the one implied by the interval (the smallest ``1 - confidence`` at which it
    excludes zero), so the two never disagree. It is *not* the fraction of resamples in which
    one system wins, which is not a p-value. Like any bootstrap of a mean it is
    anti-conservative on small samples, and BCa more so on heavy-tailed differences. Measured
    rejection rates of equally good systems at a nominal 5 % (2,000 simulations per cell,
    Monte Carlo SE 0.005; normal, t(3), exchangeable 0/1 pairs and heavy-tailed symmetric
    differences, ``benchmarks/stats_calibration.py --only bootstrap``), lowest to highest
    over the four:

    =====  ==============  ==============
    n      percentile      BCa
    =====  ==============  ==============
    20     7.1-9.9 %       6.5-17.3 %
    50     5.0-8.8 %       5.5-14.1 %
    100    5.6-6.2 %       4.8-10.8 %
    200    4.8-6.3 %       5.0-9.5 %
    500    4.1-5.6 %       4.1-7.8 %
    =====  ==============  ==============

    So the percentile p-value holds 5 % (within 3.5-6.5 %) from ``BOOTSTRAP_MIN_N`` = 200
    examples on, BCa's only on near-normal differences; below 200 examples (percentile) or
    below ``BCA_MIN_N`` = 1,000 (BCa) the result carries a ``warning`` with these rates. For
    the p-value prefer :func:`paired_permutation_test` (5.5 % at n = 3,000 down to 4.3 % at
    n = 12 on skewed data); use this function for the interval.

    Args:
        a: Per-example scores of system A.
        b: Per-example scores of system B, paired with ``a``.
        n_resamples: Number of bootstrap resamples.
        seed: Seed of the random generator.
        method: ``"percentile"`` or ``"bca"``.
        confidence: Confidence level of the interval.

    Returns:
        A :class:`TestResult`.

    Raises:
        ValueError: On length mismatch, empty or non-finite input, or an unknown method.
    """
    if method not in ("percentile", "bca"):
        raise ValueError(f"`method` must be 'percentile' or 'bca', got {method!r}.")
    x, y = paired(a, b)
    n_resamples = check_n_resamples(n_resamples, minimum=2)
    confidence = check_confidence(confidence)
    d = x - y
    n = d.size
    theta = float(d.mean())
    boot = bootstrap_means(d, n_resamples, make_rng(seed))
    if method == "bca":
        jack = (d.sum() - d) / (n - 1) if n > 1 else np.array([theta])
        ci = bca_ci(boot, theta, jack, confidence)
        p_value = inversion_p_value(boot, 0.0, theta, jack)
    else:
        ci = percentile_ci(boot, confidence)
        p_value = inversion_p_value(boot, 0.0)
    if np.all(d == 0):
        # Identical systems: every resample is exactly zero, which is no evidence at all.
        p_value = 1.0
    warning = None
    if n < (BOOTSTRAP_MIN_N if method == "percentile" else BCA_MIN_N):
        rates = "7-10 % at n = 20, 5-9 % at 50, 5-6 % at 100" if method == "percentile" else (
            "up to 17 % at n = 20, 14 % at 50, 11 % at 100, 9.5 % at 200 and 7.8 % at 500 on "
            "heavy-tailed differences")  # fmt: skip
        warning = (
            f"with {n} examples the {method} bootstrap p-value can reject equal systems more "
            f"often than its level (measured at a nominal 5 %: {rates}); use "
            "paired_permutation_test for the p-value and this interval as a description."
        )
    return TestResult(
        estimate=theta, ci=ci, p_value=p_value, n=n,
        method=f"paired bootstrap ({method}, {n_resamples:,} resamples)",
        statistic=theta, confidence=confidence, ci_method=f"bootstrap {method}",
        n_resamples=n_resamples, se=float(boot.std(ddof=1)), df=math.inf,
        p_resolution=1.0 / (n_resamples + 1), warning=warning,
    )  # fmt: skip


def paired_t_test(a: Any, b: Any, confidence: float = 0.95) -> TestResult:
    """Paired Student t-test on ``a - b`` (same numbers as ``scipy.stats.ttest_rel``).

    When every difference is identical the t statistic is undefined: the p-value is then 1.0 if
    the differences are all zero and 0.0 otherwise (a constant non-zero shift).

    Args:
        a: Per-example scores of system A.
        b: Per-example scores of system B, paired with ``a``.
        confidence: Level of the Student-t interval.

    Returns:
        A :class:`TestResult`.

    Raises:
        ValueError: On length mismatch, non-finite input or fewer than two pairs.
    """
    x, y = paired(a, b)
    confidence = check_confidence(confidence)
    d = x - y
    n = d.size
    if n < 2:
        raise ValueError("paired_t_test needs at least two pairs (`a` and `b` have one value).")
    ci, se, df = _t_interval(d, confidence)
    mean = float(d.mean())
    if se == 0:
        stat = 0.0 if mean == 0 else math.copysign(math.inf, mean)
        p_value = 1.0 if mean == 0 else 0.0
    else:
        stat = mean / se
        p_value = float(2.0 * sps.t.sf(abs(stat), df))
    return TestResult(
        estimate=mean, ci=ci, p_value=p_value, n=n, method="paired t-test", statistic=stat,
        confidence=confidence, ci_method="Student t", se=se, df=df, p_resolution=0.0,
        exact=True,
    )  # fmt: skip


@functools.lru_cache(maxsize=64)
def _signed_rank_counts(n: int) -> np.ndarray:
    """Number of sign patterns giving each rank sum 0..n(n+1)/2 (no ties), as float64.

    Counts fit exactly in float64 for n <= 50 (at most 2**50), which is where they are used.
    """
    counts = np.zeros(n * (n + 1) // 2 + 1, dtype=np.float64)
    counts[0] = 1.0
    top = 0
    for i in range(1, n + 1):
        # Adding rank i: each pattern either excludes it or shifts its rank sum by i.
        counts[i : top + i + 1] += counts[: top + 1].copy()
        top += i
    return counts


def _rank_abs(d: np.ndarray) -> tuple[np.ndarray, float]:
    """Average ranks of |d| and the tie term sum(t**3 - t)."""
    ranks = sps.rankdata(np.abs(d))
    _, tie_sizes = np.unique(np.abs(d), return_counts=True)
    return ranks, float(np.sum(tie_sizes.astype(np.float64) ** 3 - tie_sizes))


def _hodges_lehmann(d: np.ndarray, confidence: float) -> tuple[float, tuple[float, float]]:
    """Hodges-Lehmann estimate (median of Walsh averages) and its distribution-free interval.

    Exact for up to 3,000 differences; beyond that a fixed, seeded sample of two million Walsh
    averages approximates their quantiles (the estimate's sampling error is far smaller).
    """
    n = d.size
    if n <= 3000:
        i, j = np.triu_indices(n)
        walsh = (d[i] + d[j]) / 2.0
    else:
        rng = np.random.default_rng(0)
        i = rng.integers(0, n, 2_000_000)
        j = rng.integers(0, n, 2_000_000)
        walsh = (d[i] + d[j]) / 2.0
    walsh.sort()
    m = n * (n + 1) / 2.0
    tail = (1.0 - confidence) / 2.0
    if n <= 50:
        cdf = np.cumsum(_signed_rank_counts(n)) / 2.0**n
        k = int(np.searchsorted(cdf, tail, side="right"))  # P(W <= k - 1) <= tail
    else:
        z = sps.norm.ppf(1.0 - tail)
        k = math.floor(m / 2.0 - z * math.sqrt(n * (n + 1) * (2 * n + 1) / 24.0))
    k = max(k, 1)
    scale = walsh.size / m  # positions refer to all m Walsh averages
    lo_pos = min(walsh.size - 1, max(0, round(k * scale) - 1))
    hi_pos = min(walsh.size - 1, max(0, round((m - k + 1) * scale) - 1))
    if k >= m / 2.0:
        # Too few examples for any interval at this level: report the whole range.
        lo_pos, hi_pos = 0, walsh.size - 1
    return float(np.median(walsh)), (float(walsh[lo_pos]), float(walsh[hi_pos]))


def wilcoxon_signed_rank(a: Any, b: Any, confidence: float = 0.95) -> TestResult:
    """Wilcoxon signed-rank test on ``a - b`` (same p-value as ``scipy.stats.wilcoxon``).

    Zero differences are dropped (Wilcoxon's convention) and ties get average ranks. Like scipy
    with ``method="auto"``: with at most 50 pairs and no ties or zeros the exact null
    distribution is used; with ties or zeros and at most 13 pairs all sign patterns are
    enumerated; otherwise the normal approximation with tie correction (no continuity
    correction) is used. The statistic is ``min(W+, W-)``.

    The estimate is the Hodges-Lehmann pseudo-median of the differences, with its
    distribution-free interval.

    Args:
        a: Per-example scores of system A.
        b: Per-example scores of system B, paired with ``a``.
        confidence: Level of the Hodges-Lehmann interval.

    Returns:
        A :class:`TestResult`.

    Raises:
        ValueError: On length mismatch or non-finite input.
    """
    x, y = paired(a, b)
    confidence = check_confidence(confidence)
    d_all = x - y
    n_all = d_all.size
    d = d_all[d_all != 0]
    n = d.size
    estimate, ci = _hodges_lehmann(d_all, confidence)
    base = {
        "estimate": estimate, "ci": ci, "n": n_all, "confidence": confidence,
        "estimand": "Hodges-Lehmann median difference (A - B)",
        "ci_method": "Hodges-Lehmann (Walsh averages)",
    }  # fmt: skip
    if n == 0:
        return TestResult(
            p_value=1.0, method="Wilcoxon signed-rank test (all differences are zero)",
            statistic=0.0, p_resolution=1.0, exact=True, **base,
        )  # fmt: skip
    ranks, tie_term = _rank_abs(d)
    r_plus = float(ranks[d > 0].sum())
    r_minus = float(ranks[d < 0].sum())
    stat = min(r_plus, r_minus)
    has_ties_or_zeros = tie_term > 0 or n < n_all
    if n_all <= 50 and not has_ties_or_zeros:
        cdf_counts = np.cumsum(_signed_rank_counts(n))
        total = 2.0**n
        k = round(r_plus)
        p_upper = (total - (cdf_counts[k - 1] if k >= 1 else 0.0)) / total
        p_lower = cdf_counts[k] / total
        p_value = float(min(1.0, 2.0 * min(p_upper, p_lower)))
        method, exact, resolution = "Wilcoxon signed-rank test (exact)", True, 2.0 / total
    elif n_all <= 13:
        # Ties or zeros make the tabulated distribution inexact; enumerate sign patterns.
        null = exact_subset_sums(ranks)
        tol = tie_tolerance(r_plus)
        greater = np.count_nonzero(null >= r_plus - tol) / null.size
        less = np.count_nonzero(null <= r_plus + tol) / null.size
        p_value = float(min(1.0, 2.0 * min(greater, less)))
        method = f"Wilcoxon signed-rank test (exact, all {2**n_all:,} sign patterns)"
        exact, resolution = True, 2.0 / null.size
    else:
        mean = n * (n + 1) / 4.0
        var = (n * (n + 1) * (2 * n + 1) - tie_term / 2.0) / 24.0
        z = (r_plus - mean) / math.sqrt(var)
        p_value = float(2.0 * sps.norm.sf(abs(z)))
        method, exact, resolution = "Wilcoxon signed-rank test (normal approximation)", False, 0.0
    return TestResult(
        p_value=p_value, method=method, statistic=stat, p_resolution=resolution, exact=exact,
        **base,
    )  # fmt: skip
