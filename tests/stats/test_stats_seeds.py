"""Seeds x examples (two-level) and per-seed comparisons."""

from __future__ import annotations

import itertools
import json
import math
import warnings

import numpy as np
import pytest
from scipy import stats

import loclab.stats as ls


def _crossed(
    rng, seeds_a, seeds_b, n, seed_sd, noise_sd, example_sd=1.0, system_sd=0.3, shift=0.0
):
    e = rng.normal(0, example_sd, n)
    out = []
    for s, mu in ((seeds_a, shift), (seeds_b, 0.0)):
        own = rng.normal(0, system_sd, n)
        out.append(mu + e + own + rng.normal(0, seed_sd, (s, 1)) + rng.normal(0, noise_sd, (s, n)))
    return out


def test_two_level_estimate_and_decomposition() -> None:
    rng = np.random.default_rng(0)
    a, b = _crossed(rng, 40, 40, 2000, seed_sd=0.2, noise_sd=0.5, shift=0.1)
    res = ls.two_level_bootstrap(a, b, n_resamples=500)
    assert res.estimate == pytest.approx(a.mean() - b.mean())
    # Seed SDs are recovered (40 seeds: relative SE of an SD is about 11 %).
    assert res.seed_sd_a == pytest.approx(0.2, rel=0.35)
    assert res.seed_sd_b == pytest.approx(0.2, rel=0.35)
    assert 0.5 < res.seed_share < 1.0
    assert res.ci[0] < res.estimate < res.ci[1]
    # The studentised SE and the two-level bootstrap agree roughly (the bootstrap slightly
    # overstates: it counts the interaction twice and understates seeds by (S-1)/S).
    assert res.bootstrap_se == pytest.approx(res.se, rel=0.25)
    assert res.warning is None
    json.dumps(res.to_dict())


def test_two_level_with_one_example_is_student_t_on_seed_means() -> None:
    """One example: only seed variance is left, pooled over both systems (Student's t)."""
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(6, 1)), rng.normal(size=(9, 1))
    res = ls.two_level_bootstrap(a, b, n_resamples=200)
    ref = stats.ttest_ind(a[:, 0], b[:, 0], equal_var=True)
    assert res.pooled_seed_variance and res.df == pytest.approx(13)
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert res.statistic == pytest.approx(ref.statistic, rel=1e-9)


def test_two_level_without_seed_variance_is_paired_t_on_seed_averages() -> None:
    rng = np.random.default_rng(2)
    a = np.tile(rng.normal(size=300), (5, 1))  # identical runs: no seed variance at all
    b = np.tile(rng.normal(size=300), (5, 1))
    res = ls.two_level_bootstrap(a, b, n_resamples=200)
    ref = stats.ttest_rel(a[0], b[0])
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert res.seed_share == pytest.approx(0.0, abs=1e-12)


def test_two_level_warns_below_five_seeds() -> None:
    rng = np.random.default_rng(3)
    a, b = _crossed(rng, 3, 4, 100, 0.1, 0.5)
    with pytest.warns(UserWarning, match="below 5 seeds"):
        res = ls.two_level_bootstrap(a, b, n_resamples=200)
    assert res.warning and "3 (A) and 4 (B)" in res.warning
    assert "Warning" in res.summary()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a, b = _crossed(rng, 5, 5, 100, 0.1, 0.5)
        assert ls.two_level_bootstrap(a, b, n_resamples=200).warning is None


def test_two_level_input_errors() -> None:
    with pytest.raises(ValueError, match="`scores_a` has 1 training seed"):
        ls.two_level_bootstrap(np.ones((1, 10)), np.ones((3, 10)))
    with pytest.raises(ValueError, match="same examples, got 10 and 11"):
        ls.two_level_bootstrap(np.ones((3, 10)), np.ones((3, 11)))
    bad = np.ones((3, 10))
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="`scores_b` contains 1 non-finite"):
        ls.two_level_bootstrap(np.ones((3, 10)), bad)


def test_two_level_all_equal() -> None:
    x = np.full((5, 20), 0.7)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = ls.two_level_bootstrap(x, x, n_resamples=100)
    assert res.estimate == 0 and res.p_value == 1.0 and res.se == 0


@pytest.mark.parametrize("na,nb", [(5, 5), (4, 4), (3, 6), (2, 7), (1, 4)])
def test_seed_level_t_test_and_exact_permutation(na: int, nb: int) -> None:
    rng = np.random.default_rng(na * 10 + nb)
    a, b = rng.normal(0.5, 1, na), rng.normal(0, 1, nb)
    res = ls.seed_level_test(a, b)
    # The t test: Student's t on the runs (pooled variance), as scipy computes it.
    student = stats.ttest_ind(a, b, equal_var=True)
    assert res.pooled_variance and res.df == pytest.approx(na + nb - 2)
    lo, hi = res.ci
    assert (lo > 0 or hi < 0) == (student.pvalue < 0.05)
    # It decides below 100 splits of the runs; from 100 on the permutation test does.
    splits = math.comb(na + nb, na)
    decider = res.permutation_p_value if splits >= 100 else student.pvalue
    assert res.p_value == pytest.approx(decider, rel=1e-9)
    # Alongside: the exact permutation test over every split of the runs.
    assert res.n_resamples is None and res.n_splits == math.comb(na + nb, na)
    pooled = np.concatenate([a, b])
    obs = abs(a.mean() - b.mean())
    count = 0
    for idx in itertools.combinations(range(na + nb), na):
        mask = np.zeros(na + nb, bool)
        mask[list(idx)] = True
        count += abs(pooled[mask].mean() - pooled[~mask].mean()) >= obs - 1e-12
    assert res.permutation_p_value == pytest.approx(count / math.comb(na + nb, na), abs=1e-12)
    if na == nb:  # symmetric null: scipy's doubled one-sided p-value is the same number
        ref = stats.permutation_test(
            (a, b),
            lambda x, y, axis: np.mean(x, axis=axis) - np.mean(y, axis=axis),
            permutation_type="independent",
            vectorized=True,
            n_resamples=10_000,
        )
        assert res.permutation_p_value == pytest.approx(ref.pvalue, rel=1e-9)
    if na >= 2 and nb >= 2:
        welch = stats.ttest_ind(a, b, equal_var=False)
        assert res.welch_p_value == pytest.approx(welch.pvalue, rel=1e-9)
        assert res.welch_t == pytest.approx(welch.statistic, rel=1e-9)


def test_seed_level_deterministic_runs_and_no_spread_test() -> None:
    rng = np.random.default_rng(8)
    noisy, stable = rng.normal(0, 1.0, 8), rng.normal(0.2, 0.01, 12)
    # Run scores need not be normal, so no F test of the spreads: the variance stays pooled.
    assert ls.seed_level_test(noisy, stable).pooled_variance
    same = ls.seed_level_test(noisy, np.full(5, 0.3))
    # A deterministic system has no run-to-run variance: the test uses A's alone (t, 7 df).
    ref = stats.ttest_1samp(noisy, 0.3)
    assert not same.pooled_variance and same.df == pytest.approx(7)
    assert same.p_value == pytest.approx(ref.pvalue, rel=1e-9)


def test_seed_level_monte_carlo_and_resolution() -> None:
    rng = np.random.default_rng(9)
    a, b = rng.normal(0.3, 1, 10), rng.normal(0, 1, 10)
    res = ls.seed_level_test(a, b, n_resamples=20_000, seed=1, max_exact=1000)
    assert res.n_resamples == 20_000 and res.n_splits == 20_000
    exact = ls.seed_level_test(a, b)
    assert exact.n_resamples is None and exact.n_splits == math.comb(20, 10)
    assert res.p_value == pytest.approx(exact.p_value, abs=0.012)
    assert res.p_value == res.permutation_p_value and not res.exact and exact.exact
    tiny = ls.seed_level_test([1.0, 1.1, 1.2], [0.0, 0.1, 0.2])
    # The permutation test cannot go below 0.1 with 3 vs 3 runs; the t test can.
    assert tiny.permutation_p_value == pytest.approx(0.1)
    assert tiny.p_value < 0.001 and tiny.p_resolution == 0.0
