"""What the design could not measure, and what would settle a comparison that is too close.

* One training run per system: training noise was not measured, so the verdict could change
  with another seed; it says so, and how many seeds would measure it.
* A system whose runs are identical on every seed ignores its seed (deterministic): its
  seed-to-seed spread is exactly zero, which the tests use as such.
* Too close to call: the next step names how many seeds per system, or how many examples,
  would detect the difference that matters (or the one observed, without a threshold) 80 %
  of the time, from :func:`loclab.stats.power` on the data at hand.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from loclab.compare._display import Display
from loclab.compare._types import ComparisonData, MetricData
from loclab.spec.compare import CompareSpec
from loclab.stats import TestResult, power

__all__ = [
    "SEEDS_ADVISED",
    "deterministic_systems",
    "next_step",
    "one_run_caveat",
    "seed_agreement",
]

#: Seeds per system advised when training noise was not measured at all: fewer leave the
#: seed-to-seed spread too uncertain for the seeds test to have useful power.
SEEDS_ADVISED = 5
_TARGET_POWER = 0.8


def deterministic_systems(data: ComparisonData) -> set[str]:
    """Systems with two or more runs that are identical on every compared metric."""
    found = set()
    for name, runs in data.systems.items():
        if len(runs.seeds) < 2:
            continue
        if all(_identical_rows(m.values[name]) for m in data.metrics.values()):
            found.add(name)
    return found


def _identical_rows(values: np.ndarray) -> bool:
    v = np.asarray(values)
    return bool(v.shape[0] >= 2 and np.array_equal(v, np.broadcast_to(v[0], v.shape)))


def one_run_caveat(
    data: ComparisonData, compare: CompareSpec, system: str, deterministic: set[str]
) -> str:
    """The warning for a comparison with one training run of a system ("" when none applies).

    Systems whose outputs were given (no ``systems:``, e.g. MT engines) are not trained here,
    and a deterministic system's training noise is known to be zero.
    """
    if compare.discovered:
        return ""
    base = data.baseline
    single = [
        s for s in (system, base) if len(data.systems[s].seeds) == 1 and s not in deterministic
    ]
    if not single:
        return ""
    who = " and ".join(data.systems[s].label for s in single)
    ran = "each ran once" if len(single) == 2 else "ran once"
    return (
        f"Training noise was not measured: {who} {ran}, so retraining with another seed could "
        f"change this verdict; train at least {SEEDS_ADVISED} seeds per system "
        f"(compare.seeds: {SEEDS_ADVISED}) to measure it."
    )


def seed_agreement(
    metric: MetricData, data: ComparisonData, system: str, deterministic: set[str]
) -> dict[str, int] | None:
    """On how many seeds the candidate minus the baseline has the overall difference's sign.

    Runs are paired by seed; a deterministic system's value stands for every seed.
    """
    base = data.baseline
    a, b = metric.per_run(system), metric.per_run(base)
    seeds_a, seeds_b = data.systems[system].seeds, data.systems[base].seeds
    pairs: list[tuple[float, float]] = []
    if base in deterministic:
        pairs = [(float(x), float(b[0])) for x in a]
    elif system in deterministic:
        pairs = [(float(a[0]), float(y)) for y in b]
    else:
        where = {s: i for i, s in enumerate(seeds_b) if s is not None}
        pairs = [(float(a[i]), float(b[where[s]])) for i, s in enumerate(seeds_a) if s in where]
    if len(pairs) < 2:
        return None
    diffs = np.asarray([x - y for x, y in pairs])
    overall = float(np.mean(a) - np.mean(b))
    same = int(np.sum(np.sign(diffs) == np.sign(overall))) if overall != 0 else 0
    return {"same_sign": same, "of": len(pairs)}


def next_step(
    verdict: Mapping[str, Any],
    result: TestResult,
    kind: str,
    arrays: tuple[Any, Any],
    runs: tuple[int, int],
    compare: CompareSpec,
    caveat: str,
    show: Display,
) -> dict[str, Any]:
    """What would settle a comparison that is too close to call (``text`` "" otherwise).

    Args:
        verdict: The verdict's fields (decision, threshold, mde, family...).
        result: The deciding test's result.
        kind: The kind of test (``seeds``, ``binary``, ``corpus``...).
        arrays: The arrays the test compared (system, baseline).
        runs: Completed runs of the system and of the baseline.
        compare: The ``compare:`` section.
        caveat: The one-run caveat, if any (more seeds are then part of the answer).
        show: How the metric is written (the difference to detect, in the reader's units).
    """
    out: dict[str, Any] = {"text": "", "target": None, "examples": None, "seeds": None}
    if verdict.get("decision") != "too close to call":
        return out
    if "more resamples" in str(verdict.get("sentence", "")):
        out["text"] = "rerun the tests with more resamples (compare.n_resamples)"
        return out
    thr = float(verdict.get("threshold") or 0.0)
    est = float(verdict.get("estimate") or 0.0)
    target = thr if thr > 0 else abs(est)
    if not (math.isfinite(target) and target > 0):
        out["text"] = (
            "set the smallest difference that matters (compare.practical_threshold): "
            "without one, equal performance cannot be shown"
        )
        return out
    out["target"] = target
    m = int(verdict.get("family_size") or 1)
    correction = str(verdict.get("correction") or "holm")
    alpha = float(verdict.get("alpha") or compare.alpha)
    alpha_eff = alpha / m if correction in ("holm", "bonferroni") else alpha
    n = int(result.n)
    examples: int | None = None
    seeds: int | None = None
    if kind in ("seeds", "binary", "continuous"):
        found = power(arrays[0], arrays[1], effect=target, alpha=alpha_eff,
                      target_power=_TARGET_POWER)  # fmt: skip
        examples = found.n_required
        seeds = found.seeds_required if kind == "seeds" else None
    else:
        mde = float(verdict.get("mde") or math.nan)
        if math.isfinite(mde) and mde > 0:
            count = math.ceil(n * (mde / target) ** 2)
            if kind == "seed_level":
                seeds = max(math.ceil(max(runs) * (mde / target) ** 2), max(runs) + 1)
            else:
                examples = count
    parts = []
    if caveat:
        parts.append(f"train at least {SEEDS_ADVISED} seeds per system")
    elif seeds is not None and seeds > max(runs):
        parts.append(f"train about {seeds} seeds per system")
    if examples is not None and examples > n and (seeds is None or caveat):
        parts.append(f"use about {examples:,} {compare.unit} (now {n:,})")
    what = "the smallest gain that matters" if thr > 0 else "a gap as large as the one seen"
    purpose = f", enough to detect {what} ({show.amount(target)}) 80% of the time"
    if not parts and kind != "seeds":
        # The data could already detect the difference that matters: the estimate sits
        # between 0 and it, and only a narrower interval tells which side it is on.
        settle = _settling_count(verdict, n)
        if settle is not None:
            examples = settle
            parts.append(f"use about {settle:,} {compare.unit} (now {n:,})")
            purpose = (
                f", enough for the interval to rule out either no gain or a gain of "
                f"{show.amount(thr)} at the difference seen"
                if thr > 0
                else ", enough for the interval to exclude 0 at the difference seen"
            )
    if not parts:
        more = "" if compare.discovered else "train more seeds per system and "
        parts.append(
            f"{more}use more {compare.unit}: {'neither alone' if more else 'this many'} "
            "would not detect the difference that matters 80% of the time"
        )
    text = " and ".join(parts) + purpose
    out.update(text=text, examples=examples, seeds=seeds)
    return out


def _settling_count(verdict: Mapping[str, Any], n: int) -> int | None:
    """Examples for the verdict's interval to exclude 0 or the threshold, at the estimate seen.

    The interval's half-width shrinks as ``1 / sqrt(examples)``; it must drop below the
    larger of the estimate's distance to 0 and to the threshold (either decides).
    """
    lo, hi = (verdict.get("ci") or (math.nan, math.nan))[:2]
    est = float(verdict.get("estimate") or 0.0)
    thr = float(verdict.get("threshold") or 0.0)
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return None
    gain = est if verdict.get("higher_is_better", True) else -est
    half = (float(hi) - float(lo)) / 2.0
    settle = max(abs(gain), thr - gain) if thr > 0 else abs(gain)
    if not (half > 0 and settle > 0 and n > 0):
        return None
    count = math.ceil(n * (half / settle) ** 2)
    return count if count > n else None
