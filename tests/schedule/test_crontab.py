"""The crontab entry: its line, its marker, and running it as cron does (``env -i``, real cron)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from loclab.schedule._crontab import replace_entry
from loclab.schedule.timers import (
    EXIT_LINE,
    cron_unescape,
    last_log,
    parse_entries,
    plan_cron,
)
from loclab.spec import load_experiment

from .conftest import LOCLAB, write_scheduled_project

LOG_NAME = re.compile(r"\d{8}T\d{6}Z\.log")


def plan_for(spec: Path, *, timezone: ZoneInfo | None = None, **kwargs):
    exp = load_experiment(spec, environ={})
    state = exp.root / ".loclab"
    return plan_cron(
        exp, state_dir=state, loclab=[str(LOCLAB)], machine=timezone or ZoneInfo("UTC"), **kwargs
    )


def as_cron_runs_it(line: str) -> str:
    """The command of a crontab line, as cron hands it to ``/bin/sh -c``."""
    command = line.split(None, 5)[5]
    assert re.search(r"(?<!\\)%", command) is None, "an unescaped % would cut the command"
    return cron_unescape(command)


def run_bare(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``env -i /bin/sh -c command``: no PATH, no HOME, nothing (stricter than cron)."""
    return subprocess.run(
        ["env", "-i", "/bin/sh", "-c", command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def has_command(name: str) -> bool:
    out = subprocess.run(
        [str(LOCLAB), "schedule", name, "--help"], capture_output=True, text=True, timeout=60
    )
    return out.returncode == 0


def test_the_line_is_absolute_marked_and_parsed_back(scheduled):
    plan = plan_for(scheduled)
    root = scheduled.parents[1].resolve()
    assert plan.line.startswith("* * * * * cd ")
    assert plan.line.endswith(f"# loclab:{root}:probe")
    assert f"{LOCLAB} schedule run {root}/experiments/probe.yaml --state-dir {root}/.loclab" in (
        plan.command
    )
    assert "\\%Y\\%m\\%d" in plan.line and "%Y%m%d" in plan.command
    (entry,) = parse_entries(f"MAILTO=ops\n# a comment\n0 1 * * * backup.sh\n{plan.line}\n")
    assert (entry.project, entry.experiment, entry.when) == (root, "probe", "* * * * *")
    assert entry.spec == root / "experiments" / "probe.yaml"
    assert entry.log_dir == root / ".loclab" / "schedules" / "probe"
    assert entry.guard is None and entry.command == plan.command


def test_a_guarded_line_keeps_the_specs_expression(tmp_path, probe_template):
    spec = write_scheduled_project(tmp_path, probe_template, "0 6 * * MON", "Europe/Berlin")
    plan = plan_for(spec)
    assert plan.placement.guarded and plan.line.startswith("0 4,5 * * MON ")
    (entry,) = parse_entries(plan.line)
    assert entry.guard == ("0 6 * * MON", "Europe/Berlin")


def test_replacing_keeps_every_other_line(scheduled, tmp_path, probe_template):
    plan = plan_for(scheduled)
    other = plan_for(write_scheduled_project(tmp_path / "other", probe_template))
    table = f"MAILTO=ops\n0 1 * * * backup.sh\n{other.line}\n{plan.line}\n"
    text, removed = replace_entry(
        table, plan.project, "probe", plan.line.replace("* * * * *", "5 * * * *", 1)
    )
    assert removed == 1
    lines = text.splitlines()
    assert lines[:3] == ["MAILTO=ops", "0 1 * * * backup.sh", other.line]
    assert lines[3].startswith("5 * * * * ") and len(lines) == 4
    text, removed = replace_entry(text, plan.project, "probe", None)
    assert removed == 1 and text == f"MAILTO=ops\n0 1 * * * backup.sh\n{other.line}\n"
    assert replace_entry("", plan.project, "probe", None) == ("", 0)


def test_the_exact_line_runs_loclab_with_an_empty_environment(scheduled):
    """Works today: the entry's command, as cron runs it, under ``env -i``.

    The tick is ``schedule run`` (built in another branch); whatever it answers, the log
    appears under the state folder with loclab's output and the exit line.
    """
    plan = plan_for(scheduled)
    out = run_bare(as_cron_runs_it(plan.line), cwd=Path("/"))
    assert out.returncode == 0, out.stderr
    log, status = last_log(plan.log_dir)
    assert log is not None and LOG_NAME.fullmatch(log.name)
    text = log.read_text()
    assert text.rstrip().splitlines()[-1] == f"{EXIT_LINE} {status}"
    assert "loclab schedule" in text or status == 0, text


def test_the_same_line_with_schedule_next_runs_under_env_i(scheduled):
    """The entry's environment and paths suffice for loclab: ``next`` stands in for ``run``."""
    plan = plan_for(scheduled)
    command = as_cron_runs_it(plan.line)
    command = re.sub(r" schedule run (\S+) --state-dir [^;\s]+", r" schedule next \1", command)
    assert " schedule next " in command
    out = run_bare(command, cwd=Path("/"))
    assert out.returncode == 0, out.stderr
    log, status = last_log(plan.log_dir)
    assert status == 0
    text = log.read_text()
    assert "probe: '* * * * *' in UTC" in text
    assert len(re.findall(r"^  \d{4}-\d\d-\d\d \d\d:\d\d UTC", text, re.M)) == 5


@pytest.mark.skipif(not has_command("run"), reason="loclab schedule run is not in this branch")
def test_the_exact_line_runs_the_tick_under_env_i(scheduled):
    """Passes once ``schedule run`` is merged: the real tick, from the crontab line."""
    plan = plan_for(scheduled)
    out = run_bare(as_cron_runs_it(plan.line), cwd=Path("/"))
    assert out.returncode == 0, out.stderr
    log, status = last_log(plan.log_dir)
    assert status == 0, log.read_text()
    assert (plan.project / ".loclab" / "runs" / "probe").is_dir()


def test_a_guard_that_does_not_pass_writes_no_log(tmp_path, probe_template):
    # Never due: February 30th.
    spec = write_scheduled_project(tmp_path, probe_template, "0 6 30 2 *", "Europe/Berlin")
    plan = plan_for(spec)
    assert plan.placement.guarded
    out = run_bare(as_cron_runs_it(plan.line), cwd=Path("/"))
    assert out.returncode == 0, out.stderr
    assert not plan.log_dir.exists()


# -- a real cron daemon -------------------------------------------------------------------------


def _cron_pids() -> list[int]:
    found = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "cron":
                found.append(int(comm.parent.name))
        except OSError:
            continue
    return found


def _can_execute(user: str, program: Path) -> bool:
    out = subprocess.run(
        ["runuser", "-u", user, "--", str(program), "--version"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return out.returncode == 0


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="creating a throwaway user needs root")
@pytest.mark.skipif(shutil.which("cron") is None, reason="Debian's cron is not installed")
def test_a_real_cron_daemon_fires_the_entry_of_a_throwaway_user(probe_template):
    user = f"lltick{uuid.uuid4().hex[:8]}"
    project = Path(tempfile.mkdtemp(prefix="loclab-cron-"))
    started: int | None = None
    subprocess.run(
        ["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", user], check=True
    )
    try:
        project.chmod(0o755)
        spec = write_scheduled_project(project, probe_template)
        subprocess.run(["chown", "-R", user, str(project)], check=True)
        if not _cron_pids():
            # The daemon forks into the background; this test stops it again.
            subprocess.run([shutil.which("cron")], check=True)
            deadline = time.monotonic() + 10
            while not _cron_pids() and time.monotonic() < deadline:
                time.sleep(0.1)
            (started,) = _cron_pids()
        out = subprocess.run(
            [str(LOCLAB), "schedule", "install", str(spec), "--user", user],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        table = subprocess.run(
            ["crontab", "-u", user, "-l"], capture_output=True, text=True, check=True
        ).stdout
        (entry,) = parse_entries(table)
        log_dir = project / ".loclab" / "schedules" / "probe"
        deadline = time.monotonic() + 150
        log, status = last_log(log_dir)
        while status is None and time.monotonic() < deadline:
            time.sleep(2)
            log, status = last_log(log_dir)
        assert log is not None, f"cron did not fire '{entry.when}' within 150 s"
        assert status is not None, log.read_text()
        assert log.stat().st_uid == int(
            subprocess.run(["id", "-u", user], capture_output=True, text=True).stdout
        )
        listed = subprocess.run(
            [str(LOCLAB), "schedule", "list", "--user", user], capture_output=True, text=True
        )
        assert f"last tick: {log.name}, exit {status}" in listed.stdout
        removed = subprocess.run(
            [str(LOCLAB), "schedule", "remove", str(spec), "--user", user],
            capture_output=True,
            text=True,
        )
        assert removed.returncode == 0 and "removed its entry" in removed.stdout
        table = subprocess.run(["crontab", "-u", user, "-l"], capture_output=True, text=True)
        assert parse_entries(table.stdout) == []
        interpreter = Path(sys.executable)
        if not _can_execute(user, interpreter):
            assert status == 126, log.read_text()
            pytest.skip(
                f"cron fired the entry of {user} and the log appeared ({log.name}), but {user} "
                f"cannot execute {interpreter.resolve()} here: the tick itself is covered by the "
                "env -i tests"
            )
        text = log.read_text()
        assert "loclab" in text
        if has_command("run"):
            assert status == 0, text
    finally:
        subprocess.run(["crontab", "-u", user, "-r"], capture_output=True)
        subprocess.run(["userdel", user], capture_output=True)
        shutil.rmtree(project, ignore_errors=True)
        if started is not None:
            os.kill(started, 15)
