"""Paired tests: agreement with scipy, edge cases, resampling kernels."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from scipy import stats

import loclab.stats as ls
from loclab.stats import _resampling

RNG = np.random.default_rng(20240611)


def _pairs(n: int, kind: str) -> tuple[np.ndarray, np.ndarray]:
    if kind == "continuous":
        a = RNG.normal(size=n)
        return a, a + RNG.normal(0.2, 1.0, size=n)
    if kind == "ties":  # integer scores: ties and zero differences
        return RNG.integers(0, 5, n).astype(float), RNG.integers(0, 5, n).astype(float)
    raise AssertionError(kind)


@pytest.mark.parametrize("n", [2, 5, 13, 30, 51, 400])
@pytest.mark.parametrize("kind", ["continuous", "ties"])
def test_paired_t_test_matches_scipy(n: int, kind: str) -> None:
    a, b = _pairs(n, kind)
    if np.all(a == b):
        b = b + np.arange(n)
    ours = ls.paired_t_test(a, b)
    ref = stats.ttest_rel(a, b)
    assert ours.statistic == pytest.approx(ref.statistic, rel=1e-9, abs=1e-12)
    assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-12)
    ci = ref.confidence_interval(0.95)
    assert ours.ci == pytest.approx((ci.low, ci.high), rel=1e-9)


@pytest.mark.parametrize("n", [1, 4, 9, 13, 14, 20, 50, 51, 300])
@pytest.mark.parametrize("kind", ["continuous", "ties"])
def test_wilcoxon_matches_scipy(n: int, kind: str) -> None:
    # Covers every branch scipy's method="auto" takes: exact table, enumeration with ties or
    # zeros (n <= 13), and the tie-corrected normal approximation.
    a, b = _pairs(n, kind)
    if np.all(a == b):
        b = b + 1.0
    ours = ls.wilcoxon_signed_rank(a, b)
    ref = stats.wilcoxon(a, b)
    assert ours.statistic == pytest.approx(ref.statistic, abs=1e-9)
    assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-12)


def test_wilcoxon_hodges_lehmann_estimate() -> None:
    d = np.array([1.0, 2.0, 4.0, -1.0, 3.0])
    walsh = [(d[i] + d[j]) / 2 for i in range(5) for j in range(i, 5)]
    res = ls.wilcoxon_signed_rank(d, np.zeros(5))
    assert res.estimate == pytest.approx(np.median(walsh))
    assert res.ci[0] <= res.estimate <= res.ci[1]


@pytest.mark.parametrize("n", [3, 8, 12, 13])
@pytest.mark.parametrize("kind", ["continuous", "ties"])
def test_permutation_exact_matches_scipy(n: int, kind: str) -> None:
    a, b = _pairs(n, kind)
    ours = ls.paired_permutation_test(a, b, n_resamples=10_000)
    ref = stats.permutation_test(
        (a - b,),
        lambda d, axis: np.mean(d, axis=axis),
        permutation_type="samples",
        vectorized=True,
        n_resamples=10_000,
    )
    assert ours.exact
    assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-12)


def test_permutation_monte_carlo_close_to_scipy() -> None:
    a, b = _pairs(60, "continuous")
    b = b - 0.15
    ours = ls.paired_permutation_test(a, b, n_resamples=20_000, seed=1)
    ref = stats.permutation_test(
        (a - b,),
        lambda d, axis: np.mean(d, axis=axis),
        permutation_type="samples",
        vectorized=True,
        n_resamples=20_000,
        rng=np.random.default_rng(2),
    )
    assert not ours.exact
    # Two independent Monte Carlo estimates: sd of each is at most 0.0036 here.
    assert abs(ours.p_value - ref.pvalue) < 0.015


def test_random_subset_sums_kernel_is_exact() -> None:
    """The byte lookup tables give exactly sum(values[bits]) for the drawn bits."""
    values = RNG.normal(size=37)  # not a multiple of 8: exercises the padding
    got = _resampling.random_subset_sums(values, 50, np.random.default_rng(5))
    words = np.random.default_rng(5).integers(0, 256, size=(50, 5), dtype=np.uint8)
    bits = np.unpackbits(words, axis=1)[:, :37].astype(float)
    np.testing.assert_allclose(got, bits @ values, rtol=1e-12, atol=1e-12)


def test_exact_subset_sums() -> None:
    np.testing.assert_allclose(
        np.sort(_resampling.exact_subset_sums(np.array([1.0, 2.0, 4.0]))), np.arange(8.0)
    )


def test_mcnemar_matches_binomtest() -> None:
    for n, pa, pb in [(30, 0.5, 0.5), (200, 0.7, 0.6), (1000, 0.8, 0.78), (15, 0.9, 0.2)]:
        ca = RNG.random(n) < pa
        cb = RNG.random(n) < pb
        res = ls.mcnemar(ca, cb)
        k, m = res.only_a_correct, res.only_a_correct + res.only_b_correct
        assert res.p_value == pytest.approx(stats.binomtest(k, m, 0.5).pvalue, rel=1e-9)
        assert res.estimate == pytest.approx(ca.mean() - cb.mean())
        assert res.ci[0] <= res.estimate <= res.ci[1]
        mid = ls.mcnemar(ca, cb, mid_p=True)
        if k != m - k:
            lo = min(k, m - k)
            expected = 2 * stats.binom.cdf(lo, m, 0.5) - stats.binom.pmf(lo, m, 0.5)
            assert mid.p_value == pytest.approx(min(1.0, expected), rel=1e-9)
        assert mid.p_value <= res.p_value


def test_mcnemar_rejects_non_binary() -> None:
    with pytest.raises(ValueError, match="only 0/1"):
        ls.mcnemar([0, 1, 2], [0, 1, 1])


def test_bca_close_to_scipy() -> None:
    d = RNG.exponential(size=60)  # skewed, so BCa differs from percentile
    ours = ls.paired_bootstrap(d, np.zeros(60), n_resamples=40_000, method="bca", seed=3)
    ref = stats.bootstrap(
        (d,), np.mean, method="BCa", n_resamples=40_000, rng=np.random.default_rng(4)
    ).confidence_interval
    sd = d.std() / np.sqrt(60)
    assert ours.ci[0] == pytest.approx(ref.low, abs=0.05 * sd)
    assert ours.ci[1] == pytest.approx(ref.high, abs=0.05 * sd)
    pct = ls.paired_bootstrap(d, np.zeros(60), n_resamples=40_000, seed=3)
    assert pct.ci != ours.ci


def test_bootstrap_p_value_agrees_with_interval() -> None:
    a, b = _pairs(80, "continuous")
    for method in ("percentile", "bca"):
        for conf in (0.9, 0.95, 0.99):
            res = ls.paired_bootstrap(a, b, n_resamples=5000, method=method, confidence=conf)
            excludes_zero = res.ci[0] > 0 or res.ci[1] < 0
            # Inverting the interval: zero is outside it exactly when p < 1 - confidence.
            if abs(res.p_value - (1 - conf)) > 0.002:
                assert excludes_zero == (res.p_value < 1 - conf)


@pytest.mark.parametrize(
    "func",
    [ls.paired_permutation_test, ls.paired_bootstrap, ls.paired_t_test, ls.wilcoxon_signed_rank],
)
def test_length_mismatch_names_arguments(func) -> None:
    with pytest.raises(ValueError, match=r"`a` and `b` must be paired.*3 and 4"):
        func([1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0])


@pytest.mark.parametrize(
    "func",
    [ls.paired_permutation_test, ls.paired_bootstrap, ls.paired_t_test, ls.wilcoxon_signed_rank],
)
def test_nan_input_is_rejected(func) -> None:
    with pytest.raises(ValueError, match=r"`b` contains 1 non-finite value\(s\) \(NaN"):
        func([1.0, 2.0, 3.0], [1.0, np.nan, 3.0])


def test_all_equal_inputs() -> None:
    x = np.full(50, 0.3)
    for res in (
        ls.paired_permutation_test(x, x),
        ls.paired_bootstrap(x, x),
        ls.paired_t_test(x, x),
        ls.wilcoxon_signed_rank(x, x),
    ):
        assert res.estimate == 0
        assert res.p_value == 1.0
        json.dumps(res.to_dict())
    shifted = ls.paired_t_test(x + 1.0, x)
    assert shifted.p_value == 0.0 and shifted.ci == (1.0, 1.0)
    perm = ls.paired_permutation_test(x + 1.0, x)
    assert perm.p_value == pytest.approx(1 / 10_001)  # only the observed signs are as extreme


def test_single_pair() -> None:
    res = ls.paired_permutation_test([1.0], [0.0])
    assert res.exact and res.p_value == 1.0
    assert np.isnan(res.ci[0])
    assert res.to_dict()["ci"] == [None, None]
    with pytest.raises(ValueError, match="at least two pairs"):
        ls.paired_t_test([1.0], [0.0])
    assert ls.wilcoxon_signed_rank([1.0], [0.0]).p_value == 1.0


def test_seed_controls_randomness() -> None:
    a, b = _pairs(200, "continuous")
    one = ls.paired_permutation_test(a, b, seed=7)
    assert one == ls.paired_permutation_test(a, b, seed=7)
    assert ls.paired_bootstrap(a, b, seed=7) == ls.paired_bootstrap(a, b, seed=7)
    with pytest.raises(TypeError, match="seed"):
        ls.paired_permutation_test(a, b, seed=None)


def test_results_are_frozen_and_summarised() -> None:
    a, b = _pairs(40, "continuous")
    res = ls.paired_permutation_test(a, b)
    with pytest.raises(AttributeError):
        res.p_value = 0.5  # type: ignore[misc]
    assert "p =" in res.summary() and str(res) == res.summary()
    assert json.loads(json.dumps(res.to_dict()))["n"] == 40


@pytest.mark.slow
def test_permutation_memory_bound_one_million_examples() -> None:
    """1,000,000 examples x 10,000 sign-flip resamples in well under 2 GB (peak RSS)."""
    code = textwrap.dedent(
        """
        import resource
        import numpy as np
        import loclab.stats as ls
        rng = np.random.default_rng(0)
        a = rng.normal(size=1_000_000)
        b = a + rng.normal(0.001, 1.0, size=1_000_000)
        res = ls.paired_permutation_test(a, b, n_resamples=10_000)
        hwm = [l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM")]
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, *hwm)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    # ru_maxrss also counts the parent's peak at fork (Linux); VmHWM is this process's alone.
    for peak_kib in map(int, out.stdout.split()):
        assert peak_kib < 2 * 1024 * 1024, f"peak RSS {peak_kib / 1024:.0f} MiB"


def test_bootstrap_warns_where_it_is_anti_conservative() -> None:
    rng = np.random.default_rng(21)
    d = rng.standard_t(5, 60)
    for method in ("percentile", "bca"):
        small = ls.paired_bootstrap(d, np.zeros(60), n_resamples=500, method=method)
        assert small.warning and "paired_permutation_test" in small.warning
        assert "Warning:" in small.summary()
    large = ls.paired_bootstrap(rng.standard_t(5, 400), np.zeros(400), n_resamples=500)
    assert large.warning is None
    # BCa exceeds its level on heavy-tailed differences up to n = 500 (7.8 % measured).
    bca = ls.paired_bootstrap(rng.standard_t(5, 400), np.zeros(400), n_resamples=500,
                              method="bca")  # fmt: skip
    assert bca.warning and "7.8 % at 500" in bca.warning
    bca = ls.paired_bootstrap(rng.standard_t(5, 1000), np.zeros(1000), n_resamples=500,
                              method="bca")  # fmt: skip
    assert bca.warning is None
