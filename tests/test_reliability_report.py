"""Report safety, the cases ``test_report.py`` (which covers script tags, event handlers,
``javascript:`` URLs and ``</script>`` in the chart JSON/entity names) does not:

- an http(s) URL that tries to break out of its ``href`` attribute
  (``https://x/"onmouseover="..."``) -- it passes a scheme check, so only escaping stops it;
- hostile text in the report *header*: a user-given title and filter values (outlet names and
  full-text queries are stamped on the report);
- hostile SVG/markup in titles and outlets of an analysed corpus.

Checked in the HTML (exactly the three scripts the report ships, no ``on*`` attribute, no
scripted URL) and, where Debian Chromium is installed, in a real headless browser with the
network blocked: no dialog, no canary set, even after hovering and clicking every link.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from chromium_driver import Chromium, find_chromium

from workbench import Filter, Workbench

CANARY = "window.__wb_pwned"
#: No spaces: it passes the scheme/whitespace check and becomes a link, so only escaping helps.
BREAKOUT_URL = f'https://example.org/a"onmouseover="{CANARY}=1"x="'
HOSTILE_SOURCE = f"</script><script>{CANARY}='source'</script>"
HOSTILE_TITLE = f"<svg onload=\"{CANARY}='svg'\"><title>x</title></svg>"
ROWS = [
    {
        "date": "2022-03-01",
        "source": HOSTILE_SOURCE,
        "title": HOSTILE_TITLE,
        "url": BREAKOUT_URL,
        "text": "Vladimir Putin met Joe Biden in Geneva. Putin said talks on Ukraine were useful.",
    },
    {
        "date": "2022-03-02",
        "source": "Reuters",
        "title": "Scholz and Macron",
        "url": f"JaVaScRiPt:{CANARY}='js'",
        "text": "Olaf Scholz met Emmanuel Macron and Vladimir Putin's envoy in Berlin.",
    },
    {
        "date": "2022-03-03",
        "source": "Reuters",
        "title": "Refugees",
        "url": "https://example.org/ok",
        "text": "Refugees from Ukraine reached Poland, Vladimir Putin and Joe Biden were told.",
    },
]


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("rsafe")
    (d / "a.jsonl").write_text("\n".join(json.dumps(r) for r in ROWS) + "\n")
    with Workbench(d / "r.duckdb") as wb:
        assert wb.ingest([d / "a.jsonl"], progress=False).stored == len(ROWS)
        wb.analyze(progress=False)
        plain = wb.report(d / "plain.html")
        stamped = wb.report(
            d / "stamped.html",
            title=f"</title><script>{CANARY}='title'</script>",
            filter=Filter(sources=[HOSTILE_SOURCE, "Reuters"], text="Putin"),
        )
    return plain, stamped


def check_html(path: Path) -> str:
    html = path.read_text(encoding="utf-8")
    parser = Tags()
    parser.feed(html)
    scripts = [a for t, a in parser.tags if t == "script"]
    assert [a.get("type") for a in scripts] == [None, "application/json", None]
    for tag, attrs in parser.tags:
        assert not [n for n in attrs if n.startswith("on")], (tag, attrs)
        assert tag not in ("svg", "img", "iframe", "object", "embed", "base"), (tag, attrs)
        for name in ("href", "src", "action"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("javascript:", "data:", "vbscript:")), (tag, attrs)
    assert CANARY + "=" in html.replace("&#39;", "'") or CANARY in html  # present as text
    return html


def test_report_html_escapes_urls_titles_and_header(reports: tuple[Path, Path]) -> None:
    plain, stamped = reports
    html = check_html(plain)
    assert 'href="https://example.org/a&#34;onmouseover=&#34;' in html  # a link, inert
    assert "&lt;svg onload=" in html
    html = check_html(stamped)
    assert "<title>&lt;/title&gt;&lt;script&gt;" in html
    assert "sources: &lt;/script&gt;&lt;script&gt;" in html


@pytest.fixture(scope="module")
def browser():
    binary = find_chromium()
    if binary is None:
        pytest.skip("Chromium not found (apt-get install -y chromium; `.ci/run` does this)")
    with Chromium(binary) as c:
        yield c


@pytest.mark.chromium
@pytest.mark.parametrize("which", [0, 1])
def test_nothing_executes_in_chromium(browser: Chromium, reports, which: int) -> None:
    c = browser
    c.open(reports[which], settle=0.2)
    c.wait_for("document.body.getAttribute('data-wb-ready') === '1'", timeout=120)
    c.eval(
        "document.querySelectorAll('a, td, th, h1, dd, .mark-rect path, .mark-symbol path')"
        ".forEach(el => { for (const t of ['mouseover', 'mousemove', 'focus']) "
        "el.dispatchEvent(new MouseEvent(t, {bubbles: true})); })"
    )
    c.eval(
        "document.querySelectorAll('a').forEach(a => a.addEventListener('click', "
        "e => e.preventDefault())); document.querySelectorAll('a').forEach(a => a.click())"
    )
    c.pump(0.5)
    assert c.log.dialogs == []
    assert c.eval(f"typeof {CANARY}") == "undefined"
    hrefs = c.eval("Array.from(document.querySelectorAll('a[href]')).map(a => a.href)")
    assert all(h.startswith(("https://example.org/", "file:")) for h in hrefs), hrefs
    assert c.eval("document.querySelectorAll('svg title').length") == 0
    assert c.log.errors() == []
