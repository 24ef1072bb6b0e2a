"""Verdicts: turn comparisons into 'better / worse / no detectable difference / needs more data'.

This is the layer a comparison stage calls. It picks the default test for the kind of data,
adjusts a family of comparisons (Holm for the confirmatory family, Benjamini-Hochberg for
exploratory breakdowns), checks whether a non-significant result could have detected the
smallest difference that matters, and writes one sentence a non-technical reader understands.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any, Literal

from ._base import ResultMixin, TestResult, chance_phrase, check_alpha, fmt
from ._dispatch import enough_resamples, prepare, run_default
from ._effects import mde_from_se, power_from_se
from ._metrics import CorpusMetric
from ._multiple import CORRECTION_NAMES, Correction, adjust

TARGET_POWER = 0.8


@dataclasses.dataclass(frozen=True)
class Verdict(ResultMixin):
    """Decision about one comparison of system ``system`` against ``baseline``.

    Attributes:
        label: ``"better"``, ``"worse"``, ``"no detectable difference"`` or
            ``"needs more data"``, always from ``system``'s point of view.
        system: The system being judged.
        baseline: What it is compared with.
        estimate: ``system`` minus ``baseline`` in the metric's units.
        ci: Unadjusted confidence interval of the difference.
        p_value: Raw two-sided p-value.
        p_adjusted: p-value adjusted within the family (equals ``p_value`` for one comparison).
        alpha: Significance level.
        correction: Multiple-comparison adjustment of the family.
        family_size: Number of comparisons in the family.
        threshold: Smallest difference that matters (0 = none given).
        higher_is_better: Direction of the metric.
        power: Probability of detecting a true difference of ``threshold`` (None without one).
        mde: Smallest difference detected 80 % of the time with this much data.
        practically_relevant: Whether the estimated gap reaches ``threshold`` (None without
            one).
        n: Examples (or runs) compared.
        unit: What one unit is (e.g. "test sentences").
        kind: Kind of data, which decided the test.
        method: Test used.
        warnings: Caveats to show next to the verdict.
        sentence: The verdict in plain language.
    """

    label: str
    system: str
    baseline: str
    estimate: float
    ci: tuple[float, float]
    p_value: float
    p_adjusted: float
    alpha: float
    correction: str
    family_size: int
    threshold: float
    higher_is_better: bool
    power: float | None
    mde: float
    practically_relevant: bool | None
    n: int
    unit: str
    kind: str
    method: str
    warnings: tuple[str, ...]
    sentence: str

    def summary(self) -> str:
        """The verdict in plain language (``sentence``)."""
        return self.sentence


def _sentence(v: dict[str, Any], result: TestResult, metric_name: str, digits: int) -> str:
    est, (lo, hi) = v["estimate"], v["ci"]
    system, baseline = v["system"], v["baseline"]
    if est >= 0:
        lead, other, gap, rlo, rhi = system, baseline, est, lo, hi
    else:
        lead, other, gap, rlo, rhi = baseline, system, -est, -hi, -lo
    units = f" {metric_name}" if metric_name else ""
    where = f"On {v['n']:,} {v['unit']}"
    seeds = getattr(result, "n_seeds_a", 0)
    if seeds:
        where += f" and {result.n_seeds_a} / {result.n_seeds_b} training runs"  # type: ignore[attr-defined]
    if gap == 0:
        text = f"{where} {system} and {baseline} scored the same on average"
    else:
        text = f"{where} {lead} scored {fmt(gap, digits)}{units} higher than {other}"
    if math.isfinite(lo) and math.isfinite(hi):
        text += f"; the plausible true difference is {fmt(rlo, digits)} to {fmt(rhi, digits)}"
    floor = result.p_resolution or 0.0
    # At the Monte Carlo floor the adjusted p is only an upper bound; say so.
    at_floor = not result.exact and floor > 0 and v["p_value"] <= floor * 1.0000001
    chance = chance_phrase(v["p_adjusted"], v["p_adjusted"] if at_floor else floor)
    text += f"; a gap this large would appear by chance {chance} if the systems were equally good"
    if v["family_size"] > 1:
        text += (
            f" (allowing for the {v['family_size']} comparisons made, "
            f"{CORRECTION_NAMES[v['correction']]})"
        )
    text += "."
    label, thr = v["label"], v["threshold"]
    better = "better" if v["higher_is_better"] else "worse"
    if label in ("better", "worse"):
        text += f" Verdict: {system} is {label} than {baseline}."
        if thr > 0:
            if gap < thr:
                text += f" The gap is smaller than the {fmt(thr, digits)} that matters, though."
            elif rlo >= thr:
                text += (
                    f" Even the low end of the plausible range exceeds the {fmt(thr, digits)} "
                    "that matters."
                )
        text += f' ("{label.capitalize()}" means unlikely to be chance, not necessarily large.)'
    elif label == "no detectable difference":
        text += f" Verdict: no detectable difference between {system} and {baseline}"
        if thr > 0:
            text += (
                f"; a true difference of {fmt(thr, digits)} would have been detected "
                f"{round(100 * v['power'])}% of the time"
            )
            if max(abs(lo), abs(hi)) < thr:
                text += ", and the plausible range is too small to matter"
        elif math.isfinite(v["mde"]):
            text += f"; differences smaller than about {fmt(v['mde'], digits)} could go unnoticed"
        text += "."
    else:
        text += f" Verdict: needs more data to tell whether {system} is {better} than {baseline}"
        if thr > 0 and v["power"] is not None:
            text += (
                f": a true difference of {fmt(thr, digits)} (the smallest that matters) would be "
                f"detected only {round(100 * v['power'])}% of the time with this much data"
            )
            if math.isfinite(v["mde"]) and v["mde"] > 0:
                factor = (v["mde"] / thr) ** 2
                if getattr(result, "seed_share", 0.0) > 0.5:
                    text += "; more training runs per system would help most"
                else:
                    text += f"; about {math.ceil(factor * v['n']):,} {v['unit']} would be needed"
        elif result.n_resamples is not None and not result.exact:
            text += (
                f": with {result.n_resamples:,} resamples the test cannot resolve p-values "
                "small enough for this family; rerun it with more resamples"
            )
        else:
            text += f": this test cannot reach significance with so few {v['unit']}"
        text += "."
    return text


def _decide(
    entries: list[tuple[str, str, TestResult, str, list[str]]],
    alpha: float,
    correction: Correction,
    threshold: float,
    higher_is_better: bool,
    unit: str,
    metric_name: str,
    digits: int,
) -> tuple[Verdict, ...]:
    alpha = check_alpha(alpha)
    if threshold < 0 or not math.isfinite(threshold):
        raise ValueError(f"`threshold` must be a finite value >= 0, got {threshold!r}.")
    ps = [e[2].p_value for e in entries]
    if any(p is None for p in ps):
        raise ValueError("Every comparison needs a p-value to be part of a verdict family.")
    raw = [float(p or 0.0) for p in ps]
    adj = adjust(raw, correction, alpha)
    m = len(entries)
    # Power is judged at the level the comparison must pass; Holm's first step is alpha / m.
    alpha_eff = alpha / m if correction in ("holm", "bonferroni") else alpha
    verdicts = []
    for k, (system, baseline, result, kind, notes) in enumerate(entries):
        se = result.se if result.se is not None else math.nan
        df = result.df if result.df is not None else math.inf
        pw = power_from_se(threshold, se, df, alpha_eff) if threshold > 0 else None
        mde = mde_from_se(se, df, alpha_eff, TARGET_POWER)
        oriented = result.estimate if higher_is_better else -result.estimate
        resolution = result.p_resolution or 0.0
        if adj.rejected[k] and oriented != 0:
            label = "better" if oriented > 0 else "worse"
        elif resolution > alpha_eff or (
            pw is not None and math.isfinite(pw) and pw < TARGET_POWER
        ):
            label = "needs more data"
        else:
            label = "no detectable difference"
        caveats = list(notes)
        if getattr(result, "warning", None):
            caveats.append(result.warning)  # type: ignore[attr-defined]
        fields: dict[str, Any] = {
            "label": label, "system": system, "baseline": baseline,
            "estimate": float(result.estimate), "ci": tuple(float(c) for c in result.ci),
            "p_value": raw[k], "p_adjusted": adj.adjusted[k], "alpha": alpha,
            "correction": correction, "family_size": m, "threshold": float(threshold),
            "higher_is_better": higher_is_better, "power": pw, "mde": mde,
            "practically_relevant": (abs(result.estimate) >= threshold) if threshold > 0
            else None,
            "n": int(result.n),
            "unit": "training runs" if kind == "seed_level" and unit == "examples" else unit,
            "kind": kind, "method": result.method,
            "warnings": tuple(caveats),
        }  # fmt: skip
        verdicts.append(Verdict(sentence=_sentence(fields, result, metric_name, digits), **fields))
    return tuple(verdicts)


@dataclasses.dataclass(frozen=True)
class VerdictFamily(ResultMixin):
    """Verdicts for a family of comparisons, adjusted together.

    Attributes:
        verdicts: One :class:`Verdict` per comparison.
        correction: Multiple-comparison adjustment.
        family_size: Number of comparisons adjusted together.
        alpha: Error rate controlled.
        threshold: Smallest difference that matters.
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
            counts[v.label] = counts.get(v.label, 0) + 1
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
        threshold: Smallest difference that matters to the business (same units as the
            scores); a non-significant result is "needs more data" unless a difference this
            large would have been detected with probability at least 0.8.
        higher_is_better: Direction of the metric.
        n_resamples: Resamples of the underlying test.
        seed: Seed of the underlying test.
        unit: What an example is, for the sentence (e.g. "test sentences").
        metric_name: Metric name for the sentence (e.g. "BLEU").
        digits: Decimals in the sentence.

    Returns:
        A :class:`Verdict`.
    """
    kind_, x, y, notes = prepare(a, b, kind, metric)
    result = run_default(kind_, x, y, metric, n_resamples, seed)
    return _decide(
        [(name_a, name_b, result, kind_, notes)], alpha, "none", threshold, higher_is_better,
        unit, metric_name, digits,
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
) -> VerdictFamily:
    """Adjust already computed comparisons as one family and turn them into verdicts.

    Args:
        results: ``{(system, baseline): result}`` for any ``loclab.stats`` test result that
            has a p-value (estimates are ``system - baseline``).
        alpha: Error rate to control.
        correction: ``"holm"`` for confirmatory families, ``"bh"`` for exploratory ones.
        threshold: Smallest difference that matters.
        higher_is_better: Direction of the metric.
        unit: What an example is, for the sentences.
        metric_name: Metric name for the sentences.
        digits: Decimals in the sentences.

    Returns:
        A :class:`VerdictFamily`.
    """
    entries: list[tuple[str, str, TestResult, str, list[str]]] = [
        (s, b, r, "given", []) for (s, b), r in results.items()
    ]
    verdicts = _decide(
        entries, alpha, correction, threshold, higher_is_better, unit, metric_name, digits
    )
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
        threshold: Smallest difference that matters.
        higher_is_better: Direction of the metric.
        n_resamples: Resamples per test; raised (with a warning) when the smallest attainable
            p-value could not pass the family's adjusted level.
        seed: Seed of every test.
        unit: What an example is, for the sentences.
        metric_name: Metric name for the sentences.
        digits: Decimals in the sentences.

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
    verdicts = _decide(
        entries, alpha, correction, threshold, higher_is_better, unit, metric_name, digits
    )
    scope = f"each system against {baseline}" if baseline else "all pairs"
    return VerdictFamily(
        verdicts=verdicts, correction=correction, family_size=len(verdicts), alpha=alpha,
        threshold=threshold, method=f"{scope}; tests: {sorted({e[3] for e in entries})}",
    )  # fmt: skip
