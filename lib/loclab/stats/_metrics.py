"""Corpus metrics computed from summed per-example sufficient statistics.

BLEU, chrF/chrF++ and TER (``_ter.py``) follow sacrebleu's definitions exactly (their
statistics come from sacrebleu, which is imported only when statistics are extracted or a
corpus score is computed); F1, accuracy and Pearson correlation are defined here. Every
``score`` is vectorised over a leading resample axis; ``corpus_score`` of a sacrebleu metric is
sacrebleu's own score of the summed statistics, bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

_SACREBLEU_LOG_ZERO = -9999999999.0


class CorpusMetric:
    """A metric computed from summed per-example sufficient statistics.

    Subclasses define ``name``, ``stat_names`` and :meth:`score`, which must accept totals of
    shape ``(..., n_stats)`` and return scores of shape ``(...)`` (vectorised over resamples).
    ``higher_is_better`` states the metric's direction: tests always report ``A - B``, and
    verdicts and rankings read the direction from here (TER is lower-is-better).
    """

    name: str = "metric"
    stat_names: tuple[str, ...] = ()
    higher_is_better: bool = True

    @property
    def n_stats(self) -> int:
        """Number of sufficient statistics per example."""
        return len(self.stat_names)

    def score(self, totals: Any) -> np.ndarray:
        """Metric value(s) from summed statistics of shape ``(..., n_stats)``."""
        raise NotImplementedError

    def corpus_score(self, stats: Any) -> float:
        """Metric of a whole corpus from its per-example statistics ``(n, n_stats)``."""
        arr = np.asarray(stats, dtype=np.float64)
        return float(self.score(arr.sum(axis=0)))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _reference_streams(references: Sequence[Any]) -> list[list[str]]:
    """Accept one reference per segment (list of str) or sacrebleu's list of streams."""
    if len(references) and isinstance(references[0], str):
        return [list(references)]
    return [list(stream) for stream in references]


class _SacrebleuMetric(CorpusMetric):
    """Shared plumbing for metrics whose statistics come from sacrebleu (imported lazily)."""

    _kwargs: dict[str, Any]

    def _sacrebleu(self, references: Sequence[Any] | None) -> Any:
        raise NotImplementedError

    def segment_statistics(
        self, hypotheses: Sequence[str], references: Sequence[Any]
    ) -> np.ndarray:
        """Per-segment sufficient statistics, exactly as sacrebleu extracts them.

        Args:
            hypotheses: One hypothesis string per segment.
            references: One reference string per segment, or a list of reference streams
                (sacrebleu's multi-reference layout).

        Returns:
            A float64 array of shape ``(segments, n_stats)``.

        Raises:
            ValueError: If the number of hypotheses and references differ.
        """
        streams = _reference_streams(references)
        for stream in streams:
            if len(stream) != len(hypotheses):
                raise ValueError(
                    f"`references` has {len(stream)} segments but `hypotheses` has "
                    f"{len(hypotheses)}."
                )
        key = tuple(tuple(stream) for stream in streams)
        cached = getattr(self, "_cached_refs", None)
        if cached is None or cached[0] != key:
            # Reference n-grams are the expensive part; reuse them across systems.
            cached = (key, self._sacrebleu(streams))
            self._cached_refs = cached
        metric = cached[1]
        # The private extractor is what sacrebleu's own significance tests use; there is no
        # public per-segment API for chrF statistics.
        stats = metric._extract_corpus_statistics(list(hypotheses), None)
        return np.asarray(stats, dtype=np.float64).reshape(len(hypotheses), self.n_stats)

    def _bare(self) -> Any:
        """The sacrebleu metric without references (scores summed statistics, signatures)."""
        bare = getattr(self, "_bare_metric", None)
        if bare is None:
            bare = self._bare_metric = self._sacrebleu(None)
        return bare

    def _totals(self, stats: np.ndarray) -> list[Any]:
        """Column sums as sacrebleu forms them: exact integers for count statistics."""
        totals = stats.sum(axis=0)
        if np.all(totals == np.round(totals)) and np.all(np.abs(totals) < 2.0**53):
            return [int(v) for v in totals]
        return [float(v) for v in totals]

    def corpus_score(self, stats: Any) -> float:
        """Corpus score from per-segment statistics, computed by sacrebleu itself.

        Equal, bit for bit, to ``sacrebleu.metrics.<Metric>(...).corpus_score(...)`` on the
        texts the statistics were extracted from (the vectorised :meth:`score` agrees to about
        1e-14 and is what resampling uses).

        Args:
            stats: Per-segment statistics, shape ``(segments, n_stats)``.

        Returns:
            The score on sacrebleu's 0-100 scale.

        Raises:
            ValueError: When the statistics do not have ``n_stats`` columns.
        """
        arr = np.asarray(stats, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != self.n_stats:
            raise ValueError(
                f"{self.name} needs statistics of shape (segments, {self.n_stats}), got "
                f"{arr.shape}."
            )
        return float(self._bare()._compute_score_from_stats(self._totals(arr)).score)

    def signature(self, nrefs: int | None = None) -> str:
        """The reproducibility signature sacrebleu prints for this metric.

        For example ``nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0``.

        Args:
            nrefs: Number of references per segment (-1: it varies). Default: as many as the
                last :meth:`segment_statistics` call used.

        Returns:
            The signature string, exactly as sacrebleu prints it.

        Raises:
            ValueError: When ``nrefs`` is not given and no statistics were extracted yet.
        """
        if nrefs is None:
            cached = getattr(self, "_cached_refs", None)
            if cached is None:
                raise ValueError(
                    f"{self.name}: pass nrefs (no statistics were extracted to count them)."
                )
            nrefs = int(cached[1].num_refs)
        bare = self._sacrebleu(None)
        bare.num_refs = int(nrefs)
        return str(bare.get_signature())

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._kwargs.items())
        return f"{type(self).__name__}({args})"


class BleuMetric(_SacrebleuMetric):
    """Corpus BLEU with sacrebleu's definition, vectorised over resampled totals.

    Statistics per segment: ``[hyp_len, ref_len, correct_1..N, total_1..N]`` (sacrebleu's
    layout). Scores are on sacrebleu's 0-100 scale and equal ``sacrebleu.metrics.BLEU`` with
    the same options.

    Args:
        tokenize: sacrebleu tokenizer name (``None`` uses sacrebleu's default, ``"13a"``).
        lowercase: Lowercase before matching.
        smooth_method: ``"exp"``, ``"floor"``, ``"add-k"`` or ``"none"``.
        smooth_value: Value for ``floor``/``add-k`` (sacrebleu's default when ``None``).
        max_ngram_order: Highest n-gram order.
        effective_order: Stop at the highest order with any n-grams (sentence-level BLEU).
    """

    name = "BLEU"

    def __init__(
        self,
        tokenize: str | None = None,
        lowercase: bool = False,
        smooth_method: str = "exp",
        smooth_value: float | None = None,
        max_ngram_order: int = 4,
        effective_order: bool = False,
    ):
        if smooth_method not in ("exp", "floor", "add-k", "none"):
            raise ValueError(f"Unknown `smooth_method` {smooth_method!r}.")
        self.tokenize = tokenize
        self.lowercase = lowercase
        self.smooth_method = smooth_method
        defaults = {"floor": 0.1, "add-k": 1.0}
        self.smooth_value = float(
            defaults.get(smooth_method, 0.0) if smooth_value is None else smooth_value
        )
        self.max_ngram_order = max_ngram_order
        self.effective_order = effective_order
        self.stat_names = (
            "hyp_len",
            "ref_len",
            *tuple(
                f"{kind}_{i}"
                for kind in ("correct", "total")
                for i in range(1, max_ngram_order + 1)
            ),
        )
        self._kwargs = {
            "tokenize": tokenize, "lowercase": lowercase, "smooth_method": smooth_method,
            "smooth_value": smooth_value, "max_ngram_order": max_ngram_order,
            "effective_order": effective_order,
        }  # fmt: skip

    def _sacrebleu(self, references: Sequence[Any] | None) -> Any:
        from sacrebleu.metrics.bleu import BLEU

        return BLEU(references=references, **self._kwargs)

    def score(self, totals: Any) -> np.ndarray:
        """BLEU from summed statistics of shape ``(..., 2 + 2 * max_ngram_order)``."""
        t = np.asarray(totals, dtype=np.float64)
        shape = t.shape[:-1]
        t = t.reshape(-1, t.shape[-1])
        order = self.max_ngram_order
        sys_len, ref_len = t[:, 0], t[:, 1]
        correct = t[:, 2 : 2 + order].copy()
        total = t[:, 2 + order : 2 + 2 * order].copy()
        any_match = np.any(correct != 0, axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            bp = np.where(
                sys_len < ref_len,
                np.where(sys_len > 0, np.exp(1.0 - ref_len / np.maximum(sys_len, 1e-300)), 0.0),
                1.0,
            )
            if self.smooth_method == "add-k":
                correct[:, 1:] += self.smooth_value
                total[:, 1:] += self.smooth_value
            # sacrebleu stops at the first order without any hypothesis n-grams.
            reached = np.cumprod(total > 0, axis=1).astype(bool)
            zero = (correct == 0) & reached
            safe_total = np.where(total > 0, total, 1.0)
            prec = np.where(correct > 0, 100.0 * correct / safe_total, 0.0)
            if self.smooth_method == "exp":
                halvings = np.cumsum(zero, axis=1)
                prec = np.where(zero, 100.0 / (2.0**halvings * safe_total), prec)
            elif self.smooth_method == "floor":
                prec = np.where(zero, 100.0 * self.smooth_value / safe_total, prec)
            prec = np.where(reached, prec, 0.0)
            logs = np.where(prec > 0, np.log(np.where(prec > 0, prec, 1.0)), _SACREBLEU_LOG_ZERO)
            if self.effective_order:
                n_reached = reached.sum(axis=1)
                eff = np.where(n_reached > 0, n_reached, order)
            else:
                eff = np.full(t.shape[0], order)
            use = np.arange(order)[None, :] < eff[:, None]
            score = bp * np.exp(np.sum(np.where(use, logs, 0.0), axis=1) / eff)
        return np.where(any_match, score, 0.0).reshape(shape)


class ChrfMetric(_SacrebleuMetric):
    """Corpus chrF / chrF++ with sacrebleu's definition, vectorised over resampled totals.

    Statistics per segment: ``[hyp, ref, match]`` for each character order then each word
    order (sacrebleu's layout). Scores are on the 0-100 scale.

    Args:
        char_order: Character n-gram order.
        word_order: Word n-gram order (2 gives chrF++).
        beta: Recall weight.
        lowercase: Lowercase before matching.
        whitespace: Include whitespace in character n-grams.
        eps_smoothing: chrF++.py-style epsilon smoothing instead of effective order.
    """

    def __init__(
        self,
        char_order: int = 6,
        word_order: int = 0,
        beta: int = 2,
        lowercase: bool = False,
        whitespace: bool = False,
        eps_smoothing: bool = False,
    ):
        self.char_order = char_order
        self.word_order = word_order
        self.beta = beta
        self.eps_smoothing = eps_smoothing
        self.name = f"chrF{beta}" + "+" * word_order
        self.stat_names = tuple(
            f"{kind}_{prefix}{i}"
            for prefix, top in (("char", char_order), ("word", word_order))
            for i in range(1, top + 1)
            for kind in ("hyp", "ref", "match")
        )
        self._kwargs = {
            "char_order": char_order, "word_order": word_order, "beta": beta,
            "lowercase": lowercase, "whitespace": whitespace, "eps_smoothing": eps_smoothing,
        }  # fmt: skip

    def _sacrebleu(self, references: Sequence[Any] | None) -> Any:
        from sacrebleu.metrics.chrf import CHRF

        return CHRF(references=references, **self._kwargs)

    def score(self, totals: Any) -> np.ndarray:
        """ChrF from summed statistics of shape ``(..., 3 * (char_order + word_order))``."""
        t = np.asarray(totals, dtype=np.float64)
        shape = t.shape[:-1]
        t = t.reshape((*t.shape[:-1], -1, 3)).reshape(-1, self.char_order + self.word_order, 3)
        n_hyp, n_ref, n_match = t[..., 0], t[..., 1], t[..., 2]
        eps = 1e-16
        factor = self.beta**2
        with np.errstate(divide="ignore", invalid="ignore"):
            prec = np.where(n_hyp > 0, n_match / np.where(n_hyp > 0, n_hyp, 1.0), eps)
            rec = np.where(n_ref > 0, n_match / np.where(n_ref > 0, n_ref, 1.0), eps)
            if self.eps_smoothing:
                denom = factor * prec + rec
                f = np.where(
                    denom > 0, (1 + factor) * prec * rec / np.where(denom > 0, denom, 1), eps
                )
                chrf: np.ndarray = (100.0 * f.sum(axis=1) / f.shape[1]).reshape(shape)
                return chrf
            valid = (n_hyp > 0) & (n_ref > 0)
            eff = valid.sum(axis=1)
            safe_eff = np.where(eff > 0, eff, 1)
            avg_prec = np.where(
                eff > 0, np.sum(np.where(valid, prec, 0.0), axis=1) / safe_eff, 0.0
            )
            avg_rec = np.where(eff > 0, np.sum(np.where(valid, rec, 0.0), axis=1) / safe_eff, 0.0)
            denom = factor * avg_prec + avg_rec
            score = np.where(
                avg_prec + avg_rec > 0,
                100.0 * (1 + factor) * avg_prec * avg_rec / np.where(denom > 0, denom, 1.0),
                0.0,
            )
        return score.reshape(shape)


class F1Metric(CorpusMetric):
    """Binary F1 from per-example ``[tp, fp, fn]`` counts (0 when there is nothing to score)."""

    name = "F1"
    stat_names = ("tp", "fp", "fn")

    def score(self, totals: Any) -> np.ndarray:
        """F1 = 2 tp / (2 tp + fp + fn)."""
        t = np.asarray(totals, dtype=np.float64)
        denom = 2.0 * t[..., 0] + t[..., 1] + t[..., 2]
        return np.where(denom > 0, 2.0 * t[..., 0] / np.where(denom > 0, denom, 1.0), 0.0)

    @staticmethod
    def statistics(y_true: Any, y_pred: Any) -> np.ndarray:
        """Per-example ``[tp, fp, fn]`` from binary labels and predictions."""
        yt = np.asarray(y_true).astype(bool)
        yp = np.asarray(y_pred).astype(bool)
        if yt.shape != yp.shape or yt.ndim != 1:
            raise ValueError("`y_true` and `y_pred` must be 1-D and of the same length.")
        return np.stack([yt & yp, ~yt & yp, yt & ~yp], axis=1).astype(np.float64)


class AccuracyMetric(CorpusMetric):
    """Accuracy from per-example ``[correct, count]`` (also for examples with several items)."""

    name = "accuracy"
    stat_names = ("correct", "count")

    def score(self, totals: Any) -> np.ndarray:
        """Accuracy = correct / count."""
        t = np.asarray(totals, dtype=np.float64)
        return np.where(t[..., 1] > 0, t[..., 0] / np.where(t[..., 1] > 0, t[..., 1], 1.0), 0.0)

    @staticmethod
    def statistics(correct: Any, count: Any = None) -> np.ndarray:
        """Per-example ``[correct, count]``; ``count`` defaults to 1 per example."""
        c = np.asarray(correct, dtype=np.float64)
        k = np.ones_like(c) if count is None else np.asarray(count, dtype=np.float64)
        return np.stack([c, k], axis=1)


class PearsonMetric(CorpusMetric):
    """Pearson correlation between a system's predictions and gold labels.

    Statistics per example: ``[1, x, y, x*x, y*y, x*y]`` with ``x`` the prediction and ``y``
    the gold label, so swapping two systems' statistics on an example swaps their predictions
    while the gold label stays put.
    """

    name = "Pearson r"
    stat_names = ("count", "x", "y", "xx", "yy", "xy")

    def score(self, totals: Any) -> np.ndarray:
        """Pearson r from summed moments (0 when either variance is zero)."""
        t = np.asarray(totals, dtype=np.float64)
        n, sx, sy, sxx, syy, sxy = (t[..., i] for i in range(6))
        cov = n * sxy - sx * sy
        var = (n * sxx - sx * sx) * (n * syy - sy * sy)
        return np.where(var > 0, cov / np.sqrt(np.where(var > 0, var, 1.0)), 0.0)

    @staticmethod
    def statistics(predictions: Any, gold: Any) -> np.ndarray:
        """Per-example moments from predictions and gold labels.

        Pearson r is shift-invariant, so pass predictions of all compared systems on the same
        scale; centring them differently per system would break the swap in randomization.
        """
        x = np.asarray(predictions, dtype=np.float64)
        y = np.asarray(gold, dtype=np.float64)
        if x.shape != y.shape or x.ndim != 1:
            raise ValueError("`predictions` and `gold` must be 1-D and of the same length.")
        return np.stack([np.ones_like(x), x, y, x * x, y * y, x * y], axis=1)


def segment_statistics(
    metric: BleuMetric | ChrfMetric | str,
    hypotheses: Sequence[str],
    references: Sequence[Any],
) -> np.ndarray:
    """Per-segment BLEU or chrF sufficient statistics from hypotheses and references.

    Args:
        metric: A :class:`BleuMetric` / :class:`ChrfMetric`, or ``"bleu"`` / ``"chrf"`` for
            sacrebleu's defaults.
        hypotheses: One hypothesis per segment.
        references: One reference per segment, or a list of reference streams.

    Returns:
        Array ``(segments, n_stats)`` for :func:`corpus_metric_test`.

    Raises:
        ValueError: For an unknown metric name or mismatched lengths.
    """
    if isinstance(metric, str):
        names = {"bleu": BleuMetric, "chrf": ChrfMetric}
        if metric.lower() not in names:
            raise ValueError(
                f"`metric` must be 'bleu', 'chrf' or a metric object, got {metric!r}."
            )
        chosen: _SacrebleuMetric = names[metric.lower()]()
        stats: np.ndarray = chosen.segment_statistics(hypotheses, references)
        return stats
    computed: np.ndarray = metric.segment_statistics(hypotheses, references)
    return computed
