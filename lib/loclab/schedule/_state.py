"""The schedule's state machine: which run is the baseline, and which ticks send an alert.

Statuses are ``new``, ``ok``, ``regressed`` and ``failed``. Alerts go out on transitions
only: into ``regressed`` (``regression``), out of ``regressed`` or ``failed`` into ``ok``
(``recovered``), and into ``failed`` (``failure``); a regression that persists tick after
tick, or a run that keeps failing, is said once.

Baselines (``schedule.baseline``):

* ``last_good``: the latest run that did not regress (the first run, then each ``ok``
  tick's run), or the one ``loclab schedule accept`` made the baseline;
* ``previous``: the run before this one (a regression is a drop from one tick to the next,
  so a persisting regression reads as ``ok`` on the following tick);
* a run id: that run (``loclab history SPEC`` lists them), whatever happens.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from loclab.results import HistoryPoint, ScheduleRecord, ScheduleStatus, Tick, TickOutcome

__all__ = ["BaselineError", "accept_latest", "alert_for", "choose_baseline", "next_state"]


class BaselineError(Exception):
    """The pinned baseline run is not in the history (bad input)."""


def choose_baseline(
    mode: str, state: ScheduleRecord, history: Sequence[HistoryPoint], current: HistoryPoint
) -> HistoryPoint | None:
    """The run ``current`` is tested against; None when there is none yet (the first run).

    Args:
        mode: ``last_good``, ``previous`` or a run id.
        state: The schedule's state before this tick.
        history: Every point, oldest first (``current`` included).
        current: This tick's run.

    Raises:
        BaselineError: ``mode`` pins a run that is not in the history.
    """
    earlier = [p for p in history if p.run_id != current.run_id and p.ended <= current.ended]
    if mode == "previous":
        return earlier[-1] if earlier else None
    if mode == "last_good":
        if state.baseline_run_id:
            found = next((p for p in history if p.run_id == state.baseline_run_id), None)
            if found is not None:
                return found
        # No tick yet (or its baseline was removed): the run before this one.
        return earlier[-1] if earlier else None
    found = next((p for p in history if p.matches(mode)), None)
    if found is None:
        raise BaselineError(
            f"schedule.baseline: run '{mode}' is not in the history of {current.experiment}; "
            "loclab history SPEC lists the runs (or use last_good)"
        )
    return found


def alert_for(
    previous: ScheduleStatus, outcome: TickOutcome
) -> Literal["regression", "recovered", "failure"] | None:
    """The alert a tick sends: only when the status changes (see the module docstring)."""
    if outcome == "regressed":
        return "regression" if previous != "regressed" else None
    if outcome in ("ok", "baseline"):
        return "recovered" if previous in ("regressed", "failed") else None
    if outcome == "failed":
        return "failure" if previous != "failed" else None
    return None


def next_state(state: ScheduleRecord, tick: Tick, *, mode: str) -> ScheduleRecord:
    """The state after ``tick``: status and since when, the next baseline, the tick kept.

    Skipped ticks and bad input change nothing but the list of ticks.
    """
    status: ScheduleStatus = state.status
    if tick.outcome in ("ok", "baseline"):
        status = "ok"
    elif tick.outcome == "regressed":
        status = "regressed"
    elif tick.outcome == "failed":
        status = "failed"
    update: dict[str, object] = {"baseline_mode": mode}
    if status != state.status:
        update.update(status=status, since=tick.started, since_run_id=tick.run_id)
    if mode == "last_good" and tick.outcome in ("ok", "baseline") and tick.run_id:
        update["baseline_run_id"] = tick.run_id
    elif mode != "last_good" and tick.baseline_run_id:
        update["baseline_run_id"] = tick.baseline_run_id
    return state.model_copy(update=update).with_tick(tick)


def accept_latest(
    state: ScheduleRecord, history: Sequence[HistoryPoint], *, mode: str, now: float
) -> ScheduleRecord:
    """The state after ``loclab schedule accept``: the latest run is the baseline, status ok.

    Raises:
        BaselineError: There is no finished run, or ``mode`` pins a run (edit the spec).
    """
    if mode not in ("last_good", "previous"):
        raise BaselineError(
            f"schedule.baseline pins run '{mode}'; to accept another run, set "
            "schedule.baseline to last_good (or to the run id you want)"
        )
    if not history:
        raise BaselineError(
            f"{state.experiment} has no finished run to accept; run loclab schedule run SPEC"
        )
    latest = history[-1]
    update: dict[str, object] = {"baseline_run_id": latest.run_id, "accepted": now}
    if state.status != "ok":
        update.update(status="ok", since=now, since_run_id=latest.run_id)
    return state.model_copy(update=update)
