"""Web-crawl inputs: HTML pages (``html``) and WARC archives (``warc``) straight into the corpus.

Every page goes through trafilatura (main text with paragraph breaks, title, date via
htmldate, site name, canonical URL, author) and py3langid (language); the result is an
``Article`` or a ``Reject`` like any other input, so the ingest ledger, the ``files`` table,
batches and limits apply unchanged. WARC files are streamed record by record (warcio); only
response/resource records holding a 200 HTML page are pages. Other records are counted and
reported as one summary reject per reason and file, not one row per record.

Extraction is CPU-bound; with ``workers > 1`` it runs in a process pool: the records of a
WARC, or the HTML files of a folder, are extracted ahead in a bounded window and come back in
input order.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import gzip
import multiprocessing as mp
import os
import re
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from ..base import store
from .records import Article, Item, Limits, Reject, make_article, preview

HTML_SUFFIXES = (".html", ".htm", ".xhtml", ".html.gz", ".htm.gz", ".xhtml.gz")
WARC_SUFFIXES = (".warc", ".warc.gz")
_GZIP_MAGIC = b"\x1f\x8b"
_HTML_START = re.compile(
    rb"^(?:\xef\xbb\xbf)?\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)\b", re.I | re.S
)
_HTML_TAG = re.compile(r"<(?:html|head|body|title|p|div|article|main|meta)\b", re.I)
#: trafilatura settings that give its best body F1 on the benchmark's tuning half
#: (bench/eval_html.py; chosen on half A, reported on half B and all 91 pages).
EXTRACT_SETTINGS: dict[str, Any] = {
    "include_comments": False,
    "include_tables": True,
    "favor_precision": True,
}
#: htmldate: the original (not last-modified) date, from markup, JSON-LD and the URL only.
#: Its "extensive search" also reads dates out of free text, and then dates a page without
#: any stated date by the copyright line (``(c) 2024`` -> 2024-01-01): an invented date.
DATE_SETTINGS: dict[str, Any] = {"original_date": True, "extensive_search": False}


@dataclass(frozen=True)
class WebOptions:
    """Options of the ``html`` and ``warc`` loaders (all but ``workers`` change the output)."""

    #: main text shorter than this (characters) is rejected as ``too_short``
    min_chars: int = 200
    #: ISO 639-1 codes to keep (py3langid on the main text); empty keeps every language
    languages: tuple[str, ...] = ("en",)
    #: a page that states no date takes the WARC-Date (crawl time) or the file's mtime, with a
    #: ``decode_note`` saying so; off: such pages are ``no_date`` rejects (or undated)
    date_fallback: bool = False
    #: store the raw page, compressed, in ``pages_html`` for re-extraction later
    keep_html: bool = False
    #: extraction processes; 1 extracts in the ingesting process
    workers: int = field(default=1, compare=False)

    def hashed(self) -> dict[str, Any]:
        """The options that change what is stored (for the ``files`` table's options hash)."""
        out = asdict(self)
        out.pop("workers")
        return out


@dataclass(frozen=True)
class WebArticle(Article):
    """An Article from a web page, carrying the compressed raw page when ``keep_html``."""

    html_gz: bytes | None = field(default=None, repr=False, compare=False)
    content_type: str | None = field(default=None, repr=False, compare=False)


# --------------------------------------------------------------------------- detection


def _name(path: Path) -> str:
    return path.name.lower()


def detect(path: Path, head: bytes) -> str | None:
    """``html`` or ``warc`` from the file name, or HTML from the first bytes; else None."""
    name = _name(path)
    if name.endswith(WARC_SUFFIXES) or head.startswith(b"WARC/"):
        return "warc"
    if name.endswith(HTML_SUFFIXES):
        return "html"
    if head.startswith(_GZIP_MAGIC) and name.endswith(".gz"):
        try:
            inner = zlib.decompressobj(31).decompress(head, 512)
        except zlib.error:
            return None
        if inner.startswith(b"WARC/"):
            return "warc"
        if _HTML_START.match(inner):
            return "html"
        return None
    if _HTML_START.match(head):
        return "html"
    return None


def is_html_name(path: Path) -> bool:
    return _name(path).endswith(HTML_SUFFIXES)


# --------------------------------------------------------------------------- extraction


@dataclass(frozen=True)
class Page:
    """One raw page to extract: everything a pool worker needs, picklable."""

    data: bytes
    origin: str
    fmt: str
    url: str | None = None
    #: (date, what it is) used only when the page states no date and date_fallback is on
    fallback_date: tuple[dt.date, str] | None = None
    content_type: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


_langid: Any = None


def _language(text: str) -> str:
    global _langid
    if _langid is None:
        # Heavy (about 0.4 s, loads its model): only HTML/WARC inputs need it.
        import py3langid

        _langid = py3langid.classify
    return str(_langid(text[:5000])[0])


def paragraphs(text: str, title: str | None = None) -> str:
    """trafilatura's one-line-per-block text as paragraphs separated by a blank line (our
    sentence splitter and quote attribution read blank lines as paragraph breaks). A first
    paragraph that is the title itself is dropped: the title has its own column."""
    lines = [ln.strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln]
    if lines and title and _fold(lines[0]) == _fold(title):
        lines = lines[1:]
    return "\n\n".join(lines)


def _fold(s: str) -> str:
    return " ".join(s.split()).casefold()


def extract_text(data: bytes | str, *, url: str | None = None) -> Any:
    """trafilatura's Document (text + metadata) for one page, or None when it finds no body."""
    # Heavy (lxml and friends, about 1 s): only HTML/WARC inputs need it.
    import trafilatura

    return trafilatura.bare_extraction(
        data,
        url=url,
        with_metadata=True,
        output_format="python",
        date_extraction_params=DATE_SETTINGS,
        **EXTRACT_SETTINGS,
    )


def outlet_from_url(url: str | None) -> str | None:
    """``www.bbc.co.uk/news/x`` -> ``bbc.co.uk``: the outlet when the page names none."""
    if not url:
        return None
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.") or None


#: Bytes of a page read to tell whether it is HTML at all ...
_SNIFF_BYTES = 65536
#: ... and the first bytes in which a NUL byte marks it as binary.
_BINARY_SNIFF_BYTES = 8192


def extract_page(
    page: Page, limits: Limits, options: WebOptions, source_name: str | None = None
) -> Item:
    """One page to an Article, or a Reject saying what was wrong with it."""
    fmt, origin, data = page.fmt, page.origin, page.data
    reject = _raw_reject(page, limits)
    if reject is not None:
        return reject
    try:
        doc = extract_text(data, url=page.url)
    except Exception as exc:  # noqa: BLE001 - lxml/htmldate raise many types on odd pages
        return Reject(
            origin, "extract_error", f"{type(exc).__name__}: {exc}"[:500], preview(data), fmt
        )
    text = paragraphs(doc.text or "", doc.title) if doc is not None else ""
    reject = _text_reject(text, page, options)
    if reject is not None:
        return reject
    language = _language(text)
    if options.languages and language not in options.languages:
        return _language_reject(language, text, page, options)
    url = doc.url or page.url
    date_value, note = _page_date(doc, page, options)
    item = make_article(
        text=text,
        date_value=date_value,
        origin=origin,
        fmt=fmt,
        limits=limits,
        head=text,
        title=doc.title,
        source=source_name or doc.sitename or outlet_from_url(url),
        url=url,
        decode_note=note,
        meta=_page_meta(doc, page, url=url, language=language),
    )
    if not isinstance(item, Article):
        return item
    return WebArticle(
        **{f: getattr(item, f) for f in Article.__dataclass_fields__},
        html_gz=gzip.compress(data, 6, mtime=0) if options.keep_html else None,
        content_type=page.content_type,
    )


def _raw_reject(page: Page, limits: Limits) -> Reject | None:
    """Refuse a page before extraction: too large, or not HTML at all (binary, or no HTML
    tag in its first bytes), so trafilatura never sees it."""
    fmt, origin, data = page.fmt, page.origin, page.data
    if len(data) > limits.max_file_bytes:
        return Reject(
            origin,
            "too_large",
            f"page of more than {limits.max_file_bytes:,} bytes (max_file_bytes)",
            preview(data),
            fmt,
        )
    sample = data[:_SNIFF_BYTES]
    if b"\x00" in sample[:_BINARY_SNIFF_BYTES] or not _HTML_TAG.search(sample.decode("latin-1")):
        what = f"content type {page.content_type}, " if page.content_type else ""
        return Reject(
            origin,
            "not_html",
            f"{what}no HTML markup in the first bytes; pass the right --format for this file",
            preview(data),
            fmt,
        )
    return None


def _text_reject(text: str, page: Page, options: WebOptions) -> Reject | None:
    """Refuse an extracted page without main text, or with less than ``min_chars``."""
    if not text:
        return Reject(
            page.origin,
            "no_main_text",
            "trafilatura found no main text (a section front, a gallery, or a page that "
            "builds its text with JavaScript)",
            preview(page.data),
            page.fmt,
        )
    if len(text) < options.min_chars:
        return Reject(
            page.origin,
            "too_short",
            f"main text of {len(text):,} characters < min_chars {options.min_chars:,}",
            preview(text),
            page.fmt,
        )
    return None


def _language_reject(language: str, text: str, page: Page, options: WebOptions) -> Reject:
    """The reject for main text in a language the run does not keep, with the flag to pass."""
    return Reject(
        page.origin,
        "language",
        f"main text detected as {language!r} (py3langid), not among "
        f"{', '.join(options.languages)}; pass --language {language} (or --language any) "
        "to keep it",
        preview(text),
        page.fmt,
    )


def _page_date(doc: Any, page: Page, options: WebOptions) -> tuple[Any, str | None]:
    """The page's own date; without one, the crawl's fallback date (when allowed) and a
    note saying where that date came from."""
    date_value: Any = doc.date
    note = None
    if not date_value and options.date_fallback and page.fallback_date:
        date_value, what = page.fallback_date
        note = f"the page states no date; date is the {what}"
    return date_value, note


def _page_meta(doc: Any, page: Page, *, url: str | None, language: str) -> dict[str, Any]:
    """The page's metadata (loader's, then trafilatura's), empty values left out."""
    return {
        k: v
        for k, v in {
            **page.meta,
            "author": doc.author,
            "language": language,
            "sitename": doc.sitename,
            "hostname": doc.hostname,
            "description": doc.description,
            "categories": list(doc.categories or []) or None,
            "tags": list(doc.tags or []) or None,
            "fetch_url": page.url if page.url and page.url != url else None,
        }.items()
        if v
    }


# --------------------------------------------------------------------------- pool


_POOLS: dict[int, cf.ProcessPoolExecutor] = {}


def _pool(workers: int) -> cf.ProcessPoolExecutor:
    """One process pool per worker count, started on first use and kept for the run."""
    if workers not in _POOLS:
        methods = mp.get_all_start_methods()
        ctx = mp.get_context("fork" if "fork" in methods else "spawn")
        _POOLS[workers] = cf.ProcessPoolExecutor(workers, mp_context=ctx)
    return _POOLS[workers]


def close_pools() -> None:
    """Stop the extraction pools (the end of an ingest run)."""
    while _POOLS:
        _, pool = _POOLS.popitem()
        pool.shutdown(cancel_futures=True)


def _ordered(
    tasks: Iterable[Any], fn: Callable[[Any], Any], workers: int, window: int
) -> Iterator[Any]:
    """``map(fn, tasks)`` in input order, ``window`` tasks ahead in the pool (bounded memory).
    A task that is not a Page/file job (``None`` fn input) passes through unchanged."""
    if workers <= 1:
        yield from map(fn, tasks)
        return
    pool = _pool(workers)
    pending: list[cf.Future[Any]] = []
    for task in tasks:
        pending.append(pool.submit(fn, task))
        if len(pending) >= window:
            yield pending.pop(0).result()
    for fut in pending:
        yield fut.result()


def _extract_job(job: tuple[Page, Limits, WebOptions, str | None]) -> Item:
    return extract_page(*job)


# --------------------------------------------------------------------------- loaders


def load(
    path: Path, fmt: str, limits: Limits, options: WebOptions, source_name: str | None
) -> Iterator[Item]:
    """The items of one ``html`` or ``warc`` file."""
    if fmt == "warc":
        yield from load_warc(path, limits, options, source_name)
    else:
        yield load_html(path, limits, options, source_name)


def _mtime_date(path: Path) -> tuple[dt.date, str] | None:
    try:
        ts = os.stat(path).st_mtime
    except OSError:
        return None
    return dt.datetime.fromtimestamp(ts, dt.UTC).date(), "file's modification time"


def load_html(
    path: Path, limits: Limits, options: WebOptions, source_name: str | None = None
) -> Item:
    """One saved page (``.html``/``.htm``, optionally gzip-compressed)."""
    origin = str(path)
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > limits.max_file_bytes:
            return Reject(
                origin,
                "too_large",
                f"{size:,} bytes > limit {limits.max_file_bytes:,} (max_file_bytes)",
                preview(fh.read(80)),
                "html",
            )
        raw = fh.read(limits.max_file_bytes + 1)
    if raw.startswith(_GZIP_MAGIC):
        try:
            dec = zlib.decompressobj(31)
            data = dec.decompress(raw, limits.max_file_bytes + 1)
            if not dec.eof and len(data) <= limits.max_file_bytes:
                return Reject(
                    origin,
                    "truncated_gzip",
                    f"gzip stream ends early after {len(data):,} bytes of HTML (a cut "
                    "download?); re-fetch or decompress it to keep what is there",
                    preview(data or raw),
                    "html",
                )
        except zlib.error as exc:
            return Reject(origin, "bad_gzip", f"not a valid gzip file: {exc}", preview(raw), "html")
    else:
        data = raw
    if not data.strip():
        return Reject(origin, "empty", "file is empty or whitespace only", preview(data), "html")
    page = Page(data, origin, "html", fallback_date=_mtime_date(path))
    return extract_page(page, limits, options, source_name)


def _file_job(job: tuple[Path, Limits, WebOptions, str | None]) -> list[Item]:
    try:
        return [load_html(*job)]
    except OSError as exc:
        return [Reject(str(job[0]), "unreadable", exc.strerror or str(exc), "", "html")]
    except Exception as exc:  # noqa: BLE001 - one bad page must not abort the batch
        return [
            Reject(str(job[0]), "loader_error", f"{type(exc).__name__}: {exc}"[:500], "", "html")
        ]


def read_ahead(
    entries: Iterable[Any],
    options: WebOptions | None,
    limits: Limits,
    source_name: str | None,
    fmt: str,
) -> Iterator[tuple[Any, list[Item] | None]]:
    """``(entry, items)``: with workers, HTML files among ``entries`` (``(path, root, ...)``
    tuples; anything else passes through) are extracted ahead in the pool, in input order;
    ``items`` is None for every other entry (the caller reads it itself)."""
    if options is None or options.workers <= 1 or fmt not in ("auto", "html"):
        for entry in entries:
            yield entry, None
        return
    window = options.workers * 4
    pool = _pool(options.workers)
    pending: list[tuple[Any, cf.Future[list[Item]] | None]] = []
    for entry in entries:
        fut = None
        if isinstance(entry, tuple) and (fmt == "html" or is_html_name(entry[0])):
            fut = pool.submit(_file_job, (entry[0], limits, options, source_name))
        pending.append((entry, fut))
        while len(pending) >= window or (pending and pending[0][1] is None):
            head, f = pending.pop(0)
            yield head, None if f is None else _result(head, f)
    for head, f in pending:
        yield head, None if f is None else _result(head, f)


def _result(entry: Any, fut: cf.Future[list[Item]]) -> list[Item]:
    try:
        return fut.result()
    except Exception as exc:  # noqa: BLE001 - a worker that died: this file becomes a reject
        return [
            Reject(str(entry[0]), "loader_error", f"{type(exc).__name__}: {exc}"[:500], "", "html")
        ]


class _Skipped:
    """Records that are not 200 HTML pages, counted per reason for one summary line each."""

    def __init__(self) -> None:
        self.counts: dict[str, Counter[str]] = {}

    def add(self, reason: str, what: str) -> None:
        self.counts.setdefault(reason, Counter())[what] += 1

    def rejects(self, path: Path) -> Iterator[Reject]:
        labels = {
            "warc_status": "response records with an HTTP status other than 200",
            "warc_not_html": "response records that are not HTML",
            "warc_revisit": "revisit records (the payload is stored in another record)",
        }
        for reason, c in self.counts.items():
            n = sum(c.values())
            kinds = ", ".join(f"{k} x{v:,}" for k, v in c.most_common(8))
            yield Reject(
                f"{path}#records={reason}",
                reason,
                f"{n:,} {labels[reason]} skipped ({kinds}); summary of this file, not one row "
                "per record",
                "",
                "warc",
            )


def _warc_pages(
    path: Path, limits: Limits, skipped: _Skipped, errors: list[Reject]
) -> Iterator[Page | Reject]:
    """Pages (and per-record rejects) of a WARC, streamed. A gzip member that cannot be
    read becomes a reject in ``errors``, and reading resumes at the next member that starts
    a WARC record (a crawler's archive is one gzip member per record)."""
    # About 0.4 s: only WARC inputs need warcio.
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    gz = _name(path).endswith(".gz")
    start = 0
    with open(path, "rb") as fh:
        while start is not None:
            fh.seek(start)
            it = ArchiveIterator(fh)
            try:
                yield from _records(it, path, limits, skipped)
                return
            except (ArchiveLoadFailed, zlib.error, EOFError, OSError, ValueError) as exc:
                bad = max(start, int(getattr(it, "offset", start)))  # the member that failed
                msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                msg = msg.split(", first line")[0]  # warcio quotes the raw (binary) bytes
                start = _next_member(fh, bad + 1) if gz else None
                after = (
                    f"; reading resumed at the next record (offset {start:,})"
                    if start is not None
                    else "; nothing readable after it"
                )
                errors.append(
                    Reject(
                        f"{path}#offset={bad}",
                        "truncated_gzip" if gz else "malformed_warc",
                        f"{'gzip member' if gz else 'record'} at offset {bad:,} is cut or "
                        f"corrupt ({type(exc).__name__}: {msg[:160]}){after}",
                        "",
                        "warc",
                    )
                )


def _next_member(fh: Any, pos: int) -> int | None:
    """Offset of the next gzip member at or after ``pos`` that holds a WARC record."""
    while True:
        fh.seek(pos)
        chunk = fh.read(1 << 20)
        if not chunk:
            return None
        i = chunk.find(b"\x1f\x8b\x08")
        while i >= 0:
            fh.seek(pos + i)
            try:
                head = zlib.decompressobj(31).decompress(fh.read(4096), 16)
            except zlib.error:
                head = b""
            if head.startswith(b"WARC/"):
                return pos + i
            i = chunk.find(b"\x1f\x8b\x08", i + 1)
        pos += max(1, len(chunk) - 2)  # keep a magic split across two chunks


def _records(it: Any, path: Path, limits: Limits, skipped: _Skipped) -> Iterator[Page | Reject]:
    for record in it:
        # the record's start (get_record_offset() would read the record away first)
        offset = it.offset
        rtype = record.rec_type
        if rtype == "revisit":
            skipped.add("warc_revisit", "revisit")
            continue
        if rtype not in ("response", "resource"):
            continue  # request, metadata, warcinfo, conversion: not pages
        origin = f"{path}#offset={offset}"
        url = record.rec_headers.get_header("WARC-Target-URI")
        if rtype == "response" and record.http_headers is not None:
            status = record.http_headers.get_statuscode()
            ctype = record.http_headers.get_header("Content-Type") or ""
            if status != "200":
                skipped.add("warc_status", f"HTTP {status}")
                continue
        else:
            ctype = record.rec_headers.get_header("Content-Type") or ""
        mime = ctype.split(";")[0].strip().lower()
        if mime not in ("text/html", "application/xhtml+xml", ""):
            skipped.add("warc_not_html", mime)
            continue
        stream = record.content_stream()
        data = stream.read(limits.max_file_bytes + 1)
        left = getattr(record.raw_stream, "limit", 0)
        if left and len(data) <= limits.max_file_bytes and not stream.read(1):
            gz = _name(path).endswith(".gz")
            yield Reject(
                origin,
                "truncated_gzip" if gz else "truncated_record",
                f"the record ends {left:,} bytes short of its Content-Length "
                f"({'a cut gzip member' if gz else 'a cut file'}); the page is incomplete",
                preview(data),
                "warc",
            )
            continue
        if len(data) > limits.max_file_bytes:
            yield Reject(
                origin,
                "too_large",
                f"record payload > limit {limits.max_file_bytes:,} bytes (max_file_bytes); skipped",
                preview(data),
                "warc",
            )
            continue
        meta: dict[str, Any] = {
            "warc_record_id": record.rec_headers.get_header("WARC-Record-ID"),
            "warc_date": record.rec_headers.get_header("WARC-Date"),
        }
        fallback = None
        if meta["warc_date"]:
            try:
                when = dt.datetime.fromisoformat(meta["warc_date"].replace("Z", "+00:00"))
                fallback = (when.date(), "WARC-Date (when the page was crawled)")
            except ValueError:
                pass
        yield Page(data, origin, "warc", url, fallback, ctype or None, meta)


def load_warc(
    path: Path, limits: Limits, options: WebOptions, source_name: str | None = None
) -> Iterator[Item]:
    """Every 200 HTML response of a WARC (``.warc`` or ``.warc.gz``), streamed."""
    skipped = _Skipped()
    errors: list[Reject] = []
    n = 0

    def jobs() -> Iterator[Any]:
        for page in _warc_pages(path, limits, skipped, errors):
            yield page if isinstance(page, Reject) else (page, limits, options, source_name)

    for item in _ordered(jobs(), _warc_job, options.workers, options.workers * 8):
        n += 1
        yield item
    yield from errors
    yield from skipped.rejects(path)
    if n == 0 and not errors and not skipped.counts:
        yield Reject(str(path), "empty", "WARC holds no response records", "", "warc")


def _warc_job(job: Any) -> Item:
    if isinstance(job, Reject):
        return job
    try:
        return extract_page(*job)
    except Exception as exc:  # noqa: BLE001 - one bad record must not abort the archive
        page = job[0]
        return Reject(
            page.origin,
            "loader_error",
            f"{type(exc).__name__}: {exc}"[:500],
            preview(page.data),
            page.fmt,
        )


def store_pages(con: Any, pages: list[Article], run_id: int) -> None:
    """Raw pages of newly stored articles into ``pages_html`` (inside the batch's
    transaction), for re-extraction later: ``gzip.decompress(html_gz)`` gives the bytes."""
    rows = [
        {
            "article_id": a.article_id,
            "origin": a.origin,
            "url": a.url,
            "content_type": getattr(a, "content_type", None),
            "html_gz": getattr(a, "html_gz", None),
            "run_id": run_id,
        }
        for a in pages
    ]
    store.insert_df(con, "pages_html", pd.DataFrame(rows), ignore=True)
