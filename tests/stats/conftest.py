"""Fixtures for the statistics tests: the WMT17 en-de systems shipped in ../shared/data."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
WMT17 = REPO / ".." / "shared" / "data" / "wmt17_en_de_systems.tsv.gz"
BASELINE = "LIUM-NMT"


@pytest.fixture(scope="session")
def wmt17_texts() -> dict[str, list[str]]:
    """System name -> hypotheses (segment order), plus ``"reference"``."""
    if not WMT17.exists():
        pytest.skip(f"WMT17 data not found at {WMT17.resolve()} (sibling folder shared/data)")
    import pandas as pd

    df = pd.read_csv(WMT17, sep="\t", quoting=csv.QUOTE_MINIMAL, keep_default_na=False)
    return {
        str(name): group.sort_values("segment")["text"].tolist()
        for name, group in df.groupby("system", sort=False)
    }


@pytest.fixture(scope="session")
def wmt17_bleu_stats(wmt17_texts: dict[str, list[str]]) -> dict[str, np.ndarray]:
    """Per-segment BLEU statistics (tokenize='none', as in sacrebleu's tests) per system."""
    from loclab.stats import BleuMetric

    metric = BleuMetric(tokenize="none")
    refs = wmt17_texts["reference"]
    return {
        name: metric.segment_statistics(hyps, refs)
        for name, hyps in wmt17_texts.items()
        if name != "reference"
    }
