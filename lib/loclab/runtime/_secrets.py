"""Secret parameters inside the kernel: their values, and keeping them out of predictions.

A job's secret parameters (:mod:`loclab.security`) reach the kernel in
``$LOCLAB_SECRET_PARAMS``; the injected parameters cell reads them with :func:`secret_param`, so
the executed notebook never holds a value. They are registered for scrubbing when the runtime
is imported.
"""

from __future__ import annotations

import os
import warnings
from typing import TYPE_CHECKING, Any

from loclab.security import (
    SECRET_PARAMS_ENV,
    known_secrets,
    parse_secret_params,
    register_secrets,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["drop_secret_columns", "register_job_secrets", "secret_param"]


def _job_secrets() -> dict[str, Any]:
    try:
        return parse_secret_params(os.environ.get(SECRET_PARAMS_ENV, ""))
    except ValueError:  # the entry point refused such a job before its kernel started
        return {}


def register_job_secrets() -> None:
    """Register the job's secret values, so every scrub in this kernel redacts them."""
    register_secrets(_job_secrets().values())


def secret_param(name: str) -> Any:
    """The value of the secret parameter ``name`` (what the injected parameters cell calls).

    Raises:
        KeyError: The job was given no such secret.
    """
    found = _job_secrets()
    if name not in found:
        raise KeyError(
            f"secret parameter {name!r} was not passed to this job (${SECRET_PARAMS_ENV})"
        )
    return found[name]


def drop_secret_columns(frame: pd.DataFrame, required: tuple[str, ...]) -> pd.DataFrame:
    """``frame`` without the columns holding a known secret value (a warning names them).

    Raises:
        ValueError: A required column holds one: the predictions are refused.
    """
    secrets = [s for s in known_secrets() if s]
    if not secrets:
        return frame
    leaking = []
    for column in frame.columns:
        values = frame[column]
        if values.dtype != object and not str(values.dtype).startswith(("string", "category")):
            texts = values.astype(str)
        else:
            texts = values.dropna().astype(str)
        if any(texts.str.contains(s, regex=False).any() for s in secrets):
            leaking.append(str(column))
    if not leaking:
        return frame
    refused = [c for c in leaking if c in required]
    if refused:
        raise ValueError(
            f"predictions column(s) {refused} contain a secret parameter's value; "
            "they are not written (remove the secret from the data)"
        )
    warnings.warn(
        f"predictions column(s) {leaking} contain a secret parameter's value and are left out",
        stacklevel=3,
    )
    return frame.drop(columns=leaking)
