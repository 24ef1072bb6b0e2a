"""Job planning: which jobs an experiment needs, their names, tags and requests.

Both planners (the job stage's :func:`plan_jobs` and the sweep's :func:`plan_trial`) take the
parameters from :meth:`loclab.spec.Experiment.job_overrides`, the one place that decides
parameter precedence, and :func:`make_request` turns any plan into a backend-independent
request. Offline validation of SageMaker requests plans the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from loclab.exceptions import Problem, SpecError
from loclab.execution.job import JobRequest
from loclab.io import jsonable
from loclab.params import encode_value
from loclab.params.types import coerce_value
from loclab.spec import Experiment

__all__ = [
    "JobPlan",
    "every_plan",
    "make_request",
    "plan_jobs",
    "plan_trial",
    "single_job_name",
    "system_job_name",
    "trial_job_name",
]


@dataclass(frozen=True)
class JobPlan:
    """One job the experiment needs, before it is turned into a request.

    Attributes:
        name: Unique, deterministic job name.
        overrides: Typed parameter overrides (see :meth:`Experiment.job_overrides`).
        tags: Labels for tracking and records (system, seed, role, trial...).
    """

    name: str
    overrides: dict[str, Any]
    tags: dict[str, str] = field(default_factory=dict)


def single_job_name(experiment: str) -> str:
    """``<experiment>-run``: the one job of an experiment without systems."""
    return f"{experiment}-run"


def system_job_name(experiment: str, system: str, seed: int) -> str:
    """``<experiment>-<system>-s<seed>``: one run of a compared system."""
    return f"{experiment}-{system}-s{seed}"


def trial_job_name(experiment: str, number: int, attempt: int) -> str:
    """``<experiment>-t<number>-a<attempt>``: unique, deterministic, a valid SageMaker name."""
    return f"{experiment}-t{number}-a{attempt}"


def plan_jobs(
    exp: Experiment, winners: Mapping[int, Mapping[str, Any]] | None = None
) -> list[JobPlan]:
    """The jobs of the experiment's job stage.

    With ``compare:``, one job per system and seed (systems taken from the sweep get the
    winner's searched values); without, or when the systems come from the job's output, one
    job with the spec's parameters.

    Args:
        exp: The experiment.
        winners: The sweep's configurations by rank (1 = best): searched values only.

    Raises:
        SpecError: A system takes a sweep configuration that does not exist.
    """
    spec = exp.spec
    if spec.compare is None or spec.compare.discovered:
        return [JobPlan(single_job_name(exp.name), exp.job_overrides(), {"loclab.system": "run"})]
    plans = []
    seeded = "seed" in exp.notebook
    for system, cfg in spec.compare.systems.items():
        winner: Mapping[str, Any] | None = None
        if cfg.from_sweep is not None:
            rank = 1 if cfg.from_sweep == "best" else int(cfg.from_sweep)
            winner = (winners or {}).get(rank)
            if winner is None:
                raise SpecError(
                    [
                        Problem(
                            exp.display_path,
                            f"compare.systems.{system}.from_sweep",
                            f"the sweep has no stored configuration of rank {rank}",
                            "run the sweep first (loclab run runs it)",
                        )
                    ]
                )
        base = exp.job_overrides(system=system, winner=winner)
        for seed in spec.compare.seeds:
            overrides = {**base, "seed": seed} if seeded else dict(base)
            tags = {"loclab.system": system, "loclab.seed": str(seed), "loclab.role": cfg.role}
            plans.append(JobPlan(system_job_name(exp.name, system, seed), overrides, tags))
    return plans


def plan_trial(
    exp: Experiment,
    number: int,
    attempt: int,
    searched: Mapping[str, Any],
    *,
    study: str,
    requeued_from: int | None = None,
) -> JobPlan:
    """The job of one sweep trial's attempt.

    Args:
        exp: The experiment (it has a ``sweep:`` section).
        number: The trial's number.
        attempt: Its attempt (a trial queued again after a crash runs again).
        searched: The values the sampler chose (coerced to the parameters' types here).
        study: The study's name.
        requeued_from: The trial it re-runs after a crash, if any.
    """
    notebook = exp.notebook
    trial = {k: coerce_value(v, notebook[k].type) for k, v in searched.items()}
    tags = {
        "loclab.stage": "sweep",
        "loclab.trial": str(number),
        "loclab.attempt": str(attempt),
        "optuna.study": study,
    }
    if requeued_from is not None:
        tags["loclab.requeued_from"] = str(requeued_from)
    name = trial_job_name(exp.name, number, attempt)
    return JobPlan(name, exp.job_overrides(trial=trial), tags)


def make_request(
    exp: Experiment,
    plan: JobPlan,
    *,
    timeout: float | None = None,
    env: Mapping[str, str] | None = None,
) -> JobRequest:
    """Turn a plan into a backend-independent request.

    Args:
        exp: The experiment.
        plan: The job.
        timeout: Per-job limit overriding the spec's ``timeout`` (``--timeout``).
        env: Extra variables for the job.
    """
    from loclab.security import REDACTED, is_secret_name, register_secrets

    effective = {**exp.notebook.defaults(), **plan.overrides}
    secret = {k for k in plan.overrides if k in exp.secret_params or is_secret_name(k)}
    secrets = {k: jsonable(plan.overrides[k]) for k in sorted(secret)}
    register_secrets(secrets.values())
    hyper = {
        k: REDACTED if k in secret else encode_value(v, exp.notebook[k].type)
        for k, v in sorted(plan.overrides.items())
    }
    return JobRequest(
        name=plan.name,
        experiment=exp.name,
        notebook=exp.notebook_path,
        hyperparameters=hyper,
        params=effective,
        channels=dict(exp.channels),
        timeout=timeout if timeout is not None else exp.spec.timeout,
        tags=dict(plan.tags),
        env=dict(env or {}),
        secrets=secrets,
    )


def every_plan(exp: Experiment) -> list[JobPlan]:
    """Every kind of job the experiment can launch, for checking requests before any runs.

    The job stage's plans and, with a sweep, a trial's plan (the largest trial number, a high
    attempt number: the longest names the sweep produces), each once with the search space's
    lowest and once with its highest values (systems from the sweep take them as winners).
    """
    from loclab.spec.sweep import grid_values

    extremes: list[dict[str, Any]] = [{}]
    sweep = exp.spec.sweep
    if sweep is not None and sweep.space:
        low: dict[str, Any] = {}
        high: dict[str, Any] = {}
        for key, entry in sweep.space.items():
            found_values = grid_values(entry) if entry.is_finite else [entry.low, entry.high]
            candidates = [v for v in found_values if v is not None]
            if not candidates:
                continue
            # The longest encodings stand for the rest (lengths are what SageMaker limits).
            texts = sorted(candidates, key=lambda v: len(str(v)))
            low[key], high[key] = texts[0], texts[-1]
        extremes = [low, high]
    plans: dict[tuple[str, str], JobPlan] = {}
    for values in extremes:
        found = plan_jobs(exp, dict.fromkeys(range(1, 100), values))
        if sweep is not None:
            last = max(sweep.n_trials - 1, 0)
            found.append(plan_trial(exp, last, 9, values, study=exp.name, requeued_from=last))
        for plan in found:
            plans.setdefault((plan.name, repr(sorted(plan.overrides.items()))), plan)
    return list(plans.values())
