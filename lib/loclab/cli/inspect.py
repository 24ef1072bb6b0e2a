"""``loclab validate`` and ``loclab params``: check specs and notebooks, run nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from loclab.cli.app import ChannelOpt, ParamOpt, app, err, load
from loclab.exceptions import SpecError

__all__ = ["params", "validate"]


@app.command()
def validate(
    specs: Annotated[list[Path], typer.Argument(help="One or more spec files.")],
    param: ParamOpt = None,
    channel: ChannelOpt = None,
) -> None:
    """Check specs against their notebooks without running anything (exit 0, or 2)."""
    failed = False
    for spec in specs:
        try:
            exp = load(spec, param, channel)
        except SpecError as error:
            failed = True
            for problem in error.problems:
                err(str(problem))
            continue
        n_jobs = 1
        if exp.spec.compare is not None and not exp.spec.compare.discovered:
            n_jobs = len(exp.spec.compare.systems) * len(exp.spec.compare.seeds)
        parts = [f"{len(exp.notebook.parameters)} notebook parameters", f"{n_jobs} job(s)"]
        if exp.spec.sweep is not None:
            parts.append(f"sweep of {exp.spec.sweep.n_trials} trials")
        typer.echo(f"{spec}: ok ({', '.join(parts)})")
        for name, source in exp.remote_channels.items():
            typer.echo(f"  channel {name}: {source.url} is fetched by run (not checked here)")
        for p in exp.notebook.parameters.values():
            if not p.annotated:
                typer.echo(
                    f"{spec}: note: parameter '{p.name}' of {exp.notebook_display} has no type "
                    f"annotation (inferred {p.type}); write '{p.name}: {p.type} = "
                    f"{p.default_text}  # help'"
                )
    if failed:
        raise typer.Exit(2)


@app.command()
def params(
    notebook: Annotated[Path, typer.Argument(help="A notebook with a 'parameters' cell.")],
) -> None:
    """List a notebook's parameters: name, type, default and help."""
    from loclab.params import inspect_notebook

    found = inspect_notebook(notebook)
    for problem in found.problems:
        err(str(problem))
    rows = [
        (
            p.name,
            str(p.type),
            "(required)" if p.required else p.default_text,
            p.help,
        )
        for p in found.parameters.values()
    ]
    if not rows:
        err(f"{notebook}: the parameters cell declares no parameters")
        raise typer.Exit(2)
    widths = [max(len(r[i]) for r in [*rows, ("name", "type", "default", "")]) for i in range(3)]
    head = ("name", "type", "default", "help")
    typer.echo("  ".join(h.ljust(w) for h, w in zip(head, [*widths, 0], strict=True)).rstrip())
    for row in rows:
        typer.echo("  ".join(v.ljust(w) for v, w in zip(row, [*widths, 0], strict=True)).rstrip())
    if found.problems:
        raise typer.Exit(2)
