"""The report's title block (with its table of contents) and the heading of the figures."""

from __future__ import annotations

import time

from loclab.report.context import ReportContext
from loclab.report.html import Html, join, tag

__all__ = ["figures_heading", "report_date", "title_block"]


def report_date(ts: float | None) -> str:
    """A date for readers (``2 December 2026, 14:05 UTC``), or "unknown"."""
    if not ts:
        return "unknown"
    return time.strftime("%d %B %Y, %H:%M %Z", time.localtime(ts)).lstrip("0")


def title_block(ctx: ReportContext) -> Html:
    """Title, question, dates and the in-page table of contents (in the audience's order)."""
    meta = [f"Report of {report_date(ctx.generated)}"]
    if ctx.run_time:
        meta.append(f"results of the run that ended {report_date(ctx.run_time)}")
    meta.append(f"experiment “{ctx.experiment}”")
    parts = [
        tag("p", "loclab experiment report", class_="kicker"),
        tag("h1", ctx.title),
    ]
    if ctx.description and " ".join(ctx.description.split()) != ctx.title:
        parts.append(tag("p", ctx.description, class_="question"))
    parts.append(tag("p", " · ".join(meta), class_="meta"))
    toc = join(tag("a", label, href=f"#{anchor}") for anchor, label in ctx.parts)
    nav = Html(f'<nav class="toc" aria-label="Contents">{toc}</nav>')
    return Html('<header class="masthead">' + "".join(parts) + "</header>" + nav)


def figures_heading(ctx: ReportContext) -> Html:
    """The heading of the figures, with one line on how to read them."""
    return Html(
        '<h2 id="figures">Figures</h2>'
        + tag(
            "p",
            "Each figure says in its caption what it shows; every number in a figure is "
            "also in a table or sentence of this report.",
            class_="lead",
        )
    )
