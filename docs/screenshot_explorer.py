"""Make ``docs/img/explorer.png``: the actor explorer as JupyterLab really renders it.

Starts JupyterLab on 127.0.0.1 (a temp copy of ``notebooks/02-actors.ipynb``, so the stored
notebook stays clean), drives Debian's headless Chromium over the DevTools protocol to run
all cells, and screenshots the explorer's output. Every request that is not to the local
server is blocked and listed, so the picture also shows that the charts render offline.

    .venv/bin/pip install -e '.[lab]'    # JupyterLab (make lab does this)
    WORKBENCH_DB=path/to/analysed.duckdb .venv/bin/python docs/screenshot_explorer.py
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

import chromium_driver  # noqa: E402  (the tests' DevTools driver)

# Everything still goes to a dead proxy, except loopback (Chromium's implicit bypass, which the
# tests' flags switch off with <-loopback>): the page can reach JupyterLab and nothing else.
chromium_driver.FLAGS = [f for f in chromium_driver.FLAGS if "<-loopback>" not in f]


class LocalChromium(chromium_driver.Chromium):
    """The tests' driver, but the local JupyterLab server is allowed (nothing else is)."""

    def __init__(self, binary: str, origin: str, **kw: object) -> None:
        super().__init__(binary, **kw)  # type: ignore[arg-type]
        self.origin = origin

    def _event(self, method: str, params: dict) -> None:
        if method == "Fetch.requestPaused" and params["request"]["url"].startswith(self.origin):
            self._send_nowait("Fetch.continueRequest", requestId=params["requestId"])
            return
        super()._event(method, params)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default=os.environ.get("WORKBENCH_DB"), help="analysed database")
    ap.add_argument("--notebook", default="02-actors.ipynb")
    ap.add_argument("--out", default=str(REPO / "docs" / "img" / "explorer.png"))
    args = ap.parse_args()
    if not args.db or not Path(args.db).exists():
        sys.exit("give --db (or WORKBENCH_DB): an analysed database, e.g. from `make demo`")
    binary = chromium_driver.find_chromium()
    if not binary:
        sys.exit("needs Debian chromium (apt-get install chromium)")

    tmp = Path(tempfile.mkdtemp(prefix="wb-lab-"))
    root = tmp / "notebooks"
    root.mkdir()
    shutil.copy(REPO / "notebooks" / args.notebook, root / args.notebook)
    port = _free_port()
    origin = f"http://127.0.0.1:{port}/"
    env = {
        **os.environ,
        "WORKBENCH_DB": str(Path(args.db).resolve()),
        "JUPYTER_CONFIG_DIR": str(tmp / "config"),
        "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp / "workspaces"),
    }
    lab = subprocess.Popen(
        [
            sys.executable, "-m", "jupyterlab", "--no-browser",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
            "--IdentityProvider.token=", "--ServerApp.password=",
            f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
            "--ServerApp.allow_root=True",
        ],
        env=env, stdout=subprocess.DEVNULL, stderr=open(tmp / "lab.log", "w"),  # noqa: SIM115
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(origin + "api", timeout=2)  # noqa: S310 (loopback)
                break
            except OSError:
                if time.monotonic() > deadline or lab.poll() is not None:
                    log = (tmp / "lab.log").read_text()[-2000:]
                    raise SystemExit(f"JupyterLab did not start:\n{log}") from None
                time.sleep(0.5)
        with LocalChromium(binary, origin, width=1200, height=1400) as page:
            page.call("Page.navigate", url=f"{origin}lab/tree/{args.notebook}")
            try:
                page.wait_for(
                    "!!(window.jupyterapp && document.querySelector('.jp-Notebook'))", timeout=90
                )
            except TimeoutError:
                page.screenshot(Path("/tmp/wb-lab-debug.png"), full_page=False)
                print(
                    page.eval("location.href + ' | ' + document.title"),
                    page.log.blocked[:5],
                    page.log.errors()[:5],
                )
                raise
            page.eval(
                "jupyterapp.shell.activateById(document.querySelector('.jp-NotebookPanel').id)"
            )
            page.pump(2)
            page.eval("jupyterapp.commands.execute('application:toggle-left-area')")
            page.eval("jupyterapp.commands.execute('notebook:run-all-cells')")
            # JupyterLab may ask which kernel to start: accept the notebook's own (the venv's),
            # then run everything again; wait until the explorer's chart and table are drawn.
            accept = (
                "(() => { const b = document.querySelector('.jp-Dialog .jp-mod-accept');"
                " if (b) { b.click(); return true; } return false; })()"
            )
            done = (
                "!!(document.querySelector('.wb-evidence') &&"
                " document.querySelector('.vega-embed svg, .vega-embed canvas'))"
            )
            deadline = time.monotonic() + 400
            while not page.eval(done):
                if page.eval(accept):
                    page.pump(3)
                    page.eval("jupyterapp.commands.execute('notebook:run-all-cells')")
                if time.monotonic() > deadline:
                    page.screenshot(Path("/tmp/wb-lab-debug.png"), full_page=False)
                    raise TimeoutError(f"explorer not drawn; errors: {page.log.errors()[:5]}")
                page.pump(1)
            page.pump(3)
            page.eval("document.querySelectorAll('.Toastify').forEach(e => e.remove())")
            rect = page.eval(
                "(() => { const e = document.querySelector('.wb-evidence')"
                ".closest('.jp-Cell'); e.scrollIntoView(); const r = e.getBoundingClientRect();"
                " return [r.x, r.y, r.width, r.height]; })()"
            )
            page.pump(2)
            rect = page.eval(
                "(() => { const r = document.querySelector('.wb-evidence')"
                ".closest('.jp-Cell').getBoundingClientRect();"
                " return [r.x, r.y, r.width, r.height]; })()"
            )
            x, y, wdt, hgt = rect
            import base64

            shot = page.call(
                "Page.captureScreenshot",
                format="png",
                captureBeyondViewport=True,
                clip={"x": x, "y": max(y, 0), "width": wdt, "height": hgt, "scale": 1},
            )
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_bytes(base64.b64decode(shot["data"]))
            print(f"wrote {args.out} ({int(wdt)}x{int(hgt)} px)")
            print(f"requests blocked (must be none): {page.log.blocked}")
            errs = [e for e in page.log.errors() if e]
            print(f"console errors: {errs[:5]}")
    finally:
        if lab.poll() is None:
            os.killpg(lab.pid, 15)
            lab.wait(30)
        if sys.exc_info()[0] is None:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp} (lab.log) for debugging", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
