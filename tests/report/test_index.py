"""The reports index is a status board: one badge per experiment, failures marked as such."""

from __future__ import annotations

import re

from loclab.report.context import load_context
from loclab.report.html import Html, tag
from loclab.report.index import (
    COLUMNS,
    Column,
    add_entry,
    board_fields,
    sparkline,
    status_of,
    write_index,
)
from loclab.report.page import show_metadata
from loclab.results import BoardEntry

from .records import EXPERIMENT, comparison, jobs, spec, store, sweep


def entry(ts: float, **extra) -> dict:
    name = f"2027010{int(ts)}-000000.html"
    return {"file": name, "created_ts": ts, "title": "", "headline": "", **extra}


def experiment(root, name, *entries):
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    for e in entries:
        (folder / e["file"]).write_text("<h1>r</h1>")
        add_entry(folder, e)


def rows(page: str) -> list[str]:
    return re.findall(r"<tr(?: class=\"failed\")?>(.*?)</tr>", page, re.S)[1:]


def test_one_status_badge_per_experiment_and_failures_marked(tmp_path):
    reports = tmp_path / "reports"
    mixed = ["better", "worse", "no difference"]
    experiment(
        reports,
        "mt-engines",
        entry(1, status="better", headline="Switch to uedin-nmt.", labels=mixed),
    )
    counts = {"jobs": 10, "failed": 2, "skipped": 3}
    experiment(
        reports,
        "term-qa",
        entry(2, status="FAILED", headline="0 of 10 job(s) completed.", counts=counts),
    )
    experiment(reports, "quickstart",
               entry(3, status="too close to call", headline="Too close to call: ..."),
               entry(4, status="worse", headline="Keep the baseline: ..."))  # fmt: skip
    page = write_index(reports, "", "test").read_text()
    found = rows(page)
    assert len(found) == 3
    for row in found:
        # Exactly one status badge per experiment, whatever its comparisons said.
        assert len(re.findall(r'<td class="nowrap"><span class="badge', row)) == 1
    by_name = {re.search(r'href="([^/"]+)/index.html"', r).group(1): r for r in found}
    assert ">better<" in by_name["mt-engines"] and ">worse<" not in by_name["mt-engines"]
    assert 'class="badge fail">FAILED<' in by_name["term-qa"]
    assert '<tr class="failed">' in page
    assert "10 job(s) (2 failed, 3 skipped)" in by_name["term-qa"]
    # The latest report's status; the earlier one is listed with its own.
    assert by_name["quickstart"].index(">worse<") < by_name["quickstart"].index(">too close<")


def test_legacy_entries_get_a_status_from_their_single_label():
    assert status_of({"labels": ["needs more data"]}) == "too close"
    assert status_of({"labels": ["better", "worse"]}) == ""
    assert status_of({"status": "no difference"}) == "no difference"
    assert status_of({"status": "STOPPED"}) == "FAILED"


def test_the_board_takes_more_columns(tmp_path):
    reports = tmp_path / "reports"
    experiment(reports, "demo", entry(1, status="better"))

    def schedule(name: str, entries) -> Html:
        return tag("span", f"next run of {name}")

    page = write_index(reports, "", "test", (*COLUMNS, Column("Schedule", schedule))).read_text()
    assert ">Schedule<" in page and "next run of demo" in page


def test_report_metadata_carries_status_and_counts(tmp_path, capsys):
    failed_run = jobs(spec()).model_copy(update={"status": "FAILED"})
    state = store(tmp_path, jobs_record=failed_run, sweep_record=sweep(),
                  comparison_record=comparison())  # fmt: skip
    ctx = load_context(EXPERIMENT, state.root)
    assert ctx.status == "FAILED"
    show_metadata(ctx)
    out = capsys.readouterr().out
    assert "'status': 'FAILED'" in out and "'trials': 6" in out and "'failed': 1" in out
    ok = store(tmp_path / "ok", jobs_record=jobs(spec()), comparison_record=comparison())
    assert load_context(EXPERIMENT, ok.root).status == "better"


def test_a_scheduled_experiment_shows_its_schedule_status_and_a_trend(tmp_path):
    reports = tmp_path / "reports"
    trend = {"engine-a": (30.0, 30.2, 24.0), "engine-b": (28.0, None, 28.1)}
    dates = ("2027-01-01", "2027-01-07", "2027-01-14")
    regressed = BoardEntry(
        "mon", "REGRESSED", "REGRESSED since 2027-01-14", scheduled=True,
        last_run="2027-01-14 06:01", regressed=("engine-a (BLEU)",), marked=("engine-a",),
        metric="BLEU", dates=dates, trend=trend,
    )  # fmt: skip
    failed = BoardEntry("nightly-qe", "FAILED", "FAILED since 2027-01-13", scheduled=True)
    # Not scheduled: its answer is its status, its history still gives a trend.
    once = BoardEntry("quickstart", "OK", "OK", metric="accuracy", dates=("a", "b"),
                      trend={"neural": (0.8, 0.82)})  # fmt: skip
    experiment(reports, "mon", entry(1, status="better", board=board_fields(regressed)))
    experiment(reports, "nightly-qe", entry(2, status="", board=board_fields(failed)))
    experiment(reports, "quickstart", entry(3, status="worse", board=board_fields(once)))
    experiment(reports, "legacy", entry(4, status="better"))  # written before boards
    page = write_index(reports, "", "test").read_text()
    by_name = {re.search(r'href="([^/"]+)/index.html"', r).group(1): r for r in rows(page)}
    mon = by_name["mon"]
    assert 'class="badge worse">REGRESSED since 2027-01-14<' in mon and ">better<" not in mon
    assert "engine-a (BLEU)" in mon and "2027-01-14 06:01 UTC" in mon
    assert mon.count("<polyline") == 2 and 'stroke="#D55E00"' in mon  # engine-a marked
    assert "BLEU, 2027-01-01 to 2027-01-14" in mon
    assert 'class="badge fail">FAILED since 2027-01-13<' in by_name["nightly-qe"]
    assert '<tr class="failed"><td class="nowrap">' in page
    assert ">worse<" in by_name["quickstart"] and by_name["quickstart"].count("<polyline") == 1
    assert ">better<" in by_name["legacy"] and "<svg" not in by_name["legacy"]
    assert sparkline({"a": (1.0,)}) == "" and sparkline({}) == ""
