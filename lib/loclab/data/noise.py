"""Synthetic translation errors of the kinds parallel-corpus filters are trained to catch.

Each function takes a correct target and returns a damaged copy; all randomness comes from the
``random.Random`` passed in, so a data set is reproducible from its seed. The pair-level errors
(misaligned term, wrong language, untranslated copy) need the whole table and live in
:mod:`loclab.data.term_qa`. :func:`near_miss` and :func:`partial` grade the damage for quality
estimation: almost right, and half translated.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Sequence

from loclab.data.scripts import char_script

__all__ = ["corrupt", "near_miss", "partial", "truncate"]


def corrupt(text: str, rng: random.Random, alphabet: Sequence[str]) -> str:
    """Damage ``text`` the way typing, OCR or encoding errors do.

    One edit for short strings, two for longer ones: swap of two neighbouring letters, deletion,
    insertion or substitution of a letter drawn from ``alphabet`` (the target language's own
    letters, so the result stays in the right script), a dropped diacritic, or, rarely, mojibake
    (UTF-8 bytes read as Latin-1).

    Args:
        text: A correct target term.
        rng: Source of randomness.
        alphabet: Letters of the target locale to insert or substitute.

    Returns:
        A string different from ``text`` (``text`` itself only when it cannot be changed).
    """
    if rng.random() < 0.05 and not text.isascii():
        return text.encode("utf-8").decode("latin-1")
    edits = 1 if len(text) <= 8 else 2
    result = text
    for _ in range(10):
        result = text
        for _ in range(edits):
            result = _edit(result, rng, alphabet)
        if result != text:
            return result
    return result


def truncate(text: str, rng: random.Random) -> str:
    """Cut ``text`` short, as a segmenter or a length limit does.

    Half of the time at a word boundary when the text has several words, otherwise anywhere,
    keeping 30–85 % of the characters.

    Args:
        text: A correct target term of at least two characters.
        rng: Source of randomness.

    Returns:
        A non-empty proper prefix of ``text`` without trailing spaces, or ``text`` itself when it
        is too short to cut.
    """
    if len(text) < 2:
        return text
    words = text.split(" ")
    if len(words) > 1 and rng.random() < 0.5:
        cut = " ".join(words[: rng.randrange(1, len(words))])
    else:
        keep = round(len(text) * rng.uniform(0.3, 0.85))
        cut = text[: min(max(keep, 1), len(text) - 1)]
    # A cut right after a base letter would leave its combining vowel sign behind in Devanagari
    # or Thai; dropping the dangling mark keeps the prefix well formed, as real truncation does.
    cut = cut.rstrip()
    while len(cut) > 1 and unicodedata.combining(cut[-1]):
        cut = cut[:-1]
    return cut or text[:1]


def near_miss(text: str, rng: random.Random, alphabet: Sequence[str]) -> str:
    """Damage ``text`` as little as an attentive reviewer would still flag.

    One of: a dropped diacritic, the case of one letter flipped, a hyphen written as a space
    (or the reverse), or, for terms longer than eight characters, one letter edit.

    Args:
        text: A correct target term.
        rng: Source of randomness.
        alphabet: Letters of the target locale (for the single letter edit).

    Returns:
        A string different from ``text``, or ``text`` itself when none of these applies.
    """
    options = []
    accented = [i for i, c in enumerate(text) if _strip_diacritics(c) != c]
    if accented:
        options.append("diacritic")
    cased = [i for i, c in enumerate(text) if c.swapcase() != c and len(c.swapcase()) == 1]
    if cased:
        options.append("case")
    if "-" in text or " " in text:
        options.append("hyphen")
    if len(text) > 8:
        options.append("letter")
    if not options:
        return text
    kind = rng.choice(options)
    if kind == "diacritic":
        i = rng.choice(accented)
        return text[:i] + _strip_diacritics(text[i]) + text[i + 1 :]
    if kind == "case":
        i = rng.choice(cased)
        return text[:i] + text[i].swapcase() + text[i + 1 :]
    if kind == "hyphen":
        spots = [i for i, c in enumerate(text) if c in "- "]
        i = rng.choice(spots)
        return text[:i] + ("-" if text[i] == " " else " ") + text[i + 1 :]
    return _edit(text, rng, alphabet)


def partial(target: str, source: str, rng: random.Random) -> str:
    """A half-done translation of a multi-word term.

    Either one word of the target is left out, or one is replaced by the source word in the
    same position (code-switching: "Vereinigte States").

    Args:
        target: A correct target term.
        source: Its source term.
        rng: Source of randomness.

    Returns:
        The damaged term, or ``target`` itself when it has a single word.
    """
    words = target.split(" ")
    if len(words) < 2:
        return target
    source_words = source.split(" ")
    i = rng.randrange(len(words))
    if len(source_words) >= 2 and rng.random() < 0.5:
        replaced = source_words[min(i, len(source_words) - 1)]
        return " ".join([*words[:i], replaced, *words[i + 1 :]])
    return " ".join(words[:i] + words[i + 1 :])


def _edit(text: str, rng: random.Random, alphabet: Sequence[str]) -> str:
    letters = [i for i, c in enumerate(text) if char_script(c) is not None]
    if not letters:
        return text
    i = rng.choice(letters)
    kind = rng.random()
    if kind < 0.3 and len(text) > 1:
        j = i + 1 if i + 1 < len(text) else i - 1
        a, b = sorted((i, j))
        return text[:a] + text[b] + text[a] + text[b + 1 :]
    if kind < 0.5 and len(text) > 1:
        return text[:i] + text[i + 1 :]
    if kind < 0.7:
        return text[:i] + rng.choice(alphabet) + text[i:]
    if kind < 0.85:
        stripped = _strip_diacritics(text[i])
        if stripped != text[i]:
            return text[:i] + stripped + text[i + 1 :]
    return text[:i] + rng.choice(alphabet) + text[i + 1 :]


def _strip_diacritics(char: str) -> str:
    decomposed = unicodedata.normalize("NFD", char)
    base = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", base) or char
