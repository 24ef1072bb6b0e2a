"""Why torch training collapses on a busy machine: thread count and OpenMP waiting, measured.

Run with ``nice -n 0 .venv/bin/python benchmarks/threads_under_load.py [--quick]``.

The workload is what a term-QA CNN epoch is made of: many small parallel regions (a
character CNN's forward and backward pass on batches of 64, a few ms each). Each setting runs
it in a fresh process, once on a quiet machine and once beside ``2 x cores`` busy-looping
processes (the artificial load), interleaved, and prints seconds and loaded/quiet ratios side
by side. Settings:

* ``default, all cores``: torch's default before loclab set anything (one OpenMP thread per
  core, threads spin-wait about 300,000 times before sleeping);
* ``spin, all cores``: ``OMP_WAIT_POLICY=ACTIVE`` (threads spin until there is work);
* ``spin 10k, all cores``: ``GOMP_SPINCOUNT=10000``, a short spin, then sleep;
* ``passive, all cores``: the same threads, ``OMP_WAIT_POLICY=PASSIVE`` (they sleep at once);
* ``spin, 1 thread`` / ``passive, 1 thread``: one intra-op thread.

What loclab gives a job is ``passive`` with the cores available to the job divided by the jobs
running at once (``loclab.execution.threads``). A proportional slowdown with ``L`` busy
processes on ``C`` cores is about ``(L + threads) / C``. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

SPIN = "while True:\n    sum(range(10000))\n"
WORK = """
import json, sys, time
import torch
from torch import nn
steps = int(sys.argv[1])
torch.manual_seed(0)
model = nn.Sequential(
    nn.Embedding(128, 32), nn.Flatten(0, -1), nn.Unflatten(0, (64, 48 * 32)),
)
conv = nn.Sequential(nn.Conv1d(32, 96, 5, padding=2), nn.ReLU(), nn.AdaptiveMaxPool1d(1))
head = nn.Linear(96, 2)
params = [*model.parameters(), *conv.parameters(), *head.parameters()]
opt = torch.optim.AdamW(params, lr=1e-3)
x = torch.randint(0, 128, (64, 48))
y = torch.randint(0, 2, (64,))
start = time.perf_counter()
for _ in range(steps):
    h = model(x).view(64, 48, 32).transpose(1, 2)
    loss = nn.functional.cross_entropy(head(conv(h).squeeze(-1)), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
print(json.dumps({"seconds": time.perf_counter() - start, "threads": torch.get_num_threads()}))
"""


def cores() -> int:
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
    from loclab.execution.threads import available_cores

    return available_cores()


def run(setting: str, steps: int, n_cores: int) -> dict[str, float]:
    policy, _, threads = setting.partition(", ")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "MKL_", "GOMP_"))}
    if policy == "passive":
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    elif policy == "spin":
        env["OMP_WAIT_POLICY"] = "ACTIVE"
    elif policy.startswith("spin "):  # e.g. "spin 10k": a short spin, then sleep
        env["GOMP_SPINCOUNT"] = str(int(policy.split()[1].rstrip("k")) * 1000)
    # "default": no policy (libgomp spins 300,000 times, then sleeps)
    env["OMP_NUM_THREADS"] = str(1 if threads == "1 thread" else n_cores)
    out = subprocess.run(
        [sys.executable, "-c", WORK, str(steps)], env=env, capture_output=True, text=True
    )
    if out.returncode != 0:
        raise SystemExit(out.stderr)
    found: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600, help="training steps per run")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="100 steps, 1 repetition")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.reps = 100, 1
    n_cores = cores()
    load = 2 * n_cores
    settings = [
        "default, all cores",
        "spin, all cores",
        "spin 10k, all cores",
        "passive, all cores",
        "spin, 1 thread",
        "passive, 1 thread",
    ]
    print(
        f"{args.steps} CNN training steps per run, {n_cores} cores available, artificial load "
        f"{load} busy processes; load average {os.getloadavg()[0]:.1f} at the start"
    )
    times: dict[tuple[str, bool], list[float]] = {}
    for _ in range(args.reps):
        for setting in settings:
            for loaded in (False, True):
                procs = (
                    [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(load)]
                    if loaded
                    else []
                )
                try:
                    time.sleep(0.5 if loaded else 0.0)
                    found = run(setting, args.steps, n_cores)
                finally:
                    for p in procs:
                        p.kill()
                        p.wait()
                times.setdefault((setting, loaded), []).append(found["seconds"])
    print(f"\n{'setting':22s} {'quiet':>8s} {'loaded':>8s} {'ratio':>7s}  {'vs passive':>10s}")
    base = statistics.median(times[("passive, all cores", True)])
    for setting in settings:
        quiet = statistics.median(times[(setting, False)])
        loaded = statistics.median(times[(setting, True)])
        print(
            f"{setting:22s} {quiet:7.2f}s {loaded:7.2f}s {loaded / quiet:6.2f}x  "
            f"{loaded / base:9.2f}x"
        )
    print(
        f"\nproportional: about ({load} + threads) / {n_cores} = "
        f"{(load + n_cores) / n_cores:.1f}x with all cores, {(load + 1) / n_cores:.1f}x with "
        f"1 thread; load average {os.getloadavg()[0]:.1f} at the end"
    )


if __name__ == "__main__":
    main()
