"""A template run by hand (no ``SM_*`` variables) is an interactive run of its project."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from loclab.nbexec import execute_notebook
from loclab.paths import StateDir
from loclab.results import InteractiveRuns
from loclab.scaffold import STARTER_NOTEBOOK, init_project
from loclab.testing.notebooks import write_notebook
from loclab.tracking.interactive import INTERACTIVE_EXPERIMENT
from loclab.tracking.tracker import EXPERIMENT_KIND_TAG


def run_by_hand(notebook: Path, out: Path, monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """Run ``notebook`` as JupyterLab does: its folder as cwd, its path in JPY_SESSION_NAME."""
    monkeypatch.setenv("JPY_SESSION_NAME", str(notebook))
    execute_notebook(notebook, out, cwd=notebook.parent)
    return [o for c in json.loads(out.read_text())["cells"] for o in c.get("outputs", [])]


def texts(outputs: list[dict]) -> str:
    parts = []
    for o in outputs:
        parts.append("".join(o.get("text", "")))
        parts.append("".join(o.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


def test_starter_run_by_hand_is_tracked_in_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    project = tmp_path / "proj"
    init_project(project)
    notebook = project / "notebooks" / "templates" / STARTER_NOTEBOOK
    outputs = run_by_hand(notebook, tmp_path / "out.ipynb", monkeypatch)

    # What the person at the notebook sees: one progress line, the curve, no noise.
    shown = texts(outputs)
    assert "[loclab-metric]" not in shown
    assert "IProgress" not in shown and "TqdmWarning" not in shown
    assert " INFO " not in shown
    assert "epoch 20: val_acc=" in shown
    assert any("image/png" in o.get("data", {}) for o in outputs)

    # Kept like a job, under the project's state folder.
    (record,) = InteractiveRuns(StateDir(project / ".loclab")).all()
    run_dir = Path(record.run_dir)
    assert run_dir.parent == project / ".loclab" / "interactive"
    for part in ("output/data/predictions.parquet", "output/data/learning_curve.png",
                 "model/model.joblib", "checkpoints/metrics.jsonl"):  # fmt: skip
        assert (run_dir / part).is_file(), part
    assert record.status == "FINISHED" and record.ended is not None  # closed with its kernel
    assert record.notebook == str(notebook.resolve())
    assert record.params["hidden"] == 16 and len(record.epochs) == 20
    assert set(record.metrics) == {"test_acc"}

    # In MLflow: an interactive run with the notebook's parameters and every epoch.
    client = MlflowClient(f"sqlite:///{project / '.loclab' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(INTERACTIVE_EXPERIMENT)
    assert experiment.tags[EXPERIMENT_KIND_TAG] == "custom_model_development"
    run = client.get_run(record.mlflow_run_id)
    assert run.data.tags["loclab.interactive"] == "true"
    assert run.data.tags["loclab.notebook"] == f"notebooks/templates/{STARTER_NOTEBOOK}"
    assert run.data.params["hidden"] == "16" and run.data.params["lr"] == "0.003"
    assert run.data.metrics["test_acc"] == record.metrics["test_acc"]
    assert len(client.get_metric_history(run.info.run_id, "val_acc")) == 20
    assert run.info.status == "FINISHED"
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "output")}
    assert "output/predictions.parquet" in artifacts

    # loclab list shows it with its metrics.
    listed = subprocess.run(
        [sys.executable, "-m", "loclab", "list"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if line.startswith(record.name))
    assert "finished" in row and f"test_acc={record.metrics['test_acc']:.4g}" in row


PARAMETERS = "x: float = 1.0  # a value\nsteps: int = 2  # epochs to report"
RERUN = """from loclab import runtime
ip = get_ipython()
for _ in range(2):  # the same cell run twice, as Run All twice in one kernel does
    ip.run_cell("ctx = runtime.context()", store_history=True)
    for step in range(steps):
        runtime.log_metrics({"val_score": x + step}, step=step)
    print(ctx.name)
"""


def test_running_the_notebook_again_in_the_same_kernel_starts_a_new_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    (tmp_path / "loclab.yaml").write_text("")
    monkeypatch.setenv("LOCLAB_STATE_DIR", str(tmp_path / "elsewhere"))
    notebook = write_notebook(tmp_path / "nb.ipynb", PARAMETERS, [RERUN])
    run_by_hand(notebook, tmp_path / "out.ipynb", monkeypatch)
    runs = InteractiveRuns(StateDir(tmp_path / "elsewhere")).all()
    assert len(runs) == 2
    assert all(r.status == "FINISHED" for r in runs)
    for record in runs:  # each pass has its own epochs, not the other's
        assert [e.step for e in record.epochs] == [0, 1]
        assert record.params == {"x": 1.0, "steps": 2}
    assert not (tmp_path / ".loclab").exists()


def test_a_kernel_not_told_its_notebook_finds_it_by_the_parameters_cell_it_ran(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """``jupyter nbconvert --execute`` sets no JPY_SESSION_NAME; the run still has its notebook."""
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    (tmp_path / "loclab.yaml").write_text("")
    body = "from loclab import runtime\nctx = runtime.context()\nruntime.log_metrics({'v': x})"
    notebook = write_notebook(tmp_path / "nb.ipynb", PARAMETERS, [body])
    write_notebook(tmp_path / "other.ipynb", "x: float = 2.0  # another notebook", [body])
    command = [sys.executable, "-m", "nbconvert", "--to", "notebook", "--execute"]
    done = subprocess.run(
        [*command, notebook.name, "--output", str(tmp_path / "out.ipynb")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    (record,) = InteractiveRuns(StateDir(tmp_path / ".loclab")).all()
    assert record.notebook == str(notebook.resolve())
    assert record.name.startswith("nb-")
    assert record.params == {"x": 1.0, "steps": 2}
    run = MlflowClient(f"sqlite:///{tmp_path / '.loclab' / 'mlflow.db'}").get_run(
        record.mlflow_run_id
    )
    assert run.data.params == {"x": "1.0", "steps": "2"}
    assert run.data.tags["loclab.notebook"] == "nb.ipynb"


def test_outside_a_project_the_notebook_writes_to_scratch_untracked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    folder = tmp_path / "loose"
    notebook = write_notebook(
        folder / "nb.ipynb",
        PARAMETERS,
        [
            "from loclab import runtime\nctx = runtime.context()\nprint(ctx.layout.root)\n"
            "runtime.log_metrics({'val_score': x}, step=0)"
        ],
    )
    if any(
        (p / m).exists()
        for p in folder.parents
        for m in ("loclab.yaml", "pyproject.toml", ".git", ".loclab")
    ):
        pytest.skip("the temp folder is inside a project")
    outputs = run_by_hand(notebook, tmp_path / "out.ipynb", monkeypatch)
    assert "not in a loclab project; writing to scratch folder" in texts(outputs)
    assert sorted(p.name for p in folder.iterdir()) == ["nb.ipynb"]


def test_a_job_still_prints_its_protocol_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """SageMaker's metric regexes read the job's log: jobs keep ``[loclab-metric]`` lines."""
    from loclab.execution.contract import JobLayout

    layout = JobLayout(tmp_path / "job")
    layout.create()
    monkeypatch.setenv("SM_MODEL_DIR", str(layout.model_dir))
    notebook = write_notebook(
        tmp_path / "nb.ipynb",
        PARAMETERS,
        ["from loclab import runtime\nruntime.log_metrics({'val_score': x}, step=0)"],
    )
    outputs = run_by_hand(notebook, tmp_path / "out.ipynb", monkeypatch)
    assert "[loclab-metric] step=0 val_score=1" in texts(outputs)
    assert not (tmp_path / ".loclab").exists()
    assert os.environ["SM_MODEL_DIR"] == str(layout.model_dir)
