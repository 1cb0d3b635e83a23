"""Quote extraction on 20 articles of the 2022 Russia-Ukraine corpora, printed for hand checking.

    python bench/eval_quotes.py --db /tmp/wb_quotes.duckdb            # builds it if empty
    python bench/eval_quotes.py --db /tmp/wb_quotes.duckdb --rows 40  # more rows per CSV

Builds (once) a database from the first ``--rows`` rows of each CSV in
``../shared/corpora/ru-ua-2022`` with the full pipeline (``Workbench.analyze``), then picks
20 articles deterministically: from each of the four corpora, the first five by article id
(a hash, i.e. an arbitrary order) that contain at least one double quote character. Every
quotation found in them is printed with its speaker, linked actor, cue and method; a human
marks each one (see bench/RESULTS.md for the checked list and the figures).
"""

from __future__ import annotations

import argparse
import os
import platform
import textwrap
import time

from workbench import Workbench
from workbench.base import config

CORPUS = config.SHARED_DIR / "corpora" / "ru-ua-2022"
PER_CORPUS = 5


def build(wb: Workbench, rows: int) -> None:
    t0 = time.perf_counter()
    for csv_path in sorted(CORPUS.glob("*.csv")):
        wb.ingest([csv_path], limit=rows, progress=False)
    wb.analyze(progress=False)
    print(f"built in {time.perf_counter() - t0:.0f}s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default="/tmp/wb_quotes.duckdb")
    ap.add_argument("--rows", type=int, default=30, help="rows ingested per CSV")
    ap.add_argument("--width", type=int, default=160)
    args = ap.parse_args()
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs")
    with Workbench(args.db) as wb:
        if wb.sql("SELECT count(*) n FROM articles").n[0] == 0:
            build(wb, args.rows)
        else:
            wb.find_quotes(progress=False)
        picked = wb.sql(
            "SELECT article_id, origin, source FROM ("
            " SELECT article_id, origin, source, row_number() OVER ("
            "  PARTITION BY split_part(origin, '#', 1) ORDER BY article_id) AS k"
            " FROM articles WHERE text LIKE '%\"%' OR text LIKE '%“%')"
            " WHERE k <= ? ORDER BY origin, article_id",
            [PER_CORPUS],
        )
        ids = picked.article_id.tolist()
        q = wb.sql(
            "SELECT q.article_id, q.quote_idx, q.speaker, e.name AS actor, q.cue, q.method,"
            " q.text FROM quotes q LEFT JOIN entities e ON e.entity_id = q.speaker_entity_id"
            " WHERE q.article_id IN (SELECT unnest(?::VARCHAR[]))"
            " ORDER BY q.article_id, q.quote_idx",
            [ids],
        )
    print(f"articles checked: {len(ids)}; quotations found: {len(q)}")
    for aid, origin in zip(picked.article_id, picked.origin, strict=True):
        rows = q[q.article_id == aid]
        print(f"\n## {aid}  {origin}  ({len(rows)} quotes)")
        for r in rows.itertuples():
            body = textwrap.shorten(r.text, args.width - 40, placeholder=" …")
            print(
                f"  [{r.quote_idx}] {r.speaker!s:28.28} -> {r.actor!s:24.24} {r.cue!s:9} {r.method}"
            )
            print(f"       {body}")
    att = q.speaker.notna().sum()
    linked = q.actor.notna().sum()
    print(f"\nwith a speaker: {att}/{len(q)}; linked to an actor: {linked}/{len(q)}")


if __name__ == "__main__":
    main()
