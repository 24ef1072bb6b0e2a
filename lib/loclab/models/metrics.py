"""Metrics and per-example prediction tables shared by every system (baseline or neural)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from loclab.stats import correlation

__all__ = [
    "accuracy_by",
    "classification_metrics",
    "correlation_by",
    "predictions_frame",
    "qe_predictions_frame",
    "regression_metrics",
]

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


def regression_metrics(
    gold: np.ndarray | pd.Series, predicted: np.ndarray | pd.Series
) -> dict[str, float]:
    """Correlations and errors of predicted quality scores against gold scores.

    Returns:
        ``pearson``, ``spearman`` and ``kendall`` (tau-b) correlations, which QE is judged
        by; ``rmse`` and ``mae`` on the scores' own scale.
    """
    y = np.asarray(gold, dtype=float)
    p = np.asarray(predicted, dtype=float)
    if y.shape != p.shape:
        raise ValueError(f"gold {y.shape} and predicted {p.shape} differ in shape")
    if y.size < 3:
        raise ValueError("correlations need at least 3 examples")
    return {
        "pearson": correlation(p, y, "pearson"),
        "spearman": correlation(p, y, "spearman"),
        "kendall": correlation(p, y, "kendall"),
        "rmse": float(np.sqrt(np.mean((p - y) ** 2))),
        "mae": float(np.mean(np.abs(p - y))),
    }


def qe_predictions_frame(frame: pd.DataFrame, predicted: np.ndarray | pd.Series) -> pd.DataFrame:
    """Per-example QE predictions in the form ``runtime.write_predictions`` expects.

    Args:
        frame: The examples scored, with ``example_id``, ``score`` (gold), ``locale`` and,
            when known, ``error_type`` (the kind of candidate).
        predicted: Predicted quality per row of ``frame``.

    Returns:
        Columns ``example_id``, ``label`` (the gold score), ``prediction`` and ``score`` (both
        the predicted score: correlation metrics read ``score`` against ``label``),
        ``error_type``, ``locale`` and ``abs_error``.
    """
    p = np.asarray(predicted, dtype=float)
    if p.shape != (len(frame),):
        raise ValueError(f"{p.shape[0]} predictions for {len(frame)} examples")
    gold = frame["score"].to_numpy(dtype=float)
    kinds = (
        frame["error_type"] if "error_type" in frame.columns else pd.Series("unknown", frame.index)
    )
    return pd.DataFrame(
        {
            "example_id": frame["example_id"].astype(str).to_numpy(),
            "label": gold,
            "prediction": p,
            "score": p,
            "error_type": kinds.astype(str).to_numpy(),
            "locale": frame["locale"].astype(str).to_numpy(),
            "abs_error": np.abs(p - gold),
        }
    )


def correlation_by(predictions: pd.DataFrame, by: str = "error_type") -> pd.DataFrame:
    """Pearson and Spearman correlation and mean absolute error per group of QE predictions.

    Groups with fewer than 3 examples get no correlation (NaN).
    """
    rows = {}
    for name, group in predictions.groupby(by, sort=True):
        enough = len(group) >= 3
        rows[name] = {
            "n": len(group),
            "pearson": correlation(group["score"], group["label"]) if enough else np.nan,
            "spearman": correlation(group["score"], group["label"], "spearman")
            if enough
            else np.nan,
            "mae": float(group["abs_error"].mean()),
        }
    return pd.DataFrame.from_dict(rows, orient="index").round(3)
