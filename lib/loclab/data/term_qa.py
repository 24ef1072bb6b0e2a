"""The terminology-QA data set: correct CLDR term pairs and realistic translation errors.

Built the way parallel-corpus filters (bicleaner) build their training data: every correct
(English term, target term, locale) pair is a positive, and each is paired with one synthetic
error of a known type. Splits are by English term, so test terms are never seen in training, and
every random choice is keyed by the seed and a stable row identity (not by row order), so
``tiny`` is a subset of ``small`` which is a subset of ``full`` for the same seed.
"""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from loclab.data.cldr import CATEGORIES, DEFAULT_LOCALES, cldr_pairs, cldr_version
from loclab.data.noise import corrupt, truncate
from loclab.data.scripts import char_script, dominant_scripts

__all__ = [
    "BUILDER_VERSION",
    "COLUMNS",
    "ERROR_TYPES",
    "SIZES",
    "SPLITS",
    "BuildParams",
    "ErrorInjector",
    "TermQADataset",
    "assign_splits",
    "build_term_qa",
    "data_fingerprint",
    "uniform",
]

#: Bump whenever a change to this module changes the data built from the same parameters.
BUILDER_VERSION = "1"
#: Error types of the negatives; positives have ``error_type == "none"``.
ERROR_TYPES: tuple[str, ...] = (
    "misaligned",
    "wrong_language",
    "untranslated",
    "corrupted",
    "truncated",
)
SPLITS: tuple[str, ...] = ("train", "val", "test")
#: Columns of a built data set, in order.
COLUMNS: tuple[str, ...] = (
    "example_id",
    "source",
    "target",
    "locale",
    "category",
    "key",
    "label",
    "error_type",
    "split",
)
#: Share of the correct pairs each size keeps (pairs, not terms: every locale and nearly every
#: term is represented even in ``tiny``).
SIZES: dict[str, float] = {"tiny": 0.05, "small": 0.25, "full": 1.0}

# Columns that define the content of a data set for its fingerprint.
_CONTENT = ("example_id", "source", "target", "locale", "category", "key", "label", "error_type")


@dataclass(frozen=True)
class BuildParams:
    """Everything that determines a built data set.

    Args:
        size: ``"tiny"``, ``"small"`` or ``"full"`` (see :data:`SIZES`).
        seed: Seed of the pair sample, the split and the error injection.
        locales: Target locales.
        categories: CLDR categories of display names.
        val_fraction: Share of English terms in the validation split.
        test_fraction: Share of English terms in the test split.
    """

    size: str = "tiny"
    seed: int = 13
    locales: tuple[str, ...] = DEFAULT_LOCALES
    categories: tuple[str, ...] = tuple(CATEGORIES)
    val_fraction: float = 0.1
    test_fraction: float = 0.1

    def __post_init__(self) -> None:
        if self.size not in SIZES:
            raise ValueError(f"unknown size {self.size!r}; choose from {sorted(SIZES)}")
        unknown = sorted(set(self.categories) - set(CATEGORIES))
        if unknown:
            raise ValueError(f"unknown categories {unknown}; choose from {sorted(CATEGORIES)}")
        if len(self.locales) < 2:
            raise ValueError("need at least two locales (wrong-language errors borrow from one)")
        if not 0 < self.val_fraction + self.test_fraction < 1:
            raise ValueError("val_fraction + test_fraction must be between 0 and 1")
        # Accept lists from callers; tuples keep the object hashable and its key canonical.
        object.__setattr__(self, "locales", tuple(self.locales))
        object.__setattr__(self, "categories", tuple(self.categories))

    def key(self) -> str:
        """Content address of the data set these parameters build (hex sha256)."""
        payload = repr(sorted(asdict(self).items())) + BUILDER_VERSION + cldr_version()
        return hashlib.sha256(payload.encode()).hexdigest()


@dataclass(frozen=True)
class TermQADataset:
    """A built data set and its identity.

    Attributes:
        frame: One row per example with the :data:`COLUMNS`.
        fingerprint: :func:`data_fingerprint` of ``frame`` (also in ``frame.attrs``).
        params: What it was built from (:class:`BuildParams`, or
            :class:`~loclab.data.qe.QEBuildParams` for the QE set); None for user data.
    """

    frame: pd.DataFrame = field(repr=False)
    fingerprint: str
    params: Any

    @property
    def train(self) -> pd.DataFrame:
        """Training examples."""
        return self.split("train")

    @property
    def val(self) -> pd.DataFrame:
        """Validation examples."""
        return self.split("val")

    @property
    def test(self) -> pd.DataFrame:
        """Test examples (their English terms occur in no other split)."""
        return self.split("test")

    def split(self, name: str) -> pd.DataFrame:
        """Examples of split ``name``, re-indexed from 0."""
        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r}; choose from {SPLITS}")
        return self.frame[self.frame["split"] == name].reset_index(drop=True)

    def summary(self) -> pd.DataFrame:
        """Number of examples per error type (rows) and split (columns), with totals."""
        table = pd.crosstab(self.frame["error_type"], self.frame["split"], margins=True)
        return table.reindex(columns=[*SPLITS, "All"], fill_value=0)


def data_fingerprint(
    frame: pd.DataFrame,
    versions: Mapping[str, str] | None = None,
    columns: Sequence[str] | None = None,
) -> str:
    """Stable sha256 of a data set's content.

    Row order, index and column order do not matter; every value of the content columns does,
    and so do ``versions`` (for CLDR data: the CLDR/babel version and :data:`BUILDER_VERSION`).

    Args:
        frame: A data set with an ``example_id`` column and any of the content columns
            (``source``, ``target``, ``locale``, ``label``...; ``split`` is left out on purpose:
            it is a property of the experiment, not of the data).
        versions: Name to version of whatever produced the data.
        columns: Content columns to hash (default: the term-QA ones; QE adds its scores).

    Returns:
        64 hex digits.
    """
    if "example_id" not in frame.columns:
        raise ValueError("a data set needs an example_id column to be fingerprinted")
    columns = [c for c in (columns or _CONTENT) if c in frame.columns]
    ordered = frame.sort_values("example_id", kind="stable")
    digest = hashlib.sha256()
    for name, version in sorted((versions or {}).items()):
        digest.update(f"{name}={version}\n".encode())
    digest.update(("\x1f".join(columns) + "\n").encode())
    values = [ordered[c].astype(str).tolist() for c in columns]
    for row in zip(*values, strict=True):
        digest.update(("\x1f".join(row) + "\x1e").encode())
    return digest.hexdigest()


def assign_splits(
    groups: pd.Series, seed: int, val_fraction: float = 0.1, test_fraction: float = 0.1
) -> pd.Series:
    """Assign each row to train/val/test by hashing its group (the English term), not its row.

    All rows of a group land in one split, a group's split depends only on the seed and the group
    itself (adding locales or terms moves nothing), and the shares are close to the fractions.

    Args:
        groups: Group of each row, e.g. the case-folded source term.
        seed: Seed of the assignment.
        val_fraction: Expected share of groups in ``val``.
        test_fraction: Expected share of groups in ``test``.

    Returns:
        The split name of each row, aligned with ``groups``.
    """
    cache: dict[str, str] = {}
    out = []
    for group in groups.astype(str):
        split = cache.get(group)
        if split is None:
            u = uniform(seed, "split", group)
            if u < test_fraction:
                split = "test"
            elif u < test_fraction + val_fraction:
                split = "val"
            else:
                split = "train"
            cache[group] = split
        out.append(split)
    return pd.Series(out, index=groups.index, name="split", dtype="str")


def build_term_qa(params: BuildParams | None = None, **overrides: object) -> TermQADataset:
    """Build the terminology-QA data set from CLDR, without caching (see ``load_term_qa``).

    Args:
        params: Build parameters; defaults to ``BuildParams()``.
        **overrides: Fields of :class:`BuildParams` to change, e.g. ``size="small", seed=1``.

    Returns:
        The data set, sorted by ``example_id``, with one negative per positive where one can be
        made (roughly half of the examples are positives).
    """
    params = params or BuildParams()
    if overrides:
        params = BuildParams(**{**asdict(params), **overrides})
    pairs = cldr_pairs(params.locales, params.categories)
    pairs["group"] = pairs["source"].str.casefold()
    pairs["split"] = assign_splits(
        pairs["group"], params.seed, params.val_fraction, params.test_fraction
    )
    injector = ErrorInjector(pairs, params.seed)
    fraction = SIZES[params.size]
    ids = pairs["category"] + "/" + pairs["key"] + "/" + pairs["locale"]
    if fraction < 1.0:
        keep = [uniform(params.seed, "sample", pair_id) < fraction for pair_id in ids]
        pairs, ids = pairs[keep], ids[keep]
    positives = pairs.assign(example_id=ids + "/none", label=1, error_type="none").loc[
        :, list(COLUMNS)
    ]
    frame = pd.concat([positives, injector.negatives(pairs)], ignore_index=True)
    frame = frame.sort_values("example_id", kind="stable", ignore_index=True)
    frame = frame.astype({c: "str" for c in COLUMNS if c != "label"} | {"label": "int8"})
    fingerprint = data_fingerprint(frame, _versions())
    frame.attrs["loclab.data_fingerprint"] = fingerprint
    return TermQADataset(frame=frame, fingerprint=fingerprint, params=params)


def _versions() -> dict[str, str]:
    return {"cldr": cldr_version(), "builder": BUILDER_VERSION}


def uniform(seed: int, purpose: str, item: str) -> float:
    """A reproducible draw in [0, 1) for one item: a hash, not a shared random stream.

    The draw for one row never depends on the others, so adding rows moves nothing.
    """
    digest = hashlib.blake2b(f"{seed}\x1f{purpose}\x1f{item}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


class ErrorInjector:
    """Makes realistic QA errors for correct pairs, one per pair and round, reproducibly.

    Lookup tables come from the correct pairs it is built from: every correct target of a term
    (a "negative" equal to one of them is no error), partners for misaligned terms (same locale,
    split and category, so no test target is ever a training target), the term's translations
    in other locales (wrong language) and each locale's letters (corruption).

    Args:
        pairs: Correct pairs with ``source``, ``target`` and ``locale``; optional ``category``,
            ``key`` (one id per term across locales; the case-folded source by default) and
            ``split`` (``"train"`` by default).
        seed: Seed of every random choice.
    """

    def __init__(self, pairs: pd.DataFrame, seed: int) -> None:
        self.seed = seed
        pairs = _with_term_columns(pairs)
        self.valid: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.pool: dict[tuple[str, str, str], list[tuple[str, str]]] = defaultdict(list)
        self.by_term: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
        texts: dict[str, list[str]] = defaultdict(list)
        # Plain lists, not itertuples: iterating Arrow-backed string columns is slow.
        columns = [pairs[c].tolist() for c in ("group", "locale", "target", "split", "category")]
        keys = pairs["key"].tolist()
        for (group, locale, target, split, category), key in zip(
            zip(*columns, strict=True), keys, strict=True
        ):
            self.valid[(group, locale)].add(target)
            self.pool[(locale, split, category)].append((group, target))
            self.by_term[(category, key)].append((locale, target))
            texts[locale].append(target)
        self.alphabet = {
            loc: sorted(c for c in set("".join(t)) if char_script(c) is not None)
            for loc, t in texts.items()
        }
        scripts = {loc: dominant_scripts(t) for loc, t in texts.items()}
        self.same_script = {
            loc: {other for other in scripts if other != loc and scripts[other] & s}
            for loc, s in scripts.items()
        }

    def negatives(self, positives: pd.DataFrame, round: int = 0) -> pd.DataFrame:
        """One error for each correct pair of ``positives`` where one can be made.

        Args:
            positives: Correct pairs (same columns as the pairs the injector was built from).
            round: Different rounds draw different errors for the same pairs (a model can see
                fresh errors every epoch); round 0 gives the errors of the built data set.

        Returns:
            Rows with the :data:`COLUMNS` (``label`` 0); ``example_id`` is the pair's id with
            the error type, plus ``@round`` for rounds after 0.
        """
        rows = []
        suffix = f"@{round}" if round else ""
        for pair in _with_term_columns(positives).itertuples(index=False):
            pair_id = f"{pair.category}/{pair.key}/{pair.locale}"
            error = self.negative(pair, pair_id, round)
            if error is not None:
                error_type, target = error
                rows.append(
                    (
                        f"{pair_id}/{error_type}{suffix}",
                        pair.source,
                        target,
                        pair.locale,
                        pair.category,
                        pair.key,
                        0,
                        error_type,
                        pair.split,
                    )
                )
        return pd.DataFrame(rows, columns=list(COLUMNS))

    def negative(self, pair: Any, pair_id: str, round: int = 0) -> tuple[str, str] | None:
        """An (error type, damaged target) for one pair (a row with term columns), or None."""
        rng = random.Random(f"{self.seed}/error/{pair_id}" + (f"/{round}" if round else ""))
        order = list(ERROR_TYPES)
        rng.shuffle(order)
        # The first applicable type in a random order: uniform over the types that can be made.
        for error_type in order:
            target = getattr(self, f"_{error_type}")(pair, rng)
            if target is not None and self._is_error(pair, target):
                return error_type, target
        return None

    def _is_error(self, pair: Any, target: str) -> bool:
        return bool(target.strip()) and target not in self.valid[(pair.group, pair.locale)]

    def _misaligned(self, pair: Any, rng: random.Random) -> str | None:
        candidates = self.pool.get((pair.locale, pair.split, pair.category), [])
        for _ in range(8 if candidates else 0):
            group, target = rng.choice(candidates)
            if group != pair.group and target != pair.source:
                return target
        return None

    def _wrong_language(self, pair: Any, rng: random.Random) -> str | None:
        options = [
            (loc, t)
            for loc, t in self.by_term.get((pair.category, pair.key), ())
            if loc != pair.locale and t != pair.target and t.casefold() != pair.source.casefold()
        ]
        if not options:
            return None
        # Half the time a language in the same script (ru for uk, es for pt): the hard case.
        close = [o for o in options if o[0] in self.same_script.get(pair.locale, ())]
        return rng.choice(close if close and rng.random() < 0.5 else options)[1]

    def _untranslated(self, pair: Any, rng: random.Random) -> str | None:
        return None if pair.source.casefold() == pair.target.casefold() else pair.source

    def _corrupted(self, pair: Any, rng: random.Random) -> str | None:
        alphabet = self.alphabet.get(pair.locale) or sorted(set(pair.target))
        damaged = corrupt(pair.target, rng, alphabet)
        return None if damaged in (pair.target, pair.source) else damaged

    def _truncated(self, pair: Any, rng: random.Random) -> str | None:
        cut = truncate(pair.target, rng)
        return None if cut in (pair.target, pair.source) else cut


def _with_term_columns(pairs: pd.DataFrame) -> pd.DataFrame:
    # User data has no CLDR category or key: one category, and the source term as the key.
    out = pairs.loc[:, [c for c in ("source", "target", "locale") if c in pairs.columns]]
    out = out.astype(str)
    out["group"] = out["source"].str.casefold()
    out["category"] = pairs["category"].astype(str) if "category" in pairs.columns else "term"
    out["key"] = pairs["key"].astype(str) if "key" in pairs.columns else out["group"]
    out["split"] = pairs["split"].astype(str) if "split" in pairs.columns else "train"
    return out
