"""Corpus statistics written by a job, read back by the analysis; scores agree with sacrebleu."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import sacrebleu

from loclab.compare import (
    ComparisonError,
    RunOutput,
    analyse,
    collect,
    corpus_metric,
    read_corpus_statistics,
    read_translations,
    resolve_input,
    score_systems,
)
from loclab.spec import CompareSpec

WORDS = [
    "der",
    "die",
    "das",
    "ein",
    "eine",
    "haus",
    "katze",
    "hund",
    "sieht",
    "läuft",
    "schnell",
    "heute",
    "morgen",
    "sehr",
    "gut",
]


@pytest.fixture(scope="module")
def translations(tmp_path_factory) -> pd.DataFrame:
    """Reference and three systems: close to the reference, noisier, and very noisy."""
    rng = np.random.default_rng(0)
    refs = [" ".join(rng.choice(WORDS, size=rng.integers(5, 12))) for _ in range(120)]
    rows = [("reference", i, r) for i, r in enumerate(refs)]
    for name, noise in (("good", 0.05), ("okay", 0.25), ("poor", 0.6)):
        for i, ref in enumerate(refs):
            words = [w if rng.random() > noise else str(rng.choice(WORDS)) for w in ref.split()]
            rows.append((name, i, " ".join(words)))
    frame = pd.DataFrame(rows, columns=["system", "segment", "text"])
    path = tmp_path_factory.mktemp("mt") / "systems.tsv.gz"
    frame.to_csv(path, sep="\t", index=False)
    return read_translations(path)


def test_statistics_round_trip_and_match_sacrebleu(translations, tmp_path):
    found = score_systems(
        translations, tmp_path, metrics=["bleu", "chrf"], options={"bleu": {"tokenize": "13a"}}
    )
    assert set(found) == {"bleu", "chrf"}
    again = read_corpus_statistics(tmp_path)
    refs = translations[translations.system == "reference"].sort_values("segment").text.tolist()
    for name in ("good", "okay", "poor"):
        hyps = translations[translations.system == name].sort_values("segment").text.tolist()
        bleu = again["bleu"].metric.corpus_score(again["bleu"].stats[name])
        chrf = again["chrf"].metric.corpus_score(again["chrf"].stats[name])
        assert bleu == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs]).score, abs=1e-9)
        assert chrf == pytest.approx(sacrebleu.corpus_chrf(hyps, [refs]).score, abs=1e-9)
    info = json.loads((tmp_path / "corpus_stats" / "bleu.json").read_text())
    assert info["systems"] == ["good", "okay", "poor"] and info["n_examples"] == 120
    assert info["options"] == {"tokenize": "13a"}
    assert again["bleu"].example_ids.tolist() == list(range(120))


def test_discovered_systems_are_tested_ranked_and_grouped(translations, tmp_path):
    score_systems(translations, tmp_path, metrics=["bleu", "chrf"])
    run = RunOutput("run", None, "mt-run", corpus=read_corpus_statistics(tmp_path))
    compare = CompareSpec.model_validate(
        {"baseline": "okay", "metrics": ["bleu", "chrf"], "test": "ar", "unit": "test sentences"}
    )
    doc = analyse(collect(compare, [run]), compare)
    confirmatory = [c for c in doc["comparisons"] if c["family"] == "confirmatory"]
    assert [c["system"] for c in confirmatory] == ["good", "poor"]
    assert {c["label"] for c in confirmatory} == {"better", "worse"}
    assert all(c["kind"] == "corpus" and c["family_size"] == 2 for c in confirmatory)
    assert all(c["method"].startswith("paired approximate randomization") for c in confirmatory)
    # Candidate minus baseline, the metric named once, BLEU differences in points.
    assert confirmatory[0]["sentence"].startswith("good minus okay on BLEU: +")
    assert " points on 120 test sentences" in confirmatory[0]["sentence"]
    assert [f["role"] for f in doc["families"]] == ["confirmatory", "secondary"]
    assert doc["ranking"]["systems"] == ["good", "okay", "poor"]
    assert [g["systems"] for g in doc["ranking"]["groups"]] == [["good"], ["okay"], ["poor"]]
    # Answer first: what to do, then how the other systems fared.
    assert doc["headline"].startswith("Switch to good: it scored ")
    assert doc["headline"].endswith("Of 2 systems compared with okay on BLEU: 1 better, 1 worse.")
    json.dumps(doc, allow_nan=False)


def test_discovered_baseline_must_be_in_the_output(translations, tmp_path):
    score_systems(translations, tmp_path, metrics=["bleu"])
    run = RunOutput("run", None, "mt-run", corpus=read_corpus_statistics(tmp_path))
    compare = CompareSpec.model_validate({"baseline": "okey", "metrics": ["bleu", "chrf"]})
    with pytest.raises(ComparisonError) as err:
        collect(compare, [run])
    assert str(err.value) == (
        "job mt-run wrote no statistics for 'chrf' (found: bleu); the notebook writes one file "
        "per metric under output/data/corpus_stats/"
    )
    compare = CompareSpec.model_validate({"baseline": "okey", "metrics": ["bleu"]})
    with pytest.raises(ComparisonError) as err:
        collect(compare, [run])
    assert str(err.value) == (
        "baseline 'okey' is not among the systems in mt-run's output (good, okay, poor); "
        "did you mean 'okay'?"
    )


def test_unknown_metric_and_missing_input_are_clear(tmp_path):
    with pytest.raises(ValueError, match="unknown corpus metric 'meteor'; valid: bleu, chrf, "):
        corpus_metric("meteor")
    with pytest.raises(FileNotFoundError, match=r"input file 'nope\.tsv' not found"):
        resolve_input("nope.tsv", tmp_path)
    (tmp_path / "only.tsv").write_text("x")
    assert resolve_input("renamed.tsv", tmp_path) == tmp_path / "only.tsv"


def test_template_notebook_writes_statistics_on_tiny_input(translations, tmp_path):
    """The MT template executed by papermill (no job variables: scratch folder, path input)."""
    from pathlib import Path

    import papermill

    data = tmp_path / "tiny.tsv"
    translations.to_csv(data, sep="\t", index=False)
    template = Path(__file__).resolve().parents[2] / "notebooks/templates/mt_engines.ipynb"
    out = tmp_path / "executed.ipynb"
    papermill.execute_notebook(
        str(template), str(out), parameters={"data_file": str(data), "metrics": "bleu"},
        kernel_name="python3", progress_bar=False, cwd=str(tmp_path),
    )  # fmt: skip
    text = out.read_text()
    scratch = text.split("writing to scratch folder ")[1].split("\\n")[0].strip()
    try:
        found = read_corpus_statistics(Path(scratch) / "output" / "data")
        assert list(found) == ["bleu"] and found["bleu"].systems == ("good", "okay", "poor")
        assert "BLEU.good=" in text
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
