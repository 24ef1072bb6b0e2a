"""``report.audience`` orders the report: stakeholders read the answer, results and figures
first; researchers get the statistical details right after the summary, and no glossary."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest

from loclab import report
from loclab.report.context import ReportContext, load_context
from loclab.spec import ReportSpec

from .records import EXPERIMENT, comparison, jobs, spec, store, sweep

STAKEHOLDERS = ["summary", "results", "figures", "details", "problems", "provenance", "glossary"]
RESEARCHERS = ["summary", "details", "results", "figures", "problems", "provenance"]


def context(tmp_path: Path, audience: str) -> ReportContext:
    state = store(tmp_path / audience, jobs_record=jobs(spec(audience)), sweep_record=sweep(),
                  comparison_record=comparison())  # fmt: skip
    return load_context(EXPERIMENT, state.root)


def page(ctx: ReportContext) -> str:
    """The sections in the order the report notebook shows them."""
    return "".join(section(ctx) for section in report.outline(ctx))


def anchors(html: str) -> list[str]:
    """The top-level parts of a page, in order (sections and the figures' heading)."""
    return re.findall(r'<(?:section|h2) id="([a-z]+)"', html)


def toc(html: str) -> list[str]:
    nav = html[html.index('<nav class="toc"') : html.index("</nav>")]
    return re.findall(r'href="#([a-z]+)"', nav)


def test_the_spec_and_the_report_know_the_same_audiences():
    declared = typing.get_args(ReportSpec.model_fields["audience"].annotation)
    assert set(declared) == set(report.AUDIENCES) == {"stakeholders", "researchers"}
    assert ReportSpec().audience == "stakeholders"


@pytest.mark.parametrize(("audience", "order"), [("stakeholders", STAKEHOLDERS),
                                                 ("researchers", RESEARCHERS)])  # fmt: skip
def test_the_page_and_its_contents_follow_the_audience(tmp_path, audience, order):
    ctx = context(tmp_path, audience)
    assert ctx.audience == audience
    html = page(ctx)
    assert anchors(html) == order
    assert toc(html) == order
    assert [anchor for anchor, _ in report.contents(ctx.audience)] == order
    # The title comes first, the provenance (or the glossary) last, every time.
    assert report.outline(ctx)[0] is report.title_block


def test_researchers_get_the_details_before_the_results_and_no_glossary(tmp_path):
    ctx = context(tmp_path, "researchers")
    html = page(ctx)
    assert html.index("Deciding metric: accuracy") < html.index('id="results"')
    assert html.index("Power at threshold") < html.index('<img src="data:image/png')
    assert 'id="glossary"' not in html and 'href="#glossary"' not in html
    assert report.glossary not in report.outline(ctx)


def test_same_sections_and_numbers_for_both_audiences(tmp_path):
    ours = {s.__name__: s(context(tmp_path / "a", "stakeholders")) for s in [
        report.executive_summary, report.results_table, report.statistical_details]}  # fmt: skip
    theirs = context(tmp_path / "b", "researchers")
    assert report.results_table(theirs) == ours["results_table"]
    assert report.statistical_details(theirs) == ours["statistical_details"]
    # The summary differs only by its pointer to the glossary.
    summary = report.executive_summary(theirs)
    assert summary != ours["executive_summary"] and "glossary" not in summary
    assert summary[: summary.index("</section>")] in ours["executive_summary"]


def test_a_report_without_a_spec_is_for_stakeholders(tmp_path):
    only = load_context(EXPERIMENT, store(tmp_path, sweep_record=sweep()).root)
    assert only.spec_model is None and only.audience == "stakeholders"
    assert anchors(page(only)) == STAKEHOLDERS
