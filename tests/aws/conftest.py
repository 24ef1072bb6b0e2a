"""The offline AWS test bed: one moto server per session, an emulator per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from loclab.testing.aws import MotoServer, shared_server
from loclab.testing.emulator import TrainingJobEmulator


@pytest.fixture(scope="session")
def moto_server() -> MotoServer:
    return shared_server()


@pytest.fixture
def aws(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> MotoServer:
    """A clean server, with boto3 pointed at it through the standard variables."""
    moto_server.reset()
    for key in [k for k in os.environ if k.startswith(("AWS_", "LOCLAB_SAGEMAKER_"))]:
        monkeypatch.delenv(key)
    for key, value in moto_server.environ().items():
        monkeypatch.setenv(key, value)
    return moto_server


@pytest.fixture
def emulator(aws: MotoServer, tmp_path: Path) -> Iterator[TrainingJobEmulator]:
    with TrainingJobEmulator(
        aws, work_dir=tmp_path / "emulator", checkpoint_sync_s=0.3, stop_grace_s=5.0
    ) as emu:
        yield emu
