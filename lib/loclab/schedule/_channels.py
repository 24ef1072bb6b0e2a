"""Delivering an alert: webhook (JSON POST) and e-mail (SMTP with STARTTLS), with retries.

A channel that fails (a timeout, a 500, a refused connection) is retried with a growing pause
and then given up, logged as not delivered: an alert never costs a tick its run or its
report. Targets are named in logs and records as the spec writes them (``${VAR}``), and any
error text is cleaned of the resolved URL, so a webhook's secret path or an SMTP password
is never written anywhere.
"""

from __future__ import annotations

import smtplib
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from loclab.results import AlertSent
from loclab.schedule._message import AlertMessage
from loclab.spec.schedule import ResolvedAlert

__all__ = ["Delivery", "SmtpSettings", "deliver", "send_email", "send_webhook"]


@dataclass(frozen=True)
class SmtpSettings:
    """How e-mail alerts are sent (from ``loclab.yaml``'s ``smtp:`` and the environment).

    Attributes:
        host: The SMTP server.
        port: Its port (587: submission with STARTTLS).
        starttls: Upgrade the connection with STARTTLS before logging in (default; without
            it nothing is sent over an unencrypted connection unless ``starttls: false``).
        username: Login, when the server wants one.
        password: Its password (read from the environment; never stored).
        sender: The ``From:`` address.
        ca_file: A CA bundle to verify the server with (a private CA), else the system's.
        timeout_s: Seconds to wait for the server.
    """

    host: str
    port: int = 587
    starttls: bool = True
    username: str | None = None
    password: str | None = None
    sender: str = "loclab@localhost"
    ca_file: str | None = None
    timeout_s: float = 10.0

    def __repr__(self) -> str:  # never print the password
        return (
            f"SmtpSettings(host={self.host!r}, port={self.port}, starttls={self.starttls}, "
            f"username={self.username!r}, sender={self.sender!r})"
        )


@dataclass(frozen=True)
class Delivery:
    """How hard to try each channel.

    Attributes:
        attempts: Tries per channel.
        backoff_s: Pause before the second try (doubled each time).
        timeout_s: Seconds to wait for a webhook's answer.
    """

    attempts: int = 3
    backoff_s: float = 1.0
    timeout_s: float = 10.0


class ChannelError(Exception):
    """One try of a channel failed (its message names no secret)."""


def _clean(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[REDACTED]")
    return text.splitlines()[0][:300] if text.strip() else "unknown error"


def send_webhook(url: str, message: AlertMessage, *, timeout_s: float = 10.0) -> None:
    """POST the message's JSON to ``url`` once.

    Raises:
        ChannelError: The server did not answer 2xx in time (the URL is not in the message).
    """
    request = urllib.request.Request(
        url,
        data=message.body(),
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "loclab"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            status = int(response.status)
            response.read(4096)
    except urllib.error.HTTPError as err:
        raise ChannelError(f"HTTP {err.code} {err.reason}") from None
    except urllib.error.URLError as err:
        raise ChannelError(_clean(str(err.reason), [url])) from None
    except (TimeoutError, OSError) as err:
        raise ChannelError(_clean(f"{type(err).__name__}: {err}", [url])) from None
    if not 200 <= status < 300:
        raise ChannelError(f"HTTP {status}")


def send_email(address: str, message: AlertMessage, smtp: SmtpSettings) -> None:
    """Send the message to ``address`` once, over STARTTLS unless the settings say otherwise.

    Raises:
        ChannelError: The server refused it, or the connection failed.
    """
    mail = EmailMessage()
    mail["Subject"] = message.subject
    mail["From"] = smtp.sender
    mail["To"] = address
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain=smtp.sender.rpartition("@")[2] or None)
    mail.set_content(message.text)
    secrets = [smtp.password or ""]
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_s) as client:
            client.ehlo()
            if smtp.starttls:
                context = ssl.create_default_context(cafile=smtp.ca_file)
                client.starttls(context=context)
                client.ehlo()
            if smtp.username:
                client.login(smtp.username, smtp.password or "")
            client.send_message(mail)
    except smtplib.SMTPException as err:
        raise ChannelError(_clean(f"{type(err).__name__}: {err}", secrets)) from None
    except (OSError, ssl.SSLError) as err:
        raise ChannelError(_clean(f"{type(err).__name__}: {err}", secrets)) from None


def deliver(
    message: AlertMessage,
    targets: Sequence[ResolvedAlert],
    *,
    smtp: SmtpSettings | None = None,
    delivery: Delivery | None = None,
    say: Callable[[str], None] = print,
) -> list[AlertSent]:
    """Send ``message`` to every target, retrying each; return what happened per target.

    A target that is not configured (its variable is unset, or e-mail without ``smtp:``
    settings) is recorded as not delivered with the reason; nothing raises.
    """
    how = delivery or Delivery()
    out: list[AlertSent] = []
    for target in targets:
        started = time.time()
        if not target.configured:
            missing = ", ".join(f"${{{v}}}" for v in target.missing) or "its value"
            error = f"not configured ({missing} is not set)"
        elif target.kind == "email" and smtp is None:
            error = "not configured (no smtp: host in loclab.yaml or $LOCLAB_SMTP_HOST)"
        else:
            error = None
        attempts = 0
        if error is None:
            for attempt in range(how.attempts):
                attempts = attempt + 1
                try:
                    if target.kind == "webhook":
                        send_webhook(target.value, message, timeout_s=how.timeout_s)
                    else:
                        assert smtp is not None
                        send_email(target.value, message, smtp)
                    error = None
                    break
                except ChannelError as err:
                    error = _clean(str(err), [target.value])
                    if attempt + 1 < how.attempts:
                        time.sleep(how.backoff_s * 2**attempt)
        delivered = error is None
        say(
            f"alert: {message.status} to {target.kind} {target.shown}: "
            + ("sent" if delivered else f"NOT sent after {attempts} attempt(s): {error}")
        )
        out.append(
            AlertSent(
                time=started,
                channel=target.kind,
                target=target.shown,
                status=message.status,
                delivered=delivered,
                attempts=attempts,
                error=error,
            )
        )
    return out
