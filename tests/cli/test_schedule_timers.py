"""``loclab schedule install | list | remove | due`` as a user runs them (real subprocesses).

The crontab is a stand-in ``crontab`` program first on PATH (it keeps the table in a file and
answers like Debian's), so no test touches a real user's crontab; tests/schedule runs the real
``crontab`` and cron daemon for a throwaway user.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from loclab.testing.notebooks import files_under

FAKE_CRONTAB = """#!{python}
import os, sys
table = os.environ["LOCLAB_TEST_CRONTAB"]
args = sys.argv[1:]
user = "tester"
if args[:1] == ["-u"]:
    user, args = args[1], args[2:]
if args == ["-l"]:
    if not os.path.exists(table):
        sys.exit(sys.stderr.write(f"no crontab for {{user}}\\n") and 1)
    sys.stdout.write(open(table).read())
elif args == ["-"]:
    text = sys.stdin.read()
    if text and not text.endswith("\\n"):
        sys.exit(sys.stderr.write("new crontab file is missing newline before EOF\\n") and 1)
    open(table, "w").write(text)
else:
    sys.exit(sys.stderr.write("usage: crontab [-u user] -l | -\\n") and 1)
"""

SPEC = """name: {name}
notebook: notebooks/probe.ipynb
params:
  x: 2.0
"""


@pytest.fixture
def cron_env(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """Environment whose ``crontab`` keeps the table in a file; the table's path."""
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    script = bin_dir / "crontab"
    script.write_text(FAKE_CRONTAB.format(python=sys.executable))
    script.chmod(0o755)
    table = tmp_path / "crontab.txt"
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "LOCLAB_TEST_CRONTAB": str(table)}
    return env, table


def loclab(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "loclab", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=300,
    )


def scheduled(project: Path, cron: str = "0 6 * * MON", timezone: str = "UTC", name="probe"):
    spec = project / "experiments" / f"{name}.yaml"
    text = SPEC.format(name=name) + f'schedule:\n  cron: "{cron}"\n  timezone: {timezone}\n'
    spec.write_text(text)
    return spec


def test_install_list_reinstall_and_remove(project, cron_env, tmp_path):
    env, table = cron_env
    table.write_text("MAILTO=ops\n0 1 * * * /usr/local/bin/backup\n")
    scheduled(project)
    out = loclab("schedule", "install", "experiments/probe.yaml", cwd=project, env=env)
    assert out.returncode == 0, out.stderr
    assert "installed in your crontab: '0 6 * * MON' in UTC" in out.stdout
    lines = table.read_text().splitlines()
    assert lines[:2] == ["MAILTO=ops", "0 1 * * * /usr/local/bin/backup"]
    assert lines[2].startswith("0 6 * * MON cd ")
    assert lines[2].endswith(f"# loclab:{project.resolve()}:probe")

    listed = loclab("schedule", "list", cwd=tmp_path, env=env)
    assert listed.returncode == 0, listed.stderr
    assert f"probe  ({project.resolve()})" in listed.stdout
    assert "0 6 * * MON (the machine's time zone)" in listed.stdout
    assert f"logs:      {project.resolve()}/.loclab/schedules/probe" in listed.stdout
    assert "last tick: none yet" in listed.stdout

    scheduled(project, "30 7 * * *")
    again = loclab("schedule", "install", "experiments/probe.yaml", cwd=project, env=env)
    assert "replaced the earlier entry" in again.stdout
    lines = table.read_text().splitlines()
    assert len(lines) == 3 and lines[2].startswith("30 7 * * * cd ")

    # Another project with an experiment of the same name has its own entry.
    other = tmp_path / "other"
    other.mkdir()
    (other / "pyproject.toml").write_text("[project]\nname = 'other'\n")
    (other / "notebooks").mkdir()
    (other / "notebooks" / "probe.ipynb").write_bytes(
        (project / "notebooks" / "probe.ipynb").read_bytes()
    )
    (other / "experiments").mkdir()
    scheduled(other)
    assert (
        loclab("schedule", "install", "experiments/probe.yaml", cwd=other, env=env).returncode == 0
    )
    assert len(table.read_text().splitlines()) == 4

    gone = loclab("schedule", "remove", "experiments/probe.yaml", cwd=project, env=env)
    assert gone.returncode == 0 and "removed its entry" in gone.stdout
    lines = table.read_text().splitlines()
    assert lines[:2] == ["MAILTO=ops", "0 1 * * * /usr/local/bin/backup"]
    assert len(lines) == 3 and lines[2].endswith(f"# loclab:{other.resolve()}:probe")
    twice = loclab("schedule", "remove", "experiments/probe.yaml", cwd=project, env=env)
    assert twice.returncode == 0 and "nothing removed" in twice.stdout


def test_list_says_when_the_spec_changed_since_install(project, cron_env):
    env, _ = cron_env
    scheduled(project)
    assert (
        loclab("schedule", "install", "experiments/probe.yaml", cwd=project, env=env).returncode
        == 0
    )
    scheduled(project, "0 7 * * MON")
    listed = loclab("schedule", "list", cwd=project, env=env)
    assert "the spec now says '0 7 * * MON' in UTC; install again" in listed.stdout


def test_a_zone_with_daylight_saving_is_guarded(project, cron_env):
    env, table = cron_env
    scheduled(project, "0 6 * * MON", "Europe/Berlin")
    out = loclab("schedule", "install", "experiments/probe.yaml", cwd=project, env=env)
    assert out.returncode == 0, out.stderr
    if "Debian's cron has no CRON_TZ" in out.stdout:  # a machine not on Berlin time
        assert "schedule due --cron '0 6 * * MON' --timezone Europe/Berlin || exit 0" in (
            table.read_text()
        )
        listed = loclab("schedule", "list", cwd=project, env=env)
        assert "'0 6 * * MON' in Europe/Berlin (cron fires" in listed.stdout


@pytest.mark.parametrize(
    ("spec_text", "args", "expected"),
    [
        (None, [], "schedule: the spec has no schedule: section"),
        ('cron: "0 0 L * *"', [], "schedule.cron: the day-of-month field 'L'"),
        ('cron: "61 * * * *"', [], "schedule.cron:"),
        ('cron: "0 6 * * MON"\n  timezone: Europe/Berln', [], "did you mean 'Europe/Berlin'"),
        ('cron: "0 6 * * MON"', ["--backend", "cloud"], "--backend: 'cloud' is not a timer"),
        ('cron: "0 6 * * MON"', ["--env-file", "nope.env"], "--env-file: 'nope.env' is not a"),
        ('cron: "0 6 * * MON"', ["--channel", "wmt=/tmp"], "--channel wmt: the spec has no"),
        (
            'cron: "0 6 * * MON"',
            ["--backend", "sagemaker", "--state-dir", "x"],
            "--state-dir: applies to --backend local only",
        ),
        ('cron: "0 0 1 * MON"', ["--backend", "sagemaker"], "schedule.cron: '0 0 1 * MON' runs"),
    ],
)
def test_bad_input_fails_with_one_line_and_writes_nothing(
    project, cron_env, spec_text, args, expected
):
    env, table = cron_env
    table.write_text("0 1 * * * /usr/local/bin/backup\n")
    spec = project / "experiments" / "probe.yaml"
    if spec_text is not None:
        spec.write_text(SPEC.format(name="probe") + f"schedule:\n  {spec_text}\n")
    env = {
        **env,
        "LOCLAB_SAGEMAKER_REGION": "eu-west-1",
        "LOCLAB_SAGEMAKER_ROLE_ARN": "arn:aws:iam::123456789012:role/loclab-training",
        "LOCLAB_SAGEMAKER_BUCKET": "team-ml",
        "LOCLAB_SAGEMAKER_IMAGE_URI": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/loclab:1",
        # Nothing may reach AWS: a bad request must fail before any call.
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    }
    before = files_under(project)
    out = loclab("schedule", "install", "experiments/probe.yaml", *args, cwd=project, env=env)
    assert out.returncode == 2, out.stdout + out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert expected in lines[0]
    assert table.read_text() == "0 1 * * * /usr/local/bin/backup\n"
    assert files_under(project) == before


def test_due_answers_for_this_minute(tmp_path):
    def due(*args: str) -> int:
        return loclab("schedule", "due", *args, cwd=tmp_path, env={}).returncode

    berlin = ["--cron", "0 6 * * MON", "--timezone", "Europe/Berlin"]
    assert due(*berlin, "--at", "2026-12-07T05:00:02+00:00") == 0
    assert due(*berlin, "--at", "2026-12-07T06:00:02+00:00") == 1
    assert due(*berlin, "--at", "2026-07-06T04:00:00+00:00") == 0
    assert due("--cron", "0 6 * *", "--at", "2026-12-07T05:00:02+00:00") == 2
    out = loclab(
        "schedule", "due", "--cron", "0 6 * * *", "--timezone", "Mars/Base", cwd=tmp_path, env={}
    )
    assert out.returncode == 2 and "is not an IANA time zone" in out.stderr


def test_eventbridge_install_list_and_remove_on_moto(aws, project):
    env = aws.launcher_environ()
    scheduled(project, "0 6 * * MON", "Europe/Berlin")
    out = loclab(
        "schedule",
        "install",
        "experiments/probe.yaml",
        "--backend",
        "sagemaker",
        cwd=project,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    assert "created EventBridge Scheduler schedule arn:aws:scheduler:" in out.stdout
    assert "cron(0 6 ? * MON *) in Europe/Berlin" in out.stdout
    scheduler = aws.client("scheduler")
    (found,) = scheduler.list_schedules(GroupName="loclab")["Schedules"]
    assert found["Name"].startswith("probe-")

    listed = loclab("schedule", "list", "--backend", "sagemaker", cwd=project, env=env)
    assert listed.returncode == 0, listed.stderr
    assert "when:      cron(0 6 ? * MON *) in Europe/Berlin" in listed.stdout
    assert "state:     s3://loclab-test/loclab/schedules/probe/" in listed.stdout

    again = loclab(
        "schedule",
        "install",
        "experiments/probe.yaml",
        "--backend",
        "sagemaker",
        cwd=project,
        env=env,
    )
    assert "replaced EventBridge Scheduler schedule" in again.stdout
    assert len(scheduler.list_schedules(GroupName="loclab")["Schedules"]) == 1

    gone = loclab(
        "schedule",
        "remove",
        "experiments/probe.yaml",
        "--backend",
        "sagemaker",
        cwd=project,
        env=env,
    )
    assert gone.returncode == 0 and "deleted schedule loclab/probe-" in gone.stdout
    assert scheduler.list_schedules(GroupName="loclab")["Schedules"] == []


def test_eventbridge_without_settings_names_each_and_creates_nothing(aws, project):
    scheduled(project)
    out = loclab(
        "schedule",
        "install",
        "experiments/probe.yaml",
        "--backend",
        "sagemaker",
        cwd=project,
        env=aws.environ(),
    )
    assert out.returncode == 2
    fields = [line.split(": ")[1] for line in out.stderr.splitlines() if line.strip()]
    assert fields == ["backend.role_arn", "backend.bucket", "backend.image_uri"]
    assert aws.client("s3").list_buckets()["Buckets"] == []
    groups = aws.client("scheduler").list_schedule_groups()["ScheduleGroups"]
    assert [g["Name"] for g in groups] == ["default"]
