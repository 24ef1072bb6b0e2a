"""Real sweeps of the probe notebook: parallel trials, pruning, failures, tracking, results."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from loclab.execution.backends.local import threads_per_job
from loclab.sweep import SweepFailedError, run_sweep_stage

from .conftest import (
    driver,
    enqueue,
    make_tracker,
    read_sweep,
    trials_by_state,
    workspace,
    write_spec,
)

pytestmark = pytest.mark.timeout(300)


@pytest.mark.parametrize(
    "storage", ["journal", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_parallel_sweep_has_n_trials_notebooks_and_child_runs(
    project, mlflow_db, storage, request, unique_name
):
    name, url = "para", None
    if storage == "postgresql":
        url = request.getfixturevalue("postgres_url")
        name = unique_name
    spec = write_spec(
        project,
        name,
        "  metric: val_score\n  n_trials: 6\n  workers: 4\n  sampler: random\n"
        "  pruner: none\n  top_k: 3\n  space:\n    x: {type: float, low: 0.0, high: 1.0}\n",
        params="epochs: 2",
    )
    tracker = make_tracker(project, mlflow_db)
    parent = tracker.start_run(name, "experiment")
    lines: list[str] = []
    d = driver(project, spec, tracker=tracker, parent_run_id=parent, storage=url, say=lines.append)
    outcome = d.run()
    # Four trials at a time on one study (four kernels logging to one MLflow store): exact
    # counts, and no "database is locked" anywhere.
    assert outcome.launched == 6
    assert not [line for line in lines if "locked" in line.lower()]
    study = d.study
    states = trials_by_state(study)
    assert set(states) == {"COMPLETE"} and len(states["COMPLETE"]) == 6

    sweep_run = outcome.record.mlflow_run_id
    client = tracker.client
    assert client.get_run(sweep_run).data.tags["mlflow.parentRunId"] == parent
    children = client.search_runs(
        [tracker.experiment_id(name)], f"tags.mlflow.parentRunId = '{sweep_run}'"
    )
    assert len(children) == 6
    by_id = {r.info.run_id: r for r in children}
    for t in states["COMPLETE"]:
        attrs = t.user_attrs
        assert attrs["loclab.job"] == f"{name}-t{t.number}-a1"
        run_dir = Path(attrs["loclab.run_dir"])
        assert run_dir.name == attrs["loclab.job"]
        assert (run_dir / "output/data/executed.ipynb").exists()
        assert json.loads((run_dir / "status.json").read_text())["state"] == "COMPLETED"
        # The notebook reported x + 0.1 * epoch; the objective is the last epoch's value.
        assert t.value == pytest.approx(t.params["x"] + 0.1)
        assert t.intermediate_values == {0: pytest.approx(t.params["x"]), 1: t.value}
        run = by_id[attrs["loclab.mlflow_run_id"]]
        assert run.info.status == "FINISHED"
        assert run.data.tags["loclab.trial"] == str(t.number)
        history = client.get_metric_history(run.info.run_id, "val_score")
        assert sorted(m.step for m in history) == [0, 1]

    data = read_sweep(project, name)
    assert data.counts.model_dump() == {
        "complete": 6, "pruned": 0, "failed": 0, "running": 0, "waiting": 0,
    }  # fmt: skip
    assert data.finished and data.study_name == name
    assert data.storage_kind == ("journal" if url is None else "postgresql")
    best = max(states["COMPLETE"], key=lambda t: t.value)
    assert data.best is not None
    assert data.best.value == best.value and data.best.params == best.params
    assert [w.rank for w in data.winners] == [1, 2, 3]
    values = [w.value for w in data.winners]
    assert values == sorted(values, reverse=True)
    assert len(data.trials) == 6 and all(t.run_dir for t in data.trials)
    # Everything a report draws is in the record: the intermediate values of every trial.
    assert all(len(t.intermediate) == 2 for t in data.trials)
    sweep_tags = client.get_run(sweep_run).data.tags
    assert float(sweep_tags["best.value"]) == best.value
    assert float(sweep_tags["best.x"]) == pytest.approx(best.params["x"])
    assert sweep_tags["optuna.study_name"] == name
    assert client.get_run(sweep_run).info.status == "FINISHED"

    # A finished sweep runs nothing new and hands on the same winners.
    from loclab.spec import load_experiment

    again = run_sweep_stage(
        load_experiment(spec),
        workspace(project, url),
        tracker=tracker,
        parent_run_id=parent,
        progress=False,
    )
    assert again.winners == data.winners
    assert len(study.get_trials()) == 6
    assert (
        len(
            client.search_runs(
                [tracker.experiment_id(name)], f"tags.mlflow.parentRunId = '{sweep_run}'"
            )
        )
        == 6
    )


@pytest.mark.slow
def test_median_pruner_prunes_bad_trials(project, mlflow_db):
    # Bad x values report low scores for many epochs; after two good trials complete, the
    # median pruner must stop them.
    spec = write_spec(
        project,
        "prune",
        "  metric: val_score\n  n_trials: 6\n  workers: 2\n  sampler: random\n"
        "  pruner: median\n  pruner_options: {n_startup_trials: 2, n_warmup_steps: 2}\n"
        "  space:\n    x: {type: categorical, choices: [0.0, 1.0]}\n",
        params="epochs: 12, sleep_s: 0.5",
    )
    enqueue(project, spec, [{"x": x} for x in (1.0, 1.0, 0.0, 0.0, 1.0, 0.0)])
    tracker = make_tracker(project, mlflow_db)
    d = driver(project, spec, tracker=tracker)
    d.run()
    states = trials_by_state(d.study)
    assert [t.number for t in states["PRUNED"]] == [2, 3, 5]
    assert [t.number for t in states["COMPLETE"]] == [0, 1, 4]
    assert "FAIL" not in states
    for t in states["PRUNED"]:
        step = t.last_step
        assert 2 <= step < 11  # stopped early, after the warm-up steps
        assert t.value == pytest.approx(0.1 * step)  # its last reported value
        status = json.loads((Path(t.user_attrs["loclab.run_dir"]) / "status.json").read_text())
        assert status["state"] == "STOPPED"
        assert status["failure"].startswith(f"pruned at step {step}")
        run = tracker.client.get_run(t.user_attrs["loclab.mlflow_run_id"])
        assert run.info.status == "KILLED"
        assert run.data.tags["loclab.pruned"] == f"pruned at step {step}"
        assert run.data.tags["optuna.trial_state"] == "PRUNED"
    data = read_sweep(project, "prune")
    assert data.counts.pruned == 3 and data.best is not None and data.best.params == {"x": 1.0}
    # Pruned trials never enter the winners, and equal parameter sets appear once.
    assert [w.params for w in data.winners] == [{"x": 1.0}]
    # A pruned trial's notebook is kept with the records, scrubbed, for the report to link.
    pruned = [t for t in data.trials if t.state == "PRUNED"]
    assert all(t.notebook_copy and (data_folder(project, "prune") / t.notebook_copy).is_file()
               for t in pruned)  # fmt: skip


def test_failures_are_recorded_and_the_sweep_goes_on(project):
    spec = write_spec(
        project,
        "fails",
        "  metric: val_score\n  n_trials: 4\n  workers: 2\n  sampler: random\n"
        "  pruner: none\n  max_failure_ratio: 1.0\n"
        "  space:\n    mode: {type: categorical, choices: [ok, raise, nan, die, oom]}\n",
        params="epochs: 2",
    )
    modes = ["raise", "nan", "die", "oom", "ok", "ok", "ok", "ok"]
    enqueue(project, spec, [{"mode": m} for m in modes])
    d = driver(project, spec)
    d.run()
    trials = d.study.get_trials()
    assert [t.params["mode"] for t in trials] == modes
    assert [t.state.name for t in trials] == ["FAIL"] * 4 + ["COMPLETE"] * 4
    reasons = [t.user_attrs["loclab.failure"] for t in trials[:4]]
    assert "raised ValueError: boom from the probe" in reasons[0]
    assert reasons[1] == "val_score was nan at step 0"
    assert reasons[2].startswith("kernel died while running cell")
    assert "ran out of memory (MemoryError" in reasons[3]
    for t in trials[:4]:
        assert (Path(t.user_attrs["loclab.run_dir"]) / "output/data/executed.ipynb").exists()
        assert "loclab.interrupted" not in t.user_attrs
    rows = read_sweep(project, "fails").trials
    assert [r.failure for r in rows[:4]] == reasons


def test_max_failure_ratio_stops_a_broken_sweep(project):
    spec = write_spec(
        project,
        "broken",
        "  metric: val_score\n  n_trials: 2\n  workers: 1\n  sampler: random\n"
        "  pruner: none\n  max_failure_ratio: 0.5\n"
        "  space:\n    mode: {type: categorical, choices: [raise, sleep]}\n",
        params="epochs: 1",
    )
    enqueue(project, spec, [{"mode": "sleep"}, {"mode": "raise"}])
    d = driver(project, spec, job_timeout=12)
    with pytest.raises(SweepFailedError) as err:
        d.run()
    message = str(err.value)
    assert message.startswith(
        "sweep broken stopped: 2 trials failed, more than max_failure_ratio 0.5 x n_trials 2 "
        "allows (1); last: trial 1: cell"
    )
    assert "raised ValueError: boom from the probe" in message
    trials = d.study.get_trials()
    assert len(trials) == 2
    assert trials[0].user_attrs["loclab.failure"].startswith("timed out after 12 s")
    data = read_sweep(project, "broken")
    assert data.counts.failed == 2 and data.best is None


def data_folder(project: Path, name: str) -> Path:
    return workspace(project).state.results(name)


def test_threads_per_job_share_the_cores():
    assert threads_per_job(1, cpus=2) == 2
    assert threads_per_job(2, cpus=2) == 1
    assert threads_per_job(4, cpus=2) == 1
    assert threads_per_job(3, cpus=16) == 5


def test_value_of_a_final_only_metric(project):
    # A notebook that reports the metric only once, at the end, still gives the objective.
    spec = write_spec(
        project,
        "final",
        "  metric: test_score\n  n_trials: 1\n  pruner: none\n"
        "  space:\n    x: {type: float, low: 1.0, high: 2.0}\n",
        params="epochs: 1",
    )
    d = driver(project, spec)
    d.run()
    (t,) = d.study.get_trials()
    assert t.state.name == "COMPLETE" and math.isclose(t.value, t.params["x"] + 0.1)


def test_sweep_timeout_stops_launching(project):
    spec = write_spec(
        project,
        "budget",
        "  metric: val_score\n  n_trials: 6\n  workers: 2\n  timeout: 1s\n  sampler: random\n"
        "  pruner: none\n  space:\n    x: {type: float, low: 0.0, high: 1.0}\n",
        params="epochs: 2, sleep_s: 1.0",
    )
    lines: list[str] = []
    d = driver(project, spec, say=lines.append)
    outcome = d.run()
    # The first two trials started before the limit and were allowed to finish.
    assert outcome.launched == 2
    assert [t.state.name for t in d.study.get_trials()] == ["COMPLETE", "COMPLETE"]
    assert any(line.startswith("sweep timeout (0:01) reached: no new trials") for line in lines)
    assert outcome.record.finished is False


@pytest.mark.parametrize(
    ("pruner", "epochs", "where"),
    [("median", 3, "epoch 0 without"), ("none", 1, "its run without")],
)
def test_a_missing_sweep_metric_stops_the_sweep_after_one_trial(project, pruner, epochs, where):
    # A misspelt metric fails every trial the same way: the first one shows it, none more run.
    spec = write_spec(
        project,
        f"typo-{pruner}",
        f"  metric: val_scor\n  n_trials: 6\n  workers: 1\n  sampler: random\n"
        f"  pruner: {pruner}\n  space:\n    x: {{type: float, low: 1.0, high: 2.0}}\n",
        # Epochs long enough for the driver to see the first one before the trial ends.
        params=f"epochs: {epochs}, sleep_s: 2.0",
    )
    d = driver(project, spec)
    with pytest.raises(SweepFailedError) as err:
        d.run()
    message = str(err.value)
    assert f"stopped at once: trial 0 finished {where}" in message
    assert "the sweep's metric 'val_scor'" in message and "val_score" in message
    # One trial ran (a trial stopped mid-run is queued again, for when the name is fixed).
    ran = [t for t in d.study.get_trials() if t.state.name != "WAITING"]
    assert len(ran) == 1


def test_percentile_pruner_from_the_spec():
    import optuna

    from loclab.spec.sweep import SweepSpec
    from loclab.sweep.samplers import make_pruner

    spec = SweepSpec.model_validate(
        {
            "metric": "val_score",
            "n_trials": 4,
            "pruner": "percentile",
            "pruner_options": {"percentile": 40, "n_warmup_steps": 1},
            "space": {"x": {"type": "float", "low": 0, "high": 1}},
        }
    )
    pruner = make_pruner(spec)
    assert isinstance(pruner, optuna.pruners.PercentilePruner)
    assert (pruner._percentile, pruner._n_warmup_steps) == (40.0, 1)
