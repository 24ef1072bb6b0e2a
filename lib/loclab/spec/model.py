"""The experiment spec: one YAML file that states what differs from the notebook's defaults."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from loclab.spec._base import Duration, SpecModel
from loclab.spec._channels import is_remote, normalize_channel, parse_remote
from loclab.spec.backend import BackendSpec
from loclab.spec.compare import CompareSpec
from loclab.spec.report import ReportSpec
from loclab.spec.schedule import ScheduleSpec
from loclab.spec.sweep import SweepSpec

__all__ = ["NAME_PATTERN", "Spec"]

#: Experiment names become MLflow experiment names, folder names and SageMaker job-name prefixes.
NAME_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$"


class Spec(SpecModel):
    """An experiment: a notebook, fixed overrides, and the stages to run.

    Attributes:
        name: Lower-case letters, digits and hyphens (it prefixes SageMaker job names).
        description: One sentence for the report and ``loclab status``.
        notebook: The template notebook, relative to the project root.
        params: Fixed overrides of the notebook's parameters.
        channels: Input channels: name to a file or folder read in place (relative to the
            project root), mounted as ``input/data/<name>``; or a URL fetched once into the
            state cache: ``https://...#sha256=<hex>`` (or ``{url: ..., sha256: ...}``),
            ``s3://bucket/key`` or ``s3://bucket/prefix/`` (see :mod:`loclab.spec._channels`).
        timeout: Per-job wall-clock limit (seconds or ``"30m"``).
        sweep: Hyperparameter search (optional).
        compare: Systems re-run over seeds and tested against each other (optional).
        backend: Where jobs run (``local`` by default).
        report: How the report reads.
        schedule: When it re-runs by itself (optional).
    """

    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    notebook: str
    params: dict[str, Any] = Field(default_factory=dict)
    channels: dict[str, str] = Field(default_factory=dict)
    timeout: Duration | None = None
    sweep: SweepSpec | None = None
    compare: CompareSpec | None = None
    backend: BackendSpec = Field(default_factory=BackendSpec)
    report: ReportSpec = Field(default_factory=ReportSpec)
    schedule: ScheduleSpec | None = None

    @field_validator("notebook")
    @classmethod
    def _is_notebook(cls, value: str) -> str:
        if not value.endswith(".ipynb"):
            raise ValueError(f"'{value}' is not a .ipynb file")
        return value

    @field_validator("channels", mode="before")
    @classmethod
    def _channel_mappings(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        out = {}
        for name, item in value.items():
            try:
                out[name] = normalize_channel(item)
            except ValueError as err:
                raise ValueError(f"{name}: {err}") from None
        return out

    @field_validator("channels")
    @classmethod
    def _channel_names(cls, value: dict[str, str]) -> dict[str, str]:
        import re

        for name, item in value.items():
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", name):
                raise ValueError(f"channel name '{name}' must be letters, digits, '.', '-' or '_'")
            if is_remote(item):
                try:
                    parse_remote(item)
                except ValueError as err:
                    raise ValueError(f"{name}: {err}") from None
        return value
