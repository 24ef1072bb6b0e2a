"""Almost Stochastic Order: formula, bootstrap kernel and agreement with deepsig."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

import loclab.stats as ls
from loclab.stats import _aso

HAS_DEEPSIG = importlib.util.find_spec("deepsig") is not None


def _reference_violation_ratio(a, b, dt=0.005):
    """Direct transcription of Dror et al. (2019) eq. 4-5 on deepsig's grid."""
    t = np.arange(dt, 1, dt)

    def q(x, p):
        x = np.sort(x)
        return x[min(max(int(np.ceil(len(x) * p)) - 1, 0), len(x) - 1)]

    f = np.array([q(a, p) for p in t])
    g = np.array([q(b, p) for p in t])
    w2 = np.sum((g - f) ** 2 * dt)
    v = np.array([(g[i] - f[i]) ** 2 * dt if f[i] < g[i] else 0.0 for i in range(1, len(t))])
    return v.sum() / w2


@pytest.mark.parametrize("na,nb,shift", [(10, 10, 0.5), (7, 13, -0.2), (200, 150, 0.1)])
def test_violation_ratio_formula(na: int, nb: int, shift: float) -> None:
    rng = np.random.default_rng(na + nb)
    a, b = rng.normal(shift, 1, na), rng.normal(0, 1, nb)
    res = ls.aso(a, b, n_resamples=50)
    assert res.estimate == pytest.approx(_reference_violation_ratio(a, b), rel=1e-12)


def test_bootstrap_quantiles_equal_sorting_the_resample() -> None:
    rng = np.random.default_rng(0)
    x = np.sort(rng.normal(size=23))
    pos = _aso._quantile_positions(23, _aso._grid(0.005))
    got = _aso._bootstrap_quantiles(x, pos, 40, np.random.default_rng(3))
    draws = np.random.default_rng(3).integers(0, 23, size=(40, 23))
    want = np.sort(x[draws], axis=1)[:, pos]
    np.testing.assert_array_equal(got, want)


def test_clear_dominance_and_symmetry() -> None:
    rng = np.random.default_rng(1)
    good, bad = rng.normal(3, 1, 30), rng.normal(0, 1, 30)
    res = ls.aso(good, bad)
    assert res.estimate == 0.0 and res.eps_min < 0.05 and res.a_dominates
    rev = ls.aso(bad, good)
    assert not rev.a_dominates and rev.eps_min_reverse < 0.05
    # Not exactly 1: like deepsig, the violation integral skips the first grid point.
    assert res.estimate + rev.estimate == pytest.approx(1.0, abs=0.01)
    assert "A is almost stochastically better" in res.summary()
    json.dumps(res.to_dict())


def test_identical_samples_give_half() -> None:
    x = np.arange(10.0)
    assert ls.aso(x, x, n_resamples=50).estimate == 0.5


def test_bonferroni_raises_confidence() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.normal(0.5, 1, 20), rng.normal(0, 1, 20)
    one = ls.aso(a, b)
    many = ls.aso(a, b, num_comparisons=6)
    assert many.confidence == pytest.approx(0.95 + 0.05 / 6)
    assert many.eps_min >= one.eps_min


@pytest.mark.slow
@pytest.mark.skipif(not HAS_DEEPSIG, reason="deepsig is not installed (comparison only)")
def test_matches_deepsig() -> None:
    """eps_min within 0.02 of deepsig; both are bootstrap estimates, so deepsig is averaged."""
    from deepsig import aso as deepsig_aso

    rng = np.random.default_rng(3)
    for n, shift in ((60, 0.4), (150, 0.1)):
        a, b = rng.normal(shift, 1, n), rng.normal(0, 1, n)
        ours = ls.aso(a, b, n_resamples=10_000, seed=0).eps_min
        theirs = np.mean(
            [float(deepsig_aso(a, b, seed=s, show_progress=False)) for s in (1, 1001, 2001)]
        )
        assert abs(ours - theirs) < 0.02, (n, ours, theirs)
