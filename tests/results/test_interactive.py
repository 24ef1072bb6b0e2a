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
