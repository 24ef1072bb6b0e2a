"""The ``backend:`` section: where jobs run."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from loclab.spec._base import SpecModel

__all__ = ["BackendSpec"]


class BackendSpec(SpecModel):
    """Where jobs run. ``backend: local`` (the default) or ``backend: sagemaker``."""

    kind: Literal["local", "sagemaker"] = "local"
    settings: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"kind": value}
        return value
