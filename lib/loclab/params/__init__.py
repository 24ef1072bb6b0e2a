"""Typed notebook parameters: the ``parameters`` cell is the single source of truth.

Each line of the cell reads ``name: type = default  # help`` (the form Papermill's
``--help-notebook`` understands). loclab reads it without starting a kernel, and checks every
override against it: unknown names (with the closest valid name), wrong types, missing
required values.
"""

from loclab.params.inspection import NotebookParameters, Parameter, inspect_notebook
from loclab.params.types import ParamType, decode_value, encode_value, parse_type
from loclab.params.validate import (
    did_you_mean,
    missing_required,
    parse_assignments,
    resolve_overrides,
)

__all__ = [
    "NotebookParameters",
    "ParamType",
    "Parameter",
    "decode_value",
    "did_you_mean",
    "encode_value",
    "inspect_notebook",
    "missing_required",
    "parse_assignments",
    "parse_type",
    "resolve_overrides",
]
