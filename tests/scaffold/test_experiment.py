"""``loclab new experiment``: a spec from the notebook's parameters, commented, valid as is."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from loclab.exceptions import SpecError
from loclab.params import inspect_notebook
from loclab.scaffold import write_experiment
from loclab.scaffold.experiment import _yaml
from loclab.spec import load_experiment
from loclab.testing.notebooks import write_notebook


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A project with one template whose defaults are awkward to write as YAML."""
    (tmp_path / "loclab.yaml").write_text("")
    write_notebook(
        tmp_path / "notebooks" / "templates" / "odd.ipynb",
        "lr: float = 1e-05  # learning rate\n"
        "hidden: int = 32  # width\n"
        "name: str = 'yes'  # a string YAML would read as a bool\n"
        "note: str = 'a: b # c'  # punctuation\n"
        "flags: list[str] = ['x', 'y z']  # a list\n"
        "opts: dict = {'k': 1.5}  # a dict\n"
        "use_gpu: bool = False  # a bool\n"
        "seed: int = 0  # training seed\n"
        "big: float = 1e+20  # a large float\n",
        ["from loclab import runtime\nruntime.log_metrics({'val_loss': 1.0}, step=0)"],
        markdown="# An odd notebook\nFor tests.",
    )
    return tmp_path


def _notebook(root: Path) -> Path:
    return root / "notebooks" / "templates" / "odd.ipynb"


def _uncommented(text: str) -> dict:
    """The spec with every commented-out line turned on."""
    key = re.compile(r"^# ( *)[A-Za-z_][A-Za-z0-9_]*:( |$)")
    lines = [line[2:] if key.match(line) else line for line in text.splitlines()]
    return yaml.safe_load("\n".join(lines))


@pytest.mark.parametrize(
    "value",
    [1e-05, 1e20, 0.5, -2.0, 3, True, None, "yes", "a: b # c", "", ["x", "y z"], {"k": 1.5}],
)
def test_values_read_back_as_the_same_value_and_type(value):
    assert yaml.safe_load(f"v: {_yaml(value)}")["v"] == value
    assert type(yaml.safe_load(f"v: {_yaml(value)}")["v"]) is type(value)


def test_spec_validates_as_written_and_lists_every_parameter_with_its_default(root: Path):
    written = write_experiment(root, "odd", _notebook(root))
    assert written.path == root / "experiments" / "odd.yaml"
    assert written.notes == []
    text = written.path.read_text()
    exp = load_experiment(written.path)
    assert exp.params == {} and exp.spec.sweep is None and exp.spec.compare is None
    assert exp.spec.description == "An odd notebook"
    declared = inspect_notebook(_notebook(root))
    turned_on = _uncommented(text)
    assert turned_on["params"] == declared.defaults()
    # Every field says what it is: a comment on each line that sets something.
    fields = [line for line in text.splitlines() if re.match(r"^#? *[a-z_]+:", line)]
    assert fields and all("  # " in line or line.rstrip().endswith(":") for line in fields)


def test_active_sweep_and_comparison_validate(root: Path):
    written = write_experiment(
        root, "tuned", _notebook(root), sweep=["lr", "hidden", "use_gpu"], compare=["lr=0.001"]
    )
    exp = load_experiment(written.path)
    sweep = exp.spec.sweep
    assert sweep is not None and sweep.metric == "val_loss" and sweep.direction == "minimize"
    assert set(sweep.space) == {"lr", "hidden", "use_gpu"}
    lr = sweep.space["lr"]
    assert (lr.type, lr.low, lr.high, lr.log) == ("float", 1e-06, 1e-04, True)
    assert (sweep.space["hidden"].low, sweep.space["hidden"].high) == (16, 64)
    compare = exp.spec.compare
    assert compare is not None and compare.seeds == [0, 1, 2]
    assert compare.systems["candidate"].params == {"lr": 0.001}
    assert compare.baseline_name() == "baseline"


@pytest.mark.parametrize(
    ("kwargs", "line"),
    [
        ({"name": "Odd"}, "command line: NAME: 'Odd' is not a valid experiment name"),
        (
            {"sweep": ["lrr"]},
            "command line: --sweep: notebooks/templates/odd.ipynb has no "
            "parameter 'lrr'; did you mean 'lr'?",
        ),
        ({"sweep": ["name"]}, "command line: --sweep: cannot derive a range for 'name'"),
        ({"compare": ["hidden=wide"]}, "command line: --compare hidden: "),
        ({"compare": ["hidden"]}, "command line: --compare hidden: expected name=value"),
    ],
)
def test_bad_input_is_one_line_naming_the_field(root: Path, kwargs: dict, line: str):
    args = {"name": "odd", **kwargs}
    name = args.pop("name")
    with pytest.raises(SpecError) as caught:
        write_experiment(root, name, _notebook(root), **args)
    (problem,) = caught.value.problems
    assert str(problem).startswith(line), str(problem)
    assert not (root / "experiments").exists()


def test_an_existing_spec_is_never_overwritten(root: Path):
    first = write_experiment(root, "odd", _notebook(root))
    first.path.write_text("name: odd  # mine\n")
    with pytest.raises(SpecError) as caught:
        write_experiment(root, "odd", _notebook(root), sweep=["lr"])
    assert str(caught.value) == (
        "command line: NAME: experiments/odd.yaml already exists (not overwritten); choose "
        "another NAME, or delete that file first"
    )
    assert first.path.read_text() == "name: odd  # mine\n"


def test_notebook_outside_the_project_is_refused(root: Path, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "x.ipynb"
    elsewhere.write_bytes(_notebook(root).read_bytes())
    with pytest.raises(SpecError, match=r"--notebook: .* is outside the project"):
        write_experiment(root, "odd", elsewhere)


def test_required_parameters_are_set_active_and_named_in_a_note(root: Path):
    nb = write_notebook(
        root / "notebooks" / "templates" / "needs.ipynb",
        "data_path: str = None  # required: the data\nlr: float = 0.1  # learning rate\n",
    )
    written = write_experiment(root, "needs", nb)
    assert written.notes == [
        "experiments/needs.yaml: params.data_path: the notebook requires a value; set it before "
        "running"
    ]
    spec = yaml.safe_load(written.path.read_text())
    assert spec["params"] == {"data_path": None}
    with pytest.raises(SpecError, match="data_path"):
        load_experiment(written.path)
