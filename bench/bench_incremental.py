"""Incremental work: what a re-run costs when nothing (or only a taxonomy/registry) changed.

On one fresh DuckDB file, over the Reuters TRAIN sample of ``bench_throughput`` (the first
``--n`` distinct articles, JSONL):

1. first ``ingest`` + ``extract(workers=W)`` (the NER cost), then resolve, themes, tone,
   quotes as ``analyze()`` would run them;
2. **re-ingest** of the unchanged corpus + ``extract`` again (nothing new to process);
3. **re-theming** after a taxonomy change: a user taxonomy file adds one theme, so every
   article is re-tagged from the stored sentences/lemmas (no spaCy);
4. **re-resolution** after a registry change: a user registry adds an alias, and
   ``wb.resolve(registry=...)`` re-resolves every stored mention (no spaCy).

Targets: (2) <= 5% of (1: ingest + extract); (3) and (4) each <= 10% of it.
``--full-ingest`` also times ingest / re-ingest of the whole Reuters TRAIN SGML (no
extraction), the ingest-only ratio.

    .venv/bin/python bench/bench_incremental.py [--n 2000] [--workers 2] [--full-ingest]
"""

from __future__ import annotations

import argparse
import os
import time

import benchlib as bl
from bench_throughput import fresh_db, write_sample

TAXONOMY = """themes:
  - id: bench_grain_exports
    label: Grain exports (bench)
    description: Added by bench_incremental to force a re-tag.
    terms: [grain export, wheat export, grain shipment]
"""
REGISTRY = """actors:
  - {name: James Baker, country: USA, aliases: [Baker, James A. Baker]}
"""


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--full-ingest", action="store_true")
    args = ap.parse_args(argv)
    bl.need(bl.REUTERS)
    bl.WORK.mkdir(parents=True, exist_ok=True)
    sample = write_sample(args.n)
    from workbench import Workbench
    from workbench.nlp.extract import pipeline

    pipeline()  # model load is not part of any stage timing
    bl.header(
        "bench_incremental: re-runs without NER",
        {"sample": str(sample), "articles": args.n, "workers": args.workers},
    )
    t: dict[str, float] = {}
    db = fresh_db("incr.duckdb")
    tax = bl.WORK / "incr_taxonomy.yaml"
    tax.write_text(TAXONOMY, encoding="utf-8")
    reg = bl.WORK / "incr_registry.yaml"
    reg.write_text(REGISTRY, encoding="utf-8")
    with Workbench(db) as wb:
        with bl.timed(t, "ingest"):
            wb.ingest([sample], format="jsonl", progress=False)
        with bl.timed(t, "extract"):
            ex = wb.extract(workers=args.workers, progress=False)
        print(ex, flush=True)
        for stage, fn in (
            ("resolve", wb.resolve),
            ("themes", wb.tag_themes),
            ("tone", wb.score_tone),
            ("quotes", wb.find_quotes),
        ):
            with bl.timed(t, stage):
                fn(progress=False)
        print(f"first run done (load {bl.loadavg()})", flush=True)
        with bl.timed(t, "reingest"):
            r = wb.ingest([sample], format="jsonl", progress=False)
        with bl.timed(t, "reextract"):
            ex2 = wb.extract(workers=args.workers, progress=False)
        print(r, "|", ex2, flush=True)
        with bl.timed(t, "retheme"):
            th = wb.tag_themes(taxonomy=tax, progress=False)
        print(th, flush=True)
        with bl.timed(t, "reresolve"):
            rs = wb.resolve(registry=reg, progress=False)
        print(rs, flush=True)
    first = t["ingest"] + t["extract"]
    for k, v in t.items():
        bl.figure(f"{k}", v, "s")
    bl.figure("first ingest + extract", first, "s")
    bl.figure("re-ingest + re-extract / first", (t["reingest"] + t["reextract"]) / first, "",
              "<= 0.05")  # fmt: skip
    bl.figure("re-theming / first", t["retheme"] / first, "", "<= 0.10")
    bl.figure("re-resolution / first", t["reresolve"] / first, "", "<= 0.10")
    out = {
        "reingest_ratio": (t["reingest"] + t["reextract"]) / first,
        "retheme_ratio": t["retheme"] / first,
        "reresolve_ratio": t["reresolve"] / first,
    }
    if args.full_ingest:
        full = fresh_db("incr_full.duckdb")
        with Workbench(full) as wb:
            t0 = time.perf_counter()
            r1 = wb.ingest([bl.REUTERS_GLOB], progress=False)
            t1 = time.perf_counter()
            r2 = wb.ingest([bl.REUTERS_GLOB], progress=False)
            t2 = time.perf_counter()
        print(r1, "|", r2)
        bl.figure("Reuters TRAIN SGML ingest", t1 - t0, "s")
        bl.figure("Reuters TRAIN SGML re-ingest", t2 - t1, "s")
        bl.figure("re-ingest / ingest (no extraction)", (t2 - t1) / (t1 - t0))
        out["reingest_only_ratio"] = (t2 - t1) / (t1 - t0)
    print(f"loadavg after: {bl.loadavg()}")
    return out


if __name__ == "__main__":
    main()
