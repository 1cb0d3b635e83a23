"""The stage runner: every annotation stage after extraction runs the same loop.

Why one runner: themes, tone and quotes each turn an article's stored rows into rows of
their own tables, incrementally and resumably. What differs is only the compute step; the
rest must be the same everywhere so that every stage resumes, replaces and records alike:

1. ``prepare`` (optional, one transaction): what a changed method or taxonomy resets;
2. the *pending* articles: those with stored sentences and no ``stage_done`` row of this
   stage at this version;
3. per chunk of ``chunk`` articles: ``compute`` the new rows (reading only), then in one
   transaction delete the chunk's old rows from the stage's tables, insert the new ones and
   mark the articles done (``stage_done``, with a count per article);
4. one ``runs`` row for the run (``runs.recorded``): status, seconds and the stage's counts;
   ctrl-C rolls back the chunk in flight and says how far analysis got.

Re-running a stage therefore replaces rows, never doubles them, and an interrupted run
resumes at the first chunk it did not commit.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from ..base import runs, store
from ..base.progress import progress_bar

if TYPE_CHECKING:  # pragma: no cover
    import duckdb


@dataclass(frozen=True)
class Stage:
    """A stage's identity: its ``stage_done``/``runs`` name, version and the tables it owns."""

    name: str
    version: str
    tables: tuple[str, ...]
    chunk: int = 500


@dataclass
class Chunk:
    """What ``compute`` made of one chunk of articles.

    ``rows``: table -> new rows (Arrow); ``done``: the count ``stage_done.n`` keeps for each
    article, in the order of the ids; ``tally``: numbers added to the stage's result once
    the chunk is committed (``{"hits": 12}`` adds 12 to ``result.hits``).
    """

    rows: dict[str, pa.Table]
    done: list[int]
    tally: dict[str, int] = field(default_factory=dict)


def run(
    con: duckdb.DuckDBPyConnection,
    stage: Stage,
    compute: Callable[[list[str]], Chunk],
    *,
    result: Any,
    prepare: Callable[[], None] | None = None,
    options: dict[str, Any] | None = None,
    progress: bool = True,
) -> Any:
    """Run ``stage`` over its pending articles and return ``result`` with its counts filled
    (counts already in it, those of an :class:`Along` run during extraction, are kept).

    ``result`` is the stage's result dataclass: ``articles`` and ``seconds`` are set here,
    the ``tally`` of each chunk is added to it, and it is what the ``runs`` row records
    (also when the run fails or is interrupted: the counts of what was committed).
    """
    t0 = time.perf_counter()
    with runs.recorded(con, stage.name, options=options) as rec:
        rec.result = result
        rec.on_interrupt = lambda: analysis_state(con)
        if prepare is not None:
            with store.transaction(con):
                prepare()
        ids = pending_articles(con, stage.name, stage.version)
        # no bar when nothing is pending (themes and tone done along extraction): a
        # "themes: 0 article" line would read as if nothing had been tagged
        shown = progress and bool(ids)
        with progress_bar(desc=stage.name, unit="article", total=len(ids), enable=shown) as bar:
            for lo in range(0, len(ids), stage.chunk):
                part = ids[lo : lo + stage.chunk]
                out = compute(part)
                _replace(con, stage, part, out, result)
                bar.update(len(part))
        result.seconds = time.perf_counter() - t0
    return result


def _replace(
    con: duckdb.DuckDBPyConnection,
    stage: Stage,
    ids: list[str],
    out: Chunk,
    result: Any,
) -> None:
    """One transaction: the chunk's old rows out, its new rows in, its articles done; its
    counts go to ``result`` as it commits (ctrl-C deferred), so the ``runs`` row and the
    database agree."""

    def committed() -> None:
        result.articles += len(ids)
        for k, v in out.tally.items():
            setattr(result, k, getattr(result, k) + v)

    with store.transaction(con, committed=committed, shield=runs.deferred):
        delete_for(con, stage.tables, ids)
        for table, rows in out.rows.items():
            store.insert_df(con, table, rows)
        mark_done(con, stage.name, stage.version, ids, out.done)


@dataclass
class Along:
    """A stage's compute step run inside extraction, on each chunk's new sentence rows while
    they are still in memory (``analyze`` passes these to ``extract``).

    Why: the stage would otherwise read the same rows back from DuckDB afterwards, and with
    ``workers`` > 1 the step runs in the extraction workers, beside spaCy, instead of alone
    in the parent. ``compute`` maps the chunk's sentences (Arrow, extraction's schema; each
    article's rows together, in ``idx`` order) to the stage's :class:`Chunk` for the
    articles that have sentences, in their order there; it must pickle (a module-level
    function or a ``functools.partial`` of one) to reach a worker. ``write`` stores it in
    the extraction's transaction as the stage runner would, so an article is extracted and
    done by this stage together or not at all; the stage itself then finds nothing pending
    for those articles. ``result`` keeps the counts the stage reports (and records) after.
    """

    stage: Stage
    compute: Callable[[pa.Table], Chunk]
    result: Any

    def write(self, con: duckdb.DuckDBPyConnection, sentences: pa.Table, out: Chunk) -> None:
        """Delete, insert, mark done (the caller holds the transaction); count once committed."""
        ids = article_ids_of(sentences)
        delete_for(con, self.stage.tables, ids)
        for table, rows in out.rows.items():
            store.insert_df(con, table, rows)
        mark_done(con, self.stage.name, self.stage.version, ids, out.done)

    def committed(self, sentences: pa.Table, out: Chunk) -> None:
        self.result.articles += len(article_ids_of(sentences))
        for k, v in out.tally.items():
            setattr(self.result, k, getattr(self.result, k) + v)


def article_ids_of(sentences: pa.Table) -> list[str]:
    """The distinct article ids of sentence rows, in their order there."""
    return list(dict.fromkeys(sentences.column("article_id").to_pylist()))


def forget(con: duckdb.DuckDBPyConnection, stage: str) -> None:
    """Every article pending again for ``stage`` (its method changed): rows are replaced as
    the articles are processed again."""
    con.execute("DELETE FROM stage_done WHERE stage = ?", [stage])


def pending_articles(con: duckdb.DuckDBPyConnection, stage: str, version: str) -> list[str]:
    """Articles with stored sentences that this stage has not processed at this version."""
    return [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT s.article_id FROM sentences s WHERE NOT EXISTS ("
            " SELECT 1 FROM stage_done d WHERE d.stage = ? AND d.article_id = s.article_id"
            " AND d.version = ?) ORDER BY 1",
            [stage, version],
        ).fetchall()
    ]


def mark_done(
    con: duckdb.DuckDBPyConnection, stage: str, version: str, ids: list[str], counts: list[int]
) -> None:
    """``stage_done`` rows for ``ids`` at ``version`` (replacing older ones)."""
    con.register(
        "_wb_done",
        pa.table({"article_id": pa.array(ids, pa.string()), "n": pa.array(counts, pa.int32())}),
    )
    try:
        con.execute(
            "DELETE FROM stage_done WHERE stage = ? AND article_id IN "
            "(SELECT article_id FROM _wb_done)",
            [stage],
        )
        con.execute(
            "INSERT INTO stage_done (stage, article_id, version, n, done_at) "
            "SELECT ?, article_id, ?, n, now() FROM _wb_done",
            [stage, version],
        )
    finally:
        con.unregister("_wb_done")


def delete_for(con: duckdb.DuckDBPyConnection, tables: Sequence[str], ids: list[str]) -> None:
    """Remove a chunk's previous rows (re-processing replaces, never doubles)."""
    with ids_view(con, "_wb_del_ids", ids):
        for t in tables:
            con.execute(
                f"DELETE FROM {store.quote_ident(t)} WHERE article_id IN "  # noqa: S608
                "(SELECT article_id FROM _wb_del_ids)"
            )


@contextlib.contextmanager
def ids_view(con: duckdb.DuckDBPyConnection, name: str, ids: list[str]) -> Iterator[str]:
    """``ids`` as the one-column view ``name`` (``article_id``) to join a chunk on."""
    con.register(name, pa.table({"article_id": pa.array(ids, pa.string())}))
    try:
        yield name
    finally:
        con.unregister(name)


def analysis_state(con: duckdb.DuckDBPyConnection) -> str:
    """How far analysis got (committed rows), for the message after ctrl-C."""
    done, total = con.execute(
        "SELECT count(*) FILTER (WHERE extracted_pipeline IS NOT NULL), count(*) FROM articles"
    ).fetchone()
    per_stage = dict(con.execute("SELECT stage, count(*) FROM stage_done GROUP BY 1").fetchall())
    later = ", ".join(f"{k} {v:,}" for k, v in sorted(per_stage.items()))
    return f"{done:,} of {total:,} articles extracted" + (
        f"; articles done by later stages: {later}" if later else ""
    )
