"""The report is a function of the stored records: it opens no run folder, journal or MLflow
store, and imports none of the stages that write them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from loclab import report
from loclab.report.context import load_context

from .records import EXPERIMENT, comparison, jobs, spec, store, sweep

_seen: list[tuple[str, str]] | None = None


_EVENTS = ("open", "os.listdir", "os.scandir", "sqlite3.connect")


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _seen is None or event not in _EVENTS or not args:
        return
    if isinstance(args[0], str | bytes | os.PathLike):
        _seen.append((event, str(Path(os.fsdecode(args[0])).resolve())))


sys.addaudithook(_audit)  # audit hooks cannot be removed: it records only inside `opened`


def opened(fn: Any, *args: Any, **kwargs: Any) -> list[tuple[str, str]]:
    """Every file and folder ``fn`` opens or lists (Python's audit events)."""
    global _seen
    _seen = []
    try:
        fn(*args, **kwargs)
        return list(_seen)
    finally:
        _seen = None


@pytest.fixture
def state_with_everything(tmp_path: Path) -> Path:
    """Records whose jobs and trials point at run folders, a journal and an MLflow store that
    all exist, so opening any of them would be seen."""
    state = tmp_path / "state"
    run_dir = state / "runs" / EXPERIMENT / "demo-s0-s1"
    (run_dir / "output" / "data").mkdir(parents=True)
    (run_dir / "output" / "data" / "executed.ipynb").write_text("{}")
    (run_dir / "status.json").write_text("{}")
    (state / "mlflow.db").write_text("")
    (state / "optuna").mkdir()
    (state / "optuna" / "demo.journal").write_text("")
    record = jobs(spec())
    failed = record.jobs[0].model_copy(update={
        "run_dir": str(run_dir), "executed_notebook": str(run_dir / "output/data/executed.ipynb")
    })  # fmt: skip
    record = record.model_copy(update={"jobs": [failed, *record.jobs[1:]]})
    trials = [t.model_copy(update={"run_dir": str(run_dir)}) for t in sweep().trials]
    swept = sweep().model_copy(
        update={"trials": trials, "storage": str(state / "optuna" / "demo.journal")}
    )
    store(tmp_path, jobs_record=record, sweep_record=swept, comparison_record=comparison())
    return state


def render_all(state: Path, attachments: Path) -> None:
    ctx = load_context(EXPERIMENT, state, attachments=attachments, attachments_href="files")
    for section in report.outline(ctx):
        section(ctx)


def test_sections_open_only_the_records(state_with_everything, tmp_path):
    state = state_with_everything.resolve()
    seen = opened(render_all, state, tmp_path / "files")
    under_state = [(event, path) for event, path in seen if path.startswith(str(state))]
    results = str(state / "results" / EXPERIMENT)
    assert under_state, "the records were read"
    assert all(path.startswith(results) for _, path in under_state), under_state
    assert not any("mlflow.db" in p or p.endswith(".journal") for _, p in seen)


def test_the_report_imports_no_stage_and_no_tracking_library(state_with_everything):
    code = f"""
import sys
from loclab import report
ctx = report.load_context({EXPERIMENT!r}, {str(state_with_everything)!r})
for section in report.outline(ctx):
    section(ctx)
bad = sorted(m for m in sys.modules if m.split(".")[0] in ("mlflow", "optuna")
             or m.split(".")[:2] in (["loclab", "execution"], ["loclab", "sweep"],
                                     ["loclab", "tracking"], ["loclab", "compare"]))
print(bad)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "[]"


def test_no_report_module_imports_a_stage():
    # The same rule as the lead's grep-based check, so a lazy import cannot slip in either.
    root = Path(report.__file__).parent
    for path in root.rglob("*.py"):
        for line in path.read_text().splitlines():
            stripped = line.strip()
            if stripped.startswith(("import loclab.", "from loclab.")):
                module = stripped.split()[1]
                assert not module.startswith(
                    ("loclab.execution", "loclab.sweep", "loclab.tracking")
                ), (path, line)
