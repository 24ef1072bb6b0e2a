"""The verdict table printed at the end of a comparison (rich, rendered to plain text)."""

from __future__ import annotations

import io
import math
import shutil
import sys
from typing import Any

from loclab.results import ComparisonRecord
from loclab.stats import CORRECTION_NAMES

__all__ = ["render_verdicts"]

_MARK = {
    "better": "better",
    "worse": "worse",
    "no detectable difference": "no detectable diff.",
    "needs more data": "needs more data",
}


def _num(x: Any, digits: int, signed: bool = False) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
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
    digits = 2 if metrics[primary].source == "corpus" else 3
    name = metrics[primary].name
    base = doc.baseline
    verdicts = {c.system: c for c in doc.confirmatory}
    systems = {s.name: s for s in doc.systems}
    ranking = doc.ranking
    order = list(ranking.systems) if ranking else list(systems)
    several_runs = any(s.n_seeds > 1 for s in systems.values())
    correction = CORRECTION_NAMES[doc.correction]
    table = Table(
        title=(
            f"{doc.experiment}: {len(verdicts)} system(s) against {base} on {name} "
            f"({correction}, family of {doc.family_size}, alpha {doc.alpha:g})"
        ),
        box=box.SIMPLE_HEAD,
        title_justify="left",
    )
    if ranking:
        table.add_column("rank", justify="right")
    table.add_column("system")
    if several_runs:
        table.add_column("runs", justify="right")
    table.add_column(name + (" (mean, 95% CI)" if several_runs else ""), justify="right")
    table.add_column(f"Δ vs {base} (95% CI)", justify="right")
    table.add_column(f"p ({correction})", justify="right")
    table.add_column("verdict")
    if ranking:
        table.add_column("group", justify="right")
    for rank, system in enumerate(order, start=1):
        summary = systems[system].metrics[primary]
        score = _num(summary.mean, digits)
        if several_runs and summary.ci:
            lo, hi = summary.ci
            score += f" ({_num(lo, digits)}–{_num(hi, digits)})"
        v = verdicts.get(system)
        if v is None:
            delta, p, label = "baseline", "", ""
        else:
            low, high = v.ci or (None, None)
            delta = (
                f"{_num(v.estimate, digits, True)} ({_num(low, digits, True)} to "
                f"{_num(high, digits, True)})"
            )
            p, label = _p(v.p_adjusted), _MARK.get(v.label, v.label)
        row = [str(rank)] if ranking else []
        row.append(system)
        if several_runs:
            row.append(str(systems[system].n_seeds))
        row += [score, delta, p, label]
        if ranking:
            row.append(str(ranking.group_of.get(system, "")))
        table.add_row(*row)
    console.print(table)
    named = [f"{n} = {s.label}" for n, s in systems.items() if s.label != n]
    if named:
        console.print("Systems: " + "; ".join(named) + ".")
    if ranking:
        groups = "; ".join(f"{g.group}: {', '.join(g.systems)}" for g in ranking.groups)
        extra = ranking.model_extra or {}
        console.print(
            f"Groups of systems that cannot be told apart ({name}, {correction} over "
            f"{extra.get('family_size')} pairs, alpha {extra.get('alpha', doc.alpha):g}; "
            f"best first): {groups}"
        )
    for family in doc.families:
        if family.role != "secondary":
            continue
        items = [c for c in doc.comparisons if c.metric == family.metric]
        counts: dict[str, int] = {}
        for c in items:
            counts[c.label] = counts.get(c.label, 0) + 1
        parts = ", ".join(f"{n} {label}" for label, n in counts.items())
        console.print(
            f"Secondary metric {family.metric_name} ({correction}, family of "
            f"{family.family_size}): {parts}."
        )
    for v in verdicts.values():
        if v.per_seed:
            console.print(v.per_seed["summary"])
    breakdowns = doc.breakdowns
    if breakdowns:
        hits = [r for r in breakdowns.rows if r.significant]
        shown = "; ".join(
            f"{r.system} {r.column}={r.value}: {_num(r.estimate, digits, True)} "
            f"(adj. p {_p(r.p_adjusted)})"
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
    console.print(doc.significance_note)
    console.print(f"Verdict: {doc.headline}")
    # Rich pads every line to the full width; trailing blanks only get in the way.
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines()) + "\n"
