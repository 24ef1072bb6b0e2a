"""Hand-made features of a (source, target, locale) pair, shared by the baselines.

They capture what a QA check can know without bilingual knowledge: whether the target is a copy
of the source, how similar the strings are (cognates and transliterations keep letters), whether
its length fits the language, and whether it is written in the locale's script.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from loclab.data.scripts import dominant_scripts, script_fraction

__all__ = [
    "PAIR_FEATURES",
    "edit_distance",
    "edit_similarity",
    "locale_scripts",
    "ngram_overlap",
    "pair_features",
]

#: Names of the columns :func:`pair_features` returns, in order.
PAIR_FEATURES: tuple[str, ...] = (
    "copy",
    "copy_casefold",
    "edit_similarity",
    "ngram_overlap",
    "log_length_ratio",
    "word_count_diff",
    "script_match",
    "digits_match",
    "brackets_balanced",
)
_BRACKETS = {"(": ")", "[": "]", "（": "）"}


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions all cost 1).

    Bit-parallel (Hyyrö 2001): one pass over ``b`` with Python integers as bit vectors, about
    five times faster than the textbook table for the short strings of term data.
    """
    m = len(a)
    if m == 0:
        return len(b)
    peq: dict[str, int] = {}
    for i, c in enumerate(a):
        peq[c] = peq.get(c, 0) | (1 << i)
    full = (1 << m) - 1
    last = 1 << (m - 1)
    pv, mv, score = full, 0, m
    for c in b:
        eq = peq.get(c, 0)
        xv = eq | mv
        xh = ((((eq & pv) + pv) & full) ^ pv) | eq
        ph = mv | (~(xh | pv) & full)
        mh = pv & xh
        if ph & last:
            score += 1
        elif mh & last:
            score -= 1
        ph = ((ph << 1) | 1) & full
        mh = (mh << 1) & full
        pv = mh | (~(xv | ph) & full)
        mv = ph & xv
    return score


def edit_similarity(a: str, b: str) -> float:
    """1 - Levenshtein distance / length of the longer string (1.0 for two empty strings)."""
    longest = max(len(a), len(b))
    return 1.0 if longest == 0 else 1.0 - edit_distance(a, b) / longest


def ngram_overlap(a: str, b: str, n: int = 2) -> float:
    """Jaccard overlap of the character n-gram sets of ``a`` and ``b``."""
    grams_a = {a[i : i + n] for i in range(max(len(a) - n + 1, 1))}
    grams_b = {b[i : i + n] for i in range(max(len(b) - n + 1, 1))}
    union = grams_a | grams_b
    return len(grams_a & grams_b) / len(union) if union else 1.0


def locale_scripts(frame: pd.DataFrame) -> dict[str, frozenset[str]]:
    """Scripts each locale is written in, learned from the correct targets of ``frame``.

    Args:
        frame: Training pairs with ``target``, ``locale`` and ``label``.

    Returns:
        Locale to its scripts (see :func:`loclab.data.scripts.dominant_scripts`).
    """
    correct = frame[frame["label"] == 1]
    return {
        str(locale): dominant_scripts(group["target"].astype(str), min_share=0.01)
        for locale, group in correct.groupby("locale", sort=True)
    }


def pair_features(frame: pd.DataFrame, scripts: Mapping[str, Iterable[str]]) -> np.ndarray:
    """The :data:`PAIR_FEATURES` of every row, as a float matrix.

    Args:
        frame: Rows with ``source``, ``target`` and ``locale``.
        scripts: Locale to expected scripts (:func:`locale_scripts` of the training data);
            a locale missing from it counts as matching any script.

    Returns:
        Array of shape (rows, len(PAIR_FEATURES)).
    """
    out = np.zeros((len(frame), len(PAIR_FEATURES)), dtype=np.float64)
    known = {k: frozenset(v) for k, v in scripts.items()}
    rows = zip(
        frame["source"].astype(str),
        frame["target"].astype(str),
        frame["locale"].astype(str),
        strict=True,
    )
    for i, (source, target, locale) in enumerate(rows):
        s, t = source.casefold(), target.casefold()
        expected = known.get(locale)
        out[i] = (
            float(source == target),
            float(s == t),
            edit_similarity(s, t),
            ngram_overlap(s, t),
            math.log((len(target) + 1) / (len(source) + 1)),
            len(target.split()) - len(source.split()),
            script_fraction(target, expected) if expected else 1.0,
            float(_digits(source) == _digits(target)),
            float(_balanced(target)),
        )
    return out


def _digits(text: str) -> str:
    # Compare values, not characters: Arabic or Devanagari digits may render the same year.
    return "".join(
        str(unicodedata.decimal(c)) for c in text if unicodedata.decimal(c, None) is not None
    )


def _balanced(text: str) -> bool:
    # A bracket opened and never closed is the typical trace of a cut-off currency name.
    depth = 0
    closers = set(_BRACKETS.values())
    for c in text:
        if c in _BRACKETS:
            depth += 1
        elif c in closers:
            depth -= 1
    return depth == 0
