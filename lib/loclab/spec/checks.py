"""Checks of spec sections against the notebook they drive.

Each section gets its own function; :func:`check_sections` runs them all and collects problems.
"""

from __future__ import annotations

from typing import Any

from loclab.exceptions import Problem
from loclab.params import NotebookParameters
from loclab.params.types import coerce_value
from loclab.params.validate import did_you_mean, resolve_overrides
from loclab.spec.model import Spec

__all__ = ["check_compare", "check_sections", "check_sweep"]


def check_sections(
    spec: Spec,
    notebook: NotebookParameters,
    *,
    params: dict[str, Any],
    source: str,
    notebook_name: str,
) -> list[Problem]:
    """Problems with ``sweep`` and ``compare`` given the notebook's declarations."""
    problems: list[Problem] = []
    problems.extend(check_sweep(spec, notebook, source=source, notebook_name=notebook_name))
    problems.extend(check_compare(spec, notebook, source=source, notebook_name=notebook_name))
    return problems


def check_sweep(
    spec: Spec, notebook: NotebookParameters, *, source: str, notebook_name: str
) -> list[Problem]:
    """Every space entry names a notebook parameter of a compatible type."""
    if spec.sweep is None:
        return []
    problems: list[Problem] = []
    for name, entry in spec.sweep.space.items():
        where = f"sweep.space.{name}"
        if name not in notebook:
            close = did_you_mean(name, notebook.names)
            fix = f"did you mean '{close}'?" if close else f"see 'loclab params {notebook_name}'"
            problems.append(
                Problem(source, where, f"{notebook_name} has no parameter '{name}'", fix)
            )
            continue
        ptype = notebook[name].type
        if entry.type == "float" and ptype.base not in ("float", "any"):
            problems.append(
                Problem(
                    source,
                    where,
                    f"a float range cannot fill '{name}', declared {ptype}",
                    "use type: int or categorical" if ptype.base == "int" else
                    "use type: categorical",
                )
            )
        elif entry.type == "int" and ptype.base not in ("int", "float", "any"):
            problems.append(
                Problem(
                    source,
                    where,
                    f"an int range cannot fill '{name}', declared {ptype}",
                    "use type: categorical",
                )
            )
        elif entry.type == "categorical":
            for i, choice in enumerate(entry.choices or []):
                try:
                    coerce_value(choice, ptype)
                except ValueError as err:
                    problems.append(
                        Problem(source, f"{where}.choices[{i}]", f"wrong type: {err}", "")
                    )
    return problems


def check_compare(
    spec: Spec, notebook: NotebookParameters, *, source: str, notebook_name: str
) -> list[Problem]:
    """Every system's overrides are valid parameters; sweep references need a sweep."""
    if spec.compare is None:
        return []
    problems: list[Problem] = []
    for name, system in spec.compare.systems.items():
        _, found = resolve_overrides(
            notebook,
            system.params,
            source=source,
            field=f"compare.systems.{name}.params",
            notebook_name=notebook_name,
        )
        problems.extend(found)
        if system.from_sweep is not None and spec.sweep is None:
            problems.append(
                Problem(
                    source,
                    f"compare.systems.{name}.from_sweep",
                    "takes its configuration from the sweep, but the spec has no sweep",
                    "add a sweep: section or give fixed params",
                )
            )
        if (
            isinstance(system.from_sweep, int)
            and spec.sweep is not None
            and not 1 <= system.from_sweep <= spec.sweep.top_k
        ):
            problems.append(
                Problem(
                    source,
                    f"compare.systems.{name}.from_sweep",
                    f"rank {system.from_sweep} is outside the sweep's top_k "
                    f"({spec.sweep.top_k})",
                    "use 'best' or a rank from 1 to top_k",
                )
            )
    return problems
