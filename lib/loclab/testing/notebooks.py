"""Write small notebooks from source strings (for tests and examples)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

__all__ = ["write_notebook"]


def write_notebook(
    path: Path,
    parameters: str,
    cells: Sequence[str] = (),
    *,
    markdown: str | None = None,
) -> Path:
    """Write a Python notebook with a ``parameters`` cell and code cells, without outputs.

    Args:
        path: Where to write the ``.ipynb``.
        parameters: Source of the cell tagged ``parameters``.
        cells: Sources of the following code cells.
        markdown: Optional first markdown cell.

    Returns:
        ``path``.
    """
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    # nbformat has no type annotations.
    nb = new_notebook()  # type: ignore[no-untyped-call]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    if markdown:
        nb.cells.append(new_markdown_cell(markdown))  # type: ignore[no-untyped-call]
    nb.cells.append(new_code_cell(parameters, metadata={"tags": ["parameters"]}))  # type: ignore[no-untyped-call]
    nb.cells.extend(new_code_cell(src) for src in cells)  # type: ignore[no-untyped-call]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i}"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))  # type: ignore[no-untyped-call]
    return path


#: Parameters cell of :func:`write_probe_notebook`.
PROBE_PARAMETERS = """x: float = 1.0  # value the notebook reports (val_score grows from it)
epochs: int = 3  # how many per-epoch metrics to report
mode: str = "ok"  # ok, raise, die, oom, sleep or nan
sleep_s: float = 0.0  # seconds to sleep after each epoch
seed: int = 0  # seed (mixed into the reported value)
tags: list[str] = ["a"]  # free-form labels
settings: dict = {}  # free-form settings
note: str = "plain"  # a string"""


def write_probe_notebook(path: Path) -> Path:
    """A tiny notebook that exercises the job contract without training anything.

    It reports ``val_score`` per epoch (``x + 0.1 * epoch``), then, by ``mode``: ``raise``
    raises ValueError, ``die`` kills its kernel with ``os._exit(1)``, ``oom`` runs out of
    memory under an address-space limit (a MemoryError, as a job under a memory limit does),
    ``sleep`` sleeps for ``sleep_s`` seconds, ``nan`` reports NaN. Otherwise it writes
    predictions and ``test_score``.
    """
    return write_notebook(
        path,
        PROBE_PARAMETERS,
        [
            "import os\nimport time\n\nimport pandas as pd\n\nfrom loclab import runtime\n\n"
            "ctx = runtime.context()\nprint(ctx.name)",
            "for epoch in range(epochs):\n"
            "    value = float('nan') if mode == 'nan' else x + 0.1 * epoch + 0.001 * seed\n"
            "    runtime.log_metrics({'val_score': value}, step=epoch)\n"
            "    time.sleep(sleep_s)",
            "if mode == 'raise':\n    raise ValueError('boom from the probe')\n"
            "if mode == 'die':\n    os._exit(1)\n"
            "if mode == 'oom':\n    import resource\n"
            "    used = int(next(l for l in open('/proc/self/status') if l.startswith('VmSize'))"
            ".split()[1]) * 1024\n"
            "    resource.setrlimit(resource.RLIMIT_AS, (used + 2**28, resource.RLIM_INFINITY))\n"
            "    block = bytearray(2**30)\n"
            "if mode == 'sleep':\n    time.sleep(3600)",
            "runtime.set_tags({'loclab.data_fingerprint': 'probe-data'})\n"
            "runtime.write_predictions(pd.DataFrame({'example_id': ['e1', 'e2', 'e3'], "
            "'label': [1, 0, 1], 'prediction': [1, 1, 1], 'score': [0.9, 0.6, 0.8], "
            "'correct': [1, 0, 1]}))\n"
            "(ctx.model_dir / 'model.txt').write_text(str(x))\n"
            "runtime.log_metrics({'test_score': x + 0.1 * epochs, 'test_acc': 2 / 3})",
        ],
        markdown="# Probe\nA notebook for tests of the job contract.",
    )


def files_under(root: Path, ignore: tuple[str, ...] = ()) -> set[str]:
    """Every file under ``root`` as a relative path.

    Compare the sets before and after a command to prove that it wrote nothing.
    """
    return {
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and not str(p.relative_to(root)).startswith(ignore)
    }
