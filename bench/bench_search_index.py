"""The search index on an append: in place vs rebuilt whole (issue 20).

On a copy of an analysed database, without the appended articles, (``--db``, default ``bench_append``'s scaled 2×10^4 file;
``--articles N`` replicates ``bench_append``'s base to N articles first, as that script does):

1. ``index_search(full=True)``: the index in the current layout (timed: a full rebuild);
2. the appended articles (``--new``, default ``bench_append``'s ``append_<m>.jsonl``, ingested
   first when not there yet) are put back, not timed;
3. ``index_search()``: the append, updated in place (timed);
4. ``index_search()`` again: nothing new (timed, the no-op);
5. ``PRAGMA create_fts_index`` alone: what every append cost before (timed); the BM25
   rankings of a few queries after it are compared with those of the in-place index.

    python bench/bench_search_index.py                      # the 2x10^4 file of bench_append
    python bench/bench_search_index.py --articles 100000
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import benchlib as bl
from bench_scale_queries import build_scale
from bench_throughput import cpu_seconds, fresh_db

QUERIES = ("oil prices", "bank of japan", "opec output", "trade deficit", "wheat")


def timed(fn) -> tuple[float, float]:
    """Wall and CPU seconds of ``fn()`` (CPU of this process: DuckDB's threads included)."""
    t0, c0 = time.perf_counter(), cpu_seconds()
    fn()
    return round(time.perf_counter() - t0, 3), round(cpu_seconds() - c0, 3)


def rankings(con) -> list[list[tuple[str, float]]]:
    sql = (
        "SELECT article_id, fts_main_articles.match_bm25(article_id, ?, conjunctive := 1) AS s "
        "FROM articles WHERE s IS NOT NULL ORDER BY s DESC, article_id"
    )
    return [con.execute(sql, [q]).fetchall() for q in QUERIES]


def same(a: list, b: list) -> bool:
    return all(
        [r[0] for r in x] == [r[0] for r in y]
        and all(abs(r[1] - s[1]) < 1e-9 for r, s in zip(x, y, strict=True))
        for x, y in zip(a, b, strict=True)
    )


def main(argv: list[str] | None = None) -> dict[str, tuple[float, float]]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", type=Path, default=bl.WORK / "append_scaled_20000.duckdb")
    ap.add_argument("--articles", type=int, default=None, help="replicate the base to N first")
    ap.add_argument("--new", type=Path, default=bl.WORK / "append_200.jsonl")
    args = ap.parse_args(argv)
    from workbench import Workbench
    from workbench.annotate import search

    db = fresh_db("search_index_bench.duckdb")
    if args.articles:
        build_scale(bl.need(bl.WORK / "append_base.duckdb"), db, args.articles)
    else:
        shutil.copy(bl.need(args.db), db)
    bl.need(args.new)
    out: dict[str, tuple[float, float]] = {}
    with Workbench(db) as wb:
        con = wb.con
        wb.ingest([args.new], format="jsonl", progress=False)  # a no-op when already there
        # The appended articles wait aside, so that the file holds the corpus before them.
        con.execute(
            "CREATE OR REPLACE TEMP TABLE held AS SELECT * FROM articles "
            "WHERE starts_with(origin, ?)",
            [f"{args.new}#"],
        )
        con.execute("DELETE FROM articles WHERE article_id IN (SELECT article_id FROM held)")
        (n,) = con.execute("SELECT count(*) FROM articles").fetchone()
        (m,) = con.execute("SELECT count(*) FROM held").fetchone()
        bl.header("bench_search_index", {"db": str(db), "articles": n, "appended": m})
        out["full rebuild (index_search full=True)"] = timed(lambda: wb.index_search(full=True))
        con.execute("INSERT INTO articles SELECT * FROM held")
        out["append, in place (index_search)"] = timed(wb.index_search)
        out["nothing new (index_search)"] = timed(wb.index_search)
        kept = rankings(con)
        out["before: create_fts_index alone"] = timed(lambda: con.execute(search._PRAGMA))
        # That rebuilt the index from scratch (without this code's digests: the copy is
        # thrown away); its rankings are the reference.
        print(
            f"in place == rebuilt ({len(QUERIES)} queries' rankings): {same(kept, rankings(con))}"
        )
    for label, (wall, cpu) in out.items():
        bl.figure(f"{label} wall", wall, "s")
        bl.figure(f"{label} CPU", cpu, "s")
    print(f"loadavg: {bl.loadavg()}")
    return out


if __name__ == "__main__":
    main()
