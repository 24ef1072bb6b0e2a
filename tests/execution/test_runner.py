"""One job-runner suite over every backend: real probe jobs, tracked in a real SQLite store.

As Optuna runs one storage suite over every storage (``STORAGE_MODES``), every test here runs
once per entry of :data:`BACKENDS`: ``local`` (a process per job, a Papermill kernel each) and
``sagemaker`` (the SageMaker backend against the loopback moto server, the
``TrainingJobEmulator`` running each training job under the container contract). The contract
is asserted once for both: the final state and its failure line, the partial executed notebook
kept, the MLflow run's status and artifacts, ``status.json``, and reuse of COMPLETED jobs only.
What differs by design (the model stays in S3; SageMaker's own view of a job) is asserted in a
branch on the backend. SageMaker-only behaviour is in test_sagemaker_backend.py.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from loclab.execution.backends import LocalBackend
from loclab.execution.backends.sagemaker import SageMakerBackend
from loclab.execution.job import JobRequest, JobResult, JobState, read_status
from loclab.execution.runner import JobRunner, RunningJob
from loclab.params import encode_value, inspect_notebook
from loclab.paths import StateDir
from loclab.testing.emulator import TrainingJobEmulator, dumps_job
from loclab.tracking import Tracker

#: Every backend the suite runs over (the ``runner`` fixture builds each). An emulated SageMaker
#: job takes several times as long as a local one (S3 staging, the emulated instance's start,
#: its outputs and log brought home), hence ``slow``.
BACKENDS = ["local", pytest.param("sagemaker", marks=pytest.mark.slow)]


@pytest.fixture(params=BACKENDS)
def backend_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def emulator_or_none(
    backend_name: str, request: pytest.FixtureRequest
) -> TrainingJobEmulator | None:
    """The training-job emulator (and its clean moto server) for ``sagemaker``; None else."""
    if backend_name != "sagemaker":
        return None
    emulator: TrainingJobEmulator = request.getfixturevalue("emulator")
    return emulator


@pytest.fixture
def runner(
    backend_name: str,
    emulator_or_none: TrainingJobEmulator | None,
    tmp_path: Path,
    mlflow_db: Path,
) -> JobRunner:
    state = StateDir(tmp_path / "state")
    state.root.mkdir()
    shutil.copy(mlflow_db, state.mlflow_db)
    tracker = Tracker.for_state(state, tags={"loclab.git_sha": "test"})
    parent = tracker.start_run("probe", "parent")
    if emulator_or_none is None:
        backend: LocalBackend | SageMakerBackend = LocalBackend(threads_per_job=1)
    else:
        backend = SageMakerBackend(
            emulator_or_none.server.settings(),
            project_root=tmp_path,
            poll_interval_s=0.2,
            metrics_interval_s=0.2,
            collect_timeout_s=60,
        )
    assert backend.name == backend_name
    return JobRunner(backend, state.runs("probe"), tracker, parent)


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


def artifacts(runner: JobRunner, run_id: str) -> set[str]:
    client = MlflowClient(runner.tracker.tracking_uri)
    found = {a.path for a in client.list_artifacts(run_id)}
    return found | {a.path for a in client.list_artifacts(run_id, "output")}


def executed_cells(result: JobResult) -> list[dict]:
    return json.loads(result.executed_notebook.read_text())["cells"]


def epoch_outputs(result: JobResult) -> str:
    """The outputs of the probe's epoch loop, as JSON.

    The cell is found by its source: papermill puts an error banner cell at the top of a
    notebook that failed.
    """
    cells = [c for c in executed_cells(result) if "".join(c["source"]).startswith("for epoch")]
    assert len(cells) == 1
    return json.dumps(cells[0]["outputs"])


def assert_recorded(
    runner: JobRunner, result: JobResult, mlflow_status: str, *, executed: bool = True
) -> None:
    """What every ended job leaves, whatever its state: status.json last, the MLflow run.

    ``executed`` is False for a job refused before its notebook started.
    """
    status = read_status(result.run_dir)
    assert status["state"] == str(result.state) and status["key"] == result.key
    assert status["backend"] == runner.backend.name
    assert status["failure"] == result.failure
    run = mlflow_run(runner, result.mlflow_run_id)
    assert run.info.status == mlflow_status
    assert run.data.tags["loclab.state"] == str(result.state)
    assert run.data.tags["mlflow.parentRunId"] == runner.parent_run_id
    found = artifacts(runner, result.mlflow_run_id)
    assert "job.log" in found
    assert ("output/executed.ipynb" in found) == executed
    if result.state == JobState.COMPLETED:
        assert result.failure is None and "loclab.failure" not in run.data.tags
        assert "output/failure" not in found
    else:
        assert run.data.tags["loclab.failure"] == result.failure
        assert "output/failure" in found


def test_success(runner, emulator_or_none, probe_template):
    result = runner.run(request(probe_template, x=2.5, tags=["p", "q"], settings={"k": 1}))
    assert result.state == JobState.COMPLETED, result.failure
    assert not result.cached
    layout = result.layout
    hp = json.loads(layout.hyperparameters_file.read_text())
    assert hp == {"x": "2.5", "tags": '["p", "q"]', "settings": '{"k": 1}'}
    assert result.predictions.exists()
    assert not layout.failure_file.exists()
    executed = executed_cells(result)
    injected = [c for c in executed if "injected-parameters" in c["metadata"].get("tags", [])]
    assert "x = 2.5" in "".join(injected[0]["source"])
    assert 'tags = ["p", "q"]' in "".join(injected[0]["source"])
    # The kernel saw the job's name through TRAINING_JOB_NAME.
    assert "probe-job" in json.dumps(executed[3]["outputs"])
    assert result.final_metrics() == {
        "test_score": pytest.approx(2.8),
        "test_acc": pytest.approx(2 / 3),
    }
    assert_recorded(runner, result, "FINISHED")

    run = mlflow_run(runner, result.mlflow_run_id)
    assert run.data.params["x"] == "2.5"
    assert run.data.tags["loclab.data_fingerprint"] == "probe-data"
    assert run.data.tags["loclab.git_sha"] == "test"
    history = MlflowClient(runner.tracker.tracking_uri).get_metric_history(
        run.info.run_id, "val_score"
    )
    assert [m.step for m in history] == [0, 1, 2]
    assert "output/predictions.parquet" in artifacts(runner, result.mlflow_run_id)
    # Stored notebooks stay small.
    assert result.executed_notebook.stat().st_size < 50_000
    if emulator_or_none is None:
        assert (layout.model_dir / "model.txt").read_text() == "2.5"
    else:
        # The model stays in S3 (it can be large); its URI is on the run.
        assert not layout.model_dir.exists() or not any(layout.model_dir.iterdir())
        assert run.data.tags["loclab.sagemaker.model"].endswith("/probe-job/output/model.tar.gz")
        assert emulator_or_none.job("probe-job").status == "Completed"


def test_reuse_completed_job(runner, emulator_or_none, probe_template):
    first = runner.run(request(probe_template, x=1.0))
    assert first.state == JobState.COMPLETED, first.failure
    again = runner.run(request(probe_template, x=1.0))
    assert again.cached and again.mlflow_run_id == first.mlflow_run_id
    assert again.state == JobState.COMPLETED
    other = runner.run(request(probe_template, x=1.5), reuse=True)
    assert not other.cached and other.state == JobState.COMPLETED
    assert other.mlflow_run_id != first.mlflow_run_id
    assert_recorded(runner, other, "FINISHED")
    # The earlier (different) run of the same job name is kept aside, not deleted.
    assert (runner.runs_root / ".attempts" / "probe-job.1" / "status.json").exists()
    if emulator_or_none is not None:
        # SageMaker never reuses a name: the second launch of the job got the next one.
        assert emulator_or_none.create_requests == ["probe-job", "probe-job-r2"]


@pytest.mark.parametrize(
    ("tamper", "why"),
    [
        (lambda p: p.write_bytes(bytes(b ^ 1 for b in p.read_bytes())), "SHA-256 differs"),
        (lambda p: p.unlink(), "is missing"),
    ],
)
def test_a_job_whose_outputs_changed_is_not_reused(runner, probe_template, tamper, why):
    first = runner.run(request(probe_template, x=1.0))
    assert first.state == JobState.COMPLETED, first.failure
    assert runner.cached(request(probe_template, x=1.0)) is not None
    tamper(first.predictions)
    assert runner.cached(request(probe_template, x=1.0)) is None
    assert "output/data/predictions.parquet" in runner.damaged["probe-job"]
    assert why in runner.damaged["probe-job"]
    again = runner.run(request(probe_template, x=1.0))
    assert not again.cached and again.state == JobState.COMPLETED
    assert runner.cached(request(probe_template, x=1.0)) is not None


def test_raising_cell(runner, emulator_or_none, probe_template):
    result = runner.run(request(probe_template, mode="raise"))
    assert result.state == JobState.FAILED
    assert result.failure == "cell 5 (In [5]) raised ValueError: boom from the probe"
    text = result.layout.failure_file.read_text()
    assert text.startswith("cell 5 (In [5]) raised ValueError") and "Traceback" not in text[:50]
    # The partial notebook is kept, with the error where it happened.
    executed = executed_cells(result)
    assert any(o.get("ename") == "ValueError" for c in executed for o in c.get("outputs", []))
    assert "val_score" in epoch_outputs(result)
    assert_recorded(runner, result, "FAILED")
    if emulator_or_none is not None:
        # The same line as for a local job: SageMaker's FailureReason is output/failure.
        assert emulator_or_none.job("probe-job").failure_reason.startswith(result.failure)
    # A failed job is never reused: running it again runs it again.
    assert runner.cached(request(probe_template, mode="raise")) is None
    again = runner.run(request(probe_template, mode="raise"))
    assert not again.cached and again.mlflow_run_id != result.mlflow_run_id
    assert again.state == JobState.FAILED and again.failure == result.failure
    if emulator_or_none is not None:
        sent = json.loads((again.run_dir / "sagemaker.json").read_text())
        assert sent["training_job_name"] == "probe-job-r2"


def test_kernel_death(runner, emulator_or_none, probe_template):
    result = runner.run(request(probe_template, mode="die"))
    assert result.state == JobState.FAILED, (
        dumps_job(emulator_or_none.job("probe-job")) if emulator_or_none else result.failure
    )
    # The execution count is there only when the kernel acknowledged the cell before dying.
    assert result.failure in (
        f"kernel died while running cell 5{count} (killed or crashed; running out of memory is "
        "the usual cause)"
        for count in ("", " (In [5])")
    )
    # The partial notebook keeps the cells that ran: the per-epoch metric lines are there.
    assert "val_score" in epoch_outputs(result)
    assert_recorded(runner, result, "FAILED")
    assert runner.cached(request(probe_template, mode="die")) is None


def test_timeout(runner, probe_template):
    deadlines: list[float] = []
    running: list[float] = []

    def run_out_in_the_sleeping_cell(job: RunningJob) -> None:
        """Bring the deadline forward to 2 s after the notebook reported its epochs.

        A job's deadline counts from its launch, but how long a job takes to reach its cells
        depends on the machine's load (a kernel; on SageMaker also staging, the instance and
        the job's own MLflow store), and a job timed out before its first cell has no partial
        notebook to keep. Until then the deadline is held off.
        """
        if not deadlines:
            deadlines.append(job.deadline)
            assert job.deadline == pytest.approx(job.started + 60)
        if running:
            return
        if job.metrics():
            running.append(time.time())
            job.deadline = time.time() + 2
        else:
            job.deadline = time.time() + 60

    result = runner.run(
        request(probe_template, mode="sleep", timeout=60), on_poll=run_out_in_the_sleeping_cell
    )
    assert result.state == JobState.TIMEOUT
    assert result.failure.startswith("timed out after 60 s")
    # Stopped at its deadline, not left running until the cell ends (an hour).
    assert running and time.time() - running[0] < 40
    # The partial notebook is kept: the cells before the one that ran out of time.
    assert "val_score" in epoch_outputs(result)
    assert_recorded(runner, result, "FAILED")
    assert runner.cached(request(probe_template, mode="sleep", timeout=60)) is None


def test_stop_running_job(runner, emulator_or_none, probe_template):
    job = runner.start(request(probe_template, epochs=50, sleep_s=0.2))
    deadline = time.time() + 90
    while len(job.metrics()) < 2 and time.time() < deadline:
        time.sleep(0.2)
    assert len(job.metrics()) >= 2
    job.stop(JobState.STOPPED)
    result = runner.finish(job)
    assert result.state == JobState.STOPPED
    assert result.failure.startswith("stopped by loclab")
    # The entry point caught SIGTERM, interrupted the kernel and kept the partial notebook.
    assert "val_score" in epoch_outputs(result)
    assert_recorded(runner, result, "KILLED")
    # A stopped job is never mistaken for a completed one, so it is not reused.
    assert runner.cached(request(probe_template, epochs=50, sleep_s=0.2)) is None
    if emulator_or_none is not None:
        assert emulator_or_none.stop_requests == ["probe-job"]
        assert emulator_or_none.job("probe-job").status == "Stopped"


def test_unknown_hyperparameter_rejected_inside_the_job(runner, probe_template):
    bad = request(probe_template)
    bad = JobRequest(**{**bad.__dict__, "hyperparameters": {"nope": "1"}})
    result = runner.run(bad)
    assert result.state == JobState.FAILED
    assert result.failure == "invalid job: hyperparameter 'nope' is not a parameter of probe.ipynb"
    assert_recorded(runner, result, "FAILED", executed=False)


def test_a_new_empty_folder_in_a_channel_changes_its_fingerprint(tmp_path):
    from loclab.execution.job import _path_fingerprint

    (tmp_path / "2026-11-30").mkdir()
    (tmp_path / "2026-11-30" / "outputs.tsv").write_text("system\tsegment\ttext\n")
    before = _path_fingerprint(tmp_path)
    (tmp_path / "2026-12-07").mkdir()  # this week's snapshot, not filled yet
    assert _path_fingerprint(tmp_path) != before
