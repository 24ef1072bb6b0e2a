"""Effect sizes and power."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

import loclab.stats as ls
from loclab.stats._effects import mde_from_se, power_from_se


def test_effect_sizes_per_example() -> None:
    a = np.array([0.9, 0.5, 0.7, 0.7, 0.2])
    b = np.array([0.8, 0.6, 0.7, 0.1, 0.2])
    res = ls.effect_sizes(a, b)
    d = a - b
    assert res.estimate == pytest.approx(d.mean())
    assert res.d_z == pytest.approx(d.mean() / d.std(ddof=1))
    assert (res.wins, res.ties, res.losses) == (2, 2, 1)
    assert res.prob_a_better_example == pytest.approx(3 / 5)
    assert res.prob_a_better_seed is None
    ci = stats.ttest_rel(a, b).confidence_interval()
    assert res.ci == pytest.approx((ci.low, ci.high))
    json.dumps(res.to_dict())


def test_effect_sizes_per_seed() -> None:
    a = np.array([[1.0, 1.0], [3.0, 3.0]])  # seed means 1, 3
    b = np.array([[2.0, 2.0], [2.0, 2.0], [0.0, 0.0]])  # seed means 2, 2, 0
    res = ls.effect_sizes(a, b)
    # pairs (1,2) (1,2) (1,0) (3,2) (3,2) (3,0): A wins 4 of 6
    assert res.prob_a_better_seed == pytest.approx(4 / 6)
    with pytest.raises(ValueError, match="same examples"):
        ls.effect_sizes(np.ones((2, 3)), np.ones((2, 4)))


def test_power_matches_known_values() -> None:
    # Paired t, d = 0.5, alpha 0.05, power 0.8 needs 34 pairs (Cohen; G*Power).
    assert ls.power(sd=1.0, n=10, effect=0.5).n_required == 34
    res = ls.power(sd=2.0, n=100, effect=0.5)
    nc = 0.5 / (2.0 / 10)
    crit = stats.t.ppf(0.975, 99)
    expected = stats.nct.sf(crit, 99, nc) + stats.nct.cdf(-crit, 99, nc)
    assert res.power == pytest.approx(expected, rel=1e-9)
    assert power_from_se(res.mde, res.se, res.df, 0.05) == pytest.approx(0.8, abs=1e-6)


def test_power_agrees_with_simulation() -> None:
    rng = np.random.default_rng(0)
    n, sd, effect = 40, 1.0, 0.4
    d = rng.normal(effect, sd, size=(4000, n))
    t = d.mean(1) / (d.std(1, ddof=1) / np.sqrt(n))
    simulated = np.mean(2 * stats.t.sf(np.abs(t), n - 1) <= 0.05)
    assert ls.power(sd=sd, n=n, effect=effect).power == pytest.approx(simulated, abs=0.025)


def test_power_from_data_and_seeds() -> None:
    rng = np.random.default_rng(1)
    e = rng.normal(0, 1, 300)
    noisy = [e + rng.normal(0, 1, (5, 300)) for _ in range(2)]
    res = ls.power(*noisy, effect=0.1)
    assert res.n_required is not None and res.seeds_required is not None
    assert res.mde > 0 and 0 < res.power < 1
    assert "examples" in res.summary()
    # With large seed-to-seed variance, more examples alone cannot reach 80 % power.
    drift = [x + rng.normal(0, 0.3, (5, 1)) for x in noisy]
    seedy = ls.power(*drift, effect=0.1)
    assert seedy.n_required is None and seedy.seeds_required > 5
    assert "seeds per system" in seedy.summary()
    with pytest.raises(ValueError, match="Give either the data"):
        ls.power()


def test_power_edge_cases() -> None:
    assert power_from_se(0.1, 0.0, 10, 0.05) == 1.0
    assert mde_from_se(0.0, 10, 0.05, 0.8) == 0.0
    x = np.ones(20)
    res = ls.power(x, x, effect=0.1)
    assert res.power == 1.0 and res.mde == 0.0


def test_power_and_mde_survive_scipy_nan_in_the_far_tail() -> None:
    # scipy's nct.cdf(-crit, df=5.67, nc=8) is NaN; a two-level verdict with few seeds and a
    # Holm step of alpha / 2 searched exactly there and crashed.
    se, df, alpha = 0.0406, 5.672, 0.025
    assert power_from_se(8.0 * se, se, df, alpha) == pytest.approx(0.99988, abs=1e-4)
    mde = mde_from_se(se, df, alpha, 0.8)
    assert power_from_se(mde, se, df, alpha) == pytest.approx(0.8, abs=1e-6)
    assert 3.0 * se < mde < 6.0 * se
