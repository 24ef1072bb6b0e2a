"""chrF++ and TER next to BLEU and chrF: sacrebleu's corpus scores exactly, direction, tests."""

from __future__ import annotations

import numpy as np
import pytest
import sacrebleu
from sacrebleu.metrics import BLEU, CHRF, TER

import loclab.stats as ls

SYSTEMS = ("LIUM-NMT", "online-F")
N = 500
N_TER = 150  # TER is pure Python (about 5 ms a segment): a shorter slice keeps the test fast


def _corpus(key: str, hyps: list[str], refs: list[list[str]]) -> float:
    """sacrebleu's own corpus score of ``hyps`` (its public functions)."""
    if key == "bleu":
        return float(sacrebleu.corpus_bleu(hyps, refs).score)
    if key == "chrf":
        return float(sacrebleu.corpus_chrf(hyps, refs).score)
    if key == "chrfpp":
        return float(CHRF(word_order=2).corpus_score(hyps, refs).score)
    return float(sacrebleu.corpus_ter(hyps, refs).score)


METRICS = {
    "bleu": ls.BleuMetric,
    "chrf": ls.ChrfMetric,
    "chrfpp": lambda: ls.ChrfMetric(word_order=2),
    "ter": ls.TerMetric,
}


@pytest.mark.parametrize("key", list(METRICS))
@pytest.mark.parametrize("nrefs", [1, 2])
def test_summed_statistics_give_sacrebleus_corpus_score_exactly(wmt17_texts, key, nrefs):
    n = N_TER if key == "ter" else N
    refs = [wmt17_texts["reference"][:n]]
    if nrefs == 2:  # a second reference stream: another system's output serves
        refs.append(wmt17_texts["LMU-nmt-single"][:n])
    metric = METRICS[key]()
    for name in SYSTEMS:
        hyps = wmt17_texts[name][:n]
        stats = metric.segment_statistics(hyps, refs)
        assert stats.shape == (n, metric.n_stats)
        assert metric.corpus_score(stats) == _corpus(key, hyps, refs)  # bit for bit
        assert float(metric.score(stats.sum(axis=0))) == pytest.approx(
            metric.corpus_score(stats), rel=1e-13
        )
    assert metric.signature().startswith(f"nrefs:{nrefs}|")


def test_signatures_are_sacrebleus(wmt17_texts):
    hyps, refs = wmt17_texts["LIUM-NMT"][:20], [wmt17_texts["reference"][:20]]
    for ours, theirs in (
        (ls.BleuMetric(tokenize="intl"), BLEU(tokenize="intl")),
        (ls.ChrfMetric(word_order=2), CHRF(word_order=2)),
        (ls.TerMetric(case_sensitive=True), TER(case_sensitive=True)),
    ):
        theirs.corpus_score(hyps, refs)
        assert ours.signature(nrefs=1) == str(theirs.get_signature())
    assert ls.BleuMetric().signature(1) == (
        f"nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:{sacrebleu.__version__}"
    )
    assert ls.TerMetric().signature(3).startswith("nrefs:3|case:lc|tok:tercom|norm:no|")
    with pytest.raises(ValueError, match="TER: pass nrefs"):
        ls.TerMetric().signature()


def test_ter_is_lower_is_better_and_the_tests_keep_the_sign(wmt17_texts):
    metric = ls.TerMetric()
    assert metric.higher_is_better is False and ls.BleuMetric().higher_is_better is True
    refs = wmt17_texts["reference"][:200]
    good = metric.segment_statistics(wmt17_texts["uedin-nmt"][:200], refs)
    poor = metric.segment_statistics(wmt17_texts["PROMT-Rule-based"][:200], refs)
    assert metric.corpus_score(good) < metric.corpus_score(poor)
    for test in ("ar", "bootstrap"):
        result = ls.corpus_metric_test(good, poor, metric, test=test, n_resamples=2_000, seed=1)
        # A - B, not inverted: fewer edits is a negative difference.
        assert result.estimate == pytest.approx(
            metric.corpus_score(good) - metric.corpus_score(poor), abs=1e-12
        )
        assert result.estimate < 0 and result.ci[1] < 0 and result.p_value < 0.01
        family = ls.decide(
            {("uedin-nmt", "PROMT-Rule-based"): result},
            higher_is_better=metric.higher_is_better,
            metric_name=metric.name,
        )
        assert family.verdicts[0].label == "better"
        sentence = family.verdicts[0].sentence
        # Always candidate minus baseline: fewer edits is a negative difference, and better.
        assert sentence.startswith(f"uedin-nmt minus PROMT-Rule-based: {result.estimate:+.3f} TER")
        assert "Verdict: uedin-nmt is better than PROMT-Rule-based (lower is better)." in sentence
    ranking = ls.rank_systems(
        {"good": good, "poor": poor},
        kind="corpus",
        metric=metric,
        higher_is_better=metric.higher_is_better,
        n_resamples=2_000,
    )
    assert ranking.systems[0] == "good"


def test_ter_score_edge_cases():
    from sacrebleu.metrics import TER

    sb = TER()
    totals = np.array([[0.0, 0.0], [3.0, 0.0], [3.0, 12.5], [0.0, 4.0]])
    want = [sb._compute_score_from_stats(list(t)).score for t in totals]
    assert ls.TerMetric().score(totals).tolist() == want
    assert ls.TerMetric().corpus_score(np.zeros((0, 2))) == 0.0
