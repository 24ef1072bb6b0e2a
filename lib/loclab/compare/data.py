"""Collect what the jobs wrote into aligned arrays, one per system and compared metric.

Per-example data of every run is aligned by ``example_id`` into a ``(runs, examples)``
matrix per system; all runs of all systems must cover the same examples (the test split is
seeded by the data seed, not the training seed), or the comparison stops with a clear error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from loclab.compare._types import (
    ComparisonData,
    ComparisonError,
    MetricData,
    RunOutput,
    SystemRuns,
)
from loclab.compare.segments import read_corpus_statistics
from loclab.spec.compare import CORPUS_METRICS, CORRELATION_METRICS, CompareSpec

if TYPE_CHECKING:
    import pandas as pd

    from loclab.compare.interactive import InteractiveSystem
    from loclab.execution.job import JobResult

__all__ = [
    "ComparisonData",
    "ComparisonError",
    "MetricData",
    "RunOutput",
    "SystemRuns",
    "collect",
    "run_outputs",
]

#: Why the examples must agree, said in every alignment error.
_SAME_SPLIT = (
    "every job must predict the same test examples (the split is seeded by the data seed, "
    "not the training seed)"
)


def run_outputs(results: Sequence[JobResult]) -> tuple[list[RunOutput], list[JobResult]]:
    """Read the outputs of completed jobs; the others come back as missing.

    Args:
        results: The comparison's jobs, as the runner returned them.

    Returns:
        One :class:`RunOutput` per completed job, and the jobs that did not complete (jobs
        skipped because their system proved deterministic are neither).
    """
    import pandas as pd

    runs, missing = [], []
    for result in results:
        if result.skipped:
            continue  # not run on purpose: it would repeat a deterministic system's run
        if not result.ok:
            missing.append(result)
            continue
        seed_tag = result.tags.get("loclab.seed")
        predictions = pd.read_parquet(result.predictions) if result.predictions.exists() else None
        runs.append(
            RunOutput(
                system=result.tags.get("loclab.system", result.name),
                seed=int(seed_tag) if seed_tag not in (None, "") else None,
                name=result.name,
                predictions=predictions,
                final_metrics=result.final_metrics(),
                corpus=read_corpus_statistics(result.layout.output_data_dir),
            )
        )
    return runs, missing


def check_first_run(compare: CompareSpec, run: RunOutput) -> None:
    """Check that one completed job gives every compared metric, before the others run.

    The same rules as the analysis (a predictions column, corpus statistics, a correlation
    of ``score`` with ``label``, a final metric), applied to the first job that completes,
    so a misspelt metric stops the comparison after one job instead of after all of them.

    Raises:
        ComparisonError: A compared metric is not in the job's output (named, with what it has).
    """
    if compare.discovered:
        return  # systems come from the job's own output; checked when they are collected
    ids, frames = _align_predictions([run])
    for key in compare.compared_metrics():
        try:
            _metric(key, {run.system: [run]}, [run.system], frames, ids)
        except ComparisonError as err:
            raise ComparisonError(
                f"{err}; checked after the first job, before the others run: fix "
                "compare.metrics or what the notebook writes"
            ) from None


def collect(
    compare: CompareSpec,
    runs: Sequence[RunOutput],
    missing: Sequence[tuple[str, str]] = (),
    interactive: Sequence[InteractiveSystem] = (),
) -> ComparisonData:
    """Align the runs' outputs into per-system arrays for every compared metric.

    Args:
        compare: The ``compare:`` section.
        runs: Completed runs (see :func:`run_outputs`).
        missing: ``(system, description)`` of each job that did not complete (named in
            errors).
        interactive: Interactive runs compared too, each one more candidate with one run
            (:mod:`loclab.compare.interactive`), after the spec's systems.

    Returns:
        The aligned data.

    Raises:
        ComparisonError: A system has no completed run, the baseline or a metric is not in
            the output, or the runs cover different examples.
    """
    if compare.discovered:
        return _collect_discovered(compare, runs, missing)
    by_system: dict[str, list[RunOutput]] = {name: [] for name in compare.systems}
    for run in runs:
        if run.system in by_system:
            by_system[run.system].append(run)
    baseline = compare.baseline_name()
    empty = [name for name, items in by_system.items() if not items]
    if empty:
        lost = "; ".join(text for system, text in missing if system in empty)
        raise ComparisonError(
            f"system(s) {', '.join(repr(n) for n in empty)} have no completed job, so there is "
            "nothing to compare them with" + (f" ({lost})" if lost else "")
        )
    order = [baseline, *[n for n in compare.systems if n != baseline]]
    for items in by_system.values():
        items.sort(key=lambda r: (r.seed is None, r.seed if r.seed is not None else 0, r.name))
    labels = {name: compare.label_of(name) for name in order}
    for system in interactive:
        by_system[system.name] = [system.output]
        order.append(system.name)
        labels[system.name] = system.label
    systems = {
        name: SystemRuns(
            name=name,
            label=labels[name],
            role=compare.role_of(name),
            seeds=tuple(r.seed for r in by_system[name]),
            jobs=tuple(r.name for r in by_system[name]),
            final_metrics=tuple(dict(r.final_metrics) for r in by_system[name]),
        )
        for name in order
    }
    flat = [r for name in order for r in by_system[name]]
    ids, frames = _align_predictions(flat)
    metrics = {
        key: _metric(key, by_system, order, frames, ids) for key in compare.compared_metrics()
    }
    breakdowns = _breakdowns(compare.breakdowns, flat, frames)
    sources = {s.name: s.source for s in interactive}
    return ComparisonData(systems, baseline, metrics, ids, breakdowns, sources)


def _align_predictions(
    runs: Sequence[RunOutput],
) -> tuple[np.ndarray | None, dict[str, pd.DataFrame]]:
    """Each run's predictions indexed by the first run's example order; ids must agree."""
    with_predictions = [r for r in runs if r.predictions is not None]
    if not with_predictions:
        return None, {}
    first = with_predictions[0]
    assert first.predictions is not None
    _check_ids(first)
    ids = first.predictions["example_id"].to_numpy()
    reference = set(ids.tolist())
    frames: dict[str, pd.DataFrame] = {}
    for run in with_predictions:
        frame = run.predictions
        assert frame is not None
        _check_ids(run)
        these = frame["example_id"].to_numpy()
        if len(these) != len(ids) or set(these.tolist()) != reference:
            gone = [i for i in ids.tolist() if i not in set(these.tolist())]
            extra = [i for i in these.tolist() if i not in reference]
            raise ComparisonError(
                f"example ids differ between jobs: {run.name} has {len(these):,} test examples "
                f"and {first.name} has {len(ids):,}; {len(gone):,} of {first.name}'s ids are "
                f"missing from {run.name}{_examples(gone)} and {len(extra):,} are extra"
                f"{_examples(extra)}; {_SAME_SPLIT}"
            )
        frames[run.name] = frame.set_index("example_id").loc[ids]
    return ids, frames


def _check_ids(run: RunOutput) -> None:
    frame = run.predictions
    assert frame is not None
    if "example_id" not in frame.columns:
        raise ComparisonError(f"predictions of {run.name} have no example_id column")
    dup = frame["example_id"].duplicated()
    if dup.any():
        raise ComparisonError(
            f"predictions of {run.name} repeat example ids{_examples(frame['example_id'][dup])}"
        )


def _examples(values: Any) -> str:
    shown = [repr(v) for v in list(values)[:3]]
    return f" (e.g. {', '.join(shown)})" if shown else ""


def _metric(
    key: str,
    by_system: Mapping[str, Sequence[RunOutput]],
    order: Sequence[str],
    frames: Mapping[str, pd.DataFrame],
    ids: np.ndarray | None,
) -> MetricData:
    runs = [r for name in order for r in by_system[name]]
    sample = next(iter(frames.values()), None)
    if sample is not None and (key in sample.columns or key == "accuracy"):
        values = {
            name: np.stack([_per_example(key, r, frames) for r in by_system[name]])
            for name in order
        }
        binary = all(bool(np.all((v == 0) | (v == 1))) for v in values.values())
        return MetricData(key, key, "predictions", binary, values)
    if key in CORPUS_METRICS and all(key in r.corpus for r in runs):
        stats, metric = {}, runs[0].corpus[key].metric
        for name in order:
            arrays = []
            for r in by_system[name]:
                found = r.corpus[key]
                if len(found.systems) != 1:
                    raise ComparisonError(
                        f"{r.name} wrote {key} statistics for {len(found.systems)} systems; a "
                        "job of a listed system must write its own only"
                    )
                if ids is not None and not np.array_equal(found.example_ids, ids):
                    raise ComparisonError(
                        f"{key} statistics of {r.name} cover other examples than its "
                        f"predictions; {_SAME_SPLIT}"
                    )
                arrays.append(found.stats[found.systems[0]])
            stats[name] = np.stack(arrays)
        shapes = {v.shape[1] for v in stats.values()}
        if len(shapes) > 1:
            raise ComparisonError(
                f"{key} statistics cover different numbers of examples; {_SAME_SPLIT}"
            )
        signature = runs[0].corpus[key].info.get("signature")
        return MetricData(key, metric.name, "corpus", False, stats, metric, signature)
    if key in CORRELATION_METRICS and sample is not None and {"label", "score"} <= set(sample):
        return _correlation_metric(key, by_system, order, frames)
    if runs and all(key in r.final_metrics for r in runs):
        values = {
            name: np.asarray([float(r.final_metrics[key]) for r in by_system[name]])
            for name in order
        }
        return MetricData(key, key, "final", False, values)
    lacking = next((r for r in runs if key not in r.final_metrics), runs[0])
    columns = ", ".join(str(c) for c in sample.columns) if sample is not None else "none"
    finals = ", ".join(sorted(lacking.final_metrics)) or "none"
    raise ComparisonError(
        f"metric '{key}' is neither a predictions column, nor corpus statistics, nor a final "
        f"metric of job {lacking.name} (predictions columns: {columns}; final metrics: "
        f"{finals})"
    )


def _correlation_metric(
    key: str,
    by_system: Mapping[str, Sequence[RunOutput]],
    order: Sequence[str],
    frames: Mapping[str, pd.DataFrame],
) -> MetricData:
    """Each run's predicted ``score`` per example, and the one ``label`` (gold) they share."""
    values = {
        name: np.stack([_per_example("score", r, frames) for r in by_system[name]])
        for name in order
    }
    runs = [r for name in order for r in by_system[name]]
    gold = _per_example("label", runs[0], frames)
    for run in runs[1:]:
        other = _per_example("label", run, frames)
        if not np.array_equal(other, gold):
            raise ComparisonError(
                f"gold scores ('label') of {run.name} differ from {runs[0].name}'s on "
                f"{int(np.count_nonzero(other != gold)):,} examples; correlations must be taken "
                f"against the same gold scores ({_SAME_SPLIT})"
            )
    name = CORRELATION_METRICS[key]
    return MetricData(key, name, "correlation", False, values, gold=gold)


def _per_example(key: str, run: RunOutput, frames: Mapping[str, pd.DataFrame]) -> np.ndarray:
    frame = frames.get(run.name)
    if frame is None:
        raise ComparisonError(
            f"job {run.name} wrote no predictions (output/data/predictions"
            ".parquet), which metric '{key}' needs"
        )
    if key == "accuracy" and "accuracy" not in frame.columns:
        if "correct" in frame.columns:
            column = frame["correct"]
        elif {"label", "prediction"} <= set(frame.columns):
            column = (frame["prediction"] == frame["label"]).astype(np.float64)
        else:
            raise ComparisonError(
                f"predictions of {run.name} have neither a 'correct' column nor 'label' and "
                "'prediction' to compute accuracy from"
            )
    elif key not in frame.columns:
        raise ComparisonError(f"predictions of {run.name} have no column '{key}'")
    else:
        column = frame[key]
    try:
        values: np.ndarray = np.asarray(column.to_numpy(dtype=np.float64))
    except (TypeError, ValueError):
        raise ComparisonError(
            f"column '{key}' of {run.name}'s predictions is not numeric ({column.dtype})"
        ) from None
    if not np.all(np.isfinite(values)):
        bad = int(np.count_nonzero(~np.isfinite(values)))
        raise ComparisonError(
            f"column '{key}' of {run.name}'s predictions has {bad} missing or non-finite value(s)"
        )
    return values


def _breakdowns(
    columns: Sequence[str], runs: Sequence[RunOutput], frames: Mapping[str, pd.DataFrame]
) -> dict[str, np.ndarray]:
    if not columns:
        return {}
    if not frames:
        raise ComparisonError("breakdowns need per-example predictions; the jobs wrote none")
    names = [r.name for r in runs if r.name in frames]
    first = frames[names[0]]
    out: dict[str, np.ndarray] = {}
    for column in columns:
        if column not in first.columns:
            raise ComparisonError(
                f"breakdown column '{column}' is not in the predictions of {names[0]} "
                f"(columns: {', '.join(str(c) for c in first.columns)})"
            )
        values = first[column].astype(str).to_numpy()
        for name in names[1:]:
            frame = frames[name]
            if column not in frame.columns:
                raise ComparisonError(
                    f"breakdown column '{column}' is not in the predictions of {name}"
                )
            other = frame[column].astype(str).to_numpy()
            if not np.array_equal(other, values):
                raise ComparisonError(
                    f"breakdown column '{column}' disagrees between {names[0]} and {name} on "
                    f"{int(np.count_nonzero(other != values)):,} examples; {_SAME_SPLIT}"
                )
        out[column] = values
    return out


def _collect_discovered(
    compare: CompareSpec, runs: Sequence[RunOutput], missing: Sequence[tuple[str, str]]
) -> ComparisonData:
    from loclab.params.validate import did_you_mean

    if not runs:
        lost = f" ({'; '.join(text for _, text in missing)})" if missing else ""
        raise ComparisonError(
            f"the job did not complete, so there are no systems to compare{lost}"
        )
    run = runs[0]
    keys = compare.compared_metrics()
    absent = [k for k in keys if k not in run.corpus]
    if absent:
        raise ComparisonError(
            f"job {run.name} wrote no statistics for {', '.join(repr(k) for k in absent)} "
            f"(found: {', '.join(run.corpus) or 'none'}); the notebook writes one file per "
            "metric under output/data/corpus_stats/"
        )
    first = run.corpus[keys[0]]
    baseline = compare.baseline_name()
    if baseline not in first.systems:
        close = did_you_mean(baseline, first.systems)
        hint = f"; did you mean '{close}'?" if close else ""
        raise ComparisonError(
            f"baseline '{baseline}' is not among the systems in {run.name}'s output "
            f"({', '.join(first.systems)}){hint}"
        )
    for key in keys[1:]:
        other = run.corpus[key]
        if set(other.systems) != set(first.systems):
            raise ComparisonError(
                f"{key} and {keys[0]} statistics of {run.name} cover different systems"
            )
        if not np.array_equal(other.example_ids, first.example_ids):
            raise ComparisonError(
                f"{key} and {keys[0]} statistics of {run.name} cover different examples"
            )
    order = [baseline, *[s for s in first.systems if s != baseline]]
    systems = {
        name: SystemRuns(
            name=name,
            label=name,
            role="baseline" if name == baseline else "candidate",
            seeds=(run.seed,),
            jobs=(run.name,),
            final_metrics=({},),
        )
        for name in order
    }
    metrics = {
        key: MetricData(
            key,
            run.corpus[key].metric.name,
            "corpus",
            False,
            {name: run.corpus[key].stats[name][None, :, :] for name in order},
            run.corpus[key].metric,
            run.corpus[key].info.get("signature"),
        )
        for key in keys
    }
    return ComparisonData(systems, baseline, metrics, first.example_ids, {})
