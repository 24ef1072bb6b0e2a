"""The ``sweep:`` section: an Optuna search over notebook parameters."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from loclab.spec._base import Duration, SpecModel

__all__ = ["SpaceEntry", "SweepSpec"]


class SpaceEntry(SpecModel):
    """Search range of one notebook parameter."""

    type: Literal["float", "int", "categorical"]
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: list[Any] | None = None

    @model_validator(mode="after")
    def _check_shape(self) -> SpaceEntry:
        if self.type == "categorical":
            if not self.choices:
                raise ValueError("a categorical entry needs a non-empty 'choices' list")
            for key in ("low", "high", "step"):
                if getattr(self, key) is not None:
                    raise ValueError(f"'{key}' does not apply to a categorical entry")
            if self.log:
                raise ValueError("'log' does not apply to a categorical entry")
            return self
        if self.choices is not None:
            raise ValueError(f"'choices' does not apply to a {self.type} entry; use low/high")
        if self.low is None or self.high is None:
            raise ValueError(f"a {self.type} entry needs both 'low' and 'high'")
        if not self.low < self.high:
            raise ValueError(f"low ({self.low:g}) must be less than high ({self.high:g})")
        if self.log and self.low <= 0:
            raise ValueError(f"log scale needs positive bounds (low is {self.low:g})")
        if self.log and self.step is not None and self.type == "float":
            raise ValueError("'step' and 'log' cannot be combined for a float entry")
        if self.step is not None and self.step <= 0:
            raise ValueError(f"step must be positive (got {self.step:g})")
        if self.type == "int":
            for key in ("low", "high", "step"):
                value = getattr(self, key)
                if value is not None and not float(value).is_integer():
                    raise ValueError(f"'{key}' of an int entry must be a whole number")
        return self


class SweepSpec(SpecModel):
    """How to search: objective, budget, sampler, pruner, parallelism, and the space."""

    metric: str
    direction: Literal["maximize", "minimize"] = "maximize"
    n_trials: int = Field(gt=0)
    timeout: Duration | None = None
    sampler: Literal["tpe", "random", "cmaes", "grid", "gp"] = "tpe"
    pruner: Literal["median", "hyperband", "successive_halving", "none"] = "median"
    workers: int = Field(default=1, ge=1, le=64)
    max_failure_ratio: float = Field(default=0.5, gt=0, le=1)
    seed: int = 0
    storage: str | None = None
    top_k: int = Field(default=3, ge=1)
    space: dict[str, SpaceEntry] = Field(min_length=1)
