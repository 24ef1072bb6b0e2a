"""``loclab status`` and ``loclab dashboard`` read a study another process writes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from loclab.paths import StateDir
from loclab.spec import load_experiment
from loclab.sweep import resolve_location
from loclab.sweep.storage import open_study
from loclab.testing import files_under

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


@pytest.fixture
def sweep_spec(project: Path) -> Path:
    """``experiments/cli.yaml``: a sweep over the probe notebook."""
    path = project / "experiments" / "cli.yaml"
    path.write_text("name: cli\nnotebook: notebooks/probe.ipynb\nsweep:\n" + BODY)
    return path


def make_study(project, spec):
    """A study as a driver leaves it mid-sweep: 2 complete, 1 pruned, 1 failed, 1 running."""
    from optuna.distributions import FloatDistribution
    from optuna.trial import TrialState

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


def test_status_prints_progress_from_storage(project, sweep_spec):
    make_study(project, sweep_spec)
    out = loclab("status", "experiments/cli.yaml", cwd=project)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("cli: running, started ") and lines[0].endswith("stage: sweep")
    start = lines.index(f"study cli  ({project}/.loclab/studies/cli.journal)")
    assert lines[start + 1] == "3/5 done: 2 complete, 1 pruned; 1 failed, 1 running, 0 queued"
    assert lines[start + 2] == "best val_score (maximize): 0.8 (trial 1)"
    assert lines[start + 3].startswith("elapsed ")
    rows = [line.replace("\u2502", " ").split() for line in lines]
    assert ["4", "cli-t4-a1", "0", "0.4"] in [row[:4] for row in rows]


def test_status_before_any_sweep_writes_nothing(project, sweep_spec):
    before = files_under(project)
    out = loclab("status", "experiments/cli.yaml", cwd=project)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "cli: never run (loclab run SPEC starts it)"
    assert files_under(project) == before


def test_status_of_a_spec_without_sweep(project):
    # Any experiment has a status, not only sweeps.
    out = loclab("status", "experiments/probe.yaml", cwd=project)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "probe: never run (loclab run SPEC starts it)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.timeout(120)
def test_dashboard_serves_the_study_on_localhost(project, sweep_spec):
    make_study(project, sweep_spec)
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
