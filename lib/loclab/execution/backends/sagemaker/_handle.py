"""A launched SageMaker training job: poll, stop, read metrics, bring outputs home."""

from __future__ import annotations

import json
import logging
import shutil
import tarfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loclab.aws.clients import error_code, error_message, is_throttling
from loclab.aws.errors import AwsCallError
from loclab.aws.s3 import join_uri
from loclab.execution.backends.base import JobHandle
from loclab.execution.backends.sagemaker._record import write_record
from loclab.execution.backends.sagemaker._request import LOG_GROUP, OFFLINE_MLFLOW_DIR
from loclab.execution.contract import METRICS_FILE, JobLayout
from loclab.execution.entrypoint import EXIT_FAILED, EXIT_STOPPED, OFFLINE_MLFLOW_DB
from loclab.execution.job import LOG_FILE, read_metrics
from loclab.io import write_bytes

if TYPE_CHECKING:
    from loclab.execution.backends.sagemaker._backend import SageMakerBackend

__all__ = ["EXIT_CODES", "TERMINAL", "SageMakerJobHandle"]

log = logging.getLogger(__name__)

#: Final ``TrainingJobStatus`` → the exit code a local job process would have had.
EXIT_CODES = {"Completed": 0, "Failed": EXIT_FAILED, "Stopped": EXIT_STOPPED}
TERMINAL = frozenset(EXIT_CODES)
_ALGORITHM_ERROR = "AlgorithmError: "
_MAX_BACKOFF_S = 120.0


class SageMakerJobHandle(JobHandle):
    """A SageMaker training job launched (or re-attached) by a :class:`SageMakerBackend`.

    Every method is safe to call often: ``DescribeTrainingJob`` and the metrics read are
    rate-limited by the backend's intervals, and a throttled poll backs off instead of
    blocking.

    Attributes:
        run_dir: The local run folder.
        job_name: The SageMaker job name.
        description: The last ``DescribeTrainingJob`` answer (None before the first).
    """

    def __init__(self, backend: SageMakerBackend, run_dir: Path, record: dict[str, Any]) -> None:
        self.backend = backend
        self.run_dir = run_dir
        self.record = record
        self.job_name: str = record["training_job_name"]
        self.description: dict[str, Any] | None = None
        self._next_describe = 0.0
        self._backoff = 0
        self._records: list[dict[str, Any]] = []
        self._metrics_etag: str | None = None
        self._next_metrics = 0.0
        self._stop_requested = False
        self._collected = False

    # -- state --------------------------------------------------------------------------------

    @property
    def status(self) -> str | None:
        """``TrainingJobStatus`` as last seen (``InProgress``, ``Completed``...)."""
        return None if self.description is None else self.description.get("TrainingJobStatus")

    @property
    def secondary_status(self) -> str | None:
        """``SecondaryStatus`` as last seen (``Downloading``, ``Training``, ``Interrupted``...)."""
        return None if self.description is None else self.description.get("SecondaryStatus")

    def refresh(self) -> dict[str, Any] | None:
        """Call ``DescribeTrainingJob`` now (throttling backs the next call off)."""
        sagemaker = self.backend.clients.sagemaker
        interval = self.backend.poll_interval_s
        try:
            self.description = sagemaker.describe_training_job(TrainingJobName=self.job_name)
        except Exception as err:
            if is_throttling(err):
                # Never sleep inside poll(): push the next call back instead, exponentially.
                self._backoff += 1
                wait = min(_MAX_BACKOFF_S, max(interval, 1.0) * 2**self._backoff)
                self._next_describe = time.monotonic() + wait
                log.info("DescribeTrainingJob %s throttled; next in %.0f s", self.job_name, wait)
                return self.description
            code = error_code(err)
            if code is None:
                # A dropped connection: try again at the next poll.
                log.warning("DescribeTrainingJob %s failed: %s", self.job_name, err)
                self._next_describe = time.monotonic() + interval
                return self.description
            raise AwsCallError("DescribeTrainingJob", code, error_message(err)) from None
        self._backoff = 0
        self._next_describe = time.monotonic() + interval
        return self.description

    def described(self, description: dict[str, Any]) -> None:
        """Take a fresh ``DescribeTrainingJob`` answer (the next poll waits an interval)."""
        self.description = description
        self._next_describe = time.monotonic() + self.backend.poll_interval_s

    def poll(self) -> int | None:
        """The job's exit code once SageMaker says it ended (0, 1 or 143), else None."""
        if self.status not in TERMINAL and time.monotonic() >= self._next_describe:
            self.refresh()
        return EXIT_CODES.get(self.status or "")

    def wait(self, timeout_s: float, interval_s: float | None = None) -> str | None:
        """Poll until the job ended or ``timeout_s`` passed; return the status."""
        deadline = time.monotonic() + timeout_s
        step = interval_s if interval_s is not None else min(self.backend.poll_interval_s, 5.0)
        while self.status not in TERMINAL:
            if time.monotonic() >= self._next_describe:
                self.refresh()
            if self.status in TERMINAL or time.monotonic() >= deadline:
                break
            time.sleep(max(0.05, min(step, deadline - time.monotonic())))
        return self.status

    # -- stop ---------------------------------------------------------------------------------

    def stop(self, grace_s: float = 10.0) -> None:
        """``StopTrainingJob``, then wait up to ``grace_s`` for it to end.

        SageMaker sends the container SIGTERM (the entry point interrupts the kernel and keeps
        the partial notebook) and SIGKILL 120 s later; outputs are still uploaded.
        """
        if self.status in TERMINAL:
            return
        self.request_stop()
        self.wait(grace_s, interval_s=min(1.0, self.backend.poll_interval_s))

    def request_stop(self) -> None:
        """``StopTrainingJob`` (once) and return at once: SageMaker itself forces the job.

        A sweep driver prunes with this and goes on polling its other trials; the job ends
        ``Stopped`` (outputs uploaded) a little later, as the next polls see.
        """
        if self.status in TERMINAL or self._stop_requested:
            return
        sagemaker = self.backend.clients.sagemaker
        try:
            self.backend.clients.retry.call(
                sagemaker.stop_training_job, TrainingJobName=self.job_name
            )
        except Exception as err:
            # Already stopping or ended: what a stop wanted.
            if error_code(err) != "ValidationException":
                raise
        self._stop_requested = True
        # The next poll asks at once: a job stopped early may already be Stopping.
        self._next_describe = 0.0

    # -- metrics ------------------------------------------------------------------------------

    @property
    def metrics_uri(self) -> str:
        """``metrics.jsonl`` in the job's checkpoint prefix (synced by SageMaker while running)."""
        return join_uri(self.record["checkpoints"], METRICS_FILE)

    def read_metrics(self) -> list[dict[str, Any]]:
        """Records of ``metrics.jsonl`` as last synced to S3 (read at most every interval)."""
        if time.monotonic() >= self._next_metrics:
            self._next_metrics = time.monotonic() + self.backend.metrics_interval_s
            self._fetch_metrics()
        return list(self._records)

    def _fetch_metrics(self) -> None:
        try:
            body, etag = self.backend.stager.get_if_changed(self.metrics_uri, self._metrics_etag)
        except Exception as err:
            if error_code(err) is None or is_throttling(err):
                log.info("reading %s failed for now: %s", self.metrics_uri, err)
                return
            raise
        if body is None:
            return
        self._metrics_etag = etag
        # Mirror the file into the run folder: JobResult.final_metrics() reads it there.
        layout = JobLayout(self.run_dir)
        layout.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        write_bytes(layout.metrics_file, body)
        self._records = read_metrics(layout.metrics_file)

    # -- collect ------------------------------------------------------------------------------

    def collect(self) -> None:
        """Bring the ended job home: outputs, executed notebook, metrics, log, failure.

        Waits (up to the backend's ``collect_timeout_s``) for a job that is still stopping or
        uploading. Afterwards the run folder holds what a local job leaves: ``output/data``
        (executed notebook, predictions), ``checkpoints/metrics.jsonl``, ``output/failure``
        when it did not complete, and ``job.log``.
        """
        if self._collected:
            return
        status = self.wait(self.backend.collect_timeout_s)
        layout = JobLayout(self.run_dir)
        stager = self.backend.stager
        output = self.record["output"]
        archive = self.run_dir / ".output.tar.gz"
        if stager.download(join_uri(output, "output.tar.gz"), archive):
            _extract(archive, layout.output_data_dir)
        if self.backend.download_model:
            model = self.run_dir / ".model.tar.gz"
            if stager.download(join_uri(output, "model.tar.gz"), model):
                _extract(model, layout.model_dir)
        self._next_metrics = 0.0
        self._metrics_etag = None
        self._fetch_metrics()
        self._write_log(layout)
        failure = self._failure_text(status)
        if failure is not None and not layout.failure_file.exists():
            layout.failure_file.parent.mkdir(parents=True, exist_ok=True)
            layout.failure_file.write_text(failure.rstrip() + "\n")
        try:
            self._finish_tracking()
        finally:
            # The job's own MLflow store came home with its outputs; its content is in the
            # launcher's run now, and a local job's run folder has no such thing.
            shutil.rmtree(layout.output_data_dir / OFFLINE_MLFLOW_DIR, ignore_errors=True)
        self.record["final"] = _summary(self.description or {})
        write_record(self.run_dir, self.record)
        self._collected = status in TERMINAL

    def _failure_text(self, status: str | None) -> str | None:
        d = self.description or {}
        secondary = d.get("SecondaryStatus")
        if status == "Completed":
            return None
        if status == "Failed":
            reason = str(d.get("FailureReason") or "SageMaker gave no failure reason")
            return reason.removeprefix(_ALGORITHM_ERROR)
        if status == "Stopped":
            runtime = (d.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds")
            if secondary == "MaxRuntimeExceeded":
                return f"stopped by SageMaker: the job ran past max_runtime ({runtime} s)"
            if secondary == "MaxWaitTimeExceeded":
                wait = (d.get("StoppingCondition") or {}).get("MaxWaitTimeInSeconds")
                return f"stopped by SageMaker: no spot capacity within max_wait ({wait} s)"
            if self._stop_requested:
                return "stopped (StopTrainingJob)"
            return "stopped outside loclab (StopTrainingJob from the console or the CLI)"
        return (
            f"SageMaker job {self.job_name} was still {status} after "
            f"{self.backend.collect_timeout_s:g} s; see the SageMaker console"
        )

    def _write_log(self, layout: JobLayout) -> None:
        """CloudWatch log of the job → ``job.log`` (as the local backend writes it)."""
        logs = self.backend.clients.logs
        retry = self.backend.clients.retry
        try:
            found = retry.call(
                logs.describe_log_streams,
                logGroupName=LOG_GROUP,
                logStreamNamePrefix=f"{self.job_name}/",
            )
        except Exception as err:
            if error_code(err) is None:
                raise
            log.info("no log for %s: %s", self.job_name, error_message(err))
            return
        streams = sorted(s["logStreamName"] for s in found.get("logStreams", []))
        with (self.run_dir / LOG_FILE).open("a", encoding="utf-8") as out:
            for stream in streams:
                token: str | None = None
                while True:
                    kwargs: dict[str, Any] = {
                        "logGroupName": LOG_GROUP,
                        "logStreamName": stream,
                        "startFromHead": True,
                    }
                    if token:
                        kwargs["nextToken"] = token
                    page = retry.call(logs.get_log_events, **kwargs)
                    for event in page.get("events", []):
                        out.write(event["message"].rstrip("\n") + "\n")
                    new = page.get("nextForwardToken")
                    if not page.get("events") or new == token:
                        break
                    token = new

    def _finish_tracking(self) -> None:
        """Record the SageMaker side in the job's MLflow run, and metrics the job could not.

        A job that could not reach the launcher's tracking store (a local SQLite file) only
        wrote ``metrics.jsonl``; its values are logged here with their steps and times, as the
        kernel would have logged them.
        """
        mlflow = self.record.get("mlflow") or {}
        uri, run_id = mlflow.get("tracking_uri"), mlflow.get("run_id")
        if not uri or not run_id:
            return
        import math

        from mlflow.entities import Metric, RunTag
        from mlflow.tracking import MlflowClient

        d = self.description or {}
        client = MlflowClient(tracking_uri=uri)
        tags = {
            "loclab.backend": "sagemaker",
            "loclab.sagemaker.job": self.job_name,
            "loclab.sagemaker.status": str(d.get("TrainingJobStatus")),
            "loclab.sagemaker.instance_type": str(
                (d.get("ResourceConfig") or {}).get("InstanceType")
            ),
        }
        if self.record.get("arn"):
            tags["loclab.sagemaker.arn"] = str(self.record["arn"])
        for key in ("BillableTimeInSeconds", "TrainingTimeInSeconds"):
            if d.get(key) is not None:
                tags[f"loclab.sagemaker.{key[0].lower()}{key[1:]}"] = str(d[key])
        model = (d.get("ModelArtifacts") or {}).get("S3ModelArtifacts")
        if model:
            tags["loclab.sagemaker.model"] = str(model)
        metrics = []
        store = JobLayout(self.run_dir).output_data_dir / OFFLINE_MLFLOW_DIR / OFFLINE_MLFLOW_DB
        # What the kernel logged into the job's own store (Lightning's logger included) comes
        # first; metrics.jsonl is the fallback of a job that had none.
        if not mlflow.get("direct") and not _replay_offline_run(store, client, run_id):
            for record in self._records:
                stamp = int(float(record.get("time", time.time())) * 1000)
                step = record.get("step") or 0
                for name, value in (record.get("metrics") or {}).items():
                    if value is not None and math.isfinite(float(value)):
                        metrics.append(Metric(name, float(value), stamp, int(step)))
        for i in range(0, max(len(metrics), 1), 1000):
            client.log_batch(
                run_id,
                metrics=metrics[i : i + 1000],
                tags=[RunTag(k, v) for k, v in tags.items()] if i == 0 else [],
            )


def _replay_offline_run(store: Path, client: Any, run_id: str) -> bool:
    """Copy the run a job logged into its own store (``store``) into the launcher's run.

    Params, tags (but MLflow's own ``mlflow.*``) and every metric's full history, with the
    job's steps and times: the launcher's run then reads as if the kernel had logged into it.
    A param the launcher's run already has keeps the launcher's value.

    Args:
        store: The job's ``mlflow.db``.
        client: An ``MlflowClient`` of the launcher's store.
        run_id: The launcher's run of the job.

    Returns:
        False when ``store`` holds no run or cannot be read (an image with another MLflow
        version): nothing was copied.
    """
    if not store.is_file():
        return False
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    try:
        source = MlflowClient(f"sqlite:///{store.resolve()}")
        runs = source.search_runs(["0"], max_results=1)
        if not runs:
            return False
        job = runs[0]
        metrics = [
            Metric(m.key, m.value, m.timestamp, m.step)
            for key in sorted(job.data.metrics)
            for m in source.get_metric_history(job.info.run_id, key)
        ]
    except Exception as err:
        log.warning("cannot read the job's MLflow store %s: %s", store, err)
        return False
    have = client.get_run(run_id).data.params
    params = [Param(k, v) for k, v in sorted(job.data.params.items()) if k not in have]
    tags = [RunTag(k, v) for k, v in sorted(job.data.tags.items()) if not k.startswith("mlflow.")]
    for i in range(0, len(params), 100):
        client.log_batch(run_id, params=params[i : i + 100])
    for i in range(0, len(metrics), 1000):
        client.log_batch(run_id, metrics=metrics[i : i + 1000])
    for i in range(0, len(tags), 100):
        client.log_batch(run_id, tags=tags[i : i + 100])
    return True


def _extract(archive: Path, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive) as tar:
            # The "data" filter refuses absolute paths, links out of dest and device files.
            tar.extractall(dest, filter="data")
    finally:
        archive.unlink(missing_ok=True)


def _summary(description: dict[str, Any]) -> dict[str, Any]:
    keep = (
        "TrainingJobStatus",
        "SecondaryStatus",
        "FailureReason",
        "TrainingJobArn",
        "CreationTime",
        "TrainingStartTime",
        "TrainingEndTime",
        "TrainingTimeInSeconds",
        "BillableTimeInSeconds",
        "SecondaryStatusTransitions",
        "FinalMetricDataList",
        "ModelArtifacts",
    )
    kept: dict[str, Any] = json.loads(
        json.dumps({k: description[k] for k in keep if k in description}, default=str)
    )
    return kept
