"""Lightning module of the neural quality estimator (``char_cnn`` in the QE notebook)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Self

import numpy as np
import pandas as pd
import torch
from torch import nn
from torchmetrics import MeanMetric, PearsonCorrCoef, SpearmanCorrCoef

from loclab.data.datamodule import PairBatch, QEDataModule, encode_pairs
from loclab.models._pair_module import PairNetModule
from loclab.models._training import save_checkpoint

__all__ = ["QEModule"]


class QEModule(PairNetModule):
    """Predict the quality score of (source, translation, locale) triples.

    The network is the term-QA checker's (:class:`~loclab.models.components.TermPairClassifier`:
    shared character encoder, soft alignment of the two sides, language identification,
    character language model, pair features); its single output is read as the standardized
    quality score and trained with the squared error. The auxiliary language-identification
    and language-model losses are computed on the *good* translations only (standardized
    score at or beyond ``good_score`` in the good direction), whose language and spelling can
    be trusted.

    Logs ``train_loss`` per epoch and ``val_loss`` (mean squared error on the standardized
    scale), ``val_pearson`` and ``val_spearman`` per validation epoch; ``test_*`` likewise.

    Args:
        encoding: :meth:`PairEncoding.to_dict` of the training split's encoding.
        score_mean: Mean of the training scores (predictions are mapped back with it).
        score_std: Standard deviation of the training scores.
        good_score: Standardized score from which a translation counts as good.
        higher_is_better: Direction of the score (False for edit rates such as HTER).
        use_features: Feed the hand-made pair features to the head.
        lid_weight: Weight of the language-identification loss.
        lm_weight: Weight of the character language-model loss; 0 leaves the LM out.
        embed_dim: Character embedding size.
        hidden: Size of character states and of the head.
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
        score_mean: float = 0.0,
        score_std: float = 1.0,
        good_score: float = 1.0,
        higher_is_better: bool = True,
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
        self.metrics = nn.ModuleDict(
            {
                f"{stage}_{name}": metric
                for stage in ("val", "test")
                for name, metric in (
                    ("loss", MeanMetric()),
                    ("pearson", PearsonCorrCoef()),
                    ("spearman", SpearmanCorrCoef()),
                )
            }
        )

    @classmethod
    def from_datamodule(cls, datamodule: QEDataModule, **hparams: Any) -> Self:
        """A new model sized and scaled for ``datamodule`` (its vocabularies and scores)."""
        train = datamodule.dataset.train
        higher = bool(hparams.pop("higher_is_better", True))
        good = train.loc[train["label"] == 1, "score"].astype(float)
        edge = (good.min() if higher else good.max()) if len(good) else train["score"].median()
        return cls(
            encoding=datamodule.encoding.to_dict(),
            score_mean=datamodule.score_mean,
            score_std=datamodule.score_std,
            good_score=(float(edge) - datamodule.score_mean) / datamodule.score_std,
            higher_is_better=higher,
            **hparams,
        )

    def forward(self, batch: PairBatch) -> torch.Tensor:
        """Standardized predicted scores, shape (batch,)."""
        return super().forward(batch)

    def training_step(self, batch: PairBatch, batch_idx: int) -> torch.Tensor:
        """Squared error of one batch, plus the auxiliary losses on its good translations."""
        predicted, lid, nll = self.net(batch.source, batch.target, batch.locale, batch.features)
        loss = nn.functional.mse_loss(predicted, batch.label)
        edge = self.hparams["good_score"]
        good = batch.label >= edge if self.hparams["higher_is_better"] else batch.label <= edge
        loss = self._with_auxiliary_losses(loss, lid, nll, batch, trusted=good)
        self.log("train_loss", loss, on_step=False, on_epoch=True, batch_size=len(batch))
        return loss

    def validation_step(self, batch: PairBatch, batch_idx: int) -> None:
        """Accumulate ``val_loss``, ``val_pearson`` and ``val_spearman``."""
        self._evaluate("val", batch)

    def test_step(self, batch: PairBatch, batch_idx: int) -> None:
        """Accumulate ``test_loss``, ``test_pearson`` and ``test_spearman``."""
        self._evaluate("test", batch)

    def predict_step(self, batch: PairBatch, batch_idx: int) -> torch.Tensor:
        """Predicted scores on the data's own scale."""
        out: torch.Tensor = self(batch) * self.hparams["score_std"] + self.hparams["score_mean"]
        return out

    @torch.no_grad()
    def predict(self, frame: pd.DataFrame, batch_size: int = 512) -> np.ndarray:
        """Predicted quality of every row of ``frame`` on the data's scale, without a Trainer.

        Args:
            frame: Rows with ``source``, ``target`` and ``locale``.
            batch_size: Rows per forward pass.

        Returns:
            Array of shape (rows,).
        """
        was_training = self.training
        self.eval()
        out = []
        for start in range(0, len(frame), batch_size):
            part = frame.iloc[start : start + batch_size].drop(columns="label", errors="ignore")
            batch = encode_pairs(part, self.encoding).to(self.device)
            out.append(self.predict_step(batch, 0).cpu())
        self.train(was_training)
        return torch.cat(out).double().numpy() if out else np.zeros(0)

    def save(self, path: Path | str) -> Path:
        """Write weights and hyperparameters (``load`` reads them without a Trainer)."""
        return save_checkpoint(self, path, "qe_char_cnn.ckpt")

    def _evaluate(self, stage: str, batch: PairBatch) -> None:
        predicted = self(batch)
        metrics: Any = self.metrics  # torchmetrics objects behind nn.ModuleDict's Module type
        metrics[f"{stage}_loss"].update((predicted - batch.label) ** 2)
        metrics[f"{stage}_pearson"].update(predicted, batch.label)
        metrics[f"{stage}_spearman"].update(predicted, batch.label)
        self._log_epoch_metrics(stage, ("loss", "pearson", "spearman"), len(batch))
