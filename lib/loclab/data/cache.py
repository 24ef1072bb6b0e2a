"""Content-addressed cache of built data sets, as Parquet files in a folder the caller names.

The file name is the hash of the build parameters (plus builder and CLDR versions), so a cache
never serves data built by another version, and concurrent jobs writing the same entry are safe
(each writes a private temporary file, then renames it atomically).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from loclab.data.qe import CONTENT as QE_CONTENT
from loclab.data.qe import QEBuildParams, build_qe
from loclab.data.qe import versions as qe_versions
from loclab.data.term_qa import (
    BuildParams,
    TermQADataset,
    _versions,
    build_term_qa,
    data_fingerprint,
)
from loclab.io import atomic_path
from loclab.runtime import CACHE_ENV, shared_cache_dir

__all__ = ["CACHE_ENV", "cache_path", "default_cache_dir", "load_qe", "load_term_qa"]
_META_KEY = b"loclab"


def default_cache_dir(channel: Path | None = None) -> Path:
    """Where to cache data sets: a job's ``data`` channel, ``$LOCLAB_CACHE_DIR``, or a temp folder.

    Args:
        channel: The job's data channel, when it has one (``ctx.channel("data")``).

    Returns:
        An existing folder.
    """
    folder = Path(channel) if channel is not None else shared_cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def cache_path(params: BuildParams | QEBuildParams, cache_dir: Path | str) -> Path:
    """File that holds (or will hold) the data set built from ``params``."""
    task = "qe" if isinstance(params, QEBuildParams) else "term_qa"
    return Path(cache_dir) / f"{task}-{params.size}-{params.key()[:20]}.parquet"


def load_term_qa(
    size: str = "tiny",
    seed: int = 13,
    cache_dir: Path | str | None = None,
    **params: object,
) -> TermQADataset:
    """The terminology-QA data set, read from the cache or built and cached.

    Args:
        size: ``"tiny"``, ``"small"`` or ``"full"``.
        seed: Seed of the sample, split and error injection.
        cache_dir: Cache folder; None builds without caching.
        **params: Other :class:`~loclab.data.term_qa.BuildParams` fields (``locales``...).

    Returns:
        The data set; its fingerprint is recomputed from the content read, so a damaged or
        hand-edited cache file shows up as a different fingerprint.
    """
    build = BuildParams(size=size, seed=seed, **params)  # type: ignore[arg-type]
    if cache_dir is None:
        return build_term_qa(build)
    path = cache_path(build, cache_dir)
    if path.exists():
        frame = pd.read_parquet(path)
        fingerprint = data_fingerprint(frame, _versions())
        frame.attrs["loclab.data_fingerprint"] = fingerprint
        return TermQADataset(frame=frame, fingerprint=fingerprint, params=build)
    dataset = build_term_qa(build)
    _write(dataset, path)
    return dataset


def load_qe(
    size: str = "tiny",
    seed: int = 13,
    cache_dir: Path | str | None = None,
    **params: object,
) -> TermQADataset:
    """The quality-estimation data set, read from the cache or built and cached.

    Args:
        size: ``"tiny"``, ``"small"`` or ``"full"``.
        seed: Seed of the sample, split and candidates.
        cache_dir: Cache folder; None builds without caching.
        **params: Other :class:`~loclab.data.qe.QEBuildParams` fields (``label_metric``...).

    Returns:
        The data set; its fingerprint is recomputed from the content read.
    """
    build = QEBuildParams(size=size, seed=seed, **params)  # type: ignore[arg-type]
    if cache_dir is None:
        return build_qe(build)
    path = cache_path(build, cache_dir)
    if path.exists():
        frame = pd.read_parquet(path)
        fingerprint = data_fingerprint(frame, qe_versions(build), columns=QE_CONTENT)
        frame.attrs["loclab.data_fingerprint"] = fingerprint
        return TermQADataset(frame=frame, fingerprint=fingerprint, params=build)
    dataset = build_qe(build)
    _write(dataset, path, qe_versions(build))
    return dataset


def _write(dataset: TermQADataset, path: Path, versions: dict[str, str] | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(dataset.frame, preserve_index=False)
    meta = {
        "fingerprint": dataset.fingerprint,
        "params": asdict(dataset.params),
        **(versions or _versions()),
    }
    # pandas would store frame.attrs in the schema too; keep only our own, readable, metadata.
    schema_meta = {k: v for k, v in (table.schema.metadata or {}).items() if k != b"pandas"}
    schema_meta[_META_KEY] = json.dumps(meta, sort_keys=True).encode()
    table = table.replace_schema_metadata(schema_meta)
    with atomic_path(path, mode=0o644) as tmp:  # a shared cache must be readable
        pq.write_table(table, tmp)
