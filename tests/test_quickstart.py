"""The quickstart experiment end to end, as `make demo` runs it (tiny data)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_quickstart_end_to_end(tmp_path):
    state, reports = tmp_path / "state", tmp_path / "reports"
    env = {**os.environ, "LOCLAB_STATE_DIR": str(state)}
    cmd = [
        sys.executable,
        "-m",
        "loclab",
        "run",
        "experiments/quickstart.yaml",
        "--reports-dir",
        str(reports),
        "-p",
        "max_epochs=2",
    ]
    out = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]

    page = (reports / "quickstart" / "index.html").read_text()
    assert not re.search(r"https?://", page)
    assert "<script" not in page
    summary = json.loads((state / "results" / "quickstart" / "jobs.json").read_text())
    jobs = {j["tags"]["loclab.system"]: j for j in summary["jobs"]}
    assert set(jobs) == {"baseline", "neural"}
    for system, job in jobs.items():
        assert job["state"] == "COMPLETED"
        acc = job["metrics"]["test_acc"]
        assert 0.5 < acc <= 1.0, (system, acc)
        # Both systems' measured accuracy appears in the page.
        assert f"{acc:.4f}" in page
        assert Path(job["executed_notebook"]).exists()
        assert job["job_tags"]["loclab.data_fingerprint"]
    assert (
        jobs["baseline"]["job_tags"]["loclab.data_fingerprint"]
        == (jobs["neural"]["job_tags"]["loclab.data_fingerprint"])
    )

    client = MlflowClient(f"sqlite:///{state / 'mlflow.db'}")
    parent = client.get_run(summary["mlflow_parent_run_id"])
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["loclab.git_sha"]
    children = client.search_runs(
        [parent.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'",
    )
    assert len(children) == 2
    neural = next(r for r in children if r.data.tags["loclab.system"] == "neural")
    history = client.get_metric_history(neural.info.run_id, "val_acc")
    assert len(history) == 2  # one value per epoch (MLflow steps are global steps)
    assert {"test_acc", "test_f1"} <= set(neural.data.metrics)

    # A second run reuses both completed jobs instead of training again.
    again = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0
    assert again.stdout.count("reused completed run") == 2
