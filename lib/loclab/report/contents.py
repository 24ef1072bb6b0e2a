"""The report's table of contents for each audience (``report.audience`` in the spec).

Both open with "Since the last good run" when the experiment is monitored (it has a
``schedule:`` or scheduled ticks; see :attr:`loclab.report.context.ReportContext.parts`); a
one-off experiment's report opens with its answer. ``stakeholders`` (the default) read the
answer, then the results and figures, and the statistics last; ``researchers`` get the
statistical details right after the summary, before the results table and the figures, and
no glossary. :func:`loclab.report.outline` turns these entries into the sections the report
notebook shows, in this order.
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = ["AUDIENCES", "Audience", "contents"]

Audience = Literal["stakeholders", "researchers"]
#: Every audience a spec may name.
AUDIENCES: tuple[Audience, ...] = get_args(Audience)

_SINCE = ("since", "Since the last good run")
_SUMMARY = ("summary", "Summary")
_RESULTS = ("results", "Results")
_FIGURES = ("figures", "Figures")
_DETAILS = ("details", "Statistical details")
_PROBLEMS = ("problems", "What went wrong")
_PROVENANCE = ("provenance", "Provenance")
_GLOSSARY = ("glossary", "Glossary")

_CONTENTS: dict[Audience, tuple[tuple[str, str], ...]] = {
    "stakeholders": (
        _SINCE, _SUMMARY, _RESULTS, _FIGURES, _DETAILS, _PROBLEMS, _PROVENANCE, _GLOSSARY,
    ),
    "researchers": (_SINCE, _SUMMARY, _DETAILS, _RESULTS, _FIGURES, _PROBLEMS, _PROVENANCE),
}  # fmt: skip


def contents(audience: Audience) -> tuple[tuple[str, str], ...]:
    """The report's parts for ``audience``, in reading order: (anchor, heading) pairs."""
    return _CONTENTS[audience]
