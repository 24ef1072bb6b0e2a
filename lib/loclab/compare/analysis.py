"""The analysis: tests, verdict families, breakdowns, ranking and per-system summaries.

The first compared metric decides: every candidate is tested against the baseline on it and
the family is adjusted with the spec's correction (Holm by default) into verdicts. Further
metrics are secondary families, adjusted the same way. Breakdowns repeat the deciding test on
subsets of the examples and are adjusted together with Benjamini-Hochberg, flagged
exploratory. The test for each comparison follows :func:`loclab.stats.default_test`.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, cast

import numpy as np
from scipy import stats as sps

from loclab.compare import correlation
from loclab.compare.data import ComparisonData, ComparisonError, MetricData
from loclab.io import jsonable
from loclab.spec.compare import CompareSpec
from loclab.stats import (
    CORRECTION_NAMES,
    TestResult,
    adjust,
    corpus_metric_test,
    decide,
    default_test,
    mcnemar,
    paired_permutation_test,
    rank_systems,
    seed_level_test,
    two_level_bootstrap,
)

__all__ = ["SIGNIFICANCE_NOTE", "analyse"]

#: Shown wherever verdicts are: what "significant" means.
SIGNIFICANCE_NOTE = (
    '"Better" and "worse" mean the difference is unlikely to be chance (statistically '
    "significant), not that it is large; the estimate and its plausible range say how large."
)
_EXPLORATORY_NOTE = (
    "Exploratory: the same test on subsets of the examples, adjusted together with "
    "{correction} over all {m} cells. Treat differences here as leads to confirm in a new "
    "experiment, not as conclusions."
)


def analyse(data: ComparisonData, compare: CompareSpec) -> dict[str, Any]:
    """Test every candidate against the baseline and describe the result as JSON-ready data.

    Args:
        data: Aligned outputs of the completed runs (:func:`loclab.compare.data.collect`).
        compare: The ``compare:`` section.

    Returns:
        The analysis part of ``comparison.json`` (see :mod:`loclab.compare`).

    Raises:
        ComparisonError: When a requested test does not suit the data.
    """
    timings: dict[str, float] = {}
    started = time.perf_counter()
    keys = list(data.metrics)
    families: list[dict[str, Any]] = []
    comparisons: list[dict[str, Any]] = []
    notes: list[str] = []
    threshold = compare.practical_threshold or 0.0
    for index, key in enumerate(keys):
        role = "confirmatory" if index == 0 else "secondary"
        family, found = _family(
            data, compare, data.metrics[key], role, threshold if index == 0 else 0.0
        )
        families.append(family)
        comparisons.extend(found)
    timings["tests_s"] = time.perf_counter() - started
    primary = data.metrics[keys[0]]
    confirmatory = [c for c in comparisons if c["family"] == "confirmatory"]

    started = time.perf_counter()
    breakdowns = _breakdowns(data, compare, primary, confirmatory)
    timings["breakdowns_s"] = time.perf_counter() - started

    started = time.perf_counter()
    rank = compare.rank if compare.rank is not None else len(data.systems) >= 3
    if rank and primary.source == "correlation":
        # Ranking tests every pair with seed-level tests, too weak for a few seeds and at
        # odds with the correlation verdicts; the tests against the baseline decide.
        rank = False
        notes.append("No ranking for correlation metrics: the tests against the baseline decide.")
    ranking = _ranking(data, compare, primary, notes) if rank else None
    timings["ranking_s"] = time.perf_counter() - started

    return {
        "baseline": data.baseline,
        "baseline_label": data.systems[data.baseline].label,
        "primary_metric": keys[0],
        "alpha": compare.alpha,
        "correction": compare.correction,
        "family_size": families[0]["family_size"],
        "practical_threshold": compare.practical_threshold,
        "higher_is_better": higher_is_better(primary, compare),
        "unit": compare.unit,
        "n_examples": None if data.example_ids is None else len(data.example_ids),
        "metrics": [_describe_metric(data.metrics[k], i, compare) for i, k in enumerate(keys)],
        "systems": [_system_summary(data, name) for name in data.systems],
        "families": families,
        "comparisons": comparisons,
        "breakdowns": breakdowns,
        "ranking": ranking,
        "headline": headline(data, comparisons, ranking, compare),
        "significance_note": SIGNIFICANCE_NOTE,
        "warnings": sorted(set(notes)),
        "timings": timings,
    }


def _describe_metric(metric: MetricData, index: int, compare: CompareSpec) -> dict[str, Any]:
    kind = {
        "predictions": "binary" if metric.binary else "continuous",
        "corpus": "corpus",
        "correlation": "correlation",
        "final": "run",
    }[metric.source]
    return {
        "key": metric.key,
        "name": metric.name,
        "source": metric.source,
        "kind": kind,
        "role": "confirmatory" if index == 0 else "secondary",
        "higher_is_better": higher_is_better(metric, compare),
        "options": getattr(metric.metric, "_kwargs", None),
        "signature": metric.signature,
    }


def higher_is_better(metric: MetricData, compare: CompareSpec) -> bool:
    """Direction of ``metric``: a corpus metric's own (TER is lower-is-better), else the spec's."""
    if metric.source == "corpus" and metric.metric is not None:
        return metric.metric.higher_is_better
    return compare.higher_is_better


def _plan(
    metric: MetricData, runs_a: int, runs_b: int, test: str, system: str
) -> tuple[str, list[str]]:
    """The kind of test (``loclab.stats`` data kind) for one comparison, and caveats."""
    notes: list[str] = []
    if metric.source == "correlation":
        return correlation.plan(metric, runs_a, runs_b, test)
    if metric.source == "final":
        if test not in ("auto", "seed_level"):
            raise ComparisonError(
                f"test {test} needs per-example data, but '{metric.key}' has one value per run; "
                "use test: auto or seed_level"
            )
        return "seed_level", notes
    if metric.source == "corpus":
        if runs_a == 1 and runs_b == 1 and test in ("auto", "ar"):
            return "corpus", notes
        if test not in ("auto", "seed_level"):
            raise ComparisonError(
                f"test {test} does not suit {metric.name} statistics with {runs_a} and {runs_b} "
                "runs; use test: auto"
            )
        return "seed_level", notes
    several = runs_a >= 2 and runs_b >= 2
    if test == "two_level_bootstrap" or (test == "auto" and several):
        if not several:
            raise ComparisonError(
                f"test two_level_bootstrap needs at least 2 completed runs per system; "
                f"{system} has {runs_a} and the baseline {runs_b}"
            )
        return "seeds", notes
    if test == "seed_level":
        return "seed_level", notes
    if runs_a > 1 or runs_b > 1:
        notes.append(
            "Only one training run for at least one system: the test covers example-to-"
            "example variation only (runs averaged), so retraining could change the result. "
            "Train several seeds (at least 5) per system to include it."
        )
    if test == "mcnemar" and not metric.binary:
        raise ComparisonError(f"test mcnemar needs 0/1 outcomes; '{metric.key}' is not 0/1")
    if test == "mcnemar" or (test == "auto" and metric.binary and runs_a == runs_b == 1):
        return "binary", notes
    return "continuous", notes


def _arrays(metric: MetricData, kind: str, system: str, mask: np.ndarray | None = None) -> Any:
    if metric.source == "correlation":
        return correlation.arrays(metric, kind, system, mask)
    values = metric.values[system]
    if mask is not None:
        values = values[:, mask]
    if kind == "seeds":
        return values
    if kind == "corpus":
        return values[0]
    if kind == "seed_level":
        if metric.source == "predictions":
            return values.mean(axis=1)
        if metric.source == "corpus":
            assert metric.metric is not None
            return np.asarray([metric.metric.corpus_score(run) for run in values])
        return values
    return values.mean(axis=0)


def _run_test(
    kind: str, a: Any, b: Any, metric: MetricData, n_resamples: int, seed: int
) -> TestResult:
    if kind == "binary":
        return mcnemar(a, b, mid_p=True)
    if kind == "continuous":
        return paired_permutation_test(a, b, n_resamples=n_resamples, seed=seed)
    if kind == "seeds":
        with warnings.catch_warnings():
            # The few-seeds warning stays on the result and is shown with the verdict.
            warnings.simplefilter("ignore", UserWarning)
            return two_level_bootstrap(a, b, n_resamples=n_resamples, seed=seed)
    if kind == "seed_level":
        return seed_level_test(a, b, n_resamples=n_resamples, seed=seed)
    if kind.startswith("correlation"):
        return correlation.run_test(kind, a, b, metric.key, n_resamples, seed)
    assert metric.metric is not None
    return corpus_metric_test(a, b, metric.metric, test="ar", n_resamples=n_resamples, seed=seed)


def _resamples(compare: CompareSpec, family_size: int, notes: list[str]) -> int:
    # The smallest Monte Carlo p-value, 1 / (n + 1), must pass the family's first Holm step.
    needed = math.ceil(2.0 * family_size / compare.alpha)
    if compare.n_resamples < needed:
        notes.append(
            f"n_resamples={compare.n_resamples:,} cannot resolve p-values below alpha / "
            f"{family_size}; {needed:,} were used instead."
        )
        return needed
    return compare.n_resamples


def _unique_labels(data: ComparisonData) -> dict[str, str]:
    labels = {name: s.label for name, s in data.systems.items()}
    if len(set(labels.values())) < len(labels):
        return {name: name for name in labels}
    return labels


def _digits(metric: MetricData) -> int:
    return 2 if metric.source == "corpus" else 3


def _family(
    data: ComparisonData,
    compare: CompareSpec,
    metric: MetricData,
    role: str,
    threshold: float,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Test every candidate on one metric and turn the family into verdicts."""
    labels = _unique_labels(data)
    base = data.baseline
    candidates = data.candidates
    notes: list[str] = []
    n_resamples = _resamples(compare, len(candidates), notes)
    results: dict[tuple[str, str], TestResult] = {}
    kinds: dict[str, str] = {}
    caveats: dict[str, list[str]] = {}
    for system in candidates:
        runs_a, runs_b = len(data.systems[system].seeds), len(data.systems[base].seeds)
        kind, found = _plan(metric, runs_a, runs_b, compare.test, system)
        a, b = _arrays(metric, kind, system), _arrays(metric, kind, base)
        results[(labels[system], labels[base])] = _run_test(
            kind, a, b, metric, n_resamples, compare.stats_seed
        )
        kinds[system], caveats[system] = kind, found
    all_runs = all(k == "seed_level" for k in kinds.values())
    family = decide(
        results,
        alpha=compare.alpha,
        correction=compare.correction,
        threshold=threshold,
        higher_is_better=higher_is_better(metric, compare),
        unit="training runs" if all_runs else compare.unit,
        metric_name=metric.name if metric.source == "corpus" else "",
        digits=_digits(metric),
    )
    out = []
    for system, verdict in zip(candidates, family.verdicts, strict=True):
        result = results[(labels[system], labels[base])]
        kind = kinds[system]
        entry = jsonable(verdict.to_dict())
        entry.update(
            system=system,
            baseline=base,
            system_label=data.systems[system].label,
            baseline_label=data.systems[base].label,
            metric=metric.key,
            metric_name=metric.name,
            family=role,
            kind=kind,
            test=default_test(cast(Any, kind)).test,
            test_reason=default_test(cast(Any, kind)).reason,
            warnings=[*entry["warnings"], *caveats[system], *notes],
            n_examples=None if kind == "seed_level" else int(result.n),
            n_seeds={
                "system": len(data.systems[system].seeds),
                "baseline": len(data.systems[base].seeds),
            },
            variance=_variance(result),
            result=jsonable(result.to_dict()),
            per_seed=_per_seed(metric, kind, system, base, data)
            if role == "confirmatory"
            else None,
        )
        out.append(entry)
    summary = {
        "metric": metric.key,
        "metric_name": metric.name,
        "role": role,
        "correction": compare.correction,
        "family_size": family.family_size,
        "alpha": compare.alpha,
        "threshold": threshold,
        "systems": candidates,
        "summary": family.summary(),
    }
    return summary, out


def _variance(result: TestResult) -> dict[str, Any] | None:
    """Where the uncertainty comes from (two-level), or the counts behind the test."""
    r: Any = result
    if hasattr(r, "correlation"):
        return correlation.variance(r)
    if hasattr(r, "seed_share"):
        return jsonable(
            {
                "seed_sd_system": r.seed_sd_a,
                "seed_sd_baseline": r.seed_sd_b,
                "example_se": r.example_se,
                "se": r.se,
                "seed_share": r.seed_share,
                "bootstrap_ci": r.bootstrap_ci,
                "bootstrap_se": r.bootstrap_se,
            }
        )
    if hasattr(r, "only_a_correct"):
        return {"only_system_correct": r.only_a_correct, "only_baseline_correct": r.only_b_correct}
    if hasattr(r, "score_a"):
        return jsonable({"score_system": r.score_a, "score_baseline": r.score_b, "se": r.se})
    return jsonable({"se": r.se}) if r.se is not None else None


def _per_seed(
    metric: MetricData, kind: str, system: str, base: str, data: ComparisonData
) -> dict[str, Any] | None:
    """McNemar on each seed both systems ran (supporting evidence, not the verdict)."""
    if kind == "correlation_seeds":
        return correlation.per_seed(metric, system, base, data)
    if kind != "seeds" or not metric.binary:
        return None
    seeds_a, seeds_b = data.systems[system].seeds, data.systems[base].seeds
    common = [s for s in seeds_a if s is not None and s in seeds_b]
    rows: list[dict[str, Any]] = []
    for seed in common:
        a = metric.values[system][seeds_a.index(seed)]
        b = metric.values[base][seeds_b.index(seed)]
        r = mcnemar(a, b, mid_p=True)
        rows.append(
            {
                "seed": seed,
                "estimate": r.estimate,
                "ci": r.ci,
                "p_value": r.p_value,
                "only_system_correct": r.only_a_correct,
                "only_baseline_correct": r.only_b_correct,
                "accuracy_system": r.accuracy_a,
                "accuracy_baseline": r.accuracy_b,
            }
        )
    if not rows:
        return None
    adj = adjust([row["p_value"] for row in rows], "holm")
    for row, p in zip(rows, adj.adjusted, strict=True):
        row["p_adjusted"] = p
    beyond = sum(adj.rejected)
    low, high = min(r["estimate"] for r in rows), max(r["estimate"] for r in rows)
    return jsonable(
        {
            "test": "mid-p McNemar test per training seed (runs with the same seed paired)",
            "correction": "holm",
            "rows": rows,
            "summary": (
                f"Per seed, {data.systems[system].label} minus {data.systems[base].label}: "
                f"{low:+.3f} to {high:+.3f}; beyond chance on {beyond} of {len(rows)} seeds "
                f"(mid-p McNemar, Holm over {len(rows)} seeds; supporting evidence, not the "
                "verdict)."
            ),
        }
    )


def _breakdowns(
    data: ComparisonData,
    compare: CompareSpec,
    metric: MetricData,
    confirmatory: Sequence[dict[str, Any]],
) -> dict[str, Any] | None:
    if not data.breakdowns:
        return None
    if metric.source not in ("predictions", "correlation"):
        raise ComparisonError(
            f"breakdowns need a per-example metric first in metrics, not '{metric.key}'"
        )
    labels = _unique_labels(data)
    base = data.baseline
    kinds = {c["system"]: c["kind"] for c in confirmatory}
    cells: list[dict[str, Any]] = []
    results: dict[tuple[str, str], TestResult] = {}
    size = len(data.candidates) * sum(len(set(v.tolist())) for v in data.breakdowns.values())
    notes: list[str] = []
    n_resamples = _resamples(compare, size, notes)
    for column, values in data.breakdowns.items():
        for value in sorted(set(values.tolist())):
            mask = values == value
            for system in data.candidates:
                kind = kinds[system]
                a, b = _arrays(metric, kind, system, mask), _arrays(metric, kind, base, mask)
                key = (f"{labels[system]} ({column}: {value})", labels[base])
                results[key] = _run_test(kind, a, b, metric, n_resamples, compare.stats_seed)
                cells.append(
                    {
                        "column": column,
                        "value": value,
                        "system": system,
                        "kind": kind,
                        "n": int(mask.sum()),
                    }
                )
    family = decide(
        results,
        alpha=compare.alpha,
        correction=compare.breakdown_correction,
        threshold=0.0,
        higher_is_better=higher_is_better(metric, compare),
        unit=compare.unit,
        digits=_digits(metric),
    )
    rows = []
    for cell, verdict in zip(cells, family.verdicts, strict=True):
        rows.append(
            {
                **cell,
                "baseline": base,
                "metric": metric.key,
                "estimate": verdict.estimate,
                "ci": verdict.ci,
                "p_value": verdict.p_value,
                "p_adjusted": verdict.p_adjusted,
                "significant": verdict.label in ("better", "worse"),
                "label": verdict.label,
                "flag": "exploratory",
                "method": verdict.method,
                "sentence": verdict.sentence,
            }
        )
    name = CORRECTION_NAMES[compare.breakdown_correction]
    return jsonable(
        {
            "metric": metric.key,
            "columns": list(data.breakdowns),
            "correction": compare.breakdown_correction,
            "family_size": family.family_size,
            "alpha": compare.alpha,
            "flag": "exploratory",
            "note": _EXPLORATORY_NOTE.format(correction=name, m=family.family_size),
            "warnings": notes,
            "rows": rows,
        }
    )


def _ranking(
    data: ComparisonData, compare: CompareSpec, metric: MetricData, notes: list[str]
) -> dict[str, Any]:
    names = list(data.systems)
    runs = {len(data.systems[s].seeds) for s in names}
    if metric.source == "corpus" and runs == {1}:
        systems = {s: metric.values[s][0] for s in names}
        kind, corpus = "corpus", metric.metric
    elif metric.source == "predictions" and min(runs) >= 2:
        systems, kind, corpus = {s: metric.values[s] for s in names}, "seeds", None
    elif metric.source == "predictions" and max(runs) == 1:
        systems = {s: metric.values[s][0] for s in names}
        kind, corpus = ("binary" if metric.binary else "continuous"), None
    else:
        systems, kind, corpus = {s: metric.per_run(s) for s in names}, "seed_level", None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        ranking = rank_systems(
            systems,
            kind=cast(Any, kind),
            metric=corpus,
            alpha=compare.alpha,
            correction=compare.correction,
            higher_is_better=higher_is_better(metric, compare),
            n_resamples=compare.n_resamples,
            seed=compare.stats_seed,
        )
    notes.extend(f"ranking: {w.message}" for w in caught)
    groups = [
        {"group": i, "systems": list(cluster), "labels": [data.systems[s].label for s in cluster]}
        for i, cluster in enumerate(ranking.clusters, start=1)
    ]
    out = jsonable(ranking.to_dict())
    out.update(
        metric=metric.key,
        metric_name=metric.name,
        kind=kind,
        groups=groups,
        group_of=dict(zip(ranking.systems, ranking.cluster_of, strict=True)),
    )
    return out


def _mean_ci(values: Any) -> dict[str, Any]:
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        return {"mean": None, "sd": None, "ci": None, "n": 0}
    mean = float(x.mean())
    if n < 2:
        return {"mean": mean, "sd": None, "ci": None, "n": n}
    sd = float(x.std(ddof=1))
    half = float(sps.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    return {"mean": mean, "sd": sd, "ci": [mean - half, mean + half], "n": n}


def _system_summary(data: ComparisonData, name: str) -> dict[str, Any]:
    runs = data.systems[name]
    keys = [str(s) if s is not None else "run" for s in runs.seeds]
    metrics: dict[str, Any] = {}
    for key, metric in data.metrics.items():
        values = metric.per_run(name)
        metrics[key] = {
            **_mean_ci(values),
            "name": metric.name,
            "source": metric.source,
            "per_seed": dict(zip(keys, values.tolist(), strict=True)),
        }
    finals = sorted({k for m in runs.final_metrics for k in m} - set(metrics))
    for key in finals:
        per = {s: m[key] for s, m in zip(keys, runs.final_metrics, strict=True) if key in m}
        metrics[key] = {
            **_mean_ci(list(per.values())),
            "name": key,
            "source": "final",
            "per_seed": per,
        }
    return jsonable(
        {
            "name": name,
            "label": runs.label,
            "role": runs.role,
            "n_seeds": len(runs.seeds),
            "seeds": list(runs.seeds),
            "jobs": list(runs.jobs),
            "metrics": metrics,
            "confidence": 0.95,
        }
    )


def headline(
    data: ComparisonData,
    comparisons: Sequence[Mapping[str, Any]],
    ranking: Mapping[str, Any] | None,
    compare: CompareSpec,
) -> str:
    """One plain sentence with the main verdict, for the reports index."""
    primary = [c for c in comparisons if c["family"] == "confirmatory"]
    if not primary:
        return "Nothing was compared."
    metric = primary[0]["metric_name"]
    digits = 2 if data.metrics[primary[0]["metric"]].source == "corpus" else 3
    base = data.systems[data.baseline].label
    if len(primary) == 1:
        c = primary[0]
        gap = _signed(c["estimate"], digits)
        lo, hi = (c["ci"] or [None, None])[:2]
        span = (
            f" (plausibly {_signed(lo, digits)} to {_signed(hi, digits)})"
            if lo is not None and hi is not None
            else ""
        )
        if c["label"] in ("better", "worse"):
            return (
                f"{c['system_label']} is {c['label']} than {base} on {metric}: {gap}{span}, "
                "unlikely to be chance."
            )
        if c["label"] == "no detectable difference":
            return (
                f"No detectable difference between {c['system_label']} and {base} on "
                f"{metric}: {gap}{span}."
            )
        return (
            f"Not enough data to tell whether {c['system_label']} differs from {base} on "
            f"{metric}: {gap}{span}."
        )
    counts = {
        label: [c for c in primary if c["label"] == label]
        for label in ("better", "worse", "no detectable difference", "needs more data")
    }
    parts = []
    for label, items in counts.items():
        if not items:
            continue
        names = ""
        if label == "better" and len(items) <= 3:
            names = (
                " ("
                + ", ".join(f"{c['system_label']} {_signed(c['estimate'], digits)}" for c in items)
                + ")"
            )
        verb = {
            "better": "better",
            "worse": "worse",
            "no detectable difference": "not detectably different",
            "needs more data": "in need of more data",
        }[label]
        parts.append(f"{len(items)} {verb}{names}")
    text = (
        f"Of {len(primary)} systems compared with {base} on {metric} "
        f"({CORRECTION_NAMES[compare.correction]}-adjusted), " + _join(parts)
    )
    if ranking and ranking.get("systems"):
        top = ranking["groups"][0]["labels"]
        best = (
            top[0]
            if len(top) == 1
            else f"{len(top)} systems that cannot be told apart ({', '.join(top)})"
        )
        text += f"; the best is {best}"
    return text + "."


def _signed(x: float | None, digits: int) -> str:
    if x is None or not math.isfinite(x):
        return "undefined"
    return f"{x:+,.{digits}f}"


def _join(parts: Sequence[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]
