"""Verdicts, families, rankings and the public API surface."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import numpy as np
import pytest
from scipy import stats

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
    assert v.decision == v.label == "better" and v.kind == "continuous"
    assert v.sentence.startswith("B minus A: +0.0")
    assert "(95% interval +0.0" in v.sentence
    assert "unlikely to be chance, not large" in v.sentence
    worse = ls.verdict(a, b, name_a="A", name_b="B")
    # Always candidate minus baseline: a loss is negative, never flipped into a gain of B.
    assert worse.decision == "worse" and worse.sentence.startswith("A minus B: -0.0")
    assert worse.estimate < 0 and worse.ci[1] < 0
    assert ls.verdict(a, b, higher_is_better=False).decision == "better"
    json.loads(json.dumps(v.to_dict()))


def test_no_difference_needs_a_threshold_and_too_close_to_call() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(0, 1, 5000)
    b = a + rng.normal(0, 0.2, 5000)
    # Plenty of data: the interval rules out a difference of 0.05 either way.
    v = ls.verdict(a, b, threshold=0.05)
    assert v.decision == "no difference" and v.label == "no detectable difference"
    assert v.gain_ruled_out and v.loss_ruled_out and v.power > 0.8
    assert "either way is ruled out" in v.sentence
    small = ls.verdict(a[:30], b[:30], threshold=0.05)
    assert small.decision == "too close to call" and small.label == "needs more data"
    assert small.power < 0.8 and "would be needed" in small.sentence
    # Without a threshold equivalence cannot be shown: not significant is too close to call.
    plain = ls.verdict(a[:30], b[:30])
    assert plain.decision == "too close to call" and "without a practical threshold" in (
        plain.sentence
    )


def test_threshold_counts_only_in_the_direction_that_matters() -> None:
    rng = np.random.default_rng(11)
    base = rng.normal(0.3, 0.05, 3000)
    loss = base - 0.03 + rng.normal(0, 0.02, 3000)  # clearly lower
    # Higher is better: a loss of 0.03 does not clear a 0.01 threshold.
    v = ls.verdict(loss, base, threshold=0.01)
    assert v.decision == "worse" and v.clears_threshold is False and v.gain_ruled_out
    assert "clears" not in v.sentence and "A gain of 0.010" in v.sentence
    # Lower is better (an error rate): the same difference is a gain that clears it.
    err = ls.verdict(loss, base, threshold=0.01, higher_is_better=False)
    assert err.decision == "better" and err.clears_threshold is True
    assert "lower is better" in err.sentence and "clears the 0.010" in err.sentence
    assert err.practically_relevant is True


def test_percentage_points() -> None:
    rng = np.random.default_rng(12)
    base = (rng.random(4000) < 0.70).astype(float)
    cand = base.copy()
    flip = rng.choice(4000, 264, replace=False)  # 6.6 points lower
    cand[flip[base[flip] == 1]] = 0
    cand[flip[base[flip] == 0]] = 0
    v = ls.verdict(cand, base, name_a="CNN", name_b="LR", scale=100, scale_unit="points", digits=1)
    gap = 100 * v.estimate
    assert v.sentence.startswith(f"CNN minus LR: {gap:+.1f} points on 4,000 examples")
    with pytest.raises(ValueError, match="scale"):
        ls.verdict(cand, base, scale=0)


def test_family_adjustment_and_family_size() -> None:
    rng = np.random.default_rng(4)
    base = rng.normal(0, 1, 400)
    systems = {"base": base}
    for i, shift in enumerate([0.0, 0.0, 0.0, 0.2, -0.2]):
        systems[f"s{i}"] = base + shift + rng.normal(0, 0.5, 400)
    fam = ls.compare_systems(systems, baseline="base", n_resamples=2000)
    assert fam.family_size == 5 and all(v.family_size == 5 for v in fam.verdicts)
    assert fam["s3"].decision == "better" and fam["s4"].decision == "worse"
    raw = [v.p_value for v in fam.verdicts]
    assert [v.p_adjusted for v in fam.verdicts] == pytest.approx(
        list(ls.adjust(raw, "holm").adjusted)
    )
    s3 = fam["s3"].sentence
    assert "adjusted for the 5 comparisons" in s3 and "(Holm), p = " in s3
    # "By chance" is said once, of the raw p-value; the adjusted one is called adjusted.
    assert s3.count("by chance") == 1
    assert s3.index("For this comparison alone p") < s3.index("by chance")
    assert s3.index("by chance") < s3.index("Adjusted for the 5 comparisons")
    bh = ls.compare_systems(systems, baseline="base", correction="bh", n_resamples=2000)
    assert bh.correction == "bh"
    json.dumps(fam.to_dict())
    with pytest.warns(UserWarning, match="using 600 resamples"):
        pairs = ls.compare_systems(systems, n_resamples=500)
    assert pairs.family_size == 15
    with pytest.raises(ValueError, match="baseline"):
        ls.compare_systems(systems, baseline="nope")


def _mixed_family(rng: np.random.Generator) -> dict[tuple[str, str], ls.TestResult]:
    """Results of every kind of test, with effects from none to large."""
    out: dict[tuple[str, str], ls.TestResult] = {}
    n = 200
    for i in range(int(rng.integers(2, 7))):
        shift = float(rng.choice([0.0, 0.05, 0.1, 0.2, 0.4]))
        kind = i % 5
        base = rng.normal(0, 1, n)
        if kind == 0:
            res = ls.paired_t_test(base + shift + rng.normal(0, 1, n), base)
        elif kind == 1:
            res = ls.paired_permutation_test(base + shift + rng.normal(0, 1, n), base, 999, i)
        elif kind == 2:
            p = 1 / (1 + np.exp(-base))
            res = ls.mcnemar(rng.random(n) < p + shift / 2, rng.random(n) < p, mid_p=True)
        elif kind == 3:
            a = base + shift + rng.normal(0, 0.3, (3, 1)) + rng.normal(0, 1, (3, n))
            b = base + rng.normal(0, 0.3, (4, 1)) + rng.normal(0, 1, (4, n))
            res = ls.two_level_bootstrap(a, b, n_resamples=50)
        else:
            res = ls.seed_level_test(rng.normal(shift * 5, 1, 4), rng.normal(0, 1, 5))
        out[(f"s{i}", "base")] = res
    return out


@pytest.mark.parametrize("correction", ["holm", "bh", "bonferroni", "none"])
def test_every_interval_agrees_with_its_adjusted_decision(correction: str) -> None:
    """0 lies outside a verdict's interval exactly when its adjusted p-value passes alpha."""
    rng = np.random.default_rng(["holm", "bh", "bonferroni", "none"].index(correction))
    checked = significant = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for _ in range(40):
            fam = ls.decide(_mixed_family(rng), correction=correction, threshold=0.05)
            for v in fam.verdicts:
                lo, hi = v.ci
                assert (not lo <= 0 <= hi) == (v.p_adjusted <= v.alpha), v
                assert v.decision in ("better", "worse") or lo <= 0 <= hi
                assert v.ci_level >= 1 - v.alpha - 1e-12
                assert lo <= v.estimate <= hi
                checked += 1
                significant += v.p_adjusted <= v.alpha
    assert checked > 100 and 0 < significant < checked


def test_adjusted_interval_uses_the_test_standard_error_when_it_agrees() -> None:
    """A resampling p-value at its floor does not widen the interval (test-based would)."""
    rng = np.random.default_rng(16)
    base = rng.normal(0, 1, 500)
    results = {
        (f"s{i}", "base"): ls.paired_permutation_test(base + 0.5 + rng.normal(0, 1, 500), base)
        for i in range(3)
    }
    for v, r in zip(ls.decide(results).verdicts, results.values(), strict=True):
        assert r.p_value == pytest.approx(1 / 10_001)  # at the Monte Carlo floor
        half = (v.ci[1] - v.ci[0]) / 2
        assert half == pytest.approx(stats.t.ppf(1 - (1 - v.ci_level) / 2, r.df) * r.se)


def test_adjusted_interval_is_the_t_interval_for_t_tests() -> None:
    rng = np.random.default_rng(13)
    a, b, c = rng.normal(0, 1, (3, 300))
    results = {("a", "c"): ls.paired_t_test(a + 0.3, c), ("b", "c"): ls.paired_t_test(b, c)}
    fam = ls.decide(results, correction="bonferroni")
    # Bonferroni over 2: each interval is the paired t interval at 97.5 %.
    for v, r in zip(fam.verdicts, results.values(), strict=True):
        assert v.ci_level == pytest.approx(0.975)
        ref = ls.paired_t_test(
            a + 0.3 if v.system == "a" else b, c, confidence=0.975
        ).ci  # fmt: skip
        assert v.ci == pytest.approx(ref, rel=1e-9)
        assert v.ci_unadjusted == pytest.approx(r.ci)


def test_verdict_when_nothing_varies() -> None:
    """Identical runs and a constant gap: p = 0 still reads as a sentence."""
    a, b = np.tile(np.linspace(0, 1, 50), (3, 1)), np.tile(np.linspace(0, 1, 50) - 0.1, (4, 1))
    v = ls.verdict(a, b)
    assert v.kind == "seeds" and v.p_value == 0.0 and v.decision == "better"
    assert "less than 1 time in a billion" in v.sentence
    assert v.ci[0] > 0


def test_decide_on_precomputed_results() -> None:
    rng = np.random.default_rng(5)
    a, b, c = rng.normal(0, 1, (3, 300))
    results = {("a", "c"): ls.paired_t_test(a + 0.3, c), ("b", "c"): ls.paired_t_test(b, c)}
    fam = ls.decide(results, correction="holm")
    assert fam.family_size == 2 and fam["a"].decision == "better"
    assert fam["a"].ci_level == pytest.approx(0.975)  # Holm leaves the smaller p alpha / 2


def _share_a_letter(rank: ls.Ranking, a: str, b: str) -> bool:
    letters = dict(zip(rank.systems, rank.letters, strict=True))
    return bool(set(letters[a]) & set(letters[b]))


def test_rank_systems_clusters() -> None:
    rng = np.random.default_rng(6)
    base = rng.normal(0, 1, 1000)
    # Gaps of 0.3 between tiers are about 7 standard errors; within a tier there is no gap.
    shifts = {"top1": 0.5, "top2": 0.5, "mid1": 0.2, "mid2": 0.2, "low": 0.0}
    systems = {k: base + s + rng.normal(0, 1.0, 1000) for k, s in shifts.items()}
    rank = ls.rank_systems(systems, n_resamples=2000)
    assert [set(c) for c in rank.clusters] == [{"top1", "top2"}, {"mid1", "mid2"}, {"low"}]
    assert rank.cluster_of == (1, 1, 2, 2, 3)
    assert rank.letters == ("a", "a", "b", "b", "c") and rank.group_letters == ("a", "b", "c")
    assert rank.family_size == 10
    json.dumps(rank.to_dict())


def test_rank_systems_letters_never_separate_systems_that_cannot_be_told_apart() -> None:
    """A chain: neighbours cannot be told apart, the ends can; groups overlap."""
    rng = np.random.default_rng(14)
    base = rng.normal(0, 1, 600)
    shifts = {"p": 0.3, "q": 0.2, "r": 0.1, "s": 0.0}
    systems = {k: base + s + rng.normal(0, 1.0, 600) for k, s in shifts.items()}
    rank = ls.rank_systems(systems, n_resamples=4000)
    for c in rank.comparisons:
        assert _share_a_letter(rank, c.a, c.b) == (not c.rejected), c
    assert any(len(letters) > 1 for letters in rank.letters)  # an overlapping system
    assert "sharing a letter cannot be told apart" in rank.summary()


def test_compact_letters_on_every_pattern() -> None:
    from loclab.stats._ranking import compact_letters

    rng = np.random.default_rng(15)
    for _ in range(500):
        k = int(rng.integers(2, 9))
        order = [f"s{i}" for i in range(k)]
        pairs = [(a, b) for i, a in enumerate(order) for b in order[i + 1 :]]
        differ = [p for p in pairs if rng.random() < rng.random()]
        groups = compact_letters(order, differ)
        for a, b in pairs:
            shared = any(a in g and b in g for g in groups)
            assert shared == ((a, b) not in differ), (order, differ, groups)
        assert all(any(s in g for g in groups) for s in order)


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


def test_sentence_differences_that_round_to_zero_keep_their_sign():
    from loclab.stats._wording import signed

    assert signed(0.00015, 100.0, 1, "points") == "+0.01 points"
    assert signed(-0.00015, 100.0, 1) == "-0.01"
    assert signed(-0.0, 100.0, 1) == "+0.0"
    assert signed(-0.066, 100.0, 1, "points") == "-6.6 points"


def test_too_close_with_enough_power_asks_for_the_data_that_settles_it() -> None:
    """The estimate lies between 0 and the threshold and a gain of the threshold would be
    detected: the advice is the data that narrows the interval, more than ran (never fewer)."""
    rng = np.random.default_rng(3)
    n = 100
    noise = rng.normal(0.0, 1.0, n)
    d = 0.5 + 2.7 * (noise - noise.mean()) / noise.std(ddof=1)  # gain 0.5, SE 0.27
    v = ls.verdict(d, np.zeros(n), kind="continuous", threshold=1.0, n_resamples=4000)
    assert v.decision == "too close to call" and v.mde < 1.0
    assert v.ci[0] < 0 < v.ci[1] and v.ci[1] > 1.0
    needed = int(v.sentence.split("To decide, about ")[1].split(" ")[0].replace(",", ""))
    assert n < needed < 2 * n
    assert "narrow the interval" in v.sentence
