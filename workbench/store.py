"""DuckDB storage: one file, a versioned schema, values always bound as parameters.

The schema is the contract between stages; every stage writes only its own tables:

- ingest (load.py):           articles, duplicates, rejects, runs, files
- extract (extract.py):       pipelines, sentences, mentions (raw spans)
- resolve (resolve.py):       mentions.entity_id/country_iso3/region, entities, article_countries
- themes/tone/quotes:         themes, article_themes, theme_hits, sentence_tone, article_tone, quotes
- stories (stories.py):       story_signatures, story_bands, story_pairs, story_clusters, stories
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import duckdb

from . import errors

SCHEMA_VERSION = 4

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
    # Salient countries of an article (resolve.py computes it; see SALIENCE there).
    3: ["ALTER TABLE article_countries ADD COLUMN IF NOT EXISTS salient BOOLEAN"],
    # Stories: near-duplicate articles grouped (stories.py); its parameters in meta.
    4: [
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
}

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def quote_ident(name: str) -> str:
    """The one way identifiers reach SQL: double-quoted, embedded quotes doubled."""
    if not isinstance(name, str) or not name or "\x00" in name:
        raise errors.BadOption(f"invalid SQL identifier {name!r}")
    return '"' + name.replace('"', '""') + '"'


def connect(path: str, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the database file, translating lock conflicts into a clear message."""
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        msg = str(exc)
        if "lock" in msg.lower():
            m = re.search(r"held in (.*?) \(PID (\d+)\)", msg)
            detail = _holder(int(m.group(2)), m.group(1)) if m else "it holds the file lock"
            raise errors.DatabaseInUse(
                errors.db_in_use(str(path), detail, read_only=read_only)
            ) from None
        raise
    except duckdb.ConnectionException as exc:
        if "different configuration" in str(exc):
            raise errors.DatabaseInUse(errors.db_open_in_process(str(path), read_only)) from None
        raise


def _holder(pid: int, program: str) -> str:
    """``PID 123: workbench ingest ...`` -- which process holds the lock, for the message."""
    try:
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


def migrate(con: duckdb.DuckDBPyConnection, path: str = "") -> int:
    """Bring the schema to SCHEMA_VERSION; each version applies in one transaction."""
    found = current_version(con)
    if found > SCHEMA_VERSION:
        raise errors.SchemaTooNew(errors.schema_too_new(path, found, SCHEMA_VERSION))
    if found == 0:
        con.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER, applied_at TIMESTAMP)"
        )
    for version in range(found + 1, SCHEMA_VERSION + 1):
        con.execute("BEGIN TRANSACTION")
        try:
            for stmt in MIGRATIONS[version]:
                con.execute(stmt)
            con.execute("INSERT INTO schema_version VALUES (?, now())", [version])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
    return SCHEMA_VERSION


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
