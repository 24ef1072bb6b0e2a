"""Interactive runs' tracking: the record follows the notebook; MLflow is a copy, not a must."""

from __future__ import annotations

import shutil
from pathlib import Path

from mlflow.tracking import MlflowClient

from loclab.paths import StateDir
from loclab.results import InteractiveRuns
from loclab.tracking import default_tracking_uri
from loclab.tracking.interactive import INTERACTIVE_TAG, InteractiveRun


def test_the_record_follows_what_the_notebook_reports(tmp_path: Path, mlflow_db: Path):
    state = StateDir(tmp_path / "state")
    state.root.mkdir()
    shutil.copy(mlflow_db, state.mlflow_db)
    notebook = tmp_path / "nb.ipynb"
    notebook.write_text("{}")
    run = InteractiveRun.start(
        state,
        project_root=tmp_path,
        notebook=notebook,
        params={"lr": 0.1, "layers": [64, 32]},
        tracking_uri=default_tracking_uri(state),
    )
    assert run.record.name.startswith("nb-") and run.layout.model_dir.is_dir()
    run.report({"val_acc": 0.5}, step=0)
    run.report({"val_loss": 0.9}, step=0)  # same epoch: merged
    run.report({"val_acc": 0.6, "val_loss": float("nan")}, step=1)  # NaN is not kept
    run.report({"test_acc": 0.7}, step=None)
    stored = InteractiveRuns(state).read(run.record.name)
    assert stored is not None and stored.status == "RUNNING"
    assert [(e.step, e.metrics) for e in stored.epochs] == [
        (0, {"val_acc": 0.5, "val_loss": 0.9}),
        (1, {"val_acc": 0.6}),
    ]
    assert stored.metrics == {"test_acc": 0.7} and stored.params["layers"] == [64, 32]
    run.finish()
    run.finish()  # once
    stored = InteractiveRuns(state).read(run.record.name)
    assert stored is not None and stored.status == "FINISHED" and stored.ended is not None
    mlflow_run = MlflowClient(default_tracking_uri(state)).get_run(stored.mlflow_run_id)
    assert mlflow_run.info.status == "FINISHED"
    assert mlflow_run.data.tags[INTERACTIVE_TAG] == "true"
    assert mlflow_run.data.params == {"lr": "0.1", "layers": "[64, 32]"}


def test_without_mlflow_the_run_goes_on_untracked_with_one_line(tmp_path: Path):
    said: list[str] = []
    run = InteractiveRun.start(
        StateDir(tmp_path / "state"),
        project_root=tmp_path,
        notebook=None,
        params={},
        tracking_uri="unknown-scheme://nowhere",
        say=said.append,
    )
    (line,) = said
    assert line.startswith("loclab: MLflow not reached (") and line.endswith(" only")
    assert run.record.mlflow_run_id is None and run.record.name.startswith("notebook-")
    run.report({"val_acc": 0.5}, step=0)
    run.finish()
    stored = InteractiveRuns(StateDir(tmp_path / "state")).read(run.record.name)
    assert stored is not None and stored.status == "FINISHED" and len(stored.epochs) == 1
