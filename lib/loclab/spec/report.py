"""The ``report:`` and ``schedule:`` sections."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from loclab.spec._base import SpecModel

__all__ = ["ReportSpec", "ScheduleSpec"]


class ReportSpec(SpecModel):
    """How the experiment's report reads."""

    title: str | None = None
    audience: Literal["stakeholders", "researchers"] = "stakeholders"
    summary: str | None = None


class ScheduleSpec(SpecModel):
    """When the experiment re-runs by itself, and whom to tell about a regression."""

    cron: str
    alert: list[str] = Field(default_factory=list)
