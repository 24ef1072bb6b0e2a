"""Two commands on one experiment, and a command killed mid-run: nothing left RUNNING."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from mlflow.tracking import MlflowClient

from loclab.paths import StateDir
from loclab.results import ExperimentResults

SPEC = """name: busy
notebook: notebooks/probe.ipynb
params: {epochs: 30, sleep_s: 0.5}
"""


def env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "SM_", "LOCLAB_"))}


def start(project: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "loclab", "run", "experiments/busy.yaml"], cwd=project,
        env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def wait_for_running_job(project: Path, timeout: float = 180) -> None:
    status = project / ".loclab" / "runs" / "busy" / "busy-run" / "checkpoints" / "metrics.jsonl"
    deadline = time.time() + timeout
    while time.time() < deadline:
        if status.exists() and status.read_text().count("\n") >= 1:
            return
        time.sleep(0.5)
    raise AssertionError("the job never reported an epoch")


def test_a_second_command_is_refused_and_a_killed_one_is_closed(project, mlflow_db):
    (project / "experiments" / "busy.yaml").write_text(SPEC)
    (project / ".loclab").mkdir()
    (project / ".loclab" / "mlflow.db").write_bytes(mlflow_db.read_bytes())
    first = start(project)
    try:
        wait_for_running_job(project)
        second = subprocess.run(
            [sys.executable, "-m", "loclab", "run", "experiments/busy.yaml"], cwd=project,
            env=env(), capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert second.returncode == 1
        assert second.stderr.strip().splitlines() == [
            f"error: experiment busy is being run by another loclab command in "
            f"{project / '.loclab'}; wait for it to finish (loclab status shows it)"
        ]
        first.send_signal(signal.SIGKILL)
        first.wait(30)
    finally:
        if first.poll() is None:
            first.kill()
    records = ExperimentResults(StateDir(project / ".loclab"), "busy")
    left = records.read_jobs()
    assert left is not None and left.status == "RUNNING"
    client = MlflowClient(f"sqlite:///{project / '.loclab' / 'mlflow.db'}")
    assert client.get_run(left.mlflow_parent_run_id).info.status == "RUNNING"
    (project / "experiments" / "busy.yaml").write_text(SPEC.replace("epochs: 30", "epochs: 1"))
    again = subprocess.run(
        [sys.executable, "-m", "loclab", "run", "experiments/busy.yaml"], cwd=project,
        env=env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr[-2000:]
    assert "closed the run a stopped command left running" in again.stdout
    # The killed command's experiment run and its job's run are closed KILLED.
    assert client.get_run(left.mlflow_parent_run_id).info.status == "KILLED"
    killed_job = next(j for j in client.search_runs(
        [client.get_run(left.mlflow_parent_run_id).info.experiment_id],
        f"tags.mlflow.parentRunId = '{left.mlflow_parent_run_id}'",
    ))  # fmt: skip
    assert killed_job.info.status == "KILLED"
    assert records.read_jobs().status == "FINISHED"
