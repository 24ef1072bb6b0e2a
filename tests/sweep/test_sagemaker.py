"""Sweeps on the SageMaker backend, offline: each trial a training job, ``workers`` at once.

The moto server and the training-job emulator run in the test process; a driver (this process
or a ``loclab run`` subprocess) only talks HTTP to them, so it can be SIGKILLed while its jobs
run on, as on SageMaker. States the emulator does not produce on demand at the moment a driver
comes back are queued with botocore's Stubber.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from loclab.aws import AwsClients
from loclab.execution.backends.sagemaker import SageMakerBackend
from loclab.execution.job import JobState, read_status, write_status
from loclab.paths import StateDir
from loclab.spec import load_experiment
from loclab.sweep import _recovery as rec
from loclab.sweep import load_study, resolve_location
from loclab.sweep.driver import job_name
from loclab.sweep.storage import StudyNotFoundError, open_study
from loclab.testing.aws import MotoServer
from loclab.testing.emulator import dumps_job

from .conftest import (
    BUCKET,
    driver,
    enqueue,
    make_tracker,
    read_sweep,
    trials_by_state,
    workspace,
    write_spec,
)

pytestmark = pytest.mark.timeout(400)


def sagemaker_spec(project: Path, name: str, body: str, params: str = "") -> Path:
    path = write_spec(project, name, body, params)
    path.write_text(path.read_text() + "backend: sagemaker\n")
    return path


# -- a sweep with pruning ------------------------------------------------------------------------


def test_sweep_on_sagemaker_prunes_with_stop_training_job(aws, emulator, project, mlflow_db):
    """Two good trials complete; two bad ones are pruned from the metrics in S3 and stopped."""
    spec = sagemaker_spec(
        project,
        "smprune",
        "  metric: val_score\n  n_trials: 4\n  workers: 2\n  sampler: random\n"
        "  pruner: median\n  pruner_options: {n_startup_trials: 2, n_warmup_steps: 1}\n"
        "  space:\n    x: {type: categorical, choices: [0.0, 1.0]}\n"
        "    epochs: {type: categorical, choices: [4, 40]}\n",
        params="sleep_s: 0.5",
    )
    # The bad trials would run 40 epochs (20 s); the pruner stops them after the second.
    enqueue(project, spec, [{"x": 1.0, "epochs": 4}] * 2 + [{"x": 0.0, "epochs": 40}] * 2)
    exp = load_experiment(spec, environ=os.environ)
    backend = SageMakerBackend.from_experiment(exp)
    assert (backend.poll_interval_s, backend.metrics_interval_s) == (0.2, 0.2)
    tracker = make_tracker(project, mlflow_db)
    parent = tracker.start_run(exp.name, "experiment")
    d = driver(project, spec, tracker=tracker, parent_run_id=parent, backend=backend)
    started = time.monotonic()
    outcome = d.run()
    elapsed = time.monotonic() - started

    states = trials_by_state(d.study)
    assert [t.number for t in states["COMPLETE"]] == [0, 1]
    assert [t.number for t in states["PRUNED"]] == [2, 3]
    assert set(states) == {"COMPLETE", "PRUNED"} and outcome.launched == 4
    names = [job_name("smprune", n, 1) for n in range(4)]
    # Each trial was one training job, created once; only the pruned ones were stopped.
    assert sorted(emulator.create_requests) == names
    assert sorted(set(emulator.stop_requests)) == names[2:]
    for name in names[2:]:
        assert emulator.job(name).status == "Stopped", dumps_job(emulator.job(name))
    client = tracker.client
    sweep_run = outcome.record.mlflow_run_id
    assert client.get_run(sweep_run).data.tags["mlflow.parentRunId"] == parent
    children = {
        r.info.run_id: r
        for r in client.search_runs(
            [tracker.experiment_id(exp.name)], f"tags.mlflow.parentRunId = '{sweep_run}'"
        )
    }
    assert len(children) == 4
    for t in states["COMPLETE"] + states["PRUNED"]:
        attrs = t.user_attrs
        run_dir = Path(attrs["loclab.run_dir"])
        assert attrs["loclab.backend"] == "sagemaker"
        assert attrs["loclab.backend_job"] == attrs["loclab.job"] == run_dir.name
        assert (run_dir / "output/data/executed.ipynb").exists()
        assert json.loads((run_dir / "sagemaker.json").read_text())["final"]
        run = children[attrs["loclab.mlflow_run_id"]]
        assert run.data.tags["loclab.sagemaker.job"] == run_dir.name
        history = client.get_metric_history(run.info.run_id, "val_score")
        assert history, "per-epoch val_score did not reach the trial's MLflow run"
        status = read_status(run_dir)
        if t.state.name == "COMPLETE":
            assert t.value == pytest.approx(1.0 + 0.1 * 3)
            assert run.info.status == "FINISHED" and status["state"] == "COMPLETED"
        else:
            step = t.last_step
            assert 1 <= step < 39 and attrs["loclab.pruned_at"] == step
            assert status["state"] == "STOPPED"
            assert status["failure"].startswith(f"pruned at step {step}")
            assert run.info.status == "KILLED"
            assert run.data.tags["loclab.pruned"] == f"pruned at step {step}"
    data = read_sweep(project, "smprune")
    assert data.counts.complete == 2 and data.counts.pruned == 2
    print(f"4-trial sweep on the emulated SageMaker backend: {elapsed:.1f} s")


# -- reconciliation after a crash, with Stubber states -------------------------------------------

RESUME_BODY = (
    "  metric: val_score\n  n_trials: 3\n  workers: 2\n  sampler: random\n  pruner: none\n"
    "  space:\n    x: {type: float, low: 0.0, high: 1.0}\n"
)


def describe(name: str, status: str, secondary: str, **extra) -> dict:
    return {
        "TrainingJobName": name,
        "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}",
        "ModelArtifacts": {"S3ModelArtifacts": f"s3://{BUCKET}/loclab/x/{name}/output/m.tar.gz"},
        "TrainingJobStatus": status,
        "SecondaryStatus": secondary,
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "CreationTime": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        **extra,
    }


def left_running(study, exp, runs: Path, x: float, reported: dict[int, float]):
    """A trial as a SIGKILLed driver leaves it: RUNNING, its job recorded, some steps told."""
    from optuna.distributions import FloatDistribution

    study.enqueue_trial({"x": x})
    trial = study.ask({"x": FloatDistribution(0.0, 1.0)})
    name = job_name(exp.name, trial.number, 1)
    run_dir = runs / name
    run_dir.mkdir(parents=True)
    write_status(run_dir, {"name": name, "state": "RUNNING", "started": time.time() - 60})
    prefix = f"s3://{BUCKET}/loclab/{exp.name}/{name}"
    record = {
        "job": name,
        "training_job_name": name,
        "checkpoints": f"{prefix}/checkpoints/",
        "output": f"{prefix}/output/",
        "mlflow": {},
    }
    (run_dir / "sagemaker.json").write_text(json.dumps(record))
    attrs = {
        rec.ATTR_JOB: name,
        rec.ATTR_ATTEMPT: 1,
        rec.ATTR_RUN_DIR: str(run_dir),
        rec.ATTR_BACKEND: "sagemaker",
        rec.ATTR_BACKEND_JOB: name,
        rec.ATTR_MLFLOW_RUN: None,
        # A driver on this host whose process is gone (pids never reach 2**22 + 1 on Linux).
        rec.ATTR_DRIVER: {**rec.driver_identity(), "pid": 2**22 + 1},
        rec.ATTR_HEARTBEAT: time.time() - 60,
    }
    for key, value in attrs.items():
        trial.set_user_attr(key, value)
    for step, value in reported.items():
        trial.report(value, step)
    return trial, name


def put_metrics(aws: MotoServer, exp_name: str, name: str, values: list[float]) -> None:
    lines = [
        json.dumps({"step": i, "time": time.time(), "metrics": {"val_score": v}})
        for i, v in enumerate(values)
    ]
    aws.client("s3").put_object(
        Bucket=BUCKET,
        Key=f"loclab/{exp_name}/{name}/checkpoints/metrics.jsonl",
        Body=("\n".join(lines) + "\n").encode(),
    )


def test_resume_reconciles_each_job_state_without_launching_anything(aws, project):
    """InProgress → adopted and told when it ends; Completed → collected, COMPLETE;
    Failed/Stopped → FAIL and queued again; pruned and Stopped → PRUNED; no job → re-queued.
    """
    spec = sagemaker_spec(project, "recon", RESUME_BODY, params="epochs: 3")
    exp = load_experiment(spec, environ=os.environ)
    ws = workspace(project)
    study = open_study(resolve_location(exp.name, ws.state), exp.spec.sweep)
    runs = ws.state.runs(exp.name)
    cases = [
        ("InProgress", 0.1, {0: 0.1}),
        ("Completed", 0.2, {0: 0.2}),
        ("Failed", 0.3, {}),
        ("Stopped", 0.4, {0: 0.4}),
        ("Pruned", 0.5, {0: 0.5, 1: 0.6}),
        ("Missing", 0.6, {}),
    ]
    names = []
    for status, x, reported in cases:
        trial, name = left_running(study, exp, runs, x, reported)
        names.append(name)
        if status == "Pruned":
            trial.set_user_attr(rec.ATTR_PRUNED_AT, 1)
    put_metrics(aws, exp.name, names[0], [0.1, 0.2, 0.3])
    put_metrics(aws, exp.name, names[1], [0.2, 0.3, 0.4])

    client = boto3.client("sagemaker", region_name="us-east-1")
    with Stubber(client) as stubber:
        for name, (status, secondary, extra) in zip(
            names,
            [
                ("InProgress", "Training", {}),
                ("Completed", "Completed", {}),
                ("Failed", "Failed", {"FailureReason": "cell 3 raised ValueError: boom"}),
                ("Stopped", "Stopped", {}),
                ("Stopped", "Stopped", {}),
            ],
            strict=False,
        ):
            stubber.add_response(
                "describe_training_job",
                describe(name, status, secondary, **extra),
                {"TrainingJobName": name},
            )
        stubber.add_client_error(
            "describe_training_job",
            "ValidationException",
            "Requested resource not found.",
            expected_params={"TrainingJobName": names[5]},
        )
        # The adopted InProgress job, polled by the new driver's loop, has completed.
        stubber.add_response(
            "describe_training_job",
            describe(names[0], "Completed", "Completed"),
            {"TrainingJobName": names[0]},
        )
        backend = SageMakerBackend(
            aws.settings(bucket=BUCKET),
            project_root=project,
            metric_names=["val_score"],
            clients=AwsClients("us-east-1", overrides={"sagemaker": client}),
            poll_interval_s=0.05,
            metrics_interval_s=0.0,
            collect_timeout_s=5.0,
        )
        lines: list[str] = []
        # Stubber refuses any call not queued above: CreateTrainingJob would fail the test.
        d = driver(project, spec, backend=backend, say=lines.append)
        outcome = d.run()
        stubber.assert_no_pending_responses()

    assert outcome.launched == 0
    assert outcome.adopted == [0, 1, 2, 3, 4] and outcome.recovered == [5]
    trials = d.study.get_trials()
    assert [t.state.name for t in trials[:6]] == [
        "COMPLETE",
        "COMPLETE",
        "FAIL",
        "FAIL",
        "PRUNED",
        "FAIL",
    ]
    # Steps the dead driver had reported stay; the rest came from metrics.jsonl in S3.
    assert trials[0].intermediate_values == {0: 0.1, 1: 0.2, 2: 0.3}
    assert trials[0].value == pytest.approx(0.3)
    assert trials[1].value == pytest.approx(0.4)
    assert trials[4].intermediate_values == {0: 0.5, 1: 0.6}
    assert trials[2].user_attrs["loclab.failure"] == "cell 3 raised ValueError: boom"
    # A failed job counts against max_failure_ratio; a stopped or vanished one does not.
    assert "loclab.interrupted" not in trials[2].user_attrs
    assert trials[3].user_attrs["loclab.interrupted"] is True
    assert trials[5].user_attrs["loclab.interrupted"] is True
    # Each failed trial's parameters are queued again once, as attempt 2.
    queued = trials[6:]
    assert [t.state.name for t in queued] == ["WAITING"] * 3
    assert sorted(t.user_attrs["loclab.requeued_from"] for t in queued) == [2, 3, 5]
    assert {t.user_attrs["loclab.attempt"] for t in queued} == {2}
    states = [read_status(runs / name)["state"] for name in names]
    assert states == ["COMPLETED", "COMPLETED", "FAILED", "FAILED", "STOPPED", "KILLED"]
    assert (runs / names[2] / "output" / "failure").read_text().startswith("cell 3 raised")
    text = "\n".join(lines)
    assert f"trial 0 was left running by a stopped driver; its job {names[0]} is still " in text
    assert "InProgress: watching it again" in text
    assert f"its job {names[1]} Completed while no driver watched it" in text
    assert f"its job {names[2]} Failed while no driver watched it" in text
    assert f"its job {names[4]} was pruned and is Stopped" in text
    assert "trial 5 was left running by a stopped driver: marked FAIL and queued again" in text


def test_a_pruning_stop_does_not_wait(aws, tmp_path):
    """RunningJob.stop(wait=False) sends StopTrainingJob once and returns without polling."""
    from loclab.execution.backends.sagemaker import SageMakerJobHandle
    from loclab.execution.job import JobRequest
    from loclab.execution.runner import RunningJob

    client = boto3.client("sagemaker", region_name="us-east-1")
    with Stubber(client) as stubber:
        stubber.add_response("stop_training_job", {}, {"TrainingJobName": "j-t1-a1"})
        backend = SageMakerBackend(
            aws.settings(bucket=BUCKET),
            project_root=tmp_path,
            clients=AwsClients("us-east-1", overrides={"sagemaker": client}),
            poll_interval_s=60.0,
        )
        handle = SageMakerJobHandle(backend, tmp_path, {"training_job_name": "j-t1-a1"})
        handle.described(describe("j-t1-a1", "InProgress", "Training"))
        request = JobRequest("j-t1-a1", "j", tmp_path / "nb.ipynb", {})
        job = RunningJob(request, handle, tmp_path, "key", time.time(), None, -1)
        started = time.monotonic()
        job.stop(JobState.STOPPED, grace_s=30.0, wait=False)
        job.stop(JobState.STOPPED, grace_s=30.0, wait=False)  # asked once only
        job.enforce_stop()  # within the grace period: nothing
        assert time.monotonic() - started < 1.0
        stubber.assert_no_pending_responses()
    assert job.stop_reason == JobState.STOPPED and job.stop_deadline is not None


# -- SIGKILL the driver mid-sweep, run the same command again ------------------------------------


def loclab_run(project: Path, env: dict[str, str], **kwargs) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "loclab", "run", "experiments/smkill.yaml"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kwargs,
    )


@pytest.mark.slow
def test_sigkill_and_resume_on_sagemaker_loses_nothing_and_launches_nothing_twice(
    aws, emulator, project, mlflow_db
):
    spec = sagemaker_spec(
        project,
        "smkill",
        "  metric: val_score\n  n_trials: 5\n  workers: 3\n  sampler: random\n"
        "  pruner: none\n  space:\n    x: {type: float, low: 0.0, high: 1.0}\n"
        "    sleep_s: {type: categorical, choices: [0.0, 2.0, 10.0]}\n",
        params="epochs: 4",
    )
    # t0 is quick; t1 ends while no driver runs; t2 still runs when the next driver starts;
    # t3 is stopped from outside meanwhile (its parameters run again as t5); t4 waits.
    enqueue(
        project,
        spec,
        [
            {"x": 0.1, "sleep_s": 0.0},
            {"x": 0.2, "sleep_s": 2.0},
            {"x": 0.3, "sleep_s": 10.0},
            {"x": 0.4, "sleep_s": 2.0},
            {"x": 0.5, "sleep_s": 0.0},
        ],
    )
    state = StateDir(project / ".loclab")
    state.mlflow_db.write_bytes(mlflow_db.read_bytes())
    exp = load_experiment(spec, environ=os.environ)
    location = resolve_location(exp.name, state)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LOCLAB_SAGEMAKER_"))}
    env.update(aws.launcher_environ(bucket=BUCKET), PYTHONUNBUFFERED="1")
    names = [job_name("smkill", n, 1) for n in range(4)]

    first = loclab_run(project, env)
    deadline = time.time() + 240
    while time.time() < deadline:
        assert first.poll() is None, first.stdout.read()
        try:
            trials = load_study(location).get_trials()
        except StudyNotFoundError:
            trials = []
        complete = {t.number for t in trials if t.state.name == "COMPLETE"}
        training = {
            n
            for n, name in enumerate(names)
            if name in emulator.jobs and emulator.jobs[name].secondary == "Training"
        }
        if complete == {0} and training == {1, 2, 3}:
            break
        time.sleep(0.2)
    else:
        pytest.fail("the sweep never had one completed and three training trials")
    first.send_signal(signal.SIGKILL)
    first.wait()
    first.stdout.close()
    # While no driver runs: t3 is stopped from outside, t1 completes, t2 goes on.
    emulator.stop(names[3])
    assert emulator.wait(names[3], timeout_s=60) == "Stopped"
    assert emulator.wait(names[1], timeout_s=120) == "Completed"
    assert emulator.job(names[2]).status == "InProgress"

    second = loclab_run(project, env)
    out, _ = second.communicate(timeout=300)
    assert second.returncode == 0, out[-4000:]
    assert f"its job {names[1]} Completed while no driver watched it" in out
    assert f"its job {names[2]} is still InProgress: watching it again" in out
    assert f"its job {names[3]} Stopped while no driver watched it" in out

    # Nothing launched twice: every CreateTrainingJob name once, the adopted ones never again.
    created = emulator.create_requests
    assert len(created) == len(set(created)) == 6, created
    assert set(created) == {*names, "smkill-t4-a1", "smkill-t5-a2"}
    assert emulator.stop_requests == []  # t3 was stopped from outside, not by a driver
    trials = load_study(location).get_trials()
    by_state = {s: [t.number for t in trials if t.state.name == s] for s in ("COMPLETE", "FAIL")}
    assert by_state == {"COMPLETE": [0, 1, 2, 4, 5], "FAIL": [3]}
    assert len(trials) == 6
    assert trials[5].params == trials[3].params
    assert trials[5].user_attrs["loclab.requeued_from"] == 3
    assert trials[3].user_attrs["loclab.interrupted"] is True
    for t in trials:
        if t.state.name == "COMPLETE":
            assert t.value == pytest.approx(t.params["x"] + 0.3)
            assert sorted(t.intermediate_values) == [0, 1, 2, 3]
            run_dir = Path(t.user_attrs["loclab.run_dir"])
            assert (run_dir / "output/data/executed.ipynb").exists()
            assert read_status(run_dir)["state"] == "COMPLETED"

    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{state.mlflow_db}")
    data = json.loads((state.results("smkill") / "sweep.json").read_text())
    assert data["counts"]["complete"] == 5 and data["finished"]
    children = client.search_runs(
        [client.get_experiment_by_name("smkill").experiment_id],
        f"tags.mlflow.parentRunId = '{data['mlflow_run_id']}'",
    )
    by_id = {r.info.run_id: r for r in children}
    assert len(children) == 6  # one sweep run over both drivers, one child per trial
    for t in trials:
        run = by_id[t.user_attrs["loclab.mlflow_run_id"]]
        if t.state.name == "COMPLETE":
            assert run.info.status == "FINISHED"
            assert client.get_metric_history(run.info.run_id, "val_score")
            assert "output" in {a.path for a in client.list_artifacts(run.info.run_id)}
        else:
            assert run.info.status == "FAILED"

    third = loclab_run(project, env)
    out, _ = third.communicate(timeout=120)
    assert third.returncode == 0, out[-2000:]
    # Nothing changed since the resumed run: it is reused whole (loclab.run.reuse).
    assert "nothing changed since the run that ended" in out
    assert len(emulator.create_requests) == 6
