"""What a report is made from: the stored records of one experiment, read once.

A report never runs anything and opens nothing but the records (:mod:`loclab.results`): the
jobs record (with the spec as run, each job's final and per-epoch metrics, failures), the
sweep record (trials, intermediate values, importances, winners) and the comparison record.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from loclab.exceptions import LoclabError
from loclab.paths import StateDir
from loclab.report.contents import Audience, contents
from loclab.results import (
    ComparisonRecord,
    ExperimentResults,
    JobsRecord,
    RecordError,
    SweepRecord,
)
from loclab.spec import Spec

__all__ = ["NoResultsError", "ReportContext", "load_context", "readable_name"]

_SMALL_WORDS = {"a", "an", "and", "by", "for", "in", "of", "on", "or", "the", "to", "vs", "with"}


def readable_name(name: str) -> str:
    """An experiment's name as a title: ``term-qa`` reads "Term QA", ``mt-engines`` "MT engines".

    Words of two letters, or three without a vowel, that are not English function words read
    as acronyms (QA, MT, QE, CNN, NMT).
    """
    words = [w for w in re.split(r"[-_.\s]+", name) if w]
    out = []
    for i, word in enumerate(words):
        short = len(word) <= 2 or (len(word) == 3 and not set(word.lower()) & set("aeiouy"))
        if short and word.isalpha() and word.lower() not in _SMALL_WORDS:
            out.append(word.upper())
        elif i == 0:
            out.append(word[:1].upper() + word[1:])
        else:
            out.append(word)
    return " ".join(out) or name


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

    @property
    def spec_model(self) -> Spec | None:
        """The spec as run (validated, defaults filled in), when a run is recorded."""
        return self.run.spec if self.run is not None else None

    @property
    def audience(self) -> Audience:
        """Who the report is for (the spec's ``report.audience``): it orders the sections."""
        spec = self.spec_model
        return spec.report.audience if spec is not None else "stakeholders"

    @property
    def parts(self) -> tuple[tuple[str, str], ...]:
        """The report's parts in reading order, (anchor, heading) pairs, for its audience.

        "Since the last good run" opens the report of a monitored experiment only (one with a
        ``schedule:`` or scheduled ticks): a one-off experiment's report opens with its answer.
        """
        found = contents(self.audience)
        return found if self.monitored else tuple(p for p in found if p[0] != "since")

    @property
    def monitored(self) -> bool:
        """Whether the experiment runs on a schedule (its spec says so, or ticks ran)."""
        spec = self.spec_model
        if spec is not None and getattr(spec, "schedule", None) is not None:
            return True
        try:
            return self.records.read_schedule() is not None
        except RecordError:
            return True  # the section says the history cannot be read

    @property
    def title(self) -> str:
        """The report's title: the spec's ``report.title``, else its question, else its name.

        Without a title the spec's description (the question the experiment answers) is the
        title when it is one short sentence; else the experiment's name, made readable.
        """
        spec = self.spec_model
        if spec is not None and spec.report.title:
            return spec.report.title
        question = " ".join(self.description.split())
        if question and len(question) <= 120 and question.count(". ") == 0:
            return question
        return readable_name(self.experiment)

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
    def failed(self) -> bool:
        """Whether the latest run failed or was stopped before it finished."""
        return self.run is not None and self.run.status in ("FAILED", "KILLED")

    @property
    def status(self) -> str:
        """One word for the reports index: the answer's status, or ``FAILED``."""
        if self.failed:
            return "FAILED" if self.run is not None and self.run.status == "FAILED" else "STOPPED"
        answer = self.comparison_record.answer if self.comparison_record is not None else None
        if answer is not None and answer.status:
            return answer.status
        return ""

    @property
    def headline(self) -> str:
        """One plain sentence for the reports index (the answer, when there is one)."""
        if self.comparison_record is not None and self.comparison_record.headline:
            return self.comparison_record.headline
        jobs = self.run.jobs if self.run else []
        sweep = self.sweep_record
        if sweep is not None and not jobs:
            from loclab.spec.compare import metric_label
            from loclab.stats import proportion_se as std_error

            spec = self.spec_model
            names = dict(spec.compare.metric_names) if spec and spec.compare else {}
            metric = metric_label(sweep.metric, names)
            best = sweep.best
            counts = sweep.counts
            ran = (
                f"Sweep of {len(sweep.trials)} trials ({counts.complete} completed, "
                f"{counts.pruned} pruned, {counts.failed} failed)"
            )
            if best is None:
                return f"{ran}: no trial completed."
            value = f"{best.value:.4g}"
            if 0.0 <= best.value <= 1.0 and sweep.metric.endswith(("acc", "accuracy")):
                value = f"{100 * best.value:.1f}%"
            text = f"{ran}: best {metric} {value} (trial {best.number})"
            se = std_error(best.value, sweep.validation_examples)
            if se is not None:
                close = [
                    t
                    for t in sweep.trials
                    if t.state == "COMPLETE" and t.number != best.number
                    and t.value is not None and abs(t.value - best.value) <= se
                ]  # fmt: skip
                text += (
                    f"; {len(close)} other trial(s) within one standard error "
                    f"(±{100 * se:.1f} points on {sweep.validation_examples:,} validation "
                    "examples)"
                )
            return text + "."
        done = sum(1 for j in jobs if j.ok)
        spec = self.spec_model
        if spec is not None and spec.compare is not None:
            completed = {j.system for j in jobs if j.ok}
            lost = sorted({j.system for j in jobs if j.system and j.system not in completed})
            why = f": no completed job of {', '.join(lost)}" if lost else ""
            return f"{done} of {len(jobs)} job(s) completed; the comparison could not run{why}."
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
