"""Non-neural baselines for terminology QA: a rule-based check and a logistic regression.

Both learn only from the training frame handed to :meth:`fit` (scripts of each locale, length
norms, feature weights), so nothing about test terms leaks in. They share one interface:
``fit(train_df)``, ``predict_proba(df)`` giving P(correct) per row, ``save(path)`` and
``load(path)``. scikit-learn only; torch is never imported here.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, Protocol, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction import FeatureHasher
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from loclab.data.features import PAIR_FEATURES, locale_scripts, pair_features

__all__ = [
    "BASELINES",
    "Baseline",
    "HashedPairFeatures",
    "NgramLogisticRegression",
    "RuleChecker",
    "load_baseline",
    "make_baseline",
]


class Baseline(Protocol):
    """What every baseline offers."""

    name: ClassVar[str]

    def fit(self, train: pd.DataFrame) -> Self:
        """Learn from rows with ``source``, ``target``, ``locale`` and ``label``."""
        ...

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """P(correct translation) of each row, shape (rows,)."""
        ...

    def save(self, path: Path | str) -> Path:
        """Write the fitted baseline to ``path``."""
        ...


class _Pickled:
    """Save/load by pickle, with the class checked on load."""

    name: ClassVar[str] = ""

    def save(self, path: Path | str) -> Path:
        """Write the fitted baseline to ``path`` (a pickle; load it only from trusted places).

        Args:
            path: File to write; a folder gets ``<name>.pkl`` inside it.

        Returns:
            The written file.
        """
        path = Path(path)
        if path.is_dir():
            path = path / f"{self.name}.pkl"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            pickle.dump({"name": self.name, "model": self}, fh)
        return path

    @classmethod
    def load(cls, path: Path | str) -> Self:
        """Read a baseline written by :meth:`save` (trusted files only: it is a pickle)."""
        with Path(path).open("rb") as fh:
            payload = pickle.load(fh)
        model = payload["model"]
        if not isinstance(model, cls):
            raise TypeError(f"{path} holds a {type(model).__name__}, not a {cls.__name__}")
        return model


class RuleChecker(_Pickled):
    """A rule-based QA check, the kind translation tools run before delivery.

    Rules: the target copies the source; the target is not in the locale's script; its length
    is outside the locale's normal range; digits differ; a bracket is left open. Thresholds and
    scripts come from the training positives. Each rule's reliability is measured on the training
    data too, so the score of a row is P(correct | the most damning rule that fires), and
    P(correct | no rule fires) when none does: calibrated, and still readable as rules.

    Args:
        length_quantile: Share of training positives allowed below (and above) the length range.
        script_threshold: Smallest share of letters in the locale's scripts that passes.
    """

    name: ClassVar[str] = "rule"
    RULES: ClassVar[tuple[str, ...]] = (
        "copy",
        "script_mismatch",
        "length_outlier",
        "digits_mismatch",
        "open_bracket",
    )

    def __init__(self, length_quantile: float = 0.02, script_threshold: float = 0.5) -> None:
        self.length_quantile = length_quantile
        self.script_threshold = script_threshold

    def fit(self, train: pd.DataFrame) -> Self:
        """Learn scripts and length ranges per locale, then each rule's reliability."""
        self.scripts_ = locale_scripts(train)
        feats = pair_features(train, self.scripts_)
        ratio = pd.Series(feats[:, PAIR_FEATURES.index("log_length_ratio")], index=train.index)
        positives = train["label"].to_numpy() == 1
        by_locale = ratio[positives].groupby(train.loc[positives, "locale"].astype(str))
        q = self.length_quantile
        self.length_range_ = {
            str(loc): (float(r.quantile(q)), float(r.quantile(1 - q))) for loc, r in by_locale
        }
        fired = self._fire(train, feats)
        labels = train["label"].to_numpy(dtype=float)
        # Laplace smoothing: a rule that fired on few training rows stays near 0.5.
        self.reliability_ = {
            rule: float((labels[fired[:, j]].sum() + 1) / (fired[:, j].sum() + 2))
            for j, rule in enumerate(self.RULES)
        }
        clean = ~fired.any(axis=1)
        self.clean_reliability_ = float((labels[clean].sum() + 1) / (clean.sum() + 2))
        return self

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """P(correct) of each row from the rules that fire on it."""
        fired = self._fire(frame, pair_features(frame, self.scripts_))
        reliability = np.array([self.reliability_[r] for r in self.RULES])
        worst = np.where(fired, reliability[None, :], np.inf).min(axis=1)
        return np.where(np.isinf(worst), self.clean_reliability_, worst)

    def explain(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Which rules fire on each row (boolean columns named after :attr:`RULES`)."""
        fired = self._fire(frame, pair_features(frame, self.scripts_))
        return pd.DataFrame(fired, columns=list(self.RULES), index=frame.index)

    def _fire(self, frame: pd.DataFrame, feats: np.ndarray) -> np.ndarray:
        col = {name: feats[:, i] for i, name in enumerate(PAIR_FEATURES)}
        has_letters = frame["source"].astype(str).str.contains(r"[^\W\d_]", regex=True).to_numpy()
        bounds = np.array(
            [self.length_range_.get(str(loc), (-np.inf, np.inf)) for loc in frame["locale"]],
            dtype=float,
        ).reshape(-1, 2)
        ratio = col["log_length_ratio"]
        return np.column_stack(
            [
                (col["copy_casefold"] == 1) & has_letters,
                col["script_match"] < self.script_threshold,
                (ratio < bounds[:, 0]) | (ratio > bounds[:, 1]),
                col["digits_match"] == 0,
                col["brackets_balanced"] == 0,
            ]
        )


class HashedPairFeatures:
    """Hashed character n-grams of the target plus pair features, shared by linear baselines.

    Features: the :data:`~loclab.data.features.PAIR_FEATURES` (copy flags, edit similarity,
    n-gram overlap, length ratio, script match...), standardized, each also binned and crossed
    with the locale (a copy is normal in German, not in Japanese), and the target's character
    n-grams tagged with the locale (what words of that language look like). Hashing keeps it
    fast and memory-bounded. Subclasses set ``ngram_range``, ``n_features`` and ``pair``.
    """

    ngram_range: tuple[int, int]
    n_features: int
    pair: bool

    def _fit_features(self, train: pd.DataFrame) -> sp.csr_matrix:
        """Learn scripts and scaling from ``train``; its matrix, restricted to used columns."""
        self.scripts_ = locale_scripts(train)
        dense = pair_features(train, self.scripts_)
        self.scaler_ = StandardScaler().fit(dense)
        matrix = self._matrix(train, dense)
        # Keep only hashed columns the training data uses: solvers' cost grows with the
        # width of the matrix, and unused columns would get zero weight anyway.
        self.columns_ = np.unique(matrix.indices)
        return matrix[:, self.columns_]

    def _features(self, frame: pd.DataFrame) -> sp.csr_matrix:
        """The matrix of any rows, with the columns learned by ``_fit_features``."""
        return self._matrix(frame, pair_features(frame, self.scripts_))[:, self.columns_]

    def _matrix(self, frame: pd.DataFrame, dense: np.ndarray) -> sp.csr_matrix:
        hasher = FeatureHasher(
            n_features=self.n_features, input_type="string", alternate_sign=False
        )
        tokens = hasher.transform(self._tokens(frame, dense))
        if not self.pair:
            return tokens.tocsr()
        return sp.hstack([sp.csr_matrix(self.scaler_.transform(dense)), tokens], format="csr")

    def _tokens(self, frame: pd.DataFrame, dense: np.ndarray) -> Iterator[list[str]]:
        lo, hi = self.ngram_range
        rows = zip(
            frame["source"].astype(str),
            frame["target"].astype(str),
            frame["locale"].astype(str),
            strict=True,
        )
        for i, (source, target, locale) in enumerate(rows):
            if not self.pair:
                yield _ngrams(f"{source} ||| {target}", lo, hi, "")
                continue
            tokens = _ngrams(target, lo, hi, f"{locale}|")
            # Coarse bins of the pair features, crossed with the locale: lets the linear model
            # learn per-language norms (a short target is fine in Chinese, suspicious in German).
            for name, value in zip(PAIR_FEATURES, dense[i], strict=True):
                tokens.append(f"{locale}|{name}={_bin(name, value)}")
            yield tokens


class NgramLogisticRegression(HashedPairFeatures, _Pickled):
    """Logistic regression over hashed character n-grams and pair features.

    See :class:`HashedPairFeatures` for the features.

    Args:
        ngram_range: Smallest and largest n of the target character n-grams.
        n_features: Size of the hashed feature space.
        C: Inverse regularization strength.
        pair: Use the pair features; False gives the plain bag of character n-grams over the
            concatenated pair (a reference point that cannot relate source to target).
        max_iter: Iterations of the solver.
    """

    name: ClassVar[str] = "ngram_lr"

    def __init__(
        self,
        ngram_range: tuple[int, int] = (1, 4),
        n_features: int = 2**20,
        C: float = 1.0,
        pair: bool = True,
        max_iter: int = 2000,
    ) -> None:
        self.ngram_range = ngram_range
        self.n_features = n_features
        self.C = C
        self.pair = pair
        self.max_iter = max_iter

    def fit(self, train: pd.DataFrame) -> Self:
        """Fit scripts, scaling and weights on the training rows."""
        matrix = self._fit_features(train)
        self.model_ = LogisticRegression(C=self.C, max_iter=self.max_iter, solver="liblinear")
        self.model_.fit(matrix, train["label"].to_numpy())
        return self

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """P(correct) of each row."""
        classes = list(self.model_.classes_)
        proba: np.ndarray = self.model_.predict_proba(self._features(frame))[:, classes.index(1)]
        return proba


def _ngrams(text: str, lo: int, hi: int, tag: str) -> list[str]:
    padded = f"\x02{text}\x03"  # start/end marks: a truncated word ends where words never do
    return [
        tag + padded[i : i + n]
        for n in range(lo, hi + 1)
        for i in range(max(len(padded) - n + 1, 0))
    ]


def _bin(name: str, value: float) -> str:
    if name in {"edit_similarity", "ngram_overlap", "script_match"}:
        return str(min(int(value * 5), 4))
    if name == "log_length_ratio":
        return str(int(np.clip(np.floor(value * 4), -8, 8)))
    return str(int(np.clip(value, -3, 3)))


#: Baseline name (as the notebook's ``model`` parameter spells it) to its class.
BASELINES: dict[str, type[RuleChecker] | type[NgramLogisticRegression]] = {
    RuleChecker.name: RuleChecker,
    NgramLogisticRegression.name: NgramLogisticRegression,
}


def make_baseline(name: str, **params: Any) -> RuleChecker | NgramLogisticRegression:
    """A new, unfitted baseline by name (``"rule"`` or ``"ngram_lr"``).

    Args:
        name: Key of :data:`BASELINES`.
        **params: Constructor arguments.

    Returns:
        The baseline.
    """
    try:
        cls = BASELINES[name]
    except KeyError:
        raise ValueError(f"unknown baseline {name!r}; choose from {sorted(BASELINES)}") from None
    return cls(**params)


def load_baseline(path: Path | str) -> RuleChecker | NgramLogisticRegression:
    """Read any baseline written by ``save`` (trusted files only: it is a pickle)."""
    with Path(path).open("rb") as fh:
        payload = pickle.load(fh)
    if payload.get("name") not in BASELINES:
        raise TypeError(f"{path} holds no loclab baseline")
    model: RuleChecker | NgramLogisticRegression = payload["model"]
    return model
