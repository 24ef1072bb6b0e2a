"""Read a notebook's ``parameters`` cell without starting a kernel."""

from __future__ import annotations

import ast
import io
import json
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loclab.exceptions import Problem, SpecError
from loclab.params.types import ParamType, coerce_value, parse_type, type_of_literal

__all__ = ["NotebookParameters", "Parameter", "inspect_notebook"]

PARAMETERS_TAG = "parameters"


@dataclass(frozen=True)
class Parameter:
    """One declared notebook parameter.

    Attributes:
        name: Variable name.
        type: Declared type (inferred from the default when the line has no annotation).
        default: Default value; None for a required parameter.
        default_text: The default as written in the cell.
        help: The trailing comment.
        required: True when the default is None but the type does not admit None: the value
            must come from the spec or the command line.
        annotated: False when the type was inferred rather than declared.
    """

    name: str
    type: ParamType
    default: Any
    default_text: str
    help: str
    required: bool
    annotated: bool = True


@dataclass(frozen=True)
class NotebookParameters:
    """The parameters a notebook declares, in cell order.

    Attributes:
        path: The notebook file.
        parameters: Name to parameter.
        problems: What is wrong with the cell itself (not with any override).
        kernel: The notebook's kernel name.
    """

    path: Path
    parameters: dict[str, Parameter]
    problems: list[Problem] = field(default_factory=list)
    kernel: str = "python3"

    def __contains__(self, name: object) -> bool:
        return name in self.parameters

    def __getitem__(self, name: str) -> Parameter:
        return self.parameters[name]

    @property
    def names(self) -> list[str]:
        """Parameter names in declaration order."""
        return list(self.parameters)

    def defaults(self) -> dict[str, Any]:
        """Name to default value."""
        return {p.name: p.default for p in self.parameters.values()}


def inspect_notebook(path: str | Path, *, display_path: str | None = None) -> NotebookParameters:
    """Parse the cell tagged ``parameters``.

    Args:
        path: The ``.ipynb`` file.
        display_path: How to name the file in messages (defaults to ``path``).

    Returns:
        The declared parameters, plus problems found in the cell.

    Raises:
        SpecError: The file is missing, is not a notebook, or has no parameters cell.
    """
    path = Path(path)
    shown = display_path or str(path)
    if not path.exists():
        raise SpecError([Problem(shown, "", "notebook not found", "check the path")])
    if not path.is_file():
        raise SpecError([Problem(shown, "", "is a folder, not a notebook", "name a .ipynb file")])
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
        cells = nb["cells"]
        if not isinstance(cells, list):
            raise TypeError("'cells' is not a list")
    except OSError as err:
        raise SpecError(
            [Problem(shown, "", f"cannot be read ({err.strerror})", "check its permissions")]
        ) from None
    except UnicodeDecodeError:
        raise SpecError(
            [Problem(shown, "", "is not UTF-8 text, so not a notebook", "save it from Jupyter")]
        ) from None
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        what = f"no {err}" if isinstance(err, KeyError) else str(err).splitlines()[0]
        raise SpecError(
            [Problem(shown, "", f"not a Jupyter notebook ({what})", "save it from Jupyter")]
        ) from None
    kernel = nb.get("metadata", {}).get("kernelspec", {}).get("name", "python3")
    tagged = [
        c
        for c in cells
        if c.get("cell_type") == "code"
        and PARAMETERS_TAG in (c.get("metadata", {}).get("tags") or [])
    ]
    if not tagged:
        raise SpecError(
            [
                Problem(
                    shown,
                    "",
                    "no code cell is tagged 'parameters'",
                    "add the tag 'parameters' to the cell that holds the defaults "
                    "(JupyterLab: property inspector > Cell Tags)",
                )
            ]
        )
    source = tagged[0]["source"]
    if isinstance(source, list):
        source = "".join(source)
    params, problems = _parse_cell(source, shown)
    if len(tagged) > 1:
        problems.append(
            Problem(shown, "", "more than one cell is tagged 'parameters'", "keep one")
        )
    return NotebookParameters(path=path, parameters=params, problems=problems, kernel=kernel)


def _parse_cell(source: str, shown: str) -> tuple[dict[str, Parameter], list[Problem]]:
    problems: list[Problem] = []
    try:
        tree = ast.parse(source)
    except SyntaxError as err:
        return {}, [
            Problem(shown, "parameters cell", f"line {err.lineno}: {err.msg}", "fix the syntax")
        ]
    comments = _comments_by_line(source)
    params: dict[str, Parameter] = {}
    for node in tree.body:
        where = f"parameters cell line {node.lineno}"
        if isinstance(node, ast.ImportFrom) and node.module == "typing":
            continue  # ``from typing import Literal``: what the annotations below need
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            name = node.target.id
            annotation = ast.unparse(node.annotation)
            try:
                ptype = parse_type(annotation)
            except ValueError as err:
                problems.append(Problem(shown, f"{where} ({name})", str(err)))
                continue
            annotated = True
            value_node = node.value
        elif (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            name = node.targets[0].id
            value_node = node.value
            ptype, annotated = None, False
        else:
            problems.append(
                Problem(
                    shown,
                    where,
                    "only 'name: type = default  # help' lines belong in the parameters cell",
                    "move other code to the next cell",
                )
            )
            continue
        if value_node is None:
            default, default_text = None, ""
        else:
            default_text = ast.get_source_segment(source, value_node) or ast.unparse(value_node)
            try:
                default = ast.literal_eval(value_node)
            except (ValueError, SyntaxError):
                problems.append(
                    Problem(
                        shown,
                        f"{where} ({name})",
                        f"default '{default_text}' is not a literal",
                        "use a plain number, string, bool, list or dict",
                    )
                )
                continue
        if ptype is None:
            ptype = type_of_literal(default)
        required = default is None and not ptype.optional and ptype.base != "any"
        if default is not None:
            try:
                default = coerce_value(default, ptype)
            except ValueError as err:
                problems.append(
                    Problem(
                        shown,
                        f"{where} ({name})",
                        f"default does not match the declared type: {err}",
                        "fix the default or the annotation",
                    )
                )
                continue
        if name in params:
            problems.append(Problem(shown, f"{where} ({name})", "declared twice", "keep one"))
        params[name] = Parameter(
            name=name,
            type=ptype,
            default=default,
            default_text=default_text,
            help=comments.get(node.end_lineno or node.lineno, ""),
            required=required,
            annotated=annotated,
        )
    return params, problems


def _comments_by_line(source: str) -> dict[int, str]:
    found: dict[int, str] = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                found[tok.start[0]] = tok.string.lstrip("#").strip()
    except (tokenize.TokenError, IndentationError):
        pass
    return found
