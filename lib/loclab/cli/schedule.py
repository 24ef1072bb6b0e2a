"""``loclab schedule ...``: the recurring questions, answered on a timer.

The sub-commands share the experiment's ``schedule:`` section (:mod:`loclab.spec.schedule`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from loclab.cli.app import (
    ENVIRON,
    ChannelOpt,
    ReportsOpt,
    SpecArg,
    StateOpt,
    TimeoutOpt,
    app,
    cli_problem,
    load,
    timeout_seconds,
    workspace,
)
from loclab.exceptions import SpecError
from loclab.spec import resolve_alerts

if TYPE_CHECKING:
    from loclab.spec.schedule import ResolvedAlert

__all__ = ["accept", "history", "next_ticks", "schedule_app", "tick"]

schedule_app = typer.Typer(
    name="schedule",
    help="Scheduled runs: ticks tested against the last good run, alerts on regressions.",
    no_args_is_help=True,
)
app.add_typer(schedule_app)


@schedule_app.command("next")
def next_ticks(
    spec: SpecArg,
    count: Annotated[int, typer.Option(min=1, max=100, help="How many ticks to show.")] = 5,
) -> None:
    """Print the next ticks of the spec's schedule, in its time zone and in UTC."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from croniter import croniter

    exp = load(spec)
    schedule = exp.spec.schedule
    if schedule is None:
        raise SpecError([cli_problem("SPEC", f"{spec} has no schedule: section")])
    zone = ZoneInfo(schedule.timezone)
    ticks = croniter(schedule.cron, datetime.now(zone))
    typer.echo(f"{exp.name}: '{schedule.cron}' in {schedule.timezone}")
    for _ in range(count):
        tick = ticks.get_next(datetime)
        typer.echo(f"  {tick:%Y-%m-%d %H:%M %Z}  ({tick.astimezone(UTC):%Y-%m-%d %H:%M} UTC)")


def _secret_variables(
    alerts: list[ResolvedAlert], password: str | None, environ: dict[str, str]
) -> list[str]:
    """Variables holding webhook URLs or the SMTP password (jobs must not inherit them).

    Those the spec names (``${MT_ALERT_WEBHOOK}``), ``$LOCLAB_SMTP_PASSWORD``, and any other
    whose value is a webhook URL or the password (``password: ${MY_VARIABLE}`` in
    ``loclab.yaml``).
    """
    import re

    from loclab.schedule import SMTP_ENV_PREFIX

    names = {f"{SMTP_ENV_PREFIX}PASSWORD"}
    secrets = {password} if password else set()
    for target in alerts:
        if target.kind == "webhook":
            names.update(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", target.shown))
            if target.value:
                secrets.add(target.value)
    names.update(name for name, value in environ.items() if value in secrets)
    return sorted(n for n in names if n in environ)


@schedule_app.command("run")
def tick(
    spec: SpecArg,
    channel: ChannelOpt = None,
    state_dir: StateOpt = None,
    reports_dir: ReportsOpt = None,
    timeout: TimeoutOpt = None,
) -> None:
    """Run one tick: the experiment, tested against its baseline run; alert on a change.

    Exit 0: nothing regressed (or the previous tick is still running: skipped); 3: a
    regression; 1: the run failed after its retries; 2: bad input. This is what a timer
    calls; it needs no terminal and no PATH (give absolute paths).
    """
    import os

    from loclab.schedule import resolve_smtp

    seconds = timeout_seconds(timeout)
    exp = load(spec, None, channel, fetch=True, fetch_into=state_dir)
    schedule = exp.spec.schedule
    if schedule is None:
        raise SpecError([cli_problem("SPEC", f"{spec} has no schedule: section")])
    ws = workspace(exp, state_dir=state_dir, reports_dir=reports_dir)
    alerts = resolve_alerts(schedule, ENVIRON)
    smtp, problems = resolve_smtp(exp.root, ENVIRON)
    if problems:
        raise SpecError(problems)
    for target in alerts:
        if not target.configured:
            typer.echo(f"alert: {target.kind} {target.shown} is not configured (variable unset)")
    # Resolved above; the jobs this tick starts inherit the environment, so the secrets go.
    password = smtp.password if smtp is not None else None
    for name in _secret_variables(alerts, password, dict(ENVIRON)):
        os.environ.pop(name, None)
    from loclab.run import run_tick

    result = run_tick(exp, ws, alerts=alerts, smtp=smtp, timeout=seconds, say=typer.echo)
    raise typer.Exit(result.exit_code)


@schedule_app.command("accept")
def accept(spec: SpecArg, channel: ChannelOpt = None, state_dir: StateOpt = None) -> None:
    """Make the latest run the baseline (an intended change): the status is OK again."""
    import time

    from loclab.results import ExperimentResults
    from loclab.schedule import BaselineError, accept_latest

    exp = load(spec, None, channel)
    schedule = exp.spec.schedule
    if schedule is None:
        raise SpecError([cli_problem("SPEC", f"{spec} has no schedule: section")])
    ws = workspace(exp, state_dir=state_dir)
    records = ExperimentResults(ws.state, exp.name)
    history = records.read_history()
    try:
        stored = records.update_schedule(
            lambda s: accept_latest(s, history, mode=schedule.baseline, now=time.time())
        )
    except BaselineError as err:
        raise SpecError([cli_problem("SPEC", str(err))]) from None
    latest = history[-1]
    typer.echo(
        f"{exp.name}: run {latest.run_id} ({latest.date}) is the baseline now; "
        f"status {stored.status.upper()}"
    )


@app.command("history")
def history(spec: SpecArg, channel: ChannelOpt = None, state_dir: StateOpt = None) -> None:
    """Print the experiment's history: every finished run, its data and deciding metric."""
    from loclab.results import ExperimentResults
    from loclab.schedule import history_table

    exp = load(spec, None, channel)
    ws = workspace(exp, state_dir=state_dir)
    records = ExperimentResults(ws.state, exp.name)
    typer.echo(history_table(exp.name, records.read_history(), records.read_schedule()))
