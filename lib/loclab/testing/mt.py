"""MT outputs laid out as people have them, written from texts in memory (for tests).

:func:`write_text_folder` writes one line-aligned file per system plus the reference files (as
the sacrebleu command line takes them); :func:`write_wmt_tarball` writes the WMT submissions
layout (``wmt17-submitted-data/txt/...``) into a ``.tgz``, or a folder with ``folder=True``.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["read_wmt17_tsv", "write_text_folder", "write_wmt_tarball"]


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
