"""Fork server: kernels forked from a process that has imported the notebook's modules once.

A warm standby hides a job's start-up behind the job before it, but its kernel still imports
the notebook's modules (``import lightning`` alone costs 5-6 s of CPU) while that job trains,
on the same cores: on a small machine the running trial pays for the next one's imports. The
fork server pays for them once per sweep or run. ``python -m loclab.execution.forkserver``
imports ``ipykernel`` and the modules it is given, then listens on a Unix socket; a standby's
kernel manager (:func:`forked_kernel_manager`) asks it for a kernel, and the server forks a
child that becomes that kernel: a fresh process, used once, with its modules already loaded
(copy-on-write, milliseconds). Everything else about the kernel is as jupyter_client starts
it: its command-line arguments and connection file, its environment and working folder, its
own session, its output on the standby's stdout and stderr, and it ends when the process that
asked for it ends (as ipykernel's parent poller does for a kernel started the usual way).

Faithful: the server imports each module with its output captured; a module that printed,
warned or raised while imported makes the server refuse to serve (``tainted`` in its state
file) and the standbys start their kernels as usual. Nothing runs in the server but imports: no
thread, no torch work, no event loop, so a fork copies no lock held by another thread. The
child reseeds what fork would otherwise share between kernels (NumPy's global generator;
Python's ``random`` reseeds itself).

Never leaks: the server ends at end of input on its stdin (the launcher ended) or after
``--idle-timeout`` seconds without a request; kernels it forked are not its to end (their jobs
end them).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from loclab.io import write_json

__all__ = [
    "ForkedProcess",
    "forked_kernel_manager",
    "launch_forked",
    "main",
    "server_state",
    "wait_until_ready",
]

_MODULE = "ipykernel_launcher"
#: True in a forked child (a kernel), which leaves the server's code by :class:`_KernelEnded`.
_IN_CHILD = False
_REQUEST_TIMEOUT_S = 10.0


def server_state(socket_path: Path) -> dict[str, Any] | None:
    """What the server at ``socket_path`` wrote once ready or refused (None before)."""
    try:
        found = json.loads(socket_path.with_suffix(".json").read_text())
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def _alive(pid: int) -> bool:
    """The process exists and is not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def wait_until_ready(socket_path: Path, server_pid: int, timeout_s: float) -> bool:
    """Wait for the server to be ready; False when it refused, ended or took too long."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = server_state(socket_path)
        if state is not None:
            return bool(state.get("ready")) and socket_path.exists()
        if not _alive(server_pid):
            return False
        time.sleep(0.05)
    return False


# -- the server ------------------------------------------------------------------------------


def _import_quietly(entry: str) -> str | None:
    """Import ``"pkg.mod"`` or ``"pkg.mod:a,b"``; what it printed, warned or raised, or None."""
    module, _, names = entry.partition(":")
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with tempfile.TemporaryFile() as out:
        os.dup2(out.fileno(), 1)
        os.dup2(out.fileno(), 2)
        problem: str | None = None
        try:
            with warnings.catch_warnings(record=True) as caught:
                try:
                    found = __import__(module, fromlist=["_"])
                    for name in filter(None, names.split(",")):
                        if not hasattr(found, name):
                            __import__(f"{module}.{name}")
                except ModuleNotFoundError as err:
                    # An optional module the notebook guards: nothing imported, as in a kernel.
                    missing = err.name or ""
                    if not missing or not (module + ".").startswith(missing + "."):
                        problem = f"{type(err).__name__}: {err}"
                except Exception as err:
                    problem = f"{type(err).__name__}: {err}"
            if problem is None and caught:
                problem = f"it warned {str(caught[0].message)[:200]!r}"
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
        out.seek(0)
        printed = out.read(200)
    if problem is None and printed:
        problem = f"it printed {printed.decode(errors='replace')!r}"
    return problem


def _reseed() -> None:
    """Give the child what a fresh process would have: its own NumPy global generator."""
    random = sys.modules.get("numpy.random")
    if random is not None:
        random.seed()


def _watch(pid: int) -> None:
    """End this kernel when process ``pid`` (the one that asked for it) ends."""
    import threading

    try:
        fd = os.pidfd_open(pid)
    except OSError:
        os._exit(1)

    def wait() -> None:
        import select

        select.select([fd], [], [])
        os._exit(1)

    threading.Thread(target=wait, daemon=True, name="loclab-kernel-parent").start()


def _become_kernel(request: Mapping[str, Any], fds: Sequence[int]) -> int:
    """In the forked child: become the kernel ``request`` describes; its exit code."""
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(fds[0], 1)
    os.dup2(fds[1], 2)
    for fd in fds:
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    _reseed()
    _watch(int(request["watch"]))
    launcher = sys.modules.get(_MODULE)
    sys.argv = [getattr(launcher, "__file__", None) or _MODULE, *request["argv"]]
    from ipykernel.kernelapp import launch_new_instance

    launch_new_instance()
    return 0


class _KernelEnded(SystemExit):
    """Raised in a forked child when its kernel has ended, to exit as a kernel process does."""


def _fork(
    request: Mapping[str, Any], fds: Sequence[int], close: Sequence[socket.socket | int]
) -> int:
    global _IN_CHILD
    pid = os.fork()
    if pid:
        return pid
    _IN_CHILD = True
    code = 1
    try:
        for thing in close:
            if isinstance(thing, int):
                os.close(thing)
            else:
                thing.close()
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        code = _become_kernel(request, fds)
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except BaseException:
        traceback.print_exc()
    # The process ends as a kernel's does: atexit handlers run (MLflow's queue of asynchronous
    # logging, the notebook's own), non-daemon threads are joined.
    raise _KernelEnded(code)


def _read_request(conn: socket.socket) -> tuple[dict[str, Any], list[int]]:
    conn.settimeout(_REQUEST_TIMEOUT_S)
    _, fds, _, _ = socket.recv_fds(conn, 1, 2)
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    if len(fds) != 2:
        for fd in fds:
            os.close(fd)
        raise ValueError("a kernel request comes with its stdout and stderr")
    return json.loads(data), list(fds)


def _serve(server: socket.socket, idle_timeout: float) -> None:
    """Fork a kernel per request; tell each requester its kernel's pid, then its exit code."""
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    selector = selectors.DefaultSelector()
    selector.register(server, selectors.EVENT_READ, "accept")
    selector.register(0, selectors.EVENT_READ, "stdin")
    selector.register(wake_r, selectors.EVENT_READ, "child")
    waiting: dict[int, socket.socket] = {}
    last = time.monotonic()
    while True:
        events = selector.select(timeout=max(0.1, last + idle_timeout - time.monotonic()))
        if not events and time.monotonic() - last >= idle_timeout:
            return
        for key, _ in events:
            if key.data == "stdin":
                if not os.read(0, 4096):
                    return
            elif key.data == "accept":
                conn, _ = server.accept()
                last = time.monotonic()
                try:
                    request, fds = _read_request(conn)
                except (OSError, ValueError) as err:
                    with contextlib.suppress(OSError):
                        conn.sendall(json.dumps({"error": str(err)}).encode() + b"\n")
                    conn.close()
                    continue
                keep: list[socket.socket | int] = [server, wake_r, wake_w, conn]
                keep += waiting.values()
                pid = _fork(request, fds, keep)
                for fd in fds:
                    os.close(fd)
                with contextlib.suppress(OSError):
                    conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
                waiting[pid] = conn
            else:
                with contextlib.suppress(BlockingIOError):
                    while os.read(wake_r, 4096):
                        pass
                while waiting:
                    pid, status = os.waitpid(-1, os.WNOHANG)
                    if pid == 0:
                        break
                    done = waiting.pop(pid, None)
                    if done is not None:
                        with contextlib.suppress(OSError):
                            code = os.waitstatus_to_exitcode(status)
                            done.sendall(json.dumps({"exit": code}).encode() + b"\n")
                        done.close()


def main(argv: list[str] | None = None) -> int:
    """``python -m loclab.execution.forkserver --socket PATH [--import MOD]...``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--socket", type=Path, required=True)
    parser.add_argument("--import", dest="imports", action="append", default=[])
    parser.add_argument("--idle-timeout", type=float, default=900.0)
    args = parser.parse_args(argv)
    path: Path = args.socket
    # As ipykernel_launcher does: the working folder is not on sys.path while modules load
    # (the kernel puts the job's folder there when it starts).
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]
    started = time.monotonic()
    imported: list[str] = []
    tainted: str | None = None
    for entry in [_MODULE, "ipykernel.kernelapp", *args.imports]:
        problem = _import_quietly(entry)
        if problem is not None:
            tainted = f"importing {entry.partition(':')[0]}: {problem}"
            break
        imported.append(entry)
    state: dict[str, Any] = {
        "pid": os.getpid(),
        "python": sys.executable,
        "imported": imported,
        "tainted": tainted,
        "seconds": round(time.monotonic() - started, 3),
    }
    if tainted is not None:
        write_json(path.with_suffix(".json"), {**state, "ready": False})
        return 3
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(str(path))
        server.listen(16)
        write_json(path.with_suffix(".json"), {**state, "ready": True})
        _serve(server, args.idle_timeout)
    finally:
        if not _IN_CHILD:  # a forked kernel leaves through here too: the socket is not its
            server.close()
            with contextlib.suppress(OSError):
                path.unlink()
    return 0


# -- the client ------------------------------------------------------------------------------


class ForkedProcess:
    """A kernel forked by the server, with the parts of ``Popen`` jupyter_client uses."""

    stdin = stdout = stderr = None

    def __init__(self, conn: socket.socket, pid: int) -> None:
        self._conn = conn
        self._buffer = b""
        self.pid = pid
        self.returncode: int | None = None

    def _read(self, timeout: float | None) -> None:
        if self.returncode is not None:
            return
        self._conn.settimeout(timeout)
        try:
            chunk = self._conn.recv(4096)
        except (TimeoutError, BlockingIOError):
            return
        except OSError:
            chunk = b""
        if chunk:
            self._buffer += chunk
            if self._buffer.endswith(b"\n"):
                self.returncode = int(json.loads(self._buffer.splitlines()[-1])["exit"])
                self._conn.close()
            return
        # The server ended before its kernel: judge by the process itself.
        if not _alive(self.pid):
            self.returncode = -signal.SIGKILL
            self._conn.close()

    def poll(self) -> int | None:
        """The exit code, or None while the kernel runs."""
        self._read(0.0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the kernel to end (``subprocess.TimeoutExpired`` after ``timeout``)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired(_MODULE, timeout or 0.0)
            self._read(min(0.5, left) if left is not None else 0.5)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, signum: int) -> None:
        """Signal the kernel (nothing once it has ended)."""
        if self.poll() is None:
            os.kill(self.pid, signum)

    def terminate(self) -> None:
        """SIGTERM the kernel."""
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL the kernel."""
        self.send_signal(signal.SIGKILL)


def launch_forked(
    socket_path: Path, cmd: Sequence[str], env: Mapping[str, str], cwd: str
) -> ForkedProcess | None:
    """Ask the server for the kernel ``cmd`` would start; None when it cannot give one.

    It can when ``cmd`` is ``PYTHON -m ipykernel_launcher ...`` with the server's own Python.
    """
    state = server_state(socket_path)
    if not state or not state.get("ready") or len(cmd) < 3:
        return None
    if list(cmd[1:3]) != ["-m", _MODULE]:
        return None
    if os.path.realpath(cmd[0]) != os.path.realpath(str(state.get("python"))):
        return None
    # What jupyter_client's launcher adds to a kernel's environment on POSIX.
    env = {**env, "JPY_PARENT_PID": str(os.getpid())}
    request = {"argv": list(cmd[3:]), "env": env, "cwd": cwd, "watch": os.getpid()}
    sys.stdout.flush()
    sys.stderr.flush()
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.settimeout(_REQUEST_TIMEOUT_S)
        conn.connect(str(socket_path))
        socket.send_fds(conn, [b"K"], [1, 2])
        conn.sendall(json.dumps(request).encode() + b"\n")
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = conn.recv(4096)
            if not chunk:
                break
            reply += chunk
        pid = json.loads(reply or b"{}").get("pid")
    except (OSError, ValueError):
        conn.close()
        return None
    if not isinstance(pid, int):
        conn.close()
        return None
    return ForkedProcess(conn, pid)


def _manager_class() -> type:
    from jupyter_client.manager import AsyncKernelManager

    class _Forked(AsyncKernelManager):
        """An ``AsyncKernelManager`` whose kernel comes from the fork server when it can."""

        forkserver: Path | None = None

        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            # A LocalProvisioner (the kernel spec names no other): its process is replaced.
            provisioner: Any = self.provisioner
            process = None
            if self.forkserver is not None and provisioner is not None:
                env = kw.get("env") or dict(os.environ)
                process = launch_forked(
                    self.forkserver, kernel_cmd, env, str(kw.get("cwd") or os.getcwd())
                )
            if process is None:
                await super()._async_launch_kernel(kernel_cmd, **kw)
                return
            provisioner.process = process
            provisioner.pid = process.pid
            provisioner.pgid = process.pid  # the child made its own session
            provisioner.cwd = kw.get("cwd")
            self._reconcile_connection_info(provisioner.connection_info)

    return _Forked


def forked_kernel_manager(kernel_name: str, forkserver: Path | None) -> Any:
    """An async kernel manager for ``kernel_name`` that forks from ``forkserver`` if it can."""
    manager = _manager_class()(kernel_name=kernel_name)
    manager.forkserver = forkserver
    return manager


if __name__ == "__main__":
    sys.exit(main())
