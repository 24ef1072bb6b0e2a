"""The training-job emulator plays SageMaker, offline, for the backend that talks to moto.

moto records the request loclab built and validated; the emulator runs the real entry point on
the probe notebook under an ``/opt/ml`` tree of its own and answers as SageMaker would, through
``DescribeTrainingJob``, S3 and CloudWatch Logs: status transitions, final metrics, the model
archive, spot interruptions resumed from checkpoints, the runtime limit. The backend's own
behaviour (launch, attach, stop, what the container gets) is tested in tests/execution/.
"""

from __future__ import annotations

import io
import json
import tarfile
import time
from pathlib import Path

import pytest

from loclab.aws.errors import JobNameInUseError
from loclab.execution.backends.sagemaker import (
    JobStillRunningError,
    SageMakerBackend,
    read_record,
    training_job_name,
)
from loclab.execution.job import JobRequest, read_metrics
from loclab.testing import write_notebook
from loclab.testing.emulator import dumps_job

REPO = Path(__file__).resolve().parents[2]


def backend(aws, project: Path, **settings) -> SageMakerBackend:
    return SageMakerBackend(
        aws.settings(**settings),
        project_root=project,
        metric_names=["val_score"],
        poll_interval_s=0.2,
        metrics_interval_s=0.2,
        collect_timeout_s=60,
    )


def probe(notebook: Path, name: str = "probe-run", **params) -> JobRequest:
    return JobRequest(
        name=name,
        experiment="probe",
        notebook=notebook,
        hyperparameters={k: str(v) for k, v in params.items()},
        tags={"loclab.system": "probe"},
    )


def run_dir(project: Path, name: str) -> Path:
    path = project / ".loclab" / "runs" / "probe" / name
    path.mkdir(parents=True)
    return path


def wait_done(handle, timeout_s: float = 90.0) -> int:
    deadline = time.monotonic() + timeout_s
    while (code := handle.poll()) is None:
        assert time.monotonic() < deadline, f"{handle.job_name} still {handle.secondary_status}"
        time.sleep(0.1)
    return code


class Calls(set):
    """AWS operations a client made (service:Operation), from botocore's event hooks."""

    def attach(self, client) -> None:
        service = client.meta.service_model.signing_name
        client.meta.events.register(
            "before-call.*.*", lambda model, **_: self.add(f"{service}:{model.name}")
        )


def test_a_job_runs_end_to_end(aws, emulator, project):
    nb = project / "notebooks" / "probe.ipynb"
    sm = backend(aws, project)
    calls = Calls()
    for client in (sm.clients.sagemaker, sm.clients.s3, sm.clients.logs):
        calls.attach(client)
    folder = run_dir(project, "probe-run")
    handle = sm.submit(probe(nb, x=2.5, sleep_s=0.4), folder, {"LOCLAB_CACHE_DIR": "/tmp/c"})
    # moto recorded exactly the request loclab built and validated.
    sent = handle.record["request"]
    assert emulator.job("probe-run").request == sent
    assert "LOCLAB_CACHE_DIR" not in sent["Environment"]  # a local path means nothing there
    seen_running = []
    while handle.poll() is None:
        records = handle.read_metrics()
        if records and handle.status == "InProgress":
            seen_running.append(len(records))
        time.sleep(0.1)
    assert seen_running, "metrics were readable from S3 while the job ran"
    assert handle.poll() == 0, dumps_job(emulator.job("probe-run"))
    handle.collect()

    files = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    assert {
        "output/data/executed.ipynb",
        "output/data/predictions.parquet",
        "output/data/tags.json",
        "checkpoints/metrics.jsonl",
        "input/config/hyperparameters.json",
        "job.log",
        "sagemaker.json",
    } <= files
    assert not (folder / "output" / "failure").exists()
    records = read_metrics(folder / "checkpoints" / "metrics.jsonl")
    assert [r["step"] for r in records] == [0, 1, 2, None]
    assert "[loclab-metric] step=2 val_score=2.7" in (folder / "job.log").read_text()
    executed = json.loads((folder / "output/data/executed.ipynb").read_text())
    assert "probe-run" in json.dumps(executed["cells"][3]["outputs"])

    # SageMaker's own view, through a plain client.
    described = aws.client("sagemaker").describe_training_job(TrainingJobName="probe-run")
    assert described["TrainingJobStatus"] == "Completed"
    assert [m["MetricName"] for m in described["FinalMetricDataList"]] == ["val_score"]
    assert described["FinalMetricDataList"][0]["Value"] == pytest.approx(2.7)
    steps = [t["Status"] for t in described["SecondaryStatusTransitions"]]
    assert steps == ["Starting", "Downloading", "Training", "Uploading", "Completed"]
    assert (
        described["AlgorithmSpecification"]["MetricDefinitions"]
        == sent["AlgorithmSpecification"]["MetricDefinitions"]
    )
    body = (
        aws.client("s3")
        .get_object(Bucket="loclab-test", Key="loclab/probe/probe-run/output/model.tar.gz")["Body"]
        .read()
    )
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        assert tar.extractfile("model.txt").read() == b"2.5"
    assert read_record(folder)["final"]["TrainingJobStatus"] == "Completed"

    # The user's policy allows every call the backend made.
    policy = json.loads((REPO / "iam" / "user-policy.json").read_text())
    allowed = {a for s in policy["Statement"] for a in _list(s["Action"])}
    needed = {_iam_action(call) for call in calls}
    assert needed <= allowed, needed - allowed

    # A second job with the same notebook and code reuses the staged bundle.
    before = _keys(aws, "loclab/code/")
    sm.prepare(probe(nb, name="probe-other"), "probe-other", {})
    assert _keys(aws, "loclab/code/") == before


def _list(value) -> list[str]:
    return value if isinstance(value, list) else [value]


#: S3 operations → the IAM action that allows them.
_S3_ACTIONS = {
    "HeadObject": "s3:GetObject",
    "GetObject": "s3:GetObject",
    "ListObjectsV2": "s3:ListBucket",
    "PutObject": "s3:PutObject",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
}


def _iam_action(call: str) -> str:
    service, operation = call.split(":")
    if service == "s3":
        return _S3_ACTIONS[operation]
    return f"{service}:{operation}"


def _keys(aws, prefix: str) -> set[str]:
    found = aws.client("s3").list_objects_v2(Bucket="loclab-test", Prefix=prefix)
    return {o["Key"] for o in found.get("Contents", [])}


SPOT_NOTEBOOK = (
    "epochs: int = 4  # epochs to train\nsleep_s: float = 1.0  # seconds per epoch",
    [
        "import json\nimport time\n\nfrom loclab import runtime\n\nctx = runtime.context()\n"
        "ckpt = runtime.latest_checkpoint(ctx)\n"
        "start = json.loads(ckpt.read_text())['epoch'] + 1 if ckpt else 0\n"
        "print(f'resuming at epoch {start}')",
        "for epoch in range(start, epochs):\n"
        "    time.sleep(sleep_s)\n"
        "    runtime.log_metrics({'val_score': epoch / 10}, step=epoch)\n"
        "    # One file rewritten each epoch, like Lightning's last.ckpt.\n"
        "    (ctx.checkpoint_dir / 'last.ckpt').write_text(json.dumps({'epoch': epoch}))\n"
        "runtime.log_metrics({'test_score': 1.0})",
    ],
)


def test_spot_interruption_resumes_from_the_checkpoint(aws, emulator, project):
    nb = write_notebook(project / "notebooks" / "spot.ipynb", *SPOT_NOTEBOOK)
    sm = backend(aws, project, spot=True, max_runtime="1h", max_wait="2h")
    folder = run_dir(project, "spot-run")
    handle = sm.submit(probe(nb, name="spot-run"), folder, {})
    s3 = aws.client("s3")
    key = "loclab/probe/spot-run/checkpoints/last.ckpt"

    def checkpointed(_job) -> bool:
        try:
            body = s3.get_object(Bucket="loclab-test", Key=key)["Body"].read()
        except s3.exceptions.NoSuchKey:
            return False
        return json.loads(body)["epoch"] >= 1

    emulator.wait_for("spot-run", checkpointed, timeout_s=60)
    emulator.interrupt("spot-run")
    assert wait_done(handle) == 0, dumps_job(emulator.job("spot-run"))
    handle.collect()
    job = emulator.job("spot-run")
    assert job.attempts == 2
    steps = [t["Status"] for t in job.transitions]
    assert steps.count("Training") == 2 and "Interrupted" in steps
    # The second instance restored checkpoints/ from S3 and went on where the first stopped:
    # every epoch reported once, in order.
    records = read_metrics(folder / "checkpoints" / "metrics.jsonl")
    assert [r["step"] for r in records if r["step"] is not None] == [0, 1, 2, 3]
    second = json.loads((job.roots[1] / "output/data/executed.ipynb").read_text())
    resumed = json.dumps(second["cells"][1]["outputs"])
    assert "resuming at epoch 2" in resumed or "resuming at epoch 3" in resumed


def test_runtime_limit_names_and_repeated_creates(aws, emulator, project):
    nb = project / "notebooks" / "probe.ipynb"
    sm = backend(aws, project, max_runtime=1)
    body, _ = sm.prepare(probe(nb), "probe-run", {})
    body["AlgorithmSpecification"]["ContainerEntrypoint"] = [
        "python",
        "-c",
        "import time; time.sleep(60)",
    ]
    sm._create(body)
    # The same request again fails loudly instead of launching a second job.
    with pytest.raises(JobNameInUseError, match="a training job named probe-run already exists"):
        sm._create(body)
    folder = run_dir(project, "probe-run")
    earlier = folder.parent / ".attempts" / "probe-run.1"
    earlier.mkdir(parents=True)
    (earlier / "sagemaker.json").write_text(json.dumps({"training_job_name": "probe-run"}))
    # Its earlier launch still runs: no second launch.
    with pytest.raises(JobStillRunningError, match="SageMaker job probe-run, is still InProgress"):
        sm.submit(probe(nb), folder, {})
    assert emulator.wait("probe-run", timeout_s=60) == "Stopped"
    handle = sm.attach("probe-run", earlier)
    assert handle.poll() == 143 and handle.secondary_status == "MaxRuntimeExceeded"
    handle.collect()
    assert (earlier / "output" / "failure").read_text() == (
        "stopped by SageMaker: the job ran past max_runtime (1 s)\n"
    )
    # Once it ended, the job runs again under the next attempt's name.
    body, _ = sm.prepare(probe(nb), training_job_name("probe-run", 2), {})
    assert body["TrainingJobName"] == "probe-run-r2"
