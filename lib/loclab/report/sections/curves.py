"""Learning curves: per-epoch metrics of the comparison's jobs and the sweep's trials.

They come from the records: each job's per-epoch metrics (its ``metrics.jsonl``, kept in the
jobs record) and each trial's intermediate values of the sweep metric (the sweep record).
"""

from __future__ import annotations

from loclab.report.context import ReportContext
from loclab.report.html import Html, esc, figure, note, tag
from loclab.report.sections._noise import VALIDATION_TAG, noise_note, scale_for
from loclab.report.sections.sweep_plots import metric_names, validation_examples
from loclab.report.style import PALETTE, figure_style, new_figure, short, system_colours
from loclab.results import JobRecord, TrialRecord

__all__ = ["job_histories", "learning_curves", "trial_histories"]

Curve = list[tuple[float, float]]
_MAX_PANELS = 3


def job_histories(ctx: ReportContext) -> dict[str, dict[str, Curve]]:
    """Per-epoch metric curves of each job of the run (by job name), two points or more."""
    out: dict[str, dict[str, Curve]] = {}
    for job in ctx.run.jobs if ctx.run else []:
        curves: dict[str, Curve] = {}
        for epoch in job.epochs:
            for key, value in epoch.metrics.items():
                curves.setdefault(key, []).append((float(epoch.step) + 1, value))
        curves = {k: v for k, v in curves.items() if len(v) >= 2 and k != "epoch"}
        if curves:
            out[job.name] = curves
    return out


def trial_histories(ctx: ReportContext) -> dict[str, dict[str, Curve]]:
    """The sweep metric's intermediate values of each trial (by trial name), two or more."""
    sweep = ctx.sweep_record
    out: dict[str, dict[str, Curve]] = {}
    if sweep is None:
        return out
    for t in sweep.trials:
        points = [(float(step) + 1, v) for step, v in sorted(t.intermediate.items())]
        if len(points) >= 2:
            out[_trial_name(t)] = {sweep.metric: points}
    return out


def _trial_name(t: TrialRecord) -> str:
    return t.job or f"trial {t.number}"


def _pick_metrics(histories: dict[str, dict[str, Curve]], first: str | None) -> list[str]:
    keys = {k for curves in histories.values() for k in curves}

    def rank(key: str) -> tuple[int, str]:
        if key == first:
            return (0, key)
        if key.startswith("val_") and not key.endswith("loss"):
            return (1, key)
        if key.endswith("loss"):
            return (2 if key.startswith("val") else 3, key)
        return (4, key)

    return sorted(keys, key=rank)[:_MAX_PANELS]


def learning_curves(ctx: ReportContext) -> Html:
    """Learning curves of the comparison's jobs (per system) and of the sweep's trials."""
    head = tag("h3", "Learning curves", id="fig-curves")
    parts = [head]
    jobs = ctx.run.jobs if ctx.run is not None else []
    sweep = ctx.sweep_record
    sweep_metric = sweep.metric if sweep is not None else None
    jobs_hist = job_histories(ctx)
    if jobs_hist:
        parts.append(_jobs_figure(ctx, jobs, jobs_hist, sweep_metric))
    trials = sweep.trials if sweep is not None else []
    trial_hist = trial_histories(ctx) if trials else {}
    if trial_hist and sweep_metric:
        parts.append(
            _trials_figure(
                trials, trial_hist, sweep_metric, metric_names(ctx), validation_examples(ctx)
            )
        )
    if len(parts) == 1:
        why = (
            "no job reported a metric at two or more epochs (models fitted in one step, or "
            "trained for a single epoch), so there is no curve to draw"
        )
        return Html(head + note(f"Left out: {why}.", "omitted"))
    without = [j.name for j in jobs if j.name not in jobs_hist]
    if jobs_hist and without:
        parts.append(
            note(
                f"{len(without)} job(s) report no per-epoch metrics (for example, models fitted "
                f"in one step): {', '.join(without[:6])}{'…' if len(without) > 6 else ''}."
            )
        )
    return Html("".join(esc(p) for p in parts))


def _validation_size(jobs: list[JobRecord]) -> int | None:
    sizes = {j.job_tags.get(VALIDATION_TAG, "") for j in jobs}
    found = sorted(int(s) for s in sizes if s.isdigit() and int(s) > 0)
    return found[0] if found else None


def _jobs_figure(
    ctx: ReportContext,
    jobs: list[JobRecord],
    hist: dict[str, dict[str, Curve]],
    first: str | None,
) -> Html:
    metrics = _pick_metrics(hist, first)
    names = metric_names(ctx)
    n_val = _validation_size(jobs)
    scales = {
        key: scale_for(key, [p[1] for c in hist.values() for p in c.get(key, [])], names)
        for key in metrics
    }
    banded: float | None = None
    systems = list(dict.fromkeys(j.system or j.name for j in jobs))
    comp = ctx.comparison_record
    colours = system_colours(systems, comp.baseline if comp is not None else None)
    labels = {s.name: s.label or s.name for s in comp.systems} if comp is not None else {}
    with figure_style():
        fig, axes = new_figure(9.0, 3.0, ncols=len(metrics))
        seen: set[str] = set()
        for ax, key in zip(axes, metrics, strict=True):
            for job in jobs:
                curve = hist.get(job.name, {}).get(key)
                if not curve:
                    continue
                system = job.system or job.name
                label = None
                if system not in seen and ax is axes[0]:
                    label = short(labels.get(system, system), 48, 1)
                    seen.add(system)
                scale = scales[key]
                xs, ys = [p[0] for p in curve], [p[1] for p in curve]
                ax.plot(
                    xs,
                    [scale.factor * y for y in ys],
                    color=colours[system],
                    marker="o",
                    markersize=3,
                    linewidth=1.4,
                    alpha=0.8,
                    label=label,
                )
                if scale.band(ax, xs, ys, n_val, colours[system], alpha=0.08) is not None:
                    banded = ys[-1]
            scales[key].anchor(ax, [p[1] for c in hist.values() for p in c.get(key, [])], n_val)
            ax.set_title(scales[key].label)
            ax.set_xlabel("epoch")
            from matplotlib.ticker import MaxNLocator

            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if seen:
            fig.legend(loc="outside lower center", ncols=min(4, len(seen)))
        alt = (
            f"Learning curves of {len(hist)} job(s): {', '.join(metrics)} by epoch, one line "
            "per training run, coloured by system."
        )
        caption = (
            "Learning curves of the compared systems: one line per training run (seed), as "
            "each job reported them. Validation metrics are measured on held-out data after "
            "each epoch."
        )
        caption += noise_note(n_val, banded) if banded is not None else ""
        return figure(fig, alt, caption)


def _trials_figure(
    trials: list[TrialRecord],
    hist: dict[str, dict[str, Curve]],
    metric: str,
    names: dict[str, str],
    n_val: int | None,
) -> Html:
    scale = scale_for(metric, [p[1] for c in hist.values() for p in c.get(metric, [])], names)
    best: tuple[float, list[float], list[float]] | None = None
    with figure_style():
        fig, axes = new_figure(9.0, 3.0)
        ax = axes[0]
        drawn = {"COMPLETE": False, "PRUNED": False, "FAIL": False}
        for t in trials:
            curve = hist.get(_trial_name(t), {}).get(metric)
            if not curve:
                continue
            state = t.state
            style = {
                "COMPLETE": ("-", PALETTE["blue"], "completed"),
                "PRUNED": ("--", PALETTE["orange"], "pruned"),
            }.get(state, (":", PALETTE["vermillion"], "failed"))
            label = style[2] if not drawn.get(state) else None
            drawn[state] = True
            xs, raw = [p[0] for p in curve], [p[1] for p in curve]
            ys = [scale.factor * y for y in raw]
            ax.plot(
                xs, ys, linestyle=style[0], color=style[1], linewidth=1.5, label=label, alpha=0.85
            )
            if state == "COMPLETE" and t.value is not None and (best is None or t.value > best[0]):
                best = (t.value, xs, raw)
            if state != "COMPLETE":
                ax.plot(
                    [xs[-1]],
                    [ys[-1]],
                    marker="x",
                    color=style[1],
                    markersize=7,
                    markeredgewidth=1.8,
                )
        if best is not None:
            # The band goes around the best completed trial: the others are drawn against it.
            scale.band(ax, best[1], best[2], n_val, PALETTE["blue"], alpha=0.15,
                       label="±1 standard error (best trial)")  # fmt: skip
        scale.anchor(ax, [p[1] for c in hist.values() for p in c.get(metric, [])], n_val)
        ax.set_xlabel("epoch")
        ax.set_ylabel(scale.label)
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(loc="best")
        alt = (
            f"Learning curves of the sweep's trials on {scale.name}; completed trials solid, "
            "pruned trials dashed and ending with a cross where they were stopped."
        )
        caption = (
            f"The sweep's trials, {scale.name} by epoch. Dashed lines ending in a cross: trials "
            "the pruner stopped early because they trailed earlier trials at the same epoch."
        )
        if best is not None and scale.percent and n_val:
            caption += noise_note(n_val, best[2][-1])
        return figure(fig, alt, caption)
