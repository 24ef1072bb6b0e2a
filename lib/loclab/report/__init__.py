"""Reports: one self-contained HTML page per experiment run, rendered from stored results.

The report notebook (``notebooks/templates/report.ipynb``) calls the section functions here,
in order; each returns an HTML fragment that :func:`show` displays. :func:`render_report`
executes that notebook with Papermill and turns its outputs into the page;
:func:`publish_reports` uploads an experiment's reports to S3.

Sections exported here never raise: a section that fails shows a one-line note instead, so one
broken figure does not cost the reader the rest of the report (the modules' own functions do
raise, for tests).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from loclab.report.context import NoResultsError, ReportContext, load_context
from loclab.report.html import Html, esc, note

__all__ = [
    "Html",
    "NoResultsError",
    "ReportContext",
    "breakdown_plots",
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
    "results_table",
    "show",
    "show_metadata",
    "statistical_details",
    "sweep_section",
    "system_scores",
    "title_block",
    "what_went_wrong",
    "write_report",
]

#: Text of the note a failed section leaves in the report (tests look for it).
SECTION_FAILED = "This part of the report could not be drawn"


def _guarded(fn: Callable[[ReportContext], Html]) -> Callable[[ReportContext], Html]:
    @functools.wraps(fn)
    def wrapper(ctx: ReportContext) -> Html:
        try:
            return fn(ctx)
        except Exception as err:
            return note(f"{SECTION_FAILED} ({type(err).__name__}: {err}).", "warn")

    return wrapper


def show(fragment: Any) -> None:
    """Display an HTML fragment as the cell's output (raw HTML, no text fallback)."""
    from IPython.display import display

    display({"text/html": str(esc(fragment))}, raw=True)


def show_metadata(ctx: ReportContext) -> None:
    """Display what the reports index needs to know about this report (not shown on the page)."""
    from IPython.display import display

    from loclab.report.render import METADATA_MIME

    comp = ctx.comparison or {}
    labels = sorted(
        {
            c.get("label")
            for c in comp.get("comparisons") or []
            if c.get("family") == "confirmatory"
        }
        - {None}
    )
    meta = {
        "experiment": ctx.experiment,
        "title": ctx.title,
        "headline": ctx.headline,
        "labels": labels,
        "git_sha": ctx.provenance.get("loclab.git_sha"),
    }
    display({METADATA_MIME: meta}, raw=True)


_MODULES = ("curves", "plots", "problems", "provenance", "summary", "sweep_plots")


def _sections() -> dict[str, Callable[[ReportContext], Html]]:
    from importlib import import_module

    mod = {m: import_module(f"loclab.report.{m}") for m in _MODULES}
    curves, plots, problems, provenance = (mod[m] for m in _MODULES[:4])
    summary, sweep_plots = mod["summary"], mod["sweep_plots"]
    return {
        "title_block": summary.title_block,
        "executive_summary": summary.executive_summary,
        "results_table": summary.results_table,
        "figures_heading": summary.figures_heading,
        "system_scores": plots.system_scores,
        "effect_plot": plots.effect_plot,
        "sweep_section": sweep_plots.sweep_section,
        "learning_curves": curves.learning_curves,
        "ranking_diagram": plots.ranking_diagram,
        "breakdown_plots": plots.breakdown_plots,
        "statistical_details": summary.statistical_details,
        "what_went_wrong": problems.what_went_wrong,
        "provenance_footer": provenance.provenance_footer,
        "glossary": provenance.glossary,
    }


def __getattr__(name: str) -> Any:
    # Sections (matplotlib, optuna, mlflow) and the renderer (papermill) load on first use, so
    # ``import loclab.report`` stays light for the command line.
    if name == "render_report" or name == "write_report":
        from loclab.report import render

        return getattr(render, name)
    if name == "publish_reports":
        from loclab.report.publish import publish_reports

        return publish_reports
    sections = _sections()
    if name in sections:
        return _guarded(sections[name])
    raise AttributeError(f"module 'loclab.report' has no attribute {name!r}")
