"""The results table: systems by metrics, mean and 95 % interval across seeds, and verdicts.

Without a comparison stage it lists what each job measured instead.
"""

from __future__ import annotations

from typing import Any

from loclab.report.context import ReportContext
from loclab.report.html import (
    Html,
    badge,
    digits_for,
    esc,
    fmt_num,
    note,
    section,
    table,
    tag,
)
from loclab.report.sections._common import (
    Units,
    adjustment,
    finite,
    level_text,
    systems_in_rank_order,
    units_of,
)
from loclab.results import (
    ComparisonEntry,
    ComparisonRecord,
    JobRecord,
    MetricSummary,
    SystemSummary,
)
from loclab.spec.compare import metric_label

__all__ = ["results_table"]


def _per_seed(system: SystemSummary, key: str) -> dict[str, float | None]:
    found = system.metrics.get(key)
    return dict(found.per_seed) if found is not None else {}


def _mean(system: SystemSummary, key: str) -> float | None:
    found = system.metrics.get(key)
    return found.mean if found is not None else None


def _cell(stats: MetricSummary | None, units: Units, deterministic: bool) -> Html:
    if stats is None or stats.mean is None:
        return Html("–")
    mean = units.value(stats.mean)
    ci = stats.ci
    n = int(stats.n or 1)
    if deterministic and n > 1:
        return Html(esc(mean) + tag("span", " (same on every seed)", class_="pm"))
    if ci and all(finite(v) for v in ci) and n > 1:
        half = (ci[1] - ci[0]) / 2
        return Html(esc(mean) + tag("span", f" ± {units.half(half)}", class_="pm"))
    return esc(mean)


def _metric_columns(comp: ComparisonRecord, limit: int = 5) -> list[tuple[str, str]]:
    """Compared metrics first, then final metrics that do not repeat one of them."""
    cols = [(m.key, m.name or m.key) for m in comp.metrics]
    systems = comp.systems
    seen_values = []
    for s in systems:
        for key, _ in cols:
            per = _per_seed(s, key)
            if per:
                seen_values.append((s.name, tuple(sorted(per.items()))))
    extra: list[str] = []
    for s in systems:
        for key in s.metrics:
            if key in {c[0] for c in cols} or key in extra:
                continue
            extra.append(key)
    for key in extra:
        duplicate = all(
            (s.name, tuple(sorted(_per_seed(s, key).items()))) in seen_values for s in systems
        )
        if not duplicate and len(cols) < limit:
            named = next((s.metrics[key].name for s in systems if key in s.metrics), "")
            cols.append((key, named if named and named != key else metric_label(key)))
    return cols


def _verdict_cell(
    comp: ComparisonRecord, system: SystemSummary, verdict: ComparisonEntry | None, units: Units
) -> Any:
    if system.name == comp.baseline:
        return badge("baseline")
    if verdict is None:
        return "not compared"
    return Html(
        badge(verdict.outcome)
        + " "
        + tag(
            "span",
            f"{units.diff(verdict.estimate)} ({units.span(verdict.ci)})",
            class_="nowrap",
        )
    )


def _runs(s: SystemSummary) -> Any:
    if not s.deterministic:
        return s.n_seeds or 1
    skipped = f"; {len(s.skipped_seeds)} more not run" if s.skipped_seeds else ""
    return Html(esc(s.n_seeds) + tag("span", f" (identical{skipped})", class_="pm"))


def results_table(ctx: ReportContext) -> Html:
    """Systems × metrics: mean ± 95 % CI across seeds, and the verdict against the baseline."""
    comp = ctx.comparison_record
    if comp is None or not comp.systems:
        return section("results", "Results", *_jobs_table(ctx))
    cols = _metric_columns(comp)
    systems = systems_in_rank_order(comp)
    letters = dict(comp.ranking.letters_of) if comp.ranking is not None else {}
    verdicts = {c.system: c for c in comp.confirmatory}
    units = {key: units_of(comp, key) for key, _ in cols}
    primary = units_of(comp)
    headers = ["System", "Runs", *[name for _, name in cols]]
    if letters:
        headers.append("Letters")
    headers.append(f"Verdict vs baseline ({primary.name})")
    rows = []
    for s in systems:
        name = s.label or s.name
        who = tag("strong", name) if s.name == comp.baseline else esc(name)
        if s.label and s.label != s.name:
            who = Html(who + tag("span", f" ({s.name})", class_="muted"))
        if s.deterministic:
            who = Html(who + " " + badge("deterministic"))
        if s.interactive is not None:
            who = Html(who + " " + badge("interactive run"))
        row: list[Any] = [who, _runs(s)]
        row += [_cell(s.metrics.get(key), units[key], s.deterministic) for key, _ in cols]
        if letters:
            row.append(letters.get(s.name, "–"))
        row.append(_verdict_cell(comp, s, verdicts.get(s.name), primary))
        rows.append(row)
    numeric = list(range(1, 2 + len(cols)))
    levels = sorted({level_text(c.ci_level) for c in verdicts.values()})
    caption = (
        "Mean over training seeds ± half-width of its 95% confidence interval across seeds "
        "(one run: no interval; deterministic: the same result on every seed). Verdict: the "
        f"deciding test against the baseline ({adjustment(comp.correction, comp.family_size)}); "
        f"the difference is the candidate minus the baseline"
        + (f" in {primary.unit}" if primary.unit else "")
        + f", with the interval that goes with the verdict ({', '.join(levels)}"
        + (", adjusted for the family" if comp.family_size > 1 else "")
        + ")."
    )
    if letters:
        caption += (
            " Letters: systems that share a letter cannot be told apart by the all-pairs "
            "tests; a is the best group."
        )
    parts: list[Any] = [table(headers, rows, numeric=numeric, caption=caption)]
    parts.extend(_interactive_note(s) for s in comp.interactive)
    if comp.missing_jobs:
        parts.append(
            note(
                f"{len(comp.missing_jobs)} job(s) did not complete and are left out of the "
                "statistics: "
                + ", ".join(j.name for j in comp.missing_jobs)
                + " (see What went wrong).",
                "warn",
            )
        )
    return section("results", "Results", *parts)


def _interactive_note(s: SystemSummary) -> Html:
    """Where an interactive run came from, and what one run by hand can tell."""
    source = s.interactive
    assert source is not None
    mlflow = f" MLflow run {source.mlflow_run_id}." if source.mlflow_run_id else ""
    return note(
        f"{s.label or s.name} is an interactive run, not jobs: {source.describe()}. It has "
        f"one training run and was tested {source.test or 'as a one-run system'}. Its "
        "training noise is not measured, so its verdict is about this trained model, not its "
        f"configuration; it was not re-run and is not ranked.{mlflow}",
        "warn",
    )


def _jobs_table(ctx: ReportContext) -> list[Any]:
    jobs = ctx.run.jobs if ctx.run is not None else []
    sweep = ctx.sweep_record
    if not jobs and sweep is not None:
        c = sweep.counts
        return [
            note(
                f"This experiment is a sweep only: {len(sweep.trials)} trial(s) ran, each as a "
                f"job of its own ({c.complete} completed, {c.pruned} pruned, {c.failed} "
                "failed), and no system was re-trained for a comparison. The sweep's figures "
                "show what they found.",
                "omitted",
            )
        ]
    if not jobs:
        return [note("No jobs ran in this experiment.", "omitted")]
    by_system: dict[str, list[JobRecord]] = {}
    for j in jobs:
        by_system.setdefault(j.system or j.name, []).append(j)
    keys = sorted({k for j in jobs for k in j.metrics})
    keys = [k for k in keys if k.startswith("test_")] or keys
    keys = keys[:6]
    rows = []
    for system, items in by_system.items():
        row: list[Any] = [system, len(items)]
        for k in keys:
            values = [j.metrics[k] for j in items if k in j.metrics]
            row.append(fmt_num(sum(values) / len(values), digits_for(values)) if values else "–")
        states = sorted({j.state.lower() for j in items})
        row.append(", ".join(states))
        rows.append(row)
    names = (
        ctx.spec_model.compare.metric_names if ctx.spec_model and ctx.spec_model.compare else {}
    )
    return [
        table(
            ["System", "Runs", *[metric_label(k, names) for k in keys], "State"],
            rows,
            numeric=list(range(1, 2 + len(keys))),
            caption="Final metrics of each job (mean over the runs of a system). Without a "
            "comparison stage no interval or verdict is computed.",
        ),
    ]
