"""Peak RSS of appending news-sized rows to a DuckDB file, per DuckDB setting (issue 20).

Why: ingest's peak memory grows with the corpus (bench_memory.py: 2.2x from 14k to 141k
articles). This isolates DuckDB from the workbench to find which setting bounds it: a fresh
process per (setting, rows) appends batches of 1,000 rows of ~900 characters to a table
``(id VARCHAR PRIMARY KEY, text VARCHAR, n INTEGER)``, one transaction per batch, and prints
``ru_maxrss`` and ``duckdb_memory()`` at the end.

Settings: ``default``; ``trim`` (after each commit the memory limit is set to 32 MB and
back: DuckDB evicts its cached blocks); ``flush`` (``allocator_flush_threshold=16MB``);
``bg`` (flush + ``allocator_background_threads``); ``rgN`` (``ATTACH ... (ROW_GROUP_SIZE
N)``); ``rgtrimN`` (both).

    python bench/bench_duckdb_memory.py --settings default,rg8192,rgtrim8192 --rows 14000,141000
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import resource
import subprocess
import sys
import tempfile
import time


def child(mode: str, n: int, folder: str) -> None:
    import duckdb

    db = os.path.join(folder, f"{mode}_{n}.duckdb")
    for p in (db, db + ".wal"):
        if os.path.exists(p):
            os.remove(p)
    if mode.startswith("rg"):
        con = duckdb.connect()
        size = int(mode.removeprefix("rgtrim").removeprefix("rg"))
        con.execute(f"ATTACH '{db}' AS d (ROW_GROUP_SIZE {size})")
        con.execute("USE d")
    else:
        con = duckdb.connect(db)
    if mode in ("flush", "bg"):
        con.execute("SET allocator_flush_threshold = '16MB'")
    if mode == "bg":
        con.execute("SET allocator_background_threads = true")
    trim = mode == "trim" or mode.startswith("rgtrim")
    con.execute("CREATE TABLE a (id VARCHAR PRIMARY KEY, text VARCHAR, n INTEGER)")
    rng = random.Random(1)
    words = [hashlib.md5(str(i).encode()).hexdigest()[: rng.randint(3, 10)] for i in range(20000)]
    t0 = time.time()
    for b in range(0, n, 1000):
        k = min(1000, n - b)
        ids = [f"{b + i:08d}x" for i in range(k)]
        texts = [" ".join(rng.choices(words, k=130)) for _ in range(k)]
        con.execute("BEGIN")
        con.execute(
            "INSERT INTO a SELECT * FROM (SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]),"
            " unnest(?::INTEGER[]))",
            [ids, texts, list(range(k))],
        )
        con.execute("COMMIT")
        if trim:
            (old,) = con.execute("SELECT current_setting('memory_limit')").fetchone()
            con.execute("SET memory_limit = '32MB'")
            con.execute("SET memory_limit = ?", [old])
    mem = con.execute(
        "SELECT tag, round(memory_usage_bytes / 2**20, 1) FROM duckdb_memory()"
        " WHERE memory_usage_bytes > 0 ORDER BY 2 DESC"
    ).fetchall()
    con.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{mode:12s} {n:>8,} rows: peak RSS {peak:6.0f} MB, {time.time() - t0:5.0f} s, {mem}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--settings", default="default,trim,rg8192,rgtrim8192")
    ap.add_argument("--rows", default="14000,141000")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.child[2])
        return
    print(f"load average {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        for mode in args.settings.split(","):
            for n in args.rows.split(","):
                cmd = [sys.executable, __file__, "--child", mode, n, folder]
                subprocess.run(cmd, check=True)
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
