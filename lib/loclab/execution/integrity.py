"""What a completed job left behind, recorded when it ends and checked before it is reused.

A completed job's ``status.json`` holds a manifest of its outputs (``output/`` and ``model/``:
each file's size and SHA-256). A job is reused only while every file of the manifest is still
there with the same size and hash; otherwise it runs again and the user is told which file
changed. Files over :data:`HASH_LIMIT` bytes are checked by size and modification time only
(hashing a large checkpoint on every re-run would cost more than it protects).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

__all__ = ["HASH_LIMIT", "damage", "manifest"]

#: Files up to this size are hashed; larger ones are checked by size and modification time.
HASH_LIMIT = 64 * 1024 * 1024
_FOLDERS = ("output", "model")


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _entry(path: Path) -> dict[str, Any]:
    stat = path.stat()
    if stat.st_size > HASH_LIMIT:
        return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    return {"size": stat.st_size, "sha256": _digest(path)}


def manifest(run_dir: Path) -> dict[str, dict[str, Any]]:
    """Every output file of a job (relative path to size and hash), for its status."""
    found: dict[str, dict[str, Any]] = {}
    for folder in _FOLDERS:
        base = run_dir / folder
        if not base.is_dir():
            continue
        for path in sorted(p for p in base.rglob("*") if p.is_file()):
            found[str(path.relative_to(run_dir))] = _entry(path)
    return found


def damage(run_dir: Path, recorded: dict[str, dict[str, Any]] | None) -> str | None:
    """Why a completed job's outputs cannot be trusted any more, or None when they are intact.

    Args:
        run_dir: The job's run folder.
        recorded: The manifest stored when it completed (None for jobs from before manifests:
            trusted as they are).
    """
    if not recorded:
        return None
    for name, entry in recorded.items():
        path = run_dir / name
        if not path.is_file():
            return f"{name} is missing"
        stat = path.stat()
        if stat.st_size != entry.get("size"):
            return f"{name} changed size ({entry.get('size')} -> {stat.st_size} bytes)"
        if "sha256" in entry:
            if _digest(path) != entry["sha256"]:
                return f"{name} changed (its SHA-256 differs)"
        elif entry.get("mtime_ns") not in (None, stat.st_mtime_ns):
            return f"{name} was modified"
    return None
