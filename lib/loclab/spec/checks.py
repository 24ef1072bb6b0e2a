"""Checks of spec sections against the notebook they drive.

Each section gets its own function; :func:`check_sections` runs them all and collects problems.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from loclab.exceptions import Problem
from loclab.params import NotebookParameters
from loclab.params.types import coerce_value
from loclab.params.validate import did_you_mean, resolve_overrides
from loclab.spec.backend import check_backend
from loclab.spec.model import Spec
from loclab.spec.sweep import PRUNER_OPTIONS, SAMPLER_OPTIONS, SweepSpec, grid_values

__all__ = ["check_backend", "check_compare", "check_sections", "check_sweep"]


def check_sections(
    spec: Spec,
    notebook: NotebookParameters,
    *,
    params: dict[str, Any],
    source: str,
    notebook_name: str,
) -> list[Problem]:
    """Problems with ``sweep``, ``compare`` and ``backend`` given the notebook's declarations."""
    problems: list[Problem] = []
    problems.extend(check_sweep(spec, notebook, source=source, notebook_name=notebook_name))
    problems.extend(check_compare(spec, notebook, source=source, notebook_name=notebook_name))
    problems.extend(check_backend(spec, notebook, params=params, source=source))
    return problems


def check_sweep(
    spec: Spec, notebook: NotebookParameters, *, source: str, notebook_name: str
) -> list[Problem]:
    """The sweep fits the notebook and its sampler: names, types, options, finite grids.

    Every space entry must name a parameter of the notebook with a compatible declared type;
    ``sweep.params`` are checked like ``params``; the grid sampler needs finite entries and
    enough points for ``n_trials``; CMA-ES cannot search categorical entries.
    """
    sweep = spec.sweep
    if sweep is None:
        return []
    problems: list[Problem] = []
    for name, entry in sweep.space.items():
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
                    "use type: int or categorical"
                    if ptype.base == "int"
                    else "use type: categorical",
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
        if sweep.sampler == "grid" and not entry.is_finite:
            problems.append(
                Problem(
                    source,
                    where,
                    "the grid sampler needs a finite range",
                    "give a 'step' or use type: categorical",
                )
            )
        if sweep.sampler == "cmaes" and entry.type == "categorical":
            problems.append(
                Problem(
                    source,
                    where,
                    "the cmaes sampler cannot search a categorical entry",
                    "use an int or float range, or sampler: tpe or gp",
                )
            )
        if name in sweep.params:
            problems.append(
                Problem(
                    source,
                    f"sweep.params.{name}",
                    "is also searched in sweep.space",
                    "remove one of the two",
                )
            )
    _, found = resolve_overrides(
        notebook,
        {k: v for k, v in sweep.params.items() if k not in sweep.space},
        source=source,
        field="sweep.params",
        notebook_name=notebook_name,
    )
    problems.extend(found)
    problems.extend(_check_options(sweep, source))
    if sweep.sampler == "grid" and all(e.is_finite for e in sweep.space.values()):
        size = 1
        for entry in sweep.space.values():
            size *= len(grid_values(entry))
        if size < sweep.n_trials:
            problems.append(
                Problem(
                    source,
                    "sweep.n_trials",
                    f"the grid has only {size} points, fewer than n_trials ({sweep.n_trials})",
                    f"set n_trials to at most {size}",
                )
            )
    needs = {"cmaes": "cmaes", "gp": "torch"}.get(sweep.sampler)
    if needs is not None and importlib.util.find_spec(needs) is None:
        problems.append(
            Problem(
                source,
                "sweep.sampler",
                f"the {sweep.sampler} sampler needs the Python package '{needs}'",
                f"pip install {needs}, or use sampler: tpe",
            )
        )
    return problems


def _check_options(sweep: SweepSpec, source: str) -> list[Problem]:
    problems = []
    for kind, chosen, options, table in (
        ("sampler", sweep.sampler, sweep.sampler_options, SAMPLER_OPTIONS),
        ("pruner", sweep.pruner, sweep.pruner_options, PRUNER_OPTIONS),
    ):
        allowed = table[chosen]
        for key in options:
            if key in allowed:
                continue
            if not allowed:
                fix = f"the {chosen} {kind} takes no options"
            else:
                close = did_you_mean(key, allowed)
                fix = f"did you mean '{close}'?" if close else f"valid: {', '.join(allowed)}"
            problems.append(
                Problem(
                    source,
                    f"sweep.{kind}_options.{key}",
                    f"not a setting of the {chosen} {kind}",
                    fix,
                )
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
