"""boto3 clients for the SageMaker backend, and the retry policy every call goes through.

Endpoints come from the standard AWS variables (``AWS_ENDPOINT_URL``,
``AWS_ENDPOINT_URL_S3``...), so the same code talks to AWS or to the offline test bed. Nothing
here reads credentials itself: boto3 finds them the usual way.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

__all__ = [
    "THROTTLING_CODES",
    "AwsClients",
    "Retry",
    "error_code",
    "error_message",
    "is_not_found",
    "is_throttling",
]

T = TypeVar("T")

#: Error codes AWS services use to say "slow down"; retried with backoff.
THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "ProvisionedThroughputExceededException",
    }
)


def error_code(err: BaseException) -> str | None:
    """The AWS error code of a botocore ``ClientError`` (None for other exceptions)."""
    response = getattr(err, "response", None)
    if not isinstance(response, dict):
        return None
    code = response.get("Error", {}).get("Code")
    return str(code) if code is not None else None


def error_message(err: BaseException) -> str:
    """The AWS error message, or the exception's text."""
    response = getattr(err, "response", None)
    if isinstance(response, dict):
        message = response.get("Error", {}).get("Message")
        if message:
            return str(message)
    return str(err)


def is_throttling(err: BaseException) -> bool:
    """True for a throttling error (retry later)."""
    return error_code(err) in THROTTLING_CODES


def is_not_found(err: BaseException) -> bool:
    """True when the error says the named resource does not exist.

    SageMaker answers a missing training job with ``ValidationException`` ("Requested resource
    not found"; moto says "Could not find training job"), S3 with ``NoSuchKey``/``404``.
    """
    code = error_code(err)
    if code in ("NoSuchKey", "404", "NotFound", "ResourceNotFound", "ResourceNotFoundException"):
        return True
    if code == "ValidationException":
        text = error_message(err).lower()
        return "not found" in text or "could not find" in text
    return False


@dataclass
class Retry:
    """Exponential backoff with full jitter for throttled calls.

    botocore retries a throttled call a few times itself; under a sweep's load (many jobs
    polled at once) that is not always enough, so loclab retries further before giving up.

    Attributes:
        attempts: Calls in all, the first included.
        base_s: Backoff before the second call; doubled each time.
        max_s: Longest single wait.
        sleep: The sleep function (tests pass a recorder).
    """

    attempts: int = 8
    base_s: float = 1.0
    max_s: float = 30.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    def delay(self, attempt: int) -> float:
        """Wait before call ``attempt + 1`` (``attempt`` counts from 1)."""
        ceiling = min(self.max_s, self.base_s * 2 ** (attempt - 1))
        # Full jitter spreads the retries of many jobs polled at once.
        return random.uniform(ceiling / 2, ceiling)

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)``, retried while AWS throttles it.

        Raises:
            Exception: The last throttling error after ``attempts`` calls, or any other error
                at once.
        """
        for attempt in range(1, self.attempts + 1):
            try:
                return fn(*args, **kwargs)
            except Exception as err:
                if not is_throttling(err) or attempt == self.attempts:
                    raise
                self.sleep(self.delay(attempt))
        raise AssertionError("unreachable")


class AwsClients:
    """The clients one backend uses, created on first use.

    Args:
        region: The AWS region of the jobs and the bucket.
        session: A ``boto3.Session``; a new one (default credential chain) when None.
        retry: Backoff for throttled calls.
        overrides: Ready-made clients by service name (tests pass Stubber-wrapped ones).
    """

    def __init__(
        self,
        region: str,
        *,
        session: Any | None = None,
        retry: Retry | None = None,
        overrides: dict[str, Any] | None = None,
    ) -> None:
        self.region = region
        self.retry = retry or Retry()
        self._session = session
        self._clients: dict[str, Any] = dict(overrides or {})

    def client(self, service: str) -> Any:
        """The boto3 client of ``service`` in :attr:`region`."""
        found = self._clients.get(service)
        if found is None:
            import boto3
            from botocore.config import Config

            session = self._session or boto3.session.Session()
            config = Config(
                region_name=self.region,
                retries={"mode": "standard", "max_attempts": 3},
                connect_timeout=10,
                read_timeout=60,
                user_agent_extra="loclab",
            )
            found = self._clients[service] = session.client(service, config=config)
        return found

    @property
    def sagemaker(self) -> Any:  # noqa: D102
        return self.client("sagemaker")

    @property
    def s3(self) -> Any:  # noqa: D102
        return self.client("s3")

    @property
    def logs(self) -> Any:  # noqa: D102
        return self.client("logs")
