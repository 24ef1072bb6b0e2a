"""Reports: one self-contained HTML page per experiment run, rendered from its records.

:func:`render_report` executes the report notebook (``loclab/report/template/report.ipynb``,
shipped with the package) with Papermill and turns its outputs into the page; the notebook
reads the experiment's records (:mod:`loclab.results`) and nothing else, through
:mod:`loclab.report.page` and the sections of :mod:`loclab.report.sections`. A page whose
records, notebook and code are unchanged is kept, not rendered again. :func:`publish_reports`
uploads an experiment's reports to S3.

Importing this package is light (no plotting, no statistics): the command line checks
whether a report is current without loading what draws it.
"""

from loclab.report.context import NoResultsError, ReportContext, load_context
from loclab.report.publish import publish_reports
from loclab.report.render import (
    METADATA_MIME,
    ReportError,
    ReportResult,
    check_offline,
    render_report,
    report_key,
    report_template,
)

__all__ = [
    "METADATA_MIME",
    "NoResultsError",
    "ReportContext",
    "ReportError",
    "ReportResult",
    "check_offline",
    "load_context",
    "publish_reports",
    "render_report",
    "report_key",
    "report_template",
]
