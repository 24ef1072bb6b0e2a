"""The exploratory breakdowns: the deciding test repeated per subset of the test examples."""

from __future__ import annotations

import math
from typing import Any

from loclab.report.context import ReportContext
from loclab.report.html import Html, esc, figure, join, note, tag
from loclab.report.sections._common import Units, finite, level_text, units_of
from loclab.report.sections.plots import alt_text, subheading
from loclab.report.style import figure_style, new_figure, short, system_colours
from loclab.results import BreakdownRow, Breakdowns, ComparisonRecord

__all__ = ["breakdown_plots"]


def breakdown_plots(ctx: ReportContext) -> Html:
    """The deciding test repeated per subset (error type, locale, language pair...).

    Cells that stay significant after the Benjamini-Hochberg adjustment are marked.
    """
    head = subheading("Breakdowns", "fig-breakdowns")
    comp = ctx.comparison_record
    bd = comp.breakdowns if comp is not None else None
    if comp is None or bd is None or not bd.rows:
        why = (
            "no comparison stage"
            if comp is None
            else "the spec asks for no breakdowns (compare.breakdowns)"
        )
        return Html(head + note(f"Left out: {why}.", "omitted"))
    rows = bd.rows
    parts = [head]
    if bd.note:
        parts.append(note(bd.note, "warn"))
    for column in dict.fromkeys(r.column for r in rows):
        parts.append(_column_figure(comp, bd, column))
    significant = [r for r in rows if r.significant]
    if significant:
        items = join(
            tag("li", f"{r.column} = {r.value}: {r.sentence or r.label}") for r in significant
        )
        parts.append(tag("p", "Cells that stay significant after the adjustment:"))
        parts.append(Html(f"<ul class='small'>{items}</ul>"))
    else:
        parts.append(
            note(
                f"No cell stays significant after the Benjamini-Hochberg adjustment over "
                f"{bd.family_size} cells: no subset shows a difference beyond "
                "chance."
            )
        )
    parts.extend(note(w, "warn") for w in bd.warnings)
    return Html("".join(esc(p) for p in parts))


def _column_figure(comp: ComparisonRecord, bd: Breakdowns, column: str) -> Html:
    """One figure: the differences by the values of one column, a row per value."""
    rows = bd.rows
    alpha = float(bd.alpha or 0.05)
    systems = list(dict.fromkeys(r.system for r in rows))
    labels = {s.name: s.label or s.name for s in comp.systems}
    colours = system_colours(systems)
    units = units_of(comp)
    cells = [r for r in rows if r.column == column]
    values = list(dict.fromkeys(str(r.value) for r in cells))
    primary = [r for r in cells if r.system == systems[0]]

    def position(value: str) -> float:
        return next(
            (r.estimate for r in primary if str(r.value) == value and finite(r.estimate)),
            -math.inf,
        )

    order = sorted(values, key=position)
    n = len(order)
    with figure_style():
        fig, axes = new_figure(9.0, 0.27 * n * max(1, len(systems) * 0.6) + 1.3)
        ax = axes[0]
        thr = float(comp.practical_threshold or 0.0) * units.scale
        if thr > 0:
            ax.axvspan(-thr, thr, color="#ececec", zorder=0, linewidth=0)
        ax.axvline(0, color="#666666", linewidth=1, zorder=1)
        width = 0.5 / max(1, len(systems))
        for k, system in enumerate(systems):
            for y, value in enumerate(order):
                r = next((c for c in cells if c.system == system and str(c.value) == value), None)
                if r is not None:
                    offset = y + (k - (len(systems) - 1) / 2) * width
                    _draw_cell(ax, r, offset, colours[system], units)
        n_of = {str(r.value): r.n for r in cells if r.system == systems[0]}
        ax.set_yticks(
            range(n), labels=[f"{short(v, 28, 1)} (n={n_of.get(v, '?')})" for v in order]
        )
        ax.set_ylim(-0.7, n - 0.3)
        ax.grid(axis="y", visible=False)
        base = comp.baseline_label or comp.baseline
        unit = f" ({units.unit})" if units.unit else ""
        ax.set_xlabel(f"{units.name}: candidate minus {short(base, 40, 1)}{unit}")
        if len(systems) > 1:
            from matplotlib.lines import Line2D

            ax.legend(
                handles=[
                    Line2D(
                        [], [], color=colours[s], marker="o", label=short(labels.get(s, s), 30, 1)
                    )
                    for s in systems
                ],
                loc="lower right",
            )
        n_sig = sum(1 for r in cells if r.significant)
        alt = alt_text(
            f"Differences to the baseline by {column}, {n} values; {n_sig} significant "
            "after Benjamini-Hochberg: "
            + "; ".join(
                f"{r.value}: {units.diff(r.estimate)} "
                f"({units.span(r.ci)}){' *' if r.significant else ''}"
                for r in cells
            )
        )
        levels = sorted({level_text(r.ci_level) for r in cells if r.decision})
        intervals = (
            f"intervals adjusted like the markers ({', '.join(levels)})" if levels else "intervals"
        )
        cap = (
            f"By {column}: each candidate minus the baseline, with {intervals}. Filled dots "
            f"marked * stay significant after Benjamini-Hochberg over all {bd.family_size} "
            f"cells (alpha {alpha:g}); open dots do not."
        )
        return figure(fig, alt, cap)


def _draw_cell(ax: Any, r: BreakdownRow, y: float, colour: str, units: Units) -> None:
    """One cell's estimate (filled when significant) with its interval."""
    if not finite(r.estimate):
        return
    k = units.scale
    lo, hi = r.ci if r.ci else (None, None)
    if finite(lo) and finite(hi):
        ax.hlines(y, k * lo, k * hi, color=colour, linewidth=1.8, zorder=2)
    ax.plot(
        [k * r.estimate],
        [y],
        marker="o",
        markersize=6.5,
        color=colour,
        markerfacecolor=colour if r.significant else "white",
        markeredgewidth=1.4,
        zorder=3,
    )
    if r.significant:
        x = k * hi if finite(hi) else k * r.estimate
        ax.annotate(
            "*",
            (x, y),
            xytext=(4, -1),
            textcoords="offset points",
            fontsize=12,
            fontweight="bold",
            color=colour,
            va="center",
        )
