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

__all__ = [
    "ChannelOpt",
    "app",
    "cli_problem",
    "err",
    "load",
    "main",
    "timeout_seconds",
    "workspace",
]

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
ChannelOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--channel",
        help="Point an input channel elsewhere: --channel NAME=PATH (a file or folder, "
        "relative to the current folder; or s3://bucket/key, s3://bucket/prefix/, "
        "https://host/file#sha256=HEX, fetched once into the state cache).",
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
RunOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--run",
        metavar="ID[=NAME]",
        help="Compare an interactive run (a notebook run by hand; loclab list shows them) "
        "with the jobs: its name or a unique prefix, optionally =NAME for its system name "
        "(default interactive-<time>). Repeatable. It is not re-run.",
    ),
]
ReportsOpt = Annotated[
    Path | None, typer.Option(help="Reports folder (default <project>/reports).")
]

#: Where the environment is read: here, once.
ENVIRON = os.environ
#: ``--debug``: show the traceback of an unexpected error instead of one line.
DEBUG = {"on": False}


@app.callback()
def _options(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the full traceback of an unexpected error.")
    ] = False,
) -> None:
    """Typed notebook experiments: run, sweep, compare with statistics, report."""
    DEBUG["on"] = debug


INTERRUPTED = "interrupted: running jobs were stopped and marked KILLED"


def err(text: str) -> None:
    """Print a line on stderr, secrets scrubbed (it may quote a failure or an exception)."""
    from loclab.security import scrub

    typer.echo(scrub(text), err=True)


def cli_problem(field: str, message: str, fix: str = "") -> Problem:
    """A problem with the command line itself."""
    return Problem("command line", field, message, fix)


def load(
    spec: Path,
    params: list[str] | None = None,
    channels: list[str] | None = None,
    *,
    fetch_into: Path | None = None,
    fetch: bool = False,
) -> Experiment:
    """The experiment of ``spec``, checked completely (see :func:`loclab.run.prepare_experiment`).

    Args:
        spec: The spec file.
        params: ``-p name=value`` items.
        channels: ``--channel NAME=PATH`` items.
        fetch_into: ``--state-dir`` of a command that fetches remote channels.
        fetch: Fetch ``s3://`` and ``https://`` channels into the state cache (commands that
            run jobs); otherwise they are checked for form only.

    Raises:
        SpecError: Everything wrong, one problem per line.
    """
    from loclab.run import ChannelFetcher, prepare_experiment

    pointed: dict[str, str] = {}
    bad: list[Problem] = []
    for item in channels or []:
        name, sep, path = item.partition("=")
        if not sep or not name.strip() or not path.strip():
            bad.append(
                cli_problem("--channel", f"'{item}' is not NAME=PATH", "e.g. --channel wmt=data/")
            )
            continue
        pointed[name.strip()] = path.strip()
    if bad:
        raise SpecError(bad)
    fetcher = None
    if fetch:
        from loclab.paths import StateDir
        from loclab.spec import find_project_root

        root = find_project_root(Path(spec).resolve().parent)
        state, _ = _state_folder(root, fetch_into)
        fetcher = ChannelFetcher(StateDir(state).cache / "channels", say=err)
    return prepare_experiment(
        spec, params or [], environ=ENVIRON, channel_paths=pointed, fetch=fetcher
    )


def _state_folder(root: Path, state_dir: Path | None) -> tuple[Path, str]:
    """The state folder and how it was chosen: ``--state-dir``, ``$LOCLAB_STATE_DIR``, default."""
    from loclab.paths import STATE_ENV

    state = state_dir or (Path(ENVIRON[STATE_ENV]) if ENVIRON.get(STATE_ENV) else None)
    where = "--state-dir" if state_dir else f"${STATE_ENV}" if state else ".loclab"
    return (state or root / ".loclab"), where


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
    chosen, where = _state_folder(exp.root, state_dir)
    state = chosen if (state_dir or ENVIRON.get(STATE_ENV)) else None
    problems = []
    if chosen.exists() and not chosen.is_dir():
        problems.append(
            cli_problem(where, f"{chosen} is a file, not a folder", "give a folder (or move it)")
        )
    reports = reports_dir or exp.root / "reports"
    if reports.exists() and not reports.is_dir():
        problems.append(
            cli_problem("--reports-dir", f"{reports} is a file, not a folder", "give a folder")
        )
    for label, folder in ((where, chosen), ("--reports-dir", reports)):
        existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
        if existing is not None and existing.is_dir() and not os.access(existing, os.W_OK):
            problems.append(
                cli_problem(label, f"{existing} is not writable", "give a folder you can write to")
            )
    if problems:
        raise SpecError(problems)
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
    """Console-script entry: run the app, turning loclab errors into one line and an exit code.

    Everything the command prints goes through a stream that redacts the secret values the
    command came to know (secret parameters, ``${VAR}`` values; see :mod:`loclab.security`).
    """
    from loclab.security import ScrubbedStream, scrub_values

    stdout = sys.stdout
    sys.stdout = ScrubbedStream(stdout, scrub_values)
    try:
        _main()
    finally:
        sys.stdout.flush()
        sys.stdout = stdout


def _main() -> None:
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
            # A usage error (missing argument, unknown option): one line naming the command's
            # help, like every other bad input.
            shown = getattr(exc, "format_message", None)
            message = shown() if callable(shown) else str(exc)
            context, names = getattr(exc, "ctx", None), []
            while context is not None and getattr(context, "parent", None) is not None:
                names.append(str(context.info_name))
                context = context.parent
            where = " ".join(["loclab", *reversed(names)])
            if message.strip():  # empty after a group's help was shown (no subcommand)
                err(f"{where}: {message} (see {where} --help)")
            sys.exit(exc.exit_code)
        if DEBUG["on"] or "--debug" in sys.argv[1:2]:
            raise
        text = str(exc).strip().splitlines()
        err(
            f"error: unexpected {type(exc).__name__}: {text[0] if text else 'no message'} "
            "(run loclab --debug ... for the traceback; please report it)"
        )
        sys.exit(1)
