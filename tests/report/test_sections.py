"""Each section of the report, on small stored results written here (no kernel, no jobs)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from loclab import report
from loclab.paths import StateDir
from loclab.report import plots, problems, provenance, summary, sweep_plots
from loclab.report.context import NoResultsError, load_context
from loclab.report.html import Html, esc, table
from loclab.report.render import check_offline

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"


def verdict(system: str, label: str, est: float, ci: tuple[float, float], p: float,
            family: str = "confirmatory", metric: str = "accuracy") -> dict[str, Any]:  # fmt: skip
    return {
        "system": system, "baseline": "base", "system_label": f"{system} label",
        "baseline_label": "base label", "label": label, "estimate": est, "ci": list(ci),
        "p_value": p, "p_adjusted": p, "alpha": 0.05, "correction": "holm", "family_size": 3,
        "threshold": 0.02, "power": 0.5, "mde": 0.03, "family": family, "metric": metric,
        "metric_name": metric, "method": "two-level bootstrap", "warnings": [],
        "sentence": f"On 200 test examples {system} differs by {est}; a gap this large would "
                    f"appear by chance about 1 time in {round(1 / p)} if the systems were "
                    f"equally good. Verdict: {label}.",
    }  # fmt: skip


def system(name: str, mean: float, seeds: list[float], label: str | None = None) -> dict:
    return {
        "name": name, "label": label or f"{name} label", "role": "candidate",
        "n_seeds": len(seeds),
        "metrics": {"accuracy": {"mean": mean, "ci": [mean - 0.01, mean + 0.01], "n": len(seeds),
                                 "per_seed": {str(i): v for i, v in enumerate(seeds)}},
                    "test_acc": {"mean": mean, "n": len(seeds),
                                 "per_seed": {str(i): v for i, v in enumerate(seeds)}},
                    "test_f1": {"mean": mean - 0.1, "n": len(seeds), "per_seed": {"0": 0.5}}},
    }  # fmt: skip


def comparison(n_candidates: int = 3) -> dict[str, Any]:
    labels = ["better", "worse", "no detectable difference", "needs more data"]
    cands = [f"s{i}" for i in range(n_candidates)]
    comps = [verdict(s, labels[i % 4], 0.03 - 0.02 * i, (0.01 - 0.02 * i, 0.05 - 0.02 * i),
                     0.01 * (i + 1)) for i, s in enumerate(cands)]  # fmt: skip
    names = ["base", *cands]
    return {
        "experiment": "demo", "baseline": "base", "baseline_label": "base label",
        "primary_metric": "accuracy", "correction": "holm", "family_size": n_candidates,
        "practical_threshold": 0.02, "higher_is_better": True, "unit": "test examples",
        "n_examples": 200,
        "metrics": [{"key": "accuracy", "name": "accuracy", "role": "confirmatory"}],
        "systems": [system("base", 0.7, [0.69, 0.71]),
                    *[system(s, 0.7 + c["estimate"], [0.7, 0.72])
                      for s, c in zip(cands, comps, strict=True)]],
        "families": [{"metric": "accuracy", "metric_name": "accuracy", "role": "confirmatory",
                      "summary": f"{n_candidates} comparisons (Holm)."}],
        "comparisons": comps,
        "breakdowns": {
            "metric": "accuracy", "correction": "bh", "family_size": 4, "alpha": 0.05,
            "note": "Exploratory.", "warnings": [],
            "rows": [{"column": "locale", "value": v, "system": "s0", "n": 50, "estimate": e,
                      "ci": [e - 0.05, e + 0.05], "p_value": 0.01, "p_adjusted": pa,
                      "significant": pa < 0.05, "label": "better", "sentence": f"cell {v}"}
                     for v, e, pa in [("de", 0.1, 0.02), ("fr", 0.0, 0.9), (IMG, 0.02, 0.5),
                                      ("ja", -0.03, 0.4)]],
        },
        "ranking": {
            "systems": names, "scores": [0.72, 0.7, 0.69, 0.6][: len(names)] + [0.5] * max(
                0, len(names) - 4),
            "groups": [{"group": 1, "systems": names[:2]}, {"group": 2, "systems": names[2:]}],
            "group_of": {n: 1 if i < 2 else 2 for i, n in enumerate(names)},
            "metric": "accuracy", "metric_name": "accuracy", "method": "pairwise", "correction":
            "holm", "family_size": 6, "summary": "Two groups.",
        } if len(names) >= 3 else None,
        "headline": f"s0 label is better than base label ({SCRIPT}).",
        "significance_note": "Better means unlikely to be chance.",
        "warnings": [], "jobs": [], "missing_jobs": [], "mlflow_parent_run_id": "p1",
    }  # fmt: skip


def sweep() -> dict[str, Any]:
    trials = []
    for i in range(6):
        state = "PRUNED" if i in (2, 4) else "FAIL" if i == 5 else "COMPLETE"
        value = None if state == "FAIL" else 0.6 + 0.02 * i
        params = {"lr": 10 ** (-3 + 0.3 * i), "hidden": [32, 64][i % 2]}
        failure = f"{SCRIPT} crashed" if state == "FAIL" else None
        trials.append({"number": i, "state": state, "value": value, "params": params,
                       "last_step": 1, "failure": failure, "job": f"demo-t{i}-a1",
                       "run_dir": None})  # fmt: skip
    return {
        "study_name": "demo", "storage": "/nowhere/demo.journal", "storage_kind": "journal",
        "direction": "maximize", "metric": "val_acc", "n_trials": 6,
        "counts": {"complete": 3, "pruned": 2, "failed": 1}, "best_value": 0.68,
        "best_params": {"lr": 0.0063, "hidden": 64}, "best_number": 4,
        "top_k": [{"rank": 1, "number": 3, "value": 0.66, "params": {"lr": 0.0079, "hidden": 64}}],
        "trials": trials, "mlflow_run_id": "sweep-run",
    }  # fmt: skip


def jobs(spec_extra: dict | None = None) -> dict[str, Any]:
    return {
        "experiment": "demo", "ended": 1_800_000_000.0, "mlflow_parent_run_id": "p1",
        "provenance": {"loclab.git_sha": "abc123", "loclab.git_dirty": "true",
                       "loclab.python": "3.11.7", "loclab.torch_version": "2.13.0",
                       "loclab.hostname": "host-1"},
        "spec_as_run": {"name": "demo", "description": f"Is {SCRIPT} better?",
                        "params": {"note": IMG, "db_password": "p4ss-word"},
                        "report": {"title": f"Demo {SCRIPT}"}, **(spec_extra or {})},
        "jobs": [{"name": "demo-s0-s0", "state": "FAILED", "failure": f"{IMG} broke",
                  "executed_notebook": "/nowhere/executed.ipynb", "tags": {"loclab.system": "s0"},
                  "metrics": {}, "job_tags": {"loclab.data_fingerprint": "fp-1"}},
                 {"name": "demo-base-s0", "state": "COMPLETED", "metrics": {"test_acc": 0.7},
                  "tags": {"loclab.system": "base"}, "job_tags": {}}],
    }  # fmt: skip


def make_state(tmp_path: Path, **files: dict | None) -> StateDir:
    state = StateDir(tmp_path / "state")
    folder = state.results("demo")
    folder.mkdir(parents=True)
    for name, data in files.items():
        if data is not None:
            (folder / f"{name}.json").write_text(json.dumps(data))
    return state


@pytest.fixture
def full(tmp_path: Path):
    state = make_state(tmp_path, jobs=jobs({"sweep": {"pruner": "median"}}),
                       comparison=comparison(), sweep=sweep())  # fmt: skip
    return load_context("demo", state.root)


def assert_safe(fragment: str) -> None:
    assert SCRIPT not in fragment and IMG not in fragment
    assert not check_offline(fragment), check_offline(fragment)


def test_escape_helper():
    assert esc(SCRIPT) == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert esc(IMG) == "&lt;img src=x onerror=alert(1)&gt;"
    assert esc(Html("<b>ok</b>")) == "<b>ok</b>"  # fragments pass through once
    assert esc(None) == ""
    cell = table([SCRIPT], [[IMG, Html("<em>x</em>")]])
    assert "&lt;script&gt;" in cell and "<em>x</em>" in cell
    assert "[REDACTED]" in esc("password=letmein")


def test_no_results_is_a_clear_error(tmp_path):
    with pytest.raises(NoResultsError, match="no stored results for experiment 'demo'"):
        load_context("demo", tmp_path)


def test_every_section_renders_and_escapes(full):
    for name in ("title_block", "executive_summary", "results_table", "figures_heading",
                 "system_scores", "effect_plot", "sweep_section", "learning_curves",
                 "ranking_diagram", "breakdown_plots", "statistical_details", "what_went_wrong",
                 "provenance_footer", "glossary"):  # fmt: skip
        html = getattr(report, name)(full)
        assert report.SECTION_FAILED not in html, (name, html[:500])
        assert_safe(html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in summary.title_block(full)


def test_summary_says_the_answer_with_effect_interval_chance_and_threshold(full):
    html = summary.executive_summary(full)
    assert 'class="answer"' in html and "s0 label is better than base label" in html
    text = re.sub(r"<[^>]+>", " ", html)
    for c in full.comparison["comparisons"]:
        assert c["sentence"].split(";")[0] in text.replace("&#x27;", "'")
    assert "about 1 time in 100" in text  # the chance phrase of s0
    assert "practical threshold" in text
    assert html.count('<article class="card') == 3  # up to four verdicts: one card each


def test_many_verdicts_become_a_table(tmp_path):
    state = make_state(tmp_path, jobs=jobs(), comparison=comparison(n_candidates=7))
    html = summary.executive_summary(load_context("demo", state.root))
    assert '<article class="card' not in html and 'class="verdicts"' in html
    assert html.count("<tr>") == 7 + 1


@pytest.mark.parametrize(
    ("est", "ci", "label"),
    [
        (0.05, (0.03, 0.07), "clears it"),
        (0.005, (-0.01, 0.015), "too small to matter"),
        (0.03, (-0.01, 0.07), "estimate clears it; range unsure"),
        (0.01, (-0.03, 0.05), "below it; range unsure"),
    ],
)
def test_threshold_status(est, ci, label):
    got, sentence = summary.threshold_status({"threshold": 0.02, "estimate": est, "ci": ci})
    assert got == label and "0.020" in sentence
    none, _ = summary.threshold_status({"threshold": 0, "estimate": est, "ci": ci})
    assert none == "no threshold set"


def test_results_table_has_ci_verdict_and_groups(full):
    html = summary.results_table(full)
    assert "± 0.010" in html and "Group" in html and "badge better" in html
    assert ">test_acc<" not in html  # the same numbers as accuracy: not repeated
    assert ">test_f1<" in html


def test_figures_are_inline_pngs_with_alt_text(full):
    for fn in (plots.system_scores, plots.effect_plot, plots.ranking_diagram,
               plots.breakdown_plots):  # fmt: skip
        html = fn(full)
        assert '<img src="data:image/png;base64,' in html, fn.__name__
        assert re.search(r'alt="[^"]{20,}"', html), fn.__name__
        assert "<figcaption>" in html
    # Breakdown cells that survive Benjamini-Hochberg are named; the others are not.
    bd = plots.breakdown_plots(full)
    assert "locale = de" in bd and "locale = fr" not in bd


def test_sweep_section_from_stored_trials_when_the_study_is_gone(full):
    html = sweep_plots.sweep_section(full)
    assert "6 trials" in html and "3 completed, 2 pruned" in html
    assert "journal file is not in the state folder" in html
    assert html.count('<img src="data:image/png') == 2  # history + parallel coordinates
    assert "importances left out" in html


def test_what_went_wrong_lists_pruned_failed_and_jobs(full):
    html = problems.what_went_wrong(full)
    assert "sweep trial 2" in html and "pruned" in html and "sweep trial 5" in html
    assert "job demo-s0-s0" in html and "&lt;img src=x onerror=alert(1)&gt; broke" in html
    assert "not saved" in html  # the notebook does not exist here


def test_provenance_and_redacted_spec(full):
    html = provenance.provenance_footer(full)
    assert "abc123" in html and "uncommitted changes" in html and "fp-1" in html
    assert "3.11.7" in html and "host-1" in html and "p1" in html
    assert "p4ss-word" not in html and "db_password: &#x27;[REDACTED]&#x27;" in html


def test_plain_run_and_sweep_only_reports(tmp_path):
    # No compare: section: no verdicts, a table of job metrics, notes in place of figures.
    plain = load_context("demo", make_state(tmp_path / "a", jobs=jobs()).root)
    assert "no comparison stage" in summary.executive_summary(plain)
    assert "test_acc" in summary.results_table(plain)
    assert "Left out" in plots.ranking_diagram(plain) and "no sweep" in report.sweep_section(plain)
    # A sweep without compare: and without a job stage.
    only = load_context("demo", make_state(tmp_path / "b", sweep=sweep()).root)
    assert "Sweep of 6 trials: best val_acc 0.68" in only.headline
    assert "sweep only" in summary.results_table(only)


def test_a_failing_section_leaves_a_note(full, monkeypatch):
    def broken(ctx):
        raise ValueError(f"bad {SCRIPT}")

    monkeypatch.setattr(plots, "system_scores", broken)
    html = report.system_scores(full)
    assert report.SECTION_FAILED in html and "&lt;script&gt;" in html
