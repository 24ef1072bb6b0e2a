"""Each section of the report, on small records stored as the stages store them (no kernel)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from loclab.report import page as report
from loclab.report import sections
from loclab.report.context import NoResultsError, ReportContext, load_context
from loclab.report.html import Html, esc, table
from loclab.report.render import check_offline
from loclab.report.sections.summary import threshold_status
from loclab.results import ComparisonRecord, ExperimentResults, RecordError

from .records import (
    EXPERIMENT,
    IMG,
    PASSWORD,
    SCRIPT,
    comparison,
    jobs,
    keep_failed_notebook,
    spec,
    store,
    sweep,
)


@pytest.fixture
def full(tmp_path: Path) -> ReportContext:
    """A comparison of four systems with a sweep, a failed job and a ranking."""
    state = store(tmp_path, jobs_record=jobs(spec()), sweep_record=sweep(),
                  comparison_record=comparison())  # fmt: skip
    return load_context(EXPERIMENT, state.root)


def text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html).replace("&#x27;", "'")


def assert_safe(fragment: str) -> None:
    assert SCRIPT not in fragment and IMG not in fragment
    assert PASSWORD not in fragment
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
        load_context(EXPERIMENT, tmp_path)


def test_a_damaged_record_is_a_clear_error(tmp_path):
    state = store(tmp_path, jobs_record=jobs(spec()))
    ExperimentResults(state, EXPERIMENT).jobs_file.write_text('{"schema": "loclab.jobs/1"}')
    with pytest.raises(RecordError, match="written by another version of loclab"):
        load_context(EXPERIMENT, state.root)


def test_every_section_renders_and_escapes(full):
    shown = report.outline(full)
    assert len(shown) == 14
    for section in shown:
        html = section(full)
        assert report.SECTION_FAILED not in html, (section.__name__, html[:500])
        assert_safe(html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report.title_block(full)


def test_summary_says_the_answer_with_effect_interval_chance_and_threshold(full):
    html = report.executive_summary(full)
    assert 'class="answer"' in html and "s0 label is better than base label" in html
    said = text(html)
    assert full.comparison_record is not None
    for c in full.comparison_record.confirmatory:
        assert c.sentence.split(";")[0] in said
    assert "about 1 time in 100" in said  # the chance phrase of s0
    assert "practical threshold" in said
    assert html.count('<article class="card') == 3  # up to four verdicts: one card each
    assert 'href="#glossary"' in html  # stakeholders get a glossary at the end


def test_many_verdicts_become_a_table(tmp_path):
    state = store(tmp_path, jobs_record=jobs(spec()), comparison_record=comparison(7))
    html = report.executive_summary(load_context(EXPERIMENT, state.root))
    assert '<article class="card' not in html and 'class="verdicts"' in html
    assert html.count("<tr>") == 7 + 1
    assert "All 7 verdicts (2 better, 2 worse, 2 no detectable difference" in html


@pytest.mark.parametrize(
    ("est", "ci", "label"),
    [
        (0.05, (0.03, 0.07), "clears it"),
        (0.005, (-0.01, 0.015), "too small to matter"),
        (0.03, (-0.01, 0.07), "estimate clears it; range unsure"),
        (0.01, (-0.03, 0.05), "below it; range unsure"),
        (None, None, "unknown"),
    ],
)
def test_threshold_status(est, ci, label):
    got, sentence = threshold_status(est, ci, 0.02)
    assert got == label
    assert "0.020" in sentence or label == "unknown"
    none, _ = threshold_status(est, ci, 0.0)
    assert none == "no threshold set"


def test_results_table_has_ci_verdict_groups_and_missing_jobs(full):
    html = report.results_table(full)
    assert "± 0.010" in html and "Group" in html and "badge better" in html
    assert ">test_acc<" not in html  # the same numbers as accuracy: not repeated
    assert ">test_f1<" in html
    # Systems in the ranking's order; the job left out of the statistics is named.
    assert html.index("base label") < html.index("s0 label") < html.index("s2 label")
    assert "1 job(s) did not complete" in html and "demo-s0-s1" in html


def test_statistical_details_show_power_and_the_tests_own_summaries(full):
    html = report.statistical_details(full)
    assert "Holm over 3 comparison(s), alpha 0.05" in html
    assert ">50%<" in html and ">0.030<" in html  # power and detectable difference
    assert "bootstrap summary of s0" in html and "per-seed summary of s0" in html
    assert "Why this test: paired examples, several seeds" in html
    assert "Scores per training run (accuracy)" in html and "seed 1" in html
    assert "Two groups." in html


def test_figures_are_inline_pngs_with_alt_text(full):
    for fn in (report.system_scores, report.effect_plot, report.ranking_diagram,
               report.breakdown_plots, report.learning_curves):  # fmt: skip
        html = fn(full)
        assert '<img src="data:image/png;base64,' in html, fn.__name__
        assert re.search(r'alt="[^"]{20,}"', html), fn.__name__
        assert "<figcaption>" in html
    # Breakdown cells that survive Benjamini-Hochberg are named; the others are not.
    bd = report.breakdown_plots(full)
    assert "locale = de" in bd and "locale = fr" not in bd
    ranking = report.ranking_diagram(full)
    assert "pairwise bootstrap; Holm over 6 pairs" in ranking


def test_sweep_section_from_the_sweep_record(full):
    html = report.sweep_section(full)
    assert "6 trials searched 2 parameters to maximize val_acc" in html
    assert "3 completed, 2 pruned" in html and "1 failed" in html
    assert "Best val_acc: 0.660 (trial 3; lr = 0.0079, hidden = 64)" in html
    assert html.count('<img src="data:image/png') == 3  # history, importances, parallel
    assert "fANOVA over 3 trials" in html
    # Without importances the sweep stage says why, and the report repeats it.
    record = sweep().model_copy(update={"importances": None, "importances_note": "too few"})
    full.sweep_record = record
    assert "Parameter importances left out: too few." in report.sweep_section(full)


def test_learning_curves_of_jobs_and_trials(full):
    html = report.learning_curves(full)
    assert html.count('<img src="data:image/png') == 2  # the jobs', the trials'
    assert "Learning curves of 1 job(s): val_acc, train_loss" in html
    assert "1 job(s) report no per-epoch metrics" in html and "demo-s0-s1" in html


def test_what_went_wrong_lists_pruned_failed_and_jobs(full):
    html = report.what_went_wrong(full)
    assert "sweep trial 2" in html and "pruned" in html and "sweep trial 5" in html
    assert "Stopped early by the median pruner after epoch 2" in html
    assert "job demo-s0-s1" in html and "&lt;img src=x onerror=alert(1)&gt; broke" in html
    # No copy was kept: the notebook in the run folder is named, never opened.
    assert "/nowhere/runs/demo/demo-s0-s1/executed.ipynb" in html


def test_a_kept_notebook_is_attached_scrubbed_and_linked(tmp_path):
    state = store(tmp_path)
    copy = keep_failed_notebook(tmp_path, state, "demo-s0-s1")
    store(tmp_path, jobs_record=jobs(spec(), failed_copy=copy))
    attachments = tmp_path / "reports" / "demo" / "20270101_files"
    ctx = load_context(EXPERIMENT, state.root, attachments=attachments,
                       attachments_href="20270101_files")  # fmt: skip
    html = report.what_went_wrong(ctx)
    assert 'href="20270101_files/demo-s0-s1.ipynb"' in html
    attached = (attachments / "demo-s0-s1.ipynb").read_text()
    assert "raise ValueError" in attached and PASSWORD not in attached


def test_provenance_and_redacted_spec(full):
    html = report.provenance_footer(full)
    assert "abc123" in html and "uncommitted changes" in html and "fp-1" in html
    assert "3.11.7" in html and "host-1" in html and "p1" in html
    assert "sweep-run" in html and "demo in /nowhere/demo.journal" in html
    assert "90 s" in html and "job-run" in html  # the completed job's duration and run
    assert PASSWORD not in html and "db_password: &#x27;[REDACTED]&#x27;" in html
    assert html.index("name: demo") < html.index("sweep:") < html.index("report:")


def test_plain_run_and_sweep_only_reports(tmp_path):
    # No compare: section: no verdicts, a table of job metrics, notes in place of figures.
    plain = load_context(
        EXPERIMENT, store(tmp_path / "a", jobs_record=jobs(spec(sweep=False))).root
    )
    assert "no comparison stage" in report.executive_summary(plain)
    assert "test_acc" in report.results_table(plain)
    assert "Left out" in report.ranking_diagram(plain)
    assert "no sweep" in report.sweep_section(plain)
    assert "Left out: no comparison stage." in report.statistical_details(plain)
    assert plain.headline == "1 of 2 job(s) completed; no comparison was configured."
    # A sweep without compare: and without a job stage.
    only = load_context(EXPERIMENT, store(tmp_path / "b", sweep_record=sweep()).root)
    assert "Sweep of 6 trials: best val_acc 0.66" in only.headline
    assert "sweep only" in report.results_table(only)
    assert "sweep trial 5" in report.what_went_wrong(only)


def test_a_sweep_from_an_earlier_run_is_not_shown(tmp_path):
    state = store(tmp_path, jobs_record=jobs(spec(sweep=False)), sweep_record=sweep())
    ctx = load_context(EXPERIMENT, state.root)
    assert ctx.sweep_record is None
    assert "stored from an earlier run" in report.executive_summary(ctx)


def test_a_failing_section_leaves_a_note(tmp_path, capsys):
    # A ranking whose scores were lost (NaN stored as null) cannot be drawn.
    broken = comparison()
    assert broken.ranking is not None
    lost = broken.ranking.model_copy(update={"scores": [None] * len(broken.ranking.systems)})
    record = ComparisonRecord.model_validate(
        {**broken.model_dump(by_alias=True), "ranking": lost.model_dump()}
    )
    state = store(tmp_path, jobs_record=jobs(spec()), comparison_record=record)
    ctx = load_context(EXPERIMENT, state.root)
    with pytest.raises(ValueError, match="no score"):
        report.ranking_diagram(ctx)
    report.show(report.ranking_diagram, ctx)
    shown = capsys.readouterr().out
    assert report.SECTION_FAILED in shown and "no score" in shown


def test_sections_package_exports_every_section_of_the_outline(full):
    assert {s.__name__ for s in report.outline(full)} == set(sections.__all__)


def test_a_secondary_metric_is_supporting_evidence(tmp_path):
    state = store(tmp_path, jobs_record=jobs(spec()), comparison_record=comparison(secondary=True))
    ctx = load_context(EXPERIMENT, state.root)
    summary = report.executive_summary(ctx)
    assert "Secondary metric f1: No difference on F1. (supporting evidence" in summary
    assert summary.count('<article class="card') == 3  # the verdicts are the deciding metric's
    details = report.statistical_details(ctx)
    assert details.index("Deciding metric: accuracy") < details.index("Secondary metric: f1")
    assert "bootstrap summary" in details[: details.index("Secondary metric: f1")]
