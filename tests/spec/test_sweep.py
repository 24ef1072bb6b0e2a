"""Search-space validation: every bad sweep section is one exact line, before anything runs."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from loclab import cli
from loclab.spec.sweep import SpaceEntry, grid_values
from loclab.testing import files_under

S = "experiments/bad.yaml"
NB = "notebooks/probe.ipynb"
HEAD = f"name: probe\nnotebook: {NB}\nsweep:\n  metric: val_score\n"


def sweep(body: str, n_trials: int = 4) -> str:
    return HEAD + f"  n_trials: {n_trials}\n" + body


SPACE_X = "  space:\n    x: {type: float, low: 0.1, high: 1.0}\n"

CASES = [
    # (spec text, expected stderr lines)
    (
        sweep("  space:\n    epoch: {type: int, low: 1, high: 3}\n"),
        [f"{S}: sweep.space.epoch: {NB} has no parameter 'epoch'; did you mean 'epochs'?"],
    ),
    (
        sweep("  space:\n    epochs: {type: float, low: 1, high: 3}\n"),
        [
            f"{S}: sweep.space.epochs: a float range cannot fill 'epochs', declared int; "
            "use type: int or categorical"
        ],
    ),
    (
        sweep("  space:\n    tags: {type: float, low: 1, high: 3}\n"),
        [
            f"{S}: sweep.space.tags: a float range cannot fill 'tags', declared list[str]; "
            "use type: categorical"
        ],
    ),
    (
        sweep("  space:\n    x: {type: float, low: 1, high: 0.5}\n"),
        [f"{S}: sweep.space.x: low (1) must be less than high (0.5)"],
    ),
    (
        sweep("  space:\n    x: {type: float, low: -1, high: 1, log: true}\n"),
        [f"{S}: sweep.space.x: log scale needs positive bounds (low is -1)"],
    ),
    (
        sweep("  space:\n    epochs: {type: categorical, choices: [1, two]}\n"),
        [f"{S}: sweep.space.epochs.choices[1]: wrong type: expected int, got str 'two'"],
    ),
    (
        sweep("  space:\n    note: {type: categorical}\n"),
        [f"{S}: sweep.space.note: a categorical entry needs a non-empty 'choices' list"],
    ),
    (
        sweep("  space:\n    x: {type: float, low: 0, high: 1, step: 0.3}\n"),
        [f"{S}: sweep.space.x: high - low (1) must be a multiple of step (0.3)"],
    ),
    (
        sweep("  space:\n    epochs: {type: int, low: 1, high: 9, log: true, step: 2}\n"),
        [f"{S}: sweep.space.epochs: an int entry on a log scale takes no step other than 1"],
    ),
    (
        sweep("  space:\n    epochs: {type: int, low: 1.5, high: 9}\n"),
        [f"{S}: sweep.space.epochs: 'low' of an int entry must be a whole number"],
    ),
    (
        sweep("  sampler: grid\n" + SPACE_X),
        [
            f"{S}: sweep.space.x: the grid sampler needs a finite range; "
            "give a 'step' or use type: categorical"
        ],
    ),
    (
        sweep("  sampler: grid\n  space:\n    epochs: {type: int, low: 1, high: 3}\n"),
        [
            f"{S}: sweep.n_trials: the grid has only 3 points, fewer than n_trials (4); "
            "set n_trials to at most 3"
        ],
    ),
    (
        sweep("  storage: mongodb://me:secret@db/studies\n" + SPACE_X),
        [
            f"{S}: sweep.storage: 'mongodb://me:[REDACTED]@db/studies' is not a database URL; "
            "use e.g. postgresql+psycopg2://user@host:5432/db (leave it out for the journal file)"
        ],
    ),
    (
        sweep("  pruner_options: {n_startup: 2}\n" + SPACE_X),
        [
            f"{S}: sweep.pruner_options.n_startup: not a setting of the median pruner; "
            "did you mean 'n_startup_trials'?"
        ],
    ),
    (
        sweep("  pruner: percentile\n  pruner_options: {percentile: 250}\n" + SPACE_X),
        [
            f"{S}: sweep.pruner_options.percentile: is 250; expected a number between 0 and "
            "100 (25 keeps the top quarter)"
        ],
    ),
    (
        sweep("  sampler: random\n  sampler_options: {seed: 2}\n" + SPACE_X),
        [
            f"{S}: sweep.sampler_options.seed: not a setting of the random sampler; "
            "the random sampler takes no options"
        ],
    ),
    (
        sweep("  params: {epoch: 2}\n" + SPACE_X),
        [f"{S}: sweep.params.epoch: unknown parameter of {NB}; did you mean 'epochs'?"],
    ),
    (
        sweep("  params: {x: 2}\n" + SPACE_X),
        [f"{S}: sweep.params.x: is also searched in sweep.space; remove one of the two"],
    ),
    (
        sweep("  workers: 0\n" + SPACE_X),
        [f"{S}: sweep.workers: Input should be greater than or equal to 1"],
    ),
    (
        sweep("  sampler: annealing\n" + SPACE_X),
        [f"{S}: sweep.sampler: Input should be 'tpe', 'random', 'cmaes', 'grid' or 'gp'"],
    ),
    (
        sweep("  space: {}\n"),
        [f"{S}: sweep.space: Dictionary should have at least 1 item after validation, not 0"],
    ),
    (
        sweep("  space:\n    x: {type: float, low: 0.1, hi: 1.0}\n"),
        [f"{S}: sweep.space.x.hi: unknown key; did you mean 'high'?"],
    ),
    # Several problems at once, one line each.
    (
        sweep(
            "  space:\n    lr: {type: float, low: 0.001, high: 0.1, log: true}\n"
            "    note: {type: int, low: 1, high: 3}\n"
        ),
        [
            f"{S}: sweep.space.lr: {NB} has no parameter 'lr'; see 'loclab params {NB}'",
            f"{S}: sweep.space.note: an int range cannot fill 'note', declared str; "
            "use type: categorical",
        ],
    ),
]


def run_cli(monkeypatch, capsys, args: list[str]) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["loclab", *args])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    captured = capsys.readouterr()
    return exc.value.code, captured.out, captured.err


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_bad_space_rejected_before_anything_runs(
    project: Path, monkeypatch, capsys, text, expected
):
    monkeypatch.chdir(project)
    (project / S).write_text(text)
    before = files_under(project)
    for command in (["validate", S], ["run", S]):
        code, _, err = run_cli(monkeypatch, capsys, command)
        assert code == 2
        assert err.splitlines() == expected
    assert files_under(project) == before
    assert not (project / ".loclab").exists()


def test_cmaes_cannot_search_categorical_entries(project, monkeypatch, capsys):
    monkeypatch.chdir(project)
    (project / S).write_text(
        sweep("  sampler: cmaes\n  space:\n    note: {type: categorical, choices: [a, b]}\n")
    )
    code, _, err = run_cli(monkeypatch, capsys, ["validate", S])
    assert code == 2
    expected = [
        f"{S}: sweep.space.note: the cmaes sampler cannot search a categorical entry; "
        "use an int or float range, or sampler: tpe or gp"
    ]
    if importlib.util.find_spec("cmaes") is None:
        expected.append(
            f"{S}: sweep.sampler: the cmaes sampler needs the Python package 'cmaes'; "
            "pip install cmaes, or use sampler: tpe"
        )
    assert err.splitlines() == expected


def test_valid_sweep_section(project, monkeypatch, capsys):
    monkeypatch.chdir(project)
    (project / S).write_text(
        sweep(
            "  sampler: grid\n  pruner: hyperband\n  pruner_options: {min_resource: 1}\n"
            "  storage: postgresql+psycopg2://loclab@127.0.0.1:5432/db\n"
            "  params: {epochs: 2}\n"
            "  space:\n    x: {type: float, low: 0, high: 1, step: 0.25}\n"
            "    seed: {type: int, low: 0, high: 2}\n"
            "    note: {type: categorical, choices: [a, b]}\n",
            n_trials=30,
        )
    )
    code, out, err = run_cli(monkeypatch, capsys, ["validate", S])
    assert (code, err) == (0, "")
    assert out.startswith(f"{S}: ok (8 notebook parameters, 1 job(s), sweep of 30 trials)")


def test_grid_values():
    assert grid_values(SpaceEntry(type="float", low=0, high=1, step=0.25)) == [
        0.0,
        0.25,
        0.5,
        0.75,
        1.0,
    ]
    assert grid_values(SpaceEntry(type="int", low=2, high=8, step=3)) == [2, 5, 8]
    assert grid_values(SpaceEntry(type="categorical", choices=["a", 1])) == ["a", 1]
