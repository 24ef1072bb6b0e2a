"""Tutorial notebooks run top to bottom (in CI too), so they never rot."""

from __future__ import annotations

from pathlib import Path

import papermill as pm
import pytest

from loclab.params import inspect_notebook

TUTORIALS = sorted(
    (Path(__file__).resolve().parents[1] / "notebooks" / "tutorials").glob("*.ipynb")
)


def test_tutorials_are_numbered():
    assert TUTORIALS, "no tutorials found"
    for path in TUTORIALS:
        assert path.name[:3].rstrip("_").isdigit(), path.name


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.stem)
def test_tutorial_runs(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LOCLAB_STATE_DIR", str(tmp_path / "state"))
    declared = inspect_notebook(path)
    params = {"workdir": str(tmp_path / "work")} if "workdir" in declared else {}
    out = tmp_path / path.name
    pm.execute_notebook(
        str(path),
        str(out),
        parameters=params,
        kernel_name="python3",
        progress_bar=False,
        cwd=str(path.parent),
    )
    assert out.exists()
