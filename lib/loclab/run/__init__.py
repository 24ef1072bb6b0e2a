"""Running experiments: load and check a spec completely, then run its stages in order.

:func:`prepare_experiment` is what every command that runs or validates calls first: the spec
checked against its notebook and the command line, and (``backend: sagemaker``) every request
the experiment can send validated offline; :func:`run_experiment` then runs the stages (sweep,
jobs, analysis, report), each handing the next a typed record (:mod:`loclab.results`);
:func:`interactive_systems` checks the interactive runs (``--run``) that join a comparison.
"""

from loclab.run.channels import ChannelFetcher
from loclab.run.interactive import interactive_systems
from loclab.run.pipeline import log_report, run_experiment, write_report
from loclab.run.prepare import prepare_experiment
from loclab.run.status import ExperimentStatus, experiment_status, render_experiment_status
from loclab.run.tick import TickResult, run_tick

__all__ = [
    "ChannelFetcher",
    "ExperimentStatus",
    "TickResult",
    "experiment_status",
    "interactive_systems",
    "log_report",
    "prepare_experiment",
    "render_experiment_status",
    "run_experiment",
    "run_tick",
    "write_report",
]
