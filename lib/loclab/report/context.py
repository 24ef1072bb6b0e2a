"""What a report is made from: the stored results of one experiment, read once.

A report never runs anything: it reads ``jobs.json`` (the job stage), ``sweep.json`` (the
sweep) and ``comparison.json`` (the analysis) from ``<state>/results/<experiment>/``, plus the
learning curves from MLflow (or, when MLflow is unreachable, the jobs' own metric files).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loclab.exceptions import LoclabError
from loclab.paths import StateDir

__all__ = ["NoResultsError", "ReportContext", "load_context"]


class NoResultsError(LoclabError):
    """The experiment has no stored results to report on."""


@dataclass
class ReportContext:
    """Everything the report's sections read.

    Attributes:
        experiment: The experiment's name.
        state: The state folder the results come from.
        jobs: ``jobs.json`` (None when the job stage never ran).
        sweep: ``sweep.json`` (None without a sweep).
        comparison: ``comparison.json`` (None without a ``compare:`` section).
        generated: When the report was made (seconds since the epoch).
        attachments: Folder beside the report where failed jobs' notebooks are copied
            (None: no copies, the notebooks are named by path).
        attachments_href: The same folder, relative to the report page.
        tracking_uri: MLflow store of the learning curves ("" for the state folder's).
        notes: Caveats found while loading (a stale comparison, an unreadable file).
    """

    experiment: str
    state: StateDir
    jobs: dict[str, Any] | None = None
    sweep: dict[str, Any] | None = None
    comparison: dict[str, Any] | None = None
    generated: float = field(default_factory=time.time)
    attachments: Path | None = None
    attachments_href: str = ""
    tracking_uri: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def spec(self) -> dict[str, Any]:
        """The spec as run (validated, defaults filled in)."""
        for source in (self.jobs, self.comparison):
            if source and isinstance(source.get("spec_as_run"), dict):
                return source["spec_as_run"]
        return {}

    @property
    def title(self) -> str:
        """The report's title: the spec's ``report.title``, else the experiment's name."""
        title = (self.spec.get("report") or {}).get("title")
        return str(title) if title else f"{self.experiment}: experiment report"

    @property
    def description(self) -> str:
        """The spec's description (the question the experiment answers)."""
        return str(self.spec.get("description") or "")

    @property
    def summary_text(self) -> str:
        """The spec's ``report.summary``: a paragraph the author wrote for readers."""
        return str((self.spec.get("report") or {}).get("summary") or "")

    @property
    def job_list(self) -> list[dict[str, Any]]:
        """The jobs of the job stage (empty without one)."""
        return list((self.jobs or {}).get("jobs") or [])

    @property
    def provenance(self) -> dict[str, str]:
        """Provenance tags of the experiment's run (git, versions, host)."""
        return dict((self.jobs or {}).get("provenance") or {})

    @property
    def parent_run_id(self) -> str | None:
        """The experiment's MLflow parent run."""
        for source in (self.jobs, self.comparison):
            if source and source.get("mlflow_parent_run_id"):
                return str(source["mlflow_parent_run_id"])
        return None

    @property
    def run_time(self) -> float | None:
        """When the experiment's run ended (seconds since the epoch)."""
        if self.jobs and self.jobs.get("ended"):
            return float(self.jobs["ended"])
        return None

    @property
    def headline(self) -> str:
        """One plain sentence for the reports index."""
        if self.comparison and self.comparison.get("headline"):
            return str(self.comparison["headline"])
        jobs = self.job_list
        if self.sweep and not jobs:
            best = self.sweep.get("best_value")
            metric = self.sweep.get("metric", "the metric")
            if best is None:
                return f"Sweep of {len(self.sweep.get('trials', []))} trials: no trial completed."
            return (
                f"Sweep of {len(self.sweep.get('trials', []))} trials: best {metric} "
                f"{best:.4g} (trial {self.sweep.get('best_number')})."
            )
        done = sum(1 for j in jobs if j.get("state") == "COMPLETED")
        return f"{done} of {len(jobs)} job(s) completed; no comparison was configured."


def _read(path: Path, notes: list[str]) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        notes.append(f"{path.name} could not be read ({err}); its sections are left out.")
        return None
    return data if isinstance(data, dict) else None


def load_context(
    experiment: str,
    state_dir: str | Path | None = None,
    *,
    attachments: str | Path | None = None,
    attachments_href: str = "",
    tracking_uri: str = "",
) -> ReportContext:
    """Read an experiment's stored results.

    Args:
        experiment: The experiment's name (the spec's ``name:``).
        state_dir: The state folder; empty or None: ``$LOCLAB_STATE_DIR``, else the
            project's ``.loclab`` (the project found from the working directory).
        attachments: Folder for copies of failed jobs' notebooks (created on use).
        attachments_href: That folder relative to the report page.
        tracking_uri: MLflow store; empty: ``$MLFLOW_TRACKING_URI`` or the state folder's.

    Raises:
        NoResultsError: Nothing is stored for the experiment.
    """
    from loclab.compare.stage import COMPARISON_FILE
    from loclab.pipeline import JOBS_FILE
    from loclab.sweep.results import RESULTS_FILE

    if state_dir:
        state = StateDir(Path(state_dir).resolve())
    else:
        from loclab.spec import find_project_root

        state = StateDir.for_project(find_project_root(Path.cwd()))
    folder = state.results(experiment)
    notes: list[str] = []
    jobs = _read(folder / JOBS_FILE, notes)
    sweep = _read(folder / RESULTS_FILE, notes)
    comparison = _read(folder / COMPARISON_FILE, notes)
    if jobs is None and sweep is None and comparison is None:
        raise NoResultsError(
            f"no stored results for experiment '{experiment}' in {folder}; "
            "run the experiment first (loclab run SPEC)"
        )
    if jobs and comparison:
        ran, compared = jobs.get("mlflow_parent_run_id"), comparison.get("mlflow_parent_run_id")
        if ran and compared and ran != compared:
            notes.append(
                "The comparison shown is from an earlier run than the job list "
                f"(MLflow run {compared}, not {ran}): the latest run did not reach the "
                "comparison stage."
            )
    spec_sweep = ((jobs or comparison or {}).get("spec_as_run") or {}).get("sweep")
    if sweep is not None and jobs is not None and spec_sweep is None:
        notes.append("The sweep shown is stored from an earlier run; the spec has no sweep now.")
        sweep = None
    ctx = ReportContext(
        experiment=experiment,
        state=state,
        jobs=jobs,
        sweep=sweep,
        comparison=comparison,
        attachments=Path(attachments) if attachments else None,
        attachments_href=attachments_href,
        tracking_uri=tracking_uri,
        notes=notes,
    )
    return ctx
