"""The annotation stages alone (themes, tone, quotes) on an analysed database, CPU seconds.

A copy of ``--db`` (extracted and resolved, e.g. the ``tp_workbench.duckdb`` that
``bench_throughput.py`` leaves) has every article made pending again (``stage_done``
emptied) ``--reps`` times; each time ``tag_themes``, ``score_tone`` and ``find_quotes`` run
over all of it. One warm-up run first loads the taxonomy, spaCy's blank vocabulary and VADER.
Prints the min and median CPU seconds per stage and the rows stored, to compare two versions
of the stage runner on the same input.

    .venv/bin/python bench/bench_stages.py --db /tmp/workbench-bench/tp_workbench.duckdb [--reps 7]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import time
from pathlib import Path

import benchlib as bl

from workbench import Workbench
from workbench.base import store

TABLES = ("article_themes", "theme_hits", "sentence_tone", "article_tone", "quotes")


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", type=Path, required=True, help="an extracted, resolved database")
    ap.add_argument("--reps", type=int, default=7)
    args = ap.parse_args(argv)
    bl.WORK.mkdir(parents=True, exist_ok=True)
    work = bl.WORK / "bench_stages.duckdb"
    shutil.copy(args.db, work)
    cpu: dict[str, list[float]] = {"themes": [], "tone": [], "quotes": []}
    with Workbench(work) as wb:
        n = int(wb.sql("SELECT count(*) n FROM articles").n[0])
        bl.header("bench_stages: themes, tone, quotes over every article", {"db": str(args.db)})
        wb.tag_themes(progress=False)
        wb.score_tone(progress=False)
        stages = {"themes": wb.tag_themes, "tone": wb.score_tone, "quotes": wb.find_quotes}
        for _ in range(args.reps):
            wb.sql("DELETE FROM stage_done WHERE stage IN ('themes', 'tone', 'quotes')")
            for name, run in stages.items():
                c0 = time.process_time()
                done = run(progress=False).articles
                cpu[name].append(time.process_time() - c0)
                assert done == n, (name, done, n)
        rows = store.table_counts(wb.con, TABLES)
    print(f"{n:,} articles, {args.reps} repetitions; rows: {rows}")
    out = {}
    for name, v in cpu.items():
        out[name] = statistics.median(v)
        bl.figure(f"{name}: CPU-s per run, min {min(v):.3f}, median", out[name], "s")
    return out


if __name__ == "__main__":
    main()
