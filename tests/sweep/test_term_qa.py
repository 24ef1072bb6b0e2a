"""The flagship sweep: the term-QA notebook, tiny data, 8 trials, 2 workers, journal storage."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
import yaml

from loclab.spec import load_experiment
from loclab.sweep import run_sweep_stage

from .conftest import make_tracker, read_sweep, trials_by_state, workspace

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "notebooks" / "templates" / "train_term_qa.ipynb"
SPEC = REPO / "experiments" / "term_qa.yaml"


@pytest.fixture
def term_qa_project(tmp_path, tmp_path_factory, monkeypatch) -> Path:
    """The repository's spec (sweep only) and notebook in a scratch project."""
    if not NOTEBOOK.exists():
        pytest.skip(f"{NOTEBOOK.relative_to(REPO)} is not in this checkout yet")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'scratch'\n")
    target = tmp_path / "notebooks" / "templates" / NOTEBOOK.name
    target.parent.mkdir(parents=True)
    shutil.copy(NOTEBOOK, target)
    data = yaml.safe_load(SPEC.read_text())
    data.pop("compare", None)
    # Two epochs instead of four keep the test short; the pruner may act from the first.
    data["sweep"]["params"]["max_epochs"] = 2
    data["sweep"]["pruner_options"]["n_warmup_steps"] = 0
    (tmp_path / "experiments").mkdir()
    (tmp_path / "experiments" / "term_qa.yaml").write_text(yaml.safe_dump(data))
    # Build the tiny data set once for every trial.
    monkeypatch.setenv("LOCLAB_CACHE_DIR", str(tmp_path_factory.mktemp("data-cache")))
    return tmp_path


def test_term_qa_sweep_with_two_workers(term_qa_project, mlflow_db):
    exp = load_experiment(term_qa_project / "experiments" / "term_qa.yaml")
    sweep = exp.spec.sweep
    assert (sweep.n_trials, sweep.workers, sweep.metric) == (8, 2, "val_acc")
    ws = workspace(term_qa_project)
    tracker = make_tracker(term_qa_project, mlflow_db)
    parent = tracker.start_run(exp.name, "experiment")

    found = run_sweep_stage(exp, ws, tracker=tracker, parent_run_id=parent, progress=False)

    data = read_sweep(term_qa_project, exp.name)
    assert data == found
    counts = data.counts
    assert counts.complete + counts.pruned == 8
    assert counts.running == 0 and counts.waiting == 0
    assert data.best is not None and data.winners[0] == data.best
    assert set(data.best.params) == set(sweep.space)

    from loclab.sweep import load_study, resolve_location

    study = load_study(resolve_location(exp.name, ws.state))
    states = trials_by_state(study)
    finished = states.get("COMPLETE", []) + states.get("PRUNED", [])
    assert len(finished) == 8
    client = tracker.client
    sweep_run = data.mlflow_run_id
    assert client.get_run(sweep_run).data.tags["mlflow.parentRunId"] == parent
    children = {
        r.info.run_id: r
        for r in client.search_runs(
            [tracker.experiment_id(exp.name)], f"tags.mlflow.parentRunId = '{sweep_run}'"
        )
    }
    assert len(children) == len(study.trials)
    for t in finished:
        run_dir = Path(t.user_attrs["loclab.run_dir"])
        assert (run_dir / "output/data/executed.ipynb").exists()
        run = children[t.user_attrs["loclab.mlflow_run_id"]]
        assert run.data.params["model"] == "char_cnn"
        assert run.data.params["size"] == "tiny"
        history = client.get_metric_history(run.info.run_id, "val_acc")
        assert history, "per-epoch val_acc did not reach the trial's MLflow run"
        if t.state.name == "COMPLETE":
            assert run.info.status == "FINISHED"
            assert t.value == pytest.approx(t.intermediate_values[t.last_step])
            assert "test_acc" in run.data.metrics
        else:
            assert run.info.status == "KILLED"
            assert run.data.tags["loclab.pruned"] == f"pruned at step {t.last_step}"


def run_term_qa(project: Path, backend: str, mlflow_db: Path, monkeypatch) -> tuple:
    """`loclab run` of term-QA (2 trials, then the best against the baseline, one seed)."""
    from loclab.paths import Workspace
    from loclab.run import run_experiment

    path = project / "experiments" / "term_qa.yaml"
    data = yaml.safe_load(path.read_text())
    data["sweep"].update(n_trials=2, workers=2)
    data["compare"] = {**yaml.safe_load(SPEC.read_text())["compare"], "seeds": [0]}
    data["compare"]["systems"]["neural"]["params"]["max_epochs"] = 2
    if backend == "sagemaker":
        # Two emulated instances share this machine's two cores.
        threads = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"}
        data["backend"] = {"kind": "sagemaker", "environment": threads}
    path.write_text(yaml.safe_dump(data))
    monkeypatch.chdir(project)
    exp = load_experiment(path, environ=os.environ)
    ws = Workspace.for_project(exp.root)
    ws.state.root.mkdir(parents=True)
    shutil.copy(mlflow_db, ws.state.mlflow_db)
    summary = run_experiment(exp, ws, say=lambda _: None)
    return exp, ws, summary


def mlflow_tree(ws, exp, summary) -> dict:
    """What a reader of the experiment's MLflow runs and run folders sees, minus values."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{ws.state.mlflow_db}")
    experiment_id = client.get_experiment_by_name(exp.name).experiment_id

    def describe(run, depth: int) -> dict:
        found = client.search_runs(
            [experiment_id], f"tags.mlflow.parentRunId = '{run.info.run_id}'"
        )
        run_dir = ws.state.runs(exp.name) / run.info.run_name
        return {
            "status": run.info.status,
            "params": sorted(run.data.params),
            "metrics": sorted(run.data.metrics),
            "tags": sorted(
                k
                for k in run.data.tags
                if not k.startswith(("mlflow.", "loclab.sagemaker", "loclab.backend"))
            ),
            "artifacts": sorted(a.path for a in client.list_artifacts(run.info.run_id)),
            "files": sorted(
                str(f.relative_to(run_dir / "output" / "data"))
                for f in (run_dir / "output" / "data").rglob("*")
                if f.is_file()
            ),
            "val_acc steps": sorted(
                m.step for m in client.get_metric_history(run.info.run_id, "val_acc")
            ),
            "children": {r.info.run_name: describe(r, depth + 1) for r in found},
        }

    return describe(client.get_run(summary.mlflow_parent_run_id), 0)


def test_term_qa_on_sagemaker_gives_what_a_local_run_gives(
    term_qa_project, tmp_path, aws, emulator, mlflow_db, monkeypatch
):
    """The term-QA sweep and comparison with `backend: sagemaker`, against a loopback moto
    server and the contract emulator: the same MLflow runs, executed notebooks and report as
    the same experiment run locally."""
    remote_project = tmp_path / "remote"
    shutil.copytree(term_qa_project, remote_project)
    seen = {}
    for backend, project in (("local", term_qa_project), ("sagemaker", remote_project)):
        started = time.monotonic()
        exp, ws, summary = run_term_qa(project, backend, mlflow_db, monkeypatch)
        print(f"term-QA on {backend}: {time.monotonic() - started:.1f} s")
        sweep = read_sweep(project, exp.name)
        assert sweep.counts.finished == 2
        assert [j.state for j in summary.jobs] == ["COMPLETED", "COMPLETED"]
        report = ws.reports / exp.name / "index.html"
        assert report.exists() and report.stat().st_size > 1000
        seen[backend] = mlflow_tree(ws, exp, summary)
    # Every trial and comparison job was one training job, launched once.
    assert sorted(emulator.create_requests) == [
        "term-qa-baseline-s0",
        "term-qa-neural-s0",
        "term-qa-t0-a1",
        "term-qa-t1-a1",
    ]
    local, remote = seen["local"], seen["sagemaker"]
    assert set(remote["children"]) == {"term-qa-sweep", "term-qa-baseline-s0", "term-qa-neural-s0"}
    assert set(remote["children"]["term-qa-sweep"]["children"]) == {
        "term-qa-t0-a1",
        "term-qa-t1-a1",
    }
    trial = remote["children"]["term-qa-sweep"]["children"]["term-qa-t0-a1"]
    assert "executed.ipynb" in trial["files"] and "predictions.parquet" in trial["files"]
    # Two epochs, logged by Lightning's MLflow logger at its global steps.
    assert len(trial["val_acc steps"]) == 2 and "test_acc" in trial["metrics"]
    assert "train_loss" in trial["metrics"] and "model.embed_dim" in trial["params"]
    assert {"output", "job.log"} <= set(trial["artifacts"])
    assert flatten(remote) == flatten(local)


def flatten(tree: dict, path: str = "") -> dict:
    """``{"run/child/field": value}``: a difference names the run and field."""
    flat = {}
    for key, value in tree.items():
        if key == "children":
            for name, child in value.items():
                flat.update(flatten(child, f"{path}/{name}"))
        else:
            flat[f"{path}:{key}"] = value
    return flat
