"""Effect sizes and power: how big is the difference, and how big a difference can we see."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import optimize
from scipy import stats as sps

from ._base import ResultMixin, as_2d, check_alpha, check_confidence, ci_text, fmt
from ._twolevel import decompose as _decompose


@dataclasses.dataclass(frozen=True)
class EffectSizes(ResultMixin):
    """Result of :func:`effect_sizes`.

    Attributes:
        estimate: Mean difference (A - B) of per-example scores (averaged over seeds).
        ci: Confidence interval of the mean difference (Student t over examples; with
            several seeds per system the two-level interval that includes seed variance).
        p_value: Always ``None`` (effect sizes are descriptive; see the tests).
        n: Number of examples.
        method: How the interval was computed.
        d_z: Standardised mean difference of paired data, mean / SD of the differences.
        prob_a_better_example: Share of examples on which A scores higher than B, counting
            ties as half (the "common-language" effect size).
        wins: Examples where A scores higher than B.
        ties: Examples with equal scores.
        losses: Examples where A scores lower than B.
        prob_a_better_seed: With several seeds, the share of (seed of A, seed of B) pairs in
            which A's run has the higher mean score (ties as half); else ``None``.
        confidence: Level of ``ci``.
    """

    estimate: float
    ci: tuple[float, float]
    p_value: None
    n: int
    method: str
    d_z: float
    prob_a_better_example: float
    wins: int
    ties: int
    losses: int
    prob_a_better_seed: float | None
    confidence: float

    def summary(self) -> str:
        """One plain-language sentence describing the result."""
        seed = (
            f"; a random run of A beats a random run of B {round(100 * self.prob_a_better_seed)}"
            "% of the time"
            if self.prob_a_better_seed is not None
            else ""
        )
        return (
            f"A minus B averages {fmt(self.estimate)} per example "
            f"({ci_text(self.ci, self.confidence)}; d_z = {fmt(self.d_z, 2)}); A wins on "
            f"{self.wins:,}, ties on {self.ties:,} and loses on {self.losses:,} of {self.n:,} "
            f"examples (A better on {round(100 * self.prob_a_better_example)}% counting ties as "
            f"half){seed}."
        )


def effect_sizes(a: Any, b: Any, confidence: float = 0.95) -> EffectSizes:
    """Describe the size of the difference between two systems on the same examples.

    Args:
        a: Scores of A, shape ``(examples,)`` or ``(seeds, examples)``.
        b: Scores of B, same number of examples (the seed counts may differ).
        confidence: Level of the interval of the mean difference.

    Returns:
        An :class:`EffectSizes`.

    Raises:
        ValueError: If the number of examples differs or on non-finite input.
    """
    x = as_2d(a, "a")
    y = as_2d(b, "b")
    if x.shape[1] != y.shape[1]:
        raise ValueError(
            f"`a` and `b` must cover the same examples, got {x.shape[1]} and {y.shape[1]}."
        )
    confidence = check_confidence(confidence)
    d = x.mean(axis=0) - y.mean(axis=0)
    n = d.size
    estimate = float(d.mean())
    sd = float(d.std(ddof=1)) if n > 1 else math.nan
    if x.shape[0] >= 2 and y.shape[0] >= 2:
        dec = _decompose(x, y)
        se, df = dec.se, dec.df
        method = "two-level t interval (seed and example variance)"
    else:
        se, df = (sd / math.sqrt(n), n - 1.0) if n > 1 else (math.nan, math.nan)
        method = "Student t interval over examples"
    if math.isfinite(se):
        half = float(sps.t.ppf(0.5 + confidence / 2.0, df)) * se if se > 0 else 0.0
        ci = (estimate - half, estimate + half)
    else:
        ci = (math.nan, math.nan)
    wins, ties = int(np.count_nonzero(d > 0)), int(np.count_nonzero(d == 0))
    losses = n - wins - ties
    d_z = estimate / sd if sd > 0 else 0.0 if estimate == 0 else math.copysign(math.inf, estimate)
    seed_prob = None
    if x.shape[0] >= 2 or y.shape[0] >= 2:
        ma, mb = x.mean(axis=1)[:, None], y.mean(axis=1)[None, :]
        seed_prob = float(np.mean((ma > mb) + 0.5 * (ma == mb)))
    return EffectSizes(
        estimate=estimate, ci=ci, p_value=None, n=n, method=method, d_z=d_z,
        prob_a_better_example=(wins + 0.5 * ties) / n, wins=wins, ties=ties, losses=losses,
        prob_a_better_seed=seed_prob, confidence=confidence,
    )  # fmt: skip


def power_from_se(effect: float, se: float, df: float, alpha: float) -> float:
    """Power of a two-sided t (or z, for infinite ``df``) test to detect ``effect``.

    Uses the noncentral t distribution with noncentrality ``effect / se``.
    """
    if not math.isfinite(se) or se < 0:
        return math.nan
    if se == 0:
        return 1.0 if effect != 0 else alpha
    nc = abs(effect) / se
    if not math.isfinite(df) or df > 1e6:
        crit = float(sps.norm.ppf(1.0 - alpha / 2.0))
        return float(sps.norm.sf(crit - nc) + sps.norm.cdf(-crit - nc))
    crit = float(sps.t.ppf(1.0 - alpha / 2.0, df))
    upper = float(sps.nct.sf(crit, df, nc))
    # scipy's noncentral t returns NaN in the far tail (e.g. cdf(-3, df=5.7, nc=8)); that
    # tail is below the central one, alpha / 2, and vanishes as nc grows, so count it as 0.
    lower = float(sps.nct.cdf(-crit, df, nc))
    if not math.isfinite(upper):
        return math.nan
    return upper + (lower if math.isfinite(lower) else 0.0)


def mde_from_se(se: float, df: float, alpha: float, target: float) -> float:
    """Smallest effect detected with probability ``target`` (two-sided level ``alpha``)."""
    if not math.isfinite(se) or se < 0:
        return math.nan
    if se == 0:
        return 0.0
    hi = se
    while power_from_se(hi, se, df, alpha) < target:
        hi *= 2.0
        if hi > 1e12 * se:
            return math.inf
    return float(optimize.brentq(lambda e: power_from_se(e, se, df, alpha) - target, 0.0, hi))


def _smallest_count(power_at: Any, target: float, start: int, limit: int = 10**9) -> int | None:
    """Smallest integer count >= start whose power reaches ``target`` (None if unreachable)."""
    if power_at(start) >= target:
        return start
    hi = start
    while power_at(hi) < target:
        if hi >= limit:
            return None
        hi = min(limit, hi * 2)
    lo = hi // 2 if hi > start else start
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if power_at(mid) >= target:
            hi = mid
        else:
            lo = mid
    return hi


@dataclasses.dataclass(frozen=True)
class PowerResult(ResultMixin):
    """Result of :func:`power`.

    Attributes:
        estimate: The effect the power refers to (``effect``, else the observed difference).
        ci: Not applicable; ``(nan, nan)``.
        p_value: Always ``None``.
        n: Examples (or seeds, for per-seed data) in the data at hand.
        method: How power was computed.
        mde: Minimum detectable effect: the smallest true difference found with probability
            ``target_power`` at level ``alpha`` with this much data.
        power: Probability of detecting ``estimate`` with this much data.
        n_required: Examples needed to reach ``target_power`` for ``estimate`` (with the same
            seeds per system); ``None`` if more examples alone cannot get there.
        seeds_required: With seeds x examples data, seeds per system needed (same examples);
            ``None`` otherwise or if unreachable.
        alpha: Two-sided significance level.
        target_power: Desired power.
        se: Standard error of the difference with the data at hand.
        df: Degrees of freedom of the t reference.
    """

    estimate: float
    ci: tuple[float, float]
    p_value: None
    n: int
    method: str
    mde: float
    power: float
    n_required: int | None
    seeds_required: int | None
    alpha: float
    target_power: float
    se: float
    df: float

    def summary(self) -> str:
        """One plain-language sentence describing the result."""
        text = (
            f"With {self.n:,} examples a true difference of {fmt(self.mde)} or more would be "
            f"detected {round(100 * self.target_power)}% of the time (alpha = {fmt(self.alpha)})"
            f"; a difference of {fmt(abs(self.estimate))} would be detected "
            f"{round(100 * self.power)}% of the time"
        )
        if self.power >= self.target_power:
            return text + "."
        needs = []
        if self.n_required is not None:
            needs.append(f"about {self.n_required:,} examples")
        if self.seeds_required is not None:
            needs.append(f"about {self.seeds_required:,} seeds per system")
        if not needs:
            return text + ", and more data of this kind would not be enough."
        return (
            text
            + f"; reaching {round(100 * self.target_power)}% needs "
            + " or ".join(needs)
            + "."
        )


def power(
    a: Any = None,
    b: Any = None,
    *,
    effect: float | None = None,
    sd: float | None = None,
    n: int | None = None,
    alpha: float = 0.05,
    target_power: float = 0.8,
) -> PowerResult:
    """Power and minimum detectable effect of a paired comparison.

    Give either the data (``a`` and ``b``, shape ``(examples,)`` or ``(seeds, examples)``) or
    the summary ``sd`` (standard deviation of per-example differences) and ``n``. For paired
    per-example data power is computed from the noncentral t distribution with ``n - 1`` df;
    for seeds x examples data from the two-level variance decomposition (seed variance per
    system, example variance, interaction) with Satterthwaite df, so that adding examples
    cannot shrink the seed part.

    Args:
        a: Scores of A.
        b: Scores of B on the same examples.
        effect: Difference of interest (e.g. the practical threshold); defaults to the
            observed mean difference.
        sd: SD of per-example differences (summary mode).
        n: Number of examples (summary mode).
        alpha: Two-sided significance level.
        target_power: Desired power (0.8 by convention).

    Returns:
        A :class:`PowerResult`.

    Raises:
        ValueError: If neither data nor ``sd`` and ``n`` are given, or on invalid values.
    """
    alpha = check_alpha(alpha)
    if not 0.0 < target_power < 1.0:
        raise ValueError(f"`target_power` must be in (0, 1), got {target_power!r}.")
    seeds_required = None
    power_seeds: Callable[[int], float] | None = None
    if a is not None and b is not None:
        x, y = as_2d(a, "a"), as_2d(b, "b")
        if x.shape[1] != y.shape[1]:
            raise ValueError(
                f"`a` and `b` must cover the same examples, got {x.shape[1]} and {y.shape[1]}."
            )
        observed = float(x.mean() - y.mean())
        n_ex = x.shape[1]
        if x.shape[0] >= 2 and y.shape[0] >= 2:
            dec = _decompose(x, y)
            se, df = dec.se, dec.df
            sa, sb = x.shape[0], y.shape[0]
            method = "two-level variance decomposition, noncentral t (Satterthwaite df)"

            def power_examples(m: int) -> float:
                return power_from_se(eff, math.sqrt(dec.variance(sa, sb, m)), df, alpha)

            def seeds_power(s: int) -> float:
                return power_from_se(eff, math.sqrt(dec.variance(s, s, n_ex)), df, alpha)

            power_seeds = seeds_power

        else:
            d = x.mean(axis=0) - y.mean(axis=0)
            sd_d = float(d.std(ddof=1)) if n_ex > 1 else math.nan
            se, df = sd_d / math.sqrt(n_ex), n_ex - 1.0
            method = "paired t, noncentral t"

            def power_examples(m: int) -> float:
                return power_from_se(eff, sd_d / math.sqrt(m), m - 1.0, alpha)

    elif sd is not None and n is not None:
        if sd < 0 or n < 2:
            raise ValueError("`sd` must be >= 0 and `n` >= 2.")
        n_ex, observed = int(n), math.nan
        se, df = sd / math.sqrt(n_ex), n_ex - 1.0
        method = "paired t, noncentral t"

        def power_examples(m: int) -> float:
            return power_from_se(eff, sd / math.sqrt(m), m - 1.0, alpha)

    else:
        raise ValueError("Give either the data (`a`, `b`) or the summary (`sd`, `n`).")
    eff = float(observed if effect is None else effect)
    if not math.isfinite(eff):
        raise ValueError("`effect` is required in summary mode (no observed difference).")
    achieved = power_from_se(eff, se, df, alpha)
    n_required = _smallest_count(power_examples, target_power, 2) if eff != 0 and se > 0 else None
    if power_seeds is not None and eff != 0 and se > 0:
        seeds_required = _smallest_count(power_seeds, target_power, 2, limit=10**6)
    return PowerResult(
        estimate=eff, ci=(math.nan, math.nan), p_value=None, n=n_ex, method=method,
        mde=mde_from_se(se, df, alpha, target_power), power=achieved, n_required=n_required,
        seeds_required=seeds_required, alpha=alpha, target_power=target_power, se=se, df=df,
    )  # fmt: skip
