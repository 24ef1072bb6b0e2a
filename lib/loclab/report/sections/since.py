"""Since the last good run: what a scheduled report says first.

From the experiment's history (:class:`loclab.results.HistoryPoint`) and its schedule's state
(:class:`loclab.results.ScheduleRecord`): the status and since when, the verdict of every
system against the baseline run, what changed since that run (code, data, parameters,
package versions), a trend figure of the deciding metric per system over every run (with
intervals, regressions marked), and the scheduled ticks that were missed or skipped.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

from loclab.report.context import ReportContext
from loclab.report.html import (
    Html,
    esc,
    figure,
    fmt_ci,
    fmt_num,
    fmt_p,
    note,
    section,
    table,
    tag,
)
from loclab.report.style import PALETTE, figure_style, new_figure, system_colours
from loclab.results import (
    HistoryPoint,
    RecordError,
    ScheduleRecord,
    Tick,
    TickComparison,
    changes_since,
)

__all__ = ["since_last_good", "trend_figure"]

TITLE = "Since the last good run"
_VERDICT = {
    "worse": "worse",
    "better": "better",
    "no difference": "no difference",
    "too close to call": "too close to call",
}


def _day(ts: float | None) -> str:
    return time.strftime("%d %B %Y", time.gmtime(ts)).lstrip("0") if ts else "unknown"


def _status_line(state: ScheduleRecord, tick: Tick | None) -> Html:
    since = f" since {_day(state.since)}" if state.since else ""
    words = {
        "ok": ("OK", "better"),
        "regressed": ("REGRESSED", "worse"),
        "failed": ("FAILED", "worse"),
        "new": ("NO TICK YET", "other"),
    }[state.status]
    text = ""
    if tick is not None:
        text = (
            f" Latest scheduled run: {_day(tick.started)}"
            + (f" (run {tick.run_id})" if tick.run_id else "")
            + (f", compared with run {tick.baseline_run_id}" if tick.baseline_run_id else "")
            + "."
        )
    badge = tag("span", words[0] + since, class_=f"badge {words[1]}")
    return tag("p", Html(badge + esc(text)))


def _verdict_cell(c: TickComparison) -> Html:
    if c.regression:
        return tag("span", "regression", class_="badge worse")
    label = _VERDICT.get(c.decision, c.decision)
    cls = {"worse": "more", "better": "better"}.get(c.decision, "same")
    return tag("span", label, class_=f"badge {cls}")


def _comparisons(tick: Tick) -> Html:
    rows = sorted(tick.comparisons, key=lambda c: (not c.regression, c.metric, c.label))
    body = [
        [
            c.label or c.system,
            c.metric_name or c.metric,
            fmt_num(c.baseline_value, 2),
            fmt_num(c.value, 2),
            f"{fmt_num(c.delta, 2, sign=True)} ({fmt_ci(c.ci, 2, sign=True)})",
            fmt_p(c.p_adjusted),
            _verdict_cell(c),
        ]
        for c in rows
    ]
    threshold = max((c.threshold for c in tick.comparisons), default=0.0)
    how = "paired over the examples both runs scored" if tick.paired else "unpaired"
    caption = (
        f"Every system on every compared metric against the baseline run {tick.baseline_run_id}"
        f" ({how}; Holm over all {len(rows)} comparisons; the interval is adjusted for the "
        "family). A regression is worse beyond chance"
        + (f" and by at least {threshold:g} (the practical threshold)." if threshold else ".")
    )
    return table(
        ["system", "metric", "baseline run", "this run", "change (95% interval)", "adjusted p",
         "verdict"],
        body,
        numeric=(2, 3, 4, 5),
        caption=caption,
    )  # fmt: skip


def _marks(
    history: Sequence[HistoryPoint], state: ScheduleRecord | None, metric: str
) -> set[tuple[str | None, str]]:
    """(run, system) pairs whose tick found a regression on ``metric``."""
    if state is None:
        return set()
    return {
        (t.run_id, c.system)
        for t in state.ticks
        if t.run_id
        for c in t.comparisons
        if c.regression and c.metric == metric
    }


def _run_labels(points: Sequence[HistoryPoint]) -> list[str]:
    """Each run's date; with the time when a date repeats; every n-th when there are many."""
    days = [time.strftime("%Y-%m-%d", time.gmtime(p.ended)) for p in points]
    repeated = len(set(days)) < len(days)
    labels = [
        time.strftime("%Y-%m-%d\n%H:%M", time.gmtime(p.ended)) if repeated else day
        for p, day in zip(points, days, strict=True)
    ]
    step = max(1, math.ceil(len(labels) / 12))
    return [
        label if i % step == 0 or i == len(labels) - 1 else "" for i, label in enumerate(labels)
    ]


def trend_figure(
    history: Sequence[HistoryPoint], state: ScheduleRecord | None, metric: str
) -> Html:
    """The deciding metric of every system over every run, with intervals, regressions marked."""
    points = [p for p in history if p.systems]
    latest = points[-1]
    found = latest.metric(metric)
    name = found.name if found else metric
    systems = list(dict.fromkeys(s.name for p in points for s in p.systems))
    colours = system_colours(systems, latest.baseline_system)
    marks = _marks(points, state, metric)
    baseline = state.baseline_run_id if state else None
    alt: list[str] = []
    with figure_style():
        fig, axes = new_figure(9.0, 3.6)
        ax = axes[0]
        # Systems side by side at each run, so equal scores do not hide each other.
        width = min(0.3, 0.05 * len(systems))
        for index, system in enumerate(systems):
            dodge = (index / max(len(systems) - 1, 1) - 0.5) * width
            xs, ys, lows, highs, bad = [], [], [], [], []
            for x, p in enumerate(points):
                value = p.value(system, metric)
                if value is None or value.value is None or not math.isfinite(value.value):
                    continue
                xs.append(x + dodge)
                ys.append(value.value)
                lo, hi = value.ci if value.ci else (value.value, value.value)
                lows.append(value.value - lo)
                highs.append(hi - value.value)
                if (p.run_id, system) in marks:
                    bad.append((x + dodge, value.value))
            if not xs:
                continue
            colour = colours[system]
            ax.errorbar(
                xs, ys, yerr=[lows, highs], color=colour, marker="o", markersize=4,
                linewidth=1.4, capsize=2.5, label=system,
            )  # fmt: skip
            if bad:
                ax.scatter(
                    [b[0] for b in bad], [b[1] for b in bad], s=110, facecolors="none",
                    edgecolors=PALETTE["vermillion"], linewidths=2.0, zorder=5,
                )  # fmt: skip
            alt.append(
                f"{system}: {fmt_num(ys[0], 2)} to {fmt_num(ys[-1], 2)} over {len(xs)} run(s)"
                + (f", {len(bad)} regression(s)" if bad else "")
            )
        if baseline:
            at = next((x for x, p in enumerate(points) if p.run_id == baseline), None)
            if at is not None:
                ax.axvline(at, color=PALETTE["grey"], linestyle="--", linewidth=1)
        if marks:
            ax.scatter([], [], s=110, facecolors="none", edgecolors=PALETTE["vermillion"],
                       linewidths=2.0, label="regression")  # fmt: skip
        ax.set_xticks(range(len(points)), labels=_run_labels(points))
        ax.set_xlim(-0.5, len(points) - 0.5)
        ax.grid(axis="x", visible=False)
        ax.set_ylabel(name)
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
        text = (f"{name} of each system over {len(points)} run(s). " + "; ".join(alt))[:700]
        caption = (
            f"{name} per system at each run, with its 95% interval (a bootstrap over the test "
            "examples, or across seeds). Red rings: a regression against the baseline run; "
            "dashed line: the current baseline run."
        )
        return figure(fig, text, caption)


def since_last_good(ctx: ReportContext) -> Html:
    """The section (see the module docstring); one line when the experiment has no history."""
    try:
        history = ctx.records.read_history()
        state = ctx.records.read_schedule()
    except RecordError as err:
        return section("since", TITLE, note(f"The history cannot be read: {err}", "warn"))
    if not history:
        return section(
            "since",
            TITLE,
            note("No finished run in the history yet: the next one starts it.", "omitted"),
        )
    parts: list[Any] = []
    tick = state.last if state is not None else None
    if state is not None and state.status != "new":
        parts.append(_status_line(state, tick))
    else:
        parts.append(
            tag(
                "p",
                f"{len(history)} finished run(s) so far. Not run on a schedule yet: "
                "loclab schedule run SPEC tests each run against the last good one.",
            )
        )
    if tick is not None and tick.outcome == "failed":
        parts.append(
            note(
                f"The latest scheduled run failed after {tick.attempts} attempt(s): "
                f"{tick.failure or 'no reason recorded'}. What follows is from the last "
                "finished run.",
                "warn",
            )
        )
    if tick is not None and tick.comparisons:
        parts.append(_comparisons(tick))
    for warning in tick.warnings if tick is not None else []:
        parts.append(note(warning, "note"))
    by_id = {p.run_id: p for p in history}
    if tick is not None and tick.baseline_run_id in by_id and tick.run_id in by_id:
        changed = changes_since(by_id[tick.baseline_run_id], by_id[tick.run_id])
        parts.append(tag("h3", "What changed since the baseline run"))
        parts.append(Html("<ul>" + "".join(str(tag("li", line)) for line in changed) + "</ul>"))
    metric = history[-1].deciding_metric
    if metric:
        parts.append(tag("h3", "Trend", id="fig-trend"))
        parts.append(trend_figure(history, state, metric))
    if tick is not None and tick.n_missed:
        listed = ", ".join(tick.missed)
        extra = tick.n_missed - len(tick.missed)
        more = f" and {extra} more" if extra > 0 else ""
        parts.append(
            note(
                f"{tick.n_missed} scheduled run(s) were missed before this one (the machine was "
                f"off or the timer did not fire): {listed}{more}. They were not run afterwards.",
                "warn",
            )
        )
    skips = len(state.skips) if state is not None else 0
    if skips:
        parts.append(
            note(f"{skips} tick(s) were skipped because the previous one was still running.")
        )
    return section("since", TITLE, *parts)
