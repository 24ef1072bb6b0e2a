"""Type-I error of the default tests: equal systems are declared different about 5 % of the time.

Each simulation draws many comparisons of two systems that are equally good by construction and
checks that the rejection rate at alpha = 0.05 lies in [0.035, 0.065] (with 2,000 comparisons
the standard error of a rate of 0.05 is 0.005). The designs differ from those of
``benchmarks/stats_calibration.py``, which prints rates over a wider grid. The known traps are
simulated too, to show that the defaults avoid them: sacrebleu's (Moses') bootstrap p-value,
the "B wins in 95 % of resamples" rule, and a per-example test on one training run per system
when seeds vary.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import loclab.stats as ls
from loclab.stats._dispatch import run_default

pytestmark = pytest.mark.slow

ALPHA = 0.05
BAND = (0.035, 0.065)


def _in_band(rate: float, label: str = "") -> bool:
    print(f"rejection rate {label}: {rate:.4f}")  # shown with pytest -s, for the record
    return BAND[0] <= rate <= BAND[1]


def test_permutation_test_continuous_skewed() -> None:
    rng = np.random.default_rng(101)
    reps, n = 2000, 30
    rejections = 0
    for i in range(reps):
        example = rng.normal(0, 1, n)
        # Skewed, heteroscedastic noise shared in distribution by both systems.
        a = example + rng.gamma(0.5, 1.0 + np.abs(example))
        b = example + rng.gamma(0.5, 1.0 + np.abs(example))
        rejections += ls.paired_permutation_test(a, b, n_resamples=999, seed=i).p_value <= ALPHA
    assert _in_band(rejections / reps, "permutation"), rejections / reps


@pytest.mark.parametrize("n,accuracy", [(200, 0.7), (1000, 0.9)])
def test_mcnemar_mid_p_binary(n: int, accuracy: float) -> None:
    rng = np.random.default_rng(202 + n)
    reps = 4000
    logit = np.log(accuracy / (1 - accuracy))
    mid = exact = 0
    for _ in range(reps):
        difficulty = rng.normal(logit, 1.5, n)  # correlated correctness across systems
        prob = 1 / (1 + np.exp(-difficulty))
        a, b = rng.random(n) < prob, rng.random(n) < prob
        res = run_default("binary", a.astype(float), b.astype(float), None, 0, 0)
        mid += res.p_value <= ALPHA
        exact += res.exact_p_value <= ALPHA
    assert _in_band(mid / reps, f"mcnemar mid-p n={n}"), mid / reps
    print(f"exact McNemar: {exact / reps:.4f}")
    # The exact conditional test is valid but conservative (why verdicts use mid-p).
    assert exact / reps <= ALPHA + 0.005


def _synthetic_bleu_stats(rng, ref_len, ref_quality):
    """Per-segment BLEU statistics of one system; both systems share the distribution."""
    n = ref_len.size
    hyp_len = np.maximum(1, ref_len + rng.integers(-3, 4, n))
    stats = np.zeros((n, 10))
    stats[:, 0], stats[:, 1] = hyp_len, ref_len
    for order in range(1, 5):
        total = np.maximum(hyp_len - order + 1, 0)
        stats[:, 5 + order] = total
        stats[:, 1 + order] = rng.binomial(total, ref_quality**order)
    return stats


def test_corpus_bleu_randomization_and_the_bootstrap_traps() -> None:
    rng = np.random.default_rng(303)
    reps, n = 1500, 150
    metric = ls.BleuMetric()
    ar = moses = win95 = 0
    for i in range(reps):
        ref_len = rng.integers(5, 40, n)
        quality = rng.beta(4, 3, n)  # segment difficulty, shared by both systems
        a = _synthetic_bleu_stats(rng, ref_len, quality)
        b = _synthetic_bleu_stats(rng, ref_len, quality)
        ar += (
            ls.corpus_metric_test(a, b, metric, n_resamples=499, ci_resamples=0, seed=i).p_value
            <= ALPHA
        )
        boot = ls.corpus_metric_test(
            a, b, metric, test="bootstrap", n_resamples=499, seed=i, convention="sacrebleu"
        )
        moses += boot.p_value <= ALPHA
        plain = ls.corpus_metric_test(a, b, metric, test="bootstrap", n_resamples=499, seed=i)
        # "A wins in >= 95 % of resamples" (either way) is exactly percentile inversion <= 0.10.
        win95 += plain.p_value <= 0.10
    assert _in_band(ar / reps, "BLEU AR"), ar / reps
    print(f"Moses bootstrap {moses / reps:.4f}, 95%-wins rule {win95 / reps:.4f}")
    assert moses / reps > 0.08, moses / reps  # Moses' formula: anti-conservative
    assert win95 / reps > 0.08, win95 / reps  # the 95 %-of-resamples rule: a 10 % test


def _crossed(rng, seeds, n, seed_sd, noise_sd, system_sd, binary=False, seeds_b=None):
    """Equally good systems: shared example effects, own per-example profile, seed luck."""
    example = rng.normal(0, 1, n)
    out = []
    for s in (seeds, seeds if seeds_b is None else seeds_b):
        x = (
            example
            + rng.normal(0, system_sd, n)
            + rng.normal(0, seed_sd, (s, 1))
            + rng.normal(0, noise_sd, (s, n))
        )
        if binary:
            x = (rng.random((s, n)) < 1 / (1 + np.exp(-x))).astype(float)
        out.append(x)
    return out


@pytest.mark.parametrize(
    "seeds,n,seed_sd,noise_sd,system_sd,binary",
    [
        (5, 200, 0.0, 1.0, 0.3, False),  # no seed variance
        (5, 200, 0.1, 1.0, 0.3, False),  # moderate seed variance
        (5, 200, 0.3, 0.5, 0.3, False),  # seed variance dominates
        (10, 100, 0.2, 0.5, 0.3, True),  # 0/1 correctness
        (3, 100, 0.2, 1.0, 0.3, False),  # too few seeds (warns), still calibrated
    ],
)
def test_two_level_bootstrap(seeds, n, seed_sd, noise_sd, system_sd, binary) -> None:
    rng = np.random.default_rng(404 + seeds + n)
    reps = 2000
    rejections = naive = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for i in range(reps):
            a, b = _crossed(rng, seeds, n, seed_sd, noise_sd, system_sd, binary)
            res = ls.two_level_bootstrap(a, b, n_resamples=2, seed=i)
            rejections += res.p_value <= ALPHA
            if i < 300:
                # The trap: a per-example test on one training run per system.
                one = ls.paired_permutation_test(a[0], b[0], n_resamples=499, seed=i)
                naive += one.p_value <= ALPHA
    assert _in_band(rejections / reps, f"two-level {seeds}x{n} sd={seed_sd}"), rejections / reps
    print(f"one-run per-example test: {naive / 300:.4f}")
    if seed_sd >= 0.1 and not binary:
        assert naive / 300 > 0.15, naive / 300


# Unbalanced seed counts, the designs the comparison stage meets when runs fail or a baseline
# is reused with more seeds. Seed SD is given in units of one run's standard error.
@pytest.mark.parametrize(
    "seeds_a,seeds_b,n,seed_se,binary",
    [
        (2, 9, 150, 5.0, False),  # seed variance dominates, 2 against 9
        (9, 2, 150, 0.0, False),  # no seed variance at all
        (2, 6, 300, 1.0, True),  # 0/1 outcomes, seed variance as large as example noise
        (3, 7, 60, 3.0, True),  # few examples
        (2, 3, 800, 2.0, False),  # the smallest unbalanced design
    ],
)
def test_two_level_unbalanced_seeds(seeds_a, seeds_b, n, seed_se, binary) -> None:
    rng = np.random.default_rng(7000 + 100 * seeds_a + seeds_b)
    noise = 0.0 if binary else 1.0
    seed_sd = seed_se * (0.45 if binary else 1.0) / np.sqrt(n)
    reps = 2000
    rejections = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for i in range(reps):
            a, b = _crossed(rng, seeds_a, n, seed_sd, noise, 0.3, binary, seeds_b)
            rejections += ls.two_level_bootstrap(a, b, n_resamples=2, seed=i).p_value <= ALPHA
    label = f"two-level {seeds_a} vs {seeds_b} seeds, n={n}, seed SD {seed_se} run SE"
    assert _in_band(rejections / reps, label), rejections / reps


def test_two_level_seed_insensitive_baseline() -> None:
    """A baseline whose runs are identical has no seed variance; the test uses A's alone."""
    rng = np.random.default_rng(8080)
    reps, n = 2000, 200
    rejections = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for i in range(reps):
            example = rng.normal(0, 1, n)
            a = (
                example
                + rng.normal(0, 0.3, n)
                + rng.normal(0, 3.0 / np.sqrt(n), (3, 1))
                + rng.normal(0, 1.0, (3, n))
            )
            b = np.tile(example + rng.normal(0, 0.3, n) + rng.normal(0, 1.0, n), (6, 1))
            res = ls.two_level_bootstrap(a, b, n_resamples=2, seed=i)
            rejections += res.p_value <= ALPHA
    assert res.deterministic_b and not res.pooled_seed_variance
    assert _in_band(rejections / reps, "two-level, identical baseline runs"), rejections / reps


@pytest.mark.parametrize("na,nb", [(5, 5), (3, 3), (2, 7), (4, 9)])
def test_seed_level_test(na: int, nb: int) -> None:
    """One score per run: the t test decides where an exact permutation test is too coarse."""
    rng = np.random.default_rng(505 + na * nb)
    reps = 2000
    rejections = permutation = 0
    for _ in range(reps):
        a, b = rng.lognormal(0, 0.5, na), rng.lognormal(0, 0.5, nb)
        res = ls.seed_level_test(a, b)
        rejections += res.p_value <= ALPHA
        permutation += res.permutation_p_value <= ALPHA
    assert _in_band(rejections / reps, f"seed-level {na} vs {nb}"), rejections / reps
    print(f"exact permutation: {permutation / reps:.4f}")
    if na == nb == 3:
        assert permutation == 0  # 3 vs 3 runs: the smallest permutation p is 0.1


def test_hodges_lehmann_interval_coverage() -> None:
    rng = np.random.default_rng(606)
    reps, n = 1000, 30
    covered = 0
    for _ in range(reps):
        d = rng.standard_t(3, n)  # heavy tails, centre 0
        lo, hi = ls.wilcoxon_signed_rank(d, np.zeros(n)).ci
        covered += lo <= 0 <= hi
    print(f"Hodges-Lehmann 95% interval coverage: {covered / reps:.3f}")
    assert 0.93 <= covered / reps <= 0.975
