"""Latency of the notebook queries (p50/p95 over repeats) on Reuters TRAIN + the 2022 corpora.

    python bench/bench_queries.py                      # build /tmp/workbench-bench/queries.duckdb once
    python bench/bench_queries.py --db PATH            # any analysed database (read-only)
    python bench/bench_queries.py --repeats 15
    python bench/bench_queries.py --sample-db analysed.duckdb   # replicate from this sample

Building the database: the articles are real (Reuters-21578 LEWISSPLIT=TRAIN, the four
2022 Russia-Ukraine CSVs) and the full-text index is built over their real text. Running
spaCy over ~15,600 articles takes over an hour on two shared cores, so the analysis tables
(sentences, mentions, entities, article_countries, themes, tone, quotes) are the real
``wb.analyze()`` output of a sample (``--sample`` rows of each 2022 CSV + the seed),
*replicated* article by article across the corpus: every article gets the rows of one
sampled article. Row counts per article and their distributions are therefore those of
real output, which is what query latency depends on; the numbers the queries return on
this database are not findings about the corpus. Point ``--db`` at a fully analysed
database to time that instead; the script prints which kind it used.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchlib import REUTERS_GLOB, RU_UA, WORK, header, need, pctl

from workbench import Filter, Workbench
from workbench.base import store

ANALYSIS_TABLES = (
    "sentences",
    "mentions",
    "article_countries",
    "article_themes",
    "theme_hits",
    "sentence_tone",
    "article_tone",
    "quotes",
)


def build_sample(path: Path, rows: int) -> None:
    """Really analyse a sample: ``rows`` of each 2022 CSV + the seed (spaCy, all stages)."""
    from workbench.base import config

    wb = Workbench(path)
    try:
        wb.ingest([config.SAMPLE_DIR], progress=False)
        for csv in sorted(need(RU_UA).glob("*.csv")):
            wb.ingest([csv], limit=rows, progress=False)
        wb.analyze(progress=True)
    finally:
        wb.close()


def build(path: Path, sample: Path) -> None:
    """Real articles + replicated real analysis rows + a real FTS index (see module doc)."""
    t0 = time.perf_counter()
    wb = Workbench(path)
    con = wb.con
    wb.ingest([REUTERS_GLOB], progress=True)
    con.execute("DELETE FROM articles WHERE meta->>'$.lewissplit' = 'NOT-USED'")
    for csv in sorted(need(RU_UA).glob("*.csv")):
        wb.ingest([csv], progress=True)
    lit = str(sample).replace("'", "''")  # ATTACH takes no parameters
    con.execute(f"ATTACH '{lit}' AS sample (READ_ONLY)")
    con.execute(
        "CREATE TEMP TABLE src_map AS "
        "SELECT a.article_id, s.article_id AS src FROM "
        "(SELECT article_id, row_number() OVER (ORDER BY article_id) - 1 AS i FROM articles) a "
        "JOIN (SELECT article_id, row_number() OVER (ORDER BY article_id) - 1 AS j, "
        "count(*) OVER () AS n FROM sample.articles "
        "WHERE article_id IN (SELECT article_id FROM sample.sentences)) s ON a.i % s.n = s.j"
    )
    for table in ANALYSIS_TABLES:
        cols = [
            r[0]
            for r in con.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_catalog = 'sample' AND table_name = ? ORDER BY ordinal_position",
                [table],
            ).fetchall()
        ]
        rest = ", ".join(f"t.{store.quote_ident(c)}" for c in cols if c != "article_id")
        names = ", ".join(store.quote_ident(c) for c in cols)
        con.execute(
            f"INSERT INTO {store.quote_ident(table)} ({names}) "  # noqa: S608 - identifiers only
            f"SELECT m.article_id, {rest} FROM sample.{store.quote_ident(table)} t "
            "JOIN src_map m ON m.src = t.article_id"
        )
    for table in ("entities", "themes"):
        con.execute(f"INSERT INTO {table} SELECT * FROM sample.{table}")  # noqa: S608
    con.execute("DETACH sample")
    store.set_meta(
        con,
        "bench_provenance",
        f"articles: Reuters TRAIN + 2022 corpora (real); analysis rows: replicated from "
        f"the real analysis of {sample}",
    )
    wb.index_search()
    wb.close()
    print(f"built {path} in {time.perf_counter() - t0:.0f}s")


def cases(wb: Workbench) -> dict[str, Callable[[], Any]]:
    """The calls the notebooks make (same arguments as the panels' defaults)."""
    src = wb.sql("SELECT source FROM articles GROUP BY 1 ORDER BY count(*) DESC LIMIT 2")
    sources = src["source"].tolist()
    actor = wb.top("actor", n=1)["label"].iloc[0]
    country = wb.top("country", n=1)["key"].iloc[0]
    theme = wb.top("theme", n=1)["key"].iloc[0]
    f_src = Filter(sources=sources[:1])
    f_text = Filter(text="oil prices")
    return {
        "top actor n=20": lambda: wb.top("actor", 20),
        "top country n=20": lambda: wb.top("country", 20),
        "top theme (source filter)": lambda: wb.top("theme", 20, f_src),
        "top actor (dedup=text)": lambda: wb.top("actor", 20, Filter(dedup="text")),
        "coverage country month n=10": lambda: wb.coverage("country", "month", n=10),
        "coverage actor week share": lambda: wb.coverage("actor", "week", True, n=10),
        "coverage theme month (text filter)": lambda: wb.coverage("theme", "month", filter=f_text),
        "cooccurrence actor n=50": lambda: wb.cooccurrence("actor", n=50),
        "cooccurrence country x theme": lambda: wb.cooccurrence(
            "country", "theme", n=None, top_a=15
        ),
        "compare 2 sources by country": lambda: wb.compare(sources, by="country"),
        "tone by date (month)": lambda: wb.tone("date", "month"),
        "tone by actor (sentence)": lambda: wb.tone("actor", None, level="sentence"),
        "quotes of top actor": lambda: wb.quotes(actor),
        "articles text search (BM25)": lambda: wb.articles(f_text, order="relevance"),
        "evidence country n=200": lambda: wb.evidence("country", country),
        "evidence theme n=200": lambda: wb.evidence("theme", theme),
        "kwic entity n=200": lambda: wb.kwic(actor),
        "kwic term n=200": lambda: wb.kwic("exports", entity=False),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", type=Path, default=None, help="analysed database to time")
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--sample", type=int, default=25, help="rows of each 2022 CSV analysed")
    ap.add_argument("--sample-db", type=Path, default=None, help="reuse an analysed sample")
    args = ap.parse_args()
    db = args.db
    kind = "given"
    if db is None:
        db = WORK / "queries.duckdb"
        kind = "replicated"
        if not db.exists():
            WORK.mkdir(parents=True, exist_ok=True)
            sample = args.sample_db or WORK / f"queries_sample{args.sample}.duckdb"
            if not sample.exists():
                print(f"analysing the sample -> {sample}")
                build_sample(sample, args.sample)
            tmp = db.with_suffix(".building")
            tmp.unlink(missing_ok=True)
            build(tmp, sample)
            tmp.rename(db)
        else:
            print(f"reusing {db}")
    wb = Workbench(db, read_only=True)
    counts = store.table_counts(wb.con, ("articles", *ANALYSIS_TABLES, "entities"))
    prov = store.get_meta(wb.con, "bench_provenance") or "as given (analysed by wb.analyze())"
    header(
        "bench_queries",
        {"db": str(db), "kind": kind, "provenance": prov, "repeats": args.repeats, **counts},
    )
    warnings.simplefilter("ignore")
    rows = []
    for name, call in cases(wb).items():
        call()  # warm-up: plans, FTS macro, caches
        times = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            out = call()
            times.append((time.perf_counter() - t) * 1000)
        rows.append((name, len(out), pctl(times, 50), pctl(times, 95), statistics.mean(times)))
    print(f"\n{'query':40} {'rows':>6} {'p50 ms':>9} {'p95 ms':>9}")
    for name, n, p50, p95, _ in rows:
        print(f"{name:40} {n:>6} {p50:>9.1f} {p95:>9.1f}")
    wb.close()


if __name__ == "__main__":
    main()
