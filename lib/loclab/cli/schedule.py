"""``loclab schedule ...``: the recurring questions, answered on a timer.

The sub-commands share the experiment's ``schedule:`` section (:mod:`loclab.spec.schedule`).
"""

from __future__ import annotations

from typing import Annotated

import typer

from loclab.cli.app import SpecArg, app, cli_problem, load
from loclab.exceptions import SpecError

__all__ = ["next_ticks", "schedule_app"]

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
