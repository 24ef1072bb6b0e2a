"""Where loclab keeps its state (``.loclab/``) and its reports: the workspace of a command.

The command line builds one :class:`Workspace` from its flags and the environment, once, and
passes it down; library code never looks for it on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["STATE_DIR", "STATE_ENV", "StateDir", "Workspace"]

#: Variable that moves the state folder (read by the command line only).
STATE_ENV = "LOCLAB_STATE_DIR"
#: The state folder's name inside a project.
STATE_DIR = ".loclab"


@dataclass(frozen=True)
class StateDir:
    """Paths inside the state folder.

    Attributes:
        root: The folder (``<project>/.loclab`` by default).
    """

    root: Path

    @classmethod
    def for_project(cls, project_root: Path) -> StateDir:
        """``<project_root>/.loclab``."""
        return cls(project_root / STATE_DIR)

    @property
    def mlflow_db(self) -> Path:  # noqa: D102
        return self.root / "mlflow.db"

    @property
    def artifacts(self) -> Path:  # noqa: D102
        return self.root / "artifacts"

    @property
    def cache(self) -> Path:  # noqa: D102
        return self.root / "cache"

    def runs(self, experiment: str) -> Path:
        """Run directories of an experiment's jobs."""
        return self.root / "runs" / experiment

    def results(self, experiment: str) -> Path:
        """Stored results of an experiment (sweep winners, comparison, report inputs)."""
        return self.root / "results" / experiment

    def studies(self) -> Path:
        """Optuna journal files."""
        return self.root / "studies"

    def schedules(self, experiment: str) -> Path:
        """An experiment's schedule: tick lock and tick logs (its state is a record)."""
        return self.root / "schedules" / experiment

    def interactive(self) -> Path:
        """Run folders of notebooks run by hand (interactive runs)."""
        return self.root / "interactive"


@dataclass(frozen=True)
class Workspace:
    """Where a command reads and writes, decided once by the command line.

    Attributes:
        state: The state folder (MLflow store, run folders, records, studies).
        reports: The reports folder.
        storage: An RDB URL for sweeps (``--storage``), overriding the spec's; None: the
            spec's ``sweep.storage`` or the state folder's journal file.
        tracking_uri: The MLflow tracking URI (``$MLFLOW_TRACKING_URI``); None: the state
            folder's SQLite store (or the SageMaker backend's server).
    """

    state: StateDir
    reports: Path
    storage: str | None = None
    tracking_uri: str | None = None

    @classmethod
    def for_project(
        cls,
        project_root: Path,
        *,
        state_dir: Path | None = None,
        reports_dir: Path | None = None,
        storage: str | None = None,
        tracking_uri: str | None = None,
    ) -> Workspace:
        """The workspace of a project: ``<root>/.loclab`` and ``<root>/reports`` by default."""
        state = StateDir(state_dir.resolve()) if state_dir else StateDir.for_project(project_root)
        reports = (reports_dir or project_root / "reports").resolve()
        return cls(state, reports, storage=storage or None, tracking_uri=tracking_uri or None)

    def job_env(self) -> dict[str, str]:
        """Variables every job of this workspace gets (a data cache shared by all jobs)."""
        return {"LOCLAB_CACHE_DIR": str(self.state.cache)}
