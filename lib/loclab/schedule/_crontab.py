r"""The crontab entry of a schedule: its command, its marker, and editing a user's crontab.

One line per experiment, in the crontab of the user who installs it (or of ``--user``, for
root), read and written only through ``crontab -l`` and ``crontab -`` (never the spool files,
so the daemon notices every change)::

    0 4,5 * * MON cd /p || exit 1; export PATH=/p/.venv/bin:/usr/local/bin:/usr/bin:/bin;
      /p/.venv/bin/loclab schedule due --cron '0 6 * * MON' --timezone Europe/Berlin || exit 0;
      D=/p/.loclab/schedules/mt; mkdir -p "$D" || exit 1;
      L="$D/$(date -u +\%Y\%m\%dT\%H\%M\%SZ).log";
      { /p/.venv/bin/loclab schedule run /p/experiments/mt.yaml --state-dir /p/.loclab;
        echo "[loclab] exit $?"; } >> "$L" 2>&1 # loclab:/p:mt

(one line in the crontab; split here for reading). Every path is absolute and ``PATH`` is set,
so the line runs the same under cron's minimal environment or ``env -i``. The trailing
``# loclab:<project>:<experiment>`` is a shell comment that marks the line as loclab's:
``list`` finds every such line and ``remove`` deletes exactly the one of its project and
experiment. ``%`` is special to cron (a newline), so the line writes it ``\%``.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from loclab.exceptions import LoclabError

__all__ = [
    "EXIT_LINE",
    "MAX_LINE",
    "CronEntry",
    "CrontabError",
    "cron_unescape",
    "entry_line",
    "last_log",
    "marker",
    "parse_entries",
    "read_crontab",
    "replace_entry",
    "tick_command",
    "write_crontab",
]

#: What the entry appends to each log after the tick: its exit status.
EXIT_LINE = "[loclab] exit"
#: Debian's cron keeps at most 1000 characters of a command (MAX_COMMAND in its cron.h).
MAX_LINE = 990
#: Directories after the virtual environment's on the entry's PATH (cron gives /usr/bin:/bin).
SYSTEM_PATH = ("/usr/local/bin", "/usr/bin", "/bin")
_MARK = "# loclab:"
_LINE = re.compile(
    r"^(?P<when>(?:\S+\s+){4}\S+)\s+(?P<command>.*?)\s+# loclab:(?P<project>/.*):"
    r"(?P<experiment>[a-z0-9-]+)\s*$"
)
_EXIT = re.compile(re.escape(EXIT_LINE) + r" (\d+)\s*$")


class CrontabError(LoclabError):
    """``crontab`` is missing or refused a table."""


def marker(project: Path, experiment: str) -> str:
    """The comment ending the entry of ``experiment`` in ``project``."""
    return f"{_MARK}{project}:{experiment}"


def cron_escape(text: str) -> str:
    """``text`` as written in a crontab command (``%`` means a newline to cron)."""
    return text.replace("%", "\\%")


def cron_unescape(text: str) -> str:
    """What cron passes to ``/bin/sh -c`` for a command written as ``text``."""
    return text.replace("\\%", "%")


def tick_command(
    *,
    project: Path,
    loclab: Sequence[str],
    spec: Path,
    state_dir: Path,
    log_dir: Path,
    run_options: Sequence[str] = (),
    guard: tuple[str, str] | None = None,
    env_file: Path | None = None,
) -> str:
    """The shell command of the entry (before cron's ``%`` escaping).

    Args:
        project: The project folder the tick runs in.
        loclab: The ``loclab`` executable (absolute), or an absolute interpreter and
            ``-m loclab``.
        spec: The spec file (absolute).
        state_dir: The state folder (absolute), passed as ``--state-dir``.
        log_dir: Where each tick's ``<timestamp>.log`` goes.
        run_options: More options of ``schedule run`` (``--channel``, ``--reports-dir``).
        guard: ``(cron, timezone)`` for ``loclab schedule due`` when the entry fires on more
            minutes than the schedule has ticks.
        env_file: A file of ``NAME=value`` lines read before the tick (alert webhooks,
            tracking server...).
    """
    q = shlex.quote
    exe = " ".join(q(part) for part in loclab)
    path = ":".join([str(Path(loclab[0]).parent), *SYSTEM_PATH])
    parts = [f"cd {q(str(project))} || exit 1", f"export PATH={q(path)}"]
    if guard is not None:
        parts.append(f"{exe} schedule due --cron {q(guard[0])} --timezone {q(guard[1])} || exit 0")
    parts += [
        f"D={q(str(log_dir))}",
        'mkdir -p "$D" || exit 1',
        'L="$D/$(date -u +%Y%m%dT%H%M%SZ).log"',
    ]
    inner: list[str] = []
    if env_file is not None:
        inner.append(f"set -a; . {q(str(env_file))}; set +a")
    args = " ".join(q(a) for a in [str(spec), "--state-dir", str(state_dir), *run_options])
    inner.append(f"{exe} schedule run {args}")
    inner.append(f'echo "{EXIT_LINE} $?"')
    parts.append("{ " + "; ".join(inner) + '; } >> "$L" 2>&1')
    return "; ".join(parts)


def entry_line(expression: str, command: str, project: Path, experiment: str) -> str:
    """The crontab line: five fields, the command, the marker."""
    return f"{expression} {cron_escape(command)} {cron_escape(marker(project, experiment))}"


@dataclass(frozen=True)
class CronEntry:
    """A loclab line found in a crontab.

    Attributes:
        line: The line as written.
        when: Its five fields (the machine's time).
        command: The command as cron runs it (``%`` unescaped).
        project: The project folder of the marker.
        experiment: The experiment of the marker.
        spec: The spec ``schedule run`` is given (None if the command was edited).
        log_dir: Where its logs go (None if the command was edited).
        guard: ``(cron, timezone)`` of ``loclab schedule due``, when the entry has a guard.
    """

    line: str
    when: str
    command: str
    project: Path
    experiment: str
    spec: Path | None
    log_dir: Path | None
    guard: tuple[str, str] | None


def parse_entries(text: str) -> list[CronEntry]:
    """Every loclab line of a crontab, in order."""
    found: list[CronEntry] = []
    for line in text.splitlines():
        match = _LINE.match(line.strip())
        if match is None or line.lstrip().startswith("#"):
            continue
        command = cron_unescape(match.group("command"))
        spec, log_dir, guard = _details(command)
        found.append(
            CronEntry(
                line=line,
                when=" ".join(match.group("when").split()),
                command=command,
                project=Path(cron_unescape(match.group("project"))),
                experiment=match.group("experiment"),
                spec=spec,
                log_dir=log_dir,
                guard=guard,
            )
        )
    return found


def _details(command: str) -> tuple[Path | None, Path | None, tuple[str, str] | None]:
    """The spec, the log folder and the guard of an entry's command (what loclab wrote)."""
    try:
        words = shlex.split(command)
    except ValueError:
        return None, None, None
    spec: Path | None = None
    log_dir: Path | None = None
    guard: tuple[str, str] | None = None
    for i, word in enumerate(words):
        if word.startswith("D=") and log_dir is None:
            log_dir = Path(word[2:].rstrip(";"))
        if word == "run" and i + 1 < len(words) and words[i - 1] == "schedule":
            spec = Path(words[i + 1].rstrip(";"))
        if (
            word == "due"
            and words[i - 1] == "schedule"
            and i + 4 < len(words)
            and (words[i + 1], words[i + 3]) == ("--cron", "--timezone")
        ):
            guard = (words[i + 2], words[i + 4])
    return spec, log_dir, guard


def replace_entry(text: str, project: Path, experiment: str, line: str | None) -> tuple[str, int]:
    """``text`` without the entries of ``experiment`` in ``project``, plus ``line`` if given.

    Other lines (the user's own entries, variables, comments) are kept as they are.

    Returns:
        The new crontab and how many entries were removed.
    """
    kept: list[str] = []
    removed = 0
    for existing in text.splitlines():
        entry = parse_entries(existing)
        if entry and entry[0].project == project and entry[0].experiment == experiment:
            removed += 1
            continue
        kept.append(existing)
    while kept and not kept[-1].strip():
        kept.pop()
    if line is not None:
        kept.append(line)
    return ("\n".join(kept) + "\n") if kept else "", removed


def _crontab(user: str | None) -> list[str]:
    found = shutil.which("crontab")
    if found is None:
        raise CrontabError(
            "crontab: not found; install Debian's cron (apt-get install cron) or schedule on "
            "AWS with --backend sagemaker"
        )
    return [found, *(["-u", user] if user else [])]


def read_crontab(user: str | None = None) -> str:
    """The crontab of ``user`` (the caller's when None); "" when there is none.

    Raises:
        CrontabError: ``crontab`` is missing or failed.
    """
    out = subprocess.run(
        [*_crontab(user), "-l"], capture_output=True, text=True, timeout=30, check=False
    )
    if out.returncode == 0:
        return out.stdout
    if "no crontab for" in out.stderr:
        return ""
    raise CrontabError(f"crontab -l: {_last_line(out.stderr)}")


def write_crontab(text: str, user: str | None = None) -> None:
    """Replace the crontab of ``user`` (the caller's when None) with ``text``.

    Raises:
        CrontabError: ``crontab`` refused it.
    """
    out = subprocess.run(
        [*_crontab(user), "-"], input=text, capture_output=True, text=True, timeout=30, check=False
    )
    if out.returncode != 0:
        raise CrontabError(f"crontab: {_last_line(out.stderr or out.stdout)}")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "failed without a message"


def last_log(log_dir: Path | None) -> tuple[Path | None, int | None]:
    """The newest tick log in ``log_dir`` and the exit status it ends with (None: none yet)."""
    if log_dir is None or not log_dir.is_dir():
        return None, None
    logs = sorted(log_dir.glob("*.log"))
    if not logs:
        return None, None
    newest = logs[-1]
    status: int | None = None
    for line in newest.read_text(encoding="utf-8", errors="replace").splitlines():
        found = _EXIT.search(line)
        if found:
            status = int(found.group(1))
    return newest, status
