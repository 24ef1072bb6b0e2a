"""Warm standby: a job process whose kernel has imported the notebook's modules before its job.

A local job pays for a fresh process, a fresh kernel and the notebook's imports (``import
lightning`` alone takes 4-7 s) before its first line of work. A standby pays them in advance:
the local backend starts ``python -m loclab.execution.warm`` while other jobs run; the standby
starts its kernel, imports the modules it was given one by one, silently, and waits. When a job
comes, the launcher writes one line to the standby's stdin (the run folder, the job's
environment and working folder) and the standby becomes that job's process, as the entry point
would have been started: same environment (the kernel's too), working folder, log, then
:func:`loclab.execution.entrypoint.run` in the warm kernel. Still one fresh process per job,
used once; everything else about a job (contract, stop, failure, status) is unchanged.

Faithful: imports done early must leave no trace a cold job would not have. A standby whose
warm-up printed anything, displayed anything or raised (a module that warns when imported) is
*tainted*: its kernel is not used (the job gets a fresh one, as a cold job does) and the
launcher leaves that module out of later standbys. Executions are silent and store no
history, so execution counts, ``In``/``Out`` and the user namespace are a fresh kernel's.

Never leaks: end of input on stdin (the launcher ended, crashed or was killed), SIGTERM, SIGHUP
or ``--idle-timeout`` seconds without a job end a standby and its kernel (exit code
:data:`EXIT_NO_JOB`, never 0); a kernel whose standby died ends itself (ipykernel watches its
parent process).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import queue
import shutil
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from loclab.io import write_json

__all__ = [
    "EXIT_NO_JOB",
    "LOG_FILE",
    "STATE_FILE",
    "WarmKernel",
    "main",
    "parse_import",
]

#: Written once the standby is ready: ``{"pid", "kernel_pid", "imported", "tainted", ...}``.
STATE_FILE = "state.json"
#: The standby's output until it becomes a job (the kernel's start-up messages).
LOG_FILE = "standby.log"
#: Exit code of a standby that ended without a job (never 0, which means a job completed).
EXIT_NO_JOB = 75
#: Arguments nbclient gives every kernel it starts (its in-memory history).
KERNEL_ARGUMENTS = ("--HistoryManager.hist_file=:memory:",)
_START_TIMEOUT_S = 120.0
_IMPORT_TIMEOUT_S = 600.0

# Run in the kernel in a namespace of their own: the user namespace gets no name.
_IMPORT_SOURCE = """
import importlib
def _warm(module, names):
    try:
        found = importlib.import_module(module)
    except ModuleNotFoundError as err:
        # An optional module the notebook guards with try/except: nothing was imported.
        if err.name and (module == err.name or module.startswith(err.name + ".")):
            return
        raise
    for name in names:
        if not hasattr(found, name):
            try:
                importlib.import_module(module + "." + name)
            except ModuleNotFoundError as err:
                if err.name != module + "." + name:
                    raise
_warm(MODULE, NAMES)
"""
_ENTER_SOURCE = """
import os
from pathlib import Path
# What the kernel's launcher added (JPY_PARENT_PID...) or an import set stays, as in a kernel
# started for the job; the rest becomes the job's environment.
added = {k: v for k, v in os.environ.items() if LAUNCH.get(k) != v}
os.environ.clear()
os.environ.update(ENV)
os.environ.update(added)
os.chdir(CWD)
get_ipython().history_manager.dir_hist[:] = [Path(CWD)]
"""


def parse_import(entry: str) -> tuple[str, tuple[str, ...]]:
    """``"pkg.mod:a,b"`` (``from pkg.mod import a, b``) into ``("pkg.mod", ("a", "b"))``."""
    module, _, names = entry.partition(":")
    return module, tuple(n for n in names.split(",") if n)


class WarmKernel:
    """A kernel started before its job, with modules imported silently.

    Args:
        folder: The kernel's working folder until a job comes.
        imports: Modules to import (``"pkg.mod"``, or ``"pkg.mod:a,b"`` for ``from pkg.mod
            import a, b``, whose names may be submodules).
    """

    def __init__(
        self, folder: Path, imports: Sequence[str], forkserver: tuple[Path, int] | None = None
    ) -> None:
        self.folder = folder
        #: The fork server (socket, pid) the kernel comes from when it is ready; see
        #: :mod:`loclab.execution.forkserver`.
        self.forkserver = forkserver
        #: True when the kernel was forked from the fork server.
        self.forked = False
        self.imports = list(imports)
        self.km: Any = None
        self.imported: list[str] = []
        #: Why the kernel must not be used (None when it may).
        self.tainted: str | None = None
        #: The module whose import made it so, if one did.
        self.tainted_import: str | None = None
        self._launch_env: dict[str, str] = {}

    @property
    def pid(self) -> int | None:
        """The kernel's process id, once started."""
        provisioner = getattr(self.km, "provisioner", None)
        pid = getattr(provisioner, "pid", None)
        return pid if isinstance(pid, int) else None

    def start(self) -> None:
        """Start the kernel and import the modules; sets :attr:`tainted` on any output."""
        from jupyter_core.utils import run_sync

        from loclab.execution.forkserver import (
            ForkedProcess,
            forked_kernel_manager,
            wait_until_ready,
        )
        from loclab.nbexec import KERNEL

        self._launch_env = dict(os.environ)
        server = None
        if self.forkserver is not None:
            path, pid = self.forkserver
            if wait_until_ready(path, pid, _START_TIMEOUT_S):
                server = path
        km = forked_kernel_manager(KERNEL, server)
        self.km = km
        run_sync(km.start_kernel)(extra_arguments=list(KERNEL_ARGUMENTS), cwd=str(self.folder))
        self.forked = isinstance(getattr(km.provisioner, "process", None), ForkedProcess)
        run_sync(self._warm_up)()

    async def _warm_up(self) -> None:
        kc = self.km.client()
        kc.start_channels(hb=False)
        try:
            await kc.wait_for_ready(timeout=_START_TIMEOUT_S)
            for entry in self.imports:
                module, names = parse_import(entry)
                problem = await _run_silently(
                    kc, _IMPORT_SOURCE, {"MODULE": module, "NAMES": list(names)}
                )
                if problem is not None:
                    self.tainted = f"importing {module}: {problem}"
                    self.tainted_import = module
                    return
                self.imported.append(entry)
        finally:
            kc.stop_channels()

    def enter_job(self, cwd: Path) -> bool:
        """Give the kernel this process's environment and ``cwd``; False if it cannot run a job.

        Called by the entry point once the job's variables are set, just before the cells run.
        """
        if self.km is None or self.tainted is not None:
            return False
        from jupyter_core.utils import run_sync

        async def enter() -> str | None:
            kc = self.km.client()
            kc.start_channels(hb=False)
            try:
                await kc.wait_for_ready(timeout=_START_TIMEOUT_S)
                values = {"ENV": dict(os.environ), "LAUNCH": self._launch_env, "CWD": str(cwd)}
                return await _run_silently(kc, _ENTER_SOURCE, values)
            finally:
                kc.stop_channels()

        try:
            problem = run_sync(enter)()
        except Exception as err:  # a kernel that died while waiting
            problem = f"{type(err).__name__}: {err}"
        if problem is not None:
            self.tainted = f"entering the job: {problem}"
            return False
        return True

    def shutdown(self) -> None:
        """Stop the kernel at once (idempotent)."""
        if self.km is None:
            return
        from jupyter_core.utils import run_sync

        km, self.km = self.km, None
        with contextlib.suppress(Exception):
            if run_sync(km.is_alive)():
                run_sync(km.shutdown_kernel)(now=True)
        with contextlib.suppress(Exception):
            run_sync(km.cleanup_resources)()

    def kill(self) -> None:
        """SIGKILL the kernel (from any thread: a standby that must end now)."""
        pid = self.pid
        if pid is not None:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


async def _run_silently(kc: Any, source: str, values: dict[str, Any]) -> str | None:
    """Run ``source`` in the kernel with ``values`` as its globals; what went wrong, or None.

    Silent and without history: no execution count, no ``In``/``Out``, nothing displayed. Any
    output at all is a problem (a cold job would have shown it in a cell).
    """
    # The values travel as JSON text inside the code (the kernel parses them back).
    code = (
        f"exec({source!r}, {{'get_ipython': get_ipython, "
        f"**__import__('json').loads({json.dumps(values)!r})}})"
    )
    msg_id = kc.execute(code, silent=True, store_history=False, allow_stdin=False)
    deadline = time.monotonic() + _IMPORT_TIMEOUT_S
    problem: str | None = None
    try:
        while True:
            reply = await kc.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        content = reply["content"]
        if content.get("status") != "ok":
            problem = f"{content.get('ename', 'error')}: {content.get('evalue', '')}"
        while True:
            msg = await kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if kind == "status" and msg["content"].get("execution_state") == "idle":
                break
            if kind == "stream" and problem is None:
                problem = f"it printed {msg['content'].get('text', '')[:200]!r}"
            elif kind in ("display_data", "execute_result", "error") and problem is None:
                problem = f"it sent {kind}"
    except (TimeoutError, queue.Empty):
        problem = problem or "no answer from the kernel"
    return problem


def _become_job(job: dict[str, Any], warm: WarmKernel, folder: Path) -> int:
    """Turn this standby into the job's process and run the job; return its exit code."""
    from loclab.execution.entrypoint import run

    os.chdir(job["cwd"])
    os.environ.clear()
    os.environ.update(job["env"])
    log = Path(job["log"])
    standby_log = folder / LOG_FILE
    copied = _redirect_output(log, standby_log)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    try:
        return run(Path(job["root"]), kernel=warm)
    finally:
        warm.shutdown()
        # What the kernel wrote on its own stderr during the job, as a cold job's log has it.
        _append_tail(standby_log, copied)


def _redirect_output(log: Path, standby_log: Path) -> int:
    """Point stdout and stderr at the job's log, after the kernel's start-up messages."""
    sys.stdout.flush()
    sys.stderr.flush()
    head = standby_log.read_bytes() if standby_log.exists() else b""
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, head)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
    finally:
        os.close(fd)
    return len(head)


def _append_tail(standby_log: Path, offset: int) -> None:
    with contextlib.suppress(OSError):
        with standby_log.open("rb") as fh:
            fh.seek(offset)
            tail = fh.read()
        if tail:
            sys.stdout.flush()
            os.write(1, tail)


def main(argv: list[str] | None = None) -> int:
    """``python -m loclab.execution.warm --folder DIR [--import MOD]... [--idle-timeout S]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, required=True)
    parser.add_argument("--import", dest="imports", action="append", default=[])
    parser.add_argument("--idle-timeout", type=float, default=900.0)
    parser.add_argument("--forkserver", type=Path, default=None, help="the fork server's socket")
    parser.add_argument("--forkserver-pid", type=int, default=0)
    args = parser.parse_args(argv)
    folder: Path = args.folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    # The same logging set-up as the entry point's: the job's log gets the same lines.
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    logging.getLogger("papermill").setLevel(logging.WARNING)
    from loclab._imports import skip_slow_optional_imports

    skip_slow_optional_imports()
    forkserver = (args.forkserver, args.forkserver_pid) if args.forkserver else None
    warm = WarmKernel(folder, args.imports, forkserver)
    jobs: queue.Queue[str] = queue.Queue()
    taken = threading.Event()

    def abandon(*_: object) -> None:
        # Ends the standby now, from a signal or the stdin reader, wherever the main thread is.
        if taken.is_set():
            return
        warm.kill()
        shutil.rmtree(folder, ignore_errors=True)
        os._exit(EXIT_NO_JOB)

    def read() -> None:
        line = sys.stdin.readline()
        if not line.strip():
            abandon()
            return
        jobs.put(line)

    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, abandon)
    threading.Thread(target=read, daemon=True, name="loclab-standby-stdin").start()
    started = time.monotonic()
    import papermill  # noqa: F401  # the entry point's own imports, paid before the job too

    try:
        warm.start()
    except Exception as err:
        warm.tainted = f"the kernel did not start: {type(err).__name__}: {err}"
    if warm.tainted is not None:
        warm.shutdown()
    write_json(
        folder / STATE_FILE,
        {
            "pid": os.getpid(),
            "kernel_pid": warm.pid,
            "imported": warm.imported,
            "tainted": warm.tainted,
            "tainted_import": warm.tainted_import,
            "forked": warm.forked,
            "seconds": round(time.monotonic() - started, 3),
        },
    )
    try:
        line = jobs.get(timeout=args.idle_timeout)
    except queue.Empty:
        abandon()
        return EXIT_NO_JOB
    taken.set()
    # A job process handles signals as the entry point does (run() installs its SIGTERM).
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return _become_job(json.loads(line), warm, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
