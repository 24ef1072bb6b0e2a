"""An interactive run as one more candidate: its test, its caveat, its place in the answer.

The runs' outputs are synthetic (seeded 0/1 correctness); the interactive run is a real
record with its predictions file, read through :func:`loclab.compare.interactive.load_system`.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loclab.compare import RunOutput, analyse, collect, render_verdicts
from loclab.compare.interactive import (
    InteractiveSystem,
    default_names,
    load_system,
    metric_problems,
    pairing_problems,
)
from loclab.io import jsonable
from loclab.paths import StateDir
from loclab.results import ComparisonRecord, InteractiveRecord, InteractiveRuns
from loclab.spec import CompareSpec

N = 400


def frame(correct: np.ndarray, ids: np.ndarray | None = None) -> pd.DataFrame:
    label = (np.arange(correct.size) % 2).astype(int)
    return pd.DataFrame(
        {
            "example_id": ids if ids is not None else np.array([f"ex{i}" for i in range(N)]),
            "label": label,
            "prediction": np.where(correct == 1, label, 1 - label),
            "score": np.linspace(0, 1, correct.size),
        }
    )


def jobs(probs: dict[str, float], seeds: int, rng: np.random.Generator) -> list[RunOutput]:
    out = []
    for system, p in probs.items():
        for seed in range(seeds):
            correct = (rng.random(N) < p).astype(int)
            metrics = {"test_acc": float(correct.mean())}
            out.append(RunOutput(system, seed, f"exp-{system}-s{seed}", frame(correct), metrics))
    return out


def by_hand(
    tmp_path: Path, correct: np.ndarray, *, name: str = "nb-20261201-101500", **frame_args
) -> InteractiveSystem:
    """A finished interactive run with its predictions, stored and read as loclab does."""
    runs = InteractiveRuns(StateDir(tmp_path / "state"))
    folder = runs.run_dir(name)
    path = folder / "output" / "data" / "predictions.parquet"
    path.parent.mkdir(parents=True)
    predictions = frame(correct, **frame_args)
    predictions.to_parquet(path, index=False)
    record = InteractiveRecord(
        name=name,
        notebook=str(tmp_path / "nb.ipynb"),
        project_root=str(tmp_path),
        status="FINISHED",
        started=time.time(),
        ended=time.time(),
        params={"hidden": 32, "lr": 0.003, "seed": 7},
        metrics={"test_acc": float(correct.mean())},
        run_dir=str(folder),
        predictions=str(path),
    )
    runs.write(record)
    stored = runs.read(name)
    assert stored is not None
    return load_system(
        stored,
        name=default_names(stored)[0],
        label=default_names(stored)[0],
        notebook="nb.ipynb",
        baseline_params={"hidden": 16, "lr": 0.003, "seed": 0},
        ignore={"seed"},
    )


def record(data, compare) -> ComparisonRecord:
    return ComparisonRecord.model_validate(
        jsonable({"experiment": "x", "created": "now", "mode": "jobs", **analyse(data, compare)})
    )


def test_an_interactive_run_is_tested_on_examples_and_marked(tmp_path: Path):
    rng = np.random.default_rng(0)
    compare = CompareSpec.model_validate(
        {"systems": {"base": {"role": "baseline"}, "cand": {}}, "seeds": 3}
    )
    hand = by_hand(tmp_path, (rng.random(N) < 0.85).astype(int))
    assert hand.name == "interactive-101500"
    assert hand.source.params == {"hidden": 32} and hand.source.baseline_params == {"hidden": 16}
    assert metric_problems(hand, compare) == []
    data = collect(compare, jobs({"base": 0.6, "cand": 0.6}, 3, rng), interactive=[hand])
    assert list(data.systems) == ["base", "cand", hand.name]
    doc = record(data, compare)

    # One family, the same correction: the interactive run is one more comparison in it.
    assert doc.family_size == 2
    entry = next(c for c in doc.confirmatory if c.system == hand.name)
    jobs_entry = next(c for c in doc.confirmatory if c.system == "cand")
    assert entry.interactive and not jobs_entry.interactive
    # One run against three: the test covers examples only (the seeds test needs 2 + 2).
    assert jobs_entry.kind == "seeds" and entry.kind == "continuous"
    assert entry.n_seeds == {"system": 1, "baseline": 3}
    assert entry.outcome == "better"
    assert entry.design_caveat.startswith(f"{hand.name} is an interactive run")
    assert "training noise is not measured" in entry.design_caveat
    assert not any(w.startswith("Only one training run") for w in entry.warnings)

    summary = doc.system(hand.name)
    assert summary is not None and summary.interactive is not None
    assert summary.interactive.run == "nb-20261201-101500"
    assert summary.interactive.test.startswith("on examples only: paired permutation test")
    assert "baseline averaged over its 3 runs" in summary.interactive.test
    # The answer recommends among the spec's systems; the run by hand is reported, not chosen.
    assert doc.answer is not None and doc.answer.use in ("base", "cand")
    assert f"Switch to {hand.name}" not in doc.headline
    assert f"Run by hand, {hand.name} scored" in doc.headline
    assert "confirm it as jobs over seeds before switching" in doc.headline

    table = render_verdicts(doc)
    assert f"{hand.name}*" in table
    said = " ".join(table.split())
    assert f"* Interactive run {hand.name}: nb.ipynb run by hand" in said
    assert "hidden=32 (baseline 16)" in said and "training noise is not measured" in said


def test_interactive_runs_are_not_ranked_and_a_seeds_test_falls_back(tmp_path: Path):
    rng = np.random.default_rng(1)
    compare = CompareSpec.model_validate(
        {
            "systems": {"a": {"role": "baseline"}, "b": {}, "c": {}},
            "seeds": 2,
            "test": "two_level_bootstrap",
        }
    )
    hand = by_hand(tmp_path, (rng.random(N) < 0.6).astype(int))
    data = collect(compare, jobs({"a": 0.6, "b": 0.6, "c": 0.7}, 2, rng), interactive=[hand])
    doc = record(data, compare)
    assert doc.ranking is not None and hand.name not in doc.ranking.systems
    assert sorted(doc.ranking.systems) == ["a", "b", "c"]
    assert any(w.startswith("Interactive runs are not ranked") for w in doc.warnings)
    kinds = {c.system: c.kind for c in doc.confirmatory}
    assert kinds == {"b": "seeds", "c": "seeds", hand.name: "continuous"}
    assert doc.family_size == 3
    table = render_verdicts(doc)
    row = next(line for line in table.splitlines() if f"{hand.name}*" in line)
    assert row.split()[0] == "–"  # no rank


def test_a_per_run_metric_is_tested_against_the_baselines_runs(tmp_path: Path):
    rng = np.random.default_rng(2)
    systems = {"base": {"role": "baseline"}, "cand": {}}
    compare = CompareSpec.model_validate({"systems": systems, "seeds": 3, "metrics": ["test_acc"]})
    hand = by_hand(tmp_path, (rng.random(N) < 0.7).astype(int))
    data = collect(compare, jobs({"base": 0.6, "cand": 0.6}, 3, rng), interactive=[hand])
    doc = record(data, compare)
    entry = next(c for c in doc.confirmatory if c.interactive)
    assert entry.kind == "seed_level"
    assert "assuming it varies from seed to seed as base does" in entry.design_caveat
    summary = doc.system(hand.name)
    assert summary is not None and summary.interactive is not None
    assert summary.interactive.test.startswith("on its one value against the baseline's 3 runs")


def test_what_the_run_lacks_is_named(tmp_path: Path):
    hand = by_hand(tmp_path, np.ones(N, dtype=int))
    compare = CompareSpec.model_validate(
        {
            "systems": {"base": {"role": "baseline"}, "cand": {}},
            "metrics": ["accuracy", "test_f1"],
            "breakdowns": ["locale"],
        }
    )
    problems = metric_problems(hand, compare)
    assert len(problems) == 2
    assert problems[0].startswith("it has no 'test_f1', which compare.metrics compares")
    assert "final metrics: test_acc" in problems[0]
    assert "no 'locale' column" in problems[1]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"ids": np.array([f"other{i}" for i in range(N)])}, "cover other test examples"),
        ({"flip": True}, "gold labels differ from exp-base-s0's on 400 of 400"),
        ({"tags": ("loclab.data_fingerprint", "aaa", "bbb")}, "it read other data"),
        ({}, ""),
    ],
)
def test_a_different_test_set_is_refused(tmp_path: Path, change: dict, expected: str):
    correct = np.ones(N, dtype=int)
    hand = by_hand(tmp_path, correct, ids=change.get("ids"))
    base = RunOutput("base", 0, "exp-base-s0", frame(correct), {})
    if change.get("flip"):
        flipped = frame(correct)
        flipped["label"] = 1 - flipped["label"]
        base = RunOutput("base", 0, "exp-base-s0", flipped, {})
    tags: dict[str, str] = {}
    if "tags" in change:
        tag, mine, theirs = change["tags"]
        hand = InteractiveSystem(**{**hand.__dict__, "tags": {tag: mine}})
        tags = {tag: theirs}
    found = pairing_problems(hand, base, tags)
    if expected:
        (line,) = found
        assert expected in line
    else:
        assert found == []
