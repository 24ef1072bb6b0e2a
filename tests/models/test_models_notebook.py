"""The training notebook template, executed by Papermill as a job would run it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pandas as pd
import papermill as pm
import pytest

from loclab.execution.contract import JobLayout, environment
from loclab.params.inspection import inspect_notebook

TEMPLATE = Path(__file__).resolve().parents[2] / "notebooks" / "templates" / "train_term_qa.ipynb"
LINE = re.compile(
    r"^[a-z_][a-z0-9_]* *: *(int|float|bool|str|list\[(str|int|float)\]|dict|Literal\[[^]]+\])"
    r" *= *\S.*  # \S.*$"
)


def test_template_is_committed_clean_and_thin() -> None:
    nb = nbformat.read(TEMPLATE, as_version=4)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    params = nb.cells[1]
    assert params.metadata.get("tags") == ["parameters"]
    for line in params.source.splitlines():
        # The import that declares choices, a blank line after it, then one typed,
        # documented assignment per line.
        if line in ("from typing import Literal", ""):
            continue
        assert LINE.match(line), line
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None
            assert not re.search(r"^\s*(def|class) ", cell.source, re.MULTILINE)


def test_parameters_are_typed_and_documented() -> None:
    params = inspect_notebook(TEMPLATE)
    assert not params.problems
    assert {"model", "size", "data_seed", "seed", "lr", "max_epochs", "batch_size"} <= set(
        params.names
    )
    assert params["lr"].type.base == "float" and params["model"].default == "ngram_lr"
    assert all(p.help for p in params.parameters.values())


def _run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **parameters: object) -> JobLayout:
    layout = JobLayout(tmp_path / "job")
    layout.create()
    for key, value in environment(layout, "test-job", {}).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("LOCLAB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    pm.execute_notebook(
        str(TEMPLATE),
        str(layout.executed_notebook),
        parameters={"size": "tiny", **parameters},
        progress_bar=False,
        log_output=False,
        cwd=str(tmp_path),
    )
    return layout


def _check_outputs(layout: JobLayout, model: str) -> None:
    predictions = pd.read_parquet(layout.output_data_dir / "predictions.parquet")
    assert {
        "example_id",
        "label",
        "error_type",
        "locale",
        "prediction",
        "score",
        "correct",
    } <= set(predictions.columns)
    assert predictions["score"].between(0, 1).all() and predictions["example_id"].is_unique
    tags = json.loads((layout.output_data_dir / "tags.json").read_text())
    assert len(tags["loclab.data_fingerprint"]) == 64 and tags["loclab.model"] == model
    records = [json.loads(line) for line in layout.metrics_file.read_text().splitlines()]
    final = [r["metrics"] for r in records if r["step"] is None]
    assert final and 0.5 < final[-1]["test_acc"] <= 1.0
    assert any("val_acc" in r["metrics"] for r in records if r["step"] is not None)
    assert any(layout.model_dir.iterdir())
    size_kb = layout.executed_notebook.stat().st_size / 1024
    assert size_kb < 100, f"executed notebook is {size_kb:.0f} KB"


def test_rule_check_runs_as_a_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    layout = _run(tmp_path, monkeypatch, model="rule")
    _check_outputs(layout, "rule")
    assert list((tmp_path / "cache").glob("term_qa-tiny-*.parquet"))


@pytest.mark.slow
def test_char_cnn_runs_as_a_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    layout = _run(tmp_path, monkeypatch, model="char_cnn", max_epochs=1)
    _check_outputs(layout, "char_cnn")
    assert list(layout.checkpoint_dir.glob("*.ckpt"))
