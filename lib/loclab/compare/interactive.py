"""Interactive runs as compared systems: a notebook run by hand, tested against the jobs.

``loclab compare SPEC --run ID`` adds an interactive run (a template notebook run by hand,
:class:`loclab.results.InteractiveRecord`) to the comparison as one more candidate. It is
never executed again: what the analysis reads is what the run recorded, exactly as for a
job: its final metrics, its predictions frame (``output/data/predictions.parquet`` of its
folder) and any corpus statistics it wrote. It is tested against the spec's baseline in the
same families, with the same correction, as the spec's systems.

It has one training run. The seeds x examples test needs two or more runs of each system,
so the run gets the test the statistics give a one-run system (:func:`loclab.stats.prepare`):
paired over the same test examples, the baseline averaged over its seeds. Training noise is
not measured, and its verdict says so. It is left out of the ranking (which tests the spec's
systems over their seeds) and out of the answer's recommendation; the headline adds what it
showed.

Before anything runs, the checks here make the comparison meaningful: the run has its
predictions and every compared metric, and it covers the baseline's test examples with the
same gold labels (and the same test-set or data fingerprint when both tagged one).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from loclab.compare._types import ComparisonError, RunOutput
from loclab.compare.data import _align_predictions, _metric
from loclab.compare.segments import read_corpus_statistics
from loclab.io import jsonable, read_json
from loclab.results import InteractiveRecord, InteractiveSource
from loclab.spec.compare import CompareSpec

__all__ = [
    "FINGERPRINT_TAGS",
    "INTERACTIVE_PREFIX",
    "INTERACTIVE_STATE",
    "InteractiveSystem",
    "default_names",
    "interactive_caveat",
    "load_system",
    "metric_problems",
    "pairing_problems",
]

#: System names of interactive runs start with this (``interactive-20261201-101500``).
INTERACTIVE_PREFIX = "interactive-"
#: The state an interactive run has in an analysis' content address.
INTERACTIVE_STATE = "INTERACTIVE"
#: Tags that name a run's test set (or all of its data), most precise first.
FINGERPRINT_TAGS = ("loclab.testset_fingerprint", "loclab.data_fingerprint")
#: Tests that need two or more training runs of each system.
SEEDS_ONLY_TESTS = ("two_level_bootstrap",)
_PREDICTIONS = Path("output") / "data" / "predictions.parquet"
_TAGS = Path("output") / "data" / "tags.json"
_STAMP = re.compile(r"(\d{8}-\d{6}(?:-\d+)?)$")


@dataclass(frozen=True)
class InteractiveSystem:
    """An interactive run ready to be compared: what it wrote, where it came from.

    Attributes:
        name: Its system name in the comparison.
        label: The name readers see.
        record: Its record.
        output: What it wrote, as the analysis reads a job's output.
        tags: Labels its notebook wrote (``runtime.set_tags``: data fingerprint...).
        source: Where it came from (stored on its system's summary).
        key: Content address of what the analysis reads of it.
    """

    name: str
    label: str
    record: InteractiveRecord
    output: RunOutput
    tags: Mapping[str, str]
    source: InteractiveSource
    key: str

    @property
    def identity(self) -> tuple[str, str, str, str]:
        """``(run, INTERACTIVE, key, system)``: its part of the analysis' content address."""
        return (self.record.name, INTERACTIVE_STATE, self.key, self.name)


def default_names(record: InteractiveRecord) -> list[str]:
    """System names for the run, shortest first: ``interactive-<time>``, then with its date.

    The run's name is ``<notebook>-<date>-<time>``; the first name not taken is used.
    """
    found = _STAMP.search(record.name)
    if found is None:
        return [INTERACTIVE_PREFIX + record.name[:28].rstrip("-")]
    date, _, rest = found.group(1).partition("-")
    return [INTERACTIVE_PREFIX + rest, f"{INTERACTIVE_PREFIX}{date}-{rest}"]


def load_system(
    record: InteractiveRecord,
    *,
    name: str,
    label: str,
    notebook: str,
    baseline_params: Mapping[str, Any],
    ignore: Collection[str] = (),
) -> InteractiveSystem:
    """Read what an interactive run wrote, as one candidate of a comparison.

    Args:
        record: The run's record.
        name: Its system name.
        label: The name readers see.
        notebook: Its notebook as readers see it (relative to the project).
        baseline_params: Every parameter of the baseline's jobs (defaults and overrides).
        ignore: Parameters not compared with the baseline's (the training seed, which the
            baseline's jobs vary).

    Raises:
        ComparisonError: It wrote no predictions, or they cannot be read.
    """
    folder = Path(record.run_dir)
    path = Path(record.predictions) if record.predictions else folder / _PREDICTIONS
    if not path.is_file():
        raise ComparisonError(
            f"it wrote no predictions ({path}); run the notebook to its end, where "
            "runtime.write_predictions(frame) writes them"
        )
    import pandas as pd

    try:
        predictions = pd.read_parquet(path)
        corpus = read_corpus_statistics(folder / "output" / "data")
    except Exception as err:  # a damaged file: one line, not a traceback
        raise ComparisonError(f"its outputs in {folder} cannot be read ({err})") from None
    tags = _tags(folder / _TAGS)
    output = RunOutput(
        system=name,
        seed=None,
        name=record.name,
        predictions=predictions,
        final_metrics=dict(record.metrics),
        corpus=corpus,
    )
    base = jsonable(dict(baseline_params))
    changed = {
        k: v
        for k, v in record.params.items()
        if k not in ignore and k in base and not _same(v, base[k])
    }
    source = InteractiveSource(
        run=record.name,
        notebook=notebook,
        started=record.started,
        ended=record.ended,
        status=record.status,
        params=changed,
        baseline_params={k: base[k] for k in changed},
        mlflow_run_id=record.mlflow_run_id,
        run_dir=record.run_dir,
    )
    h = hashlib.sha256(path.read_bytes())
    for stats in sorted((folder / "output" / "data" / "corpus_stats").glob("*")):
        h.update(stats.read_bytes())
    about = [record.metrics, record.params, dict(tags), record.status, name, label]
    h.update(json.dumps(jsonable(about), sort_keys=True).encode())
    return InteractiveSystem(name, label, record, output, tags, source, h.hexdigest())


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    return bool(a == b)


def _tags(path: Path) -> dict[str, str]:
    try:
        found = read_json(path) if path.is_file() else {}
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


def metric_problems(system: InteractiveSystem, compare: CompareSpec) -> list[str]:
    """What the comparison needs that the run did not write (one message each).

    Every compared metric must come from the run the way it comes from a job (a predictions
    column, corpus statistics, a correlation or a final metric), and every breakdown column
    must be in its predictions.
    """
    run = system.output
    try:
        ids, frames = _align_predictions([run])
    except ComparisonError as err:
        return [str(err)]
    problems = []
    frame = run.predictions
    columns = ", ".join(str(c) for c in frame.columns) if frame is not None else "none"
    finals = ", ".join(sorted(run.final_metrics)) or "none"
    for key in compare.compared_metrics():
        try:
            _metric(key, {run.system: [run]}, [run.system], frames, ids)
        except ComparisonError:
            problems.append(
                f"it has no '{key}', which compare.metrics compares (predictions columns: "
                f"{columns}; final metrics: {finals}); report it in the notebook "
                f"(runtime.log_metrics({{'{key}': ...}}) without a step, or a predictions "
                "column) and run it again"
            )
    for column in compare.breakdowns:
        if frame is not None and column not in frame.columns:
            problems.append(
                f"its predictions have no '{column}' column, which compare.breakdowns breaks "
                "the results down by; add it to the predictions frame and run it again"
            )
    return problems


def pairing_problems(
    system: InteractiveSystem, baseline: RunOutput, baseline_tags: Mapping[str, str]
) -> list[str]:
    """Why the run's test set is not the baseline's (empty when it is).

    The test-set fingerprint (else the data fingerprint) when both tagged one, then the
    example ids, then the gold labels of each example: pairing by example needs all three.
    """
    for tag in FINGERPRINT_TAGS:
        mine, theirs = system.tags.get(tag), baseline_tags.get(tag)
        if mine and theirs:
            if mine != theirs:
                return [
                    f"it read other data than the baseline's jobs: {tag} {mine[:16]} in the "
                    f"run, {theirs[:16]} in {baseline.name}"
                ]
            break
    frame, other = system.output.predictions, baseline.predictions
    if frame is None or other is None or "example_id" not in other.columns:
        return []
    ids = other["example_id"].to_numpy()
    mine_ids = frame["example_id"].to_numpy()
    their_set, our_set = set(ids.tolist()), set(mine_ids.tolist())
    if their_set != our_set or len(ids) != len(mine_ids):
        gone = [i for i in ids.tolist() if i not in our_set]
        extra = [i for i in mine_ids.tolist() if i not in their_set]
        return [
            f"its predictions cover other test examples than the baseline's jobs: "
            f"{len(mine_ids):,} in the run, {len(ids):,} in {baseline.name}; "
            f"{len(gone):,} of the job's are missing{_examples(gone)} and {len(extra):,} "
            f"are extra{_examples(extra)}"
        ]
    if "label" in frame.columns and "label" in other.columns:
        mine_labels = frame.set_index("example_id").loc[ids, "label"].to_numpy()
        their_labels = other["label"].to_numpy()
        differ = ~_equal(mine_labels, their_labels)
        if differ.any():
            return [
                f"its gold labels differ from {baseline.name}'s on "
                f"{int(differ.sum()):,} of {len(ids):,} test examples"
                f"{_examples(ids[differ])}: the same ids name other examples"
            ]
    return []


def _equal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    try:
        x, y = a.astype(np.float64), b.astype(np.float64)
        return np.asarray((x == y) | (np.isnan(x) & np.isnan(y)))
    except (TypeError, ValueError):
        return np.asarray(a.astype(str) == b.astype(str))


def _examples(values: Sequence[Any] | np.ndarray) -> str:
    shown = [repr(v) for v in list(values)[:3]]
    return f" (e.g. {', '.join(shown)})" if shown else ""


def interactive_caveat(
    label: str, run: str, kind: str, baseline_label: str, baseline_runs: int
) -> str:
    """What a verdict on an interactive run can and cannot say (its one training run)."""
    if kind == "seed_level":
        how = (
            f"its one value is tested against {baseline_label}'s {baseline_runs} runs, "
            f"assuming it varies from seed to seed as {baseline_label} does"
        )
    else:
        averaged = f", {baseline_label} averaged over its {baseline_runs} runs" * (
            baseline_runs > 1
        )
        how = f"the test covers example-to-example variation only (paired by example{averaged})"
    return (
        f"{label} is an interactive run (a notebook run by hand: one training run): {how}. "
        "Its training noise is not measured, so the verdict is about this trained model, not "
        "its configuration; to measure it, run it as jobs over seeds (loclab new experiment "
        f"NAME --from-run {run})."
    )
