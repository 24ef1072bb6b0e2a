"""This run against the baseline run: every system on every compared metric, one Holm family.

Both runs are history points (:class:`loclab.results.HistoryPoint`) with their per-example
values. When their test sets have the same fingerprint the examples both scored are paired
(approximate randomization for corpus metrics such as BLEU, a sign-flip permutation test or
McNemar for per-example values, the two-level bootstrap with several seeds); otherwise each
run's examples are resampled on their own (:func:`loclab.stats.unpaired_bootstrap`) and a
warning says the test set changed. The family of systems x metrics is adjusted together with
Holm by :func:`loclab.stats.decide`, in each metric's own direction; a **regression** is a
"worse" verdict whose estimate is at least ``compare.practical_threshold`` in the bad
direction: significance alone does not page anyone.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from loclab.results import HistoryPoint, PointArrays, PointMetric, TickComparison
from loclab.stats import (
    BleuMetric,
    ChrfMetric,
    CorpusMetric,
    F1Metric,
    PearsonMetric,
    TerMetric,
    TestResult,
    corpus_metric_test,
    decide,
    mcnemar,
    paired_permutation_test,
    seed_level_test,
    two_level_bootstrap,
    unpaired_bootstrap,
)

__all__ = ["RegressionCheck", "WorseExample", "check_regressions"]

#: The corpus metrics a point may name (``PointMetric.metric_class``), rebuilt by name.
_METRIC_CLASSES: dict[str, type[CorpusMetric]] = {
    cls.__name__: cls for cls in (BleuMetric, ChrfMetric, TerMetric, F1Metric, PearsonMetric)
}
#: Examples that got worse, shown per regression.
N_WORSE = 3


@dataclass(frozen=True)
class WorseExample:
    """An example whose change cost a regressed system the most.

    Attributes:
        example_id: Its id.
        effect: How much of the metric's change it alone accounts for (negative: worse),
            in the metric's units: the score with this example as it was in the baseline
            run, minus the score now (direction-aware).
        before: Its own score in the baseline run (sentence-level for corpus metrics).
        after: Its own score now.
    """

    example_id: str
    effect: float
    before: float | None
    after: float | None


@dataclass(frozen=True)
class RegressionCheck:
    """The outcome of testing one run against a baseline run.

    Attributes:
        comparisons: Every system and metric both runs have, Holm-adjusted together.
        paired: Whether examples were paired (same test set).
        n_shared: Examples both runs scored (paired), else None.
        warnings: Caveats: an unpaired comparison, systems that came or went, metrics that
            could not be tested.
        worse: For each regression ``(system, metric)``, the examples that cost it most.
    """

    comparisons: tuple[TickComparison, ...] = ()
    paired: bool | None = None
    n_shared: int | None = None
    warnings: tuple[str, ...] = ()
    worse: dict[tuple[str, str], tuple[WorseExample, ...]] = field(default_factory=dict)

    @property
    def regressions(self) -> list[TickComparison]:
        """The comparisons that regressed."""
        return [c for c in self.comparisons if c.regression]


def corpus_metric_of(metric: PointMetric) -> CorpusMetric | None:
    """The corpus metric a point's metric is scored with, rebuilt from its class and options."""
    cls = _METRIC_CLASSES.get(metric.metric_class or "")
    if cls is None:
        return None
    try:
        return cls(**(metric.options or {}))
    except TypeError:
        return None


@dataclass(frozen=True)
class _Pairs:
    """Which examples of each run are paired (same test set), or None (unpaired)."""

    new: np.ndarray
    base: np.ndarray
    ids: np.ndarray


def _pairs(
    point: HistoryPoint, arrays: PointArrays, baseline: HistoryPoint, base: PointArrays
) -> tuple[_Pairs | None, list[str]]:
    notes: list[str] = []
    if arrays.example_ids is None or base.example_ids is None:
        return None, notes
    same = bool(point.testset_fingerprint) and (
        point.testset_fingerprint == baseline.testset_fingerprint
    )
    if not same:
        notes.append(
            f"The test set changed since the baseline run (fingerprint "
            f"{baseline.testset_fingerprint or 'unknown'} then, "
            f"{point.testset_fingerprint or 'unknown'} now): "
            "each run is scored on its own examples (unpaired), so a change of the test set "
            "and a change of a system cannot be told apart."
        )
        return None, notes
    new_ids = [str(i) for i in arrays.example_ids.tolist()]
    base_pos = {str(i): k for k, i in enumerate(base.example_ids.tolist())}
    keep = [(k, base_pos[i]) for k, i in enumerate(new_ids) if i in base_pos]
    if not keep:
        notes.append("The runs share no example ids although their test sets match: unpaired.")
        return None, notes
    if len(keep) < max(len(new_ids), len(base_pos)):
        notes.append(
            f"Paired over the {len(keep):,} examples both runs scored ({len(new_ids):,} now, "
            f"{len(base_pos):,} in the baseline run)."
        )
    new_idx = np.asarray([k for k, _ in keep], dtype=np.int64)
    base_idx = np.asarray([b for _, b in keep], dtype=np.int64)
    return _Pairs(new_idx, base_idx, np.asarray(new_ids, dtype=object)[new_idx]), notes


def _test(
    metric: PointMetric,
    a: np.ndarray,
    b: np.ndarray,
    pairs: _Pairs | None,
    n_resamples: int,
    seed: int,
) -> tuple[TestResult | None, str]:
    """The test of ``a`` (this run) minus ``b`` (baseline) on one metric, or why there is none."""
    corpus = corpus_metric_of(metric) if metric.source == "corpus" else None
    if metric.source == "final" or (a.ndim >= 2 and (a.shape[0] > 1 or b.shape[0] > 1)):
        if min(a.shape[0], b.shape[0]) < 2:
            return None, "one value per run and one run on a side: no test is possible"
        if metric.source == "final":
            return seed_level_test(a, b, n_resamples=n_resamples, seed=seed), ""
        if metric.source == "corpus":
            if corpus is None:
                return None, f"unknown corpus metric {metric.metric_class}"
            per_a = np.asarray([corpus.corpus_score(run) for run in a])
            per_b = np.asarray([corpus.corpus_score(run) for run in b])
            return seed_level_test(per_a, per_b, n_resamples=n_resamples, seed=seed), ""
        if pairs is not None:
            runs_a, runs_b = a[:, pairs.new], b[:, pairs.base]
            return two_level_bootstrap(runs_a, runs_b, n_resamples=n_resamples, seed=seed), ""
        x, y = a.mean(axis=0), b.mean(axis=0)
        return unpaired_bootstrap(x, y, n_resamples=n_resamples, seed=seed), ""
    if metric.source == "corpus":
        if corpus is None:
            return None, f"unknown corpus metric {metric.metric_class}"
        if pairs is None:
            return unpaired_bootstrap(a[0], b[0], corpus, n_resamples=n_resamples, seed=seed), ""
        x, y = a[0][pairs.new], b[0][pairs.base]
        return corpus_metric_test(x, y, corpus, test="ar", n_resamples=n_resamples, seed=seed), ""
    if metric.source == "predictions":
        x, y = a[0], b[0]
        if pairs is None:
            return unpaired_bootstrap(x, y, n_resamples=n_resamples, seed=seed), ""
        x, y = x[pairs.new], y[pairs.base]
        if metric.binary:
            return mcnemar(x, y, mid_p=True), ""
        return paired_permutation_test(x, y, n_resamples=n_resamples, seed=seed), ""
    return None, f"{metric.source} metrics are kept in the history but not tested by ticks"


def _flip(result: TestResult) -> TestResult:
    """The same test with the difference's sign turned (lower-is-better metrics as gains)."""
    low, high = result.ci
    return dataclasses.replace(result, estimate=-result.estimate, ci=(-high, -low))


def _label(point: HistoryPoint, system: str) -> str:
    found = point.system(system)
    return (found.label or system) if found is not None else system


def _sentence(c: TickComparison, baseline_id: str, unit: str) -> str:
    what = {
        "worse": "worse than",
        "better": "better than",
        "no difference": "no different from",
        "too close to call": "too close to call against",
    }.get(c.decision, c.decision)
    ci = f", 95% interval {c.ci[0]:+.3g} to {c.ci[1]:+.3g}" if c.ci else ""
    return (
        f"{c.label} on {c.metric_name}: {c.delta:+.3g} against run {baseline_id}{ci} "
        f"(adjusted p = {c.p_adjusted:.3g}, {c.test}, {c.n_examples or 0:,} {unit}): "
        f"{what} the baseline run" + (" — a regression." if c.regression else ".")
    )


def check_regressions(
    point: HistoryPoint,
    arrays: PointArrays,
    baseline: HistoryPoint,
    base: PointArrays,
    *,
    alpha: float = 0.05,
    threshold: float | None = None,
    n_resamples: int = 10_000,
    seed: int = 0,
    unit: str = "test examples",
) -> RegressionCheck:
    """Test every system and metric of ``point`` against ``baseline``, Holm over all of them.

    Args:
        point: This run.
        arrays: Its per-example values.
        baseline: The baseline run.
        base: Its per-example values.
        alpha: Family-wise error rate.
        threshold: ``compare.practical_threshold``: the smallest change, in each metric's
            units, that counts as a regression (None: any significant loss).
        n_resamples: Resamples per test (raised so the smallest p-value can pass Holm's
            first step).
        seed: Seed of every test.
        unit: What one example is, in sentences.

    Returns:
        The comparisons, whether they were paired, caveats and the examples that got worse.
    """
    warnings: list[str] = []
    now_names = [s.name for s in point.systems]
    then_names = [s.name for s in baseline.systems]
    systems = [s for s in now_names if s in then_names]
    if new := [s for s in now_names if s not in then_names]:
        warnings.append(f"New since the baseline run (not tested): {', '.join(new)}.")
    if gone := [s for s in then_names if s not in now_names]:
        warnings.append(f"In the baseline run but not in this one: {', '.join(gone)}.")
    metrics = [m for m in point.metrics if baseline.metric(m.key) is not None]
    pairs, notes = _pairs(point, arrays, baseline, base)
    warnings.extend(notes)
    cells = [(s, m) for m in metrics for s in systems]
    n_resamples = max(n_resamples, math.ceil(2.0 * max(len(cells), 1) / alpha))
    results: dict[tuple[str, str], TestResult] = {}
    tested: list[tuple[str, PointMetric, TestResult]] = []
    for system, metric in cells:
        a, b = arrays.get(system, metric.key), base.get(system, metric.key)
        if a is None or b is None:
            warnings.append(f"{system} on {metric.name}: no per-example values kept: not tested.")
            continue
        result, why = _test(metric, a, b, pairs, n_resamples, seed)
        if result is None or result.p_value is None:
            warnings.append(f"{metric.name}: not tested ({why or 'no p-value'}).")
            continue
        tested.append((system, metric, result))
        # decide() judges one direction: lower-is-better metrics enter as gains.
        results[(f"{system}\x1f{metric.key}", "baseline")] = (
            result if metric.higher_is_better else _flip(result)
        )
    if not results:
        return RegressionCheck((), pairs is not None, None, tuple(dict.fromkeys(warnings)))
    family = decide(results, alpha=alpha, correction="holm", threshold=threshold or 0.0)
    out: list[TickComparison] = []
    worse: dict[tuple[str, str], tuple[WorseExample, ...]] = {}
    for (system, metric, result), verdict in zip(tested, family.verdicts, strict=True):
        sign = 1.0 if metric.higher_is_better else -1.0
        low, high = verdict.ci
        ci = (sign * low, sign * high) if sign > 0 else (sign * high, sign * low)
        loss = -sign * float(result.estimate)
        regression = verdict.decision == "worse" and loss >= (threshold or 0.0) and loss > 0
        now_v, then_v = point.value(system, metric.key), baseline.value(system, metric.key)
        entry = TickComparison(
            system=system,
            label=_label(point, system),
            metric=metric.key,
            metric_name=metric.name,
            higher_is_better=metric.higher_is_better,
            value=now_v.value if now_v else None,
            baseline_value=then_v.value if then_v else None,
            delta=float(result.estimate),
            ci=ci if all(math.isfinite(c) for c in ci) else None,
            ci_level=verdict.ci_level,
            p_value=verdict.p_value,
            p_adjusted=verdict.p_adjusted,
            decision=verdict.decision,
            regression=regression,
            threshold=float(threshold or 0.0),
            test=result.method,
            paired=pairs is not None,
            n_examples=int(result.n),
            warnings=list(verdict.warnings),
        )
        entry = entry.model_copy(update={"sentence": _sentence(entry, baseline.run_id, unit)})
        out.append(entry)
        if regression and pairs is not None:
            a, b = arrays.get(system, metric.key), base.get(system, metric.key)
            assert a is not None and b is not None
            worse[(system, metric.key)] = _worse_examples(metric, a, b, pairs)
    return RegressionCheck(
        tuple(out),
        pairs is not None,
        len(pairs.ids) if pairs is not None else None,
        tuple(dict.fromkeys(warnings)),
        worse,
    )


def _worse_examples(
    metric: PointMetric, a: np.ndarray, b: np.ndarray, pairs: _Pairs, n: int = N_WORSE
) -> tuple[WorseExample, ...]:
    """The paired examples whose change cost the most (direction-aware)."""
    sign = 1.0 if metric.higher_is_better else -1.0
    corpus = corpus_metric_of(metric) if metric.source == "corpus" else None
    if corpus is not None:
        now, then = a.mean(axis=0)[pairs.new], b.mean(axis=0)[pairs.base]
        total = now.sum(axis=0)
        # The score with one example put back as it was, against the score now.
        effect = sign * (corpus.score(total) - corpus.score(total - now + then))
        before: np.ndarray = np.asarray(corpus.score(then))
        after: np.ndarray = np.asarray(corpus.score(now))
    elif metric.source == "predictions":
        now, then = a.mean(axis=0)[pairs.new], b.mean(axis=0)[pairs.base]
        effect = sign * (now - then) / len(now)
        before, after = then, now
    else:
        return ()
    effect = np.asarray(effect, dtype=np.float64)
    order = np.argsort(effect, kind="stable")[:n]
    return tuple(
        WorseExample(
            example_id=str(pairs.ids[k]),
            effect=float(effect[k]),
            before=_finite(before[k]),
            after=_finite(after[k]),
        )
        for k in order
        if effect[k] < 0
    )


def _finite(x: Any) -> float | None:
    value = float(x)
    return value if math.isfinite(value) else None
