"""Run jobs as local processes under a run directory laid out like ``/opt/ml``.

Each job is a fresh process with a fresh kernel. By default the backend keeps a warm standby
per job running at once (:mod:`loclab.execution.warm`): a process whose kernel has already
imported what the notebook imports, handed the next matching job, so that job starts at once.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loclab.execution.backends._standby import StandbyPool, job_line, standby_key
from loclab.execution.backends.base import Backend, JobHandle
from loclab.execution.contract import JobLayout, write_input_config
from loclab.execution.entrypoint import CODE_CHANNEL, NOTEBOOK_ENV, inherited_environment
from loclab.execution.job import LOG_FILE, JobRequest, read_metrics
from loclab.execution.threads import thread_env, threads_per_job

if TYPE_CHECKING:
    from loclab.spec import Experiment

__all__ = ["LocalBackend", "LocalJobHandle", "stage_job", "threads_per_job"]

#: Tracking URI schemes of MLflow's database store.
_DATABASE_SCHEMES = frozenset({"sqlite", "postgresql", "mysql", "mssql"})


def stage_job(request: JobRequest, layout: JobLayout, *, link_channels: bool = True) -> None:
    """Lay out the job's input side: config files, the notebook in the code channel, channels.

    Channels are symlinked (read in place, never copied) unless ``link_channels`` is False.
    """
    channels = {CODE_CHANNEL: request.notebook.parent, **request.channels}
    write_input_config(layout, request.hyperparameters, channels)
    code_dir = layout.channel_dir(CODE_CHANNEL)
    code_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(request.notebook, code_dir / request.notebook.name)
    for name, source in request.channels.items():
        target = layout.channel_dir(name)
        if target.exists() or target.is_symlink():
            continue
        if source.is_dir():
            target.symlink_to(source, target_is_directory=True)
        else:
            # A SageMaker channel is always a folder; a single file sits inside it.
            target.mkdir(parents=True)
            if link_channels:
                (target / source.name).symlink_to(source)
            else:
                shutil.copy2(source, target / source.name)


class LocalJobHandle(JobHandle):
    """A job running as a local process group (entry point plus its kernel)."""

    def __init__(self, process: subprocess.Popen[bytes], run_dir: Path) -> None:
        self.process = process
        self.run_dir = run_dir
        self._log = None

    def poll(self) -> int | None:  # noqa: D102
        return self.process.poll()

    def stop(self, grace_s: float = 10.0) -> None:
        """SIGTERM to the entry point (it interrupts the kernel), SIGKILL to all after grace."""
        if self.process.poll() is not None:
            return
        try:
            self.process.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        if self.process.poll() is None:
            self._kill_group()
            self.process.wait()

    def request_stop(self) -> None:
        """SIGTERM to the entry point (it interrupts the kernel); no waiting."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)

    def _kill_group(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def read_metrics(self) -> list[dict[str, Any]]:  # noqa: D102
        return read_metrics(JobLayout(self.run_dir).metrics_file)


class LocalBackend(Backend):
    """Each job is its own process with a fresh Papermill kernel.

    Args:
        python: Interpreter of the job process (this one by default).
        threads_per_job: CPU threads each job may use (``OMP_NUM_THREADS`` and friends, with
            passive OpenMP waits: see :func:`~loclab.execution.threads.thread_env`), so
            parallel jobs share the cores instead of fighting over them. None leaves it to
            torch.
        warm: Keep warm standbys (see the module docstring); False starts every job cold.
        warm_imports: The modules a standby imports; None reads them from the notebook's
            import statements (:func:`~loclab.execution.imports.notebook_imports`).
        standbys: Standbys kept at once: one per job running at once.
        fork: Fork standbys' kernels from a process that imported the modules once
            (:mod:`loclab.execution.forkserver`); False: each kernel imports them itself.
    """

    name = "local"

    def __init__(
        self,
        python: str | None = None,
        threads_per_job: int | None = None,
        *,
        warm: bool = True,
        warm_imports: Sequence[str] | None = None,
        standbys: int = 1,
        fork: bool = True,
    ) -> None:
        self.python = python or sys.executable
        self.threads_per_job = threads_per_job
        self.warm = warm
        self.warm_imports = list(warm_imports) if warm_imports is not None else None
        self.pool = StandbyPool(self.python, standbys, fork=fork)
        #: Jobs handed to a warm standby so far (for tests and benchmarks).
        self.warm_starts = 0
        self._remaining: int | None = None
        self._upcoming: list[JobRequest] = []

    @classmethod
    def for_experiment(cls, exp: Experiment, workers: int) -> LocalBackend:
        """The backend for ``workers`` jobs at once of ``exp``: cores split, a standby each."""
        backend = exp.spec.backend
        return cls(
            threads_per_job=threads_per_job(workers),
            warm=backend.warm,
            warm_imports=backend.warm_imports,
            standbys=workers,
            fork=backend.fork,
        )

    def submit(  # noqa: D102
        self, request: JobRequest, run_dir: Path, env: Mapping[str, str]
    ) -> LocalJobHandle:
        layout = JobLayout(run_dir)
        stage_job(request, layout)
        job_env = self.job_environment(request, env)
        log = run_dir / LOG_FILE
        imports = self._imports(request, job_env)
        handle: LocalJobHandle | None = None
        if imports is not None:
            key = standby_key(self.python, request.notebook, imports, job_env)
            standby = self.pool.take(key)
            if standby is not None and standby.hand_over(job_line(run_dir, job_env, log)):
                self.warm_starts += 1
                handle = LocalJobHandle(standby.process, run_dir)
            elif standby is not None:
                standby.close()
        if handle is None:
            handle = self._start_cold(run_dir, job_env, log)
        if self._remaining is not None:
            self._remaining = max(0, self._remaining - 1)
        if self._upcoming and self._upcoming[0].name == request.name:
            self._upcoming.pop(0)
        if self.warm:
            self._prepare(request, env)
        return handle

    def expect(self, remaining: int, upcoming: Sequence[JobRequest] = ()) -> None:
        """At most ``remaining`` more jobs will be submitted, the first ones ``upcoming``.

        Standbys are kept for the kinds of job that come next (their notebook, imports and
        environment), none beyond ``remaining``.
        """
        self._remaining = max(0, remaining)
        self._upcoming = list(upcoming)
        self.pool.trim(self._remaining)

    def close(self) -> None:
        """End every standby."""
        self.pool.close()

    def _prepare(self, last: JobRequest, env: Mapping[str, str]) -> None:
        """Start standbys for the coming jobs (like ``last`` when they are not known)."""
        size = self.pool.size
        left = size if self._remaining is None else min(size, self._remaining)
        if left <= 0:
            self.pool.trim(0)
            return
        coming = self._upcoming[:left] or [last] * left
        wanted = []
        for request in coming:
            job_env = self.job_environment(request, env)
            imports = self._imports(request, job_env)
            if imports is not None:
                key = standby_key(self.python, request.notebook, imports, job_env)
                wanted.append((key, job_env, imports))
        self.pool.provide(wanted)

    def job_environment(self, request: JobRequest, env: Mapping[str, str]) -> dict[str, str]:
        """The job process's environment: the launcher's, the job's settings, ``env``."""
        job_env = inherited_environment()
        job_env.update(
            {
                "PYTHONUNBUFFERED": "1",
                "MPLBACKEND": "Agg",
                "TQDM_DISABLE": "1",
                NOTEBOOK_ENV: request.notebook.name,
                "TRAINING_JOB_NAME": request.name,
            }
        )
        # MLflow 3 sends usage telemetry from every process unless told not to (a user who
        # sets MLFLOW_DISABLE_TELEMETRY=false keeps it).
        job_env.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        if self.threads_per_job:
            for var, value in thread_env(self.threads_per_job).items():
                # A wait policy the user set on purpose is kept.
                if var == "OMP_WAIT_POLICY":
                    job_env.setdefault(var, value)
                else:
                    job_env[var] = value
        job_env.update(request.job_env())
        job_env.update(env)
        return job_env

    def _imports(self, request: JobRequest, env: Mapping[str, str]) -> list[str] | None:
        """What a standby for ``request`` imports; None when jobs start cold."""
        if not self.warm:
            return None
        if self.warm_imports is not None:
            found = list(self.warm_imports)
        else:
            from loclab.execution.imports import notebook_imports

            try:
                found = notebook_imports(request.notebook, request.params)
            except (OSError, ValueError):
                return None
            uri = env.get("MLFLOW_TRACKING_URI", "")
            if uri:
                # A tracked job logs through MLflow (loclab.runtime, Lightning's logger);
                # its database store (SQLAlchemy, Alembic) is imported at the first call.
                found.append("mlflow")
                if uri.partition(":")[0].partition("+")[0] in _DATABASE_SCHEMES:
                    found.append("mlflow.store.tracking.sqlalchemy_store")
        return self.pool.usable_imports(found)

    def _start_cold(self, run_dir: Path, job_env: Mapping[str, str], log: Path) -> LocalJobHandle:
        out = log.open("ab")
        try:
            process = subprocess.Popen(
                [self.python, "-m", "loclab.execution.entrypoint", "--root", str(run_dir)],
                env=dict(job_env),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                # Own session: Ctrl-C in the terminal reaches loclab, which stops the job
                # cleanly, instead of killing the kernel mid-write.
                start_new_session=True,
                cwd=str(run_dir),
            )
        finally:
            out.close()
        return LocalJobHandle(process, run_dir)
