"""Figures of the comparison: scores, differences, ranking and breakdowns.

Scores per system, differences to the baseline, the ranking (a critical-difference diagram)
and the exploratory breakdowns.

Each function takes the report's context and returns an HTML fragment: the figure as an inline
PNG with alt text and a caption, or a one-line note saying why it is left out.
"""

from __future__ import annotations

import math
from typing import Any

from loclab.report.context import ReportContext
from loclab.report.html import Html, digits_for, esc, figure, fmt_ci, fmt_num, join, note, tag
from loclab.report.sections.summary import correction_name
from loclab.report.style import (
    LABEL_COLOURS,
    PALETTE,
    figure_style,
    new_figure,
    short,
    system_colours,
)

__all__ = ["breakdown_plots", "effect_plot", "ranking_diagram", "system_scores"]

_MAX_ALT = 700


def _alt(text: str) -> str:
    return text if len(text) <= _MAX_ALT else text[: _MAX_ALT - 1] + "…"


def _finite(x: Any) -> bool:
    return isinstance(x, int | float) and math.isfinite(x)


def _subheading(title: str, anchor: str) -> Html:
    return tag("h3", title, id=anchor)


def _metric_order(comp: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in comp.get("metrics") or [] if m.get("key")]


def _systems_by_primary(comp: dict[str, Any]) -> list[dict[str, Any]]:
    """Systems, best first on the deciding metric (the ranking's order when there is one)."""
    systems = list(comp.get("systems") or [])
    ranking = comp.get("ranking") or {}
    if ranking.get("systems"):
        pos = {name: i for i, name in enumerate(ranking["systems"])}
        return sorted(systems, key=lambda s: pos.get(s["name"], len(pos)))
    key = comp.get("primary_metric")
    sign = -1.0 if comp.get("higher_is_better", True) else 1.0

    def score(s: dict[str, Any]) -> float:
        mean: Any = ((s.get("metrics") or {}).get(key) or {}).get("mean")
        return sign * float(mean) if _finite(mean) else math.inf

    return sorted(systems, key=score)


def system_scores(ctx: ReportContext) -> Html:
    """Each system's score on the compared metrics: mean, 95 % CI across seeds, every seed."""
    head = _subheading("Scores by system", "fig-scores")
    comp = ctx.comparison
    if not comp or not comp.get("systems"):
        return Html(
            head + note("No comparison stage: there are no per-system scores to plot.", "omitted")
        )
    metrics = _metric_order(comp)[:2]
    systems = _systems_by_primary(comp)
    names = [s["name"] for s in systems]
    colours = system_colours(names, comp.get("baseline"))
    if len(names) > 6:  # a colour per system stops helping: one colour, the baseline apart
        colours = {
            k: v if k == comp.get("baseline") else PALETTE["blue"] for k, v in colours.items()
        }
    n = len(systems)
    alt_parts = []
    with figure_style():
        fig, axes = new_figure(9.0, 0.42 * n + 1.3, ncols=len(metrics), sharey=True)
        for ax, metric in zip(axes, metrics, strict=True):
            key = metric["key"]
            for row, system in enumerate(systems):
                y = n - 1 - row
                stats = (system.get("metrics") or {}).get(key) or {}
                colour = colours[system["name"]]
                seeds = [v for v in (stats.get("per_seed") or {}).values() if _finite(v)]
                if len(seeds) > 1:
                    offs = [(-0.2 + 0.4 * i / (len(seeds) - 1)) for i in range(len(seeds))]
                    ax.scatter(
                        seeds,
                        [y + o for o in offs],
                        s=14,
                        color=colour,
                        alpha=0.45,
                        linewidths=0,
                        zorder=2,
                    )
                ci = stats.get("ci")
                if ci and all(_finite(c) for c in ci):
                    ax.hlines(y, ci[0], ci[1], color=colour, linewidth=2.2, zorder=3)
                mean = stats.get("mean")
                if _finite(mean):
                    ax.plot(
                        [mean],
                        [y],
                        marker="D",
                        markersize=6.5,
                        color=colour,
                        zorder=4,
                        markeredgecolor="white",
                        markeredgewidth=0.8,
                    )
                if metric is metrics[0]:
                    alt_parts.append(
                        f"{system.get('label') or system['name']}: {fmt_num(mean)}"
                        + (f" (95% CI {fmt_ci(ci)})" if ci else "")
                        + f", {len(seeds)} run(s)"
                    )
            ax.set_xlabel(metric.get("name") or key)
            ax.set_ylim(-0.6, n - 0.4)
            ax.grid(axis="y", visible=False)
        labels = []
        for system in systems:
            label = short(system.get("label") or system["name"], 34)
            if system["name"] == comp.get("baseline"):
                label += "\n(baseline)"
            labels.append(label)
        axes[0].set_yticks(range(n - 1, -1, -1), labels=labels)
        alt = _alt(
            f"Dot plot of {metrics[0].get('name')} by system, best at the top. "
            + "; ".join(alt_parts)
        )
        seeds_note = (
            "Diamonds: mean over training seeds; bars: 95% confidence interval across seeds; "
            "dots: individual seeds."
        )
        if all(int(s.get("n_seeds") or 1) <= 1 for s in systems):
            seeds_note = (
                "One run per system, so no interval across seeds: the uncertainty of each "
                "difference is in the next figure and in the results table."
            )
        html = figure(fig, alt, f"Scores by system, best at the top. {seeds_note}")
    return Html(head + html)


def effect_plot(ctx: ReportContext) -> Html:
    """Each system minus the baseline, with its 95 % CI, the verdict and the practical band."""
    head = _subheading("Difference to the baseline", "fig-effects")
    comp = ctx.comparison
    rows = [c for c in (comp or {}).get("comparisons") or [] if c.get("family") == "confirmatory"]
    if not comp or not rows:
        return Html(head + note("No comparison stage: no differences to plot.", "omitted"))
    rows.sort(key=lambda c: c.get("estimate") if _finite(c.get("estimate")) else -math.inf)
    n = len(rows)
    digits = digits_for([c.get("estimate") for c in rows])
    thr = float(rows[0].get("threshold") or 0.0)
    metric = rows[0].get("metric_name") or rows[0].get("metric") or ""
    with figure_style():
        fig, axes = new_figure(9.0, 0.36 * n + 1.35)
        ax = axes[0]
        if thr > 0:
            ax.axvspan(-thr, thr, color="#ececec", zorder=0, linewidth=0)
        ax.axvline(0, color="#666666", linewidth=1, zorder=1)
        for y, c in enumerate(rows):
            colour = LABEL_COLOURS.get(c.get("label", ""), PALETTE["dark"])
            ci = c.get("ci") or [None, None]
            if all(_finite(v) for v in ci):
                ax.hlines(y, ci[0], ci[1], color=colour, linewidth=2.2, zorder=2)
            significant = c.get("label") in ("better", "worse")
            if _finite(c.get("estimate")):
                ax.plot(
                    [c["estimate"]],
                    [y],
                    marker="o",
                    markersize=7,
                    zorder=3,
                    color=colour,
                    markerfacecolor=colour if significant else "white",
                    markeredgewidth=1.6,
                )
        ax.set_yticks(
            range(n), labels=[short(c.get("system_label") or c["system"], 34) for c in rows]
        )
        ax.set_ylim(-0.7, n - 0.3)
        ax.grid(axis="y", visible=False)
        # The verdict in words at the right edge: colour is never the only cue.
        right = ax.twinx()
        right.set_ylim(ax.get_ylim())
        right.set_yticks(range(n), labels=[c.get("label", "") for c in rows])
        right.tick_params(length=0)
        right.spines["right"].set_visible(False)
        right.grid(False)
        for tick, c in zip(right.get_yticklabels(), rows, strict=True):
            tick.set_color(LABEL_COLOURS.get(c.get("label", ""), PALETTE["dark"]))
        base = rows[0].get("baseline_label") or rows[0].get("baseline")
        ax.set_xlabel(f"{metric}: system minus {short(base, 40, 1)}")
        alt = _alt(
            f"Differences in {metric} to the baseline {base}, with 95% confidence intervals: "
            + "; ".join(
                f"{c.get('system_label') or c['system']}: {fmt_num(c.get('estimate'), digits)} "
                f"({fmt_ci(c.get('ci'), digits)}), {c.get('label')}"
                for c in reversed(rows)
            )
        )
        band = (
            f" Grey band: differences smaller than the practical threshold of "
            f"{fmt_num(thr, digits)}, too small to matter."
            if thr > 0
            else ""
        )
        correction = correction_name(rows[0].get("correction"))
        caption = (
            f"Difference to the baseline ({base}) with 95% confidence intervals. Filled dots: "
            f"better or worse beyond chance ({correction} over {rows[0].get('family_size')} "
            f"comparisons); open dots: not.{band}"
        )
        html = figure(fig, alt, caption)
    return Html(head + html)


def ranking_diagram(ctx: ReportContext) -> Html:
    """A critical-difference diagram (three or more systems).

    Systems sit on the metric's axis; bars join the systems that cannot be told apart.
    """
    head = _subheading("Ranking of all systems", "fig-ranking")
    comp = ctx.comparison or {}
    ranking = comp.get("ranking")
    n_systems = len(comp.get("systems") or [])
    if not ranking or len(ranking.get("systems") or []) < 3:
        why = (
            "fewer than three systems, so there is no ranking diagram"
            if n_systems < 3
            else "no ranking was computed (compare.rank is off)"
        )
        return Html(head + note(f"Left out: {why}.", "omitted"))
    names = list(ranking["systems"])
    scores = [float(s) for s in ranking["scores"]]
    labels = {s["name"]: s.get("label") or s["name"] for s in comp.get("systems") or []}
    groups = [g for g in ranking.get("groups") or [] if len(g.get("systems") or []) >= 2]
    metric = ranking.get("metric_name") or ranking.get("metric") or "score"
    higher = comp.get("higher_is_better", True)
    digits = digits_for(scores)
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
            members = [scores[names.index(s)] for s in g["systems"] if s in names]
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
                text = (
                    f"{short(labels.get(names[i], names[i]), 30, 1)}  {fmt_num(scores[i], digits)}"
                )
                if side == "right":
                    name = short(labels.get(names[i], names[i]), 30, 1)
                    text = f"{fmt_num(scores[i], digits)}  {name}"
                ax.text(
                    x_text + (-0.02 if side == "left" else 0.02) * span,
                    y,
                    text,
                    ha="right" if side == "left" else "left",
                    va="center",
                    fontsize=8.5,
                )
        alt = _alt(
            f"Critical-difference diagram of {len(names)} systems on {metric}. Groups that "
            "cannot be told apart: "
            + "; ".join(", ".join(labels.get(s, s) for s in g["systems"]) for g in groups)
        )
        caption = (
            f"All {len(names)} systems on {metric}, best on the right. Systems joined by a "
            "blue bar cannot be told apart "
            f"({ranking.get('method') or 'pairwise tests'}; "
            f"{correction_name(ranking.get('correction'))} "
            f"over {ranking.get('family_size', '')} pairs); a system without a bar differs "
            "from every other one."
        )
        html = figure(fig, alt, caption)
    summary = ranking.get("summary")
    return Html(head + html + (tag("p", summary, class_="small") if summary else ""))


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


def breakdown_plots(ctx: ReportContext) -> Html:
    """The deciding test repeated per subset (error type, locale, language pair...).

    Cells that stay significant after the Benjamini-Hochberg adjustment are marked.
    """
    head = _subheading("Breakdowns", "fig-breakdowns")
    comp = ctx.comparison or {}
    bd = comp.get("breakdowns")
    if not bd or not bd.get("rows"):
        why = (
            "no comparison stage"
            if not comp
            else "the spec asks for no breakdowns (compare.breakdowns)"
        )
        return Html(head + note(f"Left out: {why}.", "omitted"))
    alpha = float(bd.get("alpha") or 0.05)
    rows = bd["rows"]
    columns = list(dict.fromkeys(r["column"] for r in rows))
    systems = list(dict.fromkeys(r["system"] for r in rows))
    labels = {s["name"]: s.get("label") or s["name"] for s in comp.get("systems") or []}
    colours = system_colours(systems)
    digits = digits_for([r.get("estimate") for r in rows])
    parts = [head]
    if bd.get("note"):
        parts.append(note(bd["note"], "warn"))
    for column in columns:
        cells = [r for r in rows if r["column"] == column]
        values = list(dict.fromkeys(str(r["value"]) for r in cells))
        primary = [r for r in cells if r["system"] == systems[0]]
        order = sorted(
            values,
            key=lambda v: next(
                (
                    r["estimate"]
                    for r in primary
                    if str(r["value"]) == v and _finite(r["estimate"])
                ),
                -math.inf,
            ),
        )
        n = len(order)
        with figure_style():
            fig, axes = new_figure(9.0, 0.27 * n * max(1, len(systems) * 0.6) + 1.3)
            ax = axes[0]
            thr = float(comp.get("practical_threshold") or 0.0)
            if thr > 0:
                ax.axvspan(-thr, thr, color="#ececec", zorder=0, linewidth=0)
            ax.axvline(0, color="#666666", linewidth=1, zorder=1)
            width = 0.5 / max(1, len(systems))
            for k, system in enumerate(systems):
                colour = colours[system]
                for y, value in enumerate(order):
                    r = next(
                        (c for c in cells if c["system"] == system and str(c["value"]) == value),
                        None,
                    )
                    if r is None or not _finite(r.get("estimate")):
                        continue
                    yy = y + (k - (len(systems) - 1) / 2) * width
                    ci = r.get("ci") or [None, None]
                    if all(_finite(v) for v in ci):
                        ax.hlines(yy, ci[0], ci[1], color=colour, linewidth=1.8, zorder=2)
                    sig = bool(r.get("significant"))
                    ax.plot(
                        [r["estimate"]],
                        [yy],
                        marker="o",
                        markersize=6.5,
                        color=colour,
                        markerfacecolor=colour if sig else "white",
                        markeredgewidth=1.4,
                        zorder=3,
                    )
                    if sig:
                        x = ci[1] if _finite(ci[1]) else r["estimate"]
                        ax.annotate(
                            "*",
                            (x, yy),
                            xytext=(4, -1),
                            textcoords="offset points",
                            fontsize=12,
                            fontweight="bold",
                            color=colour,
                            va="center",
                        )
            n_of = {str(r["value"]): r.get("n") for r in cells if r["system"] == systems[0]}
            ax.set_yticks(
                range(n), labels=[f"{short(v, 28, 1)} (n={n_of.get(v, '?')})" for v in order]
            )
            ax.set_ylim(-0.7, n - 0.3)
            ax.grid(axis="y", visible=False)
            base = comp.get("baseline_label") or comp.get("baseline")
            ax.set_xlabel(f"{bd.get('metric', '')}: system minus {short(base, 40, 1)}")
            if len(systems) > 1:
                from matplotlib.lines import Line2D

                ax.legend(
                    handles=[
                        Line2D(
                            [],
                            [],
                            color=colours[s],
                            marker="o",
                            label=short(labels.get(s, s), 30, 1),
                        )
                        for s in systems
                    ],
                    loc="lower right",
                )
            n_sig = sum(1 for r in cells if r.get("significant"))
            alt = _alt(
                f"Differences to the baseline by {column}, {n} values; {n_sig} significant "
                "after Benjamini-Hochberg: "
                + "; ".join(
                    f"{r['value']}: {fmt_num(r.get('estimate'), digits)} "
                    f"({fmt_ci(r.get('ci'), digits)}){' *' if r.get('significant') else ''}"
                    for r in cells
                )
            )
            cap = (
                f"By {column}: difference to the baseline with 95% intervals (unadjusted). "
                f"Filled dots marked * stay significant after Benjamini-Hochberg over all "
                f"{bd.get('family_size', len(rows))} cells (alpha {alpha:g}); open dots do not."
            )
            parts.append(figure(fig, alt, cap))
    significant = [r for r in rows if r.get("significant")]
    if significant:
        items = join(
            tag("li", f"{r['column']} = {r['value']}: {r.get('sentence') or r.get('label')}")
            for r in significant
        )
        parts.append(tag("p", "Cells that stay significant after the adjustment:"))
        parts.append(Html(f"<ul class='small'>{items}</ul>"))
    else:
        parts.append(
            note(
                f"No cell stays significant after the Benjamini-Hochberg adjustment over "
                f"{bd.get('family_size', len(rows))} cells: no subset shows a difference beyond "
                "chance."
            )
        )
    for w in bd.get("warnings") or []:
        parts.append(note(w, "warn"))
    return Html("".join(esc(p) for p in parts))
