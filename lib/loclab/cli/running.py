"""``loclab run``, ``compare``, ``report`` and ``publish``: run stages, render, share."""

from __future__ import annotations

from typing import Annotated

import typer

from loclab.cli.app import (
    ChannelOpt,
    ParamOpt,
    ReportsOpt,
    ReuseOpt,
    RunOpt,
    SpecArg,
    StateOpt,
    StorageOpt,
    TimeoutOpt,
    app,
    cli_problem,
    err,
    load,
    timeout_seconds,
    workspace,
)
from loclab.exceptions import SpecError

__all__ = ["compare", "publish", "report", "run"]


@app.command()
def run(
    spec: SpecArg,
    param: ParamOpt = None,
    timeout: TimeoutOpt = None,
    reuse: ReuseOpt = True,
    reports_dir: ReportsOpt = None,
    state_dir: StateOpt = None,
    storage: StorageOpt = None,
    channel: ChannelOpt = None,
    interactive: RunOpt = None,
) -> None:
    """Run an experiment end to end: sweep, jobs, comparison, report."""
    seconds = timeout_seconds(timeout)
    exp = load(spec, param, channel, fetch=True, fetch_into=state_dir)
    ws = workspace(exp, state_dir=state_dir, reports_dir=reports_dir, storage=storage)
    from loclab.run import interactive_systems, run_experiment

    by_hand = interactive_systems(exp, ws, interactive or [])
    run_experiment(exp, ws, timeout=seconds, reuse=reuse, say=typer.echo, interactive=by_hand)


@app.command()
def compare(
    spec: SpecArg,
    param: ParamOpt = None,
    timeout: TimeoutOpt = None,
    reuse: ReuseOpt = True,
    reports_dir: ReportsOpt = None,
    state_dir: StateOpt = None,
    channel: ChannelOpt = None,
    interactive: RunOpt = None,
) -> None:
    """Run each system x seed (reusing completed jobs), test them, print the verdicts.

    Systems taken from the sweep use its stored winners; the sweep itself is not run. With
    --run, interactive runs (notebooks run by hand) are tested against the baseline too.
    """
    seconds = timeout_seconds(timeout)
    exp = load(spec, param, channel, fetch=True, fetch_into=state_dir)
    if exp.spec.compare is None:
        raise SpecError([cli_problem("SPEC", f"{spec} has no compare: section")])
    ws = workspace(exp, state_dir=state_dir, reports_dir=reports_dir)
    from loclab.run import interactive_systems, run_experiment

    by_hand = interactive_systems(exp, ws, interactive or [])
    run_experiment(
        exp,
        ws,
        timeout=seconds,
        reuse=reuse,
        say=typer.echo,
        run_sweep=False,
        interactive=by_hand,
    )


@app.command()
def report(
    spec: SpecArg,
    reports_dir: ReportsOpt = None,
    state_dir: StateOpt = None,
    log: Annotated[
        bool, typer.Option(help="Attach the report to the experiment's MLflow run.")
    ] = True,
) -> None:
    """Render the experiment's report again from its stored results (trains and runs nothing)."""
    exp = load(spec)
    ws = workspace(exp, state_dir=state_dir, reports_dir=reports_dir)
    from loclab.execution.backends import tracking_uri
    from loclab.report import render_report
    from loclab.results import ExperimentResults

    # Asked for by name: rendered again even when nothing changed (loclab run keeps the page).
    result = render_report(exp.name, ws.state, ws.reports, project_root=exp.root, reuse=False)
    typer.echo(
        f"report: {result.latest} ({result.size / 1024:.0f} KB, {result.seconds:.1f} s); "
        f"kept as {result.path.name}; index: {result.index}"
    )
    stored = ExperimentResults(ws.state, exp.name).read_jobs()
    parent = stored.mlflow_parent_run_id if stored else None
    if log and parent:
        from loclab.run import log_report
        from loclab.tracking import Tracker

        try:
            tracker = Tracker.for_workspace(ws, uri=tracking_uri(exp))
            log_report(tracker, parent, result.path)
            typer.echo(f"logged on MLflow run {parent} as report/report.html")
        except Exception as error:  # the page is written; MLflow is a copy
            err(f"warning: report not logged on MLflow run {parent}: {error}")


@app.command()
def publish(
    spec: SpecArg,
    to: Annotated[
        str,
        typer.Option(
            "--to",
            help="Destination s3://bucket/prefix; the endpoint and credentials come from the "
            "standard AWS variables (AWS_ENDPOINT_URL, AWS_PROFILE...).",
        ),
    ],
    reports_dir: ReportsOpt = None,
) -> None:
    """Upload the experiment's reports folder and the reports index to S3."""
    from loclab.aws.s3 import BUCKET_NAME, parse_s3_uri

    try:
        bucket, _ = parse_s3_uri(to)
    except ValueError as error:
        raise SpecError([cli_problem("--to", f"{error}; expected s3://bucket/prefix")]) from None
    if not BUCKET_NAME.fullmatch(bucket):
        raise SpecError([cli_problem("--to", f"{bucket!r} is not a valid S3 bucket name")])
    exp = load(spec)
    ws = workspace(exp, reports_dir=reports_dir)
    from loclab.report import publish_reports

    written = publish_reports(exp.name, ws.reports, to)
    typer.echo(f"published {len(written)} file(s); the report: {written[0]}")
