"""The sweep as a stage of ``loclab run``: run (or resume) it, hand on its record."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from loclab.exceptions import LoclabError
from loclab.paths import Workspace
from loclab.results import SweepRecord

if TYPE_CHECKING:
    from loclab.execution.backends import Backend
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
    progress: bool = True,
    backend: Backend | None = None,
) -> SweepRecord:
    """Run the experiment's sweep to ``n_trials`` finished trials and return its record.

    A finished sweep runs nothing new: its record is rebuilt from the study.

    Args:
        exp: An experiment whose spec has a ``sweep:`` section.
        ws: Where runs and records go (the study's storage too: ``ws.storage``).
        tracker: MLflow tracker.
        parent_run_id: The experiment's run; the sweep's run is its child.
        timeout: Per-trial time limit (the command line's ``--timeout``).
        say: Where progress lines go.
        progress: Show a progress bar on a terminal.
        backend: Where trials run (each a SageMaker training job, ``workers`` at once, with
            ``backend: sagemaker``); local processes sharing the cores when None.

    Returns:
        The sweep record; its ``winners`` go to the comparison stage.

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
        job_timeout=timeout,
        say=say,
        progress=progress,
        backend=backend,
    )
    outcome = driver.run()
    record = outcome.record
    c = record.counts
    best = record.best
    say(
        f"sweep {exp.name}: {c.complete} complete, {c.pruned} pruned, {c.failed} failed"
        + (
            f"; best {record.metric} {best.value:.4g} (trial {best.number}): {best.params}"
            if best is not None
            else ""
        )
    )
    say(f"sweep results: {outcome.path}")
    if best is None:
        raise LoclabError(
            f"sweep {exp.name} has no completed trial ({c.pruned} pruned, "
            f"{c.failed} failed); see {outcome.path}"
        )
    return record
