"""What the report notebook calls: the records, the outline of sections, and showing each.

The report notebook does ``from loclab.report import page``, then
``ctx = page.load_context(...)`` and ``for section in page.outline(ctx): page.show(section,
ctx)``. The sections come from :mod:`loclab.report.sections` in the order :func:`outline`
gives for the spec's ``report.audience`` (stakeholders: the answer, results and figures
first; researchers: the statistical details right after the summary).

:func:`show` displays a section and never raises: a section that fails shows a one-line note
instead, so one broken figure does not cost the reader the rest of the report (the section
functions themselves do raise, for tests).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from loclab.report.contents import AUDIENCES, Audience, contents
from loclab.report.context import NoResultsError, ReportContext, load_context
from loclab.report.html import Html, esc, note
from loclab.report.outline import Section, outline
from loclab.report.render import METADATA_MIME
from loclab.report.sections import (
    breakdown_plots,
    effect_plot,
    executive_summary,
    figures_heading,
    glossary,
    learning_curves,
    provenance_footer,
    ranking_diagram,
    results_table,
    since_last_good,
    statistical_details,
    sweep_section,
    system_scores,
    title_block,
    what_went_wrong,
)
from loclab.report.sections.provenance import GIT_SHA

__all__ = [
    "AUDIENCES",
    "METADATA_MIME",
    "SECTION_FAILED",
    "Audience",
    "Html",
    "NoResultsError",
    "ReportContext",
    "Section",
    "breakdown_plots",
    "contents",
    "effect_plot",
    "executive_summary",
    "figures_heading",
    "glossary",
    "learning_curves",
    "load_context",
    "outline",
    "provenance_footer",
    "ranking_diagram",
    "results_table",
    "show",
    "show_metadata",
    "since_last_good",
    "statistical_details",
    "sweep_section",
    "system_scores",
    "title_block",
    "what_went_wrong",
]

#: Text of the note a failed section leaves in the report (tests look for it).
SECTION_FAILED = "This part of the report could not be drawn"


def show(section: Section | Any, ctx: ReportContext | None = None) -> None:
    """Display a section (``show(title_block, ctx)``) or an HTML fragment as the cell's output.

    A section that raises is shown as a one-line note naming the error.
    """
    from IPython.display import display

    if callable(section):
        call: Callable[..., Any] = section
        try:
            fragment: Any = call(ctx) if ctx is not None else call()
        except Exception as err:
            fragment = note(f"{SECTION_FAILED} ({type(err).__name__}: {err}).", "warn")
    else:
        fragment = section
    display({"text/html": str(esc(fragment))}, raw=True)  # type: ignore[no-untyped-call]


def show_metadata(ctx: ReportContext) -> None:
    """Display what the reports index needs to know about this report (not shown on the page)."""
    from IPython.display import display

    comp = ctx.comparison_record
    labels = sorted({c.outcome for c in comp.confirmatory}) if comp else []
    jobs = ctx.run.jobs if ctx.run is not None else []
    sweep = ctx.sweep_record
    meta = {
        "experiment": ctx.experiment,
        "title": ctx.title,
        "headline": ctx.headline,
        # One status per experiment for the index's badge: its answer, or FAILED / STOPPED.
        "status": ctx.status,
        "labels": labels,
        "counts": {
            "jobs": len(jobs),
            "completed": sum(1 for j in jobs if j.ok),
            "failed": sum(1 for j in jobs if not j.ok and j.state != "SKIPPED"),
            "skipped": sum(1 for j in jobs if j.state == "SKIPPED"),
            "trials": len(sweep.trials) if sweep is not None else 0,
        },
        "git_sha": ctx.provenance.get(GIT_SHA),
    }
    display({METADATA_MIME: meta}, raw=True)  # type: ignore[no-untyped-call]
