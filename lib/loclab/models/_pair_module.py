"""What the character pair models (term QA and QE) share as Lightning modules.

Both wrap a :class:`~loclab.models.components.TermPairClassifier` built from the same
hyperparameters, read its first output, add the same auxiliary losses on the pairs whose
language and spelling can be trusted, and train with AdamW under :func:`warmup_cosine`. Each
task keeps its own constructor (its hyperparameters are its checkpoint's), loss and metrics.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Self

import lightning as L
import torch
from torch import nn

from loclab.data.datamodule import PairBatch, PairEncoding
from loclab.data.features import PAIR_FEATURES
from loclab.models._training import warmup_cosine
from loclab.models.components import TermPairClassifier

__all__ = ["PairNetModule"]


class PairNetModule(L.LightningModule):
    """A Lightning module over a :class:`TermPairClassifier` and its input encoding.

    Subclasses call ``self.save_hyperparameters()`` (which needs these hyperparameters:
    ``use_features``, ``lid_weight``, ``lm_weight``, ``embed_dim``, ``hidden``,
    ``locale_dim``, ``layers``, ``kernel_size``, ``dropout``, ``cross_layers``, ``lr``,
    ``weight_decay``), then :meth:`_build_net` with the encoding.
    """

    encoding: PairEncoding
    net: TermPairClassifier
    metrics: nn.ModuleDict

    def _build_net(self, encoding: dict[str, Any]) -> None:
        """Set :attr:`encoding` and build :attr:`net` from the hyperparameters."""
        hp = self.hparams
        self.encoding = PairEncoding.from_dict(encoding)
        self.net = TermPairClassifier(
            vocab_size=len(self.encoding.chars),
            num_locales=len(self.encoding.locales),
            num_features=len(PAIR_FEATURES) if hp["use_features"] else 0,
            embed_dim=hp["embed_dim"],
            hidden=hp["hidden"],
            locale_dim=hp["locale_dim"],
            layers=hp["layers"],
            kernel_size=hp["kernel_size"],
            dropout=hp["dropout"],
            cross_layers=hp["cross_layers"],
            language_model=hp["lm_weight"] > 0,
        )

    def forward(self, batch: PairBatch) -> torch.Tensor:
        """The network's main output, shape (batch,)."""
        out: torch.Tensor = self.net(batch.source, batch.target, batch.locale, batch.features)[0]
        return out

    def _with_auxiliary_losses(
        self,
        loss: torch.Tensor,
        lid: torch.Tensor,
        nll: torch.Tensor | None,
        batch: PairBatch,
        trusted: torch.Tensor,
    ) -> torch.Tensor:
        """``loss`` plus the language-identification and language-model losses.

        Both are computed on the ``trusted`` pairs only (correct or good translations, whose
        locale is the target's language and whose spelling is right).
        """
        if self.hparams["lid_weight"] > 0 and bool(trusted.any()):
            lid_loss = nn.functional.cross_entropy(lid[trusted], batch.locale[trusted])
            loss = loss + self.hparams["lid_weight"] * lid_loss
        if nll is not None and bool(trusted.any()):
            # Mean NLL per character (and end mark) of the trusted targets.
            positions = ((batch.target[trusted] != 0).sum() + int(trusted.sum())).clamp(min=1)
            loss = loss + self.hparams["lm_weight"] * nll[trusted].sum() / positions
        return loss

    # A plain dict where Lightning's override expects its union of TypedDicts.
    def configure_optimizers(self) -> dict[str, Any]:  # type: ignore[override]
        """AdamW; linear warm-up over 10 % of the steps, then cosine decay to 5 % of ``lr``.

        The schedule is a function of the step, recomputed from the trainer at every (re)start,
        so resuming a checkpoint with more epochs than it was started with keeps working.
        """
        optimizer = torch.optim.AdamW(
            self.parameters(), lr=self.hparams["lr"], weight_decay=self.hparams["weight_decay"]
        )
        total = int(self.trainer.estimated_stepping_batches)
        return {"optimizer": optimizer, "lr_scheduler": warmup_cosine(optimizer, total)}

    @classmethod
    def load(cls, path: Path | str) -> Self:
        """Read a model written by ``save`` or a Lightning checkpoint, onto the CPU."""
        return cls.load_from_checkpoint(path, map_location="cpu")

    def _log_epoch_metrics(self, stage: str, names: tuple[str, ...], batch_size: int) -> None:
        """Log ``<stage>_<name>`` metric objects, computed once per epoch by Lightning.

        Metric objects logged from the steps are computed over the whole epoch *before*
        callbacks' epoch-end hooks run, so ``MetricsReporter`` sees this epoch's values.
        """
        metrics: Any = self.metrics  # torchmetrics objects behind nn.ModuleDict's Module type
        for name in names:
            key = f"{stage}_{name}"
            self.log(key, metrics[key], on_step=False, on_epoch=True, batch_size=batch_size)
