"""Non-neural baselines for quality estimation: a source-similarity heuristic and ridge regression.

Both learn only from the training rows handed to ``fit`` and share one interface:
``fit(train_df)`` (rows with ``source``, ``target``, ``locale``, ``score``), ``predict(df)``
giving a quality score per row on the training scores' scale, ``save(path)`` and
``load(path)``. scikit-learn only; torch is never imported here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Protocol, Self

import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge

from loclab.data.features import edit_similarity
from loclab.data.qe import chrf_similarity
from loclab.models.baselines import HashedPairFeatures, _Pickled

__all__ = [
    "QE_BASELINES",
    "NgramRidge",
    "QEBaseline",
    "SourceSimilarity",
    "make_qe_baseline",
]

# A locale needs this many training rows for its own line; others use the global one.
_MIN_ROWS_PER_LOCALE = 10


class QEBaseline(Protocol):
    """What every QE baseline offers."""

    name: ClassVar[str]

    def fit(self, train: pd.DataFrame) -> Self:
        """Learn from rows with ``source``, ``target``, ``locale`` and ``score``."""
        ...

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Predicted quality score of each row, shape (rows,)."""
        ...

    def save(self, path: Path | str) -> Path:
        """Write the fitted baseline to ``path``."""
        ...


class SourceSimilarity(_Pickled):
    """Quality from how much the translation resembles the source, one line per locale.

    Names of places, languages and currencies are often cognates or transliterations, so a
    translation that shares letters with the source tends to be right, and one that shares
    none may be misaligned; but an untranslated copy resembles the source perfectly. The
    heuristic scores the chrF (or edit similarity) of translation and source and maps it to
    the quality scale with a least-squares line fitted per target locale on the training
    rows (the global line for locales with few rows). It knows nothing about the target
    language: the floor a learned model has to beat.

    Args:
        similarity: ``"chrf"`` (sacrebleu chrF, whitespace kept) or ``"edit"``.
    """

    name: ClassVar[str] = "similarity"

    def __init__(self, similarity: str = "chrf") -> None:
        if similarity not in ("chrf", "edit"):
            raise ValueError(f"similarity must be 'chrf' or 'edit', not {similarity!r}")
        self.similarity = similarity

    def fit(self, train: pd.DataFrame) -> Self:
        """Fit the global line and one line per locale with enough rows."""
        x = self._similarity(train)
        y = train["score"].to_numpy(dtype=np.float64)
        self.global_ = _line(x, y)
        locales = train["locale"].astype(str).to_numpy()
        self.lines_ = {
            str(loc): _line(x[locales == loc], y[locales == loc])
            for loc in np.unique(locales)
            if int((locales == loc).sum()) >= _MIN_ROWS_PER_LOCALE
        }
        return self

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """The fitted line of each row's locale at its similarity."""
        x = self._similarity(frame)
        coef = np.array([self.lines_.get(str(loc), self.global_) for loc in frame["locale"]])
        coef = coef.reshape(len(frame), 2)
        return np.asarray(coef[:, 0] + coef[:, 1] * x, dtype=np.float64)

    def _similarity(self, frame: pd.DataFrame) -> np.ndarray:
        measure = chrf_similarity if self.similarity == "chrf" else edit_similarity
        pairs = zip(frame["target"].astype(str), frame["source"].astype(str), strict=True)
        return np.array([measure(t, s) for t, s in pairs], dtype=np.float64)


def _line(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    if x.size == 0:
        return 0.0, 0.0
    if x.size < 2 or float(np.ptp(x)) == 0.0:
        return float(y.mean()), 0.0
    slope, intercept = np.polyfit(x, y, 1)
    return float(intercept), float(slope)


class NgramRidge(HashedPairFeatures, _Pickled):
    """Ridge regression of the quality score on hashed character n-grams and pair features.

    The features of :class:`~loclab.models.baselines.HashedPairFeatures` (the term-QA
    logistic regression's): pair features (copy, similarity, length ratio, script match),
    their locale-crossed bins, and the target's locale-tagged character n-grams, which tell
    a well-formed word of the language from a garbled or foreign one.

    Args:
        ngram_range: Smallest and largest n of the target character n-grams.
        n_features: Size of the hashed feature space.
        alpha: L2 regularization strength.
        pair: Use the pair features (False: plain n-grams of the concatenated pair).
    """

    name: ClassVar[str] = "ridge"

    def __init__(
        self,
        ngram_range: tuple[int, int] = (1, 4),
        n_features: int = 2**20,
        alpha: float = 10.0,
        pair: bool = True,
    ) -> None:
        self.ngram_range = ngram_range
        self.n_features = n_features
        self.alpha = alpha
        self.pair = pair

    def fit(self, train: pd.DataFrame) -> Self:
        """Fit scripts, scaling and weights on the training rows."""
        matrix = self._fit_features(train)
        self.model_ = Ridge(alpha=self.alpha, solver="sparse_cg", tol=1e-6)
        self.model_.fit(matrix, train["score"].to_numpy(dtype=np.float64))
        return self

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Predicted score of each row."""
        return np.asarray(self.model_.predict(self._features(frame)), dtype=np.float64)


#: QE baseline name (as the QE notebook's ``model`` parameter spells it) to its class.
QE_BASELINES: dict[str, type[SourceSimilarity] | type[NgramRidge]] = {
    SourceSimilarity.name: SourceSimilarity,
    NgramRidge.name: NgramRidge,
}


def make_qe_baseline(name: str, **params: Any) -> SourceSimilarity | NgramRidge:
    """A new, unfitted QE baseline by name (``"similarity"`` or ``"ridge"``).

    Args:
        name: Key of :data:`QE_BASELINES`.
        **params: Constructor arguments.

    Returns:
        The baseline.
    """
    try:
        cls = QE_BASELINES[name]
    except KeyError:
        raise ValueError(
            f"unknown QE baseline {name!r}; choose from {sorted(QE_BASELINES)}"
        ) from None
    return cls(**params)
