"""Bad input: one exact line per problem, exit code 2, nothing written, no kernel started."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from loclab import cli
from loclab.testing import files_under as written_files

BASE = "name: probe\nnotebook: notebooks/probe.ipynb\n"
S = "experiments/bad.yaml"

CASES = [
    # (spec text, extra CLI args, expected stderr lines)
    (
        BASE + "name: other\ntimeout: .nan\n",
        [],
        [
            f"{S}: line 3: key 'name' appears twice (also on line 1); keep one",
            f"{S}: line 4: '.nan' is not a finite number; use a finite value (leave the field "
            "out for no limit)",
        ],
    ),
    (
        BASE + "params: {x: .inf}\n",
        [],
        [
            f"{S}: line 3: '.inf' is not a finite number; use a finite value (leave the field "
            "out for no limit)"
        ],
    ),
    (
        BASE,
        ["-p", "x=nan"],
        [f"{S}: -p x: wrong type: expected a finite float, got nan; give a value of type float"],
    ),
    (
        BASE + "compare:\n  systems: {a: {}, b: {}}\n  seeds: [0, -2]\n",
        [],
        [f"{S}: compare.seeds: seed -2 is negative; seeds are 0 or more"],
    ),
    (
        BASE
        + "sweep:\n  metric: val_score\n  n_trials: 2\n  pruner_options: {n_startup_trials: -3}\n"
        "  space: {x: {type: float, low: 0, high: 1}}\n",
        [],
        [
            f"{S}: sweep.pruner_options.n_startup_trials: is -3; expected a whole number of at "
            "least 0"
        ],
    ),
    (
        BASE + "params: {x: 1}\n",
        ["-p", "xx=0.1"],
        [f"{S}: -p xx: unknown parameter of notebooks/probe.ipynb; did you mean 'x'?"],
    ),
    (
        BASE,
        ["-p", "epochs=1.5"],
        [f"{S}: -p epochs: wrong type: expected int, got '1.5'; give a value of type int"],
    ),
    (BASE, ["-p", "epochs"], [f"{S}: -p epochs: expected name=value; e.g. -p lr=0.01"]),
    (
        BASE,
        ["-p", "tags=[1,"],
        [
            f"{S}: -p tags: wrong type: expected list[str], got '[1,' (use a,b,c or a JSON list); "
            "give a value of type list[str]"
        ],
    ),
    (
        BASE + "params: {epocs: 2}\n",
        [],
        [f"{S}: params.epocs: unknown parameter of notebooks/probe.ipynb; did you mean 'epochs'?"],
    ),
    (
        BASE + "params: {x: fast}\n",
        [],
        [f"{S}: params.x: wrong type: expected float, got str 'fast'; give a value of type float"],
    ),
    (
        BASE + "params: {settings: [1]}\n",
        [],
        [
            f"{S}: params.settings: wrong type: expected dict, got list [1]; "
            "give a value of type dict"
        ],
    ),
    (BASE + "parms: {x: 1}\n", [], [f"{S}: parms: unknown key; did you mean 'params'?"]),
    ("name: probe\n", [], [f"{S}: notebook: required field is missing; add it"]),
    (
        "name: Probe_1\nnotebook: notebooks/probe.ipynb\n",
        [],
        [
            f"{S}: name: 'Probe_1' is not a valid experiment name; use lower-case letters, digits "
            "and hyphens (at most 40), e.g. term-qa"
        ],
    ),
    (
        "name: probe\nnotebook: notebooks/missing.ipynb\n",
        [],
        [f"{S}: notebook: notebook not found; check the path"],
    ),
    (
        "name: probe\nnotebook: notebooks/probe.py\n",
        [],
        [f"{S}: notebook: 'notebooks/probe.py' is not a .ipynb file"],
    ),
    (BASE + "params: [x]\n", [], [f"{S}: params: Input should be a valid dictionary; got ['x']"]),
    (
        BASE + "timeout: soon\n",
        [],
        [f"{S}: timeout: 'soon' is not a duration; use e.g. 90, '90s', '30m' or '2h'"],
    ),
    (
        BASE + "channels: {data: missing/folder}\n",
        [],
        [
            f"{S}: channels.data: 'missing/folder' does not exist "
            "(resolved to {root}/missing/folder); point the channel at your copy with "
            "--channel data=PATH, or edit channels.data (relative paths start at the project "
            "root)"
        ],
    ),
    (
        BASE + "params: {x: 1\n",
        [],
        [
            f"{S}: line 4: invalid YAML: expected ',' or '}}', but got '<stream end>'; "
            "fix the syntax"
        ],
    ),
    (
        BASE + "sweep:\n  metric: val_score\n  n_trials: 4\n  space:\n"
        "    lr: {type: float, low: 0.001, high: 0.1, log: true}\n",
        [],
        [
            f"{S}: sweep.space.lr: notebooks/probe.ipynb has no parameter 'lr'; "
            "see 'loclab params notebooks/probe.ipynb'"
        ],
    ),
    (
        BASE + "sweep:\n  metric: val_score\n  n_trials: 4\n  space:\n"
        "    x: {type: float, low: 0, high: 1, log: true}\n",
        [],
        [f"{S}: sweep.space.x: log scale needs positive bounds (low is 0)"],
    ),
    (
        BASE + "sweep:\n  metric: val_score\n  n_trials: 4\n  space:\n"
        "    note: {type: int, low: 1, high: 3}\n",
        [],
        [
            f"{S}: sweep.space.note: an int range cannot fill 'note', declared str; "
            "use type: categorical"
        ],
    ),
    (
        BASE + "compare:\n  systems:\n    a: {params: {epoch: 1}}\n    b: {}\n",
        [],
        [
            f"{S}: compare.systems.a.params.epoch: unknown parameter of notebooks/probe.ipynb; "
            "did you mean 'epochs'?"
        ],
    ),
    (
        BASE + "compare:\n  systems:\n    a: {from_sweep: best}\n    b: {}\n",
        [],
        [
            f"{S}: compare.systems.a.from_sweep: takes its configuration from the sweep, but the "
            "spec has no sweep; add a sweep: section or give fixed params"
        ],
    ),
    (
        BASE + "compare:\n  systems: {a: {}}\n  alpha: 0.7\n",
        [],
        [f"{S}: compare.alpha: Input should be less than 0.5"],
    ),
    (
        BASE + "backend: cloud\n",
        [],
        [f"{S}: backend.kind: Input should be 'local' or 'sagemaker'"],
    ),
]


def run_cli(monkeypatch, capsys, args: list[str]) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["loclab", *args])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    return exc.value.code, capsys.readouterr().err


@pytest.mark.parametrize(("text", "args", "expected"), CASES)
def test_bad_input_is_one_line_each_and_writes_nothing(
    project: Path, monkeypatch, capsys, text, args, expected
):
    monkeypatch.chdir(project)
    (project / S).write_text(text)
    before = written_files(project)
    for command in (["validate", S, *args], ["run", S, *args]):
        code, err = run_cli(monkeypatch, capsys, command)
        assert code == 2
        assert err.splitlines() == [e.replace("{root}", str(project)) for e in expected]
    assert written_files(project) == before
    assert not (project / ".loclab").exists()
    assert not (project / "reports").exists()


def test_several_problems_reported_together(project, monkeypatch, capsys):
    monkeypatch.chdir(project)
    (project / S).write_text(BASE + "params: {epocs: 2, x: fast}\n")
    code, err = run_cli(monkeypatch, capsys, ["validate", S, "-p", "mode=1", "-p", "sed=2"])
    assert code == 2
    assert len(err.splitlines()) == 3


def test_valid_spec(project, monkeypatch, capsys):
    monkeypatch.chdir(project)
    monkeypatch.setattr(sys, "argv", ["loclab", "validate", "experiments/probe.yaml"])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    assert exc.value.code == 0
    assert capsys.readouterr().out.startswith("experiments/probe.yaml: ok (8 notebook parameters")
