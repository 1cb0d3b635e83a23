"""The Reuters-21578 database the PLACES/PEOPLE evaluations read: ingested and extracted once.

Extracting all ~14k documents takes about 45 minutes on two busy cores, so the evaluations
reuse one database (default ``$WORKBENCH_BENCH_DIR/reuters_entities.duckdb``) and build it
only when asked (``--build``); ``--build-limit N`` extracts the first N documents only.
Extraction is incremental: an interrupted build resumes where it stopped.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from benchlib import REUTERS, REUTERS_GLOB, WORK, need

from workbench import Workbench

DEFAULT_DB = WORK / "reuters_entities.duckdb"


def add_args(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("db", nargs="?", default=str(DEFAULT_DB), help="Reuters database")
    ap.add_argument("--build", action="store_true", help="ingest + extract when needed")
    ap.add_argument("--build-limit", type=int, default=None, help="extract N documents only")
    ap.add_argument("--no-resolve", action="store_true", help="use the stored resolution")
    ap.add_argument(
        "--people-sample",
        type=int,
        default=None,
        help="build: keep only TRAIN articles that list PEOPLE plus N random other TRAIN ones",
    )


def _keep_people_sample(wb: Workbench, n: int) -> None:
    """A small PEOPLE database: TRAIN articles listing people plus ``n`` other TRAIN ones
    (a fixed hash order, so every build keeps the same articles)."""
    wb.sql(
        "DELETE FROM articles WHERE article_id NOT IN ("
        " SELECT article_id FROM articles WHERE meta->>'$.lewissplit' = 'TRAIN'"
        " AND json_array_length(meta->'$.people') > 0"
        " UNION ALL (SELECT article_id FROM articles WHERE meta->>'$.lewissplit' = 'TRAIN'"
        " AND coalesce(json_array_length(meta->'$.people'), 0) = 0"
        " ORDER BY hash(article_id) LIMIT ?))",
        [n],
    )
    print("people sample:", wb.sql("SELECT count(*) AS n FROM articles").n[0], "articles")


def open_reuters(args: argparse.Namespace) -> Workbench | None:
    """The database, built if asked; None (and a skip line) when it is not there."""
    need(REUTERS)
    path = Path(args.db)
    if not path.exists() and not args.build:
        print(f"skip: {path} does not exist; build it with --build (about 45 min on 2 cores)")
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbench(path)
    if args.build:
        t0 = time.perf_counter()
        if not wb.sql("SELECT count(*) AS n FROM articles").n[0]:
            print(wb.ingest([REUTERS_GLOB], progress=False))
            if args.people_sample is not None:
                _keep_people_sample(wb, args.people_sample)
        print(wb.extract(limit=args.build_limit))
        print(f"build: {time.perf_counter() - t0:.0f}s")
    done = wb.sql("SELECT count(*) AS n FROM articles WHERE extracted_pipeline IS NOT NULL").n[0]
    if not done:
        print(f"skip: {path} has no extracted articles; run with --build")
        wb.close()
        return None
    if not args.no_resolve:
        t0 = time.perf_counter()
        print(wb.resolve(progress=False), f"(wall {time.perf_counter() - t0:.1f}s)")
    return wb
