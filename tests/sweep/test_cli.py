"""``loclab status`` and ``loclab dashboard`` read a study another process writes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from loclab.paths import StateDir
from loclab.spec import load_experiment
from loclab.sweep import resolve_location
from loclab.sweep.storage import open_study
from loclab.testing import files_under

from .conftest import write_spec

BODY = (
    "  metric: val_score\n  n_trials: 5\n  workers: 2\n"
    "  space:\n    x: {type: float, low: 0.0, high: 1.0}\n"
)


def loclab(*args, cwd, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "loclab", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "120"},
    )


def make_study(project):
    """A study as a driver leaves it mid-sweep: 2 complete, 1 pruned, 1 failed, 1 running."""
    from optuna.distributions import FloatDistribution
    from optuna.trial import TrialState

    spec = write_spec(project, "cli", BODY)
    exp = load_experiment(spec)
    study = open_study(
        resolve_location(exp.name, StateDir(project / ".loclab")),
        exp.spec.sweep,
    )
    space = {"x": FloatDistribution(0.0, 1.0)}
    for x, state in [
        (0.2, "COMPLETE"),
        (0.7, "COMPLETE"),
        (0.1, "PRUNED"),
        (0.5, "FAIL"),
        (0.4, "RUNNING"),
    ]:
        study.enqueue_trial({"x": x})
        trial = study.ask(space)
        trial.set_user_attr("loclab.job", f"cli-t{trial.number}-a1")
        trial.report(x, 0)
        if state == "COMPLETE":
            study.tell(trial, x + 0.1)
        elif state != "RUNNING":
            study.tell(trial, state=TrialState[state])
    return study


def test_status_prints_progress_from_storage(project):
    make_study(project)
    out = loclab("status", "experiments/cli.yaml", cwd=project)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == f"study cli  ({project}/.loclab/studies/cli.journal)"
    assert lines[1] == "3/5 done: 2 complete, 1 pruned; 1 failed, 1 running, 0 queued"
    assert lines[2] == "best val_score (maximize): 0.8 (trial 1)"
    assert lines[3].startswith("elapsed ")
    rows = [line.replace("\u2502", " ").split() for line in lines]
    assert ["4", "cli-t4-a1", "0", "0.4"] in [row[:4] for row in rows]


def test_status_before_any_sweep_writes_nothing(project):
    write_spec(project, "cli", BODY)
    before = files_under(project)
    out = loclab("status", "experiments/cli.yaml", cwd=project)
    assert out.returncode == 1
    assert out.stderr.strip() == (
        f"error: no study 'cli' yet ({project}/.loclab/studies/cli.journal does not exist); "
        "'loclab run' starts the sweep"
    )
    assert files_under(project) == before


def test_status_of_a_spec_without_sweep(project):
    out = loclab("status", "experiments/probe.yaml", cwd=project)
    assert out.returncode == 2
    assert out.stderr.strip() == "command line: SPEC: experiments/probe.yaml has no sweep: section"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.timeout(120)
def test_dashboard_serves_the_study_on_localhost(project):
    make_study(project)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "loclab", "dashboard", "experiments/cli.yaml", "--port", str(port)],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.time() + 90
        body = None
        while time.time() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/api/studies", timeout=5
                ) as r:
                    body = r.read().decode()
                    break
            except OSError:
                time.sleep(0.5)
        assert body is not None, proc.stdout.read() if proc.poll() is not None else "no answer"
        assert '"study_name": "cli"' in body
    finally:
        proc.terminate()
        proc.wait(timeout=30)
