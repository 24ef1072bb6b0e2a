"""Variance components of a seeds x examples comparison and its small-sample t reference.

Model, per system: ``score[s, i] = mu + example_i + profile_i + seed_s + interaction_si``.
Example effects are shared by both systems (the same test set), each system has its own
per-example profile, and seeds are drawn independently per system. The estimate is
``mean(A) - mean(B)``; its variance is

    Var = shared / N + (seed_var + interaction / N) * (1 / S_a + 1 / S_b)

with ``shared`` the variance of the per-example profile difference. Three mean squares carry
the information: the variance of the seed-averaged per-example differences (``N - 1`` df),
the variance of each run's mean within its system (``S - 1`` df each; pooled, ``S_a + S_b - 2``
df) and the seed x example interaction (many df). Seed variance is pooled over both systems,
as a linear mixed model with one ``(1 | system:seed)`` term does; a system whose runs are all
identical (it ignores its seed) is known to have none and is left out of the pool.

The reference distribution is Student's t with Satterthwaite degrees of freedom, computed
with the seed component at its 70 % upper confidence bound. Plug-in Satterthwaite df are
anti-conservative when the seed component has few df (Welch's test rejects 10 % at a nominal
5 % with 2 against 10 samples, because a small variance estimate also inflates the df); the
bound removes that bias and leaves the df unchanged when the seed part is well estimated.
Measured sizes are in :func:`loclab.stats.two_level_bootstrap`.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np
from scipy import stats as sps

# Quantile of chi-square used to bound the seed component in the df (see the module docstring).
_DF_BOUND_QUANTILE = 0.3
# Level of the one-sided F test that flags the system with fewer seeds as the less stable one
# (then seed variance is not pooled). Only that direction is tested: pooling then understates
# the variance; the other direction only makes the pooled test conservative. At 0.05 it costs
# about 0.3 points of size at equal spread (normal-theory simulation of 2 vs 10 seeds) and
# cuts the excess when the spreads differ by about half.
UNEQUAL_SPREAD_ALPHA = 0.05


@functools.lru_cache(maxsize=256)
def _df_inflation(df: int) -> float:
    """Factor that puts a mean square with ``df`` df at its 70 % upper confidence bound."""
    return float(df / sps.chi2.ppf(_DF_BOUND_QUANTILE, df))


def _residual_mean_square(x: np.ndarray) -> float:
    s, n = x.shape
    if s < 2 or n < 2:
        return 0.0
    resid = x - x.mean(axis=1, keepdims=True) - x.mean(axis=0, keepdims=True) + x.mean()
    return float(np.sum(resid**2) / ((s - 1) * (n - 1)))


@dataclasses.dataclass(frozen=True)
class Decomposition:
    """Method-of-moments variance components of ``mean(A) - mean(B)`` (crossed design).

    Attributes:
        example_var: Sample variance of the seed-averaged per-example differences.
        shared_var: Example-level variance net of the interaction (clipped at 0).
        seed_mean_var_a: Sample variance of A's per-run means.
        seed_mean_var_b: Same for B.
        resid_a: Seed x example interaction mean square of A.
        resid_b: Same for B.
        n_seeds_a: Runs of A.
        n_seeds_b: Runs of B.
        n_examples: Examples.
        deterministic_a: Whether all of A's runs are identical.
        deterministic_b: Same for B.
        spread_p_value: One-sided F-test p-value of "the system with fewer seeds varies more
            from seed to seed" (NaN when a system is deterministic or the counts are equal).
        pooled: Whether the seed variance was pooled over both systems.
    """

    example_var: float
    shared_var: float
    seed_mean_var_a: float
    seed_mean_var_b: float
    resid_a: float
    resid_b: float
    n_seeds_a: int
    n_seeds_b: int
    n_examples: int
    deterministic_a: bool
    deterministic_b: bool
    spread_p_value: float
    pooled: bool

    @property
    def seed_var_a(self) -> float:
        """Variance of A's score from one training seed to the next (clipped at 0)."""
        return max(self.seed_mean_var_a - self.resid_a / self.n_examples, 0.0)

    @property
    def seed_var_b(self) -> float:
        """Variance of B's score from one training seed to the next (clipped at 0)."""
        return max(self.seed_mean_var_b - self.resid_b / self.n_examples, 0.0)

    def variance(self, seeds_a: float, seeds_b: float, examples: float) -> float:
        """Projected variance of the estimate for a design with these counts."""
        return (
            self.shared_var / examples
            + (self.seed_var_a + self.resid_a / examples) / seeds_a
            + (self.seed_var_b + self.resid_b / examples) / seeds_b
        )

    def _seed_terms(self) -> list[tuple[float, int]]:
        """The seed-level variance terms of the estimate, each with its df."""
        sa, sb = self.n_seeds_a, self.n_seeds_b
        if self.pooled:
            f = max(sa + sb - 2, 1)
            pooled = ((sa - 1) * self.seed_mean_var_a + (sb - 1) * self.seed_mean_var_b) / f
            return [(pooled * (1.0 / sa + 1.0 / sb), f)]
        # One run estimates no seed-to-seed variance: it adds no term (and no df).
        terms = []
        if not self.deterministic_a and sa > 1:
            terms.append((self.seed_mean_var_a / sa, sa - 1))
        if not self.deterministic_b and sb > 1:
            terms.append((self.seed_mean_var_b / sb, sb - 1))
        return terms

    @property
    def se(self) -> float:
        """Standard error of the observed estimate."""
        seed_part = sum(v for v, _ in self._seed_terms())
        return math.sqrt(self.shared_var / self.n_examples + seed_part)

    @property
    def df(self) -> float:
        """Satterthwaite df, with each seed term at its 70 % upper confidence bound."""
        n = self.n_examples
        shared = self.shared_var / n
        bounded = [(v * _df_inflation(d), d) for v, d in self._seed_terms()]
        num = (shared + sum(v for v, _ in bounded)) ** 2
        den = sum(v**2 / d for v, d in bounded)
        if shared > 0 and n > 1:
            # The shared term is estimated from the example variance (N - 1 df).
            den += shared * (self.example_var / n) / (n - 1)
        return num / den if den > 0 else math.inf


def decompose(a: np.ndarray, b: np.ndarray, check_spread: bool = True) -> Decomposition:
    """Variance components of two ``(seeds, examples)`` score arrays on shared examples.

    ``check_spread=False`` skips the F test of unequal seed-to-seed spread: it assumes
    near-normal per-run means, which averages over many examples are but single per-run
    scores need not be (on skewed run scores of equally good systems it fires far more often
    than its level and makes the test conservative).
    """
    sa, n = a.shape
    sb = b.shape[0]
    diff = a.mean(axis=0) - b.mean(axis=0)
    example_var = float(diff.var(ddof=1)) if n > 1 else 0.0
    resid_a, resid_b = _residual_mean_square(a), _residual_mean_square(b)
    shared = max(example_var - resid_a / sa - resid_b / sb, 0.0)
    mean_var_a = float(a.mean(axis=1).var(ddof=1)) if sa > 1 else 0.0
    mean_var_b = float(b.mean(axis=1).var(ddof=1)) if sb > 1 else 0.0
    # One run says nothing about seed variance; identical runs say there is none.
    det_a = sa > 1 and bool(np.all(a == a[:1]))
    det_b = sb > 1 and bool(np.all(b == b[:1]))
    spread_p = math.nan
    # Equal seed counts give the same standard error pooled or not (Student's t is robust to
    # unequal spread then), so the spread is tested only for unequal counts.
    testable = not (det_a or det_b) and min(sa, sb) > 1 and mean_var_a * mean_var_b > 0
    if check_spread and testable and sa != sb:
        few, many = ((mean_var_a, sa), (mean_var_b, sb)) if sa < sb else (
            (mean_var_b, sb), (mean_var_a, sa))  # fmt: skip
        spread_p = float(sps.f.sf(few[0] / many[0], few[1] - 1, many[1] - 1))
    pooled = not (det_a or det_b) and not spread_p < UNEQUAL_SPREAD_ALPHA
    return Decomposition(
        example_var=example_var, shared_var=shared, seed_mean_var_a=mean_var_a,
        seed_mean_var_b=mean_var_b, resid_a=resid_a, resid_b=resid_b, n_seeds_a=sa,
        n_seeds_b=sb, n_examples=n, deterministic_a=det_a, deterministic_b=det_b,
        spread_p_value=spread_p, pooled=pooled,
    )  # fmt: skip
