"""The repository's set-up files agree with each other."""

from __future__ import annotations

import json
import os
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def test_environment_yml_names_the_same_dependencies_as_pyproject():
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    conda = {_name(d) for d in pip if not d.startswith("-")}
    assert "python=3.11" in env["dependencies"]
    assert "--editable ." in pip
    declared = {_name(d) for d in _pyproject()["project"]["dependencies"]}
    assert conda == declared
    # Same version bounds, not just the same names.
    bounds = {
        _name(d): d for d in _pyproject()["project"]["dependencies"] if not d.startswith("torch")
    }
    for line in pip:
        if not line.startswith("-") and not line.startswith("torch"):
            assert bounds[_name(line)] == line


def test_constraints_pin_every_dependency_and_torch():
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[_name(name)] = version
    assert pins["torch"] == "2.13.0"
    project = _pyproject()["project"]
    extras = project["optional-dependencies"]
    wanted = project["dependencies"] + extras["test"] + extras["lab"]
    missing = {_name(d) for d in wanted} - set(pins)
    assert not missing
    assert pins["s3fs"].startswith("0.4")


def test_ci_runs_make_test():
    script = (REPO / ".ci" / "run").read_text()
    assert "make test" in script
    assert (REPO / ".ci" / "run").stat().st_mode & 0o111


def test_makefile_installs_torch_first():
    text = (REPO / "Makefile").read_text()
    torch_at = text.index("$(PIP) install $(PIP_FLAGS) -q $(TORCH)")
    assert torch_at < text.index("-c constraints.txt -e .")
    assert "TORCH  := torch==2.13.0" in text


@pytest.mark.parametrize("uid", ["0", "1000"])
def test_make_lab_binds_loopback_with_a_token_and_allows_root_only_as_root(
    uid: str, tmp_path: Path
):
    fake = tmp_path / "id"  # the Makefile asks `id -u` who runs it
    fake.write_text(f"#!/bin/sh\necho {uid}\n")
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"}
    shown = subprocess.run(
        ["make", "-n", "lab"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0, shown.stderr
    (command,) = [line for line in shown.stdout.splitlines() if "jupyter lab" in line]
    assert "--ip 127.0.0.1" in command
    assert ("--allow-root" in command) == (uid == "0")
    assert "token" not in command.lower() and "password" not in command.lower()  # the default


def test_committed_notebooks_have_no_outputs():
    for path in sorted((REPO / "notebooks").rglob("*.ipynb")):
        if "exploratory" in path.parts:
            continue
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            assert not cell.get("outputs"), path
            assert cell.get("execution_count") is None, path


def test_templates_have_typed_documented_parameters():
    from loclab.params import inspect_notebook

    for path in sorted((REPO / "notebooks" / "templates").glob("*.ipynb")):
        found = inspect_notebook(path)
        assert not found.problems, (path, found.problems)
        for p in found.parameters.values():
            assert p.annotated, f"{path.name}: {p.name} has no type annotation"
            assert p.help, f"{path.name}: {p.name} has no help comment"


def test_templates_are_papermill_compatible():
    """``papermill --help-notebook`` sees every parameter loclab sees (one '=' per line)."""
    from papermill.inspection import _infer_parameters
    from papermill.iorw import load_notebook_node

    from loclab.params import inspect_notebook

    for path in sorted((REPO / "notebooks" / "templates").glob("*.ipynb")):
        theirs = _infer_parameters(load_notebook_node(str(path)))
        ours = inspect_notebook(path)
        # Papermill's line parser cannot read quoted choices (``Literal["a", "b"]``): it skips
        # those lines in --help-notebook (injection still works). Every other one it sees.
        plain = [n for n in ours.names if not str(ours[n].type).startswith("Literal")]
        assert [p.name for p in theirs] == plain, path.name
