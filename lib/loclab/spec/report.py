"""The ``report:`` section."""

from __future__ import annotations

from typing import Literal

from loclab.spec._base import SpecModel

__all__ = ["ReportSpec"]


class ReportSpec(SpecModel):
    """How the experiment's report reads.

    Attributes:
        title: The page's title (default: the experiment's name).
        audience: Who reads it first, which orders the sections (``loclab.report.outline``):
            ``stakeholders`` (default) get the answer, the results table and the figures, with
            the statistical details after them and a glossary last; ``researchers`` get the
            statistical details right after the summary, before the results and figures, and
            no glossary.
        summary: A paragraph the author writes for readers, shown above the answer.
    """

    title: str | None = None
    audience: Literal["stakeholders", "researchers"] = "stakeholders"
    summary: str | None = None
