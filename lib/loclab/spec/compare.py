"""The ``compare:`` section: which systems to re-run over seeds, and how to test them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from loclab.spec._base import SpecModel

__all__ = ["CompareSpec", "SystemSpec"]


class SystemSpec(SpecModel):
    """One system: fixed parameter overrides, or a configuration taken from the sweep."""

    params: dict[str, Any] = Field(default_factory=dict)
    from_sweep: Literal["best"] | int | None = None
    role: Literal["baseline", "candidate"] = "candidate"
    label: str | None = None


class CompareSpec(SpecModel):
    """Systems × seeds, and the statistics that decide between them."""

    systems: dict[str, SystemSpec] = Field(min_length=1)
    baseline: str | None = None
    seeds: list[int] = Field(default_factory=lambda: [0])
    metrics: list[str] = Field(default_factory=list)
    test: str | None = None
    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    correction: Literal["holm", "bh", "bonferroni", "none"] = "holm"
    practical_threshold: float | None = Field(default=None, ge=0)
    breakdowns: list[str] = Field(default_factory=list)

    @field_validator("seeds", mode="before")
    @classmethod
    def _seeds_from_count(cls, value: Any) -> Any:
        # `seeds: 5` means seeds 0..4.
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 1:
                raise ValueError("seeds must be a positive count or a list of seeds")
            return list(range(value))
        return value

    @model_validator(mode="after")
    def _check_baseline(self) -> CompareSpec:
        if self.baseline is not None and self.baseline not in self.systems:
            raise ValueError(
                f"baseline '{self.baseline}' is not one of the systems {sorted(self.systems)}"
            )
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError("seeds contain duplicates")
        return self

    def baseline_name(self) -> str:
        """The system the others are compared against."""
        if self.baseline:
            return self.baseline
        for name, system in self.systems.items():
            if system.role == "baseline":
                return name
        return next(iter(self.systems))
