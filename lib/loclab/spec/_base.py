"""Shared pieces of the spec models."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict

__all__ = ["Duration", "SpecModel", "parse_duration"]


class SpecModel(BaseModel):
    """Base of every spec section: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: Any) -> float | None:
    """Seconds from ``90``, ``"90s"``, ``"30m"``, ``"2h"`` or ``"1h30m"``.

    Raises:
        ValueError: Not a positive duration.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 90, '90s', '30m' or '2h'")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        parts = re.findall(r"(\d+(?:\.\d+)?)([smhd])", text)
        if not parts or "".join(a + b for a, b in parts) != text:
            try:
                seconds = float(text)
            except ValueError:
                raise ValueError(
                    f"'{value}' is not a duration; use e.g. 90, '90s', '30m' or '2h'"
                ) from None
        else:
            seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    else:
        raise ValueError("expected a duration such as 90, '90s', '30m' or '2h'")
    if not math.isfinite(seconds):
        raise ValueError(f"'{value}' is not a finite duration; use e.g. 90, '90s', '30m' or '2h'")
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    return seconds


#: Seconds, written as a number or a string such as "30m".
Duration = Annotated[float, BeforeValidator(parse_duration)]
