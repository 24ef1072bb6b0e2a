"""A small character language model of each target language."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["CharLanguageModel"]


class CharLanguageModel(nn.Module):
    """Predict each character of a term from the ones before it, given the locale.

    Trained on correct targets only, it learns the spelling of each language; a corrupted term
    then has improbable characters, and a truncated one ends where words do not (a low
    probability of the end mark). Parallel-corpus filters use character LMs for the same reason.
    Causal convolutions keep it cheap on CPU.

    Args:
        vocab_size: Number of character ids (0 is padding); one more output predicts the end.
        num_locales: Number of locale ids.
        embed_dim: Character embedding size.
        hidden: Width of the convolutions.
        layers: Causal convolution blocks.
        kernel_size: Characters of context per block.
        dropout: Dropout rate.
    """

    def __init__(
        self,
        vocab_size: int,
        num_locales: int,
        embed_dim: int = 32,
        hidden: int = 64,
        layers: int = 2,
        kernel_size: int = 3,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.start = nn.Parameter(torch.zeros(embed_dim))
        self.locale = nn.Embedding(num_locales, hidden)
        self.project = nn.Linear(embed_dim, hidden)
        self.convs = nn.ModuleList(nn.Conv1d(hidden, hidden, kernel_size) for _ in range(layers))
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, vocab_size + 1)
        self.end = vocab_size

    def forward(self, ids: torch.Tensor, locale: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood of every character and of the end mark.

        Args:
            ids: Character ids, (batch, length), 0 for padding.
            locale: Locale ids, (batch,).

        Returns:
            NLL per position, (batch, length + 1): position ``i`` < term length scores
            character ``i``, position == length scores the end mark, later positions are 0.
        """
        batch, length = ids.shape
        x = torch.cat([self.start.expand(batch, 1, -1), self.embed(ids)], dim=1)
        x = self.project(x) + self.locale(locale).unsqueeze(1)
        for conv in self.convs:
            # Left padding only: position i sees characters before i, never i itself.
            y = conv(nn.functional.pad(x.transpose(1, 2), (self.kernel_size - 1, 0)))
            x = x + self.dropout(nn.functional.gelu(y.transpose(1, 2)))
        logits = self.out(x)
        lengths = (ids != 0).sum(1)
        targets = torch.cat([ids, ids.new_zeros(batch, 1)], dim=1)
        targets[torch.arange(batch), lengths] = self.end
        positions = torch.arange(length + 1, device=ids.device).unsqueeze(0)
        valid = positions <= lengths.unsqueeze(1)
        nll = nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none"
        ).reshape(batch, length + 1)
        return nll * valid.to(nll.dtype)

    @staticmethod
    def summarize(nll: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """Mean and max character NLL and the end-mark NLL of each term, (batch, 3)."""
        lengths = (ids != 0).sum(1)
        chars = nll[:, :-1] if nll.shape[1] > 1 else nll
        count = lengths.clamp(min=1).to(nll.dtype)
        end = nll.gather(1, lengths.unsqueeze(1)).squeeze(1)
        return torch.stack([chars.sum(1) / count, chars.amax(1), end], dim=-1)
