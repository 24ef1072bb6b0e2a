"""loclab's own processes skip optional imports that cost seconds (see loclab._imports)."""

from __future__ import annotations

import subprocess
import sys

CODE = """
import sys
from loclab._imports import skip_slow_optional_imports
skip_slow_optional_imports()
import nbformat
from nbformat.v4 import new_code_cell, new_notebook
nbformat.validate(new_notebook(cells=[new_code_cell("x = 1")]))
import papermill
print("rfc3987_syntax" in sys.modules and sys.modules["rfc3987_syntax"] is not None)
"""


def test_notebooks_validate_without_the_slow_iri_grammar():
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "False"
