"""S3 staging: content-addressed uploads of code and data, downloads of job outputs.

Code and input data are uploaded under a digest of their content, once: a second job with the
same notebook, code and data reuses the objects already there. A bundle counts as present only
when its manifest exists, and the manifest is written last, so a half-finished upload is never
reused.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from loclab.aws.clients import Retry, is_not_found
from loclab.io import atomic_path

__all__ = [
    "BUCKET_NAME",
    "CODE_EXCLUDES",
    "S3Stager",
    "bundle_digest",
    "code_bundle",
    "folder_bundle",
    "join_uri",
    "parse_s3_uri",
]

#: Names never shipped with the code: caches, checkpoints of editors, build leftovers.
CODE_EXCLUDES = ("__pycache__", ".ipynb_checkpoints", ".pytest_cache", ".mypy_cache")
#: S3 bucket names: 3 to 63 lower-case letters, digits, dots and hyphens (no "..").
BUCKET_NAME = re.compile(r"(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
#: The code bundle is sent with every job; data belongs in channels.
MAX_CODE_BYTES = 50 * 1024 * 1024
_UPLOAD_THREADS = 8


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` → ``(bucket, key)``.

    Raises:
        ValueError: Not an ``s3://`` URI.
    """
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri!r}")
    bucket, _, key = uri[5:].partition("/")
    if not bucket:
        raise ValueError(f"no bucket in {uri!r}")
    return bucket, key


def join_uri(base: str, *parts: str) -> str:
    """Join S3 URI parts with single slashes."""
    out = base.rstrip("/")
    for part in parts:
        part = part.strip("/")
        if part:
            out += "/" + part
    return out


def folder_bundle(source: Path, *, excludes: Iterable[str] = ()) -> dict[str, Path]:
    """Files of a channel: a folder's files by relative path, or one file by its name.

    Symbolic links are followed (local channels are often links to shared data).
    """
    skip = set(excludes)
    if source.is_file():
        return {source.name: source}
    files: dict[str, Path] = {}
    for folder, dirs, names in os.walk(source, followlinks=True):
        dirs[:] = sorted(d for d in dirs if d not in skip and not d.startswith("."))
        for name in sorted(names):
            if name in skip or name.startswith(".") or name.endswith((".pyc", ".pyo")):
                continue
            path = Path(folder) / name
            files[path.relative_to(source).as_posix()] = path
    return files


def code_bundle(notebook: Path, project_root: Path, code_dirs: Iterable[str]) -> dict[str, Path]:
    """The ``code`` channel: the notebook at its top, then each code folder by its own path.

    Args:
        notebook: The template notebook.
        project_root: Folder the code folders are relative to.
        code_dirs: Project folders shipped with the job (``lib`` holds the project's packages);
            missing folders are skipped.

    Raises:
        ValueError: The bundle is larger than ``MAX_CODE_BYTES``.
    """
    files = {notebook.name: notebook}
    for rel in code_dirs:
        folder = project_root / rel
        if not folder.is_dir():
            continue
        for name, path in folder_bundle(folder, excludes=CODE_EXCLUDES).items():
            if ".egg-info" in name:
                continue
            files[f"{Path(rel).as_posix().strip('/')}/{name}"] = path
    size = sum(p.stat().st_size for p in files.values())
    if size > MAX_CODE_BYTES:
        raise ValueError(
            f"the code sent with every job is {size / 1e6:.0f} MB (limit "
            f"{MAX_CODE_BYTES / 1e6:.0f} MB); move data out of {', '.join(code_dirs)} and into "
            "a channel"
        )
    return files


def bundle_digest(files: Mapping[str, Path], *, content: bool = True) -> str:
    """Digest of a bundle: names and bytes (``content``), or names, sizes and times (data).

    Large data is identified by size and modification time instead of its bytes, as loclab's
    job keys do: hashing gigabytes before every launch would cost more than it saves.
    """
    h = hashlib.sha256()
    for name in sorted(files):
        path = files[name]
        h.update(name.encode() + b"\0")
        if content:
            h.update(hashlib.sha256(path.read_bytes()).digest())
        else:
            st = path.stat()
            h.update(f"{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


class S3Stager:
    """Uploads bundles and downloads job outputs through one S3 client.

    Args:
        s3: A boto3 S3 client.
        retry: Backoff for throttled calls (S3 answers ``SlowDown``).
    """

    def __init__(self, s3: Any, retry: Retry | None = None) -> None:
        self.s3 = s3
        self.retry = retry or Retry()

    def exists(self, uri: str) -> bool:
        """True when the object exists."""
        bucket, key = parse_s3_uri(uri)
        try:
            self.retry.call(self.s3.head_object, Bucket=bucket, Key=key)
        except Exception as err:
            if is_not_found(err):
                return False
            raise
        return True

    def upload_bundle(self, files: Mapping[str, Path], dest: str, manifest: str) -> bool:
        """Upload ``files`` under prefix ``dest`` unless ``manifest`` says they are there.

        Returns:
            True when files were uploaded, False when the bundle was already present.
        """
        if self.exists(manifest):
            return False
        bucket, prefix = parse_s3_uri(dest)

        def put(item: tuple[str, Path]) -> None:
            name, path = item
            key = f"{prefix.rstrip('/')}/{name}" if prefix else name
            # upload_file switches to multipart uploads for large files.
            self.retry.call(self.s3.upload_file, str(path), bucket, key)

        with ThreadPoolExecutor(max_workers=_UPLOAD_THREADS) as pool:
            list(pool.map(put, sorted(files.items())))
        self.put_text(
            manifest,
            json.dumps(
                {"prefix": dest, "files": {n: p.stat().st_size for n, p in files.items()}},
                indent=1,
                sort_keys=True,
            ),
        )
        return True

    def put_text(self, uri: str, text: str) -> None:
        """Write a small text object."""
        bucket, key = parse_s3_uri(uri)
        self.retry.call(self.s3.put_object, Bucket=bucket, Key=key, Body=text.encode())

    def download(self, uri: str, dest: Path) -> bool:
        """Download one object to ``dest`` (atomically); False when it does not exist."""
        bucket, key = parse_s3_uri(uri)
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            with atomic_path(dest) as tmp:
                self.retry.call(self.s3.download_file, bucket, key, str(tmp))
        except Exception as err:
            if is_not_found(err):
                return False
            raise
        return True

    def get_if_changed(self, uri: str, etag: str | None) -> tuple[bytes | None, str | None]:
        """The object's bytes unless its ETag is still ``etag``.

        Returns:
            ``(body, etag)``; ``(None, etag)`` when unchanged or absent (the etag is then the
            one given).
        """
        bucket, key = parse_s3_uri(uri)
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if etag:
            kwargs["IfNoneMatch"] = etag
        try:
            response = self.retry.call(self.s3.get_object, **kwargs)
        except Exception as err:
            status = getattr(err, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status == 304 or is_not_found(err):
                return None, etag
            raise
        return response["Body"].read(), response.get("ETag")

    def list_keys(self, uri: str) -> list[str]:
        """Keys under a prefix, relative to it."""
        bucket, prefix = parse_s3_uri(uri)
        prefix = prefix.rstrip("/") + "/" if prefix else ""
        keys: list[str] = []
        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            keys.extend(obj["Key"][len(prefix) :] for obj in page.get("Contents", []))
        return keys
