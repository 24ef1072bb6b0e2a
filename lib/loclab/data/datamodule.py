"""Lightning data module for term-pair classification with character-level models."""

from __future__ import annotations

from dataclasses import dataclass

import lightning as L
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset

from loclab.data.term_qa import TermQADataset
from loclab.data.vocab import PAD, Vocab

__all__ = ["PairBatch", "TermQADataModule", "encode_pairs"]


@dataclass
class PairBatch:
    """Encoded pairs: padded character ids, locale ids and labels (all tensors)."""

    source: torch.Tensor
    target: torch.Tensor
    locale: torch.Tensor
    label: torch.Tensor

    def __len__(self) -> int:
        return int(self.locale.shape[0])


class _Encoded(Dataset):
    def __init__(self, batch: PairBatch) -> None:
        self.batch = batch

    def __len__(self) -> int:
        return len(self.batch)

    def __getitem__(self, i: int) -> int:
        return i


def encode_pairs(frame: pd.DataFrame, chars: Vocab, locales: Vocab, max_len: int) -> PairBatch:
    """Encode a frame of pairs once, as padded tensors.

    Args:
        frame: Rows with ``source``, ``target``, ``locale`` and, optionally, ``label``.
        chars: Character vocabulary (from the training split).
        locales: Locale vocabulary.
        max_len: Characters kept per text (terms are short; the longest CLDR name has 57).

    Returns:
        The batch; labels are -1 where the frame has none.
    """

    def pad(texts: pd.Series) -> torch.Tensor:
        ids = [chars.encode(t, max_len) or [PAD] for t in texts.astype(str)]
        out = torch.full((len(ids), max(map(len, ids), default=1)), PAD, dtype=torch.long)
        for i, row in enumerate(ids):
            out[i, : len(row)] = torch.tensor(row, dtype=torch.long)
        return out

    labels = frame["label"] if "label" in frame.columns else pd.Series(-1, index=frame.index)
    return PairBatch(
        source=pad(frame["source"]),
        target=pad(frame["target"]),
        locale=torch.tensor(
            [locales.id(x) for x in frame["locale"].astype(str)], dtype=torch.long
        ),
        label=torch.tensor(labels.to_numpy(dtype="float32")),
    )


class TermQADataModule(L.LightningDataModule):
    """Train/val/test loaders over a :class:`~loclab.data.term_qa.TermQADataset`.

    The vocabularies are built from the training split as soon as the module is created, so a
    model can be sized from :attr:`chars` and :attr:`locales` before ``Trainer.fit``. All splits
    are encoded once into tensors; a batch is a slice, which keeps loading cost negligible on CPU
    (no worker processes needed).

    Args:
        dataset: The data set.
        batch_size: Examples per batch.
        max_len: Characters kept per text.
        min_char_count: Rarer training characters map to "unknown".
        seed: Seed of the training-batch order.
        chars: A character vocabulary to reuse (a trained model's) instead of building one.
        locales: A locale vocabulary to reuse.
    """

    def __init__(
        self,
        dataset: TermQADataset,
        batch_size: int = 64,
        max_len: int = 64,
        min_char_count: int = 1,
        seed: int = 0,
        chars: Vocab | None = None,
        locales: Vocab | None = None,
    ) -> None:
        super().__init__()
        self.dataset = dataset
        self.batch_size = batch_size
        self.max_len = max_len
        self.seed = seed
        train = dataset.train
        self.chars = chars or Vocab.from_texts(
            pd.concat([train["source"], train["target"]]).astype(str), min_char_count
        )
        self.locales = locales or Vocab.from_labels(train["locale"].astype(str))
        self._encoded: dict[str, PairBatch] = {}

    def encode(self, frame: pd.DataFrame) -> PairBatch:
        """Encode any frame of pairs with this module's vocabularies."""
        return encode_pairs(frame, self.chars, self.locales, self.max_len)

    def setup(self, stage: str | None = None) -> None:
        """Encode the splits (once)."""
        for split in ("train", "val", "test"):
            if split not in self._encoded:
                self._encoded[split] = self.encode(self.dataset.split(split))

    def train_dataloader(self) -> DataLoader:
        """Shuffled training batches (order fixed by ``seed``)."""
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        """Validation batches, in data set order."""
        return self._loader("val")

    def test_dataloader(self) -> DataLoader:
        """Test batches, in data set order."""
        return self._loader("test")

    def predict_dataloader(self) -> DataLoader:
        """Test batches, in data set order (``Trainer.predict`` gives P(correct) per example)."""
        return self._loader("test")

    def loader(self, frame: pd.DataFrame) -> DataLoader:
        """Batches over any frame, in its order (for predicting on new data)."""
        return self._make_loader(self.encode(frame), shuffle=False)

    def _loader(self, split: str, shuffle: bool = False) -> DataLoader:
        self.setup()
        return self._make_loader(self._encoded[split], shuffle)

    def _make_loader(self, encoded: PairBatch, shuffle: bool) -> DataLoader:
        generator = torch.Generator().manual_seed(self.seed) if shuffle else None
        return DataLoader(
            _Encoded(encoded),
            batch_size=self.batch_size,
            shuffle=shuffle,
            generator=generator,
            collate_fn=_Slice(encoded),
        )


class _Slice:
    # A class, not a lambda, so loaders stay picklable should someone add worker processes.
    def __init__(self, encoded: PairBatch) -> None:
        self.encoded = encoded

    def __call__(self, ids: list[int]) -> PairBatch:
        index = torch.tensor(ids, dtype=torch.long)
        source = self.encoded.source[index]
        target = self.encoded.target[index]
        # Trim padding this batch does not need: most terms are far shorter than the longest.
        source = source[:, : max(int((source != PAD).sum(1).max()), 1)]
        target = target[:, : max(int((target != PAD).sum(1).max()), 1)]
        return PairBatch(source, target, self.encoded.locale[index], self.encoded.label[index])
