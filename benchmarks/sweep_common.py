"""Shared pieces of the sweep benchmarks: a scratch project around the term-QA notebook.

Not a benchmark itself. Each ``sweep_*.py`` script builds a scratch project (the repository's
``train_term_qa.ipynb`` and a generated spec), runs loclab sweeps in it, and prints numbers.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# Both sides of every comparison run torch with passive OpenMP waits, as loclab's jobs do
# (LocalBackend sets it with threads_per_job): spinning threads collapse on busy cores.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "templates" / "train_term_qa.ipynb"

#: The trial every benchmark trains unless it searches: the term-QA CNN on tiny data.
FIXED = {
    "model": "char_cnn",
    "size": "tiny",
    "lr": 3e-3,
    "batch_size": 64,
    "hidden": 64,
    "dropout": 0.25,
    "weight_decay": 0.05,
    "seed": 0,
    "data_seed": 13,
    "resample_errors": True,
}


@dataclass
class Scratch:
    """A scratch project: notebook, specs, state folder, data cache."""

    root: Path

    @property
    def state(self) -> Path:
        return self.root / ".loclab"


def scratch_project(prefix: str) -> Scratch:
    """A fresh project with the term-QA notebook; the tiny data set is built once, here."""
    if not NOTEBOOK.exists():
        raise SystemExit(f"{NOTEBOOK} is missing")
    root = Path(tempfile.mkdtemp(prefix=f"loclab-bench-{prefix}-"))
    (root / "pyproject.toml").write_text("[project]\nname = 'bench'\n")
    (root / "notebooks").mkdir()
    shutil.copy(NOTEBOOK, root / "notebooks" / NOTEBOOK.name)
    (root / "experiments").mkdir()
    cache = root / "data-cache"
    os.environ["LOCLAB_CACHE_DIR"] = str(cache)
    os.environ.pop("LOCLAB_STATE_DIR", None)
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    from loclab.data import load_term_qa

    load_term_qa(FIXED["size"], seed=FIXED["data_seed"], cache_dir=cache)
    return Scratch(root)


def write_spec(
    scratch: Scratch,
    name: str,
    sweep: dict[str, Any],
    params: dict,
    backend: dict[str, Any] | None = None,
) -> Path:
    """A sweep-only spec over the notebook (``backend``: the spec's ``backend:`` mapping)."""
    path = scratch.root / "experiments" / f"{name}.yaml"
    spec: dict[str, Any] = {
        "name": name,
        "notebook": f"notebooks/{NOTEBOOK.name}",
        "params": params,
        "sweep": sweep,
    }
    if backend is not None:
        spec["backend"] = backend
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def run_sweep(scratch: Scratch, spec: Path, *, tracking: bool = True) -> tuple[Any, float]:
    """Run a sweep to the end in this process; return the study and the wall time (s)."""
    from loclab.paths import StateDir, Workspace
    from loclab.spec import load_experiment
    from loclab.sweep import SweepDriver
    from loclab.tracking import Tracker

    exp = load_experiment(spec)
    ws = Workspace(StateDir(scratch.state), scratch.root / "reports")
    tracker = Tracker.for_state(ws.state) if tracking else None
    parent = tracker.start_run(exp.name, f"{exp.name}-bench") if tracker else None
    driver = SweepDriver(
        exp, ws, tracker=tracker, parent_run_id=parent, progress=False, say=lambda _: None
    )
    start = time.perf_counter()
    driver.run()
    wall = time.perf_counter() - start
    return driver.study, wall


def load_average() -> str:
    """The machine's 1-minute load average and core count (other work skews timings)."""
    try:
        one = os.getloadavg()[0]
    except OSError:
        return "unknown load"
    return f"load average {one:.1f} on {len(os.sched_getaffinity(0))} cores"
