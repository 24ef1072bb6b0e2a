"""``loclab run``: spec → (sweep) → jobs → (analysis) → report, one direction.

Each stage stores what it produced as a typed record (:mod:`loclab.results`), so a later stage
(or ``loclab report``) starts from stored records without re-running anything.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from loclab.exceptions import JobFailedError, LoclabError, SpecError
from loclab.execution.job import JobRequest, JobResult
from loclab.execution.plan import make_request, plan_jobs
from loclab.io import exclusive_lock
from loclab.paths import Workspace
from loclab.results import ExperimentResults, JobRecord, JobsRecord
from loclab.run.history import record_history
from loclab.run.jobs import run_jobs
from loclab.run.reuse import run_key, unchanged_run
from loclab.spec import Experiment

if TYPE_CHECKING:
    from loclab.compare.interactive import InteractiveSystem
    from loclab.report import ReportResult
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
    report: bool = True,
    interactive: Sequence[InteractiveSystem] = (),
) -> JobsRecord:
    """Run every stage of the experiment; return the jobs record that was stored.

    One command runs an experiment at a time (a lock in the state folder): a second
    ``loclab run`` of the same experiment is refused with one line while the first runs.
    ``run_sweep=False`` (``loclab compare``) takes the sweep's stored winners instead of
    running the sweep. A finished run becomes a point of the experiment's history
    (:func:`loclab.run.history.record_history`). ``report=False`` leaves the report to the
    caller (a scheduled tick renders it once its comparison with the baseline is stored).
    ``interactive`` runs (checked by :func:`loclab.run.interactive.interactive_systems`) join
    the comparison as candidates with one run each; they are never executed.

    Raises:
        LoclabError: Another command is running the experiment.
        JobFailedError: A job did not complete (the report is still written).
    """
    with exclusive_lock(ws.state.root / "locks" / f"{exp.name}.lock") as held:
        if not held:
            raise LoclabError(
                f"experiment {exp.name} is being run by another loclab command in "
                f"{ws.state.root}; wait for it to finish (loclab status shows it)"
            )
        return _run(
            exp,
            ws,
            timeout=timeout,
            reuse=reuse,
            say=say,
            run_sweep=run_sweep,
            report=report,
            interactive=interactive,
        )


def _run(
    exp: Experiment,
    ws: Workspace,
    *,
    timeout: float | None = None,
    reuse: bool = True,
    say: Callable[[str], None] = print,
    run_sweep: bool = True,
    report: bool = True,
    interactive: Sequence[InteractiveSystem] = (),
) -> JobsRecord:
    """The stages in order, under the experiment's lock (see :func:`run_experiment`)."""
    from loclab.execution.backends import create_backend, tracking_uri
    from loclab.execution.backends.local import threads_per_job
    from loclab.execution.process import identity
    from loclab.execution.records import job_record
    from loclab.execution.runner import JobRunner
    from loclab.tracking import Tracker, provenance

    if reuse:
        unchanged = unchanged_run(exp, ws, run_sweep=run_sweep, interactive=interactive)
        if unchanged is not None:
            ended = time.strftime("%Y-%m-%d %H:%M", time.localtime(unchanged.ended or 0))
            say(
                f"{exp.name}: nothing changed since the run that ended {ended} (spec, notebook, "
                f"data, code): its {len(unchanged.jobs)} job(s), analysis and report are reused"
            )
            table = ExperimentResults(ws.state, exp.name).table_file
            if exp.spec.compare is not None and table.is_file():
                say(table.read_text(encoding="utf-8").rstrip("\n"))
            record_history(exp, ws, unchanged, say=say)
            if report:
                write_report(exp, ws, say=say)
            return unchanged

    workers = exp.workers
    backend = (
        create_backend(exp, threads_per_job=threads_per_job(workers), standbys=workers)
        if exp.spec.backend.kind == "local"
        else create_backend(exp)
    )
    results = ExperimentResults(ws.state, exp.name)
    tags = provenance(exp.root)
    # SageMaker jobs log into the launcher's runs only when both use the same server.
    # Everything that can refuse to open does so before anything is written.
    if exp.spec.sweep is not None and run_sweep:
        from loclab.sweep.storage import locate, open_storage

        location = locate(exp, ws)
        if location.url is not None:
            open_storage(location)
    tracker = Tracker.for_workspace(ws, tags=tags, uri=tracking_uri(exp))
    tracker.check()
    _close_abandoned(results, tracker, say)
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
        launcher=identity(),
    )
    results.write_jobs(record)
    runner = JobRunner(
        backend, ws.state.runs(exp.name), tracker, parent_run_id=parent, env=ws.job_env()
    )
    finished: list[JobResult] = []
    jobs: list[JobRecord] = []
    status = "FINISHED"
    key = ""
    try:
        winners, swept = _sweep_stage(exp, ws, tracker, parent, timeout, say, run_sweep, backend)
        requests: list[JobRequest] = []
        if exp.spec.sweep is None or exp.spec.compare is not None:
            # Stage 2: one job per system and seed (or the single configured job).
            requests = [make_request(exp, p, timeout=timeout) for p in plan_jobs(exp, winners)]
            if workers > 1 and len(requests) > 1:
                say(f"jobs: {len(requests)} to run, {min(workers, len(requests))} at a time")

            checked: list[str] = []
            paired: list[str] = []

            def recorded(result: JobResult) -> None:
                finished.append(result)
                jobs.append(job_record(result, backend=backend.name, results=results))
                results.write_jobs(record.model_copy(update={"jobs": list(jobs)}))
                compare = exp.spec.compare
                if compare is not None and result.ok and not checked:
                    # Fail fast: the compared metrics, from the first job that completed.
                    from loclab.compare.data import check_first_run, run_outputs

                    checked.append(result.name)
                    runs, _ = run_outputs([result])
                    if runs:
                        check_first_run(compare, runs[0])
                baseline = compare.baseline_name() if compare is not None else None
                system = result.tags.get("loclab.system")
                if interactive and result.ok and not paired and system == baseline:
                    # The interactive runs' test set, from the baseline's first job.
                    from loclab.run.interactive import check_test_set

                    paired.append(result.name)
                    check_test_set(interactive, result)

            done = run_jobs(
                runner, requests, workers=workers, reuse=reuse, say=say, on_done=recorded
            )
            # Records and the analysis keep the plan's order, whatever order jobs ended in.
            order = {r.name: i for i, r in enumerate(done)}
            finished.sort(key=lambda r: order[r.name])
            jobs.sort(key=lambda j: order[j.name])
            if exp.spec.compare is not None:
                # Stage 3: statistics over the completed jobs' outputs (comparison.json).
                from loclab.compare import run_analysis_stage

                run_analysis_stage(
                    exp,
                    ws,
                    finished,
                    tracker=tracker,
                    parent_run_id=parent,
                    say=say,
                    interactive=interactive,
                )
        key = run_key(exp, requests, swept)
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    except SpecError:
        # Bad input found while running (an interactive run's test set): no report of it.
        status, report = "FAILED", False
        raise
    except Exception:
        status = "FAILED"
        raise
    finally:
        # A job skipped on purpose (its system proved deterministic) is no failure.
        failed = [r for r in finished if not r.ok and not r.skipped]
        if failed and status == "FINISHED":
            status = "FAILED"
        record = record.model_copy(
            update={"jobs": jobs, "status": status, "ended": time.time(), "inputs_key": key}
        )
        results.write_jobs(record)
        if status == "FINISHED":
            record_history(exp, ws, record, say=say)
        if report and (finished or exp.spec.sweep is not None):
            # Stage 4: the report, from what the stages above stored (logged on the run).
            write_report(exp, ws, tracker=tracker, parent_run_id=parent, say=say)
        tracker.end_run(parent, status)
        backend.close()
    if failed:
        first = failed[0]
        raise JobFailedError(
            f"job {first.name} {first.state}: {first.failure}; "
            f"saved notebook: {first.executed_notebook}"
        )
    return record


def _close_abandoned(
    results: ExperimentResults, tracker: Tracker, say: Callable[[str], None]
) -> None:
    """A run left RUNNING by a command that is gone (SIGKILL, a crash) is closed KILLED."""
    from loclab.execution.process import same_host
    from loclab.results import RecordError

    try:
        stored = results.read_jobs()
    except RecordError:
        return
    if stored is None or stored.status != "RUNNING":
        return
    launcher = stored.launcher
    if launcher and not same_host(launcher):
        return  # another machine's run: its own command closes it
    results.write_jobs(stored.model_copy(update={"status": "KILLED", "ended": time.time()}))
    if stored.mlflow_parent_run_id:
        try:
            tracker.end_run(stored.mlflow_parent_run_id, "KILLED")
        except Exception:  # a run in another store: nothing to close here
            return
        say(f"closed the run a stopped command left running ({stored.mlflow_parent_run_id})")


def _sweep_stage(
    exp: Experiment,
    ws: Workspace,
    tracker: Tracker,
    parent: str,
    timeout: float | None,
    say: Callable[[str], None],
    run_sweep: bool,
    backend: Any,
) -> tuple[dict[int, Mapping[str, Any]] | None, str]:
    """Stage 1: the sweep's winners by rank, and the sweep's content key.

    The sweep runs (or resumes), or with ``run_sweep=False`` its stored record is read.
    """
    if exp.spec.sweep is None:
        return None, ""
    if not run_sweep:
        stored = ExperimentResults(ws.state, exp.name).read_sweep()
        return ({w.rank: w.params for w in stored.winners}, "") if stored else (None, "")
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
    return {w.rank: w.params for w in record.winners}, record.inputs_key


def write_report(
    exp: Experiment,
    ws: Workspace,
    *,
    tracker: Tracker | None = None,
    parent_run_id: str | None = None,
    say: Callable[[str], None] = print,
) -> ReportResult | None:
    """The pipeline's last stage: render the report and log it on the experiment's run.

    A report that cannot be rendered does not fail the run (its records are stored, and
    ``loclab report SPEC`` retries); the reason is printed instead.

    Returns:
        The report written (or kept), None when there is none.
    """
    from loclab.report import NoResultsError, render_report

    try:
        result = render_report(exp.name, ws.state, ws.reports, project_root=exp.root)
    except NoResultsError:
        return None
    except Exception as err:  # the run's records are safe; say why and move on
        say(f"report: not written ({err}); retry with: loclab report {exp.display_path}")
        return None
    if tracker is not None and parent_run_id and not result.reused:
        try:
            log_report(tracker, parent_run_id, result.path)
        except Exception as err:
            say(f"report: not logged to MLflow ({err})")
    if result.reused:
        say(f"report: {result.latest} (its records are unchanged: kept)")
        return result
    say(f"report: {result.latest} ({result.size / 1024:.0f} KB, {result.seconds:.1f} s)")
    return result


def log_report(tracker: Tracker, run_id: str, report: Any) -> None:
    """Put the page on an MLflow run as ``report/report.html`` (replacing an earlier one)."""
    import shutil
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="loclab-report-") as tmp:
        copy = Path(tmp) / "report.html"
        shutil.copyfile(report, copy)
        tracker.log_artifact(run_id, copy, "report")
