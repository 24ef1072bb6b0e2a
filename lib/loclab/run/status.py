"""``loclab status``: where any experiment is, in any stage, and how long is left.

Read from the records (the jobs record is written when a run starts and after every job),
the planned jobs, the run folders of jobs that are running (their ``status.json`` and
per-epoch ``metrics.jsonl``) and, with a sweep, its study. Nothing here writes anything.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loclab.execution.job import read_metrics, read_status
from loclab.execution.plan import plan_jobs
from loclab.execution.process import is_alive, same_host
from loclab.paths import Workspace
from loclab.results import ExperimentResults, JobsRecord, RecordError
from loclab.spec import Experiment

if TYPE_CHECKING:
    from loclab.sweep import SweepSnapshot

__all__ = ["ExperimentStatus", "JobStatus", "experiment_status", "render_experiment_status"]


@dataclass(frozen=True)
class JobStatus:
    """One planned job.

    Attributes:
        name: The job.
        state: ``waiting``, ``running``, or how it ended (``COMPLETED``, ``FAILED``...).
        reused: It was not run again: an identical earlier run was taken.
        started: When it started (running or ended jobs).
        ended: When it ended.
        epoch: The last epoch it reported (1-based), while running.
        metrics: The values reported with that epoch.
    """

    name: str
    state: str
    reused: bool = False
    started: float | None = None
    ended: float | None = None
    epoch: int | None = None
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ExperimentStatus:
    """An experiment's progress.

    Attributes:
        experiment: Its name.
        state: ``never run``, ``running``, ``interrupted`` (left running by a command that is
            gone), ``finished``, ``failed``, ``killed``, or ``stopped`` (a study with no run
            record and no running trial).
        stage: What it is doing: ``sweep``, ``jobs``, ``analysis``, ``report`` or ``done``.
        started: When the run started.
        ended: When it ended.
        workers: Jobs at once.
        sweep: The sweep's progress (with a sweep).
        jobs: Every planned job (empty while the sweep still decides them).
        jobs_after_sweep: The jobs depend on the sweep's winners, not known yet.
        analysed: The comparison of this run is stored.
        report: The latest report page, when one exists.
    """

    experiment: str
    state: str
    stage: str
    started: float | None = None
    ended: float | None = None
    workers: int = 1
    sweep: SweepSnapshot | None = None
    jobs: tuple[JobStatus, ...] = ()
    jobs_after_sweep: bool = False
    analysed: bool = False
    report: Path | None = None

    @property
    def done(self) -> int:
        """Jobs that ended (or were reused)."""
        return sum(1 for j in self.jobs if j.state not in ("waiting", "running"))

    @property
    def running(self) -> list[JobStatus]:
        """Jobs running now."""
        return [j for j in self.jobs if j.state == "running"]

    def remaining_s(self, now: float | None = None) -> float | None:
        """Seconds left for the jobs (None before one ran), plus the sweep's own estimate."""
        now = time.time() if now is None else now
        ran = [j.ended - j.started for j in self.jobs if j.ended and j.started and not j.reused]
        left: float | None = None
        if ran:
            mean = sum(ran) / len(ran)
            waiting = sum(1 for j in self.jobs if j.state == "waiting")
            running = sum(max(0.0, mean - (now - (j.started or now))) for j in self.running)
            left = (waiting * mean + running) / max(1, self.workers)
        if self.sweep is not None and self.sweep.done < self.sweep.n_trials:
            eta = self.sweep.eta()
            left = None if eta is None else eta + (left or 0.0)
        return left


def experiment_status(exp: Experiment, ws: Workspace) -> ExperimentStatus:
    """Where ``exp`` is now (see the module docstring)."""
    records = ExperimentResults(ws.state, exp.name)
    try:
        run = records.read_jobs()
        sweep_record = records.read_sweep() if exp.spec.sweep is not None else None
        comparison = records.read_comparison() if exp.spec.compare is not None else None
    except RecordError:
        run, sweep_record, comparison = None, None, None
    snapshot = _sweep_snapshot(exp, ws) if exp.spec.sweep is not None else None
    if run is None:
        if snapshot is None:
            return ExperimentStatus(exp.name, "never run", "not started", workers=exp.workers)
        # A study without a run record: a driver started by other means, or from before.
        state = "running" if snapshot.running else "stopped"
        return ExperimentStatus(
            exp.name, state, "sweep", started=snapshot.started, workers=exp.workers,
            sweep=snapshot,
        )  # fmt: skip
    state = _run_state(run)
    sweep_open = snapshot is not None and snapshot.done < snapshot.n_trials
    jobs: list[JobStatus] = []
    after_sweep = False
    if exp.spec.sweep is None or exp.spec.compare is not None:
        winners = {w.rank: w.params for w in sweep_record.winners} if sweep_record else {}
        try:
            plans = plan_jobs(exp, winners)
        except Exception:  # systems taken from a sweep that has no winner yet
            plans, after_sweep = [], True
        recorded = {j.name: j for j in run.jobs}
        for plan in plans:
            found = recorded.get(plan.name)
            if found is not None:
                jobs.append(
                    JobStatus(plan.name, found.state, found.cached, found.started, found.ended)
                )
            else:
                jobs.append(_live(ws.state.runs(exp.name) / plan.name, run.started, state))
    analysed = comparison is not None and (
        comparison.mlflow_parent_run_id == run.mlflow_parent_run_id
    )
    if state != "running":
        stage = "done"
    elif sweep_open or (exp.spec.sweep is not None and after_sweep):
        stage = "sweep"
    elif any(j.state in ("waiting", "running") for j in jobs):
        stage = "jobs"
    elif exp.spec.compare is not None and not analysed:
        stage = "analysis"
    else:
        stage = "report"
    report = ws.reports / exp.name / "index.html"
    return ExperimentStatus(
        experiment=exp.name,
        state=state,
        stage=stage,
        started=run.started,
        ended=run.ended,
        workers=exp.workers,
        sweep=snapshot,
        jobs=tuple(jobs),
        jobs_after_sweep=after_sweep,
        analysed=analysed,
        report=report if report.is_file() else None,
    )


def _run_state(run: JobsRecord) -> str:
    if run.status != "RUNNING":
        return run.status.lower()
    launcher = run.launcher
    if (
        launcher
        and same_host(launcher)
        and not is_alive(launcher.get("pid"), launcher.get("created"))
    ):
        return "interrupted"
    return "running"


def _live(run_dir: Path, since: float, run_state: str) -> JobStatus:
    """A job the record does not list yet: running (this run started it) or waiting."""
    status = read_status(run_dir)
    if (
        run_state == "running"
        and status is not None
        and status.get("state") == "RUNNING"
        and float(status.get("started") or 0) >= since
    ):
        epoch: int | None = None
        metrics: dict[str, float] = {}
        for record in read_metrics(run_dir / "checkpoints" / "metrics.jsonl"):
            if record.get("step") is not None:
                epoch = int(record["step"]) + 1
                metrics = {k: float(v) for k, v in (record.get("metrics") or {}).items()}
        return JobStatus(run_dir.name, "running", started=status.get("started"), epoch=epoch,
                         metrics=metrics)  # fmt: skip
    return JobStatus(run_dir.name, "waiting")


def _sweep_snapshot(exp: Experiment, ws: Workspace) -> SweepSnapshot | None:
    from loclab.sweep import StudyNotFoundError, SweepSnapshot, load_study, locate

    sweep = exp.spec.sweep
    assert sweep is not None
    location = locate(exp, ws)
    try:
        study = load_study(location)
    except StudyNotFoundError:
        return None
    return SweepSnapshot.from_trials(
        study.get_trials(deepcopy=False),
        study_name=location.name,
        storage=location.display,
        metric=sweep.metric,
        direction=sweep.direction,
        n_trials=sweep.n_trials,
        workers=sweep.workers,
    )


def render_experiment_status(status: ExperimentStatus, now: float | None = None) -> Any:
    """A rich renderable: the run, the sweep, every job, the analysis, the report, time left."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from loclab.sweep import render_status
    from loclab.sweep.progress import format_seconds

    now = time.time() if now is None else now
    if status.state == "never run":
        return Text(f"{status.experiment}: never run (loclab run SPEC starts it)")
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(status.started or now))
    lines = [f"{status.experiment}: {status.state}, started {when}"]
    if status.state == "running":
        lines[0] += f"; stage: {status.stage}"
        left = status.remaining_s(now)
        lines.append(f"remaining about {format_seconds(left)}")
    elif status.state == "interrupted":
        lines[0] += " (the command that ran it is gone; run it again to go on)"
    total = len(status.jobs)
    if status.jobs_after_sweep:
        lines.append("jobs: planned once the sweep has its winners")
    elif total:
        counts: dict[str, int] = {}
        for j in status.jobs:
            key = "reused" if j.reused else j.state.lower()
            counts[key] = counts.get(key, 0) + 1
        shown = ", ".join(f"{n} {k}" for k, n in counts.items())
        lines.append(f"jobs: {status.done}/{total} done ({shown}); {status.workers} at a time")
    if status.stage in ("analysis", "report", "done") and status.analysed:
        lines.append("analysis: stored")
    if status.report is not None:
        lines.append(f"report: {status.report}")
    parts: list[Any] = [Text("\n".join(lines))]
    if status.sweep is not None:
        parts.append(render_status(status.sweep, now))
    if status.running:
        table = Table(title="running jobs", title_justify="left", show_edge=False)
        for col in ("job", "epoch", "last values", "running for"):
            table.add_column(col)
        for j in status.running:
            values = ", ".join(f"{k}={v:.4g}" for k, v in sorted(j.metrics.items()))
            table.add_row(
                j.name,
                "-" if j.epoch is None else str(j.epoch),
                values or "-",
                format_seconds(None if j.started is None else now - j.started),
            )
        parts.append(table)
    return Group(*parts)
