"""Write small notebooks from source strings (for tests and examples)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

__all__ = ["write_notebook"]


def write_notebook(
    path: Path,
    parameters: str,
    cells: Sequence[str] = (),
    *,
    markdown: str | None = None,
) -> Path:
    """Write a Python notebook with a ``parameters`` cell and code cells, without outputs.

    Args:
        path: Where to write the ``.ipynb``.
        parameters: Source of the cell tagged ``parameters``.
        cells: Sources of the following code cells.
        markdown: Optional first markdown cell.

    Returns:
        ``path``.
    """
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    if markdown:
        nb.cells.append(new_markdown_cell(markdown))
    nb.cells.append(new_code_cell(parameters, metadata={"tags": ["parameters"]}))
    nb.cells.extend(new_code_cell(src) for src in cells)
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i}"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path
