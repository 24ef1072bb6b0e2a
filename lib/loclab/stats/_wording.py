"""The plain-language sentence of a verdict.

Rules the sentence keeps: differences are always the candidate minus the baseline, in the
metric's display units (``scale``: accuracy 0.066 with ``scale=100, scale_unit="points"``
reads "+6.6 points"); "how often chance alone gives such a gap" is said only of the raw
p-value; an adjusted p-value is called adjusted; the practical threshold counts only in the
direction that matters, and the text says which.
"""

from __future__ import annotations

import math
from typing import Any

from ._base import TestResult, chance_phrase, fmt, fmt_p
from ._multiple import CORRECTION_NAMES


def signed(x: float, scale: float, digits: int, unit: str = "") -> str:
    """``+6.6 points`` / ``-0.52 BLEU``: a difference with its sign, in display units."""
    if not math.isfinite(x):
        return "undefined"
    value = x * scale
    # A value that rounds to 0 gets up to two more decimals, so an interval's end just past 0
    # keeps its sign ("+0.02", not "+0.0"); an exact 0 reads "+0.0" (never "-0.0").
    text = f"{0.0:+.{digits}f}" if value == 0 else f"{value:+.{digits}f}"
    for more in (digits, digits + 1, digits + 2):
        if value != 0 and round(value, more) != 0:
            text = f"{value:+,.{more}f}"
            break
    return f"{text} {unit}".rstrip()


def magnitude(x: float, scale: float, digits: int, unit: str = "") -> str:
    """``1 point`` / ``0.010``: a non-negative amount in display units."""
    value = abs(x) * scale
    # A whole amount reads "1 point", as everywhere else in a report, not "1.0 point".
    text = f"{value:,.0f}" if value == round(value) and value != 0 else fmt(value, digits)
    if unit == "points" and text in ("1", f"{1:.{digits}f}"):
        unit = "point"
    return f"{text} {unit}".rstrip()


def level_text(confidence: float) -> str:
    """``95%``, ``98.3%``, ``99.958%``: enough decimals to tell the level from 100 %."""
    pct = 100.0 * confidence
    gap = 100.0 - pct
    decimals = max(0, 1 - math.floor(math.log10(gap))) if gap > 0 else 0
    return f"{pct:.{decimals}f}".rstrip("0").rstrip(".") + "%"


def sentence(v: dict[str, Any], result: Any, metric_name: str) -> str:
    """The verdict in plain words (``v`` holds the :class:`Verdict` fields)."""
    scale, digits, unit = v["scale"], v["digits"], v["scale_unit"]
    system, baseline = v["system"], v["baseline"]
    lo, hi = v["ci"]
    unit_name = unit or metric_name
    # The metric is named once: as the unit ("+0.52 BLEU") or before it ("on accuracy").
    name = f" on {metric_name}" if metric_name and unit else ""
    where = f"{v['n']:,} {v['unit']}"
    if getattr(result, "n_seeds_a", 0):
        where += f" and {result.n_seeds_a} / {result.n_seeds_b} training runs"
    text = (
        f"{system} minus {baseline}{name}: {signed(v['estimate'], scale, digits, unit_name)} "
        f"on {where}"
    )
    level = level_text(v["ci_level"])
    if math.isfinite(lo) and math.isfinite(hi):
        span = f"{signed(lo, scale, digits)} to {signed(hi, scale, digits)}"
        if v["family_size"] > 1:
            text += f" ({level} interval adjusted for the {v['family_size']} comparisons: {span})"
        else:
            text += f" ({level} interval {span})"
    text += "."
    floor = result.p_resolution or 0.0
    at_floor = not result.exact and floor > 0 and v["p_value"] <= floor * 1.0000001
    chance = chance_phrase(v["p_value"], floor if at_floor else None)
    text += (
        f" For this comparison alone p = {fmt_p(v['p_value'])}: a gap this large would appear "
        f"by chance {chance} if the systems were equally good."
    )
    if v["family_size"] > 1:
        passes = "below" if v["p_adjusted"] <= v["alpha"] else "above"
        text += (
            f" Adjusted for the {v['family_size']} comparisons made "
            f"({CORRECTION_NAMES[v['correction']]}), p = {fmt_p(v['p_adjusted'])}, {passes} "
            f"the {fmt(v['alpha'])} level."
        )
    return text + " " + _decision_text(v, system, baseline)


def _decision_text(v: dict[str, Any], system: str, baseline: str) -> str:
    scale, digits, unit = v["scale"], v["digits"], v["scale_unit"]
    thr = v["threshold"]
    direction = "higher" if v["higher_is_better"] else "lower"
    t = magnitude(thr, scale, digits, unit)
    decision = v["decision"]
    if decision in ("better", "worse"):
        text = f"Verdict: {system} is {decision} than {baseline} ({direction} is better)."
        if thr > 0 and decision == "better":
            if v["gain_low"] >= thr:
                text += f" Even the low end of the interval clears the {t} gain that matters."
            elif v["clears_threshold"]:
                text += (
                    f" The estimated gain clears the {t} that matters, but the interval also "
                    "allows smaller gains."
                )
            else:
                text += f" The gain is smaller than the {t} that matters, though."
        elif thr > 0:
            text += f" A gain of {t} (the smallest that matters) is ruled out."
        return text + f' ("{decision.capitalize()}" means unlikely to be chance, not large.)'
    if decision == "no difference":
        text = f"Verdict: no difference that matters between {system} and {baseline}: "
        if v["loss_ruled_out"]:
            return text + f"a difference of {t} or more either way is ruled out."
        return text + (
            f"a gain of {t} or more for {system} is ruled out ({direction} is better), though "
            f"a loss of up to {magnitude(-v['gain_low'], scale, digits, unit)} is not."
        )
    text = f"Verdict: too close to call between {system} and {baseline}"
    if thr <= 0:
        return text + (
            ": no difference was detected, and without a practical threshold "
            "(the smallest difference that matters) equivalence cannot be shown either."
        )
    high = magnitude(v["gain_high"], scale, digits, unit)
    text += (
        f": the interval still allows a gain of {high} for {system}, above the {t} that matters"
    )
    if v["power"] is not None and math.isfinite(v["power"]):
        text += f"; a true gain of {t} would be detected {round(100 * v['power'])}% of the time"
    return text + "."


def advice(v: dict[str, Any], result: TestResult) -> str:
    """What would settle a comparison that is too close to call."""
    thr, mde = v["threshold"], v["mde"]
    if v["decision"] != "too close to call":
        return ""
    coarse = (result.p_resolution or 0.0) > v["alpha"] / v["family_size"]
    if result.n_resamples is not None and not result.exact and coarse:
        return (
            f" With {result.n_resamples:,} resamples the test cannot resolve p-values small "
            "enough for this family; rerun it with more resamples."
        )
    if thr <= 0 or not (math.isfinite(mde) and mde > 0):
        return ""
    if getattr(result, "seed_share", 0.0) > 0.5:
        return " To decide, train more runs per system (training noise dominates)."
    needed = math.ceil((mde / thr) ** 2 * v["n"])
    if needed <= v["n"]:
        # The data can already detect a gain of thr; the estimate lies between 0 and it, and
        # the interval must narrow below its distance to one of them to decide.
        lo, hi = v["ci"]
        gain = v["estimate"] if v["higher_is_better"] else -v["estimate"]
        settle = max(abs(gain), thr - gain)
        half = (hi - lo) / 2.0
        if not (math.isfinite(half) and half > 0 and settle > 0):
            return ""
        needed = math.ceil(v["n"] * (half / settle) ** 2)
        if needed <= v["n"]:
            return ""
        return (
            f" To decide, about {needed:,} {v['unit']} would narrow the interval enough to "
            "rule out either no gain or the gain that matters, at the difference seen."
        )
    return f" To decide, about {needed:,} {v['unit']} would be needed."
