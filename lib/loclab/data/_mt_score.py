"""Per-segment BLEU, chrF, chrF++ and TER statistics of MT outputs, with sacrebleu signatures.

The statistics come from sacrebleu's own metric classes (through :mod:`loclab.stats`), so the
corpus score of their sum is sacrebleu's corpus score exactly, and every resampling test of
:mod:`loclab.stats` runs on them. TER is slow in pure Python (about 15 s per 3,000 segments on
one core), so systems are scored in parallel worker processes when ``n_jobs > 1``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from loclab.stats import BleuMetric, ChrfMetric, TerMetric

if TYPE_CHECKING:
    import pandas as pd

    from loclab.data.mt import MTOutputs

MTMetric = BleuMetric | ChrfMetric | TerMetric

#: Metric keys: the class and the options that define it (chrF++ is chrF with word bigrams).
MT_METRICS: dict[str, tuple[type[MTMetric], dict[str, Any]]] = {
    "bleu": (BleuMetric, {}),
    "chrf": (ChrfMetric, {}),
    "chrfpp": (ChrfMetric, {"word_order": 2}),
    "ter": (TerMetric, {}),
}
#: Other spellings accepted for a key.
METRIC_ALIASES = {"chrf++": "chrfpp"}

_LOG_NAME = re.compile(r"[^\w./ -]")
#: Segments to score (systems x metrics x segments) from which worker processes pay off.
_PARALLEL_FROM = 10_000


def canonical_metric(key: str) -> str:
    """The metric key for ``key`` or one of its aliases (``chrf++`` is ``chrfpp``).

    Raises:
        ValueError: For a name that is not an MT metric, listing the valid ones.
    """
    name = METRIC_ALIASES.get(key.strip().lower(), key.strip().lower())
    if name not in MT_METRICS:
        valid = ", ".join([*MT_METRICS, *METRIC_ALIASES])
        raise ValueError(f"'{key}' is not an MT metric; valid: {valid}")
    return name


def metric_options(key: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The full constructor options of metric ``key``: its defining ones, then ``options``."""
    return {**MT_METRICS[canonical_metric(key)][1], **dict(options or {})}


def mt_metric(key: str, **options: Any) -> MTMetric:
    """The :mod:`loclab.stats` metric for ``key`` (``bleu``, ``chrf``, ``chrfpp``, ``ter``).

    Args:
        key: Metric key or alias.
        **options: sacrebleu options, e.g. ``tokenize="intl"`` for BLEU.

    Raises:
        ValueError: For an unknown key or options the metric does not take.
    """
    cls, _ = MT_METRICS[canonical_metric(key)]
    try:
        metric = cls(**metric_options(key, options))
        metric._bare()  # sacrebleu checks its options (e.g. the tokenizer) here, not later
    except (TypeError, ValueError, KeyError) as err:
        raise ValueError(f"options {options} do not suit the {key} metric: {err!r}") from None
    return metric


def metric_signature(key: str, nrefs: int = 1, **options: Any) -> str:
    """The sacrebleu signature of metric ``key`` with ``options`` and ``nrefs`` references.

    >>> metric_signature("bleu")  # doctest: +ELLIPSIS
    'nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:...'
    """
    return mt_metric(key, **options).signature(nrefs)


@dataclass(frozen=True)
class SegmentStatistics:
    """One metric's per-segment statistics of every system.

    Attributes:
        key: Metric key (``bleu``, ``chrf``, ``chrfpp``, ``ter``).
        metric: The metric (``corpus_score``, ``score``, ``higher_is_better``).
        options: Its full constructor options (what rebuilds it).
        signature: sacrebleu's signature of the scores.
        frame: One row per system and segment: ``system``, ``example_id`` and one column per
            statistic (``metric.stat_names``).
    """

    key: str
    metric: MTMetric
    options: dict[str, Any]
    signature: str
    frame: pd.DataFrame

    def corpus_scores(self) -> dict[str, float]:
        """Each system's corpus score (sacrebleu's, exactly)."""
        columns = list(self.metric.stat_names)
        return {
            str(name): self.metric.corpus_score(rows[columns].to_numpy(dtype=np.float64))
            for name, rows in self.frame.groupby("system", sort=False)
        }


def score_outputs(
    outputs: MTOutputs,
    metrics: Sequence[str] = ("bleu", "chrf", "chrfpp", "ter"),
    *,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    n_jobs: int = 1,
) -> dict[str, SegmentStatistics]:
    """Per-segment statistics of every system for every metric, against all references.

    Args:
        outputs: System outputs and references (:func:`~loclab.data.mt.read_mt_outputs`).
        metrics: Metric keys or aliases.
        options: Per metric key, sacrebleu options (e.g. ``{"bleu": {"tokenize": "intl"}}``).
        n_jobs: At most this many worker processes; 1, or inputs too small to gain from
            workers (under 10,000 segments to score in all), score in this process.

    Returns:
        By metric key, the statistics and their signature.

    Raises:
        ValueError: For an unknown metric or options, or ``n_jobs < 1``.
    """
    import pandas as pd

    if n_jobs < 1:
        raise ValueError(f"n_jobs must be at least 1, got {n_jobs}")
    keys = list(dict.fromkeys(canonical_metric(k) for k in metrics))
    given = {canonical_metric(k): dict(v) for k, v in (options or {}).items()}
    opts = {key: metric_options(key, given.get(key)) for key in keys}
    chosen = {key: mt_metric(key, **opts[key]) for key in keys}
    streams = outputs.reference_streams()
    names = list(outputs.systems)
    tasks = [(key, name) for key in keys for name in names]
    if n_jobs == 1 or len(tasks) == 1 or len(tasks) * outputs.n_segments < _PARALLEL_FROM:
        arrays = {
            (key, name): chosen[key].segment_statistics(list(outputs.systems[name]), streams)
            for key, name in tasks
        }
    else:
        arrays = _in_workers(tasks, opts, outputs, streams, n_jobs)
    segments = np.asarray(outputs.segments)
    found = {}
    for key in keys:
        metric = chosen[key]
        parts = []
        for name in names:
            part = pd.DataFrame(arrays[(key, name)], columns=list(metric.stat_names))
            part.insert(0, "example_id", segments)
            part.insert(0, "system", name)
            parts.append(part)
        found[key] = SegmentStatistics(
            key=key,
            metric=metric,
            options=opts[key],
            signature=metric.signature(len(streams)),
            frame=pd.concat(parts, ignore_index=True),
        )
    return found


def _in_workers(
    tasks: list[tuple[str, str]],
    opts: Mapping[str, dict[str, Any]],
    outputs: MTOutputs,
    streams: list[list[str]],
    n_jobs: int,
) -> dict[tuple[str, str], np.ndarray]:
    import multiprocessing
    import sys
    from concurrent.futures import ProcessPoolExecutor

    # Forked workers need no importable __main__ (a notebook kernel or a script without a
    # main guard has none) and only compute: they touch no kernel thread or lock.
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    context = multiprocessing.get_context(method)
    # The slowest metric first, so the workers finish together.
    order = sorted(tasks, key=lambda t: t[0] != "ter")
    with ProcessPoolExecutor(
        max_workers=min(n_jobs, len(tasks)),
        mp_context=context,
        initializer=_init_worker,
        initargs=(streams,),
    ) as pool:
        futures = {
            task: pool.submit(_worker, task[0], opts[task[0]], list(outputs.systems[task[1]]))
            for task in order
        }
        return {task: future.result() for task, future in futures.items()}


_WORKER: dict[str, Any] = {}


def _init_worker(streams: list[list[str]]) -> None:
    _WORKER["streams"] = streams
    _WORKER["metrics"] = {}


def _worker(key: str, options: dict[str, Any], hypotheses: list[str]) -> np.ndarray:
    cache: dict[str, MTMetric] = _WORKER["metrics"]
    ident = f"{key}:{sorted(options.items())}"
    if ident not in cache:
        cache[ident] = mt_metric(key, **options)  # keeps its reference n-grams between calls
    return cache[ident].segment_statistics(hypotheses, _WORKER["streams"])


def log_names(scores: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """Scores as ``<metric>.<system>`` names that MLflow accepts (``chrF2++`` is ``chrF2pp``).

    Args:
        scores: Metric name to system to score (e.g. ``corpus_scores(...).to_dict()``).

    Returns:
        Flat name to score; characters MLflow rejects become ``_``.
    """

    def clean(text: str) -> str:
        return _LOG_NAME.sub("_", text.replace("+", "p"))

    return {
        f"{clean(str(metric))}.{clean(str(system))}": float(value)
        for metric, column in scores.items()
        for system, value in column.items()
    }
