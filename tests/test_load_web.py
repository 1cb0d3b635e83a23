"""HTML pages and WARC archives into the corpus: real trafilatura, real warcio, real DuckDB."""

from __future__ import annotations

import gzip
import io
import json
import os
import time
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from workbench.ingest.load import Article, Limits, Reject, detect_format
from workbench.ingest.load_web import Page, WebOptions, detect, extract_page, load_warc

PARAS = {
    "port": [
        "The harbour authority in Rotterdam said on Tuesday that container traffic rose by "
        "four percent in the first quarter, helped by a recovery in trade with Asia.",
        '"We handled more boxes than in any quarter since 2019," the port\'s chief executive '
        "told reporters at a briefing, adding that rail links to Germany had eased congestion.",
        "Shipping lines have been rerouting vessels around southern Africa for months, which "
        "lengthened voyages and pushed up freight rates across the industry.",
        "Analysts expect volumes to stay firm through the summer, although a strike by pilots "
        "planned for June could disrupt arrivals for several days.",
    ],
    "rain": [
        "Heavy rain flooded streets across the northern city on Sunday night, forcing the "
        "closure of two metro lines and cutting power to thousands of homes.",
        "Emergency services rescued dozens of drivers whose cars stalled in underpasses, the "
        "regional fire brigade said in a statement early on Monday.",
        "The weather office had issued an amber warning on Saturday and said more storms were "
        "likely over the coming week as warm air moved in from the south.",
    ],
    "court": [
        "Der Bundesgerichtshof hat am Mittwoch ein Urteil zur Haftung von Plattformen "
        "gesprochen, das weitreichende Folgen für Anbieter im Internet haben dürfte.",
        "Die Richter folgten damit weitgehend der Argumentation der Kläger, die seit Jahren "
        "gegen die Verbreitung rechtswidriger Inhalte vorgehen.",
        "Ein Sprecher des Verbands kündigte an, das Urteil genau prüfen zu wollen.",
    ],
}
BOILER = ("Accept all cookies", "Subscribe to our newsletter", "Most read", "var tracking")


def article_html(
    key: str,
    *,
    title: str = "Port traffic rises as trade with Asia recovers",
    date: str | None = "2024-04-16T09:30:00Z",
    site: str = "The Harbour Gazette",
    canonical: str | None = "https://gazette.example.com/business/port-traffic",
    lang: str = "en",
) -> str:
    """A realistic news page: head metadata, nav, cookie banner, scripts, related links."""
    meta = [f'<meta property="og:title" content="{title}">']
    meta.append(f'<meta property="og:site_name" content="{site}">')
    if date:
        meta.append(f'<meta property="article:published_time" content="{date}">')
    if canonical:
        meta.append(f'<link rel="canonical" href="{canonical}">')
    body = "\n".join(f"<p>{p}</p>" for p in PARAS[key])
    return f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{title} | {site}</title>
{"".join(meta)}
<script>var tracking = {{"id": 42}}; window.dataLayer = [];</script>
<style>body {{ font-family: serif; }}</style></head>
<body>
<div id="cookie-banner" class="cookie-consent">We use cookies. <button>Accept all cookies</button></div>
<header><nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li>
<li><a href="/business">Business</a></li><li><a href="/sport">Sport</a></li></ul></nav></header>
<main><article>
<h1>{title}</h1>
<p class="byline">By Anna Jansen</p>
{body}
</article>
<aside class="related"><h2>Most read</h2><ul><li><a href="/a">Ten things to do this weekend</a></li>
<li><a href="/b">Local team wins the cup</a></li></ul></aside></main>
<footer><p>Subscribe to our newsletter</p><p>&copy; 2024 {site}. All rights reserved.</p></footer>
<script src="/static/app.js"></script>
</body></html>"""


def http_record(
    writer: WARCWriter,
    url: str,
    body: bytes,
    *,
    status: str = "200 OK",
    ctype: str = "text/html; charset=utf-8",
    date: str = "2024-04-17T08:00:00Z",
) -> None:
    headers = StatusAndHeaders(status, [("Content-Type", ctype)], protocol="HTTP/1.1")
    rec = writer.create_warc_record(
        url,
        "response",
        payload=io.BytesIO(body),
        http_headers=headers,
        warc_headers_dict={"WARC-Date": date},
    )
    writer.write_record(rec)


def write_warc(path: Path, *, truncate_last: bool = False) -> Path:
    """A small crawl: two articles, a 404, an image, a request record, an undated page."""
    with open(path, "wb") as fh:
        w = WARCWriter(fh, gzip=True)
        http_record(
            w,
            "https://gazette.example.com/business/port-traffic?utm=x",
            article_html("port").encode(),
        )
        w.write_record(
            w.create_warc_record(
                "https://gazette.example.com/x",
                "request",
                payload=io.BytesIO(b"GET /x HTTP/1.1\r\n\r\n"),
            )
        )
        http_record(
            w,
            "https://news.example.org/city/floods",
            article_html(
                "rain",
                title="Floods close metro lines",
                date="2024-03-03",
                site="City News",
                canonical=None,
            ).encode(),
        )
        http_record(
            w,
            "https://gazette.example.com/missing",
            b"<html>not here</html>",
            status="404 Not Found",
        )
        http_record(
            w,
            "https://gazette.example.com/logo.png",
            b"\x89PNG\r\n\x1a\n" + b"\0" * 64,
            ctype="image/png",
        )
        http_record(
            w,
            "https://news.example.org/undated",
            article_html("rain", title="Storm warning", date=None, site="City News", canonical=None)
            .replace("Heavy rain", "Torrential rain")
            .encode(),
        )
        http_record(
            w,
            "https://zeitung.example.de/urteil",
            article_html(
                "court", title="Urteil", site="Zeitung", canonical=None, lang="de"
            ).encode(),
        )
    if truncate_last:
        data = path.read_bytes()
        path.write_bytes(data[: len(data) - 300])
    old = time.time() - 60  # not "racy": a file this old is recorded as read (files table)
    os.utime(path, (old, old))
    return path


@pytest.fixture
def crawl(tmp_path: Path) -> Path:
    return write_warc(tmp_path / "crawl.warc.gz")


def test_detect_formats(tmp_path: Path, crawl: Path) -> None:
    page = tmp_path / "a.html.gz"
    page.write_bytes(gzip.compress(article_html("port").encode()))
    bare = tmp_path / "saved"
    bare.write_text(article_html("port"))
    for p, want in ((crawl, "warc"), (page, "html"), (bare, "html")):
        head = p.read_bytes()[:4096]
        assert detect(p, head) == want
        assert detect_format(p, tmp_path, head) == want
    seed = tmp_path / "s.txt"
    seed.write_text(" date 2024-01-01 Some text")
    assert detect_format(seed, tmp_path, seed.read_bytes()) == "seed"


def test_html_page_extraction() -> None:
    item = extract_page(
        Page(article_html("port").encode(), "p.html", "html"), Limits(), WebOptions()
    )
    assert isinstance(item, Article), item
    assert item.title == "Port traffic rises as trade with Asia recovers"
    assert item.date.isoformat() == "2024-04-16"
    assert item.source == "The Harbour Gazette"
    assert item.url == "https://gazette.example.com/business/port-traffic"
    assert item.meta["language"] == "en" and item.meta["author"] == "Anna Jansen"
    for para in PARAS["port"]:
        assert para in item.text
    assert item.text.count("\n\n") >= len(PARAS["port"]) - 1  # paragraph breaks kept
    for junk in BOILER + ("Home", "Ten things to do", "All rights reserved"):
        assert junk not in item.text, junk


def test_html_rejects_with_reasons(tmp_path: Path) -> None:
    def one(data: bytes, **opts) -> Reject:
        item = extract_page(Page(data, "x", "html"), Limits(), WebOptions(**opts))
        assert isinstance(item, Reject), item
        return item

    assert one(b"\x89PNG\r\n\x1a\n\0\0\0IHDR").reason == "not_html"
    app = b"<html><head><title>App</title></head><body><div id='root'></div><script>x()</script>"
    assert one(app + b"</body></html>").reason == "no_main_text"
    short = one(article_html("port").encode(), min_chars=5000)
    assert short.reason == "too_short" and "min_chars 5,000" in short.detail
    lang = one(article_html("court", lang="de").encode())
    assert lang.reason == "language" and "'de'" in lang.detail
    kept = extract_page(
        Page(article_html("court", lang="de").encode(), "x", "html"),
        Limits(),
        WebOptions(languages=()),
    )
    assert isinstance(kept, Article) and kept.meta["language"] == "de"
    undated = one(article_html("port", date=None).encode())
    assert undated.reason == "no_date"


def test_html_truncated_gzip(wb, tmp_path: Path) -> None:
    d = tmp_path / "pages"
    d.mkdir()
    (d / "ok.html.gz").write_bytes(gzip.compress(article_html("port").encode()))
    (d / "cut.html.gz").write_bytes(gzip.compress(article_html("rain").encode())[:400])
    (d / "huge.html").write_text(article_html("port").replace("<p>", "<p>" + "x " * 9000, 1))
    (d / "photo.html").write_bytes(b"\xff\xd8\xff\xe0\0\x10JFIF\0" * 20)
    res = wb.ingest([d], progress=False, max_file_bytes=16_000)
    assert (res.stored, res.rejected) == (1, 3)
    assert res.reject_reasons == {"truncated_gzip": 1, "too_large": 1, "not_html": 1}
    (origin, detail) = wb.con.execute(
        "SELECT origin, detail FROM rejects WHERE reason = 'truncated_gzip'"
    ).fetchone()
    assert origin.endswith("cut.html.gz") and "ends early" in detail


def test_warc_ingest_end_to_end(wb, crawl: Path) -> None:
    res = wb.ingest([crawl], progress=False, keep_html=True)
    rows = wb.sql(
        "SELECT title, date, source, url, format, origin, decode_note, text FROM articles "
        "ORDER BY date"
    )
    assert list(rows["title"]) == [
        "Floods close metro lines",
        "Port traffic rises as trade with Asia recovers",
    ]
    assert [str(d)[:10] for d in rows["date"]] == ["2024-03-03", "2024-04-16"]
    assert list(rows["source"]) == ["City News", "The Harbour Gazette"]
    assert rows["url"][1] == "https://gazette.example.com/business/port-traffic"  # canonical
    assert rows["url"][0] == "https://news.example.org/city/floods"  # the WARC-Target-URI
    assert set(rows["format"]) == {"warc"} and all("#offset=" in o for o in rows["origin"])
    for text in rows["text"]:
        assert not any(junk in text for junk in BOILER)
    reasons = dict(wb.con.execute("SELECT reason, detail FROM rejects").fetchall())
    assert set(reasons) == {"no_date", "language", "warc_status", "warc_not_html"}
    assert "1 response records with an HTTP status other than 200" in reasons["warc_status"]
    assert "HTTP 404 x1" in reasons["warc_status"]
    assert "image/png x1" in reasons["warc_not_html"]
    assert res.stored == 2 and res.inputs == res.stored + res.rejected == 6
    (n, html) = wb.con.execute("SELECT count(*), any_value(html_gz) FROM pages_html").fetchone()
    assert n == 2 and b"<article>" in gzip.decompress(html)
    # Unchanged archive: not parsed again, every input counted as before.
    again = wb.ingest([crawl], progress=False, keep_html=True)
    assert (again.stored, again.unchanged, again.rejected, again.skipped_files) == (0, 2, 4, 1)
    assert wb.con.execute("SELECT count(*) FROM articles").fetchone()[0] == 2
    # Re-read anyway (--rescan): same ids, nothing stored twice.
    rescan = wb.ingest([crawl], progress=False, keep_html=True, rescan=True)
    assert (rescan.stored, rescan.unchanged) == (0, 2)


def test_warc_date_fallback_and_workers(wb, crawl: Path) -> None:
    res = wb.ingest([crawl], progress=False, date_fallback=True, workers=2)
    assert res.stored == 3 and res.reject_reasons.get("no_date") is None
    note, date = wb.con.execute(
        "SELECT decode_note, date FROM articles WHERE title = 'Storm warning'"
    ).fetchone()
    assert date.isoformat() == "2024-04-17" and "WARC-Date" in note


def test_warc_truncated_member(tmp_path: Path) -> None:
    path = write_warc(tmp_path / "cut.warc.gz", truncate_last=True)
    items = list(load_warc(path, Limits(), WebOptions()))
    arts = [i for i in items if isinstance(i, Article)]
    rejects = {r.reason: r for r in items if isinstance(r, Reject)}
    assert len(arts) == 2  # the records before the cut
    assert "truncated_gzip" in rejects, rejects
    cut = rejects["truncated_gzip"]
    assert "#offset=" in cut.origin and "short of its Content-Length" in cut.detail


def test_html_folder_with_workers(wb, tmp_path: Path) -> None:
    d = tmp_path / "site"
    d.mkdir()
    (d / "port.html").write_text(article_html("port"))
    (d / "rain.htm").write_text(
        article_html("rain", title="Floods", date="2024-03-03", canonical=None)
    )
    (d / "notes.txt").write_text(" date 2024-01-02 A seed-format note in the same folder.")
    res = wb.ingest([d], progress=False, workers=2)
    assert (res.stored, res.rejected) == (3, 0), res
    fmts = dict(wb.con.execute("SELECT format, count(*) FROM articles GROUP BY 1").fetchall())
    assert fmts == {"html": 2, "seed": 1}
    assert (
        json.loads(
            wb.con.execute("SELECT meta FROM articles WHERE title = 'Floods'").fetchone()[0]
        )["language"]
        == "en"
    )


def test_cli_warc_ingest_analyze_report(tmp_path: Path, crawl: Path, nlp) -> None:
    """The commands a user runs on a crawl; `nlp` shares the session's loaded model."""
    from typer.testing import CliRunner

    from workbench.cli.main import app

    runner = CliRunner()
    db, out = tmp_path / "crawl.duckdb", tmp_path / "report.html"
    r = runner.invoke(app, ["ingest", str(crawl), "--db", str(db), "--workers", "2"])
    assert r.exit_code == 0, r.output
    assert "2 stored" in r.output and "warc_status: 1 response records" in r.output
    r = runner.invoke(app, ["analyze", "--db", str(db)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["report", "--db", str(db), "--out", str(out)])
    assert r.exit_code == 0, r.output
    page = out.read_text(encoding="utf-8")
    assert "The Harbour Gazette" in page and "City News" in page


def test_warc_corrupt_member_midway_resumes(tmp_path: Path) -> None:
    """A damaged gzip member in the middle costs that record, not the rest of the archive."""
    path = write_warc(tmp_path / "hole.warc.gz")
    data = path.read_bytes()
    path.write_bytes(data[:600] + data[800:])  # bytes lost inside the first member
    items = list(load_warc(path, Limits(), WebOptions()))
    titles = [i.title for i in items if isinstance(i, Article)]
    assert titles == ["Floods close metro lines"]  # the port article was in the hole
    bad = [r for r in items if isinstance(r, Reject) and r.reason == "truncated_gzip"]
    assert len(bad) == 1 and bad[0].origin.endswith("#offset=0")
    assert "reading resumed at the next record" in bad[0].detail
    assert {r.reason for r in items if isinstance(r, Reject)} >= {"no_date", "language"}


def test_same_page_twice_is_a_linked_duplicate(wb, tmp_path: Path) -> None:
    d = tmp_path / "mirror"
    d.mkdir()
    (d / "a.html").write_text(article_html("port"))
    (d / "b.html.gz").write_bytes(gzip.compress(article_html("port").encode()))
    res = wb.ingest([d], progress=False)
    assert (res.stored, res.duplicates) == (1, 1)
    (origin,) = wb.con.execute("SELECT origin FROM duplicates").fetchone()
    assert origin.endswith("b.html.gz")


def test_language_option_is_checked(wb, tmp_path: Path) -> None:
    from workbench.base import errors

    with pytest.raises(errors.BadOption, match="not a language code"):
        wb.ingest([tmp_path], language="english", progress=False)
