"""Hostile markup and planted secrets in a spec, labels, parameters, notebook output and a job
failure: the report shows them as text, redacts the secrets, and so do the executed notebooks
that go to MLflow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from loclab.report.render import check_offline

from .conftest import IMG, SCRIPT

pytestmark = pytest.mark.slow

ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"
ESCAPED_IMG = "&lt;img src=x onerror=alert(1)&gt;"


def text_files(root: Path) -> dict[Path, str]:
    out = {}
    for path in root.rglob("*"):
        if path.is_file() and path.suffix in (".ipynb", ".html", ".log", ".json", ".txt", ""):
            out[path] = path.read_text(encoding="utf-8", errors="replace")
    return out


def test_hostile_strings_show_as_text(hostile_run):
    page = hostile_run.page()
    assert check_offline(page) == []
    assert "<script" not in page and "onerror=alert" not in page.replace(ESCAPED_IMG, "")
    assert SCRIPT not in page and IMG not in page
    head = page[: page.index("</h1>")]
    assert ESCAPED_SCRIPT in head  # the title
    # The description, a system label, the failure message and a breakdown value.
    assert f"{ESCAPED_SCRIPT} Is {ESCAPED_IMG} better?" in page
    assert page.count(ESCAPED_SCRIPT) >= 4 and page.count(ESCAPED_IMG) >= 3
    assert "&lt;b&gt;base&lt;/b&gt; &amp; co" in page
    problems = page[page.index('id="problems"') : page.index('id="provenance"')]
    assert (
        "job hostile-evil-s1" in problems and f"{ESCAPED_SCRIPT} {ESCAPED_IMG} failed" in problems
    )


def test_secrets_never_reach_the_reports_folder(hostile_run, secrets):
    files = text_files(hostile_run.reports)
    assert any(p.suffix == ".ipynb" for p in files)  # the failed job's notebook, attached
    for path, text in files.items():
        for value in secrets.values():
            assert value not in text, (path, value)
    assert "[REDACTED]" in hostile_run.page()


def test_failed_job_notebook_is_attached_scrubbed_and_linked(hostile_run, secrets):
    folder = hostile_run.reports / "hostile"
    attached = list(folder.glob("2*_files/hostile-evil-s1.ipynb"))
    assert len(attached) == 1
    href = f"{attached[0].parent.name}/{attached[0].name}"
    assert f'href="{href}"' in hostile_run.page()
    nb = json.loads(attached[0].read_text())
    outputs = json.dumps([c.get("outputs") for c in nb["cells"]])
    assert "ValueError" in outputs and "[REDACTED]" in outputs


def test_executed_notebooks_logged_to_mlflow_are_scrubbed(hostile_run, secrets):
    state = hostile_run.state
    client = MlflowClient(f"sqlite:///{state / 'mlflow.db'}")
    exp = client.get_experiment_by_name("hostile")
    jobs = client.search_runs([exp.experiment_id], filter_string="tags.loclab.job != ''")
    assert len(jobs) == 4
    seen = 0
    for run in jobs:
        local = Path(client.download_artifacts(run.info.run_id, "output"))
        notebook = local / "executed.ipynb"
        assert notebook.exists()
        text = notebook.read_text()
        seen += "[REDACTED]" in text
        for value in secrets.values():
            assert value not in text, (run.info.run_name, value)
        for key, tag in run.data.tags.items():
            assert not any(v in tag for v in secrets.values()), key
    assert seen == 4
    # The run folders' own copies were scrubbed in place before the upload.
    for path, text in text_files(state / "runs" / "hostile").items():
        if path.suffix == ".ipynb" or path.name in ("job.log", "failure"):
            assert not any(v in text for v in secrets.values()), path


def test_report_artifact_is_the_safe_page(hostile_run, secrets):
    client = MlflowClient(f"sqlite:///{hostile_run.state / 'mlflow.db'}")
    parent = hostile_run.records().read_jobs()
    assert parent is not None and parent.mlflow_parent_run_id
    path = client.download_artifacts(parent.mlflow_parent_run_id, "report/report.html")
    text = Path(path).read_text()
    assert SCRIPT not in text and not any(v in text for v in secrets.values())
