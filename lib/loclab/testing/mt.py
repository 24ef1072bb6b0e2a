"""MT outputs laid out as people have them, written from texts in memory (for tests).

:func:`write_text_folder` writes one line-aligned file per system plus the reference files (as
the sacrebleu command line takes them); :func:`write_wmt_tarball` writes the WMT submissions
layout (``wmt17-submitted-data/txt/...``) into a ``.tgz``, or a folder with ``folder=True``;
:func:`write_snapshot` writes one dated snapshot of a monitoring folder, and :func:`degrade`
makes an engine worse.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = [
    "degrade",
    "read_wmt17_tsv",
    "write_snapshot",
    "write_text_folder",
    "write_wmt_tarball",
]


def read_wmt17_tsv(path: Path, *, segments: int | None = None) -> dict[str, list[str]]:
    """System name to its lines (``reference`` included) from a TSV of system outputs.

    Args:
        path: A TSV with columns ``system``, ``segment``, ``text`` (e.g. the shared WMT17 file).
        segments: Keep only the first this many segments.
    """
    import csv

    import pandas as pd

    frame = pd.read_csv(path, sep="\t", quoting=csv.QUOTE_MINIMAL, keep_default_na=False)
    texts = {
        str(name): rows.sort_values("segment")["text"].tolist()
        for name, rows in frame.groupby("system", sort=False)
    }
    return {name: lines[:segments] for name, lines in texts.items()}


def _text(lines: Sequence[str]) -> bytes:
    return "".join(f"{line}\n" for line in lines).encode("utf-8")


def write_text_folder(
    folder: Path,
    systems: Mapping[str, Sequence[str]],
    references: Mapping[str, Sequence[str]],
    *,
    suffix: str = ".de",
) -> Path:
    """Write ``<system><suffix>`` per system and each reference under its own file name."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, lines in systems.items():
        (folder / f"{name}{suffix}").write_bytes(_text(lines))
    for name, lines in references.items():
        (folder / name).write_bytes(_text(lines))
    return folder


def write_wmt_tarball(
    path: Path,
    pairs: Mapping[str, tuple[Mapping[str, Sequence[str]], Sequence[str]]],
    *,
    testset: str = "newstest2017",
    root: str = "wmt17-submitted-data",
    folder: bool = False,
) -> Path:
    """Write the WMT submissions layout for one or more language pairs.

    Args:
        path: The ``.tgz`` to write (or the folder, with ``folder=True``).
        pairs: Pair (``en-de``) to ``(systems, reference)``; system names carry their
            submission id as WMT's do (``LIUM-NMT.4900``).
        testset: Test set name in file names.
        root: Top folder inside the archive.
        folder: Write a folder tree instead of a tarball.

    Returns:
        ``path``.
    """
    files: dict[str, bytes] = {}
    for pair, (systems, reference) in pairs.items():
        src, tgt = pair.split("-")
        files[f"{root}/txt/references/{testset}-{src}{tgt}-ref.{tgt}"] = _text(reference)
        files[f"{root}/sgm/references/{testset}-{src}{tgt}-ref.{tgt}.sgm"] = b"<refset/>\n"
        for name, lines in systems.items():
            base = f"system-outputs/{testset}/{pair}/{testset}.{name}.{pair}"
            files[f"{root}/txt/{base}"] = _text(lines)
            files[f"{root}/sgm/{base}.sgm"] = b"<tstset/>\n"
    if folder:
        for name, data in files.items():
            target = path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def write_snapshot(
    folder: Path,
    date: str,
    texts: Mapping[str, Sequence[str]],
    *,
    name: str = "outputs.tsv",
) -> Path:
    """Write one dated snapshot (``<folder>/<date>/<name>``) in the WMT17 TSV's format.

    Args:
        folder: The folder of snapshots.
        date: ``YYYY-MM-DD``.
        texts: System name to its lines; ``reference`` holds the reference.
        name: The TSV's file name (``.tsv.gz`` writes it gzipped).

    Returns:
        The TSV written.
    """
    import csv

    import pandas as pd

    rows = [
        (system, segment, text)
        for system, lines in texts.items()
        for segment, text in enumerate(lines)
    ]
    path = folder / date / name
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(rows, columns=["system", "segment", "text"])
    frame.to_csv(path, sep="\t", index=False, quoting=csv.QUOTE_MINIMAL)
    return path


def degrade(
    lines: Sequence[str], *, how: str = "drop_words", fraction: float = 0.6, seed: int = 0
) -> list[str]:
    """An engine's outputs made worse on a random ``fraction`` of the segments.

    Args:
        lines: The outputs.
        how: ``drop_words`` (every second word goes), ``truncate`` (the second half of the
            sentence goes) or ``shuffle`` (the words are put in random order).
        fraction: Share of the segments changed.
        seed: Seed of which segments (and orders) change.

    Returns:
        The degraded outputs (the others unchanged).
    """
    import random

    rng = random.Random(seed)
    out = []
    for line in lines:
        words = line.split()
        if rng.random() >= fraction or len(words) < 2:
            out.append(line)
        elif how == "drop_words":
            out.append(" ".join(words[::2]))
        elif how == "truncate":
            out.append(" ".join(words[: max(1, len(words) // 2)]))
        elif how == "shuffle":
            rng.shuffle(words)
            out.append(" ".join(words))
        else:
            raise ValueError(f"how must be drop_words, truncate or shuffle, not {how!r}")
    return out
