"""Learning curves: per-epoch metrics of the comparison's jobs and the sweep's trials.

They are read from MLflow (each job's run); a job whose run cannot be read falls back on the
per-epoch metrics it wrote itself (``checkpoints/metrics.jsonl`` in its run folder).
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

from loclab.report.context import ReportContext
from loclab.report.html import Html, esc, figure, note, tag
from loclab.report.style import PALETTE, figure_style, new_figure, short, system_colours

__all__ = ["learning_curves", "read_histories"]

Curve = list[tuple[float, float]]
_MAX_PANELS = 3


def _client(ctx: ReportContext) -> Any | None:
    from loclab.tracking import default_tracking_uri

    uri = ctx.tracking_uri or default_tracking_uri(ctx.state)
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).exists():
        return None  # opening it would create an empty store
    try:
        from mlflow.tracking import MlflowClient

        return MlflowClient(tracking_uri=uri)
    except Exception:
        return None


def _from_mlflow(client: Any, run_id: str) -> dict[str, Curve]:
    run = client.get_run(run_id)
    keys = list(run.data.metrics)
    epochs: dict[int, float] = {}
    if "epoch" in keys:
        for m in client.get_metric_history(run_id, "epoch"):
            epochs[m.step] = m.value
    out: dict[str, Curve] = {}
    for key in keys:
        if key == "epoch":
            continue
        history = client.get_metric_history(run_id, key)
        if len(history) < 2:
            continue
        points = []
        for i, m in enumerate(sorted(history, key=lambda m: (m.step, m.timestamp))):
            x = epochs[m.step] + 1 if m.step in epochs else float(i + 1)
            if math.isfinite(m.value):
                points.append((x, m.value))
        out[key] = points
    return out


def _from_run_dir(run_dir: str | None) -> dict[str, Curve]:
    if not run_dir:
        return {}
    from loclab.execution.contract import JobLayout

    path = JobLayout(Path(run_dir)).metrics_file
    if not path.exists():
        return {}
    out: dict[str, Curve] = defaultdict(list)
    for line in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        step = record.get("step")
        for key, value in (record.get("metrics") or {}).items():
            if isinstance(value, int | float) and math.isfinite(value) and step is not None:
                out[key].append((float(step) + 1, float(value)))
    return {k: v for k, v in out.items() if len(v) >= 2}


def read_histories(ctx: ReportContext, runs: list[dict[str, Any]]) -> dict[str, dict[str, Curve]]:
    """Per-epoch metric curves of each run (by job name), from MLflow or the run folder.

    Args:
        ctx: The report's context (state folder, tracking URI).
        runs: ``{"name", "mlflow_run_id", "run_dir"}`` of each job or trial.
    """
    client = _client(ctx)
    out: dict[str, dict[str, Curve]] = {}
    for run in runs:
        curves: dict[str, Curve] = {}
        if client is not None and run.get("mlflow_run_id"):
            try:
                curves = _from_mlflow(client, run["mlflow_run_id"])
            except Exception:
                curves = {}
        if not curves:
            curves = _from_run_dir(run.get("run_dir"))
        if curves:
            out[run["name"]] = curves
    return out


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
    comp_jobs = [
        {**j, "system": j.get("system") or (j.get("tags") or {}).get("loclab.system")}
        for j in ((ctx.comparison or {}).get("jobs") or ctx.job_list)
    ]
    trials = [
        {"name": t.get("job") or f"trial {t['number']}", **t}
        for t in (ctx.sweep or {}).get("trials") or []
    ]
    sweep_metric = (ctx.sweep or {}).get("metric")
    jobs_hist = read_histories(ctx, comp_jobs)
    if jobs_hist:
        parts.append(_jobs_figure(ctx, comp_jobs, jobs_hist, sweep_metric))
    trial_hist = read_histories(ctx, trials) if trials else {}
    if trial_hist and sweep_metric:
        parts.append(_trials_figure(trials, trial_hist, sweep_metric))
    if len(parts) == 1:
        why = "the jobs reported no per-epoch metrics (nothing was trained epoch by epoch)"
        return Html(head + note(f"Left out: {why}.", "omitted"))
    without = [j["name"] for j in comp_jobs if j["name"] not in jobs_hist]
    if jobs_hist and without:
        parts.append(
            note(
                f"{len(without)} job(s) report no per-epoch metrics (for example, models fitted "
                f"in one step): {', '.join(without[:6])}{'…' if len(without) > 6 else ''}."
            )
        )
    return Html("".join(esc(p) for p in parts))


def _jobs_figure(
    ctx: ReportContext,
    jobs: list[dict[str, Any]],
    hist: dict[str, dict[str, Curve]],
    first: str | None,
) -> Html:
    metrics = _pick_metrics(hist, first)
    systems = list(dict.fromkeys(j.get("system") or j["name"] for j in jobs))
    comp = ctx.comparison or {}
    colours = system_colours(systems, comp.get("baseline"))
    labels = {s["name"]: s.get("label") or s["name"] for s in comp.get("systems") or []}
    with figure_style():
        fig, axes = new_figure(9.0, 3.0, ncols=len(metrics))
        seen: set[str] = set()
        for ax, key in zip(axes, metrics, strict=True):
            for job in jobs:
                curve = hist.get(job["name"], {}).get(key)
                if not curve:
                    continue
                system = job.get("system") or job["name"]
                label = None
                if system not in seen and ax is axes[0]:
                    label = short(labels.get(system, system), 48, 1)
                    seen.add(system)
                ax.plot(
                    [p[0] for p in curve],
                    [p[1] for p in curve],
                    color=colours[system],
                    marker="o",
                    markersize=3,
                    linewidth=1.4,
                    alpha=0.8,
                    label=label,
                )
            ax.set_title(key)
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
            "Learning curves of the compared systems: one line per training run (seed), read "
            "from each job's MLflow run. Validation metrics are measured on held-out data after "
            "each epoch."
        )
        return figure(fig, alt, caption)


def _trials_figure(
    trials: list[dict[str, Any]], hist: dict[str, dict[str, Curve]], metric: str
) -> Html:
    with figure_style():
        fig, axes = new_figure(9.0, 3.0)
        ax = axes[0]
        drawn = {"COMPLETE": False, "PRUNED": False, "FAIL": False}
        for t in trials:
            curve = hist.get(t["name"], {}).get(metric)
            if not curve:
                continue
            state = t.get("state", "COMPLETE")
            style = {
                "COMPLETE": ("-", PALETTE["blue"], "completed"),
                "PRUNED": ("--", PALETTE["orange"], "pruned"),
            }.get(state, (":", PALETTE["vermillion"], "failed"))
            label = style[2] if not drawn.get(state) else None
            drawn[state] = True
            xs, ys = [p[0] for p in curve], [p[1] for p in curve]
            ax.plot(
                xs, ys, linestyle=style[0], color=style[1], linewidth=1.5, label=label, alpha=0.85
            )
            if state != "COMPLETE":
                ax.plot(
                    [xs[-1]],
                    [ys[-1]],
                    marker="x",
                    color=style[1],
                    markersize=7,
                    markeredgewidth=1.8,
                )
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(loc="best")
        alt = (
            f"Learning curves of the sweep's trials on {metric}; completed trials solid, pruned "
            "trials dashed and ending with a cross where they were stopped."
        )
        caption = (
            f"The sweep's trials, {metric} by epoch. Dashed lines ending in a cross: trials the "
            "pruner stopped early because they trailed earlier trials at the same epoch."
        )
        return figure(fig, alt, caption)
