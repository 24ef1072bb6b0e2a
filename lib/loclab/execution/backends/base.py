"""The backend interface: launch a job, watch it, stop it, bring its outputs home."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from loclab.execution.job import JobRequest

__all__ = ["Backend", "JobHandle"]


class JobHandle(abc.ABC):
    """A launched job."""

    #: Local folder holding (or receiving) the job's tree.
    run_dir: Path

    @abc.abstractmethod
    def poll(self) -> int | None:
        """The job's exit code once it has ended, else None. Never blocks for long."""

    @abc.abstractmethod
    def stop(self, grace_s: float = 10.0) -> None:
        """Ask the job to stop (SIGTERM-like), then force it after ``grace_s`` seconds."""

    @abc.abstractmethod
    def read_metrics(self) -> list[dict[str, Any]]:
        """Metric records the job has reported so far (``metrics.jsonl``)."""

    def collect(self) -> None:  # noqa: B027 - optional hook; local jobs write in place
        """Bring the job's outputs into :attr:`run_dir` after it ended."""


class Backend(abc.ABC):
    """Launches jobs of the SageMaker training-container contract."""

    #: Short name (``local``, ``sagemaker``), recorded with every job.
    name: str = "backend"

    @abc.abstractmethod
    def submit(self, request: JobRequest, run_dir: Path, env: Mapping[str, str]) -> JobHandle:
        """Launch ``request`` with results landing in ``run_dir``.

        Args:
            request: What to run.
            run_dir: Local folder of the job's tree (created by the caller, empty).
            env: Variables for the job (MLflow run, thread limits...).
        """

    def attach(self, name: str, run_dir: Path) -> JobHandle | None:
        """Re-attach to job ``name``, launched earlier into ``run_dir`` by any process.

        A launcher restarted after a crash calls this before launching the job again: a
        backend whose jobs outlive their launcher (SageMaker) returns a handle to poll, stop,
        read and collect; None means there is nothing to re-attach to (the local backend,
        whose jobs are stopped with their launcher, always says None).
        """
        return None
