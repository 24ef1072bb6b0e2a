"""Quality estimation: baselines, the Lightning regressor, metrics and the QE notebook."""

from __future__ import annotations

import json
import re
from pathlib import Path

import lightning as L
import nbformat
import numpy as np
import pandas as pd
import papermill as pm
import pytest
import torch
from scipy import stats as sps

from loclab.data import TermQADataset
from loclab.data.datamodule import QEDataModule
from loclab.execution.contract import JobLayout, environment
from loclab.models import (
    QE_SYSTEMS,
    make_qe_baseline,
    qe_predictions_frame,
    regression_metrics,
)
from loclab.models.qe import QEModule
from loclab.models.qe_baselines import NgramRidge, SourceSimilarity
from loclab.params.inspection import inspect_notebook

TEMPLATE = Path(__file__).resolve().parents[2] / "notebooks" / "templates" / "train_qe.ipynb"


@pytest.fixture(scope="module")
def fitted(qe_tiny: TermQADataset) -> dict[str, SourceSimilarity | NgramRidge]:
    return {name: make_qe_baseline(name).fit(qe_tiny.train) for name in ("similarity", "ridge")}


def test_baselines_track_quality_on_unseen_terms(fitted, qe_tiny: TermQADataset) -> None:
    test = qe_tiny.test
    r = {n: regression_metrics(test["score"], m.predict(test)) for n, m in fitted.items()}
    assert 0.25 < r["similarity"]["pearson"] < 0.6
    # The n-gram ridge knows what words of each language look like: clearly better.
    assert r["ridge"]["pearson"] > r["similarity"]["pearson"] + 0.1
    assert r["ridge"]["spearman"] > 0.5 and r["ridge"]["kendall"] > 0.35


def test_baselines_save_and_load(fitted, qe_tiny: TermQADataset, tmp_path: Path) -> None:
    for model in fitted.values():
        path = model.save(tmp_path)
        again = type(model).load(path)
        np.testing.assert_allclose(again.predict(qe_tiny.val), model.predict(qe_tiny.val))
    with pytest.raises(ValueError, match="unknown QE baseline"):
        make_qe_baseline("bleu")


def test_regression_metrics_match_scipy() -> None:
    rng = np.random.default_rng(0)
    gold = np.round(rng.uniform(size=50), 1)
    pred = gold + rng.normal(0, 0.3, 50)
    m = regression_metrics(gold, pred)
    assert m["pearson"] == pytest.approx(sps.pearsonr(pred, gold).statistic)
    assert m["spearman"] == pytest.approx(sps.spearmanr(pred, gold).statistic)
    assert m["kendall"] == pytest.approx(sps.kendalltau(pred, gold).statistic)
    assert m["rmse"] == pytest.approx(np.sqrt(np.mean((pred - gold) ** 2)))


def test_prediction_table(qe_tiny: TermQADataset) -> None:
    test = qe_tiny.test
    table = qe_predictions_frame(test, test["score"] + 0.1)
    assert {"example_id", "label", "prediction", "score", "error_type", "abs_error"} <= set(table)
    assert table["label"].tolist() == test["score"].tolist()
    assert table["abs_error"].to_numpy() == pytest.approx(0.1)


def test_cnn_regressor_learns_and_round_trips(qe_tiny: TermQADataset, tmp_path: Path) -> None:
    L.seed_everything(0, verbose=False)
    datamodule = QEDataModule(qe_tiny, batch_size=64)
    model = QEModule.from_datamodule(datamodule, hidden=32)
    assert model.hparams.score_mean == pytest.approx(qe_tiny.train["score"].mean())
    batch = datamodule.encode(qe_tiny.train.iloc[:128])
    assert float(batch.label.mean()) == pytest.approx(
        (qe_tiny.train["score"].iloc[:128].mean() - datamodule.score_mean) / datamodule.score_std,
        abs=1e-5,
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    losses = []
    for _ in range(15):
        optimizer.zero_grad()
        loss = _mse(model, batch)
        loss.backward()
        optimizer.step()
        losses.append(float(loss))
    assert losses[-1] < losses[0] * 0.8
    predicted = model.predict(qe_tiny.val)
    assert predicted.shape == (len(qe_tiny.val),) and np.isfinite(predicted).all()
    again = QEModule.load(model.save(tmp_path))
    np.testing.assert_allclose(again.predict(qe_tiny.val), predicted, rtol=1e-5, atol=1e-6)


def _mse(model: QEModule, batch):  # type: ignore[no-untyped-def]
    return torch.nn.functional.mse_loss(model(batch), batch.label)


def test_template_is_thin_and_typed() -> None:
    nb = nbformat.read(TEMPLATE, as_version=4)
    assert nb.cells[1].metadata.get("tags") == ["parameters"]
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None
            assert not re.search(r"^\s*(def|class) ", cell.source, re.MULTILINE)
    params = inspect_notebook(TEMPLATE)
    assert not params.problems and all(p.help for p in params.parameters.values())
    assert params["model"].default == "ridge" and set(QE_SYSTEMS) >= {"ridge", "char_cnn"}


def _run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **parameters: object) -> JobLayout:
    layout = JobLayout(tmp_path / "job")
    layout.create()
    for key, value in environment(layout, "test-qe-job", {}).items():
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


def test_ridge_runs_as_a_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    layout = _run(tmp_path, monkeypatch, model="ridge")
    predictions = pd.read_parquet(layout.output_data_dir / "predictions.parquet")
    assert predictions["example_id"].is_unique and predictions["label"].between(0, 1).all()
    records = [json.loads(line) for line in layout.metrics_file.read_text().splitlines()]
    final = [r["metrics"] for r in records if r["step"] is None][-1]
    assert 0.5 < final["test_pearson"] < 1 and "test_kendall" in final
    tags = json.loads((layout.output_data_dir / "tags.json").read_text())
    assert tags["loclab.model"] == "ridge" and tags["loclab.data"].startswith("cldr-qe/tiny")


@pytest.mark.slow
def test_char_cnn_runs_as_a_job_and_repeats_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layout = _run(tmp_path, monkeypatch, model="char_cnn", max_epochs=1, hidden=32)
    predictions = pd.read_parquet(layout.output_data_dir / "predictions.parquet")
    assert np.isfinite(predictions["score"]).all()
    assert list(layout.checkpoint_dir.rglob("*.ckpt"))
    # The same seed in a new kernel gives the same model: the network was built before the
    # seed was set, so its initial weights came from the kernel's random state (runs differed).
    (tmp_path / "again").mkdir()
    again = _run(tmp_path / "again", monkeypatch, model="char_cnn", max_epochs=1, hidden=32)
    repeated = pd.read_parquet(again.output_data_dir / "predictions.parquet")
    pd.testing.assert_frame_equal(repeated, predictions)
