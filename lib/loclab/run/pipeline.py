"""``loclab run``: spec → (sweep) → jobs → (analysis) → report, one direction.

Each stage stores what it produced as a typed record (:mod:`loclab.results`), so a later stage
(or ``loclab report``) starts from stored records without re-running anything.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from loclab.exceptions import JobFailedError
from loclab.execution.plan import make_request, plan_jobs
from loclab.paths import Workspace
from loclab.results import ExperimentResults, JobRecord, JobsRecord
from loclab.spec import Experiment

if TYPE_CHECKING:
    from loclab.execution.job import JobResult
    from loclab.tracking import Tracker

__all__ = ["run_experiment"]


def run_experiment(
    exp: Experiment,
    ws: Workspace,
    *,
    timeout: float | None = None,
    reuse: bool = True,
    say: Callable[[str], None] = print,
    run_sweep: bool = True,
) -> JobsRecord:
    """Run every stage of the experiment; return the jobs record that was stored.

    ``run_sweep=False`` (``loclab compare``) takes the sweep's stored winners instead of
    running the sweep.

    Raises:
        JobFailedError: A job did not complete (the report is still written).
    """
    from loclab.execution.backends import create_backend, tracking_uri
    from loclab.execution.records import job_record
    from loclab.execution.runner import JobRunner
    from loclab.tracking import Tracker, provenance

    backend = create_backend(exp)
    results = ExperimentResults(ws.state, exp.name)
    tags = provenance(exp.root)
    # SageMaker jobs log into the launcher's runs only when both use the same server.
    tracker = Tracker.for_workspace(ws, tags=tags, uri=tracking_uri(exp))
    parent = tracker.start_run(
        exp.name,
        f"{exp.name}-{time.strftime('%Y%m%d-%H%M%S')}",
        tags={"loclab.stage": "experiment", "loclab.spec": exp.spec_path.name},
        params={f"spec.{k}": v for k, v in exp.params.items()},
    )
    tracker.log_artifact(parent, exp.spec_path, "spec")
    record = JobsRecord(
        experiment=exp.name,
        spec_path=str(exp.spec_path),
        spec=exp.spec,
        params=exp.params,
        started=time.time(),
        mlflow_parent_run_id=parent,
        provenance=tags,
    )
    results.write_jobs(record)
    runner = JobRunner(
        backend, ws.state.runs(exp.name), tracker, parent_run_id=parent, env=ws.job_env()
    )
    finished: list[JobResult] = []
    jobs: list[JobRecord] = []
    status = "FINISHED"
    try:
        winners = _sweep_stage(exp, ws, tracker, parent, timeout, say, run_sweep, backend)
        if exp.spec.sweep is None or exp.spec.compare is not None:
            # Stage 2: one job per system and seed (or the single configured job).
            plans = plan_jobs(exp, winners)
            for i, plan in enumerate(plans, 1):
                request = make_request(exp, plan, timeout=timeout)
                say(f"[{i}/{len(plans)}] {plan.name} ...")
                result = runner.run(request, reuse=reuse)
                finished.append(result)
                jobs.append(job_record(result, backend=backend.name, results=results))
                results.write_jobs(record.model_copy(update={"jobs": list(jobs)}))
                if result.cached:
                    say(f"      reused completed run {result.run_dir}")
                else:
                    say(f"      {result.state} in {result.duration:.1f} s")
            if exp.spec.compare is not None:
                # Stage 3: statistics over the completed jobs' outputs (comparison.json).
                from loclab.compare import run_analysis_stage

                run_analysis_stage(
                    exp, ws, finished, tracker=tracker, parent_run_id=parent, say=say
                )
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    except Exception:
        status = "FAILED"
        raise
    finally:
        failed = [r for r in finished if not r.ok]
        if failed and status == "FINISHED":
            status = "FAILED"
        record = record.model_copy(update={"jobs": jobs, "status": status, "ended": time.time()})
        results.write_jobs(record)
        if finished or exp.spec.sweep is not None:
            # Stage 4: the report, from what the stages above stored (logged on the run).
            write_report(exp, ws, tracker=tracker, parent_run_id=parent, say=say)
        tracker.end_run(parent, status)
    if failed:
        first = failed[0]
        raise JobFailedError(
            f"job {first.name} {first.state}: {first.failure}; "
            f"saved notebook: {first.executed_notebook}"
        )
    return record


def _sweep_stage(
    exp: Experiment,
    ws: Workspace,
    tracker: Tracker,
    parent: str,
    timeout: float | None,
    say: Callable[[str], None],
    run_sweep: bool,
    backend: Any,
) -> dict[int, Mapping[str, Any]] | None:
    """Stage 1: the sweep's winners by rank (run the sweep, or read its stored record)."""
    if exp.spec.sweep is None:
        return None
    if not run_sweep:
        stored = ExperimentResults(ws.state, exp.name).read_sweep()
        return {w.rank: w.params for w in stored.winners} if stored else None
    from loclab.sweep import run_sweep_stage

    record = run_sweep_stage(
        exp,
        ws,
        tracker=tracker,
        parent_run_id=parent,
        timeout=timeout,
        say=say,
        # Local trials share the cores (the driver splits them); SageMaker trials are
        # training jobs, `workers` at once.
        backend=backend if backend.name != "local" else None,
    )
    return {w.rank: w.params for w in record.winners}


def write_report(
    exp: Experiment,
    ws: Workspace,
    *,
    tracker: Tracker | None = None,
    parent_run_id: str | None = None,
    say: Callable[[str], None] = print,
) -> None:
    """The pipeline's last stage: render the report and log it on the experiment's run.

    A report that cannot be rendered does not fail the run (its records are stored, and
    ``loclab report SPEC`` retries); the reason is printed instead.
    """
    from loclab.report import NoResultsError, render_report

    try:
        result = render_report(exp.name, ws.state, ws.reports, project_root=exp.root)
    except NoResultsError:
        return
    except Exception as err:  # the run's records are safe; say why and move on
        say(f"report: not written ({err}); retry with: loclab report {exp.display_path}")
        return
    if tracker is not None and parent_run_id:
        try:
            log_report(tracker, parent_run_id, result.path)
        except Exception as err:
            say(f"report: not logged to MLflow ({err})")
    say(f"report: {result.latest} ({result.size / 1024:.0f} KB, {result.seconds:.1f} s)")


def log_report(tracker: Tracker, run_id: str, report: Any) -> None:
    """Put the page on an MLflow run as ``report/report.html`` (replacing an earlier one)."""
    import shutil
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="loclab-report-") as tmp:
        copy = Path(tmp) / "report.html"
        shutil.copyfile(report, copy)
        tracker.log_artifact(run_id, copy, "report")
