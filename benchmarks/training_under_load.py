"""Training under load: a Lightning job's slowdown with 2x the cores busy, next to the quiet time.

Run with ``.venv/bin/python benchmarks/training_under_load.py [--epochs 3] [--reps 2]
[--quick]`` (``--quick``: 1 epoch, 1 repetition, runs stopped past 4x their quiet time).
``benchmarks/threads_under_load.py`` measures the cause on a bare training loop.

Each run is a real loclab job (``train_term_qa.ipynb``, the quickstart's character CNN on tiny
data) through the local backend, timed from launch to end, and the in-notebook training time
(the training cell's duration). The artificial load is ``2 x cores`` busy-looping Python
processes (nice 0) started before the job and stopped after it. Thread settings compared:

* ``loclab``: what the local backend gives a job now (threads from the cores available to
  the job, passive OpenMP waits; see ``loclab.execution.threads``);
* ``all cores, spinning``: torch's own default (every core, OpenMP threads spin while they
  wait), what a job got before loclab set anything;
* ``all cores, short spin``: every core, ``GOMP_SPINCOUNT=10000`` (spin briefly, then sleep);
* ``1 thread``: one intra-op thread.

Runs are interleaved (quiet, loaded, quiet, loaded...) so that a change in the machine's
background load hits every configuration alike; the median of ``--reps`` is printed. A run
that exceeds ``--cap`` times its quiet time is stopped and shown as "> cap". Nothing is
asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from sweep_common import FIXED, NOTEBOOK, load_average

SPIN = "import time\nwhile True:\n    sum(range(10000))\n"


def start_load(n: int) -> list[subprocess.Popen[bytes]]:
    """``n`` busy-looping processes."""
    return [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(n)]


def stop_load(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.kill()
    for p in procs:
        p.wait()


def training_seconds(executed: Path) -> float:
    """Duration of the notebook's training cell (the longest cell)."""
    nb = json.loads(executed.read_text())
    return max(c["metadata"].get("papermill", {}).get("duration") or 0.0 for c in nb["cells"])


def run_job(root: Path, name: str, setting: str, epochs: int, timeout: float | None) -> dict:
    from loclab.execution.backends.local import LocalBackend
    from loclab.execution.job import JobRequest
    from loclab.execution.runner import JobRunner
    from loclab.execution.threads import available_cores

    env: dict[str, str] = {}
    if setting == "loclab":
        backend = LocalBackend(threads_per_job=available_cores(), warm=False)
    else:
        backend = LocalBackend(warm=False)
        # What a job inherited before loclab set thread counts: torch's defaults.
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OMP_WAIT_POLICY"):
            os.environ.pop(var, None)
        if setting == "1 thread":
            env = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"}
        elif setting == "all cores, short spin":
            env = {"GOMP_SPINCOUNT": "10000"}
    params = {**FIXED, "max_epochs": epochs}
    from loclab.params import encode_value

    request = JobRequest(
        name=name,
        experiment="load",
        notebook=root / "notebooks" / NOTEBOOK.name,
        hyperparameters={k: encode_value(v) for k, v in params.items()},
        timeout=timeout,
        env=env,
    )
    runner = JobRunner(backend, root / "runs", env={"LOCLAB_CACHE_DIR": str(root / "cache")})
    start = time.perf_counter()
    result = runner.run(request, reuse=False)
    wall = time.perf_counter() - start
    if not result.ok:
        return {"wall": wall, "train": None, "state": str(result.state)}
    return {"wall": wall, "train": training_seconds(result.executed_notebook), "state": "ok"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--cap", type=float, default=8.0, help="stop a run past cap x quiet")
    parser.add_argument(
        "--settings", nargs="+", default=["loclab", "all cores, spinning", "1 thread"]
    )
    parser.add_argument("--quick", action="store_true", help="1 epoch, 1 repetition, cap 4")
    args = parser.parse_args()
    if args.quick:
        args.epochs, args.reps, args.cap = 1, 1, 4.0

    from loclab.data import load_term_qa
    from loclab.execution.threads import available_cores

    root = Path(tempfile.mkdtemp(prefix="loclab-bench-load-"))
    (root / "notebooks").mkdir()
    (root / "notebooks" / NOTEBOOK.name).write_bytes(NOTEBOOK.read_bytes())
    load_term_qa(FIXED["size"], seed=FIXED["data_seed"], cache_dir=root / "cache")
    cores = available_cores()
    load = 2 * cores
    print(
        f"term-QA char_cnn job, tiny data, {args.epochs} epochs; {cores} cores available, "
        f"artificial load {load} busy processes; {load_average()} at the start "
        f"({datetime.now():%H:%M})"
    )
    times: dict[tuple[str, bool], list[dict]] = {}
    n = 0
    for _rep in range(args.reps):
        for setting in args.settings:
            for loaded in (False, True):
                quiet = times.get((setting, False))
                cap = None
                if loaded and quiet and quiet[-1]["wall"]:
                    cap = args.cap * quiet[-1]["wall"]
                procs = start_load(load) if loaded else []
                try:
                    n += 1
                    found = run_job(root, f"job{n}", setting, args.epochs, cap)
                finally:
                    stop_load(procs)
                found["load"] = os.getloadavg()[0]
                times.setdefault((setting, loaded), []).append(found)
                what = "loaded" if loaded else "quiet "
                train = f"{found['train']:6.1f}" if found["train"] else "     -"
                print(
                    f"  {setting:22s} {what} job {found['wall']:6.1f} s, training {train} s "
                    f"({found['state']}, load average {found['load']:.1f})",
                    flush=True,
                )

    def median(rows: list[dict], key: str) -> float | None:
        values = [r[key] for r in rows if r[key] is not None and r["state"] == "ok"]
        return statistics.median(values) if len(values) == len(rows) else None

    print(
        f"\n{'threads':24s} {'quiet job':>10s} {'loaded job':>11s} {'ratio':>7s}   "
        f"{'quiet train':>11s} {'loaded train':>12s} {'ratio':>7s}"
    )
    for setting in args.settings:
        quiet, loaded = times[(setting, False)], times[(setting, True)]
        cells = []
        for key in ("wall", "train"):
            q, ld = median(quiet, key), median(loaded, key)
            q_text = f"{q:.1f} s" if q else "-"
            l_text = f"{ld:.1f} s" if ld else f"> {args.cap:g}x"
            ratio = f"{ld / q:.2f}x" if q and ld else f"> {args.cap:g}x"
            cells.append((q_text, l_text, ratio))
        (qw, lw, rw), (qt, lt, rt) = cells
        print(f"{setting:24s} {qw:>10s} {lw:>11s} {rw:>7s}   {qt:>11s} {lt:>12s} {rt:>7s}")
    print(
        f"\nload {load} busy processes on {cores} cores: proportional slowdown of one job is "
        f"about ({load} + threads) / {cores}; {load_average()} at the end"
    )


if __name__ == "__main__":
    main()
