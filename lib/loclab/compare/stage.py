"""The comparison stage: completed jobs in, ``comparison.json`` and a verdict table out."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loclab.compare.analysis import analyse
from loclab.compare.data import collect, run_outputs
from loclab.compare.table import render_verdicts
from loclab.io import write_json

if TYPE_CHECKING:
    from loclab.execution.job import JobResult
    from loclab.pipeline import Workspace
    from loclab.spec import Experiment
    from loclab.tracking import Tracker

__all__ = ["COMPARISON_FILE", "SCHEMA", "run_analysis_stage", "write_comparison"]

COMPARISON_FILE = "comparison.json"
TABLE_FILE = "comparison.txt"
SCHEMA = "loclab.comparison/1"


def _job_entry(result: JobResult) -> dict[str, Any]:
    return {
        "name": result.name,
        "system": result.tags.get("loclab.system"),
        "seed": int(result.tags["loclab.seed"]) if result.tags.get("loclab.seed") else None,
        "role": result.tags.get("loclab.role"),
        "state": str(result.state),
        "ok": result.ok,
        "cached": result.cached,
        "failure": result.failure,
        "run_dir": str(result.run_dir),
        "executed_notebook": str(result.executed_notebook),
        "predictions": str(result.predictions) if result.predictions.exists() else None,
        "mlflow_run_id": result.mlflow_run_id,
        "duration_s": result.duration,
    }


def write_comparison(path: Path, doc: dict[str, Any]) -> None:
    """Write ``comparison.json`` atomically; strict JSON (no NaN: missing values are null)."""
    write_json(path, doc, sort_keys=False)


def run_analysis_stage(
    exp: Experiment,
    ws: Workspace,
    results: Sequence[JobResult],
    *,
    tracker: Tracker | None = None,
    parent_run_id: str | None = None,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Test the completed jobs' outputs, store the results and print the verdict table.

    The analysis covers the jobs that completed; the others are listed as missing. Results go
    to ``<state>/results/<experiment>/comparison.json`` (and ``comparison.txt``, the table)
    and onto the experiment's MLflow run (artifact, metrics, tags).

    Args:
        exp: The experiment (its spec has a ``compare:`` section).
        ws: Where results are stored.
        results: The comparison's jobs, as the runner returned them.
        tracker: MLflow tracker of the experiment's run.
        parent_run_id: The experiment's MLflow run.
        say: Where the table goes.

    Returns:
        The content of ``comparison.json``.

    Raises:
        ComparisonError: A system has no completed job, or the outputs cannot be compared.
    """
    compare = exp.spec.compare
    assert compare is not None, "the experiment has no compare: section"
    started = time.perf_counter()
    runs, missing = run_outputs(results)
    lost = [
        (r.tags.get("loclab.system", r.name), f"{r.name} {r.state}: {r.failure}") for r in missing
    ]
    data = collect(compare, runs, lost)
    loaded = time.perf_counter() - started
    analysis = analyse(data, compare)
    analysis["timings"] = {"load_s": loaded, **analysis["timings"]}
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "experiment": exp.name,
        "description": exp.spec.description,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "spec": str(exp.spec_path),
        "spec_as_run": exp.spec.model_dump(mode="json"),
        "params": exp.params,
        "mode": "discovered" if compare.discovered else "jobs",
        **analysis,
        "jobs": [_job_entry(r) for r in results],
        "missing_jobs": [_job_entry(r) for r in missing],
        "mlflow_parent_run_id": parent_run_id,
    }
    folder = ws.state.results(exp.name)
    path = folder / COMPARISON_FILE
    write_comparison(path, doc)
    table = render_verdicts(doc)
    (folder / TABLE_FILE).write_text(table)
    say(table.rstrip("\n"))
    say(f"comparison: {path}")
    if tracker is not None and parent_run_id:
        _track(tracker, parent_run_id, doc, path, folder / TABLE_FILE)
    return doc


def _track(tracker: Tracker, run_id: str, doc: dict[str, Any], path: Path, table: Path) -> None:
    """The comparison on the experiment's run: files, one metric per number, verdict tags."""
    tracker.log_artifact(run_id, path, "comparison")
    tracker.log_artifact(run_id, table, "comparison")
    metrics: dict[str, float] = {}
    tags: dict[str, Any] = {
        "loclab.compare.headline": doc["headline"],
        "loclab.compare.baseline": doc["baseline"],
        "loclab.compare.metric": doc["primary_metric"],
        "loclab.compare.family_size": doc["family_size"],
        "loclab.compare.correction": doc["correction"],
    }
    for c in doc["comparisons"]:
        prefix = f"compare.{c['metric']}.{c['system']}"
        for field in ("estimate", "p_value", "p_adjusted"):
            if c.get(field) is not None:
                metrics[f"{prefix}.{field}"] = c[field]
        if c["family"] == "confirmatory":
            tags[f"loclab.compare.verdict.{c['system']}"] = c["label"]
    for system in doc["systems"]:
        for key, summary in system["metrics"].items():
            if summary.get("mean") is not None:
                metrics[f"summary.{key}.{system['name']}"] = summary["mean"]
    tracker.log_metrics(run_id, metrics)
    tracker.set_tags(run_id, tags)
