"""Shared pieces of the record models."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

__all__ = ["EpochMetrics", "Record", "RecordModel"]


class RecordModel(BaseModel):
    """Base of every stored model: unknown fields are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Record(RecordModel):
    """A top-level record: one JSON file in an experiment's results folder.

    Subclasses pin :attr:`schema_` to ``loclab.<kind>/<version>``; a file with another value
    was written by another version of loclab and is refused with a clear message.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    #: ``loclab.<kind>/<version>`` of the subclass (its ``schema`` field's only value).
    SCHEMA: ClassVar[str] = ""


class EpochMetrics(RecordModel):
    """Metrics a job reported after one step (epoch).

    Attributes:
        step: 0-based step (epoch) number.
        metrics: Metric name to value (finite values only).
    """

    step: int
    metrics: dict[str, float]
