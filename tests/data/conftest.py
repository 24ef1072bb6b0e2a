"""Fixtures for the data tests: the tiny CLDR term-QA set, built once."""

from __future__ import annotations

import pandas as pd
import pytest

from loclab.data import TermQADataset, assign_splits, build_term_qa, cldr_pairs


@pytest.fixture(scope="package")
def tiny() -> TermQADataset:
    """The tiny data set for seed 13 (read-only: copy ``tiny.frame`` before changing it)."""
    return build_term_qa(size="tiny", seed=13)


@pytest.fixture(scope="package")
def cldr() -> pd.DataFrame:
    """Every correct CLDR pair of the default locales, with the split of seed 13."""
    pairs = cldr_pairs()
    pairs["split"] = assign_splits(pairs["source"].str.casefold(), seed=13)
    return pairs


@pytest.fixture(scope="package")
def qe_tiny() -> TermQADataset:
    """The tiny quality-estimation set for seed 13 (read-only)."""
    from loclab.data import build_qe

    return build_qe(size="tiny", seed=13)
