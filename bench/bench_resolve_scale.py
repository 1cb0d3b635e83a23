"""A replicated database with resolve's kept per-article results replicated too, so that
``bench_resolve.py`` on it measures the corpus-level part of resolve (and its memory) at a
size where a full per-article pass would take too long (issue 20).

    python bench/bench_resolve_scale.py BASE DB --articles 100000
    python bench/bench_resolve.py DB --calls 2

``BASE`` (an analysed database, e.g. ``bench_throughput``'s 400 Reuters articles) is
resolved first, in place, so its kept results match this code's rules stamp.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING

import benchlib as bl
from bench_scale_queries import build_scale

if TYPE_CHECKING:  # pragma: no cover
    import duckdb


def replicate_kept(con: duckdb.DuckDBPyConnection, copies: int) -> None:
    """Copy ``k`` (``a~k``) of resolve's kept per-article results of every article of the
    attached ``base``, and its rules stamp: a resolve of the copies then runs the
    corpus-level part only, as after an append to an analysed corpus."""
    from workbench.base import store
    from workbench.resolve import stage as resolve

    con.execute("CREATE OR REPLACE TEMP TABLE k AS SELECT range AS k FROM range(?)", [copies])
    q = store.quote_ident
    for table in ("resolve_cache", "resolve_articles"):
        cols = [r[0] for r in con.execute(f"DESCRIBE base.{q(table)}").fetchall()]
        sel = ", ".join(
            "x.article_id || '~' || k.k" if c == "article_id" else f"x.{q(c)}" for c in cols
        )
        con.execute(f"INSERT INTO {q(table)} SELECT {sel} FROM base.{q(table)} x, k")  # noqa: S608
    con.execute(
        "INSERT OR REPLACE INTO meta SELECT * FROM base.meta WHERE key IN (?, 'registry_hash')",
        [resolve.CACHE_META],
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("base", type=Path)
    ap.add_argument("db", type=Path)
    ap.add_argument("--articles", type=int, default=100_000)
    args = ap.parse_args(argv)
    from workbench import Workbench
    from workbench.base import store

    with Workbench(args.base) as wb:
        print(wb.resolve(progress=False))
    t0 = time.perf_counter()
    print(build_scale(args.base, args.db, args.articles))
    con = store.connect(str(args.db))
    lit = "'" + str(args.base).replace("'", "''") + "'"  # ATTACH takes no bound parameters
    con.execute(f"ATTACH {lit} AS base (READ_ONLY)")
    (n_base,) = con.execute("SELECT count(*) FROM base.articles").fetchone()
    replicate_kept(con, round(args.articles / n_base))
    counts = store.table_counts(con, ["articles", "mentions", "resolve_articles", "resolve_cache"])
    con.execute("DETACH base")
    con.close()
    bl.figure("replicated database built", time.perf_counter() - t0, "s")
    print(counts)


if __name__ == "__main__":
    main()
