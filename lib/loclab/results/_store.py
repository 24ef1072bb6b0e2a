"""Where an experiment's records live, and the one reader and one atomic writer of each.

``<state>/results/<experiment>/``::

    jobs.json          JobsRecord: the latest run, its spec as run and its job stage
    sweep.json         SweepRecord: the study's trials and winners
    comparison.json    ComparisonRecord: tests, verdicts, breakdowns, ranking
    comparison.txt     the verdict table as printed
    history/           HistoryPoint per finished run: <run_id>.json and its arrays <run_id>.npz
    schedule.json      ScheduleRecord: the schedule's baseline, status, ticks and alerts
    notebooks/         scrubbed copies of the notebooks of jobs and trials that did not complete
    report-failed.ipynb  the report notebook as far as it ran, when rendering failed
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError

from loclab.exceptions import StateError
from loclab.io import exclusive_lock, read_json, write_bytes, write_text
from loclab.paths import StateDir
from loclab.results._base import Record
from loclab.results._comparison import ComparisonRecord
from loclab.results._history import (
    HistoryPoint,
    PointArrays,
    decode_arrays,
    encode_arrays,
    sha256,
)
from loclab.results._jobs import JobsRecord
from loclab.results._schedule import ScheduleRecord
from loclab.results._sweep import SweepRecord

__all__ = [
    "COMPARISON_FILE",
    "HISTORY_DIR",
    "JOBS_FILE",
    "NOTEBOOKS_DIR",
    "SCHEDULE_FILE",
    "SWEEP_FILE",
    "TABLE_FILE",
    "ExperimentResults",
    "RecordError",
    "read_record",
    "write_record",
]

JOBS_FILE = "jobs.json"
SWEEP_FILE = "sweep.json"
COMPARISON_FILE = "comparison.json"
TABLE_FILE = "comparison.txt"
HISTORY_DIR = "history"
SCHEDULE_FILE = "schedule.json"
NOTEBOOKS_DIR = "notebooks"
REPORT_FAILED_FILE = "report-failed.ipynb"
#: Notebooks larger than this are not copied (the record names the original).
MAX_NOTEBOOK_COPY_BYTES = 10 * 1024 * 1024

R = TypeVar("R", bound=Record)


class RecordError(StateError):
    """A stored record cannot be read: damaged, or written by another version of loclab."""


@dataclass(frozen=True)
class ExperimentResults:
    """The records of one experiment.

    Attributes:
        state: The state folder.
        experiment: The experiment's name.
    """

    state: StateDir
    experiment: str

    @property
    def folder(self) -> Path:
        """``<state>/results/<experiment>``."""
        return self.state.results(self.experiment)

    @property
    def jobs_file(self) -> Path:
        return self.folder / JOBS_FILE

    @property
    def sweep_file(self) -> Path:
        return self.folder / SWEEP_FILE

    @property
    def comparison_file(self) -> Path:
        return self.folder / COMPARISON_FILE

    @property
    def table_file(self) -> Path:
        return self.folder / TABLE_FILE

    @property
    def report_failed_file(self) -> Path:
        return self.folder / REPORT_FAILED_FILE

    @property
    def history_dir(self) -> Path:
        return self.folder / HISTORY_DIR

    @property
    def schedule_file(self) -> Path:
        return self.folder / SCHEDULE_FILE

    def exists(self) -> bool:
        """True when any record is stored."""
        return any(p.exists() for p in (self.jobs_file, self.sweep_file, self.comparison_file))

    # -- readers ------------------------------------------------------------------------------

    def read_jobs(self) -> JobsRecord | None:
        """The jobs record, None when there is none.

        Raises:
            RecordError: It is damaged or from another version of loclab.
        """
        return read_record(self.jobs_file, JobsRecord)

    def read_sweep(self) -> SweepRecord | None:
        """The sweep record, None when there is none (see :meth:`read_jobs`)."""
        return read_record(self.sweep_file, SweepRecord)

    def read_comparison(self) -> ComparisonRecord | None:
        """The comparison record, None when there is none (see :meth:`read_jobs`)."""
        return read_record(self.comparison_file, ComparisonRecord)

    def read_history(self) -> list[HistoryPoint]:
        """Every point of the experiment's history, oldest first (empty without history).

        Raises:
            RecordError: A point is damaged or from another version of loclab.
        """
        if not self.history_dir.is_dir():
            return []
        points = [read_record(path, HistoryPoint) for path in self.history_dir.glob("*.json")]
        return sorted((p for p in points if p is not None), key=lambda p: (p.ended, p.run_id))

    def read_point(self, run_id: str) -> HistoryPoint | None:
        """The point whose id (or MLflow run) is ``run_id``, None when there is none."""
        found = read_record(self.history_dir / f"{run_id}.json", HistoryPoint)
        if found is not None:
            return found
        return next((p for p in self.read_history() if p.matches(run_id)), None)

    def read_point_arrays(self, point: HistoryPoint) -> PointArrays:
        """The per-example values of ``point`` (empty when it kept none).

        Raises:
            RecordError: The arrays file is missing or does not match the point.
        """
        if not point.arrays_file:
            return PointArrays()
        path = self.history_dir / point.arrays_file
        again = "its run cannot be compared example by example; accept a newer baseline"
        try:
            data = path.read_bytes()
        except OSError as err:
            raise RecordError(f"{path}: cannot be read ({_first_line(err)}); {again}") from None
        if sha256(data) != point.arrays_sha256:
            raise RecordError(f"{path}: does not match its point (changed or damaged); {again}")
        try:
            return decode_arrays(data, point.arrays)
        except (OSError, ValueError, KeyError) as err:
            raise RecordError(f"{path}: damaged ({_first_line(err)}); {again}") from None

    def read_schedule(self) -> ScheduleRecord | None:
        """The schedule's state, None before the first tick (see :meth:`read_jobs`)."""
        return read_record(self.schedule_file, ScheduleRecord)

    # -- writers ------------------------------------------------------------------------------

    def write_point(self, point: HistoryPoint, arrays: PointArrays | None = None) -> HistoryPoint:
        """Store a history point and its per-example arrays; return the point as stored.

        The arrays are written first; the point (which names them and their hash) last, so
        a point that exists is complete.
        """
        update: dict[str, object] = {"arrays": [], "arrays_file": None, "arrays_bytes": 0}
        if arrays is not None and arrays.values:
            data, entries = encode_arrays(arrays)
            name = f"{point.run_id}.npz"
            write_bytes(self.history_dir / name, data)
            update = {
                "arrays": entries,
                "arrays_file": name,
                "arrays_bytes": len(data),
                "arrays_sha256": sha256(data),
            }
        stored = point.model_copy(update=update)
        write_record(self.history_dir / f"{point.run_id}.json", stored)
        return stored

    def write_schedule(self, record: ScheduleRecord) -> Path:
        """Store the schedule's state atomically; return its path (see :meth:`update_schedule`)."""
        return write_record(self.schedule_file, record)

    def update_schedule(
        self, change: Callable[[ScheduleRecord], ScheduleRecord]
    ) -> ScheduleRecord:
        """Read, change and store the schedule's state under a lock shared by all processes.

        A tick that runs for an hour and a tick that records a skip meanwhile both go through
        here, so neither loses the other's change.

        Args:
            change: Turns the stored state (a new one before the first tick) into the next.

        Returns:
            The state as stored.
        """
        with self._schedule_lock():
            current = self.read_schedule() or ScheduleRecord(experiment=self.experiment)
            updated = change(current)
            self.write_schedule(updated)
            return updated

    @contextlib.contextmanager
    def _schedule_lock(self) -> Iterator[None]:
        with exclusive_lock(self.state.schedules(self.experiment) / "state.lock", wait=True):
            yield

    def write_jobs(self, record: JobsRecord) -> Path:
        """Store the jobs record atomically; return its path."""
        return write_record(self.jobs_file, record)

    def write_sweep(self, record: SweepRecord) -> Path:
        """Store the sweep record atomically; return its path."""
        return write_record(self.sweep_file, record)

    def write_comparison(self, record: ComparisonRecord, table: str | None = None) -> Path:
        """Store the comparison record (and its printed table) atomically; return its path."""
        if table is not None:
            write_text(self.table_file, table)
        return write_record(self.comparison_file, record)

    def keep_notebook(self, name: str, source: Path) -> str | None:
        """Keep a scrubbed copy of a job's executed notebook with the records.

        Args:
            name: The job's name (the copy's file name).
            source: The executed notebook.

        Returns:
            The copy's path relative to the results folder, or None when there is nothing
            to copy (no notebook, or one too large).
        """
        from loclab.security import scrub_notebook_file

        if not source.is_file() or source.stat().st_size > MAX_NOTEBOOK_COPY_BYTES:
            return None
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name) or "job"
        target = self.folder / NOTEBOOKS_DIR / f"{safe}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        shutil.copyfile(source, tmp)
        scrub_notebook_file(tmp)
        tmp.replace(target)
        return f"{NOTEBOOKS_DIR}/{target.name}"


#: What to do about a record that cannot be read.
_AGAIN = "run the experiment again (loclab run SPEC) to rewrite it"


def read_record(path: Path, model: type[R], *, again: str = _AGAIN) -> R | None:
    """The record of type ``model`` stored at ``path``; None when there is no file.

    Args:
        path: The record's file.
        model: Its model (its ``SCHEMA`` must match the file's ``schema``).
        again: What the user should do about a file that cannot be read.

    Raises:
        RecordError: The file is damaged or from another version of loclab.
    """
    if not path.exists():
        return None
    try:
        data = read_json(path)
    except (OSError, ValueError) as err:
        raise RecordError(f"{path}: damaged ({_first_line(err)}); {again}") from None
    if not isinstance(data, dict):
        raise RecordError(f"{path}: damaged (not a JSON object); {again}")
    found = data.get("schema")
    if found != model.SCHEMA:
        raise RecordError(
            f"{path}: written by another version of loclab (schema {found or 'none'}; this "
            f"version reads {model.SCHEMA}); {again}"
        )
    try:
        return model.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise RecordError(f"{path}: damaged ({where}: {first['msg']}); {again}") from None


def write_record(path: Path, record: Record) -> Path:
    """Store ``record`` at ``path`` atomically; return the path.

    Secret values known to this process (:func:`loclab.security.known_secrets`) are replaced
    with ``[REDACTED]`` in every text field (a failure message quoting a token, the spec as
    run with a ``${VAR}`` expanded); numbers and the record's shape are left as they are.
    """
    from loclab.security import known_secrets

    text = record.model_dump_json(by_alias=True, indent=2)
    if known_secrets():
        import json

        text = json.dumps(_scrub_strings(json.loads(text)), indent=2, ensure_ascii=False)
    return write_text(path, text + "\n")


def _scrub_strings(node: object) -> object:
    from loclab.security import scrub_values

    if isinstance(node, str):
        return scrub_values(node)
    if isinstance(node, list):
        return [_scrub_strings(v) for v in node]
    if isinstance(node, dict):
        return {k: _scrub_strings(v) for k, v in node.items()}
    return node


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
