"""Open a report in headless Chromium and record what a reader's browser would see.

Chromium is driven through the DevTools protocol over ``--remote-debugging-pipe`` (file
descriptors 3 and 4, messages separated by NUL bytes), with the standard library only. The page
is loaded from disk; every console error, uncaught exception and network request is recorded,
and a full-page screenshot (screen and print media) and a PDF are taken.

Used by the report's browser test; handy when changing the report's template.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["CHROMIUM_ENV", "PageCheck", "find_chromium", "inspect_page"]

#: Variable naming the Chromium binary (set by ``make test``'s service set-up).
CHROMIUM_ENV = "LOCLAB_TEST_CHROMIUM"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-extensions",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-pipe",
]
_LOCAL_SCHEMES = ("file:", "data:", "about:", "blob:", "chrome:", "devtools:")
_MAX_HEIGHT = 16000


def find_chromium() -> str | None:
    """``$LOCLAB_TEST_CHROMIUM``, else ``chromium``/``chromium-browser``/``google-chrome``."""
    value = os.environ.get(CHROMIUM_ENV)
    if value:
        return value
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class PageCheck:
    """What the browser saw.

    Attributes:
        title: ``document.title``.
        errors: Console errors, uncaught exceptions and error log entries.
        requests: URLs the page requested other than the page itself and inline data.
        images: ``(loaded, total)`` images on the page.
        height: Page height in CSS pixels.
        print_nav_hidden: Whether the table of contents is hidden when printing.
        screenshot: Full-page PNG (screen media).
        print_screenshot: Full-page PNG (print media).
        pdf: The page printed to PDF.
    """

    title: str = ""
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    images: tuple[int, int] = (0, 0)
    height: int = 0
    print_nav_hidden: bool | None = None
    screenshot: bytes = b""
    print_screenshot: bytes = b""
    pdf: bytes = b""


class _Pipe:
    """The DevTools protocol over Chromium's pipe: numbered commands, events in between."""

    def __init__(self, write_fd: int, read_fd: int) -> None:
        self.write_fd, self.read_fd = write_fd, read_fd
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def _read(self, timeout: float) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.read_fd], [], [], left)
            if not ready:
                return None
            chunk = os.read(self.read_fd, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self.buffer += chunk
        message, _, self.buffer = self.buffer.partition(b"\0")
        return json.loads(message)

    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session: str | None = None,
        timeout: float = 60.0,
    ) -> dict[str, Any]:
        self.next_id += 1
        msg: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.write_fd, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(max(0.0, deadline - time.monotonic()))
            if reply is None:
                raise TimeoutError(f"no answer to {method} within {timeout:g} s")
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float) -> bool:
        if any(e.get("method") == method for e in self.events):
            return True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            event = self._read(deadline - time.monotonic())
            if event is None:
                break
            self.events.append(event)
            if event.get("method") == method:
                return True
        return False

    def drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            event = self._read(deadline - time.monotonic())
            if event is None:
                return
            self.events.append(event)


def _spawn(chromium: str, profile: Path) -> tuple[subprocess.Popen[bytes], _Pipe]:
    import fcntl

    cmd_r, cmd_w = os.pipe()  # we write commands; Chromium reads them on fd 3
    evt_r, evt_w = os.pipe()  # Chromium writes answers on fd 4; we read them
    # Move Chromium's ends above 4 so putting them on 3 and 4 cannot clobber each other.
    child_r = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 10)
    child_w = fcntl.fcntl(evt_w, fcntl.F_DUPFD, 10)
    os.close(cmd_r)
    os.close(evt_w)

    def place_fds() -> None:
        os.dup2(child_r, 3)
        os.dup2(child_w, 4)

    try:
        proc = subprocess.Popen(
            [chromium, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=place_fds,
            pass_fds=(3, 4),
            close_fds=True,
        )
    finally:
        os.close(child_r)
        os.close(child_w)
    return proc, _Pipe(cmd_w, evt_r)


def _evaluate(pipe: _Pipe, session: str, expression: str) -> Any:
    result = pipe.call(
        "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session
    )
    return result.get("result", {}).get("value")


def inspect_page(path: Path, chromium: str | None = None, *, width: int = 1280) -> PageCheck:
    """Load ``path`` in headless Chromium; return what it saw (see :class:`PageCheck`).

    Raises:
        FileNotFoundError: No Chromium binary.
        RuntimeError: Chromium failed or the page did not load.
    """
    chromium = chromium or find_chromium()
    if not chromium:
        raise FileNotFoundError(f"no Chromium: install it or set {CHROMIUM_ENV}")
    url = path.resolve().as_uri()
    check = PageCheck()
    with tempfile.TemporaryDirectory(prefix="loclab-chromium-") as profile:
        proc, pipe = _spawn(chromium, Path(profile))
        try:
            target = pipe.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = pipe.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
                "sessionId"
            ]
            for domain in ("Page", "Runtime", "Log", "Network"):
                pipe.call(f"{domain}.enable", {}, session)
            pipe.call("Emulation.setDeviceMetricsOverride",
                      {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False},
                      session)  # fmt: skip
            pipe.events.clear()
            pipe.call("Page.navigate", {"url": url}, session)
            if not pipe.wait_for("Page.loadEventFired", 60):
                raise RuntimeError(f"{url} did not finish loading within 60 s")
            pipe.drain(0.5)
            check.title = str(_evaluate(pipe, session, "document.title") or "")
            loaded = _evaluate(
                pipe,
                session,
                "[...document.images].filter(i => i.complete && i.naturalWidth > 0).length",
            )
            total = _evaluate(pipe, session, "document.images.length")
            check.images = (int(loaded or 0), int(total or 0))
            height = int(_evaluate(pipe, session, "document.documentElement.scrollHeight") or 900)
            check.height = height
            clip = {"x": 0, "y": 0, "width": width, "height": min(height, _MAX_HEIGHT), "scale": 1}
            shot = pipe.call("Page.captureScreenshot",
                             {"format": "png", "captureBeyondViewport": True, "clip": clip},
                             session, timeout=120)  # fmt: skip
            check.screenshot = base64.b64decode(shot["data"])
            pdf = pipe.call("Page.printToPDF", {"printBackground": True}, session, timeout=120)
            check.pdf = base64.b64decode(pdf["data"])
            pipe.call("Emulation.setEmulatedMedia", {"media": "print"}, session)
            check.print_nav_hidden = bool(
                _evaluate(
                    pipe,
                    session,
                    "(() => { const n = document.querySelector('nav'); "
                    "return !n || getComputedStyle(n).display === 'none'; })()",
                )
            )
            height = int(_evaluate(pipe, session, "document.documentElement.scrollHeight") or 900)
            clip["height"] = min(height, _MAX_HEIGHT)
            shot = pipe.call("Page.captureScreenshot",
                             {"format": "png", "captureBeyondViewport": True, "clip": clip},
                             session, timeout=120)  # fmt: skip
            check.print_screenshot = base64.b64decode(shot["data"])
            pipe.drain(0.2)
            with contextlib.suppress(RuntimeError, TimeoutError):
                pipe.call("Browser.close", timeout=10)
        finally:
            for fd in (pipe.write_fd, pipe.read_fd):
                with contextlib.suppress(OSError):
                    os.close(fd)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)
    _collect(check, pipe.events, url)
    return check


def _collect(check: PageCheck, events: list[dict[str, Any]], url: str) -> None:
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            args = " ".join(
                str(a.get("value", a.get("description", ""))) for a in params.get("args", [])
            )
            check.errors.append(f"console.{params['type']}: {args}")
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            check.errors.append(
                f"exception: {details.get('text')} "
                f"{details.get('exception', {}).get('description', '')}"
            )
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            check.errors.append(f"log: {entry.get('text')} {entry.get('url', '')}".strip())
        elif method == "Network.requestWillBeSent":
            requested = params.get("request", {}).get("url", "")
            # Anything but the page itself and inline data, other local files included.
            inline = requested.startswith(_LOCAL_SCHEMES) and not requested.startswith("file:")
            if requested != url and not inline:
                check.requests.append(requested)
