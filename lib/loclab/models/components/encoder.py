"""Character-level encoder: embeddings and residual 1-D convolutions."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["CharCNNEncoder"]


class CharCNNEncoder(nn.Module):
    """Encode padded character ids into one vector per character.

    Convolutions see a window of characters, enough for the morphology of term names (endings,
    diacritics, syllables) and far cheaper on CPU than recurrence or self-attention.

    Args:
        vocab_size: Number of character ids (padding is id 0).
        embed_dim: Size of the character embeddings.
        hidden: Size of the output vectors.
        layers: Residual convolution blocks.
        kernel_size: Characters each convolution sees (odd).
        dropout: Dropout after each block.
    """

    def __init__(
        self,
        vocab_size: int,
        embed_dim: int = 48,
        hidden: int = 64,
        layers: int = 2,
        kernel_size: int = 3,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError("kernel_size must be odd so outputs stay aligned with characters")
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.project = nn.Linear(embed_dim, hidden)
        self.convs = nn.ModuleList(
            nn.Conv1d(hidden, hidden, kernel_size, padding=kernel_size // 2) for _ in range(layers)
        )
        self.norms = nn.ModuleList(nn.LayerNorm(hidden) for _ in range(layers))
        self.dropout = nn.Dropout(dropout)

    def forward(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode a batch.

        Args:
            ids: Character ids, shape (batch, length), 0 for padding.

        Returns:
            States of shape (batch, length, hidden), zero at padding, and the boolean mask of
            real characters, shape (batch, length).
        """
        mask = ids != 0
        keep = mask.unsqueeze(-1).to(self.project.weight.dtype)
        x = self.project(self.embed(ids)) * keep
        for conv, norm in zip(self.convs, self.norms, strict=True):
            # Zeroing padding before each convolution keeps a term's states independent of how
            # much padding its batch happens to have.
            y = conv(x.transpose(1, 2)).transpose(1, 2)
            x = norm(x + self.dropout(nn.functional.gelu(y))) * keep
        return x, mask
