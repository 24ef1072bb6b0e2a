"""The analysis on synthetic predictions: verdicts, per-seed McNemar, breakdowns, errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from loclab.compare import ComparisonError, RunOutput, analyse, collect, render_verdicts
from loclab.io import jsonable
from loclab.results import ComparisonRecord
from loclab.spec import CompareSpec

N = 600
TYPES = np.array(["none", "copy", "misaligned"])


def predictions(correct: np.ndarray, ids: np.ndarray | None = None) -> pd.DataFrame:
    n = correct.size
    ids = np.array([f"ex{i}" for i in range(n)]) if ids is None else ids
    label = (np.arange(n) % 2).astype(int)
    return pd.DataFrame(
        {
            "example_id": ids,
            "label": label,
            "prediction": np.where(correct == 1, label, 1 - label),
            "score": np.linspace(0, 1, n),
            "correct": correct.astype(int),
            "error_type": TYPES[np.arange(n) % 3],
            "locale": np.where(np.arange(n) < n // 2, "de", "fr"),
        }
    )


def runs_for(probs: dict[str, float], seeds: int, *, rng_seed: int = 0, boost: str = "",
             deterministic: str = "") -> list[RunOutput]:  # fmt: skip
    """Seeds x examples of 0/1 correctness with shared example difficulty."""
    rng = np.random.default_rng(rng_seed)
    difficulty = rng.normal(0, 1.0, N)
    out = []
    for system, p in probs.items():
        fixed = rng.random(N)
        for seed in range(seeds):
            shift = 0.0 if system == deterministic else rng.normal(0, 0.3)
            logit = np.log(p / (1 - p)) - difficulty + shift
            if boost == system:
                # Much better on the "copy" errors only.
                logit = logit + 3.0 * (TYPES[np.arange(N) % 3] == "copy")
            u = fixed if system == deterministic else rng.random(N)
            correct = (u < 1 / (1 + np.exp(-logit))).astype(int)
            out.append(
                RunOutput(
                    system,
                    seed,
                    f"exp-{system}-s{seed}",
                    predictions(correct),
                    {"test_acc": float(correct.mean()), "test_loss": 0.5},
                )
            )
    return out


def spec(**extra) -> CompareSpec:
    data = {
        "systems": {
            "baseline": {"role": "baseline", "label": "n-gram baseline"},
            "neural": {"label": "neural checker"},
        },
        "seeds": 5,
        **extra,
    }
    return CompareSpec.model_validate(data)


def test_clearly_better_system_is_better_with_seed_decomposition():
    compare = spec(breakdowns=["error_type", "locale"], practical_threshold=0.01)
    data = collect(compare, runs_for({"baseline": 0.6, "neural": 0.8}, 5))
    doc = analyse(data, compare)
    [c] = doc["comparisons"]
    assert c["label"] == "better" and c["system"] == "neural" and c["baseline"] == "baseline"
    assert c["kind"] == "seeds" and c["test"] == "two_level_bootstrap"
    assert c["family_size"] == 1 and c["correction"] == "holm"
    assert c["estimate"] > 0.1 and c["ci"][0] > 0
    assert c["n_examples"] == N and c["n_seeds"] == {"system": 5, "baseline": 5}
    assert c["sentence"].startswith("neural checker minus n-gram baseline: +")
    assert '"Better" means unlikely to be chance, not large.' in c["sentence"]
    assert set(c["variance"]) >= {"seed_sd_system", "seed_sd_baseline", "example_se", "seed_share"}
    per_seed = c["per_seed"]
    assert [r["seed"] for r in per_seed["rows"]] == [0, 1, 2, 3, 4]
    assert all(r["estimate"] > 0 and r["p_adjusted"] >= r["p_value"] for r in per_seed["rows"])
    assert doc["headline"].startswith("neural checker is better than n-gram baseline on accuracy")
    summary = {s["name"]: s for s in doc["systems"]}
    acc = summary["neural"]["metrics"]["accuracy"]
    assert acc["n"] == 5 and acc["ci"][0] < acc["mean"] < acc["ci"][1]
    assert set(acc["per_seed"]) == {"0", "1", "2", "3", "4"}
    assert summary["baseline"]["metrics"]["test_acc"]["source"] == "final"
    assert summary["baseline"]["role"] == "baseline"
    # Breakdowns: every value of every column, BH over all cells, flagged exploratory.
    b = doc["breakdowns"]
    assert b["correction"] == "bh" and b["flag"] == "exploratory"
    assert b["family_size"] == len(b["rows"]) == 3 + 2
    assert {(r["column"], r["value"]) for r in b["rows"]} == {
        ("error_type", "none"),
        ("error_type", "copy"),
        ("error_type", "misaligned"),
        ("locale", "de"),
        ("locale", "fr"),
    }
    assert all(r["p_adjusted"] >= r["p_value"] for r in b["rows"])
    assert doc["ranking"] is None  # two systems: nothing to rank
    json.dumps(doc, allow_nan=False)
    record = ComparisonRecord.model_validate(
        jsonable({**doc, "experiment": "synthetic", "created": "now", "mode": "jobs"})
    )
    text = render_verdicts(record)
    assert "neural" in text and "better" in text and "Breakdowns by error_type, locale" in text


def test_equal_systems_show_no_detectable_difference():
    compare = spec()
    data = collect(compare, runs_for({"baseline": 0.7, "neural": 0.7}, 5, rng_seed=3))
    [c] = analyse(data, compare)["comparisons"]
    assert c["label"] == "no detectable difference"
    assert c["p_value"] > 0.05


def test_deterministic_baseline_has_zero_seed_variance():
    compare = spec()
    runs = runs_for({"baseline": 0.6, "neural": 0.75}, 5, deterministic="baseline")
    data = collect(compare, runs)
    rows = data.metrics["accuracy"].values["baseline"]
    assert np.all(rows == rows[0])
    [c] = analyse(data, compare)["comparisons"]
    assert c["variance"]["seed_sd_baseline"] == 0.0
    assert c["label"] == "better"


def test_breakdown_finds_the_slice_where_a_system_is_better():
    compare = spec(breakdowns=["error_type"])
    runs = runs_for({"baseline": 0.6, "neural": 0.6}, 5, rng_seed=1, boost="neural")
    rows = {r["value"]: r for r in analyse(collect(compare, runs), compare)["breakdowns"]["rows"]}
    assert rows["copy"]["significant"] and rows["copy"]["label"] == "better"
    assert rows["copy"]["estimate"] > 0.2


def test_one_seed_uses_mcnemar():
    compare = spec(seeds=1)
    doc = analyse(collect(compare, runs_for({"baseline": 0.55, "neural": 0.8}, 1)), compare)
    [c] = doc["comparisons"]
    assert c["kind"] == "binary" and c["test"] == "mcnemar" and c["label"] == "better"
    assert c["per_seed"] is None
    assert set(c["variance"]) == {"only_system_correct", "only_baseline_correct"}


def test_misaligned_example_ids_fail_clearly():
    compare = spec()
    runs = runs_for({"baseline": 0.6, "neural": 0.7}, 5)
    bad = runs[7]
    frame = bad.predictions.copy()
    frame.loc[:1, "example_id"] = ["other0", "other1"]
    runs[7] = RunOutput(bad.system, bad.seed, bad.name, frame, bad.final_metrics)
    with pytest.raises(ComparisonError) as err:
        collect(compare, runs)
    assert str(err.value) == (
        "example ids differ between jobs: exp-neural-s2 has 600 test examples and "
        "exp-baseline-s0 has 600; 2 of exp-baseline-s0's ids are missing from exp-neural-s2 "
        "(e.g. 'ex0', 'ex1') and 2 are extra (e.g. 'other0', 'other1'); every job must "
        "predict the same test examples (the split is seeded by the data seed, not the "
        "training seed)"
    )


def test_fewer_examples_in_one_job_fail_clearly():
    compare = spec()
    runs = runs_for({"baseline": 0.6, "neural": 0.7}, 5)
    bad = runs[3]
    runs[3] = RunOutput(
        bad.system, bad.seed, bad.name, bad.predictions.iloc[:-5], bad.final_metrics
    )
    with pytest.raises(ComparisonError, match="exp-baseline-s3 has 595 test examples"):
        collect(compare, runs)


def test_system_without_completed_job_is_an_error():
    compare = spec()
    runs = [r for r in runs_for({"baseline": 0.6, "neural": 0.7}, 5) if r.system == "baseline"]
    lost = [("neural", f"exp-neural-s{s} FAILED: boom") for s in range(5)]
    with pytest.raises(ComparisonError) as err:
        collect(compare, runs, lost)
    assert str(err.value).startswith(
        "system(s) 'neural' have no completed job, so there is nothing to compare them with "
        "(exp-neural-s0 FAILED: boom; "
    )


def test_missing_runs_are_left_out_and_few_seeds_warned():
    compare = spec()
    runs = [r for r in runs_for({"baseline": 0.6, "neural": 0.8}, 5) if r.name != "exp-neural-s4"]
    runs = [r for r in runs if r.name not in ("exp-neural-s3", "exp-neural-s2")]
    doc = analyse(collect(compare, runs), compare)
    [c] = doc["comparisons"]
    assert c["n_seeds"] == {"system": 2, "baseline": 5}
    assert any("training seeds" in w for w in c["warnings"])


def test_final_metric_is_compared_per_run():
    compare = spec(metrics=["accuracy", "test_acc"])
    doc = analyse(collect(compare, runs_for({"baseline": 0.6, "neural": 0.8}, 5)), compare)
    second = [c for c in doc["comparisons"] if c["metric"] == "test_acc"]
    assert [c["family"] for c in second] == ["secondary"]
    assert second[0]["kind"] == "seed_level" and second[0]["unit"] == "training runs"
    assert second[0]["n_examples"] is None


def test_unknown_metric_names_what_exists():
    compare = spec(metrics=["test_f1"])
    with pytest.raises(ComparisonError, match="metric 'test_f1' is neither a predictions column"):
        collect(compare, runs_for({"baseline": 0.6, "neural": 0.8}, 5))


def test_three_systems_are_ranked_and_holm_adjusted():
    compare = CompareSpec.model_validate(
        {
            "systems": {"base": {"role": "baseline"}, "good": {}, "same": {}},
            "seeds": 5,
        }
    )
    runs = runs_for({"base": 0.6, "good": 0.8, "same": 0.6}, 5, rng_seed=2)
    doc = analyse(collect(compare, runs), compare)
    assert doc["family_size"] == 2
    labels = {c["system"]: c["label"] for c in doc["comparisons"]}
    assert labels == {"good": "better", "same": "no detectable difference"}
    ranking = doc["ranking"]
    assert ranking["systems"][0] == "good" and ranking["family_size"] == 3
    assert ranking["groups"][0]["systems"] == ["good"]
    assert ranking["group_of"]["base"] == ranking["group_of"]["same"]
