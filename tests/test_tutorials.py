"""Tutorial notebooks run top to bottom with their exercises solved (in CI too): they never rot.

Each runs through :func:`loclab.nbexec.execute_notebook`, as JupyterLab would run it: from
its own folder, in a kernel whose ``!loclab`` is this environment's, with ``solutions=True``
so the exercises' checks see the course's answers.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from loclab.nbexec import execute_notebook
from loclab.params import inspect_notebook

TUTORIALS = sorted(
    (Path(__file__).resolve().parents[1] / "notebooks" / "tutorials").glob("*.ipynb")
)


def test_tutorials_are_numbered_in_order():
    assert TUTORIALS, "no tutorials found"
    numbers = [int(path.name[:2]) for path in TUTORIALS]
    assert numbers == list(range(1, len(TUTORIALS) + 1)), [p.name for p in TUTORIALS]


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.stem)
def test_tutorial_teaches_with_checked_exercises(path: Path):
    """Parameters a test can set, exercises whose checks assert with a hint, solutions hidden."""
    declared = inspect_notebook(path)
    assert not declared.problems
    assert declared["solutions"].default is False
    cells = json.loads(path.read_text())["cells"]
    sources = ["".join(c["source"]) for c in cells]
    start = next(i for i, s in enumerate(sources) if s.startswith("## Exercises"))
    checks = [s for s in sources[start:] if "assert " in s and "Hint" in s]
    assert len(checks) >= 2, "at least two exercises, each checked with an assert and a hint"
    for cell in cells[start:]:
        if "solution" in cell["metadata"].get("tags", []):
            assert cell["metadata"]["jupyter"]["source_hidden"] is True
            assert "".join(cell["source"]).startswith("if solutions:")
    assert all(c.get("outputs", []) == [] for c in cells if c["cell_type"] == "code")


@pytest.mark.slow  # 3 to 60 s each on 2 cores: docs/tutorials timing in the README
@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.stem)
def test_tutorial_runs_with_exercises_solved(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # A kernel started by JupyterLab knows nothing of the test's environment variables.
    for var in [k for k in os.environ if k.startswith(("LOCLAB_", "JPY_", "AWS_"))]:
        monkeypatch.delenv(var)
    # Not on PATH in the test's own environment, on purpose: the tutorial must find `loclab`.
    path_dirs = os.environ.get("PATH", "").split(os.pathsep)
    bin_dir = str(Path(sys.executable).parent)
    monkeypatch.setenv("PATH", os.pathsep.join(d for d in path_dirs if d != bin_dir))
    wanted = {"workdir": str(tmp_path / "work"), "solutions": True, "n_trials": 4}
    params = {k: v for k, v in wanted.items() if k in inspect_notebook(path)}
    out = tmp_path / path.name
    execute_notebook(path, out, params, cwd=path.parent, quiet_kernel=True)
    executed = json.loads(out.read_text())
    printed = "\n".join(
        "".join(o.get("text", ""))
        for c in executed["cells"]
        for o in c.get("outputs", [])
        if o.get("output_type") == "stream"
    )
    assert printed.count("done") >= 2  # every exercise's check passed
    for noise in ("[loclab-metric]", "IProgress not found", " INFO "):
        assert noise not in printed, noise
    assert not list(path.parent.glob("*.journal"))  # nothing written next to the tutorials
