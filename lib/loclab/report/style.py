"""One look for every figure: a colour-blind-safe palette and quiet matplotlib settings."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["LABEL_COLOURS", "PALETTE", "figure_style", "new_figure", "short", "system_colours"]

#: Okabe & Ito's palette (distinguishable with the common colour-vision deficiencies).
PALETTE = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "sky": "#56B4E9",
    "yellow": "#F0E442",
    "grey": "#767676",
    "dark": "#333333",
}
#: Verdict colours; every figure also says the verdict in words or marker shape.
LABEL_COLOURS = {
    "better": PALETTE["blue"],
    "worse": PALETTE["vermillion"],
    "no difference": PALETTE["grey"],
    "too close to call": PALETTE["orange"],
    "no detectable difference": PALETTE["grey"],
    "needs more data": PALETTE["orange"],
}
_CYCLE = ["blue", "orange", "green", "purple", "sky", "vermillion", "yellow"]

_RC = {
    "figure.dpi": 110,
    "font.size": 9.5,
    "axes.titlesize": 10.5,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 9.5,
    "axes.edgecolor": "#9a9a9a",
    "axes.linewidth": 0.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e6e6e6",
    "grid.linewidth": 0.8,
    "axes.axisbelow": True,
    "xtick.color": "#444444",
    "ytick.color": "#444444",
    "legend.frameon": False,
    "legend.fontsize": 8.5,
    # Labels come from data: a "$" must never switch matplotlib into math mode.
    "text.parse_math": False,
    "axes.prop_cycle": None,
}


def system_colours(names: list[str], baseline: str | None = None) -> dict[str, str]:
    """A colour per system: the baseline dark grey, the others from the palette in order."""
    out: dict[str, str] = {}
    i = 0
    for name in names:
        if name == baseline:
            out[name] = PALETTE["dark"]
        else:
            out[name] = PALETTE[_CYCLE[i % len(_CYCLE)]]
            i += 1
    return out


def short(text: Any, width: int = 30, max_lines: int = 2) -> str:
    """Wrap a label for an axis: at most ``max_lines`` lines of ``width`` characters."""
    lines = textwrap.wrap(str(text), width) or [""]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: width - 1].rstrip() + "…"
    return "\n".join(lines)


@contextmanager
def figure_style() -> Iterator[None]:
    """Matplotlib settings of the report's figures (restored afterwards)."""
    import matplotlib as mpl
    from cycler import cycler

    rc: dict[str, Any] = dict(_RC)
    rc["axes.prop_cycle"] = cycler(color=[PALETTE[c] for c in _CYCLE])
    with mpl.rc_context(rc):  # type: ignore[arg-type]
        yield


def new_figure(width: float, height: float, ncols: int = 1, **kwargs: Any) -> tuple[Any, Any]:
    """A figure and its axes, drawn with the Agg backend (no GUI, no inline display)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(1, ncols, squeeze=False, **kwargs)[0]
    return fig, axes
