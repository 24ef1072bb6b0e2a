"""An offline AWS: a moto server on 127.0.0.1, reached through the standard endpoint variables.

::

    with MotoServer() as aws, aws.activated():
        aws.create_bucket("loclab-test")
        ...  # boto3 clients made here talk to the server (AWS_ENDPOINT_URL)

The server runs in this process (moto's ``ThreadedMotoServer``), so the
:class:`~loclab.testing.emulator.TrainingJobEmulator` can run the training jobs it records.
Credentials are dummies; no request leaves the machine.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = [
    "ACCOUNT_ID",
    "DUMMY_CREDENTIALS",
    "MotoServer",
    "image_uri",
    "role_arn",
    "shared_server",
]

#: The account moto answers for.
ACCOUNT_ID = "123456789012"
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
#: Variables that could point boto3 at a real account or another endpoint; cleared while a
#: server is activated.
_CLEARED = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
)


def role_arn(name: str = "loclab-training") -> str:
    """An IAM role ARN in moto's account."""
    return f"arn:aws:iam::{ACCOUNT_ID}:role/{name}"


def image_uri(region: str = "us-east-1", tag: str = "test") -> str:
    """An ECR image URI in moto's account (no image is ever pulled)."""
    return f"{ACCOUNT_ID}.dkr.ecr.{region}.amazonaws.com/loclab:{tag}"


class MotoServer:
    """A moto server (S3, SageMaker, CloudWatch Logs... every service moto has) on 127.0.0.1.

    Args:
        region: The region clients default to.
        port: TCP port; 0 picks a free one.
    """

    def __init__(self, region: str = "us-east-1", port: int = 0) -> None:
        self.region = region
        self._port = port
        self._server: Any | None = None
        self._clients: dict[tuple[str, str], Any] = {}
        self.endpoint_url = ""

    def start(self) -> MotoServer:
        """Start the server thread (about a second, once per test session)."""
        from moto.server import ThreadedMotoServer

        # One line per request on stderr drowns test output.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=self._port, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        self._server = server
        self.endpoint_url = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        """Stop the server."""
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def environ(self) -> dict[str, str]:
        """Variables that send boto3 (and the AWS CLI) to this server with dummy credentials."""
        return {
            **DUMMY_CREDENTIALS,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_ENDPOINT_URL": self.endpoint_url,
            # No shared config: a developer's profile must not redirect anything.
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    @contextmanager
    def activated(self) -> Iterator[MotoServer]:
        """Set :meth:`environ` in ``os.environ`` for the block, then restore it."""
        saved = {k: os.environ.get(k) for k in [*self.environ(), *_CLEARED]}
        try:
            for key in _CLEARED:
                os.environ.pop(key, None)
            os.environ.update(self.environ())
            yield self
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def client(self, service: str, region: str | None = None) -> Any:
        """A boto3 client of this server (explicit endpoint and credentials, no variables).

        Clients are made once per service and region (making one takes a fifth of a second)
        and are safe to share between threads.
        """
        key = (service, region or self.region)
        found = self._clients.get(key)
        if found is None:
            found = self._clients[key] = self._new_client(service, key[1])
        return found

    def _new_client(self, service: str, region: str) -> Any:
        import boto3

        return boto3.session.Session().client(
            service,
            region_name=region,
            endpoint_url=self.endpoint_url,
            aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=DUMMY_CREDENTIALS["AWS_SESSION_TOKEN"],
        )

    def reset(self) -> None:
        """Forget every bucket, job and log (moto's reset API)."""
        import urllib.request

        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def create_bucket(self, name: str) -> str:
        """Create a bucket in :attr:`region`; return its name."""
        s3 = self.client("s3")
        kwargs: dict[str, Any] = {"Bucket": name}
        if self.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        s3.create_bucket(**kwargs)
        return name

    def launcher_environ(
        self,
        settings: Any | None = None,
        *,
        poll_interval_s: float = 0.2,
        **overrides: Any,
    ) -> dict[str, str]:
        """Variables that make a ``loclab`` subprocess launch SageMaker jobs on this server.

        :meth:`environ` plus the required SageMaker settings (``LOCLAB_SAGEMAKER_<FIELD>``,
        so a spec with ``backend: sagemaker`` needs nothing else) and short polling
        intervals: the emulator answers at once, SageMaker in minutes.

        Args:
            settings: Settings to pass on (:meth:`settings` with ``overrides`` when None).
            poll_interval_s: ``DescribeTrainingJob`` and metrics-read interval.
            **overrides: Other settings fields for :meth:`settings`.
        """
        settings = settings if settings is not None else self.settings(**overrides)
        env = self.environ()
        for field in ("region", "role_arn", "bucket", "image_uri", "prefix"):
            env[f"LOCLAB_SAGEMAKER_{field.upper()}"] = str(getattr(settings, field))
        env["LOCLAB_SAGEMAKER_POLL_INTERVAL_S"] = str(poll_interval_s)
        env["LOCLAB_SAGEMAKER_METRICS_INTERVAL_S"] = str(poll_interval_s)
        return env

    def settings(self, bucket: str = "loclab-test", **overrides: Any) -> Any:
        """SageMaker settings for this server (the bucket is created if needed).

        Args:
            bucket: The bucket.
            **overrides: Other :class:`~loclab.spec.backend.SageMakerSettings` fields.
        """
        from loclab.spec.backend import SageMakerSettings

        existing = {b["Name"] for b in self.client("s3").list_buckets().get("Buckets", [])}
        if bucket not in existing:
            self.create_bucket(bucket)
        values = {
            "region": self.region,
            "role_arn": role_arn(),
            "bucket": bucket,
            "image_uri": image_uri(self.region),
            **overrides,
        }
        return SageMakerSettings.model_validate(values)


_shared: MotoServer | None = None


def shared_server(region: str = "us-east-1") -> MotoServer:
    """One started server per process (a test session's), stopped when the process exits.

    Test suites in different folders share it instead of each starting their own; call
    :meth:`MotoServer.reset` between tests.
    """
    global _shared
    if _shared is None:
        import atexit

        _shared = MotoServer(region).start()
        atexit.register(_shared.stop)
    return _shared
