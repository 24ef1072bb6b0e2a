"""What can be checked of the training image and the IAM policies without Docker or AWS."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from loclab.execution.backends.sagemaker import CONTAINER_ENTRYPOINT

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = (REPO / "Dockerfile").read_text()


def lock() -> dict[str, str]:
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            pins[name.strip().lower()] = version.strip()
    return pins


def instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE)  # join continued lines
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest))
    return found


def test_torch_goes_in_first_and_matches_the_lock():
    args = dict(re.findall(r"^ARG (\w+)=(\S+)$", DOCKERFILE, re.M))
    assert args["TORCH_VERSION"] == lock()["torch"]
    runs = [rest for keyword, rest in instructions() if keyword == "RUN" and "pip install" in rest]
    assert '"torch==${TORCH_VERSION}"' in runs[0]
    # Everything after torch is installed under the lock.
    assert all("-c constraints.txt" in run for run in runs[1:])


def test_python_matches_the_project():
    args = dict(re.findall(r"^ARG (\w+)=(\S+)$", DOCKERFILE, re.M))
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == f">={args['PYTHON_VERSION']},<3.12"
    assert ("FROM", "python:${PYTHON_VERSION}-slim-bookworm") in instructions()


def test_copied_files_exist_and_secrets_stay_out():
    for keyword, rest in instructions():
        if keyword == "COPY":
            *sources, _ = rest.split()
            for source in sources:
                assert (REPO / source).exists(), source
    ignored = (REPO / ".dockerignore").read_text().splitlines()
    for name in (".git", ".venv", ".loclab"):
        assert name in ignored


def test_the_image_runs_the_same_entry_point_as_a_request():
    assert ("CMD", '["train"]') in instructions()
    train = (REPO / "docker" / "train").read_text()
    assert f'exec {" ".join(CONTAINER_ENTRYPOINT)} "$@"' in train
    assert os.access(REPO / "docker" / "train", os.X_OK)
    # `train` reaches the entry point (with this interpreter standing in for the image's).
    bin_dir = Path(sys.executable).parent
    out = subprocess.run(
        ["sh", str(REPO / "docker" / "train"), "--help"],
        env={"PATH": f"{bin_dir}:{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "--root" in out.stdout


def test_the_mlflow_plugin_for_sagemaker_arns_is_locked():
    assert "sagemaker-mlflow" in lock()
    assert "sagemaker_mlflow" in DOCKERFILE


def test_scripts_parse():
    for script in ("docker/build-and-push.sh",):
        assert subprocess.run(["bash", "-n", str(REPO / script)]).returncode == 0


#: Actions AWS offers no resource-level permission for: "Resource": "*" is the least there is.
UNSCOPED = {
    "ecr:GetAuthorizationToken",
    "cloudwatch:PutMetricData",
    "ec2:CreateNetworkInterface",
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
}


@pytest.mark.parametrize("path", sorted((REPO / "iam").glob("*.json")), ids=lambda p: p.name)
def test_policies_are_least_privilege(path):
    policy = json.loads(path.read_text())
    assert policy["Version"] == "2012-10-17"
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        assert all("*" not in a for a in actions), actions
        if statement.get("Resource") == "*":
            assert set(actions) <= UNSCOPED, actions


def test_the_roles_policy_covers_what_a_training_job_needs():
    policy = json.loads((REPO / "iam" / "training-role-policy.json").read_text())
    allowed = {
        a
        for s in policy["Statement"]
        for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    }
    assert {
        "s3:GetObject",
        "s3:PutObject",
        "s3:ListBucket",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
        "ecr:GetAuthorizationToken",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "cloudwatch:PutMetricData",
    } <= allowed
    trust = json.loads((REPO / "iam" / "training-role-trust.json").read_text())
    assert trust["Statement"][0]["Principal"] == {"Service": "sagemaker.amazonaws.com"}
