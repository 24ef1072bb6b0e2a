"""The sweep: optimization history, parameter importances and parallel coordinates.

Everything comes from the sweep record: its trial table (states, values, parameters,
intermediate values) and the importances the sweep stage computed from the study.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from loclab.report.context import ReportContext
from loclab.report.html import Html, digits_for, esc, figure, fmt_num, note, table, tag
from loclab.report.sections._noise import Scale, noise_note, scale_for
from loclab.report.style import PALETTE, figure_style, new_figure, short
from loclab.spec import SpaceEntry

__all__ = ["TrialRow", "metric_names", "sweep_section", "trial_rows", "validation_examples"]

_STATE_STYLE = {
    "COMPLETE": ("o", PALETTE["blue"], "completed"),
    "PRUNED": ("x", PALETTE["orange"], "pruned"),
    "FAIL": ("s", PALETTE["vermillion"], "failed"),
}


@dataclass(frozen=True)
class TrialRow:
    """A trial as the sweep's figures draw it.

    Attributes:
        number: Optuna's trial number.
        state: ``COMPLETE``, ``PRUNED``, ``FAIL``...
        value: Its objective; a pruned trial's last reported value.
        params: The searched parameters' values.
    """

    number: int
    state: str
    value: float | None
    params: dict[str, Any]


def trial_rows(ctx: ReportContext) -> list[TrialRow]:
    """One row per trial of the sweep record (a pruned trial: its last reported value)."""
    rows = []
    for t in ctx.sweep_record.trials if ctx.sweep_record else []:
        value = t.value
        if t.state == "PRUNED" and value is None and t.intermediate:
            value = t.intermediate[max(t.intermediate)]
        rows.append(TrialRow(t.number, t.state, value, dict(t.params)))
    return rows


def metric_names(ctx: ReportContext) -> dict[str, str]:
    """The spec's ``compare.metric_names`` (names readers see for metric keys)."""
    spec = ctx.spec_model
    return dict(spec.compare.metric_names) if spec is not None and spec.compare else {}


def validation_examples(ctx: ReportContext) -> int | None:
    """How many validation examples the sweep metric is measured on, when the trials said."""
    sweep = ctx.sweep_record
    if sweep is None:
        return None
    if sweep.validation_examples:
        return sweep.validation_examples
    from loclab.report.sections._noise import VALIDATION_TAG

    for t in sweep.trials:
        found = t.job_tags.get(VALIDATION_TAG, "")
        if found.isdigit() and int(found) > 0:
            return int(found)
    return None


def _usable(value: float | None) -> TypeGuard[float]:
    return value is not None and math.isfinite(value)


def sweep_section(ctx: ReportContext) -> Html:
    """Everything about the sweep: what it found, and the three figures."""
    head = tag("h3", "The hyperparameter sweep", id="fig-sweep")
    sweep = ctx.sweep_record
    if sweep is None:
        return Html(head + note("Left out: this experiment has no sweep.", "omitted"))
    rows = trial_rows(ctx)
    maximize = sweep.direction == "maximize"
    counts = sweep.counts
    scale = scale_for(sweep.metric, [r.value for r in rows if _usable(r.value)], metric_names(ctx))
    n_val = validation_examples(ctx)
    metric = scale.name
    digits = digits_for([r.value for r in rows])
    parts = [head]
    best = sweep.best
    searched = len(best.params) if best is not None else 0
    space = "1 parameter" if searched == 1 else f"{searched or 'the'} parameters"
    lead = (
        f"{len(rows)} trials searched {space} "
        f"to {'maximize' if maximize else 'minimize'} {metric}: "
        f"{counts.complete} completed, {counts.pruned} pruned (stopped early "
        f"because they trailed earlier trials), {counts.failed} failed."
    )
    if best is not None:
        params = ", ".join(f"{k} = {_fmt_param(v)}" for k, v in best.params.items())
        lead += (
            f" Best {metric}: {_show(best.value, scale, digits)} (trial {best.number}; {params})."
        )
        if n_val and scale.percent:
            lead += (
                f" Measured on {n_val:,} validation examples, so trials within about "
                f"{noise_note_points(best.value, n_val)} points of each other are not told apart."
            )
    parts.append(tag("p", lead))
    top = sweep.winners
    if top:
        names = sorted({k for w in top for k in w.params})
        parts.append(table(
            ["rank", "trial", scale.label, *names],
            [[w.rank, w.number, _show(w.value, scale, digits, unit=False),
              *[_fmt_param(w.params.get(k)) for k in names]] for w in top],
            numeric=[0, 1, 2], caption="Best configurations (the comparison re-trains rank 1 "
            "with several seeds when a system is taken from the sweep).",
        ))  # fmt: skip
    parts.append(_history(rows, scale, maximize, digits, n_val))
    parts.append(_importance_plot(sweep.importances, sweep.importances_note))
    spec = ctx.spec_model
    space_entries = spec.sweep.space if spec is not None and spec.sweep is not None else {}
    parts.append(_parallel(rows, scale.label, maximize, space_entries))
    return Html("".join(esc(p) for p in parts))


def _show(value: float | None, scale: Scale, digits: int, *, unit: bool = True) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    if scale.percent:
        return f"{100 * value:.1f}{'%' if unit else ''}"
    return fmt_num(value, digits)


def noise_note_points(value: float, n: int) -> str:
    """One standard error of an accuracy ``value`` on ``n`` examples, in points (``2.6``)."""
    from loclab.stats import proportion_se as std_error

    se = std_error(value, n)
    return f"{100 * se:.1f}" if se is not None else "?"


def _value(row: TrialRow) -> float:
    return float(row.value) if row.value is not None else math.nan


def _fmt_param(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def _history(
    rows: list[TrialRow], scale: Scale, maximize: bool, digits: int, n_val: int | None
) -> Html:
    done = [r for r in rows if _usable(r.value)]
    if not done:
        return note("No trial reported a value: no optimization history.", "omitted")
    k = scale.factor
    with figure_style():
        fig, axes = new_figure(9.0, 3.3)
        ax = axes[0]
        for state, (marker, colour, label) in _STATE_STYLE.items():
            pts = [r for r in done if r.state == state]
            if pts:
                ax.scatter(
                    [r.number for r in pts],
                    [k * float(r.value or 0.0) for r in pts],
                    marker=marker,
                    color=colour,
                    s=36 if marker != "x" else 44,
                    label=label,
                    zorder=3,
                    linewidths=1.6 if marker == "x" else 0.6,
                    edgecolors="white" if marker != "x" else None,
                )
        best_x: list[int] = []
        best_y: list[float] = []
        current: float | None = None
        for r in sorted(rows, key=lambda r: r.number):
            v = r.value
            if (
                r.state == "COMPLETE"
                and _usable(v)
                and (current is None or (v > current if maximize else v < current))
            ):
                current = v
            if current is not None:
                best_x.append(r.number)
                best_y.append(current)
        if best_x:
            ax.step(
                best_x,
                [k * y for y in best_y],
                where="post",
                color=PALETTE["dark"],
                linewidth=1.4,
                label="best so far",
                zorder=2,
            )
            scale.band(ax, best_x, best_y, n_val, PALETTE["dark"], alpha=0.12,
                       label="±1 standard error")  # fmt: skip
        scale.anchor(ax, [float(r.value or 0.0) for r in done], n_val)
        ax.set_xlabel("trial")
        ax.set_ylabel(scale.label)
        ax.legend(loc="best")
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        alt = (
            f"Optimization history: {scale.name} of each of {len(rows)} trials in order, with "
            f"the best value so far as a step line; best "
            f"{_show(best_y[-1] if best_y else None, scale, digits)}."
        )
        caption = (
            "Optimization history: each trial's value (a pruned trial shows its last reported "
            "value) and the best completed value so far."
        )
        if scale.percent and n_val and best_y:
            caption += noise_note(n_val, best_y[-1])
        elif scale.percent:
            caption += (
                " The trials did not say how many validation examples they were measured on, "
                "so no noise band is drawn: small differences may be sampling noise."
            )
        return figure(fig, alt, caption)


def _importance_plot(importances: dict[str, float] | None, how: str) -> Html:
    if not importances:
        return note(f"Parameter importances left out: {how}.", "omitted")
    if len(importances) < 2:
        # One parameter always explains all the variation it is ranked against: nothing.
        return note(
            "Parameter importances left out: only one parameter was searched, so there is "
            "nothing to rank it against.",
            "omitted",
        )
    items = sorted(importances.items(), key=lambda kv: kv[1])
    with figure_style():
        fig, axes = new_figure(9.0, 0.4 * len(items) + 1.0)
        ax = axes[0]
        ys = range(len(items))
        ax.barh(list(ys), [v for _, v in items], color=PALETTE["blue"], height=0.6)
        for y, (_, v) in zip(ys, items, strict=True):
            ax.text(v, y, f" {v:.2f}", va="center", fontsize=8.5)
        ax.set_yticks(list(ys), labels=[short(k, 30, 1) for k, _ in items])
        ax.set_xlabel("share of the variation in the objective it explains")
        ax.set_xlim(0, max(v for _, v in items) * 1.15 or 1)
        ax.grid(axis="y", visible=False)
        alt = "Parameter importances: " + "; ".join(f"{k} {v:.2f}" for k, v in reversed(items))
        caption = (
            f"Parameter importances ({how}). With few trials these are rough: treat them as a "
            "hint where to search next."
        )
        return figure(fig, alt, caption)


def _parallel(
    rows: list[TrialRow], metric: str, maximize: bool, space: Mapping[str, SpaceEntry]
) -> Html:
    shown = [r for r in rows if r.params and r.value is not None]
    names = sorted({k for r in shown for k in r.params})
    if len(shown) < 2 or not names:
        return note("Parallel coordinates left out: fewer than two trials with values.", "omitted")
    axes_spec: list[tuple[str, str, Any]] = []
    for name in names:
        values = [r.params[name] for r in shown if name in r.params]
        cfg = space.get(name)
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        if (cfg is not None and cfg.type == "categorical") or not numeric:
            declared = cfg.choices if cfg is not None else None
            choices = [str(c) for c in declared or []] or sorted({str(v) for v in values})
            axes_spec.append((name, "cat", choices))
        else:
            lo: Any = cfg.low if cfg is not None and cfg.low is not None else min(values)
            hi: Any = cfg.high if cfg is not None and cfg.high is not None else max(values)
            log = cfg is not None and cfg.log
            axes_spec.append((name, "log" if log else "lin", (float(lo), float(hi))))

    def pos(spec: tuple[str, str, Any], value: Any) -> float | None:
        _, kind, rng = spec
        if value is None:
            return None
        if kind == "cat":
            return rng.index(str(value)) / max(1, len(rng) - 1) if str(value) in rng else None
        lo, hi = rng
        if kind == "log" and lo > 0 and value > 0:
            lo, hi, value = math.log10(lo), math.log10(hi), math.log10(value)
        return 0.5 if hi == lo else (float(value) - lo) / (hi - lo)

    scores = [_value(r) for r in shown]
    vmin, vmax = min(scores), max(scores)
    with figure_style():
        import matplotlib as mpl

        fig, axs = new_figure(9.0, 3.6)
        ax = axs[0]
        cmap = mpl.colormaps["viridis"]
        norm = mpl.colors.Normalize(vmin, vmax if vmax > vmin else vmin + 1e-9)
        n_axes = len(axes_spec) + 1
        # Worst first, so the best trials are drawn on top.
        for r in sorted(shown, key=lambda r: _value(r) if maximize else -_value(r)):
            ys = [pos(spec, r.params.get(spec[0])) for spec in axes_spec]
            ys.append(norm(_value(r)))
            xs = [i for i, y in enumerate(ys) if y is not None]
            pruned = r.state != "COMPLETE"
            ax.plot(
                xs,
                [ys[i] for i in xs],
                color=cmap(norm(_value(r))),
                linewidth=1.2 if pruned else 2.0,
                linestyle="--" if pruned else "-",
                alpha=0.85,
                zorder=2 if pruned else 3,
            )
        for i, spec in enumerate(axes_spec):
            ax.axvline(i, color="#888888", linewidth=0.8, zorder=1)
            name, kind, rng = spec
            if kind == "cat":
                for j, choice in enumerate(rng):
                    ax.text(
                        i + 0.03,
                        j / max(1, len(rng) - 1),
                        short(choice, 12, 1),
                        fontsize=7.5,
                        va="center",
                        color="#333333",
                    )
            else:
                lo, hi = rng
                for frac, val in ((0, lo), (1, hi)):
                    ax.text(
                        i + 0.03, frac, f"{val:.3g}", fontsize=7.5, va="center", color="#333333"
                    )
        ax.axvline(n_axes - 1, color="#888888", linewidth=0.8)
        for frac, val in ((0, vmin), (1, vmax)):
            ax.text(n_axes - 1 + 0.03, frac, f"{val:.3g}", fontsize=7.5, va="center")
        ax.set_xticks(
            range(n_axes),
            labels=[
                *(short(s[0], 14, 1) + (" (log)" if s[1] == "log" else "") for s in axes_spec),
                metric,
            ],
        )
        ax.set_yticks([])
        ax.set_xlim(-0.1, n_axes - 0.6)
        ax.set_ylim(-0.06, 1.06)
        ax.grid(False)
        for side in ("left", "bottom"):
            ax.spines[side].set_visible(False)
        fig.colorbar(
            mpl.cm.ScalarMappable(norm=norm, cmap=cmap),
            ax=ax,
            label=metric,
            fraction=0.04,
            pad=0.02,
        )
        alt = (
            f"Parallel coordinates of {len(shown)} trials over {', '.join(names)} and {metric}; "
            "colour shows the trial's value."
        )
        caption = (
            f"Parallel coordinates: one line per trial through its parameter values to its "
            f"{metric} (colour: yellow is high, purple low). Dashed lines: pruned trials "
            "(their last reported value)."
        )
        return figure(fig, alt, caption)
