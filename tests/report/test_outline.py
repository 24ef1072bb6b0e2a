"""``report.audience`` orders the report: stakeholders read the answer, results and figures
first; researchers get the statistical details right after the summary, and no glossary."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest

from loclab.report import page as report
from loclab.report.context import ReportContext, load_context
from loclab.spec import ReportSpec

from .records import EXPERIMENT, comparison, jobs, spec, store, sweep

# A one-off experiment's report opens with its answer; "since" is for monitored ones.
STAKEHOLDERS = [
    "summary", "results", "figures", "details", "problems", "provenance", "glossary",
]  # fmt: skip
RESEARCHERS = ["summary", "details", "results", "figures", "problems", "provenance"]


def context(root: Path, audience: str) -> ReportContext:
    state = store(root / audience, jobs_record=jobs(spec(audience)), sweep_record=sweep(),
                  comparison_record=comparison())  # fmt: skip
    return load_context(EXPERIMENT, state.root)


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[ReportContext, str]]:
    """Each audience's context and page (the sections in the order the notebook shows them),
    rendered once."""
    root = tmp_path_factory.mktemp("outline")
    out = {}
    for audience in ("stakeholders", "researchers"):
        ctx = context(root, audience)
        out[audience] = (ctx, "".join(section(ctx) for section in report.outline(ctx)))
    return out


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
def test_the_page_and_its_contents_follow_the_audience(pages, audience, order):
    ctx, html = pages[audience]
    assert ctx.audience == audience
    assert anchors(html) == order
    assert toc(html) == order
    assert [anchor for anchor, _ in report.contents(ctx.audience)] == ["since", *order]
    assert [anchor for anchor, _ in ctx.parts] == order
    # The title comes first, the provenance (or the glossary) last, every time.
    assert report.outline(ctx)[0] is report.title_block


def test_researchers_get_the_details_before_the_results_and_no_glossary(pages):
    ctx, html = pages["researchers"]
    assert html.index("Deciding metric: accuracy") < html.index('id="results"')
    assert html.index("Power at threshold") < html.index('<img src="data:image/png')
    assert 'id="glossary"' not in html and 'href="#glossary"' not in html
    assert report.glossary not in report.outline(ctx)


def parts(html: str) -> dict[str, str]:
    """A page cut into its parts, by anchor."""
    starts = [(m.start(), m.group(1)) for m in re.finditer(r'<(?:section|h2) id="([a-z]+)"', html)]
    ends = [start for start, _ in starts[1:]] + [len(html)]
    return {anchor: html[start:end] for (start, anchor), end in zip(starts, ends, strict=True)}


def test_same_sections_and_numbers_for_both_audiences(pages):
    ours, theirs = parts(pages["stakeholders"][1]), parts(pages["researchers"][1])
    for anchor in ("results", "figures", "details", "problems"):
        assert theirs[anchor] == ours[anchor], anchor
    # The summary differs only by its pointer to the glossary (the provenance by the spec's
    # audience and the time it was rendered).
    summary = theirs["summary"]
    assert summary != ours["summary"] and "glossary" not in summary
    assert summary[: summary.index("</section>")] in ours["summary"]


def test_a_report_without_a_spec_is_for_stakeholders(tmp_path):
    only = load_context(EXPERIMENT, store(tmp_path, sweep_record=sweep()).root)
    assert only.spec_model is None and only.audience == "stakeholders"
    assert [anchor for anchor, _ in only.parts] == STAKEHOLDERS
