"""The EventBridge Scheduler schedule of an experiment: the requests, checked offline.

Each tick is a SageMaker training job that EventBridge Scheduler starts itself, through its
universal target for ``CreateTrainingJob`` (``arn:aws:scheduler:::aws-sdk:sagemaker:
createTrainingJob``): the schedule's ``Input`` is the job's request as loclab's SageMaker
backend builds it (:func:`~loclab.execution.backends.sagemaker.build_training_job_request`),
with the project in the ``code`` channel and, as the container's command,
``python -m loclab.schedule._sagemaker_tick``: it brings the experiment's state down from S3,
runs ``loclab schedule run`` in the project, and puts the state, the reports and the tick's
log back. Every tick's job gets its own name from the scheduler's execution id.

S3 layout under ``s3://<bucket>/<prefix>/schedules/<experiment>/``::

    state/      the state folder (records, run folders, MLflow store without a server)
    reports/    the reports folder
    logs/       <timestamp>.log of each tick, ending with "[loclab] exit N"
    running.json  while a tick runs (a tick that finds a fresh one is skipped)

Both requests are validated offline against botocore's models (``scheduler`` and
``sagemaker``) and loclab's cross-field rules before anything is uploaded or sent.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from loclab.aws.errors import RequestProblem
from loclab.aws.s3 import join_uri
from loclab.execution.backends.sagemaker import (
    CONTAINER_ROOT,
    S3Layout,
    build_training_job_request,
    container_environment,
    job_tags,
    request_field,
    validate_training_job,
)

if TYPE_CHECKING:
    from loclab.spec.backend import SageMakerSettings

__all__ = [
    "CONTEXT_SAMPLES",
    "EXECUTION_ID",
    "SCHEDULE_GROUP",
    "TARGET_ARN",
    "TICK_MODULE",
    "ScheduleTarget",
    "schedule_field",
    "schedule_name",
    "schedule_request",
    "state_uri",
    "substitute_context",
    "tick_job_request",
    "validate_schedule",
]

#: Every loclab schedule lives in this schedule group (``list`` reads it; IAM scopes to it).
SCHEDULE_GROUP = "loclab"
#: EventBridge Scheduler's universal target for SageMaker's ``CreateTrainingJob``.
TARGET_ARN = "arn:aws:scheduler:::aws-sdk:sagemaker:createTrainingJob"
#: Replaced by EventBridge Scheduler with a new id for every invocation.
EXECUTION_ID = "<aws.scheduler.execution-id>"
#: Context attributes and values of their longest realistic form (for offline checks).
CONTEXT_SAMPLES = {
    EXECUTION_ID: "d32c5kdd-cf5b-b8c3-9f1e-0123456789ab",
    "<aws.scheduler.scheduled-time>": "2026-12-07T05:00:00Z",
    "<aws.scheduler.schedule-arn>": (
        "arn:aws:scheduler:eu-west-1:123456789012:schedule/loclab/experiment-0a1b2c3d"
    ),
    "<aws.scheduler.attempt-number>": "1",
}
#: What the tick's container runs (``python -m ...``).
TICK_MODULE = "loclab.schedule._sagemaker_tick"
#: Prefix of every tick's training job (the scheduler role may create only these).
TICK_PREFIX = "tick-"
_MAX_JOB_NAME = 63
_EXPRESSION = re.compile(r"cron\((\S+ ){5}\S+\)")
#: Retries of a failed CreateTrainingJob call (each retry gets a new execution id).
RETRY_POLICY = {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600}


def schedule_name(experiment: str, settings: SageMakerSettings) -> str:
    """The schedule's name: the experiment and a short hash of its S3 state location.

    Two projects with the same experiment name in one account (different buckets or
    prefixes) get different schedules.
    """
    digest = hashlib.sha256(state_uri(settings, experiment).encode()).hexdigest()[:8]
    return f"{experiment}-{digest}"


def state_uri(settings: SageMakerSettings, experiment: str) -> str:
    """Where an experiment's scheduled ticks keep their state, reports and logs."""
    return join_uri(S3Layout(settings.bucket, settings.prefix).root, "schedules", experiment) + "/"


def tick_job_name_template(experiment: str) -> str:
    """``tick-<experiment>-<execution id>``: unique per tick, within SageMaker's 63 characters."""
    room = _MAX_JOB_NAME - len(TICK_PREFIX) - 1 - len(CONTEXT_SAMPLES[EXECUTION_ID])
    return f"{TICK_PREFIX}{experiment[:room].rstrip('-')}-{EXECUTION_ID}"


@dataclass(frozen=True)
class ScheduleTarget:
    """What a tick's training job gets: the project, the data, and the tick's command.

    Attributes:
        experiment: The experiment name.
        spec: The spec's path inside the project (``experiments/x.yaml``).
        notebook: The notebook's file name (for the container environment).
        code_uri: S3 prefix of the project bundle (the ``code`` channel).
        channel_uris: Data channel name to the S3 prefix SageMaker downloads for each tick.
        state: :func:`state_uri`.
        scheduler_role_arn: The role EventBridge Scheduler assumes to start the job.
        code_dirs: The project's code folders in the bundle (put on ``PYTHONPATH``).
        metric_names: Metrics SageMaker extracts from the log.
    """

    experiment: str
    spec: str
    notebook: str
    code_uri: str
    channel_uris: Mapping[str, str]
    state: str
    scheduler_role_arn: str
    code_dirs: Sequence[str] = ()
    metric_names: Sequence[str] = ()


def tick_job_request(settings: SageMakerSettings, target: ScheduleTarget) -> dict[str, Any]:
    """The ``CreateTrainingJob`` request of every tick (with the execution-id placeholder)."""
    extra = dict(settings.environment)
    if settings.mlflow_tracking_uri:
        extra["MLFLOW_TRACKING_URI"] = settings.mlflow_tracking_uri
    environment = container_environment(
        target.notebook, code_dirs=target.code_dirs, region=settings.region, extra=extra
    )
    body = build_training_job_request(
        settings,
        job_name=tick_job_name_template(target.experiment),
        experiment=target.experiment,
        hyperparameters={},
        code_uri=target.code_uri,
        channel_uris=target.channel_uris,
        environment=environment,
        metric_names=target.metric_names,
        tags=job_tags(target.experiment, "schedule-tick"),
    )
    # A tick starts over when it is interrupted; it keeps no checkpoints.
    body.pop("CheckpointConfig", None)
    channels = [
        f"{name}={CONTAINER_ROOT}/input/data/{name}" for name in sorted(target.channel_uris)
    ]
    arguments = [
        "--root",
        CONTAINER_ROOT,
        "--job",
        body["TrainingJobName"],
        "--state",
        target.state,
        "--max-runtime",
        str(int(settings.max_runtime)),
        "--",
        "schedule",
        "run",
        target.spec,
        "--state-dir",
        "{state}",
        "--reports-dir",
        "{reports}",
    ]
    for channel in channels:
        arguments += ["--channel", channel]
    algorithm = body["AlgorithmSpecification"]
    algorithm["ContainerEntrypoint"] = ["python", "-m", TICK_MODULE]
    algorithm["ContainerArguments"] = arguments
    return body


def schedule_request(
    *,
    name: str,
    expression: str,
    timezone: str,
    target: ScheduleTarget,
    job_request: Mapping[str, Any],
    description: str,
) -> dict[str, Any]:
    """The ``CreateSchedule`` (and ``UpdateSchedule``) parameters."""
    return {
        "Name": name,
        "GroupName": SCHEDULE_GROUP,
        "ScheduleExpression": expression,
        "ScheduleExpressionTimezone": timezone,
        "Description": description[:512],
        "State": "ENABLED",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "ActionAfterCompletion": "NONE",
        "Target": {
            "Arn": TARGET_ARN,
            "RoleArn": target.scheduler_role_arn,
            "Input": json.dumps(job_request, sort_keys=True),
            "RetryPolicy": dict(RETRY_POLICY),
        },
    }


def substitute_context(text: str, values: Mapping[str, str] = CONTEXT_SAMPLES) -> str:
    """``text`` with EventBridge Scheduler's context attributes replaced, as it does."""
    for key, value in values.items():
        text = text.replace(key, value)
    return text


def validate_schedule(request: Mapping[str, Any], *, region: str) -> list[RequestProblem]:
    """Every problem of a ``CreateSchedule`` request and of the training job it starts.

    The schedule is checked against botocore's ``scheduler`` model; its ``Input``, once the
    context attributes are replaced as EventBridge Scheduler replaces them, against the
    ``sagemaker`` model and the training-job rules (paths ``Target.Input.<field>``).
    """
    from loclab.aws.validate import validate_request

    problems = validate_request("CreateSchedule", request, service="scheduler")
    expression = request.get("ScheduleExpression")
    if isinstance(expression, str) and not _EXPRESSION.fullmatch(expression):
        problems.append(
            RequestProblem(
                "ScheduleExpression",
                f"'{expression}' is not cron(minutes hours day-of-month month day-of-week year)",
            )
        )
    problems.extend(_timezone_rule(request.get("ScheduleExpressionTimezone")))
    target = request.get("Target")
    if not isinstance(target, Mapping):
        return problems
    if target.get("Arn") != TARGET_ARN:
        problems.append(RequestProblem("Target.Arn", f"must be {TARGET_ARN}"))
    text = target.get("Input")
    if not isinstance(text, str):
        return problems
    try:
        job = json.loads(substitute_context(text))
    except ValueError as err:
        return [*problems, RequestProblem("Target.Input", f"is not JSON: {err}")]
    if not isinstance(job, dict):
        return [*problems, RequestProblem("Target.Input", "must be a JSON object")]
    for found in validate_training_job(job, region=region):
        problems.append(RequestProblem(f"Target.Input.{found.path}", found.message, found.fix))
    return problems


def _timezone_rule(zone: Any) -> list[RequestProblem]:
    if not isinstance(zone, str):
        return []
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return [RequestProblem("ScheduleExpressionTimezone", f"'{zone}' is not an IANA zone")]
    return []


#: Schedule request paths → the input that sets them.
_FIELDS = (
    ("Name", "name"),
    ("ScheduleExpression", "schedule.cron"),
    ("ScheduleExpressionTimezone", "schedule.timezone"),
    ("Description", "SPEC"),
    ("Target.RoleArn", "--scheduler-role"),
)


def schedule_field(path: str) -> str:
    """The spec field or option behind a problem's request path."""
    if path.startswith("Target.Input."):
        inner = path.removeprefix("Target.Input.")
        if inner.startswith("AlgorithmSpecification.Container"):
            return "SPEC"
        return "name" if inner.startswith("TrainingJobName") else request_field(inner)
    for prefix, field in _FIELDS:
        if path == prefix or path.startswith(prefix + "."):
            return field
    return "backend"
