"""Crash safety: find trials a dead driver left RUNNING, stop their jobs, queue them again.

A trial records which driver runs it (host, pid and the pid's start time) before its job
starts. A RUNNING trial whose driver is gone is *stale*: its job may still be running (jobs
run in their own session, so they outlive a SIGKILLed driver), so the job is stopped, the
trial is told FAIL, and the same parameters are queued again. Queuing comes first and is
skipped when a successor already exists, so a crash during recovery repeats nothing.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna

    from loclab.tracking import Tracker

__all__ = [
    "ATTR_ATTEMPT",
    "ATTR_DRIVER",
    "ATTR_FAILURE",
    "ATTR_HEARTBEAT",
    "ATTR_INTERRUPTED",
    "ATTR_JOB",
    "ATTR_MLFLOW_RUN",
    "ATTR_REQUEUED_FROM",
    "ATTR_RUN_DIR",
    "HEARTBEAT_S",
    "driver_identity",
    "is_stale",
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
        return psutil.Process(pid).create_time()
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
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
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


def recover_stale_trials(
    study: optuna.Study,
    *,
    tracker: Tracker | None,
    shared: bool,
    say: Callable[[str], None],
) -> list[int]:
    """Fail and re-queue every RUNNING trial whose driver is gone; return their numbers."""
    from optuna.trial import TrialState

    recovered = []
    now = time.time()
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if not is_stale(trial, shared=shared, now=now):
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
        recovered.append(trial.number)
        say(
            f"trial {trial.number} was left running by a stopped driver: marked FAIL and "
            f"queued again with the same parameters" + (f"; {note}" if note else "")
        )
    return recovered
