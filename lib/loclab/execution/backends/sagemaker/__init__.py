"""Run jobs as SageMaker training jobs: the same contract and entry point as local jobs.

:class:`SageMakerBackend` stages the notebook, the project's code and the input channels to S3,
sends a ``CreateTrainingJob`` request validated offline against botocore's service model, and
hands back a :class:`SageMakerJobHandle` that polls ``DescribeTrainingJob``, reads the job's
metrics from its checkpoint prefix while it runs, stops it with ``StopTrainingJob`` and, once it
ended, brings ``output/``, the executed notebook, the metrics and the log into the local run
directory, so the :class:`~loclab.execution.runner.JobRunner` tracks it as it tracks a local job.
"""

from loclab.execution.backends.sagemaker._backend import JobStillRunningError, SageMakerBackend
from loclab.execution.backends.sagemaker._handle import EXIT_CODES, SageMakerJobHandle
from loclab.execution.backends.sagemaker._record import RECORD_FILE, read_record
from loclab.execution.backends.sagemaker._request import (
    CONTAINER_ENTRYPOINT,
    CONTAINER_ROOT,
    LOG_GROUP,
    S3Layout,
    build_training_job_request,
    container_environment,
    job_tags,
    metric_definitions,
    request_field,
    training_job_name,
)
from loclab.execution.backends.sagemaker._validate import (
    training_job_rules,
    validate_experiment,
    validate_training_job,
)

__all__ = [
    "CONTAINER_ENTRYPOINT",
    "CONTAINER_ROOT",
    "EXIT_CODES",
    "LOG_GROUP",
    "RECORD_FILE",
    "JobStillRunningError",
    "S3Layout",
    "SageMakerBackend",
    "SageMakerJobHandle",
    "build_training_job_request",
    "container_environment",
    "job_tags",
    "metric_definitions",
    "read_record",
    "request_field",
    "training_job_name",
    "training_job_rules",
    "validate_experiment",
    "validate_training_job",
]
