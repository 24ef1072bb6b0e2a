"""``loclab schedule install | list | remove --backend sagemaker``: EventBridge Scheduler."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from loclab.cli.app import ENVIRON, cli_problem, err, load
from loclab.exceptions import Problem, SpecError

if TYPE_CHECKING:
    from loclab.spec import Experiment, Spec
    from loclab.spec.backend import SageMakerSettings

__all__ = [
    "DEFAULT_SCHEDULER_ROLE",
    "SCHEDULER_ROLE_ENV",
    "install_eventbridge",
    "list_eventbridge",
    "remove_eventbridge",
    "settings_for_timer",
]

#: Where the role EventBridge Scheduler assumes can be given besides ``--scheduler-role``.
SCHEDULER_ROLE_ENV = "LOCLAB_SCHEDULER_ROLE_ARN"
#: The scheduler role's name when neither says (``iam/scheduler-role-*.json``).
DEFAULT_SCHEDULER_ROLE = "loclab-scheduler"

_ROLE = re.compile(r"arn:(aws[a-z-]*):iam::(\d{12}):role/.+")


def _split_channels(spec: Path, channels: list[str]) -> tuple[dict[str, str], list[str]]:
    """``--channel NAME=s3://...`` (read at every tick) apart from local paths."""
    from loclab.aws.s3 import BUCKET_NAME, parse_s3_uri

    live: dict[str, str] = {}
    local: list[str] = []
    for item in channels:
        name, sep, value = item.partition("=")
        value = value.strip()
        if not (sep and value.startswith("s3://")):
            local.append(item)
            continue
        bucket, _ = parse_s3_uri(value)
        if not BUCKET_NAME.fullmatch(bucket):
            raise SpecError(
                [cli_problem(f"--channel {name.strip()}", f"'{bucket}' is not an S3 bucket name")]
            )
        live[name.strip()] = value.rstrip("/") + "/"
        # The loader checks that a pointed channel exists; an S3 prefix is checked by
        # SageMaker at each tick, so any existing folder stands in for it here.
        local.append(f"{name}={spec.absolute().parent}")
    return live, local


def _scheduler_role(option: str | None, settings: SageMakerSettings) -> str:
    if option:
        return option
    if ENVIRON.get(SCHEDULER_ROLE_ENV):
        return ENVIRON[SCHEDULER_ROLE_ENV]
    found = _ROLE.fullmatch(settings.role_arn)
    if found is None:
        raise SpecError(
            [
                cli_problem(
                    "--scheduler-role",
                    "is not given and cannot be derived from backend.role_arn",
                    "pass the ARN of the role made from iam/scheduler-role-*.json",
                )
            ]
        )
    return f"arn:{found.group(1)}:iam::{found.group(2)}:role/{DEFAULT_SCHEDULER_ROLE}"


def install_eventbridge(spec: Path, channels: list[str], scheduler_role: str | None) -> None:
    """Check, upload and create (or replace) the spec's EventBridge Scheduler schedule."""
    from loclab.aws.clients import AwsClients
    from loclab.schedule.timers import EventBridgeTimers, plan_eventbridge

    live, local = _split_channels(spec, channels)
    exp = load(spec, None, local)
    settings = exp.sagemaker or settings_for_timer(exp.root, exp.display_path, exp.spec.backend)
    role = _scheduler_role(scheduler_role, settings)
    plan = plan_eventbridge(exp, settings, scheduler_role_arn=role, s3_channels=live)
    _warn(exp, settings, plan.frozen_channels)
    arn, created = EventBridgeTimers(AwsClients(settings.region)).install(plan)
    schedule = exp.spec.schedule
    assert schedule is not None
    verb = "created" if created else "replaced"
    typer.echo(f"{exp.name}: {verb} EventBridge Scheduler schedule {arn}")
    typer.echo(
        f"  when:      {plan.request['ScheduleExpression']} in {schedule.timezone} "
        f"('{schedule.cron}')"
    )
    job = plan.job_request
    typer.echo(
        f"  each tick: SageMaker training job {job['TrainingJobName']} on "
        f"{job['ResourceConfig']['InstanceType']} running loclab schedule run "
        f"{exp.spec_path.relative_to(exp.root).as_posix()}"
    )
    typer.echo(f"  state:     {plan.state} (state/, reports/, logs/)")
    typer.echo(f"  remove:    loclab schedule remove {spec} --backend sagemaker")


def _warn(exp: Experiment, settings: SageMakerSettings, frozen: tuple[str, ...]) -> None:
    for name in frozen:
        err(
            f"warning: channel {name} was uploaded once, now; every tick reads this copy. To "
            f"score new data at each tick, point it at S3: --channel {name}=s3://bucket/prefix/"
        )
    schedule = exp.spec.schedule
    assert schedule is not None
    for target in schedule.alert:
        for name in re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", target.value):
            if name not in settings.environment:
                err(
                    f"warning: schedule.alert: ${{{name}}} is not in the tick's environment "
                    "(backend.environment, or sagemaker.environment in loclab.yaml): each tick "
                    "will report this target as not configured"
                )
    if not settings.mlflow_tracking_uri:
        err(
            "warning: no backend.mlflow_tracking_uri: the ticks' MLflow runs stay in the "
            "state on S3 (set an MLflow server to see them in its UI)"
        )
    if exp.spec.backend.kind == "sagemaker":
        err(
            "warning: backend: sagemaker: each tick's job launches the experiment's jobs as "
            "more training jobs; its role then also needs iam/user-policy.json"
        )


def _region() -> str:
    """The region of ``list``: ``$LOCLAB_SAGEMAKER_REGION``, ``loclab.yaml``, ``$AWS_REGION``."""
    if ENVIRON.get("LOCLAB_SAGEMAKER_REGION"):
        return ENVIRON["LOCLAB_SAGEMAKER_REGION"]
    from loclab.spec import find_project_root

    defaults = find_project_root(Path.cwd()) / "loclab.yaml"
    if defaults.is_file():
        import yaml

        try:
            data = yaml.safe_load(defaults.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError:
            data = {}
        section = data.get("sagemaker") if isinstance(data, dict) else None
        if isinstance(section, dict) and section.get("region"):
            return str(section["region"])
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        if ENVIRON.get(name):
            return ENVIRON[name]
    raise SpecError(
        [
            cli_problem(
                "--backend sagemaker",
                "no region is set",
                "set sagemaker.region in loclab.yaml, $LOCLAB_SAGEMAKER_REGION or $AWS_REGION",
            )
        ]
    )


def list_eventbridge() -> None:
    """Print every schedule of the ``loclab`` schedule group with its newest tick."""
    from loclab.aws.clients import AwsClients
    from loclab.schedule.timers import SCHEDULE_GROUP, EventBridgeTimers

    region = _region()
    found = EventBridgeTimers(AwsClients(region)).list()
    if not found:
        typer.echo(f"no schedules in EventBridge Scheduler group '{SCHEDULE_GROUP}' ({region})")
        return
    for info in found:
        typer.echo(f"{info.name}  ({info.state.lower()}, {region})")
        typer.echo(f"  runs:      {info.description}")
        typer.echo(f"  when:      {info.expression} in {info.timezone}")
        typer.echo(f"  state:     {info.state_uri or '?'}")
        if info.last_log is None:
            shown = "none yet"
        else:
            uri, status = info.last_log
            shown = f"{uri}, " + (f"exit {status}" if status is not None else "running")
        typer.echo(f"  last tick: {shown}")


def remove_eventbridge(spec: Path, parsed: Spec, root: Path) -> None:
    """Delete the spec's schedule (its state, reports and logs on S3 are kept)."""
    from loclab.aws.clients import AwsClients
    from loclab.schedule.timers import SCHEDULE_GROUP, EventBridgeTimers, schedule_name, state_uri

    settings = settings_for_timer(root, str(spec), parsed.backend)
    name = schedule_name(parsed.name, settings)
    removed = EventBridgeTimers(AwsClients(settings.region)).remove(name)
    if removed:
        typer.echo(
            f"{parsed.name}: deleted schedule {SCHEDULE_GROUP}/{name}; its state, reports and "
            f"logs stay at {state_uri(settings, parsed.name)}"
        )
    else:
        typer.echo(f"{parsed.name}: no schedule {SCHEDULE_GROUP}/{name}; nothing removed")


def settings_for_timer(
    exp_root: Path, source: str, backend_spec: object | None
) -> SageMakerSettings:
    """SageMaker settings of a tick's job: the spec's, else the environment's and loclab.yaml's.

    Raises:
        SpecError: A setting is missing or invalid, each named with where to set it.
    """
    from loclab.spec import BackendSpec
    from loclab.spec.backend import resolve_sagemaker

    spec_backend = backend_spec if isinstance(backend_spec, BackendSpec) else None
    if spec_backend is None or spec_backend.kind != "sagemaker":
        spec_backend = BackendSpec(kind="sagemaker")
    settings, problems = resolve_sagemaker(
        spec_backend, root=exp_root, source=source, environ=ENVIRON
    )
    if settings is None:
        raise SpecError(problems or [Problem(source, "backend", "SageMaker settings missing")])
    return settings
