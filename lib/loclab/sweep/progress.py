"""What a sweep has done so far: a live progress bar for the driver, a table for status.

Both read the same :class:`SweepSnapshot`, computed from the study's trials alone, so
``loclab status`` in another terminal shows what the driver's bar shows.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna

    from loclab.spec import SweepSpec
    from loclab.sweep.storage import StudyLocation

__all__ = ["LiveProgress", "RunningTrial", "SweepSnapshot", "format_seconds", "render_status"]


@dataclass(frozen=True)
class RunningTrial:
    """A trial that is running now."""

    number: int
    job: str | None
    params: dict[str, Any]
    last_step: int | None
    last_value: float | None
    started: float | None


@dataclass(frozen=True)
class SweepSnapshot:
    """Counts, best value and timing of a study.

    Attributes:
        study_name: The study.
        storage: Where it lives (password hidden).
        metric: The sweep's metric.
        direction: ``maximize`` or ``minimize``.
        n_trials: Finished trials (COMPLETE + PRUNED) the sweep aims for.
        workers: Trials running at once.
        complete: COMPLETE trials.
        pruned: PRUNED trials.
        failed: FAIL trials.
        running: RUNNING trials.
        waiting: Queued trials (re-queued after a crash).
        best_value: Best COMPLETE value.
        best_number: Its trial number.
        best_params: Its parameters.
        started: Start of the first trial (epoch seconds).
        last_ended: End of the latest finished trial.
        mean_duration: Mean duration of finished trials (seconds).
        running_trials: Details of the running ones.
    """

    study_name: str
    storage: str
    metric: str
    direction: str
    n_trials: int
    workers: int
    complete: int = 0
    pruned: int = 0
    failed: int = 0
    running: int = 0
    waiting: int = 0
    best_value: float | None = None
    best_number: int | None = None
    best_params: dict[str, Any] = field(default_factory=dict)
    started: float | None = None
    last_ended: float | None = None
    mean_duration: float | None = None
    running_trials: tuple[RunningTrial, ...] = ()

    @property
    def done(self) -> int:
        """Trials that count toward ``n_trials``."""
        return self.complete + self.pruned

    def eta(self) -> float | None:
        """Seconds until ``n_trials`` are done, from the mean trial duration; None if unknown."""
        remaining = max(0, self.n_trials - self.done)
        if remaining == 0:
            return 0.0
        if not self.mean_duration:
            return None
        # Running trials are, on average, half done.
        work = max(0.0, remaining - self.running / 2)
        return work * self.mean_duration / max(1, min(self.workers, remaining))

    @classmethod
    def of_sweep(
        cls, trials: Sequence[optuna.trial.FrozenTrial], location: StudyLocation, sweep: SweepSpec
    ) -> SweepSnapshot:
        """Summarise the trials of the study at ``location``, run by ``sweep``."""
        return cls.from_trials(
            trials,
            study_name=location.name,
            storage=location.display,
            metric=sweep.metric,
            direction=sweep.direction,
            n_trials=sweep.n_trials,
            workers=sweep.workers,
        )

    @classmethod
    def from_trials(
        cls,
        trials: Sequence[optuna.trial.FrozenTrial],
        *,
        study_name: str,
        storage: str,
        metric: str,
        direction: str,
        n_trials: int,
        workers: int,
    ) -> SweepSnapshot:
        """Summarise a study's trials."""
        from optuna.trial import TrialState

        counts = {s: 0 for s in TrialState}
        durations: list[float] = []
        starts: list[float] = []
        ends: list[float] = []
        best: optuna.trial.FrozenTrial | None = None
        running: list[RunningTrial] = []
        for t in trials:
            counts[t.state] += 1
            if t.datetime_start is not None:
                starts.append(t.datetime_start.timestamp())
            if t.datetime_complete is not None:
                ends.append(t.datetime_complete.timestamp())
            if t.state in (TrialState.COMPLETE, TrialState.PRUNED) and t.datetime_complete:
                assert t.datetime_start is not None
                durations.append((t.datetime_complete - t.datetime_start).total_seconds())
            if (
                t.state == TrialState.COMPLETE
                and t.value is not None
                and math.isfinite(t.value)
                and _better(t.value, None if best is None else best.value, direction)
            ):
                best = t
            if t.state == TrialState.RUNNING:
                step = t.last_step
                running.append(
                    RunningTrial(
                        number=t.number,
                        job=t.user_attrs.get("loclab.job"),
                        params=dict(t.params),
                        last_step=step,
                        last_value=t.intermediate_values.get(step) if step is not None else None,
                        started=t.datetime_start.timestamp() if t.datetime_start else None,
                    )
                )
        return cls(
            study_name=study_name,
            storage=storage,
            metric=metric,
            direction=direction,
            n_trials=n_trials,
            workers=workers,
            complete=counts[TrialState.COMPLETE],
            pruned=counts[TrialState.PRUNED],
            failed=counts[TrialState.FAIL],
            running=counts[TrialState.RUNNING],
            waiting=counts[TrialState.WAITING],
            best_value=best.value if best else None,
            best_number=best.number if best else None,
            best_params=dict(best.params) if best else {},
            started=min(starts) if starts else None,
            last_ended=max(ends) if ends else None,
            mean_duration=sum(durations) / len(durations) if durations else None,
            running_trials=tuple(running),
        )


def _better(value: float, than: float | None, direction: str) -> bool:
    if than is None:
        return True
    return value > than if direction == "maximize" else value < than


def format_seconds(seconds: float | None) -> str:
    """``1:02:03``, ``4:05`` or ``?``."""
    if seconds is None or not math.isfinite(seconds):
        return "?"
    whole = round(seconds)
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _value(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def render_status(snap: SweepSnapshot, now: float | None = None) -> Any:
    """A rich renderable: counts, best trial, timing and running trials."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    now = time.time() if now is None else now
    # A sweep that is not running any more took until its last trial ended.
    until = now if snap.running or snap.last_ended is None else snap.last_ended
    elapsed = None if snap.started is None else until - snap.started
    head = Text.assemble(
        (f"study {snap.study_name}", "bold"),
        f"  ({snap.storage})\n",
        f"{snap.done}/{snap.n_trials} done: {snap.complete} complete, {snap.pruned} pruned; "
        f"{snap.failed} failed, {snap.running} running, {snap.waiting} queued\n",
        f"best {snap.metric} ({snap.direction}): {_value(snap.best_value)}",
        f" (trial {snap.best_number})" if snap.best_number is not None else "",
        "\n",
        f"elapsed {format_seconds(elapsed)}, remaining about {format_seconds(snap.eta())}",
    )
    parts: list[Any] = [head]
    if snap.best_params:
        best = Table(title="best parameters", title_justify="left", show_edge=False)
        best.add_column("parameter")
        best.add_column("value")
        for k, v in snap.best_params.items():
            best.add_row(
                k,
                repr(v) if isinstance(v, str) else f"{v:.6g}" if isinstance(v, float) else str(v),
            )
        parts.append(best)
    if snap.running_trials:
        table = Table(title="running", title_justify="left", show_edge=False)
        for col in ("trial", "job", "step", snap.metric, "running for"):
            table.add_column(col)
        for r in snap.running_trials:
            table.add_row(
                str(r.number),
                r.job or "-",
                "-" if r.last_step is None else str(r.last_step),
                _value(r.last_value),
                format_seconds(None if r.started is None else now - r.started),
            )
        parts.append(table)
    return Group(*parts)


class LiveProgress:
    """The driver's progress bar: done / pruned / failed, best value, elapsed and ETA.

    On a terminal, trial lines print above the bar; elsewhere (a log file, CI) only the lines
    are written, through ``say``.

    Args:
        total: ``n_trials``.
        title: Text before the bar.
        say: Where lines go when there is no terminal.
        enabled: False for no bar at all.
    """

    def __init__(
        self,
        total: int,
        title: str,
        say: Callable[[str], None] = print,
        *,
        enabled: bool = True,
    ) -> None:
        self.total = total
        self.title = title
        self._say = say
        self._progress: Any = None
        self._task: Any = None
        if enabled:
            from rich.console import Console

            console = Console(stderr=True)
            # A live bar needs a terminal that redraws in place (not a dumb one, not a
            # notebook cell: TTY_INTERACTIVE=0); elsewhere each trial is one plain line.
            if console.is_interactive:
                from rich.progress import (
                    BarColumn,
                    MofNCompleteColumn,
                    Progress,
                    TextColumn,
                    TimeElapsedColumn,
                )

                self._progress = Progress(
                    TextColumn("[bold]{task.description}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TextColumn("{task.fields[counts]}"),
                    TextColumn("best {task.fields[best]}"),
                    TimeElapsedColumn(),
                    TextColumn("ETA {task.fields[eta]}"),
                    console=console,
                    transient=False,
                )

    def __enter__(self) -> LiveProgress:
        if self._progress is not None:
            self._progress.start()
            self._task = self._progress.add_task(
                self.title, total=self.total, counts="", best="-", eta="?"
            )
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def update(self, snap: SweepSnapshot) -> None:
        """Show a new snapshot."""
        if self._progress is None:
            return
        self._progress.update(
            self._task,
            completed=min(snap.done, snap.n_trials),
            counts=f"{snap.pruned} pruned, {snap.failed} failed, {snap.running} running",
            best=_value(snap.best_value),
            eta=format_seconds(snap.eta()),
        )

    def say(self, line: str) -> None:
        """Print a line (above the bar on a terminal)."""
        if self._progress is not None:
            self._progress.console.print(line, markup=False, highlight=False)
        else:
            self._say(line)
