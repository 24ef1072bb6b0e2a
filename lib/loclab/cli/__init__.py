"""``loclab``: the command line. Thin: it parses, builds the workspace, calls the library.

Heavy libraries (torch, lightning, mlflow, sagemaker) are imported inside the commands that
need them, so ``loclab --help`` and ``loclab validate`` answer at once. Commands live in
modules by what they do (:mod:`~loclab.cli.inspect`, :mod:`~loclab.cli.running`,
:mod:`~loclab.cli.servers`, :mod:`~loclab.cli.schedule`, :mod:`~loclab.cli.project`);
:mod:`~loclab.cli.app` holds what they share.
"""

from loclab.cli import inspect, project, running, schedule, schedule_timers, servers
from loclab.cli.app import app, main

__all__ = [
    "app",
    "inspect",
    "main",
    "project",
    "running",
    "schedule",
    "schedule_timers",
    "servers",
]
