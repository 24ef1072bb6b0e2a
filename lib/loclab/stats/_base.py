"""Shared plumbing for :mod:`loclab.stats`: input checks, result serialisation, chunking.

Everything here is private; the public API lives in the sibling modules and is re-exported by
``loclab/stats/__init__.py``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

# A single working buffer is kept around this size so that memory stays bounded whatever the
# number of examples or resamples (1e6 examples x 1e4 resamples must fit in well under 2 GB).
CHUNK_BYTES = 32 * 1024 * 1024


def _jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays, tuples and non-finite floats to plain JSON types."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        # NaN and infinity are not JSON; None keeps stored reports parseable everywhere.
        return value if math.isfinite(value) else None
    return value


class ResultMixin:
    """Behaviour shared by every result object: ``to_dict`` and ``str`` as the summary."""

    def to_dict(self) -> dict[str, Any]:
        """Return the result as JSON-serialisable plain Python types.

        Non-finite numbers (NaN, infinity) become ``None``; tuples become lists. The
        plain-language summary is included under ``"summary"``.

        Returns:
            A dictionary that ``json.dumps`` accepts.
        """
        out: dict[str, Any] = _jsonable(self)
        out["summary"] = self.summary()
        return out

    def summary(self) -> str:
        """One plain-language sentence describing the result (each result defines it)."""
        raise NotImplementedError

    def __str__(self) -> str:
        return self.summary()


def as_1d(x: Any, name: str) -> np.ndarray:
    """Return ``x`` as a finite 1-D float64 array or raise a ValueError naming ``name``."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"`{name}` must be one-dimensional, got shape {arr.shape}.")
    if arr.size == 0:
        raise ValueError(f"`{name}` is empty; at least one value is needed.")
    check_finite(arr, name)
    return arr


def as_2d(x: Any, name: str) -> np.ndarray:
    """Return ``x`` as a finite 2-D float64 array (rows = seeds) or raise a ValueError."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ValueError(
            f"`{name}` must have shape (seeds, examples) or (examples,), got shape {arr.shape}."
        )
    if arr.size == 0:
        raise ValueError(f"`{name}` is empty; at least one value is needed.")
    check_finite(arr, name)
    return arr


def check_finite(arr: np.ndarray, name: str) -> None:
    """Raise a ValueError naming ``name`` if ``arr`` holds NaN or infinite values."""
    if not np.all(np.isfinite(arr)):
        bad = np.flatnonzero(~np.isfinite(arr.ravel()))
        kind = "NaN" if np.isnan(arr.ravel()[bad[0]]) else "infinite"
        raise ValueError(
            f"`{name}` contains {bad.size} non-finite value(s) ({kind} at flat index "
            f"{int(bad[0])}); drop or impute them explicitly before testing."
        )


def paired(a: Any, b: Any, name_a: str = "a", name_b: str = "b") -> tuple[np.ndarray, np.ndarray]:
    """Validate two paired 1-D samples of equal length."""
    x = as_1d(a, name_a)
    y = as_1d(b, name_b)
    if x.shape != y.shape:
        raise ValueError(
            f"`{name_a}` and `{name_b}` must be paired (same length), got {x.size} and "
            f"{y.size} values."
        )
    return x, y


def check_n_resamples(n_resamples: int, minimum: int = 1) -> int:
    """Validate a resample count."""
    if int(n_resamples) != n_resamples or n_resamples < minimum:
        raise ValueError(f"`n_resamples` must be an integer >= {minimum}, got {n_resamples!r}.")
    return int(n_resamples)


def check_confidence(confidence: float) -> float:
    """Validate a confidence level in (0, 1)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"`confidence` must be in (0, 1), got {confidence!r}.")
    return float(confidence)


def check_alpha(alpha: float) -> float:
    """Validate a significance level in (0, 1)."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"`alpha` must be in (0, 1), got {alpha!r}.")
    return float(alpha)


def make_rng(seed: int | np.random.SeedSequence) -> np.random.Generator:
    """Build the generator for one call; only explicit seeds are accepted (reproducibility)."""
    if seed is None or isinstance(seed, np.random.Generator):
        raise TypeError(
            "`seed` must be an int (or SeedSequence): loclab.stats never draws unseeded "
            "randomness and does not share generators between calls."
        )
    return np.random.default_rng(seed)


def row_chunks(n_rows: int, bytes_per_row: int, budget: int = CHUNK_BYTES) -> Iterator[slice]:
    """Yield row slices whose working buffers stay within ``budget`` bytes."""
    step = max(1, budget // max(1, bytes_per_row))
    for start in range(0, n_rows, step):
        yield slice(start, min(n_rows, start + step))


def tie_tolerance(*scales: float) -> float:
    """Absolute tolerance for 'as extreme as observed' comparisons of resampled statistics.

    Resampled sums are accumulated in a different order than the observed one, so exact ties
    (common with integer-valued scores) would otherwise be broken by rounding noise.
    """
    scale = max((abs(s) for s in scales), default=0.0)
    return 1e-9 * scale + 1e-300


def fmt(x: float | None, digits: int = 3) -> str:
    """Format a number for sentences: ``digits`` decimals, or 2 significant figures if tiny."""
    if x is None or not math.isfinite(x):
        return "undefined"
    if x == 0:
        return "0"
    if round(abs(x), digits) == 0:
        return f"{x:.2g}"
    return f"{x:,.{digits}f}"


def chance_phrase(p: float | None, resolution: float | None = None) -> str:
    """Describe a p-value as 'about 1 time in N' for non-technical readers."""
    if p is None or not math.isfinite(p):
        return "could not be computed"
    if resolution is not None and resolution > 0 and p <= resolution * 1.0000001:
        # Resampling tests cannot go below 1 / (resamples + 1); say so rather than overclaim.
        return f"at most 1 time in {round(1 / resolution):,} (the finest this test resolves)"
    if p < 1e-9:
        # Includes p = 0 (a t tail below floating point, or no variation at all).
        return "less than 1 time in a billion"
    if p >= 0.995:
        return "nearly every time"
    if p >= 0.5:
        return f"more often than not (about {round(p * 100)} times in 100)"
    n = 1.0 / p
    if n < 20:
        return f"about 1 time in {n:.0f}"
    # Two significant figures are as precise as a p-value deserves.
    mag = 10 ** max(0, math.floor(math.log10(n)) - 1)
    return f"about 1 time in {int(round(n / mag) * mag):,}"


def ci_text(ci: tuple[float, float], confidence: float, digits: int = 3) -> str:
    """'95% CI 0.006 to 0.026', or a note that no interval was computed."""
    lo, hi = ci
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return "no confidence interval computed"
    return f"{round(confidence * 100)}% CI {fmt(lo, digits)} to {fmt(hi, digits)}"


def fmt_p(p: float | None) -> str:
    """Format a p-value compactly."""
    if p is None or not math.isfinite(p):
        return "undefined"
    if p < 1e-4:
        return f"{p:.1e}"
    return f"{p:.4f}" if p < 0.01 else f"{p:.3f}"


@dataclasses.dataclass(frozen=True)
class TestResult(ResultMixin):
    """Outcome of a two-sample comparison.

    Attributes:
        estimate: Point estimate of ``estimand`` (differences are always A minus B).
        ci: Confidence interval ``(low, high)`` at level ``confidence``; NaN when undefined.
        p_value: Two-sided p-value, or ``None`` when the procedure gives none.
        n: Number of paired units (examples, segments, datasets or seeds).
        method: Name of the test, including its resampling settings.
        estimand: What ``estimate`` measures, in words.
        statistic: The test statistic, when there is a conventional one.
        confidence: Confidence level of ``ci``.
        ci_method: How ``ci`` was computed.
        n_resamples: Resamples drawn (``None`` for analytic or exactly enumerated tests).
        se: Standard error of ``estimate`` (used for power and minimum detectable effects).
        df: Degrees of freedom of the t reference for ``se`` (``inf`` means normal).
        p_resolution: Smallest p-value the procedure can return.
        exact: Whether the null distribution was enumerated exactly.
        warning: Why the result should be read with care (e.g. a test known to reject more
            often than its level at this sample size), or None.
    """

    estimate: float
    ci: tuple[float, float]
    p_value: float | None
    n: int
    method: str
    estimand: str = "mean difference (A - B)"
    statistic: float | None = None
    confidence: float = 0.95
    ci_method: str = ""
    n_resamples: int | None = None
    se: float | None = None
    df: float | None = None
    p_resolution: float | None = None
    exact: bool = False
    warning: str | None = None

    def summary(self) -> str:
        """One plain-language sentence describing the result."""
        text = (
            f"{self.estimand[0].upper()}{self.estimand[1:]}: {fmt(self.estimate)} "
            f"({ci_text(self.ci, self.confidence)}; n = {self.n:,})"
        )
        if self.p_value is None:
            return text + f"; {self.method}."
        return (
            text + f"; {self.method}: p = {fmt_p(self.p_value)}, so a difference at least this "
            f"large would appear by chance {chance_phrase(self.p_value, self.p_resolution)} "
            "if there were no real difference."
            + (f" Warning: {self.warning}" if self.warning else "")
        )
