"""The experiment's history: one point per finished run (``history/<run_id>.json`` + ``.npz``).

A point holds what a later run is compared with: when and from what it ran (date, git SHA and
dirty flag, data and test-set fingerprints, parameters, package versions), every system's
compared metrics with an interval, and the per-example values behind them (kept in a
compressed ``.npz`` beside the JSON, named by :attr:`HistoryPoint.arrays`), so a scheduled
tick can pair this run with any earlier one example by example.
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final, Literal

import numpy as np
from pydantic import Field

from loclab.results._base import Record, RecordModel

__all__ = [
    "ArrayEntry",
    "HistoryPoint",
    "MetricPoint",
    "PointArrays",
    "PointMetric",
    "SystemPoint",
    "changes_since",
    "decode_arrays",
    "encode_arrays",
    "new_run_id",
]

HISTORY_SCHEMA: Final = "loclab.history/1"
#: The largest integer kept exactly in an ``int32`` array.
_INT32_MAX = 2**31 - 1


class MetricPoint(RecordModel):
    """One system's score on one metric in one run.

    Attributes:
        value: The score (corpus metric, mean of per-example values, or a final metric;
            the mean over runs when there are several seeds).
        ci: 95 % interval of the score (across seeds with several, else a bootstrap over
            examples), None when there is none.
        ci_method: How the interval was computed.
        n_examples: Examples scored (None for a run-level metric).
        n_runs: Completed runs (seeds) of the system.
    """

    value: float | None = None
    ci: tuple[float, float] | None = None
    ci_method: str = ""
    n_examples: int | None = None
    n_runs: int = 1


class SystemPoint(RecordModel):
    """One system in one run.

    Attributes:
        name: System key.
        label: Name shown to readers.
        metrics: Metric key to its score.
    """

    name: str
    label: str = ""
    metrics: dict[str, MetricPoint] = Field(default_factory=dict)


class PointMetric(RecordModel):
    """A compared metric, as a later run needs it to test against this one.

    Attributes:
        key: Its name in the spec.
        name: Display name.
        source: ``corpus`` (per-example statistics), ``predictions`` (per-example values),
            ``correlation`` or ``final`` (one value per run).
        role: ``confirmatory`` (the deciding metric) or ``secondary``.
        higher_is_better: Its direction.
        binary: Whether per-example values are all 0/1.
        metric_class: The :mod:`loclab.stats` class that scores the statistics (``corpus``).
        options: Its constructor options.
        signature: sacrebleu's signature of the scores, when there is one.
    """

    key: str
    name: str
    source: str
    role: str = "secondary"
    higher_is_better: bool = True
    binary: bool = False
    metric_class: str | None = None
    options: dict[str, Any] | None = None
    signature: str | None = None


class ArrayEntry(RecordModel):
    """One per-example array in the point's ``.npz``.

    Attributes:
        system: System key.
        metric: Metric key.
        name: Its name inside the ``.npz``.
        shape: ``(runs, examples)`` or ``(runs, examples, n_stats)``.
        dtype: Stored type (``int32`` when every value is a whole number: exact and small).
    """

    system: str
    metric: str
    name: str
    shape: list[int]
    dtype: str


class HistoryPoint(Record):
    """One finished run of an experiment, as its history keeps it.

    Attributes:
        schema_: ``loclab.history/1``.
        experiment: The experiment's name.
        run_id: The point's id (``YYYYMMDD-HHMMSS`` in UTC of the run's start), what
            ``schedule.baseline`` may pin.
        mlflow_run_id: The experiment's MLflow run (also accepted as a pinned baseline).
        started: Start time (seconds since the epoch).
        ended: End time.
        date: ``ended`` as ISO 8601 in UTC.
        spec_path: The spec file.
        params: Parameters (spec + ``-p``).
        git_sha: Commit of the project.
        git_dirty: Whether it had uncommitted changes.
        versions: Package versions (loclab, python and the libraries provenance records).
        data_fingerprint: Content hash of the data the jobs read (their
            ``loclab.data_fingerprint`` tags; several joined by ``+``).
        testset_fingerprint: Content hash of the test set alone (``loclab.testset_fingerprint``,
            else the data fingerprint): equal fingerprints, pairable examples.
        snapshot: The data snapshot scored (``loclab.snapshot``), when the notebook tags one.
        data_tags: Every ``loclab.data*`` / ``loclab.snapshot`` tag the jobs wrote.
        inputs_key: The run's content address.
        baseline_system: The comparison's baseline system.
        deciding_metric: The comparison's deciding metric.
        practical_threshold: ``compare.practical_threshold`` as run.
        metrics: The compared metrics, deciding first.
        systems: Every system's scores.
        n_examples: Examples compared (None without per-example data).
        arrays: The per-example arrays in the ``.npz``.
        arrays_file: The ``.npz`` file name (None without per-example data).
        arrays_bytes: Its size.
        arrays_sha256: Its content hash.
        notes: Caveats from building the point.
    """

    SCHEMA: ClassVar[str] = HISTORY_SCHEMA
    schema_: Literal["loclab.history/1"] = Field(default=HISTORY_SCHEMA, alias="schema")
    experiment: str
    run_id: str
    mlflow_run_id: str | None = None
    started: float
    ended: float
    date: str
    spec_path: str = ""
    params: dict[str, Any] = Field(default_factory=dict)
    git_sha: str = "unknown"
    git_dirty: bool = False
    versions: dict[str, str] = Field(default_factory=dict)
    data_fingerprint: str = ""
    testset_fingerprint: str = ""
    snapshot: str | None = None
    data_tags: dict[str, str] = Field(default_factory=dict)
    inputs_key: str = ""
    baseline_system: str | None = None
    deciding_metric: str | None = None
    practical_threshold: float | None = None
    metrics: list[PointMetric] = Field(default_factory=list)
    systems: list[SystemPoint] = Field(default_factory=list)
    n_examples: int | None = None
    arrays: list[ArrayEntry] = Field(default_factory=list)
    arrays_file: str | None = None
    arrays_bytes: int = 0
    arrays_sha256: str = ""
    notes: list[str] = Field(default_factory=list)

    def system(self, name: str) -> SystemPoint | None:
        """The system called ``name``, if it is in the point."""
        return next((s for s in self.systems if s.name == name), None)

    def metric(self, key: str) -> PointMetric | None:
        """The compared metric ``key``, if it is in the point."""
        return next((m for m in self.metrics if m.key == key), None)

    def value(self, system: str, metric: str) -> MetricPoint | None:
        """``system``'s score on ``metric``, if both are in the point."""
        found = self.system(system)
        return found.metrics.get(metric) if found is not None else None

    def matches(self, run_id: str) -> bool:
        """True when ``run_id`` names this point (its id or its MLflow run)."""
        return run_id in (self.run_id, self.mlflow_run_id)


@dataclass(frozen=True)
class PointArrays:
    """A point's per-example values, as the tick tests them.

    Attributes:
        example_ids: Example ids, in the order of every array's example axis.
        values: ``(system, metric)`` to ``(runs, examples)`` values or
            ``(runs, examples, n_stats)`` statistics.
    """

    example_ids: np.ndarray | None = None
    values: Mapping[tuple[str, str], np.ndarray] = field(default_factory=dict)

    def get(self, system: str, metric: str) -> np.ndarray | None:
        """The array of ``system`` on ``metric``, if stored."""
        return self.values.get((system, metric))


def new_run_id(started: float) -> str:
    """A point id from the run's start: ``YYYYMMDD-HHMMSS`` in UTC."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime(started))


def _compact(values: np.ndarray) -> np.ndarray:
    """``int32`` when every value is a whole number that fits (exact, and compresses well)."""
    arr = np.asarray(values)
    if arr.dtype.kind in "iu" and (arr.size == 0 or np.abs(arr).max() <= _INT32_MAX):
        return arr.astype(np.int32)
    whole = arr.dtype.kind == "f" and arr.size > 0 and bool(np.all(np.isfinite(arr)))
    if whole and np.all(arr == np.round(arr)) and np.abs(arr).max() <= _INT32_MAX:
        return arr.astype(np.int32)
    return arr.astype(np.float64) if arr.dtype.kind in "biuf" else arr


def encode_arrays(arrays: PointArrays) -> tuple[bytes, list[ArrayEntry]]:
    """The ``.npz`` bytes of a point's arrays and their entries (no pickles inside).

    Example ids that are not numbers are stored as text.
    """
    contents: dict[str, np.ndarray] = {}
    if arrays.example_ids is not None:
        ids = np.asarray(arrays.example_ids)
        contents["example_ids"] = ids if ids.dtype.kind in "iu" else ids.astype(str)
    entries = []
    for index, ((system, metric), values) in enumerate(arrays.values.items()):
        name = f"a{index}"
        stored = _compact(values)
        contents[name] = stored
        entries.append(
            ArrayEntry(
                system=system,
                metric=metric,
                name=name,
                shape=list(stored.shape),
                dtype=str(stored.dtype),
            )
        )
    buffer = io.BytesIO()
    np.savez_compressed(buffer, allow_pickle=False, **contents)
    return buffer.getvalue(), entries


def decode_arrays(data: bytes, entries: list[ArrayEntry]) -> PointArrays:
    """A point's arrays from its ``.npz`` bytes (values as ``float64``)."""
    with np.load(io.BytesIO(data), allow_pickle=False) as found:
        ids = found["example_ids"] if "example_ids" in found.files else None
        values = {
            (e.system, e.metric): np.asarray(found[e.name], dtype=np.float64) for e in entries
        }
    return PointArrays(example_ids=ids, values=values)


#: Lines of "what changed" at most per kind (parameters, versions).
_MAX_CHANGES = 8


def _short(sha: str) -> str:
    return sha[:10] if sha and sha != "unknown" else "unknown"


def changes_since(baseline: HistoryPoint, point: HistoryPoint) -> list[str]:
    """What differs between two runs: code, data, parameters, package versions (lines)."""
    lines: list[str] = []
    if (baseline.git_sha, baseline.git_dirty) != (point.git_sha, point.git_dirty):
        dirty = " (uncommitted changes)" if point.git_dirty else ""
        lines.append(f"code: {_short(baseline.git_sha)} -> {_short(point.git_sha)}{dirty}")
    if baseline.data_fingerprint != point.data_fingerprint:
        snap = ""
        if baseline.snapshot or point.snapshot:
            snap = f"snapshot {baseline.snapshot or '?'} -> {point.snapshot or '?'}, "
        testset = baseline.testset_fingerprint == point.testset_fingerprint
        lines.append(
            f"data: {snap}fingerprint {baseline.data_fingerprint or '?'} -> "
            f"{point.data_fingerprint or '?'}" + ("" if testset else " (the test set changed too)")
        )
    keys = sorted(set(baseline.params) | set(point.params))
    params = [
        f"{k}: {baseline.params.get(k, '(unset)')!r} -> {point.params.get(k, '(unset)')!r}"
        for k in keys
        if baseline.params.get(k) != point.params.get(k)
    ]
    if params:
        lines.append("parameters: " + "; ".join(params[:_MAX_CHANGES]))
    libs = sorted(set(baseline.versions) | set(point.versions))
    versions = [
        f"{k} {baseline.versions.get(k, '-')} -> {point.versions.get(k, '-')}"
        for k in libs
        if baseline.versions.get(k) != point.versions.get(k)
    ]
    if versions:
        lines.append("package versions: " + "; ".join(versions[:_MAX_CHANGES]))
    return lines or ["nothing recorded changed (same code, data, parameters and versions)"]


def sha256(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()
