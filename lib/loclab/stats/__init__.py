"""Statistical comparison of ML systems: significance tests, intervals, effect sizes, verdicts.

Everything is numpy-vectorised and chunked so memory stays bounded, every resampler takes an
explicit ``seed``, and every result is a small frozen dataclass with ``estimate``, ``ci``,
``p_value`` (where the procedure gives one), ``n``, ``method``, ``summary()`` (one plain
sentence) and ``to_dict()`` (JSON-serialisable). Differences are always *A minus B*.

Which test to use (:func:`default_test`):

* per-example scores on shared examples: :func:`paired_permutation_test`
  (cross-checks: :func:`paired_t_test`, :func:`wilcoxon_signed_rank`; intervals:
  :func:`paired_bootstrap`);
* per-example 0/1 outcomes: :func:`mcnemar`;
* two QE systems' correlations with the same gold scores: :func:`williams_test` (Pearson, as
  WMT QE does), :func:`correlation_bootstrap` (any coefficient), and over several training
  runs :func:`correlation_seeds_test`;
* corpus metrics that do not average over examples (BLEU, chrF, chrF++, TER, F1, Pearson):
  :func:`corpus_metric_test` with :class:`BleuMetric`, :class:`ChrfMetric`,
  :class:`TerMetric` (lower is better: each metric's ``higher_is_better`` says so),
  :class:`F1Metric`, :class:`AccuracyMetric`, :class:`PearsonMetric`;
* several training seeds per system on shared examples: :func:`two_level_bootstrap`;
* one score per training run: :func:`seed_level_test`, :func:`aso`;
* many systems over datasets: :func:`friedman_nemenyi`, :func:`pairwise_tests` (score tables
  follow the pandas convention: one column per system, one row per data set);
* families of comparisons: :func:`adjust`, :func:`compare_systems`, :func:`rank_systems`
  (compact letter display), with :data:`CORRECTION_NAMES` for the names of the adjustments.

"Significant" means *unlikely to be chance*, not *large*. A :class:`Verdict` is "better",
"worse", "no difference" (its interval rules out a gain as large as the practical threshold)
or "too close to call"; its interval is adjusted for the family like its p-value, so the two
never disagree. The tests the comparison stage picks by itself hold their level at alpha =
0.05 over null simulations of balanced and unbalanced designs
(``benchmarks/stats_calibration.py``; rates in each test's docstring).

``import loclab.stats`` imports numpy and scipy only; sacrebleu is imported inside the
functions that extract BLEU/chrF/TER statistics, score them or print their signature.
"""

from ._aso import ASOResult, aso
from ._base import TestResult
from ._corpus import CorpusTestResult, corpus_metric_test
from ._correlation import (
    CORRELATIONS,
    CorrelationSeedsResult,
    CorrelationTestResult,
    correlation,
    correlation_bootstrap,
    correlation_seeds_test,
    jackknife_pseudo_values,
    williams_test,
)
from ._dispatch import DefaultTest, default_test
from ._effects import EffectSizes, PowerResult, effect_sizes, power
from ._friedman import FriedmanResult, friedman_nemenyi
from ._mcnemar import McNemarResult, mcnemar
from ._metrics import (
    AccuracyMetric,
    BleuMetric,
    ChrfMetric,
    CorpusMetric,
    F1Metric,
    PearsonMetric,
    segment_statistics,
)
from ._multiple import CORRECTION_NAMES, Adjustment, adjust
from ._paired import (
    paired_bootstrap,
    paired_permutation_test,
    paired_t_test,
    wilcoxon_signed_rank,
)
from ._pairwise import PairwiseComparison, PairwiseResult, pairwise_tests
from ._ranking import Ranking, rank_systems
from ._seeds import SeedLevelResult, TwoLevelResult, seed_level_test, two_level_bootstrap
from ._ter import TerMetric
from ._verdict import Verdict, VerdictFamily, compare_systems, decide, verdict

__all__ = [
    "CORRECTION_NAMES",
    "CORRELATIONS",
    "ASOResult",
    "AccuracyMetric",
    "Adjustment",
    "BleuMetric",
    "ChrfMetric",
    "CorpusMetric",
    "CorpusTestResult",
    "CorrelationSeedsResult",
    "CorrelationTestResult",
    "DefaultTest",
    "EffectSizes",
    "F1Metric",
    "FriedmanResult",
    "McNemarResult",
    "PairwiseComparison",
    "PairwiseResult",
    "PearsonMetric",
    "PowerResult",
    "Ranking",
    "SeedLevelResult",
    "TerMetric",
    "TestResult",
    "TwoLevelResult",
    "Verdict",
    "VerdictFamily",
    "adjust",
    "aso",
    "compare_systems",
    "corpus_metric_test",
    "correlation",
    "correlation_bootstrap",
    "correlation_seeds_test",
    "decide",
    "default_test",
    "effect_sizes",
    "friedman_nemenyi",
    "jackknife_pseudo_values",
    "mcnemar",
    "paired_bootstrap",
    "paired_permutation_test",
    "paired_t_test",
    "pairwise_tests",
    "power",
    "rank_systems",
    "seed_level_test",
    "segment_statistics",
    "two_level_bootstrap",
    "verdict",
    "wilcoxon_signed_rank",
    "williams_test",
]
