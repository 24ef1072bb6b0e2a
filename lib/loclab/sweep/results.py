"""The sweep's record (``sweep.json``): built from the study once the driver stops."""

from __future__ import annotations

import json
import math
import warnings
from typing import TYPE_CHECKING

from loclab.results import SweepRecord, TrialCounts, TrialRecord, Winner
from loclab.sweep import _recovery as rec

if TYPE_CHECKING:
    import optuna

    from loclab.spec import SweepSpec
    from loclab.sweep.storage import StudyLocation

__all__ = ["ATTR_NOTEBOOK_COPY", "build_record"]

#: Trial attribute: the scrubbed copy of a trial's notebook kept with the records.
ATTR_NOTEBOOK_COPY = "loclab.notebook_copy"


def build_record(
    study: optuna.Study,
    experiment: str,
    sweep: SweepSpec,
    location: StudyLocation,
    *,
    mlflow_run_id: str | None = None,
) -> SweepRecord:
    """Everything a later stage, a report or a person needs about the sweep.

    The winners are the best COMPLETE trials with distinct parameters (a pruned trial's
    value is only a partial one), best first. Parameter importances (fANOVA) are computed
    here, once, from the study.
    """
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    counts = {state.name: 0 for state in TrialState}
    for t in trials:
        counts[t.state.name] += 1
    sign = -1.0 if sweep.direction == "maximize" else 1.0
    complete = sorted(
        (
            t
            for t in trials
            if t.state == TrialState.COMPLETE and t.value is not None and math.isfinite(t.value)
        ),
        key=lambda t: (sign * float(t.value), t.number),  # type: ignore[arg-type]
    )
    winners: list[Winner] = []
    seen: set[str] = set()
    for t in complete:
        key = json.dumps(t.params, sort_keys=True, default=str)
        if key in seen:
            continue
        seen.add(key)
        winners.append(
            Winner(rank=len(winners) + 1, number=t.number, value=float(t.value), params=t.params)  # type: ignore[arg-type]
        )
        if len(winners) == sweep.top_k:
            break
    importances, note = _importances(study, len(complete), len(sweep.space))
    return SweepRecord(
        experiment=experiment,
        study_name=location.name,
        storage=location.display,
        storage_kind=location.kind,
        metric=sweep.metric,
        direction=sweep.direction,
        n_trials=sweep.n_trials,
        sampler=sweep.sampler,
        pruner=sweep.pruner,
        counts=TrialCounts(
            complete=counts["COMPLETE"],
            pruned=counts["PRUNED"],
            failed=counts["FAIL"],
            running=counts["RUNNING"],
            waiting=counts["WAITING"],
        ),
        finished=counts["COMPLETE"] + counts["PRUNED"] >= sweep.n_trials,
        winners=winners,
        importances=importances,
        importances_note=note,
        mlflow_run_id=mlflow_run_id,
        trials=[_trial(t) for t in trials],
    )


def _importances(
    study: optuna.Study, n_complete: int, n_params: int
) -> tuple[dict[str, float] | None, str]:
    if n_params < 2:
        return None, "only one parameter was searched, so there is nothing to rank it against"
    if n_complete < 2:
        return None, "fewer than two trials completed"
    try:
        import optuna

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = optuna.importance.get_param_importances(study)
        return {k: float(v) for k, v in found.items()}, (
            "fANOVA (Optuna's default evaluator) over the completed trials"
        )
    except Exception as err:
        return None, f"{type(err).__name__}: {err}"


def _trial(t: optuna.trial.FrozenTrial) -> TrialRecord:
    attrs = t.user_attrs
    duration = None
    if t.datetime_start is not None and t.datetime_complete is not None:
        duration = (t.datetime_complete - t.datetime_start).total_seconds()
    value = t.value if t.values is not None else None
    if value is not None and not math.isfinite(value):
        value = None
    intermediate = {
        int(step): float(v) for step, v in t.intermediate_values.items() if math.isfinite(v)
    }
    requeued = attrs.get(rec.ATTR_REQUEUED_FROM)
    return TrialRecord(
        number=t.number,
        state=t.state.name,
        value=value,
        params=dict(t.params),
        intermediate=intermediate,
        duration_s=duration,
        last_step=t.last_step,
        failure=attrs.get(rec.ATTR_FAILURE),
        job=attrs.get(rec.ATTR_JOB),
        attempt=int(attrs.get(rec.ATTR_ATTEMPT, 1)),
        requeued_from=int(requeued) if requeued is not None else None,
        run_dir=attrs.get(rec.ATTR_RUN_DIR),
        mlflow_run_id=attrs.get(rec.ATTR_MLFLOW_RUN),
        notebook_copy=attrs.get(ATTR_NOTEBOOK_COPY),
    )
