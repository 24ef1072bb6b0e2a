"""The sweep as a stage of ``loclab run``: run (or resume) it, hand on its winners."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from loclab.exceptions import LoclabError
from loclab.sweep.results import winners

if TYPE_CHECKING:
    from loclab.execution.backends import Backend
    from loclab.pipeline import Workspace
    from loclab.spec import Experiment
    from loclab.tracking import Tracker

__all__ = ["run_sweep_stage"]


def run_sweep_stage(
    exp: Experiment,
    ws: Workspace,
    *,
    tracker: Tracker | None = None,
    parent_run_id: str | None = None,
    timeout: float | None = None,
    say: Callable[[str], None] = print,
    storage: str | None = None,
    progress: bool = True,
    backend: Backend | None = None,
) -> dict[str, dict[str, Any]]:
    """Run the experiment's sweep to ``n_trials`` finished trials and return its winners.

    A finished sweep runs nothing new: its stored winners come back from the study.

    Args:
        exp: An experiment whose spec has a ``sweep:`` section.
        ws: Where runs and results go (``sweep.json`` in the results folder).
        tracker: MLflow tracker.
        parent_run_id: The experiment's run; the sweep's run is its child.
        timeout: Per-trial time limit (the command line's ``--timeout``).
        say: Where progress lines go.
        storage: RDB URL overriding the spec's (``--storage``).
        progress: Show a progress bar on a terminal.
        backend: Where trials run (each a SageMaker training job, ``workers`` at once, with
            ``backend: sagemaker``); local processes sharing the cores when None.

    Returns:
        ``{"top1": params, "top2": ...}`` with the searched parameters only, best first.

    Raises:
        SweepFailedError: Too many trials failed.
        LoclabError: The sweep finished without one completed trial.
    """
    from loclab.sweep.driver import SweepDriver

    driver = SweepDriver(
        exp,
        ws,
        tracker=tracker,
        parent_run_id=parent_run_id,
        storage=storage,
        job_timeout=timeout,
        say=say,
        progress=progress,
        backend=backend,
    )
    outcome = driver.run()
    data = outcome.results
    c = data["counts"]
    say(
        f"sweep {exp.name}: {c['complete']} complete, {c['pruned']} pruned, {c['failed']} failed"
        + (
            f"; best {data['metric']} {data['best_value']:.4g} (trial {data['best_number']}): "
            f"{data['best_params']}"
            if data["best_params"] is not None
            else ""
        )
    )
    say(f"sweep results: {outcome.path}")
    found = winners(data)
    if not found:
        raise LoclabError(
            f"sweep {exp.name} has no completed trial ({c['pruned']} pruned, "
            f"{c['failed']} failed); see {outcome.path}"
        )
    return found
