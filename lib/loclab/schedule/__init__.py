"""Scheduled runs: ticks tested against the last good run, alerts, and the timers that call them.

The timers (a crontab entry on one machine, an EventBridge Scheduler schedule on AWS) live in
:mod:`loclab.schedule.timers`.
"""
