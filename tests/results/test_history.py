"""History points and the schedule's state: one reader and one atomic writer each."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pytest

from loclab.paths import StateDir
from loclab.results import (
    ExperimentResults,
    HistoryPoint,
    MetricPoint,
    PointArrays,
    PointMetric,
    RecordError,
    ScheduleRecord,
    SystemPoint,
    Tick,
    TickComparison,
    changes_since,
    status_board,
)


def point(run_id: str, ended: float, *, bleu: float = 30.0, **fields) -> HistoryPoint:
    return HistoryPoint(
        experiment="mon",
        run_id=run_id,
        mlflow_run_id=f"mlflow-{run_id}",
        started=ended - 10,
        ended=ended,
        date=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ended)),
        deciding_metric="bleu",
        metrics=[PointMetric(key="bleu", name="BLEU", source="corpus", metric_class="BleuMetric")],
        systems=[
            SystemPoint(
                name="engine-a",
                metrics={"bleu": MetricPoint(value=bleu, ci=(bleu - 1, bleu + 1), n_examples=3)},
            )
        ],
        **fields,
    )


def arrays(seed: int = 0) -> PointArrays:
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 40, size=(1, 3, 10)).astype(np.float64)  # whole numbers
    scores = rng.normal(size=(2, 3))  # fractions
    return PointArrays(
        np.asarray(["s1", "s2", "s3"]),
        {("engine-a", "bleu"): counts, ("engine-a", "score"): scores},
    )


def test_a_point_and_its_arrays_round_trip_exactly(tmp_path):
    records = ExperimentResults(StateDir(tmp_path), "mon")
    stored = records.write_point(point("20261130-060000", 1_000_000.0), arrays())
    assert stored.arrays_file == "20261130-060000.npz" and stored.arrays_bytes > 0
    assert {e.dtype for e in stored.arrays} == {"int32", "float64"}
    again = records.read_point("20261130-060000")
    assert again == stored and records.read_point("mlflow-20261130-060000") == stored
    back = records.read_point_arrays(again)
    assert back.example_ids.tolist() == ["s1", "s2", "s3"]
    for key, values in arrays().values.items():
        found = back.get(*key)
        assert found is not None and found.dtype == np.float64
        assert np.array_equal(found, values)
    # The JSON point names no array it does not hold, and nothing in it is a pickle.
    doc = json.loads((records.history_dir / "20261130-060000.json").read_text())
    assert doc["schema"] == "loclab.history/1" and len(doc["arrays"]) == 2


def test_history_is_oldest_first_and_damage_is_refused(tmp_path):
    records = ExperimentResults(StateDir(tmp_path), "mon")
    records.write_point(point("b", 2_000_000.0), arrays())
    records.write_point(point("a", 1_000_000.0), arrays())
    assert [p.run_id for p in records.read_history()] == ["a", "b"]
    npz = records.history_dir / "a.npz"
    npz.write_bytes(npz.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(RecordError, match=r"a\.npz: does not match its point"):
        records.read_point_arrays(records.read_point("a"))
    path = records.history_dir / "b.json"
    path.write_text(path.read_text().replace("loclab.history/1", "loclab.history/0"))
    with pytest.raises(RecordError, match="another version of loclab"):
        records.read_history()


def test_changes_since_names_code_data_parameters_and_versions():
    before = point("a", 1.0, git_sha="1" * 40, data_fingerprint="d1", testset_fingerprint="t",
                   snapshot="2026-11-30", params={"metrics": "bleu"},
                   versions={"sacrebleu": "2.5.1"})  # fmt: skip
    after = point("b", 2.0, git_sha="2" * 40, git_dirty=True, data_fingerprint="d2",
                  testset_fingerprint="t", snapshot="2026-12-07",
                  params={"metrics": "bleu,chrf"}, versions={"sacrebleu": "2.6.0"})  # fmt: skip
    lines = changes_since(before, after)
    assert lines[0] == "code: 1111111111 -> 2222222222 (uncommitted changes)"
    assert lines[1].startswith("data: snapshot 2026-11-30 -> 2026-12-07, fingerprint d1 -> d2")
    assert "metrics: 'bleu' -> 'bleu,chrf'" in lines[2]
    assert lines[3] == "package versions: sacrebleu 2.5.1 -> 2.6.0"
    assert changes_since(before, before) == [
        "nothing recorded changed (same code, data, parameters and versions)"
    ]


APPEND = """
import sys
from pathlib import Path
from loclab.paths import StateDir
from loclab.results import ExperimentResults, Tick
records = ExperimentResults(StateDir(Path(sys.argv[1])), "mon")
for i in range(15):
    tick = Tick(started=float(i), outcome="skipped")
    records.update_schedule(lambda s, t=tick: s.with_tick(t))
"""


def test_concurrent_updates_of_the_schedule_lose_nothing(tmp_path):
    workers = [subprocess.Popen([sys.executable, "-c", APPEND, str(tmp_path)]) for _ in range(3)]
    assert [w.wait(120) for w in workers] == [0, 0, 0]
    stored = ExperimentResults(StateDir(tmp_path), "mon").read_schedule()
    assert stored is not None and len(stored.skips) == 45


def test_status_board_says_regressed_since_and_gives_a_trend(tmp_path):
    state = StateDir(tmp_path)
    records = ExperimentResults(state, "mon")
    assert status_board(state, "mon") is None
    day = 86_400.0
    for i, bleu in enumerate([30.0, 30.2, 24.0]):
        records.write_point(point(f"run{i}", 1_800_000_000.0 + i * 7 * day, bleu=bleu))
    regression = TickComparison(system="engine-a", metric="bleu", metric_name="BLEU", delta=-6.0,
                                p_value=0.001, p_adjusted=0.001, decision="worse",
                                regression=True)  # fmt: skip
    since = 1_800_000_000.0 + 14 * day
    records.write_schedule(
        ScheduleRecord(
            experiment="mon",
            status="regressed",
            since=since,
            ticks=[
                Tick(started=since, outcome="regressed", run_id="run2", comparisons=[regression])
            ],
        )
    )
    entry = status_board(state, "mon")
    assert entry is not None and entry.status == "REGRESSED" and entry.scheduled
    assert entry.text == f"REGRESSED since {time.strftime('%Y-%m-%d', time.gmtime(since))}"
    assert entry.regressed == ("engine-a (BLEU)",) and entry.marked == ("engine-a",)
    assert entry.metric == "BLEU" and entry.trend == {"engine-a": (30.0, 30.2, 24.0)}
    assert len(entry.dates) == 3 and entry.last_run_id == "run2"
