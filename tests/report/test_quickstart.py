"""The quickstart experiment end to end, as `make demo` runs it (tiny data, two epochs).

It shares the session's one real quickstart run (``quickstart_run``) with the report tests.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from .conftest import clean_env, loclab

pytestmark = pytest.mark.slow


def test_quickstart_end_to_end(quickstart_run):
    state, reports = quickstart_run.state, quickstart_run.reports
    page = (reports / "quickstart" / "index.html").read_text()
    assert not re.search(r"https?://", page)
    assert "<script" not in page
    summary = quickstart_run.records().read_jobs()
    assert summary is not None
    jobs = {j.system: j for j in summary.jobs}
    assert set(jobs) == {"baseline", "neural"}
    for system, job in jobs.items():
        assert job.state == "COMPLETED"
        acc = job.metrics["test_acc"]
        assert 0.5 < acc <= 1.0, (system, acc)
        # Both systems' measured accuracy appears in the page (as a percentage).
        assert f"{100 * acc:.1f}%" in page, (system, acc)
        assert Path(job.executed_notebook).exists()
        assert job.job_tags["loclab.data_fingerprint"]
    fingerprints = {j.job_tags["loclab.data_fingerprint"] for j in jobs.values()}
    assert len(fingerprints) == 1

    client = MlflowClient(f"sqlite:///{state / 'mlflow.db'}")
    parent = client.get_run(summary.mlflow_parent_run_id)
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


def test_a_second_run_reuses_both_jobs(quickstart_run, tmp_path):
    # On a copy of the state, so the shared run's report history stays as the report tests
    # expect it.
    state = tmp_path / "state"
    shutil.copytree(quickstart_run.state, state)
    out = loclab("run", str(quickstart_run.spec), "--reports-dir", str(tmp_path / "reports"),
                 "-p", "max_epochs=2", cwd=quickstart_run.root,
                 env=clean_env(LOCLAB_STATE_DIR=str(state)), timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    # Nothing changed: the whole run (both jobs, the analysis) is reused at once.
    assert "nothing changed since the run" in out.stdout
    assert "its 2 job(s), analysis and report are reused" in out.stdout
