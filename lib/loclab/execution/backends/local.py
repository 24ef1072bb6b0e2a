"""Run jobs as local processes under a run directory laid out like ``/opt/ml``."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from loclab.execution.backends.base import Backend, JobHandle
from loclab.execution.contract import JobLayout, write_input_config
from loclab.execution.entrypoint import CODE_CHANNEL, NOTEBOOK_ENV, inherited_environment
from loclab.execution.job import LOG_FILE, JobRequest, read_metrics

__all__ = ["LocalBackend", "LocalJobHandle", "stage_job", "threads_per_job"]


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


def threads_per_job(workers: int, cpus: int | None = None) -> int:
    """CPU threads per trial so ``workers`` trials share the cores instead of fighting."""
    if cpus is None:
        try:
            cpus = len(os.sched_getaffinity(0))
        except AttributeError:  # not Linux
            cpus = os.cpu_count() or 1
    return max(1, cpus // max(1, workers))


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
        threads_per_job: CPU threads each job may use (``OMP_NUM_THREADS`` and friends), so
            parallel jobs share the cores instead of fighting over them. None leaves it to
            torch.
    """

    name = "local"

    def __init__(self, python: str | None = None, threads_per_job: int | None = None) -> None:
        self.python = python or sys.executable
        self.threads_per_job = threads_per_job

    def submit(  # noqa: D102
        self, request: JobRequest, run_dir: Path, env: Mapping[str, str]
    ) -> LocalJobHandle:
        layout = JobLayout(run_dir)
        stage_job(request, layout)
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
        if self.threads_per_job:
            n = str(self.threads_per_job)
            for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
                job_env[var] = n
            # Idle OpenMP threads that spin steal the cores the other jobs need: on 2 busy
            # cores a 2-thread torch epoch measured 113 s spinning and 14 s passive.
            job_env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        job_env.update(request.env)
        job_env.update(env)
        log = (run_dir / LOG_FILE).open("ab")
        try:
            process = subprocess.Popen(
                [self.python, "-m", "loclab.execution.entrypoint", "--root", str(run_dir)],
                env=job_env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                # Own session: Ctrl-C in the terminal reaches loclab, which stops the job
                # cleanly, instead of killing the kernel mid-write.
                start_new_session=True,
                cwd=str(run_dir),
            )
        finally:
            log.close()
        return LocalJobHandle(process, run_dir)
