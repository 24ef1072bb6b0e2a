"""The offline AWS test bed: one moto server per test process; ``aws`` and ``emulator`` come
from tests/conftest.py."""

from __future__ import annotations

import pytest

from loclab.testing.aws import MotoServer, shared_server


@pytest.fixture(scope="session")
def moto_server() -> MotoServer:
    return shared_server()
