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

__all__ = ["Slot", "SweepFailedError", "SweepOutcome", "count_trials", "short", "trial_state"]


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
