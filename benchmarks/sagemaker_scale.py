"""A sweep at scale on the emulated SageMaker backend: driver overhead per trial, reconciliation.

Run with ``.venv/bin/python benchmarks/sagemaker_scale.py [--trials 100] [--concurrent 20]
[--job-s 20] [--quick]``.

SageMaker training jobs run against a moto server on 127.0.0.1 and loclab's training-job
emulator (S3 staging, ``CreateTrainingJob``, checkpoint sync, ``DescribeTrainingJob``), with a
stand-in container: a process that reports ``val_score`` once a second for ``--job-s`` seconds
and exits, so that the numbers are the launcher's, not the notebook's (20 real kernels at once
would measure the machine). Two measurements, printed side by side:

1. **Driver overhead per trial.** A sweep of ``--trials`` trials, ``workers: --concurrent``,
   MLflow tracking on. Its wall time is set against the ideal ``ceil(trials / concurrent) x
   job time``; ``(wall - ideal) / trials`` is the overhead per trial, and the driver thread's
   own CPU time per trial is printed too (the moto server and the emulator run in other
   threads of this process). Polling is every 2 s here (15 s by default on real SageMaker, where
   instances take minutes to start).
2. **Reconciling after a driver crash.** A driver in another process launches ``--concurrent``
   trials and is SIGKILLed once all of their jobs are running; then, in this process, the time
   to open the study and reconcile every RUNNING trial with its job
   (:func:`loclab.sweep._recovery.recover_stale_trials`, what ``loclab run`` does first).

Nothing is asserted. The issue's goals: overhead <= 1 s per trial, reconciliation <= 10 s.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from sweep_common import load_average

STUB_JOB = """
import json, os, sys, time
root = os.environ["SM_ROOT"]
seconds = float("@JOB_S@")  # written in: the container's environment is the emulator's
hp = json.load(open(os.path.join(root, "input", "config", "hyperparameters.json")))
x = float(hp.get("x", "0"))
ckpt = os.path.join(root, "checkpoints")
os.makedirs(ckpt, exist_ok=True)
os.makedirs(os.path.join(root, "output", "data"), exist_ok=True)
steps = max(1, int(seconds))
with open(os.path.join(ckpt, "metrics.jsonl"), "a") as fh:
    for step in range(steps):
        time.sleep(seconds / steps)
        fh.write(json.dumps({"step": step, "metrics": {"val_score": x + 0.01 * step}}) + "\\n")
        fh.flush()
print("done", flush=True)
"""

DRIVER = """
import os, sys
from pathlib import Path
from loclab.execution.backends import create_backend
from loclab.paths import StateDir, Workspace
from loclab.spec import load_experiment
from loclab.sweep import SweepDriver
spec, state = Path(sys.argv[1]), Path(sys.argv[2])
exp = load_experiment(spec, environ=os.environ)
ws = Workspace(StateDir(state), spec.parent.parent / "reports")
backend = create_backend(exp, poll_interval_s=2.0, metrics_interval_s=2.0)
SweepDriver(exp, ws, backend=backend, progress=False, say=print).run()
"""


def project(root: Path, name: str, trials: int, workers: int) -> Path:
    from loclab.testing import write_probe_notebook

    folder = root / name
    (folder / "experiments").mkdir(parents=True)
    (folder / "pyproject.toml").write_text("[project]\nname = 'bench'\n")
    write_probe_notebook(folder / "notebooks" / "probe.ipynb")
    spec = folder / "experiments" / f"{name}.yaml"
    spec.write_text(
        f"name: {name}\nnotebook: notebooks/probe.ipynb\nbackend: sagemaker\n"
        f"sweep:\n  metric: val_score\n  n_trials: {trials}\n  workers: {workers}\n"
        "  sampler: random\n  pruner: none\n  space:\n    x: {type: float, low: 0, high: 1}\n"
    )
    return spec


def overhead(root: Path, trials: int, workers: int, job_s: float) -> None:
    from loclab.execution.backends import create_backend
    from loclab.paths import StateDir, Workspace
    from loclab.spec import load_experiment
    from loclab.sweep import SweepDriver
    from loclab.tracking import Tracker

    spec = project(root, "scale", trials, workers)
    exp = load_experiment(spec, environ=os.environ)
    ws = Workspace(StateDir(spec.parent.parent / ".loclab"), spec.parent.parent / "reports")
    tracker = Tracker.for_state(ws.state)
    parent = tracker.start_run(exp.name, "bench")
    backend = create_backend(exp, poll_interval_s=2.0, metrics_interval_s=2.0)
    driver = SweepDriver(
        exp, ws, tracker=tracker, parent_run_id=parent, backend=backend, progress=False,
        say=lambda _: None,
    )  # fmt: skip
    cpu0, start = time.thread_time(), time.perf_counter()
    outcome = driver.run()
    wall, cpu = time.perf_counter() - start, time.thread_time() - cpu0
    counts = outcome.record.counts
    ideal = math.ceil(trials / workers) * job_s
    print(
        f"1. {trials} trials, {workers} at once, {job_s:g}-s jobs ({counts.complete} "
        f"complete): wall {wall:.1f} s against an ideal {ideal:.0f} s -> overhead "
        f"{(wall - ideal) / trials:.2f} s per trial (wall), driver thread CPU "
        f"{cpu / trials:.3f} s per trial",
        flush=True,
    )


def reconcile(root: Path, workers: int, emulator: object) -> None:
    from loclab.paths import StateDir, Workspace
    from loclab.spec import load_experiment
    from loclab.sweep import _recovery as rec
    from loclab.sweep.storage import locate, open_study

    spec = project(root, "crash", workers, workers)
    state = spec.parent.parent / ".loclab"
    out = open(root / "crash-driver.log", "w")  # noqa: SIM115
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(spec), str(state)], stdout=out, stderr=out
    )
    jobs = emulator.jobs  # type: ignore[attr-defined]
    deadline = time.time() + 600
    while time.time() < deadline:
        running = [j for j in list(jobs.values()) if j.status == "InProgress" and j.started]
        if len(running) >= workers or driver.poll() is not None:
            break
        time.sleep(0.2)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    out.close()
    exp = load_experiment(spec, environ=os.environ)
    ws = Workspace(StateDir(state), spec.parent.parent / "reports")
    from loclab.execution.backends import create_backend

    start = time.perf_counter()
    location = locate(exp, ws)
    study = open_study(location, exp.spec.sweep)
    backend = create_backend(exp, poll_interval_s=2.0, metrics_interval_s=2.0)
    found = rec.recover_stale_trials(
        study, tracker=None, shared=False, say=lambda _: None, backend=backend
    )
    seconds = time.perf_counter() - start
    print(
        f"2. driver SIGKILLed with {len(running)} jobs running: reconciled in {seconds:.2f} s "
        f"({len(found.reattached)} jobs re-attached, {len(found.requeued)} trials re-queued)",
        flush=True,
    )
    for job in list(jobs.values()):
        if job.status == "InProgress":
            emulator.stop(job.name)  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--concurrent", type=int, default=20)
    parser.add_argument("--job-s", type=float, default=20.0)
    parser.add_argument("--quick", action="store_true", help="10 trials, 5 at once, 4-s jobs")
    args = parser.parse_args()
    if args.quick:
        args.trials, args.concurrent, args.job_s = 10, 5, 4.0

    from loclab.testing.aws import MotoServer
    from loclab.testing.emulator import TrainingJobEmulator

    root = Path(tempfile.mkdtemp(prefix="loclab-bench-scale-"))
    for var in ("LOCLAB_STATE_DIR", "MLFLOW_TRACKING_URI"):
        os.environ.pop(var, None)
    stub = root / "stub_job.py"
    stub.write_text(textwrap.dedent(STUB_JOB).replace("@JOB_S@", str(args.job_s)))
    python = root / "container-python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{stub}"\n')
    python.chmod(0o755)
    print(f"emulated SageMaker, stand-in {args.job_s:g}-s jobs; {load_average()}", flush=True)
    with MotoServer() as aws:
        os.environ.update(aws.launcher_environ())
        with TrainingJobEmulator(
            aws, work_dir=root / "emulator", python=str(python), checkpoint_sync_s=1.0,
            keep_roots=False,
        ) as emulator:  # fmt: skip
            overhead(root, args.trials, args.concurrent, args.job_s)
            reconcile(root, args.concurrent, emulator)
    print(f"{load_average()} at the end; scratch: {root}")


if __name__ == "__main__":
    main()
