"""What several sections read from the comparison record, read in one place.

Most of what the report shows is a declared field of a record (:mod:`loclab.results`). A few
numbers exist only as fields the statistics add to a verdict or a ranking beyond the declared
ones (``power`` and ``mde`` of a verdict, ``summary`` of a test result, ``method`` of a
ranking...): :func:`stat_number` and :func:`stat_text` read those by name and check their
type, so a section never guesses at a record's shape.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

from pydantic import BaseModel

from loclab.results import ComparisonEntry, ComparisonRecord, Family, MetricInfo, SystemSummary
from loclab.spec.compare import is_proportion
from loclab.stats import CORRECTION_NAMES

__all__ = [
    "Units",
    "adjustment",
    "caveats",
    "correction_name",
    "family_of",
    "finite",
    "level_text",
    "metric_name",
    "near_zero",
    "plain_sentence",
    "stat_number",
    "stat_text",
    "systems_in_rank_order",
    "threshold_of",
    "units_of",
]


def level_text(confidence: float) -> str:
    """``95%``, ``98.3%``, ``99.67%``: enough decimals to tell an adjusted level from 100 %."""
    pct = 100.0 * confidence
    gap = 100.0 - pct
    decimals = max(0, 1 - math.floor(math.log10(gap))) if gap > 0 else 0
    return f"{pct:.{decimals}f}".rstrip("0").rstrip(".") + "%"


#: The verdict sentence's own reminder of what "better"/"worse" mean; the report says it once,
#: in the summary's significance note.
_MEANS = re.compile(r' \("[^"]+" means unlikely to be chance, not large\.\)')


def plain_sentence(sentence: str) -> str:
    """A verdict sentence without its reminder of what "better" means (said once per report)."""
    return _MEANS.sub("", sentence)


def near_zero(value: float, digits: int) -> str:
    """``value`` with its sign and ``digits`` decimals, more when it would round to 0.

    An interval's end just past 0 keeps its sign (``+0.02``, not ``+0.0``), so it reads as
    inside or outside the interval it bounds; an exact 0 reads ``+0.0``.
    """
    if value == 0:
        return f"{0.0:+.{digits}f}"
    for more in (digits, digits + 1, digits + 2):
        if round(value, more) != 0:
            return f"{value:+,.{more}f}"
    return f"{value:+.{digits}f}"


@dataclass(frozen=True)
class Units:
    """How a metric's scores and differences are written (from the record's metric info).

    Attributes:
        name: The metric's display name.
        scale: Multiplier of differences (100: proportions as percentage points).
        unit: Unit of differences (``points`` or "").
        digits: Decimals of differences.
        percent: Whether scores read as percentages.
    """

    name: str
    scale: float = 1.0
    unit: str = ""
    digits: int = 3
    percent: bool = False

    def diff(self, x: float | None, *, unit: bool = True) -> str:
        """A difference with its sign, a true minus, in display units (``−6.6 points``)."""
        if x is None or not finite(x):
            return "–"
        value = x * self.scale
        text = near_zero(value, self.digits).replace("-", "−")
        return f"{text} {self.unit}".rstrip() if unit else text

    def span(self, ci: Sequence[float | None] | None) -> str:
        """An interval of differences (``−13.2 to +0.0 points``), or "no interval"."""
        if not ci or len(ci) != 2 or not (finite(ci[0]) and finite(ci[1])):
            return "no interval"
        return f"{self.diff(ci[0], unit=False)} to {self.diff(ci[1])}"

    def amount(self, x: float | None) -> str:
        """A non-negative amount (``1 point``, ``0.5 points``)."""
        if x is None or not finite(x):
            return "–"
        value = abs(x) * self.scale
        text = f"{value:,.0f}" if value == round(value) else f"{value:,.{self.digits}f}"
        unit = "point" if self.unit == "points" and value == 1 else self.unit
        return f"{text} {unit}".rstrip()

    def value(self, x: float | None) -> str:
        """A score (``74.0%``, ``27.81``)."""
        if x is None or not finite(x):
            return "–"
        if self.percent:
            return f"{100 * x:.1f}%"
        return f"{x:,.{max(self.digits, 2)}f}"

    def half(self, x: float | None) -> str:
        """Half an interval's width, in the scores' units (``2.1`` points of a percentage)."""
        if x is None or not finite(x):
            return "–"
        return f"{100 * x:.1f}" if self.percent else f"{x:,.{max(self.digits, 2)}f}"


def units_of(comp: ComparisonRecord, key: str | None = None) -> Units:
    """How metric ``key`` (default: the deciding one) is written in this report."""
    key = key or comp.primary_metric
    info: MetricInfo | None = next((m for m in comp.metrics if m.key == key), None)
    if info is not None:
        return Units(info.name or key, info.scale, info.scale_unit, info.digits, info.percent)
    names = [s.metrics[key].name for s in comp.systems if key in s.metrics]
    means = [s.metrics[key].mean for s in comp.systems if key in s.metrics]
    proportion = is_proportion(key) and all(m is None or 0.0 <= m <= 1.0 for m in means)
    name = next((n for n in names if n), key)
    return Units(name, 100.0, "points", 1, True) if proportion else Units(name)


def adjustment(correction: str | None, size: int) -> str:
    """``Holm over 15 comparisons``, or that a single comparison needs no adjustment."""
    if size <= 1:
        return "a single comparison, so no adjustment"
    return f"{correction_name(correction)} over {size} comparisons"


def caveats(comp: ComparisonRecord) -> list[str]:
    """Every caveat of the deciding comparisons and of the whole comparison, each once."""
    found: list[str] = []
    for c in comp.confirmatory:
        found.extend(c.warnings)
    found.extend(comp.warnings)
    return list(dict.fromkeys(found))


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
