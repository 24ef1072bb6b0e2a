"""Instant re-runs: when nothing changed since the last finished run, nothing is run again.

A run's content address (:func:`run_key`) covers the spec as run, its parameters, every
planned job's content key (notebook, parameters, data, job code) and the sweep's key. When the
last run finished with the same address, every job is still completed in its run folder, and
the analysis was made from exactly those jobs, :func:`unchanged_run` hands that run back
without opening MLflow, a study or a kernel.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from loclab.execution.job import JobRequest, JobResult, JobState
from loclab.execution.plan import make_request, plan_jobs
from loclab.execution.runner import completed_run
from loclab.paths import Workspace
from loclab.results import ExperimentResults, JobsRecord, RecordError, analysis_key
from loclab.results import run_key as key_of_run
from loclab.spec import Experiment

if TYPE_CHECKING:
    from loclab.compare.interactive import InteractiveSystem

__all__ = ["run_key", "unchanged_run"]


def run_key(exp: Experiment, requests: Sequence[JobRequest], sweep_key: str = "") -> str:
    """Content address of a run: the spec as run, its parameters, its jobs, its sweep."""
    return key_of_run(exp.spec, exp.params, [(r.name, r.key) for r in requests], sweep_key)


def unchanged_run(
    exp: Experiment,
    ws: Workspace,
    *,
    run_sweep: bool = True,
    interactive: Sequence[InteractiveSystem] = (),
) -> JobsRecord | None:
    """The last run, if it finished and nothing it depends on has changed since; else None.

    Its analysis must also have compared exactly the ``interactive`` runs given now.
    """
    from loclab.sweep.results import sweep_key
    from loclab.sweep.storage import locate

    records = ExperimentResults(ws.state, exp.name)
    try:
        stored = records.read_jobs()
        sweep = records.read_sweep() if exp.spec.sweep is not None else None
        comparison = records.read_comparison() if exp.spec.compare is not None else None
    except RecordError:
        return None
    if stored is None or stored.status != "FINISHED" or not stored.inputs_key:
        return None
    key = ""
    winners = None
    if exp.spec.sweep is not None:
        if sweep is None or not sweep.finished:
            return None
        if run_sweep:
            key = sweep_key(exp, locate(exp, ws))
            if sweep.inputs_key != key:
                return None
        winners = {w.rank: w.params for w in sweep.winners}
    requests: list[JobRequest] = []
    if exp.spec.sweep is None or exp.spec.compare is not None:
        try:
            requests = [make_request(exp, p) for p in plan_jobs(exp, winners)]
        except Exception:  # a plan that cannot be made now: let the run say why
            return None
    if run_key(exp, requests, key) != stored.inputs_key:
        return None
    runs = ws.state.runs(exp.name)
    done = [completed_run(runs / r.name, r.key) or _skipped(stored, r, runs) for r in requests]
    if any(result is None for result in done):
        return None
    if exp.spec.compare is not None:
        inputs = [r.identity for r in done if r is not None]
        inputs += [s.identity for s in interactive]
        if comparison is None or comparison.inputs_key != analysis_key(exp.spec.compare, inputs):
            return None
    return stored


def _skipped(stored: JobsRecord, request: JobRequest, runs: Path) -> JobResult | None:
    """A job the last run skipped on purpose (its system proved deterministic), if unchanged.

    The jobs it would have repeated are planned requests too: they must still be completed.
    """
    found = stored.job(request.name)
    if found is None or found.state != JobState.SKIPPED or found.key != request.key:
        return None
    return JobResult(
        name=found.name,
        state=JobState.SKIPPED,
        run_dir=runs / found.name,
        key=found.key,
        started=found.started,
        ended=found.ended,
        tags=dict(found.tags),
    )
