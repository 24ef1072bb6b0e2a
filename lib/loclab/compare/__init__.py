"""The comparison stage: systems × seeds as jobs, then statistics and plain-language verdicts.

``loclab compare SPEC`` (and ``loclab run SPEC`` after its job stage) reads what each
completed job wrote, tests every candidate against the baseline with the test that suits the
data (:mod:`loclab.stats`), adjusts the confirmatory family (Holm), breaks the deciding metric
down by prediction columns (Benjamini-Hochberg, exploratory), ranks the systems when there are
three or more, and stores everything as a comparison record (:mod:`loclab.results`), which
the report renders.

Modules: :mod:`~loclab.compare.segments` (per-segment corpus statistics written by jobs),
:mod:`~loclab.compare.data` (job outputs aligned into arrays), :mod:`~loclab.compare.analysis`
(tests, verdicts, breakdowns, ranking, summaries), :mod:`~loclab.compare.table` (the printed
verdict table) and :mod:`~loclab.compare.stage` (the pipeline stage).
"""

from loclab.compare._summaries import headline
from loclab.compare.analysis import SIGNIFICANCE_NOTE, analyse
from loclab.compare.data import (
    ComparisonData,
    ComparisonError,
    MetricData,
    RunOutput,
    SystemRuns,
    collect,
    run_outputs,
)
from loclab.compare.segments import (
    CorpusStatistics,
    corpus_metric,
    corpus_scores,
    extract_statistics,
    file_fingerprint,
    read_corpus_statistics,
    read_translations,
    resolve_input,
    score_systems,
    write_corpus_statistics,
)
from loclab.compare.stage import run_analysis_stage
from loclab.compare.table import render_verdicts

__all__ = [
    "SIGNIFICANCE_NOTE",
    "ComparisonData",
    "ComparisonError",
    "CorpusStatistics",
    "MetricData",
    "RunOutput",
    "SystemRuns",
    "analyse",
    "collect",
    "corpus_metric",
    "corpus_scores",
    "extract_statistics",
    "file_fingerprint",
    "headline",
    "read_corpus_statistics",
    "read_translations",
    "render_verdicts",
    "resolve_input",
    "run_analysis_stage",
    "run_outputs",
    "score_systems",
    "write_corpus_statistics",
]
