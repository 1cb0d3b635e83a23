"""Ingest: stream loader output into DuckDB in batches, one transaction per batch."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from ..base import config, errors, runs, store
from ..base.progress import progress_bar
from ..base.versions import workbench_version
from .load import (
    Article,
    ColumnLog,
    Limits,
    Reject,
    collect_columns,
    iter_paths,
    load_file,
    origin_text,
)
from .load_web import WebOptions, close_pools, read_ahead, store_pages


@dataclass
class IngestResult:
    """What one ingest run did; ``inputs == stored + unchanged + duplicates + rejected``."""

    run_id: int
    inputs: int = 0
    stored: int = 0
    unchanged: int = 0
    duplicates: int = 0
    rejected: int = 0
    reject_reasons: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    #: files not parsed again because path, size, mtime and options matched an earlier run
    skipped_files: int = 0
    #: rejects of earlier runs cleared because this run stored (or linked) the same input
    rejects_cleared: int = 0
    #: which input column fed each field (tables and JSON), with warnings; see load.ColumnLog
    columns_used: list[dict[str, Any]] = field(default_factory=list)
    #: per-outlet fields of the input copied into ``sources`` (see workbench.annotate.sources)
    source_fields: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        reasons = ", ".join(f"{k}: {v}" for k, v in sorted(self.reject_reasons.items()))
        return (
            f"run {self.run_id}: {self.inputs:,} inputs -> {self.stored:,} stored, "
            f"{self.unchanged:,} already present, {self.duplicates:,} duplicates, "
            f"{self.rejected:,} rejected{f' ({reasons})' if reasons else ''} "
            f"in {self.seconds:.1f}s"
            + (
                f" ({self.skipped_files:,} unchanged files not re-read)"
                if self.skipped_files
                else ""
            )
            + (
                f"; {self.rejects_cleared:,} earlier rejects now stored"
                if self.rejects_cleared
                else ""
            )
        )

    def committed(self) -> str:
        """What is in the database from this run (for the message after an interrupt)."""
        return (
            f"{self.inputs:,} inputs ({self.stored:,} stored, {self.unchanged:,} already "
            f"present, {self.duplicates:,} duplicates, {self.rejected:,} rejected)"
        )


ARTICLE_COLUMNS = [
    "article_id",
    "date",
    "published",
    "title",
    "source",
    "url",
    "text",
    "origin",
    "format",
    "encoding",
    "decode_note",
    "meta",
    "text_hash",
    "n_chars",
    "n_words",
    "run_id",
]


#: The ``runs`` ledger helpers (kept here under their old names for callers).
start_run = runs.start
finish_run = runs.finish


@dataclass
class _File:
    """A file read to its end: recorded (with its tallies) in the transaction that writes its
    last item, so a crash never marks a half-ingested file as done."""

    path: str
    options_hash: str
    size: int
    mtime_ns: int
    #: the file's own origin (as given, ``origin_text``): whole-file rejects use it
    origin: str = field(default="", compare=False)
    articles: int = 0
    duplicates: int = 0
    rejected: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    store_error: bool = False

    def tally(self, kind: str, reason: str = "") -> None:
        if kind == "rejected":
            self.rejected += 1
            self.reasons[reason] = self.reasons.get(reason, 0) + 1
            self.store_error |= reason == "store_error"
        else:
            setattr(self, kind, getattr(self, kind) + 1)


#: Files modified this close to the start of a run are never recorded as done ("racy" mtimes:
#: a file rewritten within the file system's timestamp granularity would look unchanged).
_RACY_NS = 2_000_000_000


def _options_hasher(options: dict[str, Any]) -> Any:
    """``root -> hash`` of the loader options + folder root (labels come from it) + package
    version: any change re-reads the file. Computed once per root, not once per file."""
    base = json.dumps([options, workbench_version()], sort_keys=True, default=str)

    @functools.cache
    def for_root(root: Path) -> str:
        return hashlib.sha1(f"{base}\x1f{root}".encode()).hexdigest()[:16]

    return for_root


def ingest(
    con: duckdb.DuckDBPyConnection,
    paths: Sequence[str | os.PathLike[str]],
    *,
    format: str = "auto",
    columns: dict[str, str | None] | None = None,
    source_name: str | None = None,
    limits: Limits | None = None,
    batch_size: int = config.INGEST_BATCH,
    progress: bool = True,
    limit: int | None = None,
    rescan: bool = False,
    memory_limit: str | None = config.INGEST_MEMORY,
    web: WebOptions | None = None,
) -> IngestResult:
    """Load ``paths`` into the database; safe to repeat (same input -> same rows).

    ``limit`` stops after that many inputs (for samples of a large corpus). Files whose
    path, size, mtime and loader options match an earlier complete read are not parsed
    again (their items count as before: unchanged, duplicates, rejected); ``rescan=True``
    re-reads every file. ``memory_limit`` caps DuckDB's buffer cache while ingesting, so
    memory stays flat as the corpus grows (``None`` keeps the connection's setting).
    ``web`` holds the options of the ``html``/``warc`` loaders (``load_web.WebOptions``).
    """
    limits = limits or Limits()
    columns = {k: v for k, v in (columns or {}).items() if v}
    options = {
        "format": format,
        "columns": columns,
        "source_name": source_name,
        "limits": asdict(limits),
        "batch_size": batch_size,
        "limit": limit,
    }
    if web is not None:
        options["web"] = web.hashed()
    loader = {
        k: options[k] for k in ("format", "columns", "source_name", "limits", "web") if k in options
    }
    # A run still marked "running" belongs to a process that died (kill -9, power loss):
    # runs.start marks it interrupted. Its committed batches are kept; re-running the same
    # ingest completes it. Ctrl-C rolls back the batch in flight (runs.recorded).
    inputs = [origin_text(p) for p in paths]
    _refuse_own_files(con, paths)
    with runs.recorded(con, "ingest", inputs=inputs, options={**options, "rescan": rescan}) as run:
        result = IngestResult(run_id=run.run_id)
        run.result, run.on_interrupt = result, result.committed
        t0 = time.perf_counter()
        old_memory = _set_memory_limit(con, memory_limit)
        try:
            _ingest(con, paths, loader, limits, result, batch_size, limit, rescan, progress, web)
        finally:
            if web is not None and web.workers > 1:
                close_pools()
            with runs.deferred():
                store.rollback_open(con)
                if memory_limit is not None:
                    _restore_memory_limit(con, old_memory)
            result.seconds = time.perf_counter() - t0
    return result


def _ingest(
    con: duckdb.DuckDBPyConnection,
    paths: Sequence[str | os.PathLike[str]],
    loader: dict[str, Any],
    limits: Limits,
    result: IngestResult,
    batch_size: int,
    limit: int | None,
    rescan: bool,
    progress: bool,
    web: WebOptions | None = None,
) -> None:
    run_id = result.run_id
    known = {} if rescan else _known_files(con)
    batch: list[tuple[Article | Reject | _File, _File | None]] = []
    column_log: ColumnLog
    with (
        progress_bar(desc="ingest", unit="doc", enable=progress) as bar,
        collect_columns() as column_log,
    ):
        n = 0  # inputs in ``batch`` so far: ``n - n_written``
        n_written = 0
        reads = _read(con, paths, known, loader, limits, result, bar.update, web)
        for item, state in reads:
            if isinstance(item, _File):
                batch.append((item, None))
                continue
            if limit is not None and n >= limit:
                break
            n += 1
            batch.append((item, state))
            if len(batch) >= batch_size:
                _write_batch(con, batch, run_id, result)
                bar.update(n - n_written)
                batch, n_written = [], n
        if batch:
            _write_batch(con, batch, run_id, result)
            bar.update(n - n_written)
    result.columns_used = [asdict(c) for c in column_log.choices]
    _record_columns(con, run_id, result.columns_used)


def _record_columns(
    con: duckdb.DuckDBPyConnection, run_id: int, used: list[dict[str, Any]]
) -> None:
    """``runs.options.columns_used``: the column choices, next to the options given."""
    row = con.execute("SELECT options FROM runs WHERE run_id = ?", [run_id]).fetchone()
    options = json.loads(row[0]) if row and row[0] else {}
    options["columns_used"] = used
    con.execute(
        "UPDATE runs SET options = ? WHERE run_id = ?", [json.dumps(options, default=str), run_id]
    )


def _read(
    con: duckdb.DuckDBPyConnection,
    paths: Sequence[str | os.PathLike[str]],
    known: dict[tuple[str, str], tuple],
    loader: dict[str, Any],
    limits: Limits,
    result: IngestResult,
    advance: Any,
    web: WebOptions | None = None,
) -> Iterator[tuple[Article | Reject | _File, _File | None]]:
    """(item, its file) for every input, then the file itself once read to its end; files
    unchanged since an earlier complete read are counted from their record, not parsed."""
    own = _own_files(con)
    racy = time.time_ns() - _RACY_NS
    options_hash = _options_hasher(loader)
    fmt, columns, source_name = loader["format"], loader["columns"], loader["source_name"]

    def to_read() -> Iterator[Reject | tuple[Path, Path, _File | None]]:
        for entry in iter_paths(paths):
            if isinstance(entry, Reject):
                yield entry
                continue
            path, root = entry
            if os.path.abspath(path) in own:
                continue  # the database being written (a data folder that also holds it)
            state = _file_state(path, options_hash(root))
            prev = known.get((state.path, state.options_hash)) if state else None
            if state and prev and prev[:2] == (state.size, state.mtime_ns):
                advance(_count_skipped(result, prev[2:]))
                continue
            yield path, root, state

    # HTML files are extracted ahead in a pool (workers > 1)
    for entry, ready in read_ahead(to_read(), web, limits, source_name, fmt):
        if isinstance(entry, Reject):
            yield entry, None
            continue
        path, root, state = entry
        items = (
            ready
            if ready is not None
            else load_file(path, root, fmt, columns, source_name, limits, web)
        )
        for item in items:
            yield item, state
        if state is not None and state.mtime_ns < racy:
            yield state, None


def _refuse_own_files(
    con: duckdb.DuckDBPyConnection, paths: Sequence[str | os.PathLike[str]]
) -> None:
    """The database (or its WAL) given as an input is a mistake to say, not "0 inputs"."""
    own = _own_files(con)
    for p in paths:
        if os.path.abspath(p) in own:
            raise errors.BadOption(errors.input_is_database(origin_text(p)))


def _own_files(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The database file and its write-ahead log, never inputs of their own ingest."""
    row = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    if not row or not row[0]:
        return set()
    db = os.path.abspath(row[0])
    return {db, db + ".wal", db + ".tmp"}


def _file_state(path: Path, options_hash: str) -> _File | None:
    try:
        st = path.stat()
    except OSError:
        return None  # the loader records it as unreadable
    return _File(
        origin_text(os.path.abspath(path)),
        options_hash,
        st.st_size,
        st.st_mtime_ns,
        origin=origin_text(path),
    )


def _known_files(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], tuple]:
    rows = con.execute(
        "SELECT path, options_hash, size, mtime_ns, n_articles, n_duplicates, n_rejected, "
        "reject_reasons FROM files"
    ).fetchall()
    return {(r[0], r[1]): tuple(r[2:]) for r in rows}


def _count_skipped(result: IngestResult, prev: tuple) -> int:
    """Count a skipped file's items as a re-read would: its articles are already present."""
    articles, duplicates, rejected, reasons = prev
    result.skipped_files += 1
    result.inputs += articles + duplicates + rejected
    result.unchanged += articles
    result.duplicates += duplicates
    result.rejected += rejected
    for reason, k in json.loads(reasons or "{}").items():
        result.reject_reasons[reason] = result.reject_reasons.get(reason, 0) + k
    return articles + duplicates + rejected


def _set_memory_limit(con: duckdb.DuckDBPyConnection, value: str | None) -> str | None:
    """Set DuckDB's memory limit for this run; return the setting to restore after it."""
    if value is None:
        return None
    (old,) = con.execute("SELECT current_setting('memory_limit')").fetchone()
    con.execute("SET memory_limit = ?", [value])
    return str(old)


_UNITS = {"bytes": 1, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40, "pib": 2**50}


def _restore_memory_limit(con: duckdb.DuckDBPyConnection, old: str | None) -> None:
    """Put the previous limit back. Not ``RESET``: on DuckDB 1.5.5 it changes the setting
    but leaves the buffer pool at the capped size (queries then fail with "Out of Memory").
    Not the printed value as is either: it is truncated to one decimal, so setting it back
    would shrink the limit by up to 0.1 unit per run; half a unit more prints the same."""
    if old is None:
        return
    num, _, unit = old.strip().partition(" ")
    scale = _UNITS.get(unit.strip().lower())
    try:
        value = float(num)
    except ValueError:
        scale = None
    if scale is None:
        con.execute("SET memory_limit = ?", [old])
        return
    exact = int(value * scale + (scale // 20 if scale > 1 else 0))
    con.execute("SET memory_limit = ?", [f"{exact}B"])


Entry = tuple[Article | Reject | _File, _File | None]


def _write_batch(
    con: duckdb.DuckDBPyConnection, batch: list[Entry], run_id: int, result: IngestResult
) -> None:
    """Write one batch in one transaction; if the database refuses it, find the item it
    refuses (one transaction each) and record that one as a ``store_error`` reject."""
    try:
        _write_batch_tx(con, batch, run_id, result)
    except Exception as exc:  # noqa: BLE001 - isolate the offending item, keep the rest
        if runs.is_interrupt(exc):  # ctrl-C inside a query: never "the database refused it"
            raise KeyboardInterrupt from exc
        if len(batch) > 1:
            for entry in batch:
                _write_batch(con, [entry], run_id, result)
            return
        item, state = batch[0]
        if isinstance(item, _File):
            return  # not recorded: the file is simply read again next time
        reject = Reject(
            item.origin,
            "store_error",
            f"the database refused this item: {type(exc).__name__}: {exc}"[:500],
            "",
            item.format,
        )
        if isinstance(item, Reject) and item.reason == "store_error":
            raise
        _write_batch(con, [(reject, state)], run_id, result)


def _write_batch_tx(
    con: duckdb.DuckDBPyConnection, batch: list[Entry], run_id: int, result: IngestResult
) -> None:
    """One batch in one transaction. The commit and the counts of what it committed go
    together (a ctrl-C between them would make the run's message disagree with the
    database): both run with ctrl-C deferred."""
    write = _BatchWrite(batch, run_id)
    with store.transaction(con, committed=lambda: write.count(result), shield=runs.deferred):
        write.write(con)
    trim_cache(con)
    runs.check()


class _BatchWrite:
    """The rows one batch adds, and the counts it adds to the run once committed."""

    def __init__(self, batch: list[Entry], run_id: int) -> None:
        self.run_id = run_id
        self.articles = [(a, f) for a, f in batch if isinstance(a, Article)]
        self.rejects = [(r, f) for r, f in batch if isinstance(r, Reject)]
        self.files = [f for f, _ in batch if isinstance(f, _File)]
        self.known_rejects: list[tuple[Reject, _File | None]] = []
        self.pages: list[Article] = []  # new articles whose raw page is kept (--keep-html)
        self.tallies: list[tuple[_File | None, str, str]] = []
        self.new_rows: list[dict[str, Any]] = []
        self.dup_rows: list[dict[str, Any]] = []
        self.unchanged = 0
        self.cleared = 0

    def write(self, con: duckdb.DuckDBPyConnection) -> None:
        # One fate per input across runs: an input stored or linked by an earlier run is not
        # recorded as rejected now (it counts as already present).
        self.rejects, self.known_rejects = _split_known(con, self.rejects)
        self.tallies = [(f, "rejected", r.reason) for r, f in self.rejects]
        self.tallies += [(f, "articles", "") for _, f in self.known_rejects]
        self._classify(_existing(con, self.articles))
        self.cleared = _clear_earlier_rejects(con, self.articles, self.rejects)
        if self.new_rows:
            frame = pd.DataFrame(self.new_rows, columns=ARTICLE_COLUMNS)
            store.insert_df(con, "articles", frame)
        if self.dup_rows:
            store.insert_df(con, "duplicates", pd.DataFrame(self.dup_rows), ignore=True)
        if self.pages:
            store_pages(con, self.pages, self.run_id)
        if self.rejects:
            rows = [_reject_row(r, self.run_id) for r, _ in self.rejects]
            store.insert_df(con, "rejects", pd.DataFrame(rows), ignore=True)
        if self.files:
            _record_files(con, self.files, self.tallies, self.run_id)

    def _classify(self, existing: dict[str, str]) -> None:
        """Each article: new, already present (same origin) or a duplicate (another origin)."""
        for a, f in self.articles:
            first_origin = existing.get(a.article_id)
            if first_origin is None:
                existing[a.article_id] = a.origin
                self.new_rows.append(_article_row(a, self.run_id))
                self.tallies.append((f, "articles", ""))
                if getattr(a, "html_gz", None) is not None:
                    self.pages.append(a)
            elif first_origin == a.origin:
                self.unchanged += 1
                self.tallies.append((f, "articles", ""))
            else:
                self.dup_rows.append(
                    {
                        "article_id": a.article_id,
                        "origin": a.origin,
                        "format": a.format,
                        "kind": "exact",
                        "run_id": self.run_id,
                    }
                )
                self.tallies.append((f, "duplicates", ""))

    def count(self, result: IngestResult) -> None:
        """Add what was committed to the files' tallies and the run's counts."""
        for f, kind, reason in self.tallies:
            if f is not None:
                f.tally(kind, reason)
        result.inputs += len(self.articles) + len(self.rejects) + len(self.known_rejects)
        result.stored += len(self.new_rows)
        result.unchanged += self.unchanged + len(self.known_rejects)
        result.duplicates += len(self.dup_rows)
        result.rejected += len(self.rejects)
        result.rejects_cleared += self.cleared
        for r, _ in self.rejects:
            result.reject_reasons[r.reason] = result.reject_reasons.get(r.reason, 0) + 1


def _existing(
    con: duckdb.DuckDBPyConnection, articles: list[tuple[Article, _File | None]]
) -> dict[str, str]:
    """article_id -> origin of the batch's articles already stored."""
    if not articles:
        return {}
    # ``= ANY(list)`` probes the primary-key index; ``IN (SELECT unnest(...))`` was a
    # hash join that scanned every stored article per batch (O(N^2) over a corpus).
    return dict(
        con.execute(
            "SELECT article_id, origin FROM articles WHERE article_id = ANY(?::VARCHAR[])",
            [sorted({a.article_id for a, _ in articles})],
        ).fetchall()
    )


def _reject_row(r: Reject, run_id: int) -> dict[str, Any]:
    return {
        "origin": r.origin,
        "reason": r.reason,
        "detail": r.detail,
        "first_bytes": r.first_bytes,
        "format": r.format,
        "run_id": run_id,
    }


#: What DuckDB's buffer cache is trimmed to after each committed ingest batch.
TRIM_TO = "32MB"


def trim_cache(con: duckdb.DuckDBPyConnection) -> None:
    """Evict the blocks DuckDB cached while writing (they are on disk): the memory limit goes
    to ``TRIM_TO`` for a moment and back. With small row groups (``store.ROW_GROUP_SIZE``)
    this keeps an ingest's peak memory flat as the corpus grows (bench/RESULTS.md, issue 20).
    Unlike a lasting cap, batches and checkpoints still run under the full limit; when the
    cache cannot shrink that far (pinned blocks), it is left as it is."""
    (old,) = con.execute("SELECT current_setting('memory_limit')").fetchone()
    try:
        con.execute("SET memory_limit = ?", [TRIM_TO])
    except duckdb.OutOfMemoryException:
        pass  # nothing lost: the setting is put back below either way
    finally:
        _restore_memory_limit(con, str(old))


#: Formats whose records have origins of their own (``<file>#row=N``).
_MULTI_RECORD = frozenset({"csv", "jsonl", "parquet", "reuters"})


def _split_known(
    con: duckdb.DuckDBPyConnection, rejects: list[tuple[Reject, _File | None]]
) -> tuple[list[tuple[Reject, _File | None]], list[tuple[Reject, _File | None]]]:
    """(rejects to record, rejects of inputs an earlier run stored or linked)."""
    if not rejects:
        return rejects, []
    origins = sorted({r.origin for r, _ in rejects})
    stored = {
        o
        for (o,) in con.execute(
            "SELECT origin FROM articles WHERE origin IN (SELECT unnest(?::VARCHAR[])) "
            "UNION SELECT origin FROM duplicates WHERE origin IN (SELECT unnest(?::VARCHAR[]))",
            [origins, origins],
        ).fetchall()
    }
    # A whole-file reject of a file whose records have fates of their own (an earlier run
    # read it with other options) is not a second fate for them.
    files = sorted(
        {r.origin for r, f in rejects if f is not None and r.origin == f.origin}
        & {r.origin for r, _ in rejects if r.format in _MULTI_RECORD}
    )
    if files:
        stored |= {
            p
            for (p,) in con.execute(
                "SELECT DISTINCT t.p FROM (SELECT unnest(?::VARCHAR[]) AS p) t, "
                "(SELECT origin FROM articles UNION ALL SELECT origin FROM duplicates "
                "UNION ALL SELECT origin FROM rejects) a "
                "WHERE a.origin > t.p || '#' AND a.origin < t.p || '$'",
                [files],
            ).fetchall()
        }
    if not stored:
        return rejects, []
    return (
        [(r, f) for r, f in rejects if r.origin not in stored],
        [(r, f) for r, f in rejects if r.origin in stored],
    )


def _clear_earlier_rejects(
    con: duckdb.DuckDBPyConnection,
    articles: list[tuple[Article, _File | None]],
    rejects: list[tuple[Reject, _File | None]],
) -> int:
    """Delete the rejects this batch supersedes; returns how many (counted in the run).

    An input stored or linked now loses every earlier reject; one rejected now keeps only
    this reason; and a whole-file reject (``no_text_column`` before ``--text``) goes once
    the file yields records of its own.
    """
    gone = {a.origin for a, _ in articles}
    gone |= {f.origin for a, f in articles if f is not None and f.origin != a.origin}
    gone |= {f.origin for r, f in rejects if f is not None and f.origin != r.origin}
    rows = [(r.origin, r.reason) for r, _ in rejects]
    n = 0
    if gone:
        (n_gone,) = con.execute(
            "DELETE FROM rejects WHERE origin IN (SELECT unnest(?::VARCHAR[]))",
            [sorted(gone)],
        ).fetchone()
        n += int(n_gone)
    if rows:
        (n_other,) = con.execute(
            "DELETE FROM rejects USING (SELECT unnest(?::VARCHAR[]) AS o, "
            "unnest(?::VARCHAR[]) AS why) t WHERE rejects.origin = t.o AND rejects.reason <> t.why",
            [[o for o, _ in rows], [r for _, r in rows]],
        ).fetchone()
        n += int(n_other)
    return n


def _record_files(
    con: duckdb.DuckDBPyConnection,
    files: list[_File],
    tallies: list[tuple[_File | None, str, str]],
    run_id: int,
) -> None:
    """Record files read to their end, with their tallies including this batch's items."""
    # This batch's tallies go on copies: the files themselves are tallied after COMMIT.
    done = {id(f): replace(f, reasons=dict(f.reasons)) for f in files}
    for g, kind, reason in tallies:
        if g is not None and id(g) in done:
            done[id(g)].tally(kind, reason)
    rows = [
        {
            "path": d.path,
            "options_hash": d.options_hash,
            "size": d.size,
            "mtime_ns": d.mtime_ns,
            "n_articles": d.articles,
            "n_duplicates": d.duplicates,
            "n_rejected": d.rejected,
            "reject_reasons": json.dumps(d.reasons),
            "run_id": run_id,
        }
        for d in done.values()
        if not d.store_error  # read it again next time: the database may accept it then
    ]
    if rows:
        con.register("_wb_files", pd.DataFrame(rows))
        try:
            con.execute("INSERT OR REPLACE INTO files BY NAME SELECT * FROM _wb_files")
        finally:
            con.unregister("_wb_files")


def _article_row(a: Article, run_id: int) -> dict[str, Any]:
    return {
        "article_id": a.article_id,
        "date": a.date,
        "published": a.published,
        "title": a.title,
        "source": a.source,
        "url": a.url,
        "text": a.text,
        "origin": a.origin,
        "format": a.format,
        "encoding": a.encoding,
        "decode_note": a.decode_note,
        "meta": json.dumps(a.meta, ensure_ascii=False),
        "text_hash": a.text_hash,
        "n_chars": len(a.text),
        "n_words": len(a.text.split()),
        "run_id": run_id,
    }


def summary(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Corpus at a glance: counts, date range, sources, rejects by reason, stage counts."""
    n, dmin, dmax, words = con.execute(
        "SELECT count(*), min(date), max(date), coalesce(sum(n_words), 0) FROM articles"
    ).fetchone()
    reasons = dict(
        con.execute(
            "SELECT reason, count(*) FROM rejects GROUP BY reason ORDER BY 2 DESC"
        ).fetchall()
    )
    sources = dict(
        con.execute(
            "SELECT coalesce(source, '(none)'), count(*) FROM articles GROUP BY 1 "
            "ORDER BY 2 DESC, 1 LIMIT 20"
        ).fetchall()
    )
    out: dict[str, Any] = {
        "articles": n,
        "words": int(words),
        "date_min": dmin.isoformat() if isinstance(dmin, dt.date) else None,
        "date_max": dmax.isoformat() if isinstance(dmax, dt.date) else None,
        "undated": con.execute("SELECT count(*) FROM articles WHERE date IS NULL").fetchone()[0],
        "duplicates": con.execute("SELECT count(*) FROM duplicates").fetchone()[0],
        "rejects": sum(reasons.values()),
        "reject_reasons": reasons,
        "sources": sources,  # the 20 largest; n_sources counts them all
        "n_sources": con.execute(
            "SELECT count(DISTINCT coalesce(source, '(none)')) FROM articles"
        ).fetchone()[0],
    }
    out.update(
        store.table_counts(con, ["sentences", "mentions", "entities", "article_themes", "quotes"])
    )
    return out
