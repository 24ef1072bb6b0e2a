"""The CLDR quality-estimation set, users' QE files, and the graded noise behind them."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
from sacrebleu.metrics import CHRF

from loclab.data import (
    QE_COLUMNS,
    QE_KINDS,
    SPLITS,
    MissingColumnError,
    QEBuildParams,
    TermQADataset,
    build_qe,
    build_term_qa,
    load_qe,
    qe_dataset_from_frame,
    read_pairs,
    read_wmt_qe,
    score_distribution,
)
from loclab.data.features import edit_similarity
from loclab.data.noise import near_miss, partial
from loclab.data.qe import GOOD_SCORE, score_against


def test_columns_scores_and_kinds(qe_tiny: TermQADataset) -> None:
    frame = qe_tiny.frame
    assert list(frame.columns) == list(QE_COLUMNS)
    assert frame["example_id"].is_unique and frame["example_id"].is_monotonic_increasing
    assert set(frame["error_type"]) == set(QE_KINDS)
    assert frame["score"].between(0, 1).all()
    exact = frame["error_type"] == "none"
    assert (frame.loc[exact, "score"] == 1.0).all()
    assert (frame.loc[~exact, "target"] != frame.loc[~exact, "reference"]).all()
    assert ((frame["score"] >= GOOD_SCORE) == (frame["label"] == 1)).all()
    # Continuous labels: many distinct values, spread over the whole range.
    assert frame["score"].nunique() > 1000
    assert 0.3 < frame["score"].std() < 0.4
    assert (frame.groupby("example_id").size() == 1).all()


def test_kinds_are_graded(qe_tiny: TermQADataset) -> None:
    means = score_distribution(qe_tiny)["mean"]
    assert means["none"] == 1.0
    assert means["near_miss"] > means["corrupted"] > means["wrong_language"]
    assert means["truncated"] > means["misaligned"]
    assert means["All"] == pytest.approx(qe_tiny.frame["score"].mean(), abs=1e-3)


def test_scores_are_sacrebleu_chrf_against_the_reference(qe_tiny: TermQADataset) -> None:
    chrf = CHRF(whitespace=True)
    rows = qe_tiny.frame.sample(40, random_state=0)
    # Terms with a single correct translation: the score is chrF against it.
    for row in rows.itertuples():
        expected = chrf.sentence_score(row.target, [row.reference]).score / 100
        assert row.score >= expected - 1e-12  # another correct form can only score higher
    single = rows.iloc[:5]
    scores = score_against(single["target"], [[r] for r in single["reference"]], "edit")
    assert scores == pytest.approx(
        [edit_similarity(t, r) for t, r in zip(single["target"], single["reference"], strict=True)]
    )


def test_same_terms_and_splits_as_term_qa(qe_tiny: TermQADataset) -> None:
    term_qa = build_term_qa(size="tiny", seed=13).frame
    pair = lambda f: set(f["category"] + "/" + f["key"] + "/" + f["locale"] + "/" + f["split"])  # noqa: E731
    assert pair(qe_tiny.frame) <= pair(term_qa)
    terms = {s: set(qe_tiny.split(s)["source"].str.casefold()) for s in SPLITS}
    assert not terms["train"] & terms["test"] and not terms["val"] & terms["test"]


def test_deterministic_and_nested_sizes(qe_tiny: TermQADataset) -> None:
    again = build_qe(size="tiny", seed=13)
    pd.testing.assert_frame_equal(again.frame, qe_tiny.frame)
    assert again.fingerprint == qe_tiny.fingerprint
    other = build_qe(size="tiny", seed=14)
    assert other.fingerprint != qe_tiny.fingerprint


@pytest.mark.slow
def test_tiny_is_a_subset_of_small(qe_tiny: TermQADataset) -> None:
    small = build_qe(size="small", seed=13).frame.set_index("example_id")
    tiny = qe_tiny.frame.set_index("example_id")
    assert set(tiny.index) <= set(small.index)
    pd.testing.assert_frame_equal(small.loc[tiny.index], tiny, check_like=True)


def test_edit_metric_and_more_candidates() -> None:
    data = build_qe(size="tiny", seed=13, label_metric="edit", candidates=3)
    counts = data.frame.groupby(data.frame["example_id"].str.rsplit("/", n=1).str[0]).size()
    assert counts.max() == 3 and counts.mean() > 2.5
    assert data.params.label_metric == "edit"


def test_build_params_are_checked() -> None:
    with pytest.raises(ValueError, match="label_metric"):
        QEBuildParams(label_metric="bleu")
    with pytest.raises(ValueError, match="size"):
        QEBuildParams(size="huge")
    with pytest.raises(ValueError, match="candidates"):
        QEBuildParams(candidates=0)
    assert QEBuildParams().key() != QEBuildParams(label_metric="edit").key()


def test_cache_round_trip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    built = load_qe("tiny", seed=13, cache_dir=tmp_path)
    files = list(tmp_path.glob("qe-tiny-*.parquet"))
    assert len(files) == 1
    read = load_qe("tiny", seed=13, cache_dir=tmp_path)
    assert read.fingerprint == built.fingerprint
    pd.testing.assert_frame_equal(read.frame, built.frame)


def test_near_miss_is_one_small_change() -> None:
    rng = random.Random(0)
    for text in ("Côte d’Ivoire", "Guinea-Bissau", "Deutschland", "日本"):
        damaged = near_miss(text, rng, list("abcdef"))
        if text == "日本":
            assert damaged == text  # nothing small to change in two Han characters
            continue
        assert damaged != text
        assert edit_similarity(damaged.casefold(), text.casefold()) >= 0.8


def test_partial_leaves_a_word_out_or_untranslated() -> None:
    rng = random.Random(1)
    seen = set()
    for _ in range(30):
        damaged = partial("Vereinigte Staaten", "United States", rng)
        assert damaged != "Vereinigte Staaten"
        seen.add(damaged)
    assert {"Vereinigte", "Staaten", "United Staaten", "Vereinigte States"} >= seen
    assert len(seen) >= 3
    assert partial("Deutschland", "Germany", rng) == "Deutschland"


def test_mlqe_pe_tsv(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # MLQE-PE's DA layout: index, original, translation, scores, mean, z_scores, z_mean,
    # model_scores, one folder per language pair; segments hold unbalanced quotes.
    folder = tmp_path / "en-de"
    folder.mkdir()
    rng = np.random.default_rng(0)
    rows = ["index\toriginal\ttranslation\tscores\tmean\tz_scores\tz_mean\tmodel_scores"]
    for i in range(40):
        z = rng.normal()
        rows.append(
            f'{i}\tThe "quoted sentence {i}.\tDer "zitierte Satz {i}.\t[70, 80]\t75.0\t'
            f"[{z}, {z}]\t{z:.4f}\t-0.5"
        )
    path = folder / "train.ende.df.short.tsv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    pairs = read_pairs(path, require_label=False)
    assert set(pairs["locale"]) == {"de"}
    assert pairs["source"][0] == 'The "quoted sentence 0.'
    data = qe_dataset_from_frame(pairs, seed=1)
    frame = data.frame
    assert list(frame.columns) == list(QE_COLUMNS)
    assert frame["score"].tolist() == pytest.approx(pairs["score"].tolist())  # z_mean, not mean
    assert frame["label"].sum() == 10  # the best quarter
    assert set(frame["split"]) <= set(SPLITS) and data.params is None


def test_wmt_hter_files_lower_is_better(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "dev.src").write_text("\n".join(f"source {i}" for i in range(20)) + "\n")
    (tmp_path / "dev.mt").write_text("\n".join(f"Quelle {i}" for i in range(20)) + "\n")
    (tmp_path / "dev.hter").write_text("\n".join(str(i / 20) for i in range(20)) + "\n")
    pairs = read_wmt_qe(
        tmp_path / "dev.src",
        tmp_path / "dev.mt",
        tmp_path / "dev.hter",
        locale="de",
        require_label=False,
    )
    data = qe_dataset_from_frame(pairs)
    good = data.frame.loc[data.frame["label"] == 1, "score"]
    assert good.max() <= 0.25  # the lowest edit rates are the good translations
    assert data.frame.attrs["loclab.score_higher_is_better"] is False


def test_user_data_without_score_is_one_clear_error() -> None:
    frame = pd.DataFrame({"source": ["a"], "target": ["b"], "locale": ["de"], "label": [1]})
    with pytest.raises(MissingColumnError, match="score") as info:
        qe_dataset_from_frame(frame)
    assert "\n" not in str(info.value)
