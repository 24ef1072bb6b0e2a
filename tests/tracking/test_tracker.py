"""What reaches MLflow: secrets never do, local files stay as they were."""

from __future__ import annotations

import shutil
from pathlib import Path

from mlflow.tracking import MlflowClient

from loclab.paths import StateDir
from loclab.tracking import Tracker


def test_secrets_are_scrubbed_from_params_tags_and_artifacts(tmp_path: Path, mlflow_db: Path):
    state = StateDir(tmp_path / "state")
    state.root.mkdir()
    shutil.copy(mlflow_db, state.mlflow_db)
    key_id = "AKIA" + "Q" * 16  # built at run time: no key-looking literal in the repository
    tracker = Tracker.for_state(state, tags={"loclab.git_sha": "abc"})
    run_id = tracker.start_run(
        "probe",
        "r",
        tags={"note": f"uploaded with {key_id}"},
        params={"db_password": "hunter2hunter2", "lr": 0.1, "remark": f"key {key_id}"},
    )
    spec = tmp_path / "spec.yaml"
    original = f"name: probe\nparams:\n  access: {key_id}\n"
    spec.write_text(original)
    tracker.log_artifact(run_id, spec, "spec")

    client = MlflowClient(tracker.tracking_uri)
    run = client.get_run(run_id)
    assert run.data.params["db_password"] == "[REDACTED]"
    assert run.data.params["lr"] == "0.1"
    assert key_id not in run.data.params["remark"]
    assert key_id not in run.data.tags["note"]
    assert run.data.tags["loclab.git_sha"] == "abc"
    logged = Path(client.download_artifacts(run_id, "spec/spec.yaml", str(tmp_path / "dl")))
    assert key_id not in logged.read_text()
    assert "[REDACTED]" in logged.read_text()
    assert spec.read_text() == original
