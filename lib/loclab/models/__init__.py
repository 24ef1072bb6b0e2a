"""Systems for loclab's example tasks: baselines, Lightning models, and shared metrics.

Term QA: :mod:`~loclab.models.baselines` (rule check, n-gram logistic regression;
scikit-learn) and :mod:`~loclab.models.term_qa` (the character CNN). Quality estimation:
:mod:`~loclab.models.qe_baselines` (source-similarity heuristic, n-gram ridge) and
:mod:`~loclab.models.qe` (the character CNN as a regressor). Both tasks:
:mod:`~loclab.models.transformer` (fine-tuning the pretrained MiniLM encoder, full or LoRA),
:mod:`~loclab.models.metrics` (accuracy/F1/loss, correlations, prediction tables),
:mod:`~loclab.models.components` (plain ``nn.Module`` blocks) and
:mod:`~loclab.models.callbacks` (training glue). Importing this package does not import torch;
the torch-based names load on first use.
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
from loclab.models.metrics import (
    accuracy_by,
    classification_metrics,
    correlation_by,
    predictions_frame,
    qe_predictions_frame,
    regression_metrics,
)
from loclab.models.qe_baselines import (
    QE_BASELINES,
    NgramRidge,
    SourceSimilarity,
    make_qe_baseline,
)

if TYPE_CHECKING:
    from loclab.models.qe import QEModule
    from loclab.models.term_qa import TermQAModule
    from loclab.models.transformer import TransformerPairModule

__all__ = [
    "BASELINES",
    "QE_BASELINES",
    "QE_SYSTEMS",
    "SYSTEMS",
    "NgramLogisticRegression",
    "NgramRidge",
    "QEModule",
    "RuleChecker",
    "SourceSimilarity",
    "TermQAModule",
    "TransformerPairModule",
    "accuracy_by",
    "classification_metrics",
    "correlation_by",
    "load_baseline",
    "make_baseline",
    "make_qe_baseline",
    "predictions_frame",
    "qe_predictions_frame",
    "regression_metrics",
]

#: Every system the term-QA notebook's ``model`` parameter accepts.
SYSTEMS: tuple[str, ...] = (*BASELINES, "char_cnn", "minilm")
#: Every system the QE notebook's ``model`` parameter accepts.
QE_SYSTEMS: tuple[str, ...] = (*QE_BASELINES, "char_cnn", "minilm")

_LAZY = {
    "TermQAModule": "loclab.models.term_qa",
    "QEModule": "loclab.models.qe",
    "TransformerPairModule": "loclab.models.transformer",
}


def __getattr__(name: str) -> Any:
    # torch and lightning take seconds to import; only the neural models need them.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
