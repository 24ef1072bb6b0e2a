"""EventBridge Scheduler: the requests offline, the schedule on moto, the tick on the emulator."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pytest

from loclab.aws.clients import AwsClients
from loclab.aws.validate import validate_request
from loclab.exceptions import SpecError
from loclab.execution.backends.sagemaker import validate_training_job
from loclab.schedule._eventbridge import CONTEXT_SAMPLES, EXECUTION_ID, validate_schedule
from loclab.schedule.timers import (
    SCHEDULE_GROUP,
    TARGET_ARN,
    EventBridgeTimers,
    plan_eventbridge,
    substitute_context,
)
from loclab.spec import load_experiment
from loclab.spec.backend import SageMakerSettings
from loclab.testing.aws import ACCOUNT_ID, image_uri, role_arn

from .conftest import LOCLAB, write_scheduled_project

SCHEDULER_ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/loclab-scheduler"


def settings(**overrides) -> SageMakerSettings:
    values = {
        "region": "eu-west-1",
        "role_arn": role_arn(),
        "bucket": "team-ml",
        "image_uri": image_uri("eu-west-1"),
        **overrides,
    }
    return SageMakerSettings.model_validate(values)


def plan_for(spec: Path, config: SageMakerSettings | None = None, **kwargs):
    exp = load_experiment(spec, environ={})
    kwargs.setdefault("scheduler_role_arn", SCHEDULER_ROLE)
    return plan_eventbridge(exp, config or settings(), **kwargs)


def test_the_schedule_and_its_training_job_pass_botocores_models(tmp_path, probe_template):
    spec = write_scheduled_project(tmp_path, probe_template, "0 6 * * MON", "Europe/Berlin")
    plan = plan_for(spec)
    request = plan.request
    assert validate_request("CreateSchedule", request, service="scheduler") == []
    assert validate_schedule(request, region="eu-west-1") == []
    assert request["ScheduleExpression"] == "cron(0 6 ? * MON *)"
    assert request["ScheduleExpressionTimezone"] == "Europe/Berlin"
    assert request["GroupName"] == SCHEDULE_GROUP
    target = request["Target"]
    assert (target["Arn"], target["RoleArn"]) == (TARGET_ARN, SCHEDULER_ROLE)
    job = json.loads(substitute_context(target["Input"]))
    assert validate_request("CreateTrainingJob", job) == []
    assert validate_training_job(job, region="eu-west-1") == []
    assert job == json.loads(target["Input"].replace(EXECUTION_ID, CONTEXT_SAMPLES[EXECUTION_ID]))
    assert len(job["TrainingJobName"]) <= 63
    algorithm = job["AlgorithmSpecification"]
    assert algorithm["ContainerEntrypoint"] == ["python", "-m", "loclab.schedule._sagemaker_tick"]
    arguments = algorithm["ContainerArguments"]
    assert arguments[arguments.index("--") + 1 :][:3] == [
        "schedule",
        "run",
        "experiments/probe.yaml",
    ]
    assert arguments[arguments.index("--state") + 1] == "s3://team-ml/loclab/schedules/probe/"
    assert [c["ChannelName"] for c in job["InputDataConfig"]] == ["code"]
    assert "CheckpointConfig" not in job
    assert job["RoleArn"] == role_arn()


def test_each_tick_gets_its_own_job_name_within_sagemakers_limit(tmp_path, probe_template):
    spec = write_scheduled_project(tmp_path, probe_template)
    spec.write_text(spec.read_text().replace("name: probe", "name: " + "m" * 40))
    plan = plan_for(spec)
    name = plan.job_request["TrainingJobName"]
    assert name.startswith("tick-mmmm") and name.endswith(EXECUTION_ID)
    assert len(substitute_context(name)) == 63


def test_channels_are_live_s3_prefixes_or_uploaded_once(tmp_path, probe_template):
    spec = write_scheduled_project(tmp_path, probe_template)
    (tmp_path / "data" / "2026-12-01").mkdir(parents=True)
    (tmp_path / "data" / "2026-12-01" / "a.tsv").write_text("x\n")
    (tmp_path / "snap").mkdir()
    spec.write_text(spec.read_text() + "channels:\n  snapshots: data\n  extra: snap\n")
    plan = plan_for(spec, s3_channels={"snapshots": "s3://feeds/mt/snapshots/"})
    job = plan.job_request
    uris = {
        c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in job["InputDataConfig"]
    }
    assert uris["snapshots"] == "s3://feeds/mt/snapshots/"
    assert uris["extra"].startswith("s3://team-ml/loclab/data/extra/")
    assert plan.frozen_channels == ("extra",)
    arguments = job["AlgorithmSpecification"]["ContainerArguments"]
    assert "snapshots=/opt/ml/input/data/snapshots" in arguments


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"cron": "0 0 1 * MON"}, "schedule.cron", "one of the two day fields"),
        ({"config": {"instance_type": "m5.xlarge"}}, "backend.instance_type", "ml.m5.xlarge"),
        ({"role": "arn:aws:iam::12:role/x"}, "--scheduler-role", "does not match"),
        ({"config": {"volume_gb": 0}}, "backend.volume_gb", "at least 1 GB"),
    ],
)
def test_bad_input_is_named_by_the_field_to_fix(tmp_path, probe_template, change, field, words):
    spec = write_scheduled_project(tmp_path, probe_template, change.get("cron", "0 6 * * MON"))
    with pytest.raises(SpecError) as caught:
        plan_for(
            spec,
            settings(**change.get("config", {})),
            scheduler_role_arn=change.get("role", SCHEDULER_ROLE),
        )
    (problem,) = caught.value.problems
    assert problem.field == field, problem
    assert words in str(problem)


def test_a_spec_without_a_schedule_has_nothing_to_install(project):
    with pytest.raises(SpecError, match="no schedule: section"):
        plan_for(project / "experiments" / "probe.yaml")


def test_the_validator_checks_what_the_models_cannot(tmp_path, probe_template):
    plan = plan_for(write_scheduled_project(tmp_path, probe_template))
    request = json.loads(json.dumps(plan.request))
    request["ScheduleExpression"] = "rate(5 minutes)"
    request["ScheduleExpressionTimezone"] = "Europe/Berlinn"
    request["Target"]["Arn"] = "arn:aws:scheduler:::aws-sdk:sagemaker:createProcessingJob"
    job = json.loads(request["Target"]["Input"])
    job["TrainingJobName"] = "tick_<aws.scheduler.execution-id>"
    request["Target"]["Input"] = json.dumps(job)
    paths = [p.path for p in validate_schedule(request, region="eu-west-1")]
    assert paths == [
        "ScheduleExpression",
        "ScheduleExpressionTimezone",
        "Target.Arn",
        "Target.Input.TrainingJobName",
    ]
    request["Target"]["Input"] = "{not json"
    assert validate_schedule(request, region="eu-west-1")[-1].path == "Target.Input"


def test_create_replace_list_and_delete_on_moto(aws, tmp_path, probe_template):
    config = aws.settings()
    plan = plan_for(write_scheduled_project(tmp_path, probe_template), config)
    timers = EventBridgeTimers(AwsClients(aws.region))
    arn, created = timers.install(plan)
    assert created and arn.endswith(f":schedule/{SCHEDULE_GROUP}/{plan.name}")
    assert timers.install(plan) == (arn, False)
    stored = aws.client("scheduler").get_schedule(Name=plan.name, GroupName=SCHEDULE_GROUP)
    assert stored["Target"]["Input"] == plan.request["Target"]["Input"]
    files, prefix, _ = plan.code
    assert {"experiments/probe.yaml", "notebooks/probe.ipynb", "pyproject.toml"} <= set(files)
    keys = {o["Key"] for o in aws.client("s3").list_objects_v2(Bucket=config.bucket)["Contents"]}
    assert f"{prefix.split('/', 3)[3]}experiments/probe.yaml" in keys
    (info,) = timers.list()
    assert (info.name, info.expression, info.state) == (plan.name, "cron(* * * * ? *)", "ENABLED")
    assert info.state_uri == plan.state and info.last_log is None
    assert timers.remove(plan.name) is True
    assert timers.remove(plan.name) is False
    assert timers.list() == []


def _fire(aws, emulator, plan, stand_in: bool) -> tuple[str, dict]:
    """What EventBridge Scheduler does at a tick: CreateTrainingJob with the target's Input."""
    stored = aws.client("scheduler").get_schedule(Name=plan.name, GroupName=SCHEDULE_GROUP)
    run_id = uuid.uuid4().hex[:16]
    job = json.loads(substitute_context(stored["Target"]["Input"], {EXECUTION_ID: run_id}))
    if stand_in:
        arguments = job["AlgorithmSpecification"]["ContainerArguments"]
        # `loclab run` stands in for `loclab schedule run` (another branch): same state folder.
        arguments.remove("schedule")
    aws.client("sagemaker").create_training_job(**job)
    status = emulator.wait(job["TrainingJobName"], timeout_s=600)
    return status, emulator.job(job["TrainingJobName"])


def _tick_env(aws) -> dict[str, str]:
    # The emulated container reaches the moto server as a real one reaches S3 with its role.
    keep = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
    return {k: v for k, v in aws.environ().items() if k in keep}


def _objects(aws, bucket: str, prefix: str) -> dict[str, bytes]:
    s3 = aws.client("s3")
    found = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return {
        o["Key"][len(prefix) :]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
        for o in found
    }


def _has_command(name: str) -> bool:
    out = subprocess.run([str(LOCLAB), "schedule", name, "--help"], capture_output=True)
    return out.returncode == 0


@pytest.mark.slow
@pytest.mark.parametrize(
    "stand_in",
    [
        True,
        pytest.param(
            False,
            marks=pytest.mark.skipif(
                not _has_command("run"), reason="loclab schedule run is not in this branch"
            ),
        ),
    ],
    ids=["loclab-run-stands-in", "schedule-run"],
)
def test_ticks_run_as_training_jobs_and_keep_their_state_on_s3(
    aws, emulator, tmp_path, probe_template, stand_in
):
    config = aws.settings(environment=_tick_env(aws))
    plan = plan_for(write_scheduled_project(tmp_path, probe_template), config)
    EventBridgeTimers(AwsClients(aws.region)).install(plan)
    prefix = plan.state.removeprefix(f"s3://{config.bucket}/")
    status, job = _fire(aws, emulator, plan, stand_in)
    assert status == "Completed", "\n".join(job.log[-30:])
    first = _objects(aws, config.bucket, prefix)
    (log,) = [k for k in first if k.startswith("logs/")]
    assert first[log].decode().rstrip().endswith("[loclab] exit 0")
    assert "running.json" not in first
    assert "state/results/probe/jobs.json" in first
    assert "reports/probe/index.html" in first
    # The next tick starts from the state the first one left on S3.
    status, job = _fire(aws, emulator, plan, stand_in)
    assert status == "Completed", "\n".join(job.log[-30:])
    second = _objects(aws, config.bucket, prefix)
    assert len([k for k in second if k.startswith("logs/")]) == 2
    assert len([k for k in second if k.startswith("reports/probe/2")]) >= 1
    assert set(first) - {"reports/.lock"} <= set(second)


@pytest.mark.slow
def test_a_failed_tick_fails_its_job_with_the_reason(aws, emulator, tmp_path, probe_template):
    config = aws.settings(environment=_tick_env(aws))
    spec = write_scheduled_project(tmp_path, probe_template)
    plan = plan_for(spec, config)
    EventBridgeTimers(AwsClients(aws.region)).install(plan)
    # A spec broken after install: the tick's own check fails (exit 2) inside the job.
    stored = aws.client("scheduler").get_schedule(Name=plan.name, GroupName=SCHEDULE_GROUP)
    job = json.loads(substitute_context(stored["Target"]["Input"]))
    arguments = job["AlgorithmSpecification"]["ContainerArguments"]
    arguments[arguments.index("--") + 1 :] = ["validate", "experiments/missing.yaml"]
    aws.client("sagemaker").create_training_job(**job)
    assert emulator.wait(job["TrainingJobName"], timeout_s=300) == "Failed"
    reason = emulator.job(job["TrainingJobName"]).failure_reason
    assert reason.startswith("loclab schedule run exited 2: experiments/missing.yaml:"), reason
    logs = _objects(
        aws, config.bucket, plan.state.removeprefix(f"s3://{config.bucket}/") + "logs/"
    )
    assert next(iter(logs.values())).decode().rstrip().endswith("[loclab] exit 2")
