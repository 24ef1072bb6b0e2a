"""What the driver keeps per running trial, and what a driver run hands back."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loclab.exceptions import LoclabError
from loclab.results import SweepRecord

if TYPE_CHECKING:
    import optuna

    from loclab.execution.runner import RunningJob

__all__ = [
    "Slot",
    "SweepFailedError",
    "SweepOutcome",
    "count_trials",
    "missing_metric",
    "short",
    "trial_state",
]


class SweepFailedError(LoclabError):
    """Too many trials failed: the notebook or the space is broken."""


@dataclass(frozen=True)
class SweepOutcome:
    """What a driver run left behind.

    Attributes:
        record: The stored sweep record.
        path: Where it was written.
        launched: Trials this driver started.
        recovered: Trials left running by a stopped driver, failed and re-queued.
        adopted: Trials left running by a stopped driver whose jobs this driver adopted.
    """

    record: SweepRecord
    path: Path
    launched: int
    recovered: list[int]
    adopted: list[int] = field(default_factory=list)


@dataclass
class Slot:
    """A running trial and what the driver has read of its metrics."""

    trial: optuna.Trial
    job: RunningJob
    attempt: int
    seen: int = 0
    reported: set[int] = field(default_factory=set)
    last_step: int | None = None
    last_value: float | None = None
    final_value: float | None = None
    pruned_at: int | None = None
    bad: str | None = None
    beat: float = field(default_factory=time.time)
    #: An adopted job that had failed or been stopped before this driver came: its trial is
    #: queued again.
    requeue: bool = False


def missing_metric(slot: Slot, metric: str, *, completed: bool = False) -> str | None:
    """Why a trial shows the sweep's metric is missing, or None while it may still come.

    Called until some trial has reported the metric (a misspelt ``sweep.metric``, or a notebook
    that logs another name, fails every trial the same way). A running trial that began its
    second epoch without it (a pruner needs it every epoch), or a trial that ``completed``
    without it, is enough.
    """
    records = slot.job.metrics()
    steps = sorted({int(r["step"]) for r in records if r.get("step") is not None})
    if not completed and len(steps) < 2:
        return None
    seen = sorted({k for r in records for k in (r.get("metrics") or {})})
    where = "its run" if completed else f"epoch {steps[0]}"
    need = "" if completed else " (the pruner needs it every epoch)"
    return (
        f"trial {slot.trial.number} finished {where} without reporting the sweep's metric "
        f"'{metric}'{need} (it reported: {', '.join(seen) or 'nothing'})"
    )


def count_trials(trials: list[optuna.trial.FrozenTrial]) -> dict[str, int]:
    from optuna.trial import TrialState

    done = sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials)
    running = sum(t.state == TrialState.RUNNING for t in trials)
    return {"done": done, "running": running}


def trial_state(name: str) -> Any:
    from optuna.trial import TrialState

    return TrialState[name]


def short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
