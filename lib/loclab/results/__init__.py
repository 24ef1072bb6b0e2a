"""Result records: what each stage of a run stores, in one layout, with one reader and writer.

Every stage hands the next one a typed record (pydantic models with a schema version), stored
atomically under ``<state>/results/<experiment>/``: the job stage's :class:`JobsRecord`
(``jobs.json``, with the spec as run), the sweep's :class:`SweepRecord` (``sweep.json``) and
the analysis' :class:`ComparisonRecord` (``comparison.json``), one :class:`HistoryPoint` per
finished run (``history/``) and the schedule's :class:`ScheduleRecord` (``schedule.json``); a
notebook run by hand keeps its :class:`InteractiveRecord` in ``<state>/interactive/<run>/``.
The report, ``loclab status``, the history and alerts read only these records. See
``docs/records.md``.
"""

from loclab.results._base import EpochMetrics, Record
from loclab.results._board import BoardEntry, BoardStatus, status_board
from loclab.results._comparison import (
    Answer,
    BreakdownRow,
    Breakdowns,
    ComparisonEntry,
    ComparisonRecord,
    Family,
    MetricInfo,
    MetricSummary,
    MissingJob,
    RankingGroup,
    RankingRecord,
    SystemSummary,
)
from loclab.results._history import (
    ArrayEntry,
    HistoryPoint,
    MetricPoint,
    PointArrays,
    PointMetric,
    SystemPoint,
    changes_since,
    new_run_id,
)
from loclab.results._interactive import INTERACTIVE_FILE, InteractiveRecord, InteractiveRuns
from loclab.results._jobs import JobRecord, JobsRecord
from loclab.results._keys import analysis_key, run_key, sweep_key
from loclab.results._schedule import (
    MAX_KEPT,
    AlertSent,
    ScheduleRecord,
    ScheduleStatus,
    Tick,
    TickComparison,
    TickOutcome,
)
from loclab.results._source import InteractiveSource
from loclab.results._store import (
    COMPARISON_FILE,
    HISTORY_DIR,
    JOBS_FILE,
    NOTEBOOKS_DIR,
    SCHEDULE_FILE,
    SWEEP_FILE,
    TABLE_FILE,
    ExperimentResults,
    RecordError,
)
from loclab.results._sweep import SweepRecord, TrialCounts, TrialRecord, Winner

__all__ = [
    "COMPARISON_FILE",
    "HISTORY_DIR",
    "INTERACTIVE_FILE",
    "JOBS_FILE",
    "MAX_KEPT",
    "NOTEBOOKS_DIR",
    "SCHEDULE_FILE",
    "SWEEP_FILE",
    "TABLE_FILE",
    "AlertSent",
    "Answer",
    "ArrayEntry",
    "BoardEntry",
    "BoardStatus",
    "BreakdownRow",
    "Breakdowns",
    "ComparisonEntry",
    "ComparisonRecord",
    "EpochMetrics",
    "ExperimentResults",
    "Family",
    "HistoryPoint",
    "InteractiveRecord",
    "InteractiveRuns",
    "InteractiveSource",
    "JobRecord",
    "JobsRecord",
    "MetricInfo",
    "MetricPoint",
    "MetricSummary",
    "MissingJob",
    "PointArrays",
    "PointMetric",
    "RankingGroup",
    "RankingRecord",
    "Record",
    "RecordError",
    "ScheduleRecord",
    "ScheduleStatus",
    "SweepRecord",
    "SystemPoint",
    "SystemSummary",
    "Tick",
    "TickComparison",
    "TickOutcome",
    "TrialCounts",
    "TrialRecord",
    "Winner",
    "analysis_key",
    "changes_since",
    "new_run_id",
    "run_key",
    "status_board",
    "sweep_key",
]
