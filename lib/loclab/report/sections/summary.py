"""The executive summary: the answer in plain words, on the report's first screen.

It opens with the comparison's answer (what the evidence supports and what to do), then the
author's own words (``report.summary``), then each verdict: its difference (candidate minus
baseline, in the reader's units), the interval that goes with the verdict (adjusted for the
family like the decision), how often chance alone gives such a gap (said of the raw p-value
only), the adjusted p-value as such, and whether the gain that matters is reached or ruled
out. Caveats of the design are said once, here.
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
    caveats,
    finite,
    level_text,
    plain_sentence,
    units_of,
)
from loclab.results import ComparisonEntry, ComparisonRecord

__all__ = ["chance", "executive_summary", "interval_label", "threshold_status"]

#: Up to this many verdicts are shown as cards; more as a compact table.
MAX_CARDS = 4
_ORDER = {"better": 0, "too close to call": 1, "no difference": 2, "worse": 3}


def _count(n: int | None) -> str:
    return f"{n:,}" if isinstance(n, int) else "the"


def chance(c: ComparisonEntry) -> str:
    """How often chance alone gives such a gap: from the raw p-value of this comparison."""
    if c.chance:
        return c.chance
    return f"p = {fmt_p(c.p_value)} (this comparison alone)"


def interval_label(c: ComparisonEntry) -> str:
    """``95% interval`` or ``98.3% interval, adjusted for 3 comparisons``."""
    text = f"{level_text(c.ci_level)} interval"
    if c.family_size > 1:
        text += f", adjusted for {c.family_size} comparisons"
    return text


def threshold_status(c: ComparisonEntry, units: Units) -> tuple[str, str]:
    """Whether the gain that matters is reached: (short label, plain sentence).

    Direction-aware: only a gain of at least the threshold (in the metric's good direction)
    clears it; a loss never does.
    """
    thr = float(c.threshold or 0.0)
    if thr <= 0:
        return (
            "none set",
            "No practical threshold is set (compare.practical_threshold), so this report "
            "cannot say whether a gap of this size matters.",
        )
    t = units.amount(thr)
    lo, hi = c.ci or (None, None)
    gain_low = lo if c.higher_is_better else (-hi if finite(hi) else None)
    if c.outcome == "better" and finite(gain_low) and gain_low >= thr:
        return ("clears it", f"Even the low end of the interval is a gain of {t} or more.")
    if c.gain_ruled_out:
        return (f"a gain of {t} ruled out", f"A gain of {t} or more is ruled out.")
    if c.clears_threshold:
        return (
            "estimate clears it",
            f"The estimated gain clears the {t} that matters; the interval also allows less.",
        )
    return (
        f"a gain of {t} still possible",
        f"The estimate is not a gain of {t}, but the interval still allows one.",
    )


def _card(c: ComparisonEntry, units: Units) -> Html:
    facts = [
        (f"Difference ({c.system_label} minus {c.baseline_label})", units.diff(c.estimate)),
        (interval_label(c).capitalize(), units.span(c.ci)),
        ("How often chance alone gives such a gap", chance(c)),
    ]
    if c.family_size > 1:
        facts.append(
            (f"p adjusted ({adjustment(c.correction, c.family_size)})", fmt_p(c.p_adjusted))
        )
    facts.append(("Practical threshold", threshold_status(c, units)[0]))
    dl = join(Html(f"<div>{tag('dt', k)}{tag('dd', v)}</div>") for k, v in facts)
    by_hand = Html(" " + badge("interactive run")) if c.interactive else Html("")
    title = Html(
        badge(c.outcome)
        + " "
        + tag("strong", c.system_label or c.system)
        + by_hand
        + esc(" compared with ")
        + tag("strong", c.baseline_label or c.baseline)
        + tag("span", f" · {units.name}", class_="muted")
    )
    return Html(
        f'<article class="card {esc(c.outcome.replace(" ", "-"))}">'
        f'<h3 class="card-title">{title}</h3><dl class="facts">{dl}</dl></article>'
    )


def _verdict_table(rows: list[ComparisonEntry], units: Units) -> Html:
    rows = sorted(rows, key=lambda c: (_ORDER.get(c.outcome, 9), -(c.estimate or 0)))
    size = max(c.family_size for c in rows)
    base = rows[0].baseline_label or rows[0].baseline
    headers = [
        "System",
        "Verdict",
        f"Difference (minus {base})",
        f"Interval (adjusted for {size} comparisons)" if size > 1 else "95% interval",
        "How often chance alone gives such a gap",
    ]
    if size > 1:
        headers.append(f"p adjusted ({adjustment(rows[0].correction, size)})")
    headers.append("Practical threshold")
    body = []
    for c in rows:
        who: Any = c.system_label or c.system
        if c.interactive:
            who = Html(esc(who) + " " + badge("interactive run"))
        row: list[Any] = [
            who,
            badge(c.outcome),
            units.diff(c.estimate),
            units.span(c.ci),
            chance(c),
        ]
        if size > 1:
            row.append(fmt_p(c.p_adjusted))
        row.append(threshold_status(c, units)[0])
        body.append(row)
    return table(headers, body, numeric=[2, 3], class_="verdicts")


def _no_comparison(ctx: ReportContext) -> Html:
    parts: list[Any] = [
        Html('<div class="answer">' + tag("p", ctx.headline, class_="headline") + "</div>")
    ]
    if ctx.summary_text:
        parts.append(tag("p", ctx.summary_text, class_="author"))
    parts.append(
        tag(
            "p",
            "This experiment has no comparison stage (no compare: section in "
            "its spec), so the report makes no claim about which system is "
            "better; "
            + (
                "the results below list what each job measured."
                if ctx.run is not None and ctx.run.jobs
                else "the sweep's figures show what its trials found."
            ),
        )
    )
    parts.extend(note(n, "warn") for n in ctx.notes)
    return section("summary", "Summary", *parts)


def _scope(comp: ComparisonRecord, rows: list[ComparisonEntry], units: Units) -> str:
    by_hand = len(comp.interactive)
    seeds = sorted(
        {int(s.n_seeds or 0) for s in comp.systems if not s.deterministic and not s.interactive}
    )
    seed_text = (
        f", each system trained with {seeds[0]} different random seeds"
        if len(seeds) == 1 and seeds[0] > 1
        else ""
    )
    if seed_text and by_hand:
        seed_text = f", each system of the spec trained with {seeds[0]} different random seeds"
    others = [c.system_label or c.system for c in rows]
    who = others[0] if len(others) == 1 else f"{len(comp.systems) - 1} systems"
    if by_hand:
        runs = "an interactive run" if by_hand == 1 else f"{by_hand} interactive runs"
        who += f" ({runs} made by hand among them, one training run each)"
    return (
        f"We compared {who} with the baseline, {comp.baseline_label or comp.baseline}, on "
        f"{units.name} over {_count(comp.n_examples)} {comp.unit or 'test examples'}"
        f"{seed_text}. Every difference is the candidate minus the baseline"
        + (f", in {units.unit}" if units.unit else "")
        + "."
    )


def executive_summary(ctx: ReportContext) -> Html:
    """The answer first, then each verdict with its interval, chance and threshold."""
    comp = ctx.comparison_record
    if comp is None:
        return _no_comparison(ctx)
    rows = comp.confirmatory
    units = units_of(comp)
    parts: list[Any] = [
        Html(
            '<div class="answer">'
            + tag("p", comp.headline or ctx.headline, class_="headline")
            + "</div>"
        )
    ]
    if ctx.summary_text:
        parts.append(tag("p", ctx.summary_text, class_="author"))
    scope = _scope(comp, rows, units)
    if len(rows) <= MAX_CARDS:
        para = [scope, *(plain_sentence(c.sentence) for c in rows)]
        parts.append(tag("p", " ".join(para), class_="exec"))
        parts.append(tag("p", comp.significance_note, class_="small"))
        parts.append(
            Html('<div class="cards">' + "".join(_card(c, units) for c in rows) + "</div>")
        )
    else:
        counts: dict[str, int] = {}
        for c in rows:
            counts[c.outcome] = counts.get(c.outcome, 0) + 1
        said = ", ".join(f"{n} {k}" for k, n in counts.items())
        parts.append(
            tag(
                "p",
                f"{scope} All {len(rows)} verdicts ({said}) are in the table below, each "
                "with its difference, the interval that goes with the verdict, how often "
                "chance alone would give such a gap, and the practical threshold.",
                class_="exec",
            )
        )
        parts.append(tag("p", comp.significance_note, class_="small"))
        parts.append(_verdict_table(rows, units))
    for fam in comp.families:
        if fam.role != "confirmatory":
            parts.append(
                note(
                    f"Secondary metric {fam.metric_name} (supporting evidence; see the "
                    f"statistical details): {fam.summary}"
                )
            )
    parts.extend(note(w, "warn") for w in caveats(comp))
    parts.extend(note(n, "warn") for n in ctx.notes)
    if any(anchor == "glossary" for anchor, _ in ctx.parts):
        parts.append(
            note(
                Html(
                    "New to terms such as confidence interval or p-value? See the "
                    '<a href="#glossary">glossary</a> at the end.'
                )
            )
        )
    return section("summary", "Summary", *parts)
