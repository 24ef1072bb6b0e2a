"""``loclab status``, ``dashboard`` and ``ui``: watch a running experiment, browse results."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from loclab.cli.app import (
    ENVIRON,
    ReportsOpt,
    SpecArg,
    StateOpt,
    StorageOpt,
    app,
    cli_problem,
    err,
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
    raise typer.Exit(
        serve(
            cmd,
            env=env,
            port=port,
            ready=f"http://127.0.0.1:{port}/health",
            banner=f"MLflow UI on http://127.0.0.1:{port} (store {uri}); Ctrl-C stops it",
        )
    )


def serve(cmd: list[str], *, env: dict[str, str], port: int, ready: str, banner: str) -> int:
    """Run a server in its own process group; say ``banner`` once ``ready`` answers.

    The port is checked first (one line when it is taken). SIGTERM, SIGHUP and Ctrl-C stop
    the whole group (the server and any worker it started): SIGTERM, then SIGKILL after 10 s.

    Returns:
        The exit code: the server's own when it ended by itself, 0 when stopped.
    """
    import signal
    import socket
    import time
    import urllib.request

    from loclab.exceptions import LoclabError

    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise LoclabError(
                f"port {port} on 127.0.0.1 is in use; pass --port with a free one"
            ) from None
    proc = subprocess.Popen(
        cmd, env=env, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    output: list[str] = []

    def stop(*_: object) -> None:
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        import threading

        def pump() -> None:
            assert proc.stdout is not None
            for raw in proc.stdout:
                line = raw.decode(errors="replace").rstrip()
                output.append(line)
                if announced.is_set():
                    err(line)

        announced = threading.Event()
        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(ready, timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        if proc.poll() is not None:
            tail = " | ".join(output[-3:]) or "no output"
            raise LoclabError(f"the server exited with code {proc.returncode}: {tail}")
        if time.monotonic() >= deadline:
            raise LoclabError(f"the server did not answer {ready} within 120 s")
        typer.echo(banner)
        announced.set()
        return proc.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if proc.poll() is None:
            _stop_group(proc)


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's whole process group, SIGKILL to what is left after 10 s."""
    import os
    import signal

    try:
        group = os.getpgid(proc.pid)
        os.killpg(group, signal.SIGTERM)
    except ProcessLookupError:
        return
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)


@app.command()
def status(
    spec: SpecArg,
    watch: Annotated[
        float | None, typer.Option(help="Refresh every this many seconds until Ctrl-C.")
    ] = None,
    state_dir: StateOpt = None,
    storage: StorageOpt = None,
    reports_dir: ReportsOpt = None,
) -> None:
    """Show where an experiment is: its stage, sweep, jobs (epochs of running ones), time left.

    Works while it runs in another process, and after.
    """
    import time

    exp = load(spec)
    ws = workspace(exp, state_dir=state_dir, storage=storage, reports_dir=reports_dir)
    from rich.console import Console

    from loclab.run import experiment_status, render_experiment_status

    console = Console()

    def show() -> None:
        console.print(render_experiment_status(experiment_status(exp, ws)))

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
