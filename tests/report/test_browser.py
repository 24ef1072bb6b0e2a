"""The quickstart's report in a real browser (headless Chromium): it loads from disk with no
console error and no network request, every image decodes, and it prints without the menu.
Screenshots go to tests/_artifacts/ (git-ignored)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from loclab.testing.browser import find_chromium, inspect_page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = Path(__file__).resolve().parents[1] / "_artifacts"


@pytest.fixture(scope="module")
def chromium() -> str:
    found = find_chromium()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing in CI (make test installs the Debian package)")
        pytest.skip("no Chromium (make test installs it; or set LOCLAB_TEST_CHROMIUM)")
    return found


def check(path: Path, chromium: str, name: str):
    seen = inspect_page(path, chromium)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"report-{name}.png").write_bytes(seen.screenshot)
    (ARTIFACTS / f"report-{name}-print.png").write_bytes(seen.print_screenshot)
    (ARTIFACTS / f"report-{name}.pdf").write_bytes(seen.pdf)
    assert seen.errors == []
    assert seen.requests == []
    loaded, total = seen.images
    assert total >= 1 and loaded == total
    assert seen.print_nav_hidden is True
    assert seen.screenshot.startswith(b"\x89PNG") and len(seen.screenshot) > 50_000
    assert seen.pdf.startswith(b"%PDF")
    return seen


def test_quickstart_report_in_chromium(quickstart_run, chromium):
    seen = check(quickstart_run.reports / "quickstart" / "index.html", chromium, "quickstart")
    assert seen.title == "Quickstart: terminology QA on CLDR"
    assert seen.height > 2000


def test_hostile_report_runs_nothing_in_chromium(hostile_run, chromium):
    # An <img src=x onerror=...> that was not escaped would request a file and log an error.
    seen = check(hostile_run.reports / "hostile" / "index.html", chromium, "hostile")
    assert seen.title == "<script>alert(1)</script> hostile report"


def test_reports_index_in_chromium(quickstart_run, chromium):
    seen = inspect_page(quickstart_run.reports / "index.html", chromium)
    assert seen.errors == [] and seen.requests == []
    assert seen.title == "Experiment reports"
