"""``loclab new experiment``: a spec written from a notebook's own parameters cell.

Every field is commented; the parameters, the sweep's search space and the comparison come from
the notebook's declared parameters (names, types, defaults and help). The sections a user turns
on later are written commented out, so the spec validates and runs as it is; ``sweep=`` and
``compare=`` write them active.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

from loclab.exceptions import Problem, SpecError
from loclab.io import write_text
from loclab.params import NotebookParameters, Parameter, inspect_notebook
from loclab.params.validate import did_you_mean, parse_assignments, resolve_overrides

__all__ = [
    "EXPERIMENTS_DIR",
    "NewExperiment",
    "check_name",
    "experiment_spec",
    "write_experiment",
]

#: Where specs live in a project.
EXPERIMENTS_DIR = "experiments"
#: Experiment names (the spec model's own pattern, repeated so nothing of the spec loads).
_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_./-]*$")
_VAL_METRIC = re.compile(r"""["'](val_[A-Za-z0-9_]+)["']""")
_HYPERPARAMETERS = (
    "lr", "learning_rate", "hidden", "hidden_size", "dropout", "alpha", "weight_decay", "l2_c",
    "c", "max_epochs", "epochs", "batch_size", "layers", "depth", "n_estimators",
)  # fmt: skip
_LOWER_IS_BETTER = ("loss", "error", "err", "wer", "ter", "mae", "mse", "rmse")
#: The source of the field named in messages.
SOURCE = "command line"


@dataclass(frozen=True)
class NewExperiment:
    """A spec written by :func:`write_experiment`.

    Attributes:
        path: The spec file.
        notes: What the user still has to do (required parameters to set), one line each.
    """

    path: Path
    notes: list[str] = field(default_factory=list)


def write_experiment(
    root: Path,
    name: str,
    notebook: Path,
    *,
    sweep: Sequence[str] = (),
    compare: Sequence[str] = (),
    candidate: Mapping[str, Any] | None = None,
    origin: str = "",
) -> NewExperiment:
    """Write ``<root>/experiments/<name>.yaml`` for ``notebook``; never overwrite a file.

    Args:
        root: The project root.
        name: The experiment's name.
        notebook: The template notebook (inside the project).
        sweep: Parameters the sweep searches (an active ``sweep:`` section); none: the section
            is written commented out, with every searchable parameter.
        compare: ``name=value`` changes of a candidate tested against the notebook's defaults
            (an active ``compare:`` section); none: commented out.
        candidate: The candidate's changes as typed values (instead of ``compare``), e.g. the
            parameters an interactive run ran with.
        origin: Where ``candidate`` comes from, said in the spec (``interactive run X``).

    Raises:
        SpecError: One line naming the field and the fix (bad name, existing file, notebook
            outside the project or without a parameters cell, unknown parameter...).
    """
    check_name(name)
    root = root.resolve()
    notebook = notebook.resolve()
    try:
        relative = notebook.relative_to(root).as_posix()
    except ValueError:
        raise SpecError(
            [
                Problem(
                    SOURCE,
                    "--notebook",
                    f"{notebook} is outside the project {root}",
                    "copy it into notebooks/templates/ first",
                )
            ]
        ) from None
    if notebook.suffix != ".ipynb":
        raise SpecError(
            [Problem(SOURCE, "--notebook", f"{relative} is not a .ipynb notebook", "")]
        )
    target = root / EXPERIMENTS_DIR / f"{name}.yaml"
    if target.exists():
        raise SpecError(
            [
                Problem(
                    SOURCE,
                    "NAME",
                    f"{EXPERIMENTS_DIR}/{name}.yaml already exists (not overwritten)",
                    "choose another NAME, or delete that file first",
                )
            ]
        )
    found = inspect_notebook(notebook, display_path=relative)
    if found.problems:
        raise SpecError(found.problems)
    if candidate is not None:
        values, wrong = resolve_overrides(
            found, candidate, source=SOURCE, field="--from-run", notebook_name=relative
        )
        if wrong:
            raise SpecError(wrong)
    else:
        values = _candidate(found, compare, relative)
    text = experiment_spec(
        name,
        relative,
        found,
        sweep=_searched(found, sweep, relative),
        candidate=values,
        description=_heading(notebook),
        metric=_val_metric(notebook),
        origin=origin,
    )
    write_text(target, text)
    notes = [
        f"{EXPERIMENTS_DIR}/{name}.yaml: params.{p.name}: the notebook requires a value; set it "
        "before running"
        for p in found.parameters.values()
        if p.required
    ]
    if origin and values:
        notes.append(
            f"{EXPERIMENTS_DIR}/{name}.yaml: compare.systems.candidate.params: "
            f"{', '.join(values)} as {origin} ran; one that changes the test data belongs in "
            "params: (for both systems), or the systems cannot be paired by example"
        )
    return NewExperiment(target, notes)


def check_name(name: str) -> None:
    """Check an experiment's name.

    Raises:
        SpecError: It is not lower-case letters, digits and inner hyphens (at most 40).
    """
    if not _NAME.fullmatch(name):
        raise SpecError(
            [
                Problem(
                    SOURCE,
                    "NAME",
                    f"{name!r} is not a valid experiment name",
                    "use lower-case letters, digits and inner hyphens (at most 40), e.g. term-qa",
                )
            ]
        )


def experiment_spec(
    name: str,
    notebook: str,
    found: NotebookParameters,
    *,
    sweep: Sequence[str] = (),
    candidate: Mapping[str, Any] | None = None,
    description: str = "",
    metric: str | None = None,
    origin: str = "",
) -> str:
    """The spec's text (see :func:`write_experiment`).

    Args:
        name: The experiment's name.
        notebook: The notebook, relative to the project root.
        found: Its declared parameters.
        sweep: Parameters of an active sweep (none: the section is commented out).
        candidate: Overrides of an active comparison's candidate (None: commented out).
        description: What the notebook does (its first heading).
        metric: A metric the notebook reports per epoch, when known.
        origin: Where the candidate comes from (``interactive run X``), said in a comment.
    """
    template = resources.files("loclab.scaffold").joinpath("template", "experiment.yaml.tmpl")
    required = [p for p in found.parameters.values() if p.required]
    return Template(template.read_text(encoding="utf-8")).substitute(
        name=name,
        spec=f"{EXPERIMENTS_DIR}/{name}.yaml",
        notebook=notebook,
        description=_yaml(description or f"{notebook} with its defaults"),
        title=_yaml(description or name),
        params_hint=(
            "set the required ones, uncomment the others you change"
            if required
            else "uncomment `params:` and the lines you change"
        ),
        params="\n".join(_params_lines(found)),
        sweep="\n".join(_sweep_lines(found, sweep, metric)),
        compare="\n".join(_compare_lines(found, candidate, origin)),
    )


def _params_lines(found: NotebookParameters) -> list[str]:
    required = [p for p in found.parameters.values() if p.required]
    lines = ["params:" if required else "# params:"]
    for p in found.parameters.values():
        value = "null" if p.required else _yaml(p.default)
        note = f"REQUIRED {p.type}" if p.required else str(p.type)
        line = f"  {p.name}: {value}  # {note}: {p.help}".rstrip(": ")
        lines.append(line if p.required else _comment(line))
    if len(lines) == 1:
        lines.append("#   (the notebook declares no parameters)")
    return lines


def _sweep_lines(
    found: NotebookParameters, searched: Sequence[str], metric: str | None
) -> list[str]:
    chosen = list(searched) or [p.name for p in found.parameters.values() if _space(p)]
    metric = metric or "val_loss"
    lower = any(word in metric.lower() for word in _LOWER_IS_BETTER)
    lines = [
        "sweep:",
        f"  metric: {metric}  # reported per epoch: runtime.log_metrics({{...}}, step=epoch)",
        f"  direction: {'minimize' if lower else 'maximize'}  # maximize or minimize the metric",
        "  n_trials: 8  # trials to finish (pruned ones count, failed ones do not)",
        "  workers: 2  # trials at once (each gets its share of the cores)",
        "  sampler: tpe  # tpe, random, cmaes, grid or gp; seeded by seed:",
        "  seed: 0  # the sampler's seed",
        "  pruner: median  # median, hyperband, successive_halving or none",
        "  space:  # the notebook's parameters to search, each in a range",
    ]
    for name in chosen:
        p = found.parameters[name]
        lines.append(f"    {name}: {_space(p)}  # {p.help}".rstrip("# ").rstrip())
    if not chosen:
        lines.append("    # (no int, float or bool parameter to search)")
    return lines if searched else [_comment(line) for line in lines]


def _compare_lines(
    found: NotebookParameters, candidate: Mapping[str, Any] | None, origin: str = ""
) -> list[str]:
    seeded = "seed" in found.parameters
    example = candidate or _example_change(found)
    change = "{" + ", ".join(f"{k}: {_yaml(v)}" for k, v in example.items()) + "}"
    what = f"the parameters {origin} ran with" if origin else "one change"
    lines = [
        "compare:",
        "  systems:",
        "    baseline:",
        "      role: baseline  # what the other systems are tested against",
        "      params: {}  # no overrides: the notebook's defaults",
        "    candidate:",
        f"      params: {change}  # {what}, tested against the baseline",
        "  seeds: 3  # training seeds per system (3: seeds 0, 1, 2)"
        if seeded
        else "  seeds: 1  # the notebook has no `seed` parameter, so one run per system",
        "  metrics: [accuracy]  # the first decides: accuracy, a predictions column, or test_acc",
        "  practical_threshold: 0.01  # the smallest difference that matters",
    ]
    return lines if candidate else [_comment(line) for line in lines]


def _comment(line: str) -> str:
    return f"# {line}"


def _space(p: Parameter) -> str:
    """A search range around the parameter's default, or "" when it is not searchable."""
    base, value = p.type.base, p.default
    if p.required or p.type.optional or "seed" in p.name.lower():
        return ""
    if base == "bool":
        return "{type: categorical, choices: [false, true]}"
    if base == "float" and isinstance(value, float) and value > 0 and math.isfinite(value):
        low, high = _round(value / 10), _round(value * 10)
        return f"{{type: float, low: {_yaml(low)}, high: {_yaml(high)}, log: true}}"
    if base == "int" and isinstance(value, int) and value >= 2:
        return f"{{type: int, low: {max(1, value // 2)}, high: {value * 2}}}"
    return ""


def _example_change(found: NotebookParameters) -> dict[str, Any]:
    """A change worth testing for the commented comparison: a usual hyperparameter first."""
    searchable = [p for p in found.parameters.values() if _space(p) and p.type.is_numeric]
    usual = [p for p in searchable if p.name.lower() in _HYPERPARAMETERS]
    for p in [*usual, *searchable]:
        return {p.name: _round(p.default * 10) if p.type.base == "float" else p.default * 2}
    return {}


def _searched(found: NotebookParameters, names: Sequence[str], shown: str) -> list[str]:
    problems = []
    for name in names:
        if name not in found.parameters:
            close = did_you_mean(name, found.names)
            fix = f"did you mean '{close}'?" if close else f"one of: {', '.join(found.names)}"
            problems.append(Problem(SOURCE, "--sweep", f"{shown} has no parameter {name!r}", fix))
        elif not _space(found.parameters[name]):
            problems.append(
                Problem(
                    SOURCE,
                    "--sweep",
                    f"cannot derive a range for {name!r} from its default",
                    "search int (default 2 or more), positive float or bool parameters; add "
                    "others to the space by hand",
                )
            )
    if problems:
        raise SpecError(problems)
    return list(names)


def _candidate(found: NotebookParameters, changes: Sequence[str], shown: str) -> dict[str, Any]:
    if not changes:
        return {}
    raw, malformed = parse_assignments(changes, source=SOURCE)
    problems = [
        Problem(SOURCE, p.field.replace("-p ", "--compare ", 1), p.message, "e.g. alpha=0.01")
        for p in malformed
    ]
    values, wrong = resolve_overrides(
        found, raw, source=SOURCE, field="--compare", notebook_name=shown, from_text=True
    )
    if problems or wrong:
        raise SpecError(problems + wrong)
    return values


def _heading(notebook: Path) -> str:
    """The notebook's first markdown heading, without the ``#``."""
    try:
        cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError):
        return ""
    for cell in cells:
        if cell.get("cell_type") == "markdown":
            source = "".join(cell.get("source") or [])
            for line in source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return ""


def _val_metric(notebook: Path) -> str | None:
    """A ``val_*`` metric the notebook's code names, preferring accuracy and loss."""
    cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
    code = "\n".join("".join(c.get("source") or []) for c in cells if c.get("cell_type") == "code")
    names = list(dict.fromkeys(_VAL_METRIC.findall(code)))
    for preferred in ("val_acc", "val_accuracy", "val_f1", "val_loss"):
        if preferred in names:
            return preferred
    return names[0] if names else None


def _round(value: float) -> float:
    return float(f"{value:.3g}")


def _yaml(value: Any) -> str:
    """``value`` as YAML that reads back as the same value and type (flow style)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        mantissa, e, exponent = text.partition("e")
        if e and "." not in mantissa:
            text = f"{mantissa}.0e{exponent}"
        return text
    if isinstance(value, str):
        import yaml

        if _PLAIN.fullmatch(value) and yaml.safe_load(value) == value:
            return value
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_yaml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_yaml(str(k))}: {_yaml(v)}" for k, v in value.items()) + "}"
    return json.dumps(str(value))
