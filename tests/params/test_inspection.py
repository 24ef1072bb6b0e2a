import json
from pathlib import Path

import pytest

from loclab.exceptions import SpecError
from loclab.params import inspect_notebook
from loclab.testing import write_notebook


def nb(tmp_path: Path, source: str) -> Path:
    return write_notebook(tmp_path / "n.ipynb", source, ["print(1)"])


def test_reads_typed_lines(tmp_path):
    path = nb(
        tmp_path,
        "lr: float = 1e-3  # learning rate\n"
        'name: str = "a # not a comment"  # the name\n'
        "layers: list[int] = [\n    64,\n    32,\n]  # sizes\n"
        "flag: bool = False\n"
        "data_path: str = None  # required: where the data is\n"
        "limit: Optional[int] = None  # optional cap\n",
    )
    found = inspect_notebook(path)
    assert found.problems == []
    assert found.names == ["lr", "name", "layers", "flag", "data_path", "limit"]
    assert found["lr"].default == 1e-3 and found["lr"].help == "learning rate"
    assert found["name"].default == "a # not a comment" and found["name"].help == "the name"
    assert found["layers"].default == [64, 32] and found["layers"].help == "sizes"
    assert found["flag"].help == ""
    assert found["data_path"].required and not found["limit"].required
    assert str(found["layers"].type) == "list[int]"


def test_untyped_lines_are_inferred(tmp_path):
    found = inspect_notebook(nb(tmp_path, "epochs = 3  # epochs\nratio = 0.5\n"))
    assert str(found["epochs"].type) == "int" and not found["epochs"].annotated
    assert str(found["ratio"].type) == "float"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "import os\nx: int = 1",
            "parameters cell line 1: only 'name: type = default  # help' "
            "lines belong in the parameters cell; move other code to the next cell",
        ),
        (
            "x: int = len('a')",
            "parameters cell line 1 (x): default 'len('a')' is not a literal; "
            "use a plain number, string, bool, list or dict",
        ),
        (
            "x: int = 'a'",
            "parameters cell line 1 (x): default does not match the declared type: "
            "expected int, got str 'a'; fix the default or the annotation",
        ),
        (
            "x: tuple = (1,)",
            "parameters cell line 1 (x): unsupported type 'tuple' (use int, "
            "float, bool, str, list[...], dict, Optional)",
        ),
        ("x: int = 1\nx: int = 2", "parameters cell line 2 (x): declared twice; keep one"),
        ("x: int = (", "parameters cell: line 1: '(' was never closed; fix the syntax"),
    ],
)
def test_cell_problems(tmp_path, source, message):
    found = inspect_notebook(nb(tmp_path, source), display_path="n.ipynb")
    assert [str(p) for p in found.problems] == [f"n.ipynb: {message}"]


def test_no_parameters_cell(tmp_path):
    path = tmp_path / "n.ipynb"
    path.write_text(
        json.dumps(
            {"cells": [{"cell_type": "code", "source": "x=1", "metadata": {}}], "metadata": {}}
        )
    )
    with pytest.raises(SpecError) as err:
        inspect_notebook(path, display_path="n.ipynb")
    assert str(err.value) == (
        "n.ipynb: no code cell is tagged 'parameters'; add the tag 'parameters' to the cell "
        "that holds the defaults (JupyterLab: property inspector > Cell Tags)"
    )


def test_not_a_notebook(tmp_path):
    path = tmp_path / "n.ipynb"
    path.write_text("{")
    with pytest.raises(SpecError, match="not a Jupyter notebook"):
        inspect_notebook(path)


def test_same_as_papermill(tmp_path, probe_template):
    """Papermill's own inspection sees the same names and help (``--help-notebook``)."""
    from papermill.inspection import _infer_parameters
    from papermill.iorw import load_notebook_node

    ours = inspect_notebook(probe_template)
    theirs = _infer_parameters(load_notebook_node(str(probe_template)))
    assert [p.name for p in theirs] == ours.names
    assert [p.help for p in theirs] == [p.help for p in ours.parameters.values()]
    assert [p.inferred_type_name for p in theirs] == [
        str(p.type) for p in ours.parameters.values()
    ]
