"""`loclab publish` uploads the experiment's reports folder and the index to S3 (a moto server
on 127.0.0.1 reached through AWS_ENDPOINT_URL, dummy credentials)."""

from __future__ import annotations

import pytest

from loclab.report.index import add_entry, write_index
from loclab.report.publish import PublishError, publish_reports
from loclab.testing.aws import MotoServer, shared_server

from .conftest import clean_env, loclab


@pytest.fixture
def s3() -> MotoServer:
    server = shared_server()
    server.reset()
    return server


def fake_reports(root, name="demo"):
    folder = root / name
    (folder / "20260101-000000_files").mkdir(parents=True)
    (folder / "20260101-000000.html").write_text("<h1>old</h1>")
    (folder / "index.html").write_text("<h1>new</h1>")
    (folder / "20260101-000000_files" / "job.ipynb").write_text("{}")
    add_entry(folder, {"file": "20260101-000000.html", "created_ts": 1.0, "headline": "h"})
    write_index(root, "", "test")
    (root / "other").mkdir()
    (root / "other" / "index.html").write_text("not this one")


def test_publish_uploads_the_folder_and_the_index(tmp_path, s3):
    fake_reports(tmp_path / "reports")
    s3.create_bucket("loclab-reports")
    with s3.activated():
        written = publish_reports("demo", tmp_path / "reports", "s3://loclab-reports/team/weekly")
    keys = {o["Key"] for o in s3.client("s3").list_objects_v2(
        Bucket="loclab-reports")["Contents"]}  # fmt: skip
    assert keys == {
        "team/weekly/index.html",
        "team/weekly/demo/index.html",
        "team/weekly/demo/20260101-000000.html",
        "team/weekly/demo/20260101-000000_files/job.ipynb",
        "team/weekly/demo/reports.json",
    }
    assert written[0] == "s3://loclab-reports/team/weekly/demo/index.html"
    head = s3.client("s3").head_object(Bucket="loclab-reports", Key="team/weekly/demo/index.html")
    assert head["ContentType"] == "text/html; charset=utf-8"
    body = s3.client("s3").get_object(Bucket="loclab-reports", Key="team/weekly/demo/index.html")
    assert body["Body"].read() == b"<h1>new</h1>"


def test_publish_errors_are_one_line(tmp_path, s3):
    fake_reports(tmp_path / "reports")
    with s3.activated():
        with pytest.raises(PublishError, match="NoSuchBucket"):
            publish_reports("demo", tmp_path / "reports", "s3://missing-bucket/x")
        with pytest.raises(PublishError, match="no report of 'nothing'"):
            publish_reports("nothing", tmp_path / "reports", "s3://missing-bucket/x")


@pytest.mark.slow
def test_publish_command_after_report(quickstart_run, s3):
    s3.create_bucket("team-reports")
    env = {**quickstart_run.env(), **s3.environ()}
    out = loclab("publish", str(quickstart_run.spec), "--to", "s3://team-reports/loclab",
                 "--reports-dir", str(quickstart_run.reports), cwd=quickstart_run.root, env=env,
                 timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert "s3://team-reports/loclab/quickstart/index.html" in out.stdout
    keys = {o["Key"] for o in s3.client("s3").list_objects_v2(
        Bucket="team-reports")["Contents"]}  # fmt: skip
    assert {"loclab/index.html", "loclab/quickstart/index.html"} <= keys
    assert any(k.startswith("loclab/quickstart/2") and k.endswith(".html") for k in keys)


def test_publish_command_rejects_a_bad_destination(project):
    out = loclab("publish", "experiments/probe.yaml", "--to", "https://example.org/x",
                 cwd=project, env=clean_env(), timeout=120)  # fmt: skip
    assert out.returncode == 2
    assert "--to: not an s3:// URI" in out.stderr
