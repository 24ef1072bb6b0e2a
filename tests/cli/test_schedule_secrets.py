"""``loclab schedule run`` keeps webhook URLs and the SMTP password from the jobs it starts."""

from __future__ import annotations

from loclab.cli.schedule import _secret_variables
from loclab.spec.schedule import ScheduleSpec, resolve_alerts


def test_variables_holding_secrets_are_found_by_name_and_by_value():
    spec = ScheduleSpec(
        cron="0 6 * * MON",
        alert=[{"webhook": "${MT_ALERT_WEBHOOK}"}, {"email": "${TEAM}"}],
    )
    environ = {
        "MT_ALERT_WEBHOOK": "https://hooks.example.com/T/B/x",
        "COPY_OF_HOOK": "https://hooks.example.com/T/B/x",
        "TEAM": "ml@example.com",
        "MY_SMTP_PW": "hunter2",
        "LOCLAB_SMTP_PASSWORD": "other",
        "HOME": "/root",
    }
    alerts = resolve_alerts(spec, environ)
    assert _secret_variables(alerts, "hunter2", environ) == [
        "COPY_OF_HOOK",
        "LOCLAB_SMTP_PASSWORD",
        "MT_ALERT_WEBHOOK",
        "MY_SMTP_PW",
    ]
    assert _secret_variables(alerts, None, {"HOME": "/root"}) == []
