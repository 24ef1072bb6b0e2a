"""SageMaker-only behaviour of the SageMaker backend, offline (moto + the emulator).

What every backend does under the JobRunner (success, failures, timeout, stop, reuse) is in
test_runner.py. Here: a SageMaker job leaves the same run folder and MLflow run as a local
job; a launcher that crashed re-attaches to its job; what the container is given; a spec with
``backend: sagemaker`` runs with the project's code; the real notebook resumes after a spot
interruption.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from loclab.execution.backends import LocalBackend
from loclab.execution.backends.sagemaker import SageMakerBackend
from loclab.execution.job import JobRequest, JobState, read_metrics
from loclab.execution.runner import JobRunner
from loclab.params import encode_value, inspect_notebook
from loclab.paths import StateDir
from loclab.testing import write_notebook
from loclab.testing.aws import MotoServer
from loclab.testing.emulator import dumps_job
from loclab.tracking import Tracker

REPO = Path(__file__).resolve().parents[2]
TERM_QA = REPO / "notebooks" / "templates" / "train_term_qa.ipynb"


@pytest.fixture
def tracker(tmp_path: Path, mlflow_db: Path) -> tuple[Tracker, str, StateDir]:
    state = StateDir(tmp_path / "state")
    state.root.mkdir()
    shutil.copy(mlflow_db, state.mlflow_db)
    tracker = Tracker.for_state(state, tags={"loclab.git_sha": "test"})
    return tracker, tracker.start_run("probe", "parent"), state


def sagemaker(
    aws: MotoServer, root: Path, metric_names: tuple[str, ...] = (), **settings
) -> SageMakerBackend:
    return SageMakerBackend(
        aws.settings(**settings),
        project_root=root,
        metric_names=metric_names,
        poll_interval_s=0.2,
        metrics_interval_s=0.2,
        collect_timeout_s=60,
    )


def request(notebook: Path, name: str, **params) -> JobRequest:
    declared = inspect_notebook(notebook)
    return JobRequest(
        name=name,
        experiment="probe",
        notebook=notebook,
        hyperparameters={k: encode_value(v) for k, v in params.items()},
        params={**declared.defaults(), **params},
        tags={"loclab.system": "probe"},
    )


def run_dir(project: Path, name: str) -> Path:
    path = project / ".loclab" / "runs" / "probe" / name
    path.mkdir(parents=True)
    return path


def content(client: MlflowClient, run_id: str) -> dict:
    """What a reader of the MLflow run sees, minus what differs by design (names, times)."""
    run = client.get_run(run_id)
    artifacts = {a.path for a in client.list_artifacts(run_id)}
    artifacts |= {a.path for a in client.list_artifacts(run_id, "output")}
    history = {
        key: [(m.step, round(m.value, 9)) for m in client.get_metric_history(run_id, key)]
        for key in run.data.metrics
    }
    tags = {
        k: v
        for k, v in run.data.tags.items()
        if not k.startswith(("mlflow.runName", "loclab.job", "loclab.sagemaker", "loclab.backend"))
    }
    return {
        "status": run.info.status,
        "params": run.data.params,
        "metrics": {k: round(v, 9) for k, v in run.data.metrics.items()},
        "history": history,
        "tags": tags,
        "artifacts": artifacts,
    }


def test_a_sagemaker_job_leaves_the_same_mlflow_run_as_a_local_job(
    aws, emulator, tracker, probe_template, tmp_path
):
    tracker, parent, state = tracker
    local = JobRunner(LocalBackend(threads_per_job=1), state.runs("probe"), tracker, parent)
    remote = JobRunner(sagemaker(aws, tmp_path), state.runs("probe"), tracker, parent)
    # Both at once: the machine has two cores and each job mostly waits for its kernel.
    jobs = [
        local.start(request(probe_template, "probe-local", x=2.5, tags=["p"])),
        remote.start(request(probe_template, "probe-remote", x=2.5, tags=["p"])),
    ]
    while not all(job.done() for job in jobs):
        time.sleep(0.2)
    results = [local.finish(jobs[0]), remote.finish(jobs[1])]
    assert [r.state for r in results] == [JobState.COMPLETED] * 2, dumps_job(
        emulator.job("probe-remote")
    )
    assert results[0].final_metrics() == results[1].final_metrics()
    client = MlflowClient(tracker.tracking_uri)
    seen = [content(client, r.mlflow_run_id) for r in results]
    assert seen[0] == seen[1]
    assert seen[1]["status"] == "FINISHED"
    assert seen[1]["history"]["val_score"] == [(0, 2.5), (1, 2.6), (2, 2.7)]
    assert {"output/executed.ipynb", "output/predictions.parquet", "job.log"} <= seen[1][
        "artifacts"
    ]
    assert seen[1]["tags"]["loclab.data_fingerprint"] == "probe-data"
    tags = client.get_run(results[1].mlflow_run_id).data.tags
    assert tags["loclab.backend"] == "sagemaker"
    assert tags["loclab.sagemaker.job"] == "probe-remote"
    assert tags["loclab.sagemaker.status"] == "Completed"
    # The job could not reach the local SQLite store: it was not given the run...
    sent = json.loads((results[1].run_dir / "sagemaker.json").read_text())["request"]
    assert not any(k.startswith("MLFLOW_") for k in sent["Environment"])
    # ...it logged into a store of its own, which came home with its outputs and was copied
    # into the run above.
    assert sent["Environment"]["LOCLAB_MLFLOW_OFFLINE_DIR"] == "/opt/ml/output/data/.mlflow"
    assert not (results[1].run_dir / "output" / "data" / ".mlflow").exists()
    # ...and its run folder reads like a local one, but for the model: it stays in S3 (it can
    # be large) and its URI is on the run.
    local_files = {str(p.relative_to(results[0].run_dir)) for p in results[0].run_dir.rglob("*")}
    remote_files = {str(p.relative_to(results[1].run_dir)) for p in results[1].run_dir.rglob("*")}
    assert local_files - remote_files == {"model/model.txt"}
    assert tags["loclab.sagemaker.model"].endswith("/probe-remote/output/model.tar.gz")


def test_stop_and_attach_after_a_launcher_crash(aws, emulator, project):
    nb = project / "notebooks" / "probe.ipynb"
    folder = run_dir(project, "probe-run")
    # val_score is a metric definition: the emulator reads it from the log, as SageMaker does.
    first = sagemaker(aws, project, metric_names=("val_score",)).submit(
        request(nb, "probe-run", epochs=100, sleep_s=0.3), folder, {}
    )
    emulator.wait_for("probe-run", lambda j: len(j.metrics.get("val_score", [])) >= 2)
    del first  # the launcher "crashed"; a new process re-attaches by name

    fresh = sagemaker(aws, project, metric_names=("val_score",))
    assert fresh.attach("nothing-here", project / "nowhere") is None
    assert LocalBackend().attach("probe-run", folder) is None
    handle = fresh.attach("probe-run", folder)
    assert handle is not None and handle.job_name == "probe-run"
    assert handle.poll() is None
    deadline = time.monotonic() + 30
    while len(handle.read_metrics()) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    handle.stop(grace_s=30)
    assert handle.poll() == 143
    handle.collect()
    job = emulator.job("probe-run")
    assert (job.status, job.secondary, job.exit_code) == ("Stopped", "Stopped", 143)
    # The entry point caught SIGTERM, interrupted the kernel and kept the partial notebook.
    assert (folder / "output" / "data" / "executed.ipynb").exists()
    assert (folder / "output" / "failure").read_text() == "stopped (StopTrainingJob)\n"


def test_what_the_container_gets_from_the_launcher(aws, project):
    """MLflow only when the job can reach the launcher's server; no local paths; warm cache."""
    nb = project / "notebooks" / "probe.ipynb"
    server = "https://mlflow.example.com"
    env = {"MLFLOW_TRACKING_URI": server, "MLFLOW_RUN_ID": "a" * 32, "LOCLAB_CACHE_DIR": "/x"}
    shared = sagemaker(aws, project, mlflow_tracking_uri=server, keep_alive="10m")
    body, mlflow = shared.prepare(request(nb, "probe-run"), "probe-run", env)
    assert mlflow["direct"] is True
    assert body["Environment"]["MLFLOW_TRACKING_URI"] == server
    assert body["Environment"]["MLFLOW_RUN_ID"] == "a" * 32
    assert body["Environment"]["LOCLAB_CACHE_DIR"] == "/opt/ml/sagemaker/warmpoolcache/loclab"
    assert body["ResourceConfig"]["KeepAlivePeriodInSeconds"] == 600
    # A launcher tracking elsewhere (a local SQLite file): the job gets no run.
    local = sagemaker(aws, project)
    body, mlflow = local.prepare(
        request(nb, "probe-run"), "probe-run", {**env, "MLFLOW_TRACKING_URI": "sqlite:///x.db"}
    )
    assert mlflow == {"tracking_uri": "sqlite:///x.db", "run_id": "a" * 32, "direct": False}
    assert not any(k.startswith("MLFLOW_") or k == "LOCLAB_CACHE_DIR" for k in body["Environment"])


HELPER_NOTEBOOK = (
    "x: float = 1.0  # a value",
    [
        "from loclab import runtime\nfrom probe_extra import double\n\n"
        "runtime.log_metrics({'test_score': double(x)})",
    ],
)


def test_an_experiment_runs_on_sagemaker_with_the_projects_code(
    aws, emulator, tmp_path, monkeypatch
):
    """`backend: sagemaker` in the spec; settings from the environment; code from lib/."""
    from loclab.paths import Workspace
    from loclab.run import run_experiment
    from loclab.spec import load_experiment

    project = tmp_path / "project"
    (project / "lib" / "probe_extra").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\nname = 'scratch'\n")
    # Not installed anywhere: the job can only import it from the staged code.
    (project / "lib" / "probe_extra" / "__init__.py").write_text(
        "def double(v):\n    return 2 * v\n"
    )
    write_notebook(project / "notebooks" / "helper.ipynb", *HELPER_NOTEBOOK)
    (project / "experiments").mkdir()
    (project / "experiments" / "helper.yaml").write_text(
        "name: helper\nnotebook: notebooks/helper.ipynb\nparams: {x: 3.0}\nbackend: sagemaker\n"
    )
    settings = aws.settings()
    for field in ("region", "role_arn", "bucket", "image_uri"):
        monkeypatch.setenv(f"LOCLAB_SAGEMAKER_{field.upper()}", getattr(settings, field))
    monkeypatch.setenv("LOCLAB_SAGEMAKER_POLL_INTERVAL_S", "0.2")
    monkeypatch.chdir(project)
    exp = load_experiment("experiments/helper.yaml", environ=os.environ)
    ws = Workspace.for_project(exp.root)
    summary = run_experiment(exp, ws, say=lambda _: None)
    job = summary.jobs[0]
    assert job.state == "COMPLETED", dumps_job(emulator.job("helper-run"))
    assert job.metrics == {"test_score": 6.0}
    sent = emulator.job("helper-run").request
    assert sent["Environment"]["PYTHONPATH"] == "/opt/ml/input/data/code/lib"
    assert (ws.reports / "helper" / "index.html").exists()


@pytest.mark.slow
@pytest.mark.skipif(not TERM_QA.exists(), reason="the term-QA notebook is not in this tree")
def test_term_qa_training_resumes_after_a_spot_interruption(aws, emulator, tmp_path):
    """The real training notebook, with the real project code shipped in the code channel."""
    backend = sagemaker(aws, REPO, spot=True, max_runtime="1h", max_wait="2h", metrics=["val_acc"])
    run_dir = tmp_path / "runs" / "tq-run"
    run_dir.mkdir(parents=True)
    job = JobRequest(
        name="tq-run",
        experiment="tq",
        notebook=TERM_QA,
        hyperparameters={"model": "char_cnn", "size": "tiny", "max_epochs": "2", "hidden": "16"},
    )
    handle = backend.submit(job, run_dir, {})
    s3 = aws.client("s3")

    def first_epoch_checkpointed(_job) -> bool:
        found = s3.list_objects_v2(Bucket="loclab-test", Prefix="loclab/tq/tq-run/checkpoints/")
        return any(o["Key"].endswith(".ckpt") for o in found.get("Contents", []))

    emulator.wait_for("tq-run", first_epoch_checkpointed, timeout_s=240)
    emulator.interrupt("tq-run")
    deadline = time.monotonic() + 300
    while handle.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    emulated = emulator.job("tq-run")
    assert handle.poll() == 0, dumps_job(emulated)
    handle.collect()
    assert emulated.attempts == 2
    records = read_metrics(run_dir / "checkpoints" / "metrics.jsonl")
    per_epoch: dict[str, list[int]] = {}
    for record in records:
        if record["step"] is not None:
            for name in record["metrics"]:
                per_epoch.setdefault(name, []).append(record["step"])
    # Lightning restored the first epoch's checkpoint: no epoch was trained twice.
    assert per_epoch and all(steps == sorted(set(steps)) for steps in per_epoch.values())
    assert max(max(steps) for steps in per_epoch.values()) == 1
    final = {k for r in records if r["step"] is None for k in r["metrics"]}
    assert "test_acc" in final
    assert (run_dir / "output" / "data" / "predictions.parquet").exists()
