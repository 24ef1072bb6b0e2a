"""The ``backend:`` section: one-line shorthands, where settings come from, and `loclab validate`.

Validation of a SageMaker spec builds the request of a representative job and checks it
offline; every problem is one line naming the spec field (and where its value came from).
"""

from __future__ import annotations

import os
import re
import socket
import sys

import pytest

from loclab import cli
from loclab.spec import load_experiment
from loclab.spec.backend import BackendSpec, resolve_sagemaker
from loclab.testing import files_under
from loclab.testing.aws import image_uri, role_arn

S = "experiments/sm.yaml"
BASE = "name: probe\nnotebook: notebooks/probe.ipynb\n"
ENV = {
    "LOCLAB_SAGEMAKER_REGION": "eu-west-1",
    "LOCLAB_SAGEMAKER_ROLE_ARN": role_arn(),
    "LOCLAB_SAGEMAKER_BUCKET": "loclab-test",
    "LOCLAB_SAGEMAKER_IMAGE_URI": image_uri("eu-west-1"),
}


@pytest.fixture(autouse=True)
def _no_aws_env(monkeypatch):
    for key in [k for k in os.environ if k.startswith(("AWS_", "LOCLAB_SAGEMAKER_"))]:
        monkeypatch.delenv(key)
    # Validation never talks to AWS: an endpoint that refuses every connection proves it.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")


def run_cli(monkeypatch, capsys, args):
    monkeypatch.setattr(sys, "argv", ["loclab", *args])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    captured = capsys.readouterr()
    return exc.value.code, captured.out, captured.err


def test_both_backends_are_one_liners(project, monkeypatch, capsys):
    monkeypatch.chdir(project)
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    for kind in ("local", "sagemaker"):
        (project / S).write_text(BASE + f"backend: {kind}\n")
        code, out, err = run_cli(monkeypatch, capsys, ["validate", S])
        assert (code, err) == (0, ""), err
        assert out.startswith(f"{S}: ok")


def test_shorthand_names_every_missing_setting_and_where_to_set_it(project, monkeypatch, capsys):
    monkeypatch.chdir(project)
    (project / S).write_text(BASE + "backend: sagemaker\n")
    before = files_under(project)
    for command in ("validate", "run"):
        code, _, err = run_cli(monkeypatch, capsys, [command, S])
        assert code == 2
        defaults = project / "loclab.yaml"
        assert err.splitlines() == [
            f"{S}: backend.region: is required for backend: sagemaker but is not set; set "
            f"backend.region in the spec, $LOCLAB_SAGEMAKER_REGION or AWS_DEFAULT_REGION, or "
            f"region under 'sagemaker:' in {defaults}",
            f"{S}: backend.role_arn: is required for backend: sagemaker but is not set; set "
            f"backend.role_arn in the spec, $LOCLAB_SAGEMAKER_ROLE_ARN, or role_arn under "
            f"'sagemaker:' in {defaults}",
            f"{S}: backend.bucket: is required for backend: sagemaker but is not set; set "
            f"backend.bucket in the spec, $LOCLAB_SAGEMAKER_BUCKET, or bucket under "
            f"'sagemaker:' in {defaults}",
            f"{S}: backend.image_uri: is required for backend: sagemaker but is not set; set "
            f"backend.image_uri in the spec, $LOCLAB_SAGEMAKER_IMAGE_URI, or image_uri under "
            f"'sagemaker:' in {defaults}",
        ]
    assert files_under(project) == before


def test_settings_precedence(tmp_path):
    (tmp_path / "loclab.yaml").write_text(
        "sagemaker:\n  region: eu-central-1\n  bucket: from-file\n  role_arn: "
        f"{role_arn('file')}\n  image_uri: {image_uri('eu-central-1')}\n  volume_gb: 50\n"
    )
    environ = {
        "AWS_DEFAULT_REGION": "us-east-1",
        "LOCLAB_SAGEMAKER_BUCKET": "from-env",
        "LOCLAB_SAGEMAKER_SUBNETS": "subnet-1, subnet-2",
        "LOCLAB_SAGEMAKER_TAGS": "team=mt,cost=research",
        "LOCLAB_SAGEMAKER_SPOT": "true",
        "LOCLAB_SAGEMAKER_MAX_WAIT": "4h",
        "LOCLAB_SAGEMAKER_INSTANCE_TYPE": "ml.c5.xlarge",
    }
    spec = BackendSpec.model_validate({"kind": "sagemaker", "instance_type": "ml.g5.xlarge"})
    settings, problems = resolve_sagemaker(spec, root=tmp_path, source="s.yaml", environ=environ)
    assert problems == []
    assert settings.instance_type == "ml.g5.xlarge"  # the spec wins
    assert settings.bucket == "from-env"  # then $LOCLAB_SAGEMAKER_*
    assert settings.region == "eu-central-1"  # then loclab.yaml, before AWS_DEFAULT_REGION
    assert settings.volume_gb == 50
    assert settings.subnets == ["subnet-1", "subnet-2"]
    assert settings.tags == {"team": "mt", "cost": "research"}
    assert (settings.spot, settings.max_wait, settings.max_runtime) == (True, 14400.0, 86400.0)
    assert (settings.prefix, settings.instance_count, settings.keep_alive) == ("loclab", 1, 0.0)
    assert settings.code_dirs == ["lib"]
    assert settings.origin("instance_type") == "in the spec"
    assert settings.origin("bucket") == "from $LOCLAB_SAGEMAKER_BUCKET"
    assert settings.origin("region") == "from loclab.yaml (sagemaker.region)"
    assert settings.origin("prefix") == "default"
    (tmp_path / "loclab.yaml").unlink()
    settings, _ = resolve_sagemaker(
        BackendSpec(kind="sagemaker"),
        root=tmp_path,
        source="s.yaml",
        environ={**environ, **{k: v for k, v in ENV.items() if k != "LOCLAB_SAGEMAKER_REGION"}},
    )
    assert settings.region == "us-east-1"
    assert settings.origin("region") == "from $AWS_DEFAULT_REGION"


R = "(CreateTrainingJob"
CASES = [
    (
        "backend:\n  kind: sagemaker\n  spot: true\n  max_runtime: 1h\n",
        {},
        [
            f"{S}: backend.max_wait: is required with managed spot training {R} "
            "StoppingCondition.MaxWaitTimeInSeconds); set it longer than backend.max_runtime: it "
            "covers waiting for spot capacity plus the run"
        ],
    ),
    (
        "backend:\n  kind: sagemaker\n  spot: true\n  max_runtime: 1h\n  max_wait: 60m\n",
        {},
        [
            f"{S}: backend.max_wait: is 3600 s; with managed spot training it must be longer than "
            f"backend.max_runtime (3600 s) {R} StoppingCondition.MaxWaitTimeInSeconds); it covers "
            "waiting for spot capacity plus the run"
        ],
    ),
    (
        "backend:\n  kind: sagemaker\n  instance_type: ml.g5.xlarg\n",
        {},
        [
            f"{S}: backend.instance_type: 'ml.g5.xlarg' is not a valid TrainingInstanceType {R} "
            "ResourceConfig.InstanceType); did you mean 'ml.g5.xlarge'?"
        ],
    ),
    (
        "backend:\n  kind: sagemaker\n  environment: {1BAD: x}\n",
        {},
        [
            f"{S}: backend.environment.1BAD: the key '1BAD' does not match the pattern "
            f'[a-zA-Z_][a-zA-Z0-9_]* {R} Environment["1BAD"]); expected a letter or underscore, '
            "then letters, digits and underscores"
        ],
    ),
    (
        "backend: sagemaker\n",
        {"LOCLAB_SAGEMAKER_ROLE_ARN": "arn:aws:iam::1:role/x"},
        [
            f"{S}: backend.role_arn: 'arn:aws:iam::1:role/x' does not match the pattern "
            rf"arn:aws[a-z\-]*:iam::\d{{12}}:role/?[a-zA-Z_0-9+=,.@\-_/]+ {R} RoleArn; from "
            "$LOCLAB_SAGEMAKER_ROLE_ARN); expected an IAM role ARN such as "
            "arn:aws:iam::123456789012:role/loclab-training"
        ],
    ),
    (
        "backend:\n  kind: sagemaker\n  keep_alive: 10m\n  spot: true\n  max_wait: 2d\n",
        {},
        [
            f"{S}: backend.keep_alive: warm pools cannot be used with managed spot training "
            f"{R} ResourceConfig.KeepAlivePeriodInSeconds); set backend.keep_alive to 0 or "
            "backend.spot to false"
        ],
    ),
    (
        "backend:\n  kind: sagemaker\n  tags: {team: 'mt,qe'}\n",
        {},
        [
            f"{S}: backend.tags: 'mt,qe' does not match the pattern "
            rf"([\p{{L}}\p{{Z}}\p{{N}}_.:/=+\-@]*) {R} Tags[0].Value); expected letters, digits, "
            "spaces and _ . : / = + - @"
        ],
    ),
    (
        "params:\n  note: " + "x" * 2501 + "\nbackend: sagemaker\n",
        {},
        [
            f"{S}: params.note: is 2501 characters long; the maximum is 2500 {R} "
            'HyperParameters["note"])'
        ],
    ),
    (
        "backend:\n  kind: sagemaker\n  mlflow_tracking_uri: sqlite:///mlflow.db\n",
        {},
        [
            f"{S}: backend.mlflow_tracking_uri: 'sqlite:///mlflow.db' cannot be reached from a "
            "SageMaker job; use an http(s):// MLflow server or a SageMaker MLflow ARN"
        ],
    ),
    (
        "backend: sagemaker\n",
        {"LOCLAB_SAGEMAKER_BUCKET": "s3://loclab-test"},
        [
            f"{S}: backend.bucket: give the bucket name only, without s3:// ('loclab-test') "
            "(from $LOCLAB_SAGEMAKER_BUCKET)"
        ],
    ),
    (
        "backend: sagemaker\n",
        {"LOCLAB_SAGEMAKER_REGION": "eu-wset-1"},
        [
            f"{S}: backend.region: 'eu-wset-1' is not a region with SageMaker; did you mean "
            "'eu-west-1'? (from $LOCLAB_SAGEMAKER_REGION)"
        ],
    ),
    (
        "backend:\n  kind: sagemaker\n  instance_count: 2\n",
        {},
        [f"{S}: backend.instance_count: is 2; only single-instance jobs are supported (use 1)"],
    ),
    (
        "backend: sagemaker\n",
        {"LOCLAB_SAGEMAKER_SPOT": "maybe"},
        [f"{S}: backend.spot: $LOCLAB_SAGEMAKER_SPOT: expected true or false, got 'maybe'"],
    ),
    (
        "backend:\n  kind: local\n  instance_type: ml.g5.xlarge\n",
        {},
        [f"{S}: backend: instance_type only applies to kind: sagemaker (this backend is local)"],
    ),
    (
        "backend:\n  kind: sagemaker\n  instace_type: ml.g5.xlarge\n",
        {},
        [f"{S}: backend.instace_type: unknown key; did you mean 'instance_type'?"],
    ),
    (
        "backend:\n  kind: sagemaker\n  volume_gb: lots\n",
        {},
        [
            f"{S}: backend.volume_gb: Input should be a valid integer, unable to parse string "
            "as an integer; got 'lots'"
        ],
    ),
    (
        "backend: sagemaker\n",
        {"LOCLAB_SAGEMAKER_VOLUME_GB": "lots"},
        [
            f"{S}: backend.volume_gb: Input should be a valid integer, unable to parse string "
            "as an integer (from $LOCLAB_SAGEMAKER_VOLUME_GB); got 'lots'"
        ],
    ),
]


@pytest.mark.parametrize(("text", "env", "expected"), CASES)
def test_bad_backend_is_one_line_each_and_writes_nothing(
    project, monkeypatch, capsys, text, env, expected
):
    monkeypatch.chdir(project)
    for key, value in {**ENV, **env}.items():
        monkeypatch.setenv(key, value)
    (project / S).write_text(BASE + text)
    before = files_under(project)
    for command in ("validate", "run"):
        code, _, err = run_cli(monkeypatch, capsys, [command, S])
        assert code == 2
        assert err.splitlines() == expected
    assert files_under(project) == before


def test_defaults_file_problems(project, monkeypatch, capsys):
    monkeypatch.chdir(project)
    (project / "loclab.yaml").write_text("sagemaker:\n  instance: ml.g5.xlarge\n")
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    (project / S).write_text(BASE + "backend: sagemaker\n")
    code, _, err = run_cli(monkeypatch, capsys, ["validate", S])
    assert code == 2
    assert err.splitlines() == [
        f"{project / 'loclab.yaml'}: sagemaker.instance: unknown key; did you mean "
        "'instance_type'?"
    ]


def test_representative_request_covers_every_job(project, monkeypatch):
    """The longest job name, every hyperparameter any job sets, channels and metrics."""
    monkeypatch.chdir(project)
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    (project / "data").mkdir()
    (project / S).write_text(
        BASE
        + "channels: {data: data}\nparams: {x: 2.0}\n"
        + "compare:\n  systems:\n    baseline: {params: {note: a-much-longer-note}}\n"
        + "    candidate-with-a-long-name: {params: {epochs: 5}}\n  seeds: 12\n"
        + "  metrics: [test_score]\nbackend:\n  kind: sagemaker\n  metrics: [val_score]\n"
    )
    from loclab.execution.plan import every_plan, make_request

    exp = load_experiment(S, environ=os.environ)
    requests = [make_request(exp, plan) for plan in every_plan(exp)]
    names = {r.name for r in requests}
    assert "probe-candidate-with-a-long-name-s11" in names and len(names) == 24
    values = {k: {r.hyperparameters[k] for r in requests if k in r.hyperparameters}
              for k in ("x", "note", "epochs", "seed")}  # fmt: skip
    assert values == {
        "x": {"2.0"}, "note": {"a-much-longer-note"}, "epochs": {"5"},
        "seed": {str(s) for s in range(12)},
    }  # fmt: skip
    assert all(set(r.channels) == {"data"} for r in requests)
    # The same planners build the requests that are validated: a clean spec has no problem.
    from loclab.execution.backends.sagemaker import validate_experiment

    assert validate_experiment(exp) == []


def test_validate_is_offline(project, monkeypatch, capsys):
    # Validation reads botocore's service model from disk; it never opens a connection.
    # (Its speed is measured in benchmarks, not asserted here.)
    monkeypatch.chdir(project)
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    (project / S).write_text(BASE + "backend: sagemaker\n")

    def no_network(*args, **kwargs):
        raise AssertionError("validation tried to open a connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    from loclab.run import prepare_experiment

    assert prepare_experiment(S, environ=os.environ).sagemaker is not None


SWEEP = (
    "sweep:\n  metric: val_score\n  n_trials: 12\n  space:\n"
    "    x: {type: float, low: 0.1, high: 1.0}\n"
    "    note: {type: categorical, choices: [short, a-much-longer-choice]}\n"
)


def test_validate_checks_a_sweep_trial_request(project, monkeypatch, capsys):
    """A sweep on SageMaker: the trial's job name, searched values, metric and tags."""
    monkeypatch.chdir(project)
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    (project / S).write_text(BASE + SWEEP + "backend: sagemaker\n")
    code, _, err = run_cli(monkeypatch, capsys, ["validate", S])
    assert (code, err) == (0, ""), err
    from loclab.execution.plan import every_plan, make_request

    exp = load_experiment(S, environ=os.environ)
    trials = [make_request(exp, p) for p in every_plan(exp) if p.name.startswith("probe-t")]
    assert {r.name for r in trials} == {"probe-t11-a9"}
    assert {r.hyperparameters["note"] for r in trials} == {"short", "a-much-longer-choice"}
    assert {r.hyperparameters["x"] for r in trials} == {"0.1", "1.0"}
    (trial,) = {r.name: r for r in trials}.values()
    assert trial.tags["loclab.stage"] == "sweep" and trial.tags["optuna.study"] == "probe"

    # A value the sweep may search that AWS would refuse fails here, before any trial runs.
    choices = SWEEP.replace("a-much-longer-choice", "y" * 2600)
    (project / S).write_text(BASE + choices + "backend: sagemaker\n")
    code, _, err = run_cli(monkeypatch, capsys, ["validate", S])
    assert code == 2
    assert err.splitlines() == [
        f"{S}: params.note: is 2600 characters long; the maximum is 2500 "
        '(CreateTrainingJob HyperParameters["note"])'
    ]


def test_validating_a_sagemaker_spec_imports_nothing_heavy(project, monkeypatch):
    import subprocess

    monkeypatch.chdir(project)
    (project / S).write_text(BASE + "backend: sagemaker\n")
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "loclab", "validate", S],
        capture_output=True,
        text=True,
        env={**os.environ, **ENV},
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    imported = {m.split(".")[0] for m in re.findall(r"\|\s+([\w.]+)$", out.stderr, re.M)}
    heavy = {"boto3", "mlflow", "sagemaker", "torch", "papermill", "moto", "pandas"}
    assert not imported & heavy, imported & heavy


def test_warm_standby_settings_are_local_and_checked(project, monkeypatch, capsys):
    monkeypatch.chdir(project)
    text = "backend:\n  warm: false\n  warm_imports: [lightning, 'loclab.data:load_qe,read_pairs']"
    (project / S).write_text(BASE + text)
    exp = load_experiment(project / S)
    assert exp.spec.backend.warm is False
    assert exp.spec.backend.warm_imports == ["lightning", "loclab.data:load_qe,read_pairs"]
    for text, line in [
        (
            "backend:\n  warm_imports: ['import lightning']\n",
            f"{S}: backend.warm_imports: 'import lightning' is not a module to import; write "
            "'pkg.module', or 'pkg.module:name1,name2' for 'from pkg.module import name1, name2'",
        ),
        (
            "backend:\n  kind: sagemaker\n  warm_imports: [lightning]\n",
            f"{S}: backend: warm_imports only applies to kind: local (remove it)",
        ),
    ]:
        (project / S).write_text(BASE + text)
        code, out, err = run_cli(monkeypatch, capsys, ["validate", S])
        assert code != 0
        assert line in (out + err).splitlines()
