"""The reports index is a status board: one badge per experiment, failures marked as such."""

from __future__ import annotations

import re

from loclab.report.context import load_context
from loclab.report.html import Html, tag
from loclab.report.index import COLUMNS, Column, add_entry, status_of, write_index
from loclab.report.page import show_metadata

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
