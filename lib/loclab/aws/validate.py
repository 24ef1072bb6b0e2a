r"""Strict, offline validation of AWS requests against botocore's service model.

botocore checks only that required members are present and that types are right; the service
then rejects what breaks a length, range, pattern or enum constraint, after a round trip (and,
for a sweep, after the first trials already started). This module walks the operation's input
shape and checks every constraint the model declares, so a bad request fails before it is sent:

* strings: ``min``/``max`` length, ``pattern`` (a full match, as the service's Java validator
  does) and ``enum``;
* integers and floats: ``min``/``max`` value;
* lists and maps: ``min``/``max`` item counts, and every key and value;
* structures: required members, unknown members (with the closest valid name).

The model's patterns are Java regular expressions. Most compile unchanged with the ``regex``
package (``\p{L}``, ``\p{N}``, look-behinds); Java's POSIX classes (``\p{Alnum}``...) are
ASCII-only in Java but Unicode in ``regex``, and Java writes characters outside the Basic
Multilingual Plane as UTF-16 surrogate pairs, so both are translated first.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from loclab.aws.errors import RequestProblem, RequestValidationError

__all__ = [
    "check_request",
    "compile_java_pattern",
    "operation_model",
    "validate_request",
]

#: Java's POSIX character classes, as the contents of a character class (ASCII, as in Java).
_JAVA_POSIX = {
    "Lower": "a-z",
    "Upper": "A-Z",
    "ASCII": r"\x00-\x7F",
    "Alpha": "a-zA-Z",
    "Digit": "0-9",
    "Alnum": "a-zA-Z0-9",
    "Punct": r"\x21-\x2F\x3A-\x40\x5B-\x60\x7B-\x7E",
    "Graph": r"\x21-\x7E",
    "Print": r"\x20-\x7E",
    "Blank": r" \t",
    "Cntrl": r"\x00-\x1F\x7F",
    "XDigit": "0-9a-fA-F",
    "Space": r" \t\n\x0B\f\r",
}

#: What a value of these shapes looks like, for the fix of a pattern problem.
_SHAPE_HINTS = {
    "TrainingJobName": "1 to 63 letters, digits and hyphens, starting and ending with a "
    "letter or digit",
    "RoleArn": "an IAM role ARN such as arn:aws:iam::123456789012:role/loclab-training",
    "S3Uri": "an S3 URI such as s3://my-bucket/loclab",
    "TrainingEnvironmentKey": "a letter or underscore, then letters, digits and underscores",
    "TagKey": "letters, digits, spaces and _ . : / = + - @",
    "TagValue": "letters, digits, spaces and _ . : / = + - @",
    "ChannelName": "letters, digits and . - _",
    "SecurityGroupId": "a security group id such as sg-0123456789abcdef0",
    "SubnetId": "a subnet id such as subnet-0123456789abcdef0",
    "KmsKeyId": "a KMS key id, alias or ARN",
}

_SHOWN = 60


@lru_cache(maxsize=8)
def _service_model(service: str) -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model(service)


@lru_cache(maxsize=32)
def operation_model(service: str, operation: str) -> Any:
    """The botocore model of ``operation`` (e.g. ``CreateTrainingJob``) of ``service``.

    Loaded from the JSON files shipped with botocore: no network, no credentials.
    """
    return _service_model(service).operation_model(operation)


@lru_cache(maxsize=1024)
def compile_java_pattern(pattern: str) -> Any:
    """Compile a service-model (Java) regular expression with the ``regex`` package.

    Raises:
        ValueError: The pattern cannot be translated.
    """
    import regex

    try:
        return regex.compile(_translate(pattern))
    except regex.error as err:
        raise ValueError(f"cannot compile the model's pattern {pattern!r}: {err}") from None


def _translate(pattern: str) -> str:
    """Java pattern → ``regex`` pattern (POSIX classes, surrogate pairs)."""
    out: list[str] = []
    i = 0
    depth = 0  # inside a character class when > 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if nxt in "pP" and pattern.startswith("{", i + 2):
                end = pattern.index("}", i)
                name = pattern[i + 3 : end]
                if name in _JAVA_POSIX:
                    body = _JAVA_POSIX[name]
                    negate = nxt == "P"
                    if depth and not negate:
                        out.append(body)
                    else:
                        out.append(f"[{'^' if negate else ''}{body}]")
                    i = end + 1
                    continue
            if nxt == "u" and _is_surrogate_pair(pattern, i):
                high = int(pattern[i + 2 : i + 6], 16)
                low = int(pattern[i + 8 : i + 12], 16)
                code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
                out.append(f"\\U{code:08X}")
                i += 12
                continue
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if ch == "[":
            depth += 1
        elif ch == "]" and depth:
            depth -= 1
        out.append(ch)
        i += 1
    return "".join(out)


def _is_surrogate_pair(pattern: str, i: int) -> bool:
    text = pattern[i : i + 12]
    if len(text) < 12 or text[6:8] != "\\u":
        return False
    try:
        high, low = int(text[2:6], 16), int(text[8:12], 16)
    except ValueError:
        return False
    return 0xD800 <= high <= 0xDBFF and 0xDC00 <= low <= 0xDFFF


def validate_request(
    operation: str, params: Mapping[str, Any], *, service: str = "sagemaker"
) -> list[RequestProblem]:
    """Every constraint of the service model that ``params`` breaks (empty when valid).

    Args:
        operation: The API operation, e.g. ``CreateTrainingJob``.
        params: The request as passed to the boto3 client method.
        service: The botocore service name.
    """
    problems: list[RequestProblem] = []
    _check(operation_model(service, operation).input_shape, params, "", problems)
    return problems


def check_request(
    operation: str,
    params: Mapping[str, Any],
    *,
    service: str = "sagemaker",
    extra: Iterable[RequestProblem] = (),
) -> None:
    """Raise when ``params`` break the model's constraints or ``extra`` (cross-field) rules.

    Raises:
        RequestValidationError: Everything wrong, one problem per line.
    """
    problems = validate_request(operation, params, service=service)
    problems.extend(extra)
    if problems:
        raise RequestValidationError(operation, problems)


def _join(path: str, member: str) -> str:
    return f"{path}.{member}" if path else member


def _show(value: Any) -> str:
    text = str(value)
    if len(text) > _SHOWN:
        return f"'{text[:_SHOWN]}...' ({len(text)} characters)"
    return f"'{text}'"


def _check(shape: Any, value: Any, path: str, out: list[RequestProblem]) -> None:
    kind = shape.type_name
    where = path or shape.name
    if kind == "structure":
        if getattr(shape, "is_document_type", False):
            return
        _check_structure(shape, value, path, out)
    elif kind == "list":
        if not isinstance(value, list | tuple):
            out.append(RequestProblem(where, f"must be a list, not {type(value).__name__}"))
            return
        _check_count(shape, len(value), "items", where, out)
        for i, item in enumerate(value):
            _check(shape.member, item, f"{where}[{i}]", out)
    elif kind == "map":
        if not isinstance(value, Mapping):
            out.append(RequestProblem(where, f"must be a mapping, not {type(value).__name__}"))
            return
        _check_count(shape, len(value), "entries", where, out)
        for key, item in value.items():
            item_path = f'{where}["{key}"]'
            if shape.key.type_name == "string":
                _check_string(shape.key, key, item_path, out, key=True)
            _check(shape.value, item, item_path, out)
    elif kind == "string":
        _check_string(shape, value, where, out)
    elif kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            out.append(RequestProblem(where, f"must be an integer, not {_type(value)}"))
            return
        _check_range(shape, value, where, out)
    elif kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            out.append(RequestProblem(where, f"must be a number, not {_type(value)}"))
            return
        if not math.isfinite(float(value)):
            out.append(RequestProblem(where, f"must be finite, not {value}"))
            return
        _check_range(shape, value, where, out)
    elif kind == "boolean":
        if not isinstance(value, bool):
            out.append(RequestProblem(where, f"must be true or false, not {_type(value)}"))
    elif kind == "timestamp":
        if not isinstance(value, dt.datetime | str | int | float) or isinstance(value, bool):
            out.append(RequestProblem(where, f"must be a timestamp, not {_type(value)}"))
    elif kind == "blob" and not (
        isinstance(value, bytes | bytearray | str) or hasattr(value, "read")
    ):
        out.append(RequestProblem(where, f"must be bytes or a file, not {_type(value)}"))


def _type(value: Any) -> str:
    return "a boolean" if isinstance(value, bool) else type(value).__name__


def _check_structure(shape: Any, value: Any, path: str, out: list[RequestProblem]) -> None:
    where = path or shape.name
    if not isinstance(value, Mapping):
        out.append(RequestProblem(where, f"must be a mapping, not {_type(value)}"))
        return
    from loclab.params.validate import did_you_mean

    for name in shape.required_members:
        if name not in value:
            out.append(RequestProblem(_join(path, name), "is required"))
    members = shape.members
    if getattr(shape, "is_tagged_union", False) and len(value) != 1:
        out.append(RequestProblem(where, f"must set exactly one of {', '.join(members)}"))
    for key, item in value.items():
        if key not in members:
            close = did_you_mean(str(key), list(members))
            fix = f"did you mean '{close}'?" if close else ""
            out.append(
                RequestProblem(_join(path, str(key)), f"is not a field of {shape.name}", fix)
            )
            continue
        _check(members[key], item, _join(path, key), out)


def _check_count(shape: Any, count: int, what: str, where: str, out: list[RequestProblem]) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if high is not None and count > high:
        out.append(RequestProblem(where, f"has {count} {what}; the maximum is {high}"))
    if low is not None and count < low:
        out.append(RequestProblem(where, f"has {count} {what}; the minimum is {low}"))


def _check_range(shape: Any, value: float, where: str, out: list[RequestProblem]) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and value < low:
        out.append(RequestProblem(where, f"is {value:g}; the minimum is {low}"))
    if high is not None and value > high:
        out.append(RequestProblem(where, f"is {value:g}; the maximum is {high}"))


def _check_string(
    shape: Any, value: Any, where: str, out: list[RequestProblem], *, key: bool = False
) -> None:
    subject = "the key " if key else ""
    if not isinstance(value, str):
        out.append(RequestProblem(where, f"{subject}must be a string, not {_type(value)}"))
        return
    enum = shape.enum
    if enum:
        if value not in _enum_set(shape):
            from loclab.params.validate import did_you_mean

            # A missing prefix ("m5.large" for "ml.m5.large") is the usual slip; try it first.
            prefixed = [e for e in enum if e.endswith("." + value) or e.endswith(value)]
            close = prefixed[0] if len(prefixed) == 1 else did_you_mean(value, enum)
            if close:
                fix = f"did you mean '{close}'?"
            elif len(enum) <= 8:
                fix = f"valid: {', '.join(enum)}"
            else:
                fix = f"see the {len(enum)} values of {shape.name} in the API reference"
            out.append(
                RequestProblem(where, f"{subject}{_show(value)} is not a valid {shape.name}", fix)
            )
        return
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    n = len(value)
    if high is not None and n > high:
        out.append(
            RequestProblem(where, f"{subject}is {n} characters long; the maximum is {high}")
        )
    if low is not None and n < low:
        if n == 0:
            out.append(RequestProblem(where, f"{subject}must not be empty"))
        else:
            out.append(
                RequestProblem(where, f"{subject}is {n} characters long; the minimum is {low}")
            )
    pattern = shape.metadata.get("pattern")
    too_long = high is not None and n > high
    # A pattern such as {0,62} restates the length limit: one problem is enough.
    if pattern and not too_long and not compile_java_pattern(pattern).fullmatch(value):
        hint = _SHAPE_HINTS.get(shape.name)
        out.append(
            RequestProblem(
                where,
                f"{subject}{_show(value)} does not match the pattern {pattern}",
                f"expected {hint}" if hint else "",
            )
        )


_ENUMS: dict[tuple[str, str, int], frozenset[str]] = {}


def _enum_set(shape: Any) -> frozenset[str]:
    # Enum lists are long (225 instance types); build each set once.
    key = (shape.name, shape.enum[0], len(shape.enum))
    found = _ENUMS.get(key)
    if found is None:
        found = _ENUMS[key] = frozenset(shape.enum)
    return found
