"""Warm standbys of the local backend: real standby processes, real kernels, real jobs.

A standby (:mod:`loclab.execution.warm`) is a job process started before its job, whose kernel
has imported what the notebook imports. These tests run jobs through it and check that a warm
job is the same job as a cold one (same cells, same namespace, same contract), that nothing is
lost when a standby or its kernel dies, that parameters are still validated and jobs still
stop, and that no standby or kernel outlives its launcher.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from loclab.execution.backends import LocalBackend
from loclab.execution.job import JobRequest, JobResult, JobState
from loclab.execution.runner import JobRunner
from loclab.params import encode_value, inspect_notebook
from loclab.testing.notebooks import write_notebook

PARAMETERS = """x: float = 1.0  # value the notebook reports
mode: str = "ok"  # ok, die or sleep"""
CELLS = [
    # Whether `wave` was imported before this cell ran tells a warm kernel from a cold one.
    "import os\nimport sys\nimport time\n\nwarm = 'wave' in sys.modules\n"
    "print('warm' if warm else 'cold')\nimport wave\n\nfrom loclab import runtime",
    "runtime.log_metrics({'val_score': x}, step=0)\n"
    "if mode == 'die':\n    os._exit(1)\n"
    "if mode == 'sleep':\n    time.sleep(3600)",
    # What a cold kernel has at this point; a warm one must have the same.
    "import json\nprint(json.dumps({'count': get_ipython().execution_count, 'history': len(In), "
    "'names': sorted(k for k in globals() if not k.startswith('_')), 'cwd': os.getcwd(), "
    "'job': os.environ.get('TRAINING_JOB_NAME'), 'hp': os.environ.get('SM_HP_X')}))\n"
    "runtime.log_metrics({'test_score': x})",
]


@pytest.fixture(scope="module")
def notebook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_notebook(tmp_path_factory.mktemp("warm") / "warm.ipynb", PARAMETERS, CELLS)


@pytest.fixture
def backend() -> LocalBackend:
    found = LocalBackend(threads_per_job=1, standbys=1)
    yield found
    found.close()


def request(notebook: Path, name: str, **params: object) -> JobRequest:
    declared = inspect_notebook(notebook)
    return JobRequest(
        name=name,
        experiment="warm",
        notebook=notebook,
        hyperparameters={k: encode_value(v) for k, v in params.items()},
        params={**declared.defaults(), **params},
    )


def outputs(result: JobResult) -> list[str]:
    cells = json.loads(result.executed_notebook.read_text())["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    texts = []
    for cell in code:
        parts = [o.get("text", "") for o in cell.get("outputs", [])]
        texts.append("".join("".join(p) if isinstance(p, list) else p for p in parts))
    return texts


def wait_ready(backend: LocalBackend, timeout: float = 120.0) -> dict:
    """The state of the pool's one standby once its kernel has imported everything."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        spares = backend.pool.spares
        state = spares[0].state() if spares else None
        if state is not None:
            return state
        time.sleep(0.2)
    raise AssertionError("no standby became ready")


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def gone(pids: list[int], timeout: float = 20.0) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if not any(alive(p) for p in pids):
            return True
        time.sleep(0.2)
    return False


def test_warm_job_is_the_cold_job(backend, notebook, tmp_path, mlflow_db):
    import shutil

    from loclab.paths import StateDir
    from loclab.tracking import Tracker

    state = StateDir(tmp_path / "state")
    state.root.mkdir()
    shutil.copy(mlflow_db, state.mlflow_db)
    tracker = Tracker.for_state(state, tags={"loclab.git_sha": "test"})
    parent = tracker.start_run("warm", "parent")
    runner = JobRunner(backend, state.runs("warm"), tracker, parent)
    cold = runner.run(request(notebook, "job-a", x=1.5))
    assert cold.state == JobState.COMPLETED, cold.failure
    assert backend.warm_starts == 0
    ready = wait_ready(backend)
    assert ready["tainted"] is None
    # Its kernel was forked from the fork server, which imported the modules once.
    assert ready["forked"] is True
    (server,) = backend.pool.servers
    assert psutil.Process(ready["kernel_pid"]).ppid() == server.pid
    # The notebook's own imports, and MLflow for a tracked job.
    assert {"wave", "loclab:runtime", "mlflow"} <= set(ready["imported"])
    warm = runner.run(request(notebook, "job-b", x=2.5))
    assert warm.state == JobState.COMPLETED, warm.failure
    assert backend.warm_starts == 1
    assert outputs(cold)[2] == "cold\n" and outputs(warm)[2] == "warm\n"
    seen_cold, seen_warm = (json.loads(outputs(r)[-1].splitlines()[0]) for r in (cold, warm))
    assert seen_warm["job"] == "job-b" and seen_warm["hp"] == "2.5"
    assert seen_cold["cwd"] != seen_warm["cwd"]
    for key in ("count", "history", "names"):
        assert seen_warm[key] == seen_cold[key]
    assert warm.final_metrics() == {"test_score": 2.5}
    # The contract is unchanged: the run's log, the MLflow child run, status.json.
    assert "job.log" in {a.path for a in tracker.client.list_artifacts(warm.mlflow_run_id)}
    assert "MLFLOW_DISABLE_TELEMETRY" not in os.environ  # set for the jobs only
    assert tracker.client.get_run(warm.mlflow_run_id).info.status == "FINISHED"
    # The standby for the next job is already there.
    assert len(backend.pool.spares) == 1


def test_dead_standby_kernel_or_process_loses_nothing(backend, notebook, tmp_path):
    runner = JobRunner(backend, tmp_path / "runs")
    assert runner.run(request(notebook, "first")).state == JobState.COMPLETED
    ready = wait_ready(backend)
    os.kill(ready["kernel_pid"], signal.SIGKILL)
    # The standby takes the job and, its kernel being dead, runs it in a fresh kernel.
    second = runner.run(request(notebook, "second", x=2.0))
    assert second.state == JobState.COMPLETED, second.failure
    assert outputs(second)[2] == "cold\n"
    assert second.final_metrics() == {"test_score": 2.0}
    ready = wait_ready(backend)
    os.kill(ready["pid"], signal.SIGKILL)
    backend.pool.spares[0].process.wait(30)
    # A standby that died is not handed the job: it starts cold (its kernel ended too).
    assert gone([ready["kernel_pid"]])
    starts = backend.warm_starts
    third = runner.run(request(notebook, "third", x=3.0))
    assert third.state == JobState.COMPLETED, third.failure
    assert backend.warm_starts == starts
    assert third.final_metrics() == {"test_score": 3.0}


def test_warm_job_crash_invalid_parameters_and_stop(backend, notebook, tmp_path):
    runner = JobRunner(backend, tmp_path / "runs")
    assert runner.run(request(notebook, "first")).state == JobState.COMPLETED
    wait_ready(backend)
    died = runner.run(request(notebook, "dies", mode="die"))
    assert backend.warm_starts == 1
    assert died.state == JobState.FAILED
    assert died.failure.startswith("kernel died while running cell 3")
    wait_ready(backend)
    bad = request(notebook, "bad")
    bad = JobRequest(**{**bad.__dict__, "hyperparameters": {"nope": "1"}})
    refused = runner.run(bad)
    assert backend.warm_starts == 2
    assert refused.state == JobState.FAILED
    assert refused.failure == "invalid job: hyperparameter 'nope' is not a parameter of warm.ipynb"
    ready = wait_ready(backend)
    job = runner.start(request(notebook, "sleeps", mode="sleep"))
    assert backend.warm_starts == 3
    deadline = time.time() + 60
    while not job.metrics() and time.time() < deadline:
        time.sleep(0.2)
    job.stop(JobState.STOPPED)
    stopped = runner.finish(job)
    assert stopped.state == JobState.STOPPED
    assert "val_score" in json.dumps(json.loads(stopped.executed_notebook.read_text()))
    # The warm kernel ended with its job.
    assert gone([ready["pid"], ready["kernel_pid"]])


LAUNCHER = """
import json, os, signal, sys, time
from pathlib import Path
from loclab.execution.backends import LocalBackend
from loclab.execution.runner import JobRunner
from loclab.execution.job import JobRequest

backend = LocalBackend(threads_per_job=1, standbys=2)
runner = JobRunner(backend, Path(sys.argv[2]))
runner.run(JobRequest("one", "warm", Path(sys.argv[1]), {}))
deadline = time.time() + 120
while time.time() < deadline:
    states = [s.state() for s in backend.pool.spares]
    if len(states) == 2 and all(states):
        break
    time.sleep(0.2)
pids = [[s["pid"], s["kernel_pid"]] for s in states]
print(json.dumps(pids + [[s.pid for s in backend.pool.servers]]), flush=True)
sys.stdin.readline()  # the test has seen them alive
if sys.argv[3] == "close":
    backend.close()
    print("closed", flush=True)
    time.sleep(60)
else:
    os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.slow
@pytest.mark.parametrize("how", ["close", "killed"])
def test_no_standby_outlives_its_launcher(notebook, tmp_path, how):
    launcher = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, str(notebook), str(tmp_path / "runs"), how],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        pids = [p for pair in json.loads(launcher.stdout.readline()) for p in pair]
        # Two standbys, their kernels, and the fork server the kernels were forked from.
        assert len(pids) == 5 and all(alive(p) for p in pids)
        launcher.stdin.write("go\n")
        launcher.stdin.flush()
        if how == "close":
            assert launcher.stdout.readline() == "closed\n"
        else:
            launcher.wait(30)
        # Closed, or its launcher SIGKILLed: every standby and kernel ends.
        assert gone(pids)
    finally:
        launcher.kill()
        launcher.wait()


RANDOM_CELLS = ["import numpy.random\nprint(numpy.random.random())"]


def test_forked_kernels_draw_their_own_random_numbers(notebook, tmp_path):
    """Unseeded NumPy draws differ between forked kernels, as between fresh processes."""
    seeded = write_notebook(tmp_path / "draw.ipynb", PARAMETERS, RANDOM_CELLS)
    backend = LocalBackend(threads_per_job=1, standbys=1)
    try:
        runner = JobRunner(backend, tmp_path / "runs")
        draws = []
        for n in range(3):
            result = runner.run(request(seeded, f"draw-{n}"))
            assert result.state == JobState.COMPLETED, result.failure
            draws.append(outputs(result)[1])
            if n == 0:
                assert wait_ready(backend)["forked"] is True
        assert backend.warm_starts == 2
        assert len(set(draws)) == 3, draws
    finally:
        backend.close()


def test_a_module_that_prints_keeps_kernels_unforked(notebook, tmp_path):
    """An import that prints (``this``) is refused by the fork server; jobs still run."""
    backend = LocalBackend(threads_per_job=1, standbys=1, warm_imports=["wave", "this"])
    try:
        runner = JobRunner(backend, tmp_path / "runs")
        assert runner.run(request(notebook, "first")).state == JobState.COMPLETED
        ready = wait_ready(backend)
        (server,) = backend.pool.servers
        server.process.wait(60)
        assert server.refused()
        assert ready["forked"] is False
        # The standby's own kernel imported `this` and printed too: the job gets a fresh one.
        assert ready["tainted_import"] == "this"
        second = runner.run(request(notebook, "second", x=2.0))
        assert second.state == JobState.COMPLETED, second.failure
        assert outputs(second)[2] == "cold\n"
        assert second.final_metrics() == {"test_score": 2.0}
    finally:
        backend.close()


def test_a_forked_kernel_ends_as_a_fresh_one(tmp_path):
    """Shut down politely, a forked kernel runs its atexit handlers, as a fresh kernel does."""
    from jupyter_core.utils import run_sync

    from loclab.execution.backends._standby import ForkServer
    from loclab.execution.forkserver import ForkedProcess, forked_kernel_manager, wait_until_ready
    from loclab.nbexec import KERNEL

    server = ForkServer.start(sys.executable, dict(os.environ), ["wave"])
    try:
        assert wait_until_ready(server.socket, server.pid, 120)
        for how, socket_path in (("fresh", None), ("forked", server.socket)):
            marker = tmp_path / f"ended-{how}"
            km = forked_kernel_manager(KERNEL, socket_path)
            run_sync(km.start_kernel)(cwd=str(tmp_path))
            assert isinstance(km.provisioner.process, ForkedProcess) == (how == "forked")
            client = km.blocking_client()
            client.start_channels()
            client.wait_for_ready(timeout=60)
            code = f"import atexit\natexit.register(lambda: open({str(marker)!r}, 'w').close())"
            reply = client.execute_interactive(code, timeout=60)
            assert reply["content"]["status"] == "ok"
            client.stop_channels()
            run_sync(km.shutdown_kernel)(now=False)
            assert marker.exists(), how
        # The kernel left through the server's code; the server and its socket are still there.
        assert server.usable() and server.socket.exists()
    finally:
        server.close()
