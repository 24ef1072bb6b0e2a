"""`loclab ui`: the URL is printed only once the server answers; SIGTERM stops its whole group."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import psutil
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "LOCLAB_"))}


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_ui_answers_when_it_says_so_and_sigterm_stops_the_group(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "loclab", "ui", "--port", str(port), "--state-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert line.startswith(f"MLflow UI on http://127.0.0.1:{port} "), line
        # Printed only once it answers: the very next request succeeds.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as answer:
            assert answer.status == 200
        server = psutil.Process(proc.pid).children(recursive=True)
        assert server, "the server runs as a child of loclab ui"
        # Bound to loopback only.
        listening = [
            c.laddr
            for p in server
            for c in p.net_connections(kind="tcp")
            if c.status == psutil.CONN_LISTEN
        ]
        assert listening and all(addr.ip == "127.0.0.1" for addr in listening)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        _, alive = psutil.wait_procs(server, timeout=20)
        assert alive == []
    finally:
        if proc.poll() is None:
            proc.kill()


def test_ui_on_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "loclab",
                "ui",
                "--port",
                str(port),
                "--state-dir",
                str(tmp_path),
            ],
            capture_output=True,
            text=True,
            env=env(),
            timeout=120,
        )
    assert out.returncode != 0
    assert out.stderr.strip().splitlines() == [
        f"error: port {port} on 127.0.0.1 is in use; pass --port with a free one"
    ]
