"""Vectorised kernels of the correlation tests: weighted (bootstrap) and leave-one-out values.

A bootstrap resample is a row of counts (how often each example was drawn), so every kernel
takes counts ``w`` of shape ``(resamples, examples)`` and returns one coefficient per row;
nothing of size (resamples x examples) is ever gathered. Leave-one-out kernels return the
coefficient without each example in turn, from updated sums.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import stats as sps

__all__ = [
    "LEAVE_ONE_OUT",
    "WEIGHTED",
    "kendall",
    "pearson",
    "pearson_rows",
    "ranks",
    "weighted_kendall_many",
]

# Examples per block when a computation needs an (examples x examples) sign matrix.
_PAIR_BLOCK = 512


def ranks(x: np.ndarray) -> np.ndarray:
    """Average ranks (ties share the mean of their positions), 1-based."""
    return np.asarray(sps.rankdata(x, method="average"), dtype=np.float64)


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson r; 0.0 when either sample is constant."""
    xc, yc = x - x.mean(), y - y.mean()
    den = math.sqrt(float(xc @ xc) * float(yc @ yc))
    # A constant prediction carries no information about quality: correlation 0, not NaN.
    return float(xc @ yc) / den if den > 0 else 0.0


def kendall(x: np.ndarray, y: np.ndarray) -> float:
    """Kendall tau-b."""
    # Tau-b from sign matrices (O(n²), no per-call overhead): the same code as the bootstrap.
    return float(_weighted_kendall(np.ones((1, x.size)), x, y)[0])


def _weighted_pearson(w: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson r of ``x`` and ``y`` with each row of ``w`` as example weights (counts)."""
    # Centre once: moments of centred data lose no precision to cancellation.
    xc, yc = x - x.mean(), y - y.mean()
    return pearson_rows(w, np.broadcast_to(xc, w.shape), np.broadcast_to(yc, w.shape))


def pearson_rows(w: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson r of each row of ``x`` and ``y`` (same shape as ``w``) weighted by ``w``."""
    total = w.sum(axis=1)
    sx, sy = (w * x).sum(axis=1), (w * y).sum(axis=1)
    sxx, syy, sxy = (w * x * x).sum(axis=1), (w * y * y).sum(axis=1), (w * x * y).sum(axis=1)
    cov = total * sxy - sx * sy
    var = (total * sxx - sx * sx) * (total * syy - sy * sy)
    return np.where(var > 0, cov / np.sqrt(np.where(var > 0, var, 1.0)), 0.0)


def _weighted_midranks(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Average ranks of every example within each resample (rows of counts ``w``)."""
    order = np.argsort(x, kind="stable")
    values = x[order]
    starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
    group = np.empty(x.size, dtype=np.intp)
    group[order] = np.cumsum(np.r_[True, values[1:] != values[:-1]]) - 1
    # Draws per group of equal values, then the ranks they occupy: before + (count + 1) / 2.
    per_group = np.add.reduceat(w[:, order], starts, axis=1)
    before = np.cumsum(per_group, axis=1) - per_group
    return (before + (per_group + 1.0) / 2.0)[:, group]


def _weighted_spearman(w: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return pearson_rows(w, _weighted_midranks(w, x), _weighted_midranks(w, y))


def _weighted_kendall(w: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Kendall tau-b of each resample: copies of one example are tied pairs in both."""
    out: np.ndarray = weighted_kendall_many(w, [x], y)[0]
    return out


def weighted_kendall_many(w: np.ndarray, xs: list[np.ndarray], y: np.ndarray) -> np.ndarray:
    """Tau-b of every ``x`` in ``xs`` with ``y``, per row of counts ``w``: (len(xs), rows).

    Sums over ordered pairs of draws ``w_i w_j s_ij`` are ``w S w``; all sign matrices of
    one block of examples go through a single matrix product.
    """
    n, k = y.size, len(xs)
    sums = np.zeros((2 * k + 1, w.shape[0]))
    for start in range(0, n, _PAIR_BLOCK):
        stop = min(n, start + _PAIR_BLOCK)
        sy = np.sign(y[start:stop, None] - y[None, :])
        signs = [np.sign(x[start:stop, None] - x[None, :]) for x in xs]
        blocks = [*(s * sy for s in signs), *(np.abs(s) for s in signs), np.abs(sy)]
        product = w[:, start:stop] @ np.concatenate(blocks, axis=1)
        sums += np.matmul(product.reshape(w.shape[0], len(blocks), n), w[:, :, None])[..., 0].T
    den = np.sqrt(sums[k : 2 * k] * sums[2 * k])
    return np.where(den > 0, sums[:k] / np.where(den > 0, den, 1.0), 0.0)


WEIGHTED: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]] = {
    "pearson": _weighted_pearson,
    "spearman": _weighted_spearman,
    "kendall": _weighted_kendall,
}


def _loo_pearson(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    xc, yc = x - x.mean(), y - y.mean()
    n = x.size
    m = n - 1.0
    sx, sy = xc.sum() - xc, yc.sum() - yc
    sxx, syy, sxy = (xc @ xc) - xc * xc, (yc @ yc) - yc * yc, (xc @ yc) - xc * yc
    cov = m * sxy - sx * sy
    var = (m * sxx - sx * sx) * (m * syy - sy * sy)
    return np.where(var > 0, cov / np.sqrt(np.where(var > 0, var, 1.0)), 0.0)


def _loo_spearman(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    rx, ry = ranks(x), ranks(y)
    out = np.empty(x.size)
    for start in range(0, x.size, _PAIR_BLOCK):
        rows = np.arange(start, min(x.size, start + _PAIR_BLOCK))
        # Without example i, ranks above it drop by 1 and ranks tied with it by 1/2.
        ax = rx[None, :] - (x[None, :] > x[rows, None]) - 0.5 * (x[None, :] == x[rows, None])
        ay = ry[None, :] - (y[None, :] > y[rows, None]) - 0.5 * (y[None, :] == y[rows, None])
        keep = np.ones((rows.size, x.size))
        keep[np.arange(rows.size), rows] = 0.0
        out[rows] = pearson_rows(keep, ax, ay)
    return out


def _loo_kendall(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    n = x.size
    concordance, untied_x, untied_y = np.empty(n), np.empty(n), np.empty(n)
    for start in range(0, n, _PAIR_BLOCK):
        stop = min(n, start + _PAIR_BLOCK)
        sx = np.sign(x[start:stop, None] - x[None, :])
        sy = np.sign(y[start:stop, None] - y[None, :])
        concordance[start:stop] = (sx * sy).sum(axis=1)
        untied_x[start:stop] = np.abs(sx).sum(axis=1)
        untied_y[start:stop] = np.abs(sy).sum(axis=1)
    # Totals over unordered pairs, minus the pairs example i takes part in.
    c = concordance.sum() / 2.0 - concordance
    tx = untied_x.sum() / 2.0 - untied_x
    ty = untied_y.sum() / 2.0 - untied_y
    den = np.sqrt(tx * ty)
    return np.where(den > 0, c / np.where(den > 0, den, 1.0), 0.0)


LEAVE_ONE_OUT: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "pearson": _loo_pearson,
    "spearman": _loo_spearman,
    "kendall": _loo_kendall,
}
