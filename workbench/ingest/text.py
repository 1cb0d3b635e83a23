"""Plain-text readers: ``seed`` files (`` date YYYY-MM-DD `` then the article) and
``labelled`` folders (``<root>/<label>/NNN.txt``, first line the title)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .reading import _read_upto
from .records import Item, Limits, Reject, decode_bytes, make_article, preview

SEED_HEADER = re.compile(r"^\s*date\s+(\S+)\s*", re.IGNORECASE)
_HTML_START = re.compile(
    r"\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head)\b", re.I | re.S
)


def _load_text_file(
    path: Path,
    fmt: str,
    limits: Limits,
    *,
    root: Path | None = None,
    source_name: str | None = None,
) -> Item:
    origin = str(path)
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        # Never more than the limit in memory: stat first, then read what stat() says plus
        # at most the limit in chunks (a growing file, /proc), never a buffer of the limit's
        # size (a limit of 10^14 bytes must not allocate it).
        data = fh.read(80) if size > limits.max_file_bytes else _read_upto(fh, size, limits)
        size = max(size, len(data))
    if size > limits.max_file_bytes:
        return Reject(
            origin,
            "too_large",
            f"{size:,} bytes > limit {limits.max_file_bytes:,} (max_file_bytes)",
            preview(data),
            fmt,
        )
    if not data.strip():
        return Reject(origin, "empty", "file is empty or whitespace only", preview(data), fmt)
    text, enc, note = decode_bytes(data)
    if text is None:
        return Reject(origin, "binary", f"not text ({note})", preview(data), fmt)
    decoded = _Decoded(text, enc, note, data)
    if fmt == "labelled":
        assert root is not None
        return _labelled_article(path, root, decoded, limits, source_name)
    return _seed_article(origin, decoded, fmt, limits, source_name)


@dataclass(frozen=True)
class _Decoded:
    """A text file's text, how it was decoded, and its raw bytes (for a reject's preview)."""

    text: str
    encoding: str
    note: str | None
    data: bytes


def _labelled_article(
    path: Path, root: Path, d: _Decoded, limits: Limits, source_name: str | None
) -> Item:
    """A file of a labelled folder (``label/file.txt``): first line the title, undated."""
    title, _, body = d.text.strip().partition("\n")
    lim = Limits(limits.max_file_bytes, limits.max_article_chars, limits.future_days, True)
    return make_article(
        text=body,
        date_value=None,
        origin=str(path),
        fmt="labelled",
        limits=lim,
        head=d.text,
        title=title,
        source=source_name or root.name,
        encoding=d.encoding,
        decode_note=d.note,
        meta={"label": path.parent.name},
    )


def _seed_article(
    origin: str, d: _Decoded, fmt: str, limits: Limits, source_name: str | None
) -> Item:
    """A seed-format file: `` date YYYY-MM-DD `` then the article."""
    m = SEED_HEADER.match(d.text)
    if m is None:
        if _HTML_START.match(d.text):
            return Reject(
                origin,
                "html",
                "this is an HTML page, not plain text: the text loader reads files that start "
                "with ' date YYYY-MM-DD ' then the article; extract the article text first",
                preview(d.data),
                fmt,
            )
        return Reject(
            origin, "no_date", "text does not start with ' date YYYY-MM-DD '", preview(d.data), fmt
        )
    return make_article(
        text=d.text[m.end() :],
        date_value=m.group(1),
        origin=origin,
        fmt=fmt,
        limits=limits,
        head=d.text,
        source=source_name,
        encoding=d.encoding,
        decode_note=d.note,
    )
