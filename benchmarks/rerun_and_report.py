"""Re-running an unchanged experiment and rendering its report, timed from the command line.

Run with ``.venv/bin/python benchmarks/rerun_and_report.py [--systems 3] [--seeds 3]``.

A scratch project with the probe notebook of ``loclab.testing`` and a comparison of
``--systems`` systems x ``--seeds`` seeds. Each step is a real ``python -m loclab`` command
(interpreter start and imports included), timed from outside:

1. ``loclab run`` the first time (every job runs, the analysis, the report);
2. ``loclab run`` again with nothing changed (jobs, analysis and report reused);
3. ``loclab report`` (asked for by name, it renders the page again from the stored records
   and attaches it to the experiment's MLflow run);
4. ``loclab report --no-log`` (the same without MLflow: the cost of importing it and logging).

Prints the seconds of each and the ratios to the first run. The goals of issue 14: step 2
<= 3 s plus the report, step 4 <= 10 s. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sweep_common import load_average


def loclab(root: Path, *args: str) -> float:
    env = {k: v for k, v in os.environ.items() if k not in ("LOCLAB_STATE_DIR",)}
    env.pop("MLFLOW_TRACKING_URI", None)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "loclab", *args], cwd=root, env=env, capture_output=True,
        text=True,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"loclab {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--systems", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="2 systems x 2 seeds")
    args = parser.parse_args()
    if args.quick:
        args.systems, args.seeds = 2, 2
    from loclab.testing import write_probe_notebook

    root = Path(tempfile.mkdtemp(prefix="loclab-bench-rerun-"))
    (root / "pyproject.toml").write_text("[project]\nname = 'bench'\n")
    write_probe_notebook(root / "notebooks" / "probe.ipynb")
    (root / "experiments").mkdir()
    systems = "\n".join(
        f"    s{i}: {{{'role: baseline, ' if i == 0 else ''}params: {{x: {1.0 + i / 10}}}}}"
        for i in range(args.systems)
    )
    spec = "experiments/rr.yaml"
    (root / spec).write_text(
        f"name: rr\nnotebook: notebooks/probe.ipynb\ncompare:\n  systems:\n{systems}\n"
        f"  seeds: {args.seeds}\n"
    )
    print(
        f"probe notebook, {args.systems} systems x {args.seeds} seeds; {load_average()}",
        flush=True,
    )
    first = loclab(root, "run", spec)
    again = loclab(root, "run", spec)
    logged = loclab(root, "report", spec)
    rendered = loclab(root, "report", "--no-log", spec)
    for what, seconds in [
        ("1. loclab run, first time", first),
        ("2. loclab run, nothing changed", again),
        ("3. loclab report", logged),
        ("4. loclab report --no-log", rendered),
    ]:
        print(f"{what:40s} {seconds:7.2f} s  {seconds / first:6.2f}x the first run")
    print(f"{load_average()} at the end; scratch: {root}")


if __name__ == "__main__":
    main()
