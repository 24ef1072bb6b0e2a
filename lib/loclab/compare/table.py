"""The verdict table printed at the end of a comparison (rich, rendered to plain text)."""

from __future__ import annotations

import io
import math
import shutil
import sys
from typing import Any

from loclab.results import ComparisonRecord
from loclab.stats import CORRECTION_NAMES

__all__ = ["adjustment_text", "render_verdicts"]

_MARK = {
    "better": "better",
    "worse": "worse",
    "no difference": "no difference",
    "too close to call": "too close to call",
}


def adjustment_text(correction: str, size: int, alpha: float) -> str:
    """``Holm over 15 comparisons, alpha 0.05``, or that one comparison needs no adjustment."""
    if size <= 1:
        return f"one comparison, alpha {alpha:g}"
    return (
        f"{CORRECTION_NAMES.get(correction, correction)} over {size} comparisons, alpha {alpha:g}"
    )


def _num(x: Any, digits: int, signed: bool = False, scale: float = 1.0) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    x = x * scale
    if signed and round(x, digits) == 0:
        x = 0.0
    return f"{x:+,.{digits}f}" if signed else f"{x:,.{digits}f}"


def _p(p: Any) -> str:
    if p is None:
        return "–"
    if p < 1e-4:
        return f"{p:.1e}"
    return f"{p:.4f}" if p < 0.01 else f"{p:.3f}"


def render_verdicts(doc: ComparisonRecord, width: int | None = None) -> str:
    """The comparison as text: verdict table, groups, secondary metrics, headline.

    Args:
        doc: The comparison record.
        width: Characters per line (default: the terminal's, or 120 when not a terminal).

    Returns:
        Text ready to print.
    """
    from rich import box
    from rich.console import Console
    from rich.table import Table

    if width is None:
        width = shutil.get_terminal_size((120, 24)).columns if sys.stdout.isatty() else 120
    out = io.StringIO()
    console = Console(
        file=out,
        width=width,
        color_system=None,
        force_terminal=False,
        highlight=False,
        soft_wrap=False,
    )
    metrics = {m.key: m for m in doc.metrics}
    primary = doc.primary_metric
    info = metrics[primary]
    digits, scale, unit = info.digits, info.scale, info.scale_unit
    percent = info.percent
    name = info.name
    base = doc.baseline
    verdicts = {c.system: c for c in doc.confirmatory}
    systems = {s.name: s for s in doc.systems}
    ranking = doc.ranking
    order = list(ranking.systems) if ranking else list(systems)
    order += [s for s in systems if s not in order]  # interactive runs are not ranked
    several_runs = any(s.n_seeds > 1 for s in systems.values())
    m = doc.family_size
    table = Table(
        title=(
            f"{doc.experiment}: {len(verdicts)} system(s) against {base} on {name} "
            f"({adjustment_text(doc.correction, m, doc.alpha)})"
        ),
        box=box.SIMPLE_HEAD,
        title_justify="left",
    )
    if ranking:
        table.add_column("rank", justify="right")
    # System names are never cut short (an interactive run's mark is at the end of its name).
    names = [f"{s}*" if systems[s].interactive is not None else s for s in systems]
    table.add_column("system", min_width=max(len(s) for s in names))
    if several_runs:
        table.add_column("runs", justify="right")
    table.add_column(name + (" (mean, 95% CI)" if several_runs else ""), justify="right")
    interval = "adjusted interval" if m > 1 else "95% CI"
    table.add_column(
        f"Δ vs {base}{' (' + unit + ')' if unit else ''}, {interval}", justify="right"
    )
    table.add_column("p", justify="right")
    if m > 1:
        table.add_column(
            f"p ({CORRECTION_NAMES.get(doc.correction, doc.correction)})", justify="right"
        )
    table.add_column("verdict")
    if ranking:
        table.add_column("letters")
    score_digits = 1 if percent else digits
    score_scale = 100.0 if percent else 1.0
    for rank, system in enumerate(order, start=1):
        summary = systems[system].metrics[primary]
        score = _num(summary.mean, score_digits, scale=score_scale)
        if several_runs and summary.ci and not systems[system].deterministic:
            lo, hi = summary.ci
            if percent:  # a proportion's interval stays within 0 to 100 %
                lo, hi = max(lo, 0.0), min(hi, 1.0)
            score += (
                f" ({_num(lo, score_digits, scale=score_scale)}–"
                f"{_num(hi, score_digits, scale=score_scale)})"
            )
        elif systems[system].deterministic:
            score += " (deterministic)"
        v = verdicts.get(system)
        cells: list[str]
        if v is None:
            cells = ["baseline", "", *([""] if m > 1 else []), ""]
        else:
            low, high = v.ci or (None, None)
            delta = (
                f"{_num(v.estimate, digits, True, scale)} ({_num(low, digits, True, scale)} to "
                f"{_num(high, digits, True, scale)})"
            )
            cells = [delta, _p(v.p_value), *([_p(v.p_adjusted)] if m > 1 else [])]
            cells.append(_MARK.get(v.outcome, v.outcome))
        row = [str(rank) if system in ranking.systems else "–"] if ranking else []
        by_hand = systems[system].interactive is not None
        row.append(f"{system}*" if by_hand else system)
        if several_runs:
            row.append(str(systems[system].n_seeds))
        row += [score, *cells]
        if ranking:
            row.append(ranking.letters_of.get(system, ""))
        table.add_row(*row)
    console.print(table)
    if m > 1:
        console.print(
            "Intervals are adjusted for the family like the verdicts, so an interval excludes 0 "
            "exactly when the adjusted p is below alpha."
        )
    named = [f"{n} = {s.label}" for n, s in systems.items() if s.label != n]
    if named:
        console.print("Systems: " + "; ".join(named) + ".")
    for s in doc.interactive:
        assert s.interactive is not None
        console.print(
            f"* Interactive run {s.name}: {s.interactive.describe()}. One training run, "
            f"tested {s.interactive.test or 'as a one-run system'}; its training noise is not "
            "measured; it is not re-run and not ranked."
        )
    if ranking:
        groups = "; ".join(
            f"{g.letter or g.group}: {', '.join(g.systems)}" for g in ranking.groups
        )
        console.print(
            f"Letters: systems sharing a letter cannot be told apart ({name}, "
            f"{CORRECTION_NAMES.get(ranking.correction, ranking.correction)} over "
            f"{ranking.family_size} pairs, alpha {ranking.alpha:g}; best first): {groups}"
        )
    for family in doc.families:
        if family.role != "secondary":
            continue
        items = [c for c in doc.comparisons if c.metric == family.metric]
        counts: dict[str, int] = {}
        for c in items:
            counts[c.outcome] = counts.get(c.outcome, 0) + 1
        parts = ", ".join(f"{n} {label}" for label, n in counts.items())
        console.print(
            f"Secondary metric {family.metric_name} "
            f"({adjustment_text(family.correction, family.family_size, family.alpha)}): {parts}."
        )
    for v in verdicts.values():
        if v.per_seed:
            console.print(v.per_seed["summary"])
    breakdowns = doc.breakdowns
    if breakdowns:
        hits = [r for r in breakdowns.rows if r.significant]
        shown = "; ".join(
            f"{r.system} {r.column}={r.value}: {_num(r.estimate, digits, True, scale)} "
            f"(adjusted p {_p(r.p_adjusted)})"
            for r in hits[:6]
        )
        console.print(
            f"Breakdowns by {', '.join(breakdowns.columns)} (exploratory, "
            f"{breakdowns.correction.upper()} over {breakdowns.family_size} cells): "
            + (
                f"{len(hits)} differ beyond chance: {shown}"
                if hits
                else "none differs beyond chance"
            )
            + ("; ..." if len(hits) > 6 else ".")
        )
    if doc.missing_jobs:
        lost = ", ".join(f"{j.name} ({j.state})" for j in doc.missing_jobs)
        console.print(f"Not included (did not complete): {lost}.")
    for w in doc.warnings:
        console.print(f"Note: {w}")
    console.print(doc.significance_note)
    console.print(f"Answer: {doc.headline}")
    # Rich pads every line to the full width; trailing blanks only get in the way.
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines()) + "\n"
