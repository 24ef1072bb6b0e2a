"""Interactive runs: a template notebook run by hand is tracked like a job.

Opened in JupyterLab with no job around it, a notebook gets an *interactive run*: a job tree
under ``<state>/interactive/<run>/`` (the job contract's layout), an MLflow run in the
project's store (experiment ``interactive``, tag ``loclab.interactive=true``, the notebook's
parameters as params, its metrics, provenance tags), and an
:class:`~loclab.results.InteractiveRecord` that ``loclab list`` reads.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loclab.execution.contract import JobLayout
from loclab.execution.process import identity
from loclab.paths import StateDir
from loclab.results import EpochMetrics, InteractiveRecord, InteractiveRuns
from loclab.tracking.provenance import provenance
from loclab.tracking.tracker import Tracker

__all__ = ["INTERACTIVE_EXPERIMENT", "INTERACTIVE_TAG", "InteractiveRun"]

#: The MLflow experiment that holds every interactive run of a project.
INTERACTIVE_EXPERIMENT = "interactive"
#: The tag that marks an interactive run (value ``true``).
INTERACTIVE_TAG = "loclab.interactive"


@dataclass
class InteractiveRun:
    """One interactive run, open until :meth:`finish`.

    Attributes:
        runs: The state folder's interactive runs.
        record: The run's record as last stored.
        tracker: The MLflow tracker (None when MLflow could not be reached).
    """

    runs: InteractiveRuns
    record: InteractiveRecord
    tracker: Tracker | None = None

    @property
    def layout(self) -> JobLayout:
        """The run's job tree."""
        return JobLayout(Path(self.record.run_dir))

    @classmethod
    def start(
        cls,
        state: StateDir,
        *,
        project_root: Path,
        notebook: Path | None,
        params: Mapping[str, Any],
        tracking_uri: str,
        say: Callable[[str], None] = print,
    ) -> InteractiveRun:
        """Create the run's folder, its MLflow run and its record.

        Args:
            state: The project's state folder.
            project_root: The project the notebook belongs to.
            notebook: The notebook file (None when the kernel cannot tell).
            params: The notebook's parameters as they are now.
            tracking_uri: The MLflow store.
            say: Where a line goes when MLflow cannot be reached (the run goes on untracked).
        """
        runs = InteractiveRuns(state)
        stem = notebook.stem if notebook is not None else "notebook"
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in stem) or "notebook"
        base = f"{safe}-{time.strftime('%Y%m%d-%H%M%S')}"
        name, n = base, 1
        while runs.run_dir(name).exists():
            n += 1
            name = f"{base}-{n}"
        layout = JobLayout(runs.run_dir(name))
        layout.create()
        shown = _relative(notebook, project_root) if notebook is not None else ""
        tracker: Tracker | None = None
        run_id: str | None = None
        try:
            root = state.artifacts if tracking_uri.startswith("sqlite:") else None
            tracker = Tracker(tracking_uri, artifact_root=root, tags=provenance(project_root))
            run_id = tracker.start_run(
                INTERACTIVE_EXPERIMENT,
                name,
                tags={
                    INTERACTIVE_TAG: "true",
                    "loclab.notebook": shown,
                    "loclab.run_dir": str(layout.root),
                    "mlflow.source.name": shown,
                    "mlflow.source.type": "NOTEBOOK",
                },
                params=params,
            )
        except Exception as err:  # the notebook still runs; its record is kept
            tracker = None
            first = (str(err).strip().splitlines() or [type(err).__name__])[0]
            say(f"loclab: MLflow not reached ({first}); this run is kept in {layout.root} only")
        from loclab.io import jsonable
        from loclab.security import scrub

        record = InteractiveRecord(
            name=name,
            notebook=str(notebook) if notebook is not None else "",
            project_root=str(project_root),
            started=time.time(),
            params=jsonable(dict(params)),
            mlflow_run_id=run_id,
            mlflow_experiment=INTERACTIVE_EXPERIMENT if run_id else "",
            tracking_uri=scrub(tracking_uri),
            launcher=identity(),
            run_dir=str(layout.root),
        )
        runs.write(record)
        return cls(runs, record, tracker)

    def report(self, values: Mapping[str, float], step: int | None) -> None:
        """Keep reported metrics in the record (finite values; a step's values merge)."""
        finite = {k: float(v) for k, v in values.items() if math.isfinite(float(v))}
        if step is None:
            update: dict[str, Any] = {"metrics": {**self.record.metrics, **finite}}
        else:
            epochs = list(self.record.epochs)
            if epochs and epochs[-1].step == step:
                epochs[-1] = EpochMetrics(step=step, metrics={**epochs[-1].metrics, **finite})
            else:
                epochs.append(EpochMetrics(step=step, metrics=finite))
            update = {"epochs": epochs}
        self._store(update)

    def wrote_predictions(self, path: Path) -> None:
        """Note the run's predictions file."""
        self._store({"predictions": str(path)})

    def finish(self, status: str = "FINISHED") -> None:
        """Close the run: outputs as MLflow artifacts, the final status (once; then no-op)."""
        if self.record.status != "RUNNING":
            return
        if self.tracker is not None and self.record.mlflow_run_id:
            run_id = self.record.mlflow_run_id
            try:
                self.tracker.log_artifact(run_id, self.layout.output_data_dir, "output")
                self.tracker.end_run(run_id, status)
            except Exception:  # the record below still says how the run ended
                pass
        self._store({"status": status, "ended": time.time()})

    def _store(self, update: Mapping[str, Any]) -> None:
        self.record = self.record.model_copy(update=dict(update))
        self.runs.write(self.record)


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)
