"""Fine-tuning the pretrained MiniLM encoder for term QA (classification) and QE (regression).

Model name ``minilm`` in both training notebooks. The encoder reads the pair as
``[CLS] source [SEP] locale: target [SEP]`` (a cross-encoder, as QE models such as COMET-QE
and TransQuest do), mean-pools and feeds one linear output. ``finetune="full"`` trains every
weight; ``finetune="lora"`` freezes the encoder and trains low-rank adapters on its attention
projections (``peft``) plus the head: about 1 % of the weights, and checkpoints of a few
hundred kilobytes instead of 90 MB.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, Self

import lightning as L
import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler
from torchmetrics import MeanMetric, PearsonCorrCoef, SpearmanCorrCoef
from torchmetrics.classification import BinaryAccuracy, BinaryF1Score

from loclab.data.term_qa import SPLITS, TermQADataset
from loclab.models._training import save_checkpoint, warmup_cosine
from loclab.models.components.pretrained import PairTokenizer, PretrainedPairModel, pretrained_dir

__all__ = ["FINETUNE_MODES", "TextPairDataModule", "TransformerPairModule"]

#: How the encoder is fine-tuned.
FINETUNE_MODES: tuple[str, ...] = ("full", "lora")
Task = Literal["classify", "regress"]


def pair_texts(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    """The two sides the encoder reads: the source, and the target tagged with its locale."""
    second = frame["locale"].astype(str) + ": " + frame["target"].astype(str)
    return frame["source"].astype(str).tolist(), second.tolist()


class TransformerPairModule(L.LightningModule):
    """Fine-tune the pretrained encoder on (source, target, locale) triples.

    ``task="classify"``: one logit of "correct translation", binary cross-entropy; logs
    ``val_loss``, ``val_acc``, ``val_f1``. ``task="regress"``: the standardized quality score,
    squared error; logs ``val_loss``, ``val_pearson``, ``val_spearman``. ``test_*`` likewise.

    Args:
        task: ``"classify"`` (term QA) or ``"regress"`` (QE).
        finetune: ``"full"`` or ``"lora"``.
        lora_r: Rank of the LoRA adapters.
        lora_alpha: LoRA scaling numerator (the update is scaled by alpha / r).
        layers: Encoder layers kept from the bottom (6 = all; fewer is faster).
        max_length: Word pieces kept per pair.
        dropout: Dropout before the head.
        lr: Peak learning rate (AdamW, warm-up then cosine decay).
        weight_decay: AdamW weight decay.
        score_mean: Mean of the training scores (regression).
        score_std: Standard deviation of the training scores (regression).
    """

    def __init__(
        self,
        task: Task = "classify",
        finetune: str = "lora",
        lora_r: int = 8,
        lora_alpha: int = 16,
        layers: int = 6,
        max_length: int = 32,
        dropout: float = 0.1,
        lr: float = 3e-4,
        weight_decay: float = 0.01,
        score_mean: float = 0.0,
        score_std: float = 1.0,
    ) -> None:
        super().__init__()
        if task not in ("classify", "regress"):
            raise ValueError(f"task must be 'classify' or 'regress', not {task!r}")
        if finetune not in FINETUNE_MODES:
            raise ValueError(f"finetune must be one of {FINETUNE_MODES}, not {finetune!r}")
        self.save_hyperparameters()
        model_dir = pretrained_dir()
        self.tokenizer = PairTokenizer(model_dir, max_length)
        self.net = PretrainedPairModel(model_dir, layers=layers, dropout=dropout)
        if finetune == "lora":
            self.net.add_lora(r=lora_r, alpha=lora_alpha)
        names = ("loss", "acc", "f1") if task == "classify" else ("loss", "pearson", "spearman")
        self.metrics = nn.ModuleDict(
            {f"{s}_{n}": _metric(n) for s in ("val", "test") for n in names}
        )

    @property
    def classify(self) -> bool:
        """Whether this is the term-QA classifier (else the QE regressor)."""
        return bool(self.hparams["task"] == "classify")

    def trainable_parameters(self) -> int:
        """Number of weights that train."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def encode(self, frame: pd.DataFrame) -> dict[str, torch.Tensor]:
        """Tokenized pairs and their targets (label, or standardized score; 0 when absent)."""
        first, second = pair_texts(frame)
        batch = self.tokenizer(first, second)
        column = "label" if self.classify else "score"
        if column in frame.columns:
            target = frame[column].to_numpy(dtype=np.float64)
            if not self.classify:
                target = (target - self.hparams["score_mean"]) / self.hparams["score_std"]
            batch["target"] = torch.tensor(target, dtype=torch.float32)
        else:
            batch["target"] = torch.zeros(len(frame))
        return batch

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Logits (classify) or standardized scores (regress), shape (batch,)."""
        out: torch.Tensor = self.net(
            batch["input_ids"], batch["attention_mask"], batch["token_type_ids"]
        )
        return out

    def _loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.classify:
            return nn.functional.binary_cross_entropy_with_logits(output, target)
        return nn.functional.mse_loss(output, target)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        """The loss of one batch."""
        loss = self._loss(self(batch), batch["target"])
        size = len(batch["target"])
        self.log("train_loss", loss, on_step=False, on_epoch=True, batch_size=size)
        return loss

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        """Accumulate the validation metrics."""
        self._evaluate("val", batch)

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        """Accumulate the test metrics."""
        self._evaluate("test", batch)

    def configure_optimizers(self) -> Any:
        """AdamW on the trainable weights, with linear warm-up and cosine decay."""
        optimizer = torch.optim.AdamW(
            [p for p in self.parameters() if p.requires_grad],
            lr=self.hparams["lr"],
            weight_decay=self.hparams["weight_decay"],
        )
        total = int(self.trainer.estimated_stepping_batches)
        return {"optimizer": optimizer, "lr_scheduler": warmup_cosine(optimizer, total)}

    @torch.no_grad()
    def _outputs(self, frame: pd.DataFrame, batch_size: int) -> np.ndarray:
        was_training = self.training
        self.eval()
        out = []
        for start in range(0, len(frame), batch_size):
            batch = self.encode(frame.iloc[start : start + batch_size])
            batch = {k: v.to(self.device) for k, v in batch.items()}
            out.append(self(batch).float().cpu())
        self.train(was_training)
        return torch.cat(out).double().numpy() if out else np.zeros(0)

    def predict_proba(self, frame: pd.DataFrame, batch_size: int = 256) -> np.ndarray:
        """P(correct) of every row (classification)."""
        if not self.classify:
            raise ValueError("predict_proba is for task='classify'; use predict")
        return np.asarray(1.0 / (1.0 + np.exp(-self._outputs(frame, batch_size))))

    def predict(self, frame: pd.DataFrame, batch_size: int = 256) -> np.ndarray:
        """Predicted quality of every row on the data's scale (regression)."""
        if self.classify:
            raise ValueError("predict is for task='regress'; use predict_proba")
        standardized = self._outputs(frame, batch_size)
        return np.asarray(standardized * self.hparams["score_std"] + self.hparams["score_mean"])

    def save(self, path: Path | str) -> Path:
        """Write the hyperparameters and the weights that trained.

        The whole encoder for full fine-tuning; adapters and head for LoRA (the frozen
        encoder's weights stay in their package).
        """
        return save_checkpoint(self, path, "minilm.ckpt", self.net_state())

    def net_state(self) -> dict[str, torch.Tensor]:
        """The trained weights, keyed as in this module's state dict."""
        return {f"net.{k}": v for k, v in self.net.trainable_state().items()}

    @classmethod
    def load(cls, path: Path | str) -> Self:
        """Rebuild from the package's weights and the saved ones, onto the CPU."""
        saved = torch.load(path, map_location="cpu", weights_only=False)
        model = cls(**saved["hyper_parameters"])
        found = model.load_state_dict(saved["state_dict"], strict=False)
        if found.unexpected_keys:
            raise ValueError(f"{path} holds weights this model lacks: {found.unexpected_keys[:3]}")
        return model

    def _evaluate(self, stage: str, batch: dict[str, torch.Tensor]) -> None:
        output, target = self(batch), batch["target"]
        size = len(target)
        if self.classify:
            losses = nn.functional.binary_cross_entropy_with_logits(
                output, target, reduction="none"
            )
            probs = torch.sigmoid(output)
            labels = target.long()
            updates = {"loss": (losses,), "acc": (probs, labels), "f1": (probs, labels)}
        else:
            updates = {
                "loss": ((output - target) ** 2,),
                "pearson": (output, target),
                "spearman": (output, target),
            }
        metrics: Any = self.metrics  # torchmetrics objects behind nn.ModuleDict's Module type
        for name, args in updates.items():
            key = f"{stage}_{name}"
            metrics[key].update(*args)
            self.log(key, metrics[key], on_step=False, on_epoch=True, batch_size=size)


def _metric(name: str) -> nn.Module:
    made: nn.Module = {
        "loss": MeanMetric,
        "acc": BinaryAccuracy,
        "f1": BinaryF1Score,
        "pearson": PearsonCorrCoef,
        "spearman": SpearmanCorrCoef,
    }[name]()
    return made


class _Rows(Dataset[int]):
    def __init__(self, size: int) -> None:
        self.size = size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int) -> int:
        return i


class _Shuffle(Sampler[int]):
    # A shuffle fixed by (seed, epoch), like the term-QA data module's.
    def __init__(self, size: int, seed: int) -> None:
        self.size, self.seed, self.epoch = size, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        return iter(torch.randperm(self.size, generator=generator).tolist())

    def __len__(self) -> int:
        return self.size


class _Take:
    def __init__(self, encoded: dict[str, torch.Tensor]) -> None:
        self.encoded = encoded

    def __call__(self, ids: list[int]) -> dict[str, torch.Tensor]:
        index = torch.tensor(ids, dtype=torch.long)
        batch = {k: v[index] for k, v in self.encoded.items()}
        # Trim padding this batch does not need: most term pairs are far shorter than the limit.
        width = max(int(batch["attention_mask"].sum(1).max()), 1)
        for key in ("input_ids", "attention_mask", "token_type_ids"):
            batch[key] = batch[key][:, :width]
        return batch


class TextPairDataModule(L.LightningDataModule):
    """Train/val/test loaders of a data set, tokenized once by the model's tokenizer.

    Args:
        dataset: A term-QA or QE data set.
        model: The module whose :meth:`TransformerPairModule.encode` tokenizes.
        batch_size: Pairs per batch.
        seed: Seed of the training order.
    """

    def __init__(
        self,
        dataset: TermQADataset,
        model: TransformerPairModule,
        batch_size: int = 32,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.dataset = dataset
        self.model = model
        self.batch_size = batch_size
        self.seed = seed
        self._encoded: dict[str, dict[str, torch.Tensor]] = {}

    def setup(self, stage: str | None = None) -> None:
        """Tokenize the splits (once)."""
        for split in SPLITS:
            if split not in self._encoded:
                self._encoded[split] = self.model.encode(self.dataset.split(split))

    def train_dataloader(self) -> DataLoader[Any]:
        """Shuffled training batches (order fixed by ``seed`` and the epoch)."""
        self.setup()
        size = len(self._encoded["train"]["target"])
        return DataLoader(
            _Rows(size),
            batch_size=self.batch_size,
            sampler=_Shuffle(size, self.seed),
            collate_fn=_Take(self._encoded["train"]),
        )

    def val_dataloader(self) -> DataLoader[Any]:
        """Validation batches, in data set order."""
        return self._loader("val")

    def test_dataloader(self) -> DataLoader[Any]:
        """Test batches, in data set order."""
        return self._loader("test")

    def _loader(self, split: str) -> DataLoader[Any]:
        self.setup()
        encoded = self._encoded[split]
        return DataLoader(
            _Rows(len(encoded["target"])),
            batch_size=self.batch_size * 4,
            collate_fn=_Take(encoded),
        )
