"""AWS: clients with retries, S3 staging, strict offline request validation (a leaf package).

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
from loclab.aws.validate import check_request, compile_java_pattern, validate_request

__all__ = [
    "AwsCallError",
    "AwsClients",
    "AwsError",
    "JobNameInUseError",
    "QuotaExceededError",
    "RequestProblem",
    "RequestValidationError",
    "Retry",
    "S3Stager",
    "check_request",
    "compile_java_pattern",
    "error_code",
    "is_not_found",
    "is_throttling",
    "parse_s3_uri",
    "validate_request",
]
