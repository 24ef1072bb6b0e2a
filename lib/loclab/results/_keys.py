"""Content addresses of stages: equal inputs and code give an equal result, reused as it is.

Jobs have theirs (:attr:`loclab.execution.job.JobRequest.key`); the sweep, the analysis and
the whole run have the ones here, stored in their records (``inputs_key``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from loclab.io import jsonable, source_fingerprint
from loclab.spec import CompareSpec, Spec, SweepSpec

__all__ = ["ANALYSIS_CODE", "analysis_key", "run_key", "sweep_key"]

#: The code an analysis depends on.
ANALYSIS_CODE = ("stats", "compare", "results")
ANALYSIS_LIBRARIES = ("numpy", "scipy", "pandas", "sacrebleu")


def sweep_key(
    sweep: SweepSpec,
    study: str,
    notebook: bytes,
    job_code: str,
    base_params: Mapping[str, Any],
) -> str:
    """A sweep's content address.

    It covers the sweep's section, the study (name and storage), the notebook, the job code
    and the parameters every trial starts from.
    """
    h = hashlib.sha256()
    h.update(sweep.model_dump_json().encode())
    h.update(study.encode())
    h.update(notebook)
    h.update(job_code.encode())
    h.update(json.dumps(jsonable(base_params), sort_keys=True).encode())
    return h.hexdigest()


def analysis_key(compare: CompareSpec | None, jobs: Iterable[tuple[str, str, str, str]]) -> str:
    """An analysis' content address.

    It covers the ``compare:`` section, each job's ``(name, state, key, system)`` and the
    code of the statistics.
    """
    h = hashlib.sha256()
    h.update((compare.model_dump_json() if compare is not None else "").encode())
    for job in jobs:
        h.update(("|".join(job) + "\n").encode())
    h.update(source_fingerprint(ANALYSIS_CODE, ANALYSIS_LIBRARIES).encode())
    return h.hexdigest()


def run_key(
    spec: Spec, params: Mapping[str, Any], jobs: Iterable[tuple[str, str]], sweep: str = ""
) -> str:
    """A run's: the spec as run, its parameters, each job's ``(name, key)``, the sweep's key."""
    h = hashlib.sha256()
    h.update(spec.model_dump_json().encode())
    h.update(json.dumps(jsonable(params), sort_keys=True).encode())
    for name, key in jobs:
        h.update(f"{name}|{key}\n".encode())
    h.update(sweep.encode())
    return h.hexdigest()
