"""``loclab init``, ``new experiment``, ``list`` and ``open``: start a project, find your way."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from loclab.cli.app import ENVIRON, ReportsOpt, SpecArg, StateOpt, app, cli_problem, err
from loclab.exceptions import Problem, SpecError

if TYPE_CHECKING:
    from loclab.paths import Workspace
    from loclab.results import InteractiveRecord

__all__ = ["init", "list_experiments", "new_experiment", "open_report"]

new_app = typer.Typer(
    help="Create a project file from a template: an experiment spec.", no_args_is_help=True
)
app.add_typer(new_app, name="new")
#: Template notebooks a project keeps there; ``report.ipynb`` is the report's, not a job's.
TEMPLATES_DIR = Path("notebooks") / "templates"
_NOT_TEMPLATES = ("report.ipynb",)


@app.command()
def init(
    folder: Annotated[
        Path, typer.Argument(metavar="DIR", help="The new project's folder (new or empty).")
    ],
) -> None:
    """Create a project: a starter notebook and spec, loclab.yaml, .gitignore, pre-commit."""
    from loclab.scaffold import STARTER_EXPERIMENT, STARTER_NOTEBOOK, init_project

    written = init_project(folder)
    typer.echo(f"created {folder}/ ({len(written)} files); your next three commands:")
    typer.echo(f"  cd {folder}")
    typer.echo(f"  loclab new experiment first --notebook {TEMPLATES_DIR / STARTER_NOTEBOOK}")
    typer.echo("  loclab validate experiments/first.yaml")
    typer.echo("  loclab run experiments/first.yaml")
    typer.echo(f"(experiments/{STARTER_EXPERIMENT}.yaml compares two systems over three seeds)")


@new_app.command("experiment")
def new_experiment(
    name: Annotated[str, typer.Argument(help="The experiment's name (lower-case, hyphens).")],
    notebook: Annotated[
        Path | None,
        typer.Option(
            help="The template notebook (default: the only one in notebooks/templates/)."
        ),
    ] = None,
    sweep: Annotated[
        str | None,
        typer.Option(
            metavar="PARAM,...",
            help="Write an active sweep: over these parameters, ranges around their defaults.",
        ),
    ] = None,
    compare: Annotated[
        list[str] | None,
        typer.Option(
            metavar="PARAM=VALUE",
            help="Write an active comparison: the defaults against a candidate with this change "
            "(repeatable).",
        ),
    ] = None,
    from_run: Annotated[
        str | None,
        typer.Option(
            "--from-run",
            metavar="ID",
            help="Write an active comparison of the notebook's defaults against the parameters "
            "an interactive run (loclab list shows them) ran with, over seeds.",
        ),
    ] = None,
) -> None:
    """Write experiments/NAME.yaml from a notebook's parameters cell, every field commented.

    The spec validates and runs as written; the sections you turn on later (params, sweep,
    comparison) are there, commented out. An existing file is never overwritten.
    """
    from loclab.scaffold import check_name, write_experiment

    check_name(name)
    root = _project(Path.cwd())
    if from_run is not None:
        _new_from_run(root, name, from_run, notebook, sweep, compare)
        return
    chosen = notebook if notebook is not None else _only_template(root)
    if not chosen.is_file():
        raise SpecError([cli_problem("--notebook", f"{chosen} not found", "check the path")])
    searched = [s.strip() for s in (sweep or "").split(",") if s.strip()]
    if sweep is not None and not searched:
        raise SpecError([cli_problem("--sweep", "names no parameter", "e.g. --sweep lr,hidden")])
    written = write_experiment(root, name, chosen, sweep=searched, compare=compare or [])
    shown = _shown(written.path)
    typer.echo(f"wrote {shown}; next: loclab validate {shown} && loclab run {shown}")
    for note in written.notes:
        err(note)


def _new_from_run(
    root: Path,
    name: str,
    ref: str,
    notebook: Path | None,
    sweep: str | None,
    compare: list[str] | None,
) -> None:
    """``new experiment NAME --from-run ID``: the run's changes against the defaults."""
    from loclab.run.interactive import find_run
    from loclab.scaffold import write_from_run

    if compare:
        raise SpecError(
            [cli_problem("--compare", "--from-run writes the comparison", "leave out --compare")]
        )
    record = find_run(_workspace(root, None, None), ref, "--from-run")
    ran = Path(record.notebook) if record.notebook else None
    if notebook is not None and (ran is None or notebook.resolve() != ran.resolve()):
        raise SpecError(
            [
                cli_problem(
                    "--notebook",
                    f"{record.name} ran {_shown(ran) if ran else 'an unknown notebook'}, not "
                    f"{notebook}",
                    "leave out --notebook: the run's own notebook is used",
                )
            ]
        )
    searched = [s.strip() for s in (sweep or "").split(",") if s.strip()]
    written = write_from_run(root, name, record, sweep=searched)
    shown = _shown(written.path)
    typer.echo(f"wrote {shown}; next: loclab validate {shown} && loclab run {shown}")
    for note in written.notes:
        err(note)


@app.command("list")
def list_experiments(state_dir: StateOpt = None, reports_dir: ReportsOpt = None) -> None:
    """List the project's experiments (last run, status, report) and its interactive runs."""
    from loclab.results import InteractiveRuns

    root = _project(Path.cwd())
    ws = _workspace(root, state_dir, reports_dir)
    rows = [_experiment_row(spec, ws) for spec in _specs(root)]
    if rows:
        _table(("experiment", "spec", "last run", "status", "result", "report"), rows)
    else:
        typer.echo(
            f"no experiments in {_shown(root / 'experiments')} (loclab new experiment NAME)"
        )
    runs = InteractiveRuns(ws.state)
    interactive = runs.all()
    if interactive:
        typer.echo("")
        _table(
            ("interactive run", "notebook", "started", "status", "metrics"),
            [_interactive_row(r, root) for r in interactive],
        )
    for problem in runs.problems():
        err(f"warning: {problem}")


@app.command("open")
def open_report(
    spec: SpecArg,
    reports_dir: ReportsOpt = None,
    browser: Annotated[
        bool, typer.Option(help="Open it in a browser when a display is available.")
    ] = True,
) -> None:
    """Print the path of the experiment's latest report; open it when a display is available."""
    from loclab.spec import find_project_root, load_spec

    parsed = load_spec(spec)
    root = find_project_root(spec.resolve().parent)
    reports = (reports_dir or root / "reports").resolve()
    page = reports / parsed.name / "index.html"
    if not page.is_file():
        raise SpecError(
            [
                Problem(
                    str(spec),
                    "report",
                    f"experiment {parsed.name!r} has no report yet ({_shown(page)})",
                    f"run it first: loclab run {spec}",
                )
            ]
        )
    typer.echo(str(page))
    if browser and _display_available():
        import webbrowser

        webbrowser.open(page.as_uri())


def _display_available() -> bool:
    """True where a browser can show a page: a desktop OS, an X or Wayland display, $BROWSER."""
    if sys.platform in ("darwin", "win32"):
        return True
    return any(ENVIRON.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER"))


def _project(folder: Path) -> Path:
    """The project around ``folder``.

    Raises:
        SpecError: There is none.
    """
    from loclab.spec import ROOT_MARKERS, project_root

    root = project_root(folder)
    if root is None:
        raise SpecError(
            [
                cli_problem(
                    "working folder",
                    f"{folder} is not inside a loclab project (no {', '.join(ROOT_MARKERS)} "
                    "here or above)",
                    "cd into your project, or create one with: loclab init DIR",
                )
            ]
        )
    return root


def _only_template(root: Path) -> Path:
    """The project's only template notebook (``--notebook`` may then be left out).

    Raises:
        SpecError: There is none, or more than one.
    """
    found = sorted(
        p for p in (root / TEMPLATES_DIR).glob("*.ipynb") if p.name not in _NOT_TEMPLATES
    )
    if len(found) == 1:
        return found[0]
    names = ", ".join(_shown(p) for p in found)
    message = (
        f"{len(found)} notebooks in {TEMPLATES_DIR}/ ({names})"
        if found
        else f"no notebook in {TEMPLATES_DIR}/"
    )
    raise SpecError([cli_problem("--notebook", message, "name one: --notebook PATH")])


def _workspace(root: Path, state_dir: Path | None, reports_dir: Path | None) -> Workspace:
    from loclab.paths import STATE_ENV, Workspace

    state = state_dir or (Path(ENVIRON[STATE_ENV]) if ENVIRON.get(STATE_ENV) else None)
    return Workspace.for_project(
        root,
        state_dir=state,
        reports_dir=reports_dir,
        tracking_uri=ENVIRON.get("MLFLOW_TRACKING_URI"),
    )


def _specs(root: Path) -> list[Path]:
    folder = root / "experiments"
    return sorted(p for p in folder.glob("*.y*ml") if p.suffix in (".yaml", ".yml"))


def _experiment_row(spec: Path, ws: Workspace) -> tuple[str, ...]:
    """experiment, spec, last run, status, result, report: from the records only."""
    from loclab.results import ExperimentResults, RecordError
    from loclab.run import experiment_status
    from loclab.spec import load_experiment, load_spec

    shown = _shown(spec)
    try:
        name = load_spec(spec).name
    except SpecError as error:
        return ("-", shown, "-", f"invalid: {error.problems[0].message}", "-", "-")
    try:
        exp = load_experiment(spec, environ=ENVIRON)
    except SpecError as error:
        problem = error.problems[0]
        return (name, shown, "-", f"invalid: {problem.field}: {problem.message}", "-", "-")
    try:
        run = ExperimentResults(ws.state, name).read_jobs()
    except RecordError:
        return (name, shown, "-", "unreadable records (loclab run rewrites them)", "-", "-")
    status = experiment_status(exp, ws)
    when = _when(run.started) if run is not None else "-"
    report = _shown(status.report) if status.report is not None else "-"
    result = "-"
    if run is not None and len(run.jobs) == 1:
        result = _metrics(run.jobs[0].metrics)
    elif run is not None and run.jobs:
        done = sum(1 for j in run.jobs if j.ok)
        result = f"{done}/{len(run.jobs)} jobs completed"
    return (name, shown, when, status.state, result, report)


def _interactive_row(record: InteractiveRecord, root: Path) -> tuple[str, ...]:
    from loclab.execution.process import is_alive, same_host

    state = record.status.lower()
    if record.status == "RUNNING":
        alive = not same_host(record.launcher) or is_alive(
            record.launcher.get("pid"), record.launcher.get("created")
        )
        state = "running" if alive else "interrupted"
    shown = _metrics(record.last_values())
    if not record.metrics and record.epochs:
        shown += f" (epoch {record.epochs[-1].step + 1})"
    notebook = _shown(Path(record.notebook)) if record.notebook else "-"
    return (record.name, notebook, _when(record.started), state, shown)


def _metrics(values: dict[str, float]) -> str:
    """Up to four metrics, ``name=value``; ``-`` when there are none."""
    return ", ".join(f"{k}={v:.4g}" for k, v in sorted(values.items())[:4]) or "-"


def _table(head: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head) - 1)]
    for row in [head, *rows]:
        cells = [v.ljust(w) for v, w in zip(row, widths, strict=False)] + [row[-1]]
        typer.echo("  ".join(cells).rstrip())


def _when(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds))


def _shown(path: Path) -> str:
    """``path`` relative to the working folder when it is under it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
