"""Systems for loclab's example tasks: baselines, Lightning models, and shared metrics.

:mod:`~loclab.models.baselines` (rule check, n-gram logistic regression; scikit-learn),
:mod:`~loclab.models.metrics` (accuracy/F1/loss, prediction tables),
:mod:`~loclab.models.components` (plain ``nn.Module`` blocks),
:mod:`~loclab.models.term_qa` (the Lightning module) and :mod:`~loclab.models.callbacks`.
Importing this package does not import torch; the torch-based names load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loclab.models.baselines import (
    BASELINES,
    NgramLogisticRegression,
    RuleChecker,
    load_baseline,
    make_baseline,
)
from loclab.models.metrics import accuracy_by, classification_metrics, predictions_frame

if TYPE_CHECKING:
    from loclab.models.term_qa import TermQAModule

__all__ = [
    "BASELINES",
    "SYSTEMS",
    "NgramLogisticRegression",
    "RuleChecker",
    "TermQAModule",
    "accuracy_by",
    "classification_metrics",
    "load_baseline",
    "make_baseline",
    "predictions_frame",
]

#: Every system the training notebook's ``model`` parameter accepts.
SYSTEMS: tuple[str, ...] = (*BASELINES, "char_cnn")


def __getattr__(name: str) -> Any:
    # torch and lightning take seconds to import; only the neural model needs them.
    if name == "TermQAModule":
        from loclab.models.term_qa import TermQAModule

        return TermQAModule
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
