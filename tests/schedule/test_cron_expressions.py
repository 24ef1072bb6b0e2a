"""Cron expressions for Debian's cron and EventBridge Scheduler, and time zones without CRON_TZ."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter

from loclab.schedule._cron import CronError, debian_cron_problem
from loclab.schedule.timers import (
    eventbridge_expression,
    is_due,
    machine_timezone,
    place_in_crontab,
)

UTC_ZONE = ZoneInfo("UTC")


@pytest.mark.parametrize(
    ("cron", "expected"),
    [
        ("0 6 * * MON", "cron(0 6 ? * MON *)"),
        ("*/15 9-17 * * 1-5", "cron(0/15 9-17 ? * MON-FRI *)"),
        ("0 0 1,15 * *", "cron(0 0 1,15 * ? *)"),
        # Unix counts Sunday as 0 and 7; EventBridge as 1.
        ("0 12 * JAN-MAR 7", "cron(0 12 ? 1-3 SUN *)"),
        ("0 0 * * 5-7", "cron(0 0 ? * SUN,FRI,SAT *)"),
        ("5,10,20 */2 1-7 * *", "cron(5,10,20 0/2 1-7 * ? *)"),
        ("0 0 L * *", "cron(0 0 L * ? *)"),
        ("0 0 * * 5#2", "cron(0 0 ? * 6#2 *)"),
        ("* * * * *", "cron(* * * * ? *)"),
    ],
)
def test_five_fields_become_eventbridges_six(cron, expected):
    assert eventbridge_expression(cron) == expected


def test_both_day_fields_cannot_be_expressed_on_eventbridge():
    with pytest.raises(CronError, match=r"one of the two day fields to be '\?'"):
        eventbridge_expression("0 0 1 * MON")


@pytest.mark.parametrize(
    ("cron", "field"),
    [
        ("0 0 L * *", "day-of-month"),
        ("0 0 * * 5#2", "day-of-week"),
        ("0/15 * * * *", "minute"),
        ("0 0 ? * *", "day-of-month"),
    ],
)
def test_syntax_debians_cron_does_not_know_is_named(cron, field):
    problem = debian_cron_problem(cron)
    assert problem is not None and problem.startswith(f"the {field} field")


@pytest.mark.parametrize(
    "cron", ["0 6 * * MON", "*/15 9-17 * * 1-5", "1-59/2 * * * *", "0 0 1,15 * sun", "5 4 * 1 *"]
)
def test_classic_syntax_passes(cron):
    assert debian_cron_problem(cron) is None


def test_placement_keeps_the_expression_when_the_zones_agree():
    placed = place_in_crontab("0 6 * * MON", "UTC", UTC_ZONE)
    assert (placed.expression, placed.guarded) == ("0 6 * * MON", False)
    berlin = ZoneInfo("Europe/Berlin")
    assert not place_in_crontab("0 6 * * MON", "Europe/Berlin", berlin).guarded


def test_a_constant_offset_is_converted_exactly():
    placed = place_in_crontab("0 12 * * MON", "Asia/Tokyo", UTC_ZONE)
    assert (placed.expression, placed.guarded) == ("0 3 * * MON", False)
    assert "+09:00" in placed.note
    assert place_in_crontab("0 6 * * *", "Asia/Kolkata", UTC_ZONE).expression == "30 0 * * *"


def test_daylight_saving_needs_the_guard():
    placed = place_in_crontab("0 6 * * MON", "Europe/Berlin", UTC_ZONE)
    assert placed.guarded
    assert placed.expression == "0 4,5 * * MON"
    assert "CRON_TZ" in placed.note


def test_the_machine_zone_is_read_from_etc(tmp_path):
    (tmp_path / "timezone").write_text("Europe/Lisbon\n")
    assert machine_timezone(tmp_path).key == "Europe/Lisbon"
    (tmp_path / "timezone").unlink()
    (tmp_path / "localtime").symlink_to("/usr/share/zoneinfo/America/New_York")
    assert machine_timezone(tmp_path).key == "America/New_York"
    assert machine_timezone(tmp_path / "missing").key == "UTC"


def _matcher(cron):
    """A plain reading of a classic expression (Vixie's rules), fast enough for every minute."""
    fields, nth = croniter.expand(cron)
    assert not nth
    sets = [None if f == ["*"] else {int(v) for v in f} for f in fields]
    minute, hour, dom, month, dow = sets

    def match(moment):
        if minute is not None and moment.minute not in minute:
            return False
        if hour is not None and moment.hour not in hour:
            return False
        if month is not None and moment.month not in month:
            return False
        dom_ok = dom is None or moment.day in dom
        dow_ok = dow is None or moment.isoweekday() % 7 in dow
        return (dom_ok or dow_ok) if dom is not None and dow is not None else dom_ok and dow_ok

    return match


@pytest.mark.parametrize(
    ("cron", "zone", "machine"),
    [
        ("0 6 * * MON", "Europe/Berlin", "UTC"),
        ("30 1 * * *", "Europe/Berlin", "UTC"),
        ("*/20 2-3 * * *", "Europe/Berlin", "UTC"),
        ("0 6 * * SUN,MON", "Asia/Tokyo", "UTC"),
        ("45 0 1,2 * *", "Asia/Kolkata", "UTC"),
        ("0 9 * * 1-5", "America/New_York", "Asia/Tokyo"),
        ("15 23 * * SAT", "Australia/Sydney", "UTC"),
    ],
)
def test_the_entry_fires_exactly_at_the_specs_ticks_across_daylight_saving(cron, zone, machine):
    """Minute by minute through both 2026 daylight-saving changes of either hemisphere."""
    placed = place_in_crontab(cron, zone, ZoneInfo(machine), now=datetime(2026, 1, 1, tzinfo=UTC))
    spec_zone, machine_zone = ZoneInfo(zone), ZoneInfo(machine)
    wanted, fires = _matcher(cron), _matcher(placed.expression)
    windows = [datetime(2026, m, d, tzinfo=UTC) for m, d in ((3, 26), (4, 3), (10, 23), (11, 1))]
    expected, actual = [], []
    for start in windows:
        for i in range(4 * 24 * 60):
            moment = start + timedelta(minutes=i)
            local = moment.astimezone(spec_zone)
            if not local.fold and wanted(local):
                expected.append(moment)
            if fires(moment.astimezone(machine_zone)) and (
                not placed.guarded or is_due(cron, zone, moment + timedelta(seconds=3))
            ):
                actual.append(moment)
    assert expected, "the windows hold ticks"
    assert actual == expected, placed


def test_due_reads_the_minute_in_the_specs_zone():
    # Mondays 06:00 in Berlin: 05:00 UTC in winter, 04:00 UTC in summer.
    assert is_due("0 6 * * MON", "Europe/Berlin", datetime(2026, 12, 7, 5, 0, 30, tzinfo=UTC))
    assert not is_due("0 6 * * MON", "Europe/Berlin", datetime(2026, 12, 7, 4, 0, 30, tzinfo=UTC))
    assert is_due("0 6 * * MON", "Europe/Berlin", datetime(2026, 7, 6, 4, 0, 0, tzinfo=UTC))
    assert not is_due("0 6 * * MON", "Europe/Berlin", datetime(2026, 7, 6, 5, 0, 0, tzinfo=UTC))
    # 02:30 happens twice on 2026-10-25 in Berlin: one tick.
    ticks = [
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
    ]
    assert [is_due("30 2 * * *", "Europe/Berlin", t) for t in ticks] == [True, False]
