"""The architecture holds: layered imports (import-linter), small modules, one place for env."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "lib" / "loclab"
#: Past this a module splits into private modules behind a curated ``__all__``.
MAX_LINES = 500
#: The only modules that read the process environment: the command line (the boundary), the
#: job entry point (and the warm standby that becomes a job's process, and the fork server
#: whose child becomes its kernel), and what a notebook sees of its job.
READS_ENVIRONMENT = {
    "cli",
    "execution/entrypoint.py",
    "execution/forkserver.py",
    "execution/warm.py",
    "runtime",
    "testing/aws.py",
}


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_import_layers_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run(
        [str(lint), "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "0 broken" in out.stdout


def test_no_module_is_too_long():
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in modules()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"split these modules (over {MAX_LINES} lines): {long}"


def test_environment_is_read_in_one_place():
    found = []
    for path in modules():
        rel = path.relative_to(PACKAGE).as_posix()
        if any(rel == allowed or rel.startswith(allowed + "/") for allowed in READS_ENVIRONMENT):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in ("environ", "getenv")
                and isinstance(node.value, ast.Name)
                and node.value.id == "os"
            ):
                found.append(f"{rel}:{node.lineno}")
    assert not found, f"configuration must flow in from the command line: {found}"


@pytest.mark.parametrize("package", ["report"])
def test_report_code_names_no_runner(package):
    """The report is a function of the records: no execution, sweep or tracking, anywhere."""
    pattern = re.compile(r"^\s*(from|import) loclab\.(execution|sweep|tracking)\b", re.M)
    hits = [
        str(p.relative_to(PACKAGE))
        for p in (PACKAGE / package).rglob("*.py")
        if pattern.search(p.read_text(encoding="utf-8"))
    ]
    assert not hits
