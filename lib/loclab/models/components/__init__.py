"""Plain ``nn.Module`` building blocks, free of Lightning, reusable in any training loop."""

from loclab.models.components.classifier import TermPairClassifier
from loclab.models.components.encoder import CharCNNEncoder
from loclab.models.components.interaction import PairInteraction, masked_pool

__all__ = ["CharCNNEncoder", "PairInteraction", "TermPairClassifier", "masked_pool"]
