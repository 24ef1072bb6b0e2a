"""``loclab new experiment NAME --from-run ID``: an idea tried by hand, as a spec of jobs.

An interactive run (a template notebook run by hand) shows one trained model; whether its
parameters beat the notebook's defaults is a question for jobs over seeds. The spec written
here compares the notebook's defaults (the baseline) with the parameters the run changed (the
candidate), over seeds, like ``loclab new experiment NAME --compare P=V`` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from loclab.exceptions import Problem, SpecError
from loclab.params import inspect_notebook
from loclab.results import InteractiveRecord
from loclab.scaffold.experiment import SOURCE, NewExperiment, write_experiment

__all__ = ["SEED_PARAM", "write_from_run"]

#: The training seed: the spec varies it over seeds, so the run's own is not a change.
SEED_PARAM = "seed"


def write_from_run(
    root: Path, name: str, record: InteractiveRecord, *, sweep: Sequence[str] = ()
) -> NewExperiment:
    """Write ``experiments/<name>.yaml``: the run's changed parameters against the defaults.

    Args:
        root: The project root.
        name: The experiment's name.
        record: The interactive run.
        sweep: Parameters of an active sweep, as ``--sweep`` takes them.

    Raises:
        SpecError: One line naming ``--from-run`` and the fix: the run does not know its
            notebook, the notebook is gone, or the run changed no parameter.
    """
    field = f"--from-run {record.name}"
    if not record.notebook:
        raise SpecError(
            [
                Problem(
                    SOURCE,
                    field,
                    "the run does not know which notebook it ran (its kernel could not tell)",
                    "give the notebook and the change: --notebook PATH --compare P=V",
                )
            ]
        )
    notebook = Path(record.notebook)
    if not notebook.is_file():
        raise SpecError(
            [Problem(SOURCE, field, f"its notebook {notebook} is gone", "restore it first")]
        )
    found = inspect_notebook(notebook)
    if found.problems:
        raise SpecError(found.problems)
    defaults = found.defaults()
    changes = {
        k: v
        for k, v in record.params.items()
        if k != SEED_PARAM and k in found.parameters and not _same(v, defaults.get(k))
    }
    if not changes:
        raise SpecError(
            [
                Problem(
                    SOURCE,
                    field,
                    "the run used the notebook's defaults, so there is nothing to compare",
                    "compare it with an experiment's jobs instead: loclab compare SPEC --run "
                    f"{record.name}",
                )
            ]
        )
    return write_experiment(
        root,
        name,
        notebook,
        sweep=sweep,
        candidate=changes,
        origin=f"interactive run {record.name}",
    )


def _same(a: object, b: object) -> bool:
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool):
        return float(a) == float(b)
    return a == b
