"""The sweep's stored outcome: ``<results>/sweep.json``, read by the stages after it."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loclab.io import write_json
from loclab.paths import StateDir

if TYPE_CHECKING:
    import optuna

    from loclab.spec import SweepSpec
    from loclab.sweep.storage import StudyLocation

__all__ = ["RESULTS_FILE", "build_results", "read_results", "winners", "write_results"]

RESULTS_FILE = "sweep.json"


def build_results(
    study: optuna.Study,
    sweep: SweepSpec,
    location: StudyLocation,
    *,
    mlflow_run_id: str | None = None,
) -> dict[str, Any]:
    """Everything a later stage or a person needs about the sweep, as JSON-ready data.

    The top-k list holds the best COMPLETE trials with distinct parameters (a pruned trial's
    value is only a partial one).
    """
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    counts = {state.name: 0 for state in TrialState}
    for t in trials:
        counts[t.state.name] += 1
    sign = -1.0 if sweep.direction == "maximize" else 1.0
    complete = sorted(
        (t for t in trials if t.state == TrialState.COMPLETE and t.value is not None),
        key=lambda t: (sign * float(t.value), t.number),  # type: ignore[arg-type]
    )
    top: list[dict[str, Any]] = []
    seen: set[str] = set()
    for t in complete:
        key = json.dumps(t.params, sort_keys=True, default=str)
        if key in seen:
            continue
        seen.add(key)
        top.append(
            {"rank": len(top) + 1, "number": t.number, "value": t.value, "params": t.params}
        )
        if len(top) == sweep.top_k:
            break
    best = top[0] if top else None
    return {
        "study_name": location.name,
        "storage": location.display,
        "storage_kind": location.kind,
        "direction": sweep.direction,
        "metric": sweep.metric,
        "n_trials": sweep.n_trials,
        "counts": {
            "complete": counts["COMPLETE"],
            "pruned": counts["PRUNED"],
            "failed": counts["FAIL"],
            "running": counts["RUNNING"],
            "waiting": counts["WAITING"],
        },
        "finished": counts["COMPLETE"] + counts["PRUNED"] >= sweep.n_trials,
        "best_value": best["value"] if best else None,
        "best_params": best["params"] if best else None,
        "best_number": best["number"] if best else None,
        "top_k": top,
        "mlflow_run_id": mlflow_run_id,
        "trials": [_trial_row(t) for t in trials],
    }


def _trial_row(t: optuna.trial.FrozenTrial) -> dict[str, Any]:
    attrs = t.user_attrs
    duration = None
    if t.datetime_start is not None and t.datetime_complete is not None:
        duration = (t.datetime_complete - t.datetime_start).total_seconds()
    value = t.value if t.values is not None else None
    if value is not None and not math.isfinite(value):
        value = None
    return {
        "number": t.number,
        "state": t.state.name,
        "value": value,
        "params": t.params,
        "duration": duration,
        "last_step": t.last_step,
        "failure": attrs.get("loclab.failure"),
        "job": attrs.get("loclab.job"),
        "attempt": attrs.get("loclab.attempt", 1),
        "requeued_from": attrs.get("loclab.requeued_from"),
        "run_dir": attrs.get("loclab.run_dir"),
        "mlflow_run_id": attrs.get("loclab.mlflow_run_id"),
    }


def write_results(state: StateDir, experiment: str, data: dict[str, Any]) -> Path:
    """Write ``sweep.json`` atomically; return its path."""
    path = state.results(experiment) / RESULTS_FILE
    write_json(path, data)
    return path


def read_results(state: StateDir, experiment: str) -> dict[str, Any] | None:
    """The stored ``sweep.json`` of an experiment, or None."""
    path = state.results(experiment) / RESULTS_FILE
    if not path.exists():
        return None
    return json.loads(path.read_text())


def winners(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{"top1": params, "top2": ...}``: searched parameters only, best first."""
    return {f"top{row['rank']}": dict(row["params"]) for row in data.get("top_k", [])}
