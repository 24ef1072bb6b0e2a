"""AWS: strict offline request validation, ``CreateTrainingJob`` requests, S3 staging, clients.

Nothing here talks to AWS at import time; boto3 and botocore load on first use.
"""

from loclab.aws.clients import AwsClients, Retry, error_code, is_not_found, is_throttling
from loclab.aws.errors import (
    AwsCallError,
    AwsError,
    JobNameInUseError,
    QuotaExceededError,
    RequestProblem,
    RequestValidationError,
)
from loclab.aws.s3 import S3Stager, parse_s3_uri
from loclab.aws.training import (
    CONTAINER_ENTRYPOINT,
    LOG_GROUP,
    S3Layout,
    build_training_job_request,
    training_job_name,
    training_job_rules,
    validate_training_job,
)
from loclab.aws.validate import check_request, compile_java_pattern, validate_request

__all__ = [
    "CONTAINER_ENTRYPOINT",
    "LOG_GROUP",
    "AwsCallError",
    "AwsClients",
    "AwsError",
    "JobNameInUseError",
    "QuotaExceededError",
    "RequestProblem",
    "RequestValidationError",
    "Retry",
    "S3Layout",
    "S3Stager",
    "build_training_job_request",
    "check_request",
    "compile_java_pattern",
    "error_code",
    "is_not_found",
    "is_throttling",
    "parse_s3_uri",
    "training_job_name",
    "training_job_rules",
    "validate_request",
    "validate_training_job",
]
