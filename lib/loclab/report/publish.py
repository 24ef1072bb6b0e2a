"""``loclab publish``: upload an experiment's reports folder and the reports index to S3.

The S3 endpoint and credentials come the standard AWS way (``AWS_ENDPOINT_URL``,
``AWS_ENDPOINT_URL_S3``, ``AWS_ACCESS_KEY_ID``..., profiles), so the same command publishes to
AWS or to a local S3 such as the moto server of the tests.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

from loclab.exceptions import LoclabError

__all__ = ["PublishError", "publish_reports"]


class PublishError(LoclabError):
    """The reports could not be uploaded."""


def _content_type(path: Path) -> str:
    if path.suffix == ".ipynb":
        return "application/x-ipynb+json"
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"{kind}; charset=utf-8" if kind.startswith("text/") or kind.endswith("json") else kind


def publish_reports(
    experiment: str,
    reports_dir: Path,
    to: str,
    *,
    s3: Any | None = None,
) -> list[str]:
    """Upload ``reports/<experiment>/`` and ``reports/index.html`` under an S3 prefix.

    Files land at ``<to>/<experiment>/...`` and ``<to>/index.html``, so the index's relative
    links keep working on S3.

    Args:
        experiment: The experiment's name.
        reports_dir: The local reports folder.
        to: ``s3://bucket/prefix``.
        s3: A boto3 S3 client (default: one made from the environment).

    Returns:
        The ``s3://`` URIs written, the experiment's index page first.

    Raises:
        PublishError: No report to publish, a bad destination, or S3 refused the upload.
    """
    from loclab.aws.clients import Retry, error_code, error_message
    from loclab.aws.s3 import BUCKET_NAME, folder_bundle, join_uri, parse_s3_uri

    try:
        bucket, prefix = parse_s3_uri(to)
    except ValueError as err:
        raise PublishError(f"--to: {err}; expected s3://bucket/prefix") from None
    if not BUCKET_NAME.fullmatch(bucket):
        raise PublishError(f"--to: {bucket!r} is not a valid S3 bucket name")
    folder = reports_dir / experiment
    if not (folder / "index.html").exists():
        raise PublishError(
            f"no report of '{experiment}' in {folder}; write it first (loclab report SPEC)"
        )
    files = {f"{experiment}/{name}": path for name, path in folder_bundle(folder).items()}
    index = reports_dir / "index.html"
    if index.exists():
        files["index.html"] = index
    first = f"{experiment}/index.html"
    order = [first, *sorted(k for k in files if k != first)]
    if s3 is None:
        import boto3

        s3 = boto3.session.Session().client("s3")
    retry = Retry()
    written = []
    try:
        for name in order:
            key = join_uri(f"s3://{bucket}", prefix, name)[len(f"s3://{bucket}/") :]
            retry.call(
                s3.upload_file,
                str(files[name]),
                bucket,
                key,
                ExtraArgs={"ContentType": _content_type(files[name])},
            )
            written.append(f"s3://{bucket}/{key}")
    except Exception as err:
        code = error_code(err)
        if code is None and type(err).__name__ not in (
            "NoCredentialsError",
            "S3UploadFailedError",
            "EndpointConnectionError",
        ):
            raise
        detail = f"{code}: {error_message(err)}" if code else str(err)
        raise PublishError(f"upload to s3://{bucket}/{prefix} failed ({detail})") from None
    return written
