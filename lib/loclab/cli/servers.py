"""``loclab status``, ``dashboard`` and ``ui``: watch a running experiment, browse results."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from loclab.cli.app import (
    ENVIRON,
    SpecArg,
    StateOpt,
    StorageOpt,
    app,
    cli_problem,
    load,
    workspace,
)
from loclab.exceptions import SpecError

__all__ = ["dashboard", "status", "ui"]


@app.command()
def ui(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 5000,
    state_dir: StateOpt = None,
) -> None:
    """Start the MLflow UI on 127.0.0.1 over the project's tracking store."""
    import subprocess

    from loclab.paths import STATE_ENV, StateDir
    from loclab.spec import find_project_root
    from loclab.tracking import default_tracking_uri

    folder = state_dir or (Path(ENVIRON[STATE_ENV]) if ENVIRON.get(STATE_ENV) else None)
    state = (
        StateDir(folder.resolve())
        if folder
        else StateDir.for_project(find_project_root(Path.cwd()))
    )
    uri = ENVIRON.get("MLFLOW_TRACKING_URI") or default_tracking_uri(state)
    env = {**ENVIRON, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    cmd = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--backend-store-uri",
        uri,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    if uri.startswith("sqlite:"):
        cmd += ["--default-artifact-root", state.artifacts.resolve().as_uri()]
    typer.echo(f"MLflow UI on http://127.0.0.1:{port} (store {uri}); Ctrl-C stops it")
    try:
        raise typer.Exit(subprocess.call(cmd, env=env))
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


@app.command()
def status(
    spec: SpecArg,
    watch: Annotated[
        float | None, typer.Option(help="Refresh every this many seconds until Ctrl-C.")
    ] = None,
    state_dir: StateOpt = None,
    storage: StorageOpt = None,
) -> None:
    """Show a sweep's progress from its storage (while it runs in another process, or after)."""
    import time

    exp = load(spec)
    if exp.spec.sweep is None:
        raise SpecError([cli_problem("SPEC", f"{spec} has no sweep: section")])
    ws = workspace(exp, state_dir=state_dir, storage=storage)
    from rich.console import Console

    from loclab.sweep import SweepSnapshot, load_study, locate, render_status

    sweep = exp.spec.sweep
    location = locate(exp, ws)
    study = load_study(location)
    console = Console()

    def show() -> None:
        snap = SweepSnapshot.from_trials(
            study.get_trials(deepcopy=False),
            study_name=location.name,
            storage=location.display,
            metric=sweep.metric,
            direction=sweep.direction,
            n_trials=sweep.n_trials,
            workers=sweep.workers,
        )
        console.print(render_status(snap))

    if watch is None:
        show()
        return
    try:
        while True:
            console.clear()
            show()
            time.sleep(max(0.5, watch))
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


@app.command()
def dashboard(
    spec: SpecArg,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8080,
    state_dir: StateOpt = None,
    storage: StorageOpt = None,
) -> None:
    """Start optuna-dashboard on 127.0.0.1 over the sweep's study storage."""
    exp = load(spec)
    if exp.spec.sweep is None:
        raise SpecError([cli_problem("SPEC", f"{spec} has no sweep: section")])
    ws = workspace(exp, state_dir=state_dir, storage=storage)
    from optuna_dashboard import run_server

    from loclab.sweep import load_study, locate

    location = locate(exp, ws)
    study = load_study(location)  # a clear message when no sweep has started yet
    typer.echo(
        f"optuna-dashboard on http://127.0.0.1:{port} (study {location.name}, storage "
        f"{location.display}); Ctrl-C stops it",
    )
    try:
        run_server(study._storage, host="127.0.0.1", port=port)
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
