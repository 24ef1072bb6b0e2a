"""``loclab init``, ``new experiment``, ``list`` and ``open`` as a user runs them."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest


def loclab(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    base = {
        k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER")
    }
    return subprocess.run(
        [sys.executable, "-m", "loclab", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
        timeout=600,
    )


@pytest.mark.slow
def test_init_new_validate_run_in_an_empty_folder(tmp_path: Path):
    """The onboarding path, with no hand edits: a report at the end."""
    out = loclab("init", "proj", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "loclab new experiment first" in out.stdout
    proj = tmp_path / "proj"
    out = loclab("new", "experiment", "first", cwd=proj)  # the only template: no --notebook
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("wrote experiments/first.yaml")
    out = loclab("validate", "experiments/first.yaml", cwd=proj)
    assert out.returncode == 0, out.stderr
    out = loclab("run", "experiments/first.yaml", cwd=proj)
    assert out.returncode == 0, out.stderr
    assert (proj / "reports" / "first" / "index.html").is_file()
    assert "INFO" not in out.stdout + out.stderr
    listed = loclab("list", cwd=proj)
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if line.startswith("first "))
    assert "finished" in row and "test_acc=0." in row and "reports/first/index.html" in row
    starter = next(line for line in listed.stdout.splitlines() if line.startswith("starter "))
    assert "never run" in starter


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["new", "experiment", "Mine"],
         "command line: NAME: 'Mine' is not a valid experiment name"),
        (["new", "experiment", "mine", "--notebook", "nope.ipynb"],
         "command line: --notebook: nope.ipynb not found; check the path"),
        (["new", "experiment", "mine", "--sweep", ",", "--notebook", "notebooks/probe.ipynb"],
         "command line: --sweep: names no parameter"),
        (["new", "experiment", "probe", "--notebook", "notebooks/probe.ipynb"],
         "command line: NAME: experiments/probe.yaml already exists (not overwritten)"),
        (["open", "experiments/probe.yaml"],
         "experiments/probe.yaml: report: experiment 'probe' has no report yet"),
        (["open", "experiments/nope.yaml"], "experiments/nope.yaml: spec file not found"),
        (["init", "experiments"], "command line: DIR: experiments exists and is not empty"),
    ],
)  # fmt: skip
def test_bad_input_exits_2_with_one_line(project: Path, args: list[str], line: str):
    before = sorted(p for p in project.rglob("*"))
    out = loclab(*args, cwd=project)
    assert out.returncode == 2, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert out.stderr.startswith(line), out.stderr
    assert sorted(p for p in project.rglob("*")) == before


def test_new_experiment_needs_a_project_and_names_the_notebook(tmp_path: Path, project: Path):
    out = loclab("list", cwd=tmp_path.parent)
    assert out.returncode == 2 and "is not inside a loclab project" in out.stderr
    assert out.stderr.strip().endswith("create one with: loclab init DIR")
    (project / "notebooks" / "other.ipynb").write_bytes(
        (project / "notebooks" / "probe.ipynb").read_bytes()
    )
    out = loclab("new", "experiment", "mine", "--notebook", "notebooks/other.ipynb", cwd=project)
    assert out.returncode == 0, out.stderr
    assert "notebook: notebooks/other.ipynb" in (project / "experiments" / "mine.yaml").read_text()


def test_list_and_open_after_a_run(project: Path, tmp_path: Path):
    ran = loclab("run", "experiments/probe.yaml", cwd=project)
    assert ran.returncode == 0, ran.stderr
    listed = loclab("list", cwd=project)
    assert listed.returncode == 0, listed.stderr
    head, row = listed.stdout.splitlines()[:2]
    assert head.split() == ["experiment", "spec", "last", "run", "status", "result", "report"]
    assert row.split()[:2] == ["probe", "experiments/probe.yaml"]
    assert "finished" in row and "test_score=2.3" in row and "reports/probe/index.html" in row
    page = project / "reports" / "probe" / "index.html"

    # No display: the path only.
    out = loclab("open", "experiments/probe.yaml", cwd=project)
    assert out.returncode == 0 and out.stdout.strip() == str(page.resolve())

    # A display: the page goes to the browser ($BROWSER stands in for one).
    seen = tmp_path / "seen.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\necho "$1" > {seen}\n')
    browser.chmod(browser.stat().st_mode | stat.S_IEXEC)
    out = loclab("open", "experiments/probe.yaml", cwd=project,
                 env={"DISPLAY": ":0", "BROWSER": str(browser)})  # fmt: skip
    assert out.returncode == 0, out.stderr
    deadline = time.time() + 30
    while not seen.exists() and time.time() < deadline:
        time.sleep(0.2)
    assert seen.read_text().strip() == page.resolve().as_uri()
