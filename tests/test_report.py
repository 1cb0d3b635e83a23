"""Reports: one self-contained offline HTML file, interactive without a kernel, XSS-proof.

The browser tests open the real file in headless Debian Chromium (driven over the DevTools
Protocol by ``chromium_driver.py``) with the network blocked, and assert on what the page
actually did: console errors, drawn SVG marks, control-driven re-rendering, dialogs.
"""

from __future__ import annotations

import csv
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from chromium_driver import Chromium, find_chromium
from typer.testing import CliRunner

from workbench import Filter, Workbench
from workbench.base import config
from workbench.cli.main import app
from workbench.present.report import (
    SIZE_BUDGET_BYTES,
    content_security_policy,
    csp_hash,
    kwic,
    safe_url,
    script_json,
)

SCREENSHOT_DIR = Path(__file__).resolve().parent.parent / "reports"

XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = '"><img src=x onerror=alert(1)>'
XSS_CANARY = "<img src=x onerror=\"window.__wb_pwned='img'\">"
XSS_JSON = "</script><script>window.__wb_pwned='json'</script><!--"
XSS_URL = "javascript:window.__wb_pwned='url'"

ARTICLES = [
    (
        "2022-03-01",
        "Zelenskyy speaks with Biden",
        "Kyiv Independent",
        "https://example.org/a1",
        "Ukrainian President Volodymyr Zelenskyy spoke with Joe Biden in Kyiv about sanctions "
        "on Russia. The European Union and NATO promised more weapons to Ukraine. "
        '"We will defend our land," Zelenskyy said.',
    ),
    (
        "2022-03-02",
        "Kremlin on talks",
        "TASS",
        "https://example.org/a2",
        'The Kremlin said Vladimir Putin met Chinese officials in Moscow. "We want peace," '
        "Putin said. Sergei Lavrov travelled to Beijing and met Xi Jinping.",
    ),
    (
        "2022-03-09",
        "Oil and OPEC",
        "Reuters",
        "https://example.org/a3",
        "Oil prices rose as OPEC cut output and traders in London watched Saudi Arabia. "
        "The International Monetary Fund warned about inflation in Germany and France.",
    ),
    (
        "2022-04-10",
        "Refugees reach Poland",
        "Reuters",
        "https://example.org/a4",
        "Thousands of refugees from Ukraine crossed into Poland, the United Nations said. "
        "Antonio Guterres called for a ceasefire and humanitarian corridors near Mariupol.",
    ),
    (
        "2022-04-12",
        "Sanctions widen",
        "Kyiv Independent",
        "https://example.org/a5",
        "The European Union adopted new sanctions against Russia. Ursula von der Leyen said "
        "Gazprom would face limits. Olaf Scholz met Emmanuel Macron in Berlin.",
    ),
    # The hostile article: markup in every article-derived field.
    (
        "2022-04-20",
        f"{XSS_SCRIPT} Putin and Biden {XSS_IMG}",
        f"{XSS_IMG}{XSS_CANARY}",
        XSS_URL,
        f"Vladimir Putin met Joe Biden in Geneva {XSS_SCRIPT}. {XSS_IMG} NATO said {XSS_JSON} "
        f'Russia and Ukraine were discussed. "{XSS_CANARY} is hostile," Putin said.',
    ),
]


def _write_csv(path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["date", "title", "source", "url", "text"])
        w.writerows(ARTICLES)
    return path


@pytest.fixture(scope="module")
def report_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small analysed corpus with one hostile article, plus hostile entity/theme/speaker
    names written where a poisoned registry or taxonomy would put them. Closed after setup,
    so tests (and the CLI) can open it read-only."""
    d = tmp_path_factory.mktemp("report")
    db = d / "r.duckdb"
    with Workbench(db) as w:
        res = w.ingest([_write_csv(d / "articles.csv")], progress=False)
        assert res.stored == len(ARTICLES), str(res)
        w.analyze(progress=False)
        con = w.con
        top = con.execute(
            "SELECT e.entity_id FROM entities e JOIN mentions m USING (entity_id) "
            "WHERE e.type = 'PERSON' GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
        ).fetchone()
        assert top, "analysis found no PERSON entity"
        con.execute(
            "UPDATE entities SET name = ? WHERE entity_id = ?", [f"Putin{XSS_JSON}", top[0]]
        )
        con.execute(
            "UPDATE themes SET label = ? WHERE theme_id = "
            "(SELECT theme_id FROM article_themes ORDER BY theme_id LIMIT 1)",
            [f"war {XSS_JSON}{XSS_CANARY}"],
        )
        con.execute("UPDATE quotes SET speaker = ?", [f"speaker {XSS_JSON}"])
    return db


@pytest.fixture(scope="module")
def report_html(report_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    with Workbench(report_db, read_only=True) as w:
        return w.report(tmp_path_factory.mktemp("out") / "overview.html")


@pytest.fixture(scope="module")
def browser():
    binary = find_chromium()
    if binary is None:
        pytest.skip(
            "Chromium not found (install Debian `chromium`: apt-get install -y chromium; "
            "`.ci/run` does this) - the browser tests need a real headless browser"
        )
    with Chromium(binary) as c:
        yield c


def _open_ready(c: Chromium, path: Path) -> None:
    c.open(path, settle=0.2)
    c.wait_for("document.body.getAttribute('data-wb-ready') === '1'", timeout=120)
    c.pump(0.5)


# ---------------------------------------------------------------------- unit: safe embedding
@pytest.mark.parametrize(
    "value",
    ["</script><script>alert(1)</script>", "<!-- x", "a & b > c", "\u2028line\u2029", "ok"],
)
def test_script_json_cannot_break_out_and_round_trips(value: str) -> None:
    text = str(script_json({"v": value, "list": [value]}))
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"v": value, "list": [value]}


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://example.org/a?b=1", True),
        ("http://example.org", True),
        ("javascript:alert(1)", False),
        (" JavaScript:alert(1)", False),
        ("java\nscript:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("vbscript:msgbox", False),
        ("//evil.example/x", False),
        ("https:alert(1)", False),
        (None, False),
    ],
)
def test_only_http_urls_become_links(url: str | None, ok: bool) -> None:
    assert (safe_url(url) is not None) is ok


def test_csp_hashes_exact_script_text() -> None:
    # Known vector: sha256("alert(1)") in base64.
    assert csp_hash("alert(1)") == "'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='"
    csp = content_security_policy(["a", "b"])
    assert "default-src 'none'" in csp and "unsafe-eval" not in csp
    assert "script-src 'sha256-" in csp and "'unsafe-inline'" not in csp.split("style-src")[0]


def test_kwic_uses_offsets_and_falls_back_to_search() -> None:
    s = "Yesterday Vladimir Putin met Joe Biden."
    assert kwic(s, 10, 24, "Vladimir Putin") == ("Yesterday ", "Vladimir Putin", " met Joe Biden.")
    # Offsets that do not fit the sentence: found by text instead of silently mis-cut.
    assert kwic(s, 99, 120, "Joe Biden")[1] == "Joe Biden"


# ---------------------------------------------------------------------- the file itself
class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def test_report_is_self_contained_escaped_and_stamped(report_html: Path, report_db: Path) -> None:
    html = report_html.read_text(encoding="utf-8")
    assert report_html.stat().st_size < SIZE_BUDGET_BYTES
    parser = _Tags()
    parser.feed(html)
    scripts = [attrs for tag, attrs in parser.tags if tag == "script"]
    # Exactly: the Vega bundle, the JSON data block, the bootstrap. Nothing injected.
    assert len(scripts) == 3, scripts
    assert [dict(a).get("type") for a in scripts] == [None, "application/json", None]
    for tag, attrs in parser.tags:
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name, value)
            v = (value or "").strip().lower()
            if name in ("src", "href", "action", "srcset", "poster", "data"):
                assert not v.startswith(("http:", "https:", "//")) or (
                    tag == "a" and name == "href"
                ), (tag, name, value)
                assert not v.startswith(("javascript:", "data:text", "vbscript:")), (tag, value)
    assert not re.search(r"""<(link|iframe|object|embed|base)\b""", html, re.I)
    # The hostile article's title and source appear only escaped.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<img src=x" not in html
    # Header stamp.
    with Workbench(report_db, read_only=True) as w:
        n = w.sql("SELECT count(*) AS n FROM articles")["n"].iloc[0]
        model = w.sql("SELECT model FROM pipelines LIMIT 1")["model"].iloc[0]
        tax = w.sql("SELECT DISTINCT taxonomy_hash FROM themes")["taxonomy_hash"].iloc[0]
        reg = w.sql("SELECT DISTINCT registry_hash FROM entities")["registry_hash"].iloc[0]
    for label, value in [
        ("articles", str(n)),
        ("date range", "2022-03-01 to 2022-04-20"),
        ("model", model),
        ("taxonomy hash", tax),
        ("registry hash", reg),
        ("workbench", "0."),
        ("filters", "all articles"),
    ]:
        assert re.search(rf"<dt>{label}</dt><dd>[^<]*{re.escape(value)}", html), label
    assert re.search(r"<dt>corpus hash</dt><dd>[0-9a-f]{16}</dd>", html)


def test_filter_narrows_the_report_and_is_stamped(report_db: Path, tmp_path: Path) -> None:
    with Workbench(report_db, read_only=True) as w:
        out = w.report(tmp_path / "r.html", filter=Filter(sources=("Reuters",)))
    html = out.read_text(encoding="utf-8")
    assert re.search(r"<dt>articles</dt><dd>2</dd>", html)
    assert "sources: Reuters" in html
    assert "TASS" not in html


def test_unknown_template_says_what_exists(report_db: Path, tmp_path: Path) -> None:
    from workbench.base import errors

    with (
        Workbench(report_db, read_only=True) as w,
        pytest.raises(errors.BadOption, match="overview"),
    ):
        w.report(tmp_path / "x.html", template="nope")


def test_cli_report_writes_file(report_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli.html"
    res = CliRunner().invoke(
        app, ["report", "--db", str(report_db), "--out", str(out), "--source", "TASS"]
    )
    assert res.exit_code == 0, res.output
    assert "report:" in res.output and out.exists()
    assert re.search(r"<dt>articles</dt><dd>1</dd>", out.read_text(encoding="utf-8"))


def test_empty_database_report_says_what_to_do(tmp_path: Path) -> None:
    with Workbench(tmp_path / "e.duckdb") as w:
        out = w.report(tmp_path / "e.html")
    html = out.read_text(encoding="utf-8")
    assert "run `workbench analyze`" in html and "<dt>articles</dt><dd>0</dd>" in html


# ---------------------------------------------------------------------- in Chromium
@pytest.mark.chromium
def test_report_renders_offline_and_controls_change_the_data(
    browser: Chromium, report_html: Path
) -> None:
    c = browser
    _open_ready(c, report_html)
    n_charts = c.eval("document.querySelectorAll('[data-wb-chart]').length")
    assert n_charts >= 5  # coverage, actors, map, countries, themes, tone
    assert c.eval("document.querySelectorAll('[data-wb-error]').length") == 0
    drawn = c.eval(
        "Array.from(document.querySelectorAll('[data-wb-chart]')).map(e => "
        "e.querySelectorAll('svg .role-mark > *').length)"
    )
    assert all(k > 0 for k in drawn), drawn
    assert c.log.errors() == []
    # Network: only the file itself was requested; nothing tried to leave.
    assert c.log.blocked == []
    assert all(u.startswith(("file:", "data:")) for u in c.log.requests), c.log.requests

    # The actor "type" dropdown and "show top" slider re-rank the bars in the page.
    labels_js = (
        "Array.from(document.querySelector('select[name=actor_type]')"
        ".closest('[data-wb-chart]').querySelectorAll('.mark-rect path'))"
        ".map(p => p.getAttribute('aria-label') || '')"
    )
    before = c.eval(labels_js)
    assert any("ORG" in x for x in before) and any("PERSON" in x for x in before), before
    c.eval(
        "(() => { const s = document.querySelector('select[name=actor_type]');"
        " s.value = 'PERSON'; s.dispatchEvent(new Event('change')); })()"
    )
    c.wait_for(f"JSON.stringify({labels_js}) !== {json.dumps(json.dumps(before))}")
    after = c.eval(labels_js)
    assert after and all("PERSON" in x for x in after), after
    c.eval(
        "(() => { const r = document.querySelector('input[name=actor_top]');"
        " r.value = '3'; r.dispatchEvent(new Event('input')); })()"
    )
    c.wait_for(f"{labels_js}.length <= 3")
    assert 1 <= len(c.eval(labels_js)) <= 3
    assert c.log.errors() == []

    SCREENSHOT_DIR.mkdir(exist_ok=True)
    png = c.screenshot(SCREENSHOT_DIR / "test-report.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000


@pytest.mark.chromium
def test_hostile_text_never_executes(browser: Chromium, report_html: Path) -> None:
    c = browser
    _open_ready(c, report_html)
    assert c.log.dialogs == []
    assert c.eval("typeof window.__wb_pwned") == "undefined"
    # The hostile strings are shown as text: in the evidence tables and in chart data.
    body = c.eval("document.body.innerText")
    assert "<script>alert(1)</script>" in body
    assert XSS_IMG in body
    specs = c.eval("document.getElementById('wb-specs').textContent")
    assert "Putin</script>" in json.dumps(json.loads(specs))  # data intact after parsing
    # No element created from article text: only our anchors, and none with javascript:.
    hrefs = c.eval("Array.from(document.querySelectorAll('a[href]')).map(a => a.href)")
    assert not [h for h in hrefs if not h.startswith(("https://example.org/", "file:"))], hrefs
    assert c.eval("document.querySelectorAll('img').length") == 0
    # Hovering/clicking the hostile bar does not run anything either (tooltips escape).
    c.eval(
        "document.querySelectorAll('.mark-rect path').forEach(p => {"
        " p.dispatchEvent(new MouseEvent('mousemove', {bubbles: true}));"
        " p.dispatchEvent(new MouseEvent('click', {bubbles: true})); })"
    )
    c.pump(0.5)
    assert c.log.dialogs == [] and c.eval("typeof window.__wb_pwned") == "undefined"
    assert c.log.errors() == []


@pytest.mark.chromium
def test_csp_blocks_injected_markup_even_if_escaping_failed(
    browser: Chromium, report_html: Path, tmp_path: Path
) -> None:
    """Defence in depth: splice raw payloads into the page; the CSP must stop all of them
    while the hashed scripts still draw every chart."""
    html = report_html.read_text(encoding="utf-8")
    payload = (
        "<script>window.__wb_pwned='inline'</script>"
        "<img src=x onerror=\"window.__wb_pwned='onerror'\">"
        "<a id=wbjs href=\"javascript:window.__wb_pwned='href'\">x</a>"
        "<img src='https://example.org/beacon.png'>"
    )
    bad = tmp_path / "tampered.html"
    bad.write_text(html.replace("<main>", "<main>" + payload, 1), encoding="utf-8")
    c = browser
    _open_ready(c, bad)
    c.eval("document.getElementById('wbjs').click()")
    c.pump(0.5)
    assert c.eval("typeof window.__wb_pwned") == "undefined"
    assert c.eval("document.querySelectorAll('[data-wb-rendered]').length") == c.eval(
        "document.querySelectorAll('[data-wb-chart]').length"
    )
    violations = [e for e in c.log.errors() if "Content Security Policy" in e]
    assert violations, c.log.errors()


def test_demo_writes_overview_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, nlp: object
) -> None:
    monkeypatch.setattr(config, "REPORTS_DIR", tmp_path / "reports")
    res = CliRunner().invoke(app, ["demo", "--db", str(tmp_path / "demo.duckdb")])
    assert res.exit_code == 0, res.output
    out = tmp_path / "reports" / "overview.html"
    assert out.exists() and f"report: {out}" in res.output.replace("\n", "")


# ---------------------------------------------------------------------- notebook reports
def test_notebook_html_and_markdown_are_sanitised() -> None:
    from workbench.present.report_notebook import markdown_html, sanitize_html

    dirty = (
        '<table><tr><td style="color:red" onclick="x()">1</td>'
        '<td style="background-image:url(https://x/y)">2</td></tr>'
        "</table><script>alert(1)</script><img src=x onerror=alert(1)>"
        '<a href="javascript:alert(1)">j</a><a href="https://example.org">ok</a>'
        "<iframe src=https://example.org></iframe><style>*{}</style>"
    )
    clean = str(sanitize_html(dirty))
    for bad in (
        "<script",
        "onerror",
        "onclick",
        "javascript:",
        "<iframe",
        "<img",
        "url(",
        "<style",
    ):
        assert bad not in clean.lower(), (bad, clean)
    assert "<td" in clean and "color:red" in clean.replace(" ", "")
    assert 'href="https://example.org"' in clean
    md = str(
        markdown_html("# T\n\n<script>alert(1)</script> [x](javascript:alert(1)) [y](https://a.b)")
    )
    assert "<script" not in md and "&lt;script&gt;" in md
    assert "javascript:" not in md.replace("[x](javascript:alert(1))", "")
    assert 'href="https://a.b"' in md


def test_unknown_notebook_lists_the_available_ones(report_db: Path, tmp_path: Path) -> None:
    from workbench.base import errors

    with Workbench(report_db, read_only=True) as w, pytest.raises(errors.BadOption, match="01-"):
        w.report(tmp_path / "x.html", notebook="no-such-notebook")


@pytest.mark.chromium
def test_notebook_report_renders_its_charts_offline(
    browser: Chromium, report_db: Path, tmp_path: Path
) -> None:
    if not list(config.NOTEBOOKS_DIR.glob("01-*.ipynb")):
        pytest.skip("notebooks/01-*.ipynb is not in this checkout")
    with Workbench(report_db, read_only=True) as w:
        out = w.report(tmp_path / "nb.html", notebook="1")
    html = out.read_text(encoding="utf-8")
    assert "require.js" not in html and "cdn.jsdelivr" not in html and "mathjax" not in html.lower()
    parser = _Tags()
    parser.feed(html)
    assert sum(tag == "script" for tag, _ in parser.tags) == 3
    c = browser
    _open_ready(c, out)
    n = c.eval("document.querySelectorAll('[data-wb-chart]').length")
    assert n >= 3  # the notebook's JupyterChart widgets became inline charts
    assert c.eval("document.querySelectorAll('[data-wb-rendered]').length") == n
    assert c.log.errors() == [] and c.log.blocked == [] and c.log.dialogs == []
    assert c.eval("typeof window.__wb_pwned") == "undefined"


def test_cli_report_on_missing_database_says_what_to_do(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        app, ["report", "--db", str(tmp_path / "none.duckdb"), "--out", str(tmp_path / "r.html")]
    )
    assert res.exit_code == 2
    text = " ".join(res.output.split())  # rich wraps long lines
    assert "does not exist" in text and "workbench demo" in text
    assert "Traceback" not in text and not (tmp_path / "r.html").exists()


# ---------------------------------------------------------------------- one query layer
REPORT_MODULES = ("report.py", "report_data.py", "report_page.py", "report_html.py",
                  "report_notebook.py")  # fmt: skip


def test_report_modules_hold_no_sql() -> None:
    """Every number of a report is asked of the query API, so it cannot drift from it."""
    root = Path(config.__file__).parents[1] / "present"
    for name in REPORT_MODULES:
        src = (root / name).read_text(encoding="utf-8")
        assert not re.search(r"\bSELECT\b|\.execute\(\s*[\"'f]|\bwb\.sql\(", src), name


def test_report_numbers_are_the_query_apis(report_db: Path) -> None:
    from workbench.present.report_data import ReportData
    from workbench.query import api as query

    with Workbench(report_db, read_only=True) as w:
        data = ReportData(w, Filter())
        act = data.actors(["PERSON", "ORG"])
        per_key = act.groupby("key")["articles"].sum()
        top = w.top("actor", None).set_index("key")["articles"]
        assert len(per_key) > 3 and per_key.equals(top.reindex(per_key.index))
        cov = data.coverage("day", data.top_sources()[:1])  # one outlet, the rest pooled
        assert set(cov["label"]) == {data.top_sources()[0], "other sources"}
        vol = w.coverage(None, "day").set_index("period")["articles"]
        assert cov.groupby("period")["articles"].sum().equals(vol.loc[vol > 0])
        n = int(w.sql("SELECT count(*) AS n FROM articles")["n"].iloc[0])
        sel = query.selection(w.con)
        assert (sel["articles"], sel["undated"]) == (n, 0)
        key = top.index[0]
        ev = query.latest_evidence(w.con, "actor", [key], per_key=2)
        assert 1 <= len(ev) <= 2 and ev["date"].is_monotonic_decreasing
        newest = w.sql(
            "SELECT max(a.date) AS d FROM mentions m JOIN articles a USING (article_id) "
            "WHERE m.entity_id = ?",
            [key],
        )["d"].iloc[0]
        assert ev["date"].iloc[0] == newest
        for r in ev.itertuples():
            start = r.start_char - r.sentence_start
            assert r.sentence[start : start + len(r.matched)] == r.matched


def test_articles_without_an_outlet_still_count(tmp_path: Path) -> None:
    """The report's per-outlet numbers add up to the query API's totals when some articles
    have no outlet: those are drawn as "(no source)", not dropped."""
    from workbench.present.report_data import NO_SOURCE, ReportData

    with Workbench(tmp_path / "m.duckdb") as w:
        w.ingest([_write_csv(tmp_path / "mixed.csv")], progress=False)
        w.con.execute("UPDATE articles SET source = NULL WHERE source <> 'Reuters'")
        w.analyze(progress=False)
        data = ReportData(w, Filter())
        data.stamp("all articles")
        assert NO_SOURCE in data.all_sources()
        for kind, frame in (
            ("actor", data.actors(["PERSON", "ORG"])),
            ("country", data.countries()),
        ):
            assert NO_SOURCE in set(frame["source"]), kind
            per_key = frame.groupby("key")["articles"].sum()
            top = w.top(kind, None).set_index("key")["articles"]
            assert per_key.equals(top.reindex(per_key.index)), kind
        cov = data.coverage("day", data.top_sources())
        vol = w.coverage(None, "day").set_index("period")["articles"]
        assert cov.groupby("period")["articles"].sum().equals(vol.loc[vol > 0])
