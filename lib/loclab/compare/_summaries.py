"""What the analysis adds around the verdicts.

Breakdowns, the ranking, per-system summaries and the headline.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, cast

import numpy as np
from scipy import stats as sps

from loclab.compare._tests import (
    digits_of,
    higher_is_better,
    resamples,
    run_test,
    test_arrays,
    unique_labels,
)
from loclab.compare.data import ComparisonData, ComparisonError, MetricData
from loclab.io import json_object
from loclab.spec.compare import CompareSpec
from loclab.stats import CORRECTION_NAMES, TestResult, decide, rank_systems

__all__ = ["EXPLORATORY_NOTE", "breakdowns", "headline", "ranking", "system_summary"]

EXPLORATORY_NOTE = (
    "Exploratory: the same test on subsets of the examples, adjusted together with "
    "{correction} over all {m} cells. Treat differences here as leads to confirm in a new "
    "experiment, not as conclusions."
)


def breakdowns(
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
    labels = unique_labels(data)
    base = data.baseline
    kinds = {c["system"]: c["kind"] for c in confirmatory}
    cells: list[dict[str, Any]] = []
    results: dict[tuple[str, str], TestResult] = {}
    size = len(data.candidates) * sum(len(set(v.tolist())) for v in data.breakdowns.values())
    notes: list[str] = []
    n_resamples = resamples(compare, size, notes)
    for column, values in data.breakdowns.items():
        for value in sorted(set(values.tolist())):
            mask = values == value
            for system in data.candidates:
                kind = kinds[system]
                a, b = (
                    test_arrays(metric, kind, system, mask),
                    test_arrays(metric, kind, base, mask),
                )
                key = (f"{labels[system]} ({column}: {value})", labels[base])
                results[key] = run_test(kind, a, b, metric, n_resamples, compare.stats_seed)
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
        digits=digits_of(metric),
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
    return json_object(
        {
            "metric": metric.key,
            "columns": list(data.breakdowns),
            "correction": compare.breakdown_correction,
            "family_size": family.family_size,
            "alpha": compare.alpha,
            "flag": "exploratory",
            "note": EXPLORATORY_NOTE.format(correction=name, m=family.family_size),
            "warnings": notes,
            "rows": rows,
        }
    )


def ranking(
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
    out = json_object(ranking.to_dict())
    out.update(
        metric=metric.key,
        metric_name=metric.name,
        kind=kind,
        groups=groups,
        group_of=dict(zip(ranking.systems, ranking.cluster_of, strict=True)),
    )
    return out


def mean_ci(values: Any) -> dict[str, Any]:
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


def system_summary(data: ComparisonData, name: str) -> dict[str, Any]:
    runs = data.systems[name]
    keys = [str(s) if s is not None else "run" for s in runs.seeds]
    metrics: dict[str, Any] = {}
    for key, metric in data.metrics.items():
        values = metric.per_run(name)
        metrics[key] = {
            **mean_ci(values),
            "name": metric.name,
            "source": metric.source,
            "per_seed": dict(zip(keys, values.tolist(), strict=True)),
        }
    finals = sorted({k for m in runs.final_metrics for k in m} - set(metrics))
    for key in finals:
        per = {s: m[key] for s, m in zip(keys, runs.final_metrics, strict=True) if key in m}
        metrics[key] = {
            **mean_ci(list(per.values())),
            "name": key,
            "source": "final",
            "per_seed": per,
        }
    return json_object(
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
        gap = signed(c["estimate"], digits)
        lo, hi = (c["ci"] or [None, None])[:2]
        span = (
            f" (plausibly {signed(lo, digits)} to {signed(hi, digits)})"
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
                + ", ".join(f"{c['system_label']} {signed(c['estimate'], digits)}" for c in items)
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
        f"({CORRECTION_NAMES[compare.correction]}-adjusted), " + join_words(parts)
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


def signed(x: float | None, digits: int) -> str:
    if x is None or not math.isfinite(x):
        return "undefined"
    return f"{x:+,.{digits}f}"


def join_words(parts: Sequence[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]
