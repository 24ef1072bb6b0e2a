"""Sweep wall time with ``workers: 2`` against ``workers: 1``, side by side.

Run with ``.venv/bin/python benchmarks/sweep_parallel.py [--trials 4] [--epochs 4]``.

The same sweep (term-QA character CNN, tiny data, one fixed configuration so every trial does
the same work) runs twice through loclab's driver with MLflow tracking: once with one worker
(each trial may use every core), once with two (each trial gets ``cpus // 2`` torch threads).
Prints wall times and the speed-up; the goal on 2 cores is >= 1.6x. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import statistics

from sweep_common import FIXED, load_average, run_sweep, scratch_project, write_spec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=4)
    args = parser.parse_args()

    from loclab.execution.backends.local import threads_per_job

    scratch = scratch_project("parallel")
    fixed = {**{k: v for k, v in FIXED.items() if k != "seed"}, "max_epochs": args.epochs}
    print(
        f"term-QA char_cnn, tiny data, {args.epochs} epochs, {args.trials} trials; "
        f"{load_average()}"
    )
    walls = {}
    for workers in (1, 2):
        sweep = {
            "metric": "val_acc",
            "n_trials": args.trials,
            "workers": workers,
            "sampler": "random",
            "pruner": "none",
            "space": {"seed": {"type": "categorical", "choices": [FIXED["seed"]]}},
        }
        spec = write_spec(scratch, f"parallel-w{workers}", sweep, fixed)
        study, wall = run_sweep(scratch, spec)
        durations = [
            (t.datetime_complete - t.datetime_start).total_seconds() for t in study.get_trials()
        ]
        walls[workers] = wall
        print(
            f"workers {workers}: {threads_per_job(workers)} thread(s) per trial, wall "
            f"{wall:6.1f} s, {statistics.mean(durations):5.1f} s per trial "
            f"({len(durations)} trials)"
        )
    print(
        f"\nspeed-up workers 2 vs 1: {walls[1] / walls[2]:.2f}x (goal >= 1.6x); {load_average()}"
    )


if __name__ == "__main__":
    main()
