"""``loclab run``: spec → (sweep) → jobs → (analysis) → report, one direction.

Each stage stores what it produced under the experiment's results folder, so a later stage (or
``loclab report``) can start from stored results without re-running anything.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loclab.exceptions import JobFailedError, Problem, SpecError
from loclab.execution.job import JobRequest, JobResult
from loclab.io import write_json
from loclab.params import encode_value
from loclab.paths import StateDir
from loclab.spec import Experiment

__all__ = ["JobPlan", "Workspace", "plan_jobs", "run_experiment"]

JOBS_FILE = "jobs.json"


@dataclass(frozen=True)
class Workspace:
    """Where an experiment reads and writes.

    Attributes:
        state: The state folder (MLflow store, run folders, results).
        reports: The reports folder.
    """

    state: StateDir
    reports: Path

    def job_env(self) -> dict[str, str]:
        """Variables every job of this workspace gets (a data cache shared by all jobs)."""
        return {"LOCLAB_CACHE_DIR": str(self.state.cache)}

    @classmethod
    def for_experiment(cls, exp: Experiment, reports: Path | None = None) -> Workspace:
        """Defaults: ``<root>/.loclab`` (or ``$LOCLAB_STATE_DIR``) and ``<root>/reports``."""
        return cls(StateDir.for_project(exp.root), (reports or exp.root / "reports").resolve())


@dataclass(frozen=True)
class JobPlan:
    """One job the experiment needs, before it is turned into a request."""

    name: str
    overrides: dict[str, Any]
    tags: dict[str, str] = field(default_factory=dict)


def plan_jobs(
    exp: Experiment, sweep_configs: dict[str, dict[str, Any]] | None = None
) -> list[JobPlan]:
    """The jobs of the experiment's job stage.

    With ``compare:``, one job per system and seed (systems taken from the sweep get the
    sweep's configuration); without, or when the systems come from the job's output, one job
    with the spec's parameters.
    """
    spec = exp.spec
    if spec.compare is None or spec.compare.discovered:
        return [JobPlan(f"{exp.name}-run", dict(exp.params), {"loclab.system": "run"})]
    plans = []
    seeded = "seed" in exp.notebook
    for system, cfg in spec.compare.systems.items():
        base = exp.system_params(system)
        if cfg.from_sweep is not None:
            rank = 1 if cfg.from_sweep == "best" else int(cfg.from_sweep)
            key = f"top{rank}"
            if not sweep_configs or key not in sweep_configs:
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
            # The sweep's values fill the searched parameters; fixed params still apply.
            base = {**base, **sweep_configs[key]}
        for seed in spec.compare.seeds:
            overrides = dict(base)
            if seeded:
                overrides["seed"] = seed
            name = f"{exp.name}-{system}-s{seed}"
            tags = {"loclab.system": system, "loclab.seed": str(seed), "loclab.role": cfg.role}
            plans.append(JobPlan(name, overrides, tags))
    return plans


def make_request(exp: Experiment, plan: JobPlan, *, timeout: float | None = None) -> JobRequest:
    """Turn a plan into a backend-independent request."""
    effective = {**exp.notebook.defaults(), **plan.overrides}
    hyper = {k: encode_value(v, exp.notebook[k].type) for k, v in sorted(plan.overrides.items())}
    return JobRequest(
        name=plan.name,
        experiment=exp.name,
        notebook=exp.notebook_path,
        hyperparameters=hyper,
        params=effective,
        channels=dict(exp.channels),
        timeout=timeout if timeout is not None else exp.spec.timeout,
        tags=dict(plan.tags),
    )


def run_experiment(
    exp: Experiment,
    ws: Workspace,
    *,
    timeout: float | None = None,
    reuse: bool = True,
    say: Callable[[str], None] = print,
    run_sweep: bool = True,
) -> dict[str, Any]:
    """Run every stage of the experiment; return the summary that was stored.

    ``run_sweep=False`` (``loclab compare``) takes the sweep's stored winners instead of
    running the sweep.

    Raises:
        JobFailedError: A job did not complete (the report is still written).
    """
    from loclab.execution.backends import create_backend, tracking_uri
    from loclab.execution.runner import JobRunner
    from loclab.tracking import Tracker, provenance

    backend = create_backend(exp)
    started = time.time()
    tags = provenance(exp.root)
    # SageMaker jobs log into the launcher's runs only when both use the same server.
    uri = tracking_uri(exp)
    tracker = Tracker(uri, tags=tags) if uri else Tracker.for_state(ws.state, tags=tags)
    parent = tracker.start_run(
        exp.name,
        f"{exp.name}-{time.strftime('%Y%m%d-%H%M%S')}",
        tags={"loclab.stage": "experiment", "loclab.spec": exp.spec_path.name},
        params={f"spec.{k}": v for k, v in exp.params.items()},
    )
    tracker.log_artifact(parent, exp.spec_path, "spec")
    runner = JobRunner(
        backend, ws.state.runs(exp.name), tracker, parent_run_id=parent, env=ws.job_env()
    )
    results: list[JobResult] = []
    status = "FINISHED"
    try:
        sweep_configs: dict[str, dict[str, Any]] | None = None
        if exp.spec.sweep is not None and not run_sweep:
            from loclab.sweep import read_results, winners

            stored = read_results(ws.state, exp.name)
            sweep_configs = winners(stored) if stored else None
        elif exp.spec.sweep is not None:
            # Stage 1: the sweep stores its top-k configurations for the stages after it.
            from loclab.sweep import run_sweep_stage

            sweep_configs = run_sweep_stage(
                exp,
                ws,
                tracker=tracker,
                parent_run_id=parent,
                timeout=timeout,
                say=say,
                # Local trials share the cores (the driver splits them); SageMaker trials are
                # training jobs, `workers` at once.
                backend=backend if backend.name != "local" else None,
            )
        if exp.spec.sweep is None or exp.spec.compare is not None:
            # Stage 2: one job per system and seed (or the single configured job).
            plans = plan_jobs(exp, sweep_configs)
            for i, plan in enumerate(plans, 1):
                request = make_request(exp, plan, timeout=timeout)
                say(f"[{i}/{len(plans)}] {plan.name} ...")
                result = runner.run(request, reuse=reuse)
                results.append(result)
                if result.cached:
                    say(f"      reused completed run {result.run_dir}")
                else:
                    say(f"      {result.state} in {result.duration:.1f} s")
            if exp.spec.compare is not None:
                # Stage 3: statistics over the completed jobs' outputs (comparison.json).
                from loclab.compare import run_analysis_stage

                run_analysis_stage(
                    exp, ws, results, tracker=tracker, parent_run_id=parent, say=say
                )
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    except Exception:
        status = "FAILED"
        raise
    finally:
        summary = _summary(exp, results, parent, started, tags)
        results_dir = ws.state.results(exp.name)
        write_json(results_dir / JOBS_FILE, summary)
        if results or exp.spec.sweep is not None:
            # Stage 4: the report, from what the stages above stored (logged on the run).
            from loclab.report.render import write_report

            report = write_report(exp, ws, tracker=tracker, parent_run_id=parent, say=say)
            if report is not None:
                summary["report"] = str(report)
        failed = [r for r in results if not r.ok]
        if failed and status == "FINISHED":
            status = "FAILED"
        tracker.end_run(parent, status)
    if failed:
        first = failed[0]
        raise JobFailedError(
            f"job {first.name} {first.state}: {first.failure}; "
            f"saved notebook: {first.executed_notebook}"
        )
    return summary


def _summary(
    exp: Experiment,
    results: list[JobResult],
    parent: str,
    started: float,
    tags: dict[str, str],
) -> dict[str, Any]:
    return {
        "experiment": exp.name,
        "spec": str(exp.spec_path),
        "spec_as_run": exp.spec.model_dump(mode="json"),
        "params": exp.params,
        "started": started,
        "ended": time.time(),
        "mlflow_parent_run_id": parent,
        "provenance": tags,
        "jobs": [
            {
                **r.to_json(),
                "metrics": r.final_metrics() if r.ok else {},
                "executed_notebook": str(r.executed_notebook),
                "job_tags": _job_tags(r),
            }
            for r in results
        ],
    }


def _job_tags(result: JobResult) -> dict[str, str]:
    path = result.layout.output_data_dir / "tags.json"
    try:
        return json.loads(path.read_text()) if path.exists() else {}
    except ValueError:
        return {}
