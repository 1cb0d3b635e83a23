"""The source explorer inside a real JupyterLab, driven by headless Chromium (issue 18, point 10).

Skipped unless JupyterLab is installed (``pip install -e '.[lab]'``, or ``WORKBENCH_JUPYTERLAB``
naming a ``jupyter-lab`` from another environment that has the ipywidgets and anywidget
front-ends) and Chromium is found. The kernel is this interpreter with this checkout on its
path. A notebook opens the 110-outlet corpus, shows the explorer and prints its data; then the
drawn bars (SVG widths), the tooltips and the data are compared on first draw, after Share and
after Counts, clicking the real toggle buttons.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import chromium_driver
import nbformat
import pytest

pytestmark = pytest.mark.chromium

REPO = Path(__file__).resolve().parents[1]

_BARS = r"""(() => {
  const all = document.querySelectorAll('.jp-OutputArea .vega-embed');
  if (all.length !== 1) return {embeds: all.length, bars: []};
  all[0].scrollIntoView();
  const bars = [...all[0].querySelectorAll('path[aria-roledescription="bar"]')].map((p) => {
    const r = p.getBoundingClientRect();
    return {aria: p.getAttribute('aria-label'), w: r.width, x: r.left + r.width / 2,
            y: (r.top + r.bottom) / 2};
  });
  return {embeds: 1, menus: all[0].querySelectorAll('details').length, bars};
})()"""
_HOVER = """((x, y) => { const e = document.elementFromPoint(x, y);
  for (const t of ['pointermove', 'mousemove'])
    e.dispatchEvent(new MouseEvent(t, {clientX: x, clientY: y, bubbles: true}));
  return true; })(%f, %f)"""
_TIP = "(() => { const t = document.querySelector('#vg-tooltip-element'); return t ? t.innerText : ''; })()"
_CLICK = """(() => { const b = [...document.querySelectorAll('.widget-toggle-button')]
  .filter((e) => e.textContent.trim() === '%s').pop();
  if (!b) return false; b.scrollIntoView(); b.click(); return true; })()"""


def _jupyter_lab() -> str | None:
    env = os.environ.get("WORKBENCH_JUPYTERLAB")
    if env:
        return env if Path(env).exists() else None
    here = Path(sys.executable).with_name("jupyter-lab")
    return str(here) if here.exists() else shutil.which("jupyter-lab")


class _LabChromium(chromium_driver.Chromium):
    """The tests' driver, letting the local JupyterLab through (nothing else)."""

    origin = ""

    def _event(self, method: str, params: dict) -> None:
        if method == "Fetch.requestPaused" and params["request"]["url"].startswith(self.origin):
            self._send_nowait("Fetch.continueRequest", requestId=params["requestId"])
            return
        super()._event(method, params)


@pytest.fixture
def lab(request, tmp_path, monkeypatch):
    binary, browser = _jupyter_lab(), chromium_driver.find_chromium()
    if not binary:
        pytest.skip("JupyterLab not installed (pip install -e '.[lab]', or WORKBENCH_JUPYTERLAB)")
    if not browser:
        pytest.skip("Chromium not found (apt-get install -y chromium, or WORKBENCH_CHROMIUM)")
    outlets_wb = request.getfixturevalue("outlets_wb")  # only once there is a lab to drive
    outlets_wb.con.execute("CHECKPOINT")
    db = tmp_path / "outlets.duckdb"  # the fixture's connection keeps its file locked
    shutil.copy(Path(outlets_wb.path), db)
    kernel = tmp_path / "jpath" / "kernels" / "python3"
    kernel.mkdir(parents=True)
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    (kernel / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "workbench tests",
                "language": "python",
                "env": {"PYTHONPATH": path},
            }
        )
    )
    root = tmp_path / "nb"
    root.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "from workbench import panels\n"
            f"wb = panels.open_workbench({str(db)!r})\n"
            "ex = panels.Explorer(wb, 'source', n=10)\nex"
        ),
        nbformat.v4.new_code_cell(
            "print('DATA=' + ex.data[['label', 'articles', 'share']].to_json(orient='records'))"
        ),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "workbench tests"}
    nbformat.write(nb, root / "explorer.ipynb")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "JUPYTER_PATH": str(tmp_path / "jpath"),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "ws"),
    }
    log = (tmp_path / "lab.log").open("w")
    proc = subprocess.Popen(
        [binary, "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         "--IdentityProvider.token=", "--ServerApp.password=", f"--ServerApp.root_dir={root}",
         "--LabApp.expose_app_in_browser=True", "--ServerApp.allow_root=True"],
        env=env, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True,
    )  # fmt: skip
    origin = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(origin + "api", timeout=2)  # noqa: S310 (loopback)
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("JupyterLab did not start:\n" + (tmp_path / "lab.log").read_text())
                time.sleep(0.5)
        flags = [f for f in chromium_driver.FLAGS if "<-loopback>" not in f]
        monkeypatch.setattr(chromium_driver, "FLAGS", flags)
        _LabChromium.origin = origin
        with _LabChromium(browser, width=1300, height=1500) as page:
            page.call("Page.navigate", url=f"{origin}lab/tree/explorer.ipynb")
            yield page
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(30)
        log.close()


def _run_all(page: chromium_driver.Chromium) -> list[dict]:
    page.wait_for("!!(window.jupyterapp && document.querySelector('.jp-Notebook'))", timeout=120)
    page.pump(2)
    run = "jupyterapp.commands.execute('notebook:run-all-cells')"
    started = (
        "[...document.querySelectorAll('.jp-InputPrompt')].some(e => /[0-9*]/.test(e.textContent))"
    )
    accept = "(() => { const b = document.querySelector('.jp-Dialog .jp-mod-accept'); if (b) b.click(); return !!b; })()"
    done = "document.body.textContent.includes('DATA=[')"
    page.eval(run)
    t0 = last = time.monotonic()
    while not page.eval(done):
        if page.eval(accept) or (not page.eval(started) and time.monotonic() - last > 15):
            page.pump(2)
            page.eval(run)
            last = time.monotonic()
        assert time.monotonic() - t0 < 300, f"the notebook did not run: {page.log.errors()[:3]}"
        page.pump(0.5)
    text = page.eval("document.body.textContent")
    return json.loads("[" + text.split("DATA=[", 1)[1].split("]", 1)[0] + "]")


def _check(page: chromium_driver.Chromium, data: list[dict], field: str) -> None:
    prefix = "Share of articles" if field == "share" else "Articles"
    page.wait_for(
        f"(s => s.bars.length === {len(data)} && s.bars[0].aria.startsWith('{prefix}'))({_BARS})",
        timeout=60,
    )
    page.pump(1.0)
    st = page.eval(_BARS)
    assert st["menus"] == 1, st
    want = {d["label"]: d[field] for d in data}
    drawn = {b["aria"].split("label: ", 1)[1].split("; name: ", 1)[0]: b for b in st["bars"]}
    assert set(drawn) == set(want)
    top = data[0]["label"]
    scale = drawn[top]["w"] / want[top]
    for label, value in want.items():
        assert drawn[label]["w"] == pytest.approx(value * scale, rel=0.02, abs=0.6), (field, label)
    for label in (top, data[-1]["label"]):
        page.eval(_HOVER % (drawn[label]["x"], drawn[label]["y"]))
        page.pump(0.3)
        tip = page.eval(_TIP)
        shown = f"{want[label]:.1%}" if field == "share" else f"{want[label]:,}"
        assert label in tip and shown in tip, (field, label, tip)


def test_source_explorer_in_jupyterlab_draws_its_data(lab):
    data = _run_all(lab)
    assert len(data) == 10
    _check(lab, data, "articles")
    assert lab.eval(_CLICK % "Share")
    _check(lab, data, "share")
    assert lab.eval(_CLICK % "Counts")
    _check(lab, data, "articles")
    assert not lab.log.blocked, lab.log.blocked[:3]
