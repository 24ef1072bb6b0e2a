"""``loclab history SPEC``: the experiment's history as a table, one run per row.

Each row shows the run's id and date, its code (git SHA, ``*`` when it had uncommitted
changes), data (snapshot or fingerprint), what its tick found, the size of its per-example
values, and the deciding metric of each system with its 95 % interval. With more systems
than fit in a row, each run takes one row per system.
"""

from __future__ import annotations

from collections.abc import Sequence

from loclab.results import HistoryPoint, ScheduleRecord

__all__ = ["history_table"]

#: Systems shown side by side at most; more go one row per system.
WIDE_SYSTEMS = 4


def _score(point: HistoryPoint, system: str, metric: str) -> str:
    value = point.value(system, metric)
    if value is None or value.value is None:
        return "-"
    ci = f" [{value.ci[0]:.2f}, {value.ci[1]:.2f}]" if value.ci else ""
    return f"{value.value:.2f}{ci}"


def _render(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]


def history_table(
    experiment: str, points: Sequence[HistoryPoint], state: ScheduleRecord | None = None
) -> str:
    """The history as text (see the module docstring).

    Args:
        experiment: The experiment's name.
        points: Its history, oldest first.
        state: The schedule's state, for what each run's tick found and the baseline.
    """
    if not points:
        return f"{experiment}: no finished run yet (loclab run SPEC or loclab schedule run SPEC)"
    latest = points[-1]
    metric = latest.deciding_metric
    found = latest.metric(metric) if metric else None
    name = found.name if found is not None else (metric or "")
    outcomes = {t.run_id: t.outcome for t in (state.ticks if state else []) if t.run_id}
    baseline = state.baseline_run_id if state else None
    systems = list(dict.fromkeys(s.name for p in points for s in p.systems))
    wide = len(systems) <= WIDE_SYSTEMS
    head = ["run", "date (UTC)", "code", "data", "tick", "kept"]
    columns = [f"{s} {name}" for s in systems] if wide else ["system", name]
    rows: list[list[str]] = [head + columns]
    for p in points:
        code = (p.git_sha[:8] if p.git_sha != "unknown" else "?") + ("*" if p.git_dirty else "")
        data = p.snapshot or (p.data_fingerprint[:12] if p.data_fingerprint else "?")
        tick = outcomes.get(p.run_id, "")
        if p.run_id == baseline:
            tick = f"{tick} (baseline)".strip()
        kept = f"{p.arrays_bytes / 1024:,.0f} KB"
        first = [p.run_id, p.date[:16].replace("T", " "), code, data, tick, kept]
        if wide:
            rows.append(first + [_score(p, s, metric or "") for s in systems])
            continue
        for index, s in enumerate(s.name for s in p.systems):
            lead = first if index == 0 else [""] * len(first)
            rows.append([*lead, s, _score(p, s, metric or "")])
    title = f"{experiment}: {len(points)} run(s); {name} with its 95% interval"
    status = ""
    if state is not None and state.status != "new":
        status = f"; schedule status {state.status.upper()}"
    return "\n".join([title + status, *_render(rows)])
