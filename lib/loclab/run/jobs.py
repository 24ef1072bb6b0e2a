"""The job stage: run the planned jobs ``workers`` at a time, reuse completed ones, show progress.

Each running job's per-epoch metrics (its ``metrics.jsonl``) are shown as they arrive, and
every finished job updates an estimate of the time left. Ctrl-C stops every running job
cleanly (each is recorded KILLED) before the interrupt goes on.

A compared system whose first two seeds wrote identical predictions ignores its seed: its
remaining seeds are not run but recorded ``SKIPPED`` (:mod:`loclab.run.determinism`). Jobs
start with every system's first two seeds, so with several workers the later seeds of such a
system are still waiting when it is found out; a later seed already running finishes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from loclab.execution.job import JobRequest, JobResult, JobState
from loclab.run.determinism import SeedWatch
from loclab.sweep.progress import format_seconds

if TYPE_CHECKING:
    from loclab.execution.runner import JobRunner, RunningJob

__all__ = ["JobProgress", "run_jobs"]

POLL_S = 0.5
#: Parameters a notebook commonly names its epoch count with (shown as "epoch 3/8").
_EPOCH_PARAMS = ("max_epochs", "epochs", "n_epochs", "num_epochs")


@dataclass
class JobProgress:
    """What the stage knows about the time its jobs take (for the estimate of what is left).

    Attributes:
        total: Jobs in the stage.
        workers: Jobs at once.
        started: When the stage started.
        durations: Seconds each job that ran (not reused) took.
        finished: Jobs finished or reused so far.
    """

    total: int
    workers: int
    started: float = field(default_factory=time.time)
    durations: list[float] = field(default_factory=list)
    finished: int = 0

    def remaining_s(self, running: Sequence[float] = ()) -> float | None:
        """Seconds left, from the mean duration so far (None before any job finished).

        Args:
            running: Seconds each running job has run already.
        """
        if not self.durations:
            return None
        mean = sum(self.durations) / len(self.durations)
        waiting = self.total - self.finished - len(running)
        left_running = sum(max(0.0, mean - r) for r in running)
        return (left_running + waiting * mean) / max(1, self.workers)


def run_jobs(
    runner: JobRunner,
    requests: Sequence[JobRequest],
    *,
    workers: int = 1,
    reuse: bool = True,
    say: Callable[[str], None] = print,
    on_done: Callable[[JobResult], None] | None = None,
    skip_deterministic: bool = True,
) -> list[JobResult]:
    """Run ``requests`` up to ``workers`` at a time; return their results in request order.

    Args:
        runner: Starts, watches and finishes jobs.
        requests: The jobs (each system's first two seeds start first).
        workers: Jobs at once.
        reuse: Reuse a completed job with the same inputs instead of running it again.
        say: Where progress lines go.
        on_done: Called with each result as soon as it is known (records are written there).
        skip_deterministic: Skip the remaining seeds of a system whose first two seeds gave
            identical predictions (they are recorded ``SKIPPED``).

    Raises:
        KeyboardInterrupt: After every running job was stopped and recorded KILLED.
        Exception: Whatever ``on_done`` raises (a check of the first job's output), after
            every running job was stopped and recorded KILLED; the remaining ones do not start.
    """
    total = len(requests)
    progress = JobProgress(total=total, workers=max(1, workers))
    results: dict[int, JobResult] = {}
    watch = SeedWatch(requests if skip_deterministic else [])
    pending = [(i, requests[i]) for i in watch.order(requests)]
    running: dict[int, RunningJob] = {}
    seen: dict[int, int] = {}

    def done(index: int, result: JobResult) -> None:
        results[index] = result
        progress.finished += 1
        if result.ok:
            watch.saw(requests[index], result)
        if not result.cached and not result.skipped:
            progress.durations.append(result.duration)
        if on_done is not None:
            on_done(result)

    try:
        while pending or running:
            while pending and len(running) < progress.workers:
                index, request = pending.pop(0)
                tag = f"[{index + 1}/{total}] {request.name}"
                found = runner.cached(request) if reuse else None
                if found is not None:
                    say(f"{tag}: reused completed run {found.run_dir}")
                    done(index, found)
                    continue
                why = runner.damaged.pop(request.name, None)
                if why is not None:
                    say(f"{tag}: its earlier run is not reused ({why}); running it again")
                skipped = watch.skip(request, runner.run_dir(request))
                if skipped is not None:
                    say(f"{tag}: {skipped.tags.get('loclab.skipped')}")
                    done(index, skipped)
                    continue
                say(f"{tag} started")
                # What comes next (a local backend keeps warm standbys for those jobs).
                runner.backend.expect(len(pending) + 1, [request, *(r for _, r in pending)])
                running[index] = runner.start(request)
                seen[index] = 0
            if not running:
                continue
            time.sleep(POLL_S)
            for index, job in list(running.items()):
                seen[index] = _show_epochs(job, seen[index], say)
                if job.stop_reason is None and job.timed_out():
                    job.stop(JobState.TIMEOUT, wait=False)
                job.enforce_stop()
                if not job.done():
                    continue
                del running[index]
                result = runner.finish(job)
                seen[index] = _show_epochs(job, seen[index], say)
                done(index, result)
                now = time.time()
                left = progress.remaining_s([now - j.started for j in running.values()])
                eta = ""
                if left is not None and pending:
                    eta = f"; about {format_seconds(left)} left"
                elif running:
                    eta = f"; waiting for {len(running)} job(s)"
                say(
                    f"[{index + 1}/{total}] {job.request.name} {result.state} in "
                    f"{result.duration:.1f} s ({progress.finished}/{total} done{eta})"
                )
    except BaseException:
        for job in running.values():
            job.stop(JobState.KILLED, wait=False)
        for job in running.values():
            runner.finish(job)
        raise
    return [results[i] for i in range(total)]


def _show_epochs(job: RunningJob, seen: int, say: Callable[[str], None]) -> int:
    """Print the per-epoch metrics the job reported since the last look; return the count."""
    records = job.metrics()
    total = _epochs(job.request.params)
    for record in records[seen:]:
        step = record.get("step")
        if step is None:
            continue
        values = ", ".join(
            f"{k}={_short(v)}" for k, v in sorted((record.get("metrics") or {}).items())
        )
        of = f"/{total}" if total else ""
        say(f"      {job.request.name}: epoch {int(step) + 1}{of}  {values}")
    return len(records)


def _epochs(params: dict[str, Any]) -> int | None:
    for name in _EPOCH_PARAMS:
        value = params.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def _short(value: Any) -> str:
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:.4g}"
    return str(value)
