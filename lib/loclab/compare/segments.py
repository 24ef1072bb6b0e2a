"""Per-segment corpus-metric statistics: extracted inside a job, read back by the analysis.

A corpus metric (BLEU, chrF, F1, Pearson) is a function of summed per-example sufficient
statistics, so a job that scores systems writes those statistics once and every later test
(approximate randomization, bootstrap, ranking) resamples them without the raw outputs.

On disk, under the job's ``output/data/corpus_stats/``, each metric has two files:

* ``<key>.parquet``: one row per system and example, columns ``system``, ``example_id`` and
  one float column per statistic (named as the metric's ``stat_names``);
* ``<key>.json``: how to recompute the metric from the statistics (``metric``, ``options``,
  ``stat_names``, ``name``) and where they came from (``reference``, ``systems``,
  ``n_examples``, library versions).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from loclab.io import atomic_path
from loclab.stats import BleuMetric, ChrfMetric, CorpusMetric, F1Metric, PearsonMetric

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "STATS_DIR",
    "CorpusStatistics",
    "corpus_metric",
    "corpus_scores",
    "extract_statistics",
    "file_fingerprint",
    "read_corpus_statistics",
    "read_translations",
    "resolve_input",
    "score_systems",
    "write_corpus_statistics",
]

#: Folder under the job's ``output/data`` that holds the statistics.
STATS_DIR = "corpus_stats"

_METRICS: dict[str, type[CorpusMetric]] = {
    "bleu": BleuMetric,
    "chrf": ChrfMetric,
    "f1": F1Metric,
    "pearson": PearsonMetric,
}


def corpus_metric(key: str, **options: Any) -> CorpusMetric:
    """The corpus metric named ``key`` (``bleu``, ``chrf``, ``f1`` or ``pearson``).

    Args:
        key: Metric name.
        **options: Constructor options (e.g. ``tokenize="none"`` for BLEU, ``word_order=2``
            for chrF++); F1 and Pearson take none.

    Returns:
        A :class:`~loclab.stats.CorpusMetric`.

    Raises:
        ValueError: For an unknown name or options the metric does not take.
    """
    if key not in _METRICS:
        raise ValueError(f"unknown corpus metric '{key}'; valid: {', '.join(_METRICS)}")
    cls = _METRICS[key]
    try:
        return cls(**options)
    except TypeError as err:
        raise ValueError(f"options {options} do not suit the {key} metric: {err}") from None


def resolve_input(path: str, channel: Path | None = None) -> Path:
    """The input file a notebook parameter names, inside a job or opened by hand.

    Inside a job the file is read in place from the input channel (a single file sits in the
    channel's folder), so only its name matters. Opened by hand, ``path`` is taken as it is
    or, when relative, from the project root (the nearest folder holding ``pyproject.toml``).

    Args:
        path: A file name or path (relative paths resolve against the project root).
        channel: The channel's folder (``ctx.channel(name)``), or None.

    Returns:
        The file.

    Raises:
        FileNotFoundError: When the file is not there, naming where it was looked for.
    """
    tried = []
    if channel is not None:
        inside = channel / Path(path).name
        if inside.is_file():
            return inside
        tried.append(inside)
        files = [p for p in channel.iterdir() if p.is_file()] if channel.is_dir() else []
        if len(files) == 1:
            return files[0]
    given = Path(path).expanduser()
    if given.is_absolute():
        candidates = [given]
    else:
        from loclab.spec import find_project_root

        candidates = [find_project_root(Path.cwd()) / given, Path.cwd() / given]
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
        tried.append(candidate)
    raise FileNotFoundError(
        f"input file '{path}' not found (looked at {', '.join(map(str, tried))})"
    )


def read_translations(path: str | Path) -> pd.DataFrame:
    """System outputs in the WMT layout: columns ``system``, ``segment``, ``text``.

    Args:
        path: A TSV file (optionally gzipped) with one row per system and segment.

    Returns:
        The rows; empty cells stay empty strings (a system may output nothing).

    Raises:
        ValueError: When a column is missing or a system lacks segments others have.
    """
    import pandas as pd

    frame = pd.read_csv(path, sep="\t", quoting=csv.QUOTE_MINIMAL, keep_default_na=False)
    missing = [c for c in ("system", "segment", "text") if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; expected system, segment, text")
    counts = frame.groupby("system").size()
    if counts.nunique() != 1:
        raise ValueError(f"{path}: systems have different numbers of segments: {counts.to_dict()}")
    return frame


def extract_statistics(
    translations: pd.DataFrame,
    metric: BleuMetric | ChrfMetric,
    *,
    reference: str = "reference",
    systems: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Per-segment sufficient statistics of every system against the reference.

    Args:
        translations: Rows of ``system``, ``segment``, ``text`` (see :func:`read_translations`).
        metric: The metric whose statistics to extract (sacrebleu's definitions).
        reference: The ``system`` value that holds the reference translation.
        systems: Systems to score (default: every system but the reference, in file order).

    Returns:
        One row per system and segment: ``system``, ``example_id`` (the segment) and one
        column per statistic.

    Raises:
        ValueError: When the reference is missing or a system's segments differ from it.
    """
    import pandas as pd

    names = list(dict.fromkeys(translations["system"]))
    if reference not in names:
        raise ValueError(f"no system named '{reference}' holds the reference; systems: {names}")
    by_system = {
        name: group.sort_values("segment", kind="stable")
        for name, group in translations.groupby("system", sort=False)
    }
    ref = by_system[reference]
    segments = ref["segment"].to_numpy()
    chosen = list(systems) if systems is not None else [n for n in names if n != reference]
    hypotheses = []
    for name in chosen:
        rows = by_system.get(name)
        if rows is None:
            raise ValueError(f"no system named '{name}'; systems: {names}")
        if not np.array_equal(rows["segment"].to_numpy(), segments):
            raise ValueError(f"system '{name}' does not cover the reference's segments")
        hypotheses.append(rows["text"].tolist())
    refs = ref["text"].tolist()
    arrays = _statistics_of(metric, hypotheses, refs)
    parts = []
    for name, stats in zip(chosen, arrays, strict=True):
        part = pd.DataFrame(stats, columns=list(metric.stat_names))
        part.insert(0, "example_id", segments)
        part.insert(0, "system", name)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def _statistics_of(
    metric: BleuMetric | ChrfMetric, hypotheses: Sequence[list[str]], references: list[str]
) -> list[np.ndarray]:
    return [metric.segment_statistics(hyps, references) for hyps in hypotheses]


def write_corpus_statistics(
    out_dir: Path,
    key: str,
    statistics: pd.DataFrame,
    *,
    options: Mapping[str, Any] | None = None,
    reference: str | None = None,
) -> Path:
    """Write one metric's statistics and their description under ``out_dir/corpus_stats``.

    Args:
        out_dir: The job's ``output/data`` folder (``ctx.output_data_dir``).
        key: Metric name (``bleu``, ``chrf``, ``f1``, ``pearson``): the analysis rebuilds the
            metric from it and ``options``.
        statistics: Rows as :func:`extract_statistics` returns them.
        options: The metric's constructor options (so the analysis scores identically).
        reference: Where the references came from, for the record.

    Returns:
        The parquet file written.
    """
    from importlib import metadata

    metric = corpus_metric(key, **dict(options or {}))
    missing = [c for c in ("system", "example_id", *metric.stat_names) if c not in statistics]
    if missing:
        raise ValueError(f"statistics for {key} lack column(s) {missing}")
    folder = Path(out_dir) / STATS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{key}.parquet"
    with atomic_path(path) as tmp:
        statistics.to_parquet(tmp, index=False)
    systems = list(dict.fromkeys(statistics["system"]))
    info = {
        "key": key,
        "metric": key,
        "name": metric.name,
        "options": dict(options or {}),
        "stat_names": list(metric.stat_names),
        "systems": systems,
        "n_examples": int(len(statistics) // max(len(systems), 1)),
        "reference": reference,
        "versions": {lib: _version(metadata, lib) for lib in ("sacrebleu", "loclab")},
    }
    (folder / f"{key}.json").write_text(json.dumps(info, indent=2))
    return path


def score_systems(
    translations: pd.DataFrame,
    out_dir: Path,
    *,
    metrics: Sequence[str] = ("bleu", "chrf"),
    reference: str = "reference",
    options: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, CorpusStatistics]:
    """Extract and write every metric's per-segment statistics for every system.

    Args:
        translations: Rows of ``system``, ``segment``, ``text`` (see :func:`read_translations`).
        out_dir: The job's ``output/data`` folder.
        metrics: Metric names (``bleu``, ``chrf``).
        reference: The ``system`` value that holds the reference translation.
        options: Per metric, its constructor options (e.g. ``{"bleu": {"tokenize": "13a"}}``).

    Returns:
        The statistics as the analysis will read them, by metric.
    """
    for key in metrics:
        if key not in ("bleu", "chrf"):
            raise ValueError(f"'{key}' is not extracted from text; use bleu or chrf")
        opts = dict((options or {}).get(key, {}))
        metric = corpus_metric(key, **opts)
        assert isinstance(metric, BleuMetric | ChrfMetric)
        frame = extract_statistics(translations, metric, reference=reference)
        write_corpus_statistics(out_dir, key, frame, options=opts, reference=reference)
    found = read_corpus_statistics(out_dir)
    return {key: found[key] for key in metrics}


def file_fingerprint(path: Path) -> str:
    """Content hash of a file (SHA-256, first 16 hex digits), for provenance tags."""
    import hashlib

    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def _version(metadata: Any, lib: str) -> str | None:
    try:
        return str(metadata.version(lib))
    except metadata.PackageNotFoundError:
        return None


@dataclass(frozen=True)
class CorpusStatistics:
    """One metric's per-example statistics for one or more systems, as written by a job.

    Attributes:
        key: Metric name (``bleu``...).
        metric: The metric, rebuilt with the job's options.
        systems: System names, in the order the job wrote them.
        example_ids: Example ids, in the order of every system's rows.
        stats: System name to its ``(examples, n_stats)`` array.
        info: The description the job wrote.
    """

    key: str
    metric: CorpusMetric
    systems: tuple[str, ...]
    example_ids: np.ndarray
    stats: Mapping[str, np.ndarray]
    info: Mapping[str, Any]


def read_corpus_statistics(out_dir: Path) -> dict[str, CorpusStatistics]:
    """Every metric's statistics a job wrote under ``out_dir/corpus_stats`` (may be empty).

    Raises:
        ValueError: When a file is malformed, or a system's example ids differ from the first
            system's.
    """
    import pandas as pd

    folder = Path(out_dir) / STATS_DIR
    found: dict[str, CorpusStatistics] = {}
    if not folder.is_dir():
        return found
    for info_path in sorted(folder.glob("*.json")):
        info = json.loads(info_path.read_text())
        key = info_path.stem
        metric = corpus_metric(info.get("metric", key), **info.get("options", {}))
        frame = pd.read_parquet(info_path.with_suffix(".parquet"))
        columns = list(metric.stat_names)
        systems = tuple(dict.fromkeys(frame["system"].astype(str)))
        stats: dict[str, np.ndarray] = {}
        ids = None
        for name, rows in frame.groupby(frame["system"].astype(str), sort=False):
            these = rows["example_id"].to_numpy()
            if ids is None:
                ids = these
            elif not np.array_equal(these, ids):
                raise ValueError(
                    f"{info_path.with_suffix('.parquet')}: system '{name}' covers other "
                    f"examples than '{systems[0]}'"
                )
            stats[str(name)] = rows[columns].to_numpy(dtype=np.float64)
        found[key] = CorpusStatistics(
            key=key,
            metric=metric,
            systems=systems,
            example_ids=np.asarray(ids if ids is not None else []),
            stats=stats,
            info=info,
        )
    return found


def corpus_scores(statistics: Mapping[str, CorpusStatistics]) -> pd.DataFrame:
    """Corpus score of every system for every metric (systems as rows, best first)."""
    import pandas as pd

    table = pd.DataFrame(
        {
            s.metric.name: {name: s.metric.corpus_score(arr) for name, arr in s.stats.items()}
            for s in statistics.values()
        }
    )
    return table.sort_values(list(table.columns), ascending=False) if len(table) else table
