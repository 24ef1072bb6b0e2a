"""The ask/tell driver: it owns the study, runs each trial as a job, prunes, and survives crashes.

One loop keeps up to ``workers`` jobs running, on any backend (local processes, SageMaker
training jobs). Every half second it reads each job's new metric records
(``checkpoints/metrics.jsonl``, written by the notebook; a SageMaker job's copy in its S3
checkpoint prefix), reports the sweep metric to the trial, and asks a job the pruner gives up
on to stop, without waiting for it: the loop goes on polling every job and settles the pruned
one when it has ended. A job that ends is told to the study as COMPLETE (the metric's last
per-epoch value), PRUNED or FAIL (with the reason). Trials never talk to the storage.

After a crash, the next driver reconciles the trials left RUNNING with their jobs (see
:mod:`loclab.sweep._recovery`): jobs that outlived the driver are adopted, the others' trials
are queued again.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from loclab.execution.backends.local import threads_per_job
from loclab.execution.entrypoint import EXIT_STOPPED
from loclab.execution.job import JobRequest, JobState
from loclab.execution.plan import make_request, plan_trial, trial_job_name
from loclab.execution.records import job_tags
from loclab.paths import Workspace
from loclab.results import ExperimentResults
from loclab.sweep import _recovery as rec
from loclab.sweep._slot import (
    Slot,
    SweepFailedError,
    SweepOutcome,
    count_trials,
    short,
    trial_state,
)
from loclab.sweep._stopping import Stopping
from loclab.sweep._tracking import close_sweep_run, open_sweep_run, tag_trial_run
from loclab.sweep.progress import LiveProgress, SweepSnapshot, format_seconds
from loclab.sweep.results import ATTR_JOB_TAGS, ATTR_NOTEBOOK_COPY, build_record, sweep_key
from loclab.sweep.storage import StudyLocation, locate, open_study, repair_journal

if TYPE_CHECKING:
    import optuna

    from loclab.execution.backends import Backend
    from loclab.execution.runner import JobRunner
    from loclab.spec import Experiment
    from loclab.tracking import Tracker

__all__ = ["SweepDriver", "SweepFailedError", "SweepOutcome", "job_name", "threads_per_job"]

#: A trial's job name (see :func:`loclab.execution.plan.trial_job_name`).
job_name = trial_job_name

POLL_S = 0.5


class SweepDriver(Stopping):
    """Runs an experiment's sweep to ``n_trials`` finished trials.

    Args:
        exp: The experiment (its spec has a ``sweep:`` section).
        ws: Where runs and results go.
        tracker: MLflow tracker; None runs without tracking.
        parent_run_id: The experiment's MLflow run; the sweep's run is its child.
        job_timeout: Per-trial time limit (``--timeout``); the spec's ``timeout`` otherwise.
        say: Where progress lines go.
        backend: Where trials run; local processes by default.
        progress: Show a progress bar on a terminal.
    """

    def __init__(
        self,
        exp: Experiment,
        ws: Workspace,
        *,
        tracker: Tracker | None = None,
        parent_run_id: str | None = None,
        job_timeout: float | None = None,
        say: Callable[[str], None] = print,
        backend: Backend | None = None,
        progress: bool = True,
    ) -> None:
        if exp.spec.sweep is None:
            raise ValueError(f"experiment {exp.name} has no sweep")
        self.exp = exp
        self.sweep = exp.spec.sweep
        self.ws = ws
        self.tracker = tracker
        self.parent_run_id = parent_run_id
        self.location: StudyLocation = locate(exp, ws)
        self.results = ExperimentResults(ws.state, exp.name)
        self.job_timeout = job_timeout
        self.backend = backend
        self._say = say
        self._show_progress = progress
        self._out: LiveProgress | None = None
        self.sweep_run_id: str | None = None
        self._running: dict[int, Slot] = {}
        self._launched = 0
        #: Whether any trial of the study reported the sweep's metric (fail fast until then).
        self._metric_seen = False

    # -- public -------------------------------------------------------------------------------

    def run(self) -> SweepOutcome:
        """Create or resume the study, run trials until ``n_trials`` are finished, store results.

        Raises:
            SweepFailedError: More trials failed than ``max_failure_ratio`` allows.
            KeyboardInterrupt: After stopping running jobs and re-queuing their trials.
        """
        from loclab.execution.backends import LocalBackend
        from loclab.execution.runner import JobRunner
        from loclab.sweep.samplers import make_sampler, search_space

        sweep = self.sweep
        if self.location.journal is not None:
            repaired = repair_journal(self.location.journal)
            if repaired:
                self.say(f"warning: {repaired}")
        study = open_study(self.location, sweep)
        study.sampler = make_sampler(sweep, len(study.get_trials(deepcopy=False)))
        self.study = study
        self.space = search_space(sweep)
        self.sweep_run_id = (
            open_sweep_run(self.tracker, self.exp, self.location, study, self.parent_run_id)
            if self.tracker is not None
            else None
        )
        backend = self.backend or LocalBackend.for_experiment(self.exp, sweep.workers)
        runner = JobRunner(
            backend, self.ws.state.runs(self.exp.name), self.tracker, self.sweep_run_id
        )
        status = "FINISHED"
        recovered: list[int] = []
        adopted: list[int] = []
        self._out = LiveProgress(
            sweep.n_trials, f"sweep {self.exp.name}", self._say, enabled=self._show_progress
        )
        try:
            with self._out:
                found = rec.recover_stale_trials(
                    study,
                    tracker=self.tracker,
                    shared=self.location.url is not None,
                    say=self.say,
                    backend=backend,
                )
                recovered = found.requeued
                for reattached in found.reattached:
                    self._adopt(runner, reattached)
                    adopted.append(reattached.trial.number)
                self._loop(runner)
        except KeyboardInterrupt:
            status = "KILLED"
            self._stop_all(runner, JobState.KILLED, "interrupted by the user; re-queued")
            raise
        except SweepFailedError:
            status = "FAILED"
            raise
        except BaseException:
            status = "FAILED"
            self._stop_all(runner, JobState.KILLED, "the sweep driver stopped on an error")
            raise
        finally:
            if self.backend is None:
                backend.close()
            record = build_record(
                study,
                self.exp.name,
                sweep,
                self.location,
                mlflow_run_id=self.sweep_run_id,
                inputs_key=sweep_key(self.exp, self.location),
            )
            path = self.results.write_sweep(record)
            if self.tracker is not None and self.sweep_run_id:
                close_sweep_run(self.tracker, self.sweep_run_id, record, path, status)
        return SweepOutcome(record, path, self._launched, recovered, adopted)

    def say(self, line: str) -> None:
        """Print a line (above the progress bar when there is one)."""
        if self._out is not None:
            self._out.say(line)
        else:
            self._say(line)

    # -- the loop -----------------------------------------------------------------------------

    def _loop(self, runner: JobRunner) -> None:
        from optuna.trial import TrialState

        sweep = self.sweep
        started = time.time()
        stop_launching = False
        trials = self.study.get_trials(deepcopy=False)
        done = sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials)
        if done >= sweep.n_trials:
            self.say(
                f"study {self.location.name} already has {done} finished trials "
                f"(n_trials {sweep.n_trials}); no new trials"
            )
            return
        if done:
            self.say(f"resuming study {self.location.name}: {done}/{sweep.n_trials} done")
        self._metric_seen = any(
            t.state == TrialState.COMPLETE or t.intermediate_values for t in trials
        )
        while True:
            trials = self.study.get_trials(deepcopy=False)
            counts = count_trials(trials)
            self._check_failures(trials, runner)
            timed_out = sweep.timeout is not None and time.time() - started > sweep.timeout
            if timed_out and not stop_launching:
                stop_launching = True
                self.say(
                    f"sweep timeout ({format_seconds(sweep.timeout)}) reached: no new "
                    f"trials; {counts['done']}/{sweep.n_trials} done (run again to go on)"
                )
            while (
                not stop_launching
                and len(self._running) < sweep.workers
                and counts["done"] + counts["running"] < sweep.n_trials
            ):
                runner.backend.expect(sweep.n_trials - counts["done"] - counts["running"])
                self._launch(runner)
                counts["running"] += 1
            if not self._running:
                break
            self._out_update()
            time.sleep(POLL_S)
            for number in list(self._running):
                self._poll(runner, self._running[number])
        self._out_update()

    def _request(self, trial: optuna.Trial | optuna.trial.FrozenTrial, attempt: int) -> JobRequest:
        """The job request of ``trial``'s attempt (the same again when a job is adopted)."""
        requeued = trial.user_attrs.get(rec.ATTR_REQUEUED_FROM)
        plan = plan_trial(
            self.exp,
            trial.number,
            attempt,
            trial.params,
            study=self.location.name,
            requeued_from=int(requeued) if requeued is not None else None,
        )
        return make_request(self.exp, plan, timeout=self.job_timeout)

    def _launch(self, runner: JobRunner) -> None:
        trial = self.study.ask(self.space)
        attempt = int(trial.user_attrs.get(rec.ATTR_ATTEMPT, 1))
        request = self._request(trial, attempt)
        name = request.name
        searched = {k: request.params[k] for k in trial.params}
        requeued = trial.user_attrs.get(rec.ATTR_REQUEUED_FROM)
        run_id = None
        if self.tracker is not None:
            run_id = self.tracker.start_job(request, parent_run_id=self.sweep_run_id)
        # Everything a driver needs to find the job again after a crash, stored before the
        # job exists: the backend and the job's id there.
        attrs: dict[str, Any] = {
            rec.ATTR_JOB: name,
            rec.ATTR_ATTEMPT: attempt,
            rec.ATTR_RUN_DIR: str(runner.run_dir(request)),
            rec.ATTR_MLFLOW_RUN: run_id,
            rec.ATTR_BACKEND: runner.backend.name,
            rec.ATTR_BACKEND_JOB: runner.backend.job_id(name),
            rec.ATTR_DRIVER: rec.driver_identity(),
            rec.ATTR_HEARTBEAT: time.time(),
        }
        for key, value in attrs.items():
            trial.set_user_attr(key, value)
        try:
            job = runner.start(request, mlflow_run_id=run_id)
        except Exception as err:
            reason = f"could not start job {name}: {err}"
            trial.set_user_attr(rec.ATTR_FAILURE, reason)
            if self.tracker is not None and run_id:
                self.tracker.set_tags(run_id, {"loclab.failure": reason})
                self.tracker.end_run(run_id, "FAILED")
            self.study.tell(trial, state=trial_state("FAIL"))
            self.say(f"trial {trial.number} FAIL: {reason}")
            return
        launched_as = getattr(job.handle, "job_name", None)
        if launched_as and launched_as != attrs[rec.ATTR_BACKEND_JOB]:
            # The backend chose another name (a SageMaker re-launch gets ``-r2``).
            trial.set_user_attr(rec.ATTR_BACKEND_JOB, launched_as)
        self._launched += 1
        self._running[trial.number] = Slot(trial, job, attempt)
        shown = ", ".join(f"{k}={short(v)}" for k, v in searched.items())
        again = f" (again, for trial {requeued})" if requeued is not None else ""
        self.say(f"trial {trial.number} started{again}: {shown}")

    def _adopt(self, runner: JobRunner, found: rec.Reattached) -> None:
        """Watch a job a stopped driver left behind, as if this driver had launched it."""
        import optuna

        frozen = found.trial
        attempt = int(frozen.user_attrs.get(rec.ATTR_ATTEMPT, 1))
        request = self._request(frozen, attempt)
        started = frozen.datetime_start.timestamp() if frozen.datetime_start else None
        job = runner.adopt(
            request,
            found.handle,
            mlflow_run_id=frozen.user_attrs.get(rec.ATTR_MLFLOW_RUN),
            started=started,
        )
        trial = optuna.Trial(self.study, frozen._trial_id)
        slot = Slot(trial, job, attempt, requeue=found.ended_badly)
        # Steps the dead driver reported stay reported (Optuna keeps the first value).
        slot.reported = set(frozen.intermediate_values)
        if frozen.intermediate_values:
            slot.last_step = max(frozen.intermediate_values)
            slot.last_value = frozen.intermediate_values[slot.last_step]
        pruned_at = frozen.user_attrs.get(rec.ATTR_PRUNED_AT)
        if pruned_at is not None:
            # The dead driver pruned it, perhaps without getting to stop its job.
            slot.pruned_at = int(pruned_at)
            slot.requeue = False
            job.extra["reason"] = f"pruned at step {slot.pruned_at}"
            job.stop(JobState.STOPPED, wait=False)
        self._running[frozen.number] = slot

    def _poll(self, runner: JobRunner, slot: Slot) -> None:
        job = slot.job
        ended = job.done()
        # A job that already ended trained every epoch: nothing is left to prune.
        self._read_metrics(slot, prune=not ended)
        if not ended and self.sweep.pruner != "none":
            self._check_metric(runner, slot)
        if ended:
            self._settle(runner, slot)
            return
        if job.stop_reason is None and job.timed_out():
            job.stop(JobState.TIMEOUT, wait=False)
        # A job asked to stop is settled once it has ended; one that ignores the request is
        # forced after the grace period. Meanwhile the other jobs are polled as usual.
        job.enforce_stop()
        if time.time() - slot.beat > rec.HEARTBEAT_S:
            slot.beat = time.time()
            slot.trial.set_user_attr(rec.ATTR_HEARTBEAT, slot.beat)

    def _read_metrics(self, slot: Slot, *, prune: bool) -> None:
        """Report new values of the sweep metric; stop the job if pruned or non-finite."""
        records = slot.job.metrics()
        metric = self.sweep.metric
        for record in records[slot.seen :]:
            value = (record.get("metrics") or {}).get(metric)
            if value is None:
                continue
            self._metric_seen = True
            value = float(value)
            step = record.get("step")
            if step is None:
                slot.final_value = value
                continue
            step = int(step)
            if not math.isfinite(value):
                if slot.bad is None:
                    slot.bad = f"{metric} was {value} at step {step}"
                continue
            if step in slot.reported or slot.bad is not None or slot.pruned_at is not None:
                # Values a job writes after it was pruned are not the trial's any more.
                continue
            slot.trial.report(value, step)
            slot.reported.add(step)
            slot.last_step, slot.last_value = step, value
            if prune and slot.pruned_at is None and slot.trial.should_prune():
                slot.pruned_at = step
        slot.seen = len(records)
        if slot.job.stop_reason is not None or slot.job.done():
            return
        if slot.pruned_at is not None:
            # Recorded first: a driver that adopts the job after a crash knows it was pruned.
            slot.trial.set_user_attr(rec.ATTR_PRUNED_AT, slot.pruned_at)
            slot.job.extra["reason"] = f"pruned at step {slot.pruned_at}"
            slot.job.stop(JobState.STOPPED, wait=False)
        elif slot.bad is not None and prune:
            slot.job.extra["reason"] = slot.bad
            slot.job.stop(JobState.STOPPED, wait=False)

    def _settle(self, runner: JobRunner, slot: Slot) -> None:
        """Finish the job and tell the study how the trial ended."""
        trial, job = slot.trial, slot.job
        run_id = job.mlflow_run_id
        if slot.pruned_at is not None and self.tracker is not None and run_id:
            self.tracker.set_tags(run_id, {"loclab.pruned": f"pruned at step {slot.pruned_at}"})
        result = runner.finish(job)
        del self._running[trial.number]
        self._read_metrics(slot, prune=False)
        trial.set_user_attr("loclab.job_state", str(result.state))
        found_tags = job_tags(result)
        if found_tags:
            trial.set_user_attr(ATTR_JOB_TAGS, found_tags)
        if not result.ok:
            copy = self.results.keep_notebook(result.name, result.executed_notebook)
            if copy:
                trial.set_user_attr(ATTR_NOTEBOOK_COPY, copy)
        metric = self.sweep.metric
        failure: str | None = None
        value: float | None = None
        if slot.pruned_at is not None and result.state == JobState.STOPPED:
            self.study.tell(trial, state=trial_state("PRUNED"))
            self._tag_run(run_id, "PRUNED", slot.last_value)
            self.say(
                f"trial {trial.number} PRUNED at step {slot.pruned_at} "
                f"({metric}={short(slot.last_value)}) after {result.duration:.1f} s"
            )
            return
        if slot.bad is not None:
            failure = slot.bad
        elif result.state == JobState.COMPLETED:
            value = slot.last_value if slot.last_step is not None else slot.final_value
            if value is None:
                seen = sorted({k for r in job.metrics() for k in (r.get("metrics") or {})})
                failure = f"the notebook reported no '{metric}'" + (
                    f" (it reported: {', '.join(seen)})" if seen else ""
                )
            elif not math.isfinite(value):
                failure = f"{metric} was {value}"
        else:
            failure = result.failure or f"job {result.state}"
        if failure is None and value is not None:
            self.study.tell(trial, values=value, state=trial_state("COMPLETE"))
            self._tag_run(run_id, "COMPLETE", value)
            self.say(
                f"trial {trial.number} COMPLETE: {metric}={short(value)} "
                f"in {result.duration:.1f} s"
            )
            return
        assert failure is not None
        where = f"; notebook: {result.executed_notebook}"
        self._tag_run(run_id, "FAIL", None, failure=failure)
        if slot.requeue:
            # Its job failed or was stopped while no driver watched: run the parameters again.
            # A job stopped from outside is no fault of the trial's; a failed one counts.
            rec.requeue(
                self.study,
                trial,  # type: ignore[arg-type]
                failure,
                interrupted=result.exit_code == EXIT_STOPPED,
            )
            self.say(f"trial {trial.number} FAIL: {failure}{where}; queued again")
            return
        trial.set_user_attr(rec.ATTR_FAILURE, failure)
        self.study.tell(trial, state=trial_state("FAIL"))
        self.say(f"trial {trial.number} FAIL: {failure}{where}")
        if result.state == JobState.COMPLETED and value is None:
            self._check_metric(runner, slot, completed=True)

    def _tag_run(
        self, run_id: str | None, state: str, value: float | None, failure: str | None = None
    ) -> None:
        if self.tracker is not None and run_id:
            tag_trial_run(self.tracker, run_id, state, value, failure)

    def _out_update(self) -> None:
        if self._out is None:
            return
        self._out.update(self.snapshot())

    def snapshot(self) -> SweepSnapshot:
        """The study's progress now."""
        trials = self.study.get_trials(deepcopy=False)
        return SweepSnapshot.of_sweep(trials, self.location, self.sweep)
