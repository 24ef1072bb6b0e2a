"""Interactive runs: a template notebook run by hand, kept like a job and read back by ``list``.

``<state>/interactive/<run>/`` is the run's job tree (the same layout a job has:
``output/data/``, ``model/``, ``checkpoints/metrics.jsonl``) plus ``interactive.json``, its
:class:`InteractiveRecord`, rewritten atomically whenever the notebook reports something.
A comparison that takes an interactive run as one of its systems (``loclab compare SPEC
--run ID``) keeps where it came from (:class:`loclab.results.InteractiveSource`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Final, Literal

from pydantic import Field

from loclab.paths import StateDir
from loclab.results._base import EpochMetrics, Record
from loclab.results._store import RecordError, read_record, write_record

__all__ = ["INTERACTIVE_FILE", "InteractiveRecord", "InteractiveRuns"]

INTERACTIVE_SCHEMA: Final = "loclab.interactive/1"
#: The record's file name inside the run's folder.
INTERACTIVE_FILE = "interactive.json"


class InteractiveRecord(Record):
    """One interactive run: a notebook executed by hand, with no job around it.

    Attributes:
        schema_: ``loclab.interactive/1``.
        name: The run's name (its folder's name), ``<notebook>-<date>-<time>``.
        notebook: The notebook file, when the kernel could tell (else empty).
        project_root: The project it belongs to.
        status: ``RUNNING`` until the kernel ends (or the notebook runs again), then
            ``FINISHED``.
        started: Start time (seconds since the epoch).
        ended: End time (None while running).
        params: The notebook's parameters as the run had them.
        metrics: Final metrics (reported without a step).
        epochs: Per-epoch metrics, in order (its learning curve).
        mlflow_run_id: Its MLflow run (None when MLflow could not be reached).
        mlflow_experiment: The MLflow experiment holding it.
        tracking_uri: The MLflow store (credentials hidden).
        launcher: The kernel's process (``host``, ``pid``, ``created``): a record left
            ``RUNNING`` by a kernel that is gone was interrupted.
        run_dir: The run's folder (a job's tree).
        predictions: Its ``predictions.parquet``, once written.
    """

    SCHEMA: ClassVar[str] = INTERACTIVE_SCHEMA
    schema_: Literal["loclab.interactive/1"] = Field(default=INTERACTIVE_SCHEMA, alias="schema")
    name: str
    notebook: str = ""
    project_root: str = ""
    status: Literal["RUNNING", "FINISHED", "FAILED", "KILLED"] = "RUNNING"
    started: float
    ended: float | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, float] = Field(default_factory=dict)
    epochs: list[EpochMetrics] = Field(default_factory=list)
    mlflow_run_id: str | None = None
    mlflow_experiment: str = ""
    tracking_uri: str = ""
    launcher: dict[str, Any] = Field(default_factory=dict)
    run_dir: str = ""
    predictions: str | None = None

    def last_values(self) -> dict[str, float]:
        """Final metrics, else the last epoch's values (what a listing shows)."""
        if self.metrics:
            return dict(self.metrics)
        return dict(self.epochs[-1].metrics) if self.epochs else {}


@dataclass(frozen=True)
class InteractiveRuns:
    """The interactive runs of a state folder.

    Attributes:
        state: The state folder.
    """

    state: StateDir

    @property
    def folder(self) -> Path:
        """``<state>/interactive``."""
        return self.state.interactive()

    def run_dir(self, name: str) -> Path:
        """The folder of run ``name`` (a job's tree)."""
        return self.folder / name

    def read(self, name: str) -> InteractiveRecord | None:
        """The record of run ``name``, None when there is none.

        Raises:
            RecordError: It is damaged or from another version of loclab.
        """
        return read_record(
            self.run_dir(name) / INTERACTIVE_FILE,
            InteractiveRecord,
            again="run the notebook again to start a new interactive run",
        )

    def write(self, record: InteractiveRecord) -> Path:
        """Store ``record`` atomically in its run's folder; return its path."""
        return write_record(self.run_dir(record.name) / INTERACTIVE_FILE, record)

    def all(self) -> list[InteractiveRecord]:
        """Every interactive run, newest first (damaged records are left out: :meth:`problems`)."""
        found = []
        for name in self._names():
            try:
                record = self.read(name)
            except RecordError:
                continue
            if record is not None:
                found.append(record)
        return sorted(found, key=lambda r: r.started, reverse=True)

    def matching(self, ref: str) -> list[InteractiveRecord]:
        """The runs ``ref`` names: its name, else a unique prefix of a name or MLflow run id.

        An exact name wins over prefixes; the caller decides what several matches mean.
        """
        runs = self.all()
        exact = [r for r in runs if r.name == ref or r.mlflow_run_id == ref]
        if exact or not ref:
            return exact
        return [
            r
            for r in runs
            if r.name.startswith(ref) or (r.mlflow_run_id or "").startswith(ref.lower())
        ]

    def problems(self) -> list[str]:
        """One line per record that cannot be read (damaged, or another loclab's)."""
        lines = []
        for name in self._names():
            try:
                self.read(name)
            except RecordError as err:
                lines.append(str(err))
        return lines

    def _names(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(p.name for p in self.folder.iterdir() if (p / INTERACTIVE_FILE).is_file())
