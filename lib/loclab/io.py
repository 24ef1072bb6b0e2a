"""Files loclab writes: atomically (write a temporary file, then rename), and JSON kept strict.

Every record, status file, report page and cache entry goes through :func:`atomic_path` (or
one of the helpers built on it), so a reader never sees half a file and a crash mid-write
leaves the previous version in place.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import os
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "atomic_path",
    "exclusive_lock",
    "json_object",
    "jsonable",
    "read_json",
    "source_fingerprint",
    "write_bytes",
    "write_json",
    "write_text",
]


@contextlib.contextmanager
def atomic_path(path: Path, *, mode: int | None = None) -> Iterator[Path]:
    """A temporary path beside ``path``; renamed onto ``path`` when the block succeeds.

    The temporary name is unique per process and call, so concurrent writers never share it.
    On an error (or an interrupt) the temporary file is removed and ``path`` is untouched.

    Args:
        path: The file to (re)place.
        mode: Permission bits of the result (e.g. ``0o644`` for a shared cache).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        yield tmp
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


@contextlib.contextmanager
def exclusive_lock(path: Path, *, wait: bool = False) -> Iterator[bool]:
    """Hold an exclusive lock on ``path`` for the block if no other process holds it.

    Yields True when the lock is held, False when another process has it (the block then
    decides what to do: refuse, skip, wait). With ``wait`` it waits for the lock instead
    (and yields True): updates of a shared file are serialised. The operating system
    releases the lock when the holder exits, however it exits (SIGKILL included), so a
    crash never leaves it stuck.
    """
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; return ``path``."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path


def write_text(path: Path, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically; return ``path``."""
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, data: Any, *, sort_keys: bool = True) -> Path:
    """Write strict JSON (see :func:`jsonable`) to ``path`` atomically; return ``path``."""
    text = json.dumps(
        jsonable(data), indent=2, sort_keys=sort_keys, allow_nan=False, ensure_ascii=False
    )
    return write_text(path, text + "\n")


def read_json(path: Path) -> Any:
    """The JSON value stored in ``path``.

    Raises:
        OSError: The file cannot be read.
        ValueError: It is not JSON (``json.JSONDecodeError`` or a decoding error).
    """
    return json.loads(path.read_text(encoding="utf-8"))


def jsonable(value: Any) -> Any:
    """Plain JSON types, recursively; NaN and infinities become None (strict JSON has neither).

    Converts numpy scalars and arrays, tuples and sets, paths, dataclasses, pydantic models and
    objects with ``to_dict()``.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, str | bool | type(None)):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "to_dict") and callable(value.to_dict):
        return jsonable(value.to_dict())
    if hasattr(value, "model_dump") and callable(value.model_dump):
        return jsonable(value.model_dump(mode="json"))
    # numpy without importing it: scalars have item(), arrays tolist().
    if hasattr(value, "tolist") and callable(value.tolist):
        return jsonable(value.tolist())
    if hasattr(value, "item") and callable(value.item):
        return jsonable(value.item())
    return str(value)


def json_object(value: Any) -> dict[str, Any]:
    """:func:`jsonable` of a mapping (or an object that converts to one), typed as a dict.

    Raises:
        TypeError: ``value`` does not convert to a JSON object.
    """
    found = jsonable(value)
    if not isinstance(found, dict):
        raise TypeError(f"expected a JSON object, got {type(found).__name__}")
    return found


def source_fingerprint(parts: tuple[str, ...], libraries: tuple[str, ...] = ()) -> str:
    """Hash of parts of loclab's own source and of the versions of some libraries.

    A stage's results are reused only while the code that computed them is unchanged: a job's
    (its task code), the analysis' (the statistics), the report's (its sections).

    Args:
        parts: Modules or packages of loclab, relative to the package (``stats``,
            ``runtime.py``...).
        libraries: Distributions whose installed version counts (``numpy``...).
    """
    from importlib import metadata

    package = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for part in parts:
        target = package / part
        files = sorted(target.rglob("*.py")) if target.is_dir() else [target]
        for f in files:
            if f.is_file():
                h.update(str(f.relative_to(package)).encode())
                h.update(f.read_bytes())
    for lib in libraries:
        try:
            h.update(f"{lib}=={metadata.version(lib)}".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{lib}==none".encode())
    return h.hexdigest()
