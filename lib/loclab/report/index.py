"""The reports folder: each experiment's history (``reports.json``) and ``reports/index.html``.

Each report is kept under its timestamp; ``<experiment>/index.html`` is a copy of the latest,
and ``reports/index.html`` lists every experiment's reports, newest first.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from loclab.io import write_text
from loclab.report.html import Html, badge, esc, note, tag

__all__ = ["MANIFEST", "add_entry", "read_manifest", "write_index"]

#: Each experiment folder's list of reports, newest first.
MANIFEST = "reports.json"


@contextmanager
def locked(reports_dir: Path) -> Iterator[None]:
    """Serialise updates of the manifests and the index between processes."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(reports_dir / ".lock", os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


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


def write_index(reports_dir: Path, css: str, version: str) -> Path:
    """Rewrite ``reports/index.html`` from every experiment's manifest."""
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
            "Every experiment's latest report first, then its earlier ones. Each report "
            "is one self-contained page: it opens offline and can be sent as an "
            "attachment.",
            class_="question",
        ),
    ]
    if not experiments:
        parts.append(note("No reports yet: run an experiment (loclab run SPEC).", "omitted"))
    rows = []
    for name, entries in experiments:
        latest = entries[0]
        labels = latest.get("labels") or []
        history = "".join(
            "<li>"
            + tag("a", _when(e["created_ts"]), href=f"{name}/{e['file']}")
            + esc(" — " + str(e.get("headline", "")))
            + "</li>"
            for e in entries[1:]
        )
        cells = [
            tag("td", _when(latest["created_ts"]), class_="nowrap"),
            tag(
                "td",
                Html(
                    tag("a", latest.get("title") or name, href=f"{name}/index.html")
                    + "<br>"
                    + tag("span", name, class_="muted")
                ),
            ),
            tag(
                "td",
                Html(
                    "".join(badge(label) + " " for label in labels)
                    + esc(latest.get("headline", ""))
                    + (f"<ul class='reports small'>{history}</ul>" if history else "")
                ),
            ),
        ]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    if rows:
        parts.append(
            Html(
                "<div class='table-wrap'><table><thead><tr><th scope='col'>Date</th>"
                "<th scope='col'>Experiment</th><th scope='col'>Headline verdict</th></tr></thead>"
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
