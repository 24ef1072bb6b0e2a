"""The records: one reader and one atomic writer each, typed round trips, clear refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loclab.paths import StateDir
from loclab.results import (
    ComparisonRecord,
    EpochMetrics,
    ExperimentResults,
    JobRecord,
    JobsRecord,
    RecordError,
    SweepRecord,
    TrialRecord,
    Winner,
)
from loclab.spec import Spec

SPEC = Spec.model_validate(
    {
        "name": "demo",
        "notebook": "nb.ipynb",
        "params": {"lr": 0.01},
        "report": {"title": "Demo", "audience": "researchers"},
    }
)


def store(tmp_path: Path) -> ExperimentResults:
    return ExperimentResults(StateDir(tmp_path / ".loclab"), "demo")


def jobs_record() -> JobsRecord:
    job = JobRecord(
        name="demo-a-s0",
        state="COMPLETED",
        system="a",
        seed=0,
        metrics={"test_acc": 0.75},
        epochs=[EpochMetrics(step=0, metrics={"val_acc": 0.6})],
    )
    return JobsRecord(
        experiment="demo", spec_path="experiments/demo.yaml", spec=SPEC, started=1.0, jobs=[job]
    )


def test_jobs_record_round_trip_keeps_the_spec_typed(tmp_path):
    records = store(tmp_path)
    assert records.read_jobs() is None and not records.exists()
    path = records.write_jobs(jobs_record())
    assert path == tmp_path / ".loclab/results/demo/jobs.json"
    back = records.read_jobs()
    assert back == jobs_record()
    assert isinstance(back.spec, Spec) and back.spec.report.audience == "researchers"
    assert back.jobs[0].ok and back.job("demo-a-s0") is back.jobs[0]
    data = json.loads(path.read_text())
    assert data["schema"] == "loclab.jobs/2" and "spec_as_run" not in data
    # The writer leaves no temporary file behind.
    assert sorted(p.name for p in path.parent.iterdir()) == ["jobs.json"]


def test_sweep_record_ranks_winners(tmp_path):
    record = SweepRecord(
        experiment="demo",
        study_name="demo",
        storage="x.journal",
        storage_kind="journal",
        metric="val_acc",
        direction="maximize",
        n_trials=2,
        winners=[
            Winner(rank=1, number=1, value=0.8, params={"lr": 0.1}),
            Winner(rank=2, number=0, value=0.7, params={"lr": 0.01}),
        ],
        trials=[TrialRecord(number=0, state="COMPLETE", value=0.7, intermediate={0: 0.6})],
    )
    store(tmp_path).write_sweep(record)
    back = store(tmp_path).read_sweep()
    assert back == record and back.best == record.winners[0]
    assert back.winner(2).params == {"lr": 0.01} and back.winner(3) is None
    assert back.trials[0].intermediate == {0: 0.6}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", r"jobs\.json: damaged \(.*\); run the experiment again"),
        ("[1, 2]", r"jobs\.json: damaged \(not a JSON object\)"),
        ('{"schema": "loclab.jobs/1"}', r"written by another version of loclab \(schema "
         r"loclab\.jobs/1; this version reads loclab\.jobs/2\)"),
        ('{"experiment": "demo"}', r"schema none"),
        ('{"schema": "loclab.jobs/2", "experiment": "demo"}', r"jobs\.json: damaged \(spec_path"),
    ],
)  # fmt: skip
def test_a_damaged_record_is_one_line_naming_the_file(tmp_path, content, expected):
    records = store(tmp_path)
    records.folder.mkdir(parents=True)
    records.jobs_file.write_text(content)
    with pytest.raises(RecordError, match=expected) as err:
        records.read_jobs()
    assert "\n" not in str(err.value) and str(records.jobs_file) in str(err.value)
    assert err.value.exit_code == 2


def test_comparison_record_keeps_the_statistics_fields(tmp_path):
    data = {
        "experiment": "demo", "created": "2026-12-01T00:00:00+0000", "mode": "jobs",
        "baseline": "a", "baseline_label": "A", "primary_metric": "accuracy", "alpha": 0.05,
        "correction": "holm", "family_size": 1,
        "metrics": [{"key": "accuracy", "name": "accuracy", "source": "predictions",
                     "kind": "binary", "role": "confirmatory"}],
        "systems": [{"name": "a", "label": "A", "role": "baseline", "n_seeds": 1}],
        "families": [], "headline": "h",
        "comparisons": [{"system": "b", "baseline": "a", "system_label": "B",
                         "baseline_label": "A", "metric": "accuracy", "metric_name": "accuracy",
                         "family": "confirmatory", "label": "better", "estimate": 0.1,
                         "ci": [0.05, None], "odds_ratio": 2.5}],
    }  # fmt: skip
    record = ComparisonRecord.model_validate(data)
    store(tmp_path).write_comparison(record, "table\n")
    back = store(tmp_path).read_comparison()
    assert back == record and back.confirmatory[0].model_extra == {"odds_ratio": 2.5}
    assert back.label_of("a") == "A" and back.label_of("zz") == "zz"
    assert store(tmp_path).table_file.read_text() == "table\n"


def test_kept_notebooks_are_scrubbed_copies(tmp_path):
    source = tmp_path / "executed.ipynb"
    secret = "password=" + "hunter2-x"
    source.write_text(
        json.dumps(
            {"cells": [{"cell_type": "markdown", "metadata": {}, "source": secret}],
             "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
        )
    )  # fmt: skip
    records = store(tmp_path)
    relative = records.keep_notebook("demo/t 1", source)
    assert relative == "notebooks/demo_t_1.ipynb"
    kept = (records.folder / relative).read_text()
    assert "hunter2-x" not in kept and "hunter2-x" in source.read_text()
    assert records.keep_notebook("missing", tmp_path / "nope.ipynb") is None
