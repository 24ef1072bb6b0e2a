"""Import-time savings for loclab's own processes (the job entry point, report rendering)."""

from __future__ import annotations

import sys

__all__ = ["skip_slow_optional_imports"]


def skip_slow_optional_imports() -> None:
    """Keep optional modules that cost seconds at import out of this process.

    jsonschema, which nbformat and Papermill import, imports ``rfc3987_syntax`` when it is
    installed (JupyterLab pulls it in); that module compiles a Lark grammar at import time,
    about 1 s on our machines, paid by every job before its kernel starts. Without it,
    jsonschema only skips its ``iri`` format check, which notebook validation never uses.
    Called in loclab's own processes only, never inside a kernel, so a notebook that imports
    jsonschema itself keeps every format check.
    """
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
