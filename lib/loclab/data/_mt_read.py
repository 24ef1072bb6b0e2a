"""Readers behind :mod:`loclab.data.mt`: a folder of text files, the WMT layout, a TSV.

Each reader returns entries ``(name, origin, lines)`` for the systems and the references and
records every problem it finds (one :class:`~loclab.exceptions.Problem` per file) instead of
stopping at the first, so one run shows everything to fix.
"""

from __future__ import annotations

import csv
import gzip
import os
import re
import tarfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from loclab.exceptions import DataError, Problem

TEXT, WMT, TSV = "text", "wmt", "tsv"
FORMATS = ("auto", TEXT, WMT, TSV)

_TSV_SUFFIXES = (".tsv", ".tsv.gz", ".tsv.bz2", ".tsv.xz")
_TSV_COLUMNS = ("system", "segment", "text")
# <root>/system-outputs/<testset>/<pair>/<testset>.<system>.<pair> (WMT's txt/ tree; the sgm/
# tree's files end in .sgm and do not match).
_WMT_OUTPUT = re.compile(
    r"^(?P<root>(?:.*/)?)system-outputs/(?P<testset>[^/]+)/(?P<pair>[^/]+)/"
    r"(?P=testset)\.(?P<system>[^/]+)\.(?P=pair)$"
)
_SUBMISSION_ID = re.compile(r"\.\d+$")
# ref.de, reference.txt, newstest2017-ende-ref.de, ref1.de, refs.txt, de.ref
_REFERENCE_NAME = re.compile(r"(?:^|[._-])ref(?:erence)?s?\d*(?:[._-]|$)", re.IGNORECASE)
_WMT_DEPTH = 4

Entry = tuple[str, str, list[str]]


@dataclass
class Found:
    """What a reader found: systems and references as ``(name, origin, lines)``."""

    systems: list[Entry] = field(default_factory=list)
    references: list[Entry] = field(default_factory=list)
    segments: list[int] | None = None
    testset: str | None = None
    pair: str | None = None
    unit: str = "lines"
    problems: list[Problem] = field(default_factory=list)

    def problem(self, source: object, message: str, fix: str = "") -> None:
        """Record one problem with ``source`` (a file, folder or tar member)."""
        self.problems.append(Problem(str(source), "", message, fix))


def split_lines(text: str) -> list[str]:
    """Lines as sacrebleu's command line reads them: any newline, trailing blanks stripped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.rstrip() for line in lines]


def decode(data: bytes, origin: str, found: Found) -> list[str] | None:
    """The file's lines, or None (with a problem recorded) when it is not UTF-8."""
    try:
        return split_lines(data.decode("utf-8"))
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        found.problem(
            origin,
            f"is not UTF-8 (byte 0x{data[err.start]:02x} on line {line})",
            "convert it, e.g. iconv -f latin1 -t utf-8 FILE > FILE.utf8",
        )
        return None


def detect_format(path: Path) -> str:
    """``text``, ``wmt`` or ``tsv`` for an existing file or folder.

    Raises:
        DataError: For a single file that is neither a TSV nor a tarball.
    """
    if path.is_dir():
        return WMT if _has_system_outputs(path) else TEXT
    name = path.name.lower()
    if name.endswith(_TSV_SUFFIXES):
        return TSV
    if tarfile.is_tarfile(path):
        return WMT
    if _tsv_header(path):
        return TSV
    raise DataError(
        [
            Problem(
                str(path),
                "",
                "is neither a TSV of system outputs (columns system, segment, text) nor a WMT "
                "submissions tarball (.tgz)",
                "for plain-text outputs, point at the folder that holds one file per system "
                "and the reference(s)",
            )
        ]
    )


def _has_system_outputs(folder: Path) -> bool:
    top = len(folder.parts)
    for here, dirs, _ in os.walk(folder, followlinks=True):
        if "system-outputs" in dirs:
            return True
        if len(Path(here).parts) - top >= _WMT_DEPTH:
            dirs.clear()
    return False


def _tsv_header(path: Path) -> bool:
    with path.open("rb") as fh:
        head = fh.read(2)
    opener = gzip.open if head == b"\x1f\x8b" else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
            first = fh.readline()
    except OSError:
        return False
    return all(c in first.rstrip("\r\n").split("\t") for c in _TSV_COLUMNS)


def read_text_folder(folder: Path, references: Sequence[str]) -> Found:
    """One line-aligned text file per system, plus the reference file(s)."""
    found = Found()
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    names = [p.name for p in files]
    listing = ", ".join(names) or "none"
    if references:
        refs = [name for name in references if name in names]
        for name in references:
            if name not in names:
                found.problem(
                    folder / name,
                    "reference file not found",
                    f"name one of the files here (references=...): {listing}",
                )
    else:
        refs = [name for name in names if _REFERENCE_NAME.search(name)]
        if not refs:
            found.problem(
                folder,
                "no reference file (none is named ref*, reference*, *-ref.* or *.ref)",
                f"name it with references=FILE[,FILE...]; files here: {listing}",
            )
    outputs = [p for p in files if p.name not in refs]
    if not outputs and refs:
        found.problem(
            folder, "holds no system outputs besides the reference(s)", "add one file per system"
        )
    suffixes = {p.suffix for p in outputs}
    strip = len(outputs) > 0 and len(suffixes) == 1 and "" not in suffixes
    for path in files:
        lines = decode(path.read_bytes(), str(path), found)
        if lines is None:
            continue
        if path.name in refs:
            found.references.append((path.name, str(path), lines))
        else:
            found.systems.append((path.stem if strip else path.name, str(path), lines))
    found.references.sort(key=lambda e: refs.index(e[0]))
    return found


def read_wmt(
    path: Path,
    *,
    references: Sequence[str],
    testset: str | None,
    pair: str | None,
    keep_submission_ids: bool,
) -> Found:
    """The WMT submissions layout, from a folder or a tarball (read in place, not extracted)."""
    found = Found()
    with _Tree.open(path) as tree:
        chosen = _choose_outputs(tree, path, testset, pair, found)
        if chosen is None:
            return found
        root, found.testset, found.pair, outputs = chosen
        src, _, tgt = found.pair.partition("-")
        ref_dir = f"{root}references/"
        names = list(references) or [f"{found.testset}-{src}{tgt}-ref.{tgt}"]
        refs = []
        for name in names:
            member = ref_dir + name
            if member in tree.files:
                refs.append((name, member))
                continue
            near = sorted(
                f[len(ref_dir) :]
                for f in tree.files
                if f.startswith(ref_dir) and f[len(ref_dir) :].startswith(found.testset)
            )
            found.problem(
                tree.where(member),
                "reference not found",
                f"name the reference file(s) in {ref_dir} with references=...; there: "
                + (", ".join(near) or "none for this test set"),
            )
        contents = tree.read([member for _, member in refs] + [m for _, m in outputs])
        for name, member in refs:
            lines = decode(contents[member], tree.where(member), found)
            if lines is not None:
                found.references.append((name, tree.where(member), lines))
        for system, member in outputs:
            lines = decode(contents[member], tree.where(member), found)
            if lines is None:
                continue
            name = system if keep_submission_ids else _SUBMISSION_ID.sub("", system)
            found.systems.append((name, tree.where(member), lines))
    return found


def _choose_outputs(
    tree: _Tree, path: Path, testset: str | None, pair: str | None, found: Found
) -> tuple[str, str, str, list[tuple[str, str]]] | None:
    matches = [(m, f) for f in sorted(tree.files) if (m := _WMT_OUTPUT.match(f))]
    if not matches:
        found.problem(
            path,
            "holds no system outputs in the WMT layout "
            "(.../system-outputs/<testset>/<pair>/<testset>.<system>.<pair>)",
            "point at the submissions folder or tarball, or at a folder of plain-text files",
        )
        return None
    for value, group, label in ((testset, "testset", "test set"), (pair, "pair", "pair")):
        available = sorted({m.group(group) for m, _ in matches})
        if value:
            if value not in available:
                found.problem(
                    path,
                    f"has no {label} '{value}'",
                    f"set {group} to one of: {', '.join(available)}",
                )
                return None
            matches = [(m, f) for m, f in matches if m.group(group) == value]
        elif len(available) > 1:
            found.problem(
                path,
                f"holds several {label}s ({', '.join(available)})",
                f"choose one with {group}=..., e.g. {group}={available[0]}",
            )
            return None
    roots = sorted({m.group("root") for m, _ in matches})
    if len(roots) > 1:
        found.problem(
            path,
            f"holds several copies of these outputs ({', '.join(r or './' for r in roots)})",
            "point at the folder (or tarball) of one of them",
        )
        return None
    first = matches[0][0]
    if first.group("pair").count("-") != 1:
        found.problem(
            path, f"pair '{first.group('pair')}' is not of the form src-tgt (e.g. en-de)"
        )
        return None
    return (
        roots[0],
        first.group("testset"),
        first.group("pair"),
        [(m.group("system"), f) for m, f in matches],
    )


class _Tree:
    """The files under a folder, or the members of a tarball, by relative POSIX path."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.archive: tarfile.TarFile | None = None
        self.members: dict[str, tarfile.TarInfo] = {}
        if path.is_dir():
            self.files = {p.relative_to(path).as_posix() for p in _walk_files(path) if p.is_file()}
        else:
            self.archive = tarfile.open(path, "r:*")  # noqa: SIM115 (closed by __exit__)
            for member in self.archive.getmembers():
                if member.isfile():
                    self.members[_clean(member.name)] = member
            self.files = set(self.members)

    @classmethod
    def open(cls, path: Path) -> _Tree:
        """The tree of a folder or a tarball (use as a context manager)."""
        return cls(path)

    def __enter__(self) -> _Tree:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.archive is not None:
            self.archive.close()

    def where(self, name: str) -> str:
        """How a file is named in messages: a path, or ``tarball:member``."""
        return f"{self.path}:{name}" if self.archive is not None else str(self.path / name)

    def read(self, names: Sequence[str]) -> dict[str, bytes]:
        """The bytes of ``names``; a tarball's members are read in archive order (one pass)."""
        if self.archive is None:
            return {name: (self.path / name).read_bytes() for name in names}
        out: dict[str, bytes] = {}
        for name in sorted(set(names), key=lambda n: self.members[n].offset):
            handle = self.archive.extractfile(self.members[name])
            out[name] = handle.read() if handle is not None else b""
        return out


def _clean(name: str) -> str:
    return name[2:] if name.startswith("./") else name


def _walk_files(folder: Path) -> Iterator[Path]:
    for here, dirs, files in os.walk(folder, followlinks=True):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            yield Path(here) / name


def read_tsv(path: Path, references: Sequence[str]) -> Found:
    """A TSV with one row per system and segment (columns ``system``, ``segment``, ``text``)."""
    import pandas as pd

    found = Found(unit="segments")
    try:
        frame = pd.read_csv(
            path, sep="\t", quoting=csv.QUOTE_MINIMAL, keep_default_na=False,
            dtype={"system": str, "text": str}, encoding="utf-8",
        )  # fmt: skip
    except UnicodeDecodeError as err:
        found.problem(path, f"is not UTF-8 ({err.reason} at byte {err.start})", "convert it")
        return found
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as err:
        found.problem(path, f"is not a readable TSV ({str(err).splitlines()[0]})")
        return found
    missing = [c for c in _TSV_COLUMNS if c not in frame.columns]
    if missing:
        found.problem(
            path,
            f"lacks column(s) {', '.join(missing)}",
            "a TSV of system outputs has columns system, segment, text",
        )
        return found
    if not pd.api.types.is_integer_dtype(frame["segment"]):
        found.problem(path, "column segment must hold whole numbers (0-based segment index)")
        return found
    names = list(dict.fromkeys(frame["system"]))
    refs = list(references) or ["reference"]
    for name in refs:
        if name not in names:
            found.problem(
                path,
                f"no system named '{name}' holds a reference",
                f"set references to the system(s) that do; systems: {', '.join(names)}",
            )
    groups = {str(k): g for k, g in frame.groupby("system", sort=False)}
    for name in names:
        rows = groups[name].sort_values("segment", kind="stable")
        repeated = rows["segment"][rows["segment"].duplicated()].unique().tolist()
        if repeated:
            shown = ", ".join(str(s) for s in repeated[:5])
            found.problem(
                f"{path} (system {name})",
                f"repeats segment(s) {shown}",
                "each system needs one row per segment",
            )
            continue
        entry = (name, f"{path} (system {name})", rows["text"].tolist())
        if name in refs:
            found.references.append(entry)
            if found.segments is None:
                found.segments = [int(s) for s in rows["segment"]]
        else:
            found.systems.append(entry)
    found.references.sort(key=lambda e: refs.index(e[0]))
    if found.segments is not None:
        _check_segment_ids(found, groups, names)
    return found


def _check_segment_ids(found: Found, groups: dict[str, object], names: list[str]) -> None:
    assert found.segments is not None
    expected = found.segments
    for name, origin, _ in [*found.systems, *found.references]:
        ids = sorted(int(s) for s in groups[name]["segment"])  # type: ignore[index]
        if ids != expected and len(ids) == len(expected):
            found.problem(
                origin,
                "covers other segments than the reference",
                "every system needs a row for each of the reference's segments",
            )


def check(found: Found) -> None:
    """Problems common to every layout: empty files, unequal lengths, duplicate names."""
    entries = [*found.references, *found.systems]
    seen: dict[str, str] = {}
    for name, origin, _ in entries:
        if name in seen:
            found.problem(
                origin,
                f"gives system name '{name}' again (also {seen[name]})",
                "rename one of them (WMT layout: keep_submission_ids=True keeps the ids that "
                "tell them apart)",
            )
        seen.setdefault(name, origin)
    if not found.references:
        return
    ref_name, ref_origin, ref_lines = found.references[0]
    for name, origin, lines in entries:
        role = "reference" if any(e[1] == origin for e in found.references) else "system output"
        unit = found.unit
        if not lines:
            found.problem(origin, f"{role} '{name}' is empty (no {unit})")
        elif not any(lines):
            found.problem(origin, f"{role} '{name}' is empty (only empty {unit})")
        elif origin != ref_origin and ref_lines and len(lines) != len(ref_lines):
            found.problem(
                origin,
                f"has {len(lines):,} {unit} but the reference {ref_name} has {len(ref_lines):,}",
                "outputs must be line-aligned with the reference (one segment per line)",
            )
