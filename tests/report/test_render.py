"""The quickstart's report end to end: `loclab run` writes it, `loclab report` rewrites it from
stored results without training, MLflow keeps a copy, the index lists every report."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from loclab.paths import StateDir
from loclab.report.page import SECTION_FAILED
from loclab.report.render import check_offline, render_report
from loclab.testing import files_under

from .conftest import clean_env, loclab
from .records import EXPERIMENT, comparison, jobs, spec, store, sweep

pytestmark = pytest.mark.slow

SECTIONS = ["summary", "results", "figures", "details", "problems", "provenance", "glossary"]
_GENERATED = [
    re.compile(r"Report of [^·<]+"),  # the title block's date
    re.compile(r"<td>Report generated</td><td>[^<]*</td>"),
]


def without_render_time(page: str) -> str:
    """A page without the two places that say when it was rendered."""
    for pattern in _GENERATED:
        page = pattern.sub("", page)
    return page


def test_run_writes_one_self_contained_page(quickstart_run):
    page = quickstart_run.page()
    folder = quickstart_run.reports / "quickstart"
    stamped = sorted(folder.glob("2*.html"))
    assert len(stamped) == 1 and stamped[0].read_text(encoding="utf-8") == page
    assert f"report: {folder / 'index.html'}" in quickstart_run.stdout
    # Offline: nothing fetched, nothing run, nothing linked outside the file.
    for needle in ("http://", "https://", "<script", "@import", "url(http", "<link", "<iframe"):
        assert needle not in page, needle
    assert check_offline(page) == []
    assert len(page.encode()) < 3 * 1024 * 1024
    # No code cell and no prompt made it into the page.
    assert "page.show(" not in page and "load_context" not in page and "In&nbsp;[" not in page
    images = re.findall(r"<img [^>]+>", page)
    assert len(images) >= 3
    for img in images:
        assert 'src="data:image/png;base64,' in img and re.search(r'alt="[^"]{20,}"', img)


def test_sections_in_order_with_the_answer_first(quickstart_run):
    page = quickstart_run.page()
    positions = [page.index(f'id="{anchor}"') for anchor in SECTIONS]
    assert positions == sorted(positions)
    assert page.index("<h1>") < page.index('class="answer"') < page.index('id="results"')
    summary = quickstart_run.records().read_comparison()
    assert summary is not None
    verdict = summary.comparisons[0]
    head = page[: page.index('id="results"')]
    assert summary.headline.split(":")[0] in head
    assert "would appear by chance" in head
    for name in ("character n-gram logistic regression", "character CNN (Lightning)"):
        assert name in page
    assert verdict.label in head
    for text in ("Learning curves", "Scores by system", "Difference to the baseline",
                 "fewer than three systems", "this experiment has no sweep",
                 "Nothing: all 2 job(s) completed", "Confidence interval"):  # fmt: skip
        assert text in page, text
    prov = page[page.index('id="provenance"') :]
    jobs = quickstart_run.records().read_jobs()
    assert jobs is not None and jobs.mlflow_parent_run_id
    assert jobs.provenance["loclab.git_sha"] in prov
    assert jobs.mlflow_parent_run_id in prov
    assert jobs.jobs[0].job_tags["loclab.data_fingerprint"] in prov
    assert "name: quickstart" in prov  # the spec as run


def test_report_artifact_on_the_parent_run(quickstart_run):
    jobs = quickstart_run.records().read_jobs()
    assert jobs is not None and jobs.mlflow_parent_run_id
    client = MlflowClient(f"sqlite:///{quickstart_run.state / 'mlflow.db'}")
    parent = jobs.mlflow_parent_run_id
    names = [a.path for a in client.list_artifacts(parent, "report")]
    assert names == ["report/report.html"]
    local = client.download_artifacts(parent, "report/report.html")
    assert "<h1>" in Path(local).read_text(encoding="utf-8")


def test_report_command_reuses_stored_results(quickstart_run):
    runs = quickstart_run.state / "runs"
    before = files_under(runs)
    mtimes = {p: p.stat().st_mtime for p in runs.rglob("status.json")}
    client = MlflowClient(f"sqlite:///{quickstart_run.state / 'mlflow.db'}")
    n_runs = len(
        client.search_runs(
            [e.experiment_id for e in client.search_experiments()], max_results=1000
        )
    )
    time.sleep(1.1)  # a new timestamp
    out = loclab("report", str(quickstart_run.spec), "--reports-dir", str(quickstart_run.reports),
                 cwd=quickstart_run.root, env=quickstart_run.env(), timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    assert "report:" in out.stdout and "logged on MLflow run" in out.stdout
    # Nothing trained, nothing started: no new run folder, no job touched, no new MLflow run.
    assert files_under(runs) == before
    assert {p: p.stat().st_mtime for p in runs.rglob("status.json")} == mtimes
    assert (
        len(
            client.search_runs(
                [e.experiment_id for e in client.search_experiments()], max_results=1000
            )
        )
        == n_runs
    )
    # History: two timestamped pages; index.html is the newest; the reports index lists both.
    folder = quickstart_run.reports / "quickstart"
    stamped = sorted(folder.glob("2*.html"))
    assert len(stamped) == 2
    assert (folder / "index.html").read_text() == stamped[-1].read_text()
    index = (quickstart_run.reports / "index.html").read_text()
    assert "quickstart/index.html" in index and f"quickstart/{stamped[0].name}" in index
    assert "Quickstart: terminology QA on CLDR" in index
    assert check_offline(index) == []


def test_report_command_without_results_fails_clearly(tmp_path, project):
    env = clean_env(LOCLAB_STATE_DIR=str(tmp_path / "empty"))
    out = loclab("report", "experiments/probe.yaml", cwd=project, env=env, timeout=120)
    assert out.returncode == 2  # NoResultsError: the user's to fix (run the experiment first)
    assert len(out.stderr.strip().splitlines()) == 1
    assert "no stored results for experiment 'probe'" in out.stderr
    assert "loclab run" in out.stderr
    assert not (project / "reports").exists()


def test_the_report_needs_only_the_records(quickstart_run, tmp_path):
    # A copy of the state with only the records: no run folder, no MLflow store, no artifacts.
    state = tmp_path / "state"
    shutil.copytree(quickstart_run.state / "results", state / "results")
    assert not (state / "runs").exists() and not (state / "mlflow.db").exists()
    result = render_report("quickstart", StateDir(state), tmp_path / "reports",
                           project_root=quickstart_run.root)  # fmt: skip
    again = result.latest.read_text(encoding="utf-8")
    assert without_render_time(again) == without_render_time(quickstart_run.page())


def test_a_researchers_report_puts_the_statistics_first(tmp_path):
    # Rendered by the report notebook itself: its loop follows the spec's audience.
    state = store(tmp_path, jobs_record=jobs(spec("researchers")), sweep_record=sweep(),
                  comparison_record=comparison())  # fmt: skip
    result = render_report(EXPERIMENT, state, tmp_path / "reports")
    page = result.latest.read_text(encoding="utf-8")
    order = ["summary", "details", "results", "figures", "problems", "provenance"]
    assert re.findall(r'<(?:section|h2) id="([a-z]+)"', page) == order
    assert 'id="glossary"' not in page and check_offline(page) == []
    assert SECTION_FAILED not in page
