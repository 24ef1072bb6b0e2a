"""The report notebook: a typed, documented parameters cell, thin cells, no committed outputs."""

from __future__ import annotations

import json
from pathlib import Path

from loclab.params import inspect_notebook
from loclab.report.render import PACKAGED_NOTEBOOK, report_template

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "notebooks" / "templates" / "report.ipynb"


def test_parameters_are_typed_and_documented():
    found = inspect_notebook(NOTEBOOK)
    assert not found.problems
    params = found.parameters
    assert list(params) == ["experiment", "state_dir", "attachments", "attachments_href"]
    for p in params.values():
        assert p.annotated and str(p.type) == "str" and p.help, p.name
    assert params["experiment"].default_text == '"quickstart"'


def test_cells_only_call_the_library_and_carry_no_outputs():
    nb = json.loads(NOTEBOOK.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    for cell in code:
        assert not cell.get("outputs") and cell.get("execution_count") is None
        source = "".join(cell["source"])
        assert "def " not in source and "class " not in source
    # One loop shows the sections in the audience's order (loclab.report.outline).
    loop = "for section in page.outline(ctx):\n    page.show(section, ctx)"
    assert sum(loop in "".join(c["source"]) for c in code) == 1
    assert "page.show_metadata(ctx)" in "".join(code[-1]["source"])


def test_the_project_template_is_found(tmp_path):
    assert NOTEBOOK.resolve() == PACKAGED_NOTEBOOK.resolve()  # the project's is loclab's
    assert report_template(REPO) == NOTEBOOK
    assert report_template(tmp_path) == PACKAGED_NOTEBOOK  # a project without one: loclab's
