"""Reading users' own pair data: TSV, CSV, JSONL or Parquet, WMT QE files included.

Whatever the input calls its columns (``src``/``original``, ``mt``/``translation``,
``tgt_lang``, ``z_mean``...), the result has loclab's names: ``example_id``, ``source``,
``target``, ``locale``, and ``label`` and/or ``score``. A missing column is reported by name,
with the names that were tried and the columns the file has.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from loclab.data.term_qa import SPLITS, TermQADataset, assign_splits, data_fingerprint

__all__ = [
    "ALIASES",
    "MissingColumnError",
    "dataset_from_frame",
    "normalize_pairs",
    "read_pairs",
    "read_wmt_qe",
]

#: Accepted input names of each column, in order of preference (matched case-insensitively).
ALIASES: dict[str, tuple[str, ...]] = {
    "example_id": ("example_id", "id", "index", "segid", "seg_id"),
    "source": ("source", "src", "original", "source_text", "src_text"),
    "target": ("target", "tgt", "mt", "translation", "target_text", "hyp"),
    "locale": (
        "locale", "target_language", "target_lang", "tgt_lang", "trg_lang", "lang", "language",
    ),
    "label": ("label", "is_correct", "correct", "tag"),
    "score": ("score", "quality", "quality_score", "z_mean", "mean", "da", "hter"),
    "error_type": ("error_type",),
    "category": ("category",),
    "split": ("split",),
}  # fmt: skip
# Scores where lower means better (edit rates); the label then needs score <= threshold.
_LOWER_IS_BETTER = frozenset({"hter"})
_TRUE = frozenset({"1", "true", "yes", "ok", "good", "correct"})
_FALSE = frozenset({"0", "false", "no", "bad", "error", "incorrect"})
_PAIR_IN_NAME = re.compile(r"(?<![a-z])([a-z]{2,3})[-_]([a-z]{2,3})(?![a-z])")


class MissingColumnError(ValueError):
    """A required column is missing from user data.

    Attributes:
        column: loclab's name of the missing column (``"target"``...).
        tried: Input names that would have been accepted.
        found: Columns the data has.
    """

    def __init__(
        self, column: str, tried: Sequence[str], found: Sequence[str], where: str
    ) -> None:
        self.column = column
        self.tried = tuple(tried)
        self.found = tuple(found)
        hint = f"pass columns={{'{column}': '<your column>'}} to name it"
        if column == "locale":
            hint += ", or locale='de' when the whole file has one target language"
        super().__init__(
            f"{where} has no {column!r} column (accepted names: {', '.join(tried)}); "
            f"columns found: {list(found)}; {hint}"
        )


def read_pairs(
    path: Path | str,
    *,
    locale: str | None = None,
    columns: Mapping[str, str] | None = None,
    score_threshold: float | None = None,
    require_label: bool = True,
) -> pd.DataFrame:
    """Read a file of (source, target, target language, label or score) rows.

    The format follows the suffix (``.tsv``, ``.csv``, ``.jsonl``/``.ndjson``/``.json``,
    ``.parquet``/``.pq``; text formats may be gzip-compressed, ``.tsv.gz``). TSV is read without
    quote handling, as WMT QE files (``index original translation scores mean z_mean``) need.
    Values such as ``NA`` stay strings: it is Namibia's code, not a missing value.

    Args:
        path: The file.
        locale: Target language of every row, when the file has no such column. Otherwise a
            language pair in the file name (``train.en-de.tsv``) gives it.
        columns: loclab name to the file's column name, for names :data:`ALIASES` lacks.
        score_threshold: Derive ``label`` = score >= threshold (<= for HTER) when the file has a
            quality score but no label.
        require_label: Fail when no label can be had (set False to read data to predict on).

    Returns:
        A frame with ``example_id``, ``source``, ``target``, ``locale`` and, as available,
        ``label`` (0/1), ``score``, ``error_type``, ``category`` and ``split``.

    Raises:
        MissingColumnError: A required column is missing.
        ValueError: Unknown format, unreadable labels, empty texts or duplicate ids.
    """
    path = Path(path)
    raw = _read_any(path)
    return normalize_pairs(
        raw,
        where=str(path),
        locale=locale or _locale_from_name(path),
        columns=columns,
        score_threshold=score_threshold,
        require_label=require_label,
        id_prefix=path.name.split(".", 1)[0],
    )


def read_wmt_qe(
    source: Path | str,
    target: Path | str,
    scores: Path | str | None,
    *,
    locale: str,
    score_threshold: float | None = None,
    require_label: bool = True,
) -> pd.DataFrame:
    """Read WMT QE data kept as line-aligned plain files (``train.src``, ``train.mt``, ``.hter``).

    Args:
        source: One source segment per line.
        target: One machine translation per line.
        scores: One score per line (``.hter``: lower is better; anything else: higher is better),
            or per-line labels (``OK``/``BAD``, ``1``/``0``); None when there are none.
        locale: Target language.
        score_threshold: Turn scores into labels (see :func:`read_pairs`).
        require_label: Fail when no label can be had.

    Returns:
        The same columns as :func:`read_pairs`.
    """
    src = Path(source).read_text(encoding="utf-8").splitlines()
    mt = Path(target).read_text(encoding="utf-8").splitlines()
    if len(src) != len(mt):
        raise ValueError(f"{source} has {len(src)} lines but {target} has {len(mt)}")
    raw = pd.DataFrame({"source": src, "target": mt})
    if scores is not None:
        values = Path(scores).read_text(encoding="utf-8").splitlines()
        if len(values) != len(src):
            raise ValueError(f"{scores} has {len(values)} lines but {source} has {len(src)}")
        suffix = Path(scores).suffix.lstrip(".").lower()
        name = "label" if suffix in {"tags", "label", "labels"} else suffix or "score"
        raw[name if name in ALIASES["score"] or name == "label" else "score"] = values
    return normalize_pairs(
        raw,
        where=str(target),
        locale=locale,
        score_threshold=score_threshold,
        require_label=require_label,
        id_prefix=Path(target).name.split(".", 1)[0],
    )


def normalize_pairs(
    raw: pd.DataFrame,
    *,
    where: str = "data",
    locale: str | None = None,
    columns: Mapping[str, str] | None = None,
    score_threshold: float | None = None,
    require_label: bool = True,
    id_prefix: str = "row",
) -> pd.DataFrame:
    """Rename and check the columns of a frame of user pairs (see :func:`read_pairs`)."""
    found = [str(c) for c in raw.columns]
    lower = {c.strip().lower(): c for c in found}
    picked: dict[str, str] = {}
    for name, aliases in ALIASES.items():
        explicit = (columns or {}).get(name)
        if explicit is not None:
            if explicit not in found:
                raise MissingColumnError(name, [explicit], found, where)
            picked[name] = explicit
            continue
        for alias in aliases:
            if alias in lower:
                picked[name] = lower[alias]
                break
    for name in ("source", "target"):
        if name not in picked:
            raise MissingColumnError(name, ALIASES[name], found, where)
    if "locale" not in picked and locale is None:
        raise MissingColumnError("locale", ALIASES["locale"], found, where)
    if require_label and "label" not in picked and "score" not in picked:
        raise MissingColumnError("label", ALIASES["label"] + ALIASES["score"], found, where)

    out = pd.DataFrame(index=raw.index)
    if "example_id" in picked:
        out["example_id"] = raw[picked["example_id"]].astype(str)
    else:
        out["example_id"] = [f"{id_prefix}-{i:07d}" for i in range(len(raw))]
    for name in ("source", "target"):
        out[name] = raw[picked[name]].astype(str).str.strip()
    out["locale"] = raw[picked["locale"]].astype(str).str.strip() if "locale" in picked else locale
    if "score" in picked:
        out["score"] = pd.to_numeric(raw[picked["score"]], errors="raise").astype(float)
    if "label" in picked:
        out["label"] = _parse_labels(raw[picked["label"]], where)
    elif "score" in picked and score_threshold is not None:
        if picked["score"].strip().lower() in _LOWER_IS_BETTER:
            out["label"] = (out["score"] <= score_threshold).astype("int8")
        else:
            out["label"] = (out["score"] >= score_threshold).astype("int8")
    elif require_label:
        raise ValueError(
            f"{where} has a quality score ({picked['score']!r}) but no label; pass "
            "score_threshold= to derive labels (score >= threshold is correct; <= for HTER)"
        )
    for name in ("error_type", "category", "split"):
        if name in picked:
            out[name] = raw[picked[name]].astype(str).str.strip()
    _check(out, where)
    out = out.reset_index(drop=True)
    if "score" in picked:
        # QE code needs the direction of the score; HTER is an edit rate.
        out.attrs["loclab.score_lower_is_better"] = (
            picked["score"].strip().lower() in _LOWER_IS_BETTER
        )
    return out


def dataset_from_frame(
    frame: pd.DataFrame, seed: int = 13, val_fraction: float = 0.1, test_fraction: float = 0.1
) -> TermQADataset:
    """Wrap user pairs as a :class:`~loclab.data.term_qa.TermQADataset`.

    Rows keep their ``split`` when the data has one; otherwise they are split by source term,
    like the CLDR data. Missing ``error_type`` becomes ``"none"`` for correct rows and
    ``"unknown"`` for the others; missing ``category`` becomes ``"user"``.

    Args:
        frame: Output of :func:`read_pairs` (with labels).
        seed: Seed of the split.
        val_fraction: Share of source terms in ``val``.
        test_fraction: Share of source terms in ``test``.

    Returns:
        The data set (``params`` is None: it was not built from CLDR).
    """
    if "label" not in frame.columns:
        raise MissingColumnError("label", ["label"], list(frame.columns), "the data set")
    frame = frame.copy()
    if "error_type" not in frame.columns:
        frame["error_type"] = frame["label"].map({1: "none", 0: "unknown"})
    if "category" not in frame.columns:
        frame["category"] = "user"
    if "split" not in frame.columns:
        frame["split"] = assign_splits(
            frame["source"].str.casefold(), seed, val_fraction, test_fraction
        )
    bad = sorted(set(frame["split"]) - set(SPLITS))
    if bad:
        raise ValueError(f"unknown split name(s) {bad}; use {SPLITS}")
    fingerprint = data_fingerprint(frame, {"origin": "user"})
    frame.attrs["loclab.data_fingerprint"] = fingerprint
    return TermQADataset(frame=frame, fingerprint=fingerprint, params=None)


def _read_any(path: Path) -> pd.DataFrame:
    suffixes = [
        s.lower() for s in path.suffixes if s.lower() not in {".gz", ".bz2", ".xz", ".zst"}
    ]
    kind = suffixes[-1] if suffixes else ""
    text = {"dtype": str, "keep_default_na": False, "na_filter": False}
    if kind == ".tsv":
        # WMT QE files hold unbalanced quotes inside segments: no quote handling at all.
        return pd.read_csv(path, sep="\t", quoting=csv.QUOTE_NONE, **text)
    if kind == ".csv":
        return pd.read_csv(path, **text)
    if kind in {".jsonl", ".ndjson", ".json"}:
        return pd.read_json(path, lines=kind != ".json", dtype=False)
    if kind in {".parquet", ".pq"}:
        return pd.read_parquet(path)
    raise ValueError(
        f"{path}: unknown format {kind or '(no suffix)'}; use .tsv, .csv, .jsonl or .parquet"
    )


def _locale_from_name(path: Path) -> str | None:
    # MLQE-PE keeps pairs in folders (en-de/train.tsv); others put them in the name.
    for name in (path.name, path.parent.name):
        found = _PAIR_IN_NAME.findall(name.lower())
        if found:
            return str(found[-1][1])
    return None


def _parse_labels(values: pd.Series, where: str) -> pd.Series:
    as_text = values.astype(str).str.strip().str.lower()
    # Floats written by a spreadsheet ("1.0") are still labels.
    as_text = as_text.str.replace(r"^([01])\.0+$", r"\1", regex=True)
    ok = as_text.isin(_TRUE | _FALSE)
    if not ok.all():
        bad = sorted(set(values[~ok].astype(str)))[:5]
        raise ValueError(
            f"{where}: labels must be 1/0, true/false or OK/BAD; found {bad} "
            "(use a score column and score_threshold= for graded quality)"
        )
    return as_text.isin(_TRUE).astype("int8")


def _check(frame: pd.DataFrame, where: str) -> None:
    for name in ("source", "target", "locale"):
        empty = frame.index[frame[name].isna() | (frame[name].astype(str) == "")]
        if len(empty):
            rows = [int(i) for i in empty[:5]]
            raise ValueError(f"{where}: empty {name} in row(s) {rows} (0-based, header excluded)")
    duplicated = frame["example_id"].duplicated()
    if duplicated.any():
        raise ValueError(
            f"{where}: duplicate example ids {frame['example_id'][duplicated].head(3).tolist()}"
        )
