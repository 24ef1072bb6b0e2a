"""Fixtures for the model tests: the tiny CLDR term-QA set, built once."""

from __future__ import annotations

import pytest

from loclab.data import TermQADataset, build_term_qa


@pytest.fixture(scope="package")
def tiny() -> TermQADataset:
    """The tiny data set for seed 13 (read-only)."""
    return build_term_qa(size="tiny", seed=13)


@pytest.fixture(scope="package")
def qe_tiny() -> TermQADataset:
    """The tiny quality-estimation set for seed 13 (read-only)."""
    from loclab.data import build_qe

    return build_qe(size="tiny", seed=13)
