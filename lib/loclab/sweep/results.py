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

    from loclab.spec import Experiment, SweepSpec
    from loclab.sweep.storage import StudyLocation

__all__ = ["ATTR_JOB_TAGS", "ATTR_NOTEBOOK_COPY", "VALIDATION_TAG", "build_record", "sweep_key"]

#: Trial attribute: the scrubbed copy of a trial's notebook kept with the records.
ATTR_NOTEBOOK_COPY = "loclab.notebook_copy"
#: Trial attribute: the labels its notebook wrote (data fingerprint, validation set size).
ATTR_JOB_TAGS = "loclab.job_tags"
#: The job tag holding the number of validation examples the sweep metric is measured on.
VALIDATION_TAG = "loclab.validation_examples"


def sweep_key(exp: Experiment, location: StudyLocation) -> str:
    """The content address of ``exp``'s sweep (see :func:`loclab.results.sweep_key`)."""
    from loclab.execution.job import code_fingerprint
    from loclab.results import sweep_key as key

    assert exp.spec.sweep is not None
    return key(
        exp.spec.sweep,
        f"{location.name}|{location.display}",
        exp.notebook_path.read_bytes(),
        code_fingerprint(),
        exp.job_overrides(trial={}),
    )


def build_record(
    study: optuna.Study,
    experiment: str,
    sweep: SweepSpec,
    location: StudyLocation,
    *,
    mlflow_run_id: str | None = None,
    inputs_key: str = "",
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
    records = [_trial(t) for t in trials]
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
        validation_examples=_validation_examples(records),
        mlflow_run_id=mlflow_run_id,
        trials=records,
        inputs_key=inputs_key,
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


def _validation_examples(trials: list[TrialRecord]) -> int | None:
    """The validation set size the trials reported (the sweep metric's sampling noise)."""
    sizes = {t.job_tags.get(VALIDATION_TAG, "") for t in trials}
    found = sorted(int(s) for s in sizes if s.isdigit() and int(s) > 0)
    # Trials of one sweep share their data; were they ever to differ, the smallest is the
    # noisiest and the honest one to draw.
    return found[0] if found else None


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
        job_tags=_tags(attrs.get(ATTR_JOB_TAGS)),
    )


def _tags(found: object) -> dict[str, str]:
    if not isinstance(found, dict):
        return {}
    return {str(k): str(v) for k, v in found.items()}
