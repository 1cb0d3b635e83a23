"""JSON readers: JSON Lines (one object per line) and ``.json`` files (one object, an array
of objects, or objects one after another), streamed value by value."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .reading import _CHUNK, _Lines
from .records import Item, Limits, Reject, preview
from .tables import _pick_columns, _row_item


def _load_jsonl(
    lines: _Lines,
    path: Path,
    columns: dict[str, str | None],
    limits: Limits,
    source_name: str,
) -> Iterator[Item]:
    cols: dict[str, str] | None = None
    max_line = lines.max_chars
    for line_no, line in enumerate(lines, 1):
        enc, note = lines.take_note()
        origin = f"{path}#line={line_no}"
        if line is None:
            yield Reject(
                origin,
                "too_long",
                f"line longer than {max_line:,} characters (max_article_chars "
                f"{limits.max_article_chars:,}); skipped without parsing",
                "",
                "jsonl",
            )
            continue
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            yield Reject(
                origin,
                "malformed_row",
                f"invalid JSON: {exc.msg} at column {exc.colno}",
                preview(line),
                "jsonl",
            )
            continue
        if not isinstance(row, dict):
            yield Reject(
                origin, "malformed_row", "JSON line is not an object", preview(line), "jsonl"
            )
            continue
        if cols is None or "text" not in cols or any(c not in row for c in cols.values()):
            cols = _pick_columns(list(row), columns)
        if "text" not in cols:
            yield Reject(
                origin,
                "no_text_column",
                f"no text field among {list(row)[:12]}",
                preview(line),
                "jsonl",
            )
            continue
        yield _row_item(row, cols, origin, "jsonl", limits, source_name, enc, note, columns)


def _load_json(
    fh: io.TextIOBase,
    path: Path,
    columns: dict[str, str | None],
    limits: Limits,
    source_name: str,
    enc: str,
    note: str | None,
) -> Iterator[Item]:
    """A ``.json`` file: one object, an array of objects, or objects one after another
    (JSON Lines saved as ``.json``). Streamed value by value, each bounded in size."""
    cols: dict[str, str] | None = None
    max_value = limits.max_article_chars * 6 + 65536
    for value, where in _json_values(fh, max_value):
        origin = str(path) if where == "value=1" else f"{path}#{where}"
        if isinstance(value, Reject):
            yield Reject(origin, value.reason, value.detail, value.first_bytes, "json")
            continue
        if not isinstance(value, dict):
            yield Reject(
                origin,
                "malformed_row",
                f"JSON {type(value).__name__} where an object (one article) was expected",
                preview(json.dumps(value, default=str)),
                "json",
            )
            continue
        if cols is None or "text" not in cols or any(c not in value for c in cols.values()):
            cols = _pick_columns(list(value), columns)
        if "text" not in cols:
            yield Reject(
                origin,
                "no_text_column",
                f"no text field among {list(value)[:12]}; pass --text FIELD",
                preview(json.dumps(value, default=str)),
                "json",
            )
            continue
        yield _row_item(value, cols, origin, "json", limits, source_name, enc, note, columns)


def _json_values(fh: io.TextIOBase, max_chars: int) -> Iterator[tuple[Any, str]]:
    """``(value, where)`` for each top-level JSON value, stepping into top-level arrays
    (``where`` is ``item=N`` there, ``value=N`` otherwise). A value that does not parse or
    is over ``max_chars`` becomes a Reject; after one the rest of the file is skipped (the
    next value's start cannot be found reliably), and the reject says so."""
    src = _JsonBuffer(fh, max_chars)
    in_array = False
    n_top = n_item = 0
    while True:
        ch = src.skip_ws()
        if not ch:
            if in_array:
                yield (
                    Reject("", "malformed_row", "JSON array not closed before end of file"),
                    (f"item={n_item + 1}"),
                )
            return
        if in_array:
            if ch == "]":
                in_array = False
                src.pos += 1
                continue
            if ch == "," and n_item:
                src.pos += 1
                src.skip_ws()
        elif ch == "[":
            in_array = True
            n_top += 1
            src.pos += 1
            continue
        where = f"item={n_item + 1}" if in_array else f"value={n_top + 1}"
        value = src.decode()
        if isinstance(value, Reject):
            yield value, where
            return
        if in_array:
            n_item += 1
        else:
            n_top += 1
        yield value, where


class _JsonBuffer:
    """A window on a text stream that JSON values are decoded from, refilled as needed, so
    a file is never held whole (only up to ``max_chars`` of one value)."""

    def __init__(self, fh: io.TextIOBase, max_chars: int) -> None:
        self.fh = fh
        self.max_chars = max_chars
        self.dec = json.JSONDecoder()
        self.buf = ""
        self.pos = 0
        self.eof = False

    def fill(self) -> bool:
        """Read the next chunk (dropping what was consumed); False at the end of the file."""
        if self.eof:
            return False
        chunk = self.fh.read(_CHUNK)
        if not chunk:
            self.eof = True
            return False
        self.buf = self.buf[self.pos :] + chunk
        self.pos = 0
        return True

    def skip_ws(self) -> str:
        """Skip whitespace (and a BOM); the next character, or "" at the end of the file."""
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in " \t\r\n\ufeff":
                self.pos += 1
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.fill():
                return ""

    def decode(self) -> Any:
        """The value at the position, or a Reject (too long, or not JSON)."""
        while True:
            try:
                value, self.pos = self.dec.raw_decode(self.buf, self.pos)
                return value
            except json.JSONDecodeError as exc:
                incomplete = exc.pos >= len(self.buf) - 1 or exc.msg.startswith("Unterminated")
                if incomplete and len(self.buf) - self.pos > self.max_chars:
                    return Reject(
                        "",
                        "too_long",
                        f"JSON value longer than {self.max_chars:,} characters; the rest of "
                        "the file was skipped",
                    )
                if not incomplete or not self.fill():
                    return Reject(
                        "",
                        "malformed_row",
                        f"invalid JSON: {exc.msg} (the rest of the file was skipped)",
                        preview(self.buf[self.pos : self.pos + 80]),
                    )
