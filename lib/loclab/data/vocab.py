"""Symbol tables for character-level models: characters and locales.

Built from the training split only, so nothing about validation or test terms leaks into the
model's inputs; unseen symbols map to a reserved "unknown" id. Plain Python, no torch: a vocabulary
is stored as a list of strings in a checkpoint's hyperparameters.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = ["PAD", "UNK", "Vocab"]

PAD = 0
UNK = 1
_RESERVED = ("<pad>", "<unk>")


@dataclass(frozen=True)
class Vocab:
    """An ordered symbol table; id 0 is padding, id 1 is unknown.

    Args:
        symbols: Known symbols, in id order after the two reserved ids.
    """

    symbols: tuple[str, ...]
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "symbols", tuple(self.symbols))
        object.__setattr__(
            self, "_index", {s: i + len(_RESERVED) for i, s in enumerate(self.symbols)}
        )

    @classmethod
    def from_texts(cls, texts: Iterable[str], min_count: int = 1) -> Vocab:
        """Characters of ``texts`` seen at least ``min_count`` times, most frequent first."""
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(text)
        kept = [c for c, n in counts.items() if n >= min_count]
        # Frequency then code point: the same texts always give the same ids.
        return cls(tuple(sorted(kept, key=lambda c: (-counts[c], c))))

    @classmethod
    def from_labels(cls, labels: Iterable[str]) -> Vocab:
        """One id per distinct label (locales), sorted."""
        return cls(tuple(sorted(set(labels))))

    def __len__(self) -> int:
        return len(self.symbols) + len(_RESERVED)

    def id(self, symbol: str) -> int:
        """Id of ``symbol``, or :data:`UNK`."""
        return self._index.get(symbol, UNK)

    def encode(self, text: str, max_len: int) -> list[int]:
        """Ids of the first ``max_len`` characters of ``text`` (not padded)."""
        return [self.id(c) for c in text[:max_len]]

    def to_list(self) -> list[str]:
        """The symbols, for storing in a checkpoint."""
        return list(self.symbols)

    @classmethod
    def from_list(cls, symbols: Sequence[str]) -> Vocab:
        """Inverse of :meth:`to_list`."""
        return cls(tuple(symbols))
