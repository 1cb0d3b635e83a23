"""Streaming loaders: every input becomes an ``Article`` or a ``Reject``, never nothing.

Formats: ``seed`` (text that starts with `` date YYYY-MM-DD ``), ``csv``, ``jsonl``,
``json`` (a file of one object or an array of objects: the common one-article-per-file export),
``parquet``, ``reuters`` (Reuters-21578 SGML), ``labelled`` (``<root>/<label>/NNN.txt``,
first line the title), and the web formats ``html`` and ``warc`` (``ingest/load_web.py``). ``auto``
picks one per file from its extension and first bytes.
"""

from __future__ import annotations

import contextvars
import csv
import glob
import html
import io
import json
import os
import re
import stat
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..base import runs
from . import load_web
from .load_web import WebOptions
from .records import (
    CONTROL_CHARS,
    Item,
    Limits,
    Reject,
    decode_bytes,
    make_article,
    preview,
    storable,
)

# Re-exported: the package, tests and bench scripts import the record API from ``load``.
from .records import Article as Article
from .records import article_id as article_id
from .records import clean_str as clean_str
from .records import hash_text as hash_text
from .records import normalise_text as normalise_text
from .records import origin_bytes as origin_bytes
from .records import origin_text as origin_text
from .records import parse_date as parse_date

FORMATS = ("auto", "seed", "csv", "jsonl", "json", "parquet", "reuters", "labelled", "html", "warc")

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

SEED_HEADER = re.compile(r"^\s*date\s+(\S+)\s*", re.IGNORECASE)
_HTML_START = re.compile(
    r"\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head)\b", re.I | re.S
)
#: Bytes read per chunk when streaming SGML.
_CHUNK = 1 << 20


# --------------------------------------------------------------------------- paths


def iter_paths(inputs: Sequence[str | os.PathLike[str]]) -> Iterator[tuple[Path, Path] | Reject]:
    """Yield ``(file, root)`` for every file under the inputs (files, folders, globs).

    Symlink loops, missing paths and unreadable folders come out as Rejects (with storable
    origins, see ``origin_text``). Folders are walked iteratively: any depth, no recursion.
    """
    for entry in _iter_paths(inputs):
        yield storable(entry) if isinstance(entry, Reject) else entry


def _iter_paths(inputs: Sequence[str | os.PathLike[str]]) -> Iterator[tuple[Path, Path] | Reject]:
    for raw in inputs:
        s = os.fsdecode(raw) if isinstance(raw, bytes | os.PathLike) else str(raw)
        if any(ch in s for ch in "*?[") and not Path(s).exists():
            matches = sorted(glob.glob(s, recursive=True))
            if not matches:
                yield Reject(s, "not_found", "glob matched no files")
            for m in matches:
                yield from _walk(Path(m), Path(m).parent)
            continue
        p = Path(s)
        yield from _walk(p, p if p.is_dir() else p.parent)


def _walk(path: Path, root: Path) -> Iterator[tuple[Path, Path] | Reject]:
    if path.is_symlink() and not path.exists():
        yield Reject(str(path), "unreadable", "broken symlink")
        return
    if not path.exists():
        yield Reject(str(path), "not_found", "no such file or folder")
        return
    if not path.is_dir():
        yield path, root  # regular or not: load() rejects FIFOs and devices by name
        return
    seen: set[str] = set()
    stack = [os.fspath(path)]
    while stack:  # depth first, sorted, top-down: the order os.walk gave, without recursion
        dirpath = stack.pop()
        real = os.path.realpath(dirpath)
        if real in seen:
            yield Reject(dirpath, "symlink_loop", f"folder already visited as {real}")
            continue
        seen.add(real)
        try:
            with os.scandir(dirpath) as it:
                entries = list(it)
        except OSError as exc:
            yield Reject(
                str(exc.filename or dirpath),
                "unreadable",
                f"cannot list folder: {exc.strerror or exc}",
            )
            continue
        dirnames, filenames = [], []
        for e in entries:
            try:
                is_dir = e.is_dir()  # follows symlinks to folders
            except OSError:
                is_dir = False
            (dirnames if is_dir else filenames).append(e.name)
        subdirs = []
        for d in sorted(dirnames):
            full = os.path.join(dirpath, d)
            if not os.access(full, os.R_OK | os.X_OK):
                yield Reject(full, "unreadable", "permission denied on folder")
            else:
                subdirs.append(full)
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            full = Path(dirpath) / name
            if full.is_symlink() and not full.exists():
                yield Reject(str(full), "unreadable", "broken symlink (or a symlink loop)")
                continue
            yield full, root
        stack.extend(reversed(subdirs))


def detect_format(path: Path, root: Path, head: bytes) -> str:
    ext = path.suffix.lower()
    if ext in (".sgm", ".sgml"):
        return "reuters"
    if ext in (".csv", ".tsv"):
        return "csv"
    if ext in (".jsonl", ".ndjson"):
        return "jsonl"
    if ext == ".json":
        return "json"
    if ext == ".parquet":
        return "parquet"
    web = load_web.detect(path, head)
    if web is not None:
        return web
    text, _, _ = decode_bytes(head)
    if text is not None and SEED_HEADER.match(text) is None and _is_labelled(path, root):
        return "labelled"
    return "seed"


def _is_labelled(path: Path, root: Path) -> bool:
    """``<root>/<label>/<file>.txt``: a labelled folder such as BBC News."""
    try:
        rel = path.relative_to(root)
    except ValueError:
        return False
    return len(rel.parts) == 2 and path.suffix.lower() == ".txt"


# --------------------------------------------------------------------------- loaders


def load(
    inputs: Sequence[str | os.PathLike[str]],
    *,
    format: str = "auto",
    columns: dict[str, str | None] | None = None,
    source_name: str | None = None,
    limits: Limits | None = None,
    web: WebOptions | None = None,
) -> Iterator[Item]:
    """Stream Articles and Rejects from files, folders and globs."""
    limits = limits or Limits()
    columns = {k: v for k, v in (columns or {}).items() if v}
    if format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")
    for entry in iter_paths(inputs):
        if isinstance(entry, Reject):
            yield entry
            continue
        path, root = entry
        yield from load_file(path, root, format, columns, source_name, limits, web)


def load_file(
    path: Path,
    root: Path,
    format: str,
    columns: dict[str, str | None],
    source_name: str | None,
    limits: Limits,
    web: WebOptions | None = None,
) -> Iterator[Item]:
    """One file's items; whatever goes wrong becomes a reject, never an aborted batch.
    Origins are storable text whatever the file's name (``origin_text``)."""
    for item in _load_file(path, root, format, columns, source_name, limits, web):
        yield storable(item)


def _load_file(
    path: Path,
    root: Path,
    format: str,
    columns: dict[str, str | None],
    source_name: str | None,
    limits: Limits,
    web: WebOptions | None,
) -> Iterator[Item]:
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        yield Reject(str(path), "unreadable", exc.strerror or str(exc))
        return
    if not stat.S_ISREG(mode):
        # FIFOs, sockets and devices would block or never end: never open them.
        yield Reject(str(path), "not_a_file", "not a regular file (FIFO, socket or device)")
        return
    head = b""
    fmt = format
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
        fmt = format if format != "auto" else detect_format(path, root, head)
        if fmt == "seed":
            yield _load_text_file(path, fmt, limits, source_name=source_name)
        elif fmt == "labelled":
            yield _load_text_file(path, fmt, limits, root=root, source_name=source_name)
        elif fmt == "reuters":
            yield from load_reuters(path, limits)
        elif fmt in ("html", "warc"):
            yield from load_web.load(path, fmt, limits, web or load_web.WebOptions(), source_name)
        else:
            yield from load_table(path, fmt, columns, limits, source_name=source_name)
    except OSError as exc:
        yield Reject(str(path), "unreadable", exc.strerror or str(exc), preview(head), fmt)
    except Exception as exc:  # noqa: BLE001 - one bad file must not abort the batch
        if runs.is_interrupt(exc):  # ctrl-C surfacing through a library, not a bad file
            raise KeyboardInterrupt from exc
        yield Reject(
            str(path),
            "loader_error",
            f"{type(exc).__name__}: {exc} (the rest of this file was skipped)"[:500],
            preview(head),
            fmt,
        )


def _read_upto(fh: Any, size: int, limits: Limits) -> bytes:
    """The file's bytes, at most ``max_file_bytes + 1`` of them, read in bounded chunks."""
    cap = limits.max_file_bytes + 1
    parts = [fh.read(min(size + 1, cap))]
    got = len(parts[0])
    while got < cap and len(parts[-1]) > 0 and got > size:  # larger than stat() said
        parts.append(fh.read(min(_CHUNK, cap - got)))
        got += len(parts[-1])
    return b"".join(parts)


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


def _sniff_encoding(path: Path) -> tuple[str, str | None]:
    with open(path, "rb") as fh:
        head = fh.read(1 << 20)
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig", None
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16", None
    sample = head[:8192]
    if b"\x00" in sample:  # UTF-16 without a BOM decodes as "valid" UTF-8 full of NULs
        for enc, zeros in (("utf-16-le", sample[1::2]), ("utf-16-be", sample[0::2])):
            if zeros and zeros.count(0) / len(zeros) > 0.9:
                return enc, "no BOM; detected as " + enc
    try:
        head.decode("utf-8")
        return "utf-8", None
    except UnicodeDecodeError as exc:
        if exc.start > len(head) - 4:  # a character cut by the 1 MiB window
            return "utf-8", None
        return "cp1252", f"not valid UTF-8 (byte {exc.start}); decoded as cp1252"


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


def load_table(
    path: Path,
    fmt: str,
    columns: dict[str, str | None],
    limits: Limits,
    *,
    source_name: str | None = None,
) -> Iterator[Item]:
    """CSV/TSV, JSON Lines and Parquet, one row at a time.

    A file that yields no record at all (empty, header only, blank lines) is itself a reject:
    a file given to ingest is never dropped silently.
    """
    n = 0
    for n, item in enumerate(_load_table(path, fmt, columns, limits, source_name), 1):  # noqa: B007
        yield item
    if n == 0:
        with open(path, "rb") as fh:
            head = fh.read(80)
        yield Reject(
            str(path), "empty", "no records (empty, header only or blank lines)", preview(head), fmt
        )


def _load_table(
    path: Path,
    fmt: str,
    columns: dict[str, str | None],
    limits: Limits,
    source_name: str | None,
) -> Iterator[Item]:
    source_name = source_name or path.stem
    if fmt == "parquet":
        yield from _load_parquet(path, columns, limits, source_name)
        return
    enc, note = _sniff_encoding(path)
    if fmt == "json":
        with open(path, encoding=enc, errors="replace", newline="") as fh:
            yield from _load_json(fh, path, columns, limits, source_name, enc, note)
    elif fmt == "jsonl":
        max_line = limits.max_article_chars * 6 + 65536  # JSON escapes take up to 6 chars each
        lines = _Lines(path, enc, note, max_line)
        yield from _load_jsonl(lines, path, columns, limits, source_name)
    else:
        # A field may hold a whole article and then some; an unclosed quote must not pull
        # the rest of a huge file into one field (the reader raises and we reject that row).
        max_field = min(sys.maxsize, 2**31 - 1, limits.max_article_chars * 4 + 65536)
        lines = _Lines(path, enc, note, max_field)
        yield from _load_csv(lines, path, columns, limits, source_name, max_field)


class _Lines:
    """A text file's lines, each decoded on its own: UTF-8, else cp1252, else latin-1.

    One fallback row (a cp1252 quote in an otherwise UTF-8 file, or the reverse) neither
    garbles the other rows nor loses its own characters, and says so: ``take_note()`` gives
    the encoding and note of the lines read since the last call (the lines of one record).
    The file is read as latin-1 (byte for byte) so that every newline convention splits
    lines and each line's bytes are recovered exactly. UTF-16 files are decoded whole.
    Iterating yields each line, or None for one over ``max_chars`` (skipped, never held).
    """

    def __init__(self, path: Path, enc: str, note: str | None, max_chars: int) -> None:
        self.path, self.max_chars = path, max_chars
        if enc.startswith("utf-16"):
            self.file_enc, self.file_note = enc, note
        else:  # decided line by line
            self.file_enc, self.file_note = ("utf-8-sig" if enc == "utf-8-sig" else "utf-8"), None
        self._notes: list[str] = []
        self._fallback: str | None = None

    def take_note(self) -> tuple[str, str | None]:
        enc = self._fallback or self.file_enc
        notes = [n for n in (self.file_note, *self._notes) if n]
        self._notes, self._fallback = [], None
        return enc, "; ".join(notes)[:500] or None

    def __iter__(self) -> Iterator[str | None]:
        if self.file_enc.startswith("utf-16"):
            with open(self.path, encoding=self.file_enc, errors="replace", newline="") as fh:
                yield from _bounded_lines(fh, self.max_chars)
            return
        with open(self.path, encoding="latin-1", newline="") as fh:
            for n, raw in enumerate(_bounded_lines(fh, 4 * self.max_chars + 4), 1):
                if raw is None:
                    yield None
                    continue
                data = raw.encode("latin-1")
                if n == 1 and data.startswith(b"\xef\xbb\xbf"):
                    data = data[3:]
                try:
                    line = data.decode("utf-8")
                except UnicodeDecodeError as exc:
                    try:
                        line, enc = data.decode("cp1252"), "cp1252"
                    except UnicodeDecodeError:
                        line, enc = data.decode("latin-1"), "latin-1"
                    self._fallback = enc
                    self._notes.append(
                        f"line {n} not valid UTF-8 (byte {exc.start}); decoded as {enc}"
                    )
                yield None if len(line) > self.max_chars else line


def _load_csv(
    lines: _Lines,
    path: Path,
    columns: dict[str, str | None],
    limits: Limits,
    source_name: str,
    max_field: int,
) -> Iterator[Item]:
    csv.field_size_limit(max_field)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    reader = csv.reader(_capped_lines(lines, max_field), delimiter=delimiter)
    origin0 = str(path)
    head = _csv_header(reader, lines, origin0, columns)
    if isinstance(head, Reject):
        yield head
        return
    header, cols = head
    row_no = 1
    while True:
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            lines.take_note()
            row_no += 1
            yield _bad_csv_row(exc, f"{origin0}#row={row_no}", max_field, limits)
            continue
        row_no += 1
        enc, note = lines.take_note()
        origin = f"{origin0}#row={row_no}"
        if not values or (len(values) == 1 and not values[0].strip()):
            continue  # blank line: not a record (a row of empty fields is, and is rejected)
        if len(values) != len(header):
            yield Reject(
                origin,
                "malformed_row",
                f"expected {len(header)} fields, got {len(values)} (line {reader.line_num})",
                preview(",".join(values)),
                "csv",
            )
            continue
        yield _row_item(
            dict(zip(header, values, strict=True)),
            cols,
            origin,
            "csv",
            limits,
            source_name,
            enc,
            note,
            given=columns,
        )


def _csv_header(
    reader: Any, lines: _Lines, origin: str, columns: dict[str, str | None]
) -> tuple[list[str], dict[str, str]] | Reject:
    """The header row and the columns picked from it, or why the file has no records."""
    try:
        header = next(reader)
    except StopIteration:
        return Reject(origin, "empty", "CSV file has no header row", "", "csv")
    except csv.Error as exc:
        return Reject(origin, "malformed_csv", f"header: {exc}", "", "csv")
    lines.take_note()
    cols = _pick_columns(header, columns)
    if "text" not in cols or cols["text"] not in header:
        return Reject(
            origin,
            "no_text_column",
            f"no text column among {header[:12]}; pass --text COLUMN",
            ",".join(header)[:80],
            "csv",
        )
    return header, cols


def _bad_csv_row(exc: csv.Error, origin: str, max_field: int, limits: Limits) -> Reject:
    """The reject of a row the csv module refused (a field over the limit is ``too_long``)."""
    reason, detail = "malformed_row", str(exc)
    if "field limit" in detail:
        reason = "too_long"
        detail = (
            f"a field longer than {max_field:,} characters (max_article_chars "
            f"{limits.max_article_chars:,}); skipped without holding it"
        )
    return Reject(origin, reason, detail, "", "csv")


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


def _bounded_lines(fh: io.TextIOBase, max_chars: int) -> Iterator[str | None]:
    """Lines of a text file, or None for a line over ``max_chars`` (skipped, never held)."""
    while True:
        line = fh.readline(max_chars + 1)
        if not line:
            return
        if len(line) > max_chars and not line.endswith("\n"):
            while True:  # drain the rest of the over-long line in bounded chunks
                rest = fh.readline(_CHUNK)
                if not rest or rest.endswith("\n"):
                    break
            yield None
            continue
        yield line


def _capped_lines(lines: _Lines, max_chars: int) -> Iterator[str]:
    """Lines for the csv reader; an over-long line is cut (the reader then rejects its row
    as over the field limit) so that one huge line is never held in memory."""
    for line in lines:
        yield "\x00" * (max_chars + 1) + "\n" if line is None else line


def _load_parquet(
    path: Path, columns: dict[str, str | None], limits: Limits, source_name: str
) -> Iterator[Item]:
    # About 0.4 s: only .parquet inputs need the Parquet reader.
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for bad files
        if runs.is_interrupt(exc):
            raise KeyboardInterrupt from exc
        yield Reject(
            str(path), "malformed_file", f"not a readable Parquet file: {exc}", "", "parquet"
        )
        return
    cols = _pick_columns(pf.schema_arrow.names, columns)
    if "text" not in cols:
        yield Reject(
            str(path),
            "no_text_column",
            f"no text column among {pf.schema_arrow.names[:12]}",
            "",
            "parquet",
        )
        return
    row_no = 0
    for batch in pf.iter_batches(batch_size=1000):
        for row in batch.to_pylist():
            row_no += 1
            yield _row_item(
                row,
                cols,
                f"{path}#row={row_no}",
                "parquet",
                limits,
                source_name,
                None,
                None,
                columns,
            )


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
