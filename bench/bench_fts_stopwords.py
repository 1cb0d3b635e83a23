"""Full-text filter with and without the BM25 index on queries that contain stopwords.

    python bench/bench_fts_stopwords.py              # Reuters reut2-000 + reut2-001 (2,000 docs)
    python bench/bench_fts_stopwords.py --files 1

For each query: articles matched by substring search (every word as a case-insensitive
substring of title+text, the fallback before ``index_search``) and by BM25 after it, and
how many both match. Nothing is tuned: the queries are the ones of issue 13 plus a few of the
same kind, run on the first Reuters-21578 files.
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from pathlib import Path

from workbench import Workbench
from workbench.base import config
from workbench.base.filters import Filter

QUERIES = [
    "bank of japan",
    "oil and gas",
    "the federal reserve",
    "the price of oil",
    "U.S. trade deficit",
    "(oil)",
    "of the",
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=2)
    args = ap.parse_args()
    files = sorted((config.SHARED_DIR / "corpora" / "reuters21578").glob("reut2-*.sgm"))
    if not files:
        raise SystemExit(f"needs {config.SHARED_DIR}/corpora/reuters21578")
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp, Workbench(Path(tmp) / "fts.duckdb") as wb:
        r = wb.ingest(files[: args.files], progress=False)
        print(f"{r.stored:,} articles from {args.files} Reuters file(s)")

        def ids(q: str) -> set[str]:
            return set(wb.articles(Filter(text=q), n=None).article_id)

        sub = {q: ids(q) for q in QUERIES}
        wb.index_search()
        print("| query | substring | BM25 | both |\n|---|---:|---:|---:|")
        for q in QUERIES:
            b = ids(q)
            print(f"| {q} | {len(sub[q]):,} | {len(b):,} | {len(b & sub[q]):,} |")


if __name__ == "__main__":
    main()
