"""The correlation-difference tests against reference computations written independently here.

Williams' test is recomputed from Graham & Baldwin (2014, eq. 2; their nlp-williams script and
the WMT QE tasks use it) with scipy's correlations and t distribution, Zou's (2007) interval from
its published formula, and the paired bootstrap by a direct loop: draw example indices with
numpy, take scipy's correlations on each resample, read percentiles. Nothing of loclab's
kernels (count-weighted sums, leave-one-out updates) is used by the references.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

import loclab.stats as ls

SCIPY = {"pearson": sps.pearsonr, "spearman": sps.spearmanr, "kendall": sps.kendalltau}


def _systems(seed: int, n: int, noise_b: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gold scores and two QE systems sharing part of their error (as real systems do)."""
    rng = np.random.default_rng(seed)
    gold = rng.normal(size=n)
    shared = 0.6 * rng.normal(size=n)
    a = gold + shared + rng.normal(size=n)
    b = gold + shared + noise_b * rng.standard_t(5, size=n)
    return a, b, gold


def _williams_reference(a, b, gold, confidence=0.95):  # type: ignore[no-untyped-def]
    """Williams' t and two-sided p (Graham & Baldwin 2014) and Zou's (2007) interval."""
    n = gold.size
    r12 = sps.pearsonr(a, gold).statistic  # A with the gold scores
    r13 = sps.pearsonr(b, gold).statistic  # B with the gold scores
    r23 = sps.pearsonr(a, b).statistic  # A with B
    k = 1 - r12**2 - r13**2 - r23**2 + 2 * r12 * r13 * r23
    t = (r12 - r13) * math.sqrt((n - 1) * (1 + r23))
    t /= math.sqrt(2 * k * (n - 1) / (n - 3) + ((r12 + r13) / 2) ** 2 * (1 - r23) ** 3)
    p = 2 * sps.t.sf(abs(t), df=n - 3)
    z = sps.norm.ppf(0.5 + confidence / 2)
    l1, u1 = np.tanh(np.arctanh(r12) + np.array([-z, z]) / math.sqrt(n - 3))
    l2, u2 = np.tanh(np.arctanh(r13) + np.array([-z, z]) / math.sqrt(n - 3))
    c = ((r23 - r12 * r13 / 2) * (1 - r12**2 - r13**2 - r23**2) + r23**3) / (
        (1 - r12**2) * (1 - r13**2)
    )
    low = (
        r12 - r13 - math.sqrt((r12 - l1) ** 2 + (u2 - r13) ** 2 - 2 * c * (r12 - l1) * (u2 - r13))
    )
    high = (
        r12 - r13 + math.sqrt((u1 - r12) ** 2 + (r13 - l2) ** 2 - 2 * c * (u1 - r12) * (r13 - l2))
    )
    return t, p, (low, high), (r12, r13, r23)


@pytest.mark.parametrize(
    ("seed", "n", "noise_b"), [(1, 25, 1.0), (2, 80, 1.4), (3, 242, 2.0), (4, 1000, 1.1)]
)
def test_williams_equals_the_published_formula_on_raw_data(seed, n, noise_b) -> None:
    a, b, gold = _systems(seed, n, noise_b)
    t, p, ci, (r12, r13, r23) = _williams_reference(a, b, gold)
    result = ls.williams_test(a, b, gold)
    assert (result.r_a, result.r_b, result.r_ab) == pytest.approx((r12, r13, r23), abs=1e-12)
    assert result.statistic == pytest.approx(t, rel=1e-10)
    assert result.p_value == pytest.approx(p, rel=1e-9)
    assert result.df == n - 3
    assert result.ci == pytest.approx(ci, abs=1e-10)
    swapped = ls.williams_test(b, a, gold)  # the test is antisymmetric in A and B
    assert swapped.statistic == pytest.approx(-t, rel=1e-10)
    assert swapped.p_value == pytest.approx(p, rel=1e-9)


def _bootstrap_reference(a, b, gold, method, n_resamples, seed):  # type: ignore[no-untyped-def]
    """The paired bootstrap written directly: indices, then scipy's correlation per resample."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, gold.size, size=(n_resamples, gold.size))
    corr = SCIPY[method]
    diffs = np.array([corr(a[i], gold[i]).statistic - corr(b[i], gold[i]).statistic for i in idx])
    low, high = np.percentile(diffs, [2.5, 97.5])
    # Two-sided: twice the smaller share of resampled differences on either side of 0.
    p = 2 * min(np.mean(diffs < 0), np.mean(diffs > 0))
    return diffs, (low, high), p


@pytest.mark.parametrize("method", ["pearson", "spearman", "kendall"])
def test_paired_bootstrap_equals_a_direct_numpy_loop(method) -> None:
    a, b, gold = _systems(5, 60, 1.5)
    a, b, gold = np.round(a, 1), np.round(b, 1), np.round(gold, 1)  # ties, as in QE scores
    n_resamples = 1500
    diffs, ci, p = _bootstrap_reference(a, b, gold, method, n_resamples, seed=11)
    result = ls.correlation_bootstrap(a, b, gold, method=method, n_resamples=n_resamples, seed=11)
    observed = SCIPY[method](a, gold).statistic - SCIPY[method](b, gold).statistic
    assert result.estimate == pytest.approx(observed, abs=1e-12)
    # Same seed, same draws: the whole bootstrap distribution is the reference's.
    assert result.se == pytest.approx(diffs.std(ddof=1), rel=1e-9)
    assert result.ci == pytest.approx(ci, abs=1e-9)
    assert result.p_value == pytest.approx(p, abs=2 / (n_resamples + 1))


def test_paired_bootstrap_keeps_the_pairing() -> None:
    # With the pairing kept, the spread of the difference is far below that of two
    # independent bootstraps when A and B share most of their error.
    rng = np.random.default_rng(6)
    gold, shared = rng.normal(size=200), rng.normal(size=200)
    a = gold + shared + 0.3 * rng.normal(size=200)
    b = gold + shared + 0.4 * rng.normal(size=200)
    paired = ls.correlation_bootstrap(a, b, gold, n_resamples=2000, seed=3)
    rng = np.random.default_rng(3)
    ia = rng.integers(0, 200, size=(2000, 200))
    ib = rng.integers(0, 200, size=(2000, 200))
    unpaired = [
        sps.pearsonr(a[i], gold[i]).statistic - sps.pearsonr(b[j], gold[j]).statistic
        for i, j in zip(ia, ib, strict=True)
    ]
    assert paired.se < 0.5 * float(np.std(unpaired, ddof=1))
