"""The local backend's warm standbys: started while jobs run, each handed the next job.

See :mod:`loclab.execution.warm` for the standby itself. A standby serves a job only when they
match exactly: same interpreter, notebook, modules to import, and environment (apart from the
variables that name the job: :data:`JOB_VARS`); anything else starts cold, as before. The pool
keeps at most ``size`` standbys (one per job running at once), of the kinds the coming jobs
need (:meth:`StandbyPool.provide`), fewer when fewer jobs are coming (:meth:`StandbyPool.trim`),
and none after :meth:`StandbyPool.close`. The standbys of one kind of job share a fork server
(:class:`ForkServer`): their kernels are forked from a process that imported the notebook's
modules once, so a standby warming up costs the running job little CPU.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loclab.execution.entrypoint import NOTEBOOK_ENV
from loclab.execution.warm import LOG_FILE, STATE_FILE

__all__ = ["IDLE_TIMEOUT_S", "JOB_VARS", "Standby", "StandbyPool", "job_line", "standby_key"]

#: Variables that differ from one job to the next; a standby is started without them.
JOB_VARS = frozenset({"TRAINING_JOB_NAME", "MLFLOW_RUN_ID", NOTEBOOK_ENV})
#: A standby with no job for this long ends itself.
IDLE_TIMEOUT_S = 900.0
#: A standby this close to its idle timeout is not handed a job (it may be ending).
_MARGIN_S = 120.0
_CLOSE_WAIT_S = 5.0


def standby_key(
    python: str, notebook: Path, imports: Sequence[str], env: Mapping[str, str]
) -> Hashable:
    """What a job and a standby must share for the standby to run the job."""
    shared = tuple(sorted((k, v) for k, v in env.items() if k not in JOB_VARS))
    return (python, str(notebook.resolve()), tuple(imports), shared)


@dataclass
class Standby:
    """One standby process."""

    key: Hashable
    process: subprocess.Popen[bytes]
    folder: Path
    imports: tuple[str, ...]
    started: float = field(default_factory=time.monotonic)

    def usable(self) -> bool:
        """Alive, and not about to end for lack of a job."""
        young = time.monotonic() - self.started < IDLE_TIMEOUT_S - _MARGIN_S
        return young and self.process.poll() is None

    def state(self) -> dict[str, Any] | None:
        """What the standby wrote once ready (None while it warms up)."""
        try:
            found = json.loads((self.folder / STATE_FILE).read_text())
        except (OSError, ValueError):
            return None
        return found if isinstance(found, dict) else None

    def hand_over(self, job: Mapping[str, Any]) -> bool:
        """Send the job; False when the standby can no longer take it."""
        stdin = self.process.stdin
        if stdin is None or self.process.poll() is not None:
            return False
        try:
            stdin.write((json.dumps(dict(job)) + "\n").encode())
            stdin.close()
        except OSError:
            return False
        return True

    def close(self) -> None:
        """End the standby (end of input makes it stop its kernel and exit)."""
        with contextlib.suppress(OSError):
            if self.process.stdin is not None:
                self.process.stdin.close()
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                self.process.terminate()

    def reap(self, wait_s: float = 0.0) -> bool:
        """True once the process has ended (its folder is then removed)."""
        try:
            self.process.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            return False
        shutil.rmtree(self.folder, ignore_errors=True)
        return True


class StandbyPool:
    """Standby processes of one launcher.

    Args:
        python: Interpreter of the standbys (the jobs').
        size: Most standbys kept at once (one per job running at once).
        fork: Give the standbys of each kind of job one fork server
            (:mod:`loclab.execution.forkserver`) their kernels are forked from.
    """

    def __init__(self, python: str, size: int = 1, *, fork: bool = True) -> None:
        self.python = python
        self.size = max(1, size)
        self.fork = fork
        self._spares: list[Standby] = []
        self._closing: list[Standby] = []
        self._servers: dict[Hashable, ForkServer] = {}
        #: Kinds of job whose fork server refused (an import printed, warned or failed).
        self._refused: set[Hashable] = set()
        #: Modules whose early import was not silent: never imported early again.
        self.excluded: set[str] = set()
        atexit.register(self.close)

    @property
    def servers(self) -> list[ForkServer]:
        """The fork servers running or starting."""
        return list(self._servers.values())

    @property
    def spares(self) -> list[Standby]:
        """The standbys waiting for a job."""
        return list(self._spares)

    def take(self, key: Hashable) -> Standby | None:
        """A standby for a job of ``key``, now no longer the pool's; None when there is none."""
        self._tidy()
        for standby in list(self._spares):
            if standby.key != key:
                continue
            self._spares.remove(standby)
            state = standby.state() or {}
            tainted = state.get("tainted_import")
            if tainted:
                self.excluded.add(str(tainted))
            if tainted or state.get("tainted") or not standby.usable():
                self._retire(standby)
                continue
            return standby
        return None

    def provide(self, wanted: Sequence[tuple[Hashable, Mapping[str, str], Sequence[str]]]) -> None:
        """Hold a standby for each of the coming jobs ``wanted`` (in order, at most ``size``).

        Each entry is a job's ``(key, environment, imports)``. Spares that match are kept,
        missing ones started; a spare that no coming job wants makes room for one that is
        missing, and is retired anyway when ``wanted`` is shorter than the pool (the caller
        knows every job still to come).
        """
        self._tidy()
        wanted = list(wanted)[: self.size]
        unwanted = list(self._spares)
        missing: list[tuple[Hashable, Mapping[str, str], Sequence[str]]] = []
        for key, env, imports in wanted:
            match = next((s for s in unwanted if s.key == key), None)
            if match is not None:
                unwanted.remove(match)
            else:
                missing.append((key, env, imports))
        if len(wanted) < self.size:
            for standby in unwanted:
                self._spares.remove(standby)
                self._retire(standby)
            unwanted = []
        for key, env, imports in missing:
            if len(self._spares) >= self.size:
                if not unwanted:
                    return
                # The oldest standby no coming job wants makes room.
                oldest = unwanted.pop(0)
                self._spares.remove(oldest)
                self._retire(oldest)
            self._spares.append(self._start(key, env, imports))

    def trim(self, remaining: int) -> None:
        """At most ``remaining`` more jobs will come: keep no more standbys than that."""
        while len(self._spares) > max(0, remaining):
            self._retire(self._spares.pop(0))
        self._tidy()

    def close(self) -> None:
        """End every standby and fork server (idempotent; also run when the launcher exits)."""
        for standby in self._spares:
            self._retire(standby)
        self._spares = []
        for server in self._servers.values():
            server.close()
        self._servers = {}
        deadline = time.monotonic() + _CLOSE_WAIT_S
        for standby in self._closing:
            if not standby.reap(max(0.0, deadline - time.monotonic())):
                with contextlib.suppress(OSError):
                    standby.process.kill()
                standby.reap(1.0)
        self._closing = []

    def _retire(self, standby: Standby) -> None:
        standby.close()
        self._closing.append(standby)

    def _tidy(self) -> None:
        """Forget standbys that ended on their own, and reap those asked to end."""
        for standby in list(self._spares):
            if not standby.usable():
                self._spares.remove(standby)
                self._retire(standby)
        self._closing = [s for s in self._closing if not s.reap()]

    def _start(self, key: Hashable, env: Mapping[str, str], imports: Sequence[str]) -> Standby:
        folder = Path(tempfile.mkdtemp(prefix="loclab-standby-"))
        command = [
            self.python,
            "-m",
            "loclab.execution.warm",
            "--folder",
            str(folder),
            "--idle-timeout",
            str(IDLE_TIMEOUT_S),
        ]
        for entry in imports:
            command += ["--import", entry]
        standby_env = {k: v for k, v in env.items() if k not in JOB_VARS}
        server = self._server(key, standby_env, imports)
        if server is not None:
            command += ["--forkserver", str(server.socket), "--forkserver-pid", str(server.pid)]
        process = _spawn(command, standby_env, folder, folder / LOG_FILE)
        return Standby(key, process, folder, tuple(imports))

    def _server(
        self, key: Hashable, env: Mapping[str, str], imports: Sequence[str]
    ) -> ForkServer | None:
        """The fork server of jobs of ``key``, started on first use; None when there is none."""
        if not self.fork or not imports or key in self._refused:
            return None
        server = self._servers.pop(key, None)
        if server is not None and server.usable():
            self._servers[key] = server  # the most recently used last
            return server
        if server is not None:
            server.close()
            if server.refused():
                self._refused.add(key)
                return None  # its imports were not silent: the standbys' kernels import
        # Each server holds its modules in memory (torch and Lightning: about 0.6 GB): keep
        # those of the kinds of job the standbys serve, the least recently used ends first.
        while len(self._servers) > self.size:
            self._servers.pop(next(iter(self._servers))).close()
        server = ForkServer.start(self.python, env, imports)
        self._servers[key] = server
        return server

    def usable_imports(self, imports: Sequence[str]) -> list[str]:
        """``imports`` without the modules whose early import was not silent."""
        return [i for i in imports if i.partition(":")[0] not in self.excluded]


def _spawn(
    command: list[str], env: Mapping[str, str], folder: Path, log_path: Path
) -> subprocess.Popen[bytes]:
    """Start a helper process of the launcher: input from the launcher, output to ``log_path``.

    Its own session, as a job's: Ctrl-C reaches the launcher, which ends it (end of input).
    """
    log = log_path.open("ab")
    try:
        return subprocess.Popen(
            command,
            env=dict(env),
            stdin=subprocess.PIPE,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=str(folder),
        )
    finally:
        log.close()


@dataclass
class ForkServer:
    """One fork server process (:mod:`loclab.execution.forkserver`)."""

    process: subprocess.Popen[bytes]
    folder: Path

    @property
    def socket(self) -> Path:
        return self.folder / "server.sock"

    @property
    def pid(self) -> int:
        return self.process.pid

    @classmethod
    def start(cls, python: str, env: Mapping[str, str], imports: Sequence[str]) -> ForkServer:
        """Start a server importing ``imports`` with the standbys' environment ``env``."""
        folder = Path(tempfile.mkdtemp(prefix="loclab-fork-"))
        command = [python, "-m", "loclab.execution.forkserver", "--socket"]
        command += [str(folder / "server.sock"), "--idle-timeout", str(IDLE_TIMEOUT_S)]
        for entry in imports:
            command += ["--import", entry]
        return cls(_spawn(command, env, folder, folder / "server.log"), folder)

    def usable(self) -> bool:
        """Running, or still importing."""
        return self.process.poll() is None

    def refused(self) -> bool:
        """It ended because an import printed, warned or failed."""
        return self.process.poll() == 3

    def close(self) -> None:
        """End the server (end of input); the kernels it forked run on until their jobs end."""
        with contextlib.suppress(OSError):
            if self.process.stdin is not None:
                self.process.stdin.close()
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout=_CLOSE_WAIT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def job_line(run_dir: Path, env: Mapping[str, str], log: Path) -> dict[str, Any]:
    """What a standby is sent to become the job rooted at ``run_dir``."""
    return {"root": str(run_dir), "cwd": str(run_dir), "env": dict(env), "log": str(log)}
