"""Check parameter overrides against a notebook's declared parameters."""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping
from typing import Any

from loclab.exceptions import Problem
from loclab.params.inspection import NotebookParameters
from loclab.params.types import coerce_value, decode_value

__all__ = ["did_you_mean", "missing_required", "parse_assignments", "resolve_overrides"]


def did_you_mean(name: str, choices: Iterable[str]) -> str | None:
    """The closest valid name, if one is close enough to be a likely typo."""
    found = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return found[0] if found else None


def parse_assignments(
    items: Iterable[str], source: str = "command line"
) -> tuple[dict[str, str], list[Problem]]:
    """Split ``name=value`` items from ``-p`` options.

    Returns:
        Name to raw text, and one problem per malformed item.
    """
    out: dict[str, str] = {}
    problems: list[Problem] = []
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            problems.append(
                Problem(source, f"-p {item}", "expected name=value", "e.g. -p lr=0.01")
            )
            continue
        out[name] = value
    return out, problems


def resolve_overrides(
    notebook: NotebookParameters,
    overrides: Mapping[str, Any],
    *,
    source: str,
    field: str,
    notebook_name: str,
    from_text: bool = False,
) -> tuple[dict[str, Any], list[Problem]]:
    """Type-check overrides against the notebook's declarations.

    Args:
        notebook: Declared parameters.
        overrides: Name to value (typed values from YAML, or text from the command line).
        source: Where the overrides came from, for messages.
        field: Field prefix for messages (``params`` or ``-p``).
        notebook_name: How to name the notebook in messages.
        from_text: True when values are text to parse by the declared type.

    Returns:
        Converted values, and one problem per unknown name or wrong value.
    """
    resolved: dict[str, Any] = {}
    problems: list[Problem] = []
    for name, value in overrides.items():
        where = f"{field} {name}" if field.startswith("-") else f"{field}.{name}"
        if name not in notebook:
            close = did_you_mean(name, notebook.names)
            fix = (
                f"did you mean '{close}'?"
                if close
                else f"run 'loclab params {notebook_name}' to list its parameters"
            )
            problems.append(Problem(source, where, f"unknown parameter of {notebook_name}", fix))
            continue
        ptype = notebook[name].type
        try:
            found = decode_value(str(value), ptype) if from_text else coerce_value(value, ptype)
            if isinstance(found, float) and not math.isfinite(found):
                # A spec or a flag meaning "no limit" says so by leaving the value out.
                raise ValueError(f"expected a finite {ptype}, got {found}")
            resolved[name] = found
        except ValueError as err:
            if ptype.choices is not None:
                problems.append(Problem(source, where, str(err)))
            else:
                problems.append(
                    Problem(source, where, f"wrong type: {err}", f"give a value of type {ptype}")
                )
    return resolved, problems


def missing_required(
    notebook: NotebookParameters, provided: Iterable[str], *, source: str, notebook_name: str
) -> list[Problem]:
    """Problems for required parameters (default None, type not Optional) left unset."""
    given = set(provided)
    return [
        Problem(
            source,
            f"params.{p.name}",
            f"required parameter of {notebook_name} has no value",
            f"set it under params: or with -p {p.name}=...",
        )
        for p in notebook.parameters.values()
        if p.required and p.name not in given
    ]
