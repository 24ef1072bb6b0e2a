"""Crash safety: find trials a dead driver left RUNNING, then re-adopt or re-queue them.

A trial records which driver runs it (host, pid and the pid's start time), the backend and
the job's id there (a SageMaker training job name) before its job starts. A RUNNING trial
whose driver is gone is *stale*. Its job may outlive the driver:

* a backend whose jobs live on their own (SageMaker) re-attaches to it
  (:meth:`~loclab.execution.backends.Backend.attach`): the new driver adopts the job and tells
  the trial's result when it ends, so no compute is wasted and nothing is launched twice. A
  job still running is watched again; one that completed while no driver watched is collected
  and told COMPLETE; one that failed or was stopped is collected, told FAIL and queued again
  (one the dead driver had pruned is told PRUNED);
* otherwise (local processes, or a job that was never created) the job is stopped, the
  trial is told FAIL, and the same parameters are queued again. Queuing comes first and is
  skipped when a successor already exists, so a crash during recovery repeats nothing.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna

    from loclab.execution.backends import Backend, JobHandle
    from loclab.tracking import Tracker

__all__ = [
    "ATTR_ATTEMPT",
    "ATTR_BACKEND",
    "ATTR_BACKEND_JOB",
    "ATTR_DRIVER",
    "ATTR_FAILURE",
    "ATTR_HEARTBEAT",
    "ATTR_INTERRUPTED",
    "ATTR_JOB",
    "ATTR_MLFLOW_RUN",
    "ATTR_PRUNED_AT",
    "ATTR_REQUEUED_FROM",
    "ATTR_RUN_DIR",
    "HEARTBEAT_S",
    "Reattached",
    "Recovery",
    "claim",
    "driver_identity",
    "is_stale",
    "reattach",
    "recover_stale_trials",
    "requeue",
]

ATTR_JOB = "loclab.job"
ATTR_ATTEMPT = "loclab.attempt"
ATTR_FAILURE = "loclab.failure"
ATTR_MLFLOW_RUN = "loclab.mlflow_run_id"
ATTR_RUN_DIR = "loclab.run_dir"
ATTR_DRIVER = "loclab.driver"
ATTR_HEARTBEAT = "loclab.heartbeat"
ATTR_REQUEUED_FROM = "loclab.requeued_from"
#: The backend the trial's job runs on, and the job's id there (a SageMaker training job
#: name), both recorded before the job is launched.
ATTR_BACKEND = "loclab.backend"
ATTR_BACKEND_JOB = "loclab.backend_job"
#: The step the driver pruned the trial at, recorded before its job is stopped: a driver
#: that adopts the job after a crash tells it PRUNED, not FAIL.
ATTR_PRUNED_AT = "loclab.pruned_at"
#: Set on trials failed by an interruption (not by their own fault): they are re-queued and
#: do not count toward ``max_failure_ratio``.
ATTR_INTERRUPTED = "loclab.interrupted"

#: How often a driver refreshes its running trials' heartbeat.
HEARTBEAT_S = 30.0
#: A trial of a driver on another host is stale after this long without a heartbeat.
STALE_AFTER_S = 4 * HEARTBEAT_S
#: A trial with no driver recorded yet may be a live driver's, between ask and launch.
_LAUNCH_WINDOW_S = 60.0
_STOP_GRACE_S = 10.0


def driver_identity() -> dict[str, Any]:
    """This process: host, pid and pid start time (pids are reused; start times are not)."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "created": _created(os.getpid())}


def _created(pid: int) -> float | None:
    import psutil

    try:
        return float(psutil.Process(pid).create_time())
    except psutil.Error:
        return None


def _alive(pid: int | None, created: float | None) -> bool:
    if not pid:
        return False
    now_created = _created(int(pid))
    if now_created is None:
        return False
    return created is None or abs(now_created - float(created)) < 1.0


def is_stale(trial: optuna.trial.FrozenTrial, *, shared: bool, now: float | None = None) -> bool:
    """True when the driver that runs ``trial`` is gone.

    Args:
        trial: A RUNNING trial.
        shared: True when other drivers may use the study (an RDB storage).
        now: The current time.
    """
    now = time.time() if now is None else now
    driver = trial.user_attrs.get(ATTR_DRIVER)
    started = trial.datetime_start.timestamp() if trial.datetime_start else 0.0
    if not driver:
        # Asked but never launched. In a shared study it may be another driver's, between its
        # ask and its launch.
        return not shared or now - started > _LAUNCH_WINDOW_S
    me = driver_identity()
    if driver.get("host") == me["host"]:
        if driver.get("pid") == me["pid"] and _alive(me["pid"], driver.get("created")):
            return False
        return not _alive(driver.get("pid"), driver.get("created"))
    beat = float(trial.user_attrs.get(ATTR_HEARTBEAT, started))
    return now - beat > STALE_AFTER_S


def stop_orphan_job(run_dir: Path | None) -> str | None:
    """Stop a job whose driver died (it runs in its own session); return what was done."""
    if run_dir is None:
        return None
    from loclab.execution.job import JobState, read_status, write_status

    status = read_status(run_dir)
    if not status or status.get("state") != JobState.RUNNING:
        return None
    note = None
    pid = status.get("pid")
    if (
        isinstance(pid, int)
        and status.get("host") == socket.gethostname()
        and _alive(pid, status.get("pid_created"))
    ):
        _kill_group(pid)
        note = f"stopped its orphaned job process {pid}"
    write_status(
        run_dir,
        {
            **status,
            "state": str(JobState.KILLED),
            "failure": "the sweep driver stopped while the job ran",
            "ended": time.time(),
        },
    )
    return note


def _kill_group(pid: int) -> None:
    for sig, wait in ((signal.SIGTERM, _STOP_GRACE_S), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not _alive(pid, None) or _zombie(pid):
                return
            time.sleep(0.1)


def _zombie(pid: int) -> bool:
    import psutil

    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return True


def requeue(
    study: optuna.Study,
    trial: optuna.trial.FrozenTrial,
    reason: str,
    *,
    interrupted: bool = True,
) -> None:
    """Queue ``trial``'s parameters again, then tell it FAIL with ``reason``.

    Idempotent: a trial already re-queued (a successor names it) is not queued twice.
    """
    from optuna.trial import TrialState

    successors = [
        t
        for t in study.get_trials(deepcopy=False)
        if t.user_attrs.get(ATTR_REQUEUED_FROM) == trial.number
    ]
    if not successors:
        attempt = int(trial.user_attrs.get(ATTR_ATTEMPT, 1)) + 1
        study.enqueue_trial(
            dict(trial.params),
            user_attrs={ATTR_REQUEUED_FROM: trial.number, ATTR_ATTEMPT: attempt},
        )
    storage = study._storage
    if storage.get_trial(trial._trial_id).state.is_finished():
        return
    storage.set_trial_user_attr(trial._trial_id, ATTR_FAILURE, reason)
    if interrupted:
        storage.set_trial_user_attr(trial._trial_id, ATTR_INTERRUPTED, True)
    study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)


@dataclass(frozen=True)
class Reattached:
    """A stale trial whose job outlived its driver, re-attached for the new driver to adopt.

    Attributes:
        trial: The trial (still RUNNING; now claimed by this driver).
        handle: The job.
        exit_code: None while the job runs, else how it ended (0 completed).
        status: The backend's word for the job's state (``InProgress``, ``Completed``...).
    """

    trial: optuna.trial.FrozenTrial
    handle: JobHandle
    exit_code: int | None
    status: str

    @property
    def ended_badly(self) -> bool:
        """The job failed or was stopped while no driver watched it."""
        return self.exit_code not in (None, 0)


@dataclass(frozen=True)
class Recovery:
    """What :func:`recover_stale_trials` did.

    Attributes:
        requeued: Trials told FAIL and queued again (their job is gone or was stopped).
        reattached: Trials whose job the driver adopts (see :class:`Reattached`).
    """

    requeued: list[int] = field(default_factory=list)
    reattached: list[Reattached] = field(default_factory=list)


def reattach(trial: optuna.trial.FrozenTrial, backend: Backend | None) -> Reattached | None:
    """Re-attach to the job a stale ``trial`` launched, if it lives on without its driver.

    Only a backend of the kind the trial ran on is asked (a job of another backend cannot be
    found there); None when the backend's jobs die with their launcher or the job was never
    created.
    """
    if backend is None or trial.user_attrs.get(ATTR_BACKEND) != backend.name:
        return None
    name, run_dir = trial.user_attrs.get(ATTR_JOB), trial.user_attrs.get(ATTR_RUN_DIR)
    if not name or not run_dir:
        return None
    handle = backend.attach(str(name), Path(run_dir))
    if handle is None:
        return None
    code = handle.poll()
    status = getattr(handle, "status", None) or ("running" if code is None else f"exit {code}")
    return Reattached(trial, handle, code, str(status))


def claim(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
    """Record this process as the driver of ``trial`` (so no other driver recovers it)."""
    storage = study._storage
    storage.set_trial_user_attr(trial._trial_id, ATTR_DRIVER, driver_identity())
    storage.set_trial_user_attr(trial._trial_id, ATTR_HEARTBEAT, time.time())


def recover_stale_trials(
    study: optuna.Study,
    *,
    tracker: Tracker | None,
    shared: bool,
    say: Callable[[str], None],
    backend: Backend | None = None,
) -> Recovery:
    """Reconcile every RUNNING trial whose driver is gone with its job.

    Args:
        study: The study.
        tracker: MLflow tracker (runs of re-queued trials are closed KILLED).
        shared: True when other drivers may use the study.
        say: Where to say what was done.
        backend: The backend trials run on; its jobs are re-attached when they outlive a
            driver (SageMaker).

    Returns:
        The trials re-queued and the jobs re-attached (the caller adopts them).
    """
    from optuna.trial import TrialState

    done = Recovery()
    now = time.time()
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if not is_stale(trial, shared=shared, now=now):
            continue
        found = reattach(trial, backend)
        if found is not None:
            claim(study, trial)
            done.reattached.append(found)
            job = trial.user_attrs.get(ATTR_BACKEND_JOB) or trial.user_attrs.get(ATTR_JOB)
            if found.exit_code is None:
                what = f"is still {found.status}: watching it again"
            elif found.exit_code == 0:
                what = f"{found.status} while no driver watched it: collecting its result"
            elif trial.user_attrs.get(ATTR_PRUNED_AT) is not None:
                what = f"was pruned and is {found.status}: collecting it"
            else:
                what = (
                    f"{found.status} while no driver watched it: collecting it, then queuing "
                    "the trial again"
                )
            say(f"trial {trial.number} was left running by a stopped driver; its job {job} {what}")
            continue
        run_dir = trial.user_attrs.get(ATTR_RUN_DIR)
        note = stop_orphan_job(Path(run_dir) if run_dir else None)
        reason = "the sweep driver stopped while the trial ran; re-queued"
        run_id = trial.user_attrs.get(ATTR_MLFLOW_RUN)
        if tracker is not None and run_id:
            try:
                tracker.set_tags(run_id, {"loclab.state": "KILLED", "loclab.failure": reason})
                tracker.end_run(run_id, "KILLED")
            except Exception as err:  # the run may live in another tracking store
                say(f"  (could not close MLflow run {run_id}: {err})")
        requeue(study, trial, reason)
        done.requeued.append(trial.number)
        say(
            f"trial {trial.number} was left running by a stopped driver: marked FAIL and "
            f"queued again with the same parameters" + (f"; {note}" if note else "")
        )
    return done
