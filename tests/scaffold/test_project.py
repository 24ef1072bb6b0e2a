"""``loclab init``: a working project from package data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from loclab.exceptions import SpecError
from loclab.params import inspect_notebook
from loclab.scaffold import STARTER_NOTEBOOK, init_project
from loclab.spec import find_project_root, load_experiment


def test_init_writes_a_project_that_validates(tmp_path: Path):
    folder = tmp_path / "my-proj"
    written = init_project(folder)
    relative = sorted(str(p.relative_to(folder)) for p in written)
    assert relative == [
        ".gitignore",
        ".pre-commit-config.yaml",
        "README.md",
        "experiments/starter.yaml",
        "loclab.yaml",
        "notebooks/exploratory/README.md",
        f"notebooks/templates/{STARTER_NOTEBOOK}",
    ]
    assert find_project_root(folder / "experiments") == folder.resolve()
    readme = (folder / "README.md").read_text()
    assert readme.startswith("# my-proj\n")
    for command in ("loclab new experiment", "loclab validate", "loclab run"):
        assert command in readme
    assert "$" not in readme.replace("$LOCLAB", "")  # every placeholder was substituted
    assert ".loclab/" in (folder / ".gitignore").read_text().splitlines()
    hooks = yaml.safe_load((folder / ".pre-commit-config.yaml").read_text())
    assert hooks["repos"][0]["hooks"][0] == {"id": "nbstripout", "args": ["--keep-id"]}
    assert yaml.safe_load((folder / "loclab.yaml").read_text()) is None  # all commented
    exp = load_experiment(folder / "experiments" / "starter.yaml")
    assert exp.root == folder.resolve()
    assert exp.spec.compare is not None and len(exp.spec.compare.seeds) == 3


def test_starter_notebook_is_stripped_typed_and_documented(tmp_path: Path):
    init_project(tmp_path / "p")
    path = tmp_path / "p" / "notebooks" / "templates" / STARTER_NOTEBOOK
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    declared = inspect_notebook(path)
    assert not declared.problems
    assert all(p.annotated and p.help for p in declared.parameters.values())
    source = "".join("".join(c["source"]) for c in code)
    for call in ("runtime.context()", "runtime.log_metrics(", "step=epoch", "write_predictions"):
        assert call in source
    assert "def " not in source and "class " not in source  # templates define nothing


@pytest.mark.parametrize("make", ["file", "non-empty"])
def test_init_refuses_a_used_folder_and_writes_nothing(tmp_path: Path, make: str):
    folder = tmp_path / "taken"
    if make == "file":
        folder.write_text("x")
    else:
        folder.mkdir()
        (folder / "keep.txt").write_text("x")
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(SpecError) as caught:
        init_project(folder)
    (problem,) = caught.value.problems
    assert str(problem).startswith(f"command line: DIR: {folder}")
    assert str(problem).endswith("name a new or empty folder")
    assert sorted(tmp_path.rglob("*")) == before


def test_an_empty_folder_is_fine(tmp_path: Path):
    init_project(tmp_path)
    assert (tmp_path / "loclab.yaml").is_file()
