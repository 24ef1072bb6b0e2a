"""A webhook receiver on 127.0.0.1: what Slack or Teams would get from a tick, kept in a list.

```python
with WebhookReceiver() as hook:
    env["MT_ALERT_WEBHOOK"] = hook.url       # http://127.0.0.1:PORT/hook/<random token>
    ...                                      # loclab schedule run SPEC
    print(hook.received[0]["status"], hook.received[0]["text"])
```

``fail`` answers the first N requests with ``status`` (500 by default) and ``delay_s`` holds
each answer back, to watch a tick retry a failing channel.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["WebhookReceiver"]


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 that records every JSON POST.

    Attributes:
        received: The JSON bodies accepted, in order.
        attempts: Every request, answered or refused (``path`` and ``status``).
    """

    def __init__(self, *, fail: int = 0, status: int = 500, delay_s: float = 0.0) -> None:
        self.received: list[dict[str, Any]] = []
        self.attempts: list[dict[str, Any]] = []
        self.token = secrets.token_hex(12)
        self._fail, self._status, self._delay = fail, status, delay_s
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if receiver._delay:
                    time.sleep(receiver._delay)
                with receiver._lock:
                    refuse = len(receiver.attempts) < receiver._fail
                    code = receiver._status if refuse else 200
                    if self.path != f"/hook/{receiver.token}":
                        code = 404
                    receiver.attempts.append({"path": self.path, "status": code})
                    if code == 200:
                        receiver.received.append(json.loads(body.decode("utf-8")))
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "text/plain")
                    self.end_headers()
                    self.wfile.write(b"ok" if code == 200 else b"error")
                except (BrokenPipeError, ConnectionResetError):  # the sender gave up waiting
                    return

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The webhook URL (its path holds a random token, as a real webhook's does)."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hook/{self.token}"

    def start(self) -> WebhookReceiver:
        """Start serving (in a background thread)."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
