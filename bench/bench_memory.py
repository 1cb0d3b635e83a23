"""Peak memory of ingest: 1x vs 10x Reuters TRAIN (issue 6, target ratio <= 1.2).

Reuters TRAIN (the 14,153 distinct articles of ``reut2-*.sgm``) is written once as JSONL,
and again replicated 10x with new ids (copy k > 0: date shifted by k*400 days and
`` [replica k]`` appended to the text, so each copy hashes to a new article id). Each size is
ingested into a fresh DuckDB file by a *fresh subprocess*; the parent samples the resident
set size of that process and all its children with psutil every 20 ms and reports the peak.
What is measured is ingest only (load -> batches -> DuckDB), not extraction.

    .venv/bin/python bench/bench_memory.py [--copies 10]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import benchlib as bl


def write_replicas(out: Path, copies: int) -> tuple[int, int]:
    """Write ``copies`` copies of Reuters TRAIN as JSONL; return (articles, bytes)."""
    from workbench.ingest.load import Article, load

    if out.exists():
        n = sum(1 for _ in out.open(encoding="utf-8"))
        return n, out.stat().st_size
    arts = [a for a in load([bl.REUTERS_GLOB]) if isinstance(a, Article)]
    seen: set[str] = set()
    uniq = [a for a in arts if not (a.article_id in seen or seen.add(a.article_id))]
    tmp = out.with_suffix(".part")
    n = 0
    with tmp.open("w", encoding="utf-8") as fh:
        for k in range(copies):
            for a in uniq:
                date = a.date + dt.timedelta(days=400 * k) if a.date else None
                text = a.text if k == 0 else f"{a.text} [replica {k}]"
                row = {
                    "text": text,
                    "date": date.isoformat() if date else None,
                    "title": a.title,
                    "source": a.source or "Reuters",
                }
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
                n += 1
    tmp.rename(out)
    return n, out.stat().st_size


def child(path: str, db: str, limit: str) -> None:
    """Runs in the measured subprocess: ingest ``path`` into a fresh ``db``."""
    from workbench import Workbench

    for p in (db, db + ".wal"):
        if os.path.exists(p):
            os.remove(p)
    t0 = time.perf_counter()
    with Workbench(db) as wb:
        from workbench.ingest.writer import ingest

        # "default": ingest's own cap (WORKBENCH_INGEST_MEMORY); "none": DuckDB's default
        # (80% of RAM); else that value.
        cap = {"default": {}, "none": {"memory_limit": None}}.get(limit, {"memory_limit": limit})
        res = ingest(wb.con, [path], format="jsonl", progress=False, **cap)
        secs = time.perf_counter() - t0
        n = wb.sql("SELECT count(*) AS n FROM articles")["n"][0]
        # Where DuckDB's own memory is at the end (buffer cache, indexes), in MB.
        duck = wb.sql(
            "SELECT tag, round(memory_usage_bytes / 2**20, 1) AS mb FROM duckdb_memory() "
            "WHERE memory_usage_bytes > 0 ORDER BY 2 DESC"
        )
    info = {"stored": int(n), "result": str(res), "seconds": secs}
    info["duckdb_mb"] = dict(zip(duck["tag"], duck["mb"], strict=True))
    print(json.dumps(info))


def measure(path: Path, db: Path, limit: str) -> dict[str, float]:
    """Peak RSS (process tree) of a fresh ``child`` ingest process."""
    import psutil

    cmd = [sys.executable, __file__, "--child", str(path), "--db", str(db)]
    cmd += ["--duckdb-memory-limit", limit]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    ps = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            tree = [ps, *ps.children(recursive=True)]
            rss = 0
            for p in tree:
                try:
                    rss += p.memory_info().rss
                except psutil.Error:
                    pass
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(0.02)
    out = proc.stdout.read() if proc.stdout else ""
    if proc.returncode:
        raise SystemExit(f"child ingest failed ({proc.returncode}): {out}")
    info = json.loads(out.strip().splitlines()[-1])
    info["peak_rss_mb"] = peak / 2**20
    return info


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--copies", type=int, default=10)
    ap.add_argument("--child")
    ap.add_argument("--db")
    ap.add_argument(
        "--duckdb-memory-limit",
        default="none,64MB",
        help="comma-separated DuckDB memory limits while ingesting: 'default' (ingest's own, "
        "WORKBENCH_INGEST_MEMORY), 'none' (DuckDB's 80%% of RAM) or a size such as 128MB",
    )
    args = ap.parse_args(argv)
    if args.child:
        child(args.child, args.db, args.duckdb_memory_limit)
        return {}
    bl.need(bl.REUTERS)
    bl.WORK.mkdir(parents=True, exist_ok=True)
    small, bsmall = write_replicas(bl.WORK / "reuters_x1.jsonl", 1)
    big, bbig = write_replicas(bl.WORK / f"reuters_x{args.copies}.jsonl", args.copies)
    bl.header(
        "bench_memory: peak RSS of ingest, fresh subprocess per size",
        {
            "small": f"{small:,} articles, {bsmall / 2**20:.0f} MB JSONL (Reuters TRAIN x1)",
            "big": f"{big:,} articles, {bbig / 2**20:.0f} MB JSONL (x{args.copies}, new ids)",
            "measured": "ingest only (no extraction); RSS of process + children, 20 ms samples",
        },
    )
    out: dict[str, float] = {}
    from workbench.base import config

    for limit in args.duckdb_memory_limit.split(","):
        shown = {
            "default": f"{config.INGEST_MEMORY} (WORKBENCH_INGEST_MEMORY)",
            "none": "DuckDB default",
        }
        tag = f" [memory_limit={shown.get(limit, limit)}]"
        r1 = measure(bl.WORK / "reuters_x1.jsonl", bl.WORK / "mem_x1.duckdb", limit)
        r2 = measure(bl.WORK / f"reuters_x{args.copies}.jsonl", bl.WORK / "mem_xN.duckdb", limit)
        for r in (r1, r2):
            bl.figure(f"ingest {r['stored']:,} articles: peak RSS{tag}", r["peak_rss_mb"], "MB")
            bl.figure(f"ingest {r['stored']:,} articles: time{tag}", r["seconds"], "s")
            print(f"  duckdb_memory() at the end, MB: {r['duckdb_mb']}")
        ratio = r2["peak_rss_mb"] / r1["peak_rss_mb"]
        bl.figure(f"peak RSS ratio big/small{tag}", ratio, "", "<= 1.2")
        out[f"ratio{tag}"] = ratio
        print(f"loadavg: {bl.loadavg()}", flush=True)
    return out


if __name__ == "__main__":
    main()
