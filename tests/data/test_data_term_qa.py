from __future__ import annotations

import pandas as pd
import pytest

from loclab.data import (
    COLUMNS,
    ERROR_TYPES,
    SPLITS,
    BuildParams,
    TermQADataset,
    build_term_qa,
    data_fingerprint,
)
from loclab.data.cldr import locale_terms
from loclab.data.features import edit_distance
from loclab.data.term_qa import ErrorInjector


def test_columns_labels_and_ids(tiny: TermQADataset) -> None:
    frame = tiny.frame
    assert list(frame.columns) == list(COLUMNS)
    assert set(frame["label"]) == {0, 1}
    assert ((frame["error_type"] == "none") == (frame["label"] == 1)).all()
    assert frame["example_id"].is_unique
    assert frame["example_id"].is_monotonic_increasing
    assert set(frame["split"]) == set(SPLITS)
    assert not (frame["target"].str.strip() == "").any()


def test_tiny_size_and_balance(tiny: TermQADataset) -> None:
    assert 1500 < len(tiny.frame) < 3000
    assert 0.45 < tiny.frame["label"].mean() < 0.55
    assert tiny.frame["locale"].nunique() == 20


def test_every_error_type_in_every_split(tiny: TermQADataset) -> None:
    table = tiny.summary()
    for error_type in ERROR_TYPES:
        assert (table.loc[error_type, list(SPLITS)] > 0).all(), error_type
    assert table.loc["All", "All"] == len(tiny.frame)


def test_deterministic_for_a_seed(tiny: TermQADataset) -> None:
    again = build_term_qa(size="tiny", seed=13)
    pd.testing.assert_frame_equal(again.frame, tiny.frame)
    assert again.fingerprint == tiny.fingerprint


def test_other_seed_other_data(tiny: TermQADataset) -> None:
    other = build_term_qa(size="tiny", seed=14)
    assert other.fingerprint != tiny.fingerprint
    assert set(other.frame["example_id"]) != set(tiny.frame["example_id"])


def test_splits_are_disjoint_by_source_term(tiny: TermQADataset) -> None:
    terms = {s: set(tiny.split(s)["source"].str.casefold()) for s in SPLITS}
    assert not terms["train"] & terms["val"]
    assert not terms["train"] & terms["test"]
    assert not terms["val"] & terms["test"]
    share = tiny.frame.groupby("split")["source"].nunique() / tiny.frame["source"].nunique()
    assert 0.05 < share["test"] < 0.2 and 0.05 < share["val"] < 0.2


def test_tiny_is_a_subset_of_small(tiny: TermQADataset) -> None:
    small = build_term_qa(size="small", seed=13)
    assert 10_000 <= len(small.frame) <= 15_000
    merged = tiny.frame.merge(small.frame, on="example_id", suffixes=("", "_small"))
    assert len(merged) == len(tiny.frame)
    assert (merged["target"] == merged["target_small"]).all()
    assert (merged["split"] == merged["split_small"]).all()


def _correct(row: pd.Series) -> str:
    return locale_terms(row["locale"], row["category"])[row["key"]]


def test_untranslated_is_the_source(tiny: TermQADataset) -> None:
    rows = tiny.frame[tiny.frame["error_type"] == "untranslated"]
    assert (rows["target"] == rows["source"]).all()
    assert all(_correct(r).casefold() != r["source"].casefold() for _, r in rows.iterrows())


def test_wrong_language_is_the_term_in_another_locale(tiny: TermQADataset) -> None:
    rows = tiny.frame[tiny.frame["error_type"] == "wrong_language"]
    locales = sorted(set(tiny.frame["locale"]))
    for _, row in rows.iterrows():
        others = {
            locale_terms(loc, row["category"]).get(row["key"])
            for loc in locales
            if loc != row["locale"]
        }
        assert row["target"] in others
        assert row["target"] != _correct(row)


def test_misaligned_is_another_terms_translation_from_the_same_split(
    tiny: TermQADataset, cldr: pd.DataFrame
) -> None:
    split_of = dict(zip(cldr["source"].str.casefold(), cldr["split"], strict=False))
    english = {c: locale_terms("en", c) for c in set(tiny.frame["category"])}
    rows = tiny.frame[tiny.frame["error_type"] == "misaligned"]
    for _, row in rows.iterrows():
        table = locale_terms(row["locale"], row["category"])
        keys = [k for k, v in table.items() if v == row["target"]]
        assert keys and row["key"] not in keys
        partners = {
            english[row["category"]][k].casefold() for k in keys if k in english[row["category"]]
        }
        assert any(split_of.get(p) == row["split"] for p in partners)


def test_corrupted_is_a_small_edit(tiny: TermQADataset) -> None:
    rows = tiny.frame[tiny.frame["error_type"] == "corrupted"]
    for _, row in rows.iterrows():
        correct = _correct(row)
        assert row["target"] != correct
        mojibake = correct.encode("utf-8").decode("latin-1") == row["target"]
        assert mojibake or edit_distance(correct, row["target"]) <= 4


def test_truncated_is_a_proper_prefix(tiny: TermQADataset) -> None:
    rows = tiny.frame[tiny.frame["error_type"] == "truncated"]
    for _, row in rows.iterrows():
        correct = _correct(row)
        assert correct.startswith(row["target"]) and len(row["target"]) < len(correct)


def test_no_negative_is_a_correct_translation(tiny: TermQADataset, cldr: pd.DataFrame) -> None:
    positives = cldr
    correct = set(zip(positives["source"], positives["locale"], positives["target"], strict=True))
    negatives = tiny.frame[tiny.frame["label"] == 0]
    triples = set(zip(negatives["source"], negatives["locale"], negatives["target"], strict=True))
    assert not triples & correct


def test_fingerprint_ignores_order_but_not_content(tiny: TermQADataset) -> None:
    frame = tiny.frame
    versions = {"cldr": "x", "builder": "1"}
    base = data_fingerprint(frame, versions)
    shuffled = frame.sample(frac=1.0, random_state=0)[list(reversed(frame.columns))]
    assert data_fingerprint(shuffled, versions) == base
    changed = frame.copy()
    changed.loc[0, "target"] = changed.loc[0, "target"] + "x"
    assert data_fingerprint(changed, versions) != base
    assert data_fingerprint(frame, {"cldr": "y", "builder": "1"}) != base
    relabelled = frame.copy()
    relabelled.loc[0, "label"] = 1 - relabelled.loc[0, "label"]
    assert data_fingerprint(relabelled, versions) != base


def test_fingerprint_is_an_attribute_not_a_column(tiny: TermQADataset) -> None:
    assert len(tiny.fingerprint) == 64
    assert tiny.frame.attrs["loclab.data_fingerprint"] == tiny.fingerprint
    assert "fingerprint" not in tiny.frame.columns


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"size": "huge"}, "unknown size"),
        ({"categories": ("planets",)}, "unknown categories"),
        ({"locales": ("de",)}, "at least two locales"),
        ({"val_fraction": 0.6, "test_fraction": 0.5}, "between 0 and 1"),
    ],
)
def test_bad_parameters_are_refused(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BuildParams(**overrides)  # type: ignore[arg-type]


def test_params_key_depends_on_every_field() -> None:
    keys = {
        BuildParams().key(),
        BuildParams(seed=1).key(),
        BuildParams(size="small").key(),
        BuildParams(locales=("de", "fr")).key(),
    }
    assert len(keys) == 4
    assert BuildParams(locales=["de", "fr"]).key() == BuildParams(locales=("de", "fr")).key()


def test_injector_works_on_user_pairs_and_rounds_differ() -> None:
    pairs = pd.DataFrame(
        {
            "source": ["Germany", "Germany", "France", "France", "Spain", "Spain"],
            "target": ["Deutschland", "Allemagne", "Frankreich", "France", "Spanien", "Espagne"],
            "locale": ["de", "fr", "de", "fr", "de", "fr"],
        }
    )
    injector = ErrorInjector(pairs, seed=0)
    first = injector.negatives(pairs, round=0)
    assert len(first) == len(pairs)
    assert set(first["label"]) == {0}
    rounds = [injector.negatives(pairs, round=r)["target"].tolist() for r in range(1, 4)]
    assert any(r != first["target"].tolist() for r in rounds)
    assert injector.negatives(pairs, round=2)["target"].tolist() == rounds[1]
    assert first["example_id"].str.startswith("term/germany/").any()
