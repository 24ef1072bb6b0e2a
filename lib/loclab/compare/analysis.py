"""The analysis: tests, verdict families, breakdowns, ranking and per-system summaries.

The first compared metric decides: every candidate is tested against the baseline on it and
the family is adjusted with the spec's correction (Holm by default) into verdicts. Further
metrics are secondary families, adjusted the same way. Breakdowns repeat the deciding test on
subsets of the examples and are adjusted together with Benjamini-Hochberg, flagged
exploratory. The test for each comparison follows :func:`loclab.stats.default_test`.
"""

from __future__ import annotations

import time
from typing import Any, cast

from loclab.compare._summaries import breakdowns as breakdown_cells
from loclab.compare._summaries import headline, system_summary
from loclab.compare._summaries import ranking as rank_all
from loclab.compare._tests import (
    digits_of,
    higher_is_better,
    per_seed_tests,
    plan_test,
    resamples,
    run_test,
    test_arrays,
    unique_labels,
    variance_of,
)
from loclab.compare.data import ComparisonData, MetricData
from loclab.io import jsonable
from loclab.spec.compare import CompareSpec
from loclab.stats import (
    TestResult,
    decide,
    default_test,
)

__all__ = ["SIGNIFICANCE_NOTE", "analyse"]

#: Shown wherever verdicts are: what "significant" means.
SIGNIFICANCE_NOTE = (
    '"Better" and "worse" mean the difference is unlikely to be chance (statistically '
    "significant), not that it is large; the estimate and its plausible range say how large."
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
    breakdowns = breakdown_cells(data, compare, primary, confirmatory)
    timings["breakdowns_s"] = time.perf_counter() - started

    started = time.perf_counter()
    rank = compare.rank if compare.rank is not None else len(data.systems) >= 3
    if rank and primary.source == "correlation":
        # Ranking tests every pair with seed-level tests, too weak for a few seeds and at
        # odds with the correlation verdicts; the tests against the baseline decide.
        rank = False
        notes.append("No ranking for correlation metrics: the tests against the baseline decide.")
    ranking = rank_all(data, compare, primary, notes) if rank else None
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
        "systems": [system_summary(data, name) for name in data.systems],
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


def _family(
    data: ComparisonData,
    compare: CompareSpec,
    metric: MetricData,
    role: str,
    threshold: float,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Test every candidate on one metric and turn the family into verdicts."""
    labels = unique_labels(data)
    base = data.baseline
    candidates = data.candidates
    notes: list[str] = []
    n_resamples = resamples(compare, len(candidates), notes)
    results: dict[tuple[str, str], TestResult] = {}
    kinds: dict[str, str] = {}
    caveats: dict[str, list[str]] = {}
    for system in candidates:
        runs_a, runs_b = len(data.systems[system].seeds), len(data.systems[base].seeds)
        kind, found = plan_test(metric, runs_a, runs_b, compare.test, system)
        a, b = test_arrays(metric, kind, system), test_arrays(metric, kind, base)
        results[(labels[system], labels[base])] = run_test(
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
        digits=digits_of(metric),
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
            variance=variance_of(result),
            result=jsonable(result.to_dict()),
            per_seed=per_seed_tests(metric, kind, system, base, data)
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
