"""The ``loclab`` application: options shared by commands, the workspace, errors as one line.

The command line is the boundary: it reads the environment (``$LOCLAB_STATE_DIR``,
``$MLFLOW_TRACKING_URI``, ``$LOCLAB_SAGEMAKER_*``...) once, builds the workspace and passes
both down; library code reads neither on its own.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from loclab.exceptions import LoclabError, Problem, SpecError

if TYPE_CHECKING:
    from loclab.paths import Workspace
    from loclab.spec import Experiment

__all__ = ["app", "cli_problem", "err", "load", "main", "timeout_seconds", "workspace"]

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

#: Where the environment is read: here, once.
ENVIRON = os.environ
INTERRUPTED = "interrupted: running jobs were stopped and marked KILLED"


def err(text: str) -> None:
    """Print a line on stderr."""
    typer.echo(text, err=True)


def cli_problem(field: str, message: str, fix: str = "") -> Problem:
    """A problem with the command line itself."""
    return Problem("command line", field, message, fix)


def load(spec: Path, params: list[str] | None = None) -> Experiment:
    """The experiment of ``spec``, checked completely (see :func:`loclab.run.prepare_experiment`).

    Raises:
        SpecError: Everything wrong, one problem per line.
    """
    from loclab.run import prepare_experiment

    return prepare_experiment(spec, params or [], environ=ENVIRON)


def workspace(
    exp: Experiment,
    *,
    state_dir: Path | None = None,
    reports_dir: Path | None = None,
    storage: str | None = None,
) -> Workspace:
    """The workspace of a command: flags first, then the environment, then the project's.

    Raises:
        SpecError: ``--storage`` is not a database URL.
    """
    from loclab.paths import STATE_ENV, Workspace

    if storage is not None:
        check_storage_url(storage)
    state = state_dir or (Path(ENVIRON[STATE_ENV]) if ENVIRON.get(STATE_ENV) else None)
    return Workspace.for_project(
        exp.root,
        state_dir=state,
        reports_dir=reports_dir,
        storage=storage,
        tracking_uri=ENVIRON.get("MLFLOW_TRACKING_URI"),
    )


def check_storage_url(url: str) -> None:
    """``--storage`` gets the checks of the spec's ``sweep.storage``.

    Raises:
        SpecError: It is not an RDB URL.
    """
    from loclab.spec import SweepSpec

    try:
        SweepSpec.check_storage(url)
    except ValueError as error:
        raise SpecError([cli_problem("--storage", str(error))]) from None


def timeout_seconds(timeout: str | None) -> float | None:
    """``--timeout`` in seconds (None when not given).

    Raises:
        SpecError: Not a positive duration.
    """
    if timeout is None:
        return None
    from loclab.spec._base import parse_duration

    try:
        return parse_duration(timeout)
    except ValueError as error:
        raise SpecError([cli_problem("--timeout", str(error))]) from None


def main() -> None:
    """Console-script entry: run the app, turning loclab errors into one line and an exit code."""
    if ENVIRON.get("JPY_PARENT_PID"):
        # Started from a notebook cell (`!loclab ...`, a Jupyter kernel's child): the output
        # lands in the cell, which cannot redraw a live progress bar; rich prints lines instead.
        ENVIRON.setdefault("TTY_INTERACTIVE", "0")
    try:
        # Non-standalone mode returns the code of a typer.Exit (130 after Ctrl-C).
        code = app(standalone_mode=False)
        if code == 130:
            err(INTERRUPTED)
        sys.exit(code if isinstance(code, int) else 0)
    except SpecError as error:
        for problem in error.problems:
            err(str(problem))
        sys.exit(error.exit_code)
    except LoclabError as error:
        err(f"error: {error}")
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        err(INTERRUPTED)
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except SystemExit:
        raise
    except Exception as exc:
        # Typer vendors click, so its exception classes are matched by shape, not import.
        if type(exc).__name__ == "Abort":
            err(INTERRUPTED)
            sys.exit(130)
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            sys.exit(exc.exit_code)
        raise
