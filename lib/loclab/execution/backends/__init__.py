"""Backends launch jobs. Every backend runs the same entry point on the same contract."""

from loclab.execution.backends.base import Backend, JobHandle
from loclab.execution.backends.local import LocalBackend

__all__ = ["Backend", "JobHandle", "LocalBackend"]
