"""The job entry point: what runs inside a job, locally or in a SageMaker container.

``python -m loclab.execution.entrypoint [--root /opt/ml]`` reads
``input/config/hyperparameters.json``, converts each value by the type the notebook declares,
sets the ``SM_*`` variables, and executes the notebook with Papermill into
``output/data/executed.ipynb`` (saved after every cell, so a crash keeps the partial notebook).
On failure it writes ``output/failure`` (SageMaker shows its first line as the job's failure
reason) and exits non-zero.

Exit codes: 0 completed; 1 a cell raised or the kernel died; 2 invalid hyperparameters;
143 stopped by SIGTERM (SageMaker's StopTrainingJob, a sweep's pruning, a timeout, Ctrl-C).

A job that cannot reach its launcher's MLflow store (a SageMaker job, the launcher tracking in
a local SQLite file) is given ``$LOCLAB_MLFLOW_OFFLINE_DIR``: the entry point opens an MLflow
run in a store of the job's own there (under ``output/data``, so it comes home with the
outputs), and the kernel logs into it exactly as it would into the launcher's run (Lightning's
logger, ``runtime.log_metrics``, ``runtime.set_tags``). The launcher copies that run into its
own when the job ended.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import signal
import sys
import threading
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

from loclab.execution.contract import JobLayout, count_gpus, environment, read_hyperparameters
from loclab.io import write_text
from loclab.nbexec import CellError, execute_notebook

if TYPE_CHECKING:
    from loclab.execution.warm import WarmKernel

__all__ = [
    "NOTEBOOK_ENV",
    "OFFLINE_MLFLOW_DB",
    "OFFLINE_MLFLOW_ENV",
    "inherited_environment",
    "main",
    "run",
]

#: Variable naming the notebook to execute (absolute, or relative to the ``code`` channel).
NOTEBOOK_ENV = "LOCLAB_NOTEBOOK"
CODE_CHANNEL = "code"
EXIT_FAILED = 1
EXIT_INVALID = 2
EXIT_STOPPED = 143
_KERNEL_GRACE_S = 8.0
#: Folder of the job's own MLflow store, for a job that cannot reach its launcher's.
OFFLINE_MLFLOW_ENV = "LOCLAB_MLFLOW_OFFLINE_DIR"
#: The store's file in that folder.
OFFLINE_MLFLOW_DB = "mlflow.db"
log = logging.getLogger(__name__)
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class _StopRequest:
    """Set by SIGTERM; the kernel is interrupted, then killed if it does not stop."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self._handle)

    def _handle(self, signum: int, frame: object) -> None:
        if self.event.is_set():
            return
        self.event.set()
        threading.Thread(target=self._stop_children, daemon=True).start()

    def _stop_children(self) -> None:
        import psutil

        me = psutil.Process()
        kids = me.children(recursive=False)
        for kid in kids:
            with contextlib.suppress(psutil.Error):
                kid.send_signal(signal.SIGINT)
        _, alive = psutil.wait_procs(kids, timeout=_KERNEL_GRACE_S)
        for kid in alive:
            with contextlib.suppress(psutil.Error):
                kid.kill()


def _write_failure(layout: JobLayout, text: str) -> None:
    from loclab.security import scrub

    text = scrub(_ANSI.sub("", text))
    write_text(layout.failure_file, text.rstrip() + "\n")


def _notebook_path(layout: JobLayout) -> Path:
    value = os.environ.get(NOTEBOOK_ENV)
    if value:
        path = Path(value)
        return path if path.is_absolute() else layout.channel_dir(CODE_CHANNEL) / path
    found = sorted(layout.channel_dir(CODE_CHANNEL).glob("*.ipynb"))
    if len(found) != 1:
        raise FileNotFoundError(
            f"set {NOTEBOOK_ENV} or put exactly one notebook in the '{CODE_CHANNEL}' channel"
        )
    return found[0]


def _secrets() -> dict[str, object]:
    """The job's secret parameters (``$LOCLAB_SECRET_PARAMS``), registered for scrubbing."""
    from loclab.security import SECRET_PARAMS_ENV, parse_secret_params, register_secrets

    found = parse_secret_params(os.environ.get(SECRET_PARAMS_ENV, ""))
    register_secrets(found.values())
    return found


def _decode(layout: JobLayout, notebook: Path) -> dict[str, object]:
    import json

    from loclab.nbexec import SecretRef
    from loclab.params import decode_value, inspect_notebook

    declared = inspect_notebook(notebook)
    values: dict[str, object] = {}
    errors = []
    secrets = _secrets()
    texts = dict(read_hyperparameters(layout))
    for key, value in secrets.items():
        texts[key] = value if isinstance(value, str) else json.dumps(value)
    for key, text in texts.items():
        if key not in declared:
            errors.append(f"hyperparameter '{key}' is not a parameter of {notebook.name}")
            continue
        if key in secrets:
            try:
                decode_value(text, declared[key].type)
            except ValueError:
                errors.append(f"secret parameter '{key}': not a valid {declared[key].type}")
            values[key] = SecretRef(key)
            continue
        try:
            values[key] = decode_value(text, declared[key].type)
        except ValueError as err:
            errors.append(f"hyperparameter '{key}': {err}")
    if errors:
        raise ValueError("; ".join(errors))
    return values


def run(root: Path, job_name: str | None = None, *, kernel: WarmKernel | None = None) -> int:
    """Execute the job rooted at ``root``; return the process exit code.

    Args:
        root: The job's tree.
        job_name: The job's name (``$TRAINING_JOB_NAME``, else the folder's name, when None).
        kernel: A warm standby's kernel (:mod:`loclab.execution.warm`) to run the cells in; a
            new kernel is started when None or when it cannot take the job.
    """
    from loclab._imports import skip_slow_optional_imports

    skip_slow_optional_imports()
    layout = JobLayout(root)
    layout.create()
    stop = _StopRequest()
    stop.install()
    if layout.failure_file.exists():
        layout.failure_file.unlink()
    try:
        notebook = _notebook_path(layout)
        parameters = _decode(layout, notebook)
    except (FileNotFoundError, ValueError) as err:
        _write_failure(layout, f"invalid job: {err}")
        return EXIT_INVALID
    from loclab.security import ScrubbedStream, known_secrets

    if not known_secrets():
        return _execute(layout, notebook, parameters, stop, job_name, kernel)
    # Secret values in what the job prints, writes or leaves behind become [REDACTED].
    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = ScrubbedStream(sys.stdout), ScrubbedStream(sys.stderr)
    try:
        return _execute(layout, notebook, parameters, stop, job_name, kernel)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdout, sys.stderr = streams
        from loclab.security import scrub_files

        scrub_files([layout.output_dir, layout.model_dir])


def _execute(
    layout: JobLayout,
    notebook: Path,
    parameters: dict[str, object],
    stop: _StopRequest,
    job_name: str | None,
    kernel: WarmKernel | None,
) -> int:
    """Run the notebook of a job whose parameters are known good (see :func:`run`)."""
    root = layout.root

    name = job_name or os.environ.get("TRAINING_JOB_NAME") or root.name
    os.environ.update(
        environment(layout, name, read_hyperparameters(layout), num_gpus=_visible_gpus())
    )
    _open_offline_run(name)

    output = layout.executed_notebook
    warm = kernel is not None and kernel.enter_job(notebook.parent)
    if kernel is not None and not warm:
        kernel.shutdown()
    try:
        try:
            execute_notebook(
                notebook,
                output,
                parameters,
                cwd=notebook.parent,
                stream=True,
                autosave=True,
                kernel_manager=kernel.km if kernel is not None and warm else None,
            )
        except Exception as err:  # re-raised unless the kernel never started
            # The kernel could not start (a port that jupyter_client picked was taken by
            # another process before the kernel bound it): no cell ran, so one fresh kernel
            # is tried again.
            if "before replying to kernel_info" not in str(err) or stop.event.is_set():
                raise
            print(f"loclab: the kernel did not start ({err}); starting a fresh one", flush=True)
            if kernel is not None:
                kernel.shutdown()
            execute_notebook(
                notebook, output, parameters, cwd=notebook.parent, stream=True, autosave=True
            )
    except CellError as err:
        if stop.event.is_set():
            _write_failure(layout, f"stopped (SIGTERM) while {err}")
            return EXIT_STOPPED
        _write_failure(layout, f"{err}\n\n" + "\n".join(err.traceback))
        return EXIT_FAILED
    except Exception as err:  # kernel death and anything else the engine raises
        if stop.event.is_set():
            _write_failure(layout, "stopped (SIGTERM); the kernel was interrupted")
            return EXIT_STOPPED
        dead = type(err).__name__ == "DeadKernelError" or "kernel died" in str(err).lower()
        reason = (
            f"kernel died while running {_running_cell(output)} (killed or crashed; running "
            "out of memory is the usual cause)"
            if dead
            else f"{type(err).__name__}: {err}"
        )
        _write_failure(layout, reason + "\n\n" + traceback.format_exc())
        return EXIT_FAILED
    if stop.event.is_set():
        _write_failure(layout, "stopped (SIGTERM) after the last cell")
        return EXIT_STOPPED
    return 0


def inherited_environment() -> dict[str, str]:
    """What a local job inherits of its launcher's environment.

    Everything (PATH, the virtual environment, AWS and proxy settings...) except the job
    contract's own variables, which the job gets fresh.
    """
    return {k: v for k, v in os.environ.items() if not k.startswith(("SM_", "MLFLOW_RUN_ID"))}


def _visible_gpus() -> int:
    """GPUs this job may use: ``$CUDA_VISIBLE_DEVICES`` when set, else the machine's."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return len([d for d in visible.split(",") if d.strip() not in ("", "-1")])
    return count_gpus()


def _open_offline_run(job_name: str) -> None:
    """Give the kernel an MLflow run in a store of the job's own (see the module docstring)."""
    folder = os.environ.pop(OFFLINE_MLFLOW_ENV, "")
    if not folder or os.environ.get("MLFLOW_RUN_ID"):
        return
    try:
        from mlflow.tracking import MlflowClient

        path = Path(folder)
        path.mkdir(parents=True, exist_ok=True)
        uri = f"sqlite:///{path.resolve() / OFFLINE_MLFLOW_DB}"
        # Its migrations log two INFO lines per new store: noise in a job log.
        logging.getLogger("mlflow.store.db.utils").setLevel(logging.WARNING)
        logging.getLogger("alembic").setLevel(logging.WARNING)
        run = MlflowClient(uri).create_run("0", run_name=job_name)
    except Exception as err:  # the launcher still has metrics.jsonl
        log.warning("no offline MLflow store for this job (%s: %s)", type(err).__name__, err)
        return
    os.environ["MLFLOW_TRACKING_URI"] = uri
    os.environ["MLFLOW_RUN_ID"] = run.info.run_id


def _running_cell(executed: Path) -> str:
    """The cell a dead kernel was running: the last one the saved notebook shows as started.

    Papermill marks that cell "completed" in a ``finally`` block, so its start time is the
    only trace left.
    """
    import json

    try:
        nb = json.loads(executed.read_text())
    except (OSError, ValueError):
        return "a cell"
    found = "a cell"
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("metadata", {}).get("papermill", {}).get("start_time"):
            count = cell.get("execution_count")
            found = f"cell {index}" + (f" (In [{count}])" if count is not None else "")
    return found


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: ``python -m loclab.execution.entrypoint --root DIR``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(os.environ.get("SM_ROOT", "/opt/ml")))
    parser.add_argument("--job-name", default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    # Papermill's own INFO lines ("Executing Cell 3...") are noise in a job log.
    logging.getLogger("papermill").setLevel(logging.WARNING)
    return run(args.root.resolve(), args.job_name)


if __name__ == "__main__":
    sys.exit(main())
