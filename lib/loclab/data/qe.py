"""The quality-estimation (QE) data set: candidate translations of graded quality, scored.

QE predicts how good a translation is from the source and the translation alone. The built-in
set comes from CLDR like the terminology-QA set: for every correct (English term, target term,
locale) pair, a few candidate translations are made — the correct term itself, near misses
(a dropped accent, a flipped case), partial translations, and the QA errors of
:mod:`loclab.data.term_qa` (corrupted, truncated, wrong language, misaligned, untranslated) —
and each is scored against the correct term(s) with chrF (sacrebleu, 0-1) or a normalized
edit-distance similarity. Labels are therefore continuous and reproducible: the same seed
gives the same candidates and scores, ``tiny`` is a subset of ``small`` of ``full``, and the
splits are by English term (the same as the term-QA set's for the same seed).

Users' own QE data (MLQE-PE / WMT DA TSVs with ``original``, ``translation``, ``z_mean``;
WMT sentence-level plain files with ``.hter``) is read by :func:`loclab.data.read_pairs` /
:func:`loclab.data.read_wmt_qe` with ``require_label=False`` and wrapped by
:func:`qe_dataset_from_frame`.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from loclab.data.cldr import CATEGORIES, DEFAULT_LOCALES, cldr_pairs, cldr_version
from loclab.data.features import edit_similarity
from loclab.data.noise import near_miss, partial
from loclab.data.term_qa import (
    SIZES,
    SPLITS,
    BuildParams,
    ErrorInjector,
    TermQADataset,
    assign_splits,
    data_fingerprint,
    uniform,
)

__all__ = [
    "CONTENT",
    "GOOD_SCORE",
    "LABEL_METRICS",
    "QE_BUILDER_VERSION",
    "QE_COLUMNS",
    "QE_KINDS",
    "QEBuildParams",
    "build_qe",
    "chrf_similarity",
    "qe_dataset_from_frame",
    "score_against",
    "score_distribution",
    "versions",
]

#: Bump whenever a change to this module changes the data built from the same parameters.
QE_BUILDER_VERSION = "1"
#: Kinds of candidate, roughly from best to worst; ``none`` is the correct term itself.
QE_KINDS: tuple[str, ...] = (
    "none",
    "near_miss",
    "partial",
    "corrupted",
    "truncated",
    "wrong_language",
    "misaligned",
    "untranslated",
)
#: How a candidate is scored against the correct term(s).
LABEL_METRICS: tuple[str, ...] = ("chrf", "edit")
#: Scores from this up count as acceptable (``label`` 1) in built data.
GOOD_SCORE = 0.8
#: Columns of a built QE data set, in order. ``reference`` is for analysis only: a QE system
#: never sees it.
QE_COLUMNS: tuple[str, ...] = (
    "example_id",
    "source",
    "target",
    "reference",
    "locale",
    "category",
    "key",
    "error_type",
    "score",
    "label",
    "split",
)
#: Columns whose values make up a QE data set's fingerprint.
CONTENT = (
    "example_id",
    "source",
    "target",
    "reference",
    "locale",
    "category",
    "key",
    "error_type",
    "score",
)


@dataclass(frozen=True)
class QEBuildParams:
    """Everything that determines a built QE data set.

    Args:
        size: ``"tiny"``, ``"small"`` or ``"full"`` (share of CLDR pairs, as for term QA).
        seed: Seed of the pair sample, the split and the candidates.
        locales: Target locales.
        categories: CLDR categories of display names.
        val_fraction: Share of English terms in the validation split.
        test_fraction: Share of English terms in the test split.
        candidates: Candidate translations per correct pair (of distinct kinds).
        label_metric: ``"chrf"`` (sacrebleu chrF / 100, whitespace kept) or ``"edit"``
            (1 - normalized Levenshtein distance).
    """

    size: str = "tiny"
    seed: int = 13
    locales: tuple[str, ...] = DEFAULT_LOCALES
    categories: tuple[str, ...] = tuple(CATEGORIES)
    val_fraction: float = 0.1
    test_fraction: float = 0.1
    candidates: int = 2
    label_metric: str = "chrf"

    def __post_init__(self) -> None:
        # The shared fields are checked exactly as for the term-QA set.
        BuildParams(
            self.size,
            self.seed,
            tuple(self.locales),
            tuple(self.categories),
            self.val_fraction,
            self.test_fraction,
        )
        if self.label_metric not in LABEL_METRICS:
            raise ValueError(
                f"unknown label_metric {self.label_metric!r}; choose from {LABEL_METRICS}"
            )
        if not 1 <= self.candidates <= len(QE_KINDS):
            raise ValueError(f"candidates must be between 1 and {len(QE_KINDS)}")
        object.__setattr__(self, "locales", tuple(self.locales))
        object.__setattr__(self, "categories", tuple(self.categories))

    def key(self) -> str:
        """Content address of the data set these parameters build (hex sha256)."""
        payload = repr(sorted(asdict(self).items())) + QE_BUILDER_VERSION + cldr_version()
        payload += _metric_version(self.label_metric)
        return hashlib.sha256(payload.encode()).hexdigest()


def versions(params: QEBuildParams) -> dict[str, str]:
    """What the content of a built QE set depends on besides its parameters."""
    return {
        "cldr": cldr_version(),
        "builder": f"qe-{QE_BUILDER_VERSION}",
        "metric": _metric_version(params.label_metric),
    }


def _metric_version(metric: str) -> str:
    if metric != "chrf":
        return metric
    import sacrebleu

    return f"chrf-whitespace/sacrebleu-{sacrebleu.__version__}"


@lru_cache(maxsize=1)
def _chrf() -> Any:
    from sacrebleu.metrics.chrf import CHRF

    # Whitespace kept: in a short term a misplaced space ("дола рСША") is an error, and
    # sacrebleu's default chrF (whitespace removed) would score it perfect.
    return CHRF(whitespace=True)


def chrf_similarity(candidate: str, reference: str) -> float:
    """Sentence chrF of ``candidate`` against ``reference`` on 0-1.

    sacrebleu's chrF (character 6-grams, beta 2) with whitespace kept in the n-grams.
    """
    return float(_chrf().sentence_score(candidate, [reference]).score) / 100.0


def score_against(
    candidates: Iterable[str], references: Iterable[Iterable[str]], metric: str = "chrf"
) -> np.ndarray:
    """Score each candidate against its best-matching correct translation.

    Args:
        candidates: One candidate translation per example.
        references: The correct translation(s) of each example.
        metric: ``"chrf"`` or ``"edit"``.

    Returns:
        Scores in [0, 1], 1 for a candidate equal to a reference.
    """
    if metric not in LABEL_METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose from {LABEL_METRICS}")
    similarity: Callable[[str, str], float] = (
        chrf_similarity if metric == "chrf" else edit_similarity
    )
    return np.asarray(
        [
            max((similarity(c, r) for r in refs), default=0.0)
            for c, refs in zip(candidates, references, strict=True)
        ],
        dtype=np.float64,
    )


def build_qe(params: QEBuildParams | None = None, **overrides: object) -> TermQADataset:
    """Build the QE data set from CLDR (see the module docstring).

    Args:
        params: Build parameters; defaults to ``QEBuildParams()``.
        **overrides: Fields of :class:`QEBuildParams` to change, e.g. ``size="small"``.

    Returns:
        The data set (columns :data:`QE_COLUMNS`, sorted by ``example_id``); its
        ``error_type`` is the kind of candidate (:data:`QE_KINDS`), ``score`` the continuous
        label and ``label`` whether the score reaches :data:`GOOD_SCORE`.
    """
    params = params or QEBuildParams()
    if overrides:
        params = QEBuildParams(**{**asdict(params), **overrides})
    pairs = cldr_pairs(params.locales, params.categories)
    pairs["group"] = pairs["source"].str.casefold()
    pairs["split"] = assign_splits(
        pairs["group"], params.seed, params.val_fraction, params.test_fraction
    )
    injector = ErrorInjector(pairs, params.seed)
    ids = pairs["category"] + "/" + pairs["key"] + "/" + pairs["locale"]
    if SIZES[params.size] < 1.0:
        # The same draw as the term-QA set: the same pairs for the same seed and size.
        keep = [uniform(params.seed, "sample", i) < SIZES[params.size] for i in ids]
        pairs, ids = pairs[keep], ids[keep]
    rows = []
    for pair, pair_id in zip(pairs.itertuples(index=False), ids, strict=True):
        references = sorted(injector.valid[(pair.group, pair.locale)])
        for kind, candidate in _candidates(injector, pair, pair_id, params):
            rows.append(
                (
                    f"{pair_id}/{kind}",
                    pair.source,
                    candidate,
                    pair.target,
                    pair.locale,
                    pair.category,
                    pair.key,
                    kind,
                    references,
                    pair.split,
                )
            )
    columns = [c for c in QE_COLUMNS if c not in ("score", "label")]
    frame = pd.DataFrame(rows, columns=[*columns[:-1], "references", "split"])
    frame["score"] = score_against(frame["target"], frame["references"], params.label_metric)
    frame["label"] = (frame["score"] >= GOOD_SCORE).astype("int8")
    frame = frame.loc[:, list(QE_COLUMNS)]
    frame = frame.sort_values("example_id", kind="stable", ignore_index=True)
    frame = frame.astype({c: "str" for c in QE_COLUMNS if c not in ("score", "label")})
    fingerprint = data_fingerprint(frame, versions(params), columns=CONTENT)
    frame.attrs["loclab.data_fingerprint"] = fingerprint
    return TermQADataset(frame=frame, fingerprint=fingerprint, params=params)


def _candidates(
    injector: ErrorInjector, pair: Any, pair_id: str, params: QEBuildParams
) -> list[tuple[str, str]]:
    """Up to ``params.candidates`` (kind, candidate) of distinct kinds and texts for a pair."""
    rng = random.Random(f"{params.seed}/qe/{pair_id}")
    order = list(QE_KINDS)
    rng.shuffle(order)
    made: list[tuple[str, str]] = []
    texts: set[str] = set()
    for kind in order:
        if len(made) == params.candidates:
            break
        candidate = _make(injector, kind, pair, rng)
        if candidate is None or not candidate.strip() or candidate in texts:
            continue
        if kind != "none" and candidate == pair.target:
            continue
        made.append((kind, candidate))
        texts.add(candidate)
    return made


def _make(injector: ErrorInjector, kind: str, pair: Any, rng: random.Random) -> str | None:
    if kind == "none":
        return str(pair.target)
    if kind == "near_miss":
        alphabet = injector.alphabet.get(pair.locale) or sorted(set(pair.target))
        return near_miss(pair.target, rng, alphabet)
    if kind == "partial":
        return partial(pair.target, pair.source, rng)
    # The QA errors, exactly as the term-QA set makes them.
    made: str | None = getattr(injector, f"_{kind}")(pair, rng)
    return made


def qe_dataset_from_frame(
    frame: pd.DataFrame,
    seed: int = 13,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    higher_is_better: bool | None = None,
    good_quantile: float = 0.75,
) -> TermQADataset:
    """Wrap users' scored translations (e.g. MLQE-PE) as a QE data set.

    Rows keep their ``split`` when the data has one, else they are split by source text like
    the CLDR data. ``label`` marks the best-scored quarter of the rows (the acceptable
    translations the neural models learn what each language looks like from).

    Args:
        frame: Output of :func:`~loclab.data.read_pairs` (or ``read_wmt_qe``) with a ``score``.
        seed: Seed of the split.
        val_fraction: Share of source texts in ``val``.
        test_fraction: Share of source texts in ``test``.
        higher_is_better: Direction of the score; None takes it from the reader (HTER is an
            edit rate: lower is better), else higher.
        good_quantile: Scores beyond this quantile (in the good direction) get ``label`` 1.

    Returns:
        The data set (``params`` is None).
    """
    if "score" not in frame.columns:
        from loclab.data.io import ALIASES, MissingColumnError

        raise MissingColumnError("score", ALIASES["score"], list(frame.columns), "the data set")
    if higher_is_better is None:
        higher_is_better = not frame.attrs.get("loclab.score_lower_is_better", False)
    out = frame.copy()
    scores = out["score"].astype(float)
    if higher_is_better:
        out["label"] = (scores >= scores.quantile(good_quantile)).astype("int8")
    else:
        out["label"] = (scores <= scores.quantile(1 - good_quantile)).astype("int8")
    for name, default in (("reference", ""), ("category", "user"), ("key", "")):
        if name not in out.columns:
            out[name] = default
    out["key"] = out["key"].where(out["key"] != "", out["source"].str.casefold())
    if "error_type" not in out.columns:
        out["error_type"] = "user"
    if "split" not in out.columns:
        out["split"] = assign_splits(
            out["source"].str.casefold(), seed, val_fraction, test_fraction
        )
    bad = sorted(set(out["split"]) - set(SPLITS))
    if bad:
        raise ValueError(f"unknown split name(s) {bad}; use {SPLITS}")
    out = out.loc[:, list(QE_COLUMNS)]
    fingerprint = data_fingerprint(out, {"origin": "user"}, columns=CONTENT)
    out.attrs["loclab.data_fingerprint"] = fingerprint
    out.attrs["loclab.score_higher_is_better"] = higher_is_better
    return TermQADataset(frame=out, fingerprint=fingerprint, params=None)


def score_distribution(dataset: TermQADataset) -> pd.DataFrame:
    """Count, mean and quartiles of the score per candidate kind (rows) with a total row."""
    frame = dataset.frame
    grouped = frame.groupby("error_type", sort=False)["score"]
    table = grouped.describe()[["count", "mean", "std", "min", "25%", "50%", "75%", "max"]]
    order = [k for k in QE_KINDS if k in table.index] + [
        k for k in table.index if k not in QE_KINDS
    ]
    table = table.loc[order]
    total = frame["score"].describe()[table.columns].rename("All")
    return pd.concat([table, total.to_frame().T]).astype({"count": int}).round(3)
