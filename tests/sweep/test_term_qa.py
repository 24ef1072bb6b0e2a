"""The flagship sweep: the term-QA notebook, tiny data, 8 trials, 2 workers, journal storage."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from loclab.spec import load_experiment
from loclab.sweep import read_results, run_sweep_stage

from .conftest import make_tracker, trials_by_state, workspace

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

    data = read_results(ws.state, exp.name)
    counts = data["counts"]
    assert counts["complete"] + counts["pruned"] == 8
    assert counts["running"] == 0 and counts["waiting"] == 0
    assert set(found) == {f"top{r['rank']}" for r in data["top_k"]} and "top1" in found
    assert found["top1"] == data["best_params"]
    assert set(found["top1"]) == set(sweep.space)

    from loclab.sweep import load_study, resolve_location

    study = load_study(resolve_location(exp.name, sweep, ws.state))
    states = trials_by_state(study)
    finished = states.get("COMPLETE", []) + states.get("PRUNED", [])
    assert len(finished) == 8
    client = tracker.client
    sweep_run = data["mlflow_run_id"]
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
