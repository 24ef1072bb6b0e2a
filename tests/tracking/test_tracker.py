"""What reaches MLflow: secrets never do, local files stay as they were."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from loclab.execution.contract import JobLayout
from loclab.execution.job import JobResult, JobState
from loclab.paths import StateDir
from loclab.tracking import Tracker


def test_secrets_are_scrubbed_from_params_tags_and_artifacts(tmp_path: Path, mlflow_db: Path):
    state = StateDir(tmp_path / "state")
    state.root.mkdir()
    shutil.copy(mlflow_db, state.mlflow_db)
    key_id = "AKIA" + "Q" * 16  # built at run time: no key-looking literal in the repository
    tracker = Tracker.for_state(state, tags={"loclab.git_sha": "abc"})
    run_id = tracker.start_run(
        "probe",
        "r",
        tags={"note": f"uploaded with {key_id}"},
        params={"db_password": "hunter2hunter2", "lr": 0.1, "remark": f"key {key_id}"},
    )
    spec = tmp_path / "spec.yaml"
    original = f"name: probe\nparams:\n  access: {key_id}\n"
    spec.write_text(original)
    tracker.log_artifact(run_id, spec, "spec")

    client = MlflowClient(tracker.tracking_uri)
    run = client.get_run(run_id)
    assert run.data.params["db_password"] == "[REDACTED]"
    assert run.data.params["lr"] == "0.1"
    assert key_id not in run.data.params["remark"]
    assert key_id not in run.data.tags["note"]
    assert run.data.tags["loclab.git_sha"] == "abc"
    logged = Path(client.download_artifacts(run_id, "spec/spec.yaml", str(tmp_path / "dl")))
    assert key_id not in logged.read_text()
    assert "[REDACTED]" in logged.read_text()
    assert spec.read_text() == original


def _stopped_job(tmp_path: Path, run_id: str) -> JobResult:
    """A trial stopped (pruned) after it reported two epochs to metrics.jsonl."""
    run_dir = tmp_path / "job"
    layout = JobLayout(run_dir)
    layout.create()
    records = [
        {"step": 0, "metrics": {"val_acc": 0.61}},
        {"step": 1, "metrics": {"val_acc": 0.64}},
        {"step": None, "metrics": {"test_acc": 0.6}},
    ]
    layout.metrics_file.write_text("".join(json.dumps(r) + "\n" for r in records))
    return JobResult(name="t0", state=JobState.STOPPED, run_dir=run_dir, key="k",
                     mlflow_run_id=run_id)  # fmt: skip


@pytest.fixture
def tracker(tmp_path: Path, mlflow_db: Path) -> Tracker:
    """A tracker over a fresh SQLite store."""
    state = StateDir(tmp_path / "state")
    state.root.mkdir()
    shutil.copy(mlflow_db, state.mlflow_db)
    return Tracker.for_state(state)


def test_finish_fills_in_epochs_the_kernel_did_not_log(tmp_path: Path, tracker: Tracker):
    # The driver can stop a pruned trial between its report to metrics.jsonl and its logger's
    # write to MLflow: the run still gets the per-epoch history the trial reported.
    run_id = tracker.start_run("probe", "t0")
    tracker.finish_job(_stopped_job(tmp_path, run_id))

    client = MlflowClient(tracker.tracking_uri)
    history = client.get_metric_history(run_id, "val_acc")
    assert [(m.step, m.value) for m in sorted(history, key=lambda m: m.step)] == [
        (0, 0.61),
        (1, 0.64),
    ]
    assert client.get_run(run_id).data.metrics["test_acc"] == 0.6


def test_finish_does_not_repeat_what_the_kernel_logged(tmp_path: Path, tracker: Tracker):
    run_id = tracker.start_run("probe", "t0")
    tracker.log_metrics(run_id, {"val_acc": 0.61}, step=7)  # Lightning logs at global steps
    tracker.finish_job(_stopped_job(tmp_path, run_id))

    history = MlflowClient(tracker.tracking_uri).get_metric_history(run_id, "val_acc")
    assert [(m.step, m.value) for m in history] == [(7, 0.61)]


def test_experiments_open_on_mlflow_3s_runs_view(tmp_path: Path, mlflow_db: Path):
    """MLflow 3's UI opens an experiment by its ``mlflow.experimentKind`` tag (GenAI otherwise)."""
    from loclab.tracking.tracker import EXPERIMENT_KIND, EXPERIMENT_KIND_TAG

    state = StateDir(tmp_path / "state")
    state.root.mkdir()
    shutil.copy(mlflow_db, state.mlflow_db)
    client = MlflowClient(f"sqlite:///{state.mlflow_db}")
    older = client.create_experiment("older")  # made before loclab tagged its experiments
    tracker = Tracker.for_state(state)
    created = tracker.experiment_id("fresh")
    assert tracker.experiment_id("older") == older
    for exp_id in (created, older):
        tags = client.get_experiment(exp_id).tags
        assert tags[EXPERIMENT_KIND_TAG] == EXPERIMENT_KIND == "custom_model_development"
