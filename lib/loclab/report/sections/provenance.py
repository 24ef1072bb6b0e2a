"""Provenance (where the results came from) and the glossary for non-technical readers."""

from __future__ import annotations

import platform
import time
from typing import Any

from loclab.report.context import ReportContext
from loclab.report.html import Html, esc, note, section, table, tag
from loclab.results import JobRecord

__all__ = ["GIT_SHA", "glossary", "provenance_footer"]

#: Provenance tags of the run (written by the tracking stage) and labels jobs write.
GIT_SHA = "loclab.git_sha"
GIT_DIRTY = "loclab.git_dirty"
HOSTNAME = "loclab.hostname"
PLATFORM = "loclab.platform"
DATA_FINGERPRINT = "loclab.data_fingerprint"
DATA = "loclab.data"
#: Libraries shown in the environment table, in this order.
_VERSIONS = [
    ("loclab", "loclab.version"),
    ("Python", "loclab.python"),
    ("torch", "loclab.torch_version"),
    ("lightning", "loclab.lightning_version"),
    ("optuna", "loclab.optuna_version"),
    ("mlflow", "loclab.mlflow_version"),
    ("papermill", "loclab.papermill_version"),
    ("scikit-learn", "loclab.scikit-learn_version"),
    ("numpy", "loclab.numpy_version"),
]


def _prune(data: Any) -> Any:
    """The spec without unset fields (the validated spec fills every default with null).

    Keys inside each section are sorted, so the page reads the same whichever order the spec
    was written or stored in.
    """
    if isinstance(data, dict):
        out = {k: _prune(data[k]) for k in sorted(data) if data[k] not in (None, {}, [])}
        return {k: v for k, v in out.items() if v is not None and v != {}}
    if isinstance(data, list):
        return [_prune(v) for v in data]
    return data


def _spec_yaml(spec: dict[str, Any]) -> str:
    import yaml

    from loclab.security import scrub_mapping

    data = _prune(scrub_mapping(spec))
    # The spec's own order (name first), whatever order the stored JSON has.
    order = [
        "name",
        "description",
        "notebook",
        "params",
        "channels",
        "timeout",
        "sweep",
        "compare",
        "backend",
        "report",
        "schedule",
    ]
    data = {k: data[k] for k in [*order, *sorted(data)] if k in data}
    return str(
        yaml.safe_dump(
            data, sort_keys=False, allow_unicode=True, width=95, default_flow_style=None
        )
    )


def _fingerprints(jobs: list[JobRecord]) -> list[tuple[str, str]]:
    found: dict[str, str] = {}
    for j in jobs:
        fp = j.job_tags.get(DATA_FINGERPRINT)
        if fp:
            found.setdefault(fp, j.job_tags.get(DATA) or "")
    return sorted(found.items())


def provenance_footer(ctx: ReportContext) -> Html:
    """Git SHA and dirty flag, data fingerprint, versions, the spec as run, MLflow ids, machine."""
    tags = ctx.provenance
    jobs = ctx.run.jobs if ctx.run is not None else []
    parts: list[Any] = []
    sha = tags.get(GIT_SHA, "unknown")
    dirty = tags.get(GIT_DIRTY) == "true"
    code = Html(
        tag("code", sha)
        + (
            tag(
                "span",
                " with uncommitted changes (dirty): the code is not exactly this commit",
                class_="warn-text",
            )
            if dirty
            else esc(" (clean: no uncommitted changes)")
        )
    )
    fps = _fingerprints(jobs)
    if not fps and ctx.sweep_record is not None:
        # A sweep-only experiment: its trials are the jobs that read the data.
        fps = sorted(
            {
                t.job_tags[DATA_FINGERPRINT]: t.job_tags.get(DATA, "")
                for t in ctx.sweep_record.trials
                if t.job_tags.get(DATA_FINGERPRINT)
            }.items()
        )
    data = (
        Html(
            "<br>".join(tag("code", fp) + (esc(f" ({what})") if what else "") for fp, what in fps)
        )
        if fps
        else Html("not recorded by the jobs or trials")
    )
    rows: list[list[Any]] = [
        ["Code", code],
        ["Data fingerprint", data],
        [
            "Run ended",
            time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(ctx.run_time))
            if ctx.run_time
            else "–",
        ],
        ["Report generated", time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(ctx.generated))],
        [
            "Machine",
            f"{tags.get(HOSTNAME, platform.node())} ({tags.get(PLATFORM, platform.platform())})",
        ],
        ["MLflow parent run", tag("code", ctx.parent_run_id or "–")],
    ]
    sweep = ctx.sweep_record
    if sweep is not None and sweep.mlflow_run_id:
        rows.append(["MLflow sweep run", tag("code", sweep.mlflow_run_id)])
    if sweep is not None:
        rows.append(["Optuna study", f"{sweep.study_name} in {sweep.storage}"])
    parts.append(table(["", ""], rows, class_="kv"))
    versions = [(name, tags[key]) for name, key in _VERSIONS if key in tags]
    if versions:
        parts.append(tag("h3", "Environment"))
        parts.append(
            table([name for name, _ in versions], [[v for _, v in versions]], class_="versions")
        )
    if jobs:
        parts.append(tag("h3", "Jobs and their MLflow runs"))
        parts.append(
            table(
                ["Job", "State", "Duration", "Reused", "MLflow run"],
                [
                    [
                        j.name,
                        j.state.lower(),
                        _duration(j),
                        "yes" if j.cached else "no",
                        tag("code", j.mlflow_run_id or "–"),
                    ]
                    for j in jobs
                ],
                numeric=[2],
                class_="dense",
                caption="Reused: an identical job had already completed, so its result was taken "
                "instead of running it again.",
            )
        )
    spec = ctx.spec_model
    if spec is not None:
        parts.append(tag("h3", "The spec as run"))
        parts.append(
            tag(
                "p",
                "Validated, with defaults filled in and unset fields left out; "
                "secrets are redacted.",
                class_="small",
            )
        )
        parts.append(
            Html(f'<pre class="spec">{esc(_spec_yaml(spec.model_dump(mode="json")))}</pre>')
        )
    else:
        parts.append(note("The spec as run was not stored.", "omitted"))
    return section(
        "provenance",
        "Provenance",
        *parts,
        lead="Where these results came from, so anyone can reproduce them.",
    )


def _duration(job: JobRecord) -> str:
    if not (job.ended and job.started):
        return "–"
    seconds = job.ended - job.started
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


_GLOSSARY = [
    ("Baseline", "The system the others are measured against, usually the one in use today."),
    (
        "Seed",
        "The starting point of a training run's randomness. Training the same model with "
        "different seeds gives slightly different results; running several seeds shows how "
        "much of a difference is just luck of the draw.",
    ),
    (
        "Confidence interval (plausible range)",
        "The range of true differences consistent with "
        "the data. A 95% interval is built so that, over many experiments, 95 out of 100 such "
        "intervals contain the true value. A narrow interval means a precise estimate.",
    ),
    (
        "p-value",
        "How often a difference at least this large would appear by chance alone if "
        "the systems were in fact equally good. Small (below 0.05) means chance is an "
        "unlikely explanation. It does not say how large or important the difference is.",
    ),
    (
        "Effect size (difference)",
        "How much better or worse a candidate is than the baseline, always the candidate "
        "minus the baseline. Accuracy and other percentages differ in percentage points "
        "(+2 points = 2 more correct answers per 100); BLEU and chrF are already points.",
    ),
    (
        "Statistically significant",
        "The difference is unlikely to be chance. It can still be tiny: "
        "with enough data, even unimportant differences become significant.",
    ),
    (
        "Important (practically relevant)",
        "The difference is large enough to matter for the business: a gain of at least the "
        "practical threshold set in the spec, in the direction that is better. A result can "
        "be significant but unimportant, or important but not yet proven (too close to "
        "call).",
    ),
    (
        "Multiple comparisons",
        "Testing many systems or subsets at once makes some chance differences look real. "
        "Holm and Benjamini-Hochberg adjust the p-values (and the intervals beside the "
        "verdicts) for this; an adjusted p-value is not how often chance gives such a gap.",
    ),
    (
        "Too close to call",
        "No difference was detected, but one that matters is not ruled out either: the "
        'honest answer is "we don\'t know yet", and the report says what data would settle it.',
    ),
]


def glossary(ctx: ReportContext) -> Html:
    """A short glossary for readers without a statistics background."""
    items = "".join(f"<dt>{esc(term)}</dt><dd>{esc(text)}</dd>" for term, text in _GLOSSARY)
    return section("glossary", "Glossary", Html(f'<dl class="glossary">{items}</dl>'))
