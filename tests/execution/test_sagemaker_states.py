"""States no offline server produces, queued with botocore's Stubber.

InProgress → Stopping → Stopped, Failed with a reason, throttling (retried with backoff, and a
poll that never sleeps), ResourceLimitExceeded and ResourceInUse (clear errors, nothing
launched twice). S3 and CloudWatch Logs are the moto server's.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from loclab.aws import AwsClients, JobNameInUseError, QuotaExceededError, Retry
from loclab.aws.errors import AwsCallError
from loclab.execution.backends.sagemaker import SageMakerBackend, SageMakerJobHandle
from loclab.execution.job import JobRequest

NAME = "probe-run"
ARN = f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{NAME}"


def describe(status: str, secondary: str, **extra) -> dict:
    return {
        "TrainingJobName": NAME,
        "TrainingJobArn": ARN,
        "ModelArtifacts": {
            "S3ModelArtifacts": f"s3://loclab-test/loclab/probe/{NAME}/output/model.tar.gz"
        },
        "TrainingJobStatus": status,
        "SecondaryStatus": secondary,
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "CreationTime": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        **extra,
    }


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def stubbed(aws):
    client = boto3.client("sagemaker", region_name="us-east-1")
    with Stubber(client) as stubber:
        sleeps = Sleeps()
        clients = AwsClients(
            "us-east-1",
            retry=Retry(attempts=4, base_s=1.0, sleep=sleeps),
            overrides={"sagemaker": client},
        )
        backend = SageMakerBackend(
            aws.settings(),
            project_root=Path("/nonexistent"),
            clients=clients,
            poll_interval_s=0.0,
            collect_timeout_s=5.0,
        )
        yield backend, stubber, sleeps
        stubber.assert_no_pending_responses()


def handle(backend, tmp_path, mlflow=None) -> SageMakerJobHandle:
    run_dir = tmp_path / NAME
    run_dir.mkdir(parents=True, exist_ok=True)
    record = {
        "training_job_name": NAME,
        "checkpoints": f"s3://loclab-test/loclab/probe/{NAME}/checkpoints/",
        "output": f"s3://loclab-test/loclab/probe/{NAME}/output",
        "mlflow": mlflow or {},
    }
    return SageMakerJobHandle(backend, run_dir, record)


def request(probe_template) -> JobRequest:
    return JobRequest(
        name=NAME, experiment="probe", notebook=probe_template, hyperparameters={"x": "2"}
    )


def test_in_progress_stopping_stopped(stubbed, tmp_path):
    backend, stubber, _ = stubbed
    job = handle(backend, tmp_path)
    stubber.add_response(
        "describe_training_job", describe("InProgress", "Training"), {"TrainingJobName": NAME}
    )
    stubber.add_response("stop_training_job", {}, {"TrainingJobName": NAME})
    stubber.add_response(
        "describe_training_job", describe("Stopping", "Stopping"), {"TrainingJobName": NAME}
    )
    stubber.add_response(
        "describe_training_job", describe("Stopped", "Stopped"), {"TrainingJobName": NAME}
    )
    assert job.poll() is None
    assert job.secondary_status == "Training"
    job.stop(grace_s=5.0)
    assert job.poll() == 143
    assert job.status == "Stopped"
    job.collect()
    assert (job.run_dir / "output" / "failure").read_text() == "stopped (StopTrainingJob)\n"


def test_stopped_outside_loclab_and_by_max_runtime(stubbed, tmp_path):
    backend, stubber, _ = stubbed
    for secondary, text in (
        ("Stopped", "stopped outside loclab (StopTrainingJob from the console or the CLI)"),
        ("MaxRuntimeExceeded", "stopped by SageMaker: the job ran past max_runtime (3600 s)"),
    ):
        job = handle(backend, tmp_path / secondary)
        stubber.add_response(
            "describe_training_job", describe("Stopped", secondary), {"TrainingJobName": NAME}
        )
        assert job.poll() == 143
        job.collect()
        assert (job.run_dir / "output" / "failure").read_text() == text + "\n"


def test_failed_with_reason(stubbed, tmp_path):
    backend, stubber, _ = stubbed
    job = handle(backend, tmp_path)
    reason = "cell 5 (In [5]) raised ValueError: boom\n\nTraceback (most recent call last): ..."
    stubber.add_response(
        "describe_training_job",
        describe("Failed", "Failed", FailureReason="AlgorithmError: " + reason),
        {"TrainingJobName": NAME},
    )
    assert job.poll() == 1
    job.collect()
    text = (job.run_dir / "output" / "failure").read_text()
    assert text.splitlines()[0] == "cell 5 (In [5]) raised ValueError: boom"


def test_throttled_poll_backs_off_without_sleeping(stubbed, tmp_path):
    backend, stubber, sleeps = stubbed
    backend.poll_interval_s = 2.0
    job = handle(backend, tmp_path)
    stubber.add_client_error("describe_training_job", "ThrottlingException", "Rate exceeded")
    assert job.poll() is None
    assert sleeps == []  # poll() never sleeps
    assert job._next_describe - __import__("time").monotonic() > 3.0  # 2 s * 2**1
    assert job.poll() is None  # within the back-off: no call at all
    job._next_describe = 0.0
    stubber.add_response(
        "describe_training_job", describe("Completed", "Completed"), {"TrainingJobName": NAME}
    )
    assert job.poll() == 0


def test_create_retries_throttling_with_backoff(stubbed, tmp_path, probe_template):
    backend, stubber, sleeps = stubbed
    stubber.add_client_error("create_training_job", "ThrottlingException", "Rate exceeded")
    stubber.add_client_error("create_training_job", "ThrottlingException", "Rate exceeded")
    stubber.add_response("create_training_job", {"TrainingJobArn": ARN}, None)
    run_dir = tmp_path / "runs" / NAME
    run_dir.mkdir(parents=True)
    job = backend.submit(request(probe_template), run_dir, {})
    assert job.record["arn"] == ARN
    # Full jitter: the n-th wait lies in [base * 2**(n-1) / 2, base * 2**(n-1)].
    assert len(sleeps) == 2
    assert 0.5 <= sleeps[0] <= 1.0 and 1.0 <= sleeps[1] <= 2.0


def test_throttling_gives_up_after_the_last_attempt(stubbed, tmp_path):
    backend, stubber, sleeps = stubbed
    job = handle(backend, tmp_path)
    for _ in range(4):
        stubber.add_client_error("stop_training_job", "ThrottlingException", "Rate exceeded")
    with pytest.raises(Exception, match="ThrottlingException"):
        job.stop(grace_s=0)
    assert len(sleeps) == 3


def test_resource_limit_exceeded_is_reported_clearly(stubbed, tmp_path, probe_template):
    backend, stubber, _ = stubbed
    stubber.add_client_error(
        "create_training_job",
        "ResourceLimitExceeded",
        "The account-level service limit 'ml.m5.xlarge for training job usage' is 2 Instances, "
        "with current utilization of 2 Instances and a request delta of 1 Instances.",
    )
    run_dir = tmp_path / "runs" / NAME
    run_dir.mkdir(parents=True)
    with pytest.raises(QuotaExceededError) as info:
        backend.submit(request(probe_template), run_dir, {})
    assert str(info.value) == (
        "CreateTrainingJob failed: ResourceLimitExceeded: SageMaker refused job probe-run: The "
        "account-level service limit 'ml.m5.xlarge for training job usage' is 2 Instances, with "
        "current utilization of 2 Instances and a request delta of 1 Instances.; the account's "
        "quota for this kind of instance is used up: wait for running jobs to end, lower "
        "sweep.workers, or request more in Service Quotas (Amazon SageMaker, 'ml.m5.xlarge for "
        "training job usage')"
    )


def test_name_in_use_fails_loudly(stubbed, tmp_path, probe_template):
    backend, stubber, _ = stubbed
    stubber.add_client_error(
        "create_training_job", "ResourceInUse", "Training job names must be unique"
    )
    stubber.add_response(
        "describe_training_job", describe("InProgress", "Training"), {"TrainingJobName": NAME}
    )
    run_dir = tmp_path / "runs" / NAME
    run_dir.mkdir(parents=True)
    with pytest.raises(JobNameInUseError) as info:
        backend.submit(request(probe_template), run_dir, {})
    assert str(info.value).startswith(
        "CreateTrainingJob failed: ResourceInUse: a training job named probe-run already exists "
        "(InProgress); SageMaker never reuses a name, so loclab did not launch it twice"
    )


def test_access_denied_points_at_the_policy(stubbed, tmp_path, probe_template):
    backend, stubber, _ = stubbed
    stubber.add_client_error(
        "create_training_job", "AccessDeniedException", "not authorized to perform: iam:PassRole"
    )
    run_dir = tmp_path / "runs" / NAME
    run_dir.mkdir(parents=True)
    with pytest.raises(AwsCallError) as info:
        backend.submit(request(probe_template), run_dir, {})
    assert str(info.value) == (
        "CreateTrainingJob failed: AccessDeniedException: not authorized to perform: "
        "iam:PassRole; the caller lacks a permission: see iam/user-policy.json"
    )
