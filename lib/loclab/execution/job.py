"""A job: one execution of a notebook with given parameters, and what came of it."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

from loclab.execution.contract import JobLayout
from loclab.io import source_fingerprint, write_json

__all__ = ["JobRequest", "JobResult", "JobState", "code_fingerprint", "read_status"]

STATUS_FILE = "status.json"
LOG_FILE = "job.log"


class JobState(StrEnum):
    """Lifecycle of a job. Only ``COMPLETED`` results are reused."""

    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    TIMEOUT = "TIMEOUT"
    STOPPED = "STOPPED"  # stopped on purpose by loclab (a pruned trial)
    KILLED = "KILLED"  # interrupted by the user (Ctrl-C) or killed from outside
    SKIPPED = "SKIPPED"  # not run on purpose: it would repeat a completed job (not a failure)

    @property
    def mlflow_status(self) -> str:
        """The matching MLflow run status."""
        return {
            JobState.RUNNING: "RUNNING",
            JobState.COMPLETED: "FINISHED",
            JobState.FAILED: "FAILED",
            JobState.TIMEOUT: "FAILED",
            JobState.STOPPED: "KILLED",
            JobState.KILLED: "KILLED",
            JobState.SKIPPED: "FINISHED",
        }[self]


@dataclass(frozen=True)
class JobRequest:
    """Everything needed to run a job, on any backend.

    Attributes:
        name: Unique, deterministic job name (also the run folder and SageMaker job name).
        experiment: The experiment it belongs to.
        notebook: The template notebook.
        hyperparameters: Overrides in text form, as ``hyperparameters.json`` holds them.
        params: Every parameter's effective typed value (defaults included), for tracking.
        channels: Input channel name to the file or folder it mounts.
        timeout: Wall-clock limit in seconds.
        tags: Labels for tracking (system, seed, trial...).
        env: Extra environment variables for the job.
        secrets: The secret parameters' values (JSON-able), kept out of ``hyperparameters``
            (which hold ``[REDACTED]`` for them) and handed to the job in
            ``$LOCLAB_SECRET_PARAMS`` (see :mod:`loclab.security`).
    """

    name: str
    experiment: str
    notebook: Path
    hyperparameters: dict[str, str]
    params: dict[str, Any] = field(default_factory=dict)
    channels: dict[str, Path] = field(default_factory=dict)
    timeout: float | None = None
    tags: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, Any] = field(default_factory=dict)

    def job_env(self) -> dict[str, str]:
        """The job's extra variables: ``env``, and its secrets in ``$LOCLAB_SECRET_PARAMS``."""
        from loclab.security import SECRET_PARAMS_ENV

        if not self.secrets:
            return dict(self.env)
        return {**self.env, SECRET_PARAMS_ENV: json.dumps(self.secrets, sort_keys=True)}

    @property
    def key(self) -> str:
        """Content address: notebook, overrides, input data and job code.

        Two requests with the same key compute the same thing, so a completed job is reused.
        """
        h = hashlib.sha256()
        h.update(self.notebook.read_bytes())
        h.update(json.dumps(self.hyperparameters, sort_keys=True).encode())
        if self.secrets:  # hashed with the rest: a new token is a new job, never written
            h.update(json.dumps(self.secrets, sort_keys=True).encode())
        for name in sorted(self.channels):
            h.update(name.encode())
            h.update(_path_fingerprint(self.channels[name]).encode())
        h.update(code_fingerprint().encode())
        return h.hexdigest()


@dataclass(frozen=True)
class JobResult:
    """How a job ended and where its outputs are.

    Attributes:
        name: The job name.
        state: Final state.
        run_dir: The job's tree (see :class:`~loclab.execution.contract.JobLayout`).
        key: Content address of the request.
        failure: First line of ``output/failure`` when the job did not complete.
        exit_code: Exit code of the job process, when known.
        started: Start time (epoch seconds).
        ended: End time (epoch seconds).
        mlflow_run_id: The job's MLflow run.
        cached: True when an earlier completed run was reused.
        tags: Labels from the request.
    """

    name: str
    state: JobState
    run_dir: Path
    key: str
    failure: str | None = None
    exit_code: int | None = None
    started: float = 0.0
    ended: float = 0.0
    mlflow_run_id: str | None = None
    cached: bool = False
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def layout(self) -> JobLayout:  # noqa: D102
        return JobLayout(self.run_dir)

    @property
    def executed_notebook(self) -> Path:  # noqa: D102
        return self.layout.executed_notebook

    @property
    def predictions(self) -> Path:  # noqa: D102
        return self.layout.output_data_dir / "predictions.parquet"

    @property
    def log_file(self) -> Path:  # noqa: D102
        return self.run_dir / LOG_FILE

    @property
    def duration(self) -> float:  # noqa: D102
        return max(0.0, self.ended - self.started)

    @property
    def ok(self) -> bool:  # noqa: D102
        return self.state == JobState.COMPLETED

    @property
    def skipped(self) -> bool:
        """True for a job not run on purpose (it would have repeated a completed one)."""
        return self.state == JobState.SKIPPED

    @property
    def identity(self) -> tuple[str, str, str, str]:
        """``(name, state, key, system)``: what a later stage's content address covers."""
        return (self.name, str(self.state), self.key, self.tags.get("loclab.system", ""))

    def final_metrics(self) -> dict[str, float]:
        """Metrics the notebook reported without a step (its final results)."""
        final: dict[str, float] = {}
        for record in read_metrics(self.layout.metrics_file):
            if record.get("step") is None:
                final.update(record.get("metrics", {}))
        return final

    def epoch_metrics(self) -> list[tuple[int, dict[str, float]]]:
        """Metrics the notebook reported per step (epoch), in order: ``[(step, values)]``."""
        return [
            (int(record["step"]), dict(record.get("metrics", {})))
            for record in read_metrics(self.layout.metrics_file)
            if record.get("step") is not None
        ]

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form (``status.json``)."""
        data = asdict(self)
        data["state"] = str(self.state)
        data["run_dir"] = str(self.run_dir)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any], run_dir: Path | None = None) -> JobResult:
        """Read back :meth:`to_json`."""
        values = dict(data)
        values["state"] = JobState(values["state"])
        values["run_dir"] = Path(run_dir or values["run_dir"])
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in values.items() if k in known})


def write_status(run_dir: Path, data: Mapping[str, Any]) -> None:
    """Replace ``status.json`` atomically: a reader never sees half a file."""
    write_json(run_dir / STATUS_FILE, dict(data))


def read_status(run_dir: Path) -> dict[str, Any] | None:
    """``status.json`` of a run folder, or None."""
    path = run_dir / STATUS_FILE
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """Records of a ``metrics.jsonl`` file; a torn last line (job still writing) is skipped."""
    if not path.exists():
        return []
    records = []
    with path.open() as fh:
        for line in fh:
            if not line.endswith("\n"):
                break
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
    return records


#: Parts of loclab that can change what a job computes; edits elsewhere (report, CLI, the
#: launcher) do not invalidate completed jobs.
JOB_CODE = (
    "data",
    "models",
    "params",
    "stats",
    "runtime",
    "io.py",
    "nbexec.py",
    "exceptions.py",
    "execution/contract.py",
    "execution/entrypoint.py",
    "compare/segments.py",
)
JOB_LIBRARIES = (
    "torch",
    "lightning",
    "scikit-learn",
    "numpy",
    "pandas",
    "babel",
    "papermill",
    "sacrebleu",
)


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """Hash of the job-side loclab code and the versions of the libraries jobs use."""
    return source_fingerprint(JOB_CODE, JOB_LIBRARIES)


def _path_fingerprint(path: Path) -> str:
    """Cheap identity of input data: names, sizes and modification times.

    A folder's subfolders count even when empty: a new dated snapshot folder that is still
    empty must not let a run be reused as if nothing had changed.
    """
    if path.is_file():
        st = path.stat()
        return f"{path}:{st.st_size}:{st.st_mtime_ns}"
    if path.is_dir():
        parts = []
        for f in sorted(path.rglob("*")):
            if f.is_file():
                st = f.stat()
                parts.append(f"{f.relative_to(path)}:{st.st_size}:{st.st_mtime_ns}")
            elif f.is_dir():
                parts.append(f"{f.relative_to(path)}/")
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return f"{path}:missing"


def now() -> float:
    """Wall-clock time (seconds)."""
    return time.time()
