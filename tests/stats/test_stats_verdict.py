"""Verdicts, families, rankings and the public API surface."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import loclab.stats as ls

BASELINE = "LIUM-NMT"


def test_import_is_light() -> None:
    code = (
        "import sys, loclab.stats; "
        "print([m for m in ('torch', 'lightning', 'mlflow', 'sagemaker', 'sacrebleu') "
        "if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_public_api_is_curated() -> None:
    for name in ls.__all__:
        obj = getattr(ls, name)
        assert obj.__doc__, name
    assert len(set(ls.__all__)) == len(ls.__all__)


@pytest.mark.parametrize("kind", ["continuous", "binary", "corpus", "seeds", "seed_level"])
def test_default_test(kind: str) -> None:
    choice = ls.default_test(kind)
    assert hasattr(ls, choice.test) and choice.reason
    json.dumps(choice.to_dict())
    with pytest.raises(ValueError, match="kind"):
        ls.default_test("images")


def test_clear_better_and_worse() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(0.5, 0.1, 500)
    b = a + 0.016 + rng.normal(0, 0.05, 500)
    v = ls.verdict(b, a, name_a="B", name_b="A", unit="test sentences")
    assert v.label == "better" and v.kind == "continuous"
    assert v.sentence.startswith("On 500 test sentences B scored 0.0")
    assert "plausible true difference is" in v.sentence
    assert "unlikely to be chance, not necessarily large" in v.sentence
    assert ls.verdict(a, b).label == "worse"
    assert ls.verdict(a, b, higher_is_better=False).label == "better"
    json.loads(json.dumps(v.to_dict()))


def test_no_detectable_difference_vs_needs_more_data() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(0, 1, 5000)
    b = a + rng.normal(0, 0.2, 5000)
    # Plenty of data: a difference of 0.05 would have been seen, none was.
    v = ls.verdict(a, b, threshold=0.05)
    assert v.label == "no detectable difference" and v.power > 0.8
    small = ls.verdict(a[:30], b[:30], threshold=0.05)
    assert small.label == "needs more data" and small.power < 0.8
    assert "would be needed" in small.sentence
    # No threshold: non-significant is 'no detectable difference', with the MDE stated.
    plain = ls.verdict(a[:30], b[:30])
    assert plain.label == "no detectable difference" and "could go unnoticed" in plain.sentence


def test_binary_and_seed_level_kinds() -> None:
    rng = np.random.default_rng(2)
    ca = (rng.random(2000) < 0.75).astype(int)
    cb = (rng.random(2000) < 0.70).astype(int)
    v = ls.verdict(ca, cb)
    assert v.kind == "binary" and "McNemar" in v.method and v.label == "better"
    runs = ls.verdict([0.51, 0.52, 0.53], [0.41, 0.42, 0.43], kind="seed_level")
    # 3 vs 3 runs can never give p < 0.05 however large the gap.
    assert runs.label == "needs more data" and runs.unit == "training runs"


def test_seeds_kind_and_single_run_warning() -> None:
    rng = np.random.default_rng(3)
    e = rng.normal(size=300)
    a = e + rng.normal(0, 0.3, (5, 1)) + rng.normal(0, 0.5, (5, 300))
    b = e + rng.normal(0, 0.3, (3, 1)) + rng.normal(0, 0.5, (3, 300))
    v = ls.verdict(a, b)
    assert v.kind == "seeds" and any("below 5 seeds" in w for w in v.warnings)
    single = ls.verdict(a[:1], b[:1])
    assert single.kind == "continuous"
    assert any("Only one training run" in w for w in single.warnings)


def test_family_adjustment_and_family_size() -> None:
    rng = np.random.default_rng(4)
    base = rng.normal(0, 1, 400)
    systems = {"base": base}
    for i, shift in enumerate([0.0, 0.0, 0.0, 0.2, -0.2]):
        systems[f"s{i}"] = base + shift + rng.normal(0, 0.5, 400)
    fam = ls.compare_systems(systems, baseline="base", n_resamples=2000)
    assert fam.family_size == 5 and all(v.family_size == 5 for v in fam.verdicts)
    assert fam["s3"].label == "better" and fam["s4"].label == "worse"
    raw = [v.p_value for v in fam.verdicts]
    assert [v.p_adjusted for v in fam.verdicts] == pytest.approx(
        list(ls.adjust(raw, "holm").adjusted)
    )
    assert "5 comparisons made, Holm" in fam["s3"].sentence
    bh = ls.compare_systems(systems, baseline="base", correction="bh", n_resamples=2000)
    assert bh.correction == "bh"
    json.dumps(fam.to_dict())
    with pytest.warns(UserWarning, match="using 600 resamples"):
        pairs = ls.compare_systems(systems, n_resamples=500)
    assert pairs.family_size == 15
    with pytest.raises(ValueError, match="baseline"):
        ls.compare_systems(systems, baseline="nope")


def test_decide_on_precomputed_results() -> None:
    rng = np.random.default_rng(5)
    a, b, c = rng.normal(0, 1, (3, 300))
    results = {("a", "c"): ls.paired_t_test(a + 0.3, c), ("b", "c"): ls.paired_t_test(b, c)}
    fam = ls.decide(results, correction="holm")
    assert fam.family_size == 2 and fam["a"].label == "better"


def test_rank_systems_clusters() -> None:
    rng = np.random.default_rng(6)
    base = rng.normal(0, 1, 1000)
    # Gaps of 0.3 between tiers are about 7 standard errors; within a tier there is no gap.
    shifts = {"top1": 0.5, "top2": 0.5, "mid1": 0.2, "mid2": 0.2, "low": 0.0}
    systems = {k: base + s + rng.normal(0, 1.0, 1000) for k, s in shifts.items()}
    rank = ls.rank_systems(systems, n_resamples=2000)
    assert [set(c) for c in rank.clusters] == [{"top1", "top2"}, {"mid1", "mid2"}, {"low"}]
    assert rank.cluster_of == (1, 1, 2, 2, 3)
    assert rank.family_size == 10
    json.dumps(rank.to_dict())


@pytest.mark.slow
def test_wmt17_engine_comparison(wmt17_bleu_stats) -> None:
    """15 systems against the LIUM-NMT baseline with corpus BLEU, Holm over 15."""
    metric = ls.BleuMetric(tokenize="none")
    fam = ls.compare_systems(
        wmt17_bleu_stats, baseline=BASELINE, metric=metric, unit="segments",
        metric_name="BLEU", digits=2, threshold=0.5,
    )  # fmt: skip
    assert fam.family_size == 15
    labels = {v.system: v.label for v in fam.verdicts}
    assert labels["uedin-nmt"] == "better" and labels["PROMT-Rule-based"] == "worse"
    # online-B is 0.1 BLEU from the baseline (sacrebleu/MultEval: p = 0.94).
    assert labels["online-B"] in ("no detectable difference", "needs more data")
    json.dumps(fam.to_dict())
    with pytest.warns(UserWarning, match="using 4,800 resamples"):
        rank = ls.rank_systems(wmt17_bleu_stats, metric=metric, n_resamples=2000)
    assert rank.systems[0] == "uedin-nmt" and rank.family_size == 120
    assert rank.cluster_of[0] == 1 and rank.cluster_of[-1] > 2
    assert rank.systems[-1] == "online-F"
    json.dumps(rank.to_dict())
