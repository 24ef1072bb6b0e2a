"""Statistical details: every comparison with its test, adjusted p-value, power and caveats.

For readers who want to check a verdict: one table per family of comparisons, why each test
was chosen, the deciding metric of every training run, and the ranking's groups.
"""

from __future__ import annotations

from typing import Any

from loclab.report.context import ReportContext
from loclab.report.html import (
    Html,
    badge,
    digits_for,
    esc,
    fmt_ci,
    fmt_num,
    fmt_p,
    join,
    note,
    section,
    table,
    tag,
)
from loclab.report.sections._common import (
    correction_name,
    metric_name,
    stat_number,
    stat_text,
)
from loclab.results import ComparisonEntry, ComparisonRecord, Family

__all__ = ["statistical_details"]

_HEADERS = [
    "System",
    "Verdict",
    "Difference",
    "95% CI",
    "p",
    "p adjusted",
    "Power at threshold",
    "Detectable difference",
]


def _power(c: ComparisonEntry) -> str:
    power = stat_number(c, "power")
    return f"{round(100 * power)}%" if power is not None else "–"


def _per_run_table(comp: ComparisonRecord) -> Html:
    """The raw material: the deciding metric of every training run, one more decimal."""
    key = comp.primary_metric
    per: dict[str, dict[str, float | None]] = {}
    for s in comp.systems:
        found = s.metrics.get(key)
        per[s.name] = dict(found.per_seed) if found is not None else {}
    runs = list(dict.fromkeys(r for values in per.values() for r in values))
    if not runs:
        return Html("")
    digits = digits_for([v for values in per.values() for v in values.values()]) + 1
    heads = [f"seed {r}" if str(r).lstrip("-").isdigit() else str(r) for r in runs]
    return Html(
        tag("h3", f"Scores per training run ({metric_name(comp)})")
        + table(
            ["System", *heads],
            [
                [s.label or s.name, *[fmt_num(per[s.name].get(r), digits) for r in runs]]
                for s in comp.systems
            ],
            numeric=list(range(1, len(runs) + 1)),
            class_="dense",
        )
    )


def _caption(comp: ComparisonRecord, fam: Family | None, rows: list[ComparisonEntry]) -> str:
    correction = fam.correction if fam is not None else comp.correction
    size = fam.family_size if fam is not None else len(rows)
    alpha = fam.alpha if fam is not None else comp.alpha
    methods = sorted({str(c.method or c.test or "") for c in rows})
    return (
        f"Difference: system minus baseline. p adjusted: "
        f"{correction_name(correction)} over {size} comparison(s), alpha {alpha}. "
        "Power: the chance of detecting a true difference equal to the practical "
        "threshold. Detectable difference: the smallest one found 80% of the time "
        f"with this much data. Test: {'; '.join(methods)}."
    )


def _family_table(comp: ComparisonRecord, fam: Family | None, rows: list[ComparisonEntry]) -> Html:
    digits = digits_for([c.estimate for c in rows])
    return table(
        _HEADERS,
        [
            [
                c.system_label or c.system,
                badge(c.label),
                fmt_num(c.estimate, digits, sign=True),
                fmt_ci(c.ci, digits, sign=True),
                fmt_p(c.p_value),
                fmt_p(c.p_adjusted),
                _power(c),
                fmt_num(stat_number(c, "mde"), digits),
            ]
            for c in rows
        ],
        numeric=[2, 3, 4, 5, 6, 7],
        class_="dense",
        caption=_caption(comp, fam, rows),
    )


def _why(c: ComparisonEntry) -> Html:
    """A deciding verdict's sentence, why its test was chosen, and the tests' own summaries."""
    extra = [c.sentence]
    if c.test_reason:
        extra.append(f"Why this test: {c.test_reason}")
    for found in (stat_text(c.result, "summary"), stat_text(c.per_seed, "summary")):
        if found:
            extra.append(found)
    return Html(
        '<div class="detail">'
        + tag(
            "p",
            Html(tag("strong", c.system_label or c.system) + esc(": ") + esc(extra[0])),
        )
        + join(tag("p", e, class_="small") for e in extra[1:])
        + join(note(w, "warn") for w in c.warnings)
        + "</div>"
    )


def _ranking(comp: ComparisonRecord) -> list[Any]:
    ranking = comp.ranking
    if ranking is None:
        return []
    parts: list[Any] = [tag("h3", "Ranking"), tag("p", stat_text(ranking, "summary"))]
    if ranking.groups:
        parts.append(
            table(
                ["Group", "Systems (best first)"],
                [[g.group, ", ".join(g.labels or g.systems)] for g in ranking.groups],
                numeric=[0],
            )
        )
    return parts


def statistical_details(ctx: ReportContext) -> Html:
    """Every comparison with its test, adjusted p-value, power and caveats (for statisticians)."""
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
        rows = sorted(found, key=lambda c: -(c.estimate or 0.0))
        fam = families.get(key)
        deciding = key[0] == "confirmatory"
        role = "Deciding metric" if deciding else "Secondary metric"
        parts.append(tag("h3", f"{role}: {rows[0].metric_name or rows[0].metric}"))
        if rows[0].metric in signatures:
            parts.append(tag("p", f"sacrebleu signature: {signatures[rows[0].metric]}"))
        if fam is not None and fam.summary:
            parts.append(tag("p", fam.summary))
        parts.append(_family_table(comp, fam, rows))
        if deciding:
            parts.extend(_why(c) for c in rows)
    parts.append(_per_run_table(comp))
    parts.extend(_ranking(comp))
    return section(
        "details",
        "Statistical details",
        *parts,
        lead="For readers who want the tests behind each verdict.",
    )
