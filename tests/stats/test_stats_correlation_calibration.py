"""Type-I error of the correlation-difference tests: equal QE systems told apart ~5 % of the time.

Two systems whose predictions come from the same process (so their population correlations
with the gold are equal), many times over; at alpha = 0.05 the rejection rate must lie in
[0.035, 0.065]. Williams' test is checked on normal data (its assumption), the bootstrap on
skewed data, the seeds test with seed-to-seed variation that changes each run's correlation. 2,000
repetitions each: the standard error of a rate of 0.05 is then 0.005.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import loclab.stats as ls

pytestmark = pytest.mark.slow

ALPHA = 0.05
BAND = (0.035, 0.065)


def _rate(rejections: int, reps: int, label: str) -> float:
    rate = rejections / reps
    print(f"rejection rate {label}: {rate:.4f}")  # shown with pytest -s, for the record
    return rate


def _null_pair(rng: np.random.Generator, n: int, skewed: bool) -> tuple[np.ndarray, ...]:
    gold = rng.normal(size=n)
    shared = 0.8 * rng.normal(size=n)  # errors both systems make: correlated predictions
    noise = (lambda: rng.gamma(1.0, 1.0, n)) if skewed else (lambda: rng.normal(size=n))
    return gold, gold + shared + noise(), gold + shared + noise()


def test_williams_on_normal_data() -> None:
    rng = np.random.default_rng(31)
    reps, rejections = 4000, 0
    for _ in range(reps):
        gold, a, b = _null_pair(rng, 40, skewed=False)
        rejections += ls.williams_test(a, b, gold).p_value <= ALPHA
    assert BAND[0] <= _rate(rejections, reps, "williams n=40") <= BAND[1]


@pytest.mark.parametrize("method,n", [("pearson", 250), ("spearman", 120), ("kendall", 80)])
def test_bootstrap_on_skewed_data(method: str, n: int) -> None:
    # The percentile bootstrap of Pearson's r is liberal on small samples with skewed errors
    # (6.6 % at 120 examples, 7.7 % at 60 with exponential noise): checked at 250, the size
    # of a tiny QE test split. Rank correlations do not care about skew.
    rng = np.random.default_rng(32)
    reps, rejections = 2000, 0
    for i in range(reps):
        gold, a, b = _null_pair(rng, n, skewed=True)
        result = ls.correlation_bootstrap(
            a,
            b,
            np.round(gold, 1),  # ties in the gold, as with human scores
            method=method,  # type: ignore[arg-type]
            n_resamples=499,
            seed=i,
        )
        rejections += result.p_value <= ALPHA
    assert BAND[0] <= _rate(rejections, reps, f"bootstrap {method}") <= BAND[1]


def test_williams_and_bootstrap_agree_on_simulated_data() -> None:
    rng = np.random.default_rng(33)
    decisions, p_values = [], []
    for i in range(300):
        gold = rng.normal(size=200)
        shared = 0.6 * rng.normal(size=200)
        a = gold + shared + rng.normal(size=200)
        b = gold + shared + rng.uniform(0.8, 1.4) * rng.normal(size=200)  # null or not
        w = ls.williams_test(a, b, gold)
        boot = ls.correlation_bootstrap(a, b, gold, n_resamples=999, seed=i)
        decisions.append((w.p_value <= ALPHA) == (boot.p_value <= ALPHA))
        p_values.append((w.p_value, boot.p_value))
    p = np.array(p_values)
    assert np.mean(decisions) >= 0.93
    assert np.corrcoef(p.T)[0, 1] >= 0.97


@pytest.mark.parametrize("method", ["pearson", "spearman", "kendall"])
def test_seeds_test_with_seed_variation(method: str) -> None:
    rng = np.random.default_rng(34)
    reps, rejections = 2000, 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for i in range(reps):
            gold = rng.normal(size=100)
            runs = []
            for _system in range(2):
                bias = rng.normal(size=100)  # what this system gets wrong, in every run
                # Each training run also scales its reliance on the signal differently, so
                # runs differ in correlation, not only in noise. (Much larger seed effects,
                # correlations swinging by +-0.3, make the test conservative: about 2 %.)
                runs.append(
                    np.stack(
                        [
                            gold * (1 + 0.2 * rng.normal()) + bias + 0.6 * rng.normal(size=100)
                            for _ in range(5)
                        ]
                    )
                )
            result = ls.correlation_seeds_test(
                runs[0],
                runs[1],
                gold,
                method=method,  # type: ignore[arg-type]
                n_resamples=100,
                seed=i,
            )
            rejections += result.p_value <= ALPHA
    assert BAND[0] <= _rate(rejections, reps, f"seeds {method}") <= BAND[1]
