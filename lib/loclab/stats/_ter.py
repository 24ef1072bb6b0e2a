"""TER (translation edit rate) with sacrebleu's definition, from per-segment statistics.

TER is an error rate: lower is better (``higher_is_better = False``). Tests of two systems
still report ``A - B``; a negative difference means A makes fewer edits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._metrics import _SacrebleuMetric


class TerMetric(_SacrebleuMetric):
    """Corpus TER with sacrebleu's definition, vectorised over resampled totals.

    Statistics per segment: ``[edits, ref_len]``, sacrebleu's layout: the fewest edits over
    the references and the references' average length. The score is ``100 * edits / ref_len``
    of the summed statistics (100 when the references are empty and the hypotheses are not).

    Args:
        normalized: Tercom's normalisation of punctuation and XML entities.
        no_punct: Remove punctuation.
        asian_support: Treat CJK characters specially (with ``normalized`` / ``no_punct``).
        case_sensitive: Keep case (sacrebleu lowercases by default).
    """

    name = "TER"
    stat_names = ("edits", "ref_len")
    higher_is_better = False

    def __init__(
        self,
        normalized: bool = False,
        no_punct: bool = False,
        asian_support: bool = False,
        case_sensitive: bool = False,
    ):
        self.normalized = normalized
        self.no_punct = no_punct
        self.asian_support = asian_support
        self.case_sensitive = case_sensitive
        self._kwargs = {
            "normalized": normalized, "no_punct": no_punct, "asian_support": asian_support,
            "case_sensitive": case_sensitive,
        }  # fmt: skip

    def _sacrebleu(self, references: Sequence[Any] | None) -> Any:
        from sacrebleu.metrics.ter import TER

        return TER(references=references, **self._kwargs)

    def _totals(self, stats: np.ndarray) -> list[Any]:
        # Average reference lengths are fractions with several references: add them one
        # segment after another, in sacrebleu's order, so the corpus score is bit-identical.
        if stats.shape[0] == 0:
            return [0, 0.0]
        return [float(v) for v in np.cumsum(stats, axis=0)[-1]]

    def score(self, totals: Any) -> np.ndarray:
        """TER from summed statistics of shape ``(..., 2)``."""
        t = np.asarray(totals, dtype=np.float64)
        edits, ref_len = t[..., 0], t[..., 1]
        empty = np.where(edits > 0, 1.0, 0.0)
        rate = np.where(ref_len > 0, edits / np.where(ref_len > 0, ref_len, 1.0), empty)
        return np.asarray(100.0 * rate)
