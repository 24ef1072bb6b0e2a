from __future__ import annotations

import re

import pytest

from loclab.data import CATEGORIES, DEFAULT_LOCALES, cldr_pairs, cldr_version
from loclab.data.cldr import locale_terms
from loclab.data.scripts import script_counts


def test_pairs_cover_every_category_and_locale() -> None:
    pairs = cldr_pairs(("de", "ja"))
    assert list(pairs.columns) == ["category", "key", "source", "locale", "target"]
    assert set(pairs["category"]) == set(CATEGORIES)
    assert set(pairs["locale"]) == {"de", "ja"}
    row = pairs[(pairs["category"] == "territory") & (pairs["key"] == "DE")]
    assert dict(zip(row["locale"], row["target"], strict=True)) == {
        "de": "Deutschland",
        "ja": "ドイツ",
    }


def test_default_locales_are_twenty_and_diverse() -> None:
    assert len(DEFAULT_LOCALES) == 20
    scripts = set()
    for locale in DEFAULT_LOCALES:
        scripts |= set(script_counts("".join(locale_terms(locale, "territory").values())))
    assert {"LATIN", "CYRILLIC", "ARABIC", "HEBREW", "HAN", "HANGUL", "THAI"} <= scripts


def test_copies_of_english_kept_only_in_latin_script_locales() -> None:
    pairs = cldr_pairs(("de", "ru", "ja"))
    same = pairs[pairs["source"] == pairs["target"]]
    assert len(same) > 0
    assert set(same["locale"]) == {"de"}


def test_no_duplicate_triples() -> None:
    pairs = cldr_pairs(("fr",))
    triples = pairs["source"].str.casefold() + "|" + pairs["locale"] + "|" + pairs["target"]
    assert not triples.duplicated().any()


def test_unknown_category_is_named() -> None:
    with pytest.raises(ValueError, match="unknown category 'planets'"):
        locale_terms("de", "planets")


def test_version_names_cldr_and_babel() -> None:
    assert re.fullmatch(r"cldr-[\d.]+/babel-[\w.]+", cldr_version())
