"""Where a study lives: the project's journal file by default, or an RDB (PostgreSQL) URL.

Only the sweep driver opens a study for writing; trials never touch the storage (a SageMaker
trial could not reach it), and ``loclab status`` / ``loclab dashboard`` only read.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loclab.exceptions import LoclabError, StateError
from loclab.paths import StateDir, Workspace

if TYPE_CHECKING:
    import optuna

    from loclab.spec import Experiment, SweepSpec

__all__ = [
    "StudyLocation",
    "StudyNotFoundError",
    "journal_path",
    "load_study",
    "locate",
    "open_storage",
    "open_study",
    "repair_journal",
    "resolve_location",
]


class StudyNotFoundError(LoclabError):
    """The study has not been created yet (no sweep has started)."""


@dataclass(frozen=True)
class StudyLocation:
    """A study's name and storage.

    Attributes:
        name: The study name (the experiment's name).
        url: An RDB URL, or None for the journal file.
        journal: The journal file (when ``url`` is None).
    """

    name: str
    url: str | None = None
    journal: Path | None = None

    @property
    def display(self) -> str:
        """The storage as shown to people and stored in results (password hidden)."""
        if self.url is None:
            return str(self.journal)
        return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1[REDACTED]@", self.url)

    @property
    def kind(self) -> str:
        """``journal`` or the database dialect (``postgresql``...)."""
        return "journal" if self.url is None else self.url.split(":", 1)[0].split("+")[0]


def journal_path(state: StateDir, experiment: str) -> Path:
    """The journal file of an experiment's study."""
    return state.studies() / f"{experiment}.journal"


def resolve_location(experiment: str, state: StateDir, url: str | None = None) -> StudyLocation:
    """The study of ``experiment``: in the database at ``url``, else the state's journal file."""
    if url:
        return StudyLocation(experiment, url=url)
    return StudyLocation(experiment, journal=journal_path(state, experiment))


def locate(exp: Experiment, ws: Workspace) -> StudyLocation:
    """Where the study of ``exp`` lives.

    Precedence: the workspace's storage (``--storage``), the spec's ``sweep.storage``
    (``${VAR}`` expanded when the spec was loaded), then the journal file in the state folder.
    """
    return resolve_location(exp.name, ws.state, ws.storage or exp.sweep_storage)


def repair_journal(path: Path) -> str | None:
    """Set aside the torn last record of a journal file; return what was done, or None.

    A driver killed in the middle of a write leaves a last line without its newline. Optuna
    skips it on reading, but the next record appended after it would glue onto it and make
    the whole journal unreadable: the torn bytes are moved to ``<journal>.torn-<time>``.
    """
    if not path.is_file() or path.stat().st_size == 0:
        return None
    with path.open("rb") as fh:
        fh.seek(-1, 2)
        if fh.read(1) == b"\n":
            return None
        data = path.read_bytes()
    keep = data.rfind(b"\n") + 1
    aside = path.with_name(f"{path.name}.torn-{int(time.time())}")
    aside.write_bytes(data[keep:])
    with path.open("r+b") as fh:
        fh.truncate(keep)
    return (
        f"{path}: its last record was torn (a crash mid-write); {len(data) - keep} bytes set "
        f"aside in {aside.name}, the study goes on from the records before it"
    )


def open_storage(location: StudyLocation) -> optuna.storages.BaseStorage:
    """An Optuna storage object for ``location`` (the journal file is created if missing)."""
    if location.url is None:
        from optuna.storages.journal import JournalFileBackend, JournalStorage

        assert location.journal is not None
        location.journal.parent.mkdir(parents=True, exist_ok=True)
        if location.journal.exists() and not location.journal.is_file():
            raise StateError(f"{location.journal} is not a file; move it aside")
        try:
            return JournalStorage(JournalFileBackend(str(location.journal)))
        except (ValueError, UnicodeDecodeError) as err:
            raise _damaged(location, err) from None
    from optuna.storages import RDBStorage

    # pre_ping: a sweep runs for hours; PostgreSQL drops idle connections.
    try:
        return RDBStorage(location.url, engine_kwargs={"pool_pre_ping": True})
    except Exception as err:  # an unreachable server, bad credentials, a missing driver
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise StateError(
            f"sweep storage {location.display} cannot be opened ({first}); check the server "
            "and the URL (--storage or sweep.storage)"
        ) from None


def _damaged(location: StudyLocation, err: BaseException) -> StateError:
    first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return StateError(
        f"{location.display} is damaged ({first}); move it aside to start the study again, "
        "or restore it from a backup"
    )


def open_study(
    location: StudyLocation,
    sweep: SweepSpec,
    *,
    storage: optuna.storages.BaseStorage | None = None,
) -> optuna.Study:
    """Create the study, or load it when it exists; check it fits the spec.

    Called once by the driver before any trial starts: several processes creating one fresh
    RDB study at once race, and one fails on a unique constraint.

    Raises:
        LoclabError: The existing study optimises in the other direction.
    """
    import optuna

    from loclab.sweep.samplers import make_pruner

    _quiet_optuna()
    try:
        study = optuna.create_study(
            storage=storage or open_storage(location),
            study_name=location.name,
            direction=sweep.direction,
            pruner=make_pruner(sweep),
            load_if_exists=True,
        )
    except (ValueError, UnicodeDecodeError) as err:
        raise _damaged(location, err) from None
    found = study.direction.name.lower()
    if found != sweep.direction:
        raise LoclabError(
            f"study '{location.name}' in {location.display} was created to {found}, but the "
            f"spec says {sweep.direction}; rename the experiment or delete the study"
        )
    _name_metric(study, sweep.metric)
    return study


def _name_metric(study: optuna.Study, metric: str) -> None:
    """Name the objective after the sweep metric, so dashboards show it, not "Objective 0"."""
    import warnings

    with warnings.catch_warnings():
        # set_metric_names is marked experimental in Optuna 3.x and 4.x.
        warnings.simplefilter("ignore")
        if study.metric_names != [metric]:
            study.set_metric_names([metric])


def load_study(location: StudyLocation) -> optuna.Study:
    """Load an existing study for reading (``loclab status``, ``loclab dashboard``).

    Raises:
        StudyNotFoundError: No sweep has created it yet; nothing is written.
    """
    import optuna

    _quiet_optuna()
    if location.url is None and not (location.journal and location.journal.exists()):
        raise StudyNotFoundError(
            f"no study '{location.name}' yet ({location.display} does not exist); "
            "'loclab run' starts the sweep"
        )
    storage = open_storage(location)
    try:
        return optuna.load_study(study_name=location.name, storage=storage)
    except (ValueError, UnicodeDecodeError) as err:
        raise _damaged(location, err) from None
    except KeyError:
        raise StudyNotFoundError(
            f"no study '{location.name}' in {location.display}; 'loclab run' starts the sweep"
        ) from None


def _quiet_optuna() -> Any:
    import optuna

    # Optuna logs every trial at INFO; the driver prints its own lines.
    optuna.logging.set_verbosity(optuna.logging.WARNING)
