"""The report's sections, in reading order; each takes the report's context, returns HTML."""

from loclab.report.sections.curves import learning_curves
from loclab.report.sections.plots import (
    breakdown_plots,
    effect_plot,
    ranking_diagram,
    system_scores,
)
from loclab.report.sections.problems import what_went_wrong
from loclab.report.sections.provenance import glossary, provenance_footer
from loclab.report.sections.summary import (
    executive_summary,
    figures_heading,
    results_table,
    statistical_details,
    title_block,
)
from loclab.report.sections.sweep_plots import sweep_section

__all__ = [
    "breakdown_plots",
    "effect_plot",
    "executive_summary",
    "figures_heading",
    "glossary",
    "learning_curves",
    "provenance_footer",
    "ranking_diagram",
    "results_table",
    "statistical_details",
    "sweep_section",
    "system_scores",
    "title_block",
    "what_went_wrong",
]
