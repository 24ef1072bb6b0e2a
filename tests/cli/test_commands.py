"""The command line as a user runs it: real subprocesses."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

HEAVY = ("torch", "lightning", "mlflow", "sagemaker", "papermill", "optuna", "pandas")


def loclab(*args: str, cwd: Path | None = None, env: dict | None = None, importtime=False):
    cmd = [sys.executable, *(["-X", "importtime"] if importtime else []), "-m", "loclab", *args]
    return subprocess.run(
        cmd,
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def imported(stderr: str) -> set[str]:
    return {m.group(1) for m in re.finditer(r"\|\s+([\w.]+)$", stderr, re.M)}


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["validate", "SPEC"]])
def test_light_commands_import_nothing_heavy(project, args):
    args = [a if a != "SPEC" else "experiments/probe.yaml" for a in args]
    out = loclab(*args, cwd=project, importtime=True)
    assert out.returncode == 0, out.stderr[-2000:]
    top = {name.split(".")[0] for name in imported(out.stderr)}
    assert not top & set(HEAVY), top & set(HEAVY)


def test_misspelled_parameter_exits_2_and_starts_no_kernel(project):
    out = loclab("run", "experiments/probe.yaml", "-p", "epocs=2", cwd=project, importtime=True)
    assert out.returncode == 2
    lines = [line for line in out.stderr.splitlines() if not line.startswith("import time:")]
    assert lines == [
        "experiments/probe.yaml: -p epocs: unknown parameter of notebooks/probe.ipynb; "
        "did you mean 'epochs'?"
    ]
    assert "jupyter_client" not in {n.split(".")[0] for n in imported(out.stderr)}
    assert not (project / ".loclab").exists()


def test_params_lists_every_parameter(probe_template):
    out = loclab("params", str(probe_template))
    assert out.returncode == 0
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["name", "type", "default", "help"]
    assert lines[1].split()[:3] == ["x", "float", "1.0"]
    assert lines[1].endswith("value the notebook reports (val_score grows from it)")
    assert len(lines) == 1 + 8


def test_params_of_missing_notebook(tmp_path):
    out = loclab("params", str(tmp_path / "nope.ipynb"))
    assert out.returncode == 2
    assert out.stderr.strip() == f"{tmp_path / 'nope.ipynb'}: notebook not found; check the path"


def test_run_failure_names_saved_notebook(project):
    out = loclab("run", "experiments/probe.yaml", "-p", "mode=raise", cwd=project)
    assert out.returncode == 1
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("error: job probe-run FAILED: cell 5 (In [5]) raised ValueError")
    saved = last.split("saved notebook: ")[1]
    assert Path(saved).exists() and saved.endswith("output/data/executed.ipynb")


def test_ctrl_c_marks_job_killed(project):
    proc = subprocess.Popen(
        [sys.executable, "-m", "loclab", "run", "experiments/probe.yaml", "-p", "mode=sleep"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    status = project / ".loclab" / "runs" / "probe" / "probe-run" / "output" / "data"
    deadline = time.time() + 90
    while time.time() < deadline and not (status / "executed.ipynb").exists():
        time.sleep(0.3)
    time.sleep(2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "interrupted" in err
    import json

    state = json.loads((project / ".loclab/runs/probe/probe-run/status.json").read_text())
    assert state["state"] == "KILLED"
    assert state["failure"].startswith("interrupted by the user")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_ui_serves_mlflow_on_loopback(project):
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "loclab", "ui", "--port", str(port)],
        cwd=project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                time.sleep(1)
        else:
            pytest.fail("MLflow UI did not answer within 120 s")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run"], "loclab run: Missing argument 'spec'. (see loclab run --help)"),
        (
            ["run", "--bogus", "x.yaml"],
            "loclab run: No such option: --bogus (see loclab run --help)",
        ),
        (["bogus"], "loclab: No such command 'bogus'. (see loclab --help)"),
    ],
)
def test_usage_errors_are_one_line(monkeypatch, capsys, args, expected):
    import sys

    from loclab import cli

    monkeypatch.setattr(sys, "argv", ["loclab", *args])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    assert exc.value.code == 2
    assert capsys.readouterr().err.splitlines() == [expected]
