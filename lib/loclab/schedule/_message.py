"""What an alert says: a Slack-compatible ``text`` and machine-readable fields.

One message per transition (ok -> regressed, regressed or failed -> recovered, -> failed).
The text names the experiment, each regressed system and metric, the change with its
interval, the adjusted p-value, the test and the number of examples, the practical
threshold crossed, what changed since the baseline run (code, data, parameters, package
versions), a few examples that got worse, and where the report is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from loclab.results import HistoryPoint, TickComparison, changes_since
from loclab.schedule._regression import RegressionCheck, WorseExample

__all__ = ["AlertMessage", "AlertStatus", "failure_message", "tick_message"]

AlertStatus = Literal["regression", "recovered", "failure"]


@dataclass(frozen=True)
class AlertMessage:
    """One alert, ready for every channel.

    Attributes:
        status: ``regression``, ``recovered`` or ``failure``.
        subject: One line (the e-mail subject).
        text: The message (Slack-compatible: plain text with ``*bold*``).
        payload: The webhook's JSON body: ``text``, ``experiment``, ``status``, ``systems``
            (``system``, ``metric``, ``delta``, ``ci_low``, ``ci_high``, ``p_adjusted``),
            ``report`` and context fields.
    """

    status: AlertStatus
    subject: str
    text: str
    payload: Mapping[str, Any]

    def body(self) -> bytes:
        """The webhook's JSON body."""
        return json.dumps(self.payload, ensure_ascii=False, allow_nan=False).encode("utf-8")


def _number(x: float | None, digits: int = 2) -> str:
    return "n/a" if x is None else f"{x:+.{digits}f}"


def _comparison_line(c: TickComparison, unit: str) -> str:
    ci = (
        f"95% interval {c.ci[0]:+.2f} to {c.ci[1]:+.2f} (adjusted for the family)"
        if c.ci
        else "no interval"
    )
    values = ""
    if c.baseline_value is not None and c.value is not None:
        values = f" ({c.baseline_value:.2f} -> {c.value:.2f})"
    crossed = (
        f"; beyond the practical threshold of {c.threshold:g}"
        if c.regression and c.threshold > 0
        else ""
    )
    return (
        f"• *{c.label}*, {c.metric_name}: {_number(c.delta)}{values}, {ci}; "
        f"adjusted p = {c.p_adjusted:.3g} ({c.test}, {c.n_examples or 0:,} {unit}){crossed}"
    )


def _worse_lines(worse: Sequence[WorseExample], name: str) -> str:
    parts = []
    for w in worse:
        scores = ""
        if w.before is not None and w.after is not None:
            scores = f", {w.before:.1f} -> {w.after:.1f}"
        parts.append(f"#{w.example_id} ({w.effect:+.3f} {name}{scores})")
    return ", ".join(parts)


def _systems(comparisons: Sequence[TickComparison]) -> list[dict[str, Any]]:
    return [
        {
            "system": c.system,
            "metric": c.metric,
            "delta": c.delta,
            "ci_low": c.ci[0] if c.ci else None,
            "ci_high": c.ci[1] if c.ci else None,
            "p_adjusted": c.p_adjusted,
        }
        for c in comparisons
    ]


def tick_message(
    status: Literal["regression", "recovered"],
    *,
    experiment: str,
    point: HistoryPoint,
    baseline: HistoryPoint | None,
    check: RegressionCheck | None,
    report: str,
    unit: str = "test examples",
    since: str | None = None,
    previous: str = "regressed",
    recovered: Sequence[tuple[str, str]] = (),
) -> AlertMessage:
    """The message of a regression, or of a recovery after a regression or a failure.

    Args:
        status: ``regression`` or ``recovered``.
        experiment: The experiment's name.
        point: This run.
        baseline: The run it was compared with (None: the first run after a failure).
        check: The comparison with the baseline (None without one).
        report: Where the report is (a path or an ``s3://`` URI).
        unit: What one example is.
        since: When the previous status began (``recovered``), for the text.
        previous: The previous status (``recovered``): ``regressed`` or ``failed``.
        recovered: ``(system, metric)`` of the regressions this run no longer shows
            (``recovered``: their comparisons are the message's ``systems``).
    """
    regressions = check.regressions if check is not None else []
    lines: list[str]
    if status == "regression":
        head = (
            f":rotating_light: *{experiment}*: {len(regressions)} regression(s) in run "
            f"{point.run_id} against the baseline run {baseline.run_id if baseline else '?'}"
        )
        lines = [head]
        for c in regressions:
            lines.append(_comparison_line(c, unit))
            worse = check.worse.get((c.system, c.metric), ()) if check is not None else ()
            if worse:
                lines.append(f"   examples that got worse: {_worse_lines(worse, c.metric_name)}")
        systems = regressions
        subject = (
            f"[loclab] {experiment}: regression ("
            + ", ".join(f"{c.label} {c.metric_name} {_number(c.delta)}" for c in regressions[:3])
            + ")"
        )
    else:
        ago = f" ({previous} since {since})" if since else f" (was {previous})"
        lines = [
            f":white_check_mark: *{experiment}*: recovered{ago}: run {point.run_id} shows no "
            f"regression against the baseline run {baseline.run_id if baseline else '?'}"
        ]
        back = set(recovered)
        systems = [c for c in check.comparisons if (c.system, c.metric) in back] if check else []
        for c in systems:
            lines.append(_comparison_line(c, unit))
        subject = f"[loclab] {experiment}: recovered"
    if check is not None and baseline is not None:
        how = f"paired over {check.n_shared or 0:,} shared {unit}" if check.paired else "unpaired"
        lines.append(
            f"Tested: {len(check.comparisons)} system x metric comparisons, Holm-adjusted "
            f"together, {how}."
        )
        lines.extend(f"Warning: {w}" for w in check.warnings if "test set changed" in w)
    if baseline is not None:
        lines.append("What changed since the baseline run:")
        lines.extend(f"  - {line}" for line in changes_since(baseline, point))
    lines.append(f"Report: {report}")
    text = "\n".join(lines)
    payload = {
        "text": text,
        "experiment": experiment,
        "status": status,
        "systems": _systems(systems),
        "report": report,
        "run": point.run_id,
        "baseline_run": baseline.run_id if baseline else None,
        "paired": check.paired if check is not None else None,
    }
    return AlertMessage(status, subject, text, payload)


def failure_message(
    *, experiment: str, failure: str, attempts: int, report: str | None
) -> AlertMessage:
    """The message of a tick whose run failed after its retries."""
    lines = [
        f":x: *{experiment}*: the scheduled run failed after {attempts} attempt(s)",
        f"Cause: {failure}",
        f"Report: {report or 'not written'}",
    ]
    text = "\n".join(lines)
    payload: dict[str, Any] = {
        "text": text,
        "experiment": experiment,
        "status": "failure",
        "systems": [],
        "report": report,
        "failure": failure,
        "attempts": attempts,
    }
    return AlertMessage("failure", f"[loclab] {experiment}: scheduled run failed", text, payload)
