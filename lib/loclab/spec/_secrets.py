"""Secret parameters: ``${VAR}`` in parameter values, secret-named parameters, project words.

A parameter value written as ``${NAME}`` (or containing it) in ``params``, ``sweep.params`` or a
system's ``params`` is read from the environment when the spec loads, so a token is never
written in a spec; such values, and the values of parameters whose names say secret
(:func:`loclab.security.is_secret_name`), are *secret*: they are registered with
:mod:`loclab.security` (redacted by value wherever loclab writes or prints) and travel to jobs
in an environment variable instead of ``hyperparameters.json``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from loclab.exceptions import Problem
from loclab.spec.model import Spec

__all__ = ["expand_param_vars", "project_secret_words", "secret_names", "secret_values"]

#: ``${NAME}`` only: a bare ``$`` in a parameter value (a regex, a price) stays as written.
_BRACED = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _expand(
    values: Mapping[str, Any], environ: Mapping[str, str], source: str, field: str
) -> tuple[dict[str, Any], set[str], list[Problem]]:
    out: dict[str, Any] = {}
    expanded: set[str] = set()
    problems: list[Problem] = []
    for key, value in values.items():
        if not isinstance(value, str) or not _BRACED.search(value):
            out[key] = value
            continue

        def one(m: re.Match[str], key: str = key) -> str:
            name = m.group(1)
            if name not in environ:
                problems.append(
                    Problem(
                        source,
                        f"{field}.{key}",
                        f"names ${{{name}}}, which is not set",
                        f"export {name}",
                    )
                )
                return m.group(0)
            return environ[name]

        out[key] = _BRACED.sub(one, value)
        expanded.add(key)
    return out, expanded, problems


def expand_param_vars(
    spec: Spec, environ: Mapping[str, str], *, source: str
) -> tuple[Spec, set[str], list[Problem]]:
    """The spec with ``${NAME}`` in parameter values read from ``environ``.

    Returns:
        The spec, the names of the parameters whose values came from variables, and one
        problem per variable that is not set.
    """
    params, names, problems = _expand(spec.params, environ, source, "params")
    update: dict[str, Any] = {"params": params}
    if spec.sweep is not None:
        fixed, found, more = _expand(spec.sweep.params, environ, source, "sweep.params")
        names |= found
        problems += more
        update["sweep"] = spec.sweep.model_copy(update={"params": fixed})
    if spec.compare is not None:
        systems = {}
        for system_name, system in spec.compare.systems.items():
            values, found, more = _expand(
                system.params, environ, source, f"compare.systems.{system_name}.params"
            )
            names |= found
            problems += more
            systems[system_name] = system.model_copy(update={"params": values})
        update["compare"] = spec.compare.model_copy(update={"systems": systems})
    if not names:
        return spec, names, problems
    return spec.model_copy(update=update), names, problems


def secret_names(spec: Spec, cli_params: Mapping[str, Any], from_vars: Iterable[str]) -> set[str]:
    """Every parameter of the spec or command line that is secret (by name or by ``${VAR}``)."""
    from loclab.security import is_secret_name

    names = set(spec.params) | set(cli_params)
    if spec.sweep is not None:
        names |= set(spec.sweep.params)
    if spec.compare is not None:
        for system in spec.compare.systems.values():
            names |= set(system.params)
    return {n for n in names if is_secret_name(n)} | set(from_vars)


def secret_values(spec: Spec, cli_params: Mapping[str, Any], names: set[str]) -> list[Any]:
    """The values the spec and command line give the secret parameters ``names``."""
    sources: list[Mapping[str, Any]] = [spec.params, cli_params]
    if spec.sweep is not None:
        sources.append(spec.sweep.params)
    if spec.compare is not None:
        sources += [system.params for system in spec.compare.systems.values()]
    return [source[n] for source in sources for n in names if n in source]


def project_secret_words(root: Path, defaults_file: str) -> tuple[list[str], list[Problem]]:
    """More words that make a name secret, from ``loclab.yaml`` (``secrets: {names: [...]}``)."""
    path = root / defaults_file
    if not path.is_file():
        return [], []
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return [], []  # reported where loclab.yaml is read for its other sections
    section = data.get("secrets") if isinstance(data, dict) else None
    if section is None:
        return [], []
    names = section.get("names") if isinstance(section, dict) else None
    if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
        return [], [
            Problem(
                str(path),
                "secrets.names",
                "expected a list of words",
                "e.g. secrets: {names: [endpoint, dsn]}",
            )
        ]
    return [n.strip() for n in names], []
