"""The report's sections; each takes the report's context and returns an HTML fragment.

:func:`loclab.report.outline` puts them in reading order for the report's audience.
"""

from loclab.report.sections.breakdowns import breakdown_plots
from loclab.report.sections.curves import learning_curves
from loclab.report.sections.details import statistical_details
from loclab.report.sections.headings import figures_heading, title_block
from loclab.report.sections.plots import effect_plot, system_scores
from loclab.report.sections.problems import what_went_wrong
from loclab.report.sections.provenance import glossary, provenance_footer
from loclab.report.sections.ranking import ranking_diagram
from loclab.report.sections.results import results_table
from loclab.report.sections.since import since_last_good
from loclab.report.sections.summary import executive_summary
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
    "since_last_good",
    "statistical_details",
    "sweep_section",
    "system_scores",
    "title_block",
    "what_went_wrong",
]
