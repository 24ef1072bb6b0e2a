"""Secret scrubbing: what leaves loclab (reports, notebooks logged to MLflow) carries no secrets.

Two complementary rules, both replacing the secret with ``[REDACTED]``:

* **Patterns** in free text: AWS access key ids and session tokens, 40-character secret keys
  next to the word "secret", ``password=``/``passwd``/``pwd`` values, ``Authorization:`` headers
  and bearer tokens, private-key blocks, passwords in URLs (``scheme://user:pass@host``), and
  assignments to names that say they hold a secret (``api_key=``, ``AWS_SESSION_TOKEN:``...).
* **Names** in structured data (:func:`scrub_mapping`): the value of a key that names a secret
  (``password``, ``db_token``, ``aws_secret_access_key``, ``api_key``...) is replaced whatever it
  looks like. More words come from ``loclab.yaml`` (``secrets: {names: [...]}``).
* **Values** everywhere: a value known to be secret (a parameter whose name says secret, a
  ``${VAR}`` expanded into a spec, a webhook URL) is registered with :func:`register_secrets`,
  and :func:`scrub` replaces it wherever it appears, in any text, whatever surrounds it.

What cannot be recognised: a secret that matches no pattern and was never registered (a
value read by a notebook from an arbitrary environment variable and printed, say), and
registered values shorter than :data:`MIN_SECRET_LENGTH` characters (they would redact ordinary
words). ``docs/security.md`` lists what is and is not caught.

Scrubbing is a last line of defence: it errs towards redacting a little too much, and it is
applied to text that may also be HTML-escaped (quotes written as ``&quot;``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from loclab.io import write_text

__all__ = [
    "MIN_SECRET_LENGTH",
    "REDACTED",
    "SECRET_PARAMS_ENV",
    "ScrubbedStream",
    "add_secret_words",
    "forget_secrets",
    "is_secret_name",
    "known_secrets",
    "parse_secret_params",
    "register_secrets",
    "scrub",
    "scrub_files",
    "scrub_mapping",
    "scrub_notebook",
    "scrub_notebook_file",
    "scrub_values",
]

REDACTED = "[REDACTED]"
#: Variable carrying a job's secret parameters (JSON ``{name: value}``) from the launcher to the
#: job and its kernel, so they are never written in ``hyperparameters.json``.
SECRET_PARAMS_ENV = "LOCLAB_SECRET_PARAMS"
#: Registered values shorter than this are not redacted by value (they would hit ordinary text).
MIN_SECRET_LENGTH = 4

# Quotes as they appear in plain text and once HTML-escaped.
_Q = r"(?:\"|'|&quot;|&#x27;|&#39;|&#34;)"
# Names that say a value is a secret. A keyword must end the name or be followed by a
# separator, so "tokenize" and "max_tokens" are left alone.
_SECRET_WORDS = (
    r"secret|token|password|passwd|pwd|passphrase|api[_-]?key|apikey|access[_-]?key"
    r"|private[_-]?key|credentials?|client[_-]?secret"
)
# Words that mark a *name* as secret (parameters, keys): the above, plus "key" on its own
# (``api_key``, ``hf_key``, ``key``), plus the project's own (:func:`add_secret_words`).
_NAME_WORDS = [_SECRET_WORDS, "key"]
_SECRET_NAME = re.compile(rf"(?i)(?:^|[_\-.\s])(?:{'|'.join(_NAME_WORDS)})(?:$|[_\-.\s])")
_KNOWN: set[str] = set()

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # A private key block, or what is left of one when the text was cut.
    (
        re.compile(
            r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
            r"(?:-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|$)"
        ),
        REDACTED,
    ),
    # Passwords in URLs: scheme://user:password@host (the user name stays).
    (
        re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^\s/:@<>\"']+):([^\s/@<>\"']+)@"),
        rf"\1:{REDACTED}@",
    ),
    # Authorization headers and bearer tokens.
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9\-._~+/]{6,}=*"), rf"\1 {REDACTED}"),
    (
        re.compile(
            rf"(?i)\b(authorization{_Q}?\s*[:=]\s*{_Q}?)(?!bearer\b)"
            r"(?:(basic|digest|token)\s+)?[^\s\"'<>&]+"
        ),
        rf"\1\2 {REDACTED}",
    ),
    # AWS access key ids (long-term AKIA, temporary ASIA, and the other IAM unique-id prefixes).
    (
        re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA)[A-Z0-9]{16}\b"),
        REDACTED,
    ),
    # AWS session tokens by their fixed prefixes, wherever they appear.
    (re.compile(r"\b(?:FwoGZXIvYXdz|IQoJb3JpZ2lu)[A-Za-z0-9/+=]{16,}"), REDACTED),
    # Well-known token formats (GitHub, Slack, Hugging Face, OpenAI-style keys).
    (re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,}\b"), REDACTED),
    (re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"), REDACTED),
    (re.compile(r"\bhf_[A-Za-z0-9]{30,}\b"), REDACTED),
    (re.compile(r"\bsk-[A-Za-z0-9_\-]{20,}"), REDACTED),
    # A 40-character secret key after the word "secret" (any separator).
    (
        re.compile(r"(?i)(secret[\w\s\-]{0,20}?\W{1,6})([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"),
        rf"\1{REDACTED}",
    ),
    # name = "quoted value" and name: value, for names that say they hold a secret.
    (
        re.compile(
            rf"(?i)(\b[\w.\-]*?(?:{_SECRET_WORDS})(?:[_\-.][\w.\-]*)?{_Q}?\s*(?:=>|=|:)\s*)"
            rf"({_Q})(?!\s*\[REDACTED\])(.*?)\2"
        ),
        rf"\1\2{REDACTED}\2",
    ),
    (
        re.compile(
            rf"(?i)(\b[\w.\-]*?(?:{_SECRET_WORDS})(?:[_\-.][\w.\-]*)?\s*(?:=>|=|:)[ \t]*)"
            r"(?![\"'&\[\s{(])([^\s\"'<>,;&}\])]+)"
        ),
        rf"\1{REDACTED}",
    ),
)


def scrub(text: str) -> str:
    """Replace every registered secret value and every secret the patterns find in ``text``."""
    if not text:
        return text
    text = scrub_values(text)
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


def scrub_values(text: str) -> str:
    """Replace the registered secret values (as written, JSON- or HTML-escaped) in ``text``.

    Only the values: structured text (a record, a table) keeps its shape.
    """
    if not text or not _KNOWN:
        return text
    for value in sorted(_KNOWN, key=len, reverse=True):
        for form in _forms(value):
            if form in text:
                text = text.replace(form, REDACTED)
    return text


def _forms(value: str) -> list[str]:
    """How ``value`` may appear in text: as is, escaped for JSON, for HTML, for URLs."""
    import html
    from urllib.parse import quote

    forms = [
        value,
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        html.escape(value),
        html.escape(value, quote=False),
        quote(value, safe=""),
    ]
    return [f for f in dict.fromkeys(forms) if len(f) >= MIN_SECRET_LENGTH]


class ScrubbedStream:
    """A text stream that scrubs every complete line before passing it on.

    Args:
        stream: The stream written to.
        clean: What is applied to each chunk of lines (:func:`scrub` by default; a command's
            ordinary output uses :func:`scrub_values`, the known values only).
    """

    def __init__(self, stream: Any, clean: Callable[[str], str] | None = None) -> None:
        self._stream = stream
        self._clean = clean or scrub
        self._partial = ""

    def write(self, text: str) -> int:  # noqa: D102
        self._partial += text
        if "\n" in self._partial:
            lines, _, self._partial = self._partial.rpartition("\n")
            self._stream.write(self._clean(lines + "\n"))
        return len(text)

    def flush(self) -> None:  # noqa: D102
        if self._partial:
            self._stream.write(self._clean(self._partial))
            self._partial = ""
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def parse_secret_params(text: str) -> dict[str, Any]:
    """The secret parameters a job was given: ``$LOCLAB_SECRET_PARAMS`` as read (empty: none).

    Raises:
        ValueError: The text is not a JSON object.
    """
    try:
        found = json.loads(text) if text else {}
    except ValueError:
        raise ValueError(f"${SECRET_PARAMS_ENV} is not a JSON object") from None
    if not isinstance(found, dict):
        raise ValueError(f"${SECRET_PARAMS_ENV} is not a JSON object")
    return found


def register_secrets(values: Iterable[Any]) -> None:
    """Remember values as secret: every later :func:`scrub` in this process redacts them.

    Values are turned into text (numbers too); empty values, booleans and values shorter
    than :data:`MIN_SECRET_LENGTH` characters are ignored.
    """
    for value in values:
        if value is None or isinstance(value, bool):
            continue
        text = value if isinstance(value, str) else json.dumps(value)
        if len(text) >= MIN_SECRET_LENGTH and text != REDACTED:
            _KNOWN.add(text)


def known_secrets() -> frozenset[str]:
    """The secret values registered in this process."""
    return frozenset(_KNOWN)


def forget_secrets() -> None:
    """Forget every registered value (tests, and a process that starts over)."""
    _KNOWN.clear()


def add_secret_words(words: Iterable[str]) -> None:
    """Treat names containing any of ``words`` as secret too (``loclab.yaml``'s ``secrets``).

    A word matches as a part of a name between separators, like the built-in ones.
    """
    global _SECRET_NAME
    for word in words:
        word = word.strip().lower()
        if word and re.escape(word) not in _NAME_WORDS:
            _NAME_WORDS.append(re.escape(word))
    _SECRET_NAME = re.compile(rf"(?i)(?:^|[_\-.\s])(?:{'|'.join(_NAME_WORDS)})(?:$|[_\-.\s])")


#: loclab's own names that contain "key" and hold content addresses, never secrets.
_OWN_KEYS = frozenset(
    {"job_key", "inputs_key", "sweep_key", "analysis_key", "run_key", "cache_key", "sort_key"}
)


def is_secret_name(name: str) -> bool:
    """True when a parameter, variable or key name says its value is a secret."""
    if name.rsplit(".", 1)[-1].lower() in _OWN_KEYS:
        return False
    return bool(_SECRET_NAME.search(f"_{name}_"))


def scrub_mapping(data: Any) -> Any:
    """A copy of JSON-like ``data``: values under secret names redacted, strings scrubbed."""
    if isinstance(data, Mapping):
        out = {}
        for key, value in data.items():
            if is_secret_name(str(key)) and isinstance(value, str) and value != "":
                out[key] = REDACTED
            else:
                out[key] = scrub_mapping(value)
        return out
    if isinstance(data, list | tuple):
        return [scrub_mapping(v) for v in data]
    if isinstance(data, str):
        return scrub(data)
    return data


# Outputs whose payload is binary (base64): never text, never scrubbed.
_BINARY_PREFIXES = ("image/", "application/pdf", "audio/", "video/", "font/")


def _scrub_node(node: Any, key: str = "") -> tuple[Any, bool]:
    """Scrub a notebook's JSON tree; multi-line sources (lists of lines) are scrubbed whole."""
    if key.startswith(_BINARY_PREFIXES) and key != "image/svg+xml":
        return node, False
    if isinstance(node, str):
        new = scrub(node)
        return new, new != node
    if isinstance(node, list):
        if node and all(isinstance(x, str) for x in node):
            joined = "".join(node)
            new = scrub(joined)
            if new == joined:
                return node, False
            return new.splitlines(keepends=True), True
        changed = False
        items = []
        for item in node:
            value, did = _scrub_node(item)
            items.append(value)
            changed |= did
        return items, changed
    if isinstance(node, dict):
        changed = False
        out = {}
        for k, v in node.items():
            if is_secret_name(k) and isinstance(v, str) and v not in ("", REDACTED):
                out[k], did = REDACTED, True
            else:
                out[k], did = _scrub_node(v, k)
            changed |= did
        return out, changed
    return node, False


def scrub_notebook(nb: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Scrub a notebook (as parsed JSON): sources, text outputs, tracebacks, metadata.

    Returns:
        The scrubbed notebook and whether anything changed.
    """
    new, changed = _scrub_node(nb)
    return new, changed


def scrub_notebook_file(path: Path) -> bool:
    """Scrub an ``.ipynb`` file in place (atomically); True when it changed."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    new, changed = scrub_notebook(nb)
    if changed:
        write_text(path, json.dumps(new, indent=1, ensure_ascii=False) + "\n")
    return changed


#: Text files scrubbed by :func:`scrub_files` (other files are left as they are).
_TEXT_SUFFIXES = {".txt", ".log", ".json", ".jsonl", ".md", ".yaml", ".yml", ".csv", ".tsv", ""}
_MAX_TEXT_BYTES = 20 * 1024 * 1024


def scrub_files(paths: Iterable[Path]) -> list[Path]:
    """Scrub notebooks and text files in place: files, or every file under folders.

    Notebooks (``.ipynb``) are scrubbed as notebooks; small text files (logs, JSON, the
    ``failure`` file) as text. Binary and very large files are left alone.

    Returns:
        The files that changed.
    """
    changed = []
    for root in paths:
        if not root.exists():
            continue
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            if path.suffix == ".ipynb":
                if scrub_notebook_file(path):
                    changed.append(path)
            elif path.suffix in _TEXT_SUFFIXES and path.stat().st_size <= _MAX_TEXT_BYTES:
                try:
                    text = path.read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError):
                    continue
                new = scrub(text)
                if new != text:
                    write_text(path, new)
                    changed.append(path)
    return changed
