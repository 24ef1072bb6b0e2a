"""The ``sweep:`` section: an Optuna search over notebook parameters."""

from __future__ import annotations

import math
import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from loclab.spec._base import Duration, SpecModel

__all__ = ["PRUNER_OPTIONS", "SAMPLER_OPTIONS", "SpaceEntry", "SweepSpec", "grid_values"]

#: Settings each sampler accepts under ``sampler_options`` (passed to its Optuna constructor).
SAMPLER_OPTIONS: dict[str, tuple[str, ...]] = {
    "tpe": ("n_startup_trials", "n_ei_candidates", "multivariate", "group", "constant_liar"),
    "random": (),
    "cmaes": (
        "n_startup_trials",
        "sigma0",
        "restart_strategy",
        "popsize",
        "use_separable_cma",
        "with_margin",
        "lr_adapt",
    ),
    "grid": (),
    "gp": ("n_startup_trials", "deterministic_objective"),
}
#: Settings each pruner accepts under ``pruner_options``.
PRUNER_OPTIONS: dict[str, tuple[str, ...]] = {
    "median": ("n_startup_trials", "n_warmup_steps", "interval_steps", "n_min_trials"),
    "percentile": (
        "percentile",
        "n_startup_trials",
        "n_warmup_steps",
        "interval_steps",
        "n_min_trials",
    ),
    "hyperband": ("min_resource", "max_resource", "reduction_factor", "bootstrap_count"),
    "successive_halving": (
        "min_resource",
        "reduction_factor",
        "min_early_stopping_rate",
        "bootstrap_count",
    ),
    "none": (),
}
#: RDB URLs Optuna's RDBStorage understands (SQLAlchemy form, optional driver).
_RDB_URL = re.compile(r"^(postgresql|mysql|sqlite)(\+[A-Za-z0-9_]+)?://")


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
            for choice in self.choices:
                if not (choice is None or isinstance(choice, bool | int | float | str)):
                    raise ValueError(
                        f"choice {choice!r} is not a number, string, bool or null "
                        "(Optuna stores only those)"
                    )
            if len({repr(c) for c in self.choices}) != len(self.choices):
                raise ValueError("'choices' contains duplicates")
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
            if self.log and self.step not in (None, 1):
                raise ValueError("an int entry on a log scale takes no step other than 1")
        if self.step is not None:
            spans = (self.high - self.low) / self.step
            if not math.isclose(spans, round(spans), rel_tol=0, abs_tol=1e-9):
                raise ValueError(
                    f"high - low ({self.high - self.low:g}) must be a multiple of step "
                    f"({self.step:g})"
                )
        return self

    @property
    def is_finite(self) -> bool:
        """True when the entry has finitely many values (categorical, int, or a stepped float)."""
        return self.type != "float" or self.step is not None


def grid_values(entry: SpaceEntry) -> list[Any]:
    """Every value of a finite entry, in order (what a grid search visits)."""
    if entry.type == "categorical":
        return list(entry.choices or [])
    assert entry.low is not None and entry.high is not None
    step = entry.step or 1
    count = round((entry.high - entry.low) / step) + 1
    if entry.type == "int":
        return [int(entry.low + i * step) for i in range(count)]
    if entry.step is None:
        raise ValueError("a float entry without a step has no grid")
    return [round(entry.low + i * step, 12) for i in range(count)]


class SweepSpec(SpecModel):
    """How to search: objective, budget, sampler, pruner, parallelism, and the space.

    Attributes:
        metric: The metric the notebook reports per epoch (or once, at the end) to optimise.
        direction: ``maximize`` or ``minimize``.
        n_trials: Trials to finish (COMPLETE or PRUNED); failed trials do not count.
        timeout: Stop launching new trials after this long (per ``loclab run``).
        sampler: ``tpe``, ``random``, ``cmaes``, ``grid`` or ``gp``; always seeded by ``seed``.
        sampler_options: Extra settings of the sampler (see :data:`SAMPLER_OPTIONS`).
        pruner: ``median``, ``percentile`` (``percentile: 25`` keeps the top quarter),
            ``hyperband``, ``successive_halving`` or ``none``.
        pruner_options: Extra settings of the pruner (see :data:`PRUNER_OPTIONS`).
        workers: Trials running at once on this machine.
        max_failure_ratio: The sweep stops once more trials have failed than this fraction of
            ``n_trials``.
        seed: Seed of the sampler.
        storage: An RDB URL (``postgresql+psycopg2://...``) shared by several drivers; the
            project's journal file by default. ``$VAR`` is expanded when the sweep starts.
        top_k: How many of the best configurations are stored for later stages.
        params: Fixed overrides for the sweep's trials only.
        space: Parameter name to its search range.
    """

    metric: str = Field(min_length=1)
    direction: Literal["maximize", "minimize"] = "maximize"
    n_trials: int = Field(gt=0)
    timeout: Duration | None = None
    sampler: Literal["tpe", "random", "cmaes", "grid", "gp"] = "tpe"
    sampler_options: dict[str, bool | int | float | str] = Field(default_factory=dict)
    pruner: Literal["median", "percentile", "hyperband", "successive_halving", "none"] = "median"
    pruner_options: dict[str, bool | int | float | str] = Field(default_factory=dict)
    workers: int = Field(default=1, ge=1, le=64)
    max_failure_ratio: float = Field(default=0.5, gt=0, le=1)
    seed: int = Field(default=0, ge=0)
    storage: str | None = None
    top_k: int = Field(default=3, ge=1)
    params: dict[str, Any] = Field(default_factory=dict)
    space: dict[str, SpaceEntry] = Field(min_length=1)

    @field_validator("storage")
    @classmethod
    def _rdb_url(cls, value: str | None) -> str | None:
        if value is None or value.startswith("$"):
            return value
        return cls.check_storage(value)

    @staticmethod
    def check_storage(value: str) -> str:
        """``value`` if it is a database URL (the spec's ``storage`` or ``--storage``).

        Raises:
            ValueError: It is not.
        """
        if not _RDB_URL.match(value):
            raise ValueError(
                f"'{_hide_password(value)}' is not a database URL; use e.g. "
                "postgresql+psycopg2://user@host:5432/db (leave it out for the journal file)"
            )
        return value


def _hide_password(url: str) -> str:
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1[REDACTED]@", url)
