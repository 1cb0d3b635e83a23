"""Query latency at scale: every notebook query on a synthetic 1M-article database (issue 6).

1. **base**: a small analysed database from real rows -- 25 articles of each 2022
   Russia-Ukraine CSV and the first 200 Reuters TRAIN articles, ``Workbench.analyze()``
   (or ``--base PATH``, any analysed database).
2. **scale**: a fresh DuckDB file built from the base with DuckDB SQL only
   (``INSERT ... SELECT ... FROM base.t, range(K)``): copy ``k`` of article ``a`` gets the
   id ``a || '~' || k`` and ``date + k days``; every per-article table (sentences, mentions,
   article_countries, article_themes, theme_hits, sentence_tone, article_tone, quotes) is
   replicated with the new ids, ``entities``/``themes``/``pipelines`` are copied once (the
   same actors recur). Articles are inserted in date order (zone maps on ``date``).
   To save disk, replicated sentences keep text and offsets but not the token/lemma lists
   (no notebook query reads them). The full-text index is not built at this size
   (``articles(text=...)`` falls back to ``ILIKE``; not timed here).
3. **aggregates**: ``aggregates.refresh()`` when they are missing or stale (seconds per
   table and row counts printed).
4. **queries**: the query methods the notebooks call (``Workbench.top/coverage/
   cooccurrence/compare/tone/quotes/articles/evidence/kwic``), without and with filters
   (a one-year window, one source, a country, a theme); one warm-up run, then ``--reps``
   timed runs each; p50/p95 per query and over all runs, and whether the answer came from
   the pre-aggregates (``agg``) or the base tables (``base``). Target: p95 < 150 ms.

    .venv/bin/python bench/bench_scale_queries.py [--articles 1000000] [--reps 5]
        [--only top,coverage] [--rebuild]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import benchlib as bl

#: Per-article tables and their columns (the article id is rewritten, dates shifted).
SENT_COLS = "idx, start_char, end_char, text"
COPY_ONCE = ("entities", "themes", "pipelines")


def build_base(db: Path) -> None:
    from workbench import Workbench

    bl.need(bl.RU_UA)
    bl.need(bl.REUTERS)
    with Workbench(db) as wb:
        for p in sorted(bl.RU_UA.glob("*.csv")):
            wb.ingest([p], limit=25, progress=False)
        wb.ingest([bl.REUTERS / "reut2-000.sgm"], limit=200, progress=False)
        wb.analyze(progress=False)


def _cols(con: Any, table: str, schema: str = "main") -> list[str]:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
        "AND table_schema = ? AND table_catalog = current_database() ORDER BY ordinal_position",
        [table, schema],
    ).fetchall()
    return [r[0] for r in rows]


def build_scale(base: Path, db: Path, articles: int) -> dict[str, int]:
    """Replicate ``base`` into ``db`` until it holds about ``articles`` articles."""
    import duckdb

    from workbench.base import store

    if db.exists():
        db.unlink()
    con = duckdb.connect(str(db))
    store.migrate(con)
    lit = "'" + str(base).replace("'", "''") + "'"  # ATTACH takes no bound parameters
    con.execute(f"ATTACH {lit} AS base (READ_ONLY)")
    n_base = con.execute("SELECT count(*) FROM base.articles").fetchone()[0]
    copies = max(1, round(articles / n_base))
    con.execute("CREATE TEMP TABLE k AS SELECT range AS k FROM range(?)", [copies])
    q = store.quote_ident
    for t in COPY_ONCE:
        con.execute(f"INSERT INTO {q(t)} SELECT * FROM base.{q(t)}")  # noqa: S608
    con.execute("UPDATE entities SET n_mentions = n_mentions * ?, n_articles = n_articles * ?",
                [copies, copies])  # fmt: skip
    # articles: new id, shifted date, in date order (zone maps make date filters cheap)
    a_cols = _cols(con, "articles")
    sel = []
    for c in a_cols:
        if c == "article_id":
            sel.append("a.article_id || '~' || k.k")
        elif c == "date":
            sel.append("a.date + k.k::INTEGER")
        elif c == "published":
            sel.append("a.published + to_days(k.k::INTEGER)")
        else:
            sel.append(f"a.{q(c)}")
    con.execute(
        f"INSERT INTO articles SELECT {', '.join(sel)} "  # noqa: S608
        "FROM base.articles a, k ORDER BY a.date + k.k::INTEGER"
    )
    for t in (
        "sentences",
        "mentions",
        "article_countries",
        "article_themes",
        "theme_hits",
        "sentence_tone",
        "article_tone",
        "quotes",
    ):
        cols = _cols(con, t)
        sel = []
        for c in cols:
            if c == "article_id":
                sel.append("x.article_id || '~' || k.k")
            elif t == "sentences" and c in ("tokens", "lemmas", "token_starts"):
                sel.append("NULL")
            else:
                sel.append(f"x.{q(c)}")
        con.execute(f"INSERT INTO {q(t)} SELECT {', '.join(sel)} FROM base.{q(t)} x, k")  # noqa: S608
        print(f"  replicated {t}", flush=True)
    con.execute("DETACH base")
    con.execute("CHECKPOINT")
    counts = store.table_counts(con, ["articles", "sentences", "mentions", "article_themes",
                                      "article_countries", "quotes", "entities"])  # fmt: skip
    con.close()
    return counts


def queries(wb: Any, use: list[str]) -> dict[str, Any]:
    """Name -> zero-argument callable, for every query the notebooks issue."""
    from workbench.base.filters import Filter

    # Keys for drill-downs, picked cheaply (entity stats / pre-aggregates), not timed.
    top_actor = wb.sql(
        "SELECT entity_id FROM entities WHERE type IN ('PERSON', 'ORG') "
        "ORDER BY n_articles DESC, entity_id LIMIT 1"
    )["entity_id"][0]
    top_country, top_theme = (
        wb.sql(
            "SELECT key FROM agg_keys WHERE kind = ? GROUP BY key "
            "ORDER BY sum(articles) DESC, key LIMIT 1",
            [kind],
        )["key"][0]
        for kind in ("country", "theme")
    )
    src = wb.sql("SELECT source FROM agg_daily GROUP BY 1 ORDER BY sum(articles) DESC LIMIT 2")
    sources = [s for s in src["source"].tolist() if s]
    d0, d1 = wb.con.execute("SELECT max(date) - 365, max(date) FROM agg_daily").fetchone()
    year = Filter(date_from=d0, date_to=d1)
    filters = {
        "none": None,
        "year": year,
        "source": Filter(sources=(sources[0],)),
        "country": Filter(countries=(top_country,)),
        "theme": Filter(themes=(top_theme,)),
    }
    out: dict[str, Any] = {}
    for fname, f in filters.items():
        if fname not in use:
            continue
        out[f"top actor [{fname}]"] = lambda f=f: wb.top("actor", 20, f)
        out[f"top country [{fname}]"] = lambda f=f: wb.top("country", 20, f)
        out[f"top theme [{fname}]"] = lambda f=f: wb.top("theme", 20, f)
        out[f"top source [{fname}]"] = lambda f=f: wb.top("source", 20, f)
        out[f"top speaker [{fname}]"] = lambda f=f: wb.top("speaker", 15, f)
        out[f"coverage actor month [{fname}]"] = lambda f=f: wb.coverage("actor", "month", False, f)
        out[f"coverage country week share [{fname}]"] = lambda f=f: wb.coverage(
            "country", "week", True, f
        )
        out[f"coverage volume month [{fname}]"] = lambda f=f: wb.coverage(None, "month", False, f)
        out[f"cooccurrence actor x country [{fname}]"] = lambda f=f: wb.cooccurrence(
            "actor", "country", f, 50
        )
        out[f"cooccurrence theme x country 10x12 [{fname}]"] = lambda f=f: wb.cooccurrence(
            "theme", "country", f, None, top_a=10, top_b=12
        )
        out[f"compare sources [{fname}]"] = lambda f=f: wb.compare(sources, "actor", f)
        out[f"tone by date [{fname}]"] = lambda f=f: wb.tone("date", "month", f)
        out[f"tone by actor [{fname}]"] = lambda f=f: wb.tone("actor", None, f)
        out[f"tone by source [{fname}]"] = lambda f=f: wb.tone("source", None, f)
        out[f"quotes [{fname}]"] = lambda f=f: wb.quotes(None, f)
        out[f"quotes actor [{fname}]"] = lambda f=f: wb.quotes(top_actor, f)
        out[f"articles [{fname}]"] = lambda f=f: wb.articles(f)
        out[f"evidence actor [{fname}]"] = lambda f=f: wb.evidence("actor", top_actor, f)
        out[f"kwic entity [{fname}]"] = lambda f=f: wb.kwic(top_actor, 60, f)
    return out


def timed_call(wb: Any, fn: Any, timeout: float) -> Any:
    """Run ``fn``; interrupt DuckDB after ``timeout`` seconds (raises TimeoutError)."""
    import threading

    import duckdb

    timer = threading.Timer(timeout, wb.con.interrupt)
    timer.start()
    try:
        return fn()
    except duckdb.InterruptException:
        raise TimeoutError from None
    finally:
        timer.cancel()


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--articles", type=int, default=1_000_000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--base", type=Path, help="an analysed database to replicate")
    ap.add_argument("--db", type=Path, help="where the scaled database goes")
    ap.add_argument("--rebuild", action="store_true", help="rebuild even if the file exists")
    ap.add_argument("--timeout", type=float, default=30.0, help="per query (first run), s")
    ap.add_argument("--filters", default="none,year,source,country,theme",
                    help="which filter variants to time")  # fmt: skip
    ap.add_argument("--only", help="comma-separated substrings of query names to run")
    ap.add_argument("--no-aggregates", action="store_true", help="skip aggregates.refresh()")
    ap.add_argument("--threads", type=int, default=0, help="DuckDB threads (0 = default)")
    args = ap.parse_args(argv)
    bl.WORK.mkdir(parents=True, exist_ok=True)
    base = args.base or bl.WORK / "scale_base.duckdb"
    if not base.exists():
        t0 = time.perf_counter()
        build_base(base)
        print(f"built base {base} in {time.perf_counter() - t0:.0f}s", flush=True)
    db = args.db or bl.WORK / f"scale_{args.articles}.duckdb"
    if args.rebuild or not db.exists():
        t0 = time.perf_counter()
        part = db.with_suffix(".building")  # renamed when complete: no half-built file
        counts = build_scale(base, part, args.articles)
        part.rename(db)
        print(f"built {db} in {time.perf_counter() - t0:.0f}s: {counts}", flush=True)

    from workbench import Workbench

    with Workbench(db) as wb:
        if not args.no_aggregates:
            from workbench.query import aggregates
        if not args.no_aggregates and not aggregates.is_fresh(wb.con):
            t0 = time.perf_counter()
            out = aggregates.refresh(wb.con)
            print(f"aggregates refreshed in {time.perf_counter() - t0:.1f}s: {out}", flush=True)
            t0 = time.perf_counter()
            wb.con.execute("CHECKPOINT")
            print(f"checkpoint {time.perf_counter() - t0:.1f}s", flush=True)
    wb = Workbench(db, read_only=True)
    wb.con.execute("SET enable_progress_bar = false")
    if args.threads:
        wb.con.execute(f"SET threads = {int(args.threads)}")
    counts = wb.summary()
    bl.header(
        "bench_scale_queries: notebook queries on a replicated corpus",
        {
            "db": str(db),
            "size_gb": round(db.stat().st_size / 2**30, 2),
            "articles": counts["articles"],
            "aggregates": not args.no_aggregates,
            "sentences": counts["sentences"],
            "mentions": counts["mentions"],
            "article_themes": counts["article_themes"],
            "quotes": counts["quotes"],
            "base": str(base),
            "reps": args.reps,
            "duckdb_threads": wb.sql("SELECT current_setting('threads') AS t")["t"][0],
        },
    )
    qs = queries(wb, args.filters.split(","))
    if args.only:
        keys = [k.strip() for k in args.only.split(",")]
        qs = {n: fn for n, fn in qs.items() if any(k in n for k in keys)}
    all_t: list[float] = []
    worst: list[tuple[float, str]] = []
    print(f"{'query':48s} {'p50 ms':>9s} {'p95 ms':>9s} {'rows':>6s} from")
    for name, fn in qs.items():
        try:
            df = timed_call(wb, fn, args.timeout)  # warm-up (and result size)
        except TimeoutError:
            print(f"{name:48s} {'> ' + str(args.timeout) + ' s (interrupted)':>19s}", flush=True)
            all_t.append(args.timeout * 1000.0)
            worst.append((args.timeout * 1000.0, name))
            continue
        ts = []
        for _ in range(args.reps):
            t0 = time.perf_counter()
            fn()
            ts.append((time.perf_counter() - t0) * 1000)
        all_t += ts
        p50, p95 = bl.pctl(ts, 50), bl.pctl(ts, 95)
        worst.append((p95, name))
        src = "agg" if df.attrs.get("engine") == "aggregates" else "base"
        print(f"{name:48s} {p50:9.1f} {p95:9.1f} {len(df):6d} {src:4s} (load {bl.loadavg()})",
              flush=True)  # fmt: skip
    worst.sort(reverse=True)
    over = [n for p, n in worst if p >= 150]
    bl.figure("queries timed", len(qs))
    bl.figure("all runs p50", bl.pctl(all_t, 50), "ms")
    bl.figure("all runs p95", bl.pctl(all_t, 95), "ms", "< 150 ms")
    bl.figure("queries with p95 >= 150 ms", len(over))
    print("slowest:", "; ".join(f"{n} {p:.0f} ms" for p, n in worst[:8]))
    print(f"loadavg after: {bl.loadavg()}")
    return {"p50_ms": bl.pctl(all_t, 50), "p95_ms": bl.pctl(all_t, 95), "over": len(over)}


if __name__ == "__main__":
    main()
