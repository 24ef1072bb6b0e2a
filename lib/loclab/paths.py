"""Where loclab keeps its state: one folder per project, git-ignored (``.loclab/``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["STATE_ENV", "StateDir"]

#: Variable that moves the state folder (tests, shared disks).
STATE_ENV = "LOCLAB_STATE_DIR"


@dataclass(frozen=True)
class StateDir:
    """Paths inside the state folder.

    Attributes:
        root: The folder (``<project>/.loclab`` by default).
    """

    root: Path

    @classmethod
    def for_project(cls, project_root: Path) -> StateDir:
        """``$LOCLAB_STATE_DIR`` if set, else ``<project_root>/.loclab``."""
        value = os.environ.get(STATE_ENV)
        return cls(Path(value).resolve() if value else project_root / ".loclab")

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
