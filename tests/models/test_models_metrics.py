from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score, log_loss

from loclab import runtime
from loclab.execution.contract import JobLayout
from loclab.models import accuracy_by, classification_metrics, predictions_frame


def test_metrics_match_scikit_learn() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200)
    scores = np.clip(labels * 0.3 + rng.random(200) * 0.7, 0, 1)
    got = classification_metrics(labels, scores)
    pred = (scores >= 0.5).astype(int)
    assert got["acc"] == pytest.approx(accuracy_score(labels, pred))
    assert got["f1"] == pytest.approx(f1_score(labels, pred))
    assert got["error_f1"] == pytest.approx(f1_score(labels, pred, pos_label=0))
    assert got["loss"] == pytest.approx(log_loss(labels, scores), rel=1e-5)


def test_metrics_refuse_mismatched_input() -> None:
    with pytest.raises(ValueError, match="shape"):
        classification_metrics(np.array([1, 0]), np.array([0.5]))
    with pytest.raises(ValueError, match="no examples"):
        classification_metrics(np.array([]), np.array([]))


def test_predictions_frame_is_accepted_by_the_runtime(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "example_id": ["a", "b", "c"],
            "label": [1, 0, 0],
            "error_type": ["none", "truncated", "misaligned"],
            "locale": ["de", "ja", "ja"],
        }
    )
    predictions = predictions_frame(frame, np.array([0.9, 0.2, 0.7]))
    assert list(predictions.columns) == [
        "example_id",
        "label",
        "error_type",
        "locale",
        "prediction",
        "score",
        "correct",
    ]
    assert predictions["prediction"].tolist() == [1, 0, 1]
    assert predictions["correct"].tolist() == [1, 1, 0]
    layout = JobLayout(tmp_path)
    layout.create()
    ctx = runtime.JobContext("t", layout, True, 1, 0, None, None)
    path = runtime.write_predictions(predictions, ctx=ctx)
    pd.testing.assert_frame_equal(pd.read_parquet(path), predictions)
    table = accuracy_by(predictions)
    assert table.loc["misaligned", "accuracy"] == 0 and table["n"].sum() == 3


def test_predictions_frame_without_error_types() -> None:
    frame = pd.DataFrame({"example_id": ["a"], "label": [1], "locale": ["de"]})
    assert predictions_frame(frame, [0.7])["error_type"].tolist() == ["unknown"]
    with pytest.raises(ValueError, match="2 scores for 1 examples"):
        predictions_frame(frame, [0.1, 0.2])
