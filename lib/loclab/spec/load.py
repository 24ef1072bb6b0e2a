"""Load a spec file, check it against its notebook, and resolve every path and value.

All checks happen here, at the boundary, before any kernel starts; failures are collected and
raised together as one :class:`~loclab.exceptions.SpecError` (one line per problem).
"""

from __future__ import annotations

import math
import re
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loclab.exceptions import Problem, SpecError
from loclab.params import NotebookParameters, inspect_notebook
from loclab.params.validate import (
    did_you_mean,
    missing_required,
    parse_assignments,
    resolve_overrides,
)
from loclab.security import add_secret_words, register_secrets
from loclab.spec._channels import Fetch, RemoteSource, resolve_channels
from loclab.spec._datafiles import is_data_param, resolve_data_params
from loclab.spec._secrets import (
    expand_param_vars,
    project_secret_words,
    secret_names,
    secret_values,
)
from loclab.spec._yaml import read_yaml
from loclab.spec.backend import DEFAULTS_FILE, SageMakerSettings, resolve_sagemaker
from loclab.spec.checks import check_sections
from loclab.spec.model import Spec

__all__ = [
    "ROOT_MARKERS",
    "Experiment",
    "find_project_root",
    "load_experiment",
    "load_spec",
    "project_root",
]

#: What marks a project's root folder (``loclab init`` writes ``loclab.yaml``).
ROOT_MARKERS = ("loclab.yaml", "pyproject.toml", ".git", ".loclab")


@dataclass(frozen=True)
class Experiment:
    """A validated spec with everything resolved.

    Attributes:
        spec: The parsed spec.
        spec_path: The spec file.
        display_path: The spec file as the user named it (for messages).
        root: The project root relative paths resolve against.
        notebook_path: The template notebook.
        notebook: Its declared parameters.
        params: The spec's ``params`` and the command-line overrides, typed.
        cli_params: Only the command-line overrides (they win over per-system params).
        channels: Channel name to the file or folder it mounts (a fetched copy for a URL).
        remote_channels: Channel name to the URL it was fetched from (``s3://``,
            ``https://``); a channel here but not in ``channels`` was not fetched.
        sagemaker: The SageMaker settings, resolved once at load (``backend: sagemaker``
            only): spec, then ``$LOCLAB_SAGEMAKER_*``, then ``loclab.yaml``, then defaults.
        sweep_storage: The spec's ``sweep.storage`` with ``${VAR}`` references expanded.
        data_paths: Data-file parameter values (``*_path``, ``*_file``...) as written, to
            the absolute paths local jobs get (see :mod:`loclab.spec._datafiles`).
        secret_params: Parameters whose values are secret (names that say so, values from
            ``${VAR}``): registered with :mod:`loclab.security` and passed to jobs in the
            environment, never in ``hyperparameters.json``.
    """

    spec: Spec
    spec_path: Path
    display_path: str
    root: Path
    notebook_path: Path
    notebook: NotebookParameters
    params: dict[str, Any]
    cli_params: dict[str, Any] = field(default_factory=dict)
    channels: dict[str, Path] = field(default_factory=dict)
    sagemaker: SageMakerSettings | None = None
    sweep_storage: str | None = None
    secret_params: frozenset[str] = frozenset()
    data_paths: dict[str, str] = field(default_factory=dict)
    remote_channels: dict[str, RemoteSource] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The experiment's name."""
        return self.spec.name

    @property
    def notebook_display(self) -> str:
        """The notebook path as written in the spec."""
        return self.spec.notebook

    @property
    def workers(self) -> int:
        """Jobs of the job stage run at once: ``compare.workers``, else ``sweep.workers``."""
        compare, sweep = self.spec.compare, self.spec.sweep
        if compare is not None and compare.workers is not None:
            return compare.workers
        return sweep.workers if sweep is not None else 1

    def job_overrides(
        self,
        *,
        system: str | None = None,
        winner: Mapping[str, Any] | None = None,
        trial: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The parameter overrides of one job; the one place that decides precedence.

        From lowest to highest: the spec's ``params``; the sweep's fixed ``sweep.params``
        (trials only); the system's ``params`` (comparison jobs); the command line's ``-p``;
        the sweep winner's searched values (systems ``from_sweep``); the trial's searched
        values.

        Args:
            system: The compared system the job runs.
            winner: The searched values of the sweep configuration the system takes.
            trial: The searched values of a sweep trial.

        Raises:
            KeyError: ``system`` is not a system of ``compare``.
        """
        merged = {k: v for k, v in self.params.items() if k not in self.cli_params}
        if trial is not None and self.spec.sweep is not None:
            merged.update(self.spec.sweep.params)
        if system is not None:
            if self.spec.compare is None or system not in self.spec.compare.systems:
                raise KeyError(system)
            merged.update(self.spec.compare.systems[system].params)
        merged.update(self.cli_params)
        merged.update(winner or {})
        merged.update(trial or {})
        for name, value in merged.items():
            if isinstance(value, str) and value in self.data_paths and is_data_param(name):
                merged[name] = self.data_paths[value]
        return merged


def project_root(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` holding one of :data:`ROOT_MARKERS`, or None."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if any((folder / m).exists() for m in ROOT_MARKERS):
            return folder
    return None


def find_project_root(start: Path) -> Path:
    """The nearest folder at or above ``start`` holding one of :data:`ROOT_MARKERS`.

    ``start`` itself when there is none.
    """
    return project_root(start) or start.resolve()


def load_spec(path: str | Path) -> Spec:
    """Parse and validate a spec file on its own (not against its notebook).

    Raises:
        SpecError: One problem per unknown key, missing field or invalid value.
    """
    from pydantic import ValidationError

    shown = str(path)
    path = Path(path)
    if not path.is_file():
        what = "is a folder, not a spec file" if path.is_dir() else "spec file not found"
        raise SpecError([Problem(shown, "", what, "give the path of a .yaml spec")])
    data, found = read_yaml(path, shown)
    if data is None and found:
        raise SpecError(found)
    if not isinstance(data, dict):
        raise SpecError(
            [*found, Problem(shown, "", "expected a mapping of fields (name:, notebook:, ...)")]
        )
    problems = [*found, *_unknown_keys(data, Spec, "", shown)]
    try:
        spec = Spec.model_validate(data)
    except ValidationError as err:
        raise SpecError([*problems, *_pydantic_problems(err, shown)]) from None
    if problems:
        raise SpecError(problems)
    return spec


def load_experiment(
    path: str | Path,
    overrides: Sequence[str] = (),
    *,
    root: Path | None = None,
    environ: Mapping[str, str] | None = None,
    channel_paths: Mapping[str, str | Path] | None = None,
    fetch: Fetch | None = None,
) -> Experiment:
    """Load a spec and check it against its notebook and the command line.

    Args:
        path: The spec file.
        overrides: ``name=value`` items from ``-p``.
        root: Project root; found from the spec's location by default.
        environ: The environment ``${VAR}`` references and ``$LOCLAB_SAGEMAKER_*`` settings
            are read from (the command line passes its own; library callers pass what they
            mean, nothing is read behind their back). None: an empty environment.
        channel_paths: Channels pointed elsewhere (``--channel NAME=PATH``); each name must be
            one of the spec's channels, each path exists (relative paths start at the
            current folder); or a URL, as in the spec's ``channels``.
        fetch: Fetches ``s3://`` and ``https://`` channels into the state cache
            (:class:`loclab.run.channels.ChannelFetcher`); None: they are checked for form
            only, and data files in them are not checked (``loclab validate``).

    Returns:
        The resolved experiment.

    Raises:
        SpecError: Everything wrong, one problem per line. Nothing has run or been written.
    """
    shown = str(path)
    spec = load_spec(path)
    spec_path = Path(path).resolve()
    root = (root or find_project_root(spec_path.parent)).resolve()
    notebook_path = (root / spec.notebook).resolve()
    notebook_shown = spec.notebook
    problems: list[Problem] = []
    try:
        notebook = inspect_notebook(notebook_path, display_path=notebook_shown)
    except SpecError as err:
        raise SpecError(
            [Problem(shown, "notebook", p.message, p.fix) for p in err.problems]
        ) from None
    problems.extend(notebook.problems)
    environ = {} if environ is None else environ
    spec, from_vars, found = expand_param_vars(spec, environ, source=shown)
    problems.extend(found)
    words, found = project_secret_words(root, DEFAULTS_FILE)
    problems.extend(found)
    add_secret_words(words)

    params, found = resolve_overrides(
        notebook, spec.params, source=shown, field="params", notebook_name=notebook_shown
    )
    problems.extend(found)
    raw_cli, found = parse_assignments(overrides, source=shown)
    problems.extend(found)
    cli_params, found = resolve_overrides(
        notebook,
        raw_cli,
        source=shown,
        field="-p",
        notebook_name=notebook_shown,
        from_text=True,
    )
    problems.extend(found)
    params.update(cli_params)
    secrets = secret_names(spec, cli_params, from_vars)
    register_secrets(secret_values(spec, cli_params, secrets))

    resolved = resolve_channels(
        spec.channels, dict(channel_paths or {}), root=root, shown=shown, fetch=fetch
    )
    problems.extend(resolved.problems)
    channels = resolved.paths

    problems.extend(
        check_sections(spec, notebook, params=params, source=shown, notebook_name=notebook_shown)
    )
    sagemaker: SageMakerSettings | None = None
    if spec.backend.kind == "sagemaker":
        sagemaker, found = resolve_sagemaker(
            spec.backend, root=root, source=shown, environ=environ
        )
        problems.extend(found)
    sweep_storage: str | None = None
    if spec.sweep is not None and spec.sweep.storage:
        sweep_storage, found = expand_vars(
            spec.sweep.storage, environ, source=shown, field="sweep.storage"
        )
        problems.extend(found)
    data_paths, found = _data_paths(spec, cli_params, root, channels, shown, resolved.pending)
    problems.extend(found)
    provided = set(params)
    if spec.compare is not None:
        # Required values may come from every system instead of the shared params.
        per_system = [set(s.params) for s in spec.compare.systems.values()]
        provided |= set.intersection(*per_system) if per_system else set()
    if spec.sweep is not None:
        provided |= set(spec.sweep.space) | set(spec.sweep.params)
    problems.extend(
        missing_required(notebook, provided, source=shown, notebook_name=notebook_shown)
    )
    if problems:
        raise SpecError(problems)
    return Experiment(
        spec=spec,
        spec_path=spec_path,
        display_path=shown,
        root=root,
        notebook_path=notebook_path,
        notebook=notebook,
        params=params,
        cli_params=cli_params,
        channels=channels,
        remote_channels=resolved.remote,
        sagemaker=sagemaker,
        sweep_storage=sweep_storage,
        secret_params=frozenset(secrets),
        data_paths=data_paths,
    )


def _data_paths(
    spec: Spec,
    cli_params: Mapping[str, Any],
    root: Path,
    channels: Mapping[str, Path],
    shown: str,
    pending: Sequence[str] = (),
) -> tuple[dict[str, str], list[Problem]]:
    """Every data-file parameter value of the spec and command line, checked and resolved."""
    sources: list[tuple[str, Mapping[str, Any]]] = [("params", spec.params), ("-p", cli_params)]
    if spec.sweep is not None:
        sources.append(("sweep.params", spec.sweep.params))
    if spec.compare is not None:
        sources += [
            (f"compare.systems.{n}.params", s.params) for n, s in spec.compare.systems.items()
        ]
    resolved: dict[str, str] = {}
    problems: list[Problem] = []
    remote = spec.backend.kind == "sagemaker"
    for where, values in sources:
        changed, found = resolve_data_params(
            values,
            root=root,
            channels=channels,
            remote=remote,
            source=shown,
            field=where,
            written={k: str(v).partition("#")[0] for k, v in spec.channels.items()},
            pending=bool(pending),
        )
        problems += found
        resolved.update({values[k]: v for k, v in changed.items()})
    return resolved, problems


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def expand_vars(
    text: str, environ: Mapping[str, str], *, source: str, field: str
) -> tuple[str, list[Problem]]:
    """``text`` with ``${NAME}`` (or ``$NAME``) replaced from ``environ``.

    Returns:
        The expanded text and one problem per variable that is not set.
    """
    problems: list[Problem] = []

    def value(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        if name not in environ:
            problems.append(
                Problem(source, field, f"names ${{{name}}}, which is not set", f"export {name}")
            )
            return m.group(0)
        return environ[name]

    return _VAR.sub(value, text), problems


def _unknown_keys(data: Any, model: Any, prefix: str, shown: str) -> list[Problem]:
    """Unknown keys anywhere in ``data``, each with the closest valid key."""
    if not isinstance(data, dict):
        return []
    problems: list[Problem] = []
    fields = model.model_fields
    aliases = {f.alias: name for name, f in fields.items() if f.alias}
    for key, value in data.items():
        name = aliases.get(key, key)
        where = f"{prefix}{key}"
        if name not in fields:
            close = did_you_mean(str(key), list(fields))
            fix = f"did you mean '{close}'?" if close else f"valid keys: {', '.join(fields)}"
            problems.append(Problem(shown, where, "unknown key", fix))
            continue
        for kind, sub in _nested_models(fields[name].annotation):
            if kind == "model":
                problems.extend(_unknown_keys(value, sub, f"{where}.", shown))
            elif kind == "dict" and isinstance(value, dict):
                for k, v in value.items():
                    problems.extend(_unknown_keys(v, sub, f"{where}.{k}.", shown))
    return problems


def _nested_models(annotation: Any) -> list[tuple[str, Any]]:
    from pydantic import BaseModel

    found: list[tuple[str, Any]] = []
    origin = typing.get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        found.append(("model", annotation))
    elif origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found.extend(_nested_models(arg))
    elif origin is dict:
        args = typing.get_args(annotation)
        if len(args) == 2:
            found.extend(("dict", m) for kind, m in _nested_models(args[1]) if kind == "model")
    return found


def _pydantic_problems(err: Any, shown: str) -> list[Problem]:
    problems = []
    for e in err.errors():
        if e["type"] == "extra_forbidden":
            continue  # reported with the closest valid key (_unknown_keys)
        found = e.get("input")
        if isinstance(found, float) and not math.isfinite(found):
            continue  # reported with its line by the YAML reader
        loc = ".".join(str(p) for p in e["loc"] if not str(p).startswith("function-"))
        kind = e["type"]
        msg = str(e["msg"]).removeprefix("Value error, ")
        fix = ""
        if kind == "missing":
            msg, fix = "required field is missing", "add it"
        elif kind == "string_pattern_mismatch" and loc == "name":
            msg = f"'{e.get('input')}' is not a valid experiment name"
            fix = "use lower-case letters, digits and hyphens (at most 40), e.g. term-qa"
        elif kind.endswith("_type") or kind.endswith("_parsing"):
            fix = f"got {e.get('input')!r}"
        problems.append(Problem(shown, loc, msg, fix))
    return problems
