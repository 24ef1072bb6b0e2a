from __future__ import annotations

import logging
import warnings
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from loclab.data import TermQADataModule, TermQADataset
from loclab.data.datamodule import PairEncoding
from loclab.models.components import CharCNNEncoder, PairInteraction, TermPairClassifier
from loclab.models.term_qa import TermQAModule

SMALL = {"hidden": 16, "embed_dim": 16, "locale_dim": 4}


@pytest.fixture(autouse=True)
def _quiet() -> None:
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")


def _trainer(tmp_path: Path, **kwargs: object) -> L.Trainer:
    options = {
        "logger": False,
        "enable_checkpointing": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "deterministic": True,
        "default_root_dir": tmp_path,
    }
    return L.Trainer(**{**options, **kwargs})


def test_components_shapes() -> None:
    ids = torch.tensor([[5, 6, 7, 0], [8, 0, 0, 0]])
    states, mask = CharCNNEncoder(20, 8, 12)(ids)
    assert states.shape == (2, 4, 12) and mask.tolist()[1] == [True, False, False, False]
    assert (states[1, 1:] == 0).all()
    interaction = PairInteraction(12)
    pooled = interaction(states, mask, states[:, :3], mask[:, :3])
    assert pooled.shape == (2, interaction.out_dim)
    logits, lid, nll = TermPairClassifier(
        20, 3, num_features=2, cross_layers=1, language_model=True, **SMALL
    )(ids, ids[:, :2], torch.tensor([1, 2]), torch.zeros(2, 2))
    assert logits.shape == (2,) and lid.shape == (2, 3) and nll.shape == (2, 3)


def test_padding_does_not_change_the_output() -> None:
    torch.manual_seed(0)
    net = TermPairClassifier(20, 3, **SMALL).eval()
    src, tgt, loc = torch.tensor([[5, 6, 7]]), torch.tensor([[8, 9]]), torch.tensor([1])
    padded = net(torch.nn.functional.pad(src, (0, 4)), torch.nn.functional.pad(tgt, (0, 5)), loc)
    torch.testing.assert_close(net(src, tgt, loc)[0], padded[0])


def test_probabilities_are_valid(tiny: TermQADataset) -> None:
    datamodule = TermQADataModule(tiny)
    model = TermQAModule.from_datamodule(datamodule, **SMALL)
    scores = model.predict_proba(tiny.test)
    assert scores.shape == (len(tiny.test),)
    assert np.isfinite(scores).all() and (scores > 0).all() and (scores < 1).all()


def test_a_few_steps_lower_the_loss(tiny: TermQADataset) -> None:
    L.seed_everything(0, verbose=False)
    datamodule = TermQADataModule(tiny, batch_size=32)
    model = TermQAModule.from_datamodule(datamodule, lr=1e-2, **SMALL)
    batch = next(iter(datamodule.train_dataloader()))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(8):
        loss = model.loss_fn(model(batch), batch.label)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < losses[0]


def test_fast_dev_run(tiny: TermQADataset, tmp_path: Path) -> None:
    datamodule = TermQADataModule(tiny, batch_size=32)
    model = TermQAModule.from_datamodule(datamodule, **SMALL)
    trainer = _trainer(tmp_path, fast_dev_run=2)
    trainer.fit(model, datamodule=datamodule)
    trainer.test(model, datamodule=datamodule, verbose=False)
    assert {"test_loss", "test_acc", "test_f1"} <= set(trainer.callback_metrics)


def test_callbacks_see_this_epochs_validation_metrics(tiny: TermQADataset, tmp_path: Path) -> None:
    seen: list[tuple[int, set[str]]] = []

    class Spy(L.Callback):
        def on_validation_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
            if not trainer.sanity_checking:
                seen.append((trainer.current_epoch, set(trainer.callback_metrics)))

    datamodule = TermQADataModule(tiny, batch_size=64)
    model = TermQAModule.from_datamodule(datamodule, **SMALL)
    trainer = _trainer(
        tmp_path, max_epochs=1, limit_train_batches=3, limit_val_batches=2, callbacks=[Spy()]
    )
    trainer.fit(model, datamodule=datamodule)
    assert seen and seen[0][0] == 0
    assert {"val_loss", "val_acc", "val_f1"} <= seen[0][1]


def _train(tiny: TermQADataset, tmp_path: Path, seed: int) -> TermQAModule:
    L.seed_everything(seed, workers=True, verbose=False)
    datamodule = TermQADataModule(tiny, batch_size=64, seed=seed, resample_errors=True)
    model = TermQAModule.from_datamodule(datamodule, **SMALL)
    trainer = _trainer(
        tmp_path, max_epochs=2, limit_train_batches=3, limit_val_batches=1, num_sanity_val_steps=0
    )
    trainer.fit(model, datamodule=datamodule)
    return model


def test_training_is_deterministic_for_a_seed(tiny: TermQADataset, tmp_path: Path) -> None:
    a = _train(tiny, tmp_path / "a", seed=3)
    b = _train(tiny, tmp_path / "b", seed=3)
    c = _train(tiny, tmp_path / "c", seed=4)
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        torch.testing.assert_close(pa, pb, msg=name)
    assert not torch.equal(a.net.head[0].weight, c.net.head[0].weight)


def test_save_load_and_resume(tiny: TermQADataset, tmp_path: Path) -> None:
    L.seed_everything(0, verbose=False)
    datamodule = TermQADataModule(tiny, batch_size=64)
    model = TermQAModule.from_datamodule(datamodule, **SMALL)
    limits = {"limit_train_batches": 2, "limit_val_batches": 1, "num_sanity_val_steps": 0}
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpt", save_last=True)
    trainer = _trainer(
        tmp_path, max_epochs=1, callbacks=[checkpoint], enable_checkpointing=True, **limits
    )
    trainer.fit(model, datamodule=datamodule)
    last = tmp_path / "ckpt" / "last.ckpt"
    assert last.exists()

    saved = model.save(tmp_path / "model")  # a folder that does not exist yet is a file name
    again = TermQAModule.load(saved)
    np.testing.assert_allclose(again.predict_proba(tiny.val), model.predict_proba(tiny.val))
    assert PairEncoding.from_dict(again.hparams.encoding) == datamodule.encoding

    resumed = TermQAModule.from_datamodule(datamodule, **SMALL)
    trainer = _trainer(tmp_path, max_epochs=2, **limits)
    trainer.fit(resumed, datamodule=datamodule, ckpt_path=last)
    assert trainer.current_epoch == 2
