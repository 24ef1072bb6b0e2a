"""``loclab``: the command line. Thin: it parses, calls the library, and reports.

Heavy libraries (torch, lightning, mlflow, sagemaker) are imported inside the commands that
need them, so ``loclab --help`` and ``loclab validate`` answer at once.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from loclab.exceptions import LoclabError, Problem, SpecError

app = typer.Typer(
    name="loclab",
    help="Typed notebook experiments: run, sweep, compare with statistics, report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

SpecArg = Annotated[Path, typer.Argument(help="Experiment spec (experiments/*.yaml).")]
ParamOpt = Annotated[
    list[str] | None,
    typer.Option(
        "-p",
        "--param",
        help="Override a notebook parameter: -p name=value (parsed by its declared type).",
    ),
]
StateOpt = Annotated[
    Path | None,
    typer.Option(
        "--state-dir",
        help="State folder (MLflow store, runs). Default: <project>/.loclab or $LOCLAB_STATE_DIR.",
    ),
]


StorageOpt = Annotated[
    str | None,
    typer.Option(
        "--storage",
        help="Optuna storage of the sweep: an RDB URL such as postgresql+psycopg2://... "
        "(overrides the spec's sweep.storage; default: the project's journal file).",
    ),
]
TimeoutOpt = Annotated[
    str | None, typer.Option(help="Per-job time limit, e.g. 90, 90s, 30m (overrides spec).")
]
ReuseOpt = Annotated[bool, typer.Option(help="Reuse completed jobs with identical inputs.")]
ReportsOpt = Annotated[
    Path | None, typer.Option(help="Reports folder (default <project>/reports).")
]


def _err(text: str) -> None:
    typer.echo(text, err=True)


def _state_env(state_dir: Path | None) -> None:
    if state_dir is not None:
        import os

        from loclab.paths import STATE_ENV

        os.environ[STATE_ENV] = str(state_dir.resolve())


def _storage_env(storage: str | None) -> None:
    if storage is not None:
        import os

        from loclab.sweep.storage import STORAGE_ENV

        os.environ[STORAGE_ENV] = storage


def _timeout_seconds(timeout: str | None) -> float | None:
    """``--timeout`` in seconds (None when not given); a bad value is a SpecError."""
    if timeout is None:
        return None
    from loclab.spec._base import parse_duration

    try:
        return parse_duration(timeout)
    except ValueError as err:
        raise SpecError([_cli_problem("--timeout", str(err))]) from None


@app.command()
def validate(
    specs: Annotated[list[Path], typer.Argument(help="One or more spec files.")],
    param: ParamOpt = None,
) -> None:
    """Check specs against their notebooks without running anything (exit 0, or 2)."""
    from loclab.spec import load_experiment

    failed = False
    for spec in specs:
        try:
            exp = load_experiment(spec, param or [])
        except SpecError as err:
            failed = True
            for problem in err.problems:
                _err(str(problem))
            continue
        n_jobs = 1
        if exp.spec.compare is not None and not exp.spec.compare.discovered:
            n_jobs = len(exp.spec.compare.systems) * len(exp.spec.compare.seeds)
        parts = [f"{len(exp.notebook.parameters)} notebook parameters", f"{n_jobs} job(s)"]
        if exp.spec.sweep is not None:
            parts.append(f"sweep of {exp.spec.sweep.n_trials} trials")
        typer.echo(f"{spec}: ok ({', '.join(parts)})")
        for p in exp.notebook.parameters.values():
            if not p.annotated:
                typer.echo(
                    f"{spec}: note: parameter '{p.name}' of {exp.notebook_display} has no type "
                    f"annotation (inferred {p.type}); write '{p.name}: {p.type} = "
                    f"{p.default_text}  # help'"
                )
    if failed:
        raise typer.Exit(2)


@app.command()
def params(
    notebook: Annotated[Path, typer.Argument(help="A notebook with a 'parameters' cell.")],
) -> None:
    """List a notebook's parameters: name, type, default and help."""
    from loclab.params import inspect_notebook

    found = inspect_notebook(notebook)
    for problem in found.problems:
        _err(str(problem))
    rows = [
        (
            p.name,
            str(p.type),
            "(required)" if p.required else p.default_text,
            p.help,
        )
        for p in found.parameters.values()
    ]
    if not rows:
        _err(f"{notebook}: the parameters cell declares no parameters")
        raise typer.Exit(2)
    widths = [max(len(r[i]) for r in [*rows, ("name", "type", "default", "")]) for i in range(3)]
    head = ("name", "type", "default", "help")
    typer.echo("  ".join(h.ljust(w) for h, w in zip(head, [*widths, 0], strict=True)).rstrip())
    for row in rows:
        typer.echo("  ".join(v.ljust(w) for v, w in zip(row, [*widths, 0], strict=True)).rstrip())
    if found.problems:
        raise typer.Exit(2)


@app.command()
def run(
    spec: SpecArg,
    param: ParamOpt = None,
    timeout: TimeoutOpt = None,
    reuse: ReuseOpt = True,
    reports_dir: ReportsOpt = None,
    state_dir: StateOpt = None,
    storage: StorageOpt = None,
) -> None:
    """Run an experiment end to end: sweep, jobs, comparison, report."""
    from loclab.spec import load_experiment

    seconds = _timeout_seconds(timeout)
    exp = load_experiment(spec, param or [])
    _state_env(state_dir)
    _storage_env(storage)
    from loclab.pipeline import Workspace, run_experiment

    ws = Workspace.for_experiment(exp, reports_dir)
    run_experiment(exp, ws, timeout=seconds, reuse=reuse, say=typer.echo)


@app.command()
def compare(
    spec: SpecArg,
    param: ParamOpt = None,
    timeout: TimeoutOpt = None,
    reuse: ReuseOpt = True,
    reports_dir: ReportsOpt = None,
    state_dir: StateOpt = None,
) -> None:
    """Run each system x seed (reusing completed jobs), test them, print the verdicts.

    Systems taken from the sweep use its stored winners; the sweep itself is not run.
    """
    from loclab.spec import load_experiment

    seconds = _timeout_seconds(timeout)
    exp = load_experiment(spec, param or [])
    if exp.spec.compare is None:
        raise SpecError([_cli_problem("SPEC", f"{spec} has no compare: section")])
    _state_env(state_dir)
    from loclab.pipeline import Workspace, run_experiment

    ws = Workspace.for_experiment(exp, reports_dir)
    run_experiment(exp, ws, timeout=seconds, reuse=reuse, say=typer.echo, run_sweep=False)


@app.command()
def report(
    spec: SpecArg,
    reports_dir: ReportsOpt = None,
    state_dir: StateOpt = None,
    log: Annotated[
        bool, typer.Option(help="Attach the report to the experiment's MLflow run.")
    ] = True,
) -> None:
    """Render the experiment's report again from its stored results (trains and runs nothing)."""
    import json

    from loclab.spec import load_experiment

    exp = load_experiment(spec)
    _state_env(state_dir)
    from loclab.pipeline import JOBS_FILE, Workspace
    from loclab.report.render import render_report

    ws = Workspace.for_experiment(exp, reports_dir)
    uri = ""
    if exp.spec.backend.kind == "sagemaker":
        from loclab.execution.backends import tracking_uri

        uri = tracking_uri(exp) or ""
    result = render_report(exp.name, ws.state, ws.reports, project_root=exp.root, tracking_uri=uri)
    typer.echo(
        f"report: {result.latest} ({result.size / 1024:.0f} KB, {result.seconds:.1f} s); "
        f"kept as {result.path.name}; index: {result.index}"
    )
    jobs = ws.state.results(exp.name) / JOBS_FILE
    parent = json.loads(jobs.read_text()).get("mlflow_parent_run_id") if jobs.exists() else None
    if log and parent:
        from loclab.report.render import log_report
        from loclab.tracking import Tracker

        try:
            tracker = Tracker(uri) if uri else Tracker.for_state(ws.state)
            log_report(tracker, parent, result.path)
            typer.echo(f"logged on MLflow run {parent} as report/report.html")
        except Exception as err:  # the page is written; MLflow is a copy
            _err(f"warning: report not logged on MLflow run {parent}: {err}")


@app.command()
def publish(
    spec: SpecArg,
    to: Annotated[
        str,
        typer.Option(
            "--to",
            help="Destination s3://bucket/prefix; the endpoint and credentials come from the "
            "standard AWS variables (AWS_ENDPOINT_URL, AWS_PROFILE...).",
        ),
    ],
    reports_dir: ReportsOpt = None,
) -> None:
    """Upload the experiment's reports folder and the reports index to S3."""
    from loclab.aws.s3 import BUCKET_NAME, parse_s3_uri
    from loclab.spec import load_experiment

    try:
        bucket, _ = parse_s3_uri(to)
    except ValueError as err:
        raise SpecError([_cli_problem("--to", f"{err}; expected s3://bucket/prefix")]) from None
    if not BUCKET_NAME.fullmatch(bucket):
        raise SpecError([_cli_problem("--to", f"{bucket!r} is not a valid S3 bucket name")])
    exp = load_experiment(spec)
    from loclab.pipeline import Workspace
    from loclab.report.publish import publish_reports

    ws = Workspace.for_experiment(exp, reports_dir)
    written = publish_reports(exp.name, ws.reports, to)
    typer.echo(f"published {len(written)} file(s); the report: {written[0]}")


@app.command()
def ui(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 5000,
    state_dir: StateOpt = None,
) -> None:
    """Start the MLflow UI on 127.0.0.1 over the project's tracking store."""
    import os
    import subprocess

    from loclab.paths import StateDir
    from loclab.spec import find_project_root
    from loclab.tracking import default_tracking_uri

    _state_env(state_dir)
    state = StateDir.for_project(find_project_root(Path.cwd()))
    uri = default_tracking_uri(state)
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
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

    from loclab.spec import load_experiment

    exp = load_experiment(spec)
    if exp.spec.sweep is None:
        raise SpecError([_cli_problem("SPEC", f"{spec} has no sweep: section")])
    _state_env(state_dir)
    from rich.console import Console

    from loclab.paths import StateDir
    from loclab.sweep import SweepSnapshot, load_study, render_status, resolve_location

    sweep = exp.spec.sweep
    location = resolve_location(exp.name, sweep, StateDir.for_project(exp.root), storage)
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
    from loclab.spec import load_experiment

    exp = load_experiment(spec)
    if exp.spec.sweep is None:
        raise SpecError([_cli_problem("SPEC", f"{spec} has no sweep: section")])
    _state_env(state_dir)
    from optuna_dashboard import run_server

    from loclab.paths import StateDir
    from loclab.sweep import load_study, resolve_location

    location = resolve_location(exp.name, exp.spec.sweep, StateDir.for_project(exp.root), storage)
    study = load_study(location)  # a clear message when no sweep has started yet
    typer.echo(
        f"optuna-dashboard on http://127.0.0.1:{port} (study {location.name}, storage "
        f"{location.display}); Ctrl-C stops it",
    )
    try:
        run_server(study._storage, host="127.0.0.1", port=port)
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


def _cli_problem(field: str, message: str) -> Problem:
    return Problem("command line", field, message)


def main() -> None:
    """Console-script entry: run the app, turning loclab errors into one line and an exit code."""
    try:
        # Non-standalone mode returns the code of a typer.Exit (130 after Ctrl-C).
        code = app(standalone_mode=False)
        if code == 130:
            _err("interrupted: running jobs were stopped and marked KILLED")
        sys.exit(code if isinstance(code, int) else 0)
    except SpecError as err:
        for problem in err.problems:
            _err(str(problem))
        sys.exit(err.exit_code)
    except LoclabError as err:
        _err(f"error: {err}")
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        _err("interrupted: running jobs were stopped and marked KILLED")
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except SystemExit:
        raise
    except Exception as exc:
        # Typer vendors click, so its exception classes are matched by shape, not import.
        if type(exc).__name__ == "Abort":
            _err("interrupted: running jobs were stopped and marked KILLED")
            sys.exit(130)
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            sys.exit(exc.exit_code)
        raise


if __name__ == "__main__":
    main()
