"""Plain ``nn.Module`` building blocks, free of Lightning, reusable in any training loop."""

from loclab.models.components.classifier import TermPairClassifier
from loclab.models.components.encoder import CharCNNEncoder
from loclab.models.components.interaction import PairInteraction, masked_pool
from loclab.models.components.language_model import CharLanguageModel
from loclab.models.components.pretrained import PairTokenizer, PretrainedPairModel, pretrained_dir

__all__ = [
    "CharCNNEncoder",
    "CharLanguageModel",
    "PairInteraction",
    "PairTokenizer",
    "PretrainedPairModel",
    "TermPairClassifier",
    "masked_pool",
    "pretrained_dir",
]
