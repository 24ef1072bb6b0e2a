"""Metrics and per-example prediction tables shared by every system (baseline or neural)."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["accuracy_by", "classification_metrics", "predictions_frame"]

_EPS = 1e-7


def classification_metrics(
    labels: np.ndarray | pd.Series, scores: np.ndarray | pd.Series, threshold: float = 0.5
) -> dict[str, float]:
    """Accuracy, F1 and log loss of P(correct) scores against 0/1 labels.

    Args:
        labels: 1 for a correct translation, 0 for a QA error.
        scores: P(correct) per example.
        threshold: Scores at or above it predict "correct".

    Returns:
        ``acc``; ``f1`` of the "correct" class (label 1); ``loss``, the mean binary
        cross-entropy (scores clipped away from 0 and 1); and ``error_f1``, F1 of the "error"
        class, which is what a QA reviewer cares about.
    """
    y = np.asarray(labels, dtype=float)
    p = np.asarray(scores, dtype=float)
    if y.shape != p.shape:
        raise ValueError(f"labels {y.shape} and scores {p.shape} differ in shape")
    if y.size == 0:
        raise ValueError("no examples to score")
    pred = (p >= threshold).astype(float)
    clipped = np.clip(p, _EPS, 1 - _EPS)
    return {
        "acc": float((pred == y).mean()),
        "f1": _f1(y, pred, 1.0),
        "error_f1": _f1(y, pred, 0.0),
        "loss": float(-(y * np.log(clipped) + (1 - y) * np.log(1 - clipped)).mean()),
    }


def predictions_frame(
    frame: pd.DataFrame, scores: np.ndarray | pd.Series, threshold: float = 0.5
) -> pd.DataFrame:
    """Per-example predictions in the form ``runtime.write_predictions`` expects.

    Args:
        frame: The examples scored, with ``example_id``, ``label``, ``locale`` and, when known,
            ``error_type``.
        scores: P(correct) per row of ``frame``.
        threshold: Scores at or above it predict "correct".

    Returns:
        Columns ``example_id``, ``label``, ``error_type``, ``locale``, ``prediction`` (0/1),
        ``score`` and ``correct`` (1 where the prediction equals the label).
    """
    score = np.asarray(scores, dtype=float)
    if score.shape != (len(frame),):
        raise ValueError(f"{score.shape[0]} scores for {len(frame)} examples")
    label = frame["label"].to_numpy(dtype=np.int64)
    prediction = (score >= threshold).astype(np.int64)
    if "error_type" in frame.columns:
        error_type = frame["error_type"].astype(str).to_numpy()
    else:
        error_type = np.full(len(frame), "unknown")
    return pd.DataFrame(
        {
            "example_id": frame["example_id"].astype(str).to_numpy(),
            "label": label,
            "error_type": error_type,
            "locale": frame["locale"].astype(str).to_numpy(),
            "prediction": prediction,
            "score": score,
            "correct": (prediction == label).astype(np.int64),
        }
    )


def accuracy_by(predictions: pd.DataFrame, by: str = "error_type") -> pd.DataFrame:
    """Accuracy and number of examples per group of a :func:`predictions_frame`.

    For ``by="error_type"`` the accuracy on an error type is the share of those errors caught,
    and on ``none`` the share of correct translations let through.
    """
    grouped = predictions.groupby(by, sort=True)["correct"]
    return pd.DataFrame({"n": grouped.size(), "accuracy": grouped.mean().round(3)})


def _f1(y: np.ndarray, pred: np.ndarray, positive: float) -> float:
    tp = float(((pred == positive) & (y == positive)).sum())
    fp = float(((pred == positive) & (y != positive)).sum())
    fn = float(((pred != positive) & (y == positive)).sum())
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)
