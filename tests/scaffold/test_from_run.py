"""``loclab new experiment NAME --from-run ID``: the run's changes against the defaults."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from loclab.exceptions import SpecError
from loclab.results import InteractiveRecord
from loclab.scaffold import write_from_run
from loclab.spec import load_experiment
from loclab.testing.notebooks import write_notebook

PARAMETERS = (
    "lr: float = 0.001  # learning rate\n"
    "hidden: int = 16  # width\n"
    "layers: list[int] = [8, 8]  # widths of the layers\n"
    "seed: int = 0  # training seed\n"
)


@pytest.fixture
def notebook(tmp_path: Path) -> Path:
    (tmp_path / "loclab.yaml").write_text("")
    return write_notebook(
        tmp_path / "notebooks" / "templates" / "nb.ipynb",
        PARAMETERS,
        ["from loclab import runtime\nruntime.log_metrics({'val_acc': 0.5}, step=0)"],
        markdown="# A notebook\nFor tests.",
    )


def ran(notebook: Path, **params) -> InteractiveRecord:
    """The record a run of ``notebook`` by hand leaves (its parameters as the kernel had them)."""
    values = {"lr": 0.001, "hidden": 16, "layers": [8, 8], "seed": 0, **params}
    return InteractiveRecord(
        name="nb-20261201-101500",
        notebook=str(notebook),
        project_root=str(notebook.parents[2]),
        started=time.time(),
        params=values,
    )


def test_the_spec_compares_the_runs_changes_with_the_defaults_over_seeds(notebook: Path):
    root = notebook.parents[2]
    written = write_from_run(root, "idea", ran(notebook, lr=0.01, layers=[32], seed=7))
    text = written.path.read_text()
    assert "params: {lr: 0.01, layers: [32]}  # the parameters interactive run " in text
    exp = load_experiment(written.path)
    compare = exp.spec.compare
    assert compare is not None and compare.seeds == [0, 1, 2]
    assert compare.systems["candidate"].params == {"lr": 0.01, "layers": [32]}  # not its seed
    assert compare.systems["baseline"].params == {}
    (note,) = written.notes
    assert note.startswith("experiments/idea.yaml: compare.systems.candidate.params: lr, layers")
    assert "belongs in params: (for both systems)" in note


@pytest.mark.parametrize(
    ("record", "line"),
    [
        (
            {"seed": 3},
            "command line: --from-run nb-20261201-101500: the run used the notebook's defaults, "
            "so there is nothing to compare; compare it with an experiment's jobs instead: "
            "loclab compare SPEC --run nb-20261201-101500",
        ),
        ({"notebook": ""}, "the run does not know which notebook it ran"),
        ({"notebook": "gone.ipynb"}, "its notebook gone.ipynb is gone; restore it first"),
    ],
)
def test_nothing_to_write_is_one_line(notebook: Path, record: dict, line: str):
    root = notebook.parents[2]
    changes = {k: v for k, v in record.items() if k != "notebook"}
    made = ran(notebook, **changes)
    if "notebook" in record:
        made = made.model_copy(update={"notebook": record["notebook"]})
    with pytest.raises(SpecError) as found:
        write_from_run(root, "idea", made)
    (problem,) = found.value.problems
    assert line in str(problem)
    assert not (root / "experiments").exists()
