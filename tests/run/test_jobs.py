"""The job stage: `workers` jobs at once, reuse, per-epoch progress, an estimate of time left."""

from __future__ import annotations

from pathlib import Path

import pytest

from loclab.execution.backends import LocalBackend
from loclab.execution.job import JobState, read_status
from loclab.execution.plan import make_request, plan_jobs
from loclab.execution.runner import JobRunner
from loclab.paths import StateDir
from loclab.run.jobs import JobProgress, run_jobs
from loclab.spec import load_experiment

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

    def interrupt_when_running() -> None:
        deadline = time.time() + 120
        while time.time() < deadline:
            states = [read_status(runner.run_dir(r)) for r in slow[:2]]
            if all(s and s.get("state") == "RUNNING" for s in states):
                _thread.interrupt_main()
                return
            time.sleep(0.2)

    threading.Thread(target=interrupt_when_running, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        run_jobs(runner, slow, workers=2, say=lambda _: None)
    states = {r.name: read_status(runner.run_dir(r))["state"] for r in slow[:2]}
    assert set(states.values()) == {"KILLED"}
    assert not runner.run_dir(slow[2]).exists()


def test_remaining_time_estimate():
    progress = JobProgress(total=5, workers=2, durations=[10.0, 20.0], finished=2)
    # Mean 15 s; one running for 5 s (10 s left), two waiting (30 s), two at a time.
    assert progress.remaining_s([5.0]) == pytest.approx(20.0)
    assert JobProgress(total=3, workers=1).remaining_s() is None
