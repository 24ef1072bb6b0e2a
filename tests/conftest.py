"""Shared fixtures: an isolated project folder with the probe notebook, MLflow, offline AWS."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from loclab.testing import write_probe_notebook
from loclab.testing.aws import MotoServer, shared_server
from loclab.testing.emulator import TrainingJobEmulator

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's tracking server or state folder."""
    for var in ("MLFLOW_TRACKING_URI", "MLFLOW_RUN_ID", "LOCLAB_STATE_DIR"):
        monkeypatch.delenv(var, raising=False)
    for var in [k for k in os.environ if k.startswith("SM_")]:
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(scope="session")
def probe_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The probe notebook, written once."""
    return write_probe_notebook(tmp_path_factory.mktemp("probe") / "probe.ipynb")


@pytest.fixture
def project(tmp_path: Path, probe_template: Path) -> Path:
    """A project root with ``notebooks/probe.ipynb`` and ``experiments/probe.yaml``."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'scratch'\n")
    nb = tmp_path / "notebooks" / "probe.ipynb"
    nb.parent.mkdir()
    nb.write_bytes(probe_template.read_bytes())
    exp = tmp_path / "experiments"
    exp.mkdir()
    (exp / "probe.yaml").write_text(
        "name: probe\nnotebook: notebooks/probe.ipynb\nparams:\n  x: 2.0\n"
    )
    return tmp_path


@pytest.fixture(scope="session")
def mlflow_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, migrated MLflow SQLite store, built once; copy it to get a fresh store fast."""
    from mlflow.tracking import MlflowClient

    path = tmp_path_factory.mktemp("mlflow") / "mlflow.db"
    MlflowClient(f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture(scope="session")
def moto_server() -> MotoServer:
    """The offline AWS test bed: one loopback moto server per test process."""
    return shared_server()


@pytest.fixture
def aws(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> MotoServer:
    """The moto server, reset; boto3 reaches it by the standard variables."""
    server = moto_server
    server.reset()
    for key in [k for k in os.environ if k.startswith(("AWS_", "LOCLAB_SAGEMAKER_"))]:
        monkeypatch.delenv(key)
    for key, value in server.environ().items():
        monkeypatch.setenv(key, value)
    return server


@pytest.fixture
def emulator(aws: MotoServer, tmp_path: Path) -> Iterator[TrainingJobEmulator]:
    """Runs the training jobs created on ``aws`` as local processes (the container contract)."""
    with TrainingJobEmulator(
        aws, work_dir=tmp_path / "emulator", checkpoint_sync_s=0.3, stop_grace_s=5.0
    ) as emu:
        yield emu
