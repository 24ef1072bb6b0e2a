"""Vectorised, memory-bounded resampling kernels shared by the public tests."""

from __future__ import annotations

import numpy as np
from scipy import special

from ._base import CHUNK_BYTES, row_chunks

# Byte -> its 8 bits (0/1), used to expand random bytes into subsets of 8 examples.
_BYTE_BITS = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1).astype(np.float64)

# Columns (groups of 8 examples) per lookup block: 256 groups x 256 sums x 8 bytes = 512 KiB,
# small enough to stay in cache while every resample in the chunk gathers from it.
_LUT_BLOCK = 256


def all_sign_patterns(n: int) -> np.ndarray:
    """Every 0/1 vector of length ``n`` as rows of a (2**n, n) uint8 array."""
    codes = np.arange(2**n, dtype=np.int64)[:, None]
    return ((codes >> np.arange(n, dtype=np.int64)) & 1).astype(np.uint8)


def exact_subset_sums(values: np.ndarray) -> np.ndarray:
    """Sums of ``values`` over every subset (2**n of them), chunked to bound memory."""
    n = values.size
    out = np.empty(2**n, dtype=np.float64)
    step = max(1, CHUNK_BYTES // (9 * max(n, 1)))
    codes = np.arange(2**n, dtype=np.int64)
    shifts = np.arange(n, dtype=np.int64)
    for start in range(0, 2**n, step):
        block = codes[start : start + step, None]
        bits = ((block >> shifts) & 1).astype(np.float64)
        out[start : start + step] = bits @ values
    return out


def random_subset_sums(
    values: np.ndarray, n_resamples: int, rng: np.random.Generator
) -> np.ndarray:
    """Sums of ``values`` over ``n_resamples`` uniformly random subsets of its rows.

    Each row is included independently with probability 1/2 (a random sign flip or swap).
    Random bits are drawn as packed bytes and looked up in per-group tables of all 256 partial
    sums of 8 consecutive rows ("method of four Russians"): one gather replaces 8
    multiply-adds and nothing of size (resamples x rows) is ever materialised.

    Args:
        values: Shape ``(n,)`` or ``(n, k)``.
        n_resamples: Number of random subsets.
        rng: Random generator.

    Returns:
        Shape ``(n_resamples,)`` or ``(n_resamples, k)``.
    """
    n = values.shape[0]
    cols = values.reshape(n, -1)
    k = cols.shape[1]
    groups = -(-n // 8)
    padded = np.zeros((groups * 8, k), dtype=np.float64)
    padded[:n] = cols
    # tables[j, 256 g + byte] = column j summed over the rows of group g picked by the byte's
    # bits; one contiguous table per column keeps every gather and sum cache-friendly.
    tables = np.einsum("bj,gjk->kgb", _BYTE_BITS, padded.reshape(groups, 8, k))
    tables = np.ascontiguousarray(tables).reshape(k, groups * 256)
    out = np.empty((n_resamples, k), dtype=np.float64)
    # Per row: its random bytes, plus one block of gather indices and gathered sums.
    for rows in row_chunks(n_resamples, groups + 16 * _LUT_BLOCK + 8 * k):
        n_rows = rows.stop - rows.start
        words = rng.integers(0, 256, size=(n_rows, groups), dtype=np.uint8)
        acc = np.zeros((n_rows, k), dtype=np.float64)
        idx = np.empty((n_rows, min(_LUT_BLOCK, groups)), dtype=np.intp)
        for g0 in range(0, groups, _LUT_BLOCK):
            g1 = min(groups, g0 + _LUT_BLOCK)
            block_idx = idx[:, : g1 - g0]
            np.add(words[:, g0:g1], np.arange(g0 * 256, g1 * 256, 256), out=block_idx)
            for j in range(k):
                acc[:, j] += tables[j].take(block_idx).sum(axis=1)
        out[rows] = acc
    return out[:, 0] if values.ndim == 1 else out


def bootstrap_means(values: np.ndarray, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Means of ``n_resamples`` ordinary bootstrap resamples of ``values`` (chunked)."""
    n = values.size
    out = np.empty(n_resamples, dtype=np.float64)
    for rows in row_chunks(n_resamples, 16 * n):
        idx = rng.integers(0, n, size=(rows.stop - rows.start, n))
        out[rows] = values[idx].mean(axis=1)
    return out


def bootstrap_counts(n: int, n_rows: int, rng: np.random.Generator) -> np.ndarray:
    """A (n_rows, n) matrix of multinomial bootstrap counts (how often each unit is drawn)."""
    idx = rng.integers(0, n, size=(n_rows, n))
    flat = (idx + (np.arange(n_rows, dtype=np.int64) * n)[:, None]).ravel()
    return np.bincount(flat, minlength=n_rows * n).reshape(n_rows, n).astype(np.float64)


def percentile_ci(boot: np.ndarray, confidence: float) -> tuple[float, float]:
    """Percentile interval of a bootstrap distribution."""
    tail = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(boot, [tail, 1.0 - tail])
    return float(lo), float(hi)


def bca_parameters(
    boot: np.ndarray, theta_hat: float, jackknife: np.ndarray
) -> tuple[float, float]:
    """Bias correction ``z0`` and acceleration ``a`` of the BCa interval (Efron 1987).

    ``z0`` uses the mid-rank of ``theta_hat`` among the bootstrap values (as scipy does) so that
    ties do not bias it; ``a`` is the skewness of the jackknife values.
    """
    below = np.count_nonzero(boot < theta_hat)
    at_or_below = np.count_nonzero(boot <= theta_hat)
    # A bootstrap distribution entirely on one side makes z0 infinite; keep it finite.
    frac = min(
        max((below + at_or_below) / (2.0 * boot.size), 0.5 / boot.size), 1.0 - 0.5 / boot.size
    )
    z0 = float(special.ndtri(frac))
    dev = jackknife.mean() - jackknife
    den = 6.0 * np.sum(dev**2) ** 1.5
    accel = float(np.sum(dev**3) / den) if den > 0 else 0.0
    return z0, accel


def bca_ci(
    boot: np.ndarray, theta_hat: float, jackknife: np.ndarray, confidence: float
) -> tuple[float, float]:
    """BCa interval from a bootstrap distribution and jackknife values."""
    z0, accel = bca_parameters(boot, theta_hat, jackknife)
    tail = (1.0 - confidence) / 2.0
    levels = []
    for z in (special.ndtri(tail), special.ndtri(1.0 - tail)):
        num = z0 + z
        levels.append(float(special.ndtr(z0 + num / (1.0 - accel * num))))
    lo, hi = np.quantile(boot, levels)
    return float(lo), float(hi)


def inversion_p_value(
    boot: np.ndarray,
    null_value: float,
    theta_hat: float | None = None,
    jackknife: np.ndarray | None = None,
) -> float:
    """Two-sided p-value obtained by inverting a percentile (or BCa) interval.

    It is the smallest ``1 - confidence`` at which the interval excludes ``null_value``, so the
    p-value and the interval always agree. With ``theta_hat`` and ``jackknife`` the BCa interval
    is inverted, otherwise the percentile interval. The bootstrap CDF at the null value is
    bounded away from 0 and 1 by ``1/(B+1)`` so that a finite number of resamples never yields
    p = 0.
    """
    size = boot.size
    below = np.count_nonzero(boot < null_value)
    at_or_below = np.count_nonzero(boot <= null_value)
    cdf = min(max((below + at_or_below) / 2.0, 1.0), size) / (size + 1.0)
    one_sided: float
    if theta_hat is None or jackknife is None:
        one_sided = cdf
    else:
        z0, accel = bca_parameters(boot, theta_hat, jackknife)
        w = float(special.ndtri(cdf)) - z0
        z_alpha = w / (1.0 + accel * w) - z0
        one_sided = float(special.ndtr(z_alpha))
    return float(min(1.0, 2.0 * min(one_sided, 1.0 - one_sided)))
