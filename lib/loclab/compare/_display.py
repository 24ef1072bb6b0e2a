"""How a compared metric is shown to readers: its name, its units and its decimals.

Proportions (accuracy, F1...) are shown as percentages and their differences as percentage
points ("-6.6 points", not "-0.066 accuracy"); BLEU, chrF and TER are already points. Names
come from the spec's ``compare.metric_names``, else from a built-in table
(:func:`loclab.spec.compare.metric_label`), so ``test_loss`` reads "test loss".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from loclab.compare._types import MetricData
from loclab.spec.compare import CompareSpec, is_proportion

__all__ = ["Display", "display_of", "level_text", "signed_text"]


@dataclass(frozen=True)
class Display:
    """How one metric's values and differences are written.

    Attributes:
        name: The name readers see ("accuracy", "BLEU", "F1 on errors").
        scale: Multiplier from the metric's units to display units (100 for proportions).
        unit: Unit of displayed differences ("points", or "" for unitless scores).
        digits: Decimals of displayed differences.
        percent: Whether values (not differences) read as percentages ("74.0%").
    """

    name: str
    scale: float = 1.0
    unit: str = ""
    digits: int = 3
    percent: bool = False

    def diff(self, x: float | None, *, unit: bool = True) -> str:
        """A difference with its sign, in display units (``+6.6 points``)."""
        return signed_text(x, self.scale, self.digits, self.unit if unit else "")

    def amount(self, x: float | None) -> str:
        """A non-negative amount in display units (``1 point``, ``3.8 points``)."""
        if x is None or not math.isfinite(x):
            return "undefined"
        value = abs(x) * self.scale
        # A threshold of 0.01 reads "1 point", not "1.0 point".
        text = f"{value:,.0f}" if value == round(value) else f"{value:,.{self.digits}f}"
        unit = self.unit
        if unit == "points" and float(text.replace(",", "")) == 1.0:
            unit = "point"
        return f"{text} {unit}".rstrip()

    def value(self, x: float | None) -> str:
        """A score (``74.0%``, ``27.81``)."""
        if x is None or not math.isfinite(x):
            return "–"
        if self.percent:
            return f"{100 * x:.1f}%"
        return f"{x:,.{self.digits}f}"


def signed_text(x: float | None, scale: float, digits: int, unit: str = "") -> str:
    """``+6.6 points``, ``-0.52``: a difference with its sign.

    A value that rounds to zero but is not zero gets up to two more decimals (``+0.02``), so
    an interval's end just above or below 0 keeps its sign and reads as inside or outside
    the interval; an exact zero reads ``+0.0``.
    """
    if x is None or not math.isfinite(x):
        return "undefined"
    value = x * scale
    text = f"{0.0:+.{digits}f}" if value == 0 else f"{value:+.{digits}f}"
    for more in (digits, digits + 1, digits + 2):
        if value != 0 and round(value, more) != 0:
            text = f"{value:+,.{more}f}"
            break
    return f"{text} {unit}".rstrip()


def level_text(confidence: float) -> str:
    """``95%``, ``98.3%``, ``99.67%``: enough decimals to tell an adjusted level from 100 %."""
    pct = 100.0 * confidence
    gap = 100.0 - pct
    decimals = max(0, 1 - math.floor(math.log10(gap))) if gap > 0 else 0
    return f"{pct:.{decimals}f}".rstrip("0").rstrip(".") + "%"


def display_of(metric: MetricData, compare: CompareSpec) -> Display:
    """How ``metric`` is shown (the spec's ``compare.metric_names`` first)."""
    own = compare.metric_names.get(metric.key)
    if metric.source == "corpus":
        name = own or metric.name
        if is_proportion(metric.key):  # corpus F1 is a proportion
            return Display(name, 100.0, "points", 1, True)
        if metric.key == "pearson":
            return Display(name, 1.0, "", 3)
        return Display(name, 1.0, "points", 2)
    if metric.source == "correlation":
        return Display(own or metric.name, 1.0, "", 3)
    name = own or compare.metric_label(metric.key)
    proportion = metric.binary or metric.key == "accuracy" or is_proportion(metric.key)
    if proportion and _within_unit_interval(metric):
        return Display(name, 100.0, "points", 1, True)
    return Display(name, 1.0, "", 3)


def _within_unit_interval(metric: MetricData) -> bool:
    values = [np.asarray(v, dtype=np.float64) for v in metric.values.values()]
    return all(v.size == 0 or (float(v.min()) >= 0.0 and float(v.max()) <= 1.0) for v in values)
