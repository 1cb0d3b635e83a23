"""A small headless-Chromium driver over the DevTools Protocol (websocket-client only).

Why not Playwright: it wants to download its own browser builds; the tests must use the
Debian ``chromium`` and never touch the network. This driver starts Chromium with the flags
the report issue names, blocks every request except ``file:`` and ``data:`` (proxy to a dead
port plus ``Fetch`` interception), and records console errors, exceptions, CSP violations,
JavaScript dialogs and requests so tests can assert on them.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websocket

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    # Network blocked: every proxied request goes to a closed port (loopback included).
    "--proxy-server=127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
]


def find_chromium() -> str | None:
    """Path of a Chromium binary (``WORKBENCH_CHROMIUM`` overrides), or None."""
    env = os.environ.get("WORKBENCH_CHROMIUM")
    if env:
        return env if Path(env).exists() else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class PageLog:
    """What the page did: the evidence the tests assert on."""

    console: list[dict[str, Any]] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    log_entries: list[dict[str, Any]] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and browser log errors (CSP violations)."""
        out = [
            " ".join(str(a.get("value", a.get("description", ""))) for a in c.get("args", []))
            for c in self.console
            if c.get("type") in ("error", "assert")
        ]
        out += self.exceptions
        out += [e.get("text", "") for e in self.log_entries if e.get("level") == "error"]
        return out


class Chromium:
    """One headless Chromium with one page; use as a context manager."""

    def __init__(self, binary: str, *, width: int = 1280, height: int = 900) -> None:
        self.binary = binary
        self.width, self.height = width, height
        self.profile = Path(tempfile.mkdtemp(prefix="wb-chromium-"))
        self.proc: subprocess.Popen[bytes] | None = None
        self.ws: websocket.WebSocket | None = None
        self._id = 0
        self.log = PageLog()

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> Chromium:
        self.proc = subprocess.Popen(
            [
                self.binary,
                *FLAGS,
                f"--user-data-dir={self.profile}",
                f"--window-size={self.width},{self.height}",
                "--remote-debugging-port=0",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not port_file.exists() or len(port_file.read_text().splitlines()) < 2:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited with status {self.proc.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError("chromium did not open its DevTools port within 60 s")
            time.sleep(0.05)
        port = port_file.read_text().splitlines()[0]
        browser = websocket.create_connection(
            f"ws://127.0.0.1:{port}{port_file.read_text().splitlines()[1]}", timeout=60
        )
        try:
            browser.send(json.dumps({"id": 1, "method": "Target.getTargets"}))
            targets: list[dict[str, Any]] = []
            while True:
                msg = json.loads(browser.recv())
                if msg.get("id") == 1:
                    targets = msg["result"]["targetInfos"]
                    break
        finally:
            browser.close()
        page = next(t for t in targets if t["type"] == "page")
        self.ws = websocket.create_connection(
            f"ws://127.0.0.1:{port}/devtools/page/{page['targetId']}", timeout=60
        )
        for method in ("Page.enable", "Runtime.enable", "Log.enable", "Network.enable"):
            self.call(method)
        # Intercept every request: file: and data: pass, anything else fails.
        self.call("Fetch.enable", patterns=[{"urlPattern": "*"}])
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=self.width,
            height=self.height,
            deviceScaleFactor=1,
            mobile=False,
        )
        return self

    def __exit__(self, *exc: object) -> None:
        if self.ws is not None:
            try:
                self.ws.close()
            except OSError:
                pass
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        shutil.rmtree(self.profile, ignore_errors=True)

    # ------------------------------------------------------------------ protocol
    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command and wait for its answer, handling events meanwhile."""
        assert self.ws is not None
        self._id += 1
        my_id = self._id
        self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == my_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self._event(msg["method"], msg.get("params", {}))

    def _event(self, method: str, params: dict[str, Any]) -> None:
        log = self.log
        if method == "Runtime.consoleAPICalled":
            log.console.append(params)
        elif method == "Runtime.exceptionThrown":
            d = params.get("exceptionDetails", {})
            log.exceptions.append(d.get("exception", {}).get("description") or d.get("text", ""))
        elif method == "Log.entryAdded":
            log.log_entries.append(params.get("entry", {}))
        elif method == "Page.javascriptDialogOpening":
            log.dialogs.append(params.get("message", ""))
            self._send_nowait("Page.handleJavaScriptDialog", accept=True)
        elif method == "Network.requestWillBeSent":
            log.requests.append(params.get("request", {}).get("url", ""))
        elif method == "Fetch.requestPaused":
            url = params["request"]["url"]
            if url.startswith(("file:", "data:")):
                self._send_nowait("Fetch.continueRequest", requestId=params["requestId"])
            else:
                log.blocked.append(url)
                self._send_nowait(
                    "Fetch.failRequest",
                    requestId=params["requestId"],
                    errorReason="BlockedByClient",
                )

    def _send_nowait(self, method: str, **params: Any) -> None:
        assert self.ws is not None
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))

    def pump(self, seconds: float) -> None:
        """Handle events for a while (lets timers and renders run)."""
        assert self.ws is not None
        end = time.monotonic() + seconds
        self.ws.settimeout(0.05)
        try:
            while time.monotonic() < end:
                try:
                    msg = json.loads(self.ws.recv())
                except websocket.WebSocketTimeoutException:
                    continue
                if "method" in msg:
                    self._event(msg["method"], msg.get("params", {}))
        finally:
            self.ws.settimeout(60)

    # ------------------------------------------------------------------ page helpers
    def open(self, path: Path, *, settle: float = 1.0) -> None:
        """Navigate to a local file and wait for load (+ ``settle`` seconds); resets the log."""
        self.log = PageLog()
        self.call("Page.navigate", url=path.resolve().as_uri())
        self.wait_for("document.readyState === 'complete'", timeout=60)
        self.pump(settle)

    def eval(self, expression: str, *, await_promise: bool = False) -> Any:
        res = self.call(
            "Runtime.evaluate",
            expression=expression,
            returnByValue=True,
            awaitPromise=await_promise,
        )
        if "exceptionDetails" in res:
            raise RuntimeError(f"evaluate failed: {res['exceptionDetails']}")
        return res.get("result", {}).get("value")

    def wait_for(self, expression: str, *, timeout: float = 30) -> Any:
        """Poll a JS expression until it is truthy; return its value."""
        end = time.monotonic() + timeout
        while True:
            value = self.eval(expression)
            if value:
                return value
            if time.monotonic() > end:
                raise TimeoutError(f"timed out after {timeout} s waiting for: {expression}")
            self.pump(0.1)

    def screenshot(self, out: Path, *, full_page: bool = True) -> Path:
        """Write a PNG of the page (whole document height when ``full_page``)."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            size = self.eval(
                "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
            )
            params["clip"] = {"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1}
            params["captureBeyondViewport"] = True
        data = self.call("Page.captureScreenshot", **params)["data"]
        out.write_bytes(base64.b64decode(data))
        return out
