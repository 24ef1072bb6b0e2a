"""Lightning module of the neural terminology-QA checker (model name ``char_cnn``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Self

import numpy as np
import pandas as pd
import torch
from torch import nn
from torchmetrics import MeanMetric
from torchmetrics.classification import BinaryAccuracy, BinaryF1Score

from loclab.data.datamodule import PairBatch, TermQADataModule, encode_pairs
from loclab.models._pair_module import PairNetModule
from loclab.models._training import save_checkpoint

__all__ = ["TermQAModule"]


class TermQAModule(PairNetModule):
    """Classify (source, target, locale) triples as correct translation (1) or QA error (0).

    The input encoding (vocabularies, feature scaling) is a hyperparameter, so a checkpoint
    alone restores a working model (``TermQAModule.load(path)``).

    The loss is the binary cross-entropy of "correct" plus, on correct pairs only (whose
    locale is known to be the target's language and whose spelling is right), ``lid_weight``
    times the cross-entropy of the language-identification head and ``lm_weight`` times the
    character language model's NLL: denser signals about what each language looks like.

    Logs ``train_loss`` per epoch, and ``val_loss``, ``val_acc``, ``val_f1`` (F1 of the
    "correct" class) at the end of each validation epoch; ``test_*`` likewise.

    Args:
        encoding: :meth:`PairEncoding.to_dict` of the training split's encoding.
        use_features: Feed the hand-made pair features to the head.
        lid_weight: Weight of the language-identification loss.
        lm_weight: Weight of the character language-model loss; 0 leaves the LM out.
        embed_dim: Character embedding size.
        hidden: Size of character states and of the classifier head.
        locale_dim: Locale embedding size.
        layers: Convolution blocks.
        kernel_size: Convolution width.
        dropout: Dropout rate.
        cross_layers: Transformer layers over the joint source + target characters.
        lr: Peak learning rate of AdamW.
        weight_decay: AdamW weight decay.
    """

    def __init__(
        self,
        encoding: dict[str, Any],
        use_features: bool = True,
        lid_weight: float = 0.5,
        lm_weight: float = 0.2,
        embed_dim: int = 48,
        hidden: int = 64,
        locale_dim: int = 16,
        layers: int = 2,
        kernel_size: int = 3,
        dropout: float = 0.25,
        cross_layers: int = 0,
        lr: float = 3e-3,
        weight_decay: float = 0.05,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self._build_net(encoding)
        self.loss_fn = nn.BCEWithLogitsLoss()
        # Metric objects logged from the steps (see ``_log_epoch_metrics``); values logged
        # from the module's own epoch-end hook would reach MetricsReporter one epoch late.
        self.metrics = nn.ModuleDict(
            {
                f"{stage}_{name}": metric
                for stage in ("val", "test")
                for name, metric in (
                    ("loss", MeanMetric()),
                    ("acc", BinaryAccuracy()),
                    ("f1", BinaryF1Score()),
                )
            }
        )

    @classmethod
    def from_datamodule(cls, datamodule: TermQADataModule, **hparams: Any) -> Self:
        """A new model sized for ``datamodule``'s vocabularies."""
        return cls(encoding=datamodule.encoding.to_dict(), **hparams)

    def training_step(self, batch: PairBatch, batch_idx: int) -> torch.Tensor:
        """Binary cross-entropy of one batch, plus the auxiliary losses on its correct pairs."""
        logits, lid, nll = self.net(batch.source, batch.target, batch.locale, batch.features)
        loss: torch.Tensor = self.loss_fn(logits, batch.label)
        loss = self._with_auxiliary_losses(loss, lid, nll, batch, trusted=batch.label == 1)
        self.log("train_loss", loss, on_step=False, on_epoch=True, batch_size=len(batch))
        return loss

    def validation_step(self, batch: PairBatch, batch_idx: int) -> None:
        """Accumulate ``val_loss``, ``val_acc`` and ``val_f1``, logged once per epoch."""
        self._evaluate("val", batch)

    def test_step(self, batch: PairBatch, batch_idx: int) -> None:
        """Accumulate ``test_loss``, ``test_acc`` and ``test_f1``, logged once per epoch."""
        self._evaluate("test", batch)

    def forward(self, batch: PairBatch) -> torch.Tensor:
        """Logits of "correct", shape (batch,)."""
        return super().forward(batch)

    def predict_step(self, batch: PairBatch, batch_idx: int) -> torch.Tensor:
        """P(correct) of each example of the batch."""
        return torch.sigmoid(self(batch))

    @torch.no_grad()
    def predict_proba(self, frame: pd.DataFrame, batch_size: int = 512) -> np.ndarray:
        """P(correct) of every row of ``frame``, without a Trainer.

        Args:
            frame: Rows with ``source``, ``target`` and ``locale``.
            batch_size: Rows per forward pass.

        Returns:
            Array of shape (rows,).
        """
        was_training = self.training
        self.eval()
        scores = []
        for start in range(0, len(frame), batch_size):
            part = frame.iloc[start : start + batch_size]
            batch = encode_pairs(part, self.encoding).to(self.device)
            scores.append(torch.sigmoid(self(batch)).cpu())
        self.train(was_training)
        return torch.cat(scores).numpy() if scores else np.zeros(0)

    def save(self, path: Path | str) -> Path:
        """Write weights and hyperparameters (a checkpoint ``load`` reads without a Trainer).

        Args:
            path: File to write; a folder gets ``char_cnn.ckpt`` inside it.

        Returns:
            The written file.
        """
        return save_checkpoint(self, path, "char_cnn.ckpt")

    def _evaluate(self, stage: str, batch: PairBatch) -> None:
        logits = self(batch)
        labels = batch.label
        metrics: Any = self.metrics  # torchmetrics objects behind nn.ModuleDict's Module type
        losses = nn.functional.binary_cross_entropy_with_logits(logits, labels, reduction="none")
        metrics[f"{stage}_loss"].update(losses)
        # Probabilities, not logits: torchmetrics guesses which it got from the value range.
        probs = torch.sigmoid(logits)
        metrics[f"{stage}_acc"].update(probs, labels.long())
        metrics[f"{stage}_f1"].update(probs, labels.long())
        self._log_epoch_metrics(stage, ("loss", "acc", "f1"), len(batch))
