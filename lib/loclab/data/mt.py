"""MT system outputs as people have them, and their BLEU / chrF / chrF++ / TER statistics.

Three layouts are read (``format="auto"`` tells them apart):

* ``text``: a folder of line-aligned plain-text files, one per system plus one or more
  references, as the sacrebleu command line takes them. Reference files are named by
  ``references`` (default: files named ``ref*``, ``reference*``, ``*-ref.*`` or ``*.ref``);
  every other file is a system, named after the file (a suffix shared by all of them, such as
  ``.de``, is dropped).
* ``wmt``: the WMT submissions layout, as a folder or straight from its ``.tgz`` (nothing is
  extracted): ``.../system-outputs/<testset>/<pair>/<testset>.<system>.<pair>`` with the
  reference ``.../references/<testset>-<src><tgt>-ref.<tgt>`` (WMT17:
  ``wmt17-submitted-data/txt/...``). Submission ids are dropped from system names
  (``LIUM-NMT.4900`` is ``LIUM-NMT``) unless ``keep_submission_ids``.
* ``tsv``: one row per system and segment, columns ``system``, ``segment``, ``text``; the
  reference is the system named ``reference`` (or those named by ``references``).
* ``snapshots``: a folder of dated snapshots (``YYYY-MM-DD/``), each in one of the layouts
  above; the newest (or the date asked for) is read (:mod:`loclab.data._mt_snapshots`), and
  :attr:`MTOutputs.snapshot` says which.

Problems are gathered over all files and raised together as one
:class:`~loclab.exceptions.DataError`, one line per problem naming the file: missing
reference, line counts that differ, a file that is not UTF-8, an empty system, two files
giving the same system name.

Scoring (:func:`score_outputs`) goes through sacrebleu's own metric classes, so corpus scores
equal sacrebleu's exactly; :func:`metric_signature` gives each metric's sacrebleu signature.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from loclab.data import _mt_read
from loclab.data._mt_read import FORMATS, TEXT, WMT
from loclab.data._mt_score import (
    METRIC_ALIASES,
    MT_METRICS,
    MTMetric,
    SegmentStatistics,
    canonical_metric,
    log_names,
    metric_options,
    metric_signature,
    mt_metric,
    score_outputs,
)
from loclab.data._mt_snapshots import (
    SNAPSHOTS,
    choose_snapshot,
    is_snapshot_folder,
    snapshot_dates,
)
from loclab.exceptions import DataError, Problem

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "FORMATS",
    "METRIC_ALIASES",
    "MT_METRICS",
    "SNAPSHOTS",
    "MTMetric",
    "MTOutputs",
    "SegmentStatistics",
    "canonical_metric",
    "choose_snapshot",
    "detect_format",
    "log_names",
    "metric_options",
    "metric_signature",
    "mt_metric",
    "read_mt_outputs",
    "resolve_mt_input",
    "score_outputs",
    "snapshot_dates",
    "split_names",
]


@dataclass(frozen=True)
class MTOutputs:
    """Line-aligned system outputs and their reference(s).

    Attributes:
        systems: System name to its output, one string per segment.
        references: Reference name to its text, one string per segment (at least one; with
            several, BLEU, chrF and TER use them all, as sacrebleu does).
        segments: Segment ids (0-based line numbers; a TSV's ``segment`` column).
        format: ``text``, ``wmt`` or ``tsv``.
        source: The folder or file read.
        origins: System or reference name to the file (or tar member) it came from.
        testset: WMT layout: the test set (e.g. ``newstest2017``).
        pair: WMT layout: the language pair (e.g. ``en-de``).
        snapshot: The date of the snapshot read (``snapshots`` layout), else None.
    """

    systems: Mapping[str, tuple[str, ...]]
    references: Mapping[str, tuple[str, ...]]
    segments: tuple[int, ...]
    format: str
    source: Path
    origins: Mapping[str, str] = field(default_factory=dict)
    testset: str | None = None
    pair: str | None = None
    snapshot: str | None = None

    @property
    def n_segments(self) -> int:
        """Number of segments."""
        return len(self.segments)

    @property
    def reference_label(self) -> str:
        """The reference name(s), comma-separated (for records)."""
        return ", ".join(self.references)

    def reference_streams(self) -> list[list[str]]:
        """The references in sacrebleu's layout: one list of segments per reference."""
        return [list(lines) for lines in self.references.values()]

    def fingerprint(self) -> str:
        """Content hash of names and texts (SHA-256, 16 hex digits), whatever the layout."""
        h = hashlib.sha256()
        for role, items in (("ref", self.references), ("sys", self.systems)):
            for name, lines in items.items():
                h.update(f"{role}\t{name}\n".encode())
                h.update("\n".join(lines).encode())
                h.update(b"\0")
        return h.hexdigest()[:16]

    def testset_fingerprint(self) -> str:
        """Content hash of the test set alone: segment ids and references, not the systems.

        Two runs with equal test-set fingerprints scored the same segments against the same
        references, so their per-segment results can be paired.
        """
        h = hashlib.sha256()
        h.update(",".join(str(s) for s in self.segments).encode())
        for name, lines in self.references.items():
            h.update(f"\0ref\t{name}\n".encode())
            h.update("\n".join(lines).encode())
        return h.hexdigest()[:16]

    def to_frame(self) -> pd.DataFrame:
        """Rows of ``system``, ``segment``, ``text``: systems, then references by name."""
        import pandas as pd

        rows = [
            (name, seg, text)
            for items in (self.systems, self.references)
            for name, lines in items.items()
            for seg, text in zip(self.segments, lines, strict=True)
        ]
        return pd.DataFrame(rows, columns=["system", "segment", "text"])

    def summary(self) -> pd.DataFrame:
        """One row per system and reference: role, segments, empty segments, words, file."""
        import pandas as pd

        rows = [
            {
                "name": name,
                "role": role,
                "segments": len(lines),
                "empty": sum(1 for line in lines if not line),
                "words": sum(len(line.split()) for line in lines),
                "file": self.origins.get(name, ""),
            }
            for role, items in (("reference", self.references), ("system", self.systems))
            for name, lines in items.items()
        ]
        return pd.DataFrame(rows).set_index("name")


def split_names(text: str | Sequence[str] | None) -> list[str]:
    """Names from a comma-separated parameter (``"ref-a.de, ref-b.de"``) or a list."""
    if text is None:
        return []
    items = text.split(",") if isinstance(text, str) else list(text)
    return [item.strip() for item in items if item.strip()]


def detect_format(path: str | Path) -> str:
    """``text`` (text files), ``wmt`` (WMT tree or tarball), ``tsv``, or ``snapshots``.

    ``snapshots`` is a folder of dated snapshot folders (``YYYY-MM-DD/``).

    Raises:
        DataError: When the path does not exist or is a file of another kind.
    """
    path = Path(path)
    if not path.exists():
        raise DataError([Problem(str(path), "", "does not exist")])
    if path.is_dir() and is_snapshot_folder(path):
        return SNAPSHOTS
    return _mt_read.detect_format(path)


def read_mt_outputs(
    path: str | Path,
    *,
    format: str = "auto",
    references: str | Sequence[str] | None = None,
    testset: str | None = None,
    pair: str | None = None,
    keep_submission_ids: bool = False,
    snapshot: str = "latest",
) -> MTOutputs:
    """Read system outputs and their reference(s) from a folder, a WMT tarball or a TSV.

    Args:
        path: Folder of text files, WMT submissions folder or tarball, TSV file, or a folder
            of dated snapshots (``YYYY-MM-DD/``).
        format: ``auto``, ``text``, ``wmt``, ``tsv`` or ``snapshots``.
        references: Reference names, a list or comma-separated: file names in a text folder,
            file names in the WMT ``references/`` folder, ``system`` values in a TSV. Empty:
            ``ref*``-named files, WMT's ``<testset>-<src><tgt>-ref.<tgt>``, ``reference``.
        testset: WMT layout: the test set; empty: the only one there.
        pair: WMT layout: the language pair, e.g. ``en-de``; empty: the only one there.
        keep_submission_ids: WMT layout: keep ``.4900``-style submission ids in names.
        snapshot: ``snapshots`` layout: ``latest`` or the date to read (``YYYY-MM-DD``).

    Returns:
        The outputs, every system and reference with the same number of segments.

    Raises:
        DataError: Every problem found, one line each, naming the file.
        ValueError: For an unknown ``format``.
    """
    if format not in (*FORMATS, SNAPSHOTS):
        raise ValueError(f"format '{format}' is not one of {', '.join((*FORMATS, SNAPSHOTS))}")
    path = Path(path).expanduser()
    kind = detect_format(path) if format == "auto" else format
    if kind == SNAPSHOTS:
        date, inner = choose_snapshot(path, snapshot)
        outputs = read_mt_outputs(
            inner, references=references, testset=testset, pair=pair,
            keep_submission_ids=keep_submission_ids,
        )  # fmt: skip
        return dataclasses.replace(outputs, snapshot=date)
    if kind == TEXT and not path.is_dir():
        raise DataError(
            [Problem(str(path), "", "is not a folder", "format text reads a folder of files")]
        )
    if not path.exists():
        raise DataError([Problem(str(path), "", "does not exist")])
    refs = split_names(references)
    if kind == TEXT:
        found = _mt_read.read_text_folder(path, refs)
    elif kind == WMT:
        found = _mt_read.read_wmt(
            path, references=refs, testset=testset or None, pair=pair or None,
            keep_submission_ids=keep_submission_ids,
        )  # fmt: skip
    else:
        found = _mt_read.read_tsv(path, refs)
    _mt_read.check(found)
    if found.problems:
        raise DataError(found.problems)
    n = len(found.references[0][2])
    return MTOutputs(
        systems={name: tuple(lines) for name, _, lines in found.systems},
        references={name: tuple(lines) for name, _, lines in found.references},
        segments=tuple(found.segments if found.segments is not None else range(n)),
        format=kind,
        source=path,
        origins={name: origin for name, origin, _ in [*found.references, *found.systems]},
        testset=found.testset,
        pair=found.pair,
    )


def resolve_mt_input(path: str, channel: Path | None = None) -> Path:
    """The file or folder a notebook's data parameter names, inside a job or opened by hand.

    Inside a job the data is read in place from the input channel: an entry named like
    ``path`` in the channel's folder, else the channel's only file (a TSV or tarball), else
    the channel's folder itself (plain-text files or a WMT tree), links resolved (a local job's
    channel links to the user's files, which messages then name). Opened by hand, ``path`` is
    taken as it is or, when relative, from the project root (nearest ``pyproject.toml``).

    Args:
        path: A file or folder path (relative paths resolve against the project root).
        channel: The channel's folder (``ctx.channel(name)``), or None.

    Returns:
        The file or folder to read.

    Raises:
        DataError: When nothing is there, naming where it was looked for.
    """
    if channel is not None and channel.is_dir():
        # A local job's channel links to the user's files: resolved, every message about a
        # file names the user's path, not the job's mount point.
        inside = channel / Path(path).name
        if inside.exists():
            return inside.resolve()
        entries = [p for p in channel.iterdir() if not p.name.startswith(".")]
        if len(entries) == 1 and entries[0].is_file():
            return entries[0].resolve()
        return channel.resolve()
    given = Path(path).expanduser()
    candidates = [given] if given.is_absolute() else [_project_root() / given, Path.cwd() / given]
    for candidate in candidates:
        if candidate.exists():
            return candidate.resolve()
    tried = ", ".join(str(c) for c in candidates)
    raise DataError(
        [
            Problem(
                path,
                "",
                f"not found (looked at {tried})",
                "give a folder of text files, a WMT tarball or a TSV",
            )
        ]
    )


def _project_root() -> Path:
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file():
            return folder
    return here
