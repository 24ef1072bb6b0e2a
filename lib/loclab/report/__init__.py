"""Reports: one self-contained HTML page per experiment run, rendered from its records.

The report notebook (``loclab/report/template/report.ipynb``, shipped with the package) shows
the sections of :mod:`loclab.report.sections` in order, each built from the experiment's
records (:mod:`loclab.results`) and nothing else; :func:`render_report` executes that
notebook with Papermill and turns its outputs into the page; :func:`publish_reports` uploads
an experiment's reports to S3.

:func:`show` displays a section and never raises: a section that fails shows a one-line note
instead, so one broken figure does not cost the reader the rest of the report (the section
functions themselves do raise, for tests).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from loclab.report.context import NoResultsError, ReportContext, load_context
from loclab.report.html import Html, esc, note
from loclab.report.publish import publish_reports
from loclab.report.render import (
    METADATA_MIME,
    ReportError,
    ReportResult,
    check_offline,
    render_report,
    report_template,
)
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
    statistical_details,
    sweep_section,
    system_scores,
    title_block,
    what_went_wrong,
)

__all__ = [
    "METADATA_MIME",
    "SECTION_FAILED",
    "Html",
    "NoResultsError",
    "ReportContext",
    "ReportError",
    "ReportResult",
    "breakdown_plots",
    "check_offline",
    "effect_plot",
    "executive_summary",
    "figures_heading",
    "glossary",
    "learning_curves",
    "load_context",
    "provenance_footer",
    "publish_reports",
    "ranking_diagram",
    "render_report",
    "report_template",
    "results_table",
    "show",
    "show_metadata",
    "statistical_details",
    "sweep_section",
    "system_scores",
    "title_block",
    "what_went_wrong",
]

#: Text of the note a failed section leaves in the report (tests look for it).
SECTION_FAILED = "This part of the report could not be drawn"

Section = Callable[[ReportContext], Html]


def show(section: Section | Any, ctx: ReportContext | None = None) -> None:
    """Display a section (``show(title_block, ctx)``) or an HTML fragment as the cell's output.

    A section that raises is shown as a one-line note naming the error.
    """
    from IPython.display import display

    if callable(section):
        try:
            fragment: Any = section(ctx) if ctx is not None else section()
        except Exception as err:
            fragment = note(f"{SECTION_FAILED} ({type(err).__name__}: {err}).", "warn")
    else:
        fragment = section
    display({"text/html": str(esc(fragment))}, raw=True)


def show_metadata(ctx: ReportContext) -> None:
    """Display what the reports index needs to know about this report (not shown on the page)."""
    from IPython.display import display

    comp = ctx.comparison_record
    labels = sorted({c.label for c in comp.confirmatory}) if comp else []
    meta = {
        "experiment": ctx.experiment,
        "title": ctx.title,
        "headline": ctx.headline,
        "labels": labels,
        "git_sha": ctx.provenance.get("loclab.git_sha"),
    }
    display({METADATA_MIME: meta}, raw=True)
