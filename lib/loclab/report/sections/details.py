"""Statistical details: every comparison with its test, p-values, interval, power and evidence.

For readers who want to check a verdict: one table per family of comparisons (the interval
beside each verdict is the verdict's own, adjusted for the family; the raw and the adjusted
p-value are named as such), why each test was chosen (said once per test), each deciding
comparison with both systems named, the deciding metric of every training run, and the
ranking's letters. The design's caveats are in the summary, said once.
"""

from __future__ import annotations

from typing import Any

from loclab.report.context import ReportContext
from loclab.report.html import (
    Html,
    badge,
    esc,
    fmt_p,
    join,
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
    plain_sentence,
    units_of,
)
from loclab.results import ComparisonEntry, ComparisonRecord, Family

__all__ = ["statistical_details"]


def _power(c: ComparisonEntry) -> str:
    return f"{round(100 * c.power)}%" if c.power is not None and finite(c.power) else "–"


def _per_run_table(comp: ComparisonRecord, units: Units) -> Html:
    """The raw material: the deciding metric of every training run."""
    key = comp.primary_metric
    per: dict[str, dict[str, float | None]] = {}
    for s in comp.systems:
        found = s.metrics.get(key)
        per[s.name] = dict(found.per_seed) if found is not None else {}
    runs = list(dict.fromkeys(r for values in per.values() for r in values))
    if not runs:
        return Html("")
    heads = [f"seed {r}" if str(r).lstrip("-").isdigit() else str(r) for r in runs]
    rows = []
    for s in comp.systems:
        name: Any = s.label or s.name
        if s.deterministic:
            name = Html(esc(name) + " " + badge("deterministic"))
        if s.interactive is not None:
            name = Html(esc(name) + " " + badge("interactive run"))
        rows.append([name, *[units.value(per[s.name].get(r)) for r in runs]])
    return Html(
        tag("h3", f"Scores per training run ({units.name})")
        + table(["System", *heads], rows, numeric=list(range(1, len(runs) + 1)), class_="dense")
    )


def _caption(fam: Family | None, rows: list[ComparisonEntry], units: Units) -> str:
    size = fam.family_size if fam is not None else len(rows)
    correction = fam.correction if fam is not None else rows[0].correction
    alpha = fam.alpha if fam is not None else rows[0].alpha
    levels = sorted({level_text(c.ci_level) for c in rows})
    text = (
        "Difference: the candidate minus the baseline"
        + (f", in {units.unit}" if units.unit else "")
        + f". Interval: the verdict's own ({', '.join(levels)})"
    )
    if size > 1:
        text += (
            f", adjusted for the family like the verdict, so it excludes 0 exactly when the "
            f"adjusted p is at most {alpha:g}. p: this comparison alone (the only p-value the "
            f"report turns into 'how often chance alone gives such a gap'); p adjusted: "
            f"{adjustment(correction, size)}"
        )
    else:
        text += f"; {adjustment(correction, size)}. p: this comparison's p-value"
    return text + (
        ". Power: the chance of detecting a true gain equal to the practical threshold. "
        "Detectable difference: the smallest one found 80% of the time with this much data."
    )


def _family_table(fam: Family | None, rows: list[ComparisonEntry], units: Units) -> Html:
    size = fam.family_size if fam is not None else len(rows)
    headers = ["System", "Verdict", "Difference", "Interval", "p"]
    if size > 1:
        headers.append("p adjusted")
    headers += ["Power at threshold", "Detectable difference"]
    body = []
    for c in rows:
        who: Any = c.system_label or c.system
        if c.interactive:
            who = Html(esc(who) + " " + badge("interactive run"))
        row: list[Any] = [
            who,
            badge(c.outcome),
            units.diff(c.estimate, unit=False),
            units.span(c.ci),
            fmt_p(c.p_value),
        ]
        if size > 1:
            row.append(fmt_p(c.p_adjusted))
        row += [_power(c), units.amount(c.mde)]
        body.append(row)
    numeric = list(range(2, len(headers)))
    caption = _caption(fam, rows, units)
    return table(headers, body, numeric=numeric, class_="dense", caption=caption)


def _tests(rows: list[ComparisonEntry]) -> Html:
    """Why each test was chosen: once per test, with how many comparisons used it."""
    found: dict[tuple[str, str], list[str]] = {}
    for c in rows:
        if c.test_reason:
            found.setdefault((c.method or c.test, c.test_reason), []).append(c.system_label)
    items = [
        tag("li", f"{method} ({len(who)} comparison{'s' if len(who) > 1 else ''}): {reason}")
        for (method, reason), who in found.items()
    ]
    if not items:
        return Html("")
    head = "Why this test" if len(items) == 1 else "Why these tests"
    return Html(tag("p", tag("strong", head + ":")) + f"<ul class='small'>{join(items)}</ul>")


def _evidence(c: ComparisonEntry, units: Units) -> str:
    """Where the uncertainty comes from, with both systems named (not the test's A and B)."""
    v = c.variance or {}
    a, b = c.system_label or c.system, c.baseline_label or c.baseline
    if "seed_sd_system" in v:
        det = c.deterministic or {}

        def sd(value: Any, key: str) -> str:
            return "0 (deterministic)" if det.get(key) else units.amount(value)

        share = v.get("seed_share")
        text = (
            f"Seed-to-seed SD: {sd(v.get('seed_sd_system'), 'system')} for {a}, "
            f"{sd(v.get('seed_sd_baseline'), 'baseline')} for {b}"
        )
        if finite(share):
            text += f"; {round(100 * share)}% of the uncertainty comes from training seeds"
        return text + "."
    if "only_system_correct" in v:
        return (
            f"{a} was right where {b} was wrong on {v['only_system_correct']:,} examples, and "
            f"the reverse on {v['only_baseline_correct']:,}."
        )
    if "score_system" in v:
        return f"{c.metric_name}: {a} {units.value(v['score_system'])}, {b} " + (
            f"{units.value(v['score_baseline'])}."
        )
    return ""


def _why(c: ComparisonEntry, units: Units) -> Html:
    """A deciding comparison: both systems named, its sentence and its evidence."""
    lines = [plain_sentence(c.sentence)]
    evidence = _evidence(c, units)
    if evidence:
        lines.append(evidence)
    per_seed = (c.per_seed or {}).get("summary")
    if isinstance(per_seed, str) and per_seed:
        lines.append(per_seed)
    who = f"{c.system_label or c.system} vs {c.baseline_label or c.baseline}"
    return Html(
        '<div class="detail">'
        + tag("p", Html(tag("strong", who) + esc(": ") + esc(lines[0])))
        + join(tag("p", e, class_="small") for e in lines[1:])
        + "</div>"
    )


def _ranking(comp: ComparisonRecord, units: Units) -> list[Any]:
    ranking = comp.ranking
    if ranking is None:
        return []
    labels = {s.name: s.label or s.name for s in comp.systems}
    scores = dict(zip(ranking.systems, ranking.scores, strict=False))
    lead = (
        "Systems that share a letter cannot be told apart; systems with no letter in common "
        f"differ (all {ranking.family_size} pairs tested, "
        f"{adjustment(ranking.correction, ranking.family_size).replace('comparisons', 'pairs')}"
        f", alpha {ranking.alpha:g}). A system may carry two letters when it sits between "
        "two groups that differ from each other."
    )
    rows = [
        [ranking.letters_of.get(s, ""), labels.get(s, s), units.value(scores.get(s))]
        for s in ranking.systems
    ]
    return [
        tag("h3", "Ranking"),
        tag("p", lead),
        table(["Letters", "System (best first)", units.name], rows, numeric=[2], class_="dense"),
    ]


def statistical_details(ctx: ReportContext) -> Html:
    """Every comparison with its test, raw and adjusted p-values, power and evidence."""
    comp = ctx.comparison_record
    if comp is None:
        return section(
            "details", "Statistical details", note("Left out: no comparison stage.", "omitted")
        )
    parts: list[Any] = []
    by_family: dict[tuple[str, str], list[ComparisonEntry]] = {}
    for c in comp.comparisons:
        by_family.setdefault((c.family, c.metric), []).append(c)
    families = {(f.role, f.metric): f for f in comp.families}
    signatures = {m.key: m.signature for m in comp.metrics if m.signature}
    for key, found in by_family.items():
        units = units_of(comp, key[1])
        rows = sorted(found, key=lambda c: -(c.estimate or 0.0))
        fam = families.get(key)
        deciding = key[0] == "confirmatory"
        role = "Deciding metric" if deciding else "Secondary metric"
        parts.append(tag("h3", f"{role}: {units.name}"))
        if rows[0].metric in signatures:
            parts.append(tag("p", f"sacrebleu signature: {signatures[rows[0].metric]}"))
        if fam is not None and fam.summary:
            parts.append(tag("p", fam.summary))
        parts.append(_family_table(fam, rows, units))
        if deciding:
            parts.append(_tests(rows))
            parts.extend(_why(c, units) for c in rows)
    parts.append(_per_run_table(comp, units_of(comp)))
    parts.extend(_ranking(comp, units_of(comp)))
    return section(
        "details",
        "Statistical details",
        *parts,
        lead="For readers who want the tests behind each verdict.",
    )
