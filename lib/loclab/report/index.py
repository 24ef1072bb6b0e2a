"""The reports folder: each experiment's history (``reports.json``) and ``reports/index.html``.

Each report is kept under its timestamp; ``<experiment>/index.html`` is a copy of the latest,
and ``reports/index.html`` is a status board: one row per experiment, newest first, with its
last run, one status badge (a scheduled experiment's ``OK`` / ``REGRESSED since ...`` /
``FAILED``; else its answer: better / worse / no difference / too close, or FAILED), a small
trend of the deciding metric where there is history, its answer in words and its earlier
reports. The status and the trend come from the experiment's records when its report is
rendered (:func:`loclab.results.status_board`, kept as ``board`` in the manifest entry), so the
index itself reads nothing but the manifests. The board's columns are :data:`COLUMNS`, one
:class:`Column` each (a heading and a function of the experiment's manifest entries), so a
column can be added without touching the others.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from loclab.io import exclusive_lock, write_text
from loclab.report.html import Html, badge, esc, note, tag
from loclab.results import BoardEntry

__all__ = [
    "COLUMNS",
    "MANIFEST",
    "Column",
    "add_entry",
    "board_fields",
    "read_manifest",
    "sparkline",
    "status_of",
    "write_index",
]

#: Each experiment folder's list of reports, newest first.
MANIFEST = "reports.json"


@contextmanager
def locked(reports_dir: Path) -> Iterator[None]:
    """Serialise updates of the manifests and the index between processes."""
    with exclusive_lock(reports_dir / ".lock", wait=True):
        yield


def read_manifest(folder: Path) -> list[dict[str, Any]]:
    """The reports of one experiment folder that still exist, newest first."""
    path = folder / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except (OSError, ValueError):
        data = {}
    entries = [e for e in data.get("reports", []) if (folder / str(e.get("file", ""))).exists()]
    return sorted(entries, key=lambda e: e.get("created_ts", 0), reverse=True)


def add_entry(folder: Path, entry: dict[str, Any]) -> list[dict[str, Any]]:
    """Add a report to its experiment's manifest; return the manifest, newest first."""
    entries = [e for e in read_manifest(folder) if e.get("file") != entry["file"]]
    entries = sorted([entry, *entries], key=lambda e: e.get("created_ts", 0), reverse=True)
    write_text(
        folder / MANIFEST,
        json.dumps({"experiment": folder.name, "reports": entries}, indent=1, sort_keys=True),
    )
    return entries


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


#: Badge text of each status a report can have (``status`` in its manifest entry).
_BADGES = {
    "better": "better",
    "worse": "worse",
    "no difference": "no difference",
    "too close to call": "too close",
    "FAILED": "FAILED",
    "STOPPED": "FAILED",
}
#: Statuses of entries written before reports had one, from their verdict labels.
_LEGACY = {"no detectable difference": "no difference", "needs more data": "too close to call"}


def board_fields(board: BoardEntry | None) -> dict[str, Any] | None:
    """A status board line as stored in a manifest entry (``board``), JSON-ready."""
    if board is None:
        return None
    fields = asdict(board)
    fields["trend"] = {name: list(values) for name, values in board.trend.items()}
    return fields


def _board(entry: dict[str, Any]) -> dict[str, Any]:
    board = entry.get("board")
    return board if isinstance(board, dict) else {}


def status_of(entry: dict[str, Any]) -> str:
    """The status badge's text for a manifest entry ("" when it has no verdict).

    A scheduled experiment's status is its schedule's (``OK``, ``REGRESSED since ...``,
    ``FAILED since ...``); any other's is its answer.
    """
    board = _board(entry)
    if board.get("scheduled") and board.get("status") in ("OK", "REGRESSED", "FAILED"):
        return str(board.get("text") or board["status"])
    status = str(entry.get("status") or "")
    if not status:
        labels = {_LEGACY.get(str(x), str(x)) for x in entry.get("labels") or []}
        status = labels.pop() if len(labels) == 1 else ""
    return _BADGES.get(status, "")


@dataclass(frozen=True)
class Column:
    """One column of the status board.

    Attributes:
        heading: The column's heading.
        cell: The cell of one experiment: ``cell(name, entries)``, entries newest first.
        nowrap: Keep the cell on one line.
    """

    heading: str
    cell: Callable[[str, Sequence[dict[str, Any]]], Html]
    nowrap: bool = False


def _date_cell(name: str, entries: Sequence[dict[str, Any]]) -> Html:
    last_run = _board(entries[0]).get("last_run")
    if last_run:
        return esc(f"{last_run} UTC")
    return esc(_when(entries[0]["created_ts"]))


def _counts(entry: dict[str, Any]) -> str:
    counts = entry.get("counts") or {}
    parts = []
    if counts.get("trials"):
        parts.append(f"{counts['trials']} trial(s)")
    if counts.get("jobs"):
        text = f"{counts['jobs']} job(s)"
        extra = [f"{counts[k]} {k}" for k in ("failed", "skipped") if counts.get(k)]
        parts.append(text + (f" ({', '.join(extra)})" if extra else ""))
    return " · ".join(parts)


def _experiment_cell(name: str, entries: Sequence[dict[str, Any]]) -> Html:
    latest = entries[0]
    what = " · ".join(p for p in (name, _counts(latest)) if p)
    return Html(
        tag("a", latest.get("title") or name, href=f"{name}/index.html")
        + "<br>"
        + tag("span", what, class_="muted")
    )


#: Badge classes of a schedule's statuses (the words carry the meaning).
_SCHEDULE_CLASS = {"OK": "same", "REGRESSED": "worse", "FAILED": "fail"}


def _status_badge(status: str) -> Html:
    kind = status.split(" ", 1)[0]
    if kind in _SCHEDULE_CLASS:
        return tag("span", status, class_=f"badge {_SCHEDULE_CLASS[kind]}")
    return badge(status)


def _status_cell(name: str, entries: Sequence[dict[str, Any]]) -> Html:
    status = status_of(entries[0])
    if not status:
        return tag("span", "no verdict", class_="muted")
    regressed = _board(entries[0]).get("regressed") or []
    if status.startswith("REGRESSED") and regressed:
        return Html(
            _status_badge(status) + "<br>" + tag("span", ", ".join(regressed), class_="muted")
        )
    return _status_badge(status)


def sparkline(
    trend: dict[str, Sequence[float | None]], marked: Sequence[str] = (), *, width: int = 96
) -> Html:
    """A small inline SVG of each system's values, oldest to newest ("" under two points).

    Systems in ``marked`` (the regressed ones) are drawn in the warning colour, the others in
    grey; each line is scaled over all systems' values, so lines can be compared.
    """
    values = [v for line in trend.values() for v in line if v is not None]
    n = max((len(line) for line in trend.values()), default=0)
    if n < 2 or not values:
        return Html("")
    height, pad = 24, 2
    low, high = min(values), max(values)
    span = (high - low) or 1.0

    def xy(i: int, v: float) -> str:
        x = pad + i * (width - 2 * pad) / (n - 1)
        y = height - pad - (v - low) / span * (height - 2 * pad)
        return f"{x:.1f},{y:.1f}"

    lines = []
    order = sorted(trend, key=lambda name: name in marked)  # marked ones drawn on top
    for name in order:
        points = " ".join(xy(i, v) for i, v in enumerate(trend[name]) if v is not None)
        colour = "#D55E00" if name in marked else "#9aa3ad"
        lines.append(
            f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.2">'
            f"<title>{esc(name)}</title></polyline>"
        )
    return Html(
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="trend">{"".join(lines)}</svg>'
    )


def _trend_cell(name: str, entries: Sequence[dict[str, Any]]) -> Html:
    board = _board(entries[0])
    trend = board.get("trend") or {}
    marked = list(board.get("marked") or [])
    line = sparkline(trend, marked) if isinstance(trend, dict) else Html("")
    if not line:
        return tag("span", "—", class_="muted")
    dates = board.get("dates") or []
    span = f"{board.get('metric') or ''}, {dates[0]} to {dates[-1]}" if dates else ""
    return Html(line + "<br>" + tag("span", span, class_="muted small"))


def _answer_cell(name: str, entries: Sequence[dict[str, Any]]) -> Html:
    history = "".join(
        "<li>"
        + tag("a", _when(e["created_ts"]), href=f"{name}/{e['file']}")
        + (" " + badge(status_of(e)) if status_of(e) else "")
        + esc(" " + str(e.get("headline", "")))
        + "</li>"
        for e in entries[1:]
    )
    return Html(
        esc(entries[0].get("headline", ""))
        + (f"<ul class='reports small'>{history}</ul>" if history else "")
    )


#: The board's columns, left to right.
COLUMNS: tuple[Column, ...] = (
    Column("Last run", _date_cell, nowrap=True),
    Column("Experiment", _experiment_cell),
    Column("Status", _status_cell, nowrap=True),
    Column("Trend", _trend_cell, nowrap=True),
    Column("Answer", _answer_cell),
)


def write_index(
    reports_dir: Path, css: str, version: str, columns: Sequence[Column] = COLUMNS
) -> Path:
    """Rewrite ``reports/index.html`` from every experiment's manifest.

    Args:
        reports_dir: The reports folder.
        css: The page's styles.
        version: loclab's version, for the footer.
        columns: The board's columns (default :data:`COLUMNS`).
    """
    experiments = []
    for folder in sorted(p for p in reports_dir.iterdir() if p.is_dir()):
        entries = read_manifest(folder)
        if entries:
            experiments.append((folder.name, entries))
    experiments.sort(key=lambda item: item[1][0].get("created_ts", 0), reverse=True)
    parts = [
        tag("p", "loclab", class_="kicker"),
        tag("h1", "Experiment reports"),
        tag(
            "p",
            "One row per experiment, latest report first: its last run, its status, the trend of "
            "its deciding metric and its answer, then its earlier reports. Each report is one "
            "self-contained page: it opens offline and can be sent as an attachment.",
            class_="question",
        ),
    ]
    if not experiments:
        parts.append(note("No reports yet: run an experiment (loclab run SPEC).", "omitted"))
    rows = []
    for name, entries in experiments:
        failed = status_of(entries[0]).startswith("FAILED")
        cells = [
            tag("td", column.cell(name, entries), class_="nowrap" if column.nowrap else None)
            for column in columns
        ]
        opening = '<tr class="failed">' if failed else "<tr>"
        rows.append(opening + "".join(cells) + "</tr>")
    if rows:
        heads = "".join(tag("th", column.heading, scope="col") for column in columns)
        parts.append(
            Html(
                f"<div class='table-wrap'><table><thead><tr>{heads}</tr></thead>"
                f"<tbody>{''.join(rows)}</tbody></table></div>"
            )
        )
    doc = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="loclab {esc(version)}">\n'
        f"<title>Experiment reports</title>\n<style>\n{css}\n</style>\n</head>\n<body>\n<main>\n"
        + "".join(esc(p) for p in parts)
        + f'\n<footer class="page">Updated {esc(_when(time.time()))} by loclab '
        f"{esc(version)}.</footer>\n</main>\n</body>\n</html>\n"
    )
    path = reports_dir / "index.html"
    write_text(path, doc)
    return path
