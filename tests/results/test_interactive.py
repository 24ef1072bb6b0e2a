"""Interactive runs' records: one writer, one reader, damaged files named with the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from loclab.paths import StateDir
from loclab.results import EpochMetrics, InteractiveRecord, InteractiveRuns, RecordError


def test_records_round_trip_newest_first(tmp_path: Path):
    runs = InteractiveRuns(StateDir(tmp_path))
    old = InteractiveRecord(name="nb-1", started=1.0, params={"lr": 0.1})
    new = InteractiveRecord(
        name="nb-2",
        started=2.0,
        epochs=[EpochMetrics(step=0, metrics={"val_acc": 0.5})],
    )
    runs.write(old)
    runs.write(new)
    assert runs.read("nb-1") == old
    assert [r.name for r in runs.all()] == ["nb-2", "nb-1"]
    assert runs.run_dir("nb-2") == tmp_path / "interactive" / "nb-2"
    assert new.last_values() == {"val_acc": 0.5}
    final = new.model_copy(update={"metrics": {"test_acc": 0.7}})
    assert final.last_values() == {"test_acc": 0.7}
    assert runs.read("missing") is None


def test_a_damaged_record_is_named_with_the_fix_and_left_out_of_the_list(tmp_path: Path):
    runs = InteractiveRuns(StateDir(tmp_path))
    runs.write(InteractiveRecord(name="good", started=1.0))
    broken = runs.run_dir("broken") / "interactive.json"
    broken.parent.mkdir(parents=True)
    broken.write_text('{"schema": "loclab.interactive/0", "name": "broken"}')
    with pytest.raises(RecordError, match=r"another version of loclab.*run the notebook again"):
        runs.read("broken")
    assert [r.name for r in runs.all()] == ["good"]
    (line,) = runs.problems()
    assert str(broken) in line


def test_a_run_is_found_by_its_name_or_a_unique_prefix_of_it_or_of_its_mlflow_run(
    tmp_path: Path,
):
    runs = InteractiveRuns(StateDir(tmp_path))
    for name, run_id in (("nb-20261201-101500", "ab12"), ("nb-20261201-101500-2", "cd34")):
        runs.write(InteractiveRecord(name=name, started=1.0, mlflow_run_id=run_id * 8))
    assert [r.name for r in runs.matching("nb-20261201-101500")] == ["nb-20261201-101500"]
    assert [r.name for r in runs.matching("cd34")] == ["nb-20261201-101500-2"]
    assert [r.name for r in runs.matching("CD34")] == ["nb-20261201-101500-2"]
    assert len(runs.matching("nb-2026")) == 2  # the caller says it is ambiguous
    assert runs.matching("other") == [] and runs.matching("") == []
