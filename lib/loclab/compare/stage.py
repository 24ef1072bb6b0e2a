"""The comparison stage: completed jobs in, a comparison record and a verdict table out."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loclab.compare.analysis import analyse
from loclab.compare.data import collect, run_outputs
from loclab.compare.table import render_verdicts
from loclab.io import jsonable
from loclab.paths import Workspace
from loclab.results import ComparisonRecord, ExperimentResults, MissingJob, analysis_key

if TYPE_CHECKING:
    from loclab.compare.interactive import InteractiveSystem
    from loclab.execution.job import JobResult
    from loclab.spec import Experiment
    from loclab.tracking import Tracker

__all__ = ["run_analysis_stage"]


def run_analysis_stage(
    exp: Experiment,
    ws: Workspace,
    results: Sequence[JobResult],
    *,
    tracker: Tracker | None = None,
    parent_run_id: str | None = None,
    say: Callable[[str], None] = print,
    interactive: Sequence[InteractiveSystem] = (),
) -> ComparisonRecord:
    """Test the completed jobs' outputs, store the record and print the verdict table.

    The analysis covers the jobs that completed; the others are listed as missing. The
    record goes to ``<state>/results/<experiment>/comparison.json`` (with ``comparison.txt``,
    the table) and onto the experiment's MLflow run (artifact, metrics, tags).

    Args:
        exp: The experiment (its spec has a ``compare:`` section).
        ws: Where records are stored.
        results: The comparison's jobs, as the runner returned them.
        tracker: MLflow tracker of the experiment's run.
        parent_run_id: The experiment's MLflow run.
        say: Where the table goes.
        interactive: Interactive runs compared too, each as one more candidate with one run
            (checked beforehand: :mod:`loclab.compare.interactive`).

    Returns:
        The comparison record.

    Raises:
        ComparisonError: A system has no completed job, or the outputs cannot be compared.
    """
    compare = exp.spec.compare
    assert compare is not None, "the experiment has no compare: section"
    store = ExperimentResults(ws.state, exp.name)
    key = analysis_key(compare, [*(r.identity for r in results), *_identities(interactive)])
    stored = _stored(store, key)
    if stored is not None:
        # The same analysis, now belonging to this run.
        record = stored.model_copy(update={"mlflow_parent_run_id": parent_run_id})
        path = store.write_comparison(record)
        say(store.table_file.read_text().rstrip("\n"))
        say(f"comparison: {path} (its inputs are unchanged: reused)")
        if tracker is not None and parent_run_id:
            _track(tracker, parent_run_id, record, path, store.table_file)
        return record
    started = time.perf_counter()
    runs, missing = run_outputs(results)
    lost = [
        (r.tags.get("loclab.system", r.name), f"{r.name} {r.state}: {r.failure}") for r in missing
    ]
    data = collect(compare, runs, lost, interactive)
    loaded = time.perf_counter() - started
    analysis = analyse(data, compare)
    analysis["timings"] = {"load_s": loaded, **analysis["timings"]}
    _note_skipped(analysis, results)
    doc: dict[str, Any] = {
        "experiment": exp.name,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "mode": "discovered" if compare.discovered else "jobs",
        **analysis,
        "jobs": [r.name for r in results if r.ok],
        "missing_jobs": [
            MissingJob(
                name=r.name,
                system=r.tags.get("loclab.system"),
                state=str(r.state),
                failure=r.failure,
            )
            for r in missing
        ],
        "mlflow_parent_run_id": parent_run_id,
        "inputs_key": key,
    }
    record = ComparisonRecord.model_validate(jsonable(doc))
    table = render_verdicts(record)
    path = store.write_comparison(record, table)
    say(table.rstrip("\n"))
    say(f"comparison: {path}")
    if tracker is not None and parent_run_id:
        _track(tracker, parent_run_id, record, path, store.table_file)
    return record


def _identities(interactive: Sequence[InteractiveSystem]) -> list[tuple[str, str, str, str]]:
    return [s.identity for s in interactive]


def _note_skipped(analysis: dict[str, Any], results: Sequence[JobResult]) -> None:
    """Seeds not run because their system proved deterministic, on each system's summary."""
    skipped: dict[str, list[int]] = {}
    for r in results:
        seed = r.tags.get("loclab.seed", "")
        if r.skipped and seed.lstrip("-").isdigit():
            skipped.setdefault(r.tags.get("loclab.system", ""), []).append(int(seed))
    for system in analysis["systems"]:
        found = skipped.get(system["name"])
        if found:
            system["skipped_seeds"] = sorted(found)
            system["deterministic"] = True


def _stored(store: ExperimentResults, key: str) -> ComparisonRecord | None:
    """The stored comparison if it was made from exactly these inputs (and its table is kept)."""
    from loclab.results import RecordError

    try:
        found = store.read_comparison()
    except RecordError:
        return None
    if found is None or found.inputs_key != key or not store.table_file.is_file():
        return None
    return found


def _track(tracker: Tracker, run_id: str, doc: ComparisonRecord, path: Path, table: Path) -> None:
    """The comparison on the experiment's run: files, one metric per number, verdict tags."""
    tracker.log_artifact(run_id, path, "comparison")
    tracker.log_artifact(run_id, table, "comparison")
    metrics: dict[str, float] = {}
    tags: dict[str, Any] = {
        "loclab.compare.headline": doc.headline,
        "loclab.compare.baseline": doc.baseline,
        "loclab.compare.metric": doc.primary_metric,
        "loclab.compare.family_size": doc.family_size,
        "loclab.compare.correction": doc.correction,
    }
    if doc.interactive:
        tags["loclab.compare.interactive"] = ", ".join(
            f"{s.name}={s.interactive.mlflow_run_id or s.interactive.run}"
            for s in doc.interactive
            if s.interactive is not None
        )
    if doc.answer is not None:
        tags["loclab.compare.status"] = doc.answer.status
        tags["loclab.compare.use"] = doc.answer.use
    for c in doc.comparisons:
        prefix = f"compare.{c.metric}.{c.system}"
        for field, value in (
            ("estimate", c.estimate),
            ("p_value", c.p_value),
            ("p_adjusted", c.p_adjusted),
        ):
            if value is not None:
                metrics[f"{prefix}.{field}"] = value
        if c.family == "confirmatory":
            tags[f"loclab.compare.verdict.{c.system}"] = c.outcome
    for system in doc.systems:
        for key, summary in system.metrics.items():
            if summary.mean is not None:
                metrics[f"summary.{key}.{system.name}"] = summary.mean
    tracker.log_metrics(run_id, metrics)
    tracker.set_tags(run_id, tags)
