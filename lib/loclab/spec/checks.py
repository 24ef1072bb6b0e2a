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
from loclab.spec.compare import CORPUS_METRICS, CORRELATION_METRICS, SINGLE_RUN_TESTS
from loclab.spec.model import Spec
from loclab.spec.sweep import PRUNER_OPTIONS, SAMPLER_OPTIONS, SweepSpec, grid_values

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
        if ptype.choices is not None and entry.type != "categorical":
            problems.append(
                Problem(
                    source,
                    where,
                    f"'{name}' takes only the values {', '.join(map(repr, ptype.choices))}",
                    "search it as {type: categorical, choices: [...]}",
                )
            )
            continue
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


#: What each sampler and pruner option accepts: (kind, lowest value or allowed words).
_OPTION_VALUES: dict[str, tuple[str, Any]] = {
    "n_startup_trials": ("int", 0),
    "percentile": ("percent", None),
    "n_warmup_steps": ("int", 0),
    "interval_steps": ("int", 1),
    "n_min_trials": ("int", 1),
    "bootstrap_count": ("int", 0),
    "min_early_stopping_rate": ("int", 0),
    "reduction_factor": ("int", 2),
    "min_resource": ("int_or_auto", 1),
    "max_resource": ("int_or_auto", 1),
    "n_ei_candidates": ("int", 1),
    "popsize": ("int", 1),
    "sigma0": ("positive", 0),
    "multivariate": ("bool", None),
    "group": ("bool", None),
    "constant_liar": ("bool", None),
    "use_separable_cma": ("bool", None),
    "with_margin": ("bool", None),
    "lr_adapt": ("bool", None),
    "deterministic_objective": ("bool", None),
    "restart_strategy": ("word", ("ipop", "bipop")),
}


def _option_problem(key: str, value: Any) -> str | None:
    """What is wrong with an option's value, or None."""
    kind, bound = _OPTION_VALUES.get(key, ("any", None))
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if kind == "bool" and not isinstance(value, bool):
        return f"is {value!r}; expected true or false"
    if kind == "word" and value not in bound:
        return f"is {value!r}; expected one of {', '.join(bound)}"
    if kind == "int_or_auto" and value == "auto":
        return None
    if kind in ("int", "int_or_auto") and (not is_int or value < bound):
        return f"is {value!r}; expected a whole number of at least {bound}"
    if kind == "percent" and (
        isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 100
    ):
        return f"is {value!r}; expected a number between 0 and 100 (25 keeps the top quarter)"
    if kind == "positive" and (
        isinstance(value, bool) or not isinstance(value, int | float) or not value > 0
    ):
        return f"is {value!r}; expected a positive number"
    return None


def _check_options(sweep: SweepSpec, source: str) -> list[Problem]:
    problems = []
    for kind, chosen, options, table in (
        ("sampler", sweep.sampler, sweep.sampler_options, SAMPLER_OPTIONS),
        ("pruner", sweep.pruner, sweep.pruner_options, PRUNER_OPTIONS),
    ):
        allowed = table[chosen]
        for key, value in options.items():
            if key in allowed:
                wrong = _option_problem(key, value)
                if wrong:
                    problems.append(Problem(source, f"sweep.{kind}_options.{key}", wrong))
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
    """The comparison is well posed: systems, baseline, metrics and test fit together.

    Every system's overrides must be valid parameters and sweep references need a sweep.
    Listed systems need at least two and one unambiguous baseline; systems discovered from
    the job's output need a baseline and corpus metrics, come from one job (one seed) and
    have no predictions to break down. The test must suit the number of seeds and metrics.
    """
    compare = spec.compare
    if compare is None:
        return []
    problems: list[Problem] = []

    def add(field: str, message: str, fix: str = "") -> None:
        problems.append(Problem(source, f"compare.{field}", message, fix))

    for name, system in compare.systems.items():
        _, found = resolve_overrides(
            notebook,
            system.params,
            source=source,
            field=f"compare.systems.{name}.params",
            notebook_name=notebook_name,
        )
        problems.extend(found)
        if system.from_sweep is not None and spec.sweep is None:
            add(
                f"systems.{name}.from_sweep",
                "takes its configuration from the sweep, but the spec has no sweep",
                "add a sweep: section or give fixed params",
            )
        if (
            isinstance(system.from_sweep, int)
            and spec.sweep is not None
            and not 1 <= system.from_sweep <= spec.sweep.top_k
        ):
            add(
                f"systems.{name}.from_sweep",
                f"rank {system.from_sweep} is outside the sweep's top_k ({spec.sweep.top_k})",
                "use 'best' or a rank from 1 to top_k",
            )
    metrics = compare.compared_metrics()
    seeds = len(compare.seeds)
    if compare.discovered:
        if compare.baseline is None:
            add(
                "baseline",
                "required when the systems come from the job's output",
                "name the system the others are tested against, e.g. baseline: LIUM-NMT",
            )
        if not compare.metrics:
            add(
                "metrics",
                "required when the systems come from the job's output",
                "name the corpus metrics the job writes, e.g. metrics: [bleu, chrf]",
            )
        for i, metric in enumerate(compare.metrics):
            if metric not in CORPUS_METRICS:
                close = did_you_mean(metric, CORPUS_METRICS)
                add(
                    f"metrics.{i}",
                    f"'{metric}' is not a corpus metric a job can write statistics for",
                    f"did you mean '{close}'?" if close else f"valid: {', '.join(CORPUS_METRICS)}",
                )
        if seeds > 1:
            add(
                "seeds",
                f"the systems come from one job's output, so there is one run, not {seeds}",
                "give one seed, or list systems: to re-run each over seeds",
            )
        if compare.test not in ("auto", "ar"):
            add(
                "test",
                f"systems from a job's corpus statistics are tested with ar, not {compare.test}",
                "use test: ar or auto",
            )
        if compare.breakdowns:
            add(
                "breakdowns",
                "needs per-example predictions; systems from a job's corpus statistics have none",
                "remove breakdowns, or list systems: that write predictions",
            )
    else:
        if len(compare.systems) < 2:
            add(
                "systems",
                f"needs at least two systems to compare, got {len(compare.systems)}",
                "add a baseline and a candidate, or omit systems: to compare the systems in "
                "the job's output",
            )
        if compare.baseline is not None and compare.baseline not in compare.systems:
            close = did_you_mean(compare.baseline, compare.systems)
            add(
                "baseline",
                f"'{compare.baseline}' is not one of the systems",
                f"did you mean '{close}'?" if close else f"systems: {', '.join(compare.systems)}",
            )
        roles = [n for n, s in compare.systems.items() if s.role == "baseline"]
        if compare.baseline is None and len(roles) > 1:
            add(
                "baseline",
                f"several systems have role baseline ({', '.join(roles)})",
                "name the one the others are tested against with baseline:",
            )
    if compare.test in SINGLE_RUN_TESTS and seeds > 1:
        add(
            "test",
            f"{compare.test} compares one run per system, but seeds gives {seeds}",
            "use two_level_bootstrap or auto for several seeds (McNemar per seed is reported "
            "alongside)",
        )
    if compare.test == "two_level_bootstrap" and seeds < 2:
        add(
            "test",
            "two_level_bootstrap needs at least 2 seeds per system (5 recommended)",
            "set seeds: 5",
        )
    if compare.test in ("williams", "bootstrap"):
        for i, metric in enumerate(metrics):
            kendall = (compare.test, metric) == ("williams", "kendall")
            if metric not in CORRELATION_METRICS or kendall:
                add(
                    f"metrics.{i}" if compare.metrics else "metrics",
                    f"test {compare.test} compares correlations with gold scores, not '{metric}'",
                    "use pearson or spearman (williams), pearson, spearman or kendall "
                    "(bootstrap), or test: auto",
                )
    if compare.test == "ar":
        for i, metric in enumerate(metrics):
            if metric not in CORPUS_METRICS and not compare.discovered:
                add(
                    f"metrics.{i}" if compare.metrics else "metrics",
                    f"test ar compares corpus metrics ({', '.join(CORPUS_METRICS)}), not "
                    f"'{metric}'",
                    "use test: auto for per-example scores",
                )
    return problems
