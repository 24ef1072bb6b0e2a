"""Helpers of the sweep tests: specs over the probe notebook, drivers, storages, MLflow."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest

from loclab.paths import StateDir, Workspace
from loclab.spec import load_experiment
from loclab.testing.aws import MotoServer

BUCKET = "loclab-test"


def write_spec(project: Path, name: str, body: str, params: str = "") -> Path:
    """A spec over the probe notebook with a sweep section ``body`` (indented by two)."""
    path = project / "experiments" / f"{name}.yaml"
    path.write_text(
        f"name: {name}\nnotebook: notebooks/probe.ipynb\n"
        + (f"params: {{{params}}}\n" if params else "")
        + "sweep:\n"
        + body
    )
    return path


def workspace(project: Path, storage: str | None = None) -> Workspace:
    return Workspace(StateDir(project / ".loclab"), project / "reports", storage=storage)


def make_tracker(project: Path, mlflow_db: Path):
    from loclab.tracking import Tracker

    state = StateDir(project / ".loclab")
    state.root.mkdir(parents=True, exist_ok=True)
    shutil.copy(mlflow_db, state.mlflow_db)
    return Tracker(f"sqlite:///{state.mlflow_db}", artifact_root=state.artifacts)


def driver(project: Path, spec: Path, **kwargs):
    from loclab.sweep import SweepDriver

    exp = load_experiment(spec, environ=os.environ)
    kwargs.setdefault("progress", False)
    kwargs.setdefault("say", print)
    storage = kwargs.pop("storage", None)
    return SweepDriver(exp, workspace(project, storage), **kwargs)


def read_sweep(project: Path, name: str):
    """The stored sweep record of experiment ``name``."""
    from loclab.results import ExperimentResults

    record = ExperimentResults(workspace(project).state, name).read_sweep()
    assert record is not None, f"no sweep record for {name}"
    return record


def enqueue(project: Path, spec: Path, params: list[dict]) -> None:
    """Create the study and queue trials in a fixed order (a constructed case)."""
    from loclab.sweep.storage import open_study, resolve_location

    exp = load_experiment(spec)
    study = open_study(resolve_location(exp.name, workspace(project).state), exp.spec.sweep)
    for p in params:
        study.enqueue_trial(p)


def trials_by_state(study) -> dict[str, list]:
    found: dict[str, list] = {}
    for t in study.get_trials():
        found.setdefault(t.state.name, []).append(t)
    return found


@pytest.fixture
def postgres_url() -> str:
    """The throwaway cluster ``make test`` starts; in CI its absence is a failure."""
    url = os.environ.get("LOCLAB_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("CI is set but LOCLAB_TEST_POSTGRES_URL is not (make test starts it)")
        pytest.skip("LOCLAB_TEST_POSTGRES_URL is not set (source .ci/services.sh; start_postgres)")
    return url


@pytest.fixture
def unique_name() -> str:
    """An experiment (and study) name no other test uses, for shared RDB storages."""
    return f"t-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def aws(aws: MotoServer, monkeypatch: pytest.MonkeyPatch) -> MotoServer:
    """tests/conftest.py's clean moto server, plus the SageMaker settings a launcher needs."""
    for key, value in aws.launcher_environ(bucket=BUCKET).items():
        monkeypatch.setenv(key, value)
    return aws
