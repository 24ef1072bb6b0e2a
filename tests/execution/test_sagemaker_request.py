"""The SageMaker backend's CreateTrainingJob requests: built, then strictly validated against
botocore's model constraints and the rules (``_request.py``, ``_validate.py``).

Every bad input gets exactly one line naming the request path, what is wrong and the fix.
"""

from __future__ import annotations

import copy
import time

import pytest

from loclab.aws import RequestValidationError, check_request, compile_java_pattern
from loclab.execution.backends.sagemaker import (
    S3Layout,
    build_training_job_request,
    container_environment,
    training_job_name,
    validate_training_job,
)
from loclab.spec.backend import SageMakerSettings
from loclab.testing.aws import image_uri, role_arn

REGION = "eu-west-1"


def settings(**overrides) -> SageMakerSettings:
    values = {
        "region": REGION,
        "role_arn": role_arn(),
        "bucket": "loclab-test",
        "image_uri": image_uri(REGION),
        **overrides,
    }
    return SageMakerSettings.model_validate(values)


def good(**overrides) -> dict:
    s = settings(**overrides)
    layout = S3Layout(s.bucket, s.prefix)
    return build_training_job_request(
        s,
        job_name=training_job_name("term-qa-t12-a1"),
        experiment="term-qa",
        hyperparameters={"lr": "0.001", "model": "char_cnn", "notes": "plain"},
        code_uri=layout.code("0" * 16),
        channel_uris={"data": layout.channel("data", "1" * 16)},
        environment=container_environment("train.ipynb", code_dirs=["lib"], region=REGION),
        metric_names=["val_acc"],
        tags={"loclab:experiment": "term-qa", "team": "Übersetzung"},
    )


def lines(request: dict) -> list[str]:
    return [str(p) for p in validate_training_job(request, region=REGION)]


def test_a_good_request_has_no_problem():
    request = good(
        spot=True,
        max_runtime="1h",
        max_wait="2h",
        subnets=["subnet-0a1b"],
        security_groups=["sg-0a1b"],
    )
    assert lines(request) == []
    assert request["StoppingCondition"] == {
        "MaxRuntimeInSeconds": 3600,
        "MaxWaitTimeInSeconds": 7200,
    }
    assert request["AlgorithmSpecification"]["ContainerEntrypoint"] == [
        "python",
        "-m",
        "loclab.execution.entrypoint",
    ]
    assert request["CheckpointConfig"] == {
        "S3Uri": "s3://loclab-test/loclab/term-qa/term-qa-t12-a1/checkpoints/",
        "LocalPath": "/opt/ml/checkpoints",
    }
    assert request["Environment"]["PYTHONPATH"] == "/opt/ml/input/data/code/lib"


def mutate(path: str, value):
    def apply(request: dict) -> None:
        *parents, last = path.split(".")
        target = request
        for key in parents:
            target = target.setdefault(key, {})
        if value is DELETE:
            del target[last]
        else:
            target[last] = value

    return apply


DELETE = object()
ROLE_PATTERN = r"arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+"
NAME_PATTERN = "[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
TAG_PATTERN = r"([\p{L}\p{Z}\p{N}_.:/=+\-@]*)"

BAD = {
    "instance type typo": (
        mutate("ResourceConfig.InstanceType", "ml.m5.xlargee"),
        "ResourceConfig.InstanceType: 'ml.m5.xlargee' is not a valid TrainingInstanceType; "
        "did you mean 'ml.m5.xlarge'?",
    ),
    "job name too long": (
        mutate("TrainingJobName", "a" * 64),
        "TrainingJobName: is 64 characters long; the maximum is 63",
    ),
    "job name with underscore": (
        mutate("TrainingJobName", "term_qa-t1"),
        f"TrainingJobName: 'term_qa-t1' does not match the pattern {NAME_PATTERN}; expected 1 "
        "to 63 letters, digits and hyphens, starting and ending with a letter or digit",
    ),
    "spot without a wait": (
        mutate("EnableManagedSpotTraining", True),
        "StoppingCondition.MaxWaitTimeInSeconds: is required with managed spot training; set "
        "it longer than MaxRuntimeInSeconds: it covers waiting for spot capacity plus the run",
    ),
    "spot wait not longer than the run": (
        lambda r: r.update(
            EnableManagedSpotTraining=True,
            StoppingCondition={"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 3600},
        ),
        "StoppingCondition.MaxWaitTimeInSeconds: is 3600 s; with managed spot training it must "
        "be longer than MaxRuntimeInSeconds (3600 s); it covers waiting for spot capacity plus "
        "the run",
    ),
    "wait without spot": (
        mutate("StoppingCondition.MaxWaitTimeInSeconds", 7200),
        "StoppingCondition.MaxWaitTimeInSeconds: is only allowed with managed spot training",
    ),
    "warm pool with spot": (
        lambda r: r.update(
            EnableManagedSpotTraining=True,
            StoppingCondition={"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200},
            ResourceConfig={**r["ResourceConfig"], "KeepAlivePeriodInSeconds": 600},
        ),
        "ResourceConfig.KeepAlivePeriodInSeconds: warm pools cannot be used with managed spot "
        "training; set keep_alive to 0 or spot to false",
    ),
    "warm pool too long": (
        mutate("ResourceConfig.KeepAlivePeriodInSeconds", 30000),
        "ResourceConfig.KeepAlivePeriodInSeconds: is 30000; the maximum is 21600",
    ),
    "too many hyperparameters": (
        mutate("HyperParameters", {f"p{i}": "1" for i in range(101)}),
        "HyperParameters: has 101 entries; the maximum is 100",
    ),
    "hyperparameter value too long": (
        mutate("HyperParameters", {"notes": "x" * 2501}),
        'HyperParameters["notes"]: is 2501 characters long; the maximum is 2500',
    ),
    "bad environment key": (
        mutate("Environment", {"1BAD": "x"}),
        "Environment[\"1BAD\"]: the key '1BAD' does not match the pattern "
        "[a-zA-Z_][a-zA-Z0-9_]*; expected a letter or underscore, then letters, digits and "
        "underscores",
    ),
    "too many environment entries": (
        mutate("Environment", {f"V{i}": "x" for i in range(101)}),
        "Environment: has 101 entries; the maximum is 100",
    ),
    "environment value too long": (
        mutate("Environment", {"HF_HOME": "/" + "x" * 512}),
        'Environment["HF_HOME"]: is 513 characters long; the maximum is 512',
    ),
    "bad role ARN": (
        mutate("RoleArn", "arn:aws:iam::12345:role/loclab"),
        f"RoleArn: 'arn:aws:iam::12345:role/loclab' does not match the pattern {ROLE_PATTERN}; "
        "expected an IAM role ARN such as arn:aws:iam::123456789012:role/loclab-training",
    ),
    "role ARN is a user": (
        mutate("RoleArn", "arn:aws:iam::123456789012:user/alice"),
        "RoleArn: 'arn:aws:iam::123456789012:user/alice' does not match the pattern "
        f"{ROLE_PATTERN}; expected an IAM role ARN such as "
        "arn:aws:iam::123456789012:role/loclab-training",
    ),
    "S3 path without scheme": (
        mutate("OutputDataConfig.S3OutputPath", "loclab-test/out"),
        "OutputDataConfig.S3OutputPath: 'loclab-test/out' does not match the pattern "
        "(https|s3)://([^/]+)/?(.*); expected an S3 URI such as s3://my-bucket/loclab",
    ),
    "S3 path over https": (
        mutate("CheckpointConfig.S3Uri", "https://loclab-test.s3.amazonaws.com/c"),
        "CheckpointConfig.S3Uri: 'https://loclab-test.s3.amazonaws.com/c' is not an s3:// URI",
    ),
    "S3 bucket name invalid": (
        mutate("OutputDataConfig.S3OutputPath", "s3://Loclab_Test/out"),
        "OutputDataConfig.S3OutputPath: 'Loclab_Test' is not a valid S3 bucket name; 3 to 63 "
        "lower-case letters, digits, dots and hyphens",
    ),
    "missing role": (mutate("RoleArn", DELETE), "RoleArn: is required"),
    "misspelt field": (
        mutate("ResourceConfig.VolumeSizeGB", 30),
        "ResourceConfig.VolumeSizeGB: is not a field of ResourceConfig; did you mean "
        "'VolumeSizeInGB'?",
    ),
    "wrong type": (
        mutate("ResourceConfig.VolumeSizeInGB", "30"),
        "ResourceConfig.VolumeSizeInGB: must be an integer, not str",
    ),
    "no storage": (
        mutate("ResourceConfig.VolumeSizeInGB", 0),
        "ResourceConfig.VolumeSizeInGB: is 0; a job needs at least 1 GB of storage",
    ),
    "tag value with a comma": (
        mutate("Tags", [{"Key": "team", "Value": "mt,qe"}]),
        f"Tags[0].Value: 'mt,qe' does not match the pattern {TAG_PATTERN}; expected letters, "
        "digits, spaces and _ . : / = + - @",
    ),
    "reserved tag key": (
        mutate("Tags", [{"Key": "aws:team", "Value": "mt"}]),
        "Tags[0].Key: 'aws:team': the aws: prefix is reserved",
    ),
    "metric regex without a group": (
        mutate("AlgorithmSpecification.MetricDefinitions", [{"Name": "acc", "Regex": "acc=.*"}]),
        "AlgorithmSpecification.MetricDefinitions[0].Regex: has 0 capture groups; it needs "
        "exactly one (the value)",
    ),
    "image in another region": (
        mutate("AlgorithmSpecification.TrainingImage", image_uri("us-east-1")),
        "AlgorithmSpecification.TrainingImage: the image is in us-east-1 but the job runs in "
        "eu-west-1; push the image to ECR in the job's region",
    ),
    "image not a URI": (
        mutate("AlgorithmSpecification.TrainingImage", "loclab latest"),
        "AlgorithmSpecification.TrainingImage: 'loclab latest' is not an image URI; expected "
        "e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/loclab:0.1.0",
    ),
    "duplicate channel": (
        lambda r: r["InputDataConfig"].append(copy.deepcopy(r["InputDataConfig"][1])),
        "InputDataConfig[2].ChannelName: 'data' appears twice",
    ),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_request_gives_one_exact_line(case):
    change, expected = BAD[case]
    request = good()
    change(request)
    assert lines(request) == [expected]


def test_check_request_raises_with_every_problem_and_sends_nothing():
    request = good()
    request["RoleArn"] = "role"
    request["TrainingJobName"] = "a" * 70
    with pytest.raises(RequestValidationError) as info:
        check_request("CreateTrainingJob", request)
    text = str(info.value)
    assert text.splitlines()[0] == "CreateTrainingJob request is invalid (not sent):"
    assert "  TrainingJobName: is 70 characters long; the maximum is 63" in text.splitlines()
    assert len(info.value.problems) == 3  # the role: too short and not an ARN


@pytest.mark.parametrize(
    ("name", "attempt", "expected"),
    [
        ("term-qa-t12-a1", 1, "term-qa-t12-a1"),
        ("quickstart-neural-s0", 1, "quickstart-neural-s0"),
        ("quickstart-neural-s0", 3, "quickstart-neural-s0-r3"),
        ("exp-my_system-s0", 1, "exp-my-system-s0-"),
    ],
)
def test_job_names_are_deterministic_and_valid(name, attempt, expected):
    got = training_job_name(name, attempt)
    assert got.startswith(expected)
    assert got == training_job_name(name, attempt)
    assert compile_java_pattern(NAME_PATTERN).fullmatch(got)


def test_long_job_names_keep_their_start_and_do_not_collide():
    a = training_job_name("x" * 40 + "-a-very-long-system-name-s0")
    b = training_job_name("x" * 40 + "-a-very-long-system-name-s1")
    assert a != b and len(a) == len(b) == 63
    assert a.startswith("x" * 40)
    assert len(training_job_name("x" * 80, attempt=12)) == 63
    assert training_job_name("x" * 80, attempt=12).endswith("-r12")


def test_validation_is_fast():
    request = good()
    validate_training_job(request)  # loads the model once
    started = time.perf_counter()
    for _ in range(200):
        assert validate_training_job(request, region=REGION) == []
    per_call = (time.perf_counter() - started) / 200
    # About 0.2 ms here; generous for a loaded machine.
    assert per_call < 0.02
