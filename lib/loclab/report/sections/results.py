"""The results table: systems by metrics, mean and 95 % interval across seeds, and verdicts.

Without a comparison stage it lists what each job measured instead.
"""

from __future__ import annotations

import math
from typing import Any

from loclab.report.context import ReportContext
from loclab.report.html import (
    Html,
    badge,
    digits_for,
    esc,
    fmt_ci,
    fmt_num,
    note,
    section,
    table,
    tag,
)
from loclab.report.sections._common import correction_name, metric_name, systems_in_rank_order
from loclab.results import (
    ComparisonEntry,
    ComparisonRecord,
    JobRecord,
    MetricSummary,
    SystemSummary,
)

__all__ = ["results_table"]


def _per_seed(system: SystemSummary, key: str) -> dict[str, float | None]:
    found = system.metrics.get(key)
    return dict(found.per_seed) if found is not None else {}


def _mean(system: SystemSummary, key: str) -> float | None:
    found = system.metrics.get(key)
    return found.mean if found is not None else None


def _cell(stats: MetricSummary | None, digits: int) -> Html:
    if stats is None or stats.mean is None:
        return Html("–")
    mean = fmt_num(stats.mean, digits)
    ci = stats.ci
    n = int(stats.n or 1)
    if ci and all(isinstance(v, int | float) and math.isfinite(v) for v in ci) and n > 1:
        half = (ci[1] - ci[0]) / 2
        return Html(esc(mean) + tag("span", f" ± {fmt_num(half, digits)}", class_="pm"))
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
            cols.append((key, key))
    return cols


def _verdict_cell(
    comp: ComparisonRecord, system: SystemSummary, verdict: ComparisonEntry | None, digits: int
) -> Any:
    if system.name == comp.baseline:
        return badge("baseline")
    if verdict is None:
        return "not compared"
    return Html(
        badge(verdict.label)
        + " "
        + tag(
            "span",
            f"{fmt_num(verdict.estimate, digits, sign=True)} "
            f"({fmt_ci(verdict.ci, digits, sign=True)})",
            class_="nowrap",
        )
    )


def results_table(ctx: ReportContext) -> Html:
    """Systems × metrics: mean ± 95 % CI across seeds, and the verdict against the baseline."""
    comp = ctx.comparison_record
    if comp is None or not comp.systems:
        return section("results", "Results", *_jobs_table(ctx))
    cols = _metric_columns(comp)
    systems = systems_in_rank_order(comp)
    group_of = dict(comp.ranking.group_of) if comp.ranking is not None else {}
    verdicts = {c.system: c for c in comp.confirmatory}
    digits = {key: digits_for([_mean(s, key) for s in systems]) for key, _ in cols}
    d_primary = digits_for([c.estimate for c in verdicts.values()])
    headers = ["System", "Runs", *[name for _, name in cols]]
    if group_of:
        headers.append("Group")
    headers.append(f"Verdict vs baseline ({metric_name(comp)})")
    rows = []
    for s in systems:
        name = s.label or s.name
        who = tag("strong", name) if s.name == comp.baseline else esc(name)
        if s.label and s.label != s.name:
            who = Html(who + tag("span", f" ({s.name})", class_="muted"))
        row: list[Any] = [who, s.n_seeds or 1]
        row += [_cell(s.metrics.get(key), digits[key]) for key, _ in cols]
        if group_of:
            row.append(group_of.get(s.name, "–"))
        row.append(_verdict_cell(comp, s, verdicts.get(s.name), d_primary))
        rows.append(row)
    numeric = list(range(1, 2 + len(cols)))
    caption = (
        "Mean over training seeds ± half-width of its 95% confidence interval across seeds "
        "(one run: no interval). Verdict: the deciding test against the baseline "
        f"({correction_name(comp.correction)} over {comp.family_size} "
        "comparison(s)); "
        "the difference is system minus baseline with its 95% interval."
    )
    if group_of:
        caption += " Group: systems in the same group cannot be told apart (1 is best)."
    parts: list[Any] = [table(headers, rows, numeric=numeric, caption=caption)]
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


def _jobs_table(ctx: ReportContext) -> list[Any]:
    jobs = ctx.run.jobs if ctx.run is not None else []
    if not jobs:
        return [
            note("No jobs ran in this experiment (a sweep only): see the sweep below.", "omitted")
        ]
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
    return [
        table(
            ["System", "Runs", *keys, "State"],
            rows,
            numeric=list(range(1, 2 + len(keys))),
            caption="Final metrics of each job (mean over the runs of a system). Without a "
            "comparison stage no interval or verdict is computed.",
        ),
    ]
