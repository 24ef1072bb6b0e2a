"""The report's outline: the sections the report notebook shows, in the audience's order.

The notebook does ``for section in report.outline(ctx): report.show(section, ctx)``; the order
of the parts comes from :func:`loclab.report.contents.contents` (the spec's
``report.audience``), and each part is made of the sections listed here.
"""

from __future__ import annotations

from collections.abc import Callable

from loclab.report.context import ReportContext
from loclab.report.html import Html
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

__all__ = ["PARTS", "Section", "outline"]

#: A section: it takes the report's context and returns an HTML fragment.
Section = Callable[[ReportContext], Html]

#: The sections of each part of the report (by its anchor in the table of contents).
PARTS: dict[str, tuple[Section, ...]] = {
    "since": (since_last_good,),
    "summary": (executive_summary,),
    "results": (results_table,),
    "figures": (
        figures_heading,
        system_scores,
        effect_plot,
        sweep_section,
        learning_curves,
        ranking_diagram,
        breakdown_plots,
    ),
    "details": (statistical_details,),
    "problems": (what_went_wrong,),
    "provenance": (provenance_footer,),
    "glossary": (glossary,),
}


def outline(ctx: ReportContext) -> list[Section]:
    """The sections of this report, in reading order: the title, then each part in turn."""
    return [title_block, *(s for anchor, _ in ctx.parts for s in PARTS[anchor])]
