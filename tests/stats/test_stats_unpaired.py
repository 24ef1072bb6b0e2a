"""One run's score with an interval, and two runs on different examples (unpaired)."""

from __future__ import annotations

import numpy as np
import pytest

from loclab.stats import BleuMetric, score_interval, unpaired_bootstrap

HYPS = ["the cat sat on the mat", "a quick brown fox", "hello world again", "it is raining"] * 30
REFS = ["the cat sat on a mat", "the quick brown fox", "hello world", "it was raining"] * 30


def test_score_interval_of_a_mean_covers_it_and_narrows_with_more_examples():
    rng = np.random.default_rng(0)
    small = score_interval(rng.normal(1.0, 1.0, 50), seed=1)
    large = score_interval(rng.normal(1.0, 1.0, 2000), seed=1)
    for found in (small, large):
        assert found.ci[0] < found.estimate < found.ci[1]
    assert large.ci[1] - large.ci[0] < (small.ci[1] - small.ci[0]) / 3
    assert "bootstrap" in small.method and small.n == 50


def test_score_interval_of_bleu_is_around_sacrebleus_corpus_score():
    import sacrebleu

    metric = BleuMetric()
    stats = metric.segment_statistics(HYPS, REFS)
    found = score_interval(stats, metric, n_resamples=500, seed=0)
    assert found.estimate == pytest.approx(sacrebleu.corpus_bleu(HYPS, [REFS]).score)
    assert found.ci[0] < found.estimate < found.ci[1]


def test_unpaired_bootstrap_finds_a_shift_and_not_a_relabelling():
    rng = np.random.default_rng(3)
    a, b = rng.normal(0.0, 1.0, 400), rng.normal(0.0, 1.0, 300)
    same = unpaired_bootstrap(a, b, n_resamples=4000, seed=0)
    shifted = unpaired_bootstrap(a - 0.5, b, n_resamples=4000, seed=0)
    assert same.p_value > 0.05 and same.ci[0] < 0 < same.ci[1]
    assert shifted.p_value < 0.001 and shifted.ci[1] < 0
    assert shifted.estimate == pytest.approx(a.mean() - 0.5 - b.mean())
    assert "different examples" in (shifted.warning or "")
    assert "unpaired" in shifted.method and shifted.n == 300


def test_unpaired_bootstrap_of_a_corpus_metric_and_identical_runs():
    metric = BleuMetric()
    good = metric.segment_statistics(HYPS, REFS)
    worse = metric.segment_statistics([h.split()[0] for h in HYPS], REFS)
    found = unpaired_bootstrap(worse[:90], good, metric, n_resamples=2000, seed=0)
    assert found.estimate < -10 and found.ci[1] < 0 and found.p_value < 0.01
    constant = np.ones(20)
    assert unpaired_bootstrap(constant, constant, n_resamples=100).p_value == 1.0


def test_unpaired_bootstrap_checks_its_input():
    with pytest.raises(ValueError, match="non-empty 1-D"):
        unpaired_bootstrap(np.ones((2, 2)), np.ones(3))
    with pytest.raises(ValueError, match="statistics per example"):
        unpaired_bootstrap(np.ones((3, 2)), np.ones((3, 2)), BleuMetric())
