"""The ``schedule:`` section: when the experiment re-runs by itself, and whom to tell.

Each tick is tested against a baseline run, and alerts go out only when something really got
worse (or recovered, or failed).

```yaml
schedule:
  cron: "0 6 * * MON"          # five fields (minute hour day-of-month month day-of-week)
  timezone: Europe/Berlin       # IANA name; default UTC
  baseline: last_good           # last_good (default) | previous | a pinned run id
  retries: 1                    # for a run that fails, not for a regression
  publish: s3://bucket/reports  # optional: publish the report after each tick
  alert:
    - webhook: ${MT_ALERT_WEBHOOK}   # Slack/Teams-compatible incoming webhook
    - email: ml-team@example.com
```

Values may name environment variables as ``${NAME}``: a webhook URL or an address is then
never written in a spec, a record, a report or MLflow. The spec keeps the reference; the
value is read when the experiment is loaded (:func:`resolve_alerts`), and a target whose
variable is unset is reported as not configured (the tick still runs).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import Field, field_validator, model_validator

from loclab.spec._base import SpecModel

__all__ = ["AlertTarget", "ResolvedAlert", "ScheduleSpec", "resolve_alerts"]

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{3,127}")


class AlertTarget(SpecModel):
    """Where a tick's alerts go: exactly one of ``webhook`` or ``email``.

    Attributes:
        webhook: A Slack- or Teams-compatible incoming webhook URL (``https://...``), or
            ``${VAR}`` naming the variable that holds it.
        email: An address (or ``${VAR}``); the SMTP server comes from ``loclab.yaml``
            (section ``smtp:``) and the environment.
    """

    webhook: str | None = None
    email: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> AlertTarget:
        if (self.webhook is None) == (self.email is None):
            raise ValueError("each alert target is either webhook: URL or email: ADDRESS")
        return self

    @field_validator("webhook")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None or _VAR.fullmatch(value.strip()):
            return value
        if not value.startswith(("https://", "http://")):
            raise ValueError(
                f"webhook '{_mask(value)}' is not an http(s) URL; keep the URL out of the spec "
                "with webhook: ${VARIABLE}"
            )
        return value

    @field_validator("email")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is None or _VAR.fullmatch(value.strip()):
            return value
        if not _EMAIL.fullmatch(value):
            raise ValueError(f"'{value}' is not an e-mail address")
        return value

    @property
    def kind(self) -> Literal["webhook", "email"]:
        """``webhook`` or ``email``."""
        return "webhook" if self.webhook is not None else "email"

    @property
    def value(self) -> str:
        """The URL or address as written (maybe a ``${VAR}`` reference)."""
        return self.webhook if self.webhook is not None else str(self.email)


class ScheduleSpec(SpecModel):
    """When the experiment re-runs by itself, and whom to tell about a regression.

    Attributes:
        cron: Five-field cron expression (``minute hour day-of-month month day-of-week``),
            checked by croniter.
        timezone: IANA time zone the expression is read in (default ``UTC``).
        baseline: What each tick is tested against: ``last_good`` (the latest run that did
            not regress, or the one accepted with ``loclab schedule accept``), ``previous``
            (the run before), or a pinned run id.
        retries: Extra attempts for a tick whose run fails (never for a regression).
        publish: ``s3://bucket/prefix`` to publish the report to after each tick.
        alert: Webhook and e-mail targets (values may be ``${VAR}``).
    """

    cron: str
    timezone: str = "UTC"
    baseline: str = "last_good"
    retries: int = Field(default=1, ge=0, le=10)
    publish: str | None = None
    alert: list[AlertTarget] = Field(default_factory=list)

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        from croniter import croniter

        fields = value.split()
        if len(fields) != 5:
            raise ValueError(
                f"'{value}' has {len(fields)} fields; a cron expression has five "
                "(minute hour day-of-month month day-of-week), e.g. '0 6 * * MON'"
            )
        if not croniter.is_valid(value):
            raise ValueError(
                f"'{value}' is not a valid cron expression; e.g. '0 6 * * MON' is Mondays at 06:00"
            )
        return " ".join(fields)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            from loclab.params.validate import did_you_mean

            close = did_you_mean(value, sorted(zoneinfo.available_timezones()))
            hint = f"; did you mean '{close}'?" if close else " (e.g. Europe/Berlin)"
            raise ValueError(f"'{value}' is not an IANA time zone{hint}") from None
        return value

    @field_validator("baseline")
    @classmethod
    def _baseline(cls, value: str) -> str:
        if value in ("last_good", "previous") or _RUN_ID.fullmatch(value):
            return value
        raise ValueError(f"'{value}' is not last_good, previous or a run id")

    @field_validator("publish")
    @classmethod
    def _publish(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not re.fullmatch(r"s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?", value):
            raise ValueError(f"'{value}' is not s3://bucket/prefix")
        return value


@dataclass(frozen=True)
class ResolvedAlert:
    """An alert target with its ``${VAR}`` references read (never stored anywhere).

    Attributes:
        kind: ``webhook`` or ``email``.
        value: The URL or address, or "" when not configured.
        shown: How it may be shown: the spec's text (``${MT_ALERT_WEBHOOK}``) or the
            address; never a webhook URL.
        missing: Variables it names that are not set.
    """

    kind: Literal["webhook", "email"]
    value: str
    shown: str
    missing: tuple[str, ...] = ()

    @property
    def configured(self) -> bool:
        """True when every variable it names is set."""
        return not self.missing and bool(self.value)


def resolve_alerts(schedule: ScheduleSpec, environ: Mapping[str, str]) -> list[ResolvedAlert]:
    """The schedule's alert targets with their ``${VAR}`` references read from ``environ``."""
    out: list[ResolvedAlert] = []
    for target in schedule.alert:
        text = target.value
        missing = tuple(name for name in _VAR.findall(text) if not environ.get(name))
        value = "" if missing else _VAR.sub(lambda m: environ[m.group(1)], text)
        shown = text if target.kind == "webhook" or _VAR.search(text) else value
        if target.kind == "webhook" and not _VAR.search(text):
            shown = _mask(text)
        out.append(ResolvedAlert(target.kind, value, shown, missing))
    return out


def _mask(url: str) -> str:
    """A webhook URL with its secret path hidden (``https://hooks.slack.com/…``)."""
    found = re.match(r"(https?://[^/]+)", url)
    return f"{found.group(1)}/…" if found else "…"
