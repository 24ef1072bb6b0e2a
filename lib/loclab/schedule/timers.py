"""Timers that call ``loclab schedule run``: a crontab entry, or an EventBridge Scheduler schedule.

Real engines, not a home-made daemon:

* **One machine**: :func:`plan_cron` builds the crontab line of an experiment (absolute paths,
  its own ``PATH``, each tick's output appended to
  ``<state>/schedules/<experiment>/<timestamp>.log``), :func:`install_cron` puts it into the
  user's crontab through ``crontab -l`` / ``crontab -`` (replacing the experiment's earlier
  line), :func:`list_cron` and :func:`remove_cron` find lines by their marker
  (see :mod:`loclab.schedule._crontab`; time zones: :mod:`loclab.schedule._cron`).
* **AWS**: :func:`plan_eventbridge` builds and checks offline the ``CreateSchedule`` request
  whose target starts each tick as a SageMaker training job;
  :class:`EventBridgeTimers` uploads the project and creates, lists and deletes schedules
  (see :mod:`loclab.schedule._eventbridge`).

Nothing is written before every check passed: a plan is complete and validated first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from loclab.aws.s3 import CODE_EXCLUDES, MAX_CODE_BYTES, bundle_digest, folder_bundle
from loclab.exceptions import Problem, SpecError
from loclab.schedule._cron import (
    CronError,
    CronPlacement,
    debian_cron_problem,
    eventbridge_expression,
    is_due,
    machine_timezone,
    place_in_crontab,
)
from loclab.schedule._crontab import (
    EXIT_LINE,
    MAX_LINE,
    CronEntry,
    CrontabError,
    cron_unescape,
    entry_line,
    last_log,
    parse_entries,
    read_crontab,
    replace_entry,
    tick_command,
    write_crontab,
)
from loclab.schedule._eventbridge import (
    SCHEDULE_GROUP,
    TARGET_ARN,
    ScheduleTarget,
    schedule_field,
    schedule_name,
    schedule_request,
    state_uri,
    substitute_context,
    tick_job_request,
    validate_schedule,
)
from loclab.schedule._timers_aws import EventBridgeTimers, ScheduleInfo

if TYPE_CHECKING:
    from loclab.spec import Experiment, ScheduleSpec
    from loclab.spec.backend import SageMakerSettings

__all__ = [
    "EXIT_LINE",
    "SCHEDULE_GROUP",
    "TARGET_ARN",
    "CronEntry",
    "CronError",
    "CronPlacement",
    "CronPlan",
    "CrontabError",
    "EventBridgePlan",
    "EventBridgeTimers",
    "ScheduleInfo",
    "cron_unescape",
    "eventbridge_expression",
    "install_cron",
    "is_due",
    "last_log",
    "list_cron",
    "machine_timezone",
    "parse_entries",
    "place_in_crontab",
    "plan_cron",
    "plan_eventbridge",
    "project_bundle",
    "remove_cron",
    "schedule_log_dir",
    "schedule_name",
    "state_uri",
    "substitute_context",
]


def _schedule(exp: Experiment) -> ScheduleSpec:
    """The experiment's ``schedule:`` section.

    Raises:
        SpecError: It has none.
    """
    if exp.spec.schedule is None:
        raise SpecError(
            [
                Problem(
                    exp.display_path,
                    "schedule",
                    "the spec has no schedule: section, so there is nothing to install",
                    "add one, e.g. schedule: {cron: '0 6 * * MON', timezone: Europe/Berlin}",
                )
            ]
        )
    return exp.spec.schedule


def schedule_log_dir(state_dir: Path, experiment: str) -> Path:
    """Where the crontab entry writes each tick's log: ``<state>/schedules/<experiment>``."""
    return state_dir / "schedules" / experiment


@dataclass(frozen=True)
class CronPlan:
    """The crontab line of an experiment, checked and ready to install.

    Attributes:
        line: The line as written into the crontab.
        command: The command cron runs (``%`` unescaped).
        placement: How the schedule's time zone was handled.
        log_dir: Where each tick's log goes.
        project: The project folder (the marker's).
        experiment: The experiment (the marker's).
    """

    line: str
    command: str
    placement: CronPlacement
    log_dir: Path
    project: Path
    experiment: str


def plan_cron(
    exp: Experiment,
    *,
    state_dir: Path,
    loclab: Sequence[str],
    machine: ZoneInfo | None = None,
    run_options: Sequence[str] = (),
    env_file: Path | None = None,
) -> CronPlan:
    """The crontab line that runs ``loclab schedule run`` on the spec's schedule.

    Args:
        exp: The experiment, checked.
        state_dir: The state folder (absolute) for ``--state-dir``.
        loclab: The absolute ``loclab`` executable (or interpreter, ``-m``, ``loclab``).
        machine: The cron daemon's time zone (:func:`machine_timezone` when None).
        run_options: More ``schedule run`` options (absolute ``--channel`` paths...).
        env_file: ``NAME=value`` lines read before each tick (webhooks, servers...).

    Raises:
        SpecError: No schedule, syntax Debian's cron does not know, or a line too long.
    """
    schedule = _schedule(exp)
    problem = debian_cron_problem(schedule.cron)
    if problem is not None:
        raise SpecError(
            [
                Problem(
                    exp.display_path,
                    "schedule.cron",
                    problem,
                    "rewrite it in the classic syntax, or schedule on AWS with --backend "
                    "sagemaker",
                )
            ]
        )
    placement = place_in_crontab(schedule.cron, schedule.timezone, machine or machine_timezone())
    log_dir = schedule_log_dir(state_dir, exp.name)
    command = tick_command(
        project=exp.root,
        loclab=loclab,
        spec=exp.spec_path,
        state_dir=state_dir,
        log_dir=log_dir,
        run_options=run_options,
        guard=(schedule.cron, schedule.timezone) if placement.guarded else None,
        env_file=env_file,
    )
    if "\n" in command:
        raise SpecError(
            [Problem(exp.display_path, "", "a path holds a line break", "rename the folder")]
        )
    line = entry_line(placement.expression, command, exp.root, exp.name)
    if len(line) > MAX_LINE:
        raise SpecError(
            [
                Problem(
                    exp.display_path,
                    "",
                    f"the crontab line would be {len(line)} characters; Debian's cron keeps "
                    f"{MAX_LINE}",
                    "use shorter paths (project, virtual environment, --state-dir, --env-file)",
                )
            ]
        )
    return CronPlan(line, command, placement, log_dir, exp.root, exp.name)


def install_cron(plan: CronPlan, *, user: str | None = None) -> int:
    """Put the plan's line into the crontab, replacing the experiment's earlier one.

    Returns:
        How many earlier lines of the same project and experiment were replaced.

    Raises:
        CrontabError: ``crontab`` is missing or refused the table.
    """
    text, replaced = replace_entry(read_crontab(user), plan.project, plan.experiment, plan.line)
    write_crontab(text, user)
    return replaced


def remove_cron(project: Path, experiment: str, *, user: str | None = None) -> int:
    """Remove the experiment's line from the crontab; return how many were removed.

    Raises:
        CrontabError: ``crontab`` is missing or refused the table.
    """
    current = read_crontab(user)
    text, removed = replace_entry(current, project, experiment, None)
    if removed:
        write_crontab(text, user)
    return removed


def list_cron(*, user: str | None = None) -> list[CronEntry]:
    """Every loclab line of the crontab.

    Raises:
        CrontabError: ``crontab`` is missing or failed.
    """
    return parse_entries(read_crontab(user))


# -- AWS ----------------------------------------------------------------------------------------


def project_bundle(exp: Experiment, code_dirs: Sequence[str]) -> dict[str, Path]:
    """The project files a tick needs, by path inside the project.

    The spec, its notebook, ``loclab.yaml``, ``pyproject.toml`` (the project root's marker),
    a project report notebook, and the code folders.

    Raises:
        SpecError: The notebook lies outside the project, or the bundle is too large.
    """
    root = exp.root
    files: dict[str, Path] = {}
    for path in (exp.spec_path, exp.notebook_path):
        try:
            files[path.relative_to(root).as_posix()] = path
        except ValueError:
            raise SpecError(
                [
                    Problem(
                        exp.display_path,
                        "notebook",
                        f"{path} is outside the project {root}",
                        "keep the spec and its notebook inside the project",
                    )
                ]
            ) from None
    for name in ("loclab.yaml", "pyproject.toml", "notebooks/templates/report.ipynb"):
        if (root / name).is_file():
            files[name] = root / name
    for rel in code_dirs:
        folder = root / rel
        if folder.is_dir():
            for name, path in folder_bundle(folder, excludes=CODE_EXCLUDES).items():
                if ".egg-info" not in name:
                    files[f"{Path(rel).as_posix().strip('/')}/{name}"] = path
    size = sum(p.stat().st_size for p in files.values())
    if size > MAX_CODE_BYTES:
        raise SpecError(
            [
                Problem(
                    exp.display_path,
                    "backend.code_dirs",
                    f"the project sent with each tick is {size / 1e6:.0f} MB (limit "
                    f"{MAX_CODE_BYTES / 1e6:.0f} MB)",
                    "move data out of the code folders and into a channel",
                )
            ]
        )
    return files


@dataclass(frozen=True)
class EventBridgePlan:
    """An EventBridge Scheduler schedule, validated offline and ready to create.

    Attributes:
        request: The ``CreateSchedule`` parameters.
        job_request: The ``CreateTrainingJob`` request each tick sends (with the
            execution-id placeholder).
        code: The project bundle and its S3 prefix and manifest.
        channels: Local channels uploaded once: name to (files, prefix, manifest).
        state: Where the ticks keep their state on S3.
        frozen_channels: Channels read from a copy made now (not a live S3 prefix).
    """

    request: dict[str, Any]
    job_request: dict[str, Any]
    code: tuple[dict[str, Path], str, str]
    channels: dict[str, tuple[dict[str, Path], str, str]] = field(default_factory=dict)
    state: str = ""
    frozen_channels: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The schedule's name."""
        return str(self.request["Name"])


def plan_eventbridge(
    exp: Experiment,
    settings: SageMakerSettings,
    *,
    scheduler_role_arn: str,
    s3_channels: Mapping[str, str] | None = None,
) -> EventBridgePlan:
    """The schedule whose ticks run ``loclab schedule run`` as SageMaker training jobs.

    Args:
        exp: The experiment, checked (its local channels are uploaded once, at install).
        settings: The SageMaker settings of the tick's job (instance, image, bucket, role).
        scheduler_role_arn: The role EventBridge Scheduler assumes
            (``iam/scheduler-role-policy.json``).
        s3_channels: Channels read from an S3 prefix at every tick (``--channel
            NAME=s3://...``): new data there is what each tick scores.

    Raises:
        SpecError: No schedule, a cron expression EventBridge cannot express, or a request
            that breaks the service models or loclab's rules (one problem per line).
    """
    from loclab.aws.s3 import parse_s3_uri
    from loclab.execution.backends.sagemaker import S3Layout

    schedule = _schedule(exp)
    try:
        expression = eventbridge_expression(schedule.cron)
    except CronError as err:
        raise SpecError([Problem(exp.display_path, "schedule.cron", str(err))]) from None
    layout = S3Layout(settings.bucket, settings.prefix)
    code_files = project_bundle(exp, settings.code_dirs)
    digest = bundle_digest(code_files)
    code = (code_files, layout.code(digest), layout.manifest("schedule", digest))
    live = dict(s3_channels or {})
    for uri in live.values():
        parse_s3_uri(uri)
    uploads: dict[str, tuple[dict[str, Path], str, str]] = {}
    for name, path in sorted(exp.channels.items()):
        if name in live:
            continue
        files = folder_bundle(path)
        data_digest = bundle_digest(files, content=False)
        uploads[name] = (
            files,
            layout.channel(name, data_digest),
            layout.manifest(f"data-{name}", data_digest),
        )
    metrics = ([exp.spec.sweep.metric] if exp.spec.sweep else []) + (
        list(exp.spec.compare.metrics) if exp.spec.compare else []
    )
    name = schedule_name(exp.name, settings)
    target = ScheduleTarget(
        experiment=exp.name,
        spec=exp.spec_path.relative_to(exp.root).as_posix(),
        notebook=exp.notebook_path.name,
        code_uri=code[1],
        channel_uris={**{k: v[1] for k, v in uploads.items()}, **live},
        state=state_uri(settings, exp.name),
        scheduler_role_arn=scheduler_role_arn,
        code_dirs=[d for d in settings.code_dirs if (exp.root / d).is_dir()],
        metric_names=metrics,
    )
    job = tick_job_request(settings, target)
    request = schedule_request(
        name=name,
        expression=expression,
        timezone=schedule.timezone,
        target=target,
        job_request=job,
        description=f"loclab schedule run {target.spec} (project {exp.root}, installed by "
        "loclab schedule install)",
    )
    problems = validate_schedule(request, region=settings.region)
    if problems:
        from loclab.spec.backend import spec_words

        raise SpecError(
            [
                Problem(
                    exp.display_path,
                    schedule_field(p.path),
                    f"{spec_words(p.message)} ({_request_path(p.path)})",
                    spec_words(p.fix),
                )
                for p in problems
            ]
        )
    return EventBridgePlan(
        request=request,
        job_request=job,
        code=code,
        channels=uploads,
        state=target.state,
        frozen_channels=tuple(sorted(uploads)),
    )


def _request_path(path: str) -> str:
    """``CreateTrainingJob ResourceConfig.InstanceType`` or ``CreateSchedule Target.RoleArn``."""
    if path.startswith("Target.Input."):
        return f"CreateTrainingJob {path.removeprefix('Target.Input.')}"
    return f"CreateSchedule {path}"
