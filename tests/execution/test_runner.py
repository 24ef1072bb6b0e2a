"""Real jobs: the probe notebook through Papermill kernels, tracked in a real SQLite store."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from loclab.execution.backends import LocalBackend
from loclab.execution.job import JobRequest, JobState, read_status
from loclab.execution.runner import JobRunner
from loclab.params import encode_value, inspect_notebook
from loclab.paths import StateDir
from loclab.tracking import Tracker


@pytest.fixture
def runner(tmp_path: Path, mlflow_db: Path) -> JobRunner:
    state = StateDir(tmp_path / "state")
    state.root.mkdir()
    shutil.copy(mlflow_db, state.mlflow_db)
    tracker = Tracker.for_state(state, tags={"loclab.git_sha": "test"})
    parent = tracker.start_run("probe", "parent")
    return JobRunner(LocalBackend(threads_per_job=1), state.runs("probe"), tracker, parent)


def request(notebook: Path, name: str = "probe-job", timeout: float | None = None, **params):
    declared = inspect_notebook(notebook)
    return JobRequest(
        name=name,
        experiment="probe",
        notebook=notebook,
        hyperparameters={k: encode_value(v) for k, v in params.items()},
        params={**declared.defaults(), **params},
        timeout=timeout,
        tags={"loclab.system": "probe"},
    )


def mlflow_run(runner: JobRunner, run_id: str):
    return MlflowClient(runner.tracker.tracking_uri).get_run(run_id)


def test_success(runner, probe_template):
    result = runner.run(request(probe_template, x=2.5, tags=["p", "q"], settings={"k": 1}))
    assert result.state == JobState.COMPLETED, result.failure
    layout = result.layout
    hp = json.loads(layout.hyperparameters_file.read_text())
    assert hp == {"x": "2.5", "tags": '["p", "q"]', "settings": '{"k": 1}'}
    assert (layout.model_dir / "model.txt").read_text() == "2.5"
    assert result.predictions.exists()
    assert not layout.failure_file.exists()
    executed = json.loads(result.executed_notebook.read_text())
    injected = [
        c for c in executed["cells"] if "injected-parameters" in c["metadata"].get("tags", [])
    ]
    assert "x = 2.5" in "".join(injected[0]["source"])
    assert 'tags = ["p", "q"]' in "".join(injected[0]["source"])
    # The kernel saw the job's name through TRAINING_JOB_NAME.
    assert "probe-job" in json.dumps(executed["cells"][3]["outputs"])
    assert result.final_metrics() == {
        "test_score": pytest.approx(2.8),
        "test_acc": pytest.approx(2 / 3),
    }
    status = read_status(result.run_dir)
    assert status["state"] == "COMPLETED" and status["key"] == result.key

    run = mlflow_run(runner, result.mlflow_run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["x"] == "2.5"
    assert run.data.tags["loclab.data_fingerprint"] == "probe-data"
    assert run.data.tags["mlflow.parentRunId"] == runner.parent_run_id
    assert run.data.tags["loclab.git_sha"] == "test"
    history = MlflowClient(runner.tracker.tracking_uri).get_metric_history(
        run.info.run_id, "val_score"
    )
    assert [m.step for m in history] == [0, 1, 2]
    artifacts = {
        a.path
        for a in MlflowClient(runner.tracker.tracking_uri).list_artifacts(
            run.info.run_id, "output"
        )
    }
    assert "output/executed.ipynb" in artifacts
    # Stored notebooks stay small.
    assert result.executed_notebook.stat().st_size < 50_000


def test_reuse_completed_job(runner, probe_template):
    first = runner.run(request(probe_template, x=1.0))
    again = runner.run(request(probe_template, x=1.0))
    assert again.cached and again.mlflow_run_id == first.mlflow_run_id
    other = runner.run(request(probe_template, x=1.5), reuse=True)
    assert not other.cached and other.state == JobState.COMPLETED
    # The earlier (different) run of the same job name is kept aside, not deleted.
    assert (runner.runs_root / ".attempts" / "probe-job.1" / "status.json").exists()


def test_raising_cell(runner, probe_template):
    result = runner.run(request(probe_template, mode="raise"))
    assert result.state == JobState.FAILED
    assert result.failure == "cell 5 (In [5]) raised ValueError: boom from the probe"
    text = result.layout.failure_file.read_text()
    assert text.startswith("cell 5 (In [5]) raised ValueError") and "Traceback" not in text[:50]
    executed = json.loads(result.executed_notebook.read_text())
    assert any(
        o.get("ename") == "ValueError" for c in executed["cells"] for o in c.get("outputs", [])
    )
    assert mlflow_run(runner, result.mlflow_run_id).info.status == "FAILED"
    assert mlflow_run(runner, result.mlflow_run_id).data.tags["loclab.failure"] == result.failure


def test_kernel_death(runner, probe_template):
    result = runner.run(request(probe_template, mode="die"))
    assert result.state == JobState.FAILED
    # The execution count is there only when the kernel acknowledged the cell before dying.
    assert result.failure in (
        "kernel died while running cell 5",
        "kernel died while running cell 5 (In [5])",
    )
    executed = json.loads(result.executed_notebook.read_text())
    # The partial notebook keeps the cells that ran: the per-epoch metric lines are there.
    assert "val_score" in json.dumps(executed["cells"][4]["outputs"])
    run = mlflow_run(runner, result.mlflow_run_id)
    assert run.info.status == "FAILED"
    assert "output/executed.ipynb" in {
        a.path
        for a in MlflowClient(runner.tracker.tracking_uri).list_artifacts(
            run.info.run_id, "output"
        )
    }


def test_timeout(runner, probe_template):
    started = time.time()
    result = runner.run(request(probe_template, mode="sleep", timeout=6))
    assert result.state == JobState.TIMEOUT
    assert result.failure.startswith("timed out after 6 s")
    assert time.time() - started < 40
    assert result.executed_notebook.exists()
    assert mlflow_run(runner, result.mlflow_run_id).info.status == "FAILED"
    assert read_status(result.run_dir)["state"] == "TIMEOUT"


def test_stop_running_job(runner, probe_template):
    job = runner.start(request(probe_template, epochs=50, sleep_s=0.2))
    deadline = time.time() + 60
    while len(job.metrics()) < 2 and time.time() < deadline:
        time.sleep(0.2)
    assert len(job.metrics()) >= 2
    job.stop(JobState.STOPPED)
    result = runner.finish(job)
    assert result.state == JobState.STOPPED
    assert mlflow_run(runner, result.mlflow_run_id).info.status == "KILLED"
    # A stopped job is never mistaken for a completed one, so it is not reused.
    assert runner.cached(request(probe_template, epochs=50, sleep_s=0.2)) is None


def test_unknown_hyperparameter_rejected_inside_the_job(runner, probe_template):
    bad = request(probe_template)
    bad = JobRequest(**{**bad.__dict__, "hyperparameters": {"nope": "1"}})
    result = runner.run(bad)
    assert result.state == JobState.FAILED
    assert result.failure == "invalid job: hyperparameter 'nope' is not a parameter of probe.ipynb"
