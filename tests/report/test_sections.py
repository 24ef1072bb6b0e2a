"""Each section of the report, on small records stored as the stages store them (no kernel)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from loclab.report import page as report
from loclab.report import sections
from loclab.report.context import NoResultsError, ReportContext, load_context, readable_name
from loclab.report.html import Html, esc, table
from loclab.report.render import check_offline
from loclab.report.sections._common import Units
from loclab.report.sections.summary import threshold_status
from loclab.results import ComparisonRecord, ExperimentResults, RecordError
from loclab.spec import Spec

from .records import (
    CAVEAT,
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
    verdict,
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
    assert len(shown) == 14  # "Since the last good run" only for monitored experiments
    for section in shown:
        html = section(full)
        assert report.SECTION_FAILED not in html, (section.__name__, html[:500])
        assert_safe(html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report.title_block(full)


def test_summary_says_the_answer_with_effect_interval_chance_and_threshold(full):
    html = report.executive_summary(full)
    # The answer comes first, before anything else in the section.
    assert html.index('class="answer"') < html.index('class="exec"')
    assert "Switch to s0 label: it scored 3.0 points higher" in html
    said = text(html)
    assert full.comparison_record is not None
    for c in full.comparison_record.confirmatory:
        assert c.sentence.split(";")[0].split(' ("')[0] in said
    assert "about 1 time in 100" in said  # s0's chance phrase, from its raw p-value
    assert "How often chance alone gives such a gap" in said
    # The interval beside each verdict is the verdict's own, adjusted like it, and named so.
    assert "98.3% interval, adjusted for 3 comparisons" in said
    assert "+1.0 to +5.0 points" in said.replace("\u2212", "-")
    assert "p adjusted (Holm over 3 comparisons)" in said
    assert "Practical threshold" in said
    assert html.count('<article class="card') == 3  # up to four verdicts: one card each
    assert said.count(CAVEAT) == 1  # two comparisons share a caveat: said once
    assert 'href="#glossary"' in html  # stakeholders get a glossary at the end


def test_the_authors_summary_follows_the_answer(tmp_path):
    the_spec = spec().model_copy(
        update={"report": spec().report.model_copy(update={"summary": "We ship s0 in May."})}
    )
    state = store(tmp_path, jobs_record=jobs(the_spec), comparison_record=comparison())
    html = report.executive_summary(load_context(EXPERIMENT, state.root))
    assert html.index('class="answer"') < html.index("We ship s0 in May.") < html.index("exec")


def test_many_verdicts_become_a_table(tmp_path):
    state = store(tmp_path, jobs_record=jobs(spec()), comparison_record=comparison(7))
    html = report.executive_summary(load_context(EXPERIMENT, state.root))
    assert '<article class="card' not in html and 'class="verdicts"' in html
    assert html.count("<tr>") == 7 + 1
    assert "All 7 verdicts (2 better, 2 worse, 2 no difference, 1 too close to call)" in html
    assert "Interval (adjusted for 7 comparisons)" in html
    assert "p adjusted (Holm over 7 comparisons)" in html


POINTS = Units("accuracy", 100.0, "points", 1, True)


@pytest.mark.parametrize(
    ("decision", "est", "label"),
    [
        ("better", 0.05, "clears it"),  # the whole interval is a gain of 2 points or more
        ("no difference", -0.005, "a gain of 2 points ruled out"),
        ("too close to call", 0.03, "estimate clears it"),
        ("too close to call", 0.01, "a gain of 2 points still possible"),
        # A loss as large as the threshold never clears it (direction-aware).
        ("worse", -0.05, "a gain of 2 points ruled out"),
    ],
)
def test_threshold_status_is_direction_aware(decision, est, label):
    c = verdict("s0", decision, est, 0.01, family_size=1)
    got, sentence = threshold_status(c, POINTS)
    assert got == label
    assert "2 points" in sentence
    none, _ = threshold_status(c.model_copy(update={"threshold": 0.0}), POINTS)
    assert none == "none set"


def test_results_table_has_ci_verdict_letters_and_missing_jobs(full):
    html = report.results_table(full)
    assert "70.0%" in html and "± 1.0" in html and "badge better" in html
    assert ">Letters<" in html and ">ab<" in html
    assert "test_acc" not in html and ">test accuracy<" not in html  # the same numbers
    assert ">test F1<" in html  # a final metric under its readable name
    assert "+3.0 points (+1.0 to +5.0 points)" in html.replace("\u2212", "-")
    # Systems in the ranking's order; the job left out of the statistics is named.
    assert html.index("base label") < html.index("s0 label") < html.index("s2 label")
    assert "1 job(s) did not complete" in html and "demo-s0-s1" in html


def test_statistical_details_name_p_values_and_explain_once(full):
    html = report.statistical_details(full)
    said = text(html)
    assert "p adjusted: Holm over 3 comparisons" in said and "p: this comparison alone" in said
    assert ">50%<" in html and ">3 points<" in html  # power and detectable difference
    # The test's own summary speaks of A and B and of its unadjusted interval: not shown.
    assert "bootstrap summary" not in html
    assert "per-seed summary of s0" in html
    # Why this test: once for the three comparisons that used it.
    assert said.count("paired examples, several seeds") == 1
    assert "two-level bootstrap (3 comparisons): paired examples, several seeds" in said
    # Every detail line names both systems.
    for name in ("s0 label", "s1 label", "s2 label"):
        assert f"{name} vs base label" in said
    assert "0 (deterministic) for base label" in said
    assert "Scores per training run (accuracy)" in html and "seed 1" in html
    assert "Systems that share a letter cannot be told apart" in said and ">ab<" in html
    # What "better" means is said once, in the summary's note, not in every verdict sentence.
    assert "means unlikely to be chance, not large" not in said
    summary = text(report.executive_summary(full))
    assert "means unlikely to be chance, not large" not in summary
    assert summary.count("Better means unlikely to be chance.") == 1  # the record's note


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
    assert "Systems that share a letter cannot be told apart" in ranking
    effects = report.effect_plot(full)
    assert "intervals adjusted for the 3 comparisons like the verdicts" in effects
    assert "candidate minus the baseline" in effects


def test_sweep_section_from_the_sweep_record(full):
    html = report.sweep_section(full)
    assert "6 trials searched 2 parameters to maximize validation accuracy" in html
    assert "3 completed, 2 pruned" in html and "1 failed" in html
    assert "Best validation accuracy: 66.0% (trial 3; lr = 0.0079, hidden = 64)" in html
    assert "Measured on 288 validation examples" in html
    assert html.count('<img src="data:image/png') == 3  # history, importances, parallel
    assert "fANOVA over 3 trials" in html
    # The history shows the sampling noise of 288 validation examples.
    assert "±1 standard error of an accuracy measured on 288 validation examples" in html
    # One searched parameter has nothing to be ranked against: no importances chart.
    one = sweep().model_copy(update={"importances": {"lr": 1.0}})
    full.sweep_record = one
    assert "only one parameter was searched" in report.sweep_section(full)
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
    assert "test accuracy" in report.results_table(plain)
    assert "Left out" in report.ranking_diagram(plain)
    assert "no sweep" in report.sweep_section(plain)
    assert "Left out: no comparison stage." in report.statistical_details(plain)
    assert plain.headline == "1 of 2 job(s) completed; no comparison was configured."
    # A comparison was configured, but a system has no completed job: the index says so.
    systems = {"base": {"role": "baseline"}, "s0": {"params": {"lr": 0.1}}}
    with_compare = Spec.model_validate(
        {**spec().model_dump(exclude_unset=True), "compare": {"systems": systems}}
    )
    run = jobs(spec()).model_copy(update={"spec": with_compare})
    broken = load_context(EXPERIMENT, store(tmp_path / "c", jobs_record=run).root)
    assert broken.headline == (
        "1 of 2 job(s) completed; the comparison could not run: no completed job of s0."
    )
    # A sweep without compare: and without a job stage.
    only = load_context(EXPERIMENT, store(tmp_path / "b", sweep_record=sweep()).root)
    assert only.headline.startswith(
        "Sweep of 6 trials (3 completed, 2 pruned, 1 failed): best validation accuracy 66.0% "
        "(trial 3); "
    )
    assert "within one standard error (±2.8 points on 288 validation examples)" in only.headline
    assert "a sweep only: 6 trial(s) ran" in report.results_table(only)
    assert "the sweep&#x27;s figures show what its trials found" in report.executive_summary(only)
    assert "No jobs ran" not in report.results_table(only)
    # The trials read the data: their fingerprint is the experiment's.
    assert "fp-sweep" in report.provenance_footer(only)
    assert only.title == "Demo"  # no spec stored: the experiment's name, readable
    assert "sweep trial 5" in report.what_went_wrong(only)


@pytest.mark.parametrize(
    ("name", "title"),
    [("term-qa", "Term QA"), ("mt-engines", "MT engines"), ("quickstart", "Quickstart"),
     ("qe_baselines", "QE baselines"), ("state-of-the-art", "State of the art"),
     ("cnn-vs-lr", "CNN vs LR")],
)  # fmt: skip
def test_readable_names(name, title):
    assert readable_name(name) == title


def test_a_spec_without_a_title_reads_its_question(tmp_path):
    data = spec(sweep=False).model_dump(by_alias=True)
    data["report"]["title"] = None
    data["description"] = "Does the CNN beat the baseline?"
    state = store(tmp_path, jobs_record=jobs(Spec.model_validate(data)))
    ctx = load_context(EXPERIMENT, state.root)
    assert ctx.title == "Does the CNN beat the baseline?"
    head = report.title_block(ctx)
    assert head.count("Does the CNN beat the baseline?") == 1  # not repeated as the question
    data["description"] = "A long description. " * 10
    store(tmp_path, jobs_record=jobs(Spec.model_validate(data)))
    assert load_context(EXPERIMENT, state.root).title == "Demo"


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
    # Every exported section is shown; "since" only when the experiment is monitored.
    shown = {s.__name__ for s in report.outline(full)}
    assert shown | {"since_last_good"} == set(sections.__all__)


def test_a_secondary_metric_is_supporting_evidence(tmp_path):
    state = store(tmp_path, jobs_record=jobs(spec()), comparison_record=comparison(secondary=True))
    ctx = load_context(EXPERIMENT, state.root)
    summary = report.executive_summary(ctx)
    assert (
        "Secondary metric f1 (supporting evidence; see the statistical details): "
        "No difference on F1." in summary
    )
    assert summary.count('<article class="card') == 3  # the verdicts are the deciding metric's
    details = report.statistical_details(ctx)
    assert details.index("Deciding metric: accuracy") < details.index("Secondary metric: f1")
    assert "per-seed summary of s0" in details[: details.index("Secondary metric: f1")]


def test_an_interval_end_just_past_zero_keeps_its_sign():
    units = Units("accuracy", 100.0, "points", 1, True)
    # -13.2 to +0.015 points: the interval includes 0, and says so ("+0.0" would not).
    assert units.span((-0.132, 0.00015)) == "−13.2 to +0.01 points"
    assert units.span((-0.132, -0.00015)) == "−13.2 to −0.01 points"
    assert units.diff(-0.0) == "+0.0 points"
