"""Lightning data modules for character-level models of term pairs: QA (0/1) and QE (scores)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import lightning as L
import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from loclab.data.features import PAIR_FEATURES, locale_scripts, pair_features
from loclab.data.term_qa import SPLITS, ErrorInjector, TermQADataset
from loclab.data.vocab import PAD, Vocab

__all__ = ["PairBatch", "PairEncoding", "QEDataModule", "TermQADataModule", "encode_pairs"]


@dataclass
class PairBatch:
    """Encoded pairs as tensors.

    Attributes:
        source: Padded source character ids, (batch, length).
        target: Padded target character ids, (batch, length).
        locale: Locale ids, (batch,).
        features: Standardized :data:`~loclab.data.features.PAIR_FEATURES`, (batch, features).
        label: 1.0 correct, 0.0 error, -1.0 unknown, (batch,).
    """

    source: torch.Tensor
    target: torch.Tensor
    locale: torch.Tensor
    features: torch.Tensor
    label: torch.Tensor

    def __len__(self) -> int:
        return int(self.locale.shape[0])

    def to(self, device: torch.device | str) -> PairBatch:
        """The same batch on ``device``."""
        return PairBatch(*(t.to(device) for t in vars(self).values()))


@dataclass(frozen=True)
class PairEncoding:
    """How pairs become tensors; learned from the training split, stored with the model.

    Attributes:
        chars: Character vocabulary.
        locales: Locale vocabulary.
        max_len: Characters kept per text.
        scripts: Locale to the scripts its correct targets use.
        feature_mean: Mean of each pair feature on the training split.
        feature_std: Standard deviation of each pair feature (1.0 where constant).
    """

    chars: Vocab
    locales: Vocab
    max_len: int
    scripts: dict[str, tuple[str, ...]]
    feature_mean: tuple[float, ...]
    feature_std: tuple[float, ...]

    @classmethod
    def fit(cls, train: pd.DataFrame, max_len: int = 64, min_char_count: int = 1) -> PairEncoding:
        """Learn the encoding from training pairs (source, target, locale and label)."""
        scripts = {k: tuple(sorted(v)) for k, v in locale_scripts(train).items()}
        feats = pair_features(train, scripts)
        std = feats.std(axis=0)
        return cls(
            chars=Vocab.from_texts(
                pd.concat([train["source"], train["target"]]).astype(str), min_char_count
            ),
            locales=Vocab.from_labels(train["locale"].astype(str)),
            max_len=max_len,
            scripts=scripts,
            feature_mean=tuple(float(x) for x in feats.mean(axis=0)),
            feature_std=tuple(float(x) if x > 1e-8 else 1.0 for x in std),
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain values (lists, dicts) for a checkpoint's hyperparameters."""
        return {
            "chars": self.chars.to_list(),
            "locales": self.locales.to_list(),
            "max_len": self.max_len,
            "scripts": {k: list(v) for k, v in self.scripts.items()},
            "feature_mean": list(self.feature_mean),
            "feature_std": list(self.feature_std),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PairEncoding:
        """Inverse of :meth:`to_dict`."""
        return cls(
            chars=Vocab.from_list(data["chars"]),
            locales=Vocab.from_list(data["locales"]),
            max_len=int(data["max_len"]),
            scripts={k: tuple(v) for k, v in data["scripts"].items()},
            feature_mean=tuple(data["feature_mean"]),
            feature_std=tuple(data["feature_std"]),
        )


def encode_pairs(frame: pd.DataFrame, encoding: PairEncoding) -> PairBatch:
    """Encode a frame of pairs once, as padded tensors.

    Args:
        frame: Rows with ``source``, ``target``, ``locale`` and, optionally, ``label``.
        encoding: Vocabularies and feature scaling (from the training split).

    Returns:
        The batch; labels are -1 where the frame has none.
    """

    def pad(texts: pd.Series) -> torch.Tensor:
        ids = [encoding.chars.encode(t, encoding.max_len) or [PAD] for t in texts.astype(str)]
        out = torch.full((len(ids), max(map(len, ids), default=1)), PAD, dtype=torch.long)
        for i, row in enumerate(ids):
            out[i, : len(row)] = torch.tensor(row, dtype=torch.long)
        return out

    labels = frame["label"] if "label" in frame.columns else pd.Series(-1, index=frame.index)
    feats = pair_features(frame, encoding.scripts)
    feats = (feats - np.asarray(encoding.feature_mean)) / np.asarray(encoding.feature_std)
    locale_ids = [encoding.locales.id(x) for x in frame["locale"].astype(str)]
    return PairBatch(
        source=pad(frame["source"]),
        target=pad(frame["target"]),
        locale=torch.tensor(locale_ids, dtype=torch.long),
        features=torch.tensor(feats, dtype=torch.float32).reshape(len(frame), len(PAIR_FEATURES)),
        label=torch.tensor(labels.to_numpy(dtype="float32")),
    )


class _Indices(Dataset[int]):
    def __init__(self, size: int) -> None:
        self.size = size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int) -> int:
        return i


class _EpochSampler(Sampler[int]):
    """A shuffle fixed by (seed, epoch); also tells the data module which epoch starts.

    Lightning calls ``set_epoch`` on a loader's sampler at the start of every training epoch
    (including after a resume), which makes the order, and resampled errors, reproducible.
    """

    def __init__(self, size: int, seed: int, on_epoch: Any = None) -> None:
        self.size = size
        self.seed = seed
        self.epoch = 0
        self.on_epoch = on_epoch

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        if self.on_epoch is not None:
            self.on_epoch(epoch)

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        return iter(torch.randperm(self.size, generator=generator).tolist())

    def __len__(self) -> int:
        return self.size


class _Slice:
    # A class, not a lambda, so loaders stay picklable should someone add worker processes;
    # ``encoded`` is swapped when an epoch brings freshly drawn errors.
    def __init__(self, encoded: PairBatch) -> None:
        self.encoded = encoded

    def __call__(self, ids: list[int]) -> PairBatch:
        index = torch.tensor(ids, dtype=torch.long)
        e = self.encoded
        source, target = e.source[index], e.target[index]
        # Trim padding this batch does not need: most terms are far shorter than the longest.
        source = source[:, : max(int((source != PAD).sum(1).max()), 1)]
        target = target[:, : max(int((target != PAD).sum(1).max()), 1)]
        return PairBatch(source, target, e.locale[index], e.features[index], e.label[index])


class TermQADataModule(L.LightningDataModule):
    """Train/val/test loaders over a :class:`~loclab.data.term_qa.TermQADataset`.

    The encoding (vocabularies, feature scaling) is learned from the training split as soon as
    the module is created, so a model can be sized from :attr:`encoding` before ``Trainer.fit``.
    Each split is encoded once into tensors and a batch is a slice of them: loading costs
    next to nothing on CPU and needs no worker processes.

    With ``resample_errors`` the training split keeps its correct pairs but gets freshly drawn
    errors every epoch after the first (made from the training pairs only, by the same
    :class:`~loclab.data.term_qa.ErrorInjector` as the data set), so a model cannot memorize
    its negatives. The number of training examples stays that of the data set.

    Args:
        dataset: The data set.
        batch_size: Examples per batch.
        max_len: Characters kept per text.
        min_char_count: Rarer training characters map to "unknown".
        seed: Seed of the training-batch order and of resampled errors.
        encoding: An encoding to reuse (a trained model's) instead of learning one.
        resample_errors: Draw new errors for the training pairs every epoch.
    """

    def __init__(
        self,
        dataset: TermQADataset,
        batch_size: int = 64,
        max_len: int = 64,
        min_char_count: int = 1,
        seed: int = 0,
        encoding: PairEncoding | None = None,
        resample_errors: bool = False,
    ) -> None:
        super().__init__()
        self.dataset = dataset
        self.batch_size = batch_size
        self.seed = seed
        self.resample_errors = resample_errors
        self.encoding = encoding or PairEncoding.fit(dataset.train, max_len, min_char_count)
        self._encoded: dict[str, PairBatch] = {}
        self._train_slice: _Slice | None = None
        self._injector: ErrorInjector | None = None

    def encode(self, frame: pd.DataFrame) -> PairBatch:
        """Encode any frame of pairs with this module's encoding."""
        return encode_pairs(frame, self.encoding)

    def setup(self, stage: str | None = None) -> None:
        """Encode the splits (once)."""
        for split in SPLITS:
            if split not in self._encoded:
                self._encoded[split] = self.encode(self.dataset.split(split))

    def train_dataloader(self) -> DataLoader[int]:
        """Shuffled training batches (order fixed by ``seed`` and the epoch)."""
        self.setup()
        self._train_slice = _Slice(self._encoded["train"])
        sampler = _EpochSampler(len(self._encoded["train"]), self.seed, self._start_epoch)
        return DataLoader(
            _Indices(len(self._encoded["train"])),
            batch_size=self.batch_size,
            sampler=sampler,
            collate_fn=self._train_slice,
        )

    def train_frame(self, epoch: int) -> pd.DataFrame:
        """The training examples of ``epoch``: the data set's, or with resampled errors."""
        train = self.dataset.train
        if not self.resample_errors or epoch == 0:
            return train
        positives = train[train["label"] == 1]
        if self._injector is None:
            self._injector = ErrorInjector(positives, self.seed)
        fresh = self._injector.negatives(positives, round=epoch)
        wanted = len(train) - len(positives)
        if len(fresh) < wanted:
            # Top up with the data set's own errors so every epoch has the same number of steps
            # (a learning-rate schedule counts them in advance).
            old = train[train["label"] == 0]
            fresh = pd.concat([fresh, old.iloc[: wanted - len(fresh)]], ignore_index=True)
        return pd.concat([positives, fresh.iloc[:wanted]], ignore_index=True)

    def _start_epoch(self, epoch: int) -> None:
        if self.resample_errors and self._train_slice is not None:
            encoded = (
                self._encoded["train"] if epoch == 0 else self.encode(self.train_frame(epoch))
            )
            self._train_slice.encoded = encoded

    def val_dataloader(self) -> DataLoader[int]:
        """Validation batches, in data set order."""
        return self._loader("val")

    def test_dataloader(self) -> DataLoader[int]:
        """Test batches, in data set order."""
        return self._loader("test")

    def predict_dataloader(self) -> DataLoader[int]:
        """Test batches, in data set order (``Trainer.predict`` gives P(correct) per example)."""
        return self._loader("test")

    def loader(self, frame: pd.DataFrame) -> DataLoader[int]:
        """Batches over any frame, in its order (for predicting on new data)."""
        return self._make_loader(self.encode(frame))

    def _loader(self, split: str) -> DataLoader[int]:
        self.setup()
        return self._make_loader(self._encoded[split])

    def _make_loader(self, encoded: PairBatch) -> DataLoader[int]:
        return DataLoader(
            _Indices(len(encoded)), batch_size=self.batch_size, collate_fn=_Slice(encoded)
        )


class QEDataModule(TermQADataModule):
    """Loaders over a quality-estimation data set: each batch's ``label`` is the gold score.

    Scores are standardized with the training split's mean and standard deviation (kept on
    the module, and by the model, to map predictions back), so one learning rate suits
    chrF on 0-1 and z-scored human judgements alike. The encoding's locale scripts come from
    the training rows whose ``label`` is 1 (the acceptable translations).

    Args:
        dataset: A QE data set (``score`` and ``label`` columns), e.g. ``build_qe()``.
        batch_size: Examples per batch.
        max_len: Characters kept per text.
        min_char_count: Rarer training characters map to "unknown".
        seed: Seed of the training-batch order.
        encoding: An encoding to reuse (a trained model's) instead of learning one.
        score_mean: Standardization mean (default: the training scores').
        score_std: Standardization scale (default: the training scores' SD).
    """

    def __init__(
        self,
        dataset: TermQADataset,
        batch_size: int = 64,
        max_len: int = 64,
        min_char_count: int = 1,
        seed: int = 0,
        encoding: PairEncoding | None = None,
        score_mean: float | None = None,
        score_std: float | None = None,
    ) -> None:
        super().__init__(dataset, batch_size, max_len, min_char_count, seed, encoding)
        scores = dataset.train["score"].to_numpy(dtype=np.float64)
        self.score_mean = float(scores.mean()) if score_mean is None else float(score_mean)
        spread = float(scores.std(ddof=1)) if scores.size > 1 else 1.0
        self.score_std = float(score_std) if score_std is not None else (spread or 1.0)

    def encode(self, frame: pd.DataFrame) -> PairBatch:
        """Encode pairs; the label is the standardized score (0 where the frame has none)."""
        batch = encode_pairs(frame.drop(columns="label", errors="ignore"), self.encoding)
        if "score" in frame.columns:
            target = (frame["score"].to_numpy(dtype=np.float64) - self.score_mean) / self.score_std
            batch.label = torch.tensor(target, dtype=torch.float32)
        else:
            batch.label = torch.zeros(len(frame))
        return batch
