"""The answer a manager acts on: its forms, its units, its caveats, on synthetic predictions."""

from __future__ import annotations

import json

import numpy as np
import pytest

from loclab.compare import analyse, collect, render_verdicts
from loclab.compare.analysis import named
from loclab.io import jsonable
from loclab.results import ComparisonRecord
from loclab.spec import CompareSpec

from .test_analysis import runs_for, spec


def record(doc: dict) -> ComparisonRecord:
    return ComparisonRecord.model_validate(
        jsonable({**doc, "experiment": "synthetic", "created": "now", "mode": "jobs"})
    )


def test_a_worse_candidate_keeps_the_baseline_in_points_with_the_gain_ruled_out():
    compare = spec(practical_threshold=0.01)
    runs = runs_for({"baseline": 0.75, "neural": 0.45}, 5, deterministic="baseline")
    doc = analyse(collect(compare, runs), compare)
    [c] = doc["comparisons"]
    assert c["decision"] == "worse" and c["gain_ruled_out"] is True
    head = doc["headline"]
    assert head.startswith("Keep the baseline: neural checker scored ")
    assert " points lower than n-gram baseline on accuracy (lower on all 5 seeds; 95% " in head
    assert head.endswith("; a gain of 1 point or more is ruled out.")
    # The estimate in the headline is the record's, scaled to points, with its own sign.
    points = f"{abs(c['estimate']) * 100:.1f} points lower"
    assert points in head
    assert doc["answer"] == {
        "status": "worse",
        "use": "baseline",
        "headline": head,
        "next_step": "",
    }


def test_no_difference_that_matters_keeps_the_baseline():
    compare = spec(practical_threshold=0.1)
    runs = runs_for({"baseline": 0.7, "neural": 0.7}, 5, rng_seed=3)
    doc = analyse(collect(compare, runs), compare)
    [c] = doc["comparisons"]
    assert c["decision"] == "no difference"
    assert doc["headline"].startswith("Keep the baseline: neural checker scored ")
    assert "a gain of 10 points or more is ruled out." in doc["headline"]


def test_too_close_to_call_names_the_next_step_from_the_power_analysis():
    compare = spec(practical_threshold=0.05)
    runs = runs_for({"baseline": 0.7, "neural": 0.72}, 3, rng_seed=5)
    doc = analyse(collect(compare, runs), compare)
    [c] = doc["comparisons"]
    assert c["decision"] == "too close to call"
    head = doc["headline"]
    assert head.startswith("Too close to call: neural checker scored ")
    assert "; to decide, " in head and c["next_step"] in head
    needed = c["needed"]
    assert needed["target"] == pytest.approx(0.05)
    # A concrete number of seeds or of examples, more than there are now.
    assert (needed["seeds"] or 0) > 3 or (needed["examples"] or 0) > 600
    assert doc["answer"]["next_step"] == c["next_step"]


def test_one_run_per_system_says_training_noise_was_not_measured():
    compare = spec(seeds=1)
    doc = analyse(collect(compare, runs_for({"baseline": 0.55, "neural": 0.8}, 1)), compare)
    [c] = doc["comparisons"]
    caveat = c["design_caveat"]
    assert caveat.startswith("Training noise was not measured: neural checker and n-gram "
                             "baseline each ran once")  # fmt: skip
    assert "train at least 5 seeds per system (compare.seeds: 5)" in caveat
    assert caveat in c["warnings"] and doc["headline"].endswith(caveat)
    assert doc["headline"].startswith("Switch to neural checker: ")


def test_one_run_too_close_asks_for_seeds_and_examples():
    compare = spec(seeds=1)
    runs = runs_for({"baseline": 0.7, "neural": 0.7}, 1, rng_seed=2)
    doc = analyse(collect(compare, runs), compare)
    [c] = doc["comparisons"]
    assert c["decision"] == "too close to call"
    assert c["next_step"].startswith("train at least 5 seeds per system and use about ")
    # Without a threshold the gap to detect is the one seen, said in the reader's units.
    gap = f"{abs(c['estimate']) * 100:.1f} points"
    assert c["next_step"].endswith(f"a gap as large as the one seen ({gap}) 80% of the time")
    assert "to decide, train at least 5 seeds per system" in doc["headline"]


def test_metric_names_from_the_spec_and_built_in_names():
    compare = spec(metrics=["accuracy", "test_loss"], metric_names={"accuracy": "share right"})
    doc = analyse(collect(compare, runs_for({"baseline": 0.6, "neural": 0.8}, 5)), compare)
    assert " on share right " in doc["headline"]
    names = {m["key"]: m["name"] for m in doc["metrics"]}
    assert names == {"accuracy": "share right", "test_loss": "test loss"}
    summary = doc["systems"][0]["metrics"]
    assert summary["test_acc"]["name"] == "test accuracy"
    # A metric that is not a proportion keeps its own units.
    loss = next(m for m in doc["metrics"] if m["key"] == "test_loss")
    assert (loss["scale"], loss["scale_unit"]) == (1.0, "")


def test_a_single_comparison_never_mentions_an_adjustment_over_one():
    compare = spec()
    doc = analyse(collect(compare, runs_for({"baseline": 0.6, "neural": 0.8}, 5)), compare)
    text = json.dumps(doc) + render_verdicts(record(doc))
    assert "over 1 comparison" not in text and "family of 1" not in text
    assert "a single comparison, so no adjustment" in doc["families"][0]["summary"]


def test_several_candidates_recommend_the_best_and_count_the_rest():
    compare = CompareSpec.model_validate(
        {
            "systems": {"base": {"role": "baseline"}, "good": {}, "bad": {}, "same": {}},
            "seeds": 5,
            "practical_threshold": 0.01,
        }
    )
    runs = runs_for({"base": 0.65, "good": 0.85, "bad": 0.4, "same": 0.65}, 5, rng_seed=2)
    doc = analyse(collect(compare, runs), compare)
    head = doc["headline"]
    assert head.startswith("Switch to good: it scored ")
    assert "(higher on all 5 seeds; 9" in head and "interval adjusted for 3 comparisons" in head
    assert head.endswith("Of 3 systems compared with base on accuracy: 1 better, 1 worse, 1 "
                         "too close to call.")  # fmt: skip
    table = render_verdicts(record(doc))
    assert "Holm over 3 comparisons, alpha 0.05" in table.splitlines()[0]
    assert "Intervals are adjusted for the family like the verdicts" in table
    assert "Letters: systems sharing a letter cannot be told apart" in table


def test_identical_runs_mark_a_system_deterministic():
    compare = spec()
    runs = runs_for({"baseline": 0.6, "neural": 0.75}, 5, deterministic="baseline")
    data = collect(compare, runs)
    rows = data.metrics["accuracy"].values["baseline"]
    assert np.array_equal(rows, np.broadcast_to(rows[0], rows.shape))
    doc = analyse(data, compare)
    base = next(s for s in doc["systems"] if s["name"] == "baseline")
    assert base["deterministic"] is True
    assert "(deterministic)" in render_verdicts(record(doc))


def test_statistics_caveats_name_both_systems():
    text = "only 2 (A) and 5 (B) training seeds; all 5 runs of B are identical"
    assert named(text, "CNN", "n-gram") == (
        "only 2 (CNN) and 5 (n-gram) training seeds; all 5 runs of n-gram are identical"
    )
    assert named("A, the system with fewer runs, varies", "CNN", "x") == (
        "CNN, the system with fewer runs, varies"
    )
    # The article "A" at the start of a sentence is left alone.
    assert named("A system whose runs are identical", "CNN", "x") == (
        "A system whose runs are identical"
    )


@pytest.mark.parametrize(
    "value,text",
    [
        (0.00015, "+0.01 points"),  # an interval end just above 0 keeps its sign
        (-0.00015, "-0.01 points"),
        (0.0, "+0.0 points"),
        (-0.0, "+0.0 points"),  # never "-0.0"
        (-0.066, "-6.6 points"),
        (4e-5, "+0.004 points"),
    ],
)
def test_a_difference_that_rounds_to_zero_keeps_its_sign(value, text):
    from loclab.compare._display import signed_text

    assert signed_text(value, 100.0, 1, "points") == text


def test_per_seed_evidence_pairs_every_seed_with_a_deterministic_baseline():
    """A deterministic baseline ran 2 of 5 seeds; its run stands for every seed, as the answer
    says ("lower on all 5 seeds"), so the per-seed tests cover all 5 seeds, not the 2 shared."""
    compare = spec()
    runs = runs_for({"baseline": 0.75, "neural": 0.45}, 5, deterministic="baseline")
    runs = [r for r in runs if not (r.system == "baseline" and r.seed >= 2)]
    doc = analyse(collect(compare, runs), compare)
    [c] = doc["comparisons"]
    assert c["deterministic"] == {"system": False, "baseline": True}
    assert c["seed_agreement"]["of"] == 5
    assert [row["seed"] for row in c["per_seed"]["rows"]] == [0, 1, 2, 3, 4]
    assert "beyond chance on 5 of 5 seeds" in c["per_seed"]["summary"]
    assert "lower on all 5 seeds" in doc["headline"]


def test_too_close_with_enough_data_to_detect_the_threshold_asks_for_what_settles_it():
    """MT engines: LMU-nmt-reranked +0.51 BLEU (-0.03 to +1.05), power 98% at 1 point. The next
    step is the number of sentences that narrows the interval (more than the 3,004 used), and
    nothing about seeds: the engines' outputs were given, not trained here."""
    from loclab.compare._advice import next_step
    from loclab.compare._display import Display
    from loclab.stats import TestResult

    compare = CompareSpec.model_validate({"baseline": "LIUM-NMT", "unit": "test sentences"})
    assert compare.discovered
    result = TestResult(estimate=0.51, ci=(-0.03, 1.05), p_value=0.0099, n=3004, method="ar")
    verdict = {
        "decision": "too close to call", "threshold": 1.0, "estimate": 0.51,
        "ci": (-0.03, 1.05), "mde": 0.76, "family_size": 15, "alpha": 0.05,
        "correction": "holm", "higher_is_better": True, "sentence": "",
    }  # fmt: skip
    step = next_step(verdict, result, "corpus", (None, None), (1, 1), compare, "",
                     Display("BLEU", 1.0, "points", 2))  # fmt: skip
    assert step["text"].startswith("use about 3,368 test sentences (now 3,004), enough for ")
    assert "seeds" not in step["text"] and step["examples"] == 3368
