"""Remote input channels fetched once into the state cache (``<state>/cache/channels/``).

A channel may be a URL (:mod:`loclab.spec._channels`): an ``https://`` file pinned by its
SHA-256, an ``s3://`` object or an ``s3://`` prefix (a folder). :class:`ChannelFetcher` fetches
it before anything runs, and jobs mount the local copy like any channel:

* a pinned file is kept under its hash (``sha256-<hex>/<name>``): once there, it is used
  without asking the network again; bytes that do not match the pin are refused and nothing is
  kept;
* an unpinned ``s3://`` object or prefix is kept under its URL and its ETags (one listing or
  HEAD per run), so a changed object is fetched again and an unchanged one is not.

Every failure is a :class:`~loclab.exceptions.DataError` with one line naming the URL and the
fix; :func:`loclab.spec.load_experiment` adds the spec field.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from loclab.aws import error_code, is_not_found, parse_s3_uri
from loclab.aws.clients import error_message
from loclab.exceptions import DataError, Problem
from loclab.spec import RemoteSource

__all__ = ["ChannelFetcher"]

_CHUNK = 1 << 20


class ChannelFetcher:
    """Fetches remote channels into a cache folder, each at most once.

    Args:
        cache: The cache folder (``Workspace.state.cache / "channels"``).
        s3: A boto3 S3 client; None: one made on first use from the environment (the standard
            AWS variables, profiles, ``AWS_ENDPOINT_URL``).
        say: Where to print a line per download (nothing is printed for a cached copy).
        timeout_s: Socket timeout of an ``https://`` download.
    """

    def __init__(
        self,
        cache: Path,
        *,
        s3: Any | None = None,
        say: Callable[[str], None] | None = None,
        timeout_s: float = 60.0,
    ) -> None:
        self.cache = cache
        self._s3 = s3
        self.say = say or (lambda _line: None)
        self.timeout_s = timeout_s
        #: Objects or files actually transferred by this fetcher (tests and messages count them).
        self.downloads = 0

    def __call__(self, field: str, source: RemoteSource) -> Path:
        """The local copy of ``source``, fetched when the cache lacks it.

        Args:
            field: Where the URL was written (``channels.wmt``, ``--channel wmt``).
            source: The URL and its pin.

        Raises:
            DataError: It cannot be fetched, or its bytes do not match the pin.
        """
        try:
            return self._fetch(field, source)
        except OSError as err:
            raise _error(
                source,
                f"cannot be kept in {self.cache} ({err.strerror or err})",
                "give a writable state folder (--state-dir)",
            ) from None

    def _fetch(self, field: str, source: RemoteSource) -> Path:
        if source.sha256 is not None:
            target = self.cache / f"sha256-{source.sha256}" / source.name
            if target.is_file():
                return target
            self.say(f"fetching {field}: {source.url}")
            if source.scheme == "s3":
                self._s3_object(source, target)
            else:
                self._https(source, target)
            return target
        if source.is_prefix:
            return self._s3_prefix(field, source)
        etag = self._head(source)
        target = self.cache / f"s3-{_short(source.url)}-{_short(etag)}" / source.name
        if not target.is_file():
            self.say(f"fetching {field}: {source.url}")
            self._s3_object(source, target)
        return target

    # https -----------------------------------------------------------------------------------

    def _https(self, source: RemoteSource, target: Path) -> None:
        request = urllib.request.Request(source.url, headers={"User-Agent": "loclab"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                self._write_checked(source, target, lambda: response.read(_CHUNK))
        except urllib.error.HTTPError as err:
            raise _error(source, f"was refused by the server ({err.code} {err.reason})") from None
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            raise _error(source, f"cannot be downloaded ({reason})") from None

    # s3 --------------------------------------------------------------------------------------

    @property
    def s3(self) -> Any:
        """The S3 client (made on first use)."""
        if self._s3 is None:
            import boto3
            from botocore.config import Config

            config = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=10)
            self._s3 = boto3.session.Session().client("s3", config=config)
        return self._s3

    def _call(self, source: RemoteSource, fn: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return fn(**kwargs)
        except Exception as err:
            raise _s3_error(source, err) from None

    def _head(self, source: RemoteSource) -> str:
        bucket, key = parse_s3_uri(source.url)
        head = self._call(source, self.s3.head_object, Bucket=bucket, Key=key)
        return str(head.get("ETag", "")).strip('"')

    def _s3_object(self, source: RemoteSource, target: Path) -> None:
        bucket, key = parse_s3_uri(source.url)
        answer = self._call(source, self.s3.get_object, Bucket=bucket, Key=key)
        body = answer["Body"]
        self._write_checked(source, target, lambda: body.read(_CHUNK))

    def _s3_prefix(self, field: str, source: RemoteSource) -> Path:
        bucket, prefix = parse_s3_uri(source.url)
        prefix = prefix.rstrip("/") + "/" if prefix else ""
        objects: list[tuple[str, str]] = []
        paginator = self.s3.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
                objects += [
                    (obj["Key"][len(prefix) :], str(obj.get("ETag", "")).strip('"'))
                    for obj in page.get("Contents", [])
                    if not obj["Key"].endswith("/")
                ]
        except Exception as err:
            raise _s3_error(source, err) from None
        if not objects:
            raise _error(
                source,
                "holds no objects",
                "check the prefix (aws s3 ls URL); for one object, drop the trailing slash",
            )
        listing = "\n".join(f"{key}\t{etag}" for key, etag in sorted(objects))
        folder = self.cache / f"s3-{_short(source.url)}-{_short(listing)}" / source.name
        if folder.is_dir():
            return folder
        self.say(f"fetching {field}: {source.url} ({len(objects)} objects)")
        with tempfile.TemporaryDirectory(prefix="loclab-fetch-") as scratch:
            partial = Path(scratch) / folder.name
            for key, _ in objects:
                if ".." in key.split("/"):
                    raise _error(source, f"holds a key with '..' ({prefix + key})", "rename it")
                path = partial.joinpath(*key.split("/"))
                path.parent.mkdir(parents=True, exist_ok=True)
                answer = self._call(source, self.s3.get_object, Bucket=bucket, Key=prefix + key)
                with path.open("wb") as fh:
                    shutil.copyfileobj(answer["Body"], fh, _CHUNK)
                self.downloads += 1
            folder.parent.mkdir(parents=True, exist_ok=True)
            landing = folder.with_name(f".{folder.name}.partial-{os.getpid()}")
            shutil.rmtree(landing, ignore_errors=True)
            shutil.move(partial, landing)
            landing.replace(folder)
        return folder

    # shared ----------------------------------------------------------------------------------

    def _write_checked(
        self, source: RemoteSource, target: Path, read: Callable[[], bytes]
    ) -> None:
        """Stream into a temporary file, check the pin, then move it into the cache.

        Nothing is written under the state folder unless the bytes are right.
        """
        digest = hashlib.sha256()
        with tempfile.TemporaryDirectory(prefix="loclab-fetch-") as scratch:
            partial = Path(scratch) / target.name
            with partial.open("wb") as fh:
                while chunk := read():
                    digest.update(chunk)
                    fh.write(chunk)
            self.downloads += 1
            got = digest.hexdigest()
            if source.sha256 is not None and got != source.sha256:
                raise _error(
                    source,
                    f"has sha256 {got}, not the pinned {source.sha256} (nothing was kept)",
                    "check the URL; if the file changed on purpose, pin the new sha256",
                )
            target.parent.mkdir(parents=True, exist_ok=True)
            landing = target.with_name(f".{target.name}.partial-{os.getpid()}")
            shutil.move(partial, landing)  # a copy when the cache is on another disk
            landing.replace(target)


def _short(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _error(source: RemoteSource, message: str, fix: str = "") -> DataError:
    fix = fix or "check the URL, or download the file yourself and give its path instead"
    return DataError([Problem("", "", f"{source.url} {message}", fix)])


def _s3_error(source: RemoteSource, err: BaseException) -> DataError:
    code = error_code(err)
    if code in ("NoSuchBucket",):
        return _error(source, "names a bucket that does not exist", "check the bucket name")
    if is_not_found(err):
        return _error(source, "does not exist", "check the key (aws s3 ls URL)")
    if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
        return _error(
            source,
            f"cannot be read with these credentials ({code})",
            "use credentials allowed s3:GetObject and s3:ListBucket on it (AWS_PROFILE...)",
        )
    name = type(err).__name__
    if name in ("NoCredentialsError", "PartialCredentialsError"):
        return _error(
            source,
            "cannot be read: no AWS credentials found",
            "set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
        )
    detail = error_message(err).splitlines()[0] if str(err) else name
    return _error(source, f"cannot be read ({code or name}: {detail})")
