"""The report is a function of the stored records: it opens no run folder, journal or MLflow
store, and imports none of the stages that write them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from loclab.report import page as report

from .records import EXPERIMENT, comparison, jobs, spec, store, sweep

# Run in a fresh interpreter: every file it opens or lists (Python's audit events) and every
# module it imported while loading the records and drawing every section.
PROBE = """
import json, os, sys
from pathlib import Path

seen = []
def audit(event, args):
    if event in ("open", "os.listdir", "os.scandir", "sqlite3.connect") and args:
        if isinstance(args[0], (str, bytes, os.PathLike)):
            seen.append(str(Path(os.fsdecode(args[0])).resolve()))
sys.addaudithook(audit)

from loclab.report import page as report
ctx = report.load_context(sys.argv[1], sys.argv[2], attachments=sys.argv[3],
                          attachments_href="files")
for section in report.outline(ctx):
    section(ctx)
print(json.dumps({"opened": seen, "modules": sorted(sys.modules)}))
"""


def probe(state: Path, attachments: Path) -> tuple[list[str], list[str]]:
    """What the report opened and imported, drawn from the records under ``state``."""
    out = subprocess.run([sys.executable, "-c", PROBE, EXPERIMENT, str(state), str(attachments)],
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    found = json.loads(out.stdout.strip().splitlines()[-1])
    return found["opened"], found["modules"]


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


def test_the_report_reads_only_the_records_and_imports_no_stage(state_with_everything, tmp_path):
    state = state_with_everything.resolve()
    opened, modules = probe(state, tmp_path / "files")
    # Inside the state folder it opens only the experiment's records, and no store anywhere.
    under_state = [path for path in opened if path.startswith(str(state))]
    results = str(state / "results" / EXPERIMENT)
    assert under_state, "the records were read"
    assert all(path.startswith(results) for path in under_state), under_state
    assert not any("mlflow.db" in path or path.endswith(".journal") for path in opened)
    # Nor does it import the stages that write them, or their tracking libraries.
    stages = ("loclab.execution", "loclab.sweep", "loclab.tracking", "loclab.compare")
    bad = [m for m in modules if m.split(".")[0] in ("mlflow", "optuna") or m.startswith(stages)]
    assert bad == []


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
