"""``loclab schedule install | list | remove | due``: the timers that call ``schedule run``.

``--backend local`` (the default) writes a line into the user's crontab (Debian's cron);
``--backend sagemaker`` creates an EventBridge Scheduler schedule whose ticks run as SageMaker
training jobs. Both check everything first and write nothing on bad input (exit 2, one line
per problem). See ``docs/schedules.md``.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from loclab.cli._schedule_aws import DEFAULT_SCHEDULER_ROLE, SCHEDULER_ROLE_ENV
from loclab.cli.app import ENVIRON, ChannelOpt, ReportsOpt, SpecArg, StateOpt, cli_problem, err
from loclab.cli.schedule import schedule_app
from loclab.exceptions import SpecError

if TYPE_CHECKING:
    from loclab.spec import Experiment

__all__ = ["due", "install", "list_timers", "remove"]

BACKENDS = ("local", "sagemaker")

BackendOpt = Annotated[
    str,
    typer.Option(
        "--backend",
        help="local: a crontab entry on this machine (Debian cron). sagemaker: an EventBridge "
        "Scheduler schedule starting each tick as a SageMaker training job.",
    ),
]
UserOpt = Annotated[
    str | None,
    typer.Option(
        "--user", help="Whose crontab (root only; default: your own). --backend local only."
    ),
]


def _backend(value: str) -> str:
    if value not in BACKENDS:
        raise SpecError(
            [cli_problem("--backend", f"'{value}' is not a timer", "use local or sagemaker")]
        )
    return value


def _only_local(backend: str, **given: object) -> None:
    if backend == "local":
        return
    for option, value in given.items():
        if value:
            name = "--" + option.replace("_", "-")
            raise SpecError(
                [
                    cli_problem(
                        name,
                        "applies to --backend local only",
                        "a SageMaker tick keeps its state, reports and logs on S3",
                    )
                ]
            )


def _loclab_command() -> list[str]:
    """This installation's ``loclab``, absolute (the virtual environment is not resolved away)."""
    interpreter = Path(sys.executable).absolute()
    script = interpreter.parent / "loclab"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [str(interpreter), "-m", "loclab"]


@schedule_app.command("install")
def install(
    spec: SpecArg,
    backend: BackendOpt = "local",
    channel: ChannelOpt = None,
    state_dir: StateOpt = None,
    reports_dir: ReportsOpt = None,
    env_file: Annotated[
        Path | None,
        typer.Option(
            help="NAME=value lines each tick reads first (webhook URLs, MLFLOW_TRACKING_URI...): "
            "cron passes no environment. Keep it private (chmod 600).",
        ),
    ] = None,
    user: UserOpt = None,
    scheduler_role: Annotated[
        str | None,
        typer.Option(
            help="Role EventBridge Scheduler assumes to start the tick's job "
            f"(default: ${SCHEDULER_ROLE_ENV}, else role/{DEFAULT_SCHEDULER_ROLE} in the "
            "training role's account). --backend sagemaker only.",
        ),
    ] = None,
) -> None:
    """Install the timer of a spec's schedule: a crontab entry, or an EventBridge schedule.

    Installing again replaces the earlier timer of the same experiment.
    """
    _backend(backend)
    _only_local(
        backend, state_dir=state_dir, reports_dir=reports_dir, env_file=env_file, user=user
    )
    if backend == "sagemaker":
        from loclab.cli._schedule_aws import install_eventbridge

        install_eventbridge(spec, channel or [], scheduler_role)
        return
    _install_cron(spec, channel, state_dir, reports_dir, env_file, user)


def _install_cron(
    spec: Path,
    channel: list[str] | None,
    state_dir: Path | None,
    reports_dir: Path | None,
    env_file: Path | None,
    user: str | None,
) -> None:
    from loclab.cli.app import load, workspace
    from loclab.schedule.timers import install_cron, plan_cron

    env_path = _check_env_file(env_file)
    exp = load(spec, None, channel)
    ws = workspace(exp, state_dir=state_dir, reports_dir=reports_dir)
    options: list[str] = []
    # A URL stays a URL: each tick fetches it (a pinned file only once, into the cache).
    pointed: dict[str, object] = {**exp.channels, **exp.remote_channels}
    for name, where in sorted(pointed.items()):
        if channel and any(item.partition("=")[0].strip() == name for item in channel):
            options += ["--channel", f"{name}={where}"]
    if reports_dir is not None:
        options += ["--reports-dir", str(ws.reports)]
    plan = plan_cron(
        exp,
        state_dir=ws.state.root,
        loclab=_loclab_command(),
        run_options=options,
        env_file=env_path,
    )
    _warn_environment(exp, env_path)
    replaced = install_cron(plan, user=user)
    schedule = exp.spec.schedule
    assert schedule is not None
    owner = f"the crontab of {user}" if user else "your crontab"
    verb = "replaced the earlier entry in" if replaced else "installed in"
    typer.echo(f"{exp.name}: {verb} {owner}: '{schedule.cron}' in {schedule.timezone}")
    typer.echo(f"  time zone: {plan.placement.note}")
    typer.echo(f"  entry:     {plan.placement.expression} (the machine's time)")
    typer.echo(f"  logs:      {plan.log_dir}/<timestamp>.log")
    typer.echo(f"  next:      {_next_tick(schedule.cron, schedule.timezone)}")
    typer.echo(f"  remove:    loclab schedule remove {spec}")
    if not _cron_running():
        err(
            "warning: no cron daemon is running on this machine; the entry fires once it runs "
            "(service cron start)"
        )


def _check_env_file(env_file: Path | None) -> Path | None:
    if env_file is None:
        return None
    path = env_file.expanduser().absolute()
    if not path.is_file():
        raise SpecError(
            [cli_problem("--env-file", f"'{env_file}' is not a file", "give NAME=value lines")]
        )
    if path.stat().st_mode & 0o077:
        err(f"warning: --env-file {env_file} is readable by other users; chmod 600 {env_file}")
    return path


def _env_names(path: Path | None) -> set[str]:
    if path is None:
        return set()
    names = set()
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        found = re.match(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=", line)
        if found:
            names.add(found.group(1))
    return names


def _warn_environment(exp: Experiment, env_file: Path | None) -> None:
    """Variables the tick would miss under cron (it passes no environment)."""
    available = _env_names(env_file)
    schedule = exp.spec.schedule
    assert schedule is not None
    for target in schedule.alert:
        for name in re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", target.value):
            if name not in available:
                err(
                    f"warning: schedule.alert: ${{{name}}} is not in --env-file, and cron passes "
                    "no environment: each tick will report this target as not configured"
                )
    for name in ("MLFLOW_TRACKING_URI", "LOCLAB_SAGEMAKER_ROLE_ARN", "AWS_PROFILE"):
        if ENVIRON.get(name) and name not in available:
            err(f"warning: ${name} is set here but cron will not pass it: add it to --env-file")


def _cron_running() -> bool:
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() in ("cron", "crond"):
                return True
        except OSError:
            continue
    return False


def _next_tick(cron: str, timezone: str) -> str:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from croniter import croniter

    zone = ZoneInfo(timezone)
    tick = croniter(cron, datetime.now(zone)).get_next(datetime)
    return f"{tick:%Y-%m-%d %H:%M %Z} ({tick.astimezone(UTC):%Y-%m-%d %H:%M} UTC)"


@schedule_app.command("list")
def list_timers(backend: BackendOpt = "local", user: UserOpt = None) -> None:
    """List every loclab timer: crontab entries (local) or EventBridge schedules (sagemaker)."""
    _backend(backend)
    _only_local(backend, user=user)
    if backend == "sagemaker":
        from loclab.cli._schedule_aws import list_eventbridge

        list_eventbridge()
        return
    from loclab.schedule.timers import last_log, list_cron

    entries = list_cron(user=user)
    owner = f"the crontab of {user}" if user else "your crontab"
    if not entries:
        typer.echo(f"no loclab entries in {owner}")
        return
    for entry in entries:
        typer.echo(f"{entry.experiment}  ({entry.project})")
        typer.echo(f"  spec:      {entry.spec or '? (the entry was edited)'}")
        if entry.guard is not None:
            when = f"'{entry.guard[0]}' in {entry.guard[1]} (cron fires {entry.when}; "
            when += "'schedule due' passes the ticks)"
        else:
            when = f"{entry.when} (the machine's time zone)"
        typer.echo(f"  cron:      {when}")
        typer.echo(f"  logs:      {entry.log_dir or '?'}")
        newest, status = last_log(entry.log_dir)
        shown = (
            "none yet"
            if newest is None
            else f"{newest.name}, "
            + (f"exit {status}" if status is not None else "running or cut short")
        )
        typer.echo(f"  last tick: {shown}")
        stale = _stale(entry.spec, entry.guard, entry.when)
        if stale:
            typer.echo(f"  note:      {stale}")


def _stale(spec: Path | None, guard: tuple[str, str] | None, when: str) -> str:
    """Why the entry no longer matches its spec ("" when it does, or cannot be told)."""
    if spec is None:
        return ""
    if not spec.is_file():
        return "the spec is gone; remove the entry with loclab schedule remove"
    from loclab.spec import load_spec

    try:
        schedule = load_spec(spec).schedule
    except SpecError:
        return "the spec no longer loads; fix it, then install again"
    if schedule is None:
        return "the spec has no schedule: section any more; remove the entry"
    from loclab.schedule.timers import machine_timezone, place_in_crontab

    placement = place_in_crontab(schedule.cron, schedule.timezone, machine_timezone())
    expected = (schedule.cron, schedule.timezone) if placement.guarded else None
    if placement.expression != when or expected != guard:
        return f"the spec now says '{schedule.cron}' in {schedule.timezone}; install again"
    return ""


@schedule_app.command("remove")
def remove(spec: SpecArg, backend: BackendOpt = "local", user: UserOpt = None) -> None:
    """Remove the spec's timer (its crontab entry, or its EventBridge schedule), nothing else."""
    _backend(backend)
    _only_local(backend, user=user)
    from loclab.spec import find_project_root, load_spec

    parsed = load_spec(spec)
    root = find_project_root(spec.resolve().parent)
    if backend == "sagemaker":
        from loclab.cli._schedule_aws import remove_eventbridge

        remove_eventbridge(spec, parsed, root)
        return
    from loclab.schedule.timers import remove_cron

    removed = remove_cron(root, parsed.name, user=user)
    owner = f"the crontab of {user}" if user else "your crontab"
    if removed:
        typer.echo(f"{parsed.name}: removed its entry from {owner} (logs are kept)")
    else:
        typer.echo(f"{parsed.name}: no entry of {root} in {owner}; nothing removed")


@schedule_app.command("due")
def due(
    cron: Annotated[str, typer.Option(help="Five-field cron expression.")],
    timezone: Annotated[str, typer.Option(help="IANA time zone it is read in.")] = "UTC",
    at: Annotated[
        str | None, typer.Option(help="ISO time to test instead of now.", hidden=True)
    ] = None,
) -> None:
    """Exit 0 when the schedule has a tick this minute, else 1 (the crontab entry's guard)."""
    from datetime import UTC, datetime

    from pydantic import ValidationError

    from loclab.spec import ScheduleSpec

    try:
        ScheduleSpec(cron=cron, timezone=timezone)
    except ValidationError as error:
        raise SpecError(
            [
                cli_problem(
                    f"--{e['loc'][0] if e['loc'] else 'cron'}",
                    str(e["msg"]).removeprefix("Value error, "),
                )
                for e in error.errors()
            ]
        ) from None
    now = datetime.now(UTC)
    if at is not None:
        try:
            now = datetime.fromisoformat(at)
        except ValueError:
            raise SpecError([cli_problem("--at", f"'{at}' is not an ISO time")]) from None
        if now.tzinfo is None:
            raise SpecError([cli_problem("--at", f"'{at}' has no UTC offset", "add +00:00")])
    from loclab.schedule.timers import is_due

    if not is_due(cron, timezone, now):
        raise typer.Exit(1)
