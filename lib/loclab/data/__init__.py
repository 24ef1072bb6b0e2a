"""Data for loclab's example tasks: the CLDR terminology-QA set and users' own pair files.

Modules by concern: :mod:`~loclab.data.cldr` (raw CLDR pairs), :mod:`~loclab.data.noise`
(synthetic errors), :mod:`~loclab.data.term_qa` (labelled set, splits, fingerprint),
:mod:`~loclab.data.qe` (quality estimation: candidates of graded quality, scored),
:mod:`~loclab.data.cache` (Parquet cache), :mod:`~loclab.data.io` (user files),
:mod:`~loclab.data.mt` (MT system outputs and their BLEU/chrF/chrF++/TER statistics),
:mod:`~loclab.data.scripts` (writing systems), :mod:`~loclab.data.vocab` and
:mod:`~loclab.data.datamodule` (Lightning; imported on first use, it pulls in torch).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loclab.data.cache import CACHE_ENV, cache_path, default_cache_dir, load_qe, load_term_qa
from loclab.data.cldr import CATEGORIES, DEFAULT_LOCALES, cldr_pairs, cldr_version
from loclab.data.io import (
    MissingColumnError,
    dataset_from_frame,
    normalize_pairs,
    read_pairs,
    read_wmt_qe,
)
from loclab.data.qe import (
    LABEL_METRICS,
    QE_COLUMNS,
    QE_KINDS,
    QEBuildParams,
    build_qe,
    qe_dataset_from_frame,
    score_distribution,
)
from loclab.data.term_qa import (
    BUILDER_VERSION,
    COLUMNS,
    ERROR_TYPES,
    SIZES,
    SPLITS,
    BuildParams,
    ErrorInjector,
    TermQADataset,
    assign_splits,
    build_term_qa,
    data_fingerprint,
)
from loclab.data.vocab import Vocab

if TYPE_CHECKING:
    from loclab.data.datamodule import TermQADataModule

__all__ = [
    "BUILDER_VERSION",
    "CACHE_ENV",
    "CATEGORIES",
    "COLUMNS",
    "DEFAULT_LOCALES",
    "ERROR_TYPES",
    "LABEL_METRICS",
    "QE_COLUMNS",
    "QE_KINDS",
    "SIZES",
    "SPLITS",
    "BuildParams",
    "ErrorInjector",
    "MissingColumnError",
    "QEBuildParams",
    "TermQADataModule",
    "TermQADataset",
    "Vocab",
    "assign_splits",
    "build_qe",
    "build_term_qa",
    "cache_path",
    "cldr_pairs",
    "cldr_version",
    "data_fingerprint",
    "dataset_from_frame",
    "default_cache_dir",
    "load_qe",
    "load_term_qa",
    "normalize_pairs",
    "qe_dataset_from_frame",
    "read_pairs",
    "read_wmt_qe",
    "score_distribution",
]


def __getattr__(name: str) -> Any:
    # Keep `import loclab.data` free of torch and lightning (seconds to import).
    if name == "TermQADataModule":
        from loclab.data.datamodule import TermQADataModule

        return TermQADataModule
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
