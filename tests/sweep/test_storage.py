"""The same storage suite over every storage: journal file and PostgreSQL (no kernels)."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from loclab.exceptions import LoclabError, SpecError
from loclab.execution.job import read_status, write_status
from loclab.paths import StateDir, Workspace
from loclab.spec import SweepSpec, load_experiment
from loclab.sweep import StudyLocation, StudyNotFoundError, load_study, open_study
from loclab.sweep import _recovery as rec
from loclab.sweep.samplers import make_sampler, sampler_seed, search_space
from loclab.sweep.storage import locate, resolve_location

SWEEP = SweepSpec(
    metric="val_score",
    n_trials=4,
    sampler="random",
    space={"x": {"type": "float", "low": 0.0, "high": 1.0}},
)


@pytest.fixture(params=["journal", pytest.param("postgresql", marks=pytest.mark.postgres)])
def location(request, tmp_path, unique_name) -> StudyLocation:
    if request.param == "journal":
        return resolve_location("probe", StateDir(tmp_path / ".loclab"))
    url = request.getfixturevalue("postgres_url")
    return resolve_location(unique_name, StateDir(tmp_path), url)


def dead_driver() -> dict:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return {**rec.driver_identity(), "pid": proc.pid, "created": time.time() - 5}


def test_open_study_creates_once_and_checks_direction(location):
    assert location.kind in ("journal", "postgresql")
    with pytest.raises(StudyNotFoundError):
        load_study(location)
    study = open_study(location, SWEEP)
    study.enqueue_trial({"x": 0.5})
    again = open_study(location, SWEEP)
    assert len(again.get_trials()) == 1
    assert load_study(location).study_name == location.name
    with pytest.raises(LoclabError, match="was created to maximize, but the spec says minimize"):
        open_study(location, SWEEP.model_copy(update={"direction": "minimize"}))


def test_stale_trial_is_failed_and_requeued_once(location, tmp_path):
    study = open_study(location, SWEEP)
    study.sampler = make_sampler(SWEEP)
    space = search_space(SWEEP)
    stale = study.ask(space)
    stale.set_user_attr(rec.ATTR_DRIVER, dead_driver())
    stale.set_user_attr(rec.ATTR_MLFLOW_RUN, None)
    live = study.ask(space)
    live.set_user_attr(rec.ATTR_DRIVER, rec.driver_identity())
    lines: list[str] = []
    shared = location.url is not None
    done = rec.recover_stale_trials(study, tracker=None, shared=shared, say=lines.append)
    assert done.requeued == [0] and done.reattached == []
    assert len(lines) == 1 and lines[0].startswith("trial 0 was left running")
    trials = study.get_trials()
    assert [t.state.name for t in trials] == ["FAIL", "RUNNING", "WAITING"]
    assert trials[0].user_attrs[rec.ATTR_INTERRUPTED] is True
    assert trials[2].user_attrs == {rec.ATTR_REQUEUED_FROM: 0, rec.ATTR_ATTEMPT: 2}
    # The re-queued trial gets the same parameters.
    again = study.ask(space)
    assert again.number == 2 and again.params == stale.params
    # Recovering again queues nothing twice (the requeue is idempotent).
    rec.requeue(study, study.get_trials()[0], "again")
    assert len(study.get_trials()) == 3


def test_trial_of_a_driver_on_another_host_waits_for_its_heartbeat(location):
    study = open_study(location, SWEEP)
    trial = study.ask(search_space(SWEEP))
    other = {"host": "elsewhere", "pid": 1, "created": 0.0}
    trial.set_user_attr(rec.ATTR_DRIVER, other)
    trial.set_user_attr(rec.ATTR_HEARTBEAT, time.time())
    (frozen,) = study.get_trials()
    assert not rec.is_stale(frozen, shared=True)
    assert rec.is_stale(frozen, shared=True, now=time.time() + rec.STALE_AFTER_S + 1)


def test_orphaned_job_process_is_stopped(tmp_path):
    run_dir = tmp_path / "run"
    job = subprocess.Popen(["sleep", "60"], start_new_session=True)
    import psutil

    write_status(
        run_dir,
        {
            "state": "RUNNING",
            "host": rec.driver_identity()["host"],
            "pid": job.pid,
            "pid_created": psutil.Process(job.pid).create_time(),
        },
    )
    note = rec.stop_orphan_job(run_dir)
    assert note == f"stopped its orphaned job process {job.pid}"
    assert job.wait(timeout=5) == -15
    status = read_status(run_dir)
    assert status["state"] == "KILLED"
    assert status["failure"] == "the sweep driver stopped while the job ran"
    # A finished job is left alone.
    assert rec.stop_orphan_job(run_dir) is None


def test_resumed_driver_does_not_replay_random_draws():
    assert sampler_seed(0, 0) != sampler_seed(0, 4)
    first = make_sampler(SWEEP, 0)
    again = make_sampler(SWEEP, 0)
    assert first._rng.rng.random() == again._rng.rng.random()


def test_storage_precedence(tmp_path, probe_template):
    """--storage (the workspace's) wins over the spec's sweep.storage, which wins over the
    journal file; ${VAR} in the spec is expanded from the environment the command passes."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'scratch'\n")
    (tmp_path / "probe.ipynb").write_bytes(probe_template.read_bytes())
    spec = tmp_path / "s.yaml"
    body = (
        "sweep:\n  metric: val_score\n  n_trials: 1\n"
        "  space: {x: {type: float, low: 0, high: 1}}\n"
    )
    spec.write_text("name: e\nnotebook: probe.ipynb\n" + body)
    state = StateDir(tmp_path / ".loclab")
    exp = load_experiment(spec)
    assert locate(exp, Workspace(state, tmp_path)).journal == state.root / "studies" / "e.journal"
    spec.write_text("name: e\nnotebook: probe.ipynb\n" + body + "  storage: ${PG_URL}\n")
    exp = load_experiment(spec, environ={"PG_URL": "postgresql://u:pw@h/db"})
    loc = locate(exp, Workspace(state, tmp_path))
    assert loc.url == "postgresql://u:pw@h/db" and loc.display == "postgresql://u:[REDACTED]@h/db"
    assert locate(exp, Workspace(state, tmp_path, storage="mysql://h/d")).url == "mysql://h/d"
    with pytest.raises(SpecError, match=r"sweep.storage: names \$\{PG_URL\}, which is not set"):
        load_experiment(spec, environ={})
    json.dumps(loc.display)
