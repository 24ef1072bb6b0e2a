from __future__ import annotations

import pandas as pd
import torch

from loclab.data import TermQADataModule, TermQADataset
from loclab.data.datamodule import PairEncoding, encode_pairs
from loclab.data.vocab import PAD, UNK, Vocab


def test_vocab() -> None:
    vocab = Vocab.from_texts(["aab", "b"])
    assert vocab.symbols == ("a", "b") or vocab.symbols == ("b", "a")
    assert vocab.id("a") > UNK and vocab.id("z") == UNK and len(vocab) == 4
    assert vocab.encode("abz", max_len=2) == [vocab.id("a"), vocab.id("b")]
    assert Vocab.from_list(vocab.to_list()) == vocab


def test_encoding_comes_from_train_and_round_trips(tiny: TermQADataset) -> None:
    encoding = PairEncoding.fit(tiny.train)
    train_chars = set("".join(tiny.train["source"]) + "".join(tiny.train["target"]))
    assert set(encoding.chars.symbols) == train_chars
    assert PairEncoding.from_dict(encoding.to_dict()) == encoding


def test_batches(tiny: TermQADataset) -> None:
    datamodule = TermQADataModule(tiny, batch_size=16)
    batch = next(iter(datamodule.val_dataloader()))
    assert len(batch) == 16 and batch.source.dtype == torch.long
    assert batch.features.shape == (16, 9)
    assert set(batch.label.tolist()) <= {0.0, 1.0}
    assert (batch.target != PAD).sum(1).min() > 0
    # Batches keep only the padding they need.
    assert (batch.source != PAD).any(0).all()
    sizes = [len(b) for b in datamodule.test_dataloader()]
    assert sum(sizes) == len(tiny.test)


def test_unseen_characters_and_locales_are_unknown(tiny: TermQADataset) -> None:
    encoding = PairEncoding.fit(tiny.train)
    frame = pd.DataFrame({"source": ["\u2603"], "target": ["\u2603x"], "locale": ["zz"]})
    batch = encode_pairs(frame, encoding)
    assert batch.source.tolist() == [[UNK]] and batch.locale.tolist() == [UNK]
    assert batch.label.tolist() == [-1.0]


def test_training_order_is_fixed_by_seed_and_epoch(tiny: TermQADataset) -> None:
    def first_ids(seed: int, epoch: int) -> list[int]:
        loader = TermQADataModule(tiny, batch_size=8, seed=seed).train_dataloader()
        loader.sampler.set_epoch(epoch)
        return next(iter(loader)).target[:, 0].tolist()

    assert first_ids(0, 0) == first_ids(0, 0)
    assert first_ids(0, 0) != first_ids(0, 1)
    assert first_ids(0, 0) != first_ids(1, 0)


def test_resampled_errors_keep_positives_and_size(tiny: TermQADataset) -> None:
    datamodule = TermQADataModule(tiny, resample_errors=True, seed=0)
    first, second = datamodule.train_frame(0), datamodule.train_frame(1)
    assert len(first) == len(second)
    assert set(first.loc[first["label"] == 1, "example_id"]) == set(
        second.loc[second["label"] == 1, "example_id"]
    )
    old = set(first.loc[first["label"] == 0, "target"])
    new = set(second.loc[second["label"] == 0, "target"])
    assert len(old & new) < 0.6 * len(new)
    # Errors come from training terms only.
    assert set(second["source"]) <= set(tiny.train["source"])
    loader = datamodule.train_dataloader()
    loader.sampler.set_epoch(1)
    labels = torch.cat([b.label for b in loader])
    assert len(labels) == len(tiny.train)
