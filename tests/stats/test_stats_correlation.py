"""Tests of the correlation-difference tests for quality estimation (loclab.stats._correlation)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats as sps

import loclab.stats as ls
from loclab.stats._correlation_kernels import LEAVE_ONE_OUT, WEIGHTED


def _with_correlations(r_gold_a: float, r_gold_b: float, r_ab: float, n: int) -> np.ndarray:
    """Three columns (gold, a, b) whose *sample* correlations are exactly the ones given."""
    z = np.random.default_rng(0).normal(size=(n, 3))
    z -= z.mean(axis=0)
    z = z @ np.linalg.inv(np.linalg.cholesky(z.T @ z / (n - 1))).T  # sample covariance = I
    target = np.array([[1, r_gold_a, r_gold_b], [r_gold_a, 1, r_ab], [r_gold_b, r_ab, 1]])
    return z @ np.linalg.cholesky(target).T


def test_williams_reproduces_the_published_example() -> None:
    # Graham & Baldwin's nlp-williams README: r12 = 0.65, r13 = 0.55, r23 = 0.3, n = 50 gives
    # the one-sided p-value 0.20928617286753592.
    gold, a, b = _with_correlations(0.65, 0.55, 0.3, 50).T
    result = ls.williams_test(a, b, gold)
    assert result.p_value / 2 == pytest.approx(0.20928617286753592, rel=1e-9)
    # The same t from the published formula, written out by hand.
    n, r12, r13, r23 = 50, 0.65, 0.55, 0.3
    det = 1 - r12**2 - r13**2 - r23**2 + 2 * r12 * r13 * r23
    t = (r12 - r13) * math.sqrt((n - 1) * (1 + r23))
    t /= math.sqrt(2 * (n - 1) / (n - 3) * det + ((r12 + r13) / 2) ** 2 * (1 - r23) ** 3)
    assert result.statistic == pytest.approx(t, rel=1e-9)
    assert result.df == n - 3
    assert result.estimate == pytest.approx(0.10)
    assert (result.r_a, result.r_b, result.r_ab) == pytest.approx((0.65, 0.55, 0.3))
    assert result.ci[0] < 0 < result.ci[1]  # not significant: the interval covers 0
    assert "Williams" in result.summary() and "0.650" in result.summary()


def test_williams_spearman_is_williams_on_ranks() -> None:
    rng = np.random.default_rng(1)
    gold = rng.normal(size=80)
    a, b = gold + rng.normal(size=80), np.exp(gold + 1.5 * rng.normal(size=80))
    on_ranks = ls.williams_test(sps.rankdata(a), sps.rankdata(b), sps.rankdata(gold))
    spearman = ls.williams_test(a, b, gold, method="spearman")
    assert spearman.p_value == pytest.approx(on_ranks.p_value)
    assert spearman.r_a == pytest.approx(sps.spearmanr(a, gold).statistic)


@pytest.mark.parametrize("method", ["pearson", "spearman", "kendall"])
def test_correlation_matches_scipy_with_ties(method: str) -> None:
    rng = np.random.default_rng(2)
    x = np.round(rng.normal(size=70), 1)
    y = np.round(x + rng.normal(size=70), 1)
    reference = {"pearson": sps.pearsonr, "spearman": sps.spearmanr, "kendall": sps.kendalltau}
    assert ls.correlation(x, y, method) == pytest.approx(reference[method](x, y).statistic)


@pytest.mark.parametrize("method", ["pearson", "spearman", "kendall"])
def test_resampled_correlations_equal_correlations_of_the_resample(method: str) -> None:
    # The bootstrap never materialises resamples; check its count-weighted formulas against
    # the correlation of an explicit resample (duplicates make ties, which tau-b must handle).
    rng = np.random.default_rng(3)
    x = np.round(rng.normal(size=40), 1)
    y = np.round(x + rng.normal(size=40), 1)
    for _ in range(5):
        idx = rng.integers(0, 40, size=40)
        counts = np.bincount(idx, minlength=40).astype(float)[None, :]
        expected = ls.correlation(x[idx], y[idx], method)  # type: ignore[arg-type]
        assert WEIGHTED[method](counts, x, y)[0] == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("method", ["pearson", "spearman", "kendall"])
def test_jackknife_leave_one_out_matches_brute_force(method: str) -> None:
    rng = np.random.default_rng(4)
    x = np.round(rng.normal(size=35), 1)
    y = np.round(x + rng.normal(size=35), 1)
    brute = [ls.correlation(np.delete(x, i), np.delete(y, i), method) for i in range(35)]  # type: ignore[arg-type]
    assert LEAVE_ONE_OUT[method](x, y) == pytest.approx(brute, abs=1e-12)
    pseudo = ls.jackknife_pseudo_values(x, y, method)  # type: ignore[arg-type]
    assert pseudo.mean() == pytest.approx(ls.correlation(x, y, method))  # type: ignore[arg-type]


def test_jackknife_variance_matches_the_bootstrap() -> None:
    rng = np.random.default_rng(5)
    gold = rng.normal(size=400)
    a = gold + rng.standard_t(4, size=400)
    b = gold + 1.2 * rng.normal(size=400)
    boot = ls.correlation_bootstrap(a, b, gold, n_resamples=4000, seed=1)
    jack = ls.jackknife_pseudo_values(a, gold) - ls.jackknife_pseudo_values(b, gold)
    assert math.sqrt(jack.var(ddof=1) / 400) == pytest.approx(boot.se, rel=0.1)


def test_bootstrap_agrees_with_williams_on_normal_data() -> None:
    rng = np.random.default_rng(6)
    gold = rng.normal(size=1500)
    shared = 0.7 * rng.normal(size=1500)
    a = gold + shared + rng.normal(size=1500)
    b = gold + shared + 1.3 * rng.normal(size=1500)
    williams = ls.williams_test(a, b, gold)
    boot = ls.correlation_bootstrap(a, b, gold, n_resamples=4000, seed=2)
    assert boot.estimate == pytest.approx(williams.estimate)
    assert boot.se == pytest.approx(williams.se, rel=0.1)
    assert boot.ci == pytest.approx(williams.ci, abs=0.01)  # Zou's interval vs percentiles
    assert williams.p_value < 0.01 and boot.p_value < 0.01


def test_identical_systems_and_constant_predictions() -> None:
    rng = np.random.default_rng(7)
    gold, a = rng.normal(size=30), rng.normal(size=30)
    same = ls.williams_test(a, a, gold)
    assert (same.estimate, same.p_value) == (0.0, 1.0)
    assert ls.correlation_bootstrap(a, a.copy(), gold, n_resamples=200).p_value == 1.0
    assert ls.correlation(np.ones(30), gold) == 0.0
    flat = ls.correlation_bootstrap(np.ones(30), a, gold, n_resamples=200)
    assert flat.r_a == 0.0 and math.isfinite(flat.p_value)


def test_input_errors_name_the_problem() -> None:
    gold = np.arange(10.0)
    with pytest.raises(ValueError, match="Kendall"):
        ls.williams_test(gold, gold, gold, method="kendall")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="paired"):
        ls.correlation_bootstrap(gold, gold[:9], gold)
    with pytest.raises(ValueError, match="method"):
        ls.correlation(gold, gold, "cosine")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-finite"):
        ls.williams_test(np.r_[gold[:9], np.nan], gold, gold)
    with pytest.raises(ValueError, match="same examples"):
        ls.correlation_seeds_test(np.ones((2, 10)), np.ones((2, 9)), gold)


def test_seeds_test_estimates_the_mean_correlation_difference() -> None:
    rng = np.random.default_rng(8)
    gold = rng.normal(size=300)
    a = np.stack([gold + rng.normal(size=300) for _ in range(5)])
    b = np.stack([gold + 1.6 * rng.normal(size=300) for _ in range(5)])
    result = ls.correlation_seeds_test(a, b, gold, method="spearman", n_resamples=500)
    r_a = [ls.correlation(run, gold, "spearman") for run in a]
    r_b = [ls.correlation(run, gold, "spearman") for run in b]
    assert result.r_a == pytest.approx(r_a) and result.r_b == pytest.approx(r_b)
    assert result.estimate == pytest.approx(np.mean(r_a) - np.mean(r_b))
    assert result.p_value < 0.001 and result.ci[0] > 0
    assert result.n_seeds_a == 5 and result.warning is None
    assert "Spearman" in result.summary() and "Spearman" in result.estimand


def test_seeds_test_warns_with_few_seeds() -> None:
    rng = np.random.default_rng(9)
    gold = rng.normal(size=50)
    runs = np.stack([gold + rng.normal(size=50) for _ in range(3)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = ls.correlation_seeds_test(runs[:2], runs[1:], gold, n_resamples=200)
    assert result.warning and any("seeds" in str(w.message) for w in caught)
    with pytest.raises(ValueError, match="at least 2"):
        ls.correlation_seeds_test(runs[:1], runs, gold)


def test_results_serialise() -> None:
    gold, a, b = _with_correlations(0.6, 0.4, 0.5, 40).T
    data = ls.williams_test(a, b, gold).to_dict()
    assert data["correlation"] == "pearson" and data["df"] == 37 and "summary" in data
    stacked = np.stack([a, a + 0.01])
    seeds = ls.correlation_seeds_test(stacked, np.stack([b, b]), gold, n_resamples=200)
    assert seeds.to_dict()["r_a"][0] == pytest.approx(0.6)
