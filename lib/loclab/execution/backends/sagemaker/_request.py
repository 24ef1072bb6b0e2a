"""The ``CreateTrainingJob`` request loclab sends: names, S3 layout, building and checking it.

The container runs the same job entry point as the local backend
(``python -m loclab.execution.entrypoint``, root ``/opt/ml``); hyperparameters are the job's
string-encoded overrides; the notebook and the project's code arrive in the ``code`` channel;
metric definitions capture the ``[loclab-metric]`` lines :mod:`loclab.runtime` prints;
``/opt/ml/checkpoints`` is synced with S3 while the job runs.

S3 layout under ``s3://<bucket>/<prefix>/``::

    code/<digest>/                   notebook + code folders (content-addressed, shared)
    data/<channel>/<digest>/         input channels (content-addressed, shared)
    manifests/<kind>-<digest>.json   written last: the bundle above is complete
    <experiment>/<job>/checkpoints/  checkpoints and metrics.jsonl, synced while running
    <experiment>/<job>/output/       model.tar.gz, output.tar.gz (SageMaker's own layout)
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from loclab.aws.s3 import join_uri

if TYPE_CHECKING:
    from loclab.spec.backend import SageMakerSettings

__all__ = [
    "CHECKPOINT_PATH",
    "CONTAINER_ENTRYPOINT",
    "CONTAINER_ROOT",
    "LOG_GROUP",
    "MAX_JOB_NAME",
    "OFFLINE_MLFLOW_PATH",
    "OPERATION",
    "S3Layout",
    "build_training_job_request",
    "container_environment",
    "job_tags",
    "metric_definitions",
    "request_field",
    "training_job_name",
]

OPERATION = "CreateTrainingJob"
#: The container's root, as SageMaker mounts it.
CONTAINER_ROOT = "/opt/ml"
CHECKPOINT_PATH = f"{CONTAINER_ROOT}/checkpoints"
#: What the container runs: the job entry point, as the local backend runs it.
CONTAINER_ENTRYPOINT = ("python", "-m", "loclab.execution.entrypoint")
#: CloudWatch log group of training jobs (stream ``<job>/algo-1-<epoch>``).
LOG_GROUP = "/aws/sagemaker/TrainingJobs"
#: Where, under ``output/data``, a job that cannot reach the launcher's MLflow keeps a store
#: of its own (it comes home with ``output.tar.gz``; the launcher copies its run).
OFFLINE_MLFLOW_DIR = ".mlflow"
OFFLINE_MLFLOW_PATH = f"{CONTAINER_ROOT}/output/data/{OFFLINE_MLFLOW_DIR}"
MAX_JOB_NAME = 63
_NAME_OK = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
#: Request paths → the spec field that sets them (for ``loclab validate`` messages).
_FIELDS = (
    ("TrainingJobName", "name"),
    ("RoleArn", "backend.role_arn"),
    ("AlgorithmSpecification.TrainingImage", "backend.image_uri"),
    ("AlgorithmSpecification.MetricDefinitions", "backend.metrics"),
    ("ResourceConfig.InstanceType", "backend.instance_type"),
    ("ResourceConfig.InstanceCount", "backend.instance_count"),
    ("ResourceConfig.VolumeSizeInGB", "backend.volume_gb"),
    ("ResourceConfig.KeepAlivePeriodInSeconds", "backend.keep_alive"),
    ("StoppingCondition.MaxRuntimeInSeconds", "backend.max_runtime"),
    ("StoppingCondition.MaxWaitTimeInSeconds", "backend.max_wait"),
    ("EnableManagedSpotTraining", "backend.spot"),
    ("VpcConfig.Subnets", "backend.subnets"),
    ("VpcConfig.SecurityGroupIds", "backend.security_groups"),
    ("VpcConfig", "backend.subnets"),
    ("Tags", "backend.tags"),
    ("Environment", "backend.environment"),
    ("HyperParameters", "params"),
    ("InputDataConfig", "channels"),
    ("OutputDataConfig", "backend.bucket"),
    ("CheckpointConfig", "backend.bucket"),
)


def request_field(path: str) -> str:
    """The spec field behind a request path, e.g. ``backend.instance_type``.

    ``backend`` when no field is more precise.
    """
    keyed = re.fullmatch(r'(HyperParameters|Environment)\["(.*)"\]', path)
    if keyed:
        base = "params" if keyed.group(1) == "HyperParameters" else "backend.environment"
        return f"{base}.{keyed.group(2)}"
    for prefix, field in _FIELDS:
        if path == prefix or path.startswith((prefix + ".", prefix + "[")):
            return field
    return "backend"


def training_job_name(name: str, attempt: int = 1) -> str:
    """The SageMaker name of loclab job ``name``: deterministic and always valid.

    loclab's names (``term-qa-t12-a1``, ``quickstart-neural-s0``) are valid as they are.
    Other characters become hyphens and a name too long keeps its start; either way a short
    hash of the original is appended, so two names never collide. Attempts after the first
    (a job run again after it failed) get ``-r<attempt>``: SageMaker never reuses a name.
    """
    suffix = f"-r{attempt}" if attempt > 1 else ""
    base = re.sub(r"[^a-zA-Z0-9-]+", "-", name).strip("-") or "job"
    if len(base) + len(suffix) > MAX_JOB_NAME or base != name:
        # A hash of the original keeps two names apart that differ only where they were cut
        # or rewritten ("a_b" and "a.b").
        digest = hashlib.sha256(name.encode()).hexdigest()[:8]
        keep = MAX_JOB_NAME - len(suffix) - len(digest) - 1
        base = f"{base[:keep].rstrip('-')}-{digest}"
    return base + suffix


@dataclass(frozen=True)
class S3Layout:
    """Where a project's objects live in its bucket (see the module docstring)."""

    bucket: str
    prefix: str = "loclab"

    @property
    def root(self) -> str:
        return join_uri(f"s3://{self.bucket}", self.prefix)

    def code(self, digest: str) -> str:
        """Prefix of a code bundle."""
        return join_uri(self.root, "code", digest) + "/"

    def channel(self, name: str, digest: str) -> str:
        """Prefix of an input channel's data."""
        return join_uri(self.root, "data", name, digest) + "/"

    def manifest(self, kind: str, digest: str) -> str:
        """Manifest object of a bundle (written after its files)."""
        return join_uri(self.root, "manifests", f"{kind}-{digest}.json")

    def output_path(self, experiment: str) -> str:
        """``OutputDataConfig.S3OutputPath``: SageMaker adds ``<job>/output/``."""
        return join_uri(self.root, experiment) + "/"

    def job(self, experiment: str, job: str) -> str:
        """Everything of one job."""
        return join_uri(self.root, experiment, job) + "/"

    def checkpoints(self, experiment: str, job: str) -> str:
        """``CheckpointConfig.S3Uri`` of a job."""
        return join_uri(self.root, experiment, job, "checkpoints") + "/"

    def output(self, experiment: str, job: str, name: str) -> str:
        """``model.tar.gz`` or ``output.tar.gz`` of a job."""
        return join_uri(self.root, experiment, job, "output", name)


def metric_definitions(names: Iterable[str]) -> list[dict[str, str]]:
    """``MetricDefinitions`` for the ``[loclab-metric]`` lines, one per distinct name."""
    from loclab.execution.contract import metric_regex

    seen: list[str] = []
    for name in names:
        if name and name not in seen:
            seen.append(name)
    return [{"Name": name, "Regex": metric_regex(name)} for name in seen]


def container_environment(
    notebook_name: str,
    *,
    code_dirs: Iterable[str] = (),
    region: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The training container's environment: what the local backend sets, plus code paths.

    The project's code folders come first on ``PYTHONPATH``, so the job (and its kernel) runs
    the code as it was when the job was launched, not the copy baked into the image.
    """
    env = {
        "LOCLAB_NOTEBOOK": notebook_name,
        "PYTHONUNBUFFERED": "1",
        "MPLBACKEND": "Agg",
        "TQDM_DISABLE": "1",
    }
    paths = [f"{CONTAINER_ROOT}/input/data/code/{d.strip('/')}" for d in code_dirs]
    if paths:
        env["PYTHONPATH"] = ":".join(paths)
    if region:
        env["AWS_DEFAULT_REGION"] = region
    env.update(extra or {})
    return env


def build_training_job_request(
    settings: SageMakerSettings,
    *,
    job_name: str,
    experiment: str,
    hyperparameters: Mapping[str, str],
    code_uri: str,
    channel_uris: Mapping[str, str],
    environment: Mapping[str, str],
    metric_names: Iterable[str] = (),
    tags: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The ``CreateTrainingJob`` parameters of one job.

    Args:
        settings: Resolved SageMaker settings.
        job_name: The SageMaker job name (see :func:`training_job_name`).
        experiment: The experiment (the job's S3 folder).
        hyperparameters: String values, as ``hyperparameters.json`` holds them.
        code_uri: Prefix of the code bundle (the ``code`` channel).
        channel_uris: Data channel name to its S3 prefix.
        environment: Container environment (see :func:`container_environment`).
        metric_names: Metrics SageMaker extracts from the log.
        tags: Job tags besides the settings' own.
    """
    layout = S3Layout(settings.bucket, settings.prefix)
    channels = [_channel("code", code_uri)]
    channels += [_channel(name, uri) for name, uri in sorted(channel_uris.items())]
    algorithm: dict[str, Any] = {
        "TrainingImage": settings.image_uri,
        "TrainingInputMode": "File",
        "ContainerEntrypoint": list(CONTAINER_ENTRYPOINT),
    }
    definitions = metric_definitions([*metric_names, *settings.metrics])
    if definitions:
        algorithm["MetricDefinitions"] = definitions
    resources: dict[str, Any] = {
        "InstanceType": settings.instance_type,
        "InstanceCount": settings.instance_count,
        "VolumeSizeInGB": settings.volume_gb,
    }
    if settings.keep_alive:
        resources["KeepAlivePeriodInSeconds"] = int(settings.keep_alive)
    stopping: dict[str, Any] = {"MaxRuntimeInSeconds": int(settings.max_runtime)}
    if settings.max_wait is not None:
        stopping["MaxWaitTimeInSeconds"] = int(settings.max_wait)
    request: dict[str, Any] = {
        "TrainingJobName": job_name,
        "RoleArn": settings.role_arn,
        "AlgorithmSpecification": algorithm,
        "HyperParameters": dict(hyperparameters),
        "InputDataConfig": channels,
        "OutputDataConfig": {"S3OutputPath": layout.output_path(experiment)},
        "CheckpointConfig": {
            "S3Uri": layout.checkpoints(experiment, job_name),
            "LocalPath": CHECKPOINT_PATH,
        },
        "ResourceConfig": resources,
        "StoppingCondition": stopping,
        "Environment": dict(environment),
    }
    if settings.spot:
        request["EnableManagedSpotTraining"] = True
    if settings.subnets or settings.security_groups:
        vpc: dict[str, Any] = {}
        if settings.subnets:
            vpc["Subnets"] = list(settings.subnets)
        if settings.security_groups:
            vpc["SecurityGroupIds"] = list(settings.security_groups)
        request["VpcConfig"] = vpc
    all_tags = {**settings.tags, **(tags or {})}
    if all_tags:
        request["Tags"] = [{"Key": k, "Value": v} for k, v in all_tags.items()]
    return request


def _channel(name: str, uri: str) -> dict[str, Any]:
    return {
        "ChannelName": name,
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": uri,
                "S3DataDistributionType": "FullyReplicated",
            }
        },
        "InputMode": "File",
    }


def job_tags(experiment: str, job: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Tags loclab puts on each job (find a project's jobs and costs in the console)."""
    return {"loclab:experiment": experiment, "loclab:job": job, **(extra or {})}
