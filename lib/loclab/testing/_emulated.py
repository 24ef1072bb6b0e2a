"""What an emulated training job moves through S3 and CloudWatch Logs, and its moto record."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tarfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loclab.aws.s3 import parse_s3_uri
from loclab.execution.backends.sagemaker._request import LOG_GROUP
from loclab.execution.contract import JobLayout

__all__ = [
    "ContainerStorage",
    "EmulatedJob",
    "dumps_job",
    "job_arn",
    "kill_group",
    "publish",
    "set_status",
    "transition",
]


@dataclass
class EmulatedJob:
    """One training job the emulator runs.

    Attributes:
        name: ``TrainingJobName``.
        request: The request body exactly as the server received it.
        status: ``TrainingJobStatus``.
        secondary: ``SecondaryStatus``.
        failure_reason: ``FailureReason`` once failed.
        metrics: Metric name to ``(time, value)`` pairs matched in the log.
        log: The container's output lines (all attempts).
        attempts: Instances the job ran on (2 after one spot interruption).
        roots: The ``/opt/ml`` root of each attempt.
        exit_code: Exit code of the last attempt's process.
    """

    name: str
    request: dict[str, Any]
    account: str
    region: str
    status: str = "InProgress"
    secondary: str = "Starting"
    failure_reason: str | None = None
    metrics: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)
    attempts: int = 0
    roots: list[Path] = field(default_factory=list)
    exit_code: int | None = None
    created: float = field(default_factory=time.time)
    started: float | None = None
    ended: float | None = None
    transitions: list[dict[str, Any]] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    stop_requested: bool = False
    interrupted: bool = False
    max_runtime_exceeded: bool = False
    done: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def spot(self) -> bool:
        return bool(self.request.get("EnableManagedSpotTraining"))

    @property
    def root(self) -> Path | None:
        """The current (or last) attempt's root."""
        return self.roots[-1] if self.roots else None


def job_arn(job: EmulatedJob) -> str:
    return f"arn:aws:sagemaker:{job.region}:{job.account}:training-job/{job.name}"


class ContainerStorage:
    """S3 and CloudWatch Logs as a training container sees them.

    Args:
        s3: A boto3 S3 client of the moto server.
        logs: A boto3 CloudWatch Logs client of the moto server.
    """

    def __init__(self, s3: Any, logs: Any) -> None:
        self.s3 = s3
        self.logs = logs

    def download_prefix(self, uri: str, target: Path) -> None:
        bucket, prefix = parse_s3_uri(uri)
        target.mkdir(parents=True, exist_ok=True)
        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                rel = obj["Key"][len(prefix) :].lstrip("/")
                if not rel:
                    continue
                dest = target / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                self.s3.download_file(bucket, obj["Key"], str(dest))

    def sync_checkpoints(
        self,
        checkpoint: dict[str, Any],
        folder: Path,
        synced: dict[str, tuple[int, int]],
        settle_s: float = 0.0,
    ) -> None:
        """Upload new or changed files of the checkpoint folder.

        While the job runs, a file written in the last ``settle_s`` seconds waits for the next
        pass: it may be half written (SageMaker uploads a file once it is closed).
        """
        if not folder.exists():
            return
        bucket, prefix = parse_s3_uri(checkpoint["S3Uri"])
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            rel = path.relative_to(folder).as_posix()
            try:
                st = path.stat()
            except FileNotFoundError:  # removed while we looked (Lightning rotates files)
                continue
            stamp = (st.st_size, st.st_mtime_ns)
            if synced.get(rel) == stamp or time.time() - st.st_mtime < settle_s:
                continue
            key = f"{prefix.rstrip('/')}/{rel}" if prefix else rel
            try:
                self.s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
            except FileNotFoundError:
                continue
            synced[rel] = stamp

    def upload(self, job: EmulatedJob, root: Path) -> None:
        layout = JobLayout(root)
        output = (job.request.get("OutputDataConfig") or {}).get("S3OutputPath")
        if not output:
            return
        bucket, prefix = parse_s3_uri(output)
        base = f"{prefix.rstrip('/')}/{job.name}/output" if prefix else f"{job.name}/output"
        for name, folder in (
            ("model.tar.gz", layout.model_dir),
            ("output.tar.gz", layout.output_data_dir),
        ):
            archive = root / f".{name}"
            with tarfile.open(archive, "w:gz") as tar:
                if folder.exists():
                    for path in sorted(folder.iterdir()):
                        tar.add(path, arcname=path.name)
            self.s3.upload_file(str(archive), bucket, f"{base}/{name}")
            archive.unlink()

    def ensure_log_stream(self, stream: str) -> None:
        for call, kwargs in (
            (self.logs.create_log_group, {"logGroupName": LOG_GROUP}),
            (self.logs.create_log_stream, {"logGroupName": LOG_GROUP, "logStreamName": stream}),
        ):
            try:
                call(**kwargs)
            except Exception as err:
                if "AlreadyExists" not in type(err).__name__ and "AlreadyExists" not in str(err):
                    raise


def transition(job: EmulatedJob, status: str, message: str) -> None:
    """Add a ``SecondaryStatusTransitions`` entry (closing the previous one)."""
    now = datetime.now(UTC)
    if job.transitions and "EndTime" not in job.transitions[-1]:
        job.transitions[-1]["EndTime"] = now
    job.transitions.append({"Status": status, "StartTime": now, "StatusMessage": message})


def set_status(job: EmulatedJob, status: str, secondary: str, message: str = "") -> None:
    """Move the job to ``status``/``secondary`` and publish it to moto."""
    job.status = status
    if secondary != job.secondary:
        job.secondary = secondary
        transition(job, secondary, message or secondary)
    publish(job)


def kill_group(process: subprocess.Popen[bytes], sig: int) -> None:
    """Signal the process group of a container's entry point."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def publish(job: EmulatedJob) -> None:
    """Write the job's state into moto's record (what DescribeTrainingJob returns)."""
    from moto.sagemaker.models import sagemaker_backends

    # Attributes moto's record lacks become response fields of the same name.
    record: Any = sagemaker_backends[job.account][job.region].training_jobs.get(job.name)
    if record is None:
        return
    now = datetime.now(UTC)
    record.training_job_status = job.status
    record.secondary_status = job.secondary
    record.failure_reason = job.failure_reason
    record.last_modified_time = now
    record.training_start_time = datetime.fromtimestamp(job.started, UTC) if job.started else None
    record.training_end_time = datetime.fromtimestamp(job.ended, UTC) if job.ended else None
    record.secondary_status_transitions = [dict(t) for t in job.transitions]
    # moto replaces the request's metric definitions and drops its environment.
    record.algorithm_specification = dict(job.request.get("AlgorithmSpecification") or {})
    record.environment = dict(job.request.get("Environment") or {})
    record.final_metric_data_list = [
        {
            "MetricName": name,
            "Value": values[-1][1],
            "Timestamp": datetime.fromtimestamp(values[-1][0], UTC),
        }
        for name, values in job.metrics.items()
        if values
    ]
    if job.started:
        seconds = int((job.ended or time.time()) - job.started)
        record.training_time_in_seconds = seconds
        record.billable_time_in_seconds = seconds


def dumps_job(job: EmulatedJob) -> str:
    """A readable summary of an emulated job (for assertion messages)."""
    return json.dumps(
        {
            "name": job.name,
            "status": job.status,
            "secondary": job.secondary,
            "failure_reason": job.failure_reason,
            "attempts": job.attempts,
            "exit_code": job.exit_code,
            "log_tail": job.log[-20:],
        },
        indent=1,
        default=str,
    )
