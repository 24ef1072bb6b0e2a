"""Every finished run becomes a point of its experiment's history (:class:`HistoryPoint`).

The point is built from the run's records (the jobs record and the comparison record of the
same run) and the per-example values its jobs wrote, aligned by the comparison stage's own
code (:func:`loclab.compare.collect`), so a later tick pairs exactly what the comparison
paired. Each system's score gets a 95 % interval: across seeds with several, else a
bootstrap over the examples (:func:`loclab.stats.score_interval`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from loclab.paths import Workspace
from loclab.results import (
    ComparisonRecord,
    ExperimentResults,
    HistoryPoint,
    JobsRecord,
    MetricPoint,
    PointArrays,
    PointMetric,
    SystemPoint,
    new_run_id,
)
from loclab.spec import Experiment

__all__ = ["INTERVAL_RESAMPLES", "build_point", "record_history"]

#: Bootstrap resamples of each score's interval.
INTERVAL_RESAMPLES = 1_000
_DATA_TAGS = ("loclab.data", "loclab.snapshot")


def record_history(
    exp: Experiment, ws: Workspace, run: JobsRecord, *, say: Callable[[str], None] = print
) -> HistoryPoint | None:
    """Store the history point of a finished run, once; return it (None for other runs).

    A run already in the history (same MLflow run, or the same start) is not stored again:
    a re-run that reused everything is the same point. A point that cannot be built is
    reported and skipped: the history never costs a run its result.
    """
    if run.status != "FINISHED" or run.ended is None:
        return None
    records = ExperimentResults(ws.state, exp.name)
    try:
        for point in reversed(records.read_history()):
            same_run = run.mlflow_parent_run_id and point.mlflow_run_id == run.mlflow_parent_run_id
            if same_run or point.started == run.started:
                return point
        comparison = records.read_comparison() if run.spec.compare is not None else None
        if comparison is not None and comparison.mlflow_parent_run_id != run.mlflow_parent_run_id:
            comparison = None
        point, arrays = build_point(exp, run, comparison, records)
        stored = records.write_point(point, arrays)
    except Exception as err:  # the run's records are stored; the history must not cost them
        say(f"history: no point stored for this run ({type(err).__name__}: {err})")
        return None
    size = stored.arrays_bytes / 1024
    say(
        f"history: point {stored.run_id} ({len(stored.systems)} system(s), "
        f"{stored.n_examples or 0:,} examples, {size:,.0f} KB of per-example values)"
    )
    return stored


def _tag_values(run: JobsRecord, name: str) -> list[str]:
    return sorted({j.job_tags[name] for j in run.jobs if j.ok and j.job_tags.get(name)})


def build_point(
    exp: Experiment,
    run: JobsRecord,
    comparison: ComparisonRecord | None,
    records: ExperimentResults,
) -> tuple[HistoryPoint, PointArrays | None]:
    """The history point of a finished run and its per-example values (None without them).

    Args:
        exp: The experiment as run.
        run: Its jobs record (status ``FINISHED``).
        comparison: The comparison record of the same run, when it has one.
        records: Where the experiment's records are (the point's id must be new there).
    """
    assert run.ended is not None
    notes: list[str] = []
    metrics: list[PointMetric] = []
    systems: list[SystemPoint] = []
    arrays: PointArrays | None = None
    n_examples: int | None = None
    if run.spec.compare is not None and comparison is not None:
        try:
            metrics, systems, arrays, n_examples = _compared(run, comparison)
        except Exception as err:  # the jobs' outputs may be gone; keep the scores at least
            notes.append(f"per-example values not kept: {err}")
            systems = _summaries(comparison)
            metrics = _metric_infos(comparison)
    else:
        systems = [
            SystemPoint(
                name=j.system or j.name,
                label=j.system or j.name,
                metrics={k: MetricPoint(value=v, n_examples=None) for k, v in j.metrics.items()},
            )
            for j in run.jobs
            if j.ok
        ]
    data = _tag_values(run, "loclab.data_fingerprint")
    testset = _tag_values(run, "loclab.testset_fingerprint")
    if not data and arrays is not None and arrays.example_ids is not None:
        notes.append("no data fingerprint tagged by the notebook: the example ids stand in")
    ids_hash = _ids_fingerprint(arrays)
    snapshot = _tag_values(run, "loclab.snapshot")
    run_id = new_run_id(run.started)
    if records.read_point(run_id) is not None:
        run_id = f"{run_id}-{int(run.started * 1000) % 1000:03d}"
    prov = run.provenance
    versions = {
        k.removeprefix("loclab.").removesuffix("_version"): v
        for k, v in prov.items()
        if k.endswith("_version") or k in ("loclab.version", "loclab.python")
    }
    versions = {("loclab" if k == "version" else k): v for k, v in versions.items()}
    point = HistoryPoint(
        experiment=exp.name,
        run_id=run_id,
        mlflow_run_id=run.mlflow_parent_run_id,
        started=run.started,
        ended=run.ended,
        date=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(run.ended)),
        spec_path=run.spec_path,
        params=dict(run.params),
        git_sha=prov.get("loclab.git_sha", "unknown"),
        git_dirty=prov.get("loclab.git_dirty", "false") == "true",
        versions=versions,
        data_fingerprint="+".join(data) or ids_hash,
        testset_fingerprint="+".join(testset) or "+".join(data) or ids_hash,
        snapshot="+".join(snapshot) or None,
        data_tags={
            k: v
            for j in run.jobs
            if j.ok
            for k, v in j.job_tags.items()
            if k.startswith(_DATA_TAGS)
        },
        inputs_key=run.inputs_key,
        baseline_system=comparison.baseline if comparison is not None else None,
        deciding_metric=comparison.primary_metric if comparison is not None else None,
        practical_threshold=comparison.practical_threshold if comparison is not None else None,
        metrics=metrics,
        systems=systems,
        n_examples=n_examples,
        notes=notes,
    )
    return point, arrays


def _ids_fingerprint(arrays: PointArrays | None) -> str:
    if arrays is None or arrays.example_ids is None:
        return ""
    import hashlib

    text = "\n".join(str(i) for i in arrays.example_ids.tolist())
    return "ids:" + hashlib.sha256(text.encode()).hexdigest()[:16]


def _metric_infos(comparison: ComparisonRecord) -> list[PointMetric]:
    return [
        PointMetric(
            key=m.key,
            name=m.name,
            source=m.source,
            role=m.role,
            higher_is_better=m.higher_is_better,
            options=m.options,
            signature=m.signature,
        )
        for m in comparison.metrics
    ]


def _summaries(comparison: ComparisonRecord) -> list[SystemPoint]:
    return [
        SystemPoint(
            name=s.name,
            label=s.label,
            metrics={
                k: MetricPoint(
                    value=v.mean,
                    ci=v.ci,
                    ci_method="t-interval across seeds" if v.ci else "",
                    n_examples=comparison.n_examples,
                    n_runs=v.n,
                )
                for k, v in s.metrics.items()
            },
        )
        for s in comparison.systems
    ]


def _compared(
    run: JobsRecord, comparison: ComparisonRecord
) -> tuple[list[PointMetric], list[SystemPoint], PointArrays, int | None]:
    """Metrics, scores with intervals and aligned per-example values of a compared run."""
    from loclab.compare import collect
    from loclab.stats import score_interval

    compare = run.spec.compare
    assert compare is not None
    data = collect(compare, _outputs(run))
    infos = {m.key: m for m in comparison.metrics}
    metrics: list[PointMetric] = []
    values: dict[tuple[str, str], np.ndarray] = {}
    scores: dict[str, dict[str, MetricPoint]] = {name: {} for name in data.systems}
    n = None if data.example_ids is None else len(data.example_ids)
    for index, (key, metric) in enumerate(data.metrics.items()):
        info = infos.get(key)
        corpus = metric.metric
        metrics.append(
            PointMetric(
                key=key,
                name=metric.name,
                source=metric.source,
                role="confirmatory" if index == 0 else "secondary",
                higher_is_better=info.higher_is_better if info else True,
                binary=metric.binary,
                metric_class=type(corpus).__name__ if corpus is not None else None,
                options=dict(getattr(corpus, "_kwargs", {})) if corpus is not None else None,
                signature=metric.signature,
            )
        )
        for system in data.systems:
            array = np.asarray(metric.values[system])
            values[(system, key)] = array
            per_run = metric.per_run(system)
            summary = comparison.system(system)
            stored = summary.metrics.get(key) if summary is not None else None
            ci: tuple[float, float] | None = None
            how = ""
            if len(per_run) >= 2 and stored is not None and stored.ci is not None:
                ci, how = stored.ci, "t-interval across seeds"
            elif metric.source in ("predictions", "corpus"):
                per_example = array.mean(axis=0)
                found = score_interval(per_example, corpus, n_resamples=INTERVAL_RESAMPLES, seed=0)
                ci, how = found.ci, "bootstrap over examples"
            scores[system][key] = MetricPoint(
                value=float(np.mean(per_run)),
                ci=ci,
                ci_method=how,
                n_examples=None if metric.source == "final" else n,
                n_runs=len(per_run),
            )
        if metric.gold is not None:
            values[("(gold)", key)] = np.asarray(metric.gold)[None, :]
    systems = [
        SystemPoint(name=name, label=runs.label, metrics=scores[name])
        for name, runs in data.systems.items()
    ]
    return metrics, systems, PointArrays(data.example_ids, values), n


def _outputs(run: JobsRecord) -> list[Any]:
    """What each completed job of the run wrote, read from its run folder."""
    import pandas as pd

    from loclab.compare import RunOutput, read_corpus_statistics

    outputs = []
    for job in run.jobs:
        if not job.ok:
            continue
        predictions = None
        if job.predictions and Path(job.predictions).is_file():
            predictions = pd.read_parquet(job.predictions)
        outputs.append(
            RunOutput(
                system=job.tags.get("loclab.system", job.name),
                seed=job.seed,
                name=job.name,
                predictions=predictions,
                final_metrics=dict(job.metrics),
                corpus=read_corpus_statistics(Path(job.run_dir) / "output" / "data"),
            )
        )
    return outputs
