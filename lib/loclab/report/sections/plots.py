"""Figures of the comparison's verdicts: scores per system and differences to the baseline.

Each function takes the report's context and returns an HTML fragment: the figure as an inline
PNG with alt text and a caption, or a one-line note saying why it is left out. The ranking
diagram and the breakdowns have their own modules.
"""

from __future__ import annotations

import math

from loclab.report.context import ReportContext
from loclab.report.html import Html, figure, note, tag
from loclab.report.sections._common import (
    adjustment,
    family_of,
    finite,
    level_text,
    systems_in_rank_order,
    threshold_of,
    units_of,
)
from loclab.report.style import (
    LABEL_COLOURS,
    PALETTE,
    figure_style,
    new_figure,
    short,
    system_colours,
)
from loclab.results import ComparisonRecord, SystemSummary

__all__ = ["alt_text", "effect_plot", "subheading", "system_scores"]

_MAX_ALT = 700


def alt_text(text: str) -> str:
    """A figure's alt text, cut to a length screen readers read out."""
    return text if len(text) <= _MAX_ALT else text[: _MAX_ALT - 1] + "…"


def subheading(title: str, anchor: str) -> Html:
    """The heading of one figure, with its anchor."""
    return tag("h3", title, id=anchor)


def _systems_by_primary(comp: ComparisonRecord) -> list[SystemSummary]:
    """Systems, best first on the deciding metric (the ranking's order when there is one)."""
    if comp.ranking is not None and comp.ranking.systems:
        return systems_in_rank_order(comp)
    key = comp.primary_metric
    sign = -1.0 if comp.higher_is_better else 1.0

    def score(s: SystemSummary) -> float:
        found = s.metrics.get(key)
        mean = found.mean if found is not None else None
        return sign * float(mean) if mean is not None and finite(mean) else math.inf

    return sorted(comp.systems, key=score)


def system_scores(ctx: ReportContext) -> Html:
    """Each system's score on the compared metrics: mean, 95 % CI across seeds, every seed."""
    head = subheading("Scores by system", "fig-scores")
    comp = ctx.comparison_record
    if comp is None or not comp.systems:
        return Html(
            head + note("No comparison stage: there are no per-system scores to plot.", "omitted")
        )
    metrics = [m for m in comp.metrics if m.key][:2]
    units = {m.key: units_of(comp, m.key) for m in metrics}
    systems = _systems_by_primary(comp)
    names = [s.name for s in systems]
    colours = system_colours(names, comp.baseline)
    if len(names) > 6:  # a colour per system stops helping: one colour, the baseline apart
        colours = {k: v if k == comp.baseline else PALETTE["blue"] for k, v in colours.items()}
    n = len(systems)
    alt_parts = []
    with figure_style():
        fig, axes = new_figure(9.0, 0.42 * n + 1.3, ncols=len(metrics), sharey=True)
        for ax, metric in zip(axes, metrics, strict=True):
            key = metric.key
            k = 100.0 if units[key].percent else 1.0
            for row, system in enumerate(systems):
                y = n - 1 - row
                stats = system.metrics.get(key)
                colour = colours[system.name]
                per_seed = stats.per_seed.values() if stats is not None else []
                seeds = [k * v for v in per_seed if v is not None and finite(v)]
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
                ci = stats.ci if stats is not None else None
                if ci and all(finite(c) for c in ci) and not system.deterministic:
                    lo, hi = k * ci[0], k * ci[1]
                    if units[key].percent:  # a proportion stays within 0 to 100 %
                        lo, hi = max(lo, 0.0), min(hi, 100.0)
                    ax.hlines(y, lo, hi, color=colour, linewidth=2.2, zorder=3)
                mean = stats.mean if stats is not None else None
                if finite(mean):
                    ax.plot(
                        [k * mean],
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
                        f"{system.label or system.name}: {units[key].value(mean)}"
                        + (
                            f" (95% CI {units[key].value(ci[0])} to {units[key].value(ci[1])})"
                            if ci
                            else ""
                        )
                        + f", {len(seeds)} run(s)"
                    )
            ax.set_xlabel(units[key].name + (" (%)" if units[key].percent else ""))
            ax.set_ylim(-0.6, n - 0.4)
            ax.grid(axis="y", visible=False)
        labels = []
        for system in systems:
            label = short(system.label or system.name, 34)
            if system.name == comp.baseline:
                label += "\n(baseline)"
            labels.append(label)
        axes[0].set_yticks(range(n - 1, -1, -1), labels=labels)
        alt = alt_text(
            f"Dot plot of {metrics[0].name} by system, best at the top. " + "; ".join(alt_parts)
        )
        seeds_note = (
            "Diamonds: mean over training seeds; bars: 95% confidence interval across seeds; "
            "dots: individual seeds."
        )
        if any(s.deterministic for s in systems):
            seeds_note += " A deterministic system gives the same result on every seed: no bar."
        if all(int(s.n_seeds or 1) <= 1 for s in systems):
            seeds_note = (
                "One run per system, so no interval across seeds: the uncertainty of each "
                "difference is in the next figure and in the results table."
            )
        html = figure(fig, alt, f"Scores by system, best at the top. {seeds_note}")
    return Html(head + html)


def effect_plot(ctx: ReportContext) -> Html:
    """Each candidate minus the baseline, with the verdict's interval and the practical band."""
    head = subheading("Difference to the baseline", "fig-effects")
    comp = ctx.comparison_record
    rows = list(comp.confirmatory) if comp is not None else []
    if comp is None or not rows:
        return Html(head + note("No comparison stage: no differences to plot.", "omitted"))
    rows.sort(key=lambda c: c.estimate if finite(c.estimate) else -math.inf)
    n = len(rows)
    units = units_of(comp)
    k = units.scale
    thr = threshold_of(comp, rows[0])
    family = family_of(comp, rows[0])
    with figure_style():
        fig, axes = new_figure(9.0, 0.36 * n + 1.35)
        ax = axes[0]
        if thr > 0:
            ax.axvspan(-k * thr, k * thr, color="#ececec", zorder=0, linewidth=0)
        ax.axvline(0, color="#666666", linewidth=1, zorder=1)
        for y, c in enumerate(rows):
            colour = LABEL_COLOURS.get(c.outcome, PALETTE["dark"])
            lo, hi = c.ci if c.ci else (None, None)
            if finite(lo) and finite(hi):
                ax.hlines(y, k * lo, k * hi, color=colour, linewidth=2.2, zorder=2)
            significant = c.outcome in ("better", "worse")
            if finite(c.estimate):
                ax.plot(
                    [k * c.estimate],
                    [y],
                    marker="o",
                    markersize=7,
                    zorder=3,
                    color=colour,
                    markerfacecolor=colour if significant else "white",
                    markeredgewidth=1.6,
                )
        ax.set_yticks(range(n), labels=[short(c.system_label or c.system, 34) for c in rows])
        ax.set_ylim(-0.7, n - 0.3)
        ax.grid(axis="y", visible=False)
        # The verdict in words at the right edge: colour is never the only cue.
        right = ax.twinx()
        right.set_ylim(ax.get_ylim())
        right.set_yticks(range(n), labels=[c.outcome for c in rows])
        right.tick_params(length=0)
        right.spines["right"].set_visible(False)
        right.grid(False)
        for tick, c in zip(right.get_yticklabels(), rows, strict=True):
            tick.set_color(LABEL_COLOURS.get(c.outcome, PALETTE["dark"]))
        base = rows[0].baseline_label or rows[0].baseline
        unit = f" ({units.unit})" if units.unit else ""
        better = "higher" if comp.higher_is_better else "lower"
        ax.set_xlabel(
            f"{units.name}: candidate minus {short(base, 40, 1)}{unit}; {better} is better"
        )
        alt = alt_text(
            f"Differences in {units.name} to the baseline {base}, with the verdicts' intervals: "
            + "; ".join(
                f"{c.system_label or c.system}: {units.diff(c.estimate)} "
                f"({units.span(c.ci)}), {c.outcome}"
                for c in reversed(rows)
            )
        )
        band = (
            f" Grey band: differences smaller than the practical threshold of "
            f"{units.amount(thr)}, too small to matter."
            if thr > 0
            else ""
        )
        size = family.family_size if family else comp.family_size
        correction = family.correction if family else comp.correction
        levels = sorted({level_text(c.ci_level) for c in rows})
        intervals = (
            f"intervals adjusted for the {size} comparisons like the verdicts "
            f"({', '.join(levels)})"
            if size > 1
            else f"its {levels[0]} interval"
        )
        caption = (
            f"Each candidate minus the baseline ({base}), with {intervals}: an interval "
            "excludes 0 exactly when the verdict is better or worse. Filled dots: better or "
            f"worse beyond chance ({adjustment(correction, size)}); open dots: not.{band}"
        )
        html = figure(fig, alt, caption)
    return Html(head + html)
