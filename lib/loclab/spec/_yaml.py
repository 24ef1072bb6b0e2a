"""Reading a YAML file strictly: UTF-8, no duplicate keys, no NaN or infinity anywhere.

PyYAML's loaders let the last of two equal keys win silently and read ``.nan`` and ``.inf``
as numbers; in a spec both are mistakes (``name:`` twice runs the wrong experiment; a
``timeout: .nan`` is no limit at all), so both are refused with the line they are on.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from loclab.exceptions import Problem

__all__ = ["read_yaml"]


def read_yaml(path: Path, shown: str) -> tuple[Any, list[Problem]]:
    """The YAML document in ``path``, and every problem found reading it.

    Args:
        path: The file.
        shown: The file as the user named it (for messages).

    Returns:
        The document (None when it could not be read) and the problems: bytes that are not
        UTF-8, invalid YAML, duplicate keys, non-finite numbers.
    """
    import yaml

    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        line = path.read_bytes()[: err.start].count(b"\n") + 1
        return None, [
            Problem(shown, f"line {line}", "is not UTF-8 text", "save the file as UTF-8")
        ]
    except OSError as err:
        return None, [Problem(shown, "", f"cannot be read ({err.strerror})", "check the path")]
    problems: list[Problem] = []

    class StrictLoader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML has no stubs here
        pass

    def mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = loader.construct_object(key_node)
            line = key_node.start_mark.line + 1
            if key in seen:
                problems.append(
                    Problem(
                        shown,
                        f"line {line}",
                        f"key '{key}' appears twice (also on line {seen[key]})",
                        "keep one",
                    )
                )
            seen.setdefault(key, line)
        return dict(loader.construct_mapping(node))

    def number(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> float:
        value = float(loader.construct_yaml_float(node))
        if not math.isfinite(value):
            problems.append(
                Problem(
                    shown,
                    f"line {node.start_mark.line + 1}",
                    f"'{node.value}' is not a finite number",
                    "use a finite value (leave the field out for no limit)",
                )
            )
        return value

    StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    StrictLoader.add_constructor("tag:yaml.org,2002:float", number)
    try:
        data = yaml.load(text, Loader=StrictLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        what = getattr(err, "problem", None) or str(err).splitlines()[0]
        return None, [*problems, Problem(shown, where, f"invalid YAML: {what}", "fix the syntax")]
    return data, problems
