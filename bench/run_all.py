"""Run the benchmarks and evaluations (``make bench``), each in a fresh Python process.

    .venv/bin/python bench/run_all.py                       # everything, default sizes
    .venv/bin/python bench/run_all.py --list                # what there is
    .venv/bin/python bench/run_all.py --only throughput,memory --quick
    .venv/bin/python bench/run_all.py --only scale -- --articles 200000

``--quick`` uses small sizes (a smoke run, minutes instead of an hour); arguments after
``--`` go to every selected script. Output streams through; a summary of exit codes ends the
run, and the exit status is non-zero if any script failed. Scripts that need ``../shared``
print a skip line and exit 0 when it is absent.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: name -> (script, default args, quick args). Speed and scale (issue 6) first.
BENCHES: dict[str, tuple[str, list[str], list[str]]] = {
    "throughput": ("bench_throughput.py", [], ["--n", "200", "--rounds", "1"]),
    "memory": ("bench_memory.py", [], ["--copies", "2"]),
    "incremental": ("bench_incremental.py", ["--full-ingest"], ["--n", "200"]),
    "scale": ("bench_scale_queries.py", [], ["--articles", "50000", "--reps", "3"]),
    "report": ("bench_report.py", [], ["--articles", "5000"]),
    "queries": ("bench_queries.py", [], []),
    "eval-themes": ("eval_themes.py", [], []),
    "eval-places": ("eval_places.py", [], []),
    "eval-people": ("eval_people.py", [], []),
    "eval-geoparsing": ("eval_geoparsing.py", [], []),
    "eval-ner": ("eval_ner_conll.py", [], []),
    "eval-quotes": ("eval_quotes.py", [], []),
    "warc": ("bench_warc.py", [], ["--copies", "3"]),
    "eval-html": ("eval_html.py", [], []),
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1 :]
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", help="comma-separated names (see --list)")
    ap.add_argument("--skip", help="comma-separated names to leave out")
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args(argv)
    if args.list:
        for name, (script, dflt, quick) in BENCHES.items():
            have = "" if (HERE / script).exists() else "  (script missing)"
            print(f"{name:16s} {script} {' '.join(dflt)}  [quick: {' '.join(quick)}]{have}")
        return 0
    names = [n.strip() for n in args.only.split(",")] if args.only else list(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        ap.error(f"unknown benchmark(s) {unknown}; choose from {', '.join(BENCHES)}")
    skip = {n.strip() for n in (args.skip or "").split(",") if n.strip()}
    results: list[tuple[str, int, float]] = []
    for name in names:
        if name in skip:
            continue
        script, dflt, quick = BENCHES[name]
        path = HERE / script
        if not path.exists():
            print(f"-- {name}: {script} not present, skipped", flush=True)
            continue
        cmd = [sys.executable, str(path), *(quick if args.quick else dflt), *extra]
        print(f"\n-- {name}: {' '.join(cmd[1:])}  (load {os.getloadavg()[0]:.2f})", flush=True)
        t0 = time.perf_counter()
        rc = subprocess.call(cmd, cwd=HERE.parent)
        results.append((name, rc, time.perf_counter() - t0))
    print("\n== summary")
    for name, rc, secs in results:
        print(f"{name:16s} {'ok' if rc == 0 else f'FAILED ({rc})':12s} {secs:8.1f}s")
    return 1 if any(rc for _, rc, _ in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
