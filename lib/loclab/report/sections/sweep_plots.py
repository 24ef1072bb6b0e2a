"""The sweep: optimization history, parameter importances and parallel coordinates.

Everything comes from the sweep record: its trial table (states, values, parameters,
intermediate values) and the importances the sweep stage computed from the study.
"""

from __future__ import annotations

import math
from typing import Any

from loclab.report.context import ReportContext
from loclab.report.html import Html, digits_for, esc, figure, fmt_num, note, table, tag
from loclab.report.style import PALETTE, figure_style, new_figure, short

__all__ = ["sweep_section", "trial_rows"]

_STATE_STYLE = {
    "COMPLETE": ("o", PALETTE["blue"], "completed"),
    "PRUNED": ("x", PALETTE["orange"], "pruned"),
    "FAIL": ("s", PALETTE["vermillion"], "failed"),
}


def trial_rows(ctx: ReportContext) -> list[dict[str, Any]]:
    """One row per trial: number, state, value, params, intermediate values.

    A pruned trial's value is its last reported (intermediate) value.
    """
    rows = []
    for t in ctx.sweep_record.trials if ctx.sweep_record else []:
        value = t.value
        if t.state == "PRUNED" and value is None and t.intermediate:
            value = t.intermediate[max(t.intermediate)]
        rows.append({
            "number": t.number, "state": t.state, "value": value,
            "params": dict(t.params), "intermediate": dict(t.intermediate),
        })  # fmt: skip
    return rows


def sweep_section(ctx: ReportContext) -> Html:
    """Everything about the sweep: what it found, and the three figures."""
    head = tag("h3", "The hyperparameter sweep", id="fig-sweep")
    sweep = ctx.sweep
    if not sweep:
        return Html(head + note("Left out: this experiment has no sweep.", "omitted"))
    rows = trial_rows(ctx)
    metric = sweep.get("metric", "objective")
    maximize = sweep.get("direction", "maximize") == "maximize"
    counts = sweep.get("counts") or {}
    digits = digits_for([r.get("value") for r in rows])
    parts = [head]
    best = sweep.get("best_value")
    lead = (
        f"{len(rows)} trials searched {len(sweep.get('best_params') or {}) or 'the'} parameters "
        f"to {'maximize' if maximize else 'minimize'} {metric}: "
        f"{counts.get('complete', 0)} completed, {counts.get('pruned', 0)} pruned (stopped early "
        f"because they trailed earlier trials), {counts.get('failed', 0)} failed."
    )
    if best is not None:
        params = ", ".join(
            f"{k} = {_fmt_param(v)}" for k, v in (sweep.get("best_params") or {}).items()
        )
        trial = sweep.get("best_number")
        lead += f" Best {metric}: {fmt_num(best, digits)} (trial {trial}; {params})."
    parts.append(tag("p", lead))
    top = sweep.get("top_k") or []
    if top:
        names = sorted({k for row in top for k in row.get("params", {})})
        parts.append(table(
            ["rank", "trial", metric, *names],
            [[r["rank"], r["number"], fmt_num(r.get("value"), digits),
              *[_fmt_param(r["params"].get(k)) for k in names]] for r in top],
            numeric=[0, 1, 2], caption="Best configurations (the comparison re-trains rank 1 "
            "with several seeds when a system is taken from the sweep).",
        ))  # fmt: skip
    parts.append(_history(rows, metric, maximize, digits))
    record = ctx.sweep_record
    importances = record.importances if record else None
    how = record.importances_note if record else ""
    parts.append(_importance_plot(importances, how))
    parts.append(_parallel(rows, metric, maximize, ctx))
    return Html("".join(esc(p) for p in parts))


def _fmt_param(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def _history(rows: list[dict[str, Any]], metric: str, maximize: bool, digits: int) -> Html:
    done = [r for r in rows if r.get("value") is not None and math.isfinite(r["value"])]
    if not done:
        return note("No trial reported a value: no optimization history.", "omitted")
    with figure_style():
        fig, axes = new_figure(9.0, 3.3)
        ax = axes[0]
        for state, (marker, colour, label) in _STATE_STYLE.items():
            pts = [r for r in done if r["state"] == state]
            if pts:
                ax.scatter(
                    [r["number"] for r in pts],
                    [r["value"] for r in pts],
                    marker=marker,
                    color=colour,
                    s=36 if marker != "x" else 44,
                    label=label,
                    zorder=3,
                    linewidths=1.6 if marker == "x" else 0.6,
                    edgecolors="white" if marker != "x" else None,
                )
        best_x, best_y, current = [], [], None
        for r in sorted(rows, key=lambda r: r["number"]):
            v = r.get("value")
            usable = r["state"] == "COMPLETE" and v is not None and math.isfinite(v)
            if usable and (current is None or (v > current if maximize else v < current)):
                current = v
            if current is not None:
                best_x.append(r["number"])
                best_y.append(current)
        if best_x:
            ax.step(
                best_x,
                best_y,
                where="post",
                color=PALETTE["dark"],
                linewidth=1.4,
                label="best so far",
                zorder=2,
            )
        ax.set_xlabel("trial")
        ax.set_ylabel(metric)
        ax.legend(loc="best")
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        alt = (
            f"Optimization history: {metric} of each of {len(rows)} trials in order, with the "
            f"best value so far as a step line; best "
            f"{fmt_num(best_y[-1] if best_y else None, digits)}."
        )
        caption = (
            "Optimization history: each trial's value (a pruned trial shows its last reported "
            "value) and the best completed value so far."
        )
        return figure(fig, alt, caption)


def _importance_plot(importances: dict[str, float] | None, how: str) -> Html:
    if not importances:
        return note(f"Parameter importances left out: {how}.", "omitted")
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


def _parallel(rows: list[dict[str, Any]], metric: str, maximize: bool, ctx: ReportContext) -> Html:
    shown = [r for r in rows if r.get("params") and r.get("value") is not None]
    names = sorted({k for r in shown for k in r["params"]})
    if len(shown) < 2 or not names:
        return note("Parallel coordinates left out: fewer than two trials with values.", "omitted")
    space = ((ctx.spec.get("sweep") or {}).get("space")) or {}
    axes_spec: list[tuple[str, str, Any]] = []
    for name in names:
        values = [r["params"].get(name) for r in shown if name in r["params"]]
        cfg = space.get(name) or {}
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        if cfg.get("type") == "categorical" or not numeric:
            choices = [str(c) for c in cfg.get("choices") or []] or sorted(
                {str(v) for v in values}
            )
            axes_spec.append((name, "cat", choices))
        else:
            lo: Any = cfg.get("low") if cfg.get("low") is not None else min(values)
            hi: Any = cfg.get("high") if cfg.get("high") is not None else max(values)
            axes_spec.append((name, "log" if cfg.get("log") else "lin", (float(lo), float(hi))))

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

    values = [r["value"] for r in shown]
    vmin, vmax = min(values), max(values)
    with figure_style():
        import matplotlib as mpl

        fig, axs = new_figure(9.0, 3.6)
        ax = axs[0]
        cmap = mpl.colormaps["viridis"]
        norm = mpl.colors.Normalize(vmin, vmax if vmax > vmin else vmin + 1e-9)
        n_axes = len(axes_spec) + 1
        # Worst first, so the best trials are drawn on top.
        for r in sorted(shown, key=lambda r: r["value"] if maximize else -r["value"]):
            ys = [pos(spec, r["params"].get(spec[0])) for spec in axes_spec]
            ys.append(norm(r["value"]))
            xs = [i for i, y in enumerate(ys) if y is not None]
            pruned = r["state"] != "COMPLETE"
            ax.plot(
                xs,
                [ys[i] for i in xs],
                color=cmap(norm(r["value"])),
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
