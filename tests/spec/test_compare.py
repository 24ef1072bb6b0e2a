"""The compare: section: one exact line per problem, exit 2, nothing run or written."""

from __future__ import annotations

import sys

import pytest

from loclab import cli
from loclab.spec import load_spec
from loclab.testing import files_under

BASE = "name: probe\nnotebook: notebooks/probe.ipynb\n"
S = "experiments/bad.yaml"
TWO = "  systems:\n    base: {role: baseline}\n    cand: {params: {x: 3.0}}\n"
SWEEP = (
    "sweep:\n  metric: val_score\n  n_trials: 2\n  top_k: 2\n  space:\n"
    "    x: {type: float, low: 0.0, high: 1.0}\n"
)

CASES = [
    ("compare:\n  systems:\n    a: {}\n",
     [f"{S}: compare.systems: needs at least two systems to compare, got 1; add a baseline and "
      "a candidate, or omit systems: to compare the systems in the job's output"]),
    ("compare:\n  test: ar\n",
     [f"{S}: compare.baseline: required when the systems come from the job's output; name the "
      "system the others are tested against, e.g. baseline: LIUM-NMT",
      f"{S}: compare.metrics: required when the systems come from the job's output; name the "
      "corpus metrics the job writes, e.g. metrics: [bleu, chrf]"]),
    ("compare:\n  baseline: A\n  metrics: [blue, chrf]\n",
     [f"{S}: compare.metrics.0: 'blue' is not a corpus metric a job can write statistics for; "
      "did you mean 'bleu'?"]),
    ("compare:\n  baseline: A\n  metrics: [bleu]\n  seeds: 3\n",
     [f"{S}: compare.seeds: the systems come from one job's output, so there is one run, not 3; "
      "give one seed, or list systems: to re-run each over seeds"]),
    ("compare:\n  baseline: A\n  metrics: [bleu]\n  breakdowns: [domain]\n",
     [f"{S}: compare.breakdowns: needs per-example predictions; systems from a job's corpus "
      "statistics have none; remove breakdowns, or list systems: that write predictions"]),
    ("compare:\n  baseline: A\n  metrics: [bleu]\n  test: permutation\n",
     [f"{S}: compare.test: systems from a job's corpus statistics are tested with ar, not "
      "permutation; use test: ar or auto"]),
    ("compare:\n" + TWO + "  test: mcnemmar\n",
     [f"{S}: compare.test: 'mcnemmar' is not a test loclab runs; did you mean 'mcnemar'?"]),
    ("compare:\n" + TWO + "  test: mcnemar\n  seeds: 5\n",
     [f"{S}: compare.test: mcnemar compares one run per system, but seeds gives 5; use "
      "two_level_bootstrap or auto for several seeds (McNemar per seed is reported alongside)"]),
    ("compare:\n" + TWO + "  test: two_level_bootstrap\n",
     [f"{S}: compare.test: two_level_bootstrap needs at least 2 seeds per system (5 "
      "recommended); set seeds: 5"]),
    ("compare:\n" + TWO + "  test: ar\n",
     [f"{S}: compare.metrics: test ar compares corpus metrics (bleu, chrf, chrfpp, chrf++, "
      "ter, f1, pearson), not 'accuracy'; use test: auto for per-example scores"]),
    ("compare:\n" + TWO + "  baseline: bsae\n",
     [f"{S}: compare.baseline: 'bsae' is not one of the systems; did you mean 'base'?"]),
    ("compare:\n  systems:\n    a: {role: baseline}\n    b: {role: baseline}\n",
     [f"{S}: compare.baseline: several systems have role baseline (a, b); name the one the "
      "others are tested against with baseline:"]),
    ("compare:\n  systems:\n    my_system: {}\n    b: {}\n",
     [f"{S}: compare.systems: system name 'my_system' must be letters, digits and inner hyphens "
      "(at most 40); it becomes part of job names"]),
    (SWEEP + "compare:\n  systems:\n    a: {from_sweep: worst}\n    b: {}\n",
     [f"{S}: compare.systems.a.from_sweep: 'worst' is not a sweep configuration; use 'best', a "
      "rank (1, 2, ...) or 'top-<k>' for the k best"]),
    (SWEEP + "compare:\n  systems:\n    a: {from_sweep: top-3}\n    b: {}\n",
     [f"{S}: compare.systems.a-top3.from_sweep: rank 3 is outside the sweep's top_k (2); use "
      "'best' or a rank from 1 to top_k"]),
    ("compare:\n" + TWO + "  metrics: [accuracy, accuracy]\n",
     [f"{S}: compare.metrics: metric 'accuracy' is listed twice"]),
    ("compare:\n" + TWO + "  n_resamples: 10\n",
     [f"{S}: compare.n_resamples: Input should be greater than or equal to 1000"]),
]  # fmt: skip


def run_cli(monkeypatch, capsys, args: list[str]) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["loclab", *args])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_bad_compare_section_is_one_line_each(project, monkeypatch, capsys, text, expected):
    monkeypatch.chdir(project)
    (project / S).write_text(BASE + text)
    before = files_under(project)
    for command in ("validate", "run", "compare"):
        code, _, err = run_cli(monkeypatch, capsys, [command, S])
        assert code == 2
        assert err.splitlines() == expected
    assert files_under(project) == before
    assert not (project / ".loclab").exists()


def test_compare_command_needs_a_compare_section(project, monkeypatch, capsys):
    monkeypatch.chdir(project)
    code, _, err = run_cli(monkeypatch, capsys, ["compare", "experiments/probe.yaml"])
    assert code == 2
    assert err.splitlines() == [
        "command line: SPEC: experiments/probe.yaml has no compare: section"
    ]


def test_top_k_expands_into_one_system_per_rank(project, monkeypatch, capsys):
    monkeypatch.chdir(project)
    (project / S).write_text(
        BASE + SWEEP + "compare:\n  systems:\n    base: {role: baseline}\n"
        "    tuned: {from_sweep: top-2, label: tuned probe}\n  seeds: 2\n"
    )
    spec = load_spec(S)
    systems = spec.compare.systems
    assert list(systems) == ["base", "tuned-top1", "tuned-top2"]
    assert [systems[f"tuned-top{r}"].from_sweep for r in (1, 2)] == [1, 2]
    assert systems["tuned-top2"].label == "tuned probe (sweep rank 2)"
    code, out, _ = run_cli(monkeypatch, capsys, ["validate", S])
    assert code == 0
    assert "6 job(s)" in out


def test_discovered_systems_validate_as_one_job(project, monkeypatch, capsys):
    monkeypatch.chdir(project)
    (project / S).write_text(
        BASE + "compare:\n  baseline: A\n  metrics: [bleu, chrf]\n  test: ar\n"
    )
    code, out, _ = run_cli(monkeypatch, capsys, ["validate", S])
    assert code == 0
    assert "1 job(s)" in out
    spec = load_spec(S)
    assert spec.compare.discovered and spec.compare.baseline_name() == "A"


def test_repository_specs_validate(monkeypatch, capsys):
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    monkeypatch.chdir(root)
    code, out, err = run_cli(
        monkeypatch,
        capsys,
        ["validate", "experiments/mt_engines.yaml", "experiments/term_qa.yaml"],
    )
    assert code == 0, err
    assert "experiments/mt_engines.yaml: ok (10 notebook parameters, 1 job(s))" in out
