"""Correlation metrics (QE) in the comparison: Williams, the bootstrap and the seeds test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loclab.compare import ComparisonError, RunOutput, analyse, collect
from loclab.spec import CompareSpec
from loclab.stats import correlation, correlation_seeds_test, williams_test

N = 300
KINDS = np.array(["none", "near_miss", "misaligned"])


def qe_predictions(gold: np.ndarray, predicted: np.ndarray) -> pd.DataFrame:
    """What the QE notebook writes: gold score as label, predicted score as score."""
    return pd.DataFrame(
        {
            "example_id": [f"ex{i}" for i in range(gold.size)],
            "label": gold,
            "prediction": predicted,
            "score": predicted,
            "error_type": KINDS[np.arange(gold.size) % 3],
            "locale": "de",
            "abs_error": np.abs(predicted - gold),
        }
    )


def qe_runs(
    noise: dict[str, float], seeds: int, rng_seed: int = 0
) -> tuple[list[RunOutput], np.ndarray]:
    rng = np.random.default_rng(rng_seed)
    gold = rng.uniform(0, 1, N)
    runs = []
    for system, sd in noise.items():
        bias = rng.normal(0, sd, N)  # what this system gets wrong in every run
        for seed in range(seeds):
            predicted = gold + bias + rng.normal(0, 0.1, N)
            runs.append(
                RunOutput(system, seed, f"qe-{system}-s{seed}", qe_predictions(gold, predicted))
            )
    return runs, gold


def spec(seeds: int, **extra: object) -> CompareSpec:
    return CompareSpec.model_validate(
        {
            "systems": {"ridge": {"role": "baseline"}, "cnn": {"label": "character CNN"}},
            "seeds": seeds,
            "metrics": ["pearson", "spearman", "kendall"],
            **extra,
        }
    )


def test_one_run_each_uses_williams_then_the_bootstrap() -> None:
    runs, gold = qe_runs({"ridge": 0.5, "cnn": 0.25}, seeds=1)
    compare = spec(1, breakdowns=["error_type"])
    data = collect(compare, runs)
    assert data.metrics["pearson"].source == "correlation"
    doc = analyse(data, compare)
    by_metric = {c["metric"]: c for c in doc["comparisons"]}
    assert by_metric["pearson"]["test"] == "williams_test"
    assert by_metric["spearman"]["test"] == by_metric["kendall"]["test"] == "correlation_bootstrap"
    cnn = runs[1].predictions["score"].to_numpy()
    ridge = runs[0].predictions["score"].to_numpy()
    expected = williams_test(cnn, ridge, gold)
    pearson = by_metric["pearson"]
    assert pearson["estimate"] == pytest.approx(expected.estimate)
    assert pearson["p_value"] == pytest.approx(expected.p_value)
    assert pearson["label"] == "better" and pearson["family"] == "confirmatory"
    assert pearson["variance"]["correlation_system"] == pytest.approx(correlation(cnn, gold))
    summary = {s["name"]: s for s in doc["systems"]}
    assert summary["cnn"]["metrics"]["kendall"]["mean"] == pytest.approx(
        correlation(cnn, gold, "kendall")
    )
    assert doc["breakdowns"]["rows"] and {r["value"] for r in doc["breakdowns"]["rows"]} == set(
        KINDS
    )
    assert "Pearson r" in doc["headline"]


def test_several_seeds_use_the_seeds_test_with_per_seed_williams() -> None:
    runs, gold = qe_runs({"ridge": 0.5, "cnn": 0.25}, seeds=3)
    compare = spec(3)
    doc = analyse(collect(compare, runs), compare)
    pearson = next(c for c in doc["comparisons"] if c["metric"] == "pearson")
    assert pearson["test"] == "correlation_seeds_test" and pearson["kind"] == "correlation_seeds"
    a = np.stack([r.predictions["score"] for r in runs if r.system == "cnn"])
    b = np.stack([r.predictions["score"] for r in runs if r.system == "ridge"])
    expected = correlation_seeds_test(a, b, gold, n_resamples=compare.n_resamples)
    assert pearson["estimate"] == pytest.approx(expected.estimate)
    assert pearson["p_value"] == pytest.approx(expected.p_value)
    assert pearson["label"] == "better"
    assert len(pearson["per_seed"]["rows"]) == 3 and "Williams" in pearson["per_seed"]["summary"]
    assert any("seeds" in w for w in pearson["warnings"])  # fewer than 5 seeds


def test_equal_systems_are_not_told_apart() -> None:
    runs, _ = qe_runs({"ridge": 0.4, "cnn": 0.4}, seeds=1, rng_seed=3)
    compare = spec(1, test="bootstrap")
    doc = analyse(collect(compare, runs), compare)
    assert {c["label"] for c in doc["comparisons"]} <= {
        "no detectable difference",
        "needs more data",
    }


def test_gold_scores_must_agree_between_jobs() -> None:
    runs, _ = qe_runs({"ridge": 0.5, "cnn": 0.25}, seeds=1)
    runs[1].predictions.loc[0, "label"] += 0.5
    with pytest.raises(ComparisonError, match="gold scores"):
        collect(spec(1), runs)


def test_williams_does_not_take_kendall() -> None:
    runs, _ = qe_runs({"ridge": 0.5, "cnn": 0.25}, seeds=1)
    compare = spec(1, test="williams")
    with pytest.raises(ComparisonError, match="Kendall"):
        analyse(collect(compare, runs), compare)
