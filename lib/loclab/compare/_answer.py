"""The answer: what the evidence supports and what to do, in one sentence a manager can act on.

It takes one of a few forms, always with differences as the candidate minus the baseline, in
the reader's units:

* "Switch to X: it scored 2.3 points higher than B on BLEU (...)." (a candidate is better);
* "Keep the baseline: X scored 3.8 points lower than B on accuracy (...); a gain of 1 point
  or more is ruled out." (worse, or no difference that matters);
* "Too close to call: X scored ... ; to decide, train about 9 seeds per system." (neither).

The interval quoted is the verdict's own, adjusted for the family like its decision.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from loclab.compare._display import Display, level_text

__all__ = ["STATUSES", "answer", "interactive_sentence", "seeds_clause"]

#: What an experiment's answer can be (the reports index shows it as a badge).
STATUSES = ("better", "worse", "no difference", "too close to call")


def answer(
    comparisons: Sequence[Mapping[str, Any]],
    ranking: Mapping[str, Any] | None,
    show: Display,
    baseline: str,
    labels: Mapping[str, str],
) -> dict[str, Any]:
    """The answer to the comparison's question.

    Args:
        comparisons: The confirmatory (deciding) comparisons, as the analysis stores them.
        ranking: The ranking, when there is one.
        show: How the deciding metric is written.
        baseline: The baseline's key.
        labels: Display name of each system.

    Returns:
        ``status`` (one of :data:`STATUSES`), ``use`` (the system to use), ``headline`` (the
        answer in words) and ``next_step`` (what would settle it, "" when settled).
    """
    if not comparisons:
        return {
            "status": "",
            "use": baseline,
            "headline": "Nothing was compared.",
            "next_step": "",
        }
    if len(comparisons) == 1:
        return _one(comparisons[0], show, labels)
    return _many(comparisons, ranking, show, baseline, labels)


def _one(c: Mapping[str, Any], show: Display, labels: Mapping[str, str]) -> dict[str, Any]:
    decision = str(c.get("decision") or "too close to call")
    system, base = labels[c["system"]], labels[c["baseline"]]
    evidence = f"{_gap(c, show, base)} ({_support(c, show)})"
    step = str(c.get("next_step") or "")
    if decision == "better":
        text, use = _switch(c, show, system, evidence)
    elif decision in ("worse", "no difference"):
        text = f"Keep the baseline: {system} {evidence}"
        if c.get("gain_ruled_out"):
            text += f"; a gain of {show.amount(c['threshold'])} or more is ruled out"
        elif decision == "worse":
            text += "; the difference is unlikely to be chance"
        use = c["baseline"]
    else:
        text = f"Too close to call: {system} {evidence}"
        text += f"; to decide, {step}" if step else ""
        use = c["baseline"]
    text += "."
    caveat = str(c.get("design_caveat") or "")
    if caveat and decision != "too close to call":
        text += f" {caveat}"
    return {"status": decision, "use": use, "headline": text, "next_step": step}


def _many(
    comparisons: Sequence[Mapping[str, Any]],
    ranking: Mapping[str, Any] | None,
    show: Display,
    baseline: str,
    labels: Mapping[str, str],
) -> dict[str, Any]:
    base = labels[baseline]
    by: dict[str, list[Mapping[str, Any]]] = {d: [] for d in STATUSES}
    for c in comparisons:
        by.setdefault(str(c.get("decision") or "too close to call"), []).append(c)
    counts = ", ".join(f"{len(items)} {d}" for d, items in by.items() if items)
    scope = f"Of {len(comparisons)} systems compared with {base} on {show.name}: {counts}."
    if by["better"]:
        best = _best(by["better"], ranking)
        evidence = f"{_gap(best, show, base)} ({_support(best, show)})"
        text, use = _switch(best, show, labels[best["system"]], evidence)
        peers = _peers(best["system"], ranking, labels, baseline)
        if peers:
            text += f"; the tests cannot tell it apart from {_names(peers)}"
        return {"status": "better", "use": use, "headline": f"{text}. {scope}",
                "next_step": ""}  # fmt: skip
    close = by["too close to call"]
    if not close:
        status = "worse" if len(by["worse"]) == len(comparisons) else "no difference"
        text = f"Keep the baseline: none of the {len(comparisons)} systems is better than {base}"
        return {"status": status, "use": baseline, "headline": f"{text}. {scope}",
                "next_step": ""}  # fmt: skip
    lead = max(close, key=_gain)
    step = str(lead.get("next_step") or "")
    names = _names([labels[c["system"]] for c in close])
    text = (
        f"Too close to call: none of the {len(comparisons)} systems is better than {base}, but "
        f"{names} cannot be ruled out; the closest, {labels[lead['system']]}, "
        f"{_gap(lead, show, base)} ({_support(lead, show)})"
    )
    text += f"; to decide, {step}" if step else ""
    return {"status": "too close to call", "use": baseline, "headline": f"{text}. {scope}",
            "next_step": step}  # fmt: skip


#: What a decision says of an interactive run (one run by hand, tested on examples only).
_BY_HAND = {
    "better": "better beyond chance on these examples",
    "worse": "worse beyond chance on these examples",
    "no difference": "no difference that matters",
    "too close to call": "too close to call",
}


def interactive_sentence(c: Mapping[str, Any], show: Display, labels: Mapping[str, str]) -> str:
    """What an interactive run showed against the baseline, for the headline.

    It never advises a switch: one run made by hand is not a configuration measured over
    seeds.
    """
    decision = str(c.get("decision") or "too close to call")
    system, base = labels[c["system"]], labels[c["baseline"]]
    support = _support(c, show)
    text = (
        f"Run by hand, {system} {_gap(c, show, base)}"
        + (f" ({support})" if support else "")
        + f": {_BY_HAND.get(decision, decision)}, from one training run"
    )
    if decision == "better":
        text += "; confirm it as jobs over seeds before switching"
    return text + "."


def _gain(c: Mapping[str, Any]) -> float:
    est = c.get("estimate")
    if est is None or not math.isfinite(est):
        return -math.inf
    return float(est) if c.get("higher_is_better", True) else -float(est)


def _best(better: Sequence[Mapping[str, Any]], ranking: Mapping[str, Any] | None) -> Any:
    """The better system ranked highest (by the ranking when there is one, else by its gain)."""
    if ranking and ranking.get("systems"):
        order = {s: i for i, s in enumerate(ranking["systems"])}
        return min(better, key=lambda c: (order.get(c["system"], len(order)), -_gain(c)))
    return max(better, key=_gain)


def _peers(
    system: str, ranking: Mapping[str, Any] | None, labels: Mapping[str, str], baseline: str
) -> list[str]:
    """Systems sharing a letter with ``system`` in the ranking (the tests cannot split them)."""
    if not ranking:
        return []
    letters = dict(ranking.get("letters_of") or {})
    mine = set(letters.get(system, ""))
    return [
        labels[s]
        for s in ranking.get("systems", [])
        if s not in (system, baseline) and mine & set(letters.get(s, ""))
    ]


def _names(names: Sequence[str], limit: int = 3) -> str:
    shown = list(names[:limit])
    if len(names) > limit:
        shown.append(f"{len(names) - limit} more")
    if len(shown) <= 1:
        return "".join(shown)
    return ", ".join(shown[:-1]) + " and " + shown[-1]


def _gap(c: Mapping[str, Any], show: Display, base: str) -> str:
    """``scored 3.8 points lower than B on accuracy``."""
    est = c.get("estimate")
    if est is None or not math.isfinite(est):
        return f"could not be compared with {base} on {show.name}"
    if round(est * show.scale, show.digits) == 0:
        return f"scored the same as {base} on {show.name}"
    word = "higher" if est > 0 else "lower"
    if not c.get("higher_is_better", True):
        word += " (better)" if est < 0 else " (worse)"
    return f"scored {show.amount(est)} {word} than {base} on {show.name}"


def _support(c: Mapping[str, Any], show: Display) -> str:
    """``lower on all 5 seeds; 95% interval -8.1 to +0.5``."""
    parts = []
    seeds = seeds_clause(c)
    if seeds:
        parts.append(seeds)
    ci = c.get("ci") or (None, None)
    lo, hi = ci[0], ci[1]
    if lo is not None and hi is not None and math.isfinite(lo) and math.isfinite(hi):
        level = level_text(float(c.get("ci_level") or 0.95))
        size = int(c.get("family_size") or 1)
        adjusted = f" adjusted for {size} comparisons" if size > 1 else ""
        parts.append(f"{level} interval{adjusted}: {show.diff(lo, unit=False)} to {show.diff(hi)}")
    return "; ".join(parts)


def seeds_clause(c: Mapping[str, Any]) -> str:
    """``lower on all 5 seeds`` / ``lower on 3 of 5 seeds`` ("" without paired seeds)."""
    agree = c.get("seed_agreement") or {}
    n, k = int(agree.get("of") or 0), int(agree.get("same_sign") or 0)
    est = c.get("estimate")
    if n < 2 or est is None or not math.isfinite(est) or est == 0:
        return ""
    word = "higher" if est > 0 else "lower"
    return f"{word} on all {n} seeds" if k == n else f"{word} on {k} of {n} seeds"


def _switch(c: Mapping[str, Any], show: Display, system: str, evidence: str) -> tuple[str, str]:
    """The answer for a better candidate, and the system to use."""
    if c.get("gain_ruled_out"):
        # Better beyond chance, but by less than the smallest gain that matters.
        t = show.amount(c["threshold"])
        return (
            f"Keep the baseline unless a gain below {t} is worth a switch: {system} {evidence}; "
            f"a gain of {t} or more is ruled out",
            str(c["baseline"]),
        )
    return f"Switch to {system}: it {evidence}" + _better_threshold(c, show), str(c["system"])


def _better_threshold(c: Mapping[str, Any], show: Display) -> str:
    thr = float(c.get("threshold") or 0.0)
    if thr <= 0:
        return ""
    t = show.amount(thr)
    lo, hi = (c.get("ci") or (None, None))[:2]
    low = lo if c.get("higher_is_better", True) else (-hi if hi is not None else None)
    if low is not None and math.isfinite(low) and low >= thr:
        return f"; even the low end clears the {t} that matters"
    if c.get("clears_threshold"):
        return f"; the gain may still be smaller than the {t} that matters"
    return f"; the estimated gain is below the {t} that matters"
