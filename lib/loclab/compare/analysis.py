"""The analysis: tests, verdict families, breakdowns, ranking and per-system summaries.

The first compared metric decides: every candidate is tested against the baseline on it and
the family is adjusted with the spec's correction (Holm by default) into verdicts. Further
metrics are secondary families, adjusted the same way. Breakdowns repeat the deciding test on
subsets of the examples and are adjusted together with Benjamini-Hochberg, flagged
exploratory. The test for each comparison follows :func:`loclab.stats.default_test`.
"""

from __future__ import annotations

import re
import time
from typing import Any, cast

from loclab.compare._advice import (
    deterministic_systems,
    next_step,
    one_run_caveat,
    seed_agreement,
)
from loclab.compare._answer import answer, interactive_sentence
from loclab.compare._display import Display, display_of
from loclab.compare._summaries import breakdowns as breakdown_cells
from loclab.compare._summaries import ranking as rank_all
from loclab.compare._summaries import system_summary
from loclab.compare._tests import (
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
from loclab.compare.interactive import SEEDS_ONLY_TESTS, interactive_caveat
from loclab.io import jsonable
from loclab.spec.compare import CompareSpec
from loclab.stats import (
    CORRECTION_NAMES,
    TestResult,
    decide,
    default_test,
)

__all__ = ["SIGNIFICANCE_NOTE", "analyse"]

#: How the verdict sentence says how often chance alone gives such a gap (from the raw p).
_CHANCE = re.compile(r"would appear by chance (.+?) if the systems were equally good")
#: How the statistics name the two systems of a test in their caveats ("runs of B").
_AB = re.compile(r"\b(of|for) ([AB])\b|\(([AB])\)|^([AB])(?=, the system)")


def named(text: str, a: str, b: str) -> str:
    """A caveat of the statistics with "A" and "B" replaced by the systems' names."""

    def swap(m: re.Match[str]) -> str:
        letter = m.group(2) or m.group(3) or m.group(4)
        name = a if letter == "A" else b
        if m.group(1):
            return f"{m.group(1)} {name}"
        return f"({name})" if m.group(3) else name

    return _AB.sub(swap, text)


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
    deterministic = deterministic_systems(data)
    shows = {key: display_of(data.metrics[key], compare) for key in keys}
    for index, key in enumerate(keys):
        role = "confirmatory" if index == 0 else "secondary"
        family, found = _family(
            data, compare, data.metrics[key], role, threshold if index == 0 else 0.0,
            shows[key], deterministic,
        )  # fmt: skip
        families.append(family)
        comparisons.extend(found)
    timings["tests_s"] = time.perf_counter() - started
    primary = data.metrics[keys[0]]
    confirmatory = [c for c in comparisons if c["family"] == "confirmatory"]

    started = time.perf_counter()
    breakdowns = breakdown_cells(data, compare, primary, confirmatory, shows[keys[0]])
    timings["breakdowns_s"] = time.perf_counter() - started

    started = time.perf_counter()
    # Interactive runs (one run by hand each) are not ranked: the ranking tests every pair
    # of the spec's systems over their seeds.
    ranked = data.without_interactive()
    rank = compare.rank if compare.rank is not None else len(ranked.systems) >= 3
    rank = rank and len(ranked.systems) >= 2
    if rank and primary.source == "correlation":
        # Ranking tests every pair with seed-level tests, too weak for a few seeds and at
        # odds with the correlation verdicts; the tests against the baseline decide.
        rank = False
        notes.append("No ranking for correlation metrics: the tests against the baseline decide.")
    ranking = None
    if rank:
        ranking = rank_all(ranked, compare, ranked.metrics[keys[0]], notes, shows[keys[0]])
        if data.interactive:
            notes.append(
                "Interactive runs are not ranked: the ranking tests every pair of the spec's "
                "systems over their seeds, and an interactive run has one run."
            )
    timings["ranking_s"] = time.perf_counter() - started
    labels = {name: s.label for name, s in data.systems.items()}
    # The answer recommends among the spec's systems; what an interactive run showed is
    # added to it, never a switch to one run made by hand.
    by_jobs = [c for c in confirmatory if c["system"] not in data.interactive]
    found_answer = answer(by_jobs, ranking, shows[keys[0]], data.baseline, labels)
    extra = [
        interactive_sentence(c, shows[keys[0]], labels)
        for c in confirmatory
        if c["system"] in data.interactive
    ]
    if extra:
        found_answer["headline"] = " ".join([found_answer["headline"], *extra])
    for name in sorted(deterministic, key=list(data.systems).index):
        runs = len(data.systems[name].seeds)
        notes.append(
            f"{labels[name]} gave identical results on all {runs} of its runs: it ignores its "
            "training seed (deterministic), so its seed-to-seed spread is exactly zero and one "
            "run stands for all."
        )

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
        "metrics": [
            _describe_metric(data.metrics[k], i, compare, shows[k]) for i, k in enumerate(keys)
        ],
        "systems": [
            _with_source(
                system_summary(data, name, compare, shows, name in deterministic),
                data,
                confirmatory,
            )
            for name in data.systems
        ],
        "families": families,
        "comparisons": comparisons,
        "breakdowns": breakdowns,
        "ranking": ranking,
        "headline": found_answer["headline"],
        "answer": found_answer,
        "significance_note": SIGNIFICANCE_NOTE,
        "warnings": sorted(set(notes)),
        "timings": timings,
    }


def _with_source(
    summary: dict[str, Any], data: ComparisonData, confirmatory: list[dict[str, Any]]
) -> dict[str, Any]:
    """An interactive run's summary gets where it came from and how it was tested."""
    source = data.interactive.get(summary["name"])
    if source is None:
        return summary
    found = next((c for c in confirmatory if c["system"] == summary["name"]), None)
    test = ""
    if found is not None:
        runs = found["n_seeds"]["baseline"]
        examples = f" over {found['n_examples']:,} examples" if found["n_examples"] else ""
        averaged = f", the baseline averaged over its {runs} runs" * (
            runs > 1 and found["kind"] != "seed_level"
        )
        how = found.get("method") or found["test"]
        test = f"on examples only: {how}{examples}{averaged}"
        if found["kind"] == "seed_level":
            test = (
                f"on its one value against the baseline's {runs} runs: {how}, assuming the "
                "same seed-to-seed spread"
            )
    return {**summary, "interactive": source.model_copy(update={"test": test}).model_dump()}


def _describe_metric(
    metric: MetricData, index: int, compare: CompareSpec, show: Display
) -> dict[str, Any]:
    kind = {
        "predictions": "binary" if metric.binary else "continuous",
        "corpus": "corpus",
        "correlation": "correlation",
        "final": "run",
    }[metric.source]
    return {
        "key": metric.key,
        "name": show.name,
        "source": metric.source,
        "kind": kind,
        "role": "confirmatory" if index == 0 else "secondary",
        "higher_is_better": higher_is_better(metric, compare),
        "options": getattr(metric.metric, "_kwargs", None),
        "signature": metric.signature,
        "scale": show.scale,
        "scale_unit": show.unit,
        "digits": show.digits,
        "percent": show.percent,
    }


def _family(
    data: ComparisonData,
    compare: CompareSpec,
    metric: MetricData,
    role: str,
    threshold: float,
    show: Display,
    deterministic: set[str],
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
    arrays: dict[str, tuple[Any, Any]] = {}
    for system in candidates:
        runs_a, runs_b = len(data.systems[system].seeds), len(data.systems[base].seeds)
        test = compare.test
        if system in data.interactive and test in SEEDS_ONLY_TESTS:
            # One run by hand cannot take a seeds test: it gets the one-run system's test.
            test = "auto"
        kind, found = plan_test(metric, runs_a, runs_b, test, system)
        a, b = test_arrays(metric, kind, system), test_arrays(metric, kind, base)
        results[(labels[system], labels[base])] = run_test(
            kind, a, b, metric, n_resamples, compare.stats_seed
        )
        kinds[system], caveats[system], arrays[system] = kind, found, (a, b)
    all_runs = all(k == "seed_level" for k in kinds.values())
    family = decide(
        results,
        alpha=compare.alpha,
        correction=compare.correction,
        threshold=threshold,
        higher_is_better=higher_is_better(metric, compare),
        unit="training runs" if all_runs else compare.unit,
        metric_name=show.name,
        digits=show.digits,
        scale=show.scale,
        scale_unit=show.unit,
    )
    out = []
    for system, verdict in zip(candidates, family.verdicts, strict=True):
        result = results[(labels[system], labels[base])]
        kind = kinds[system]
        entry = jsonable(verdict.to_dict())
        runs = (len(data.systems[system].seeds), len(data.systems[base].seeds))
        source = data.interactive.get(system)
        if source is not None:
            caveat = interactive_caveat(
                data.systems[system].label, source.run, kind, data.systems[base].label, runs[1]
            )
        else:
            caveat = one_run_caveat(data, compare, system, deterministic)
        if caveat:
            # It replaces the test's own one-run note: one caveat, said once.
            kept = [n for n in caveats[system] if not n.startswith("Only one training run")]
            caveats[system] = [caveat, *kept]
        chance_match = _CHANCE.search(verdict.sentence)
        step = next_step(entry, result, kind, arrays[system], runs, compare, caveat, show)
        entry.update(
            system=system,
            baseline=base,
            system_label=data.systems[system].label,
            baseline_label=data.systems[base].label,
            metric=metric.key,
            metric_name=show.name,
            family=role,
            kind=kind,
            test=default_test(cast(Any, kind)).test,
            test_reason=default_test(cast(Any, kind)).reason,
            warnings=[
                named(w, data.systems[system].label, data.systems[base].label)
                for w in [*entry["warnings"], *caveats[system], *notes]
                # A deterministic system is said once, in the comparison's notes.
                if "ignores its training seed" not in w
            ],
            n_examples=None if kind == "seed_level" else int(result.n),
            n_seeds={
                "system": len(data.systems[system].seeds),
                "baseline": len(data.systems[base].seeds),
            },
            variance=variance_of(result),
            result=jsonable(result.to_dict()),
            per_seed=per_seed_tests(metric, kind, system, base, data, show, deterministic)
            if role == "confirmatory"
            else None,
            chance=chance_match.group(1) if chance_match else "",
            design_caveat=caveat,
            next_step=step["text"],
            needed={k: v for k, v in step.items() if k != "text"},
            seed_agreement=seed_agreement(metric, data, system, deterministic),
            deterministic={
                "system": system in deterministic,
                "baseline": base in deterministic,
            },
            interactive=source is not None,
        )
        out.append(entry)
    summary = {
        "metric": metric.key,
        "metric_name": show.name,
        "role": role,
        "correction": compare.correction,
        "family_size": family.family_size,
        "alpha": compare.alpha,
        "threshold": threshold,
        "systems": candidates,
        "summary": _family_summary(family.verdicts, compare, data.systems[base].label),
    }
    return summary, out


def _family_summary(verdicts: Any, compare: CompareSpec, base: str) -> str:
    """The family's outcome in one sentence, with its adjustment named."""
    counts: dict[str, int] = {}
    for v in verdicts:
        counts[v.decision] = counts.get(v.decision, 0) + 1
    m = len(verdicts)
    how = (
        f"{CORRECTION_NAMES[compare.correction]} over {m} comparisons"
        if m > 1
        else "a single comparison, so no adjustment"
    )
    parts = ", ".join(f"{n} {d}" for d, n in counts.items())
    who = "1 system" if m == 1 else f"{m} systems"
    return f"{who} against {base} ({how}, alpha {compare.alpha:g}): {parts}."
