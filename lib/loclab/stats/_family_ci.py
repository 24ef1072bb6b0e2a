"""Intervals that agree with a family's adjusted decisions.

A comparison adjusted within a family (Holm, Benjamini-Hochberg, Bonferroni) is rejected when
its adjusted p-value is at most ``alpha``, i.e. when its raw p-value is below the level the
adjustment leaves it, ``alpha * p_raw / p_adjusted``. The interval shown with the decision is
the deciding test's interval at that level, so 0 lies outside it exactly when the adjusted
decision says "different":

* it is ``estimate +/- t(level) * se`` with the test's own standard error: for tests whose
  p-value comes from that t (or normal) pivot (the two-level seeds test, the paired t-test)
  this is the inverted test itself;
* for permutation, randomization and exact tests this interval can disagree with the test
  near the boundary; there the test-based interval (Miettinen 1976) is used, whose standard
  error makes the pivot reproduce the test's own p-value, ``|estimate| / t(p_raw)``, so it
  inherits the test's decision.
"""

from __future__ import annotations

import math

from scipy import stats as sps

from ._base import TestResult


def _quantile(two_sided_p: float, df: float) -> float:
    """Critical value of a two-sided test at ``two_sided_p`` (t with ``df``, normal if inf)."""
    if not math.isfinite(df):
        return float(sps.norm.isf(two_sided_p / 2.0))
    return float(sps.t.isf(two_sided_p / 2.0, df))


def comparison_level(p_raw: float, p_adjusted: float, alpha: float, nominal: float) -> float:
    """Per-comparison error rate the family leaves one comparison (``alpha`` if unadjusted).

    Args:
        p_raw: The comparison's raw p-value.
        p_adjusted: Its adjusted p-value.
        alpha: The family's error rate.
        nominal: The adjustment's multiplier for this comparison, used when ``p_raw`` is 0.

    Returns:
        ``alpha * p_raw / p_adjusted``: the raw p-value is below it exactly when the
        adjusted p-value is below ``alpha``.
    """
    factor = p_adjusted / p_raw if p_raw > 0 else nominal
    return alpha / max(factor, 1.0)


def decision_interval(result: TestResult, level: float, rejected: bool) -> tuple[float, float]:
    """Interval of ``result`` at error rate ``level``, consistent with the decision ``rejected``.

    The test's own standard error gives ``estimate +/- t(level) * se`` (for t-based tests
    this is the inverted test). When that interval disagrees with the decision (possible only
    near the boundary for tests whose p-value does not come from ``se``), the test-based
    interval is used instead: its standard error reproduces the test's own p-value.

    Args:
        result: The deciding test.
        level: Two-sided error rate of the interval (confidence ``1 - level``).
        rejected: The family's decision for this comparison; 0 lies outside the returned
            interval exactly when it is True.

    Returns:
        ``(low, high)``.
    """
    est = float(result.estimate)
    df = float(result.df) if result.df is not None and result.df > 0 else math.inf
    p = float(result.p_value) if result.p_value is not None else math.nan
    crit = _quantile(level, df)
    se = float(result.se) if result.se is not None else math.nan
    if math.isfinite(se) and se >= 0:
        low, high = est - crit * se, est + crit * se
        if (not low <= 0.0 <= high) == rejected:
            return low, high
    observed = _quantile(p, df) if 0.0 < p < 1.0 else math.nan
    if est != 0 and math.isfinite(observed) and observed > 0:
        half = crit * abs(est) / observed
    elif est == 0 or p >= 1.0:
        half = 0.0 if rejected else math.inf
    else:
        half = 0.0
    low, high = est - half, est + half
    # Enforce the equivalence exactly (ties at the boundary, degenerate tests).
    if rejected and low <= 0.0 <= high and est != 0:
        if est > 0:
            low = math.nextafter(0.0, math.inf)
        else:
            high = math.nextafter(0.0, -math.inf)
    elif not rejected and not low <= 0.0 <= high:
        low, high = min(low, 0.0), max(high, 0.0)
    return low, high
