"""The sampling noise of a validation metric, drawn so a figure never magnifies it.

An accuracy measured on ``n`` validation examples has a standard error of
``sqrt(p (1 - p) / n)``: on 288 examples and near 75 %, about 2.6 points. Sweep histories and
learning curves draw a band of ±1 standard error, and their value axis spans at least a few
of them, so one example's worth of difference (0.35 points on 288) looks as small as it is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from loclab.spec.compare import metric_label
from loclab.stats import proportion_se as std_error

__all__ = ["VALIDATION_TAG", "Scale", "has_noise_model", "noise_note", "scale_for", "std_error"]

#: The tag a notebook sets to say how many validation examples its metrics are measured on.
VALIDATION_TAG = "loclab.validation_examples"
_ACCURACY = ("acc", "accuracy")


def has_noise_model(key: str) -> bool:
    """Whether ``key`` is an accuracy, whose binomial standard error is known from ``n``."""
    base = key.split("_", 1)[1] if key.startswith(("val_", "test_")) else key
    return base in _ACCURACY


class Scale:
    """How one metric is drawn: its name, percent or not, and its noise per example count.

    Args:
        key: The metric's key.
        values: Values it takes in the figure (decides whether it reads as a percentage).
        names: The spec's ``compare.metric_names``.
    """

    def __init__(
        self, key: str, values: Sequence[float], names: Mapping[str, str] | None = None
    ) -> None:
        self.key = key
        self.name = metric_label(key, dict(names or {}))
        finite = [v for v in values if math.isfinite(v)]
        self.percent = has_noise_model(key) and all(0.0 <= v <= 1.0 for v in finite)
        self.factor = 100.0 if self.percent else 1.0

    @property
    def label(self) -> str:
        """The axis label (``validation accuracy (%)``)."""
        return self.name + (" (%)" if self.percent else "")

    def band(
        self,
        ax: Any,
        xs: Sequence[float],
        ys: Sequence[float],
        n: int | None,
        colour: str,
        *,
        alpha: float = 0.15,
        label: str | None = None,
    ) -> float | None:
        """Draw ±1 standard error around a line of raw values; return the widest SE drawn."""
        if not self.percent or not n:
            return None
        ses = [std_error(y, n) or 0.0 for y in ys]
        ax.fill_between(
            list(xs),
            [self.factor * (y - s) for y, s in zip(ys, ses, strict=True)],
            [self.factor * (y + s) for y, s in zip(ys, ses, strict=True)],
            color=colour,
            alpha=alpha,
            linewidth=0,
            zorder=1,
            label=label,
        )
        return max(ses) if ses else None

    def anchor(self, ax: Any, values: Sequence[float], n: int | None) -> None:
        """Widen the value axis to at least ±2 standard errors around the values drawn."""
        finite = [v for v in values if math.isfinite(v)]
        if not self.percent or not n or not finite:
            return
        mid = (min(finite) + max(finite)) / 2
        se = std_error(mid, n) or 0.0
        lo, hi = ax.get_ylim()
        want_lo, want_hi = (
            self.factor * (min(finite) - 2 * se),
            self.factor * (max(finite) + 2 * se),
        )
        ax.set_ylim(min(lo, want_lo), max(hi, want_hi))


def scale_for(key: str, values: Sequence[float], names: Mapping[str, str] | None = None) -> Scale:
    """The :class:`Scale` of ``key`` over ``values``."""
    return Scale(key, values, names)


def noise_note(n: int | None, p: float | None) -> str:
    """The caption's sentence on the band (``±1 standard error on 288 examples: ±2.6 points``)."""
    if not n or p is None:
        return ""
    se = std_error(p, n)
    if se is None:
        return ""
    one = 100.0 / n
    return (
        f" Shaded: ±1 standard error of an accuracy measured on {n:,} validation examples "
        f"(about ±{100 * se:.1f} points near {100 * p:.0f}%); one example is {one:.2f} points, "
        "so differences inside the band are sampling noise."
    )
