"""The comparison stage end to end: probe jobs, `loclab compare`, comparison.json, MLflow."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from loclab.compare import run_analysis_stage
from loclab.execution.job import JobResult, JobState, read_status
from loclab.paths import StateDir, Workspace
from loclab.results import ExperimentResults
from loclab.spec import load_experiment

SPEC = """name: cmp
notebook: notebooks/probe.ipynb
params: {epochs: 1}
compare:
  systems:
    old: {role: baseline, label: old probe, params: {x: 1.0}}
    new: {label: new probe, params: {x: 2.0}}
  seeds: 2
  metrics: [accuracy, test_score]
  breakdowns: [label]
"""
# Every job writes the same three predictions; only the final test_score differs.
TOP_KEYS = {
    "schema", "experiment", "created", "mode", "baseline", "baseline_label", "primary_metric",
    "alpha", "correction", "family_size",
    "practical_threshold", "higher_is_better", "unit", "n_examples", "metrics", "systems",
    "families", "comparisons", "breakdowns", "ranking", "headline", "answer",
    "significance_note",
    "warnings", "timings", "jobs", "missing_jobs", "mlflow_parent_run_id", "inputs_key",
}  # fmt: skip


def loclab(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "SM_", "LOCLAB_"))}
    return subprocess.run(
        [sys.executable, "-m", "loclab", *args], cwd=project, env=env, capture_output=True,
        text=True, timeout=600,
    )  # fmt: skip


@pytest.fixture(scope="module")
def compared(tmp_path_factory, probe_template, mlflow_db):
    """A project whose comparison ran once through `loclab compare` (4 probe jobs)."""
    root = tmp_path_factory.mktemp("cmp")
    (root / "pyproject.toml").write_text("[project]\nname = 'scratch'\n")
    (root / "notebooks").mkdir()
    shutil.copy(probe_template, root / "notebooks" / "probe.ipynb")
    (root / "experiments").mkdir()
    (root / "experiments" / "cmp.yaml").write_text(SPEC)
    (root / ".loclab").mkdir()
    shutil.copy(mlflow_db, root / ".loclab" / "mlflow.db")
    out = loclab(root, "compare", "experiments/cmp.yaml")
    assert out.returncode == 0, out.stderr[-3000:]
    return root, out


def test_compare_prints_verdicts_and_stores_a_complete_comparison(compared):
    root, out = compared
    lines = out.stdout.splitlines()
    title = next(line for line in lines if line.startswith("cmp: "))
    assert title == "cmp: 1 system(s) against old on accuracy (one comparison, alpha 0.05)"
    row = next(line for line in lines if line.split()[:2] == ["new", "2"])
    assert "too close to call" in row and "+0.0 (+0.0 to +0.0)" in row
    assert "Systems: old = old probe; new = new probe." in lines
    answer = next(line for line in lines if line.startswith("Answer: "))
    assert answer.startswith("Answer: Too close to call: new probe scored the same as old probe")
    doc = json.loads((root / ".loclab/results/cmp/comparison.json").read_text())
    assert set(doc) == TOP_KEYS
    assert doc["schema"] == "loclab.comparison/2" and doc["mode"] == "jobs"
    assert doc["jobs"] == ["cmp-old-s0", "cmp-old-s1", "cmp-new-s0", "cmp-new-s1"]
    assert doc["missing_jobs"] == []
    # The spec as run and the jobs are in the run's jobs record, read back typed.
    run = ExperimentResults(StateDir(root / ".loclab"), "cmp").read_jobs()
    assert run is not None and run.spec.compare is not None
    assert run.spec.compare.seeds == [0, 1]
    assert run.mlflow_parent_run_id == doc["mlflow_parent_run_id"]
    assert [j.name for j in run.jobs] == doc["jobs"]
    assert all(j.ok and Path(j.executed_notebook).exists() for j in run.jobs)
    assert all(j.mlflow_run_id and j.epochs for j in run.jobs)
    [primary, secondary] = doc["comparisons"]
    assert (primary["metric"], primary["family"], primary["kind"]) == (
        "accuracy",
        "confirmatory",
        "seeds",
    )
    assert primary["label"] == "no detectable difference" and primary["estimate"] == 0.0
    # Every probe job writes the same predictions: both systems ignore their seed.
    assert primary["decision"] == "too close to call"
    assert primary["deterministic"] == {"system": True, "baseline": True}
    assert primary["per_seed"]["rows"][0]["p_value"] == 1.0
    assert (secondary["metric"], secondary["kind"]) == ("test_score", "seed_level")
    assert secondary["estimate"] == pytest.approx(1.0)
    systems = {s["name"]: s for s in doc["systems"]}
    assert systems["old"]["role"] == "baseline" and systems["new"]["label"] == "new probe"
    assert systems["new"]["metrics"]["test_score"]["per_seed"] == pytest.approx(
        {"0": 2.1, "1": 2.1}
    )
    assert systems["new"]["metrics"]["test_acc"]["mean"] == pytest.approx(2 / 3)
    assert doc["breakdowns"]["flag"] == "exploratory" and doc["breakdowns"]["family_size"] == 2
    # Strict JSON: no NaN anywhere.
    json.loads(
        (root / ".loclab/results/cmp/comparison.json").read_text(), parse_constant=pytest.fail
    )
    assert (root / ".loclab/results/cmp/comparison.txt").read_text().startswith("cmp: ")
    # On the experiment's MLflow run: the file, one metric per number, verdict tags.
    client = MlflowClient(f"sqlite:///{root / '.loclab' / 'mlflow.db'}")
    parent = client.get_run(doc["mlflow_parent_run_id"])
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["loclab.compare.verdict.new"] == "too close to call"
    assert parent.data.tags["loclab.compare.status"] == "too close to call"
    assert parent.data.tags["loclab.compare.headline"] == doc["headline"]
    assert parent.data.metrics["compare.test_score.new.estimate"] == pytest.approx(1.0)
    names = {a.path for a in client.list_artifacts(parent.info.run_id, "comparison")}
    assert names == {"comparison/comparison.json", "comparison/comparison.txt"}


def test_second_compare_reuses_every_job(compared):
    root, _ = compared
    again = loclab(root, "compare", "experiments/cmp.yaml")
    assert again.returncode == 0, again.stderr[-2000:]
    # Nothing changed: no job, no analysis, no report is made again, and the verdicts show.
    assert "cmp: nothing changed since the run that ended" in again.stdout
    assert "its 4 job(s), analysis and report are reused" in again.stdout
    assert "Answer: Too close to call" in again.stdout
    # With --no-reuse every job runs again.
    forced = loclab(root, "compare", "experiments/cmp.yaml", "--no-reuse")
    assert forced.returncode == 0, forced.stderr[-2000:]
    assert forced.stdout.count(" COMPLETED in ") == 4


def test_failed_jobs_are_listed_and_left_out(compared, monkeypatch):
    root, _ = compared
    exp = load_experiment(root / "experiments" / "cmp.yaml")
    ws = Workspace(StateDir(root / ".loclab"), root / "reports")
    runs = ws.state.runs("cmp")
    results = [JobResult.from_json(read_status(runs / n), runs / n)
               for n in ("cmp-old-s0", "cmp-old-s1", "cmp-new-s0", "cmp-new-s1")]  # fmt: skip
    results[3] = dataclasses.replace(results[3], state=JobState.FAILED, failure="boom")
    lines: list[str] = []
    doc = run_analysis_stage(exp, ws, results, say=lines.append)
    assert [j.name for j in doc.missing_jobs] == ["cmp-new-s1"]
    assert doc.missing_jobs[0].failure == "boom"
    assert {s.name: s.n_seeds for s in doc.systems} == {"old": 2, "new": 1}
    assert "Not included (did not complete): cmp-new-s1 (FAILED)." in lines[0]
    # Both of a system's jobs failed: a clear error naming them.
    results[2] = dataclasses.replace(results[2], state=JobState.FAILED, failure="bang")
    from loclab.compare import ComparisonError

    with pytest.raises(ComparisonError) as err:
        run_analysis_stage(exp, ws, results, say=lines.append)
    assert str(err.value) == (
        "system(s) 'new' have no completed job, so there is nothing to compare them with "
        "(cmp-new-s0 FAILED: bang; cmp-new-s1 FAILED: boom)"
    )


@pytest.mark.slow
def test_run_with_a_failing_system_exits_1_naming_it(tmp_path, probe_template):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'scratch'\n")
    (tmp_path / "notebooks").mkdir()
    shutil.copy(probe_template, tmp_path / "notebooks" / "probe.ipynb")
    (tmp_path / "bad.yaml").write_text(
        "name: bad\nnotebook: notebooks/probe.ipynb\nparams: {epochs: 1}\ncompare:\n"
        "  systems:\n    ok: {role: baseline}\n    broken: {params: {mode: raise}}\n"
    )
    out = loclab(tmp_path, "run", "bad.yaml")
    assert out.returncode == 1
    assert (
        out.stderr.strip()
        .splitlines()[-1]
        .startswith(
            "error: system(s) 'broken' have no completed job, so there is nothing to compare them "
            "with (bad-broken-s0 FAILED: cell 5 (In [5]) raised ValueError"
        )
    )
    summary = json.loads((tmp_path / ".loclab/results/bad/jobs.json").read_text())
    assert {j["name"]: j["state"] for j in summary["jobs"]} == {
        "bad-ok-s0": "COMPLETED", "bad-broken-s0": "FAILED",
    }  # fmt: skip
    client = MlflowClient(f"sqlite:///{tmp_path / '.loclab' / 'mlflow.db'}")
    assert client.get_run(summary["mlflow_parent_run_id"]).info.status == "FAILED"


def test_a_missing_compared_metric_stops_after_the_first_job(project):
    # A metric no job writes is found after one job, not after all four.
    (project / "experiments" / "typo.yaml").write_text(
        SPEC.replace("name: cmp", "name: typo").replace("test_score]", "test_scor]")
    )
    out = loclab(project, "run", "experiments/typo.yaml")
    assert out.returncode != 0
    last = out.stderr.strip().splitlines()[-1]
    assert "metric 'test_scor' is neither a predictions column" in last
    assert "checked after the first job, before the others run" in last
    jobs = ExperimentResults(StateDir(project / ".loclab"), "typo").read_jobs()
    assert jobs is not None and len(jobs.jobs) == 1 and jobs.status == "FAILED"
