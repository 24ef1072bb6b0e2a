"""The notebook side of a run: the kernel's IPython shell, its notebook, what a person sees."""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from loclab.io import atomic_path

__all__ = [
    "SESSION_ENV",
    "calling_cell",
    "draw_learning_curve",
    "ipython",
    "notebook_file",
    "notebook_params",
    "quiet_libraries",
    "show_progress",
]

#: Set by Jupyter Server in a kernel it starts for a notebook: the notebook's path.
SESSION_ENV = "JPY_SESSION_NAME"
#: Notebooks of the working folder looked at when the kernel is not told its notebook.
_MAX_NOTEBOOKS = 200
_progress: tuple[int, Any] | None = None


def draw_learning_curve(metrics_file: Path, png: Path) -> None:
    """Draw the per-epoch metrics of ``metrics_file`` into ``png``; show it in a notebook.

    Losses (names containing ``loss``) and other metrics get one panel each; with fewer than
    two epochs reported nothing is drawn.
    """
    from loclab.execution.job import read_metrics

    series: dict[str, list[tuple[int, float]]] = {}
    for record in read_metrics(metrics_file):
        if record.get("step") is None:
            continue
        for name, value in (record.get("metrics") or {}).items():
            if isinstance(value, int | float) and math.isfinite(value):
                series.setdefault(name, []).append((int(record["step"]) + 1, float(value)))
    if not any(len(points) > 1 for points in series.values()):
        return  # one epoch (or none) is not a curve
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    losses = [n for n in series if "loss" in n.lower()]
    panels = [group for group in (losses, [n for n in series if n not in losses]) if group]
    fig = Figure(figsize=(4.6 * len(panels), 3.2), layout="constrained")
    for ax, names in zip(fig.subplots(1, len(panels), squeeze=False)[0], panels, strict=True):
        for name in names:
            steps, values = zip(*series[name], strict=True)
            ax.plot(steps, values, marker="o", markersize=3, label=name)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(frameon=False)
    png.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(png) as tmp:
        fig.savefig(tmp, format="png", dpi=96)
    if ipython() is not None:
        from IPython.display import Image, display

        # IPython's display API has no type annotations.
        display(Image(data=png.read_bytes(), format="png"))  # type: ignore[no-untyped-call]


def ipython() -> Any:
    """The running IPython shell, or None (a plain interpreter)."""
    shell = sys.modules.get("IPython")
    return shell.get_ipython() if shell is not None else None


def calling_cell(depth: int) -> tuple[str, int] | None:
    """(cell, execution count) when the caller's caller (``depth`` 1) is a notebook cell.

    IPython names a cell's code after its source, so a cell that runs again has the same name
    and a new execution count. Calls from loclab's own modules are not cells.
    """
    shell = ipython()
    if shell is None:
        return None
    filename = sys._getframe(depth + 1).f_code.co_filename
    if filename.startswith(str(Path(__file__).parents[1])):
        return None
    return filename, int(shell.execution_count or 0)


def notebook_file() -> Path | None:
    """The notebook this kernel runs, as Jupyter (or VS Code) tells it; None when unknown."""
    shell = ipython()
    names = shell.user_ns if shell is not None else {}
    for value in (
        names.get("__vsc_ipynb_file__"),
        names.get("__session__"),
        os.environ.get(SESSION_ENV),
    ):
        if isinstance(value, str) and value.endswith(".ipynb"):
            # Absolute from Jupyter Server 2; an older server names it from its root folder,
            # while the kernel runs in the notebook's own folder.
            for path in (Path(value), Path.cwd() / Path(value).name):
                if path.is_file():
                    return path.resolve()
    return _notebook_by_parameters_cell(shell)


def _notebook_by_parameters_cell(shell: Any) -> Path | None:
    """The notebook in the working folder whose ``parameters`` cell this kernel has run.

    A kernel that is not told its notebook (``jupyter nbconvert --execute``, a console attached
    by hand) still runs in the notebook's folder, and has run the parameters cell by the time
    the notebook asks for its context. None unless exactly one notebook there matches.
    """
    if shell is None:
        return None
    ran = {s.strip() for s in getattr(shell.history_manager, "input_hist_raw", []) if s}
    if not ran:
        return None
    found = [
        path.resolve()
        for path in sorted(Path.cwd().glob("*.ipynb"))[:_MAX_NOTEBOOKS]
        if _parameters_source(path) in ran
    ]
    return found[0] if len(found) == 1 else None


def _parameters_source(notebook: Path) -> str | None:
    """The stripped source of the notebook's ``parameters`` cell; None when it has none."""
    from loclab.params.inspection import PARAMETERS_TAG

    try:
        for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] == "code" and PARAMETERS_TAG in cell["metadata"].get("tags", []):
                source = cell["source"]
                text = "".join(source) if isinstance(source, list) else str(source)
                return text.strip() or None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return None


def notebook_params(notebook: Path | None) -> dict[str, Any]:
    """The notebook's declared parameters with the values the kernel holds now."""
    shell = ipython()
    if notebook is None or shell is None:
        return {}
    from loclab.exceptions import SpecError
    from loclab.params import inspect_notebook

    try:
        declared = inspect_notebook(notebook).names
    except SpecError:
        return {}
    names = shell.user_ns
    return {name: names[name] for name in declared if name in names}


def quiet_libraries() -> None:
    """Keep MLflow's and alembic's INFO lines (a new store's migrations) out of the notebook.

    MLflow sets its logger's level when it is imported, so it is imported first.
    """
    import logging

    import mlflow  # noqa: F401

    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)


def show_progress(values: Mapping[str, float], step: int | None) -> None:
    """One line per notebook cell, updated as epochs are reported (no protocol lines)."""
    global _progress
    shown = "  ".join(f"{k}={v:.4g}" for k, v in values.items())
    text = f"epoch {step + 1}: {shown}" if step is not None else shown
    shell = ipython()
    if shell is None:
        print(text, flush=True)
        return
    from IPython.display import Pretty, display

    count = int(shell.execution_count or 0)
    if step is not None and _progress is not None and _progress[0] == count:
        _progress[1].update(Pretty(text))  # type: ignore[no-untyped-call]
        return
    handle = display(Pretty(text), display_id=True)  # type: ignore[no-untyped-call]
    _progress = (count, handle) if step is not None else None
