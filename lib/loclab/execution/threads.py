"""How many CPU threads a local job gets, and the variables that tell its libraries.

A job's numeric libraries (torch's OpenMP pool, MKL, OpenBLAS) start one thread per core they
see unless told otherwise. Two things make that wrong: parallel jobs share the cores, and a
container's CPU quota (``docker --cpus 2`` on a 16-core host) is smaller than the cores it sees.
:func:`available_cores` counts what this process may really use; :func:`threads_per_job`
splits it between the jobs that run at once; :func:`thread_env` is what a job is given.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

__all__ = ["THREAD_VARS", "available_cores", "thread_env", "threads_per_job"]

#: Variables each numeric library reads its thread count from.
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
_CGROUP = Path("/sys/fs/cgroup")


def _affinity() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _quota(root: Path = _CGROUP) -> float | None:
    """CPUs allowed by a cgroup quota (v2 ``cpu.max``, v1 ``cpu.cfs_quota_us``), or None."""
    try:
        fields = (root / "cpu.max").read_text().split()
        if fields and fields[0] != "max":
            return int(fields[0]) / int(fields[1])
        return None
    except (OSError, ValueError, IndexError):
        pass
    try:
        quota = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((root / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota / period if quota > 0 and period > 0 else None


def available_cores(cgroup_root: Path = _CGROUP) -> int:
    """Cores this process may use: its CPU affinity, capped by a container's CPU quota.

    Args:
        cgroup_root: Where the cgroup files are (tests point it elsewhere).
    """
    cores = _affinity()
    quota = _quota(cgroup_root)
    if quota is not None:
        cores = min(cores, max(1, math.floor(quota)))
    return max(1, cores)


def threads_per_job(workers: int, cpus: int | None = None) -> int:
    """CPU threads per job so that ``workers`` jobs share the cores instead of fighting.

    Args:
        workers: Jobs running at once.
        cpus: Cores to share (:func:`available_cores` when None).
    """
    cpus = available_cores() if cpus is None else cpus
    return max(1, cpus // max(1, workers))


def thread_env(threads: int) -> dict[str, str]:
    """Variables limiting a job to ``threads`` threads, with OpenMP threads that sleep when idle.

    Spinning OpenMP threads (libgomp's default: about 300,000 spins before sleeping) are what
    makes torch collapse on busy cores: each of the thousands of small parallel regions of an
    epoch waits for a thread that another process holds off the core. Passive waits let the
    job slow down only in proportion to the load (``benchmarks/training_under_load.py``).
    """
    n = str(max(1, threads))
    return {**dict.fromkeys(THREAD_VARS, n), "OMP_WAIT_POLICY": "PASSIVE"}
