"""What several sections read from the comparison record, read in one place.

Most of what the report shows is a declared field of a record (:mod:`loclab.results`). A few
numbers exist only as fields the statistics add to a verdict or a ranking beyond the declared
ones (``power`` and ``mde`` of a verdict, ``summary`` of a test result, ``method`` of a
ranking...): :func:`stat_number` and :func:`stat_text` read those by name and check their
type, so a section never guesses at a record's shape.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, TypeGuard

from pydantic import BaseModel

from loclab.results import ComparisonEntry, ComparisonRecord, Family, SystemSummary
from loclab.stats import CORRECTION_NAMES

__all__ = [
    "correction_name",
    "family_of",
    "finite",
    "metric_name",
    "stat_number",
    "stat_text",
    "systems_in_rank_order",
    "threshold_of",
]


def finite(x: object) -> TypeGuard[float]:
    """True for an int or float that is neither NaN nor infinite."""
    return isinstance(x, int | float) and math.isfinite(x)


def correction_name(key: str | None) -> str:
    """The display name of a multiple-comparison correction (``loclab.stats``' table)."""
    return CORRECTION_NAMES.get(str(key), str(key or ""))


def family_of(comp: ComparisonRecord, entry: ComparisonEntry) -> Family | None:
    """The family a comparison was adjusted in (its correction, size, alpha and threshold)."""
    return next(
        (f for f in comp.families if f.role == entry.family and f.metric == entry.metric), None
    )


def threshold_of(comp: ComparisonRecord, entry: ComparisonEntry) -> float:
    """The practical threshold applied to a comparison (0 for none)."""
    family = family_of(comp, entry)
    return float(family.threshold) if family is not None else 0.0


def metric_name(comp: ComparisonRecord) -> str:
    """The deciding metric's display name."""
    key = comp.primary_metric
    for m in comp.metrics:
        if m.key == key:
            return m.name or key
    return key


def systems_in_rank_order(comp: ComparisonRecord) -> list[SystemSummary]:
    """The systems in the ranking's order (best first) when there is a ranking, else stored."""
    systems = list(comp.systems)
    if comp.ranking is not None and comp.ranking.systems:
        pos = {name: i for i, name in enumerate(comp.ranking.systems)}
        return sorted(systems, key=lambda s: pos.get(s.name, len(pos)))
    return systems


def _stat(source: BaseModel | Mapping[str, Any] | None, name: str) -> Any:
    if source is None:
        return None
    if isinstance(source, BaseModel):
        return getattr(source, name, None)
    return source.get(name)


def stat_number(source: BaseModel | Mapping[str, Any] | None, name: str) -> float | None:
    """A finite number the statistics stored beyond a record's declared fields, else None.

    Args:
        source: A verdict or ranking (their added fields), or a stored test result mapping.
        name: The field (``power``, ``mde``...).
    """
    value = _stat(source, name)
    if isinstance(value, bool) or not finite(value):
        return None
    return float(value)


def stat_text(source: BaseModel | Mapping[str, Any] | None, name: str) -> str:
    """A text or count the statistics stored beyond a record's declared fields ("" if none).

    Args:
        source: A verdict or ranking (their added fields), or a stored test result mapping.
        name: The field (``summary``, ``method``...).
    """
    value = _stat(source, name)
    if value is None or isinstance(value, dict | list):
        return ""
    return str(value)
