"""Systems that ignore their seed: found after two seeds, run no further.

A comparison trains every system once per seed. A system whose first two seeds wrote
identical predictions (a rule, a logistic regression fitted by a deterministic solver)
ignores its seed: more seeds would repeat the same run, and the statistics treat its
seed-to-seed spread as exactly zero. :class:`SeedWatch` tells the job stage which jobs it may
skip, and in what order to start jobs so the first two seeds of every system come first (with
several workers a system's later seeds would otherwise start before its first two finished).

Skipped jobs are recorded as ``SKIPPED`` (not failed) with the reason and the job they would
repeat; the reuse of an unchanged run accepts them (:mod:`loclab.run.reuse`).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from loclab.execution.job import JobRequest, JobResult, JobState

__all__ = ["SAME_AS_TAG", "SKIPPED_TAG", "SeedWatch", "predictions_fingerprint", "skipped_result"]

#: Tag of a skipped job: why it was not run.
SKIPPED_TAG = "loclab.skipped"
#: Tag of a skipped job: the completed job it would have repeated.
SAME_AS_TAG = "loclab.same_as"
#: Seeds of a system that run before it can be found deterministic.
PROBE_SEEDS = 2


def predictions_fingerprint(result: JobResult) -> str | None:
    """A content hash of a completed job's predictions (None without predictions)."""
    if not result.ok or not result.predictions.is_file():
        return None
    import pandas as pd

    try:
        frame = pd.read_parquet(result.predictions)
    except (OSError, ValueError):
        return None
    h = hashlib.sha256()
    h.update(repr(list(frame.columns)).encode())
    h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()


def skipped_result(
    request: JobRequest, run_dir: Path, reason: str, same_as: str | None = None
) -> JobResult:
    """The result recorded for a job not run because its system proved deterministic.

    Args:
        request: The job.
        run_dir: Its run folder (never created: nothing ran).
        reason: Why it was not run.
        same_as: The completed job it would have repeated.
    """
    now = time.time()
    tags = {**request.tags, SKIPPED_TAG: reason}
    if same_as:
        tags[SAME_AS_TAG] = same_as
    return JobResult(
        name=request.name,
        state=JobState.SKIPPED,
        run_dir=run_dir,
        key=request.key,
        started=now,
        ended=now,
        tags=tags,
    )


@dataclass
class _System:
    """What the watch knows of one system's seeds."""

    seeds: list[str] = field(default_factory=list)
    prints: dict[str, tuple[str, JobResult]] = field(default_factory=dict)
    same: tuple[str, str, JobResult] | None = None


class SeedWatch:
    """Which comparison jobs repeat a deterministic system's run, and the order to start jobs.

    Only systems with three or more seeds take part (with two there is nothing to skip; the
    analysis still finds them deterministic from their outputs).

    Args:
        requests: The job stage's jobs (tags ``loclab.system`` and ``loclab.seed``).
    """

    def __init__(self, requests: Sequence[JobRequest]) -> None:
        self._systems: dict[str, _System] = {}
        for r in requests:
            system, seed = r.tags.get("loclab.system"), r.tags.get("loclab.seed")
            if system and seed not in (None, "") and system != "run":
                self._systems.setdefault(system, _System()).seeds.append(str(seed))
        self._systems = {k: v for k, v in self._systems.items() if len(v.seeds) > PROBE_SEEDS}

    def order(self, requests: Sequence[JobRequest]) -> list[int]:
        """Start order (indices into ``requests``): each system's first two seeds first."""
        first, later = [], []
        for i, r in enumerate(requests):
            probe = self._systems.get(r.tags.get("loclab.system", ""))
            seed = str(r.tags.get("loclab.seed", ""))
            if probe is not None and seed not in probe.seeds[:PROBE_SEEDS]:
                later.append(i)
            else:
                first.append(i)
        return first + later

    def saw(self, request: JobRequest, result: JobResult) -> None:
        """Note a completed (or reused) job's predictions."""
        system = self._systems.get(request.tags.get("loclab.system", ""))
        if system is None or system.same is not None:
            return
        seed = str(request.tags.get("loclab.seed", ""))
        if seed not in system.seeds[:PROBE_SEEDS]:
            # Only the first two seeds decide: a later seed that happens to repeat one of
            # them (seed 2 of a model whose output depends on seed % 2) proves nothing, and
            # which later seed ends first depends on timing.
            return
        found = predictions_fingerprint(result)
        if found is None:
            return
        for other_seed, (other, other_result) in system.prints.items():
            if other == found:
                # Named in seed order, whichever ended first: the record does not depend on
                # timing (skipped seeds are "the same as" the lowest probe seed).
                (a, first), (b, _) = sorted(
                    [(other_seed, other_result), (seed, result)],
                    key=lambda pair: system.seeds.index(pair[0]),
                )
                system.same = (a, b, first)
                return
        system.prints[seed] = (found, result)

    def skip(self, request: JobRequest, run_dir: Path) -> JobResult | None:
        """The skipped result of ``request`` if its system proved deterministic, else None."""
        system = self._systems.get(request.tags.get("loclab.system", ""))
        if system is None or system.same is None:
            return None
        seed = str(request.tags.get("loclab.seed", ""))
        if seed in system.prints or seed in system.same[:2]:
            return None
        a, b, earlier = system.same
        reason = (
            f"not run: seeds {a} and {b} of this system gave identical predictions, so it "
            "ignores its seed (deterministic) and this seed would repeat them"
        )
        return skipped_result(request, run_dir, reason, earlier.name)
