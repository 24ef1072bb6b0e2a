"""The ranking of all systems as a critical-difference diagram (three or more systems)."""

from __future__ import annotations

import math

from loclab.report.context import ReportContext
from loclab.report.html import Html, figure, fmt_num, note
from loclab.report.sections._common import adjustment, units_of
from loclab.report.sections.plots import alt_text, subheading
from loclab.report.style import PALETTE, figure_style, new_figure, short

__all__ = ["ranking_diagram"]


def _score(value: float | None) -> float:
    if value is None:
        raise ValueError("a ranked system has no score")
    return float(value)


def ranking_diagram(ctx: ReportContext) -> Html:
    """A critical-difference diagram (three or more systems).

    Systems sit on the metric's axis; bars join the systems that cannot be told apart.
    """
    head = subheading("Ranking of all systems", "fig-ranking")
    comp = ctx.comparison_record
    ranking = comp.ranking if comp is not None else None
    if comp is None or ranking is None or len(ranking.systems) < 3:
        n_systems = len(comp.systems) if comp is not None else 0
        why = (
            "fewer than three systems, so there is no ranking diagram"
            if n_systems < 3
            else "no ranking was computed (compare.rank is off)"
        )
        return Html(head + note(f"Left out: {why}.", "omitted"))
    names = list(ranking.systems)
    scores = [_score(s) for s in ranking.scores]
    labels = {s.name: s.label or s.name for s in comp.systems}
    groups = [g for g in ranking.groups if len(g.systems) >= 2]
    units = units_of(comp)
    metric = units.name or ranking.metric_name or ranking.metric or "score"
    higher = comp.higher_is_better
    letters = ranking.letters_of
    k = 100.0 if units.percent else 1.0
    scores = [k * v for v in scores]
    digits = 1 if units.percent else max(units.digits, 2)
    order = sorted(range(len(names)), key=lambda i: scores[i])  # worst to best (left to right)
    lo, hi = min(scores), max(scores)
    span = (hi - lo) or 1.0
    half = math.ceil(len(order) / 2)
    left, right = order[:half], order[half:]
    rows = max(len(left), len(right))
    with figure_style():
        height = 0.9 + 0.22 * rows + 0.12 * len(groups)
        fig, axes = new_figure(9.0, height)
        ax = axes[0]
        ax.set_axis_off()
        ax.set_xlim(lo - 0.42 * span, hi + 0.42 * span)
        bottom = -(len(groups) * 0.14 + 0.3 + rows * 0.24)
        ax.set_ylim(bottom, 0.42)
        ax.plot([lo, hi], [0, 0], color="#333333", linewidth=1.2)
        for tick in _nice_ticks(lo, hi):
            ax.plot([tick, tick], [0, 0.06], color="#333333", linewidth=1)
            ax.text(
                tick,
                0.1,
                fmt_num(tick, 1 if span > 2 else digits),
                ha="center",
                va="bottom",
                fontsize=8.5,
            )
        ax.text(
            (lo + hi) / 2,
            0.3,
            f"{metric} ({'higher' if higher else 'lower'} is better)",
            ha="center",
            va="bottom",
            fontsize=9,
        )
        for k, g in enumerate(groups):
            members = [scores[names.index(s)] for s in g.systems if s in names]
            y = -0.12 - 0.14 * k
            ax.plot(
                [min(members), max(members)],
                [y, y],
                color=PALETTE["blue"],
                linewidth=5,
                solid_capstyle="round",
                zorder=3,
            )
        top = -0.2 - 0.14 * len(groups)
        for side, idx in (("left", left), ("right", right)):
            ordered = idx if side == "left" else list(reversed(idx))
            for r, i in enumerate(ordered):
                y = top - 0.24 * r
                x_text = lo - 0.06 * span if side == "left" else hi + 0.06 * span
                ax.plot(
                    [scores[i], scores[i], x_text],
                    [0, y, y],
                    color="#8a8a8a",
                    linewidth=0.8,
                    zorder=2,
                )
                name = short(labels.get(names[i], names[i]), 30, 1)
                mark = letters.get(names[i], "")
                text = f"{name} ({mark})  {fmt_num(scores[i], digits)}"
                if side == "right":
                    text = f"{fmt_num(scores[i], digits)}  {name} ({mark})"
                ax.text(
                    x_text + (-0.02 if side == "left" else 0.02) * span,
                    y,
                    text,
                    ha="right" if side == "left" else "left",
                    va="center",
                    fontsize=8.5,
                )
        alt = alt_text(
            f"Critical-difference diagram of {len(names)} systems on {metric}. Letter groups "
            "that cannot be told apart: "
            + "; ".join(
                f"{g.letter}: " + ", ".join(labels.get(s, s) for s in g.systems) for g in groups
            )
        )
        pairs = adjustment(ranking.correction, ranking.family_size).replace("comparisons", "pairs")
        caption = (
            f"All {len(names)} systems on {metric}{' (%)' if units.percent else ''}, best on "
            "the right, each with its letters. Systems that share a letter cannot be told "
            "apart; each blue bar joins the systems of one letter "
            f"({ranking.method or 'pairwise tests'}; {pairs}). A system without a bar differs "
            "from every other one."
        )
        html = figure(fig, alt, caption)
    return Html(head + html)


def _nice_ticks(lo: float, hi: float) -> list[float]:
    span = hi - lo
    if span <= 0:
        return [lo]
    raw = span / 5
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10)), key=lambda s: abs(s - raw))
    first = math.ceil(lo / step) * step
    ticks = []
    t = first
    while t <= hi + 1e-9:
        ticks.append(round(t, 10))
        t += step
    return ticks
