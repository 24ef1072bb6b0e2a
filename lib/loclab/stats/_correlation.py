"""Is one quality-estimation system's correlation with the gold scores higher than another's?

QE systems are judged by how well their predictions correlate with gold quality scores
(Pearson, Spearman or Kendall). Two systems scored on the same examples share the gold
scores, so their two correlations are *dependent*: a test that treats them as independent
(Fisher z of each) ignores how much the systems agree with each other and is badly
miscalibrated. Three procedures handle the dependence:

* :func:`williams_test`: Williams' (1959) t test for two correlations that share one variable,
  as the WMT QE and metrics tasks use (Graham and Baldwin 2014), with Zou's (2007) interval
  for the difference. Pearson (Spearman on ranks); assumes roughly normal data.
* :func:`correlation_bootstrap`: paired bootstrap over examples (one resample of the examples
  scores both systems and the gold), for any of the three coefficients, no normality needed.
* :func:`correlation_seeds_test`: several training runs per system. Each run's correlation is
  turned into per-example jackknife pseudo-values, whose mean is the correlation and whose
  spread is its sampling variance, so the calibrated seeds x examples test of
  :func:`~loclab.stats.two_level_bootstrap` applies to them unchanged.

Differences are always A minus B (A's correlation with the gold minus B's).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Any, Literal

import numpy as np
from scipy import stats as sps

from ._base import (
    TestResult,
    as_1d,
    as_2d,
    chance_phrase,
    check_confidence,
    check_n_resamples,
    ci_text,
    fmt,
    fmt_p,
    make_rng,
    paired,
    row_chunks,
)
from ._correlation_kernels import (
    LEAVE_ONE_OUT,
    WEIGHTED,
    kendall,
    pearson,
    ranks,
    weighted_kendall_many,
)
from ._resampling import bootstrap_counts, inversion_p_value, percentile_ci
from ._seeds import TwoLevelResult, two_level_bootstrap

__all__ = [
    "CORRELATIONS",
    "CorrelationSeedsResult",
    "CorrelationTestResult",
    "correlation",
    "correlation_bootstrap",
    "correlation_seeds_test",
    "jackknife_pseudo_values",
    "williams_test",
]

Method = Literal["pearson", "spearman", "kendall"]
#: Correlation coefficients the tests accept.
CORRELATIONS: tuple[str, ...] = ("pearson", "spearman", "kendall")
_NAMES = {"pearson": "Pearson r", "spearman": "Spearman rho", "kendall": "Kendall tau"}


def _check_method(method: str) -> str:
    if method not in CORRELATIONS:
        raise ValueError(f"`method` must be one of {CORRELATIONS}, got {method!r}.")
    return method


def correlation(x: Any, y: Any, method: Method = "pearson") -> float:
    """Correlation of two paired samples: Pearson r, Spearman rho or Kendall tau-b.

    Args:
        x: Predictions.
        y: Gold scores, paired with ``x``.
        method: ``"pearson"``, ``"spearman"`` (Pearson of average ranks) or ``"kendall"``
            (tau-b, which corrects for ties).

    Returns:
        The coefficient; 0.0 when either sample is constant (no information, rather than NaN).
    """
    _check_method(method)
    a, b = paired(x, y, "x", "y")
    if method == "pearson":
        return pearson(a, b)
    if method == "spearman":
        return pearson(ranks(a), ranks(b))
    return kendall(a, b)


def _paired3(pred_a: Any, pred_b: Any, gold: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a = as_1d(pred_a, "pred_a")
    b = as_1d(pred_b, "pred_b")
    g = as_1d(gold, "gold")
    sizes = {a.size, b.size, g.size}
    if len(sizes) > 1:
        raise ValueError(
            "predictions and gold scores must be paired (same examples, same order), got "
            f"lengths {sorted(sizes)}."
        )
    return a, b, g


@dataclasses.dataclass(frozen=True)
class CorrelationTestResult(TestResult):
    """Result of :func:`williams_test` or :func:`correlation_bootstrap`.

    Attributes:
        correlation: ``pearson``, ``spearman`` or ``kendall``.
        r_a: A's correlation with the gold scores.
        r_b: B's correlation with the gold scores.
        r_ab: Correlation of A's and B's predictions (how much the systems agree).
    """

    correlation: str = "pearson"
    r_a: float = math.nan
    r_b: float = math.nan
    r_ab: float = math.nan

    def summary(self) -> str:
        """One plain-language sentence describing the result."""
        name = _NAMES.get(self.correlation, self.correlation)
        return (
            f"{name} with the gold scores: A {fmt(self.r_a)} vs B {fmt(self.r_b)} on "
            f"{self.n:,} examples, difference {fmt(self.estimate)} "
            f"({ci_text(self.ci, self.confidence)}); {self.method}: p = {fmt_p(self.p_value)}, "
            "so a gap at least this large would appear by chance "
            f"{chance_phrase(self.p_value, self.p_resolution)} if both systems correlated "
            "equally well with the gold scores."
        )


def williams_test(
    pred_a: Any,
    pred_b: Any,
    gold: Any,
    method: Literal["pearson", "spearman"] = "pearson",
    confidence: float = 0.95,
) -> CorrelationTestResult:
    """Williams' test of r(A, gold) = r(B, gold) for two systems scored on the same examples.

    With ``r1 = r(A, gold)``, ``r2 = r(B, gold)``, ``r12 = r(A, B)`` and
    ``|R| = 1 - r1² - r2² - r12² + 2 r1 r2 r12``::

        t = (r1 - r2) sqrt((n - 1)(1 + r12))
            / sqrt(2 |R| (n - 1) / (n - 3) + ((r1 + r2) / 2)² (1 - r12)³)

    on ``n - 3`` degrees of freedom (Williams 1959; Steiger 1980, eq. 7). The p-value is
    two-sided (WMT reports the one-sided one: half of it, in the observed direction). The
    interval is Zou's (2007) for the difference of two overlapping correlations, built from
    each correlation's Fisher-z interval and the correlation between the two estimates.

    Args:
        pred_a: Predictions of A, one per example.
        pred_b: Predictions of B, paired with ``pred_a``.
        gold: Gold scores, paired with both.
        method: ``"pearson"``, or ``"spearman"`` (the same test on average ranks, a common
            approximation). For Kendall use :func:`correlation_bootstrap`.
        confidence: Level of the interval.

    Returns:
        A :class:`CorrelationTestResult`; ``statistic`` is Williams' t.

    Raises:
        ValueError: On fewer than 5 examples, mismatched lengths, non-finite values, or
            ``method="kendall"``.
    """
    if method not in ("pearson", "spearman"):
        raise ValueError(
            f"Williams' test compares Pearson (or Spearman) correlations, not {method!r}; "
            "use correlation_bootstrap for Kendall's tau."
        )
    confidence = check_confidence(confidence)
    a, b, g = _paired3(pred_a, pred_b, gold)
    n = a.size
    if n < 5:
        raise ValueError(f"Williams' test needs at least 5 examples, got {n}.")
    if method == "spearman":
        a, b, g = ranks(a), ranks(b), ranks(g)
    r1, r2, r12 = pearson(a, g), pearson(b, g), pearson(a, b)
    diff = r1 - r2
    det = max(1.0 - r1 * r1 - r2 * r2 - r12 * r12 + 2.0 * r1 * r2 * r12, 0.0)
    inner = 2.0 * det * (n - 1) / (n - 3) + ((r1 + r2) / 2.0) ** 2 * (1.0 - r12) ** 3
    scale = math.sqrt((n - 1) * (1.0 + r12))
    se = math.sqrt(inner) / scale if scale > 0 else math.inf
    df = n - 3
    if se > 0 and math.isfinite(se):
        t_stat = diff / se
        p_value = float(2.0 * sps.t.sf(abs(t_stat), df))
    else:
        # Identical (or perfectly agreeing) predictions: the difference is exactly known.
        t_stat = 0.0 if diff == 0 else math.copysign(math.inf, diff)
        p_value = 1.0 if diff == 0 else 0.0
    return CorrelationTestResult(
        estimate=diff, ci=_zou_interval(r1, r2, r12, n, confidence), p_value=p_value, n=n,
        method=f"Williams' test (t = {t_stat:.2f}, df = {df})",
        estimand=f"{_NAMES[method]} difference (A - B)", statistic=t_stat,
        confidence=confidence, ci_method="Zou (2007), from Fisher-z intervals", se=se,
        df=float(df), p_resolution=0.0, correlation=method, r_a=r1, r_b=r2, r_ab=r12,
    )  # fmt: skip


def _zou_interval(
    r1: float, r2: float, r12: float, n: int, confidence: float
) -> tuple[float, float]:
    z = float(sps.norm.ppf(0.5 + confidence / 2.0))
    half = z / math.sqrt(n - 3)

    def fisher(r: float) -> tuple[float, float]:
        centre = math.atanh(min(max(r, -0.999999), 0.999999))
        return math.tanh(centre - half), math.tanh(centre + half)

    (l1, u1), (l2, u2) = fisher(r1), fisher(r2)
    den = (1.0 - r1 * r1) * (1.0 - r2 * r2)
    c = (
        ((r12 - r1 * r2 / 2.0) * (1.0 - r1 * r1 - r2 * r2 - r12 * r12) + r12**3) / den
        if den > 0
        else 1.0
    )
    diff = r1 - r2
    low = diff - math.sqrt(max((r1 - l1) ** 2 + (u2 - r2) ** 2 - 2 * c * (r1 - l1) * (u2 - r2), 0))
    high = diff + math.sqrt(
        max((u1 - r1) ** 2 + (r2 - l2) ** 2 - 2 * c * (u1 - r1) * (r2 - l2), 0)
    )
    return low, high


def correlation_bootstrap(
    pred_a: Any,
    pred_b: Any,
    gold: Any,
    method: Method = "pearson",
    n_resamples: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
) -> CorrelationTestResult:
    """Paired bootstrap over examples of the difference of two correlations with the gold.

    Every resample draws examples with replacement and recomputes both systems' correlation
    with the gold scores on the same draw, so the dependence between the two correlations is
    kept. The interval is the percentile interval of the resampled differences and the
    p-value the one that inverts it (they never disagree). Like any percentile bootstrap it
    is somewhat liberal on small samples with skewed errors (equal systems are told apart
    6.6 % of the time at a nominal 5 % with 120 examples and exponential noise, 6 % with
    250, 5 % on normal data); rank correlations are not affected. Pearson and Spearman cost
    O(resamples x examples); Kendall O(resamples x examples²), fine for a few thousand
    examples.

    Args:
        pred_a: Predictions of A, one per example.
        pred_b: Predictions of B, paired with ``pred_a``.
        gold: Gold scores, paired with both.
        method: ``"pearson"``, ``"spearman"`` or ``"kendall"``.
        n_resamples: Bootstrap resamples.
        seed: Seed of the random generator.
        confidence: Level of the interval.

    Returns:
        A :class:`CorrelationTestResult`.

    Raises:
        ValueError: On fewer than 3 examples, mismatched lengths or non-finite values.
    """
    _check_method(method)
    confidence = check_confidence(confidence)
    n_resamples = check_n_resamples(n_resamples, minimum=2)
    a, b, g = _paired3(pred_a, pred_b, gold)
    n = a.size
    if n < 3:
        raise ValueError(f"a correlation needs at least 3 examples, got {n}.")
    r_a, r_b = correlation(a, g, method), correlation(b, g, method)
    diff = r_a - r_b
    weighted = WEIGHTED[method]
    rng = make_rng(seed)
    boot = np.empty(n_resamples)
    # Kendall recomputes its sign blocks once per chunk: chunks of hundreds of rows keep that
    # negligible next to the (rows x examples²) products.
    for rows in row_chunks(n_resamples, 8 * n * 12):
        counts = bootstrap_counts(n, rows.stop - rows.start, rng)
        if method == "kendall":
            tau_a, tau_b = weighted_kendall_many(counts, [a, b], g)
            boot[rows] = tau_a - tau_b
        else:
            boot[rows] = weighted(counts, a, g) - weighted(counts, b, g)
    p_value = 1.0 if np.array_equal(a, b) else inversion_p_value(boot, 0.0)
    return CorrelationTestResult(
        estimate=diff, ci=percentile_ci(boot, confidence), p_value=p_value, n=n,
        method=f"paired bootstrap over examples ({n_resamples:,} resamples)",
        estimand=f"{_NAMES[method]} difference (A - B)", statistic=diff,
        confidence=confidence, ci_method="bootstrap percentile", n_resamples=n_resamples,
        se=float(boot.std(ddof=1)), df=math.inf, p_resolution=1.0 / (n_resamples + 1),
        correlation=method, r_a=r_a, r_b=r_b, r_ab=correlation(a, b, method),
    )  # fmt: skip


def jackknife_pseudo_values(pred: Any, gold: Any, method: Method = "pearson") -> np.ndarray:
    """Per-example pseudo-values of a correlation: their mean is it, their spread its noise.

    With ``theta`` the correlation on all ``n`` examples and ``theta_i`` the one without
    example ``i``, the jackknife pseudo-value ``n theta - (n - 1) theta_i`` is example ``i``'s
    contribution to the estimate (an empirical influence value). They are shifted here so
    that their mean is exactly ``theta``; their variance divided by ``n`` is the jackknife
    estimate of the correlation's sampling variance. Leave-one-out values are computed from
    updated sums: O(n) for Pearson, O(n²) for Spearman and Kendall.

    Args:
        pred: Predictions, one per example.
        gold: Gold scores, paired with ``pred``.
        method: ``"pearson"``, ``"spearman"`` or ``"kendall"``.

    Returns:
        Array of shape ``(n,)``.
    """
    _check_method(method)
    x, g = paired(pred, gold, "pred", "gold")
    n = x.size
    if n < 4:
        raise ValueError(f"jackknife pseudo-values need at least 4 examples, got {n}.")
    theta = correlation(x, g, method)
    loo = LEAVE_ONE_OUT[method](x, g)
    pseudo = n * theta - (n - 1) * loo
    out: np.ndarray = theta + (pseudo - pseudo.mean())
    return out


@dataclasses.dataclass(frozen=True)
class CorrelationSeedsResult(TwoLevelResult):
    """Result of :func:`correlation_seeds_test`.

    Attributes:
        correlation: ``pearson``, ``spearman`` or ``kendall``.
        r_a: A's correlation with the gold scores, per training run.
        r_b: B's correlation with the gold scores, per training run.
    """

    correlation: str = "pearson"
    r_a: tuple[float, ...] = ()
    r_b: tuple[float, ...] = ()

    def summary(self) -> str:
        """One plain-language sentence describing the result."""
        name = _NAMES.get(self.correlation, self.correlation)
        text = (
            f"{name} with the gold scores, averaged over {self.n_seeds_a} runs of A "
            f"({fmt(float(np.mean(self.r_a)))}) and {self.n_seeds_b} runs of B "
            f"({fmt(float(np.mean(self.r_b)))}) on {self.n:,} examples: difference "
            f"{fmt(self.estimate)} ({ci_text(self.ci, self.confidence)}); p = "
            f"{fmt_p(self.p_value)}, so a gap at least this large would appear by chance "
            f"{chance_phrase(self.p_value)} if the systems correlated equally well; "
            f"{round(100 * self.seed_share)}% of the uncertainty comes from training seeds."
        )
        return text + (f" Warning: {self.warning}" if self.warning else "")


def correlation_seeds_test(
    pred_a: Any,
    pred_b: Any,
    gold: Any,
    method: Method = "pearson",
    n_resamples: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
) -> CorrelationSeedsResult:
    """Compare two systems' correlations with the gold over several training runs each.

    The estimate is the mean over A's runs of r(A_s, gold) minus the same for B: the
    correlation one training run can be expected to reach. Each run's correlation becomes
    per-example :func:`jackknife_pseudo_values` (mean: the correlation; variance / n: its
    sampling variance), and those ``(runs, examples)`` matrices go through
    :func:`~loclab.stats.two_level_bootstrap`: seeds vary per system, examples are shared,
    and the studentised crossed-design t test gives the p-value and interval. (The delta
    method behind it is exact in the limit; the rejection rate of equal systems is checked
    by simulation in the tests.)

    Args:
        pred_a: Predictions of A, shape ``(runs_a, examples)`` (at least 2 runs).
        pred_b: Predictions of B, shape ``(runs_b, examples)``.
        gold: Gold scores, shape ``(examples,)``.
        method: ``"pearson"``, ``"spearman"`` or ``"kendall"``.
        n_resamples: Resamples of the two-level bootstrap (its interval is reported too).
        seed: Seed of the random generator.
        confidence: Level of the intervals.

    Returns:
        A :class:`CorrelationSeedsResult`.

    Raises:
        ValueError: On fewer than 2 runs per system, or mismatched numbers of examples.
    """
    _check_method(method)
    a = as_2d(pred_a, "pred_a")
    b = as_2d(pred_b, "pred_b")
    g = as_1d(gold, "gold")
    if a.shape[1] != g.size or b.shape[1] != g.size:
        raise ValueError(
            f"predictions cover {a.shape[1]} and {b.shape[1]} examples but there are "
            f"{g.size} gold scores; they must be the same examples in the same order."
        )
    u_a = np.stack([jackknife_pseudo_values(run, g, method) for run in a])
    u_b = np.stack([jackknife_pseudo_values(run, g, method) for run in b])
    with warnings.catch_warnings():
        # The few-seeds warning is kept on the result (and re-issued below from here).
        warnings.simplefilter("ignore", UserWarning)
        base = two_level_bootstrap(u_a, u_b, n_resamples, seed, confidence)
    if base.warning:
        warnings.warn(base.warning, UserWarning, stacklevel=2)
    fields = {f.name: getattr(base, f.name) for f in dataclasses.fields(TwoLevelResult)}
    fields.update(
        estimand=f"mean {_NAMES[method]} difference (A - B)",
        method=(
            f"jackknife pseudo-values of each run's {_NAMES[method]} in a "
            f"{base.method[0].lower()}{base.method[1:]}"
        ),
    )
    return CorrelationSeedsResult(
        **fields,
        correlation=method,
        r_a=tuple(float(u.mean()) for u in u_a),
        r_b=tuple(float(u.mean()) for u in u_b),
    )
