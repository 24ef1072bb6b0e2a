"""Samplers, pruners and distributions built from the ``sweep:`` section."""

from __future__ import annotations

from typing import TYPE_CHECKING

from loclab.spec.sweep import SpaceEntry, SweepSpec, grid_values

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution
    from optuna.pruners import BasePruner
    from optuna.samplers import BaseSampler

__all__ = ["distribution", "make_pruner", "make_sampler", "sampler_seed", "search_space"]


def sampler_seed(seed: int, trials_so_far: int) -> int:
    """The seed of a driver's sampler.

    A resumed driver must not replay the random draws of the first one (a seeded random or
    TPE start-up sampler would propose the same parameters again), so the seed also depends
    on how many trials the study already holds: still reproducible, never repeated.
    """
    return (seed * 1_000_003 + trials_so_far) % (2**32)


def make_sampler(sweep: SweepSpec, trials_so_far: int = 0) -> BaseSampler:
    """The sampler the spec names, seeded (see :func:`sampler_seed`)."""
    import optuna

    seed = sampler_seed(sweep.seed, trials_so_far)
    options = dict(sweep.sampler_options)
    if sweep.sampler == "tpe":
        return optuna.samplers.TPESampler(seed=seed, **options)  # type: ignore[arg-type]
    if sweep.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if sweep.sampler == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed, **options)  # type: ignore[arg-type]
    if sweep.sampler == "grid":
        grid = {name: grid_values(entry) for name, entry in sweep.space.items()}
        # The grid's order is seeded too; visited points are read from the study, so a resumed
        # driver continues the same grid.
        return optuna.samplers.GridSampler(grid, seed=sweep.seed)
    if sweep.sampler == "gp":
        return optuna.samplers.GPSampler(seed=seed, **options)  # type: ignore[arg-type]
    raise ValueError(f"unknown sampler {sweep.sampler!r}")


def make_pruner(sweep: SweepSpec) -> BasePruner:
    """The pruner the spec names, with its ``pruner_options``."""
    import optuna

    options = dict(sweep.pruner_options)
    if sweep.pruner == "median":
        return optuna.pruners.MedianPruner(**options)  # type: ignore[arg-type]
    if sweep.pruner == "percentile":
        percentile = float(options.pop("percentile", 25.0))
        return optuna.pruners.PercentilePruner(percentile, **options)  # type: ignore[arg-type]
    if sweep.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(**options)  # type: ignore[arg-type]
    if sweep.pruner == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner(**options)  # type: ignore[arg-type]
    if sweep.pruner == "none":
        return optuna.pruners.NopPruner()
    raise ValueError(f"unknown pruner {sweep.pruner!r}")


def distribution(entry: SpaceEntry) -> BaseDistribution:
    """The Optuna distribution of one space entry."""
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    if entry.type == "categorical":
        return CategoricalDistribution(list(entry.choices or []))
    assert entry.low is not None and entry.high is not None
    if entry.type == "int":
        return IntDistribution(
            int(entry.low), int(entry.high), log=entry.log, step=int(entry.step or 1)
        )
    return FloatDistribution(entry.low, entry.high, log=entry.log, step=entry.step)


def search_space(sweep: SweepSpec) -> dict[str, BaseDistribution]:
    """Name to distribution, in the spec's order."""
    return {name: distribution(entry) for name, entry in sweep.space.items()}
