"""Scheduled runs: each tick tested against a baseline run, alerts on transitions only.

``loclab schedule run SPEC`` (what a timer calls) runs the experiment through
:func:`loclab.run.run_tick`, which uses the pieces here:

* :mod:`~loclab.schedule._timing`: one tick per experiment at a time (:func:`tick_lock`) and
  the ticks that were missed (:func:`missed_ticks`);
* :mod:`~loclab.schedule._regression`: this run against the baseline run, every system and
  metric, paired when the test set is the same, Holm over all of them
  (:func:`check_regressions`);
* :mod:`~loclab.schedule._state`: the baseline (:func:`choose_baseline`), the status and
  which tick sends an alert (:func:`alert_for`, :func:`next_state`);
* :mod:`~loclab.schedule._message` and :mod:`~loclab.schedule._channels`: what an alert says
  and how it is delivered (webhook, e-mail over STARTTLS), retried, never losing the run;
* :mod:`~loclab.schedule._settings`: SMTP settings from ``loclab.yaml`` and the environment;
* :mod:`~loclab.schedule.timers`: the timers that call ``loclab schedule run`` (a crontab entry
  on one machine, an EventBridge Scheduler schedule starting a SageMaker job on AWS).

Everything a tick decides is stored as records (:class:`loclab.results.HistoryPoint`,
:class:`loclab.results.ScheduleRecord`); webhook URLs and passwords never are.
"""

from loclab.schedule._channels import Delivery, SmtpSettings, deliver, send_email, send_webhook
from loclab.schedule._message import (
    AlertMessage,
    AlertStatus,
    failure_message,
    tick_message,
)
from loclab.schedule._regression import (
    RegressionCheck,
    WorseExample,
    check_regressions,
    corpus_metric_of,
)
from loclab.schedule._settings import SMTP_ENV_PREFIX, resolve_smtp
from loclab.schedule._state import (
    BaselineError,
    accept_latest,
    alert_for,
    choose_baseline,
    next_state,
)
from loclab.schedule._table import history_table
from loclab.schedule._timing import MAX_MISSED_SHOWN, TickLock, missed_ticks, tick_lock

__all__ = [
    "MAX_MISSED_SHOWN",
    "SMTP_ENV_PREFIX",
    "AlertMessage",
    "AlertStatus",
    "BaselineError",
    "Delivery",
    "RegressionCheck",
    "SmtpSettings",
    "TickLock",
    "WorseExample",
    "accept_latest",
    "alert_for",
    "check_regressions",
    "choose_baseline",
    "corpus_metric_of",
    "deliver",
    "failure_message",
    "history_table",
    "missed_ticks",
    "next_state",
    "resolve_smtp",
    "send_email",
    "send_webhook",
    "tick_lock",
    "tick_message",
]
