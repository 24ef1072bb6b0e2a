"""Where a compared system that is an interactive run came from (a notebook run by hand).

Stored on its system's summary in the comparison record (:class:`SystemSummary`), so the
verdict table and the report can mark it without opening the run's folder.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import Field

from loclab.results._base import RecordModel

__all__ = ["InteractiveSource"]


class InteractiveSource(RecordModel):
    """A compared system that is an interactive run, not jobs: where it came from.

    Attributes:
        run: The run's name, as ``loclab list`` shows it.
        notebook: Its notebook, relative to the project.
        started: When it started (seconds since the epoch).
        ended: When it ended (None while its kernel still holds it open).
        status: Its status when it was compared (``RUNNING``: still open in its kernel).
        params: Its parameters that differ from the baseline's, with the run's values.
        baseline_params: The baseline's values of those parameters.
        mlflow_run_id: Its MLflow run.
        run_dir: Its folder (a job's tree).
        test: How it was tested, in words (``on examples only (paired permutation test ...)``).
    """

    run: str
    notebook: str = ""
    started: float
    ended: float | None = None
    status: str = "FINISHED"
    params: dict[str, Any] = Field(default_factory=dict)
    baseline_params: dict[str, Any] = Field(default_factory=dict)
    mlflow_run_id: str | None = None
    run_dir: str = ""
    test: str = ""

    @property
    def date(self) -> str:
        """When it started, ``YYYY-MM-DD HH:MM`` (local time)."""
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(self.started))

    def changes(self) -> str:
        """``hidden=32 (baseline 16), lr=0.01 (baseline 0.003)``, or that nothing differs."""
        if not self.params:
            return "the baseline's parameters"
        return ", ".join(
            f"{k}={_short(v)} (baseline {_short(self.baseline_params.get(k))})"
            for k, v in self.params.items()
        )

    def describe(self) -> str:
        """``notebooks/templates/x.ipynb by hand, 2026-12-01 10:15; hidden=32 (baseline 16)``."""
        where = self.notebook or "a notebook"
        still = "; still open in its kernel" if self.status == "RUNNING" else ""
        return f"{where} run by hand {self.date} ({self.run}{still}); {self.changes()}"


def _short(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."
