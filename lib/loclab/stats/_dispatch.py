"""Which test for which data: kinds of data, their default tests, and running them."""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Any, Literal

import numpy as np

from ._base import ResultMixin, TestResult
from ._corpus import corpus_metric_test
from ._mcnemar import mcnemar
from ._metrics import CorpusMetric
from ._paired import paired_permutation_test
from ._seeds import MIN_SEEDS, seed_level_test, two_level_bootstrap

DataKind = Literal[
    "continuous",
    "binary",
    "corpus",
    "seeds",
    "seed_level",
    "correlation",
    "correlation_bootstrap",
    "correlation_seeds",
]

_DEFAULTS: dict[str, tuple[str, str]] = {
    "continuous": (
        "paired_permutation_test",
        "Per-example scores on shared examples: a sign-flip permutation test of the mean "
        "difference is exact under exchangeability and needs no normality assumption.",
    ),
    "binary": (
        "mcnemar",
        "Per-example 0/1 outcomes: McNemar's test uses only the examples on which the systems "
        "disagree; its mid-p version is used because the exact one is conservative (it "
        "rejects equal systems only 3-4 % of the time at a nominal 5 %).",
    ),
    "corpus": (
        "corpus_metric_test",
        "A corpus metric (BLEU, chrF, F1, Pearson) is not an average of per-example scores: "
        "approximate randomization swaps per-example sufficient statistics and recomputes it.",
    ),
    "seeds": (
        "two_level_bootstrap",
        "Several training runs per system on shared examples: both seed-to-seed and "
        "example-to-example variation must enter the test, or retraining noise is mistaken "
        "for a real difference; seed variance is pooled over both systems (unless one "
        "ignores its seed or the one with fewer runs varies more) and the t reference uses "
        "corrected degrees of freedom, which keeps the test calibrated with as few as 2 "
        "runs against 10.",
    ),
    "seed_level": (
        "seed_level_test",
        "One aggregate score per training run: a permutation test over the splits of the "
        "runs when there are at least 100, else a two-sample t test (a permutation test over "
        "fewer splits cannot hold its level: 3 against 3 runs never reach p < 0.1).",
    ),
    "correlation": (
        "williams_test",
        "Two systems' correlations with the same gold scores are dependent: Williams' test "
        "for correlations that share one variable accounts for how much the systems agree, "
        "as the WMT quality-estimation tasks do.",
    ),
    "correlation_bootstrap": (
        "correlation_bootstrap",
        "Two systems' rank correlations with the same gold scores: a paired bootstrap over "
        "examples resamples both systems and the gold together, so their dependence is kept.",
    ),
    "correlation_seeds": (
        "correlation_seeds_test",
        "Several training runs per system, correlations with shared gold scores: each run's "
        "correlation becomes per-example jackknife values, and the seeds x examples test "
        "counts both retraining noise and the choice of examples.",
    ),
}


@dataclasses.dataclass(frozen=True)
class DefaultTest(ResultMixin):
    """The test :func:`verdict` uses for a kind of data.

    Attributes:
        kind: ``"continuous"``, ``"binary"``, ``"corpus"``, ``"seeds"``, ``"seed_level"``, or
            a correlation kind (``"correlation"``, ``"correlation_bootstrap"``,
            ``"correlation_seeds"``).
        test: Name of the ``loclab.stats`` function.
        reason: Why it is the default.
    """

    kind: str
    test: str
    reason: str

    def summary(self) -> str:
        """One plain-language sentence describing the choice."""
        return f"For {self.kind} data the default is {self.test}: {self.reason}"


def default_test(kind: DataKind) -> DefaultTest:
    """Return the default test for a kind of data.

    Args:
        kind: ``"continuous"`` (per-example scores), ``"binary"`` (per-example 0/1 outcomes),
            ``"corpus"`` (per-example sufficient statistics of a corpus metric), ``"seeds"``
            (seeds x examples) or ``"seed_level"`` (one score per training run).

    Returns:
        A :class:`DefaultTest`.

    Raises:
        ValueError: For an unknown kind.
    """
    if kind not in _DEFAULTS:
        raise ValueError(f"`kind` must be one of {sorted(_DEFAULTS)}, got {kind!r}.")
    test, reason = _DEFAULTS[kind]
    return DefaultTest(kind=kind, test=test, reason=reason)


def _is_binary(x: np.ndarray) -> bool:
    return bool(np.all((x == 0) | (x == 1)))


def prepare(
    a: Any, b: Any, kind: str, metric: CorpusMetric | None
) -> tuple[str, np.ndarray, np.ndarray, list[str]]:
    """Resolve ``kind="auto"`` and reshape inputs; returns the kind, arrays and warnings."""
    notes: list[str] = []
    if metric is not None or kind == "corpus":
        if metric is None:
            raise ValueError("`metric` is required for corpus-metric comparisons.")
        return "corpus", np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), notes
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if kind == "seed_level":
        return kind, x, y, notes
    if x.ndim == 2 and y.ndim == 2:
        if x.shape[0] >= 2 and y.shape[0] >= 2:
            if kind not in ("auto", "seeds"):
                raise ValueError(
                    f"Data of shape (seeds, examples) needs kind 'seeds', not {kind!r}."
                )
            return "seeds", x, y, notes
        notes.append(
            "Only one training run for at least one system: the test covers example-to-"
            "example variation only, so retraining could change the result. Train several "
            f"seeds (at least {MIN_SEEDS}) per system to include it."
        )
        x, y = x.mean(axis=0), y.mean(axis=0)
    if kind == "seeds":
        raise ValueError("kind 'seeds' needs arrays of shape (seeds, examples) with >= 2 seeds.")
    if kind == "auto":
        kind = "binary" if _is_binary(x) and _is_binary(y) else "continuous"
    return kind, x, y, notes


def enough_resamples(n_resamples: int, family_size: int, alpha: float, kind: str) -> int:
    """Raise the resample count so a Monte Carlo p-value can pass Holm's first step."""
    if kind not in ("continuous", "corpus"):
        # McNemar and the two-level test are analytic; seed-level splits are enumerated.
        return n_resamples
    # The smallest Monte Carlo p-value is 1 / (n + 1); it must sit well below alpha / m.
    needed = math.ceil(2.0 * family_size / alpha)
    if n_resamples < needed:
        warnings.warn(
            f"n_resamples={n_resamples:,} cannot resolve p-values below alpha / "
            f"{family_size} = {alpha / family_size:.2g}; using {needed:,} resamples instead.",
            UserWarning,
            stacklevel=3,
        )
        return needed
    return n_resamples


def run_default(
    kind: str,
    x: np.ndarray,
    y: np.ndarray,
    metric: CorpusMetric | None,
    n_resamples: int,
    seed: int,
) -> TestResult:
    if kind == "continuous":
        return paired_permutation_test(x, y, n_resamples=n_resamples, seed=seed)
    if kind == "binary":
        return mcnemar(x, y, mid_p=True)
    if kind == "corpus":
        assert metric is not None
        return corpus_metric_test(x, y, metric, test="ar", n_resamples=n_resamples, seed=seed)
    if kind == "seeds":
        with warnings.catch_warnings():
            # The warning is kept on the result and surfaced in the verdict instead.
            warnings.simplefilter("ignore", UserWarning)
            return two_level_bootstrap(x, y, n_resamples=n_resamples, seed=seed)
    if kind == "seed_level":
        return seed_level_test(x, y, n_resamples=n_resamples, seed=seed)
    raise ValueError(f"`kind` must be 'auto' or one of {sorted(_DEFAULTS)}, got {kind!r}.")
