"""SMTP settings for e-mail alerts: ``loclab.yaml`` (section ``smtp:``), then the environment.

```yaml
# loclab.yaml at the project root
smtp:
  host: smtp.example.com
  port: 587                         # default 587 (submission)
  starttls: true                    # default true
  username: alerts@example.com
  password: ${LOCLAB_SMTP_PASSWORD} # only as a ${VARIABLE}: never written in a file
  sender: loclab@example.com
  ca_file: /etc/ssl/private-ca.pem  # optional: a private CA to verify the server with
```

``$LOCLAB_SMTP_HOST``, ``_PORT``, ``_STARTTLS``, ``_USERNAME``, ``_PASSWORD``, ``_SENDER`` and
``_CA_FILE`` win over the file. The command line reads both once and passes the settings down.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from loclab.exceptions import Problem
from loclab.schedule._channels import SmtpSettings

__all__ = ["SMTP_ENV_PREFIX", "resolve_smtp"]

SMTP_ENV_PREFIX = "LOCLAB_SMTP_"
_FIELDS = ("host", "port", "starttls", "username", "password", "sender", "ca_file", "timeout_s")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _section(path: Path) -> tuple[dict[str, Any], list[Problem]]:
    if not path.is_file():
        return {}, []
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        what = getattr(err, "problem", None) or str(err).splitlines()[0]
        return {}, [Problem(str(path), "", f"invalid YAML: {what}", "fix the syntax")]
    section = data.get("smtp") if isinstance(data, dict) else None
    if section is None:
        return {}, []
    if not isinstance(section, dict):
        return {}, [Problem(str(path), "smtp", "expected a mapping of settings")]
    return section, []


def resolve_smtp(
    root: Path, environ: Mapping[str, str]
) -> tuple[SmtpSettings | None, list[Problem]]:
    """The SMTP settings of a project, None when no host is configured.

    Args:
        root: The project root (where ``loclab.yaml`` is).
        environ: The environment the command was started with.

    Returns:
        The settings (None without a host, or when a value is invalid) and the problems,
        one line each naming the field and the fix.
    """
    path = root / "loclab.yaml"
    section, problems = _section(path)
    values: dict[str, Any] = {}
    for key, value in section.items():
        if key not in _FIELDS:
            from loclab.params.validate import did_you_mean

            close = did_you_mean(str(key), _FIELDS)
            fix = f"did you mean '{close}'?" if close else f"valid: {', '.join(_FIELDS)}"
            problems.append(Problem(str(path), f"smtp.{key}", "unknown key", fix))
            continue
        text = str(value)
        if key == "password" and not _VAR.fullmatch(text.strip()):
            problems.append(
                Problem(
                    str(path),
                    "smtp.password",
                    "a password is never written in a file",
                    "write password: ${LOCLAB_SMTP_PASSWORD} and set that variable",
                )
            )
            continue
        found = _VAR.fullmatch(text.strip())
        values[key] = environ.get(found.group(1), "") if found else value
    for key in _FIELDS:
        var = f"{SMTP_ENV_PREFIX}{key.upper()}"
        if environ.get(var, "") != "":
            values[key] = environ[var]
    if not values.get("host"):
        return None, problems
    try:
        settings = SmtpSettings(
            host=str(values["host"]),
            port=int(values.get("port", 587)),
            starttls=_bool(values.get("starttls", True)),
            username=str(values["username"]) if values.get("username") else None,
            password=str(values["password"]) if values.get("password") else None,
            sender=str(values.get("sender") or "loclab@localhost"),
            ca_file=str(values["ca_file"]) if values.get("ca_file") else None,
            timeout_s=float(values.get("timeout_s", 10.0)),
        )
    except ValueError as err:
        problems.append(Problem(str(path), "smtp", str(err), "check port, starttls and timeout_s"))
        return None, problems
    return settings, problems


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"starttls: expected true or false, got {value!r}")
