"""A sweep's wall time on the local backend and on the emulated SageMaker backend, side by side.

Run with ``.venv/bin/python benchmarks/sweep_sagemaker.py [--trials 4] [--epochs 3]``.

The same sweep (the probe notebook of ``loclab.testing``: no training, so the numbers are the
launchers' overhead; ``workers: 2``, random sampler, no pruning, MLflow tracking) runs through
loclab's driver twice: with local processes, then as SageMaker training jobs against a moto
server on 127.0.0.1 and the training-job emulator (S3 staging, ``CreateTrainingJob``, the
container contract in a local process, checkpoint sync, ``DescribeTrainingJob`` polls every
0.2 s, outputs, logs and the job's own MLflow store brought home). Prints both wall times.
Nothing is asserted; on real SageMaker, instance start-up (minutes, seconds with a warm pool)
dominates.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from sweep_common import load_average


def run(root: Path, backend: str, trials: int, epochs: int) -> float:
    from loclab.execution.backends import create_backend
    from loclab.paths import StateDir, Workspace
    from loclab.spec import load_experiment
    from loclab.sweep import SweepDriver
    from loclab.testing import write_probe_notebook
    from loclab.tracking import Tracker

    project = root / backend
    (project / "experiments").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\nname = 'bench'\n")
    write_probe_notebook(project / "notebooks" / "probe.ipynb")
    spec = project / "experiments" / "bench.yaml"
    spec.write_text(
        "name: bench\nnotebook: notebooks/probe.ipynb\n"
        f"params: {{epochs: {epochs}}}\nbackend: {backend}\n"
        f"sweep:\n  metric: val_score\n  n_trials: {trials}\n  workers: 2\n"
        "  sampler: random\n  pruner: none\n  space:\n    x: {type: float, low: 0, high: 1}\n"
    )
    exp = load_experiment(spec)
    ws = Workspace(StateDir(project / ".loclab"), project / "reports")
    tracker = Tracker.for_state(ws.state)
    parent = tracker.start_run(exp.name, "bench")
    chosen = create_backend(exp) if backend == "sagemaker" else None
    driver = SweepDriver(
        exp,
        ws,
        tracker=tracker,
        parent_run_id=parent,
        backend=chosen,
        progress=False,
        say=lambda _: None,
    )
    start = time.perf_counter()
    outcome = driver.run()
    wall = time.perf_counter() - start
    assert outcome.record.counts.complete == trials, outcome.record.counts
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()

    from loclab.testing.aws import MotoServer
    from loclab.testing.emulator import TrainingJobEmulator

    root = Path(tempfile.mkdtemp(prefix="loclab-bench-sagemaker-"))
    for var in ("LOCLAB_STATE_DIR", "MLFLOW_TRACKING_URI"):
        os.environ.pop(var, None)
    what = f"probe notebook, {args.trials} trials, {args.epochs} epochs, 2 workers"
    print(f"{what}; {load_average()}")
    local = run(root, "local", args.trials, args.epochs)
    print(f"local:                {local:6.1f} s")
    with MotoServer() as aws:
        os.environ.update(aws.launcher_environ())
        with TrainingJobEmulator(aws, work_dir=root / "emulator", checkpoint_sync_s=0.3):
            remote = run(root, "sagemaker", args.trials, args.epochs)
    print(f"sagemaker (emulated): {remote:6.1f} s  ({remote / local:.2f}x the local time)")
    print(f"scratch: {root}")


if __name__ == "__main__":
    main()
