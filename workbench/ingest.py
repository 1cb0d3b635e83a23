"""Ingest: stream loader output into DuckDB in batches, one transaction per batch."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from . import config, store
from .load import Article, Limits, Reject, load
from .progress import progress_bar
from .versions import versions

if TYPE_CHECKING:  # pragma: no cover
    import duckdb


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

    def __str__(self) -> str:
        reasons = ", ".join(f"{k}: {v}" for k, v in sorted(self.reject_reasons.items()))
        return (
            f"run {self.run_id}: {self.inputs:,} inputs -> {self.stored:,} stored, "
            f"{self.unchanged:,} already present, {self.duplicates:,} duplicates, "
            f"{self.rejected:,} rejected{f' ({reasons})' if reasons else ''} "
            f"in {self.seconds:.1f}s"
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


def start_run(con: duckdb.DuckDBPyConnection, kind: str, inputs: Any, options: dict) -> int:
    # Not nextval('run_seq'): DuckDB 1.5.5 does not log a sequence advanced by a SELECT, so
    # after a kill -9 and WAL replay it hands out a run_id that exists, and every later run
    # fails on the primary key. max + 1 over the table is crash-proof (one writing process).
    (run_id,) = con.execute(
        "INSERT INTO runs (run_id, kind, started_at, status, inputs, options, versions) "
        "SELECT coalesce(max(run_id), 0) + 1, ?, now(), 'running', ?, ?, ? FROM runs "
        "RETURNING run_id",
        [
            kind,
            json.dumps(inputs, default=str),
            json.dumps(options, default=str),
            json.dumps(versions()),
        ],
    ).fetchone()
    return int(run_id)


def finish_run(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    status: str,
    seconds: float,
    counts: dict[str, int] | None = None,
) -> None:
    counts = counts or {}
    con.execute(
        "UPDATE runs SET finished_at = now(), status = ?, seconds = ?, n_inputs = ?, "
        "n_stored = ?, n_unchanged = ?, n_rejected = ?, n_duplicates = ? WHERE run_id = ?",
        [
            status,
            seconds,
            counts.get("inputs"),
            counts.get("stored"),
            counts.get("unchanged"),
            counts.get("rejected"),
            counts.get("duplicates"),
            run_id,
        ],
    )


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
) -> IngestResult:
    """Load ``paths`` into the database; safe to repeat (same input -> same rows).

    ``limit`` stops after that many inputs (for samples of a large corpus).
    """
    limits = limits or Limits()
    options = {
        "format": format,
        "columns": columns,
        "source_name": source_name,
        "limits": asdict(limits),
        "batch_size": batch_size,
        "limit": limit,
    }
    # One writing process per file (DuckDB's lock): an ingest run still marked "running"
    # belongs to a process that died (kill -9, power loss). Its committed batches are kept;
    # re-running the same ingest completes it.
    con.execute(
        "UPDATE runs SET status = 'interrupted' WHERE status = 'running' AND kind = 'ingest'"
    )
    run_id = start_run(con, "ingest", [str(p) for p in paths], options)
    result = IngestResult(run_id=run_id)
    t0 = time.perf_counter()
    batch: list[Article | Reject] = []
    status = "failed"
    try:
        with progress_bar(desc="ingest", unit="doc", enable=progress) as bar:
            items = load(
                paths, format=format, columns=columns, source_name=source_name, limits=limits
            )
            for n, item in enumerate(items):
                if limit is not None and n >= limit:
                    break
                batch.append(item)
                if len(batch) >= batch_size:
                    _write_batch(con, batch, run_id, result)
                    bar.update(len(batch))
                    batch = []
            if batch:
                _write_batch(con, batch, run_id, result)
                bar.update(len(batch))
        status = "ok"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        result.seconds = time.perf_counter() - t0
        finish_run(con, run_id, status, result.seconds, asdict(result))
    return result


def _write_batch(
    con: duckdb.DuckDBPyConnection, batch: list[Article | Reject], run_id: int, result: IngestResult
) -> None:
    """Write one batch in one transaction; if the database refuses it, find the item it
    refuses (one transaction each) and record that one as a ``store_error`` reject."""
    try:
        _write_batch_tx(con, batch, run_id, result)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # noqa: BLE001 - isolate the offending item, keep the rest
        if len(batch) > 1:
            for item in batch:
                _write_batch(con, [item], run_id, result)
            return
        item = batch[0]
        reject = Reject(
            item.origin,
            "store_error",
            f"the database refused this item: {type(exc).__name__}: {exc}"[:500],
            "",
            item.format,
        )
        if isinstance(item, Reject) and item.reason == "store_error":
            raise
        _write_batch(con, [reject], run_id, result)


def _write_batch_tx(
    con: duckdb.DuckDBPyConnection, batch: list[Article | Reject], run_id: int, result: IngestResult
) -> None:
    articles = [a for a in batch if isinstance(a, Article)]
    rejects = [r for r in batch if isinstance(r, Reject)]
    con.execute("BEGIN TRANSACTION")
    try:
        existing: dict[str, str] = {}
        if articles:
            ids = sorted({a.article_id for a in articles})
            existing = dict(
                con.execute(
                    "SELECT article_id, origin FROM articles WHERE article_id IN "
                    "(SELECT unnest(?::VARCHAR[]))",
                    [ids],
                ).fetchall()
            )
        new_rows: list[dict[str, Any]] = []
        dup_rows: list[dict[str, Any]] = []
        for a in articles:
            first_origin = existing.get(a.article_id)
            if first_origin is None:
                existing[a.article_id] = a.origin
                new_rows.append(_article_row(a, run_id))
            elif first_origin == a.origin:
                result.unchanged += 1
            else:
                dup_rows.append(
                    {
                        "article_id": a.article_id,
                        "origin": a.origin,
                        "format": a.format,
                        "kind": "exact",
                        "run_id": run_id,
                    }
                )
        if new_rows:
            store.insert_df(con, "articles", pd.DataFrame(new_rows, columns=ARTICLE_COLUMNS))
        if dup_rows:
            store.insert_df(con, "duplicates", pd.DataFrame(dup_rows), ignore=True)
        if rejects:
            store.insert_df(
                con,
                "rejects",
                pd.DataFrame(
                    [
                        {
                            "origin": r.origin,
                            "reason": r.reason,
                            "detail": r.detail,
                            "first_bytes": r.first_bytes,
                            "format": r.format,
                            "run_id": run_id,
                        }
                        for r in rejects
                    ]
                ),
                ignore=True,
            )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    result.inputs += len(batch)
    result.stored += len(new_rows)
    result.duplicates += len(dup_rows)
    result.rejected += len(rejects)
    for r in rejects:
        result.reject_reasons[r.reason] = result.reject_reasons.get(r.reason, 0) + 1


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
        "sources": sources,
    }
    out.update(
        store.table_counts(con, ["sentences", "mentions", "entities", "article_themes", "quotes"])
    )
    return out
