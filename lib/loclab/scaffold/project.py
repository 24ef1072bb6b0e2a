"""``loclab init``: a new project from the template shipped as package data.

The template is the folder ``loclab/scaffold/template/project``. Files ending in ``.tmpl`` are
``string.Template`` texts (``$project``, ``$notebook``, ``$starter``) written without that
suffix; a leading ``dot-`` in a name becomes ``.`` (wheels and sdists drop hidden files);
everything else is copied byte for byte. The starter spec is written from the starter notebook
the way ``loclab new experiment`` writes one.
"""

from __future__ import annotations

from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from string import Template

from loclab.exceptions import Problem, SpecError
from loclab.io import write_bytes, write_text
from loclab.scaffold.experiment import SOURCE, write_experiment

__all__ = ["STARTER_COMPARISON", "STARTER_EXPERIMENT", "STARTER_NOTEBOOK", "init_project"]

#: The starter template notebook, in ``notebooks/templates/``.
STARTER_NOTEBOOK = "classifier.ipynb"
#: The starter spec's name (``experiments/starter.yaml``): a comparison over seeds.
STARTER_EXPERIMENT = "starter"
#: The candidate the starter spec tests against the notebook's defaults.
STARTER_COMPARISON = ("hidden=64",)
_TEMPLATE_SUFFIX = ".tmpl"
_DOT = "dot-"


def init_project(folder: Path) -> list[Path]:
    """Write a new project into ``folder`` (created; an existing one must be empty).

    Args:
        folder: The project's folder.

    Returns:
        The files written, in order.

    Raises:
        SpecError: ``folder`` is a file, or a folder that is not empty (nothing is written).
    """
    shown = str(folder)
    if folder.exists() and not folder.is_dir():
        raise SpecError(
            [Problem(SOURCE, "DIR", f"{shown} is a file", "name a new or empty folder")]
        )
    if folder.is_dir() and any(folder.iterdir()):
        raise SpecError(
            [
                Problem(
                    SOURCE,
                    "DIR",
                    f"{shown} exists and is not empty (nothing was written)",
                    "name a new or empty folder",
                )
            ]
        )
    folder = folder.resolve()
    values = {"project": folder.name, "notebook": STARTER_NOTEBOOK, "starter": STARTER_EXPERIMENT}
    template = resources.files("loclab.scaffold").joinpath("template", "project")
    written = []
    for source, parts in _files(template, ()):
        names = ["." + p[len(_DOT) :] if p.startswith(_DOT) else p for p in parts]
        target = folder.joinpath(*names)
        if target.name.endswith(_TEMPLATE_SUFFIX):
            target = target.with_name(target.name.removesuffix(_TEMPLATE_SUFFIX))
            text = Template(source.read_text(encoding="utf-8")).substitute(values)
            written.append(write_text(target, text))
        else:
            written.append(write_bytes(target, source.read_bytes()))
    starter = write_experiment(
        folder,
        STARTER_EXPERIMENT,
        folder / "notebooks" / "templates" / STARTER_NOTEBOOK,
        compare=STARTER_COMPARISON,
    )
    written.append(starter.path)
    return written


def _files(folder: Traversable, parts: tuple[str, ...]) -> list[tuple[Traversable, list[str]]]:
    """Every file under ``folder`` with its path parts, sorted (no caches)."""
    found: list[tuple[Traversable, list[str]]] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name in ("__pycache__", ".ipynb_checkpoints"):
            continue
        if entry.is_dir():
            found.extend(_files(entry, (*parts, entry.name)))
        else:
            found.append((entry, [*parts, entry.name]))
    return found
