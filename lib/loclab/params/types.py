"""Declared parameter types, and conversion of values to and from text.

The same text form is used on the command line (``-p lr=0.01``) and in
``hyperparameters.json`` (SageMaker passes every value as a string), so one parser serves both.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["ParamType", "coerce_value", "decode_value", "encode_value", "parse_type"]

_SCALARS = ("int", "float", "bool", "str")
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


@dataclass(frozen=True)
class ParamType:
    """A declared parameter type.

    Attributes:
        base: ``int``, ``float``, ``bool``, ``str``, ``list``, ``dict`` or ``any``.
        item: Element type of a ``list[...]``; None when unconstrained.
        optional: True for ``Optional[T]`` / ``T | None``: None is a valid value.
        choices: The allowed values of a ``Literal[...]`` parameter (``base`` is their type).
    """

    base: str
    item: ParamType | None = None
    optional: bool = False
    choices: tuple[Any, ...] | None = None

    def __str__(self) -> str:
        if self.choices is not None:
            text = f"Literal[{', '.join(repr(c) for c in self.choices)}]"
        else:
            text = self.base if self.item is None else f"{self.base}[{self.item}]"
        return f"{text} | None" if self.optional else text

    def check_choice(self, value: Any) -> Any:
        """``value`` if it is one of :attr:`choices` (or there are none).

        Raises:
            ValueError: Naming the allowed values and the closest one.
        """
        if self.choices is None or value is None or value in self.choices:
            return value
        import difflib

        shown = ", ".join(repr(c) for c in self.choices)
        close = difflib.get_close_matches(str(value), [str(c) for c in self.choices], n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ValueError(f"{value!r} is not one of {shown}{hint}")

    @property
    def is_numeric(self) -> bool:
        """True for int and float."""
        return self.base in ("int", "float")


def parse_type(annotation: str) -> ParamType:
    """Parse an annotation such as ``float``, ``list[str]`` or ``Optional[int]``.

    Raises:
        ValueError: The annotation is not a supported parameter type.
    """
    text = annotation.strip().replace("typing.", "")
    if text.startswith(("'", '"')) and text.endswith(text[0]):
        text = text[1:-1].strip()
    optional = False
    match = re.fullmatch(r"Optional\[(.+)\]", text)
    if match:
        text, optional = match.group(1).strip(), True
    parts = [p.strip() for p in _split_top_level(text, "|")]
    if len(parts) > 1:
        rest = [p for p in parts if p != "None"]
        if len(rest) != 1 or len(parts) != 2:
            raise ValueError(f"unsupported type '{annotation}'")
        text, optional = rest[0], True
    if text in _SCALARS:
        return ParamType(text, optional=optional)
    match = re.fullmatch(r"(?:Literal)\[(.+)\]", text)
    if match:
        return _literal(match.group(1), annotation, optional)
    if text in ("list", "List"):
        return ParamType("list", optional=optional)
    if text in ("dict", "Dict") or re.fullmatch(r"(dict|Dict)\[\s*str\s*,.*\]", text):
        return ParamType("dict", optional=optional)
    match = re.fullmatch(r"(?:list|List)\[(.+)\]", text)
    if match:
        item = parse_type(match.group(1))
        if item.base not in _SCALARS:
            raise ValueError(f"unsupported type '{annotation}': list items must be scalars")
        return ParamType("list", item=item, optional=optional)
    if text in ("Any", "object"):
        return ParamType("any", optional=optional)
    raise ValueError(
        f"unsupported type '{annotation}' (use int, float, bool, str, list[...], dict, Optional)"
    )


def _literal(inner: str, annotation: str, optional: bool) -> ParamType:
    import ast

    try:
        values = ast.literal_eval(f"({inner},)")
    except (ValueError, SyntaxError):
        raise ValueError(
            f"unsupported type '{annotation}': Literal values must be constants"
        ) from None
    kinds = {type(v) for v in values}
    if len(kinds) != 1 or not kinds <= {str, int, float, bool}:
        raise ValueError(
            f"unsupported type '{annotation}': Literal values must all be strings, all ints, "
            "all floats or all bools"
        )
    if len(set(values)) != len(values):
        raise ValueError(f"unsupported type '{annotation}': a Literal value is listed twice")
    return ParamType(next(iter(kinds)).__name__, optional=optional, choices=tuple(values))


def type_of_literal(value: Any) -> ParamType:
    """Type inferred from an untyped default (``x = 3`` is an int)."""
    if value is None:
        return ParamType("any", optional=True)
    for py, name in ((bool, "bool"), (int, "int"), (float, "float"), (str, "str")):
        if isinstance(value, py):
            return ParamType(name)
    if isinstance(value, list):
        return ParamType("list")
    if isinstance(value, dict):
        return ParamType("dict")
    return ParamType("any")


def coerce_value(value: Any, ptype: ParamType) -> Any:
    """Check a typed value (from YAML or Python) against ``ptype``; return it normalised.

    Ints are accepted where a float is declared. A string is accepted for a float when it
    parses as one, because YAML reads ``1e-3`` (no dot) as a string. A ``Literal``
    parameter's value must be one of its choices.

    Raises:
        ValueError: With a message saying what was expected.
    """
    return ptype.check_choice(_coerce(value, ptype))


def _coerce(value: Any, ptype: ParamType) -> Any:
    if value is None:
        if ptype.optional or ptype.base == "any":
            return None
        raise ValueError(f"expected {ptype}, got null")
    base = ptype.base
    if base == "any":
        return value
    if base == "bool":
        if isinstance(value, bool):
            return value
    elif base == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif base == "float":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif base == "str":
        if isinstance(value, str):
            return value
    elif base == "list":
        if isinstance(value, list | tuple):
            if ptype.item is None:
                return list(value)
            out = []
            for i, item in enumerate(value):
                try:
                    out.append(coerce_value(item, ptype.item))
                except ValueError as err:
                    raise ValueError(f"item {i}: {err}") from None
            return out
    elif base == "dict" and isinstance(value, dict):
        return dict(value)
    raise ValueError(f"expected {ptype}, got {_describe(value)}")


def decode_value(text: str, ptype: ParamType) -> Any:
    """Parse the text form of a value (command line, ``hyperparameters.json``).

    Raises:
        ValueError: With a message saying what was expected.
    """
    raw = text.strip()
    if ptype.optional and raw in ("None", "null"):
        return None
    return ptype.check_choice(_decode(text, raw, ptype))


def _decode(text: str, raw: str, ptype: ParamType) -> Any:
    base = ptype.base
    try:
        if base == "str":
            return text
        if base == "int":
            return int(raw)
        if base == "float":
            return float(raw)
        if base == "bool":
            low = raw.lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
            raise ValueError
        if base == "list":
            if raw.startswith("["):
                value = json.loads(raw)
                return coerce_value(value, ptype)
            if raw == "":
                return []
            items = [p.strip() for p in raw.split(",")]
            if ptype.item is None:
                return items
            out = []
            for i, item in enumerate(items):
                try:
                    out.append(decode_value(item, ptype.item))
                except ValueError as err:
                    raise _ItemError(f"item {i}: {err}") from None
            return out
        if base == "dict":
            value = json.loads(raw)
            if not isinstance(value, dict):
                raise ValueError
            return value
        if base == "any":
            try:
                return json.loads(raw)
            except json.JSONDecodeError:
                return text
    except _ItemError:
        raise
    except (ValueError, json.JSONDecodeError):
        pass
    raise ValueError(f"expected {ptype}, got '{text}'{_hint(ptype)}")


def encode_value(value: Any, ptype: ParamType | None = None) -> str:
    """The text form of a value; :func:`decode_value` reads it back to the same value."""
    if value is None:
        return "None"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isfinite(value):
            return repr(value)
        return str(value)
    if isinstance(value, int):
        return str(value)
    return json.dumps(value, sort_keys=True)


class _ItemError(ValueError):
    """A list item failed; its message already names the item."""


def _hint(ptype: ParamType) -> str:
    if ptype.base == "bool":
        return " (use true or false)"
    if ptype.base == "list":
        return " (use a,b,c or a JSON list)"
    if ptype.base == "dict":
        return ' (use a JSON object, e.g. {"key": 1})'
    return ""


def _describe(value: Any) -> str:
    kind = {bool: "bool", int: "int", float: "float", str: "str", list: "list", dict: "dict"}
    name = kind.get(type(value), type(value).__name__)
    shown = repr(value)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return f"{name} {shown}"


def _split_top_level(text: str, sep: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == sep and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return parts
