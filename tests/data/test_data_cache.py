from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from loclab.data import BuildParams, TermQADataset, cache_path, default_cache_dir, load_term_qa
from loclab.data import cache as cache_module


def test_cache_writes_once_and_reads_back(
    tmp_path: Path, tiny: TermQADataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = load_term_qa("tiny", seed=13, cache_dir=tmp_path)
    path = cache_path(BuildParams(size="tiny", seed=13), tmp_path)
    assert path.exists() and path.suffix == ".parquet"
    assert first.fingerprint == tiny.fingerprint

    def no_build(*args: object, **kwargs: object) -> None:
        raise AssertionError("cache miss")

    monkeypatch.setattr(cache_module, "build_term_qa", no_build)
    second = load_term_qa("tiny", seed=13, cache_dir=tmp_path)
    assert second.fingerprint == tiny.fingerprint
    pd.testing.assert_frame_equal(second.frame, tiny.frame, check_dtype=False)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_cache_is_addressed_by_parameters(tmp_path: Path) -> None:
    a = cache_path(BuildParams(size="tiny", seed=13), tmp_path)
    b = cache_path(BuildParams(size="tiny", seed=14), tmp_path)
    c = cache_path(BuildParams(size="tiny", seed=13, locales=("de", "fr")), tmp_path)
    assert len({a, b, c}) == 3


def test_damaged_cache_changes_the_fingerprint(tmp_path: Path, tiny: TermQADataset) -> None:
    load_term_qa("tiny", seed=13, cache_dir=tmp_path)
    path = cache_path(BuildParams(size="tiny", seed=13), tmp_path)
    frame = pd.read_parquet(path)
    frame.loc[0, "target"] = "tampered"
    frame.to_parquet(path)
    assert load_term_qa("tiny", seed=13, cache_dir=tmp_path).fingerprint != tiny.fingerprint


def test_default_cache_dir_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    channel = tmp_path / "channel"
    assert default_cache_dir(channel) == channel and channel.is_dir()
    monkeypatch.setenv("LOCLAB_CACHE_DIR", str(tmp_path / "env"))
    assert default_cache_dir(None) == tmp_path / "env"
    monkeypatch.delenv("LOCLAB_CACHE_DIR")
    assert default_cache_dir(None).is_dir()
