"""Result records: what each stage of a run stores, in one layout, with one reader and writer.

Every stage hands the next one a typed record (pydantic models with a schema version), stored
atomically under ``<state>/results/<experiment>/``: the job stage's :class:`JobsRecord`
(``jobs.json``, with the spec as run), the sweep's :class:`SweepRecord` (``sweep.json``) and
the analysis' :class:`ComparisonRecord` (``comparison.json``); a notebook run by hand keeps its
:class:`InteractiveRecord` in ``<state>/interactive/<run>/``. The report, ``loclab status``,
the history and alerts read only these records. See ``docs/records.md``.
"""

from loclab.results._base import EpochMetrics, Record
from loclab.results._comparison import (
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
from loclab.results._interactive import INTERACTIVE_FILE, InteractiveRecord, InteractiveRuns
from loclab.results._jobs import JobRecord, JobsRecord
from loclab.results._keys import analysis_key, run_key, sweep_key
from loclab.results._store import (
    COMPARISON_FILE,
    JOBS_FILE,
    NOTEBOOKS_DIR,
    SWEEP_FILE,
    TABLE_FILE,
    ExperimentResults,
    RecordError,
)
from loclab.results._sweep import SweepRecord, TrialCounts, TrialRecord, Winner

__all__ = [
    "COMPARISON_FILE",
    "INTERACTIVE_FILE",
    "JOBS_FILE",
    "NOTEBOOKS_DIR",
    "SWEEP_FILE",
    "TABLE_FILE",
    "BreakdownRow",
    "Breakdowns",
    "ComparisonEntry",
    "ComparisonRecord",
    "EpochMetrics",
    "ExperimentResults",
    "Family",
    "InteractiveRecord",
    "InteractiveRuns",
    "JobRecord",
    "JobsRecord",
    "MetricInfo",
    "MetricSummary",
    "MissingJob",
    "RankingGroup",
    "RankingRecord",
    "Record",
    "RecordError",
    "SweepRecord",
    "SystemSummary",
    "TrialCounts",
    "TrialRecord",
    "Winner",
    "analysis_key",
    "run_key",
    "sweep_key",
]
