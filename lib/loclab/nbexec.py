"""Execute a notebook with Papermill: the one place loclab starts a kernel on a notebook.

The job entry point, the report renderer and the tutorials' test all run notebooks through
:func:`execute_notebook`, so kernel, logging and failure handling are the same everywhere.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from loclab.exceptions import LoclabError

__all__ = ["CellError", "SecretRef", "execute_notebook", "is_out_of_memory"]

#: The kernel every loclab notebook runs on.
KERNEL = "python3"
#: Papermill engine that runs a notebook in a kernel started beforehand.
WARM_ENGINE = "loclab-warm"


def is_out_of_memory(ename: str, evalue: str) -> bool:
    """Whether an exception a cell raised says memory ran out (Python, NumPy, torch, CUDA)."""
    text = evalue.lower()
    return ename in ("MemoryError", "OutOfMemoryError", "_ArrayMemoryError") or any(
        s in text for s in ("can't allocate memory", "out of memory", "cannot allocate memory")
    )


class CellError(LoclabError):
    """A cell raised: which one, and what.

    Attributes:
        cell_index: 0-based index of the cell in the notebook.
        exec_count: Its execution count (``In [n]``).
        ename: The exception's class name.
        evalue: Its message.
        traceback: The formatted traceback lines (ANSI colours removed).
    """

    def __init__(
        self,
        cell_index: int | None,
        exec_count: int | None,
        ename: str,
        evalue: str,
        traceback: list[str],
    ) -> None:
        self.cell_index = cell_index
        self.exec_count = exec_count
        self.ename = ename
        self.evalue = evalue
        self.traceback = traceback
        if is_out_of_memory(ename, evalue):
            super().__init__(f"{self.where} ran out of memory ({ename}: {evalue})".strip())
        else:
            super().__init__(f"{self.where} raised {ename}: {evalue}".strip())

    @property
    def where(self) -> str:
        """``cell 3 (In [2])``, or ``a cell`` when unknown."""
        where = f"cell {self.cell_index}" if self.cell_index is not None else "a cell"
        if self.exec_count is not None:
            where += f" (In [{self.exec_count}])"
        return where


def execute_notebook(
    notebook: Path,
    output: Path,
    parameters: Mapping[str, Any] | None = None,
    *,
    cwd: Path,
    cell_timeout: float | None = None,
    stream: bool = False,
    autosave: bool = False,
    quiet_kernel: bool = False,
    kernel_manager: Any | None = None,
) -> None:
    """Run ``notebook`` top to bottom with ``parameters`` injected; write it to ``output``.

    Args:
        notebook: The notebook (its ``parameters`` cell is overridden).
        output: Where the executed notebook goes (also as far as it ran, on failure).
        parameters: Values for the parameters cell.
        cwd: The kernel's working folder.
        cell_timeout: Seconds a single cell may run (None: no limit).
        stream: Echo the cells' output on this process's stdout/stderr (a job's log).
        autosave: Save the notebook after every cell (a job's partial notebook survives a
            dead kernel) and shut the kernel down at once at the end.
        quiet_kernel: Keep the kernel's start-up warnings out of this process's output.
        kernel_manager: A started kernel to run the cells in (a warm standby's, see
            :mod:`loclab.execution.warm`) instead of a new one; the caller shuts it down.

    Raises:
        CellError: A cell raised.
        Exception: Whatever else the engine raises (a dead kernel, a timeout).
    """
    from loclab._imports import skip_slow_optional_imports

    skip_slow_optional_imports()
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    _python_translator()
    options: dict[str, Any] = {}
    if stream:
        options.update(stdout_file=sys.stdout, stderr_file=sys.stderr)
    if autosave:
        options.update(
            request_save_on_cell_execute=True, autosave_cell_every=10, shutdown_kernel="immediate"
        )
    if cell_timeout is not None:
        options["execution_timeout"] = cell_timeout
    if quiet_kernel:
        options["extra_arguments"] = ["--log-level=ERROR"]
    if kernel_manager is not None:
        options.update(km=kernel_manager, engine_name=_warm_engine())
    try:
        pm.execute_notebook(
            str(notebook),
            str(output),
            parameters=dict(parameters or {}),
            kernel_name=KERNEL,
            progress_bar=False,
            log_output=False,
            cwd=str(cwd),
            **options,
        )
    except PapermillExecutionError as err:
        raise CellError(
            getattr(err, "cell_index", None),
            getattr(err, "exec_count", None),
            str(err.ename),
            str(err.evalue),
            list(err.traceback or []),
        ) from err


class SecretRef(str):
    """A secret parameter: the kernel reads its value, the notebook never holds it.

    Papermill writes ``name = loclab.runtime.secret_param("name")`` in the injected cell
    instead of the value (:func:`_python_translator`); the notebook's metadata shows
    ``[REDACTED]``.
    """

    param: str

    def __new__(cls, param: str) -> SecretRef:  # noqa: D102
        obj = super().__new__(cls, "[REDACTED]")
        obj.param = param
        return obj


def _python_translator() -> None:
    """Register (once) a Python translator that writes :class:`SecretRef` as a lookup."""
    from papermill.translators import PythonTranslator, papermill_translators

    if getattr(papermill_translators._translators.get(KERNEL), "loclab", False):
        return

    class LoclabTranslator(PythonTranslator):  # type: ignore[misc]  # papermill is untyped
        loclab = True

        @classmethod
        def translate(cls, val: Any) -> str:
            if isinstance(val, SecretRef):
                module = '__import__("loclab.runtime", fromlist=["secret_param"])'
                return f"{module}.secret_param({val.param!r})"
            return str(super().translate(val))

    papermill_translators.register(KERNEL, LoclabTranslator)
    papermill_translators.register("python", LoclabTranslator)


def _warm_engine() -> str:
    """Register (once) the Papermill engine that runs cells in a kernel started beforehand.

    Papermill's own engine runs them there too (``km=``), but then leaves the kernel and its
    client to the caller. This one hands them to the notebook client as if it had started
    them, so they are shut down and cleaned up exactly as a new kernel is.
    """
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.utils import merge_kwargs, remove_args

    if WARM_ENGINE in papermill_engines._engines:
        return WARM_ENGINE

    class WarmEngine(NBClientEngine):  # type: ignore[misc]  # papermill is untyped
        @classmethod
        def execute_managed_notebook(  # type: ignore[no-untyped-def]
            cls,
            nb_man,
            kernel_name,
            log_output=False,
            stdout_file=None,
            stderr_file=None,
            start_timeout=60,
            execution_timeout=None,
            **kwargs,
        ):
            import logging

            # The same arguments as NBClientEngine.execute_managed_notebook.
            kwargs = remove_args(["input_path"], **kwargs)
            safe = remove_args(["timeout", "startup_timeout"], **kwargs)
            final = merge_kwargs(
                safe,
                timeout=execution_timeout if execution_timeout else kwargs.get("timeout"),
                startup_timeout=start_timeout,
                kernel_name=kernel_name,
                log=logging.getLogger("papermill"),
                log_output=log_output,
                stdout_file=stdout_file,
                stderr_file=stderr_file,
            )
            client = PapermillNotebookClient(nb_man, **final)
            client.owns_km = True
            return client.execute()

    papermill_engines.register(WARM_ENGINE, WarmEngine)
    return WARM_ENGINE
