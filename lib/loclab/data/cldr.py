"""Raw term pairs from CLDR display names, as shipped inside the ``babel`` package.

CLDR translates the display names of territories, languages, currencies and scripts into
hundreds of locales. Each (English name, translated name, locale) triple is a correct term
translation: the positives of the terminology-QA task. Nothing is downloaded; babel carries the
data.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import babel
import pandas as pd
from babel import Locale
from babel.core import get_cldr_version

from loclab.data.scripts import script_counts

__all__ = [
    "CATEGORIES",
    "DEFAULT_LOCALES",
    "SOURCE_LOCALE",
    "cldr_pairs",
    "cldr_version",
    "locale_terms",
]

#: Locale the source terms are written in.
SOURCE_LOCALE = "en"
#: Twenty target locales over ten scripts and several language families, so that errors such as
#: "right term, wrong language" occur both within one script (es/pt, ru/uk, cs/pl) and across.
DEFAULT_LOCALES: tuple[str, ...] = (
    "de", "fr", "es", "it", "pt", "nl", "pl", "ru", "uk", "cs",
    "tr", "ar", "he", "hi", "ja", "ko", "zh_Hans", "th", "vi", "sv",
)  # fmt: skip
#: Category name to the babel ``Locale`` attribute that holds its display names.
CATEGORIES: dict[str, str] = {
    "territory": "territories",
    "language": "languages",
    "currency": "currencies",
    "script": "scripts",
}


def cldr_version() -> str:
    """Version of the CLDR data and of babel, e.g. ``"cldr-47/babel-2.18.0"``."""
    return f"cldr-{get_cldr_version()}/babel-{babel.__version__}"


@lru_cache(maxsize=256)
def locale_terms(locale: str, category: str) -> dict[str, str]:
    """Display names of one category in one locale, keyed by CLDR code.

    Args:
        locale: A CLDR locale identifier such as ``"de"`` or ``"zh_Hans"``.
        category: One of :data:`CATEGORIES`.

    Returns:
        Code (``"DE"``, ``"fr"``, ``"EUR"``, ``"Latn"``...) to display name. Do not mutate: the
        result is cached.
    """
    try:
        attribute = CATEGORIES[category]
    except KeyError:
        raise ValueError(
            f"unknown category {category!r}; choose from {sorted(CATEGORIES)}"
        ) from None
    return dict(getattr(Locale.parse(locale), attribute))


def cldr_pairs(
    locales: Sequence[str] = DEFAULT_LOCALES,
    categories: Sequence[str] = tuple(CATEGORIES),
) -> pd.DataFrame:
    """All correct (English term, target term, locale) pairs of the given locales and categories.

    A target identical to the English name is kept only when the locale writes Latin script:
    there "Chile" is Spanish for Chile, while an English name left in a Japanese or Russian table
    means CLDR has no translation and says nothing about the language.

    Args:
        locales: Target locales.
        categories: Categories of display names (keys of :data:`CATEGORIES`).

    Returns:
        One row per pair with columns ``category``, ``key`` (CLDR code), ``source``,
        ``locale`` and ``target``, in a deterministic order. Pairs that repeat an
        (English term, locale, target) triple under another category are dropped
        ("Arabic" is both a language and a script).
    """
    rows: list[tuple[str, str, str, str, str]] = []
    seen: set[tuple[str, str, str]] = set()
    for category in categories:
        english = locale_terms(SOURCE_LOCALE, category)
        for locale in locales:
            translated = locale_terms(locale, category)
            latin = _writes_latin(locale)
            for key in sorted(english):
                source = english[key].strip()
                target = translated.get(key, "").strip()
                if not source or not target:
                    continue
                if target == source and not latin:
                    continue
                triple = (source.casefold(), locale, target)
                if triple in seen:
                    continue
                seen.add(triple)
                rows.append((category, key, source, locale, target))
    return pd.DataFrame(rows, columns=["category", "key", "source", "locale", "target"])


@lru_cache(maxsize=256)
def _writes_latin(locale: str) -> bool:
    # Decide from the data, not a table: most letters of the locale's territory names.
    counts = script_counts("".join(locale_terms(locale, "territory").values()))
    return bool(counts) and counts.most_common(1)[0][0] == "LATIN"
