"""How each comparison is tested: the kind of data, the arrays, the test, its caveats.

The test for each comparison follows :func:`loclab.stats.default_test`; correlation metrics
(quality estimation) go through :mod:`loclab.compare.correlation`.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from loclab.compare import correlation
from loclab.compare._display import Display
from loclab.compare.data import ComparisonData, ComparisonError, MetricData
from loclab.io import json_object
from loclab.spec.compare import CompareSpec
from loclab.stats import (
    TestResult,
    adjust,
    corpus_metric_test,
    mcnemar,
    paired_permutation_test,
    seed_level_test,
    two_level_bootstrap,
)

__all__ = [
    "higher_is_better",
    "per_seed_tests",
    "plan_test",
    "resamples",
    "run_test",
    "test_arrays",
    "unique_labels",
    "variance_of",
]


def higher_is_better(metric: MetricData, compare: CompareSpec) -> bool:
    """Direction of ``metric``: a corpus metric's own (TER is lower-is-better), else the spec's."""
    if metric.source == "corpus" and metric.metric is not None:
        return metric.metric.higher_is_better
    return compare.higher_is_better


def plan_test(
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


def test_arrays(metric: MetricData, kind: str, system: str, mask: np.ndarray | None = None) -> Any:
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


def run_test(
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


def resamples(compare: CompareSpec, family_size: int, notes: list[str]) -> int:
    # The smallest Monte Carlo p-value, 1 / (n + 1), must pass the family's first Holm step.
    needed = math.ceil(2.0 * family_size / compare.alpha)
    if compare.n_resamples < needed:
        notes.append(
            f"n_resamples={compare.n_resamples:,} cannot resolve p-values below alpha / "
            f"{family_size}; {needed:,} were used instead."
        )
        return needed
    return compare.n_resamples


def unique_labels(data: ComparisonData) -> dict[str, str]:
    labels = {name: s.label for name, s in data.systems.items()}
    if len(set(labels.values())) < len(labels):
        return {name: name for name in labels}
    return labels


def variance_of(result: TestResult) -> dict[str, Any] | None:
    """Where the uncertainty comes from (two-level), or the counts behind the test."""
    r: Any = result
    if hasattr(r, "correlation"):
        return correlation.variance(r)
    if hasattr(r, "seed_share"):
        return json_object(
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
        return json_object({"score_system": r.score_a, "score_baseline": r.score_b, "se": r.se})
    return json_object({"se": r.se}) if r.se is not None else None


def per_seed_tests(
    metric: MetricData,
    kind: str,
    system: str,
    base: str,
    data: ComparisonData,
    show: Display,
    deterministic: frozenset[str] | set[str] = frozenset(),
) -> dict[str, Any] | None:
    """McNemar on each seed both systems ran (supporting evidence, not the verdict).

    A deterministic system's run stands for every seed (its later seeds were not run), so
    the other system's every seed is tested, as the answer's seed count says.
    """
    if kind == "correlation_seeds":
        return correlation.per_seed(metric, system, base, data)
    if kind != "seeds" or not metric.binary:
        return None
    seeds_a, seeds_b = data.systems[system].seeds, data.systems[base].seeds
    if base in deterministic:
        pairs = [(s, i, 0) for i, s in enumerate(seeds_a) if s is not None]
    elif system in deterministic:
        pairs = [(s, 0, j) for j, s in enumerate(seeds_b) if s is not None]
    else:
        where = {s: j for j, s in enumerate(seeds_b) if s is not None}
        pairs = [(s, i, where[s]) for i, s in enumerate(seeds_a) if s in where]
    rows: list[dict[str, Any]] = []
    for seed, i, j in pairs:
        a = metric.values[system][i]
        b = metric.values[base][j]
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
    return json_object(
        {
            "test": "mid-p McNemar test per training seed (runs with the same seed paired)",
            "correction": "holm",
            "rows": rows,
            "summary": (
                f"Per seed, {data.systems[system].label} minus {data.systems[base].label}: "
                f"{show.diff(low, unit=False)} to {show.diff(high)}; beyond chance on "
                f"{beyond} of {len(rows)} seeds (mid-p McNemar per seed, Holm-adjusted over "
                f"the {len(rows)} seeds; supporting evidence, not the verdict)."
            ),
        }
    )
