"""The SageMaker backend: stage, build, validate and send ``CreateTrainingJob``."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loclab.aws.clients import AwsClients, error_code, error_message, is_not_found
from loclab.aws.errors import (
    AwsCallError,
    JobNameInUseError,
    QuotaExceededError,
    RequestValidationError,
)
from loclab.aws.s3 import S3Stager, bundle_digest, code_bundle, folder_bundle
from loclab.execution.backends.base import Backend
from loclab.execution.backends.sagemaker._handle import TERMINAL, SageMakerJobHandle
from loclab.execution.backends.sagemaker._record import RECORD_FILE, read_record, write_record
from loclab.execution.backends.sagemaker._request import (
    OFFLINE_MLFLOW_PATH,
    S3Layout,
    build_training_job_request,
    container_environment,
    job_tags,
    training_job_name,
)
from loclab.execution.backends.sagemaker._validate import validate_training_job
from loclab.execution.contract import JobLayout, write_input_config
from loclab.execution.entrypoint import CODE_CHANNEL, OFFLINE_MLFLOW_ENV
from loclab.execution.job import JobRequest

if TYPE_CHECKING:
    from loclab.spec import Experiment
    from loclab.spec.backend import SageMakerSettings

__all__ = ["RECORD_FILE", "JobStillRunningError", "SageMakerBackend"]

_ATTEMPTS = ".attempts"
#: SageMaker's persistent cache of a warm-pool instance (kept between its jobs).
WARM_POOL_CACHE = "/opt/ml/sagemaker/warmpoolcache/loclab"


class JobStillRunningError(AwsCallError):
    """An earlier attempt of the same job is still running on SageMaker."""


class SageMakerBackend(Backend):
    """Each job is a SageMaker training job running loclab's job entry point.

    Args:
        settings: Resolved SageMaker settings (see :mod:`loclab.spec.backend`).
        project_root: Folder the settings' ``code_dirs`` are relative to.
        metric_names: Metrics SageMaker extracts from the log (the sweep metric...).
        clients: AWS clients; built from ``settings.region`` and the default credential
            chain when None (endpoints honour ``AWS_ENDPOINT_URL``).
        poll_interval_s: Least time between two ``DescribeTrainingJob`` calls of one job
            (the settings' ``poll_interval_s`` when None).
        metrics_interval_s: Least time between two reads of a job's ``metrics.jsonl``
            (the settings' ``metrics_interval_s`` when None).
        collect_timeout_s: How long :meth:`SageMakerJobHandle.collect` waits for a job that
            is still stopping or uploading.
        download_model: Also unpack ``model.tar.gz`` into the run folder's ``model/``.
    """

    name = "sagemaker"

    def __init__(
        self,
        settings: SageMakerSettings,
        *,
        project_root: Path,
        metric_names: Iterable[str] = (),
        clients: AwsClients | None = None,
        poll_interval_s: float | None = None,
        metrics_interval_s: float | None = None,
        collect_timeout_s: float = 900.0,
        download_model: bool = False,
    ) -> None:
        self.settings = settings
        self.project_root = Path(project_root)
        self.metric_names = list(metric_names)
        self.clients = clients or AwsClients(settings.region)
        self.poll_interval_s = (
            settings.poll_interval_s if poll_interval_s is None else poll_interval_s
        )
        self.metrics_interval_s = (
            settings.metrics_interval_s if metrics_interval_s is None else metrics_interval_s
        )
        self.collect_timeout_s = collect_timeout_s
        self.download_model = download_model
        self.layout = S3Layout(settings.bucket, settings.prefix)
        self._stager: S3Stager | None = None

    @classmethod
    def from_experiment(cls, exp: Experiment, **kwargs: Any) -> SageMakerBackend:
        """The backend an experiment's spec asks for.

        Raises:
            SpecError: A setting is missing or invalid (``loclab validate`` says the same).
        """
        from loclab.exceptions import Problem, SpecError

        settings = exp.sagemaker
        if settings is None:
            raise SpecError(
                [Problem(exp.display_path, "backend", "the SageMaker settings were not resolved")]
            )
        metrics: list[str] = []
        if exp.spec.sweep is not None:
            metrics.append(exp.spec.sweep.metric)
        if exp.spec.compare is not None:
            metrics.extend(exp.spec.compare.metrics)
        return cls(settings, project_root=exp.root, metric_names=metrics, **kwargs)

    @property
    def stager(self) -> S3Stager:
        if self._stager is None:
            self._stager = S3Stager(self.clients.s3, self.clients.retry)
        return self._stager

    # -- launching ----------------------------------------------------------------------------

    def submit(
        self, request: JobRequest, run_dir: Path, env: Mapping[str, str]
    ) -> SageMakerJobHandle:
        layout = JobLayout(run_dir)
        _stage_locally(request, layout)
        earlier = _earlier_records(run_dir)
        self._refuse_if_running(request.name, earlier)
        used = {r.get("training_job_name") for r in earlier}
        attempt = 1
        while training_job_name(request.name, attempt) in used:
            attempt += 1
        job_name = training_job_name(request.name, attempt)
        body, mlflow = self.prepare(request, job_name, env)
        record: dict[str, Any] = {
            "job": request.name,
            "experiment": request.experiment,
            "training_job_name": job_name,
            "attempt": attempt,
            "region": self.settings.region,
            "checkpoints": body["CheckpointConfig"]["S3Uri"],
            "output": self.layout.output(request.experiment, job_name, ""),
            "mlflow": mlflow,
            "request": body,
        }
        # Written before the job exists: a launcher that dies right after CreateTrainingJob
        # still leaves the name behind for attach() and for the next attempt's check.
        write_record(run_dir, record)
        response = self._create(body)
        record["arn"] = response.get("TrainingJobArn")
        write_record(run_dir, record)
        return SageMakerJobHandle(self, run_dir, record)

    def prepare(
        self, request: JobRequest, job_name: str, env: Mapping[str, str]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Stage code and data to S3 and build the validated request (nothing is launched).

        Returns:
            The ``CreateTrainingJob`` parameters and how the job's MLflow run is handled.

        Raises:
            RequestValidationError: The request breaks a constraint (it is not sent).
        """
        settings = self.settings
        code_uri, channel_uris = self._stage(request)
        tracking = env.get("MLFLOW_TRACKING_URI")
        run_id = env.get("MLFLOW_RUN_ID")
        # The job logs to MLflow itself only when it can reach the launcher's store; otherwise
        # the launcher logs the job's metrics after it ended (see SageMakerJobHandle.collect).
        direct = bool(
            run_id and settings.mlflow_tracking_uri and tracking == settings.mlflow_tracking_uri
        )
        # The launcher's variables are for local jobs: a path on this machine means nothing in
        # the container, so only plain values go along.
        passed = {
            k: v
            for k, v in {**env, **request.job_env()}.items()
            if not k.startswith(("MLFLOW_", "SM_"))
            and k != "TRAINING_JOB_NAME"
            and not os.path.isabs(v)
        }
        if "LOCLAB_CACHE_DIR" in env and settings.keep_alive:
            # A warm pool keeps this folder between jobs on the same instance.
            passed["LOCLAB_CACHE_DIR"] = WARM_POOL_CACHE
        extra = {**settings.environment, **passed}
        if direct:
            extra.update({"MLFLOW_TRACKING_URI": str(tracking), "MLFLOW_RUN_ID": str(run_id)})
        elif run_id:
            # The kernel logs into a store of the job's own, copied into the run at the end.
            extra[OFFLINE_MLFLOW_ENV] = OFFLINE_MLFLOW_PATH
        environment = container_environment(
            request.notebook.name,
            code_dirs=[d for d in settings.code_dirs if (self.project_root / d).is_dir()],
            region=settings.region,
            extra=extra,
        )
        body = build_training_job_request(
            settings,
            job_name=job_name,
            experiment=request.experiment,
            hyperparameters=request.hyperparameters,
            code_uri=code_uri,
            channel_uris=channel_uris,
            environment=environment,
            metric_names=self.metric_names,
            tags=job_tags(request.experiment, request.name, request.tags),
        )
        problems = validate_training_job(body, region=settings.region)
        if problems:
            raise RequestValidationError("CreateTrainingJob", problems)
        mlflow = {"tracking_uri": tracking, "run_id": run_id, "direct": direct}
        return body, mlflow

    def _stage(self, request: JobRequest) -> tuple[str, dict[str, str]]:
        files = code_bundle(request.notebook, self.project_root, self.settings.code_dirs)
        digest = bundle_digest(files)
        code_uri = self.layout.code(digest)
        self.stager.upload_bundle(files, code_uri, self.layout.manifest("code", digest))
        channels: dict[str, str] = {}
        for name, path in sorted(request.channels.items()):
            if not path.exists():
                raise AwsCallError(
                    "upload", "MissingChannel", f"channel '{name}': {path} is missing"
                )
            data = folder_bundle(path)
            digest = bundle_digest(data, content=False)
            uri = self.layout.channel(name, digest)
            self.stager.upload_bundle(data, uri, self.layout.manifest(f"data-{name}", digest))
            channels[name] = uri
        return code_uri, channels

    def _create(self, body: dict[str, Any]) -> dict[str, Any]:
        sagemaker = self.clients.sagemaker
        name = body["TrainingJobName"]
        try:
            return self.clients.retry.call(sagemaker.create_training_job, **body)
        except Exception as err:
            code = error_code(err)
            if code is None:
                raise
            message = error_message(err)
            if code == "ResourceLimitExceeded":
                spot = "spot " if body.get("EnableManagedSpotTraining") else ""
                itype = body["ResourceConfig"]["InstanceType"]
                raise QuotaExceededError(
                    "CreateTrainingJob",
                    code,
                    f"SageMaker refused job {name}: {message}",
                    "the account's quota for this kind of instance is used up: wait for "
                    "running jobs to end, lower sweep.workers, or request more in Service "
                    f"Quotas (Amazon SageMaker, '{itype} for {spot}training job usage')",
                ) from None
            if code == "ResourceInUse":
                status = self._status_of(name)
                raise JobNameInUseError(
                    "CreateTrainingJob",
                    code,
                    f"a training job named {name} already exists"
                    + (f" ({status})" if status else ""),
                    "SageMaker never reuses a name, so loclab did not launch it twice; if it "
                    "is this job's earlier launch, wait for it or attach to it",
                ) from None
            fixes = {
                "AccessDeniedException": "the caller lacks a permission: see iam/user-policy.json",
                "ValidationException": "loclab's offline validation missed this; please report it",
            }
            raise AwsCallError("CreateTrainingJob", code, message, fixes.get(code, "")) from None

    def _status_of(self, job_name: str) -> str | None:
        try:
            found = self.clients.retry.call(
                self.clients.sagemaker.describe_training_job, TrainingJobName=job_name
            )
        except Exception:
            return None
        return str(found.get("TrainingJobStatus"))

    def _refuse_if_running(self, name: str, earlier: list[dict[str, Any]]) -> None:
        """A job whose last launch may still run on SageMaker is not launched again."""
        if not earlier:
            return
        last = earlier[-1]
        final = (last.get("final") or {}).get("TrainingJobStatus")
        job_name = last.get("training_job_name")
        if final in TERMINAL or not job_name:
            return
        status = self._status_of(job_name)
        if status in ("InProgress", "Stopping"):
            raise JobStillRunningError(
                "CreateTrainingJob",
                "JobStillRunning",
                f"the earlier launch of {name}, SageMaker job {job_name}, is still {status}",
                f"wait for it, attach to it, or stop it: aws sagemaker stop-training-job "
                f"--training-job-name {job_name}",
            )

    # -- re-attaching -------------------------------------------------------------------------

    def job_id(self, name: str) -> str:
        """The SageMaker name of loclab job ``name``'s first launch.

        :meth:`submit` uses it unless an earlier launch of the same job exists (``-r2``...).
        """
        return training_job_name(name)

    def attach(self, name: str, run_dir: Path) -> SageMakerJobHandle | None:
        """The running (or ended) SageMaker job of loclab job ``name``, launched earlier.

        A launcher restarted after a crash calls this instead of launching again: the job's
        name comes from ``sagemaker.json`` in ``run_dir`` (written before the job was created),
        else from the name's first attempt.

        Returns:
            A handle to poll, stop, read and collect as if this process had launched it; None
            when SageMaker has no such job.
        """
        record = read_record(run_dir) or {
            "job": name,
            "training_job_name": training_job_name(name),
            "region": self.settings.region,
        }
        job_name = record["training_job_name"]
        try:
            found = self.clients.retry.call(
                self.clients.sagemaker.describe_training_job, TrainingJobName=job_name
            )
        except Exception as err:
            if is_not_found(err):
                return None
            raise
        record.setdefault("arn", found.get("TrainingJobArn"))
        record.setdefault("checkpoints", (found.get("CheckpointConfig") or {}).get("S3Uri"))
        if "output" not in record:
            output = (found.get("OutputDataConfig") or {}).get("S3OutputPath", "")
            record["output"] = f"{output.rstrip('/')}/{job_name}/output/"
        record.setdefault("mlflow", {"tracking_uri": None, "run_id": None, "direct": False})
        handle = SageMakerJobHandle(self, run_dir, record)
        handle.described(found)
        return handle


def _stage_locally(request: JobRequest, layout: JobLayout) -> None:
    """The run folder gets the job's config and notebook, as for a local job (for reading)."""
    channels = {CODE_CHANNEL: request.notebook.parent, **request.channels}
    write_input_config(layout, request.hyperparameters, channels)
    code_dir = layout.channel_dir(CODE_CHANNEL)
    code_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(request.notebook, code_dir / request.notebook.name)


def _earlier_records(run_dir: Path) -> list[dict[str, Any]]:
    """``sagemaker.json`` of the job's earlier attempts, oldest first.

    The runner moves an earlier attempt's run folder to ``.attempts/<name>.<n>``.
    """
    folder = run_dir.parent / _ATTEMPTS
    found = []
    for path in folder.glob(f"{run_dir.name}.*"):
        if path.suffix[1:].isdigit():
            record = read_record(path)
            if record:
                found.append((int(path.suffix[1:]), record))
    return [r for _, r in sorted(found, key=lambda item: item[0])]
