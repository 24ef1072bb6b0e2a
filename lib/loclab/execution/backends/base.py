"""The backend interface: launch a job, watch it, stop it, bring its outputs home."""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
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

    def request_stop(self) -> None:
        """Ask the job to stop (SIGTERM-like) and return at once, without waiting for it.

        A caller that keeps polling uses this instead of :meth:`stop` (a sweep driver prunes
        one trial while it goes on watching the others), and calls ``stop(0)`` to force a job
        that did not end in time. This default waits: backends that can ask without waiting
        override it.
        """
        self.stop()

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

    def expect(  # noqa: B027 - optional hook
        self, remaining: int, upcoming: Sequence[JobRequest] = ()
    ) -> None:
        """A hint: at most ``remaining`` more jobs will be submitted, the next ones ``upcoming``.

        Called before a submit (``remaining`` counts that job). A backend that prepares for
        coming jobs (the local backend's warm standbys) prepares for those, no more.
        """

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the backend holds for later jobs (idempotent; jobs keep running)."""

    def job_id(self, name: str) -> str | None:
        """The id the backend will give job ``name`` (a SageMaker training job name).

        Known before the job is launched, so a launcher can record it first: whoever finds
        the record after a crash knows what to look for. None when jobs have no id outside
        their launcher (local processes).
        """
        return None

    def attach(self, name: str, run_dir: Path) -> JobHandle | None:
        """Re-attach to job ``name``, launched earlier into ``run_dir`` by any process.

        A launcher restarted after a crash calls this before launching the job again: a
        backend whose jobs outlive their launcher (SageMaker) returns a handle to poll, stop,
        read and collect; None means there is nothing to re-attach to (the local backend,
        whose jobs are stopped with their launcher, always says None).
        """
        return None
