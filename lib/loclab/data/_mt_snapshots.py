"""A folder of dated snapshots: one subfolder per date (``YYYY-MM-DD/``), the newest scored.

Monitoring engines on a fixed test set means new outputs every week, kept side by side::

    snapshots/
        2026-11-30/outputs.tsv     # a TSV in the WMT17 file's format (system, segment, text)
        2026-12-07/outputs.tsv.gz
        2026-12-14/                # or a folder of plain-text files, or a WMT tree

Each snapshot is any layout :func:`loclab.data.mt.read_mt_outputs` reads: the single file in
the dated folder (a TSV or a WMT tarball), else the dated folder itself.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path

from loclab.exceptions import DataError, Problem

__all__ = ["SNAPSHOTS", "choose_snapshot", "is_snapshot_folder", "snapshot_dates"]

SNAPSHOTS = "snapshots"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _is_date(name: str) -> bool:
    if not _DATE.match(name):
        return False
    try:
        datetime.date.fromisoformat(name)
    except ValueError:
        return False
    return True


def snapshot_dates(folder: Path) -> list[str]:
    """The dated subfolders of ``folder`` (``YYYY-MM-DD``, real dates), oldest first."""
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and _is_date(p.name))


def is_snapshot_folder(folder: Path) -> bool:
    """True when ``folder`` holds dated subfolders and no system outputs of its own."""
    if not snapshot_dates(folder):
        return False
    entries = [p for p in folder.iterdir() if not p.name.startswith(".")]
    return all(p.is_dir() or p.suffix.lower() in (".md", ".txt") for p in entries)


def choose_snapshot(folder: Path, snapshot: str = "latest") -> tuple[str, Path]:
    """The snapshot to score: its date and what to read (its single file, or its folder).

    Args:
        folder: The folder of dated snapshots.
        snapshot: ``latest`` (the newest date) or a date ``YYYY-MM-DD``.

    Raises:
        DataError: No dated snapshot, the date asked for is not there, or a snapshot is
            empty.
    """
    dates = snapshot_dates(folder)
    if not dates:
        raise DataError(
            [
                Problem(
                    str(folder),
                    "",
                    "has no dated snapshot folder (YYYY-MM-DD/)",
                    "put each snapshot in a folder named by its date, e.g. 2026-12-07/",
                )
            ]
        )
    if snapshot in ("", "latest"):
        date = dates[-1]
    elif snapshot in dates:
        date = snapshot
    else:
        shown = ", ".join(dates[-5:])
        raise DataError(
            [
                Problem(
                    str(folder),
                    "snapshot",
                    f"no snapshot dated '{snapshot}'",
                    f"use latest or one of the dates there (latest: {shown})",
                )
            ]
        )
    chosen = folder / date
    entries = [p for p in chosen.iterdir() if not p.name.startswith(".")]
    if not entries:
        raise DataError([Problem(str(chosen), "", "is an empty snapshot", "add its outputs")])
    files = [p for p in entries if p.is_file()]
    if len(entries) == 1 and files:
        return date, files[0]
    return date, chosen
