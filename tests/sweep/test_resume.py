"""Crash safety: SIGKILL the driver mid-sweep, run the same command again, lose nothing."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from loclab.paths import StateDir
from loclab.spec import load_experiment
from loclab.sweep import load_study, resolve_location
from loclab.sweep.storage import StudyNotFoundError

from .conftest import write_spec

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]


def loclab_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "loclab", *args]


def job_pid(trial) -> int | None:
    status = Path(trial.user_attrs.get("loclab.run_dir", "/nonexistent")) / "status.json"
    try:
        return json.loads(status.read_text()).get("pid")
    except (OSError, ValueError):
        return None


def test_sigkill_and_resume_keeps_every_trial(project, mlflow_db):
    spec = write_spec(
        project,
        "resume",
        "  metric: val_score\n  n_trials: 4\n  workers: 2\n  sampler: random\n"
        "  pruner: none\n  space:\n    x: {type: float, low: 0.0, high: 1.0}\n",
        params="epochs: 4, sleep_s: 1.0",
    )
    state = StateDir(project / ".loclab")
    state.root.mkdir()
    shutil.copy(mlflow_db, state.mlflow_db)
    exp = load_experiment(spec)
    location = resolve_location(exp.name, state)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    first = subprocess.Popen(
        loclab_cmd("run", "experiments/resume.yaml"),
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    # Wait until some trials completed and two are running with live job processes.
    deadline = time.time() + 240
    running = []
    while time.time() < deadline:
        assert first.poll() is None, first.stdout.read()
        try:
            trials = load_study(location).get_trials()
        except StudyNotFoundError:
            trials = []
        complete = [t for t in trials if t.state.name == "COMPLETE"]
        running = [t for t in trials if t.state.name == "RUNNING" and job_pid(t)]
        if complete and len(running) == 2:
            break
        time.sleep(0.3)
    else:
        pytest.fail("the sweep never had a completed and two running trials")
    first.send_signal(signal.SIGKILL)
    first.wait()
    first.stdout.close()
    orphans = [job_pid(t) for t in running]
    # Jobs run in their own session: they outlive the driver, so the resume must stop them.
    assert all(psutil.pid_exists(pid) for pid in orphans)
    killed = {t.number: t.params for t in running}

    second = subprocess.run(
        loclab_cmd("run", "experiments/resume.yaml"),
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    for number in killed:
        assert f"trial {number} was left running by a stopped driver" in second.stdout
    for pid in orphans:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"

    trials = load_study(location).get_trials()
    by_state: dict[str, list] = {}
    for t in trials:
        by_state.setdefault(t.state.name, []).append(t)
    assert len(by_state["COMPLETE"]) + len(by_state.get("PRUNED", [])) == 4
    assert sorted(t.number for t in by_state["FAIL"]) == sorted(killed)
    assert set(by_state) <= {"COMPLETE", "PRUNED", "FAIL"}
    assert len(trials) == 4 + len(killed)
    for t in by_state["FAIL"]:
        assert t.user_attrs["loclab.interrupted"] is True
        (successor,) = [s for s in trials if s.user_attrs.get("loclab.requeued_from") == t.number]
        assert successor.params == killed[t.number]
        assert successor.state.name == "COMPLETE"
        assert successor.user_attrs["loclab.attempt"] == 2
        assert successor.user_attrs["loclab.job"] == f"resume-t{successor.number}-a2"
        status = json.loads((Path(t.user_attrs["loclab.run_dir"]) / "status.json").read_text())
        assert status["state"] == "KILLED"
    # No parameter set ran twice, except the re-queued ones.
    finished = [json.dumps(t.params, sort_keys=True) for t in trials if t.state.name != "FAIL"]
    assert len(set(finished)) == len(finished) == 4

    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{state.mlflow_db}")
    data = json.loads((state.results("resume") / "sweep.json").read_text())
    sweep_run = data["mlflow_run_id"]
    children = client.search_runs(
        [client.get_experiment_by_name("resume").experiment_id],
        f"tags.mlflow.parentRunId = '{sweep_run}'",
    )
    by_id = {r.info.run_id: r for r in children}
    assert len(children) == len(trials)  # one sweep run over both drivers
    for t in trials:
        run = by_id[t.user_attrs["loclab.mlflow_run_id"]]
        if t.state.name == "COMPLETE":
            assert run.info.status == "FINISHED"
            assert (Path(t.user_attrs["loclab.run_dir"]) / "output/data/executed.ipynb").exists()
        else:
            assert run.info.status == "KILLED"
    assert data["counts"]["complete"] == 4 and data["finished"]

    # Running it a third time starts nothing.
    third = subprocess.run(
        loclab_cmd("run", "experiments/resume.yaml"),
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert third.returncode == 0, third.stderr[-2000:]
    # Nothing changed since the resumed run: it is reused whole (loclab.run.reuse).
    assert "nothing changed since the run that ended" in third.stdout
    assert len(load_study(location).get_trials()) == len(trials)


def test_ctrl_c_stops_jobs_and_requeues_their_trials(project):
    spec = write_spec(
        project,
        "ctrlc",
        "  metric: val_score\n  n_trials: 2\n  workers: 2\n  sampler: random\n"
        "  pruner: none\n  space:\n    x: {type: float, low: 0.0, high: 1.0}\n",
        params="epochs: 60, sleep_s: 1.0",
    )
    exp = load_experiment(spec)
    location = resolve_location(exp.name, StateDir(project / ".loclab"))
    proc = subprocess.Popen(
        loclab_cmd("run", "experiments/ctrlc.yaml"),
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            trials = load_study(location).get_trials()
        except StudyNotFoundError:
            trials = []
        # Wait until both jobs have reported an epoch: their kernels are running.
        if len(trials) == 2 and all(t.intermediate_values for t in trials):
            break
        time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("the trials never started")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert "interrupted: running jobs were stopped and marked KILLED" in err
    trials = load_study(location).get_trials()
    assert [t.state.name for t in trials] == ["FAIL", "FAIL", "WAITING", "WAITING"]
    for t in trials[:2]:
        assert t.user_attrs["loclab.interrupted"] is True
        status = json.loads((Path(t.user_attrs["loclab.run_dir"]) / "status.json").read_text())
        assert status["state"] == "KILLED"
    assert sorted(t.user_attrs["loclab.requeued_from"] for t in trials[2:]) == [0, 1]
    # Queued trials hold their parameters as fixed values until a driver asks for them.
    queued = {json.dumps(t.system_attrs["fixed_params"], sort_keys=True) for t in trials[2:]}
    assert queued == {json.dumps(t.params, sort_keys=True) for t in trials[:2]}
