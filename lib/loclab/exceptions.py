"""Errors users see. Each carries lines that name the place, what is wrong, and the fix."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "DataError",
    "JobFailedError",
    "LoclabError",
    "Problem",
    "SpecError",
    "StateError",
]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with user input.

    Attributes:
        source: File (or ``command line``) the input came from.
        field: Dotted path of the offending field, e.g. ``params.lr`` or ``-p lr``.
        message: What is wrong.
        fix: How to fix it; empty when the message already says.
    """

    source: str
    field: str
    message: str
    fix: str = ""

    def __str__(self) -> str:
        where = f"{self.source}: {self.field}" if self.field else self.source
        fix = f"; {self.fix}" if self.fix else ""
        return f"{where}: {self.message}{fix}"


class LoclabError(Exception):
    """Base class of errors loclab reports to users as one readable line."""

    exit_code = 1


class SpecError(LoclabError):
    """The spec, its notebook or the command line is invalid. Nothing was run or written."""

    exit_code = 2

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class DataError(LoclabError, ValueError):
    """Input data cannot be used: one line per problem, each naming the file and the fix."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class JobFailedError(LoclabError):
    """A job ended in a state other than completed."""

    exit_code = 1


class StateError(LoclabError):
    """Stored state (records, a study, the MLflow store) is damaged or cannot be opened.

    Nothing was run or written; the message names the file or store and what to do.
    """

    exit_code = 2
