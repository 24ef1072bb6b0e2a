"""A probe project with a ``schedule:`` section, and ``loclab`` as cron would find it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

#: The ``loclab`` of this virtual environment (the crontab entry's executable).
LOCLAB = Path(sys.executable).absolute().parent / "loclab"

SCHEDULED = """name: probe
notebook: notebooks/probe.ipynb
params:
  x: 2.0
  epochs: 1
schedule:
  cron: "{cron}"
  timezone: {timezone}
"""


def write_scheduled_project(
    root: Path, probe_template: Path, cron: str = "* * * * *", timezone: str = "UTC"
) -> Path:
    """A project at ``root`` whose ``experiments/probe.yaml`` runs the probe on a schedule."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'scratch'\n")
    (root / "notebooks").mkdir(parents=True, exist_ok=True)
    (root / "notebooks" / "probe.ipynb").write_bytes(probe_template.read_bytes())
    (root / "experiments").mkdir(exist_ok=True)
    spec = root / "experiments" / "probe.yaml"
    spec.write_text(SCHEDULED.format(cron=cron, timezone=timezone))
    return spec


@pytest.fixture
def scheduled(tmp_path: Path, probe_template: Path) -> Path:
    """The spec of a probe project ticking every minute in UTC."""
    return write_scheduled_project(tmp_path / "proj", probe_template)
