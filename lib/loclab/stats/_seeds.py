"""Comparisons that account for training-seed variance: seeds x examples, and per-seed results."""

from __future__ import annotations

import dataclasses
import itertools
import math
import warnings
from typing import Any

import numpy as np
from scipy import stats as sps

from ._base import (
    TestResult,
    as_1d,
    as_2d,
    chance_phrase,
    check_confidence,
    check_n_resamples,
    ci_text,
    fmt,
    fmt_p,
    make_rng,
    row_chunks,
    tie_tolerance,
)
from ._resampling import bootstrap_counts, percentile_ci
from ._twolevel import UNEQUAL_SPREAD_ALPHA, Decomposition, decompose

MIN_SEEDS = 5
# Below this many splits of the runs a permutation test is too coarse to hold its level
# (4 against 4 runs: 70 splits, 2.9 % at a nominal 5 %); seed_level_test then uses its t test.
# From 100 splits on the largest attainable size at 5 % is at least 4 %.
PERMUTATION_MIN_SPLITS = 100


@dataclasses.dataclass(frozen=True)
class TwoLevelResult(TestResult):
    """Result of :func:`two_level_bootstrap`.

    Attributes:
        n_seeds_a: Training runs of A.
        n_seeds_b: Training runs of B.
        seed_sd_a: Estimated SD of A's score from one training seed to the next.
        seed_sd_b: Same for B.
        example_se: Standard error contributed by the choice of test examples.
        seed_share: Fraction of the estimate's variance due to training seeds.
        bootstrap_ci: Percentile interval of the two-level bootstrap distribution
            (descriptive; the test and ``ci`` do not use it).
        bootstrap_se: Standard deviation of the two-level bootstrap distribution.
        deterministic_a: All of A's runs are identical (A ignores its seed).
        deterministic_b: Same for B.
        pooled_seed_variance: Whether one seed-to-seed variance was estimated for both
            systems (the default; not when a system is deterministic or the spreads differ).
        spread_p_value: One-sided F-test p-value that the system with fewer runs varies more
            from seed to seed than the other (NaN when undefined).
    """

    n_seeds_a: int = 0
    n_seeds_b: int = 0
    seed_sd_a: float = math.nan
    seed_sd_b: float = math.nan
    example_se: float = math.nan
    seed_share: float = math.nan
    bootstrap_ci: tuple[float, float] = (math.nan, math.nan)
    bootstrap_se: float = math.nan
    deterministic_a: bool = False
    deterministic_b: bool = False
    pooled_seed_variance: bool = True
    spread_p_value: float = math.nan

    def summary(self) -> str:
        """One plain-language sentence describing the result."""
        text = (
            f"Mean difference (A - B) over {self.n_seeds_a} and {self.n_seeds_b} training runs "
            f"and {self.n:,} examples: {fmt(self.estimate)} ({ci_text(self.ci, self.confidence)}"
            f"); p = {fmt_p(self.p_value)}, so a gap at least this large would appear by chance "
            f"{chance_phrase(self.p_value)} if the systems were equally good; "
            f"{round(100 * self.seed_share)}% of the uncertainty comes from training seeds "
            f"(seed-to-seed SD {fmt(self.seed_sd_a)} for A, {fmt(self.seed_sd_b)} for B) and the "
            f"rest from the choice of examples (SE {fmt(self.example_se)})."
        )
        return text + (f" Warning: {self.warning}" if self.warning else "")


def _seed_warnings(dec: Decomposition) -> list[str]:
    sa, sb = dec.n_seeds_a, dec.n_seeds_b
    notes = []
    for name, det, runs in (("A", dec.deterministic_a, sa), ("B", dec.deterministic_b, sb)):
        if det:
            notes.append(
                f"all {runs} runs of {name} are identical: it ignores its training seed, so one "
                "run is enough (it is treated as having no seed-to-seed variance)."
            )
    if min(sa, sb) < MIN_SEEDS and not (dec.deterministic_a or dec.deterministic_b):
        notes.append(
            f"only {sa} (A) and {sb} (B) training seeds: seed-to-seed variance is poorly "
            f"estimated below {MIN_SEEDS} seeds per system, so the interval is wide and a real "
            "difference may go undetected; train more seeds."
        )
    if dec.spread_p_value < UNEQUAL_SPREAD_ALPHA:
        few = "A" if sa < sb else "B"
        notes.append(
            f"{few}, the system with fewer runs, varies more from seed to seed than the other "
            f"(F test p = {fmt_p(dec.spread_p_value)}), so each system's own seed variance is "
            "used instead of a pooled one; with so few runs of one system the test holds its "
            "level only approximately: train as many seeds of each."
        )
    return notes


def two_level_bootstrap(
    scores_a: Any,
    scores_b: Any,
    n_resamples: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
) -> TwoLevelResult:
    """Compare two systems trained with several seeds and evaluated on the same examples.

    Inputs have shape ``(seeds, examples)``; the seeds of A and B are unrelated, the examples
    are shared. The estimate is ``mean(A) - mean(B)``. Two sources of uncertainty are
    separated: which training seeds were drawn (independently per system) and which test
    examples were drawn (shared by both systems).

    The p-value and ``ci`` come from the studentised statistic ``estimate / se`` referred to a
    t distribution (they always agree: 0 is outside ``ci`` exactly when p < 1 - confidence).
    ``se`` is the method-of-moments estimate for the crossed design: the example-level
    variance net of the seed x example interaction, plus the variance of per-run means, which
    is pooled over both systems (one seed-to-seed variance, as a linear mixed model with a
    ``(1 | system:seed)`` term assumes; pooling is what keeps 2 against 10 seeds calibrated).
    A system whose runs are all identical is known to have no seed variance and is left out of
    the pool; when a one-sided F test finds the system with fewer runs the less stable one
    (p < 0.05) each system's own variance is used. The degrees of freedom are Satterthwaite's
    with the seed term at its 70 % upper confidence bound, which removes the plug-in df's
    anti-conservative bias when the seed term has few df (see :mod:`loclab.stats._twolevel`).

    Measured rejection rates of equally good systems at alpha = 0.05 (seed counts 2 vs 2,
    2 vs 3, 2 vs 10, 10 vs 2, 2 vs 20, 3 vs 3, 3 vs 8, 4 vs 4, 4 vs 7 and 6 vs 6; no seed
    variance up to seed SD = 5 x the SE of one run's mean; with and without per-example
    system profiles):

    * continuous scores, normal-theory simulation of the mean squares (100,000 comparisons
      per cell, 30 to 2,000 examples): 3.8-5.4 % (the earlier test: 1.3-12.2 %; 2 vs 10
      seeds with dominant seed variance 10.0-10.3 %, now 4.6-4.8 %);
    * 0/1 scores (4,000 comparisons per cell, 30 to 400 examples): 3.4-5.4 % (earlier
      0.9-10.8 %); below 3.8 % only for 2 vs 2 and 2 vs 3 seeds with 30 examples;
    * this function on simulated data, ``benchmarks/stats_calibration.py`` (1,500 per
      design, Monte Carlo SE 0.006): 3.3-6.1 %.

    The level rests on equal seed-to-seed spread in both systems. A system whose runs are
    identical is handled exactly (3.1-6.5 % against 2 seeds of the other, 4.0-5.5 % against
    3 or more); when the system with fewer seeds is much less stable than the other the
    test over-rejects (2 against 10 seeds, the 10 without seed luck: 21 %) and when it is
    the more stable one it is conservative.

    The two-level bootstrap (seeds resampled per system, one shared set of examples) is kept
    as a description (``bootstrap_ci``, ``bootstrap_se``); it is not used for the p-value: with
    a handful of seeds it understates seed variance by ``(S - 1) / S`` and cannot produce
    t-like tails.

    Args:
        scores_a: Per-example scores of A, shape ``(seeds_a, examples)``.
        scores_b: Per-example scores of B, shape ``(seeds_b, examples)``.
        n_resamples: Two-level bootstrap resamples (descriptive interval only).
        seed: Seed of the random generator.
        confidence: Level of both intervals.

    Returns:
        A :class:`TwoLevelResult`.

    Raises:
        ValueError: If the example counts differ, a system has fewer than 2 seeds (seed
            variance cannot be estimated: use :func:`paired_permutation_test`), or on NaN.
    """
    a = as_2d(scores_a, "scores_a")
    b = as_2d(scores_b, "scores_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"`scores_a` and `scores_b` must cover the same examples, got {a.shape[1]} and "
            f"{b.shape[1]} columns."
        )
    for x, name in ((a, "scores_a"), (b, "scores_b")):
        if x.shape[0] < 2:
            raise ValueError(
                f"`{name}` has {x.shape[0]} training seed(s); at least 2 per system are needed "
                "to estimate seed variance (for a single run use paired_permutation_test)."
            )
    n_resamples = check_n_resamples(n_resamples, minimum=2)
    confidence = check_confidence(confidence)
    sa, n = a.shape
    sb = b.shape[0]
    estimate = float(a.mean() - b.mean())
    dec = decompose(a, b)
    notes = _seed_warnings(dec)
    warning = " ".join(notes) if notes else None
    if warning and min(sa, sb) < MIN_SEEDS:
        warnings.warn(warning, UserWarning, stacklevel=2)
    se, df = dec.se, dec.df
    if se > 0:
        t_stat = estimate / se
        p_value = float(2.0 * sps.t.sf(abs(t_stat), df))
        half = float(sps.t.ppf(0.5 + confidence / 2.0, df)) * se
    else:
        t_stat = 0.0 if estimate == 0 else math.copysign(math.inf, estimate)
        p_value = 1.0 if estimate == 0 else 0.0
        half = 0.0
    rng = make_rng(seed)
    boot = np.empty(n_resamples)
    for rows in row_chunks(n_resamples, 8 * (4 * n + 2 * (sa + sb))):
        n_rows = rows.stop - rows.start
        ex = bootstrap_counts(n, n_rows, rng)  # shared example counts
        mean_a = np.sum(bootstrap_counts(sa, n_rows, rng) * (a @ ex.T).T, axis=1) / (sa * n)
        mean_b = np.sum(bootstrap_counts(sb, n_rows, rng) * (b @ ex.T).T, axis=1) / (sb * n)
        boot[rows] = mean_a - mean_b
    seed_part = min(dec.seed_var_a / sa + dec.seed_var_b / sb, se**2)
    pooling = "pooled" if dec.pooled else "per-system"
    return TwoLevelResult(
        estimate=estimate, ci=(estimate - half, estimate + half), p_value=p_value, n=n,
        method=(
            f"two-level t test (seeds x examples, {pooling} seed variance, corrected "
            f"Satterthwaite df = {df:.1f}; {n_resamples:,}-resample two-level bootstrap "
            "for description)"
        ),
        statistic=t_stat, confidence=confidence, ci_method="studentised t (crossed design)",
        n_resamples=n_resamples, se=se, df=df, p_resolution=0.0, exact=False, n_seeds_a=sa,
        n_seeds_b=sb, seed_sd_a=math.sqrt(dec.seed_var_a), seed_sd_b=math.sqrt(dec.seed_var_b),
        example_se=math.sqrt(se**2 - seed_part), seed_share=seed_part / se**2 if se > 0 else 0.0,
        bootstrap_ci=percentile_ci(boot, confidence), bootstrap_se=float(boot.std(ddof=1)),
        warning=warning, deterministic_a=dec.deterministic_a,
        deterministic_b=dec.deterministic_b, pooled_seed_variance=dec.pooled,
        spread_p_value=dec.spread_p_value,
    )  # fmt: skip


@dataclasses.dataclass(frozen=True)
class SeedLevelResult(TestResult):
    """Result of :func:`seed_level_test`.

    Attributes:
        n_a: Runs of A.
        n_b: Runs of B.
        welch_t: Welch t statistic.
        welch_df: Welch-Satterthwaite degrees of freedom.
        welch_p_value: Two-sided Welch t-test p-value.
        permutation_p_value: Two-sided permutation p-value over splits of the runs.
        n_splits: Splits enumerated (exact) or drawn (Monte Carlo).
        pooled_variance: Whether ``p_value`` pools both systems' run-to-run variance.
    """

    n_a: int = 0
    n_b: int = 0
    welch_t: float = math.nan
    welch_df: float = math.nan
    welch_p_value: float = math.nan
    permutation_p_value: float = math.nan
    n_splits: int = 0
    pooled_variance: bool = True

    def summary(self) -> str:
        """One plain-language sentence describing the result."""
        how = "all" if self.n_resamples is None else "random"
        return (
            f"Mean over {self.n_a} runs of A minus mean over {self.n_b} runs of B: "
            f"{fmt(self.estimate)} ({ci_text(self.ci, self.confidence)}); {self.method}: "
            f"p = {fmt_p(self.p_value)}, so a gap this large would appear by chance "
            f"{chance_phrase(self.p_value, self.p_resolution)} if the systems were equally good "
            f"(permutation test over {how} {self.n_splits:,} splits of the runs: p = "
            f"{fmt_p(self.permutation_p_value)})."
        )


def seed_level_test(
    a: Any,
    b: Any,
    n_resamples: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
    max_exact: int = 200_000,
) -> SeedLevelResult:
    """Compare per-seed results (one number per training run) of two systems.

    Two tests of the mean difference are computed: a permutation test over the
    ``C(n_a + n_b, n_a)`` splits of the runs (all of them up to ``max_exact``, else
    ``n_resamples`` random ones) and a two-sample t test, the seeds test of
    :func:`two_level_bootstrap` with one example (Student's t with the run-to-run variance
    pooled over both systems, or the other system's variance alone when a system's runs are
    identical; no F test of the spreads, which skewed run scores would set off). ``p_value`` is the
    permutation test's when there are at least 100 splits and the variance is pooled (it
    needs no normality), else the t test's: with fewer splits a permutation test is too
    coarse to hold its level (3 against 3 runs can never give p < 0.1, 4 against 4 reject
    equal systems 2.9 % of the time at a nominal 5 %). Welch's t-test is reported alongside;
    the interval is the t test's.

    Measured rejection rates of equally good systems at alpha = 0.05 (lognormal run scores,
    4,000 comparisons per design, ``benchmarks/stats_calibration.py``): 3 vs 3 runs 4.6 %,
    4 vs 4 4.7 %, 2 vs 3 5.3 %, 2 vs 10 5.2 % (t test); 3 vs 8 4.4 %, 5 vs 5 4.3 %, 6 vs 9
    4.9 % (permutation test). The permutation test alone: 0 % for 3 vs 3 and 2 vs 3, 2.9 %
    for 4 vs 4.

    Args:
        a: One score per training run of A.
        b: One score per training run of B.
        n_resamples: Random splits when enumeration is infeasible.
        seed: Seed of the random generator.
        confidence: Level of the interval.
        max_exact: Largest number of splits to enumerate.

    Returns:
        A :class:`SeedLevelResult`.

    Raises:
        ValueError: On empty or non-finite input.
    """
    x = as_1d(a, "a")
    y = as_1d(b, "b")
    confidence = check_confidence(confidence)
    n_resamples = check_n_resamples(n_resamples)
    na, nb = x.size, y.size
    estimate = float(x.mean() - y.mean())
    welch_t = welch_df = welch_p = math.nan
    if na >= 2 and nb >= 2:
        va, vb = x.var(ddof=1) / na, y.var(ddof=1) / nb
        welch_se = math.sqrt(va + vb)
        if welch_se > 0:
            welch_df = (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1))
            welch_t = estimate / welch_se
            welch_p = float(2.0 * sps.t.sf(abs(welch_t), welch_df))
    se = df = math.nan
    ci = (math.nan, math.nan)
    t_p: float | None = None
    pooled_variance = True
    if na + nb >= 3:
        dec = decompose(x[:, None], y[:, None], check_spread=False)
        se, df, pooled_variance = dec.se, dec.df, dec.pooled
        if se > 0:
            t_p = float(2.0 * sps.t.sf(abs(estimate) / se, df))
            half = float(sps.t.ppf(0.5 + confidence / 2.0, df)) * se
            ci = (estimate - half, estimate + half)
        else:
            t_p = 1.0 if estimate == 0 else 0.0
            ci = (estimate, estimate)
    pooled = np.concatenate([x, y])
    total = pooled.sum()
    n_total = na + nb
    n_splits = math.comb(n_total, na)

    def diff_of(sum_a: np.ndarray) -> np.ndarray:
        diff: np.ndarray = sum_a / na - (total - sum_a) / nb
        return diff

    observed = abs(estimate)
    tol = tie_tolerance(observed, float(np.abs(pooled).max()))
    if n_splits <= max_exact:
        splits = itertools.combinations(range(n_total), na)
        count, block = 0, max(1, 2**20 // max(na, 1))
        while chunk := list(itertools.islice(splits, block)):
            combos = np.asarray(chunk, dtype=np.intp).reshape(len(chunk), na)
            count += int(
                np.count_nonzero(np.abs(diff_of(pooled[combos].sum(axis=1))) >= observed - tol)
            )
        perm_p = count / n_splits
        exact, drawn = True, n_splits
    else:
        rng = make_rng(seed)
        null = np.empty(n_resamples)
        for rows in row_chunks(n_resamples, 16 * n_total):
            keys = rng.random((rows.stop - rows.start, n_total))
            chosen = np.argpartition(keys, na - 1, axis=1)[:, :na]
            null[rows] = np.abs(diff_of(pooled[chosen].sum(axis=1)))
        perm_p = (np.count_nonzero(null >= observed - tol) + 1) / (n_resamples + 1)
        exact, drawn = False, n_resamples
    if t_p is not None and not (pooled_variance and drawn >= PERMUTATION_MIN_SPLITS):
        p_value, resolution = t_p, 0.0
        method = (
            f"two-sample t test on the runs ({'pooled' if pooled_variance else 'per-system'} "
            f"variance, df = {df:.1f})"
        )
    else:
        p_value = float(perm_p)
        resolution = (2.0 if na == nb else 1.0) / n_splits if exact else 1 / (n_resamples + 1)
        method = f"permutation test over {'all' if exact else 'random'} {drawn:,} splits"
    return SeedLevelResult(
        estimate=estimate, ci=ci, p_value=float(p_value), n=n_total, method=method,
        estimand="difference in mean score across runs (A - B)", statistic=estimate,
        confidence=confidence, ci_method="two-sample t", se=se, df=df,
        n_resamples=None if exact else n_resamples, p_resolution=resolution,
        exact=resolution > 0 and exact, n_a=na, n_b=nb, welch_t=welch_t, welch_df=welch_df,
        welch_p_value=welch_p, permutation_p_value=float(perm_p), n_splits=drawn,
        pooled_variance=pooled_variance,
    )  # fmt: skip
