"""Write the overview report for a database and a PNG of it in headless Chromium (README image).

    .venv/bin/python bench/report_screenshot.py /tmp/ruua2022.duckdb docs/img/report-2022.png

The page is opened offline (network blocked, see tests/chromium_driver.py); the screenshot
is taken once every chart has drawn, clipped to ``--height`` pixels (0 = the whole page).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from benchlib import REPO

from workbench import Workbench

sys.path.insert(0, str(REPO / "tests"))
from chromium_driver import Chromium, find_chromium  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("db", type=Path)
    ap.add_argument("png", type=Path)
    ap.add_argument("--html", type=Path, default=None, help="where to keep the report")
    ap.add_argument("--title", default=None)
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=2400)
    args = ap.parse_args()
    html = args.html or args.png.with_suffix(".html")
    t = time.perf_counter()
    with Workbench(args.db, read_only=True) as wb:
        wb.report(html, title=args.title)
    print(f"report: {html} ({html.stat().st_size / 1e6:.2f} MB, {time.perf_counter() - t:.1f} s)")
    binary = find_chromium()
    if binary is None:
        raise SystemExit("chromium not found: apt-get install -y chromium")
    with Chromium(binary, width=args.width, height=900) as c:
        c.open(html, settle=0.2)
        c.wait_for("document.body.getAttribute('data-wb-ready') === '1'", timeout=300)
        c.pump(1.0)
        if c.log.errors():
            raise SystemExit(f"page errors: {c.log.errors()[:3]}")
        args.png.parent.mkdir(parents=True, exist_ok=True)
        if args.height:
            full = c.eval("document.documentElement.scrollHeight")
            clip = {"x": 0, "y": 0, "width": args.width, "height": min(full, args.height)}
            data = c.call(
                "Page.captureScreenshot",
                format="png",
                clip={**clip, "scale": 1},
                captureBeyondViewport=True,
            )["data"]
            import base64

            args.png.write_bytes(base64.b64decode(data))
        else:
            c.screenshot(args.png)
    print(f"screenshot: {args.png} ({args.png.stat().st_size / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()
