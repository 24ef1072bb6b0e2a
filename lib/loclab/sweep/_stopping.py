"""When a sweep stops early: too many failed trials, or a metric no trial reports.

A mixin of :class:`loclab.sweep.driver.SweepDriver` (its state: the study, the running slots,
the sweep's settings); kept apart so the driver's loop reads on its own.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from loclab.execution.job import JobState
from loclab.sweep import _recovery as rec
from loclab.sweep._slot import Slot, SweepFailedError, missing_metric

if TYPE_CHECKING:
    import optuna

    from loclab.execution.runner import JobRunner
    from loclab.spec.sweep import SweepSpec
    from loclab.sweep.storage import StudyLocation

__all__ = ["Stopping"]


class Stopping:
    """The sweep's early stops and how running trials are stopped (see the module docstring)."""

    sweep: SweepSpec
    location: StudyLocation
    study: optuna.Study
    _running: dict[int, Slot]
    _metric_seen: bool

    def say(self, line: str) -> None:  # the driver's
        raise NotImplementedError

    def _check_metric(self, runner: JobRunner, slot: Slot, *, completed: bool = False) -> None:
        """Stop the sweep at once when its first trial ends an epoch without the sweep's metric.

        Raises:
            SweepFailedError: The metric is missing (see ``missing_metric``).
        """
        if self._metric_seen:
            return
        reason = missing_metric(slot, self.sweep.metric, completed=completed)
        if reason is None:
            return
        self._stop_all(runner, JobState.KILLED, "the sweep stopped: its metric is missing")
        raise SweepFailedError(
            f"sweep {self.location.name} stopped at once: {reason}; fix sweep.metric or the "
            "name the notebook logs with runtime.log_metrics"
        )

    def _check_failures(self, trials: list[optuna.trial.FrozenTrial], runner: JobRunner) -> None:
        from optuna.trial import TrialState

        failed = [
            t
            for t in trials
            if t.state == TrialState.FAIL and not t.user_attrs.get(rec.ATTR_INTERRUPTED)
        ]
        allowed = math.floor(self.sweep.max_failure_ratio * self.sweep.n_trials)
        if len(failed) <= allowed:
            return
        self._stop_all(runner, JobState.KILLED, "the sweep stopped: too many failed trials")
        last = failed[-1]
        raise SweepFailedError(
            f"sweep {self.location.name} stopped: {len(failed)} trials failed, more than "
            f"max_failure_ratio {self.sweep.max_failure_ratio:g} x n_trials "
            f"{self.sweep.n_trials} allows ({allowed}); last: trial {last.number}: "
            f"{last.user_attrs.get(rec.ATTR_FAILURE, 'no reason recorded')}; "
            f"see {last.user_attrs.get(rec.ATTR_RUN_DIR, 'its run folder')}"
        )

    def _stop_all(self, runner: JobRunner, state: JobState, reason: str) -> None:
        """Stop every running job and re-queue its trial (an interruption is not its fault).

        Every job is asked first and then waited for, so jobs that take a while to stop (a
        SageMaker job uploads its outputs) stop together.
        """
        slots = list(self._running.values())
        for slot in slots:
            slot.job.extra["reason"] = reason
            try:
                slot.job.stop(state, wait=False)
            except Exception as err:  # stopping the others matters more
                self.say(f"  (could not stop trial {slot.trial.number}'s job: {err})")
        for slot in slots:
            try:
                runner.finish(slot.job)
            finally:
                del self._running[slot.trial.number]
                rec.requeue(self.study, slot.trial, reason)  # type: ignore[arg-type]
                self.say(f"trial {slot.trial.number} stopped and queued again ({reason})")
