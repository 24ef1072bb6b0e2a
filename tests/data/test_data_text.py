"""Scripts, synthetic damage and string features."""

from __future__ import annotations

import random

import pandas as pd
import pytest

from loclab.data.features import (
    PAIR_FEATURES,
    edit_distance,
    edit_similarity,
    ngram_overlap,
    pair_features,
)
from loclab.data.noise import corrupt, truncate
from loclab.data.scripts import char_script, dominant_scripts, script_fraction


def _levenshtein(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def test_edit_distance_matches_the_textbook_table() -> None:
    rng = random.Random(0)
    for _ in range(2000):
        a = "".join(rng.choice("abcé語") for _ in range(rng.randrange(0, 12)))
        b = "".join(rng.choice("abcé語") for _ in range(rng.randrange(0, 12)))
        assert edit_distance(a, b) == _levenshtein(a, b), (a, b)
    assert edit_distance("a" * 100, "b" * 100) == 100  # longer than one machine word
    assert edit_similarity("", "") == 1.0 and edit_similarity("ab", "ab") == 1.0
    assert ngram_overlap("kenya", "kenia") == pytest.approx(2 / 6)


@pytest.mark.parametrize(
    ("char", "script"),
    [("a", "LATIN"), ("é", "LATIN"), ("Ж", "CYRILLIC"), ("語", "HAN"), ("ー", "KATAKANA"),
     ("ก", "THAI"), ("ि", "DEVANAGARI"), ("1", None), (" ", None), ("ʻ", None)],
)  # fmt: skip
def test_char_script(char: str, script: str | None) -> None:
    assert char_script(char) == script


def test_scripts_of_texts() -> None:
    assert dominant_scripts(["ドイツ", "日本"]) == {"KATAKANA", "HAN"}
    assert script_fraction("Kenya Кения", {"CYRILLIC"}) == 0.5
    assert script_fraction("1990", {"HAN"}) == 1.0


@pytest.mark.parametrize("text", ["Deutschland", "ドイツ連邦共和国", "Вереинигтес Кёнигрейх"])
def test_corruption_is_small_reproducible_and_in_script(text: str) -> None:
    alphabet = sorted({c for c in text if char_script(c)})
    outputs = {corrupt(text, random.Random(seed), alphabet) for seed in range(30)}
    assert text not in outputs and len(outputs) > 5
    assert corrupt(text, random.Random(1), alphabet) == corrupt(text, random.Random(1), alphabet)
    for damaged in outputs:
        if damaged != text.encode("utf-8").decode("latin-1"):
            assert edit_distance(text, damaged) <= 4


def test_truncation_is_a_proper_prefix() -> None:
    for seed in range(30):
        for text in ("Vereinigte Staaten", "クウェート・ディナール", "हिन्दी"):
            cut = truncate(text, random.Random(seed))
            assert cut and text.startswith(cut) and len(cut) < len(text)
            assert cut == cut.rstrip()
    assert truncate("x", random.Random(0)) == "x"


def test_pair_features() -> None:
    frame = pd.DataFrame(
        {
            "source": ["Germany", "Germany", "Afghan Afghani (1927–2002)"],
            "target": ["Germany", "ドイツ", "アフガニ ("],
            "locale": ["ja", "ja", "ja"],
        }
    )
    feats = pd.DataFrame(pair_features(frame, {"ja": {"HAN", "KATAKANA"}}), columns=PAIR_FEATURES)
    assert feats["copy"].tolist() == [1, 0, 0]
    assert feats["script_match"].tolist() == [0, 1, 1]
    assert feats["digits_match"].tolist() == [1, 1, 0]
    assert feats["brackets_balanced"].tolist() == [1, 1, 0]
    assert feats.loc[1, "log_length_ratio"] < 0
