"""Streaming loaders: every input becomes an ``Article`` or a ``Reject``, never nothing.

Formats: ``seed`` (text that starts with `` date YYYY-MM-DD ``), ``csv``, ``jsonl``,
``json`` (a file of one object or an array of objects: the common one-article-per-file export),
``parquet``, ``reuters`` (Reuters-21578 SGML), ``labelled`` (``<root>/<label>/NNN.txt``,
first line the title), and the web formats ``html`` and ``warc`` (``ingest/load_web.py``). ``auto``
picks one per file from its extension and first bytes.

This module walks the inputs, picks each file's format and hands the file to that format's
reader: ``text`` (seed, labelled), ``csv_file``, ``json_file`` (JSON, JSON Lines),
``parquet_file``, ``reuters`` and ``load_web``; ``tables`` holds the column picking the record
formats share, ``reading`` the bounded reading helpers.
"""

from __future__ import annotations

import glob
import os
import stat
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

# The ``X as X`` imports are re-exports: the package, the CLI, tests and bench scripts import
# the record API (``records``), the column API (``tables``) and ``load_reuters`` from ``load``.
from ..base import runs
from . import load_web
from .csv_file import _load_csv
from .json_file import _load_json, _load_jsonl
from .load_web import WebOptions
from .parquet_file import _load_parquet
from .reading import _Lines, _sniff_encoding
from .records import Article as Article
from .records import Item, Limits, Reject, decode_bytes, preview, storable
from .records import article_id as article_id
from .records import clean_str as clean_str
from .records import hash_text as hash_text
from .records import make_article as make_article
from .records import normalise_text as normalise_text
from .records import origin_bytes as origin_bytes
from .records import origin_text as origin_text
from .records import parse_date as parse_date
from .reuters import load_reuters as load_reuters
from .tables import COLUMN_GUESSES as COLUMN_GUESSES
from .tables import ColumnChoice as ColumnChoice
from .tables import ColumnLog as ColumnLog
from .tables import collect_columns as collect_columns
from .tables import column_warnings as column_warnings
from .text import SEED_HEADER as SEED_HEADER
from .text import _load_text_file

FORMATS = ("auto", "seed", "csv", "jsonl", "json", "parquet", "reuters", "labelled", "html", "warc")


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
