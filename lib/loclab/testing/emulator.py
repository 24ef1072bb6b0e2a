"""The SageMaker training-container contract, run as a local process behind a moto server.

moto records ``CreateTrainingJob`` but never runs anything (a new job is ``Completed`` at
once; ``StopTrainingJob`` does not exist). While installed, a :class:`TrainingJobEmulator`
extends the in-process moto server so the jobs really run:

* ``CreateTrainingJob`` is handled by moto first (so it records exactly the request loclab
  built, validated and sent); the emulator then takes the same request body, refuses a name
  already used (``ResourceInUse``, as SageMaker does; moto would overwrite), and runs it;
* the job's record in moto is kept up to date (``InProgress``/``Starting``, ``Downloading``,
  ``Training``, ``Uploading``, ``Completed``/``Failed``/``Stopped``, ``FailureReason``,
  ``FinalMetricDataList``...), so every client's ``DescribeTrainingJob`` sees the job's state;
* ``StopTrainingJob`` is answered: SIGTERM to the entry point, SIGKILL after a grace period.

Running a job means what SageMaker does on an instance: download the channels from S3 into an
``/opt/ml`` tree under a temporary root, restore checkpoints, write ``input/config``, start the
container's entry point (``ContainerEntrypoint``, with ``/opt/ml`` mapped to the root and a
bare environment), apply the metric regexes to its output, sync ``checkpoints/`` to S3 while it
runs, send its log to CloudWatch Logs, and at the end upload ``model.tar.gz`` and
``output.tar.gz`` and map the exit code and ``output/failure`` to the final status.
:meth:`TrainingJobEmulator.interrupt` simulates a spot interruption: the process is killed and
the job restarts on a "new instance" with the checkpoints restored from S3.

The server and the emulator live in one process (a test's); the launcher may be any process
that reaches the server over HTTP (``AWS_ENDPOINT_URL``): a ``loclab run`` subprocess can be
SIGKILLed while its jobs run on, as SageMaker jobs outlive the machine that launched them.
:attr:`TrainingJobEmulator.create_requests` and :attr:`~TrainingJobEmulator.stop_requests`
record every ``CreateTrainingJob`` and ``StopTrainingJob`` call the server answered, so a
test can prove that nothing was launched twice and that pruned jobs were stopped.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loclab.execution.backends.sagemaker._request import (
    CONTAINER_ENTRYPOINT,
    CONTAINER_ROOT,
    LOG_GROUP,
)
from loclab.execution.contract import JobLayout, ResourceConfig, environment, write_input_config
from loclab.execution.entrypoint import inherited_environment
from loclab.testing._emulated import (
    ContainerStorage,
    EmulatedJob,
    dumps_job,
    job_arn,
    kill_group,
    publish,
    set_status,
    transition,
)

if TYPE_CHECKING:
    from loclab.testing.aws import MotoServer

__all__ = ["EmulatedJob", "TrainingJobEmulator", "dumps_job"]

#: Variable the entry point reads its root from (``--root`` defaults to it, else /opt/ml).
ROOT_ENV = "SM_ROOT"
#: What a bare container environment keeps from this process.
_KEEP_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ", "USER")
_MAX_FAILURE_REASON = 1024
_lock = threading.Lock()
_active: TrainingJobEmulator | None = None
_original_create: Any = None


class TrainingJobEmulator:
    """Runs the training jobs a :class:`~loclab.testing.aws.MotoServer` records.

    Args:
        server: A started server in this process.
        work_dir: Where each attempt's ``/opt/ml`` root is laid out (a temp folder if None).
        python: Interpreter standing in for the image's ``python``.
        checkpoint_sync_s: How often ``checkpoints/`` is uploaded while a job runs.
        stop_grace_s: SIGTERM to SIGKILL (SageMaker waits 120 s).
        keep_roots: Keep each attempt's root after the job (for inspection).

    Attributes:
        jobs: The jobs run, by name.
        create_requests: ``TrainingJobName`` of every ``CreateTrainingJob`` call, in order,
            refused ones (a name used before) included.
        stop_requests: ``TrainingJobName`` of every ``StopTrainingJob`` call, in order.
    """

    def __init__(
        self,
        server: MotoServer,
        *,
        work_dir: Path | None = None,
        python: str | None = None,
        checkpoint_sync_s: float = 0.5,
        stop_grace_s: float = 10.0,
        keep_roots: bool = True,
    ) -> None:
        self.server = server
        self.work_dir = Path(work_dir or tempfile.mkdtemp(prefix="loclab-emulator-"))
        self.python = python or sys.executable
        self.checkpoint_sync_s = checkpoint_sync_s
        self.stop_grace_s = stop_grace_s
        self.keep_roots = keep_roots
        self.jobs: dict[str, EmulatedJob] = {}
        self.create_requests: list[str] = []
        self.stop_requests: list[str] = []
        self._s3: Any = None
        self._logs: Any = None

    # -- installing ---------------------------------------------------------------------------

    def install(self) -> TrainingJobEmulator:
        """Extend the in-process moto server; only one emulator can be installed at a time."""
        global _active, _original_create
        from moto.sagemaker.responses import SageMakerResponse

        with _lock:
            if _active is not None:
                raise RuntimeError("another TrainingJobEmulator is installed")
            if _original_create is None:
                _original_create = SageMakerResponse.create_training_job
            SageMakerResponse.create_training_job = _create_training_job  # type: ignore[method-assign]
            SageMakerResponse.stop_training_job = _stop_training_job  # type: ignore[attr-defined]
            _active = self
        self._s3 = self.server.client("s3")
        self._logs = self.server.client("logs")
        self._storage = ContainerStorage(self._s3, self._logs)
        return self

    def uninstall(self, timeout_s: float = 30.0) -> None:
        """Stop running jobs and give moto back its own behaviour."""
        global _active
        from moto.sagemaker.responses import SageMakerResponse

        for job in list(self.jobs.values()):
            if not job.done.is_set():
                self._terminate(job, grace_s=2.0)
                job.done.wait(timeout_s)
        with _lock:
            if _active is self:
                SageMakerResponse.create_training_job = _original_create  # type: ignore[method-assign]
                if "stop_training_job" in SageMakerResponse.__dict__:
                    del SageMakerResponse.stop_training_job  # type: ignore[attr-defined]
                _active = None

    def __enter__(self) -> TrainingJobEmulator:
        return self.install()

    def __exit__(self, *exc: object) -> None:
        self.uninstall()

    # -- controlling jobs ---------------------------------------------------------------------

    def job(self, name: str) -> EmulatedJob:
        """The job named ``name``."""
        return self.jobs[name]

    def wait(self, name: str, timeout_s: float = 120.0) -> str:
        """Wait for the job to end; return its final status.

        Raises:
            TimeoutError: Still running after ``timeout_s``.
        """
        job = self.jobs[name]
        if not job.done.wait(timeout_s):
            raise TimeoutError(f"emulated job {name} still {job.secondary} after {timeout_s} s")
        return job.status

    def wait_for(self, name: str, condition: Any, timeout_s: float = 60.0) -> EmulatedJob:
        """Wait until ``condition(job)`` is true (e.g. a metric was seen)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            job = self.jobs.get(name)
            if job is not None and condition(job):
                return job
            time.sleep(0.05)
        raise TimeoutError(f"condition on emulated job {name} not met within {timeout_s} s")

    def stop(self, name: str) -> None:
        """What ``StopTrainingJob`` does: Stopping, SIGTERM, SIGKILL after the grace period.

        Raises:
            ValueError: The job is not in progress (SageMaker's ValidationException).
        """
        job = self.jobs[name]
        if job.status != "InProgress":
            raise ValueError(
                f"The request was rejected because the training job is in status {job.status}."
            )
        job.stop_requested = True
        set_status(job, "Stopping", "Stopping")
        self._terminate(job, self.stop_grace_s)

    def interrupt(self, name: str) -> None:
        """A spot interruption: the instance goes away; the job restarts on a new one.

        The process group is killed at once (checkpoints written since the last sync are
        lost, as on SageMaker); the next attempt starts with ``checkpoints/`` restored from S3.

        Raises:
            ValueError: The job is not a running managed-spot job.
        """
        job = self.jobs[name]
        if not job.spot:
            raise ValueError(f"{name} is not a managed spot training job")
        if job.process is None or job.process.poll() is not None:
            raise ValueError(f"{name} has no running container to interrupt")
        job.interrupted = True
        kill_group(job.process, signal.SIGKILL)

    # -- the server side ----------------------------------------------------------------------

    def _accept(self, request: dict[str, Any], account: str, region: str) -> None:
        job = EmulatedJob(request["TrainingJobName"], request, account, region)
        self.jobs[job.name] = job
        transition(job, "Starting", "Preparing the instances for training")
        # Before CreateTrainingJob returns: a poll right after it must not see moto's
        # "Completed".
        publish(job)
        threading.Thread(
            target=self._run, args=(job,), name=f"emulator-{job.name}", daemon=True
        ).start()

    def _run(self, job: EmulatedJob) -> None:
        root: Path | None = None
        try:
            while True:
                job.attempts += 1
                root = self.work_dir / job.name / f"attempt-{job.attempts}"
                job.roots.append(root)
                if job.stop_requested:
                    break
                set_status(job, "InProgress", "Downloading", "Downloading input data")
                self._prepare(job, root)
                if job.stop_requested:
                    break
                job.started = job.started or time.time()
                set_status(job, "InProgress", "Training", "Training image download completed")
                job.exit_code = self._train(job, root)
                if job.interrupted and not job.stop_requested:
                    job.interrupted = False
                    transition(job, "Interrupted", "Spot capacity was reclaimed")
                    set_status(job, "InProgress", "Starting", "Restarting on a new instance")
                    continue
                break
            if root is not None and root.exists():
                set_status(job, job.status, "Uploading", "Uploading generated training model")
                self._storage.upload(job, root)
            self._finish(job, root)
        except Exception as err:  # the emulator's own failure: the job must still end
            job.failure_reason = f"InternalServerError: emulator: {type(err).__name__}: {err}"
            job.status, job.secondary = "Failed", "Failed"
            publish(job)
        finally:
            job.ended = time.time()
            publish(job)
            job.done.set()
            if not self.keep_roots:
                for r in job.roots:
                    shutil.rmtree(r, ignore_errors=True)

    def _finish(self, job: EmulatedJob, root: Path | None) -> None:
        code = job.exit_code
        if job.max_runtime_exceeded:
            job.status, job.secondary = "Stopped", "MaxRuntimeExceeded"
        elif job.stop_requested:
            job.status, job.secondary = "Stopped", "Stopped"
        elif code == 0:
            job.status, job.secondary = "Completed", "Completed"
        else:
            job.status, job.secondary = "Failed", "Failed"
            failure = JobLayout(root).failure_file if root is not None else None
            if failure is not None and failure.exists():
                # SageMaker returns the first 1024 characters of /opt/ml/output/failure.
                job.failure_reason = failure.read_text(errors="replace")[:_MAX_FAILURE_REASON]
            else:
                job.failure_reason = (
                    f"AlgorithmError: the training container exited with code {code}"
                )
        transition(job, job.secondary, f"Training job {job.status.lower()}")

    # -- an instance's work -------------------------------------------------------------------

    def _prepare(self, job: EmulatedJob, root: Path) -> None:
        layout = JobLayout(root)
        layout.create()
        request = job.request
        channels: dict[str, Path] = {}
        for channel in request.get("InputDataConfig") or []:
            name = channel["ChannelName"]
            source = channel["DataSource"]["S3DataSource"]
            if source.get("S3DataType", "S3Prefix") != "S3Prefix":
                raise ValueError(f"channel {name}: only S3Prefix data is emulated")
            target = layout.channel_dir(name)
            self._storage.download_prefix(source["S3Uri"], target)
            channels[name] = target
        checkpoint = request.get("CheckpointConfig")
        if checkpoint:
            self._storage.download_prefix(checkpoint["S3Uri"], self._local(checkpoint, layout))
        resources = request.get("ResourceConfig") or {}
        write_input_config(
            layout,
            dict(request.get("HyperParameters") or {}),
            channels,
            ResourceConfig(instance_type=resources.get("InstanceType", "local"), num_gpus=0),
        )

    def _local(self, checkpoint: dict[str, Any], layout: JobLayout) -> Path:
        local = checkpoint.get("LocalPath") or f"{CONTAINER_ROOT}/checkpoints"
        return Path(self._map(local, layout.root))

    def _map(self, text: str, root: Path) -> str:
        """``/opt/ml/...`` → the attempt's root."""
        return re.sub(rf"(?<![\w/]){re.escape(CONTAINER_ROOT)}(?=/|$|:)", str(root), text)

    def _command(self, job: EmulatedJob, root: Path) -> list[str]:
        algorithm = job.request.get("AlgorithmSpecification") or {}
        # Without ContainerEntrypoint SageMaker runs `train`; loclab's image maps that to the
        # same entry point (docker/train).
        command = list(algorithm.get("ContainerEntrypoint") or CONTAINER_ENTRYPOINT)
        command += list(algorithm.get("ContainerArguments") or [])
        if command and command[0] in ("python", "python3"):
            command[0] = self.python
        return [self._map(part, root) for part in command]

    def _environment(self, job: EmulatedJob, root: Path) -> dict[str, str]:
        layout = JobLayout(root)
        hyper = {str(k): str(v) for k, v in (job.request.get("HyperParameters") or {}).items()}
        inherited = inherited_environment()
        env = {k: inherited[k] for k in _KEEP_ENV if k in inherited}
        env.update(
            {k: self._map(str(v), root) for k, v in (job.request.get("Environment") or {}).items()}
        )
        env.update(
            {
                "TRAINING_JOB_NAME": job.name,
                "TRAINING_JOB_ARN": job_arn(job),
                "AWS_REGION": job.region,
                ROOT_ENV: str(root),
            }
        )
        # What the SageMaker training toolkit sets; loclab's entry point sets the same again.
        env.update(environment(layout, job.name, hyper))
        return env

    def _train(self, job: EmulatedJob, root: Path) -> int:
        stream = f"{job.name}/algo-1-{int(time.time())}"
        self._storage.ensure_log_stream(stream)
        definitions = [
            (d["Name"], re.compile(d["Regex"]))
            for d in (job.request.get("AlgorithmSpecification") or {}).get("MetricDefinitions")
            or []
        ]
        process = subprocess.Popen(
            self._command(job, root),
            env=self._environment(job, root),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=str(root),
        )
        job.process = process
        pending: list[dict[str, Any]] = []
        pending_lock = threading.Lock()

        def read() -> None:
            assert process.stdout is not None
            for raw in process.stdout:
                line = raw.decode(errors="replace").rstrip("\n")
                now = time.time()
                job.log.append(line)
                with pending_lock:
                    pending.append({"timestamp": int(now * 1000), "message": line})
                for name, rx in definitions:
                    found = rx.search(line)
                    if found:
                        with contextlib.suppress(ValueError, IndexError):
                            job.metrics.setdefault(name, []).append((now, float(found.group(1))))

        def flush() -> None:
            with pending_lock:
                batch, pending[:] = list(pending), []
            if batch:
                self._logs.put_log_events(
                    logGroupName=LOG_GROUP, logStreamName=stream, logEvents=batch
                )
            publish(job)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        checkpoint = job.request.get("CheckpointConfig")
        synced: dict[str, tuple[int, int]] = {}
        limit = (job.request.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds")
        started = time.monotonic()
        last_sync = 0.0
        while process.poll() is None:
            time.sleep(0.05)
            if time.monotonic() - last_sync >= self.checkpoint_sync_s:
                last_sync = time.monotonic()
                if checkpoint and not job.interrupted:
                    self._storage.sync_checkpoints(
                        checkpoint, self._local(checkpoint, JobLayout(root)), synced, settle_s=0.2
                    )
                flush()
            if limit and time.monotonic() - started > limit and not job.max_runtime_exceeded:
                job.max_runtime_exceeded = True
                set_status(job, "Stopping", "MaxRuntimeExceeded")
                self._terminate(job, self.stop_grace_s)
        reader.join(timeout=10)
        if checkpoint and not job.interrupted:
            self._storage.sync_checkpoints(
                checkpoint, self._local(checkpoint, JobLayout(root)), synced
            )
        flush()
        job.process = None
        return process.returncode

    def _terminate(self, job: EmulatedJob, grace_s: float) -> None:
        process = job.process
        if process is None or process.poll() is not None:
            return
        try:
            # Like `docker stop`: SIGTERM to the container's main process only.
            process.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            return

        def force() -> None:
            try:
                process.wait(grace_s)
            except subprocess.TimeoutExpired:
                kill_group(process, signal.SIGKILL)

        threading.Thread(target=force, daemon=True).start()


# -- moto response handlers (installed on moto's SageMakerResponse) -------------------------


def _create_training_job(self: Any) -> Any:
    from moto.sagemaker.exceptions import ResourceInUseException
    from moto.sagemaker.models import sagemaker_backends

    request = json.loads(self.body)
    name = request.get("TrainingJobName")
    if _active is not None:
        _active.create_requests.append(str(name))
    backend = sagemaker_backends[self.current_account][self.region]
    if name in backend.training_jobs:
        arn = backend.training_jobs[name].arn
        raise ResourceInUseException(
            "Training job names must be unique within an AWS account and region, and a "
            f"training job with this name already exists ({arn})"
        )
    result = _original_create(self)
    emulator = _active
    if emulator is not None:
        emulator._accept(request, self.current_account, self.region)
    return result


def _stop_training_job(self: Any) -> Any:
    from moto.core.responses import EmptyResult
    from moto.sagemaker.exceptions import ValidationError
    from moto.sagemaker.models import sagemaker_backends

    name = self._get_param("TrainingJobName")
    emulator = _active
    if emulator is not None:
        emulator.stop_requests.append(str(name))
    backend = sagemaker_backends[self.current_account][self.region]
    if name not in backend.training_jobs:
        raise ValidationError(message="Requested resource not found.")
    if emulator is None or name not in emulator.jobs:
        status = backend.training_jobs[name].training_job_status
        raise ValidationError(
            message=f"The request was rejected because the training job is in status {status}."
        )
    try:
        emulator.stop(name)
    except ValueError as err:
        raise ValidationError(message=str(err)) from None
    return EmptyResult()
