"""The report's words: title, executive summary, results table and statistical details.

The first screen answers "which system is better, by how much, and how sure are we" with the
comparison stage's own verdict sentences; the details after it are for statisticians.
"""

from __future__ import annotations

import math
import re
import time
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
from loclab.stats import CORRECTION_NAMES

__all__ = [
    "executive_summary",
    "figures_heading",
    "results_table",
    "statistical_details",
    "threshold_status",
    "title_block",
]

#: Up to this many verdicts are shown as cards; more as a compact table.
MAX_CARDS = 4
_CHANCE = re.compile(r"would appear by chance (.+?) if the systems were equally good")

_TOC = [
    ("summary", "Summary"),
    ("results", "Results"),
    ("figures", "Figures"),
    ("details", "Statistical details"),
    ("problems", "What went wrong"),
    ("provenance", "Provenance"),
    ("glossary", "Glossary"),
]


def correction_name(key: Any) -> str:
    """The display name of a multiple-comparison correction (``loclab.stats``' table)."""
    return CORRECTION_NAMES.get(str(key), str(key or ""))


def _date(ts: float | None) -> str:
    if not ts:
        return "unknown"
    return time.strftime("%d %B %Y, %H:%M %Z", time.localtime(ts)).lstrip("0")


def title_block(ctx: ReportContext) -> Html:
    """Title, question, dates and the in-page table of contents."""
    meta = [f"Report of {_date(ctx.generated)}"]
    if ctx.run_time:
        meta.append(f"results of the run that ended {_date(ctx.run_time)}")
    meta.append(f"experiment “{ctx.experiment}”")
    parts = [
        tag("p", "loclab experiment report", class_="kicker"),
        tag("h1", ctx.title),
    ]
    if ctx.description:
        parts.append(tag("p", ctx.description, class_="question"))
    parts.append(tag("p", " · ".join(meta), class_="meta"))
    toc = join(tag("a", label, href=f"#{anchor}") for anchor, label in _TOC)
    nav = Html(f'<nav class="toc" aria-label="Contents">{toc}</nav>')
    return Html('<header class="masthead">' + "".join(parts) + "</header>" + nav)


def _count(n: Any) -> str:
    return f"{n:,}" if isinstance(n, int) else "the"


def _confirmatory(comp: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in comp.get("comparisons") or [] if c.get("family") == "confirmatory"]


def _chance(c: dict[str, Any]) -> str:
    found = _CHANCE.search(c.get("sentence") or "")
    if found:
        return found.group(1)
    return f"p = {fmt_p(c.get('p_adjusted'))} (adjusted)"


def threshold_status(c: dict[str, Any], digits: int = 3) -> tuple[str, str]:
    """Whether a difference clears the practical threshold: (short label, plain sentence)."""
    thr = float(c.get("threshold") or 0.0)
    est = c.get("estimate")
    ci = c.get("ci") or [None, None]
    if thr <= 0:
        return (
            "no threshold set",
            "No practical threshold is set in the spec (compare.practical_threshold), so this "
            "report cannot say whether a gap of this size matters.",
        )
    t = fmt_num(thr, digits)
    lo, hi = ci
    if not (isinstance(est, int | float) and math.isfinite(est)):
        return ("unknown", "The difference could not be estimated.")
    finite = all(isinstance(v, int | float) and math.isfinite(v) for v in (lo, hi))
    if finite and (lo >= thr or hi <= -thr):
        return (
            "clears it",
            f"It clears the practical threshold: the whole plausible range is "
            f"beyond the {t} that matters.",
        )
    if finite and -thr < lo and hi < thr:
        return (
            "too small to matter",
            f"It does not clear the practical threshold: the whole "
            f"plausible range is within ±{t}, too small to matter.",
        )
    if abs(est) >= thr:
        return (
            "estimate clears it; range unsure",
            f"The estimate clears the practical "
            f"threshold of {t}, but the plausible range also includes smaller gaps.",
        )
    return (
        "below it; range unsure",
        f"The estimate is below the practical threshold of {t}, "
        "but the plausible range includes gaps large enough to matter.",
    )


_SAID = ("Even the low end", "that matters, though", "too small to matter")


def _threshold_said(c: dict[str, Any], digits: int) -> str:
    """The threshold sentence, unless the verdict sentence already says whether it clears it."""
    if any(phrase in (c.get("sentence") or "") for phrase in _SAID):
        return ""
    return threshold_status(c, digits)[1]


def _card(c: dict[str, Any], digits: int) -> Html:
    metric = c.get("metric_name") or c.get("metric") or ""
    label = threshold_status(c, digits)[0]
    thr = float(c.get("threshold") or 0.0)
    facts = [
        ("Difference", f"{fmt_num(c.get('estimate'), digits, sign=True)} {metric}"),
        ("95% interval", fmt_ci(c.get("ci"), digits, sign=True)),
        ("Seen by chance", _chance(c)),
        ("Practical threshold", f"{fmt_num(thr, digits)}: {label}" if thr > 0 else label),
    ]
    dl = join(Html(f"<div>{tag('dt', k)}{tag('dd', v)}</div>") for k, v in facts)
    title = Html(
        badge(c.get("label"))
        + " "
        + tag("strong", c.get("system_label") or c.get("system"))
        + esc(" compared with ")
        + tag("strong", c.get("baseline_label") or c.get("baseline"))
        + tag("span", f" · {metric}", class_="muted")
    )
    warn = join(note(w, "warn") for w in c.get("warnings") or [])
    return Html(
        f'<article class="card {esc((c.get("label") or "").replace(" ", "-"))}">'
        f'<h3 class="card-title">{title}</h3><dl class="facts">{dl}</dl>{warn}</article>'
    )


def _verdict_table(rows: list[dict[str, Any]], digits: int) -> Html:
    order = {"better": 0, "needs more data": 1, "no detectable difference": 2, "worse": 3}
    rows = sorted(
        rows,
        key=lambda c: (order.get(c.get("label", ""), 9), -(c.get("estimate") or 0)),
    )
    return table(
        [
            "System",
            "Verdict",
            "Difference",
            "95% interval",
            "Seen by chance",
            "Practical threshold",
        ],
        [
            [
                c.get("system_label") or c.get("system"),
                badge(c.get("label")),
                fmt_num(c.get("estimate"), digits, sign=True),
                fmt_ci(c.get("ci"), digits, sign=True),
                _chance(c),
                threshold_status(c, digits)[0],
            ]
            for c in rows
        ],
        numeric=[2, 3],
        class_="verdicts",
    )


def executive_summary(ctx: ReportContext) -> Html:
    """The answer, in plain words.

    Each verdict with its effect, its interval, how often chance alone would give a gap this
    large, and whether it clears the practical threshold.
    """
    comp = ctx.comparison
    parts: list[Any] = []
    if ctx.summary_text:
        parts.append(tag("p", ctx.summary_text))
    if not comp:
        parts.append(
            Html('<div class="answer">' + tag("p", ctx.headline, class_="headline") + "</div>")
        )
        parts.append(
            tag(
                "p",
                "This experiment has no comparison stage (no compare: section in "
                "its spec), so the report makes no claim about which system is "
                "better; the table below lists what each job measured.",
            )
        )
        parts.extend(note(n, "warn") for n in ctx.notes)
        return section("summary", "Summary", *parts)
    rows = _confirmatory(comp)
    digits = digits_for([c.get("estimate") for c in rows])
    metric = next(
        (
            m.get("name")
            for m in comp.get("metrics") or []
            if m.get("key") == comp.get("primary_metric")
        ),
        comp.get("primary_metric"),
    )
    parts.append(
        Html(
            '<div class="answer">'
            + tag("p", comp.get("headline") or ctx.headline, class_="headline")
            + "</div>"
        )
    )
    n_sys = len(comp.get("systems") or [])
    seeds = sorted({int(s.get("n_seeds") or 0) for s in comp.get("systems") or []})
    seed_text = (
        f", each system trained with {seeds[0]} different random seeds"
        if len(seeds) == 1 and seeds[0] > 1
        else ""
    )
    others = [c.get("system_label") or c.get("system") for c in rows]
    who = others[0] if len(others) == 1 else f"{n_sys - 1} systems"
    scope = (
        f"We compared {who} with the baseline, "
        f"{comp.get('baseline_label') or comp.get('baseline')}, on {metric} over "
        f"{_count(comp.get('n_examples'))} {comp.get('unit') or 'test examples'}{seed_text}."
    )
    if len(rows) <= MAX_CARDS:
        para = [scope] + [f"{c.get('sentence', '')} {_threshold_said(c, digits)}" for c in rows]
        parts.append(tag("p", " ".join(para), class_="exec"))
        parts.append(tag("p", comp.get("significance_note") or "", class_="small"))
        parts.append(
            Html('<div class="cards">' + "".join(_card(c, digits) for c in rows) + "</div>")
        )
    else:
        by_label: dict[str, list[dict[str, Any]]] = {}
        for c in rows:
            by_label.setdefault(c.get("label", ""), []).append(c)
        said = [scope]
        for c in by_label.get("better", []):
            said.append(
                f"{c.get('system_label')} is better than the baseline by "
                f"{fmt_num(c.get('estimate'), digits)} {metric} (plausibly "
                f"{fmt_ci(c.get('ci'), digits)}); a gap this large would appear by chance "
                f"{_chance(c)} if they were equally good. {threshold_status(c, digits)[1]}"
            )
        counts = ", ".join(f"{len(v)} {k}" for k, v in by_label.items())
        said.append(
            f"All {len(rows)} verdicts ({counts}) are in the table below, each with its "
            "difference, interval, how often chance alone would produce it, and whether "
            "it clears the practical threshold."
        )
        parts.append(tag("p", " ".join(said), class_="exec"))
        parts.append(tag("p", comp.get("significance_note") or "", class_="small"))
        parts.append(_verdict_table(rows, digits))
    for fam in comp.get("families") or []:
        if fam.get("role") != "confirmatory":
            parts.append(
                note(
                    f"Secondary metric {fam.get('metric_name')}: {fam.get('summary')} "
                    "(supporting evidence; see the statistical details)."
                )
            )
    for w in comp.get("warnings") or []:
        parts.append(note(w, "warn"))
    for n in ctx.notes:
        parts.append(note(n, "warn"))
    parts.append(
        note(
            Html(
                "New to terms such as confidence interval or p-value? See the "
                '<a href="#glossary">glossary</a> at the end.'
            )
        )
    )
    return section("summary", "Summary", *parts)


def _cell(stats: dict[str, Any] | None, digits: int) -> Html:
    if not stats or stats.get("mean") is None:
        return Html("–")
    mean = fmt_num(stats["mean"], digits)
    ci = stats.get("ci")
    n = int(stats.get("n") or 1)
    if ci and all(isinstance(v, int | float) and math.isfinite(v) for v in ci) and n > 1:
        half = (ci[1] - ci[0]) / 2
        return Html(esc(mean) + tag("span", f" ± {fmt_num(half, digits)}", class_="pm"))
    return esc(mean)


def _metric_columns(comp: dict[str, Any], limit: int = 5) -> list[tuple[str, str]]:
    """Compared metrics first, then final metrics that do not repeat one of them."""
    cols = [(m["key"], m.get("name") or m["key"]) for m in comp.get("metrics") or []]
    systems = comp.get("systems") or []
    seen_values = []
    for s in systems:
        for key, _ in cols:
            per = ((s.get("metrics") or {}).get(key) or {}).get("per_seed")
            if per:
                seen_values.append((s["name"], tuple(sorted(per.items()))))
    extra = []
    for s in systems:
        for key in s.get("metrics") or {}:
            if key in {c[0] for c in cols} or key in extra:
                continue
            extra.append(key)
    for key in extra:
        duplicate = all(
            (
                s["name"],
                tuple(
                    sorted(
                        (((s.get("metrics") or {}).get(key) or {}).get("per_seed") or {}).items()
                    )
                ),
            )
            in seen_values
            for s in systems
        )
        if not duplicate and len(cols) < limit:
            cols.append((key, key))
    return cols


def results_table(ctx: ReportContext) -> Html:
    """Systems × metrics: mean ± 95 % CI across seeds, and the verdict against the baseline."""
    comp = ctx.comparison
    if not comp or not comp.get("systems"):
        return section("results", "Results", *_jobs_table(ctx))
    cols = _metric_columns(comp)
    systems = comp["systems"]
    ranking = comp.get("ranking") or {}
    if ranking.get("systems"):
        pos = {n: i for i, n in enumerate(ranking["systems"])}
        systems = sorted(systems, key=lambda s: pos.get(s["name"], len(pos)))
    group_of = ranking.get("group_of") or {}
    verdicts = {c["system"]: c for c in _confirmatory(comp)}
    digits = {
        key: digits_for([((s.get("metrics") or {}).get(key) or {}).get("mean") for s in systems])
        for key, _ in cols
    }
    d_primary = digits_for([c.get("estimate") for c in verdicts.values()])
    headers = ["System", "Runs", *[name for _, name in cols]]
    if group_of:
        headers.append("Group")
    headers.append(f"Verdict vs baseline ({_metric_name(comp)})")
    rows = []
    for s in systems:
        name = s.get("label") or s["name"]
        who = tag("strong", name) if s["name"] == comp.get("baseline") else esc(name)
        if s.get("label") and s["label"] != s["name"]:
            who = Html(who + tag("span", f" ({s['name']})", class_="muted"))
        row: list[Any] = [who, s.get("n_seeds") or 1]
        row += [_cell((s.get("metrics") or {}).get(key), digits[key]) for key, _ in cols]
        if group_of:
            row.append(group_of.get(s["name"], "–"))
        v = verdicts.get(s["name"])
        if s["name"] == comp.get("baseline"):
            row.append(badge("baseline"))
        elif v:
            row.append(
                Html(
                    badge(v.get("label"))
                    + " "
                    + tag(
                        "span",
                        f"{fmt_num(v.get('estimate'), d_primary, sign=True)} "
                        f"({fmt_ci(v.get('ci'), d_primary, sign=True)})",
                        class_="nowrap",
                    )
                )
            )
        else:
            row.append("not compared")
        rows.append(row)
    numeric = list(range(1, 2 + len(cols)))
    caption = (
        "Mean over training seeds ± half-width of its 95% confidence interval across seeds "
        "(one run: no interval). Verdict: the deciding test against the baseline "
        f"({correction_name(comp.get('correction'))} over {comp.get('family_size', '')} "
        "comparison(s)); "
        "the difference is system minus baseline with its 95% interval."
    )
    if group_of:
        caption += " Group: systems in the same group cannot be told apart (1 is best)."
    missing = comp.get("missing_jobs") or []
    parts: list[Any] = [table(headers, rows, numeric=numeric, caption=caption)]
    if missing:
        parts.append(
            note(
                f"{len(missing)} job(s) did not complete and are left out of the statistics: "
                + ", ".join(str(j.get("name")) for j in missing)
                + " (see What went wrong).",
                "warn",
            )
        )
    return section("results", "Results", *parts)


def _metric_name(comp: dict[str, Any]) -> str:
    key = comp.get("primary_metric")
    for m in comp.get("metrics") or []:
        if m.get("key") == key:
            return str(m.get("name") or key)
    return str(key or "")


def _jobs_table(ctx: ReportContext) -> list[Any]:
    jobs = ctx.job_list
    if not jobs:
        return [
            note("No jobs ran in this experiment (a sweep only): see the sweep below.", "omitted")
        ]
    by_system: dict[str, list[dict[str, Any]]] = {}
    for j in jobs:
        by_system.setdefault((j.get("tags") or {}).get("loclab.system") or j["name"], []).append(j)
    keys = sorted({k for j in jobs for k in j.get("metrics") or {}})
    keys = [k for k in keys if k.startswith("test_")] or keys
    keys = keys[:6]
    rows = []
    for system, items in by_system.items():
        row: list[Any] = [system, len(items)]
        for k in keys:
            values = [j["metrics"][k] for j in items if k in (j.get("metrics") or {})]
            row.append(fmt_num(sum(values) / len(values), digits_for(values)) if values else "–")
        states = sorted({str(j.get("state", "")).lower() for j in items})
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


def figures_heading(ctx: ReportContext) -> Html:
    """The heading of the figures, with one line on how to read them."""
    return Html(
        '<h2 id="figures">Figures</h2>'
        + tag(
            "p",
            "Each figure says in its caption what it shows; every number in a figure is "
            "also in a table or sentence of this report.",
            class_="lead",
        )
    )


def _per_run_table(comp: dict[str, Any]) -> Html:
    """The raw material: the deciding metric of every training run, one more decimal."""
    key = comp.get("primary_metric")
    systems = comp.get("systems") or []
    per = {
        s["name"]: ((s.get("metrics") or {}).get(key) or {}).get("per_seed") or {} for s in systems
    }
    runs = list(dict.fromkeys(r for values in per.values() for r in values))
    if not runs:
        return Html("")
    digits = digits_for([v for values in per.values() for v in values.values()]) + 1
    heads = [f"seed {r}" if str(r).lstrip("-").isdigit() else str(r) for r in runs]
    return Html(
        tag("h3", f"Scores per training run ({_metric_name(comp)})")
        + table(
            ["System", *heads],
            [
                [
                    s.get("label") or s["name"],
                    *[fmt_num(per[s["name"]].get(r), digits) for r in runs],
                ]
                for s in systems
            ],
            numeric=list(range(1, len(runs) + 1)),
            class_="dense",
        )
    )


def statistical_details(ctx: ReportContext) -> Html:
    """Every comparison with its test, adjusted p-value, power and caveats (for statisticians)."""
    comp = ctx.comparison
    if not comp:
        return section(
            "details", "Statistical details", note("Left out: no comparison stage.", "omitted")
        )
    parts: list[Any] = []
    by_family: dict[str, list[dict[str, Any]]] = {}
    for c in comp.get("comparisons") or []:
        by_family.setdefault(f"{c.get('family')}:{c.get('metric')}", []).append(c)
    families = {f"{f.get('role')}:{f.get('metric')}": f for f in comp.get("families") or []}
    for key, rows in by_family.items():
        rows = sorted(rows, key=lambda c: -(c.get("estimate") or 0.0))
        fam = families.get(key, {})
        digits = digits_for([c.get("estimate") for c in rows])
        role = "Deciding metric" if key.startswith("confirmatory") else "Secondary metric"
        parts.append(tag("h3", f"{role}: {rows[0].get('metric_name') or rows[0].get('metric')}"))
        if fam.get("summary"):
            parts.append(tag("p", fam["summary"]))
        methods = sorted({str(c.get("method") or c.get("test") or "") for c in rows})
        parts.append(
            table(
                [
                    "System",
                    "Verdict",
                    "Difference",
                    "95% CI",
                    "p",
                    "p adjusted",
                    "Power at threshold",
                    "Detectable difference",
                ],
                [
                    [
                        c.get("system_label") or c.get("system"),
                        badge(c.get("label")),
                        fmt_num(c.get("estimate"), digits, sign=True),
                        fmt_ci(c.get("ci"), digits, sign=True),
                        fmt_p(c.get("p_value")),
                        fmt_p(c.get("p_adjusted")),
                        f"{round(100 * c['power'])}%"
                        if isinstance(c.get("power"), int | float) and math.isfinite(c["power"])
                        else "–",
                        fmt_num(c.get("mde"), digits),
                    ]
                    for c in rows
                ],
                numeric=[2, 3, 4, 5, 6, 7],
                class_="dense",
                caption=(
                    f"Difference: system minus baseline. p adjusted: "
                    f"{correction_name(rows[0].get('correction'))} over "
                    f"{rows[0].get('family_size')} comparison(s), alpha {rows[0].get('alpha')}. "
                    "Power: the chance of detecting a true difference equal to the practical "
                    "threshold. Detectable difference: the smallest one found 80% of the time "
                    f"with this much data. Test: {'; '.join(methods)}."
                ),
            )
        )
        if key.startswith("confirmatory"):
            for c in rows:
                extra = [c.get("sentence") or ""]
                if c.get("test_reason"):
                    extra.append(f"Why this test: {c['test_reason']}")
                result = c.get("result") or {}
                if result.get("summary"):
                    extra.append(result["summary"])
                per_seed = c.get("per_seed") or {}
                if per_seed.get("summary"):
                    extra.append(per_seed["summary"])
                parts.append(
                    Html(
                        '<div class="detail">'
                        + tag(
                            "p",
                            Html(
                                tag("strong", c.get("system_label") or c.get("system"))
                                + esc(": ")
                                + esc(extra[0])
                            ),
                        )
                        + join(tag("p", e, class_="small") for e in extra[1:])
                        + join(note(w, "warn") for w in c.get("warnings") or [])
                        + "</div>"
                    )
                )
    parts.append(_per_run_table(comp))
    ranking = comp.get("ranking")
    if ranking:
        parts.append(tag("h3", "Ranking"))
        parts.append(tag("p", ranking.get("summary") or ""))
        if ranking.get("groups"):
            parts.append(
                table(
                    ["Group", "Systems (best first)"],
                    [
                        [g["group"], ", ".join(g.get("labels") or g.get("systems") or [])]
                        for g in ranking["groups"]
                    ],
                    numeric=[0],
                )
            )
    return section(
        "details",
        "Statistical details",
        *parts,
        lead="For readers who want the tests behind each verdict.",
    )
