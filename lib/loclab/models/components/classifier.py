"""The term-pair classifier: encoder, interaction, language identification and a small head."""

from __future__ import annotations

import torch
from torch import nn

from loclab.models.components.encoder import CharCNNEncoder
from loclab.models.components.interaction import PairInteraction, masked_pool
from loclab.models.components.language_model import CharLanguageModel

__all__ = ["TermPairClassifier"]


class TermPairClassifier(nn.Module):
    """Score (source term, target term, locale) triples: one logit of "correct translation".

    Source and target share one character encoder (names keep letters across languages). Three
    views of a pair feed the head:

    * a soft character alignment of target and source (misaligned, truncated, untranslated);
    * a language-identification head that guesses the target's locale from its letters alone,
      whose log-probability of the claimed locale tells a wrong language or a garbled spelling
      (trained with its own loss on correct pairs, see ``TermQAModule``);
    * with ``language_model``, how probable the target's spelling is in the claimed language
      (a character LM, trained with its own loss on correct pairs);
    * the hand-made pair features the baselines use, when ``num_features`` > 0, so the network
      starts from what a linear model knows and only has to learn the rest.

    Args:
        vocab_size: Number of character ids.
        num_locales: Number of locale ids.
        num_features: Number of pair features per example (0 for none).
        embed_dim: Character embedding size.
        hidden: Size of character states and of the head.
        locale_dim: Locale embedding size.
        layers: Convolution blocks of the encoder.
        kernel_size: Convolution width.
        dropout: Dropout rate.
        cross_layers: Transformer layers over the joint source + target sequence (a
            cross-encoder, as QE models use) before alignment; 0 for none.
        language_model: Add the character language model of the target languages.
    """

    def __init__(
        self,
        vocab_size: int,
        num_locales: int,
        num_features: int = 0,
        embed_dim: int = 48,
        hidden: int = 64,
        locale_dim: int = 16,
        layers: int = 2,
        kernel_size: int = 3,
        dropout: float = 0.1,
        cross_layers: int = 0,
        language_model: bool = False,
    ) -> None:
        super().__init__()
        self.locale = nn.Embedding(num_locales, locale_dim)
        self.encoder = CharCNNEncoder(vocab_size, embed_dim, hidden, layers, kernel_size, dropout)
        self.cross = (
            nn.TransformerEncoder(
                nn.TransformerEncoderLayer(
                    hidden,
                    nhead=4,
                    dim_feedforward=2 * hidden,
                    dropout=dropout,
                    batch_first=True,
                    norm_first=True,
                ),
                cross_layers,
                enable_nested_tensor=False,
            )
            if cross_layers
            else None
        )
        # Which side a state comes from, and where it sits: the convolutions know neighbours,
        # self-attention needs to be told positions.
        self.side = nn.Embedding(2, hidden) if cross_layers else None
        self.position = nn.Embedding(256, hidden) if cross_layers else None
        self.interaction = PairInteraction(hidden, dropout)
        self.language_id = nn.Linear(2 * hidden, num_locales)
        self.num_features = num_features
        self.lm = (
            CharLanguageModel(vocab_size, num_locales, embed_dim, hidden, layers, 3, dropout)
            if language_model
            else None
        )
        width = self.interaction.out_dim + 2 * hidden + locale_dim + num_features + 4
        width += 3 if language_model else 0
        self.head = nn.Sequential(
            nn.Linear(width, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, 1)
        )

    def forward(
        self,
        source: torch.Tensor,
        target: torch.Tensor,
        locale: torch.Tensor,
        features: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Score a batch.

        Args:
            source: Source character ids, (batch, length), 0 for padding.
            target: Target character ids, (batch, length).
            locale: Claimed target locale ids, (batch,).
            features: Pair features, (batch, num_features), when ``num_features`` > 0.

        Returns:
            Logits of "correct", shape (batch,); language-identification logits of the
            target, shape (batch, num_locales); and the language model's NLL per target
            position, shape (batch, length + 1), or None without a language model.
        """
        src, src_mask = self.encoder(source)
        tgt, tgt_mask = self.encoder(target)
        # Language identification reads the target alone, before it has seen the source.
        tgt_pooled = masked_pool(tgt, tgt_mask)
        if self.cross is not None:
            src, tgt = self._cross(src, src_mask, tgt, tgt_mask)
        lid = self.language_id(tgt_pooled)
        lid_logp = torch.log_softmax(lid, dim=-1)
        claimed = lid_logp.gather(1, locale.unsqueeze(1))
        best = lid_logp.amax(1, keepdim=True)
        lengths = torch.stack(
            [src_mask.sum(1).float().log1p(), tgt_mask.sum(1).float().log1p()], dim=-1
        )
        parts = [
            self.interaction(src, src_mask, tgt, tgt_mask),
            tgt_pooled,
            self.locale(locale),
            claimed,
            claimed - best,
            lengths,
        ]
        nll = None
        if self.lm is not None:
            nll = self.lm(target, locale)
            parts.append(self.lm.summarize(nll, target))
        if self.num_features:
            if features is None:
                raise ValueError("this classifier was built with num_features > 0")
            parts.append(features)
        return self.head(torch.cat(parts, dim=-1)).squeeze(-1), lid, nll

    def _cross(
        self,
        src: torch.Tensor,
        src_mask: torch.Tensor,
        tgt: torch.Tensor,
        tgt_mask: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        assert self.cross is not None and self.side is not None and self.position is not None
        n_src = src.shape[1]
        limit = self.position.num_embeddings
        pos_s = self.position(torch.arange(n_src, device=src.device).clamp(max=limit - 1))
        pos_t = self.position(torch.arange(tgt.shape[1], device=tgt.device).clamp(max=limit - 1))
        joint = torch.cat(
            [src + self.side.weight[0] + pos_s, tgt + self.side.weight[1] + pos_t], dim=1
        )
        mask = torch.cat([src_mask, tgt_mask], dim=1)
        joint = self.cross(joint, src_key_padding_mask=~mask)
        joint = joint * mask.unsqueeze(-1).to(joint.dtype)
        return joint[:, :n_src], joint[:, n_src:]
