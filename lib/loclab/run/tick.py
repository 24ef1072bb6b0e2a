"""One tick of a schedule: run, test against the baseline run, report, publish, alert.

``loclab schedule run SPEC`` calls :func:`run_tick`. In order:

1. take the experiment's tick lock; a tick that finds it held records a skip and exits 0;
2. note the ticks missed since the previous one (from the cron expression);
3. run the experiment (unchanged jobs are reused), again up to ``schedule.retries`` times
   when it fails; the finished run becomes a history point;
4. test every system and metric against the baseline run (:mod:`loclab.schedule`);
5. store the tick and the schedule's new status (``schedule.json``), then render the report
   (it reads them), publish it (``schedule.publish``), and send the alert of a status change
   (recorded with the tick; a channel that fails never loses the run or its report).

Exit codes: 0 nothing regressed (or skipped), 3 a regression, 1 the run failed after its
retries, 2 bad input.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from loclab.exceptions import LoclabError, Problem, SpecError
from loclab.paths import Workspace
from loclab.results import (
    MAX_KEPT,
    AlertSent,
    ExperimentResults,
    HistoryPoint,
    JobsRecord,
    ScheduleRecord,
    Tick,
    TickOutcome,
)
from loclab.run.pipeline import run_experiment, write_report
from loclab.schedule import (
    AlertMessage,
    BaselineError,
    Delivery,
    RegressionCheck,
    SmtpSettings,
    TickLock,
    alert_for,
    check_regressions,
    choose_baseline,
    deliver,
    failure_message,
    missed_ticks,
    next_state,
    tick_message,
)
from loclab.security import scrub
from loclab.spec import Experiment
from loclab.spec.schedule import ResolvedAlert

__all__ = ["EXIT_CODES", "TickResult", "run_tick"]

#: What ``loclab schedule run`` exits with, by outcome.
EXIT_CODES: dict[TickOutcome, int] = {
    "baseline": 0,
    "ok": 0,
    "skipped": 0,
    "regressed": 3,
    "failed": 1,
    "bad_input": 2,
}


@dataclass(frozen=True)
class TickResult:
    """What a tick did.

    Attributes:
        tick: The tick as recorded.
        check: The comparison with the baseline run, when there was one.
    """

    tick: Tick
    check: RegressionCheck | None = None

    @property
    def exit_code(self) -> int:
        """0, 3, 1 or 2 (see :data:`EXIT_CODES`)."""
        return self.tick.exit_code


def run_tick(
    exp: Experiment,
    ws: Workspace,
    *,
    alerts: Sequence[ResolvedAlert] = (),
    smtp: SmtpSettings | None = None,
    delivery: Delivery | None = None,
    timeout: float | None = None,
    say: Callable[[str], None] = print,
) -> TickResult:
    """Run one tick of the experiment's schedule (see the module docstring).

    Args:
        exp: The experiment (its spec has a ``schedule:`` section).
        ws: Where records, runs and reports go.
        alerts: The schedule's targets, their ``${VAR}`` references read by the caller.
        smtp: How e-mail is sent (None: e-mail targets are reported as not configured).
        delivery: Retries and timeouts of the channels.
        timeout: Per-job time limit.
        say: Where progress lines go (nothing secret is said).

    Returns:
        The tick; its ``exit_code`` is what the command exits with.
    """
    schedule = exp.spec.schedule
    assert schedule is not None, "the experiment has no schedule: section"
    records = ExperimentResults(ws.state, exp.name)
    started = time.time()
    lock = TickLock(ws.state.schedules(exp.name))
    if not lock.acquire():
        return _skip(records, started, lock.holder, say)
    try:
        return _tick(exp, ws, records, started, alerts, smtp, delivery, timeout, say)
    except SpecError as err:
        tick = Tick(
            started=started,
            ended=time.time(),
            outcome="bad_input",
            exit_code=2,
            failure=scrub("; ".join(str(p) for p in err.problems)),
        )
        records.update_schedule(lambda s: s.with_tick(tick))
        raise
    finally:
        lock.release()


def _skip(
    records: ExperimentResults,
    started: float,
    who: Mapping[str, object],
    say: Callable[[str], None],
) -> TickResult:
    since = who.get("since")
    when = (
        time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(since)))
        if isinstance(since, int | float)
        else "?"
    )
    note = (
        f"the previous tick (pid {who.get('pid', '?')} on {who.get('host', '?')}, started "
        f"{when}) is still running: this tick is skipped"
    )
    tick = Tick(started=started, ended=time.time(), outcome="skipped", warnings=[note])
    records.update_schedule(lambda s: s.with_tick(tick))
    say(f"{records.experiment}: {note}")
    return TickResult(tick)


def _run(
    exp: Experiment,
    ws: Workspace,
    retries: int,
    timeout: float | None,
    say: Callable[[str], None],
) -> tuple[JobsRecord | None, int, str | None]:
    """The experiment's run, tried ``1 + retries`` times: (record, attempts, failure)."""
    failure: str | None = None
    for attempt in range(1, retries + 2):
        try:
            record = run_experiment(exp, ws, timeout=timeout, say=say, report=False)
            return record, attempt, None
        except SpecError:
            raise
        except LoclabError as err:
            failure = scrub(str(err))
        except Exception as err:  # any failure of the run is the tick's to report
            failure = scrub(f"{type(err).__name__}: {err}")
        left = retries + 1 - attempt
        more = f"; {left} retry(ies) left" if left else ""
        say(f"tick: attempt {attempt} failed: {failure}{more}")
    return None, retries + 1, failure


def _point_of(records: ExperimentResults, run: JobsRecord) -> HistoryPoint | None:
    for point in reversed(records.read_history()):
        same = run.mlflow_parent_run_id and point.mlflow_run_id == run.mlflow_parent_run_id
        if same or point.started == run.started:
            return point
    return None


def _tick(
    exp: Experiment,
    ws: Workspace,
    records: ExperimentResults,
    started: float,
    alerts: Sequence[ResolvedAlert],
    smtp: SmtpSettings | None,
    delivery: Delivery | None,
    timeout: float | None,
    say: Callable[[str], None],
) -> TickResult:
    schedule = exp.spec.schedule
    assert schedule is not None
    compare = exp.spec.compare
    state = records.read_schedule() or ScheduleRecord(experiment=exp.name)
    before = records.read_history()
    since = state.last_tick or (before[-1].started if before else None)
    missed, n_missed = missed_ticks(schedule.cron, schedule.timezone, since, started)
    if n_missed:
        shown = ", ".join(missed[:3]) + (" ..." if n_missed > 3 else "")
        say(f"tick: {n_missed} scheduled tick(s) were missed since the previous one ({shown})")
    run, attempts, failure = _run(exp, ws, schedule.retries, timeout, say)
    point = _point_of(records, run) if run is not None else None
    baseline: HistoryPoint | None = None
    check: RegressionCheck | None = None
    warnings: list[str] = []
    outcome: TickOutcome
    if run is None:
        outcome = "failed"
    elif point is None:
        outcome = "ok"
        warnings.append("This run has no history point, so nothing was compared.")
    else:
        try:
            baseline = choose_baseline(schedule.baseline, state, records.read_history(), point)
        except BaselineError as err:
            raise SpecError([Problem(exp.display_path, "schedule.baseline", str(err))]) from None
        if baseline is None:
            outcome = "baseline"
            say(f"tick: run {point.run_id} is the first: it becomes the baseline")
        elif baseline.run_id == point.run_id:
            outcome = "ok"
            warnings.append("Nothing changed since the baseline run: it was reused as it is.")
        elif compare is None:
            outcome = "ok"
            warnings.append("The spec has no compare: section, so nothing was tested.")
        else:
            check = check_regressions(
                point,
                records.read_point_arrays(point),
                baseline,
                records.read_point_arrays(baseline),
                alpha=compare.alpha,
                threshold=compare.practical_threshold,
                n_resamples=compare.n_resamples,
                seed=compare.stats_seed,
                unit=compare.unit,
            )
            warnings.extend(check.warnings)
            outcome = "regressed" if check.regressions else "ok"
            quiet = [c for c in check.comparisons if c.decision == "no difference"]
            for c in check.comparisons:
                if c.decision != "no difference":
                    say(f"tick: {c.sentence}")
            if quiet:
                say(
                    f"tick: {len(quiet)} other system x metric comparison(s) show no difference "
                    "from the baseline run"
                )
    tick = Tick(
        started=started,
        ended=time.time(),
        outcome=outcome,
        exit_code=EXIT_CODES[outcome],
        run_id=point.run_id if point is not None else None,
        reused=bool(point is not None and point.started < started),
        baseline_run_id=baseline.run_id if baseline is not None else None,
        attempts=attempts,
        failure=failure,
        comparisons=list(check.comparisons) if check is not None else [],
        paired=check.paired if check is not None else None,
        warnings=warnings,
        missed=missed,
        n_missed=n_missed,
    )
    stored = records.update_schedule(
        lambda s: next_state(
            s.model_copy(update={"cron": schedule.cron, "timezone": schedule.timezone}),
            tick,
            mode=schedule.baseline,
        )
    )
    page = write_report(exp, ws, say=say)
    report = str(page.path) if page is not None else None
    published = None
    if schedule.publish and page is not None:
        published = _publish(exp.name, ws, schedule.publish, say)
    where = published or report or "(no report)"
    status = alert_for(state.status, outcome)
    sent: list[AlertSent] = []
    if status is not None and alerts:
        message = _message(status, exp, point, baseline, check, where, failure, attempts, state)
        sent = deliver(message, alerts, smtp=smtp, delivery=delivery, say=say)
    elif status is not None:
        say(f"alert: {status} (no alert targets in schedule.alert)")
    final = tick.model_copy(update={"alerts": sent, "report": report, "published": published})
    records.update_schedule(lambda s: _replace_tick(s, final))
    verdict = {
        "baseline": "first run: it is the baseline now",
        "ok": "nothing regressed",
        "regressed": f"{len(check.regressions) if check else 0} regression(s)",
        "failed": f"the run failed after {attempts} attempt(s)",
    }.get(outcome, outcome)
    say(f"tick: {exp.name}: {verdict}; status {stored.status.upper()} (exit {tick.exit_code})")
    return TickResult(final, check)


def _message(
    status: str,
    exp: Experiment,
    point: HistoryPoint | None,
    baseline: HistoryPoint | None,
    check: RegressionCheck | None,
    where: str,
    failure: str | None,
    attempts: int,
    state: ScheduleRecord,
) -> AlertMessage:
    unit = exp.spec.compare.unit if exp.spec.compare is not None else "test examples"
    if status == "failure" or point is None:
        return failure_message(
            experiment=exp.name, failure=failure or "unknown", attempts=attempts, report=where
        )
    since = time.strftime("%Y-%m-%d", time.gmtime(state.since)) if state.since else None
    last = state.last
    recovered = [(c.system, c.metric) for c in last.regressions] if last is not None else []
    return tick_message(
        "regression" if status == "regression" else "recovered",
        experiment=exp.name,
        point=point,
        baseline=baseline,
        check=check,
        report=where,
        unit=unit,
        since=since,
        previous=state.status,
        recovered=recovered,
    )


def _replace_tick(state: ScheduleRecord, tick: Tick) -> ScheduleRecord:
    ticks = [tick if t.started == tick.started else t for t in state.ticks]
    return state.model_copy(
        update={"ticks": ticks, "alerts": [*state.alerts, *tick.alerts][-MAX_KEPT:]}
    )


def _publish(experiment: str, ws: Workspace, to: str, say: Callable[[str], None]) -> str | None:
    from loclab.report import publish_reports

    try:
        written = publish_reports(experiment, ws.reports, to)
    except Exception as err:  # the report is written locally; publishing is a copy
        say(f"publish: not published to {to} ({scrub(str(err))})")
        return None
    say(f"publish: {written[0]} ({len(written)} file(s))")
    return written[0]
