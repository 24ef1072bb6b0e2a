"""Verdicts: turn comparisons into 'better / worse / no difference / too close to call'.

This is the layer a comparison stage calls. It picks the default test for the kind of data,
adjusts a family of comparisons (Holm for the confirmatory family, Benjamini-Hochberg for
exploratory breakdowns), shows each difference with an interval that agrees with the adjusted
decision, judges it against the smallest difference that matters (in the direction that
matters), and writes one sentence a non-technical reader understands.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np

from ._base import ResultMixin, TestResult, check_alpha, fmt
from ._dispatch import enough_resamples, prepare, run_default
from ._effects import mde_from_se, power_from_se
from ._family_ci import comparison_level, decision_interval
from ._metrics import CorpusMetric
from ._multiple import CORRECTION_NAMES, Correction, adjust
from ._wording import advice, sentence

TARGET_POWER = 0.8
DECISIONS = ("better", "worse", "no difference", "too close to call")


@dataclasses.dataclass(frozen=True)
class Verdict(ResultMixin):
    """Decision about one comparison of system ``system`` against ``baseline``.

    Every difference is ``system`` minus ``baseline``, in the metric's units (multiply by
    ``scale`` for display in ``scale_unit``).

    Attributes:
        decision: ``"better"`` or ``"worse"`` (the adjusted test finds a difference, from
            ``system``'s point of view), ``"no difference"`` (not significant, and the
            interval rules out a gain of ``threshold`` or more) or ``"too close to call"``
            (neither; always the case for a non-significant result without a threshold).
        label: Earlier wording kept for existing readers: ``"better"``, ``"worse"``,
            ``"no detectable difference"`` or ``"needs more data"`` (power below 0.8 at the
            threshold, or a test that cannot resolve the family's level).
        system: The system being judged (the candidate).
        baseline: What it is compared with.
        estimate: ``system`` minus ``baseline``.
        ci: Interval of the difference adjusted for the family, at level ``ci_level``: the
            deciding test's interval at the error rate the adjustment leaves this comparison,
            so 0 lies outside it exactly when ``p_adjusted <= alpha``.
        ci_level: Confidence level of ``ci`` (``1 - alpha`` for a family of one).
        ci_unadjusted: The test's own interval at ``ci_unadjusted_level``, not adjusted for
            the family (do not show it beside the adjusted decision).
        ci_unadjusted_level: Its confidence level.
        p_value: Raw two-sided p-value (the only one "how often by chance" is said of).
        p_adjusted: p-value adjusted within the family (equals ``p_value`` for one comparison).
        alpha: Significance level of the family.
        correction: Multiple-comparison adjustment of the family.
        family_size: Number of comparisons in the family.
        threshold: Smallest difference that matters, in the metric's units (0 = none given).
        higher_is_better: Direction of the metric.
        clears_threshold: Whether the estimate is a gain of at least ``threshold`` for
            ``system`` (direction-aware: a loss never clears it; None without a threshold).
        gain_ruled_out: Whether ``ci`` excludes a gain of ``threshold`` or more (None without
            a threshold).
        loss_ruled_out: Whether ``ci`` excludes a loss of ``threshold`` or more.
        practically_relevant: Same as ``clears_threshold`` (kept for existing readers).
        power: Probability of detecting a true difference of ``threshold`` (None without one).
        mde: Smallest difference detected 80 % of the time with this much data.
        n: Examples (or runs) compared.
        unit: What one example is (e.g. "test sentences").
        kind: Kind of data, which decided the test.
        method: Test used.
        scale: Display multiplier (100 shows proportions as percentage points).
        scale_unit: Display unit of scaled differences (e.g. "points"; "" for none).
        digits: Decimals of scaled differences in ``sentence``.
        warnings: Caveats to show next to the verdict.
        sentence: The verdict in plain language.
    """

    decision: str
    label: str
    system: str
    baseline: str
    estimate: float
    ci: tuple[float, float]
    ci_level: float
    ci_unadjusted: tuple[float, float]
    ci_unadjusted_level: float
    p_value: float
    p_adjusted: float
    alpha: float
    correction: str
    family_size: int
    threshold: float
    higher_is_better: bool
    clears_threshold: bool | None
    gain_ruled_out: bool | None
    loss_ruled_out: bool | None
    practically_relevant: bool | None
    power: float | None
    mde: float
    n: int
    unit: str
    kind: str
    method: str
    scale: float
    scale_unit: str
    digits: int
    warnings: tuple[str, ...]
    sentence: str

    def summary(self) -> str:
        """The verdict in plain language (``sentence``)."""
        return self.sentence


def _nominal_factors(p: list[float], correction: str) -> list[float]:
    """Each comparison's multiplier under ``correction`` (used only when its raw p is 0)."""
    m = len(p)
    order = np.argsort(p, kind="stable")
    rank = np.empty(m, dtype=np.int64)
    rank[order] = np.arange(m)
    if correction == "holm":
        return [float(m - r) for r in rank]
    if correction == "bh":
        return [m / float(r + 1) for r in rank]
    return [float(m) if correction == "bonferroni" else 1.0] * m


@dataclasses.dataclass(frozen=True)
class _Display:
    """How differences are written: display multiplier, unit, decimals, names."""

    unit: str = "examples"
    metric_name: str = ""
    digits: int = 3
    scale: float = 1.0
    scale_unit: str = ""


def _decide(
    entries: list[tuple[str, str, TestResult, str, list[str]]],
    alpha: float,
    correction: Correction,
    threshold: float,
    higher_is_better: bool,
    show: _Display,
) -> tuple[Verdict, ...]:
    alpha = check_alpha(alpha)
    if threshold < 0 or not math.isfinite(threshold):
        raise ValueError(f"`threshold` must be a finite value >= 0, got {threshold!r}.")
    if not (math.isfinite(show.scale) and show.scale > 0):
        raise ValueError(f"`scale` must be a finite number > 0, got {show.scale!r}.")
    ps = [e[2].p_value for e in entries]
    if any(p is None for p in ps):
        raise ValueError("Every comparison needs a p-value to be part of a verdict family.")
    raw = [float(p or 0.0) for p in ps]
    adj = adjust(raw, correction, alpha)
    m = len(entries)
    nominal = _nominal_factors(raw, correction)
    # Power is judged at the level the comparison must pass; Holm's first step is alpha / m.
    alpha_eff = alpha / m if correction in ("holm", "bonferroni") else alpha
    verdicts = []
    for k, (system, baseline, result, kind, notes) in enumerate(entries):
        se = result.se if result.se is not None else math.nan
        df = result.df if result.df is not None else math.inf
        pw = power_from_se(threshold, se, df, alpha_eff) if threshold > 0 else None
        mde = mde_from_se(se, df, alpha_eff, TARGET_POWER)
        sign = 1.0 if higher_is_better else -1.0
        gain = sign * float(result.estimate)
        rejected = adj.rejected[k] and gain != 0
        level = comparison_level(raw[k], adj.adjusted[k], alpha, nominal[k])
        lo, hi = decision_interval(result, level, rejected)
        gain_low, gain_high = (lo, hi) if higher_is_better else (-hi, -lo)
        resolution = result.p_resolution or 0.0
        if rejected:
            label = decision = "better" if gain > 0 else "worse"
        else:
            weak = pw is not None and math.isfinite(pw) and pw < TARGET_POWER
            label = "needs more data" if resolution > alpha_eff or weak else (
                "no detectable difference")  # fmt: skip
            shown = threshold > 0 and gain_high < threshold
            decision = "no difference" if shown else "too close to call"
        caveats = list(notes)
        if result.warning:
            caveats.append(result.warning)
        clears = gain >= threshold if threshold > 0 else None
        fields: dict[str, Any] = {
            "decision": decision, "label": label, "system": system, "baseline": baseline,
            "estimate": float(result.estimate), "ci": (lo, hi), "ci_level": 1.0 - level,
            "ci_unadjusted": tuple(float(c) for c in result.ci),
            "ci_unadjusted_level": float(result.confidence),
            "p_value": raw[k], "p_adjusted": adj.adjusted[k], "alpha": alpha,
            "correction": correction, "family_size": m, "threshold": float(threshold),
            "higher_is_better": higher_is_better, "clears_threshold": clears,
            "gain_ruled_out": gain_high < threshold if threshold > 0 else None,
            "loss_ruled_out": gain_low > -threshold if threshold > 0 else None,
            "practically_relevant": clears, "power": pw, "mde": mde, "n": int(result.n),
            "unit": "training runs" if kind == "seed_level" and show.unit == "examples"
            else show.unit,
            "kind": kind, "method": result.method, "scale": float(show.scale),
            "scale_unit": show.scale_unit, "digits": int(show.digits),
            "warnings": tuple(caveats),
        }  # fmt: skip
        words = {**fields, "gain_low": gain_low, "gain_high": gain_high}
        text = sentence(words, result, show.metric_name) + advice(words, result)
        verdicts.append(Verdict(sentence=text, **fields))
    return tuple(verdicts)


@dataclasses.dataclass(frozen=True)
class VerdictFamily(ResultMixin):
    """Verdicts for a family of comparisons, adjusted together.

    Attributes:
        verdicts: One :class:`Verdict` per comparison.
        correction: Multiple-comparison adjustment.
        family_size: Number of comparisons adjusted together.
        alpha: Error rate controlled.
        threshold: Smallest difference that matters, in the scores' units (direction-aware,
            as in :func:`verdict`).
        method: Description of the procedure.
    """

    verdicts: tuple[Verdict, ...]
    correction: str
    family_size: int
    alpha: float
    threshold: float
    method: str

    def summary(self) -> str:
        """One plain-language sentence describing the family."""
        counts: dict[str, int] = {}
        for v in self.verdicts:
            counts[v.decision] = counts.get(v.decision, 0) + 1
        parts = ", ".join(f"{n} {label}" for label, n in counts.items())
        return (
            f"{self.family_size} comparisons ({CORRECTION_NAMES[self.correction]} over the "
            f"family of {self.family_size}, alpha = {fmt(self.alpha)}): {parts}."
        )

    def __getitem__(self, system: str) -> Verdict:
        """The verdict whose ``system`` is ``system`` (first match)."""
        for v in self.verdicts:
            if v.system == system:
                return v
        raise KeyError(system)


def verdict(
    a: Any,
    b: Any,
    *,
    name_a: str = "A",
    name_b: str = "B",
    kind: Literal["auto", "continuous", "binary", "corpus", "seeds", "seed_level"] = "auto",
    metric: CorpusMetric | None = None,
    alpha: float = 0.05,
    threshold: float = 0.0,
    higher_is_better: bool = True,
    n_resamples: int = 10_000,
    seed: int = 0,
    unit: str = "examples",
    metric_name: str = "",
    digits: int = 3,
    scale: float = 1.0,
    scale_unit: str = "",
) -> Verdict:
    """Decide whether A is better than, worse than or indistinguishable from B.

    Args:
        a: Scores of A: ``(examples,)``, ``(seeds, examples)``, per-example statistics
            ``(examples, n_stats)`` with ``metric``, or per-run scores with
            ``kind="seed_level"``.
        b: Scores of B in the same layout (paired on examples).
        name_a: Name of A in the sentence.
        name_b: Name of B in the sentence.
        kind: Kind of data; ``"auto"`` picks ``"seeds"`` for 2-D input with several seeds,
            ``"binary"`` for 0/1 values, ``"corpus"`` when ``metric`` is given, else
            ``"continuous"``. See :func:`default_test`.
        metric: Corpus metric for per-example sufficient statistics.
        alpha: Significance level.
        threshold: Smallest difference that matters to the business, in the scores' units
            (not scaled). It counts in the direction that matters only: a gain of at least
            ``threshold`` "clears" it; a non-significant result is "no difference" when its
            interval rules out such a gain, else "too close to call".
        higher_is_better: Direction of the metric.
        n_resamples: Resamples of the underlying test.
        seed: Seed of the underlying test.
        unit: What an example is, for the sentence (e.g. "test sentences").
        metric_name: Metric name for the sentence (e.g. "BLEU").
        digits: Decimals of (scaled) differences in the sentence.
        scale: Display multiplier of differences: ``100`` with ``scale_unit="points"`` shows
            an accuracy difference of 0.066 as "+6.6 points"; BLEU-like metrics already in
            points keep ``1`` with ``scale_unit="points"`` (or ``metric_name``).
        scale_unit: Unit of scaled differences in the sentence (e.g. "points").

    Returns:
        A :class:`Verdict`.
    """
    kind_, x, y, notes = prepare(a, b, kind, metric)
    result = run_default(kind_, x, y, metric, n_resamples, seed)
    show = _Display(unit, metric_name, digits, scale, scale_unit)
    return _decide(
        [(name_a, name_b, result, kind_, notes)], alpha, "none", threshold, higher_is_better,
        show,
    )[0]  # fmt: skip


def decide(
    results: Mapping[tuple[str, str], TestResult],
    *,
    alpha: float = 0.05,
    correction: Correction = "holm",
    threshold: float = 0.0,
    higher_is_better: bool = True,
    unit: str = "examples",
    metric_name: str = "",
    digits: int = 3,
    scale: float = 1.0,
    scale_unit: str = "",
) -> VerdictFamily:
    """Adjust already computed comparisons as one family and turn them into verdicts.

    Each verdict carries one procedure: its decision comes from the adjusted p-value and its
    ``ci`` is the deciding test's interval at the error rate the adjustment leaves that
    comparison (``alpha * p / p_adjusted``), so 0 lies outside ``ci`` exactly when
    ``p_adjusted <= alpha``. The test's own unadjusted interval stays in ``ci_unadjusted``.

    Args:
        results: ``{(system, baseline): result}`` for any ``loclab.stats`` test result that
            has a p-value (estimates are ``system - baseline``).
        alpha: Error rate to control.
        correction: ``"holm"`` for confirmatory families, ``"bh"`` for exploratory ones.
        threshold: Smallest difference that matters, in the scores' units (direction-aware,
            as in :func:`verdict`).
        higher_is_better: Direction of the metric.
        unit: What an example is, for the sentences.
        metric_name: Metric name for the sentences.
        digits: Decimals of (scaled) differences in the sentence.
        scale: Display multiplier of differences: ``100`` with ``scale_unit="points"`` shows
            an accuracy difference of 0.066 as "+6.6 points"; BLEU-like metrics already in
            points keep ``1`` with ``scale_unit="points"`` (or ``metric_name``).
        scale_unit: Unit of scaled differences in the sentence (e.g. "points").

    Returns:
        A :class:`VerdictFamily`.
    """
    entries: list[tuple[str, str, TestResult, str, list[str]]] = [
        (s, b, r, "given", []) for (s, b), r in results.items()
    ]
    show = _Display(unit, metric_name, digits, scale, scale_unit)
    verdicts = _decide(entries, alpha, correction, threshold, higher_is_better, show)
    return VerdictFamily(
        verdicts=verdicts, correction=correction, family_size=len(verdicts), alpha=alpha,
        threshold=threshold, method="precomputed tests",
    )  # fmt: skip


def compare_systems(
    systems: Mapping[str, Any],
    *,
    baseline: str | None = None,
    kind: Literal["auto", "continuous", "binary", "corpus", "seeds", "seed_level"] = "auto",
    metric: CorpusMetric | None = None,
    alpha: float = 0.05,
    correction: Correction = "holm",
    threshold: float = 0.0,
    higher_is_better: bool = True,
    n_resamples: int = 10_000,
    seed: int = 0,
    unit: str = "examples",
    metric_name: str = "",
    digits: int = 3,
    scale: float = 1.0,
    scale_unit: str = "",
) -> VerdictFamily:
    """Compare many systems (each against ``baseline``, or all pairs) and give verdicts.

    Every comparison uses the default test for the data (:func:`default_test`); the family is
    adjusted with ``correction`` and the family size is reported with each verdict.

    Args:
        systems: ``{name: scores}``; scores as for :func:`verdict` (e.g. arrays of shape
            ``(seeds, examples)`` of per-example scores or 0/1 correctness).
        baseline: Compare every other system with this one; ``None`` compares all pairs.
        kind: Kind of data (``"auto"`` to infer).
        metric: Corpus metric when ``systems`` holds per-example sufficient statistics.
        alpha: Error rate to control.
        correction: ``"holm"`` (confirmatory, default) or ``"bh"`` (exploratory).
        threshold: Smallest difference that matters, in the scores' units (direction-aware,
            as in :func:`verdict`).
        higher_is_better: Direction of the metric.
        n_resamples: Resamples per test; raised (with a warning) when the smallest attainable
            p-value could not pass the family's adjusted level.
        seed: Seed of every test.
        unit: What an example is, for the sentences.
        metric_name: Metric name for the sentences.
        digits: Decimals of (scaled) differences in the sentence.
        scale: Display multiplier of differences: ``100`` with ``scale_unit="points"`` shows
            an accuracy difference of 0.066 as "+6.6 points"; BLEU-like metrics already in
            points keep ``1`` with ``scale_unit="points"`` (or ``metric_name``).
        scale_unit: Unit of scaled differences in the sentence (e.g. "points").

    Returns:
        A :class:`VerdictFamily`.

    Raises:
        ValueError: If ``baseline`` is not among ``systems`` or fewer than 2 systems are given.
    """
    names = list(systems)
    if len(names) < 2:
        raise ValueError("`systems` needs at least two systems.")
    if baseline is not None and baseline not in systems:
        raise ValueError(f"`baseline` {baseline!r} is not one of the systems {names}.")
    if baseline is None:
        pairs = [(names[i], names[j]) for i in range(len(names)) for j in range(i + 1, len(names))]
    else:
        pairs = [(s, baseline) for s in names if s != baseline]
    entries = []
    for s, base in pairs:
        kind_, x, y, notes = prepare(systems[s], systems[base], kind, metric)
        n_res = enough_resamples(n_resamples, len(pairs), alpha, kind_)
        entries.append((s, base, run_default(kind_, x, y, metric, n_res, seed), kind_, notes))
    show = _Display(unit, metric_name, digits, scale, scale_unit)
    verdicts = _decide(entries, alpha, correction, threshold, higher_is_better, show)
    scope = f"each system against {baseline}" if baseline else "all pairs"
    return VerdictFamily(
        verdicts=verdicts, correction=correction, family_size=len(verdicts), alpha=alpha,
        threshold=threshold, method=f"{scope}; tests: {sorted({e[3] for e in entries})}",
    )  # fmt: skip
