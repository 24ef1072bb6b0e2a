"""Verdicts: turn comparisons into 'better / worse / no detectable difference / needs more data'.

This is the layer a comparison stage calls. It picks the default test for the kind of data,
adjusts a family of comparisons (Holm for the confirmatory family, Benjamini-Hochberg for
exploratory breakdowns), checks whether a non-significant result could have detected the
smallest difference that matters, and writes one sentence a non-technical reader understands.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np

from ._base import ResultMixin, TestResult, chance_phrase, check_alpha, fmt
from ._corpus import CorpusMetric, corpus_metric_test
from ._effects import mde_from_se, power_from_se
from ._multiple import _CORRECTION_NAMES, Correction, PairwiseComparison, adjust
from ._paired import mcnemar, paired_permutation_test
from ._seeds import MIN_SEEDS, seed_level_test, two_level_bootstrap

DataKind = Literal["continuous", "binary", "corpus", "seeds", "seed_level"]
Label = Literal["better", "worse", "no detectable difference", "needs more data"]
TARGET_POWER = 0.8

_DEFAULTS: dict[str, tuple[str, str]] = {
    "continuous": (
        "paired_permutation_test",
        "Per-example scores on shared examples: a sign-flip permutation test of the mean "
        "difference is exact under exchangeability and needs no normality assumption.",
    ),
    "binary": (
        "mcnemar",
        "Per-example 0/1 outcomes: McNemar's test uses only the examples on which the systems "
        "disagree; its mid-p version is used because the exact one is conservative (it "
        "rejects equal systems only 3-4 % of the time at a nominal 5 %).",
    ),
    "corpus": (
        "corpus_metric_test",
        "A corpus metric (BLEU, chrF, F1, Pearson) is not an average of per-example scores: "
        "approximate randomization swaps per-example sufficient statistics and recomputes it.",
    ),
    "seeds": (
        "two_level_bootstrap",
        "Several training runs per system on shared examples: both seed-to-seed and "
        "example-to-example variation must enter the test, or retraining noise is mistaken "
        "for a real difference.",
    ),
    "seed_level": (
        "seed_level_test",
        "One aggregate score per training run: an exact permutation test over the runs "
        "(Welch's t-test reported alongside).",
    ),
}


@dataclasses.dataclass(frozen=True)
class DefaultTest(ResultMixin):
    """The test :func:`verdict` uses for a kind of data.

    Attributes:
        kind: ``"continuous"``, ``"binary"``, ``"corpus"``, ``"seeds"`` or ``"seed_level"``.
        test: Name of the ``loclab.stats`` function.
        reason: Why it is the default.
    """

    kind: str
    test: str
    reason: str

    def summary(self) -> str:
        """One plain-language sentence describing the choice."""
        return f"For {self.kind} data the default is {self.test}: {self.reason}"


def default_test(kind: DataKind) -> DefaultTest:
    """Return the default test for a kind of data.

    Args:
        kind: ``"continuous"`` (per-example scores), ``"binary"`` (per-example 0/1 outcomes),
            ``"corpus"`` (per-example sufficient statistics of a corpus metric), ``"seeds"``
            (seeds x examples) or ``"seed_level"`` (one score per training run).

    Returns:
        A :class:`DefaultTest`.

    Raises:
        ValueError: For an unknown kind.
    """
    if kind not in _DEFAULTS:
        raise ValueError(f"`kind` must be one of {sorted(_DEFAULTS)}, got {kind!r}.")
    test, reason = _DEFAULTS[kind]
    return DefaultTest(kind=kind, test=test, reason=reason)


def _is_binary(x: np.ndarray) -> bool:
    return bool(np.all((x == 0) | (x == 1)))


def _prepare(
    a: Any, b: Any, kind: str, metric: CorpusMetric | None
) -> tuple[str, np.ndarray, np.ndarray, list[str]]:
    """Resolve ``kind="auto"`` and reshape inputs; returns the kind, arrays and warnings."""
    notes: list[str] = []
    if metric is not None or kind == "corpus":
        if metric is None:
            raise ValueError("`metric` is required for corpus-metric comparisons.")
        return "corpus", np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), notes
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if kind == "seed_level":
        return kind, x, y, notes
    if x.ndim == 2 and y.ndim == 2:
        if x.shape[0] >= 2 and y.shape[0] >= 2:
            if kind not in ("auto", "seeds"):
                raise ValueError(
                    f"Data of shape (seeds, examples) needs kind 'seeds', not {kind!r}."
                )
            return "seeds", x, y, notes
        notes.append(
            "Only one training run for at least one system: the test covers example-to-"
            "example variation only, so retraining could change the result. Train several "
            f"seeds (at least {MIN_SEEDS}) per system to include it."
        )
        x, y = x.mean(axis=0), y.mean(axis=0)
    if kind == "seeds":
        raise ValueError("kind 'seeds' needs arrays of shape (seeds, examples) with >= 2 seeds.")
    if kind == "auto":
        kind = "binary" if _is_binary(x) and _is_binary(y) else "continuous"
    return kind, x, y, notes


def _enough_resamples(n_resamples: int, family_size: int, alpha: float, kind: str) -> int:
    """Raise the resample count so a Monte Carlo p-value can pass Holm's first step."""
    if kind not in ("continuous", "corpus"):
        # McNemar and the two-level test are analytic; seed-level splits are enumerated.
        return n_resamples
    # The smallest Monte Carlo p-value is 1 / (n + 1); it must sit well below alpha / m.
    needed = math.ceil(2.0 * family_size / alpha)
    if n_resamples < needed:
        warnings.warn(
            f"n_resamples={n_resamples:,} cannot resolve p-values below alpha / "
            f"{family_size} = {alpha / family_size:.2g}; using {needed:,} resamples instead.",
            UserWarning,
            stacklevel=3,
        )
        return needed
    return n_resamples


def _run(
    kind: str,
    x: np.ndarray,
    y: np.ndarray,
    metric: CorpusMetric | None,
    n_resamples: int,
    seed: int,
) -> TestResult:
    if kind == "continuous":
        return paired_permutation_test(x, y, n_resamples=n_resamples, seed=seed)
    if kind == "binary":
        return mcnemar(x, y, mid_p=True)
    if kind == "corpus":
        assert metric is not None
        return corpus_metric_test(x, y, metric, test="ar", n_resamples=n_resamples, seed=seed)
    if kind == "seeds":
        with warnings.catch_warnings():
            # The warning is kept on the result and surfaced in the verdict instead.
            warnings.simplefilter("ignore", UserWarning)
            return two_level_bootstrap(x, y, n_resamples=n_resamples, seed=seed)
    if kind == "seed_level":
        return seed_level_test(x, y, n_resamples=n_resamples, seed=seed)
    raise ValueError(f"`kind` must be 'auto' or one of {sorted(_DEFAULTS)}, got {kind!r}.")


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
    chance = chance_phrase(v["p_adjusted"], result.p_resolution)
    text += f"; a gap this large would appear by chance {chance} if the systems were equally good"
    if v["family_size"] > 1:
        text += (
            f" (allowing for the {v['family_size']} comparisons made, "
            f"{_CORRECTION_NAMES[v['correction']]})"
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
    adj = adjust(ps, correction, alpha)
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
        fields = {
            "label": label, "system": system, "baseline": baseline,
            "estimate": float(result.estimate), "ci": tuple(float(c) for c in result.ci),
            "p_value": float(result.p_value), "p_adjusted": adj.adjusted[k], "alpha": alpha,
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
            f"{self.family_size} comparisons ({_CORRECTION_NAMES[self.correction]} over the "
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
    kind_, x, y, notes = _prepare(a, b, kind, metric)
    result = _run(kind_, x, y, metric, n_resamples, seed)
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
    entries = [(s, b, r, "given", []) for (s, b), r in results.items()]
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
        kind_, x, y, notes = _prepare(systems[s], systems[base], kind, metric)
        n_res = _enough_resamples(n_resamples, len(pairs), alpha, kind_)
        entries.append((s, base, _run(kind_, x, y, metric, n_res, seed), kind_, notes))
    verdicts = _decide(
        entries, alpha, correction, threshold, higher_is_better, unit, metric_name, digits
    )
    scope = f"each system against {baseline}" if baseline else "all pairs"
    return VerdictFamily(
        verdicts=verdicts, correction=correction, family_size=len(verdicts), alpha=alpha,
        threshold=threshold, method=f"{scope}; tests: {sorted({e[3] for e in entries})}",
    )  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Ranking(ResultMixin):
    """Result of :func:`rank_systems`.

    Attributes:
        systems: System names, best first.
        scores: Their scores (corpus metric or mean), in the same order.
        clusters: Consecutive groups of systems that cannot be told apart, best first.
        cluster_of: 1-based cluster number of each system, in ``systems`` order.
        comparisons: Every pairwise comparison with raw and adjusted p-values.
        correction: Adjustment over all pairs.
        family_size: Number of pairwise comparisons.
        alpha: Error rate controlled.
        method: Description of the procedure.
    """

    systems: tuple[str, ...]
    scores: tuple[float, ...]
    clusters: tuple[tuple[str, ...], ...]
    cluster_of: tuple[int, ...]
    comparisons: tuple[PairwiseComparison, ...]
    correction: str
    family_size: int
    alpha: float
    method: str

    def summary(self) -> str:
        """One plain-language sentence describing the ranking."""
        parts = []
        for i, cluster in enumerate(self.clusters, start=1):
            members = ", ".join(
                f"{s} ({fmt(self.scores[self.systems.index(s)], 2)})" for s in cluster
            )
            parts.append(f"{i}: {members}")
        return (
            "Ranked clusters (a system joins the cluster of the best remaining system unless "
            f"it is significantly worse; {_CORRECTION_NAMES[self.correction]} over "
            f"{self.family_size} pairs, alpha = {fmt(self.alpha)}): " + "; ".join(parts) + "."
        )


def rank_systems(
    systems: Mapping[str, Any],
    *,
    kind: Literal["auto", "continuous", "binary", "corpus", "seeds", "seed_level"] = "auto",
    metric: CorpusMetric | None = None,
    alpha: float = 0.05,
    correction: Correction = "holm",
    higher_is_better: bool = True,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> Ranking:
    """Rank systems by score and cluster those that cannot be told apart (WMT-style).

    All pairs are tested with the default test and adjusted together. Going down the ranking,
    the best remaining system heads a new cluster, which extends down to the lowest-ranked
    remaining system whose adjusted p-value against the head exceeds ``alpha`` (so clusters
    stay contiguous in rank order, as in sacrebleu/WMT tables).

    Args:
        systems: ``{name: scores}`` as for :func:`compare_systems`.
        kind: Kind of data (``"auto"`` to infer).
        metric: Corpus metric when ``systems`` holds sufficient statistics.
        alpha: Error rate to control.
        correction: Adjustment over all pairs.
        higher_is_better: Direction of the metric.
        n_resamples: Resamples per test; raised (with a warning) when the smallest attainable
            p-value could not pass the family's adjusted level.
        seed: Seed of every test.

    Returns:
        A :class:`Ranking`.
    """
    names = list(systems)
    if len(names) < 2:
        raise ValueError("`systems` needs at least two systems.")
    if metric is not None:
        scores = {s: metric.corpus_score(systems[s]) for s in names}
    else:
        scores = {s: float(np.mean(systems[s])) for s in names}
    order = sorted(names, key=lambda s: -scores[s] if higher_is_better else scores[s])
    pairs = [(order[i], order[j]) for i in range(len(order)) for j in range(i + 1, len(order))]
    results = []
    for s, t in pairs:
        kind_, x, y, _ = _prepare(systems[s], systems[t], kind, metric)
        n_res = _enough_resamples(n_resamples, len(pairs), alpha, kind_)
        results.append(_run(kind_, x, y, metric, n_res, seed))
    adj = adjust([r.p_value for r in results], correction, alpha)
    p_of = {pair: adj.adjusted[k] for k, pair in enumerate(pairs)}
    clusters: list[tuple[str, ...]] = []
    start = 0
    while start < len(order):
        head = order[start]
        end = start
        for j in range(start + 1, len(order)):
            if p_of[(head, order[j])] > alpha:
                end = j
        clusters.append(tuple(order[start : end + 1]))
        start = end + 1
    cluster_of = tuple(next(i for i, c in enumerate(clusters, 1) if s in c) for s in order)
    comparisons = tuple(
        PairwiseComparison(
            a=s,
            b=t,
            estimate=float(r.estimate),
            ci=tuple(r.ci),
            p_value=float(r.p_value),
            p_adjusted=adj.adjusted[k],
            rejected=adj.rejected[k],
            n=r.n,
            method=r.method,
            estimand=r.estimand,
        )
        for k, ((s, t), r) in enumerate(zip(pairs, results, strict=True))
    )
    return Ranking(
        systems=tuple(order), scores=tuple(scores[s] for s in order), clusters=tuple(clusters),
        cluster_of=cluster_of, comparisons=comparisons, correction=correction,
        family_size=len(pairs), alpha=alpha,
        method=f"all-pairs {results[0].method}, clusters headed by the best remaining system",
    )  # fmt: skip
