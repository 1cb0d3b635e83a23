"""Reuters-21578 SGML reader: one ``<REUTERS>`` element per article, streamed."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .reading import _CHUNK
from .records import CONTROL_CHARS, Item, Limits, Reject, make_article, preview

_REUTERS_OPEN = re.compile(r"<REUTERS\b([^>]*)>")
_ATTR = re.compile(r'(\w+)="([^"]*)"')


def _tag(doc: str, name: str) -> str | None:
    m = re.search(rf"<{name}\b[^>]*>(.*?)</{name}>", doc, re.DOTALL)
    return m.group(1) if m else None


def _char_ref(m: re.Match[str]) -> str:
    """``&#N;``: control characters dropped, impossible code points replaced."""
    n = int(m.group(1))
    if n < 32:
        return ""
    return chr(n) if n <= 0x10FFFF else "\ufffd"


def _sgml_text(s: str | None) -> str:
    if not s:
        return ""
    s = re.sub(r"&#(\d{1,7});", _char_ref, s)
    return CONTROL_CHARS.sub("", html.unescape(s))


_REUTERS_START = re.compile(r"<REUTERS\b")


def _sgml_elements(path: Path, max_chars: int) -> Iterator[tuple[str, bool]]:
    """Stream each ``<REUTERS`` element's text up to the next element (or end of file).

    Yields ``(text, True)``, or ``(first 4 KiB, False)`` for an element longer than
    ``max_chars``, which is skipped without ever being held in memory whole.
    """
    buf = ""
    el = -1  # index in buf where the current element starts; -1 before the first one
    oversize_head: str | None = None
    with open(path, encoding="latin-1", newline="") as fh:
        while True:
            chunk = fh.read(_CHUNK)
            buf += chunk
            pos = el + 1 if el >= 0 else 0
            while (m := _REUTERS_START.search(buf, pos)) is not None:
                if el >= 0:
                    if oversize_head is not None:
                        yield oversize_head, False
                        oversize_head = None
                    else:
                        yield buf[el : m.start()], True
                el = m.start()
                pos = el + 1
            if not chunk:
                if el >= 0:
                    yield (oversize_head, False) if oversize_head is not None else (buf[el:], True)
                return
            if el < 0:
                buf = buf[-16:]  # text before the first element; keep a split tag's start
            elif oversize_head is not None or len(buf) - el > max_chars:
                if oversize_head is None:
                    oversize_head = buf[el : el + 4096]
                buf, el = "\x00" + buf[-16:], 0  # a placeholder start, then the unsearched tail
            else:
                buf, el = buf[el:], 0


#: The Reuters-21578 tags that hold lists (``<D>`` items), kept in ``meta``.
_REUTERS_LISTS = ("TOPICS", "PLACES", "PEOPLE", "ORGS", "EXCHANGES", "COMPANIES")


def _reuters_article(
    doc: str, attrs: dict[str, str], newid: str, origin: str, limits: Limits
) -> Item:
    """One ``<REUTERS>`` element's content as an article, its tags' lists in ``meta``."""
    text_el = _tag(doc, "TEXT") or ""
    body = _sgml_text(_tag(text_el, "BODY"))
    if not body.strip():
        # BRIEF / UNPROC documents: the TEXT content without its tags.
        body = _sgml_text(re.sub(r"<TITLE>.*?</TITLE>|<[^>]+>", " ", text_el, flags=re.S))
    lists = {k.lower(): re.findall(r"<D>(.*?)</D>", _tag(doc, k) or "") for k in _REUTERS_LISTS}
    meta: dict[str, Any] = {
        "newid": newid,
        "lewissplit": attrs.get("LEWISSPLIT"),
        "has_topics": attrs.get("TOPICS"),
        **lists,
        "dateline": _sgml_text(_tag(text_el, "DATELINE")).strip() or None,
    }
    return make_article(
        text=body,
        date_value=_sgml_text(_tag(doc, "DATE")).strip() or None,
        origin=origin,
        fmt="reuters",
        limits=limits,
        head=doc,
        title=_sgml_text(_tag(text_el, "TITLE")),
        source="Reuters",
        encoding="latin-1",
        meta=meta,
    )


def load_reuters(path: Path, limits: Limits) -> Iterator[Item]:
    """Reuters-21578 SGML: one ``<REUTERS>`` element per article, read as latin-1, streamed."""
    n = 0
    seen: set[str] = set()
    for element, complete in _sgml_elements(path, limits.max_file_bytes):
        n += 1
        m = _REUTERS_OPEN.match(element)
        attrs = dict(_ATTR.findall(m.group(1))) if m else {}
        newid = attrs.get("NEWID", f"element{n}")
        origin = f"{path}#NEWID={newid}"
        if origin in seen:  # garbled files repeat ids; every element keeps its own origin
            origin = f"{origin}@element{n}"
        seen.add(origin)
        if not complete:
            yield Reject(
                origin,
                "too_large",
                f"SGML element longer than {limits.max_file_bytes:,} characters "
                "(max_file_bytes); skipped",
                preview(element),
                "reuters",
            )
            continue
        close = element.find("</REUTERS>", m.end()) if m else -1
        if close < 0:
            yield Reject(
                origin,
                "truncated_sgml",
                "no closing </REUTERS> before the next element or end of file"
                if m
                else "opening <REUTERS> tag is not closed",
                preview(element),
                "reuters",
            )
            continue
        assert m is not None
        yield _reuters_article(element[m.end() : close], attrs, newid, origin, limits)
    if n == 0:
        with open(path, "rb") as fh:
            head = fh.read(80)
        yield Reject(
            str(path), "empty", "SGML file holds no <REUTERS> elements", preview(head), "reuters"
        )
