"""Type-I error of the tests the comparison stage picks by itself, over a grid of null designs.

Run with the project's interpreter (``nice -n 10 .venv/bin/python
benchmarks/stats_calibration.py``; ``--quick`` runs a smaller grid with fewer repetitions,
``--only seeds`` one family). Every design
simulates two systems that are equally good by construction and prints the share of comparisons
rejected at alpha = 0.05 with its Monte Carlo standard error; the target band is
[0.035, 0.065]. Nothing is asserted: ``tests/stats/test_stats_calibration.py`` holds the checks
that run in CI, on designs this grid does not share with them.

Families (what ``loclab.compare`` runs automatically):

* ``seeds``: :func:`loclab.stats.two_level_bootstrap` (several runs per system, per-example
  scores), balanced and unbalanced seed counts, with and without seed-to-seed variance,
  continuous and 0/1 scores, few and many examples;
* ``mcnemar``: mid-p McNemar (one run each, 0/1 outcomes);
* ``permutation``: paired permutation test (one run each, continuous scores);
* ``seed_level``: exact permutation over per-run scores;
* ``corpus``: approximate randomization of corpus BLEU (one run each);
* ``bootstrap``: :func:`loclab.stats.paired_bootstrap` (percentile and BCa) and the corpus
  bootstrap p-value, which are offered but never picked automatically.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

import loclab.stats as ls

ALPHA = 0.05
BAND = (0.035, 0.065)


def crossed(
    rng: np.random.Generator,
    seeds_a: int,
    seeds_b: int,
    n: int,
    seed_sd: float,
    noise_sd: float,
    system_sd: float,
    binary: bool,
    seed_sd_b: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Two equally good systems: shared example difficulty, own per-example profile, seed luck.

    ``seed_sd_b`` (default ``seed_sd``) lets B vary more or less from seed to seed than A.
    Binary scores are Bernoulli draws of the logistic of the latent score.
    """
    example = rng.normal(0.0, 1.0, n)
    out = []
    for seeds, sd in ((seeds_a, seed_sd), (seeds_b, seed_sd if seed_sd_b is None else seed_sd_b)):
        latent = (
            example
            + rng.normal(0.0, system_sd, n)
            + rng.normal(0.0, sd, (seeds, 1))
            + rng.normal(0.0, noise_sd, (seeds, n))
        )
        if binary:
            latent = (rng.random((seeds, n)) < 1.0 / (1.0 + np.exp(-latent))).astype(float)
        out.append(latent)
    return out[0], out[1]


def rate(reps: int, one: Callable[..., float], rng: np.random.Generator, **params: Any) -> float:
    """Share of ``reps`` null comparisons whose p-value is at most alpha."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return sum(one(i, rng, **params) <= ALPHA for i in range(reps)) / reps


def report(label: str, value: float, reps: int) -> None:
    se = math.sqrt(ALPHA * (1 - ALPHA) / reps)
    flag = "" if BAND[0] <= value <= BAND[1] else "   <-- outside [0.035, 0.065]"
    print(f"  {label:<62} {value:.4f}  (MC SE {se:.4f}){flag}", flush=True)


def seeded(label: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(label.encode()))


# Seed-to-seed SD of each scenario, as a multiple of the standard error of one run's mean.
SEED_SCENARIOS = {"no seed variance": 0.0, "seed SD = 1 run SE": 1.0, "seed SD = 5 run SE": 5.0}


def seeds_designs(quick: bool) -> Iterator[tuple[int, int, int, str, bool]]:
    pairs = [(2, 10), (3, 8), (2, 3), (2, 2), (4, 4), (10, 2), (2, 20), (4, 7), (6, 6)]
    sizes = [40, 400, 3000]
    if quick:
        pairs, sizes = [(2, 10), (3, 8), (2, 2), (4, 4)], [40, 400]
    for sa, sb in pairs:
        for n in sizes:
            for scenario in SEED_SCENARIOS:
                for binary in (False, True):
                    yield sa, sb, n, scenario, binary


def one_seeds(i: int, rng: np.random.Generator, **design: Any) -> float:
    # A baseline that ignores its seed: one run, repeated (it has no seed luck to average).
    identical = design.get("seed_sd_b") == -1.0
    if identical:
        design = {**design, "seed_sd_b": 0.0}
    a, b = crossed(rng, **design)
    if identical:
        b = np.repeat(b[:1], b.shape[0], axis=0)
    return float(ls.two_level_bootstrap(a, b, n_resamples=2, seed=i).p_value or 0.0)


def bench_seeds(reps: int, quick: bool) -> None:
    print("[seeds] two_level_bootstrap: equally good systems, seeds x examples", flush=True)
    for sa, sb, n, scenario, binary in seeds_designs(quick):
        label = (
            f"{sa} vs {sb} seeds, {n} examples, {'0/1' if binary else 'continuous'}, {scenario}"
        )
        # One run's mean has SE ~ noise / sqrt(n) (about 0.45 / sqrt(n) for 0/1 scores).
        run_se = (0.45 if binary else 1.0) / math.sqrt(n)
        design = {
            "seeds_a": sa, "seeds_b": sb, "n": n, "seed_sd": SEED_SCENARIOS[scenario] * run_se,
            "noise_sd": 0.0 if binary else 1.0, "system_sd": 0.3, "binary": binary,
        }  # fmt: skip
        report(label, rate(reps, one_seeds, seeded(label), **design), reps)


def bench_seeds_unequal(reps: int, deterministic: bool) -> None:
    print("[seeds] unequal seed-to-seed spread (outside the equal-spread null)", flush=True)
    ratios = [0.0, 2.0] + ([-1.0] if deterministic else [])
    for sa, sb in [(2, 10), (10, 2), (3, 8), (5, 5)]:
        for ratio in ratios:
            n = 400
            seed_sd = 5.0 / math.sqrt(n)
            what = "identical runs" if ratio < 0 else f"seed SD {ratio:g} x A's"
            label = f"{sa} vs {sb} seeds, B: {what}"
            design = {
                "seeds_a": sa, "seeds_b": sb, "n": n, "seed_sd": seed_sd, "noise_sd": 1.0,
                "system_sd": 0.3, "binary": False,
                "seed_sd_b": -1.0 if ratio < 0 else ratio * seed_sd,
            }  # fmt: skip
            report(label, rate(reps, one_seeds, seeded(label), **design), reps)


def one_mcnemar(i: int, rng: np.random.Generator, n: int, logit: float) -> float:
    prob = 1.0 / (1.0 + np.exp(-rng.normal(logit, 1.5, n)))
    a, b = rng.random(n) < prob, rng.random(n) < prob
    return ls.mcnemar(a, b, mid_p=True).p_value or 0.0


def bench_mcnemar(reps: int) -> None:
    print("[mcnemar] mid-p McNemar, one run each, correlated 0/1 outcomes", flush=True)
    for n, accuracy in [(30, 0.7), (100, 0.8), (500, 0.6), (3000, 0.9)]:
        label = f"{n} examples, accuracy {accuracy}"
        logit = math.log(accuracy / (1 - accuracy))
        report(label, rate(reps, one_mcnemar, seeded(label), n=n, logit=logit), reps)


def one_permutation(i: int, rng: np.random.Generator, n: int) -> float:
    example = rng.normal(0.0, 1.0, n)
    a = example + rng.gamma(0.5, 1.0 + np.abs(example))
    b = example + rng.gamma(0.5, 1.0 + np.abs(example))
    return ls.paired_permutation_test(a, b, n_resamples=999, seed=i).p_value or 0.0


def bench_permutation(reps: int) -> None:
    print("[permutation] paired permutation test, one run each, continuous scores", flush=True)
    for n in (12, 40, 300, 3000):
        label = f"{n} examples, skewed heteroscedastic noise"
        report(label, rate(reps, one_permutation, seeded(label), n=n), reps)


def one_seed_level(i: int, rng: np.random.Generator, na: int, nb: int) -> float:
    a, b = rng.lognormal(0.0, 0.5, na), rng.lognormal(0.0, 0.5, nb)
    return ls.seed_level_test(a, b).p_value or 0.0


def bench_seed_level(reps: int) -> None:
    print("[seed_level] one score per run (lognormal scores)", flush=True)
    for na, nb in [(3, 3), (4, 4), (3, 8), (2, 10), (5, 5), (6, 9), (2, 3)]:
        label = f"{na} vs {nb} runs"
        report(label, rate(reps, one_seed_level, seeded(label), na=na, nb=nb), reps)


def bleu_stats(rng: np.random.Generator, ref_len: np.ndarray, quality: np.ndarray) -> np.ndarray:
    n = ref_len.size
    hyp_len = np.maximum(1, ref_len + rng.integers(-3, 4, n))
    stats = np.zeros((n, 10))
    stats[:, 0], stats[:, 1] = hyp_len, ref_len
    for order in range(1, 5):
        total = np.maximum(hyp_len - order + 1, 0)
        stats[:, 5 + order] = total
        stats[:, 1 + order] = rng.binomial(total, quality**order)
    return stats


def one_corpus(i: int, rng: np.random.Generator, n: int, test: str, own: bool = False) -> float:
    ref_len, quality = rng.integers(5, 40, n), rng.beta(4, 3, n)
    if own:  # each system's quality varies by segment on its own (still exchangeable)
        qa, qb = (np.clip(quality + rng.normal(0.0, 0.15, n), 0.01, 0.99) for _ in range(2))
        a, b = bleu_stats(rng, ref_len, qa), bleu_stats(rng, ref_len, qb)
    else:
        a, b = bleu_stats(rng, ref_len, quality), bleu_stats(rng, ref_len, quality)
    metric = ls.BleuMetric()
    if test == "ar":
        res = ls.corpus_metric_test(a, b, metric, n_resamples=499, ci_resamples=0, seed=i)
    else:
        res = ls.corpus_metric_test(a, b, metric, test="bootstrap", n_resamples=999, seed=i)
    return res.p_value or 0.0


def bench_corpus(reps: int) -> None:
    print("[corpus] approximate randomization of corpus BLEU, one run each", flush=True)
    for n in (40, 300, 2000):
        label = f"{n} segments"
        report(label, rate(reps, one_corpus, seeded(label), n=n, test="ar"), reps)


def null_differences(rng: np.random.Generator, n: int, dist: str) -> np.ndarray:
    """Per-example differences of two equally good systems (symmetric about 0)."""
    if dist == "normal":
        return rng.normal(0.0, 1.0, n)
    if dist == "t(3)":
        return rng.standard_t(3, n)
    if dist == "0/1 pairs":  # exchangeable correct/incorrect outcomes, examples differ
        p = 1.0 / (1.0 + np.exp(-rng.normal(1.0, 1.5, n)))
        return (rng.random(n) < p).astype(float) - (rng.random(n) < p)
    # Heavy-tailed: exchangeable skewed scores whose spread varies by example.
    e = rng.gamma(0.7, 1.0, n)
    return e * rng.gamma(1.0, 1.0, n) - e * rng.gamma(1.0, 1.0, n)


def one_bootstrap(i: int, rng: np.random.Generator, n: int, method: str, dist: str) -> float:
    d = null_differences(rng, n, dist)
    res = ls.paired_bootstrap(d, np.zeros(n), n_resamples=999, seed=i, method=method)
    return res.p_value or 0.0


def bench_bootstrap(reps: int) -> None:
    print("[bootstrap] offered, never picked automatically", flush=True)
    for dist in ("normal", "t(3)", "0/1 pairs", "heavy-tailed"):
        for n in (20, 50, 100, 200, 500):
            for method in ("percentile", "bca"):
                label = f"paired_bootstrap {method}, n = {n}, {dist} differences"
                found = rate(reps, one_bootstrap, seeded(label), n=n, method=method, dist=dist)
                report(label, found, reps)
    for n in (50, 300, 2000):
        label = f"corpus bootstrap (loclab p-value), {n} segments"
        report(label, rate(reps, one_corpus, seeded(label), n=n, test="bootstrap"), reps)
    for n in (30, 60, 100):
        label = f"corpus bootstrap (loclab p-value), {n} segments, own segment quality"
        found = rate(reps, one_corpus, seeded(label), n=n, test="bootstrap", own=True)
        report(label, found, reps)


FAMILIES = {
    "seeds": lambda reps, quick: (bench_seeds(reps, quick), bench_seeds_unequal(reps, True)),
    "mcnemar": lambda reps, quick: bench_mcnemar(reps),
    "permutation": lambda reps, quick: bench_permutation(reps),
    "seed_level": lambda reps, quick: bench_seed_level(reps),
    "corpus": lambda reps, quick: bench_corpus(reps // 2),
    "bootstrap": lambda reps, quick: bench_bootstrap(reps // 2),  # 2,000 per cell
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--reps", type=int, help="null comparisons per design (4,000; 1,000 quick)"
    )
    parser.add_argument("--quick", action="store_true", help="smaller grid, 1,000 repetitions")
    parser.add_argument("--only", choices=sorted(FAMILIES), action="append", help="one family")
    args = parser.parse_args(argv)
    reps = args.reps or (1000 if args.quick else 4000)
    started = time.perf_counter()
    for name in args.only or list(FAMILIES):
        FAMILIES[name](reps, args.quick)
    print(f"done in {time.perf_counter() - started:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
