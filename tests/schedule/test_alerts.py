"""The schedule section, and alerts over real channels on 127.0.0.1: a webhook and SMTP."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
from pathlib import Path

import pytest
from pydantic import ValidationError

from loclab.schedule import Delivery, SmtpSettings, deliver, failure_message, resolve_smtp
from loclab.spec.schedule import ScheduleSpec, resolve_alerts
from loclab.testing.webhook import WebhookReceiver


def message():
    return failure_message(
        experiment="mt-monitoring", failure="DataError: no snapshot", attempts=2, report=None
    )


def schedule(**alert) -> ScheduleSpec:
    return ScheduleSpec(cron="0 6 * * MON", alert=[alert])


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"cron": "0 6 * *"}, "has 4 fields; a cron expression has five"),
        ({"cron": "0 25 * * MON"}, "is not a valid cron expression"),
        ({"cron": "0 6 * * MON", "timezone": "Europe/Berlinn"}, "did you mean 'Europe/Berlin'"),
        ({"cron": "0 6 * * MON", "publish": "https://x"}, "is not s3://bucket/prefix"),
        ({"cron": "0 6 * * MON", "alert": [{"webhook": "hooks.slack.com/x"}]}, "${VARIABLE}"),
        ({"cron": "0 6 * * MON", "alert": [{"email": "ml-team"}]}, "is not an e-mail address"),
        ({"cron": "0 6 * * MON", "alert": [{}]}, "either webhook: URL or email: ADDRESS"),
        ({"cron": "0 6 * * MON", "retries": 11}, "less than or equal to 10"),
    ],
)
def test_the_section_refuses_bad_values_naming_the_fix(fields, says):
    with pytest.raises(ValidationError) as caught:
        ScheduleSpec(**fields)
    assert says in str(caught.value)


def test_targets_read_variables_and_never_show_a_webhook_url():
    spec = ScheduleSpec(
        cron="0 6 * * MON",
        alert=[
            {"webhook": "${MT_ALERT_WEBHOOK}"},
            {"webhook": "https://hooks.example.com/services/T0/B0/secret"},
            {"email": "${TEAM}"},
            {"email": "ml@example.com"},
        ],
    )
    hook, literal, team, plain = resolve_alerts(spec, {"MT_ALERT_WEBHOOK": "https://h/x/y"})
    assert hook.configured and hook.value == "https://h/x/y"
    assert hook.shown == "${MT_ALERT_WEBHOOK}"
    assert literal.configured and literal.shown == "https://hooks.example.com/…"
    assert not team.configured and team.missing == ("TEAM",) and team.shown == "${TEAM}"
    assert plain.configured and plain.shown == "ml@example.com"


def test_a_webhook_that_fails_twice_is_retried_and_delivered():
    (target,) = resolve_alerts(schedule(webhook="${HOOK}"), {"HOOK": "unused"})
    with WebhookReceiver(fail=2) as hook:
        target = type(target)("webhook", hook.url, "${HOOK}")
        said: list[str] = []
        (sent,) = deliver(message(), [target], delivery=Delivery(backoff_s=0.01), say=said.append)
    assert sent.delivered and sent.attempts == 3 and sent.error is None
    assert [a["status"] for a in hook.attempts] == [500, 500, 200]
    body = hook.received[0]
    assert body["status"] == "failure" and body["experiment"] == "mt-monitoring"
    assert body["systems"] == [] and "failed after 2 attempt(s)" in body["text"]
    assert said == ["alert: failure to webhook ${HOOK}: sent"]


def test_a_webhook_that_keeps_failing_or_hangs_is_logged_without_its_url():
    with WebhookReceiver(fail=10, status=503) as down, WebhookReceiver(delay_s=1.5) as slow:
        targets = [
            resolve_alerts(schedule(webhook="${DOWN}"), {"DOWN": down.url})[0],
            resolve_alerts(schedule(webhook="${SLOW}"), {"SLOW": slow.url})[0],
        ]
        how = Delivery(attempts=2, backoff_s=0.01, timeout_s=0.3)
        said: list[str] = []
        first, second = deliver(message(), targets, delivery=how, say=said.append)
    unavailable = "HTTP 503 Service Unavailable"
    assert not first.delivered and first.attempts == 2 and first.error == unavailable
    assert not second.delivered and second.attempts == 2 and "timed out" in str(second.error)
    for text in [*said, str(first.error), str(second.error)]:
        assert down.token not in text and slow.token not in text
    assert (
        said[0]
        == f"alert: failure to webhook ${{DOWN}}: NOT sent after 2 attempt(s): {unavailable}"
    )


def test_an_unset_variable_is_not_configured_and_nothing_is_tried():
    targets = resolve_alerts(schedule(webhook="${NOT_SET}"), {})
    (sent,) = deliver(message(), targets, say=lambda _: None)
    assert not sent.delivered and sent.attempts == 0
    assert sent.error == "not configured (${NOT_SET} is not set)"


def test_smtp_password_only_as_a_variable(tmp_path):
    (tmp_path / "loclab.yaml").write_text("smtp:\n  host: mail\n  password: hunter2\n  prot: 25\n")
    settings, problems = resolve_smtp(tmp_path, {})
    assert [(p.field, p.message) for p in problems] == [
        ("smtp.password", "a password is never written in a file"),
        ("smtp.prot", "unknown key"),
    ]
    assert "port" in problems[1].fix
    (tmp_path / "loclab.yaml").write_text("smtp:\n  host: mail\n  password: ${PW}\n")
    settings, problems = resolve_smtp(tmp_path, {"PW": "hunter2", "LOCLAB_SMTP_PORT": "2525"})
    assert not problems and settings is not None
    assert settings.password == "hunter2" and settings.port == 2525 and settings.starttls
    assert "hunter2" not in repr(settings)


def _self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def test_email_over_starttls_with_login_to_a_server_on_localhost(tmp_path):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    cert, key = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    received: list[tuple[str, list[str], bytes]] = []
    logins: list[tuple[bytes, bytes]] = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append((envelope.mail_from, envelope.rcpt_tos, envelope.content))
            return "250 OK"

    def authenticate(server, session, envelope, mechanism, data):
        ok = isinstance(data, LoginPassword) and data.password == b"s3cret-pw"
        if isinstance(data, LoginPassword):
            logins.append((data.login, data.password))
        return AuthResult(success=ok)

    with socket.socket() as probe:  # a free port (aiosmtpd connects to its own to start)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=authenticate,
        auth_require_tls=True,
    )
    controller.start()
    try:
        smtp = SmtpSettings(
            host="127.0.0.1",
            port=port,
            username="alerts",
            password="s3cret-pw",
            sender="loclab@example.com",
            ca_file=str(cert),
            timeout_s=5,
        )
        targets = resolve_alerts(schedule(email="ml-team@example.com"), {})
        (sent,) = deliver(message(), targets, smtp=smtp, say=lambda _: None)
        wrong = SmtpSettings(**{**smtp.__dict__, "password": "not-it"})
        (refused,) = deliver(
            message(), targets, smtp=wrong, delivery=Delivery(attempts=1), say=lambda _: None
        )
    finally:
        controller.stop()
    assert sent.delivered and sent.target == "ml-team@example.com"
    ((sender, to, content),) = received
    assert sender == "loclab@example.com" and to == ["ml-team@example.com"]
    assert b"Subject: [loclab] mt-monitoring: scheduled run failed" in content
    assert logins[0] == (b"alerts", b"s3cret-pw")
    assert not refused.delivered and "not-it" not in str(refused.error)
