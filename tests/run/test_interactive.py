"""``--run ID``: the starter notebook run by hand, then compared with the experiment's jobs.

Everything is real: ``loclab init``'s project, the starter notebook run by hand the way
JupyterLab runs it (its path in ``JPY_SESSION_NAME``, its folder as the working folder, its
parameters cell edited but not saved), the MLflow store, and ``loclab compare`` in a
subprocess. Variants of the run (another notebook, no predictions, a missing metric, a
failed run) are copies of the real run's folder with its record changed, as a run stopped
early or made from another notebook leaves it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from mlflow.tracking import MlflowClient

from loclab.exceptions import SpecError
from loclab.nbexec import execute_notebook
from loclab.paths import StateDir, Workspace
from loclab.results import ExperimentResults, InteractiveRecord, InteractiveRuns
from loclab.run import interactive_systems
from loclab.scaffold import STARTER_NOTEBOOK, init_project
from loclab.spec import load_experiment

pytestmark = pytest.mark.slow

SPEC = """name: tiny
notebook: notebooks/templates/classifier.ipynb
params: {n_samples: 300, epochs: 2}
compare:
  systems:
    baseline: {role: baseline}
    wider: {params: {hidden: 32}}
  seeds: 2
  metrics: [accuracy, test_acc]
  practical_threshold: 0.01
"""
#: The same comparison as a new experiment: no job of it has run yet.
FRESH = SPEC.replace("name: tiny", "name: fresh").replace("seeds: 2", "seeds: 1")
CLEAN = ("MLFLOW_", "SM_", "LOCLAB_", "JPY_")


def loclab(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(CLEAN)}
    return subprocess.run(
        [sys.executable, "-m", "loclab", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def by_hand(notebook: Path, values: dict[str, Any], scratch: Path) -> InteractiveRecord:
    """Run ``notebook`` as JupyterLab does, its parameters cell edited (not saved)."""
    nb = json.loads(notebook.read_text())
    cell = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    source = "".join(cell["source"])
    for name, value in values.items():
        source, n = re.subn(rf"^({name}: \w+ = )\S+", rf"\g<1>{value!r}", source, flags=re.M)
        assert n == 1, name
    cell["source"] = source
    edited = scratch / notebook.name
    edited.write_text(json.dumps(nb))
    state = StateDir(notebook.parents[2] / ".loclab")
    before = {r.name for r in InteractiveRuns(state).all()}
    with pytest.MonkeyPatch.context() as mp:
        for var in [k for k in os.environ if k.startswith(CLEAN)]:
            mp.delenv(var)
        mp.setenv("JPY_SESSION_NAME", str(notebook))
        execute_notebook(edited, scratch / "out.ipynb", cwd=notebook.parent)
    (record,) = [r for r in InteractiveRuns(state).all() if r.name not in before]
    return record


def variant(runs: InteractiveRuns, record: InteractiveRecord, name: str, **changes: Any) -> str:
    """A copy of ``record``'s run under another name, its record changed."""
    shutil.copytree(record.run_dir, runs.run_dir(name))
    folder = str(runs.run_dir(name))
    moved = {"run_dir": folder, "predictions": f"{folder}/output/data/predictions.parquet"}
    other_run = {"mlflow_run_id": uuid.uuid4().hex}  # another run has an MLflow run of its own
    runs.write(record.model_copy(update={"name": name, **moved, **other_run, **changes}))
    return name


@dataclass
class Compared:
    root: Path
    same: InteractiveRecord
    other: InteractiveRecord
    first: subprocess.CompletedProcess[str]
    again: subprocess.CompletedProcess[str]
    variants: dict[str, str]


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory, mlflow_db: Path) -> Compared:
    """A starter project, two runs by hand, and one ``loclab compare --run`` (run twice)."""
    root = tmp_path_factory.mktemp("by-hand") / "proj"
    init_project(root)
    (root / ".loclab").mkdir()
    shutil.copy(mlflow_db, root / ".loclab" / "mlflow.db")
    (root / "experiments" / "tiny.yaml").write_text(SPEC)
    (root / "experiments" / "fresh.yaml").write_text(FRESH)
    notebook = root / "notebooks" / "templates" / STARTER_NOTEBOOK
    scratch = tmp_path_factory.mktemp("scratch")
    same = by_hand(notebook, {"n_samples": 300, "epochs": 2, "hidden": 8}, scratch)
    other = by_hand(notebook, {"n_samples": 200, "epochs": 2}, scratch)
    first = loclab(root, "compare", "experiments/tiny.yaml", "--run", same.name)
    assert first.returncode == 0, first.stderr[-3000:]
    again = loclab(root, "compare", "experiments/tiny.yaml", "--run", same.name)
    runs = InteractiveRuns(StateDir(root / ".loclab"))
    variants = {
        "notebook": variant(
            runs, same, "other-20261201-101500",
            notebook=str(root / "notebooks" / "templates" / "other.ipynb"),
        ),
        "predictions": variant(runs, same, "stopped-20261201-101501", predictions=None),
        "metric": variant(runs, same, "nometric-20261201-101502", metrics={}),
        "failed": variant(runs, same, "failed-20261201-101503", status="FAILED"),
    }  # fmt: skip
    os.remove(runs.run_dir(variants["predictions"]) / "output" / "data" / "predictions.parquet")
    return Compared(root, same, other, first, again, variants)


def test_the_run_by_hand_joins_the_comparison_as_an_interactive_system(compared: Compared):
    root, same = compared.root, compared.same
    records = ExperimentResults(StateDir(root / ".loclab"), "tiny")
    doc = records.read_comparison()
    assert doc is not None
    name = f"interactive-{same.name.rsplit('-', 1)[1]}"
    summary = doc.system(name)
    assert summary is not None and summary.interactive is not None
    source = summary.interactive
    assert source.run == same.name and source.status == "FINISHED"
    assert source.notebook == f"notebooks/templates/{STARTER_NOTEBOOK}"
    assert source.params == {"hidden": 8} and source.baseline_params == {"hidden": 16}
    assert source.mlflow_run_id == same.mlflow_run_id
    assert source.test.startswith("on examples only: ")
    assert "the baseline averaged over its 2 runs" in source.test
    assert summary.n_seeds == 1 and summary.jobs == [same.name]
    assert summary.metrics["test_acc"].mean == pytest.approx(same.metrics["test_acc"])

    # Tested against the baseline in every family, with the spec's systems, Holm over both.
    by_metric = {c.metric: c for c in doc.comparisons if c.system == name}
    assert set(by_metric) == {"accuracy", "test_acc"}
    assert all(c.interactive for c in by_metric.values())
    assert by_metric["accuracy"].kind in ("continuous", "binary")
    assert by_metric["accuracy"].n_examples == 60  # 20 % of 300: the jobs' test examples
    assert by_metric["test_acc"].kind == "seed_level"
    assert doc.family_size == 2 and {c.system for c in doc.confirmatory} == {"wider", name}
    assert "is an interactive run" in by_metric["accuracy"].design_caveat
    assert f"Run by hand, {name} scored" in doc.headline
    assert doc.answer is not None and doc.answer.use != name

    # The verdict table marks it, and names its notebook, date and changed parameters.
    table = " ".join(records.table_file.read_text().split())
    assert f"{name}* 1" in table
    assert f"* Interactive run {name}: notebooks/templates/{STARTER_NOTEBOOK} run by hand" in (
        table
    )
    assert "hidden=8 (baseline 16)" in table
    assert " ".join(compared.first.stdout.split()).count(f"* Interactive run {name}") == 1

    # The report too.
    page = (root / "reports" / "tiny" / "index.html").read_text()
    assert page.count("interactive run</span>") >= 3  # results, summary card, details
    assert f"{name} is an interactive run, not jobs" in page
    assert "hidden=8 (baseline 16)" in page

    # It was never re-executed: the jobs are the spec's four, the runs by hand still two.
    jobs = records.read_jobs()
    assert jobs is not None and len(jobs.jobs) == 4
    assert not any("interactive" in j.name for j in jobs.jobs)
    state = StateDir(root / ".loclab")
    assert {r.name for r in InteractiveRuns(state).all()} >= {same.name, compared.other.name}
    client = MlflowClient(f"sqlite:///{root / '.loclab' / 'mlflow.db'}")
    tags = client.get_run(jobs.mlflow_parent_run_id).data.tags
    assert tags["loclab.compare.interactive"] == f"{name}={same.mlflow_run_id}"

    # Nothing changed: the second command reuses everything, the run by hand included.
    assert compared.again.returncode == 0, compared.again.stderr[-2000:]
    assert "nothing changed since the run" in compared.again.stdout
    assert f"{name}*" in compared.again.stdout


def problems(root: Path, *refs: str, spec: str = "tiny") -> list[str]:
    exp = load_experiment(root / "experiments" / f"{spec}.yaml")
    with pytest.raises(SpecError) as found:
        interactive_systems(exp, Workspace.for_project(root), list(refs))
    return [str(p) for p in found.value.problems]


def test_each_bad_run_is_one_line_naming_run_and_the_fix(compared: Compared):
    root, same, v = compared.root, compared.same, compared.variants
    (line,) = problems(root, "nope")
    assert line.startswith("command line: --run nope: no interactive run is named 'nope'")
    assert "loclab list shows the interactive runs" in line
    (line,) = problems(root, "classifier-")
    assert "'classifier-' matches 2 interactive runs" in line and "give more of the name" in line
    assert same.mlflow_run_id is not None  # a prefix of its MLflow run id names it too
    assert problems(root, same.mlflow_run_id[:8], same.name) == [
        f"command line: --run {same.name}: the same run is given twice; give each "
        "interactive run once"
    ]
    (line,) = problems(root, v["notebook"])
    assert "ran notebooks/templates/other.ipynb, but the spec's systems run " in line
    assert "loclab new experiment NAME --notebook notebooks/templates/other.ipynb" in line
    (line,) = problems(root, v["predictions"])
    assert "it wrote no predictions" in line and "runtime.write_predictions" in line
    (line,) = problems(root, v["metric"])
    assert "it has no 'test_acc', which compare.metrics compares" in line
    (line,) = problems(root, "failed-")  # a prefix: the run's name is said
    assert f"--run failed-: {v['failed']}: it ended FAILED" in line
    assert "run the notebook again to its end" in line
    (line,) = problems(root, f"{same.name}=baseline")
    assert "system name 'baseline' is taken (a system of the spec)" in line
    (line,) = problems(root, compared.other.name)
    assert f"--run {compared.other.name}: its predictions cover other test examples" in line
    assert "40 in the run, 60 in tiny-baseline-s0" in line
    assert "run the notebook again with the spec's data parameters (it ran with n_samples=200" in (
        line
    )
    # Every problem at once, one line each.
    assert len(problems(root, "nope", v["failed"], same.name, same.name)) == 3


def test_bad_runs_exit_2_and_write_nothing(compared: Compared):
    root = compared.root
    state = root / ".loclab"
    before = {p: p.stat().st_mtime_ns for p in state.rglob("*") if p.is_file()}
    done = loclab(root, "compare", "experiments/tiny.yaml", "--run", "nope", "--run",
                  compared.variants["metric"])  # fmt: skip
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("command line: --run ") for line in lines)
    assert done.stdout == ""
    after = {p: p.stat().st_mtime_ns for p in state.rglob("*") if p.is_file()}
    assert after == before


def test_a_new_experiment_checks_the_test_set_after_the_baselines_first_job(
    compared: Compared,
):
    root, other = compared.root, compared.other
    done = loclab(root, "run", "experiments/fresh.yaml", "--run", other.name)
    assert done.returncode == 2, done.stderr[-2000:]
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"command line: --run {other.name}: its predictions cover other")
    jobs = ExperimentResults(StateDir(root / ".loclab"), "fresh").read_jobs()
    assert jobs is not None and [j.name for j in jobs.jobs] == ["fresh-baseline-s0"]
    assert jobs.status == "FAILED"
    assert ExperimentResults(StateDir(root / ".loclab"), "fresh").read_comparison() is None
    assert not (root / "reports" / "fresh").exists()  # bad input: no report of it


def test_the_idea_becomes_a_spec_of_jobs_with_from_run(compared: Compared):
    root = compared.root
    done = loclab(root, "new", "experiment", "idea", "--from-run", compared.same.name)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("wrote experiments/idea.yaml; next: loclab validate")
    exp = load_experiment(root / "experiments" / "idea.yaml")
    assert exp.spec.compare is not None
    candidate = exp.spec.compare.systems["candidate"].params
    assert candidate == {"n_samples": 300, "epochs": 2, "hidden": 8}  # against the defaults
    assert exp.spec.compare.seeds == [0, 1, 2]
    assert "one that changes the test data belongs in params:" in done.stderr
