"""Cron expressions for the two timer engines: Debian's cron and EventBridge Scheduler.

The spec's ``schedule.cron`` is a five-field expression read in ``schedule.timezone``
(checked by croniter). Each engine needs it in its own form:

* **Debian cron** (Vixie cron 3.0) knows the classic syntax only (numbers, three-letter names,
  ``*``, ranges, lists, steps) and reads every entry in the daemon's own time zone: it has no
  ``CRON_TZ=`` (that is cronie's). :func:`place_in_crontab` writes the expression unchanged
  when the two zones agree all year, shifts it when they differ by a constant that moves no
  tick to another day, and otherwise fires on every minute a tick can fall on in the machine's
  zone (across daylight-saving changes) with ``loclab schedule due`` letting only the real
  ticks through (:func:`is_due`).
* **EventBridge Scheduler** takes ``cron(minutes hours day-of-month month day-of-week year)``
  with days of the week 1-7 from Sunday, ``?`` in one of the two day fields, and the zone as
  ``ScheduleExpressionTimezone`` (:func:`eventbridge_expression`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

__all__ = [
    "CronPlacement",
    "debian_cron_problem",
    "eventbridge_expression",
    "is_due",
    "machine_timezone",
    "place_in_crontab",
]

_DOW_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_VALUE = r"(?:\d{1,2}|[A-Za-z]{3})"
#: ``*`` or a range, either with a step; or one value (a value with a step is not Vixie's).
_ITEM = rf"(?:(?:\*|{_VALUE}-{_VALUE})(?:/\d{{1,2}})?|{_VALUE})"
#: One field as Debian's cron parses it (its entry.c): lists of values, ranges and steps.
_DEBIAN_FIELD = re.compile(rf"{_ITEM}(?:,{_ITEM})*")
_FIELD_NAMES = ("minute", "hour", "day-of-month", "month", "day-of-week")
_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))
#: How far ahead the two zones' offsets are compared (two years cover every yearly rule).
_HORIZON_HOURS = 2 * 366 * 24


class CronError(ValueError):
    """An expression one engine cannot run; the message says why and what to do."""


def debian_cron_problem(cron: str) -> str | None:
    """Why Debian's cron cannot run ``cron`` as written (None when it can).

    croniter reads extensions (``L``, ``W``, ``#``, ``?``, ``H``) that Debian's cron rejects
    or misreads; ``crontab`` would refuse the whole table.
    """
    for name, field in zip(_FIELD_NAMES, cron.split(), strict=False):
        if not _DEBIAN_FIELD.fullmatch(field):
            return (
                f"the {name} field '{field}' uses syntax Debian's cron does not know (it "
                "understands numbers, three-letter names, *, ranges a-b, lists a,b and steps "
                "*/n or a-b/n)"
            )
    return None


def _expand(cron: str) -> tuple[list[list[Any]], dict[int, set[int]]]:
    from croniter import croniter

    fields, nth = croniter.expand(cron)
    return [list(f) for f in fields], {int(k): set(v) for k, v in nth.items()}


def _values(field: list[Any], low: int, high: int) -> list[int]:
    if field == ["*"]:
        return list(range(low, high + 1))
    return sorted({int(v) for v in field})


def _compact(
    values: Sequence[int],
    low: int,
    high: int,
    names: Sequence[str] = (),
    *,
    crontab: bool = False,
) -> str:
    """A set of values as a short field: ``*``, a step, ranges and lists.

    A step is ``a/s`` for EventBridge and ``a-high/s`` for a crontab (Vixie cron takes a step
    after ``*`` or a range only).
    """
    found = sorted(set(values))
    if found == list(range(low, high + 1)):
        return "*"

    def show(v: int) -> str:
        return names[v - low] if names else str(v)

    if len(found) >= 3 and not names:
        step = found[1] - found[0]
        if step > 1 and found == list(range(found[0], high + 1, step)):
            if not crontab:
                return f"{found[0]}/{step}"
            return f"*/{step}" if found[0] == low else f"{found[0]}-{high}/{step}"
    parts: list[str] = []
    start = prev = found[0]
    for v in [*found[1:], None]:
        if v is not None and v == prev + 1:
            prev = v
            continue
        if prev == start:
            parts.append(show(start))
        elif prev == start + 1:
            parts.extend([show(start), show(prev)])
        else:
            parts.append(f"{show(start)}-{show(prev)}")
        if v is not None:
            start = prev = v
    return ",".join(parts)


def eventbridge_expression(cron: str) -> str:
    """``cron(...)`` for EventBridge Scheduler, from a five-field expression.

    Raises:
        CronError: EventBridge cannot express it (both day fields restricted, or several
            ``#`` days).
    """
    fields, nth = _expand(cron)
    minute, hour, dom, month, dow = fields
    out_minute = _compact(_values(minute, 0, 59), 0, 59)
    out_hour = _compact(_values(hour, 0, 23), 0, 23)
    out_month = _compact(_values(month, 1, 12), 1, 12)
    if dom == ["l"]:
        out_dom = "L"
    elif any(v == "l" for v in dom):
        raise CronError(
            f"'{cron}': EventBridge Scheduler takes L (the last day) on its own in the "
            "day-of-month field, not in a list"
        )
    else:
        out_dom = _compact(_values(dom, 1, 31), 1, 31)
    if nth:
        if len(nth) != 1 or len(next(iter(nth.values()))) != 1 or len(dow) != 1:
            raise CronError(
                f"'{cron}': EventBridge Scheduler takes one weekday#n at a time "
                "(e.g. 0 6 * * MON#1)"
            )
        day, which = next(iter(nth.items()))
        out_dow = f"{day % 7 + 1}#{next(iter(which))}"
    else:
        days = sorted({int(v) % 7 for v in _values(dow, 0, 6)})
        out_dow = _compact([d + 1 for d in days], 1, 7, _DOW_NAMES)
    dom_star, dow_star = out_dom == "*", out_dow == "*"
    if dow_star:
        out_dow = "?"
    elif dom_star:
        out_dom = "?"
    else:
        raise CronError(
            f"'{cron}' runs on days of the month {out_dom} or on {out_dow}; EventBridge "
            "Scheduler needs one of the two day fields to be '?' (restrict only one, or use "
            "two specs)"
        )
    return f"cron({out_minute} {out_hour} {out_dom} {out_month} {out_dow} *)"


def machine_timezone(etc: Path = Path("/etc")) -> ZoneInfo:
    """The time zone the cron daemon reads its entries in: the system's (``/etc/localtime``).

    Debian names it in ``/etc/timezone`` and links ``/etc/localtime`` into the zone database;
    UTC when neither says.
    """
    named = etc / "timezone"
    if named.is_file():
        key = named.read_text(encoding="utf-8").strip()
        if key:
            try:
                return ZoneInfo(key)
            except (ValueError, OSError, KeyError):
                pass
    local = etc / "localtime"
    if local.is_symlink():
        target = str(local.readlink())
        found = re.search(r"zoneinfo/(.+)$", target)
        if found:
            try:
                return ZoneInfo(found.group(1))
            except (ValueError, OSError, KeyError):
                pass
    if local.is_file():
        with local.open("rb") as handle:
            return ZoneInfo.from_file(handle, key="localtime")
    return ZoneInfo("UTC")


@dataclass(frozen=True)
class CronPlacement:
    """How a schedule is written into a crontab read in another time zone.

    Attributes:
        expression: The five fields of the crontab entry (the machine's time).
        guarded: True when the entry fires on every minute a tick can fall on and
            ``loclab schedule due`` lets only the real ticks through.
        note: One sentence on how the time zone was handled.
    """

    expression: str
    guarded: bool
    note: str


def _offset_differences(zone: ZoneInfo, machine: ZoneInfo, start: datetime) -> set[int]:
    """Minutes ``zone`` is ahead of ``machine``, at every hour of the next two years."""
    found: set[int] = set()
    for hour in range(_HORIZON_HOURS):
        moment = start + timedelta(hours=hour)
        ahead = moment.astimezone(zone).utcoffset()
        behind = moment.astimezone(machine).utcoffset()
        assert ahead is not None and behind is not None
        found.add(int((ahead - behind).total_seconds() // 60))
    return found


def place_in_crontab(
    cron: str, timezone: str, machine: ZoneInfo, *, now: datetime | None = None
) -> CronPlacement:
    """The crontab form of ``cron`` read in ``timezone``, for a daemon running in ``machine``.

    Args:
        cron: The spec's five-field expression (Debian syntax, see
            :func:`debian_cron_problem`).
        timezone: The spec's IANA zone.
        machine: The daemon's zone (:func:`machine_timezone`).
        now: Start of the two years compared (now by default).
    """
    zone = ZoneInfo(timezone)
    machine_name = getattr(machine, "key", None) or str(machine)
    start = (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
    differences = _offset_differences(zone, machine, start)
    if differences == {0}:
        same = "the machine's zone"
        if machine_name != timezone:
            same = f"as the machine's {machine_name}"
        return CronPlacement(" ".join(cron.split()), False, f"{timezone} ({same})")
    fields, _ = _expand(cron)
    minutes = _values(fields[0], 0, 59)
    hours = _values(fields[1], 0, 23)
    days_free = all(f == ["*"] for f in fields[2:])
    shifted = {_shift(cron, minutes, hours, ahead, days_free) for ahead in differences}
    if len(shifted) == 1 and None not in shifted:
        exact = str(next(iter(shifted)))
        if len(differences) == 1:
            how = f"a constant {_show_offset(next(iter(differences)))} all year"
        else:
            how = "its ticks fall on the same minutes in both zones"
        return CronPlacement(
            exact, False, f"{timezone}, converted to the machine's {machine_name} ({how})"
        )
    out_minutes: set[int] = set()
    out_hours: set[int] = set()
    crosses = False
    for ahead in differences:
        for h in hours:
            for m in minutes:
                local = h * 60 + m - ahead
                crosses = crosses or not 0 <= local < 24 * 60
                local %= 24 * 60
                out_hours.add(local // 60)
                out_minutes.add(local % 60)
    # The day fields stay when no tick moves to another day; the guard checks the rest.
    days = "* * *" if crosses else " ".join(cron.split()[2:])
    grid = (
        _compact(sorted(out_minutes), 0, 59, crontab=True),
        _compact(sorted(out_hours), 0, 23, crontab=True),
    )
    expression = f"{grid[0]} {grid[1]} {days}"
    return CronPlacement(
        expression,
        True,
        f"{timezone}: Debian's cron has no CRON_TZ and the machine runs on {machine_name} "
        f"({_offsets_text(differences)}), so the entry fires at every time a tick can fall on "
        "and 'loclab schedule due' lets only the ticks of the spec's zone through",
    )


def _shift(
    cron: str, minutes: list[int], hours: list[int], ahead: int, days_free: bool
) -> str | None:
    """``cron`` moved ``ahead`` minutes back, when that is one exact crontab line."""
    pairs: set[tuple[int, int]] = set()
    for h in hours:
        for m in minutes:
            local = h * 60 + m - ahead
            if not 0 <= local < 24 * 60 and not days_free:
                return None  # the tick would move to another day
            local %= 24 * 60
            pairs.add((local // 60, local % 60))
    new_hours = sorted({h for h, _ in pairs})
    new_minutes = sorted({m for _, m in pairs})
    if len(pairs) != len(new_hours) * len(new_minutes):
        return None  # not one minutes x hours grid any more
    parts = cron.split()
    parts[0] = _compact(new_minutes, 0, 59, crontab=True)
    parts[1] = _compact(new_hours, 0, 23, crontab=True)
    return " ".join(parts)


def _show_offset(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _offsets_text(differences: Iterable[int]) -> str:
    shown = " or ".join(_show_offset(d) for d in sorted(differences))
    return f"the spec's zone is {shown} from it"


def is_due(cron: str, timezone: str, now: datetime) -> bool:
    """True when ``cron`` read in ``timezone`` has a tick in the minute of ``now``.

    A wall-clock time that a daylight-saving change skips has no tick; one that it repeats
    has one, the first.

    Args:
        cron: Five-field expression.
        timezone: IANA zone the expression is read in.
        now: An aware moment (the cron daemon started the entry in its minute).
    """
    from croniter import croniter

    local = now.astimezone(ZoneInfo(timezone)).replace(second=0, microsecond=0)
    if local.fold:
        return False  # the second pass through a repeated hour
    return bool(croniter.match(cron, local))
