r"""A scheduled tick inside a SageMaker training job: state from S3, ``schedule run``, state back.

EventBridge Scheduler starts a training job whose container runs::

    python -m loclab.schedule._sagemaker_tick --root /opt/ml --job tick-x-<id> \
        --state s3://b/p/schedules/x/ --max-runtime N \
        -- schedule run experiments/x.yaml --state-dir {state} --reports-dir {reports} ...

The project arrives in the ``code`` channel and the data in the others (SageMaker downloads
them before the container starts). This module

1. skips the tick (exit 0) when ``running.json`` under the state prefix says another tick
   started less than ``--max-runtime`` seconds ago, else writes it;
2. mirrors ``state/`` and ``reports/`` from S3 into the job's volume;
3. runs ``python -m loclab`` with the arguments after ``--`` (``{state}`` and ``{reports}``
   replaced by the two folders) in the project folder, its output going to the job's log
   (CloudWatch) and to ``logs/<timestamp>.log``, which ends with ``[loclab] exit N``;
4. mirrors both folders back (changed files up, deleted files removed), uploads the log and
   removes ``running.json``, whatever the tick's outcome.

A regression (exit 3) ended the tick as designed (the alert went out), so the job completes;
a failed tick (1) or bad input (2) fails the job with the tick's last line as its reason.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loclab.aws.clients import Retry, is_not_found
from loclab.aws.s3 import join_uri, parse_s3_uri

__all__ = ["StateMirror", "main"]

#: Exit statuses of ``schedule run`` that complete the job (0 ok, 3 regression reported).
COMPLETED = (0, 3)
LOCK = "running.json"
EXIT_LINE = "[loclab] exit"


class StateMirror:
    """A local folder kept equal to an S3 prefix: down before the tick, up after it.

    Args:
        s3: A boto3 S3 client.
        uri: The prefix (``s3://bucket/key/``).
        folder: The local folder.
        retry: Backoff for throttled calls.
    """

    def __init__(self, s3: Any, uri: str, folder: Path, retry: Retry | None = None) -> None:
        self.s3 = s3
        self.bucket, key = parse_s3_uri(uri)
        self.prefix = key.rstrip("/") + "/" if key.strip("/") else ""
        self.folder = folder
        self.retry = retry or Retry()
        self._seen: dict[str, tuple[int, int]] = {}
        self._remote: set[str] = set()

    def _keys(self) -> list[str]:
        keys: list[str] = []
        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            keys.extend(obj["Key"][len(self.prefix) :] for obj in page.get("Contents", []))
        return [k for k in keys if k and not k.endswith("/")]

    def pull(self) -> int:
        """Download every object; return how many."""
        self.folder.mkdir(parents=True, exist_ok=True)
        keys = self._keys()
        for rel in keys:
            path = self.folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            self.retry.call(self.s3.download_file, self.bucket, self.prefix + rel, str(path))
        self._remote = set(keys)
        self._seen = self._snapshot()
        return len(keys)

    def _snapshot(self) -> dict[str, tuple[int, int]]:
        found: dict[str, tuple[int, int]] = {}
        if not self.folder.is_dir():
            return found
        for path in self.folder.rglob("*"):
            if path.is_file() and not path.is_symlink():
                st = path.stat()
                found[path.relative_to(self.folder).as_posix()] = (st.st_size, st.st_mtime_ns)
        return found

    def push(self) -> tuple[int, int]:
        """Upload new and changed files, delete objects whose file is gone.

        Returns:
            ``(uploaded, deleted)``.
        """
        now = self._snapshot()
        changed = [rel for rel, stamp in now.items() if self._seen.get(rel) != stamp]
        for rel in sorted(changed):
            self.retry.call(
                self.s3.upload_file, str(self.folder / rel), self.bucket, self.prefix + rel
            )
        gone = sorted(self._remote - set(now))
        for start in range(0, len(gone), 1000):
            batch = [{"Key": self.prefix + rel} for rel in gone[start : start + 1000]]
            self.retry.call(self.s3.delete_objects, Bucket=self.bucket, Delete={"Objects": batch})
        self._remote = set(now)
        self._seen = now
        return len(changed), len(gone)


def _parse(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    args = list(argv)
    rest: list[str] = []
    if "--" in args:
        cut = args.index("--")
        args, rest = args[:cut], args[cut + 1 :]
    parser = argparse.ArgumentParser(prog=f"python -m {__spec__.name if __spec__ else ''}")
    parser.add_argument("--state", required=True, help="s3:// prefix of the schedule's state")
    parser.add_argument("--root", default="/opt/ml", help="the container's SageMaker root")
    parser.add_argument("--job", default="", help="the training job's name (for the lock)")
    parser.add_argument("--max-runtime", type=float, default=86400.0)
    return parser.parse_args(args), rest


def _lock(s3: Any, state: str, max_age_s: float, job: str, retry: Retry) -> str | None:
    """Write ``running.json``; the start time of a fresh one found instead (then skip)."""
    bucket, key = parse_s3_uri(join_uri(state, LOCK))
    try:
        found = retry.call(s3.get_object, Bucket=bucket, Key=key)
        started = float(json.loads(found["Body"].read()).get("started", 0))
        if time.time() - started < max_age_s:
            return datetime.fromtimestamp(started, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except Exception as err:
        if not is_not_found(err) and not isinstance(err, ValueError):
            raise
    body = {"started": time.time(), "job": job}
    retry.call(s3.put_object, Bucket=bucket, Key=key, Body=json.dumps(body).encode())
    return None


def _unlock(s3: Any, state: str, retry: Retry) -> None:
    bucket, key = parse_s3_uri(join_uri(state, LOCK))
    retry.call(s3.delete_object, Bucket=bucket, Key=key)


def _run(command: list[str], cwd: Path, log: Path) -> int:
    """Run the tick; its output goes to stdout (the job log) and to ``log``."""
    with log.open("a", encoding="utf-8") as sink:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
        )
        assert process.stdout is not None
        for line in process.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            sink.write(line)
        code = process.wait()
        sink.write(f"{EXIT_LINE} {code}\n")
    return code


def _last_line(log: Path) -> str:
    lines = [
        line.strip()
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines()
        if line.strip() and not line.startswith(EXIT_LINE)
    ]
    return lines[-1] if lines else "the tick printed nothing"


def main(argv: Sequence[str] | None = None) -> int:
    """Run one tick inside the training container; return the job's exit status."""
    import boto3

    options, tick_args = _parse(sys.argv[1:] if argv is None else argv)
    root = Path(options.root)
    project = root / "input" / "data" / "code"
    # The project's root marker (the copy may hold no pyproject.toml; .git never travels).
    (project / ".loclab").mkdir(parents=True, exist_ok=True)
    work = root / "loclab-tick"
    folders = {"state": work / "state", "reports": work / "reports"}
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    log = work / "logs" / f"{stamp}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    retry = Retry()
    s3 = boto3.session.Session().client("s3")
    state: str = options.state
    running = _lock(s3, state, options.max_runtime, options.job, retry)
    if running is not None:
        print(f"the tick started at {running} is still running: this one is skipped")
        return 0
    try:
        mirrors = {
            name: StateMirror(s3, join_uri(state, name) + "/", folder, retry)
            for name, folder in folders.items()
        }
        for mirror in mirrors.values():
            mirror.pull()
        command = [sys.executable, "-m", "loclab"]
        command += [
            arg.replace("{state}", str(folders["state"])).replace(
                "{reports}", str(folders["reports"])
            )
            for arg in tick_args
        ]
        code = _run(command, project, log)
        for mirror in mirrors.values():
            mirror.push()
    except Exception as err:
        with log.open("a", encoding="utf-8") as sink:
            sink.write(f"error: the tick's state could not be synced: {err}\n{EXIT_LINE} 1\n")
        code = 1
    finally:
        bucket, key = parse_s3_uri(join_uri(state, "logs", log.name))
        retry.call(s3.upload_file, str(log), bucket, key)
        _unlock(s3, state, retry)
    if code in COMPLETED:
        return 0
    failure = root / "output" / "failure"
    failure.parent.mkdir(parents=True, exist_ok=True)
    failure.write_text(f"loclab schedule run exited {code}: {_last_line(log)}"[:1024])
    return code


if __name__ == "__main__":
    sys.exit(main())
