from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loclab.data import TermQADataset
from loclab.models import (
    BASELINES,
    RuleChecker,
    classification_metrics,
    load_baseline,
    make_baseline,
)

NAMES = sorted(BASELINES)


@pytest.fixture(scope="module", params=NAMES)
def fitted(request: pytest.FixtureRequest, tiny: TermQADataset):
    return make_baseline(request.param).fit(tiny.train)


def test_probabilities_are_valid(fitted, tiny: TermQADataset) -> None:
    scores = fitted.predict_proba(tiny.test)
    assert scores.shape == (len(tiny.test),)
    assert np.isfinite(scores).all() and (scores >= 0).all() and (scores <= 1).all()


def test_beats_chance_on_unseen_terms(fitted, tiny: TermQADataset) -> None:
    metrics = classification_metrics(tiny.test["label"], fitted.predict_proba(tiny.test))
    majority = max(tiny.test["label"].mean(), 1 - tiny.test["label"].mean())
    assert metrics["acc"] > majority + 0.05


def test_rows_are_scored_independently(fitted, tiny: TermQADataset) -> None:
    # No transductive use of the evaluation batch: scoring halves gives the same scores.
    test = tiny.test
    whole = fitted.predict_proba(test)
    halves = np.concatenate(
        [fitted.predict_proba(test.iloc[:100]), fitted.predict_proba(test.iloc[100:])]
    )
    np.testing.assert_allclose(whole, halves)


def test_save_and_load_round_trip(fitted, tiny: TermQADataset, tmp_path: Path) -> None:
    path = fitted.save(tmp_path)
    assert path.parent == tmp_path and path.exists()
    again = load_baseline(path)
    assert type(again) is type(fitted)
    np.testing.assert_array_equal(again.predict_proba(tiny.val), fitted.predict_proba(tiny.val))
    assert type(fitted).load(path).name == fitted.name


def test_load_refuses_another_class(tiny: TermQADataset, tmp_path: Path) -> None:
    path = make_baseline("rule").fit(tiny.train).save(tmp_path / "rule.pkl")
    with pytest.raises(TypeError, match="not a NgramLogisticRegression"):
        BASELINES["ngram_lr"].load(path)


def test_unknown_baseline_is_named() -> None:
    with pytest.raises(ValueError, match="unknown baseline 'bert'"):
        make_baseline("bert")


def test_rule_check_flags_copies_and_wrong_scripts(tiny: TermQADataset) -> None:
    rule = RuleChecker().fit(tiny.train)
    cases = pd.DataFrame(
        {
            "source": ["Germany", "Germany", "Germany"],
            "target": ["Germany", "ドイツ", "Германия"],
            "locale": ["ja", "ja", "ja"],
        }
    )
    fired = rule.explain(cases)
    assert fired.loc[0, "copy"] and fired.loc[2, "script_mismatch"]
    assert not fired.loc[1].any()
    scores = rule.predict_proba(cases)
    assert scores[1] > 0.5 > max(scores[0], scores[2])


def test_pair_features_beat_plain_ngrams(tiny: TermQADataset) -> None:
    plain = make_baseline("ngram_lr", pair=False).fit(tiny.train)
    paired = make_baseline("ngram_lr").fit(tiny.train)
    acc = {
        name: classification_metrics(tiny.test["label"], model.predict_proba(tiny.test))["acc"]
        for name, model in (("plain", plain), ("paired", paired))
    }
    assert acc["paired"] > acc["plain"] + 0.05


def test_baselines_do_not_import_torch() -> None:
    code = "import sys, loclab.models.baselines, loclab.models; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
