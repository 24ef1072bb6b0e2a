"""Input channels that live elsewhere: ``s3://`` objects or prefixes, ``https://`` files.

A channel's value is a local path, or a URL the run fetches once into the state cache (see
:mod:`loclab.run.channels`); this module only reads and checks what is written:

* ``https://host/path/file.tgz#sha256=<64 hex digits>``: a file pinned by its SHA-256 (the
  form pip uses for hashes). A spec may also write ``{url: https://..., sha256: ...}``.
  ``http://`` is accepted on the same terms: the pin, not the transport, vouches for the bytes.
* ``s3://bucket/key``: one object; ``s3://bucket/prefix/`` (trailing slash): every object
  under the prefix, as a folder. A ``#sha256=`` pin is optional (an object only).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from loclab.exceptions import DataError, Problem
from loclab.params.validate import did_you_mean

__all__ = [
    "Channels",
    "Fetch",
    "RemoteSource",
    "is_remote",
    "normalize_channel",
    "parse_remote",
    "resolve_channels",
]

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SCHEMES = ("s3://", "https://", "http://")


@dataclass(frozen=True)
class RemoteSource:
    """A channel fetched into the state cache.

    Attributes:
        url: The URL without its ``#sha256=`` fragment.
        sha256: The pinned SHA-256 (lower-case hex), or None.
    """

    url: str
    sha256: str | None = None

    @property
    def scheme(self) -> str:
        """``s3``, ``https`` or ``http``."""
        return self.url.split("://", 1)[0].lower()

    @property
    def is_prefix(self) -> bool:
        """An ``s3://`` prefix (a folder of objects), written with a trailing slash."""
        return self.scheme == "s3" and (self.url.endswith("/") or self.url.count("/") == 2)

    @property
    def name(self) -> str:
        """The file (or folder) name the fetched copy gets: the URL's last path segment."""
        path = unquote(urlsplit(self.url).path).rstrip("/")
        if self.scheme == "s3":
            path = self.url[len("s3://") :].rstrip("/")
        return path.rsplit("/", 1)[-1] or "data"

    def __str__(self) -> str:
        return f"{self.url}#sha256={self.sha256}" if self.sha256 else self.url


def is_remote(value: str) -> bool:
    """True when a channel value is a URL (``s3://``, ``https://``, ``http://``)."""
    return value.strip().lower().startswith(_SCHEMES)


def parse_remote(value: str) -> RemoteSource:
    """The remote source a channel value names.

    Raises:
        ValueError: The URL is malformed, has no host or bucket, an ``https://`` file is not
            pinned, or the pin is not 64 hex digits; the message ends with the fix.
    """
    text = value.strip()
    url, _, fragment = text.partition("#")
    sha: str | None = None
    if fragment:
        key, sep, digest = fragment.partition("=")
        if key.lower() != "sha256" or not sep:
            raise ValueError(
                f"'{text}': the only fragment understood is #sha256=<64 hex digits>; "
                "remove it or pin the file with #sha256=..."
            )
        sha = digest.strip().lower()
        if not _SHA256.match(sha):
            raise ValueError(
                f"'{text}': sha256 must be 64 hex digits, got {len(sha)} characters; "
                "compute it with sha256sum FILE"
            )
    source = RemoteSource(url, sha)
    parts = urlsplit(url)
    if not parts.netloc:
        raise ValueError(f"'{text}' names no host or bucket; write {source.scheme}://HOST/PATH")
    if source.scheme in ("https", "http"):
        if not parts.path.strip("/"):
            raise ValueError(f"'{text}' names no file; give the URL of the file to fetch")
        if sha is None:
            raise ValueError(
                f"'{text}' is not pinned: a downloaded file must be checked against its "
                "SHA-256; append #sha256=<sha256sum of the file> to the URL"
            )
    elif sha is not None and source.is_prefix:
        raise ValueError(
            f"'{text}': a sha256 pins one file, not an s3:// prefix; drop #sha256=... or "
            "name one object"
        )
    return source


def normalize_channel(value: Any) -> Any:
    """A channel written as ``{url: ..., sha256: ...}`` in its one-string form.

    Other values are returned as they are (pydantic then checks that they are strings).

    Raises:
        ValueError: A mapping with other keys, or without ``url``.
    """
    if not isinstance(value, Mapping):
        return value
    unknown = sorted(set(value) - {"url", "sha256"})
    if unknown or "url" not in value:
        raise ValueError(
            "a channel written as a mapping has keys url and sha256 only "
            f"(got {', '.join(map(str, value)) or 'none'}); e.g. "
            "{url: https://host/data.tgz, sha256: <64 hex digits>}"
        )
    url = str(value["url"]).strip()
    sha = value.get("sha256")
    return f"{url}#sha256={str(sha).strip()}" if sha else url


#: Fetches a remote channel into the state cache: ``(field, source) -> local path``. It raises
#: :class:`~loclab.exceptions.DataError` with one line naming the field and the fix.
Fetch = Callable[[str, RemoteSource], Path]


@dataclass
class Channels:
    """The channels of an experiment, resolved.

    Attributes:
        paths: Channel name to the local file or folder it mounts (fetched ones included).
        remote: Channel name to its remote source (fetched or not).
        pending: Names of remote channels not fetched (``loclab validate``): their files are
            not checked.
        problems: Everything wrong, one problem per line.
    """

    paths: dict[str, Path] = field(default_factory=dict)
    remote: dict[str, RemoteSource] = field(default_factory=dict)
    pending: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def resolve_channels(
    written: Mapping[str, str],
    pointed: Mapping[str, str | Path],
    *,
    root: Path,
    shown: str,
    fetch: Fetch | None,
) -> Channels:
    """Every channel's local path: the spec's, or ``--channel``'s; URLs fetched by ``fetch``.

    Args:
        written: The spec's channels as written.
        pointed: ``--channel NAME=PATH`` values (local paths start at the current folder).
        root: The project root the spec's relative paths start at.
        shown: The spec as shown in messages.
        fetch: Fetches a remote channel; None: remote channels are checked for form only.
    """
    out = Channels()
    for name in pointed:
        if name not in written:
            close = did_you_mean(name, list(written))
            fix = (
                f"did you mean '{close}'?"
                if close
                else f"channels of this spec: {', '.join(written) or 'none'}"
            )
            out.problems.append(
                Problem(shown, f"--channel {name}", "the spec has no such channel", fix)
            )
    for name, value in written.items():
        given = name in pointed
        where = f"--channel {name}" if given else f"channels.{name}"
        text = str(pointed[name]) if given else value
        if is_remote(text):
            try:
                source = parse_remote(text)
            except ValueError as err:
                out.problems.append(Problem(shown, where, str(err)))
                continue
            out.remote[name] = source
            if fetch is None:
                out.pending.append(name)
                continue
            try:
                out.paths[name] = fetch(where, source)
            except DataError as err:
                out.problems.extend(Problem(shown, where, p.message, p.fix) for p in err.problems)
            continue
        path = Path(text).expanduser()
        path = path.resolve() if given else (root / path).resolve()
        if not path.exists():
            fix = (
                "give a file or folder that exists"
                if given
                else f"point the channel at your copy with --channel {name}=PATH, or edit "
                f"channels.{name} (relative paths start at the project root)"
            )
            out.problems.append(
                Problem(shown, where, f"'{text}' does not exist (resolved to {path})", fix)
            )
        out.paths[name] = path
    return out
