from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from loclab.data import MissingColumnError, dataset_from_frame, read_pairs, read_wmt_qe

WMT_QE = (
    "index\toriginal\ttranslation\tscores\tmean\tz_mean\tmodel_scores\n"
    '0\tHe said "hi\tEr sagte "hallo\t[80]\t80.0\t0.5\t-0.3\n'
    "1\tNA\tNA\t[20]\t20.0\t-1.2\t-0.5\n"
)


def test_wmt_qe_tsv_with_quotes_na_and_language_pair_folder(tmp_path: Path) -> None:
    path = tmp_path / "en-de" / "dev.tsv"
    path.parent.mkdir()
    path.write_text(WMT_QE, encoding="utf-8")
    pairs = read_pairs(path, score_threshold=0.0)
    assert pairs["source"].tolist() == ['He said "hi', "NA"]
    assert pairs["target"].tolist() == ['Er sagte "hallo', "NA"]
    assert pairs["locale"].tolist() == ["de", "de"]
    assert pairs["score"].tolist() == [0.5, -1.2]  # z_mean is preferred over the raw mean
    assert pairs["label"].tolist() == [1, 0]
    assert pairs["example_id"].tolist() == ["0", "1"]


def test_score_without_label_needs_a_threshold(tmp_path: Path) -> None:
    path = tmp_path / "train.en-ja.tsv"
    path.write_text(WMT_QE, encoding="utf-8")
    with pytest.raises(ValueError, match="score_threshold"):
        read_pairs(path)
    unlabelled = read_pairs(path, require_label=False)
    assert "label" not in unlabelled.columns and set(unlabelled["locale"]) == {"ja"}


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".parquet", ".csv.gz"])
def test_every_format_reads_the_same(tmp_path: Path, suffix: str) -> None:
    frame = pd.DataFrame(
        {
            "src": ["Germany", "Namibia"],
            "mt": ["Deutschland", "Namibia"],
            "tgt_lang": ["de", "de"],
            "label": ["OK", "BAD"],
        }
    )
    path = tmp_path / f"pairs{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".csv.gz":
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            frame.to_csv(fh, index=False)
    elif suffix == ".tsv":
        frame.to_csv(path, sep="\t", index=False)
    elif suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    else:
        frame.to_parquet(path)
    pairs = read_pairs(path)
    assert pairs["source"].tolist() == ["Germany", "Namibia"]
    assert pairs["target"].tolist() == ["Deutschland", "Namibia"]
    assert pairs["locale"].tolist() == ["de", "de"]
    assert pairs["label"].tolist() == [1, 0]
    assert pairs["example_id"].tolist() == ["pairs-0000000", "pairs-0000001"]


@pytest.mark.parametrize("missing", ["source", "target"])
def test_missing_column_is_named(tmp_path: Path, missing: str) -> None:
    columns = {"source": ["a"], "target": ["b"], "locale": ["de"], "label": [1]}
    del columns[missing]
    path = tmp_path / "pairs.csv"
    pd.DataFrame(columns).to_csv(path, index=False)
    with pytest.raises(MissingColumnError, match=f"no '{missing}' column") as info:
        read_pairs(path)
    assert info.value.column == missing
    assert "columns found" in str(info.value) and "columns={" in str(info.value)


def test_missing_locale_and_label_are_named(tmp_path: Path) -> None:
    path = tmp_path / "pairs.csv"
    pd.DataFrame({"source": ["a"], "target": ["b"], "label": [1]}).to_csv(path, index=False)
    with pytest.raises(MissingColumnError, match=r"no 'locale' column.*locale='de'"):
        read_pairs(path)
    assert read_pairs(path, locale="fr")["locale"].tolist() == ["fr"]
    pd.DataFrame({"source": ["a"], "target": ["b"], "locale": ["de"]}).to_csv(path, index=False)
    with pytest.raises(MissingColumnError, match="no 'label' column"):
        read_pairs(path)


def test_explicit_column_names(tmp_path: Path) -> None:
    path = tmp_path / "pairs.csv"
    pd.DataFrame({"en": ["a"], "xx": ["b"], "ok": [1]}).to_csv(path, index=False)
    pairs = read_pairs(path, locale="de", columns={"source": "en", "target": "xx", "label": "ok"})
    assert pairs[["source", "target", "label"]].values.tolist() == [["a", "b", 1]]
    with pytest.raises(MissingColumnError, match="accepted names: nope"):
        read_pairs(path, locale="de", columns={"source": "nope"})


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("source,target,locale,label\na,b,de,maybe\n", "labels must be"),
        ("source,target,locale,label\na,,de,1\n", r"empty target in row\(s\) \[0\]"),
        ("id,source,target,locale,label\n1,a,b,de,1\n1,c,d,de,0\n", "duplicate example ids"),
    ],
)
def test_bad_values_are_reported(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "pairs.csv"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        read_pairs(path)


def test_unknown_format(tmp_path: Path) -> None:
    path = tmp_path / "pairs.xlsx"
    path.write_text("")
    with pytest.raises(ValueError, match=r"unknown format \.xlsx"):
        read_pairs(path)


def test_wmt_qe_plain_files_with_hter(tmp_path: Path) -> None:
    (tmp_path / "dev.src").write_text("a house\nthe cat\n", encoding="utf-8")
    (tmp_path / "dev.mt").write_text("ein Haus\ndie Hund\n", encoding="utf-8")
    (tmp_path / "dev.hter").write_text("0.0\n0.5\n", encoding="utf-8")
    pairs = read_wmt_qe(
        tmp_path / "dev.src",
        tmp_path / "dev.mt",
        tmp_path / "dev.hter",
        locale="de",
        score_threshold=0.3,
    )
    assert pairs["label"].tolist() == [1, 0]  # HTER: lower is better
    (tmp_path / "dev.hter").write_text("0.0\n", encoding="utf-8")
    with pytest.raises(ValueError, match="has 1 lines"):
        read_wmt_qe(tmp_path / "dev.src", tmp_path / "dev.mt", tmp_path / "dev.hter", locale="de")


def test_user_pairs_become_a_split_dataset() -> None:
    frame = pd.DataFrame(
        {
            "example_id": [f"r{i}" for i in range(200)],
            "source": [f"term {i // 2}" for i in range(200)],
            "target": [f"Begriff {i}" for i in range(200)],
            "locale": "de",
            "label": [i % 2 for i in range(200)],
        }
    )
    dataset = dataset_from_frame(frame, seed=1)
    assert dataset.params is None and len(dataset.fingerprint) == 64
    assert set(dataset.frame["error_type"]) == {"none", "unknown"}
    groups = dataset.frame.groupby("source")["split"].nunique()
    assert (groups == 1).all()
    assert set(dataset.frame["split"]) == {"train", "val", "test"}
    with pytest.raises(ValueError, match="unknown split"):
        dataset_from_frame(frame.assign(split="dev"))
