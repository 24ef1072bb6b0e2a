"""Correlation metrics in the comparison: quality-estimation systems judged against gold scores.

``compare.metrics: [pearson, spearman, kendall]`` on jobs whose predictions hold a gold score
(``label``) and a predicted score (``score``) per example — what the QE notebook writes —
compares each candidate's correlation with the gold scores to the baseline's:

* one run per system: Williams' test for Pearson (as the WMT QE tasks test), the paired
  bootstrap over examples for Spearman and Kendall (``test: williams`` / ``bootstrap`` to
  choose);
* several runs per system: the seeds x examples test of jackknife pseudo-values
  (:func:`loclab.stats.correlation_seeds_test`), with Williams' test of each seed's pair of
  runs shown alongside as supporting evidence (Holm over seeds), never as the verdict.

A job that writes Pearson sufficient statistics instead (``corpus_stats/pearson``) keeps the
corpus-metric path.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from loclab.compare.data import ComparisonData, ComparisonError, MetricData
from loclab.io import jsonable
from loclab.stats import (
    TestResult,
    adjust,
    correlation,
    correlation_bootstrap,
    correlation_seeds_test,
    williams_test,
)

__all__ = ["arrays", "per_seed", "plan", "run_test", "variance"]

_SINGLE = {"williams": "correlation", "bootstrap": "correlation_bootstrap"}


def plan(metric: MetricData, runs_a: int, runs_b: int, test: str) -> tuple[str, list[str]]:
    """The kind of test for a correlation metric, and caveats to show with the verdict."""
    notes: list[str] = []
    several = runs_a >= 2 and runs_b >= 2
    if test in ("auto", "two_level_bootstrap") and several:
        return "correlation_seeds", notes
    if test not in ("auto", *_SINGLE):
        raise ComparisonError(
            f"test {test} does not compare correlations ('{metric.key}'); use test: auto, "
            "williams or bootstrap"
        )
    if runs_a > 1 or runs_b > 1:
        notes.append(
            "Only one training run for at least one system: each system's runs are averaged "
            "into one prediction per example, so retraining could change the result. Train "
            "several seeds (at least 5) per system to include it."
        )
    if test == "williams" and metric.key == "kendall":
        raise ComparisonError("Williams' test compares Pearson or Spearman, not Kendall")
    if test in _SINGLE:
        return _SINGLE[test], notes
    return ("correlation" if metric.key == "pearson" else "correlation_bootstrap"), notes


def arrays(metric: MetricData, kind: str, system: str, mask: np.ndarray | None = None) -> Any:
    """What the test of ``kind`` takes for ``system``: its predictions and the gold scores."""
    values, gold = metric.values[system], metric.gold
    assert gold is not None
    if mask is not None:
        values, gold = values[:, mask], gold[mask]
    if kind == "seed_level":
        method: Any = metric.key
        return np.asarray([correlation(run, gold, method) for run in values])
    if kind == "correlation_seeds":
        return values, gold
    return values.mean(axis=0), gold


def run_test(kind: str, a: Any, b: Any, key: str, n_resamples: int, seed: int) -> TestResult:
    """Run the correlation test of ``kind`` on (predictions, gold) pairs from :func:`arrays`."""
    (pred_a, gold), (pred_b, _) = a, b
    method: Any = key
    if kind == "correlation":
        return williams_test(pred_a, pred_b, gold, method=method)
    if kind == "correlation_bootstrap":
        return correlation_bootstrap(
            pred_a, pred_b, gold, method=method, n_resamples=n_resamples, seed=seed
        )
    with warnings.catch_warnings():
        # The few-seeds warning stays on the result and is shown with the verdict.
        warnings.simplefilter("ignore", UserWarning)
        return correlation_seeds_test(
            pred_a, pred_b, gold, method=method, n_resamples=n_resamples, seed=seed
        )


def variance(result: Any) -> dict[str, Any] | None:
    """Each system's correlation with the gold scores, for the verdict's details."""
    if not hasattr(result, "correlation"):
        return None
    out: dict[str, Any]
    if hasattr(result, "seed_share"):
        out = jsonable(
            {
                "correlation_system": float(np.mean(result.r_a)),
                "correlation_baseline": float(np.mean(result.r_b)),
                "correlation_system_per_seed": list(result.r_a),
                "correlation_baseline_per_seed": list(result.r_b),
                "seed_share": result.seed_share,
                "se": result.se,
            }
        )
        return out
    out = jsonable(
        {
            "correlation_system": result.r_a,
            "correlation_baseline": result.r_b,
            "correlation_between_systems": result.r_ab,
            "se": result.se,
        }
    )
    return out


def per_seed(
    metric: MetricData, system: str, base: str, data: ComparisonData
) -> dict[str, Any] | None:
    """Williams' test of each seed both systems ran (supporting evidence, not the verdict)."""
    if metric.key == "kendall" or metric.gold is None:
        return None
    seeds_a, seeds_b = data.systems[system].seeds, data.systems[base].seeds
    common = [s for s in seeds_a if s is not None and s in seeds_b]
    rows: list[dict[str, Any]] = []
    method: Any = metric.key
    for seed in common:
        a = metric.values[system][seeds_a.index(seed)]
        b = metric.values[base][seeds_b.index(seed)]
        r = williams_test(a, b, metric.gold, method=method)
        rows.append(
            {
                "seed": seed,
                "estimate": r.estimate,
                "ci": r.ci,
                "p_value": r.p_value,
                "correlation_system": r.r_a,
                "correlation_baseline": r.r_b,
            }
        )
    if not rows:
        return None
    adjusted = adjust([row["p_value"] for row in rows], "holm")
    for row, p in zip(rows, adjusted.adjusted, strict=True):
        row["p_adjusted"] = p
    low, high = min(r["estimate"] for r in rows), max(r["estimate"] for r in rows)
    out: dict[str, Any] = jsonable(
        {
            "test": "Williams' test per training seed (runs with the same seed paired)",
            "correction": "holm",
            "rows": rows,
            "summary": (
                f"Per seed, {data.systems[system].label} minus {data.systems[base].label} in "
                f"{metric.name}: {low:+.3f} to {high:+.3f}; beyond chance on "
                f"{sum(adjusted.rejected)} of {len(rows)} seeds (Williams' test, Holm over "
                f"{len(rows)} seeds; supporting evidence, not the verdict)."
            ),
        }
    )
    return out
