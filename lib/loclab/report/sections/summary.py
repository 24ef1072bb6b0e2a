"""The executive summary: the answer in plain words, on the report's first screen.

It answers "which system is better, by how much, and how sure are we" with the comparison
stage's own verdict sentences, each with its effect, its interval, how often chance alone
would give such a gap, and whether it clears the practical threshold.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from loclab.report.contents import contents
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
from loclab.report.sections._common import threshold_of
from loclab.results import ComparisonEntry, ComparisonRecord

__all__ = ["executive_summary", "threshold_status"]

#: Up to this many verdicts are shown as cards; more as a compact table.
MAX_CARDS = 4
_CHANCE = re.compile(r"would appear by chance (.+?) if the systems were equally good")
#: Phrases of a verdict sentence that already say whether the gap clears the threshold.
_SAID = ("Even the low end", "that matters, though", "too small to matter")
_ORDER = {"better": 0, "needs more data": 1, "no detectable difference": 2, "worse": 3}


def _count(n: int | None) -> str:
    return f"{n:,}" if isinstance(n, int) else "the"


def chance(c: ComparisonEntry) -> str:
    """How often chance alone gives such a gap (from the verdict sentence), else the p-value."""
    found = _CHANCE.search(c.sentence)
    if found:
        return found.group(1)
    return f"p = {fmt_p(c.p_adjusted)} (adjusted)"


def threshold_status(
    estimate: float | None,
    ci: Sequence[float | None] | None,
    threshold: float,
    digits: int = 3,
) -> tuple[str, str]:
    """Whether a difference clears the practical threshold: (short label, plain sentence).

    Args:
        estimate: The difference (system minus baseline).
        ci: Its 95 % interval.
        threshold: The smallest difference that matters (0: none set).
        digits: Decimals of the numbers in the sentence.
    """
    thr = float(threshold or 0.0)
    if thr <= 0:
        return (
            "no threshold set",
            "No practical threshold is set in the spec (compare.practical_threshold), so this "
            "report cannot say whether a gap of this size matters.",
        )
    t = fmt_num(thr, digits)
    lo, hi = ci if ci else (None, None)
    if not (isinstance(estimate, int | float) and math.isfinite(estimate)):
        return ("unknown", "The difference could not be estimated.")
    if (
        lo is not None
        and hi is not None
        and all(isinstance(v, int | float) and math.isfinite(v) for v in (lo, hi))
    ):
        if lo >= thr or hi <= -thr:
            return (
                "clears it",
                f"It clears the practical threshold: the whole plausible range is "
                f"beyond the {t} that matters.",
            )
        if -thr < lo and hi < thr:
            return (
                "too small to matter",
                f"It does not clear the practical threshold: the whole "
                f"plausible range is within ±{t}, too small to matter.",
            )
    if abs(estimate) >= thr:
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


def _status(comp: ComparisonRecord, c: ComparisonEntry, digits: int) -> tuple[str, str]:
    return threshold_status(c.estimate, c.ci, threshold_of(comp, c), digits)


def _threshold_said(comp: ComparisonRecord, c: ComparisonEntry, digits: int) -> str:
    """The threshold sentence, unless the verdict sentence already says whether it clears it."""
    if any(phrase in c.sentence for phrase in _SAID):
        return ""
    return _status(comp, c, digits)[1]


def _card(comp: ComparisonRecord, c: ComparisonEntry, digits: int) -> Html:
    metric = c.metric_name or c.metric
    label = _status(comp, c, digits)[0]
    thr = threshold_of(comp, c)
    facts = [
        ("Difference", f"{fmt_num(c.estimate, digits, sign=True)} {metric}"),
        ("95% interval", fmt_ci(c.ci, digits, sign=True)),
        ("Seen by chance", chance(c)),
        ("Practical threshold", f"{fmt_num(thr, digits)}: {label}" if thr > 0 else label),
    ]
    dl = join(Html(f"<div>{tag('dt', k)}{tag('dd', v)}</div>") for k, v in facts)
    title = Html(
        badge(c.label)
        + " "
        + tag("strong", c.system_label or c.system)
        + esc(" compared with ")
        + tag("strong", c.baseline_label or c.baseline)
        + tag("span", f" · {metric}", class_="muted")
    )
    warn = join(note(w, "warn") for w in c.warnings)
    return Html(
        f'<article class="card {esc(c.label.replace(" ", "-"))}">'
        f'<h3 class="card-title">{title}</h3><dl class="facts">{dl}</dl>{warn}</article>'
    )


def _verdict_table(comp: ComparisonRecord, rows: list[ComparisonEntry], digits: int) -> Html:
    rows = sorted(rows, key=lambda c: (_ORDER.get(c.label, 9), -(c.estimate or 0)))
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
                c.system_label or c.system,
                badge(c.label),
                fmt_num(c.estimate, digits, sign=True),
                fmt_ci(c.ci, digits, sign=True),
                chance(c),
                _status(comp, c, digits)[0],
            ]
            for c in rows
        ],
        numeric=[2, 3],
        class_="verdicts",
    )


def _no_comparison(ctx: ReportContext) -> Html:
    parts: list[Any] = []
    if ctx.summary_text:
        parts.append(tag("p", ctx.summary_text))
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


def _many_verdicts(
    comp: ComparisonRecord, rows: list[ComparisonEntry], scope: str, metric: str, digits: int
) -> list[Any]:
    by_label: dict[str, list[ComparisonEntry]] = {}
    for c in rows:
        by_label.setdefault(c.label, []).append(c)
    said = [scope]
    for c in (c for c in rows if c.label == "better"):
        said.append(
            f"{c.system_label} is better than the baseline by "
            f"{fmt_num(c.estimate, digits)} {metric} (plausibly "
            f"{fmt_ci(c.ci, digits)}); a gap this large would appear by chance "
            f"{chance(c)} if they were equally good. {_status(comp, c, digits)[1]}"
        )
    counts = ", ".join(f"{len(v)} {k}" for k, v in by_label.items())
    said.append(
        f"All {len(rows)} verdicts ({counts}) are in the table below, each with its "
        "difference, interval, how often chance alone would produce it, and whether "
        "it clears the practical threshold."
    )
    return [
        tag("p", " ".join(said), class_="exec"),
        tag("p", comp.significance_note, class_="small"),
        _verdict_table(comp, rows, digits),
    ]


def executive_summary(ctx: ReportContext) -> Html:
    """The answer, in plain words.

    Each verdict with its effect, its interval, how often chance alone would give a gap this
    large, and whether it clears the practical threshold.
    """
    comp = ctx.comparison_record
    if comp is None:
        return _no_comparison(ctx)
    parts: list[Any] = []
    if ctx.summary_text:
        parts.append(tag("p", ctx.summary_text))
    rows = comp.confirmatory
    digits = digits_for([c.estimate for c in rows])
    metric = next(
        (m.name for m in comp.metrics if m.key == comp.primary_metric), comp.primary_metric
    )
    parts.append(
        Html(
            '<div class="answer">'
            + tag("p", comp.headline or ctx.headline, class_="headline")
            + "</div>"
        )
    )
    n_sys = len(comp.systems)
    seeds = sorted({int(s.n_seeds or 0) for s in comp.systems})
    seed_text = (
        f", each system trained with {seeds[0]} different random seeds"
        if len(seeds) == 1 and seeds[0] > 1
        else ""
    )
    others = [c.system_label or c.system for c in rows]
    who = others[0] if len(others) == 1 else f"{n_sys - 1} systems"
    scope = (
        f"We compared {who} with the baseline, "
        f"{comp.baseline_label or comp.baseline}, on {metric} over "
        f"{_count(comp.n_examples)} {comp.unit or 'test examples'}{seed_text}."
    )
    if len(rows) <= MAX_CARDS:
        para = [scope] + [f"{c.sentence} {_threshold_said(comp, c, digits)}" for c in rows]
        parts.append(tag("p", " ".join(para), class_="exec"))
        parts.append(tag("p", comp.significance_note, class_="small"))
        parts.append(
            Html('<div class="cards">' + "".join(_card(comp, c, digits) for c in rows) + "</div>")
        )
    else:
        parts.extend(_many_verdicts(comp, rows, scope, metric, digits))
    for fam in comp.families:
        if fam.role != "confirmatory":
            parts.append(
                note(
                    f"Secondary metric {fam.metric_name}: {fam.summary} "
                    "(supporting evidence; see the statistical details)."
                )
            )
    parts.extend(note(w, "warn") for w in comp.warnings)
    parts.extend(note(n, "warn") for n in ctx.notes)
    if any(anchor == "glossary" for anchor, _ in contents(ctx.audience)):
        parts.append(
            note(
                Html(
                    "New to terms such as confidence interval or p-value? See the "
                    '<a href="#glossary">glossary</a> at the end.'
                )
            )
        )
    return section("summary", "Summary", *parts)
