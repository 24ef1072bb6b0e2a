"""Scaffolding: a new project (``loclab init``) and a new spec (``loclab new experiment``).

A spec comes from a notebook, or from an interactive run (``--from-run ID``: the parameters it
ran with against the notebook's defaults).

What is written comes from package data (``template/``) with ``string.Template`` substitution,
and specs from the notebook's own parameters cell (:mod:`loclab.params`).
"""

from loclab.scaffold.experiment import (
    EXPERIMENTS_DIR,
    NewExperiment,
    check_name,
    write_experiment,
)
from loclab.scaffold.from_run import write_from_run
from loclab.scaffold.project import STARTER_EXPERIMENT, STARTER_NOTEBOOK, init_project

__all__ = [
    "EXPERIMENTS_DIR",
    "STARTER_EXPERIMENT",
    "STARTER_NOTEBOOK",
    "NewExperiment",
    "check_name",
    "init_project",
    "write_experiment",
    "write_from_run",
]
