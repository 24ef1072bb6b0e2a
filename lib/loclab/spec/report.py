"""The ``report:`` section."""

from __future__ import annotations

from typing import Literal

from loclab.spec._base import SpecModel

__all__ = ["ReportSpec"]


class ReportSpec(SpecModel):
    """How the experiment's report reads.

    Attributes:
        title: The page's title (default: the spec's description when it is one short
            sentence, else the experiment's name made readable: ``term-qa`` reads "Term QA").
        audience: Who reads it first, which orders the sections (``loclab.report.outline``):
            ``stakeholders`` (default) get the answer, the results table and the figures, with
            the statistical details after them and a glossary last; ``researchers`` get the
            statistical details right after the summary, before the results and figures, and
            no glossary.
        summary: A paragraph in the author's own words (context, caveats, what the team
            decided), shown right under the answer. The answer itself, the report's first
            sentence, always comes from the statistics (what the evidence supports and what to
            do), so an author's summary can add to it but never replace it. Plain text; it is
            HTML-escaped and scrubbed of secrets like everything else on the page.
    """

    title: str | None = None
    audience: Literal["stakeholders", "researchers"] = "stakeholders"
    summary: str | None = None
