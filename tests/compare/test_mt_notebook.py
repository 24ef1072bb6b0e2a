"""The MT template on a plain-text folder and a WMT tarball; TER's direction in the record."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import sacrebleu
from sacrebleu.metrics import CHRF

from loclab.compare import RunOutput, analyse, collect, read_corpus_statistics
from loclab.data.mt import MTOutputs, metric_signature, score_outputs
from loclab.spec import CompareSpec
from loclab.testing.mt import read_wmt17_tsv, write_text_folder, write_wmt_tarball

REPO = Path(__file__).resolve().parents[2]
WMT17 = REPO.parent / "shared" / "data" / "wmt17_en_de_systems.tsv.gz"
SYSTEMS = ("LIUM-NMT", "uedin-nmt", "PROMT-Rule-based")

pytestmark = pytest.mark.skipif(not WMT17.exists(), reason=f"{WMT17} is not on this machine")


@pytest.fixture(scope="module")
def texts() -> dict[str, list[str]]:
    """The first 40 segments of three WMT17 systems and the reference (kept tiny: TER)."""
    every = read_wmt17_tsv(WMT17, segments=40)
    return {name: every[name] for name in (*SYSTEMS, "reference")}


def _layout(kind: str, texts: dict[str, list[str]], tmp_path: Path) -> tuple[Path, dict[str, str]]:
    systems = {name: texts[name] for name in SYSTEMS}
    if kind == "text":
        folder = write_text_folder(tmp_path / "outputs", systems, {"ref.de": texts["reference"]})
        return folder, {}
    ids = {f"{name}.{4800 + i}": lines for i, (name, lines) in enumerate(systems.items())}
    tgz = write_wmt_tarball(
        tmp_path / "wmt17-submitted-data-v1.0.tgz",
        {"en-de": (ids, texts["reference"]), "de-en": (ids, texts["reference"])},
    )
    return tgz, {"testset": "newstest2017", "pair": "en-de"}


@pytest.mark.parametrize("kind", ["text", "wmt"])
def test_template_scores_a_folder_and_a_tarball(kind, texts, tmp_path):
    import papermill

    data, extra = _layout(kind, texts, tmp_path)
    out = tmp_path / "executed.ipynb"
    papermill.execute_notebook(
        str(REPO / "notebooks/templates/mt_engines.ipynb"), str(out),
        parameters={"data_file": str(data), "metrics": "bleu,chrf++,ter", **extra},
        kernel_name="python3", progress_bar=False, cwd=str(tmp_path),
    )  # fmt: skip
    text = out.read_text()
    scratch = Path(text.split("writing to scratch folder ")[1].split("\\n")[0].strip())
    try:
        found = read_corpus_statistics(scratch / "output" / "data")
        info = {k: json.loads((scratch / "output/data/corpus_stats" / f"{k}.json").read_text())
                for k in found}  # fmt: skip
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    assert sorted(found) == ["bleu", "chrfpp", "ter"]
    refs = [texts["reference"]]
    for name in SYSTEMS:
        hyps = texts[name]
        assert found["bleu"].metric.corpus_score(found["bleu"].stats[name]) == (
            sacrebleu.corpus_bleu(hyps, refs).score
        )
        assert found["chrfpp"].metric.corpus_score(found["chrfpp"].stats[name]) == (
            CHRF(word_order=2).corpus_score(hyps, refs).score
        )
        assert found["ter"].metric.corpus_score(found["ter"].stats[name]) == (
            sacrebleu.corpus_ter(hyps, refs).score
        )
    assert info["ter"]["signature"] == metric_signature("ter")
    assert info["chrfpp"]["signature"].startswith("nrefs:1|case:mixed|eff:yes|nc:6|nw:2|")
    assert info["ter"]["higher_is_better"] is False and info["chrfpp"]["options"]["word_order"]
    assert "chrF2pp.LIUM-NMT=" in text and "TER.uedin-nmt=" in text


def test_ter_verdicts_and_ranking_read_its_direction(texts, tmp_path):
    outputs = MTOutputs(
        systems={name: tuple(texts[name]) for name in SYSTEMS},
        references={"reference": tuple(texts["reference"])},
        segments=tuple(range(40)),
        format="text",
        source=tmp_path,
    )
    from loclab.compare import write_corpus_statistics

    for key, found in score_outputs(outputs, ["ter", "bleu"]).items():
        write_corpus_statistics(
            tmp_path, key, found.frame, options=found.options, signature=found.signature
        )
    run = RunOutput("run", None, "mt-run", corpus=read_corpus_statistics(tmp_path))
    compare = CompareSpec.model_validate(
        {"baseline": "LIUM-NMT", "metrics": ["ter", "bleu"], "test": "ar", "n_resamples": 2000}
    )
    doc = analyse(collect(compare, [run]), compare)
    ter = next(m for m in doc["metrics"] if m["key"] == "ter")
    assert ter["higher_is_better"] is False and doc["higher_is_better"] is False
    assert ter["signature"] == metric_signature("ter")
    bleu = next(m for m in doc["metrics"] if m["key"] == "bleu")
    assert bleu["higher_is_better"] is True and bleu["signature"] == metric_signature("bleu")
    scores = {s["name"]: s["metrics"]["ter"]["mean"] for s in doc["systems"]}
    promt = next(
        c for c in doc["comparisons"] if c["metric"] == "ter" and c["system"] == "PROMT-Rule-based"
    )
    assert promt["estimate"] == pytest.approx(scores["PROMT-Rule-based"] - scores["LIUM-NMT"])
    assert promt["estimate"] > 0 and promt["label"] in ("worse", "needs more data")
    assert doc["ranking"]["systems"] == sorted(scores, key=scores.get)  # fewest edits first

    from loclab.io import jsonable
    from loclab.paths import StateDir
    from loclab.report.context import ReportContext
    from loclab.report.sections import statistical_details
    from loclab.results import ComparisonRecord, ExperimentResults

    records = ExperimentResults(StateDir.for_project(tmp_path), "mt")
    record = ComparisonRecord.model_validate(
        {**jsonable(doc), "experiment": "mt", "created": "now", "mode": "discovered"}
    )
    ctx = ReportContext("mt", records, comparison_record=record)
    html = statistical_details(ctx)
    assert f"sacrebleu signature: {metric_signature('ter')}" in html
    assert f"sacrebleu signature: {metric_signature('bleu')}" in html


def test_spec_accepts_the_mt_metrics():
    compare = CompareSpec.model_validate(
        {"baseline": "a", "metrics": ["bleu", "chrf++", "ter", "chrf"]}
    )
    assert compare.metrics == ["bleu", "chrfpp", "ter", "chrf"]
    with pytest.raises(ValueError, match="metric 'chrfpp' is listed twice"):
        CompareSpec.model_validate({"baseline": "a", "metrics": ["chrfpp", "chrf++"]})
