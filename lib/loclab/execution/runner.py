"""Run jobs on a backend with tracking, timeouts, interruption and reuse of completed work.

:class:`JobRunner` is shared by every stage (single jobs, comparisons, sweeps): it opens the
job's MLflow run before the job starts, watches it, enforces its timeout, stops it on Ctrl-C,
and writes ``status.json`` last, so a run folder that says COMPLETED really is complete.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loclab.exceptions import LoclabError
from loclab.execution.backends.base import Backend, JobHandle
from loclab.execution.contract import JobLayout
from loclab.execution.integrity import damage, manifest
from loclab.execution.job import (
    JobRequest,
    JobResult,
    JobState,
    read_status,
    write_status,
)
from loclab.execution.process import identity, is_alive, same_host

__all__ = ["JobRunner", "RunningJob", "completed_run"]

POLL_S = 0.5
STOP_GRACE_S = 10.0
#: Earlier incomplete attempts of a job kept under ``.attempts/`` (oldest removed first).
KEEP_ATTEMPTS = 3


class JobBusyError(LoclabError):
    """Another process is running the same job."""


@dataclass
class RunningJob:
    """A job that has been started and not yet finished."""

    request: JobRequest
    handle: JobHandle
    run_dir: Path
    key: str
    started: float
    mlflow_run_id: str | None
    lock_fd: int
    deadline: float | None = None
    stop_reason: JobState | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: When a stop asked without waiting turns into a forced one (see :meth:`enforce_stop`).
    stop_deadline: float | None = None

    def done(self) -> bool:
        """True once the job process has ended."""
        return self.handle.poll() is not None

    def metrics(self) -> list[dict[str, Any]]:
        """Metric records reported so far."""
        return self.handle.read_metrics()

    def timed_out(self) -> bool:
        """True when the job has run past its deadline."""
        return self.deadline is not None and time.time() > self.deadline

    def stop(self, reason: JobState, grace_s: float = STOP_GRACE_S, *, wait: bool = True) -> None:
        """Stop the job; its final state becomes ``reason`` (STOPPED, TIMEOUT or KILLED).

        Args:
            reason: The state the job ends in.
            grace_s: How long the job may take to stop before it is forced.
            wait: False only asks (SIGTERM, ``StopTrainingJob``) and returns at once; the
                caller goes on polling :meth:`done` and calls :meth:`enforce_stop`, which
                forces the job once ``grace_s`` has passed.
        """
        self.stop_reason = reason
        if wait:
            self.handle.stop(grace_s)
        elif self.stop_deadline is None:
            self.stop_deadline = time.time() + grace_s
            self.handle.request_stop()

    def enforce_stop(self) -> None:
        """Force a job asked to stop without waiting, once its grace period has passed."""
        overdue = self.stop_deadline is not None and time.time() >= self.stop_deadline
        if overdue and not self.done():
            self.handle.stop(0.0)


class JobRunner:
    """Starts, watches and finishes jobs.

    Args:
        backend: Where jobs run.
        runs_root: Folder holding one run folder per job name.
        tracker: MLflow tracker; None runs without tracking.
        parent_run_id: MLflow parent of every job's run.
        env: Variables for every job (e.g. ``LOCLAB_CACHE_DIR``, a data cache shared by jobs).
    """

    def __init__(
        self,
        backend: Backend,
        runs_root: Path,
        tracker: Any | None = None,
        parent_run_id: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.backend = backend
        self.runs_root = runs_root
        self.tracker = tracker
        self.parent_run_id = parent_run_id
        self.env = dict(env or {})
        #: Jobs :meth:`cached` would have reused but whose outputs changed: name to why.
        self.damaged: dict[str, str] = {}

    def run_dir(self, request: JobRequest) -> Path:
        """The run folder of a job."""
        return self.runs_root / request.name

    def cached(self, request: JobRequest, key: str | None = None) -> JobResult | None:
        """The completed result of an identical earlier job, if there is one and it is intact.

        A job whose outputs changed since it completed is not reused; why is kept in
        :attr:`damaged` (job name to the reason) for the caller to say.
        """
        run_dir = self.run_dir(request)
        found = completed_run(run_dir, key or request.key, check=False)
        if found is None:
            return None
        why = damage(run_dir, (read_status(run_dir) or {}).get("outputs"))
        if why is not None:
            self.damaged[request.name] = why
            return None
        return found

    def start(self, request: JobRequest, *, mlflow_run_id: str | None = None) -> RunningJob:
        """Launch a job; a previous incomplete attempt is kept under ``.attempts/``.

        Args:
            request: What to run.
            mlflow_run_id: An MLflow run created by the caller (a sweep driver); opened here
                when None and a tracker is set.
        """
        key = request.key
        self.runs_root.mkdir(parents=True, exist_ok=True)
        lock_fd = self._lock(request)
        handle: JobHandle | None = None
        run_dir = self.run_dir(request)
        run_id: str | None = None
        try:
            if run_dir.exists():
                self._settle_abandoned(run_dir)
                self._archive(run_dir)
            run_dir.mkdir(parents=True)
            started = time.time()
            run_id = mlflow_run_id
            if run_id is None and self.tracker is not None:
                run_id = self.tracker.start_job(request, parent_run_id=self.parent_run_id)
            env = dict(self.env)
            if run_id and self.tracker is not None:
                env["MLFLOW_TRACKING_URI"] = self.tracker.tracking_uri
                env["MLFLOW_RUN_ID"] = run_id
            write_status(
                run_dir,
                {
                    "name": request.name,
                    "state": str(JobState.RUNNING),
                    "key": key,
                    "started": started,
                    "mlflow_run_id": run_id,
                    "backend": self.backend.name,
                    "tags": request.tags,
                },
            )
            handle = self.backend.submit(request, run_dir, env)
            process = _process_identity(handle)
            if process:
                # Lets a later loclab process find and stop a job whose launcher died.
                status = read_status(run_dir) or {}
                write_status(run_dir, {**status, **process})
        except BaseException as err:
            # Interrupted (or failed) while starting: nothing is left running or said to run.
            try:
                if handle is not None:
                    handle.stop(STOP_GRACE_S)
                if run_dir.exists():
                    status = read_status(run_dir) or {"name": request.name, "key": key}
                    state = (
                        JobState.KILLED if isinstance(err, KeyboardInterrupt) else JobState.FAILED
                    )
                    why = "interrupted while starting" if state == JobState.KILLED else str(err)
                    write_status(run_dir, {**status, "state": str(state), "failure": why})
                if run_id and self.tracker is not None and mlflow_run_id is None:
                    self.tracker.end_run(run_id, "KILLED")
            finally:
                os.close(lock_fd)
            raise
        deadline = started + request.timeout if request.timeout else None
        return RunningJob(request, handle, run_dir, key, started, run_id, lock_fd, deadline)

    def adopt(
        self,
        request: JobRequest,
        handle: JobHandle,
        *,
        mlflow_run_id: str | None = None,
        started: float | None = None,
    ) -> RunningJob:
        """Take over a job launched by an earlier process (:meth:`Backend.attach`'s handle).

        A launcher restarted after a crash adopts a job that outlived its predecessor (a
        SageMaker training job) instead of launching it again. The run folder is kept as the
        earlier launch left it; :meth:`finish` then settles the job as if :meth:`start` had
        launched it.

        Args:
            request: The job's request, as it was launched.
            handle: The re-attached job.
            mlflow_run_id: The job's MLflow run (``status.json``'s when None).
            started: When the job was launched (``status.json``'s when None).

        Raises:
            JobBusyError: Another live process runs (or watches) the job.
        """
        self.runs_root.mkdir(parents=True, exist_ok=True)
        lock_fd = self._lock(request)
        try:
            run_dir = self.run_dir(request)
            run_dir.mkdir(parents=True, exist_ok=True)
            status = read_status(run_dir) or {}
            if started is None:
                started = float(status.get("started") or time.time())
            run_id = mlflow_run_id or status.get("mlflow_run_id")
            write_status(
                run_dir,
                {
                    **status,
                    "name": request.name,
                    "state": str(JobState.RUNNING),
                    "key": request.key,
                    "started": started,
                    "mlflow_run_id": run_id,
                    "backend": self.backend.name,
                    "tags": request.tags,
                    "adopted": time.time(),
                },
            )
        except BaseException:
            os.close(lock_fd)
            raise
        deadline = started + request.timeout if request.timeout else None
        return RunningJob(
            request, handle, run_dir, request.key, started, run_id, lock_fd, deadline
        )

    def finish(self, job: RunningJob) -> JobResult:
        """Settle a job that has ended (or been stopped): state, failure, tracking, status."""
        try:
            code = job.handle.poll()
            if code is None:
                job.handle.stop(STOP_GRACE_S)
                code = job.handle.poll()
            job.handle.collect()
            layout = JobLayout(job.run_dir)
            failure = _first_line(layout.failure_file)
            if job.stop_reason is not None:
                state = job.stop_reason
                what = {
                    JobState.TIMEOUT: f"timed out after {job.request.timeout or 0:g} s",
                    JobState.STOPPED: str(job.extra.get("reason", "stopped by loclab")),
                    JobState.KILLED: "interrupted by the user",
                }.get(state, str(state))
                failure = what if not failure else f"{what} ({failure})"
            elif code == 0 and failure is None:
                state = JobState.COMPLETED
            else:
                state = JobState.FAILED
                if failure is None:
                    failure = (
                        f"job process killed by signal {-code}"
                        if code is not None and code < 0
                        else f"job process exited with code {code}"
                    )
            result = JobResult(
                name=job.request.name,
                state=state,
                run_dir=job.run_dir,
                key=job.key,
                failure=failure,
                exit_code=code,
                started=job.started,
                ended=time.time(),
                mlflow_run_id=job.mlflow_run_id,
                tags=dict(job.request.tags),
            )
            if self.tracker is not None and job.mlflow_run_id:
                self.tracker.finish_job(result)
            status = {**result.to_json(), "backend": self.backend.name}
            if state == JobState.COMPLETED:
                # Checked before the job is reused (see loclab.execution.integrity).
                status["outputs"] = manifest(job.run_dir)
            write_status(job.run_dir, status)
            return result
        finally:
            os.close(job.lock_fd)

    def run(
        self,
        request: JobRequest,
        *,
        reuse: bool = True,
        on_poll: Callable[[RunningJob], None] | None = None,
    ) -> JobResult:
        """Run one job to the end (or reuse an identical completed one).

        Ctrl-C stops the job cleanly, records it KILLED, and re-raises KeyboardInterrupt.
        """
        if reuse:
            found = self.cached(request)
            if found is not None:
                return found
        job = self.start(request)
        try:
            while not job.done():
                if job.timed_out():
                    job.stop(JobState.TIMEOUT)
                    break
                if on_poll is not None:
                    on_poll(job)
                time.sleep(POLL_S)
        except KeyboardInterrupt:
            job.stop(JobState.KILLED)
            self.finish(job)
            raise
        return self.finish(job)

    def _lock(self, request: JobRequest) -> int:
        path = self.runs_root / f".{request.name}.lock"
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise JobBusyError(
                f"job {request.name} is already running in another loclab process"
            ) from None
        return fd

    def _settle_abandoned(self, run_dir: Path) -> None:
        """An earlier attempt still marked RUNNING lost its launcher (we hold the job's lock).

        Its process, if it outlived the launcher on this machine, is stopped; the attempt is
        recorded KILLED and its MLflow run closed KILLED, so nothing stays RUNNING forever.
        """
        status = read_status(run_dir)
        if not status or status.get("state") != JobState.RUNNING:
            return
        pid = status.get("pid")
        if isinstance(pid, int) and same_host(status) and is_alive(pid, status.get("pid_created")):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        why = "its launcher stopped before it ended (the job was run again)"
        write_status(run_dir, {**status, "state": str(JobState.KILLED), "failure": why})
        run_id = status.get("mlflow_run_id")
        if run_id and self.tracker is not None:
            with contextlib.suppress(Exception):  # another store, or already closed
                self.tracker.end_run(str(run_id), "KILLED")

    def _archive(self, run_dir: Path) -> None:
        """Move an earlier attempt aside instead of deleting it (its notebook may matter)."""
        archive = self.runs_root / ".attempts"
        archive.mkdir(exist_ok=True)
        earlier = sorted(
            (p for p in archive.glob(f"{run_dir.name}.*") if p.suffix[1:].isdigit()),
            key=lambda p: int(p.suffix[1:]),
        )
        n = int(earlier[-1].suffix[1:]) + 1 if earlier else 1
        shutil.move(str(run_dir), archive / f"{run_dir.name}.{n}")
        for old in earlier[: max(0, len(earlier) + 1 - KEEP_ATTEMPTS)]:
            shutil.rmtree(old, ignore_errors=True)


def completed_run(run_dir: Path, key: str, *, check: bool = True) -> JobResult | None:
    """The completed job in ``run_dir`` if its content address is ``key`` (reusable), else None.

    Args:
        run_dir: A job's run folder.
        key: The content address the job must have been run with.
        check: Also require its outputs to be intact (see :mod:`loclab.execution.integrity`).
    """
    status = read_status(run_dir)
    if not status or status.get("state") != JobState.COMPLETED or status.get("key") != key:
        return None
    if check and damage(run_dir, status.get("outputs")) is not None:
        return None
    result = JobResult.from_json(status, run_dir)
    return JobResult(**{**result.__dict__, "cached": True})


def _first_line(path: Path) -> str | None:
    if not path.exists():
        return None
    text = path.read_text(errors="replace").strip()
    return text.splitlines()[0] if text else "failed (empty output/failure)"


def _process_identity(handle: JobHandle) -> dict[str, Any]:
    """Host, pid and start time of a local job's process group leader (empty otherwise)."""
    process = getattr(handle, "process", None)
    pid = getattr(process, "pid", None)
    if not isinstance(pid, int):
        return {}
    found = identity(pid)
    return {"host": found["host"], "pid": pid, "pid_created": found["created"]}
