"""What went wrong: failed and pruned trials, failed jobs, their reasons and saved notebooks.

A failed job's notebook is saved as far as it ran; the stage that recorded the job kept a
scrubbed copy with the records, and the report links to a copy of it kept beside the report
(so the link survives publishing), or names the job's notebook when no copy was kept.
"""

from __future__ import annotations

import shutil
from typing import Any

from loclab.report.context import ReportContext
from loclab.report.html import Html, esc, note, section, table, tag
from loclab.results import SweepRecord, TrialRecord

__all__ = ["attach_notebook", "what_went_wrong"]

_MAX_REASON = 600


def attach_notebook(ctx: ReportContext, name: str, copy: str | None, original: str | None) -> Html:
    """A link to the kept copy of a job's executed notebook (or its path, or a dash).

    Args:
        ctx: The report's context.
        name: The job's name.
        copy: The record's ``notebook_copy`` (relative to the records folder).
        original: The notebook in the job's run folder (named, never opened).
    """
    kept = ctx.notebook_copy(copy)
    if kept is None:
        if not original:
            return Html("–")
        return tag("code", str(original), class_="path")
    if ctx.attachments is None:
        return tag("code", str(kept), class_="path")
    ctx.attachments.mkdir(parents=True, exist_ok=True)
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name) or "job"
    target = ctx.attachments / f"{safe}.ipynb"
    shutil.copyfile(kept, target)
    href = (
        f"{ctx.attachments_href.rstrip('/')}/{target.name}"
        if ctx.attachments_href
        else (target.as_uri())
    )
    return tag("a", "saved notebook", href=href, download=target.name)


def _reason(text: str | None) -> Html:
    if not text:
        return tag("span", "no reason recorded", class_="muted")
    text = str(text)
    if len(text) > _MAX_REASON:
        text = text[:_MAX_REASON] + "…"
    return tag("code", text, class_="reason")


def _trial_row(ctx: ReportContext, sweep: SweepRecord, t: TrialRecord) -> list[Any]:
    spec = ctx.spec_model
    pruner = spec.sweep.pruner if spec is not None and spec.sweep is not None else "the pruner"
    if t.state == "PRUNED":
        step = t.last_step
        plain = (
            f"Stopped early by the {pruner} pruner after epoch "
            f"{(step + 1) if isinstance(step, int) else '?'}: its {sweep.metric} trailed earlier "
            "trials at the same point. This is the sweep saving time, not an error."
        )
        what = "pruned"
    elif t.state == "FAIL":
        plain, what = "The trial failed.", "failed"
    else:
        plain, what = (
            f"The trial was left {t.state.lower()} when the sweep ended.",
            t.state.lower(),
        )
    if t.requeued_from is not None:
        plain += f" It re-ran trial {t.requeued_from} after a crash."
    notebook = f"{t.run_dir}/output/data/executed.ipynb" if t.run_dir else None
    name = t.job or f"trial {t.number}"
    return [
        f"sweep trial {t.number}", what,
        Html(tag("p", plain) + (_reason(t.failure) if t.failure else "")),
        attach_notebook(ctx, name, t.notebook_copy, notebook),
    ]  # fmt: skip


def what_went_wrong(ctx: ReportContext) -> Html:
    """The table of everything that did not complete, with reasons and notebook links."""
    rows: list[list[Any]] = []
    seen: set[str] = set()
    sweep = ctx.sweep_record
    trials = sweep.trials if sweep is not None else []
    if sweep is not None:
        for t in sweep.trials:
            if t.state != "COMPLETE":
                seen.add(t.job or f"trial {t.number}")
                rows.append(_trial_row(ctx, sweep, t))
    jobs = ctx.run.jobs if ctx.run is not None else []
    for j in jobs:
        if j.ok or j.state == "SKIPPED" or j.name in seen:
            continue
        seen.add(j.name)
        rows.append([
            f"job {j.name}", j.state.lower(),
            Html(tag("p", "The job did not complete; it is left out of the statistics.")
                 + _reason(j.failure)),
            attach_notebook(ctx, j.name, j.notebook_copy, j.executed_notebook),
        ])  # fmt: skip
    skipped = [j for j in jobs if j.state == "SKIPPED"]
    jobs = [j for j in jobs if j.state != "SKIPPED"]
    if not rows:
        what = f"all {len(jobs)} job(s) completed" if jobs else "no job ran"
        if skipped:
            what += (
                f" ({len(skipped)} more were not run on purpose: their system proved "
                "deterministic)"
            )
        if trials:
            what += f" and all {len(trials)} sweep trials completed"
        return section("problems", "What went wrong", note(f"Nothing: {what}."))
    failed = sum(1 for r in rows if r[1] not in ("pruned",))
    lead = (
        f"{len(rows)} trial(s) or job(s) did not complete ({failed} failed or stopped, "
        f"{len(rows) - failed} pruned). Each saved notebook shows the cells as far as they ran."
    )
    body = table(["What", "State", "Reason", "Notebook"], rows, class_="problems")
    return section("problems", "What went wrong", esc(body), lead=lead)
