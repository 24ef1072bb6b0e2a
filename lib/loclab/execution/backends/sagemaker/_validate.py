"""Checking ``CreateTrainingJob`` requests before AWS sees them.

:func:`validate_training_job` applies botocore's service model (lengths, patterns, enums) and
the cross-field rules it cannot express (:func:`training_job_rules`);
:func:`validate_experiment` does so for every request an experiment can send.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from loclab.aws.errors import RequestProblem
from loclab.aws.s3 import BUCKET_NAME
from loclab.exceptions import Problem
from loclab.execution.backends.sagemaker._request import (
    OFFLINE_MLFLOW_PATH,
    OPERATION,
    S3Layout,
    build_training_job_request,
    container_environment,
    job_tags,
    request_field,
    training_job_name,
)
from loclab.execution.entrypoint import OFFLINE_MLFLOW_ENV

if TYPE_CHECKING:
    from loclab.spec import Experiment

__all__ = ["training_job_rules", "validate_experiment", "validate_training_job"]

_ECR = re.compile(r"(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/.+")
_IMAGE = re.compile(
    r"[a-z0-9.-]+(?::\d+)?/[a-z0-9._/-]+(?::[A-Za-z0-9_.-]{1,128}|@sha256:[0-9a-f]{64})"
)


def training_job_rules(
    request: Mapping[str, Any], *, region: str | None = None
) -> list[RequestProblem]:
    """Cross-field rules of ``CreateTrainingJob`` that the service model cannot express.

    Args:
        request: The request.
        region: The region the job is sent to (checks the image's ECR region).
    """
    out: list[RequestProblem] = []
    stopping = request.get("StoppingCondition") or {}
    resources = request.get("ResourceConfig") or {}
    spot = bool(request.get("EnableManagedSpotTraining"))
    runtime = stopping.get("MaxRuntimeInSeconds")
    wait = stopping.get("MaxWaitTimeInSeconds")
    where = "StoppingCondition.MaxWaitTimeInSeconds"
    if spot and wait is None:
        out.append(
            RequestProblem(
                where,
                "is required with managed spot training",
                "set it longer than MaxRuntimeInSeconds: it covers waiting for spot capacity "
                "plus the run",
            )
        )
    elif spot and isinstance(wait, int) and isinstance(runtime, int) and wait <= runtime:
        out.append(
            RequestProblem(
                where,
                f"is {wait} s; with managed spot training it must be longer than "
                f"MaxRuntimeInSeconds ({runtime} s)",
                "it covers waiting for spot capacity plus the run",
            )
        )
    elif not spot and wait is not None:
        out.append(RequestProblem(where, "is only allowed with managed spot training"))
    if spot and resources.get("KeepAlivePeriodInSeconds"):
        out.append(
            RequestProblem(
                "ResourceConfig.KeepAlivePeriodInSeconds",
                "warm pools cannot be used with managed spot training",
                "set keep_alive to 0 or spot to false",
            )
        )
    for key, what in (("InstanceCount", "instance"), ("VolumeSizeInGB", "GB of storage")):
        value = resources.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value < 1:
            out.append(
                RequestProblem(
                    f"ResourceConfig.{key}", f"is {value}; a job needs at least 1 {what}"
                )
            )
    out.extend(_s3_rules(request))
    out.extend(_tag_rules(request.get("Tags") or []))
    out.extend(_metric_rules(request.get("AlgorithmSpecification") or {}))
    image = (request.get("AlgorithmSpecification") or {}).get("TrainingImage")
    if isinstance(image, str):
        out.extend(_image_rules(image, region))
    return out


def _s3_rules(request: Mapping[str, Any]) -> list[RequestProblem]:
    out: list[RequestProblem] = []
    uris: list[tuple[str, Any]] = [
        (
            "OutputDataConfig.S3OutputPath",
            (request.get("OutputDataConfig") or {}).get("S3OutputPath"),
        ),
        ("CheckpointConfig.S3Uri", (request.get("CheckpointConfig") or {}).get("S3Uri")),
    ]
    names: list[str] = []
    for i, channel in enumerate(request.get("InputDataConfig") or []):
        if not isinstance(channel, Mapping):
            continue
        source = (channel.get("DataSource") or {}).get("S3DataSource") or {}
        uris.append((f"InputDataConfig[{i}].DataSource.S3DataSource.S3Uri", source.get("S3Uri")))
        name = channel.get("ChannelName")
        if name in names:
            out.append(
                RequestProblem(f"InputDataConfig[{i}].ChannelName", f"'{name}' appears twice")
            )
        names.append(str(name))
    for path, uri in uris:
        if not isinstance(uri, str):
            continue
        if not uri.startswith("s3://"):
            # The model's pattern reports anything else; https:// passes it but loclab's
            # staging and SageMaker's checkpoint sync want s3://.
            if uri.startswith("https://"):
                out.append(RequestProblem(path, f"'{uri}' is not an s3:// URI"))
            continue
        bucket = uri[5:].partition("/")[0]
        if not BUCKET_NAME.fullmatch(bucket):
            out.append(
                RequestProblem(
                    path,
                    f"'{bucket}' is not a valid S3 bucket name",
                    "3 to 63 lower-case letters, digits, dots and hyphens",
                )
            )
    return out


def _tag_rules(tags: list[Any]) -> list[RequestProblem]:
    out: list[RequestProblem] = []
    seen: set[str] = set()
    for i, tag in enumerate(tags):
        key = tag.get("Key") if isinstance(tag, Mapping) else None
        if not isinstance(key, str):
            continue
        if key.lower().startswith("aws:"):
            out.append(RequestProblem(f"Tags[{i}].Key", f"'{key}': the aws: prefix is reserved"))
        if key in seen:
            out.append(RequestProblem(f"Tags[{i}].Key", f"'{key}' appears twice"))
        seen.add(key)
    return out


def _metric_rules(algorithm: Mapping[str, Any]) -> list[RequestProblem]:
    out: list[RequestProblem] = []
    seen: set[str] = set()
    for i, item in enumerate(algorithm.get("MetricDefinitions") or []):
        if not isinstance(item, Mapping):
            continue
        name, pattern = item.get("Name"), item.get("Regex")
        where = f"AlgorithmSpecification.MetricDefinitions[{i}]"
        if name in seen:
            out.append(RequestProblem(f"{where}.Name", f"'{name}' appears twice"))
        seen.add(str(name))
        if not isinstance(pattern, str):
            continue
        try:
            groups = re.compile(pattern).groups
        except re.error as err:
            out.append(RequestProblem(f"{where}.Regex", f"does not compile: {err}"))
            continue
        if groups != 1:
            out.append(
                RequestProblem(
                    f"{where}.Regex",
                    f"has {groups} capture groups; it needs exactly one (the value)",
                )
            )
    return out


def _image_rules(image: str, region: str | None) -> list[RequestProblem]:
    where = "AlgorithmSpecification.TrainingImage"
    if not image:
        return [RequestProblem(where, "must not be empty", "build and push the Dockerfile")]
    ecr = _ECR.fullmatch(image)
    if ecr is None and not _IMAGE.fullmatch(image):
        return [
            RequestProblem(
                where,
                f"'{image}' is not an image URI",
                "expected e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/loclab:0.1.0",
            )
        ]
    if ecr is not None and region and ecr.group(2) != region:
        return [
            RequestProblem(
                where,
                f"the image is in {ecr.group(2)} but the job runs in {region}",
                "push the image to ECR in the job's region",
            )
        ]
    return []


def validate_training_job(
    request: Mapping[str, Any], *, region: str | None = None
) -> list[RequestProblem]:
    """Every problem of a ``CreateTrainingJob`` request: model constraints, then the rules."""
    from loclab.aws.validate import validate_request

    return [*validate_request(OPERATION, request), *training_job_rules(request, region=region)]


def validate_experiment(exp: Experiment) -> list[Problem]:
    """Problems AWS would find in the experiment's ``CreateTrainingJob`` requests.

    Every kind of job the experiment can launch (:func:`loclab.execution.plan.every_plan`:
    its jobs and trials, with the search space's extreme values) is planned by the real
    planners and built into the request the backend would send, with placeholder digests of
    realistic length; each is validated offline against botocore's service model and
    loclab's cross-field rules. Each problem is reported once, against the spec field it
    comes from. Nothing is uploaded or sent.
    """
    from loclab.execution.plan import every_plan, make_request
    from loclab.spec.backend import spec_words

    settings = exp.sagemaker
    if settings is None:
        return []
    digest = "0" * 16
    layout = S3Layout(settings.bucket, settings.prefix)
    extra = dict(settings.environment)
    if settings.mlflow_tracking_uri:
        extra.update(MLFLOW_TRACKING_URI=settings.mlflow_tracking_uri, MLFLOW_RUN_ID="0" * 32)
    else:
        extra[OFFLINE_MLFLOW_ENV] = OFFLINE_MLFLOW_PATH
    environment = container_environment(
        exp.notebook_path.name, code_dirs=settings.code_dirs, region=settings.region, extra=extra
    )
    metrics = ([exp.spec.sweep.metric] if exp.spec.sweep else []) + (
        list(exp.spec.compare.metrics) if exp.spec.compare else []
    )
    problems: list[Problem] = []
    seen: set[str] = set()
    for plan in every_plan(exp):
        request = make_request(exp, plan)
        body = build_training_job_request(
            settings,
            job_name=training_job_name(request.name, attempt=9),
            experiment=exp.name,
            hyperparameters=request.hyperparameters,
            code_uri=layout.code(digest),
            channel_uris={ch: layout.channel(ch, digest) for ch in request.channels},
            environment=environment,
            metric_names=metrics,
            tags=job_tags(exp.name, request.name, request.tags),
        )
        for problem in validate_training_job(body, region=settings.region):
            field = request_field(problem.path)
            where = f"CreateTrainingJob {problem.path}"
            name = field.removeprefix("backend.").split(".")[0]
            if field.startswith("backend.") and settings.origin(name) not in (
                "in the spec",
                "default",
            ):
                where += f"; {settings.origin(name)}"
            found = Problem(
                exp.display_path,
                field,
                f"{spec_words(problem.message)} ({where})",
                spec_words(problem.fix),
            )
            if str(found) not in seen:
                seen.add(str(found))
                problems.append(found)
    return problems
