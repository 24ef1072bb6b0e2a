"""``sagemaker.json``: what loclab sent and learned about a job, kept in its run folder."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from loclab.io import write_json

__all__ = ["RECORD_FILE", "read_record", "write_record"]

#: The exact request, the job's SageMaker name and ARN, how its MLflow run is handled and,
#: once it ended, its final description. ``attach`` starts from it.
RECORD_FILE = "sagemaker.json"


def read_record(run_dir: Path) -> dict[str, Any] | None:
    """The run folder's ``sagemaker.json``, or None."""
    try:
        data = json.loads((run_dir / RECORD_FILE).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_record(run_dir: Path, record: Mapping[str, Any]) -> None:
    """Replace ``sagemaker.json`` atomically (a crash never leaves half a file)."""
    write_json(run_dir / RECORD_FILE, dict(record))
