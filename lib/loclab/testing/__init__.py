"""Helpers for testing loclab and code built on it (tiny notebooks, test beds)."""

from loclab.testing.notebooks import write_notebook

__all__ = ["write_notebook"]
