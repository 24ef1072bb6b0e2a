"""The job stage: `workers` jobs at once, reuse, per-epoch progress, an estimate of time left."""

from __future__ import annotations

from pathlib import Path

import pytest

from loclab.execution.backends import LocalBackend
from loclab.execution.job import JobState, read_status
from loclab.execution.plan import make_request, plan_jobs
from loclab.execution.records import job_record
from loclab.execution.runner import JobRunner
from loclab.paths import StateDir
from loclab.run.determinism import SeedWatch
from loclab.run.jobs import JobProgress, run_jobs
from loclab.spec import load_experiment
from loclab.testing import write_notebook

SPEC = """name: par
notebook: notebooks/probe.ipynb
params: {epochs: 2, sleep_s: 0.3}
compare:
  systems:
    a: {role: baseline}
    b: {params: {x: 2.0}}
  seeds: 2
  workers: 2
"""


@pytest.fixture
def planned(project: Path):
    (project / "experiments" / "par.yaml").write_text(SPEC)
    exp = load_experiment(project / "experiments" / "par.yaml")
    requests = [make_request(exp, p) for p in plan_jobs(exp)]
    runner = JobRunner(LocalBackend(threads_per_job=1), StateDir(project / ".loclab").runs("par"))
    return exp, requests, runner


def test_jobs_run_workers_at_a_time_with_progress(planned):
    exp, requests, runner = planned
    assert exp.workers == 2 and len(requests) == 4
    lines: list[str] = []
    ended: list[str] = []
    results = run_jobs(
        runner,
        requests,
        workers=exp.workers,
        say=lines.append,
        on_done=lambda r: ended.append(r.name),
    )
    assert [r.name for r in results] == [r.name for r in requests]
    assert all(r.state == JobState.COMPLETED for r in results)
    assert sorted(ended) == sorted(r.name for r in requests)
    # Two at a time: the second job started before the first one ended, and never three.
    spans = [(read_status(r.run_dir)["started"], r.ended) for r in results]
    assert spans[1][0] < spans[0][1]
    for t, _ in spans:
        assert sum(1 for s, e in spans if s <= t < e) <= 2
    # Progress: every epoch of every job, and an estimate once a job finished.
    epochs = [line for line in lines if ": epoch " in line]
    assert len(epochs) == 8 and all("/2" in line and "val_score=" in line for line in epochs)
    assert any("left" in line for line in lines if "done" in line)
    assert lines[-1].endswith("(4/4 done)")

    again: list[str] = []
    reused = run_jobs(runner, requests, workers=2, say=again.append)
    assert all(r.cached for r in reused)
    assert sum("reused completed run" in line for line in again) == 4


def test_ctrl_c_stops_every_running_job(planned):
    """A real interrupt (as Ctrl-C delivers it) once two jobs run: both end KILLED."""
    import _thread
    import threading
    import time

    _, requests, runner = planned
    slow = [r.__class__(**{**r.__dict__, "params": {**r.params}}) for r in requests]

    running: list = []  # the jobs running when the interrupt came

    def interrupt_when_running() -> None:
        # Whichever two jobs the stage starts first (it orders the first two seeds of every
        # system first, to find deterministic systems early).
        deadline = time.time() + 120
        while time.time() < deadline:
            now = [
                r for r in slow if (read_status(runner.run_dir(r)) or {}).get("state") == "RUNNING"
            ]
            if len(now) >= 2:
                running.extend(now)
                _thread.interrupt_main()
                return
            time.sleep(0.2)

    threading.Thread(target=interrupt_when_running, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        run_jobs(runner, slow, workers=2, say=lambda _: None)
    states = {r.name: read_status(runner.run_dir(r))["state"] for r in running}
    assert len(states) == 2 and set(states.values()) == {"KILLED"}
    assert not runner.run_dir(slow[2]).exists()


def test_remaining_time_estimate():
    progress = JobProgress(total=5, workers=2, durations=[10.0, 20.0], finished=2)
    # Mean 15 s; one running for 5 s (10 s left), two waiting (30 s), two at a time.
    assert progress.remaining_s([5.0]) == pytest.approx(20.0)
    assert JobProgress(total=3, workers=1).remaining_s() is None


SEEDED_PARAMS = """seed: int = 0  # training seed
noisy: bool = True  # whether the predictions depend on the seed"""
SEEDED_CELLS = [
    "import pandas as pd\n\nfrom loclab import runtime\n\n"
    "flip = seed % 2 if noisy else 0\n"
    "runtime.write_predictions(pd.DataFrame({'example_id': ['e1', 'e2', 'e3', 'e4'], "
    "'label': [1, 0, 1, 0], 'prediction': [1, flip, 1, 1 - flip], "
    "'correct': [1, 1 - flip, 1, flip], 'score': [0.9, 0.1 + flip / 2, 0.8, 0.4]}))\n"
    "runtime.log_metrics({'test_acc': 0.5})",
]
DETERMINISTIC_SPEC = """name: det
notebook: notebooks/seeded.ipynb
compare:
  systems:
    rule: {role: baseline, params: {noisy: false}}
    model: {params: {noisy: true}}
  seeds: 4
  workers: 2
"""


@pytest.fixture
def seeded(project: Path):
    write_notebook(project / "notebooks" / "seeded.ipynb", SEEDED_PARAMS, SEEDED_CELLS)
    (project / "experiments" / "det.yaml").write_text(DETERMINISTIC_SPEC)
    exp = load_experiment(project / "experiments" / "det.yaml")
    requests = [make_request(exp, p) for p in plan_jobs(exp)]
    runner = JobRunner(LocalBackend(threads_per_job=1), StateDir(project / ".loclab").runs("det"))
    return exp, requests, runner


def test_a_system_that_ignores_its_seed_runs_two_seeds_only(seeded):
    exp, requests, runner = seeded
    lines: list[str] = []
    results = run_jobs(runner, requests, workers=exp.workers, say=lines.append)
    states = {r.name: str(r.state) for r in results}
    assert states == {
        "det-rule-s0": "COMPLETED", "det-rule-s1": "COMPLETED",
        "det-rule-s2": "SKIPPED", "det-rule-s3": "SKIPPED",
        "det-model-s0": "COMPLETED", "det-model-s1": "COMPLETED",
        "det-model-s2": "COMPLETED", "det-model-s3": "COMPLETED",
    }  # fmt: skip
    skipped = next(r for r in results if r.name == "det-rule-s2")
    assert skipped.skipped and not skipped.ok and skipped.failure is None
    assert skipped.tags["loclab.same_as"] == "det-rule-s0"
    assert "seeds 0 and 1 of this system gave identical predictions" in skipped.tags[
        "loclab.skipped"]  # fmt: skip
    # Nothing ran for it: no run folder, and the job record says SKIPPED, not FAILED.
    assert not skipped.run_dir.exists()
    assert job_record(skipped).state == "SKIPPED" and job_record(skipped).notebook_copy is None
    # With two workers the first two seeds of every system started before any later seed.
    assert sum("det-rule-s2: not run" in line for line in lines) == 1
    # Again: the completed jobs are reused and the same seeds are skipped, instantly.
    again = run_jobs(runner, requests, workers=2, say=lambda _: None)
    assert {r.name: str(r.state) for r in again} == states
    assert all(r.cached for r in again if r.ok)
    # Whichever probe seed ends first, the skipped seeds are named after the lowest one.
    by_name = {r.name: r for r in results}
    request_of = {r.name: r for r in requests}
    watch = SeedWatch(requests)
    for name in ("det-rule-s1", "det-rule-s0"):
        watch.saw(request_of[name], by_name[name])
    late = watch.skip(request_of["det-rule-s3"], runner.run_dir(request_of["det-rule-s3"]))
    assert late is not None and late.tags["loclab.same_as"] == "det-rule-s0"
    assert "seeds 0 and 1" in late.tags["loclab.skipped"]
    # Without the watch every seed runs (what --no-reuse of a changed spec still gets).
    plain = SeedWatch([])
    assert plain.skip(requests[2], runner.run_dir(requests[2])) is None


def test_start_order_puts_each_systems_first_two_seeds_first(seeded):
    _, requests, _ = seeded
    order = [requests[i].name for i in SeedWatch(requests).order(requests)]
    assert order[:4] == ["det-rule-s0", "det-rule-s1", "det-model-s0", "det-model-s1"]
    assert sorted(order) == sorted(r.name for r in requests)


@pytest.mark.slow
def test_a_run_with_a_deterministic_system_finishes_and_reuses_its_skipped_seeds(
    seeded, mlflow_db
):
    import json
    import os
    import subprocess
    import sys

    _, _, runner = seeded
    project = runner.runs_root.parents[2]
    (project / ".loclab").mkdir(exist_ok=True)
    (project / ".loclab" / "mlflow.db").write_bytes(mlflow_db.read_bytes())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "SM_", "LOCLAB_"))}

    def loclab(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "loclab", *args], cwd=project, env=env,
                              capture_output=True, text=True, timeout=600)  # fmt: skip

    out = loclab("run", "experiments/det.yaml")
    # Skipped seeds are no failure: the run finishes and exits 0.
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    results = project / ".loclab" / "results" / "det"
    jobs = json.loads((results / "jobs.json").read_text())
    assert jobs["status"] == "FINISHED"
    states = {j["name"]: j["state"] for j in jobs["jobs"]}
    assert [states[f"det-rule-s{s}"] for s in range(4)] == ["COMPLETED"] * 2 + ["SKIPPED"] * 2
    doc = json.loads((results / "comparison.json").read_text())
    rule = next(s for s in doc["systems"] if s["name"] == "rule")
    assert rule["deterministic"] and rule["skipped_seeds"] == [2, 3] and rule["n_seeds"] == 2
    assert doc["missing_jobs"] == []
    page = (project / "reports" / "det" / "index.html").read_text()
    assert "2 more not run" in page and "job det-rule-s2" not in page
    # Nothing changed: the run is reused as it is, skipped seeds included.
    again = loclab("run", "experiments/det.yaml")
    assert again.returncode == 0, again.stderr[-2000:]
    assert "det: nothing changed since the run that ended" in again.stdout
