"""Which process runs something, and whether it still does (pids are reused; start times not)."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from typing import Any

__all__ = ["created", "identity", "is_alive", "same_host"]


def created(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), or None when there is none."""
    import psutil

    try:
        return float(psutil.Process(pid).create_time())
    except psutil.Error:
        return None


def identity(pid: int | None = None) -> dict[str, Any]:
    """``{"host", "pid", "created"}`` of process ``pid`` (this process by default)."""
    pid = os.getpid() if pid is None else pid
    return {"host": socket.gethostname(), "pid": pid, "created": created(pid)}


def is_alive(pid: int | None, started: float | None = None) -> bool:
    """True when process ``pid`` runs and, if ``started`` is known, started then.

    A later process that got the same pid is not the one that was recorded.
    """
    if not pid:
        return False
    now = created(int(pid))
    if now is None:
        return False
    return started is None or abs(now - float(started)) < 1.0


def same_host(found: Mapping[str, Any]) -> bool:
    """True when an identity was taken on this machine (only then can its pid be checked)."""
    return found.get("host") == socket.gethostname()
