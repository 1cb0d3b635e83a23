"""CPU seconds of ``resolve`` over an analysed database, call after call in one process
(issue 20: the first call loads the registry, gazetteer and resolver; later calls are what an
``analyze`` after an append pays). ``--full`` resolves every article each call (else a call
after the first finds nothing new: the corpus-level merge and the checks alone); the peak
RSS of the process is printed at the end. ``--profile`` prints cProfile's top functions of
the last call.

    python bench/bench_resolve.py DB [--calls 3] [--full] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import resource
import time
from pathlib import Path

import benchlib as bl


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("db", type=Path)
    ap.add_argument("--calls", type=int, default=3)
    ap.add_argument("--full", action="store_true", help="resolve every article each call")
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args(argv)
    from workbench import Workbench
    from workbench.resolve import stage as resolve

    with Workbench(args.db) as wb:
        n = wb.sql("SELECT count(*) n FROM articles WHERE extracted_pipeline IS NOT NULL").n[0]
        m = wb.sql("SELECT count(*) n FROM mentions").n[0]
        bl.header("bench_resolve", {"db": str(args.db), "articles": int(n), "mentions": int(m)})
        prof = cProfile.Profile() if args.profile else None
        for i in range(args.calls):
            last = prof is not None and i == args.calls - 1
            t, w = time.process_time(), time.perf_counter()
            if last:
                prof.enable()
            r = resolve.resolve(wb.con, progress=False, full=args.full)
            if last:
                prof.disable()
            bl.figure(f"resolve call {i + 1}", time.process_time() - t, "CPU-s")
            bl.figure(f"resolve call {i + 1} wall", time.perf_counter() - w, "s")
            print(f"  {r}")
    if prof is not None:
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    bl.figure("peak RSS of the process", peak, "MB")
    print(f"loadavg: {bl.loadavg()}")


if __name__ == "__main__":
    main()
