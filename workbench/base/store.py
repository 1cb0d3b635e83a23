"""DuckDB storage: one file, a versioned schema, values always bound as parameters.

The schema is the contract between stages; every stage writes only its own tables:

- ingest (ingest/load.py, ingest/load_web.py): articles, duplicates, rejects, runs, files, pages_html
- extract (nlp/extract.py):       pipelines, sentences, mentions (raw spans)
- resolve (resolve/stage.py):       mentions.entity_id/country_iso3/region, entities, article_countries,
                              mention_places, resolve_articles, resolve_cache
- themes/tone/quotes:         themes, article_themes, theme_hits, sentence_tone, article_tone, quotes
- stories (annotate/stories.py):       story_signatures, story_bands, story_pairs, story_clusters, stories
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import duckdb

from . import errors

SCHEMA_VERSION = 12

#: ``LIMIT ?`` bound when the caller asked for no limit (``n=None``): DuckDB's LIMIT takes
#: a BIGINT, and one query text for both cases keeps the plans and the ``sql=True`` output alike.
NO_LIMIT = 2**62

#: Migrations: version -> statements. Append new versions; never edit a released one.
MIGRATIONS: dict[int, list[str]] = {
    1: [
        """CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)""",
        """CREATE SEQUENCE IF NOT EXISTS run_seq START 1""",
        """CREATE TABLE IF NOT EXISTS runs (
            run_id INTEGER PRIMARY KEY, kind VARCHAR NOT NULL,
            started_at TIMESTAMP NOT NULL, finished_at TIMESTAMP, status VARCHAR NOT NULL,
            inputs JSON, options JSON, versions JSON,
            n_inputs INTEGER, n_stored INTEGER, n_unchanged INTEGER, n_rejected INTEGER,
            n_duplicates INTEGER,
            seconds DOUBLE)""",
        """CREATE TABLE IF NOT EXISTS articles (
            article_id VARCHAR PRIMARY KEY, date DATE, published TIMESTAMP,
            title VARCHAR, source VARCHAR, url VARCHAR, text VARCHAR NOT NULL,
            origin VARCHAR NOT NULL, format VARCHAR NOT NULL, encoding VARCHAR,
            decode_note VARCHAR, meta JSON, text_hash VARCHAR NOT NULL,
            n_chars INTEGER NOT NULL, n_words INTEGER NOT NULL, run_id INTEGER,
            extracted_pipeline INTEGER)""",
        """CREATE TABLE IF NOT EXISTS duplicates (
            article_id VARCHAR NOT NULL, origin VARCHAR NOT NULL, format VARCHAR,
            kind VARCHAR NOT NULL, run_id INTEGER, PRIMARY KEY (article_id, origin))""",
        """CREATE TABLE IF NOT EXISTS rejects (
            origin VARCHAR NOT NULL, reason VARCHAR NOT NULL, detail VARCHAR,
            first_bytes VARCHAR, format VARCHAR, run_id INTEGER,
            PRIMARY KEY (origin, reason))""",
        """CREATE TABLE IF NOT EXISTS pipelines (
            pipeline_id INTEGER PRIMARY KEY, model VARCHAR NOT NULL,
            workbench_version VARCHAR NOT NULL, components VARCHAR[],
            created_at TIMESTAMP NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS sentences (
            article_id VARCHAR NOT NULL, idx INTEGER NOT NULL,
            start_char INTEGER NOT NULL, end_char INTEGER NOT NULL, text VARCHAR NOT NULL,
            tokens VARCHAR[], lemmas VARCHAR[], token_starts INTEGER[], pipeline_id INTEGER)""",
        """CREATE TABLE IF NOT EXISTS mentions (
            article_id VARCHAR NOT NULL, sentence_idx INTEGER NOT NULL,
            start_char INTEGER NOT NULL, end_char INTEGER NOT NULL, text VARCHAR NOT NULL,
            label VARCHAR NOT NULL, norm VARCHAR, entity_id VARCHAR, country_iso3 VARCHAR,
            region VARCHAR, pipeline_id INTEGER, registry_hash VARCHAR)""",
        """CREATE TABLE IF NOT EXISTS entities (
            entity_id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, type VARCHAR NOT NULL,
            aliases VARCHAR[], country_iso3 VARCHAR, n_mentions INTEGER, n_articles INTEGER,
            registry_hash VARCHAR)""",
        """CREATE TABLE IF NOT EXISTS article_countries (
            article_id VARCHAR NOT NULL, iso3 VARCHAR NOT NULL, mentions INTEGER NOT NULL,
            first_pos INTEGER, via VARCHAR[], in_dateline BOOLEAN, registry_hash VARCHAR)""",
        """CREATE TABLE IF NOT EXISTS themes (
            theme_id VARCHAR PRIMARY KEY, label VARCHAR NOT NULL, description VARCHAR,
            parent VARCHAR, taxonomy_hash VARCHAR, n_patterns INTEGER, source VARCHAR)""",
        """CREATE TABLE IF NOT EXISTS article_themes (
            article_id VARCHAR NOT NULL, theme_id VARCHAR NOT NULL, score DOUBLE,
            hits INTEGER, taxonomy_hash VARCHAR, n_patterns INTEGER)""",
        """CREATE TABLE IF NOT EXISTS theme_hits (
            article_id VARCHAR NOT NULL, sentence_idx INTEGER NOT NULL,
            start_char INTEGER NOT NULL, end_char INTEGER NOT NULL, theme_id VARCHAR NOT NULL,
            pattern VARCHAR, matched_text VARCHAR, taxonomy_hash VARCHAR)""",
        """CREATE TABLE IF NOT EXISTS sentence_tone (
            article_id VARCHAR NOT NULL, sentence_idx INTEGER NOT NULL,
            compound DOUBLE, pos DOUBLE, neg DOUBLE, neu DOUBLE)""",
        """CREATE TABLE IF NOT EXISTS article_tone (
            article_id VARCHAR PRIMARY KEY, tone DOUBLE, n_sentences INTEGER)""",
        """CREATE TABLE IF NOT EXISTS quotes (
            article_id VARCHAR NOT NULL, quote_idx INTEGER NOT NULL,
            sentence_idx INTEGER, start_char INTEGER NOT NULL, end_char INTEGER NOT NULL,
            text VARCHAR NOT NULL, speaker VARCHAR, speaker_entity_id VARCHAR,
            speaker_start INTEGER, speaker_end INTEGER, cue VARCHAR, method VARCHAR)""",
        """CREATE TABLE IF NOT EXISTS stage_done (
            stage VARCHAR NOT NULL, article_id VARCHAR NOT NULL, version VARCHAR,
            n INTEGER, done_at TIMESTAMP, PRIMARY KEY (stage, article_id))""",
    ],
    # Files an ingest run read to the end: an unchanged file (same path, size, mtime and
    # loader options) is skipped without being parsed again.
    2: [
        """CREATE TABLE IF NOT EXISTS files (
            path VARCHAR NOT NULL, options_hash VARCHAR NOT NULL, size BIGINT NOT NULL,
            mtime_ns BIGINT NOT NULL, n_articles INTEGER NOT NULL, n_duplicates INTEGER NOT NULL,
            n_rejected INTEGER NOT NULL, reject_reasons JSON, run_id INTEGER,
            PRIMARY KEY (path, options_hash))""",
    ],
    # Salient countries of an article (resolve/stage.py computes it; see SALIENCE there).
    3: ["ALTER TABLE article_countries ADD COLUMN IF NOT EXISTS salient BOOLEAN"],
    # Every stage run's counts (base/runs.py): articles processed, cleared rejects, ...
    4: ["ALTER TABLE runs ADD COLUMN IF NOT EXISTS counts JSON"],
    # Raw web pages kept by ``ingest --keep-html`` (gzip bytes), for re-extraction later.
    5: [
        """CREATE TABLE IF NOT EXISTS pages_html (
            article_id VARCHAR PRIMARY KEY, origin VARCHAR NOT NULL, url VARCHAR,
            content_type VARCHAR, html_gz BLOB NOT NULL, run_id INTEGER)"""
    ],
    # Outlet metadata (annotate/sources.py): outlet -> any attributes (country, type, partisanship).
    6: [
        """CREATE TABLE IF NOT EXISTS sources (
            source VARCHAR PRIMARY KEY, attrs JSON NOT NULL, origin VARCHAR)"""
    ],
    # Actors (resolve/stage.py): a mention of the article's own outlet ("Vox" in Vox) keeps no
    # entity; quotes (annotate/quotes.py): quotations of <= 3 words are fragments ("feebly").
    7: [
        "ALTER TABLE mentions ADD COLUMN IF NOT EXISTS self_mention BOOLEAN",
        "ALTER TABLE quotes ADD COLUMN IF NOT EXISTS fragment BOOLEAN",
    ],
    # Stories: near-duplicate articles grouped (annotate/stories.py); its parameters in meta.
    8: [
        """CREATE TABLE IF NOT EXISTS story_signatures (
            article_id VARCHAR PRIMARY KEY, seq BIGINT NOT NULL, n_shingles INTEGER NOT NULL,
            minhash BLOB NOT NULL, stamp VARCHAR NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS story_bands (
            band SMALLINT NOT NULL, key BIGINT NOT NULL, article_id VARCHAR NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS story_pairs (
            article_id VARCHAR NOT NULL, other_id VARCHAR NOT NULL, jaccard DOUBLE NOT NULL,
            containment DOUBLE NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS story_clusters (
            story_id VARCHAR NOT NULL, article_id VARCHAR PRIMARY KEY, similarity DOUBLE,
            containment DOUBLE, is_first BOOLEAN)""",
        """CREATE TABLE IF NOT EXISTS stories (
            story_id VARCHAR PRIMARY KEY, first_article_id VARCHAR, first_date DATE,
            first_source VARCHAR, size INTEGER NOT NULL, n_outlets INTEGER NOT NULL,
            outlets VARCHAR[])""",
    ],
    # Place below the country of each resolved place mention (resolve/stage.py, resolve/places.py).
    9: [
        """CREATE TABLE IF NOT EXISTS mention_places (
            article_id VARCHAR NOT NULL, start_char INTEGER NOT NULL, end_char INTEGER NOT NULL,
            geonameid BIGINT, name VARCHAR NOT NULL, fclass VARCHAR NOT NULL,
            iso3 VARCHAR NOT NULL, admin1 VARCHAR, admin1_name VARCHAR,
            lat DOUBLE, lon DOUBLE, confidence DOUBLE, registry_hash VARCHAR)"""
    ],
    # Per-article resolution results kept for incremental resolve (resolve/stage.py): an append
    # runs the per-article step on the new articles only.
    10: [
        """CREATE TABLE IF NOT EXISTS resolve_articles (
            article_id VARCHAR NOT NULL, digest UBIGINT NOT NULL, dateline_iso3 VARCHAR,
            title_iso3 VARCHAR[], acronyms STRUCT(acronym VARCHAR, name VARCHAR)[],
            source VARCHAR, states VARCHAR)""",
        """CREATE TABLE IF NOT EXISTS resolve_cache (
            article_id VARCHAR NOT NULL, start_char INTEGER NOT NULL, end_char INTEGER NOT NULL,
            raw_label VARCHAR NOT NULL, label VARCHAR NOT NULL, norm VARCHAR, link_key VARCHAR,
            code VARCHAR, affil VARCHAR, alt VARCHAR, self_mention BOOLEAN, pcue INTEGER,
            ocue INTEGER, place_cands VARCHAR)""",
    ],
    # Stories: each signature keeps the compact body its pairs are verified on (shingle
    # hashes, figures, headline words), so verification never reads and re-shingles text.
    11: ["ALTER TABLE story_signatures ADD COLUMN IF NOT EXISTS body BLOB"],
    # Stories: a verified pair that is a wire re-issue of the other (annotate/story_rules.py)
    # is one story whatever its similarity.
    12: ["ALTER TABLE story_pairs ADD COLUMN IF NOT EXISTS reissue BOOLEAN"],
}

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def quote_ident(name: str) -> str:
    """The one way identifiers reach SQL: double-quoted, embedded quotes doubled."""
    if not isinstance(name, str) or not name or "\x00" in name:
        raise errors.BadOption(f"invalid SQL identifier {name!r}")
    return '"' + name.replace('"', '""') + '"'


def connect(path: str, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the database file; a refused open becomes a clear message.

    Every refused open is a ``duckdb.IOException``, whatever the cause (a lock, a damaged
    file, a file of another kind), so the cause is found from the file itself -- its lock
    and its header -- never from the words of DuckDB's message.
    """
    try:
        return _attach(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        if _lock_held(str(path), read_only=read_only):
            m = re.search(r"held in (.*?) \(PID (\d+)\)", str(exc))  # only to name the holder
            detail = _holder(int(m.group(2)), m.group(1)) if m else "it holds the file lock"
            raise errors.DatabaseInUse(
                errors.db_in_use(str(path), detail, read_only=read_only)
            ) from None
        header = _has_duckdb_header(str(path))
        if header is None:  # missing or unreadable: DuckDB's own words say which
            raise errors.WorkbenchError(
                f"cannot open database {path}: {exc}. Check the path and its permissions, "
                "or pass --db (env WORKBENCH_DB) another file."
            ) from None
        raise errors.DatabaseDamaged(
            errors.db_damaged(str(path), str(exc), not_duckdb=not header)
        ) from None
    except duckdb.BinderException:  # this process has it attached in the other mode
        raise errors.DatabaseInUse(errors.db_open_in_process(str(path), read_only)) from None


#: Rows per row group of every table (DuckDB's default: 122,880). Each checkpoint rewrites
#: the partly filled row group whole, so with the default an ingest's peak memory grows
#: with the corpus until ~123k articles; 8,192 keeps it flat (bench/RESULTS.md, issue 20).
ROW_GROUP_SIZE = 8192


def _attach(path: str, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    """A connection with the file attached at ``ROW_GROUP_SIZE`` and made the default.

    DuckDB keeps no row-group size in the file (1.5.5), so it is an option of each
    ``ATTACH``. The in-memory instance is named after the file and the mode, so that
    connections to one file in one process share it, as ``duckdb.connect(path)`` does; the
    file is detached (and checkpointed) when the last of them closes.
    """
    full = os.path.abspath(path)
    mode = "ro" if read_only else "rw"
    con = duckdb.connect(f":memory:workbench-{mode}:{full}")
    try:
        options = f"ROW_GROUP_SIZE {int(ROW_GROUP_SIZE)}" + (", READ_ONLY" if read_only else "")
        alias = quote_ident(_alias(full))
        literal = "'" + full.replace("'", "''") + "'"
        con.execute(f"ATTACH IF NOT EXISTS {literal} AS {alias} ({options})")
        con.execute(f"USE {alias}")
        # An in-memory instance would spill to ./.tmp; a file's own default is beside it.
        con.execute("SET temp_directory = ?", [full + ".tmp"])
    except BaseException:
        con.close()
        raise
    return con


def cursor(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A second connection to ``con``'s database (``con.cursor()`` starts in the instance's
    in-memory catalog, not in the attached file)."""
    cur = con.cursor()
    (name,) = con.execute("SELECT current_database()").fetchone()
    cur.execute(f"USE {quote_ident(name)}")
    return cur


def _alias(path: str) -> str:
    """The catalog name ``duckdb.connect(path)`` would give: the file's stem, unless it is
    one of the names the instance already holds."""
    stem = os.path.splitext(os.path.basename(path))[0]
    return "workbench" if stem.lower() in {"", "memory", "system", "temp", "main"} else stem


#: DuckDB's file magic, at this offset of the main header.
_MAGIC, _MAGIC_AT = b"DUCK", 8


def _has_duckdb_header(path: str) -> bool | None:
    """Whether the file starts like a DuckDB database; None when it cannot be read."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(_MAGIC_AT + len(_MAGIC))
    except OSError:
        return None
    return head[_MAGIC_AT:] == _MAGIC


def _lock_held(path: str, *, read_only: bool) -> bool:
    """Whether another process holds a lock on ``path`` that this open conflicts with.

    DuckDB takes a POSIX record lock on the whole file (shared to read, exclusive to
    write); probing with the same kind of lock, non-blocking, tells whether it was the
    reason. Where there are no POSIX locks (Windows), a refused open counts as held.
    """
    try:
        # POSIX only: absent on Windows.
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return True
    try:
        fh = open(path, "rb" if read_only else "r+b")  # noqa: SIM115 - closed below
    except OSError:
        return False
    try:
        kind = fcntl.LOCK_SH if read_only else fcntl.LOCK_EX
        fcntl.lockf(fh.fileno(), kind | fcntl.LOCK_NB)
    except OSError:
        return True
    else:
        fcntl.lockf(fh.fileno(), fcntl.LOCK_UN)
        return False
    finally:
        fh.close()


def _holder(pid: int, program: str) -> str:
    """``PID 123: workbench ingest ...`` -- which process holds the lock, for the message."""
    try:
        # About 20 ms, and only to name the process that holds the lock.
        import psutil

        cmd = " ".join(psutil.Process(pid).cmdline()) or program
    except Exception:  # noqa: BLE001 - another machine's PID, gone, or not permitted
        cmd = program
    return f"PID {pid}: {cmd[:120]}"


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    has = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchone()[0]
    if not has:
        return 0
    row = con.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def refuse_foreign(con: duckdb.DuckDBPyConnection, path: str = "") -> None:
    """Refuse a database file of another application: one with tables or views but no
    workbench schema version. A new or empty file is fine (the workbench sets it up)."""
    if current_version(con):
        return
    found = [
        r[0]
        for r in con.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables "
            "WHERE table_catalog = current_database() "
            "AND NOT (table_schema = 'main' AND table_name = 'schema_version') ORDER BY 1"
        ).fetchall()
    ]
    if found:
        raise errors.ForeignDatabase(errors.db_foreign(path, found))


def migrate(con: duckdb.DuckDBPyConnection, path: str = "") -> int:
    """Bring the schema to SCHEMA_VERSION; each version applies in one transaction.
    A file of another application is refused, untouched (``refuse_foreign``)."""
    refuse_foreign(con, path)
    found = current_version(con)
    if found > SCHEMA_VERSION:
        raise errors.SchemaTooNew(errors.schema_too_new(path, found, SCHEMA_VERSION))
    if found == 0:
        con.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER, applied_at TIMESTAMP)"
        )
    for version in range(found + 1, SCHEMA_VERSION + 1):
        with transaction(con):
            for stmt in MIGRATIONS[version]:
                con.execute(stmt)
            con.execute("INSERT INTO schema_version VALUES (?, now())", [version])
    return SCHEMA_VERSION


@contextlib.contextmanager
def transaction(
    con: duckdb.DuckDBPyConnection,
    *,
    committed: Callable[[], None] | None = None,
    shield: Callable[[], contextlib.AbstractContextManager[Any]] = contextlib.nullcontext,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """One transaction: committed when the block ends, rolled back when anything (ctrl-C
    included) leaves it, so a chunk is stored whole or not at all.

    ``committed`` runs right after the COMMIT (to count what was stored) and ``shield``
    wraps both (``runs.deferred``: a ctrl-C waits), so counts and database never disagree.
    """
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
        with shield():
            con.execute("COMMIT")
            if committed is not None:
                committed()
    except BaseException:
        rollback_open(con)
        raise


#: Up to this many stored sentences, the stages after extraction run on one DuckDB thread.
#: Why: below two row groups (``ROW_GROUP_SIZE``) no table scan of those stages can be split
#: between threads, yet a second thread costs CPU on every statement: at 400 articles the
#: search index and the aggregates took ~40 % less CPU on one thread (bench/RESULTS.md,
#: issue 20). Larger corpora keep DuckDB's own thread count.
SMALL_WORK_ROWS = 2 * ROW_GROUP_SIZE


@contextlib.contextmanager
def threads_for(con: duckdb.DuckDBPyConnection, rows: int) -> Iterator[None]:
    """One DuckDB thread inside the block when ``rows`` (the size of the work) is at most
    ``SMALL_WORK_ROWS``; the setting (of the whole database instance) is restored after."""
    if rows > SMALL_WORK_ROWS:
        yield
        return
    (old,) = con.execute("SELECT current_setting('threads')").fetchone()
    con.execute("SET threads = 1")
    try:
        yield
    finally:
        con.execute("SET threads = ?", [int(old)])


def rollback_open(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back a transaction left open by an error or an interrupt (none open is fine:
    DuckDB may already have aborted it)."""
    try:
        con.execute("ROLLBACK")
    except duckdb.TransactionException:
        pass  # no transaction active


def limit_param(n: int | None) -> int:
    """The value bound to ``LIMIT ?``: ``n``, or ``NO_LIMIT`` for None (everything)."""
    return NO_LIMIT if n is None else n


def insert_df(con: duckdb.DuckDBPyConnection, table: str, df: Any, *, ignore: bool = False) -> int:
    """Bulk-insert a pandas/Arrow frame by column name (one statement, no row loop)."""
    if len(df) == 0:
        return 0
    names = df.column_names if hasattr(df, "column_names") else df.columns  # Arrow or pandas
    cols = ", ".join(quote_ident(c) for c in names)
    verb = "INSERT OR IGNORE INTO" if ignore else "INSERT INTO"
    view = "_wb_insert_frame"
    con.register(view, df)
    try:
        con.execute(f"{verb} {quote_ident(table)} ({cols}) SELECT {cols} FROM {view}")  # noqa: S608
    finally:
        con.unregister(view)
    return len(df)


def in_list_params(values: Sequence[Any]) -> str:
    """Placeholders for an IN list: ``?, ?, ?`` (values are bound separately)."""
    return ", ".join("?" for _ in values) or "NULL"


def set_meta(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])


def get_meta(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    row = con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def table_counts(con: duckdb.DuckDBPyConnection, tables: Iterable[str]) -> dict[str, int]:
    return {
        t: con.execute(f"SELECT count(*) FROM {quote_ident(t)}").fetchone()[0]  # noqa: S608
        for t in tables
    }
