"""What a notebook imports, read from its source: the modules a warm standby imports early.

The code cells are parsed, not run. ``import a.b`` gives ``a.b``; ``from a.b import c, d`` gives
``a.b:c,d`` (``c`` and ``d`` are imported too when they are submodules). An import under an
``if`` whose test reads only parameters and literals (``if model == "char_cnn":``) counts only
when the test holds for the job's parameters; any other test counts both branches. Imports in
function and class bodies (run only when called), relative imports and IPython magics are left
out.
"""

from __future__ import annotations

import ast
import json
import operator
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

__all__ = ["notebook_imports"]

_UNKNOWN = object()
_COMPARE: dict[type[ast.cmpop], Any] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}


def notebook_imports(notebook: Path, params: Mapping[str, Any] | None = None) -> list[str]:
    """Modules ``notebook``'s code cells import, in order of appearance, without repeats.

    Args:
        notebook: The ``.ipynb`` file.
        params: The job's parameter values (decide ``if`` tests over parameters).

    Returns:
        Entries ``"pkg.mod"`` or ``"pkg.mod:name1,name2"`` (see the module docstring).
    """
    cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
    found: dict[str, list[str]] = {}
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        tree = _parse(source)
        if tree is None:
            continue
        for module, names in _imports(tree.body, dict(params or {})):
            known = found.setdefault(module, [])
            known.extend(n for n in names if n not in known)
    return [f"{m}:{','.join(n)}" if n else m for m, n in found.items()]


def _parse(source: str) -> ast.Module | None:
    # Magics and shell escapes are not Python; blank them (keeping line numbers).
    lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


def _imports(
    body: Iterable[ast.stmt], params: Mapping[str, Any]
) -> Iterator[tuple[str, tuple[str, ...]]]:
    for node in body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, ()
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                yield node.module, tuple(a.name for a in node.names if a.name != "*")
        elif isinstance(node, ast.If):
            test = _evaluate(node.test, params)
            if test is _UNKNOWN or test:
                yield from _imports(node.body, params)
            if test is _UNKNOWN or not test:
                yield from _imports(node.orelse, params)
        elif isinstance(node, ast.Try | ast.TryStar):
            for part in (node.body, *(h.body for h in node.handlers), node.orelse):
                yield from _imports(part, params)
            yield from _imports(node.finalbody, params)
        elif isinstance(node, ast.For | ast.AsyncFor | ast.While | ast.With | ast.AsyncWith):
            yield from _imports(node.body, params)
            yield from _imports(getattr(node, "orelse", []), params)


def _evaluate(node: ast.expr, params: Mapping[str, Any]) -> Any:
    """The value of an expression over parameters and literals, or ``_UNKNOWN``."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return params.get(node.id, _UNKNOWN)
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        items = [_evaluate(e, params) for e in node.elts]
        return _UNKNOWN if any(i is _UNKNOWN for i in items) else tuple(items)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        value = _evaluate(node.operand, params)
        return _UNKNOWN if value is _UNKNOWN else not value
    if isinstance(node, ast.BoolOp):
        values = [_evaluate(v, params) for v in node.values]
        if any(v is _UNKNOWN for v in values):
            return _UNKNOWN
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.Compare):
        left = _evaluate(node.left, params)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = _evaluate(right_node, params)
            compare = _COMPARE.get(type(op))
            if left is _UNKNOWN or right is _UNKNOWN or compare is None:
                return _UNKNOWN
            try:
                if not compare(left, right):
                    return False
            except TypeError:
                return _UNKNOWN
            left = right
        return True
    return _UNKNOWN
