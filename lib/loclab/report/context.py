"""What a report is made from: the stored records of one experiment, read once.

A report never runs anything and opens nothing but the records (:mod:`loclab.results`): the
jobs record (with the spec as run, each job's final and per-epoch metrics, failures), the
sweep record (trials, intermediate values, importances, winners) and the comparison record.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loclab.exceptions import LoclabError
from loclab.paths import StateDir
from loclab.results import ComparisonRecord, ExperimentResults, JobsRecord, SweepRecord
from loclab.spec import Spec

__all__ = ["NoResultsError", "ReportContext", "load_context"]


class NoResultsError(LoclabError):
    """The experiment has no stored records to report on."""

    exit_code = 2


@dataclass
class ReportContext:
    """Everything the report's sections read.

    Attributes:
        experiment: The experiment's name.
        records: Where its records are (and notebook copies of failed jobs).
        run: The jobs record (None when the job stage never ran).
        sweep_record: The sweep record (None without a sweep).
        comparison_record: The comparison record (None without a ``compare:`` section).
        generated: When the report was made (seconds since the epoch).
        attachments: Folder beside the report where failed jobs' notebooks are copied
            (None: no copies, the notebooks are named by path).
        attachments_href: The same folder, relative to the report page.
        notes: Caveats found while loading (a stale comparison, an unreadable file).
    """

    experiment: str
    records: ExperimentResults
    run: JobsRecord | None = None
    sweep_record: SweepRecord | None = None
    comparison_record: ComparisonRecord | None = None
    generated: float = field(default_factory=time.time)
    attachments: Path | None = None
    attachments_href: str = ""
    notes: list[str] = field(default_factory=list)

    # -- typed views ----------------------------------------------------------------------

    @property
    def spec_model(self) -> Spec | None:
        """The spec as run (validated, defaults filled in), when a run is recorded."""
        return self.run.spec if self.run is not None else None

    # -- plain views (the sections' data, as JSON-like mappings) ----------------------------

    @property
    def spec(self) -> dict[str, Any]:
        """The spec as run, as a mapping (empty when unknown)."""
        spec = self.spec_model
        return spec.model_dump(mode="json") if spec is not None else {}

    @property
    def jobs(self) -> dict[str, Any] | None:
        """The jobs record as a mapping."""
        return self.run.model_dump(mode="json", by_alias=True) if self.run else None

    @property
    def sweep(self) -> dict[str, Any] | None:
        """The sweep record as a mapping, with the best trial's fields spelled out."""
        rec = self.sweep_record
        if rec is None:
            return None
        data = rec.model_dump(mode="json", by_alias=True)
        best = rec.best
        data.update(
            best_value=best.value if best else None,
            best_params=dict(best.params) if best else None,
            best_number=best.number if best else None,
            top_k=[w.model_dump(mode="json") for w in rec.winners],
            counts=rec.counts.model_dump(),
        )
        return data

    @property
    def comparison(self) -> dict[str, Any] | None:
        """The comparison record as a mapping."""
        rec = self.comparison_record
        return rec.model_dump(mode="json", by_alias=True) if rec else None

    @property
    def title(self) -> str:
        """The report's title: the spec's ``report.title``, else the experiment's name."""
        spec = self.spec_model
        if spec is not None and spec.report.title:
            return spec.report.title
        return f"{self.experiment}: experiment report"

    @property
    def description(self) -> str:
        """The spec's description (the question the experiment answers)."""
        spec = self.spec_model
        return spec.description if spec is not None else ""

    @property
    def summary_text(self) -> str:
        """The spec's ``report.summary``: a paragraph the author wrote for readers."""
        spec = self.spec_model
        return (spec.report.summary or "") if spec is not None else ""

    @property
    def job_list(self) -> list[dict[str, Any]]:
        """The jobs of the job stage (empty without one)."""
        return list((self.jobs or {}).get("jobs") or [])

    @property
    def provenance(self) -> dict[str, str]:
        """Provenance tags of the experiment's run (git, versions, host)."""
        return dict(self.run.provenance) if self.run else {}

    @property
    def parent_run_id(self) -> str | None:
        """The experiment's MLflow parent run."""
        for found in (self.run, self.comparison_record):
            if found is not None and found.mlflow_parent_run_id:
                return found.mlflow_parent_run_id
        return None

    @property
    def run_time(self) -> float | None:
        """When the experiment's run ended (seconds since the epoch)."""
        return self.run.ended if self.run else None

    @property
    def headline(self) -> str:
        """One plain sentence for the reports index."""
        if self.comparison_record is not None and self.comparison_record.headline:
            return self.comparison_record.headline
        jobs = self.run.jobs if self.run else []
        sweep = self.sweep_record
        if sweep is not None and not jobs:
            best = sweep.best
            if best is None:
                return f"Sweep of {len(sweep.trials)} trials: no trial completed."
            return (
                f"Sweep of {len(sweep.trials)} trials: best {sweep.metric} "
                f"{best.value:.4g} (trial {best.number})."
            )
        done = sum(1 for j in jobs if j.ok)
        return f"{done} of {len(jobs)} job(s) completed; no comparison was configured."

    def notebook_copy(self, relative: str | None) -> Path | None:
        """A notebook copy kept with the records (``notebooks/<job>.ipynb``), if it exists."""
        if not relative:
            return None
        path = self.records.folder / relative
        return path if path.is_file() else None


def load_context(
    experiment: str,
    state_dir: str | Path,
    *,
    attachments: str | Path | None = None,
    attachments_href: str = "",
) -> ReportContext:
    """Read an experiment's stored records.

    Args:
        experiment: The experiment's name (the spec's ``name:``).
        state_dir: The state folder.
        attachments: Folder for copies of failed jobs' notebooks (created on use).
        attachments_href: That folder relative to the report page.

    Raises:
        NoResultsError: Nothing is stored for the experiment.
        RecordError: A record is damaged or from another version of loclab.
    """
    records = ExperimentResults(StateDir(Path(state_dir).resolve()), experiment)
    run = records.read_jobs()
    sweep = records.read_sweep()
    comparison = records.read_comparison()
    if run is None and sweep is None and comparison is None:
        raise NoResultsError(
            f"no stored results for experiment '{experiment}' in {records.folder}; "
            "run the experiment first (loclab run SPEC)"
        )
    notes: list[str] = []
    if run is not None and comparison is not None:
        ran, compared = run.mlflow_parent_run_id, comparison.mlflow_parent_run_id
        if ran and compared and ran != compared:
            notes.append(
                "The comparison shown is from an earlier run than the job list "
                f"(MLflow run {compared}, not {ran}): the latest run did not reach the "
                "comparison stage."
            )
    if sweep is not None and run is not None and run.spec.sweep is None:
        notes.append("The sweep shown is stored from an earlier run; the spec has no sweep now.")
        sweep = None
    return ReportContext(
        experiment=experiment,
        records=records,
        run=run,
        sweep_record=sweep,
        comparison_record=comparison,
        attachments=Path(attachments) if attachments else None,
        attachments_href=attachments_href,
        notes=notes,
    )
