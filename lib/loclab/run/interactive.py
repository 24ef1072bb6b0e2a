"""``--run ID``: interactive runs joining an experiment's comparison, checked before it runs.

``loclab compare SPEC --run ID`` (and ``loclab run``) adds a template notebook run by hand
(an interactive run, ``loclab list`` shows them) to the comparison stage as one more
candidate (:mod:`loclab.compare.interactive`). Every check is made here, before anything
runs or is written, and every problem is one line naming ``--run`` and the fix: an unknown
or ambiguous id, a run that failed, ran another notebook than the spec's systems, lacks its
predictions or a compared metric, or predicted another test set than the baseline's jobs.

The test set is checked against a completed job of the baseline when there is one (an
earlier run's, reused); otherwise right after the baseline's first job completes, before
the analysis (:func:`check_test_set`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from loclab.compare import ComparisonError, run_outputs
from loclab.compare.interactive import (
    InteractiveSystem,
    default_names,
    load_system,
    metric_problems,
    pairing_problems,
)
from loclab.exceptions import Problem, SpecError
from loclab.execution.job import JobResult
from loclab.execution.plan import JobPlan, make_request, plan_jobs
from loclab.execution.records import job_tags
from loclab.execution.runner import completed_run
from loclab.paths import Workspace
from loclab.results import ExperimentResults, InteractiveRecord, InteractiveRuns, RecordError
from loclab.spec import Experiment
from loclab.spec.compare import SYSTEM_NAME

__all__ = ["check_test_set", "find_run", "interactive_systems"]

SOURCE = "command line"
#: The parameter through which the baseline's jobs vary their training seed.
SEED_PARAM = "seed"
_SHOWN = 3


def interactive_systems(
    exp: Experiment, ws: Workspace, refs: Sequence[str]
) -> list[InteractiveSystem]:
    """The interactive runs ``--run`` names, checked and read, as systems of the comparison.

    Args:
        exp: The experiment (it has a ``compare:`` section with listed systems).
        ws: Where the interactive runs and the jobs are kept.
        refs: ``ID`` or ``ID=NAME`` items: a run's name (or a unique prefix of it or of its
            MLflow run id) and the system name it gets (default ``interactive-<time>``).

    Raises:
        SpecError: Every problem, one line each (nothing was run or written).
    """
    if not refs:
        return []
    compare = exp.spec.compare
    if compare is None or compare.discovered:
        why = (
            "has no compare: section"
            if compare is None
            else "takes its systems from one job's output (no compare.systems)"
        )
        raise SpecError(
            [
                Problem(
                    SOURCE,
                    "--run",
                    f"{exp.display_path} {why}, so an interactive run has no comparison to join",
                    "compare it in a spec that lists its systems (loclab new experiment NAME "
                    "--compare PARAM=VALUE writes one)",
                )
            ]
        )
    runs = InteractiveRuns(ws.state)
    plans = _baseline_plans(exp, ws)
    base = {**exp.notebook.defaults(), **_baseline_overrides(exp, plans)}
    ignore = {SEED_PARAM} if SEED_PARAM in exp.notebook else set()
    done = _completed_baseline(exp, ws, plans)
    taken: dict[str, str] = {name: "a system of the spec" for name in compare.systems}
    seen: set[str] = set()
    problems: list[Problem] = []
    systems: list[InteractiveSystem] = []
    for item in refs:
        ref, named, name = _split(item)

        def problem(message: str, fix: str = "", where: str = item) -> None:
            problems.append(Problem(SOURCE, f"--run {where}", message, fix))

        said = ""  # the run's full name, said when the user gave a prefix of it
        if not ref:
            problem("names no run", "give --run ID or --run ID=NAME (loclab list shows the runs)")
            continue
        if named and not re.fullmatch(SYSTEM_NAME, name):
            problem(
                f"'{name}' is not a system name (letters, digits and inner hyphens, at most 40)",
                "e.g. --run ID=by-hand",
            )
            continue
        record = _find(runs, ref, problem)
        if record is None:
            continue
        said = f"{record.name}: " if record.name != ref else ""
        if record.name in seen:
            problem(f"{said}the same run is given twice", "give each interactive run once")
            continue
        seen.add(record.name)
        if not name:
            names = default_names(record)
            name = next((n for n in names if n not in taken), names[-1])
        if name in taken:
            problem(f"system name '{name}' is taken ({taken[name]})", "name it: --run ID=NAME")
            continue
        taken[name] = f"--run {item}"
        found = _checked(exp, record, said, problem)
        if found is None:
            continue
        try:
            system = load_system(
                record,
                name=name,
                label=name,
                notebook=found,
                baseline_params=base,
                ignore=ignore,
            )
        except ComparisonError as err:
            problem(f"{said}{err}")
            continue
        for message in metric_problems(system, compare):
            problem(f"{said}{message}")
        if done is not None:
            for message in _test_set(system, done):
                problem(f"{said}{message}", _data_fix(system))
        systems.append(system)
    if problems:
        raise SpecError(problems)
    return systems


def find_run(ws: Workspace, ref: str, field: str = "--run") -> InteractiveRecord:
    """The interactive run ``ref`` names (its name, or a unique prefix of it or its MLflow id).

    Raises:
        SpecError: None or several match (one line naming ``field`` and the fix).
    """
    problems: list[Problem] = []

    def problem(message: str, fix: str = "") -> None:
        problems.append(Problem(SOURCE, f"{field} {ref}", message, fix))

    found = _find(InteractiveRuns(ws.state), ref.strip(), problem)
    if found is None:
        raise SpecError(problems)
    return found


def check_test_set(systems: Sequence[InteractiveSystem], baseline: JobResult) -> None:
    """Check the interactive runs' test set against a completed job of the baseline.

    Raises:
        SpecError: A run predicted other examples (or labels, or data) than the job.
    """
    problems = [
        Problem(SOURCE, f"--run {s.record.name}", message, _data_fix(s))
        for s in systems
        for message in _test_set(s, baseline)
    ]
    if problems:
        raise SpecError(problems)


def _test_set(system: InteractiveSystem, baseline: JobResult) -> list[str]:
    outputs, _ = run_outputs([baseline])
    if not outputs:
        return []
    return pairing_problems(system, outputs[0], job_tags(baseline))


def _data_fix(system: InteractiveSystem) -> str:
    changed = system.source.params
    also = f" (it ran with {system.source.changes()})" if changed else ""
    return (
        f"run the notebook again with the spec's data parameters{also}; only runs on the "
        "same test examples can be paired"
    )


def _split(item: str) -> tuple[str, bool, str]:
    ref, sep, name = item.partition("=")
    return ref.strip(), bool(sep), name.strip()


def _find(
    runs: InteractiveRuns, ref: str, problem: Callable[..., None]
) -> InteractiveRecord | None:
    found = runs.matching(ref)
    if not found:
        problem(
            f"no interactive run is named '{ref}' in {runs.folder} (nor starts so)",
            "loclab list shows the interactive runs; give a name or a unique prefix",
        )
        return None
    if len(found) > 1:
        names = ", ".join(r.name for r in found[:_SHOWN])
        more = f" and {len(found) - _SHOWN} more" if len(found) > _SHOWN else ""
        problem(
            f"'{ref}' matches {len(found)} interactive runs ({names}{more})",
            "give more of the name (loclab list shows them)",
        )
        return None
    return found[0]


def _checked(
    exp: Experiment, record: InteractiveRecord, said: str, problem: Callable[..., None]
) -> str | None:
    """The run's notebook as readers see it, when it is the spec's and the run did not fail.

    ``said`` is the run's name and a colon when the user gave a prefix of it (else empty).
    """
    if record.status in ("FAILED", "KILLED"):
        problem(
            f"{said}it ended {record.status}, so its outputs may be partial",
            "run the notebook again to its end",
        )
        return None
    if not record.notebook:
        problem(
            f"{said}it does not know which notebook it ran (its kernel could not tell)",
            "run the notebook from JupyterLab or VS Code, which tell the kernel its file",
        )
        return None
    ran = Path(record.notebook)
    shown = _relative(ran, Path(record.project_root)) if record.project_root else str(ran)
    if not _same_notebook(ran, shown, exp):
        problem(
            f"{said}it ran {shown}, but the spec's systems run {exp.notebook_display}",
            f"compare it in a spec of its own notebook (loclab new experiment NAME "
            f"--notebook {shown})",
        )
        return None
    return shown


def _same_notebook(ran: Path, shown: str, exp: Experiment) -> bool:
    """The spec's notebook: the same file, or the same path in the project (moved since)."""
    try:
        if ran.resolve() == exp.notebook_path.resolve():
            return True
    except OSError:
        pass
    return shown == _relative(exp.notebook_path, exp.root)


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except (ValueError, OSError):
        return str(path)


def _baseline_plans(exp: Experiment, ws: Workspace) -> list[JobPlan]:
    """The baseline's jobs (empty when they cannot be planned yet: a sweep not run)."""
    compare = exp.spec.compare
    assert compare is not None
    winners = None
    if exp.spec.sweep is not None:
        try:
            stored = ExperimentResults(ws.state, exp.name).read_sweep()
        except RecordError:
            stored = None
        winners = {w.rank: w.params for w in stored.winners} if stored else None
    try:
        plans = plan_jobs(exp, winners)
    except SpecError:
        return []
    baseline = compare.baseline_name()
    return [p for p in plans if p.tags.get("loclab.system") == baseline]


def _baseline_overrides(exp: Experiment, plans: Sequence[JobPlan]) -> Mapping[str, Any]:
    if plans:
        return plans[0].overrides
    compare = exp.spec.compare
    assert compare is not None
    return exp.job_overrides(system=compare.baseline_name())


def _completed_baseline(
    exp: Experiment, ws: Workspace, plans: Sequence[JobPlan]
) -> JobResult | None:
    """A completed job of the baseline with today's inputs (its test set is the one paired)."""
    folder = ws.state.runs(exp.name)
    for plan in plans:
        try:
            request = make_request(exp, plan)
        except Exception:  # a job that cannot be planned now: the run says why
            return None
        found = completed_run(folder / request.name, request.key)
        if found is not None:
            return found
    return None
