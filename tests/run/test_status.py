"""`loclab status` on any experiment, in any stage, from another process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

SPEC = """name: slow
notebook: notebooks/probe.ipynb
params: {epochs: 4, sleep_s: 1.5}
compare:
  systems:
    a: {role: baseline}
    b: {params: {x: 2.0}}
  seeds: 2
"""


def loclab(project: Path, *args: str, **kwargs) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "SM_", "LOCLAB_"))}
    return subprocess.run(
        [sys.executable, "-m", "loclab", *args], cwd=project, env=env, capture_output=True,
        text=True, timeout=300, **kwargs,
    )  # fmt: skip


def test_status_follows_a_comparison_without_a_sweep(project, mlflow_db):
    (project / "experiments" / "slow.yaml").write_text(SPEC)
    (project / ".loclab").mkdir()
    (project / ".loclab" / "mlflow.db").write_bytes(mlflow_db.read_bytes())
    before = loclab(project, "status", "experiments/slow.yaml")
    assert before.returncode == 0 and "slow: never run" in before.stdout
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "SM_", "LOCLAB_"))}
    run = subprocess.Popen(
        [sys.executable, "-m", "loclab", "run", "experiments/slow.yaml"], cwd=project, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    seen: list[str] = []
    try:
        deadline = time.time() + 240
        while run.poll() is None and time.time() < deadline:
            out = loclab(project, "status", "experiments/slow.yaml").stdout
            seen.append(out)
            time.sleep(1.0)
        output = run.communicate(timeout=120)[0]
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 0, output[-2000:]
    during = [s for s in seen if "slow: running" in s]
    assert during, seen[-3:]
    # While jobs remain it never says the experiment is done, and it shows the running
    # job's epoch.
    for text in during:
        assert "stage: jobs" in text or "stage: analysis" in text or "stage: report" in text
        if "stage: jobs" in text:
            done = int(text.split("jobs: ")[1].split("/")[0])
            assert done < 4
    assert any("running jobs" in s and "val_score=" in s for s in during), during[-3:]
    assert any("remaining about" in s for s in during)
    after = loclab(project, "status", "experiments/slow.yaml").stdout
    assert "slow: finished" in after and "jobs: 4/4 done (4 completed)" in after
    assert "report: " in after
    # Progress lines of the run itself: every epoch, and an estimate of the time left.
    assert output.count(": epoch ") == 16 and "left" in output
