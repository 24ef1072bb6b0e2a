"""Errors of the AWS layer. Each reads as lines that say what is wrong and what to do."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from loclab.exceptions import LoclabError

__all__ = [
    "AwsCallError",
    "AwsError",
    "JobNameInUseError",
    "QuotaExceededError",
    "RequestProblem",
    "RequestValidationError",
]


class AwsError(LoclabError):
    """Base class of errors from talking to AWS (or to the offline test bed)."""


@dataclass(frozen=True)
class RequestProblem:
    """One constraint a request breaks.

    Attributes:
        path: Where in the request, e.g. ``ResourceConfig.InstanceType``, ``Tags[2].Key`` or
            ``HyperParameters["lr"]``.
        message: What is wrong.
        fix: How to fix it; empty when the message already says.
    """

    path: str
    message: str
    fix: str = ""

    def __str__(self) -> str:
        fix = f"; {self.fix}" if self.fix else ""
        return f"{self.path}: {self.message}{fix}"


class RequestValidationError(AwsError):
    """A request breaks the service model's constraints or a cross-field rule; it was not sent.

    Args:
        operation: The API operation, e.g. ``CreateTrainingJob``.
        problems: Everything wrong, one problem per line.
    """

    exit_code = 2

    def __init__(self, operation: str, problems: Iterable[RequestProblem]) -> None:
        self.operation = operation
        self.problems = list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{operation} request is invalid (not sent):\n{lines}")


class AwsCallError(AwsError):
    """An AWS call failed for a reason other than the ones with their own class.

    Attributes:
        operation: The API operation.
        code: The AWS error code (``AccessDeniedException``...), or the exception name.
    """

    def __init__(self, operation: str, code: str, message: str, fix: str = "") -> None:
        self.operation = operation
        self.code = code
        text = f"{operation} failed: {code}: {message}"
        super().__init__(text + (f"; {fix}" if fix else ""))


class QuotaExceededError(AwsCallError):
    """SageMaker refused a job because an account quota is used up (``ResourceLimitExceeded``)."""


class JobNameInUseError(AwsCallError):
    """A training job of that name exists already; SageMaker never reuses names."""
