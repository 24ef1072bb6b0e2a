"""One experiment's line on the reports index's status board, read from its records.

:func:`status_board` gives the latest run, the status (``OK``, ``REGRESSED since ...``,
``FAILED``) and a small trend of the deciding metric per system over the history; the index
(or any other reader) draws it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from loclab.paths import StateDir
from loclab.results._store import ExperimentResults, RecordError

__all__ = ["BoardEntry", "BoardStatus", "status_board"]

BoardStatus = Literal["OK", "REGRESSED", "FAILED", "RUNNING", "NEW"]


@dataclass(frozen=True)
class BoardEntry:
    """An experiment on the status board.

    Attributes:
        experiment: Its name.
        status: ``OK``, ``REGRESSED``, ``FAILED``, ``RUNNING`` or ``NEW`` (no finished run).
        text: The status as shown: ``OK``, ``REGRESSED since 2026-12-07``, ``FAILED since
            ...``.
        last_run: When the latest run ended (``YYYY-MM-DD HH:MM`` UTC), None without one.
        last_run_id: Its history point, when it has one.
        since: When the status began (``YYYY-MM-DD``), for REGRESSED and FAILED.
        scheduled: Whether the experiment runs on a schedule (it has ticks).
        regressed: ``system (metric)`` of each regression of the latest tick.
        marked: The keys of the regressed systems (as in ``trend``).
        metric: The deciding metric's display name (the trend's).
        dates: Dates of the trend's points (``YYYY-MM-DD``), oldest first.
        trend: System to its deciding-metric value at each date (None where it was absent).
    """

    experiment: str
    status: BoardStatus
    text: str
    last_run: str | None = None
    last_run_id: str | None = None
    since: str | None = None
    scheduled: bool = False
    regressed: tuple[str, ...] = ()
    marked: tuple[str, ...] = ()
    metric: str | None = None
    dates: tuple[str, ...] = ()
    trend: Mapping[str, tuple[float | None, ...]] = field(default_factory=dict)


#: The board's status of each schedule status but ``new``.
_SCHEDULE_STATUS: dict[str, BoardStatus] = {
    "ok": "OK",
    "regressed": "REGRESSED",
    "failed": "FAILED",
}


def _day(ts: float | None) -> str | None:
    return time.strftime("%Y-%m-%d", time.gmtime(ts)) if ts else None


def _minute(ts: float | None) -> str | None:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(ts)) if ts else None


def status_board(state: StateDir, experiment: str, *, points: int = 12) -> BoardEntry | None:
    """The status board line of ``experiment``, None when nothing is stored for it.

    Damaged records give a line saying so (status ``FAILED``) rather than an error: the
    index must be drawn whatever one experiment's records look like.

    Args:
        state: The state folder.
        experiment: The experiment's name.
        points: The trend's latest points at most.
    """
    records = ExperimentResults(state, experiment)
    if not records.exists() and not records.history_dir.is_dir():
        return None
    try:
        jobs = records.read_jobs()
        history = records.read_history()
        schedule = records.read_schedule()
    except RecordError as err:
        return BoardEntry(experiment, "FAILED", f"FAILED: {err}")
    latest = history[-1] if history else None
    last_run = _minute(jobs.ended if jobs and jobs.ended else (latest.ended if latest else None))
    status: BoardStatus = "NEW"
    since: str | None = None
    regressed: tuple[str, ...] = ()
    marked: tuple[str, ...] = ()
    scheduled = schedule is not None and bool(schedule.ticks)
    if jobs is not None and jobs.status == "RUNNING":
        status = "RUNNING"
    elif schedule is not None and schedule.status != "new":
        status = _SCHEDULE_STATUS[schedule.status]
        since = _day(schedule.since) if status != "OK" else None
        last = schedule.last
        if last is not None and status == "REGRESSED":
            regressed = tuple(
                f"{c.label or c.system} ({c.metric_name or c.metric})" for c in last.regressions
            )
            marked = tuple(dict.fromkeys(c.system for c in last.regressions))
    elif jobs is not None:
        status = "OK" if jobs.status == "FINISHED" else "FAILED"
    text = f"{status} since {since}" if since else status
    metric_key = latest.deciding_metric if latest else None
    metric_name = None
    dates: list[str] = []
    trend: dict[str, list[float | None]] = {}
    if metric_key is not None and latest is not None:
        found = latest.metric(metric_key)
        metric_name = found.name if found else metric_key
        shown = history[-points:]
        dates = [time.strftime("%Y-%m-%d", time.gmtime(p.ended)) for p in shown]
        names = list(dict.fromkeys(s.name for p in shown for s in p.systems))
        for name in names:
            values: list[float | None] = []
            for p in shown:
                value = p.value(name, metric_key)
                values.append(value.value if value is not None else None)
            trend[name] = values
    return BoardEntry(
        experiment=experiment,
        status=status,
        text=text,
        last_run=last_run,
        last_run_id=latest.run_id if latest else None,
        since=since,
        scheduled=scheduled,
        regressed=regressed,
        marked=marked,
        metric=metric_name,
        dates=tuple(dates),
        trend={k: tuple(v) for k, v in trend.items()},
    )
