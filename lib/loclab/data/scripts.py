"""Writing systems of characters and strings, from the Unicode character database.

A term's script tells a QA check a lot without any bilingual knowledge: a Japanese target written
in Cyrillic is in the wrong language. Scripts are read from ``unicodedata`` names (the first word
of a letter's name is its script in practice), so no extra dependency is needed.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

__all__ = ["char_script", "dominant_scripts", "script_counts", "script_fraction"]

# Names whose first word is not a script: these characters belong to no particular language.
_NEUTRAL = frozenset({"MODIFIER", "COMBINING", "FULLWIDTH", "HALFWIDTH", "SMALL", "LETTERLIKE"})
# Japanese writes one script under several name prefixes; Chinese characters are "CJK ...".
_ALIASES = {"KATAKANA-HIRAGANA": "KATAKANA", "CJK": "HAN", "IDEOGRAPHIC": "HAN"}


@lru_cache(maxsize=65536)
def char_script(char: str) -> str | None:
    """Script of one character, or None for digits, punctuation, spaces and neutral letters.

    Args:
        char: A single character.

    Returns:
        An upper-case script name such as ``"LATIN"``, ``"CYRILLIC"``, ``"HAN"`` or ``"THAI"``.
    """
    if unicodedata.category(char)[0] not in "LM":
        return None
    name = unicodedata.name(char, "")
    if not name:
        return None
    word = name.split(" ", 1)[0]
    if word in _NEUTRAL:
        return None
    return _ALIASES.get(word, word)


def script_counts(text: str) -> Counter[str]:
    """Count the letters of ``text`` per script (neutral characters are not counted)."""
    counts: Counter[str] = Counter()
    for char in text:
        script = char_script(char)
        if script is not None:
            counts[script] += 1
    return counts


def script_fraction(text: str, scripts: Iterable[str]) -> float:
    """Fraction of the letters of ``text`` written in one of ``scripts``.

    Args:
        text: Any string.
        scripts: Accepted script names.

    Returns:
        A value in [0, 1]; 1.0 when ``text`` has no letters at all (nothing contradicts).
    """
    counts = script_counts(text)
    total = sum(counts.values())
    if total == 0:
        return 1.0
    accepted = set(scripts)
    return sum(n for s, n in counts.items() if s in accepted) / total


def dominant_scripts(texts: Iterable[str], min_share: float = 0.05) -> frozenset[str]:
    """Scripts that make up at least ``min_share`` of the letters of ``texts``.

    Used to learn which scripts a locale is written in from its correct targets, so no table of
    locales has to be maintained (Japanese comes out as Han + Katakana + Hiragana).

    Args:
        texts: Correct target strings of one locale.
        min_share: Smallest share of letters for a script to count.

    Returns:
        The set of script names; empty when the texts have no letters.
    """
    chars: Counter[str] = Counter()
    for text in texts:
        chars.update(text)
    # Classify each distinct character once, not each occurrence.
    counts: Counter[str] = Counter()
    for char, n in chars.items():
        script = char_script(char)
        if script is not None:
            counts[script] += n
    total = sum(counts.values())
    if total == 0:
        return frozenset()
    return frozenset(s for s, n in counts.items() if n / total >= min_share)
