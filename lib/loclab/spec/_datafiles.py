"""Data files named by parameters: resolved and checked when the spec loads, before any job.

A parameter whose name ends in ``_path``, ``_file``, ``_dir`` or ``_folder`` names data. A
non-empty value given by the spec or the command line (``params``, ``sweep.params``, a system's
``params``, ``-p``) is:

* **resolved**: an absolute path stays; a relative one is a file of an input channel (its name,
  or a path inside a channel folder), else a path from the project root, else it is refused.
  Local jobs get the absolute path (a kernel runs in the notebook's folder); SageMaker jobs
  read data only through channels, so a path outside them is refused there;
* **checked**: it exists; a text file (``.tsv``, ``.csv``, ``.jsonl``, ``.txt``..., also
  gzipped) is UTF-8; a TSV or CSV has a header without empty or repeated names, and the rows
  read have as many fields as the header.

URLs (``s3://``, ``https://``...) are left to the notebook.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from loclab.exceptions import Problem

__all__ = ["DATA_SUFFIXES", "is_data_param", "resolve_data_params"]

#: Parameter name endings that say the value is a data file or folder.
DATA_SUFFIXES = ("_path", "_file", "_dir", "_folder")
_TEXT = {".tsv", ".csv", ".txt", ".jsonl", ".json", ".ndjson", ".tab"}
_DELIMITED = {".tsv": "\t", ".tab": "\t", ".csv": ","}
#: How much of a file is read to check it (its start is where format errors show).
_PROBE_BYTES = 1 << 20
_PROBE_ROWS = 200


def is_data_param(name: str) -> bool:
    """True when a parameter's name says it names a data file or folder."""
    return name.lower().endswith(DATA_SUFFIXES) or name.lower() in {"path", "file"}


def resolve_data_params(
    values: Mapping[str, Any],
    *,
    root: Path,
    channels: Mapping[str, Path],
    remote: bool,
    source: str,
    field: str,
    written: Mapping[str, str] | None = None,
    pending: bool = False,
) -> tuple[dict[str, Any], list[Problem]]:
    """The data-file parameters of ``values`` resolved, and one problem per bad one.

    Args:
        values: Parameter values (``params``, a system's ``params``...).
        root: The project root relative paths start at.
        channels: The experiment's input channels (name to file or folder).
        remote: Jobs run elsewhere (SageMaker): only channel files are readable there.
        source: The spec as shown in messages.
        field: Where ``values`` are in the spec (``params``, ``-p``...).
        written: Each channel's path as the spec writes it (a value may name a channel by the
            spec's name of it even when ``--channel`` points the channel elsewhere).
        pending: Some channels are URLs not fetched yet (``loclab validate``): a relative
            value found nowhere may name a file in them and is left unchecked.

    Returns:
        Only the changed values (relative paths made absolute for local jobs), and problems.
    """
    changed: dict[str, Any] = {}
    problems: list[Problem] = []
    for name, value in values.items():
        if not is_data_param(name) or not isinstance(value, str) or not value.strip():
            continue
        if "://" in value:
            continue
        where = f"{field}.{name}" if field != "-p" else f"-p {name}"
        in_channel = _in_channel(value, channels, written or {})
        path = in_channel or _resolve(value, root)
        if not path.exists() and pending and not Path(value).expanduser().is_absolute():
            continue
        if not path.exists():
            problems.append(
                Problem(
                    source,
                    where,
                    f"'{value}' does not exist (resolved to {path})",
                    "give a path from the project root, an absolute path, or the name of a "
                    "file in one of the spec's channels",
                )
            )
            continue
        if remote and in_channel is None:
            problems.append(
                Problem(
                    source,
                    where,
                    f"'{value}' is a file on this machine; SageMaker jobs cannot read it",
                    "mount it as a channel (channels: {data: PATH}) and name the file in it",
                )
            )
            continue
        problem = _check_file(path) if path.is_file() else None
        if problem is not None:
            what, fix = problem
            problems.append(Problem(source, where, f"'{value}': {what}", fix))
            continue
        if in_channel is None and not remote and not Path(value).expanduser().is_absolute():
            changed[name] = str(path)
    return changed, problems


def _resolve(value: str, root: Path) -> Path:
    path = Path(value).expanduser()
    return path.resolve() if path.is_absolute() else (root / path).resolve()


def _in_channel(
    value: str, channels: Mapping[str, Path], written: Mapping[str, str]
) -> Path | None:
    """What ``value`` names in a channel: the channel itself, or a path inside a channel folder."""
    if Path(value).is_absolute():
        return None
    for name, path in channels.items():
        names = {path.name, Path(written.get(name, "")).name}
        if path.exists() and value.rstrip("/") in names:
            return path
        if path.is_dir() and (path / value).exists():
            return path / value
    return None


def _rows(lines: list[str], delimiter: str) -> list[list[str]]:
    """Rows as a reader would split them.

    CSV: quoted fields. TSV: plain tabs, unless quoting is what makes the field counts agree.
    """
    quoted = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter))
    if delimiter != "\t":
        return quoted
    plain = [line.split("\t") for line in lines]
    widths = {len(r) for r in plain if r != [""]}
    return plain if len(widths) <= 1 or len({len(r) for r in quoted if r}) > 1 else quoted


def _check_file(path: Path) -> tuple[str, str] | None:
    """What is wrong with a data file's start, and the fix; None when it reads well."""
    suffixes = [s.lower() for s in path.suffixes[-2:]]
    zipped = bool(suffixes) and suffixes[-1] == ".gz"
    kind = suffixes[-2] if zipped and len(suffixes) == 2 else (suffixes[-1] if suffixes else "")
    if kind not in _TEXT:
        return None
    try:
        if zipped:
            with gzip.open(path, "rb") as fh:
                head = fh.read(_PROBE_BYTES)
        else:
            with path.open("rb") as fh:
                head = fh.read(_PROBE_BYTES)
    except (OSError, EOFError) as err:
        return f"cannot be read ({type(err).__name__}: {err})", "check the file"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        text = decoder.decode(head, final=False)
    except UnicodeDecodeError as err:
        line = head[: err.start].count(b"\n") + 1
        return (
            f"is not UTF-8 text (byte 0x{head[err.start]:02x} on line {line})",
            "save it as UTF-8",
        )
    text = text.removeprefix("\ufeff")
    delimiter = _DELIMITED.get(kind)
    if delimiter is None:
        return None
    if not text.strip():
        return "is empty", "give a file with a header row and data"
    lines = text.splitlines()
    if len(head) == _PROBE_BYTES and lines:
        lines = lines[:-1]  # the last line read may be cut
    rows = _rows(lines[:_PROBE_ROWS], delimiter)
    header = [c.strip() for c in rows[0]] if rows else []
    sep = "tab" if delimiter == "\t" else "comma"
    if len(header) < 2:
        return (
            f"has no {sep}-separated header (first line: {lines[0][:60]!r})",
            f"the first line must name the columns, separated by {sep}s",
        )
    empty = [i + 1 for i, c in enumerate(header) if not c]
    if empty:
        return f"header column {empty[0]} has no name", "name every column in the first line"
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        return f"header repeats column(s) {repeated}", "give every column its own name"
    for number, row in enumerate(rows[1:], start=2):
        if row and len(row) != len(header):
            return (
                f"line {number} has {len(row)} fields, the header {len(header)}",
                f"check for a stray or missing {sep} (quote fields that contain one)",
            )
    return None
