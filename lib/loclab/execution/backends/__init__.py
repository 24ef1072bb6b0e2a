"""Backends launch jobs. Every backend runs the same entry point on the same contract."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loclab.execution.backends.base import Backend, JobHandle
from loclab.execution.backends.local import LocalBackend

if TYPE_CHECKING:
    from loclab.spec import Experiment

__all__ = ["Backend", "JobHandle", "LocalBackend", "create_backend", "tracking_uri"]


def create_backend(exp: Experiment, **kwargs: Any) -> Backend:
    """The backend an experiment's spec names (``backend: local`` or ``backend: sagemaker``).

    Args:
        exp: The validated experiment.
        **kwargs: Passed to the backend's constructor (``threads_per_job``, ``standbys`` for local,
            ``poll_interval_s``, ``clients``... for SageMaker).

    Raises:
        SpecError: The SageMaker settings are incomplete (as ``loclab validate`` reports).
    """
    kind = exp.spec.backend.kind
    if kind == "sagemaker":
        # boto3 loads only when a SageMaker experiment runs.
        from loclab.execution.backends.sagemaker import SageMakerBackend

        return SageMakerBackend.from_experiment(exp, **kwargs)
    options = {"warm": exp.spec.backend.warm, "warm_imports": exp.spec.backend.warm_imports}
    return LocalBackend(**{**options, **kwargs})


def tracking_uri(exp: Experiment) -> str | None:
    """The MLflow tracking URI the experiment's jobs must share, if its backend names one.

    SageMaker jobs cannot reach a local SQLite store; with ``backend.mlflow_tracking_uri`` the
    launcher tracks in that server too, so each job logs into the run the launcher opened.
    """
    return exp.sagemaker.mlflow_tracking_uri if exp.sagemaker is not None else None
