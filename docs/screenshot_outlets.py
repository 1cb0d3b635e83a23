"""Make ``docs/img/outlets-*.png``: the report and two explorers on a 100+-outlet corpus.

The report is the real ``workbench report`` file. The explorers are the real
``panels.Explorer`` objects (source and country) after a few widget changes; their drawn part
(status line, the chart's exact Vega-Lite spec, the evidence table) is put on one offline page
and photographed in headless Chromium. The widget controls themselves need JupyterLab: see
``docs/screenshot_explorer.py`` for a screenshot of the whole widget in a running lab.

    WORKBENCH_DB=path/to/analysed.duckdb .venv/bin/python docs/screenshot_outlets.py
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from markupsafe import Markup

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

import chromium_driver  # noqa: E402  (the tests' DevTools driver)

from workbench import Workbench  # noqa: E402
from workbench.explore import panels  # noqa: E402
from workbench.present import report  # noqa: E402


def explorer_page(ex: panels.Explorer, title: str) -> str:
    from workbench.base import versions

    stamp = {"workbench_version": versions.workbench_version(), "generated": "screenshot"}
    page = report.Page(title=title, lead=ex.filter.describe(), stamp=stamp)
    sec = report.Section("explorer", title, "")
    page.sections.append(sec)
    sec.blocks.append(report.Block(kind="html", html=Markup(ex.status.value)))  # noqa: S704
    page.add_chart(sec, ex.chart.chart.to_dict())
    sec.blocks.append(report.Block(kind="html", html=Markup(ex.table.value)))  # noqa: S704
    return report.render_page(page)


def shoot(c: chromium_driver.Chromium, html: Path, out: Path) -> None:
    c.open(html, settle=0.2)
    c.wait_for("document.body.getAttribute('data-wb-ready') === '1'", timeout=120)
    c.pump(0.5)
    c.screenshot(out)
    print(f"{out} ({out.stat().st_size / 1e3:.0f} kB)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default=os.environ.get("WORKBENCH_DB"), help="analysed database")
    ap.add_argument("--out", default=str(REPO / "docs" / "img"))
    args = ap.parse_args()
    if not args.db or not Path(args.db).exists():
        sys.exit("give --db (or WORKBENCH_DB): an analysed database with 100+ outlets")
    binary = chromium_driver.find_chromium()
    if not binary:
        sys.exit("needs Debian chromium (apt-get install chromium)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="wb-shots-"))
    with Workbench(args.db, read_only=True) as wb:
        n = wb.summary()["n_sources"]
        rep = wb.report(tmp / "report.html", title=f"Coverage report ({n} outlets)")
        src = panels.Explorer(wb, "source", n=15)
        src.measure.value = "share"  # the status line follows the measure
        (tmp / "sources.html").write_text(explorer_page(src, "Source explorer"))
        cty = panels.Explorer(wb, "country", n=12)
        cty.sources.value = tuple(src.data["key"][:20])  # the 20 largest outlets only
        (tmp / "countries.html").write_text(explorer_page(cty, "Country explorer"))
    with chromium_driver.Chromium(binary, width=1280, height=900) as c:
        shoot(c, rep, out / "outlets-report.png")
        shoot(c, tmp / "sources.html", out / "outlets-explorer-sources.png")
        shoot(c, tmp / "countries.html", out / "outlets-explorer-countries.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
