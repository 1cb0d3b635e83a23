"""Column picking shared by the record formats (CSV, JSON, JSON Lines, Parquet): which
column feeds each field, the log of those choices (``collect_columns``), and a row as an article."""

from __future__ import annotations

import contextvars
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .records import Item, Limits, Reject, decode_bytes, make_article

# Column auto-detection for tabular inputs, in order of preference.
COLUMN_GUESSES: dict[str, tuple[str, ...]] = {
    "text": ("text", "body", "article", "articles", "content", "story", "full_text"),
    "date": (
        "date",
        "published",
        "publish_date",
        "published_at",
        "pubdate",
        "datetime",
        "timestamp",
        "time",
    ),
    "title": ("title", "headline", "headlines", "heading"),
    "source": ("source", "outlet", "publisher", "media", "domain", "site"),
    "url": ("url", "link", "href"),
}


def _pick_columns(header: Sequence[str], columns: dict[str, str | None]) -> dict[str, str]:
    lower = {h.lower().strip(): h for h in header}
    picked: dict[str, str] = {}
    for role, guesses in COLUMN_GUESSES.items():
        if columns.get(role):
            picked[role] = columns[role]  # type: ignore[assignment]
            continue
        for g in guesses:
            if g in lower:
                picked[role] = lower[g]
                break
    return picked


# --------------------------------------------------------------------------- column choices


@dataclass
class ColumnChoice:
    """One mapping of input columns to fields, as used for ``rows`` records."""

    format: str
    columns: dict[str, str]
    given: list[str]
    rows: int = 0
    example: str = ""
    warnings: list[str] = field(default_factory=list)

    def describe(self) -> str:
        fields = ", ".join(
            f"{role} <- {self.columns[role]!r}{' (given)' if role in self.given else ''}"
            for role in COLUMN_GUESSES
            if role in self.columns
        )
        missing = [r for r in COLUMN_GUESSES if r not in self.columns]
        return f"columns ({self.format}, {self.rows:,} records, e.g. {self.example}): {fields}" + (
            f"; not found: {', '.join(missing)}" if missing else ""
        )


class ColumnLog:
    """Collects which column fed each field while loading (``collect_columns``)."""

    def __init__(self) -> None:
        self._choices: dict[tuple, ColumnChoice] = {}

    def observe(
        self,
        fmt: str,
        cols: dict[str, str],
        given: dict[str, str],
        row: dict[str, Any],
        origin: str,
    ) -> None:
        key = (fmt, tuple(sorted(cols.items())))
        choice = self._choices.get(key)
        if choice is None:
            choice = ColumnChoice(
                fmt,
                dict(cols),
                sorted(r for r in cols if given.get(r) == cols[r]),
                example=origin,
                warnings=column_warnings(cols, given, row),
            )
            self._choices[key] = choice
        choice.rows += 1

    @property
    def choices(self) -> list[ColumnChoice]:
        return list(self._choices.values())


_COLUMN_LOG: contextvars.ContextVar[ColumnLog | None] = contextvars.ContextVar(
    "workbench_column_log", default=None
)


class collect_columns:  # noqa: N801 - used as ``with collect_columns() as log``
    """Record the column choices of every table/JSON record loaded inside the block."""

    def __enter__(self) -> ColumnLog:
        self.log = ColumnLog()
        self._token = _COLUMN_LOG.set(self.log)
        return self.log

    def __exit__(self, *exc: object) -> None:
        _COLUMN_LOG.reset(self._token)


_TOKENISED = re.compile(r"\w ['’] \w| n't\b| , | \.$|\( ")
_CLI_FLAG = {"text": "--text", "date": "--date", "title": "--title", "source": "--source"}


def column_warnings(cols: dict[str, str], given: dict[str, str], row: dict[str, Any]) -> list[str]:
    """Say when another column looks like a better source for a field than the one picked:
    an ``*_original``/``raw_*`` twin, a longer text column, or tokenised text."""
    out: list[str] = []
    names = {str(k).lower(): str(k) for k in row}
    for role, col in cols.items():
        if given.get(role) == col:
            continue  # the user's own choice
        flag = _CLI_FLAG.get(role, f"--{role}")
        low = col.lower()
        for twin in (f"{low}_original", f"original_{low}", f"raw_{low}", f"{low}_raw"):
            if twin in names:
                out.append(
                    f"{role}: {names[twin]!r} may hold the original of {col!r}; "
                    f"pass {flag} {names[twin]} to use it"
                )
    text_col = cols.get("text")
    if text_col and given.get("text") != text_col:
        picked = row.get(text_col)
        picked_len = len(picked) if isinstance(picked, str) else 0
        longest = max(
            ((k, len(v)) for k, v in row.items() if isinstance(v, str)),
            key=lambda kv: kv[1],
            default=(None, 0),
        )
        if longest[0] not in (None, text_col) and longest[1] > max(200, 1.5 * picked_len):
            out.append(
                f"text: {longest[0]!r} is longer ({longest[1]:,} vs {picked_len:,} characters "
                f"in {text_col!r}); pass --text {longest[0]} if it is the article"
            )
        if isinstance(picked, str) and len(_TOKENISED.findall(picked[:5000])) >= 3:
            out.append(
                f"text: {text_col!r} looks tokenised (spaces around punctuation, e.g. "
                f'"{_TOKENISED.search(picked).group(0)}"); look for an untokenised column'
            )
    return out


def _row_item(
    row: dict[str, Any],
    cols: dict[str, str],
    origin: str,
    fmt: str,
    limits: Limits,
    source_name: str | None,
    encoding: str | None,
    note: str | None,
    given: dict[str, str | None] | None = None,
) -> Item:
    log = _COLUMN_LOG.get()
    if log is not None:
        log.observe(fmt, cols, given or {}, row, origin)
    used = set(cols.values())
    meta = {k: v for k, v in row.items() if k not in used and v not in (None, "")}
    meta = {k: (v if isinstance(v, (str, int, float, bool)) else str(v)) for k, v in meta.items()}
    text, text_note, problem = _as_text(row.get(cols.get("text", ""), None), "\n\n")
    if problem:
        head = json.dumps(row, default=str)[:80]
        return Reject(origin, "bad_text", f"text column {cols['text']!r}: {problem}", head, fmt)
    if text_note:
        note = "; ".join(n for n in (note, text_note) if n)
    title = _as_text(row.get(cols.get("title", "")), " ")[0]
    return make_article(
        text=text,
        date_value=row.get(cols.get("date", "")),
        origin=origin,
        fmt=fmt,
        limits=limits,
        head=json.dumps(row, default=str)[:80],
        title=title,
        url=row.get(cols.get("url", "")),
        source=row.get(cols.get("source", "")) or source_name,
        encoding=encoding,
        decode_note=note,
        meta=meta,
    )


def _as_text(value: Any, sep: str) -> tuple[str, str | None, str | None]:
    """A cell as text: ``(text, note, problem)``. Binary is decoded like a text file (noted),
    a list of strings is joined with ``sep`` (noted); anything else that is not a scalar is
    a problem (the row is rejected), never its Python repr."""
    if value is None:
        return "", None, None
    if isinstance(value, str):
        return value, None, None
    if isinstance(value, bytes | bytearray | memoryview):
        text, enc, note = decode_bytes(bytes(value))
        if text is None:
            return "", None, f"binary data, not text ({note})"
        return text, f"binary column decoded as {enc}" + (f" ({note})" if note else ""), None
    if isinstance(value, list | tuple):
        parts = [v for v in value if v is not None]
        if all(isinstance(v, str) for v in parts):
            return sep.join(parts), f"a list of {len(parts)} strings, joined", None
        kinds = sorted({type(v).__name__ for v in parts if not isinstance(v, str)})
        return "", None, f"a list holding {', '.join(kinds)} values, not strings"
    if isinstance(value, dict):
        return "", None, "a mapping (struct/object), not text"
    return str(value), None, None
