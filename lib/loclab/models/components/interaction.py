"""Soft alignment between the characters of a source term and its translation."""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["PairInteraction", "masked_pool"]


def masked_pool(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Concatenated mean and max of ``states`` over real (unmasked) positions.

    Args:
        states: Shape (batch, length, dim).
        mask: Shape (batch, length), True at real positions.

    Returns:
        Shape (batch, 2 * dim).
    """
    keep = mask.unsqueeze(-1).to(states.dtype)
    count = keep.sum(1).clamp(min=1.0)
    mean = (states * keep).sum(1) / count
    low = torch.finfo(states.dtype).min
    peak = states.masked_fill(~mask.unsqueeze(-1), low).amax(1)
    peak = torch.where(mask.any(1, keepdim=True), peak, torch.zeros_like(peak))
    return torch.cat([mean, peak], dim=-1)


class PairInteraction(nn.Module):
    """Align each side's characters to the other's, compare, and pool (ESIM-style).

    Names of places, languages and currencies are largely transliterated or cognate, so a
    correct translation has characters that align well with the source (``Kenya``/``Кения``),
    while a misaligned term or a truncated one leaves parts of either side unmatched: the
    comparison of each character with its soft-aligned counterpart shows both.

    Args:
        hidden: Size of the character states of both sides.
        dropout: Dropout in the comparison layer.
    """

    def __init__(self, hidden: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.compare = nn.Sequential(nn.Linear(4 * hidden, hidden), nn.GELU(), nn.Dropout(dropout))
        self.scale = 1.0 / math.sqrt(hidden)

    @property
    def out_dim(self) -> int:
        """Size of the pooled output vector."""
        first = self.compare[0]
        assert isinstance(first, nn.Linear)  # the comparison layer built in __init__
        return 4 * first.out_features + 2

    def forward(
        self,
        source: torch.Tensor,
        source_mask: torch.Tensor,
        target: torch.Tensor,
        target_mask: torch.Tensor,
    ) -> torch.Tensor:
        """Compare the two sides.

        Args:
            source: Source character states, (batch, source length, hidden).
            source_mask: Real source positions, (batch, source length).
            target: Target character states, (batch, target length, hidden).
            target_mask: Real target positions, (batch, target length).

        Returns:
            Pooled comparison features of both sides plus the mean best-alignment score of
            each side, shape (batch, :attr:`out_dim`).
        """
        scores = torch.bmm(target, source.transpose(1, 2)) * self.scale
        low = torch.finfo(scores.dtype).min
        to_source = scores.masked_fill(~source_mask.unsqueeze(1), low)
        to_target = scores.masked_fill(~target_mask.unsqueeze(2), low)
        aligned_source = torch.bmm(torch.softmax(to_source, dim=2), source)
        aligned_target = torch.bmm(torch.softmax(to_target, dim=1).transpose(1, 2), target)
        t = self._compare(target, aligned_source)
        s = self._compare(source, aligned_target)
        # How well the best-matching character matches, averaged: coverage of each side.
        best_t = _masked_mean(to_source.amax(2), target_mask)
        best_s = _masked_mean(to_target.amax(1), source_mask)
        return torch.cat(
            [
                masked_pool(t, target_mask),
                masked_pool(s, source_mask),
                best_t.unsqueeze(1),
                best_s.unsqueeze(1),
            ],
            dim=-1,
        )

    def _compare(self, states: torch.Tensor, aligned: torch.Tensor) -> torch.Tensor:
        compared: torch.Tensor = self.compare(
            torch.cat([states, aligned, states * aligned, states - aligned], dim=-1)
        )
        return compared


def _masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    keep = mask.to(values.dtype)
    return (values.clamp(min=-1e4) * keep).sum(1) / keep.sum(1).clamp(min=1.0)
