"""Helpers for testing loclab and code built on it (tiny notebooks, test beds)."""

from loclab.testing.notebooks import (
    PROBE_PARAMETERS,
    files_under,
    write_notebook,
    write_probe_notebook,
)

__all__ = ["PROBE_PARAMETERS", "files_under", "write_notebook", "write_probe_notebook"]
