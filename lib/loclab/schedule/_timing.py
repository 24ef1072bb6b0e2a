"""When ticks run: one at a time per experiment (a lock), and which ones were missed.

The lock is an advisory ``flock`` on ``<state>/schedules/<experiment>/tick.lock``: the
kernel releases it when the process ends, however it ends, so a tick killed by the OOM
killer never blocks the next one. Missed ticks are the cron expression's fire times between
the previous tick and this one (this one stands for the latest); they are noted, not run.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

__all__ = ["MAX_MISSED_SHOWN", "TickLock", "missed_ticks", "tick_lock"]

#: Missed times listed in a record (the count covers all of them).
MAX_MISSED_SHOWN = 20
#: Fire times counted at most (a minutely schedule left off for a year stops here).
_MAX_COUNTED = 100_000


class TickLock:
    """The lock a tick holds while it runs.

    Attributes:
        path: The lock file.
        holder: Who holds it (``pid``, ``host``, ``since``), as the holder wrote it, when
            :meth:`acquire` failed.
    """

    def __init__(self, folder: Path) -> None:
        self.path = folder / "tick.lock"
        self.holder: dict[str, object] = {}
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock without waiting; False when another tick holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            with contextlib.suppress(OSError, ValueError):
                self.holder = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        me = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}
        os.pwrite(fd, json.dumps(me).encode(), 0)
        self._fd = fd
        return True

    def release(self) -> None:
        """Let the next tick run."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)
            self._fd = None


@contextlib.contextmanager
def tick_lock(folder: Path) -> Iterator[TickLock | None]:
    """The tick lock held for the block, or None when another tick holds it."""
    lock = TickLock(folder)
    if not lock.acquire():
        yield None
        return
    try:
        yield lock
    finally:
        lock.release()


def missed_ticks(
    cron: str, timezone: str, since: float | None, now: float, *, limit: int = MAX_MISSED_SHOWN
) -> tuple[list[str], int]:
    """Fire times after ``since`` and before the latest one up to ``now``: ticks that never ran.

    Args:
        cron: The five-field expression.
        timezone: The IANA zone it is read in.
        since: When the previous tick started (None: nothing can have been missed).
        now: When this tick started.
        limit: Times listed at most.

    Returns:
        The first ``limit`` missed times (ISO 8601 in the schedule's zone) and how many
        there were.
    """
    if since is None or since >= now:
        return [], 0
    from croniter import croniter

    zone = ZoneInfo(timezone)
    fires = croniter(cron, datetime.fromtimestamp(since, UTC).astimezone(zone))
    found: list[str] = []
    count = 0
    while count <= _MAX_COUNTED:
        moment = fires.get_next(datetime)
        if moment.timestamp() > now:
            break
        count += 1
        if len(found) <= limit:
            found.append(moment.isoformat(timespec="minutes"))
    # The latest fire time up to now is the one this tick stands for.
    if count == 0:
        return [], 0
    missed = count - 1
    return found[: min(missed, limit)], missed
