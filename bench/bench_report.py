"""Report render time and file size at scale (issue 5).

Why synthetic: analysing 100k real articles takes hours on a shared 2-core machine, and the
report reads only the analysed tables. So the bench analyses a real sample (25 rows of each
2022 Russia-Ukraine CSV, all stages), then replicates every analysed row with new article ids
(dates shifted by ``k % 120`` days, ``text`` blanked to save disk: the report never reads it)
until the database holds ``--articles`` articles. Entities, themes and pipelines are shared,
as in a real corpus. Then it times ``build_report`` (warm: imports and the Vega bundle
cached) and, when Chromium is installed, the time until every chart has drawn.

    .venv/bin/python bench/bench_report.py                      # 100k articles
    .venv/bin/python bench/bench_report.py --articles 20000 --source-db my.duckdb
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from benchlib import RU_UA, WORK, figure, header, need

from workbench import Workbench
from workbench.present.report import SIZE_BUDGET_BYTES

#: Tables replicated per article, with columns overridden in the copies (token arrays are
#: dropped to save disk; the report never reads them).
REPLICATE: dict[str, dict[str, str]] = {
    "sentences": {"tokens": "NULL", "lemmas": "NULL", "token_starts": "NULL"},
    "mentions": {},
    "article_countries": {},
    "article_themes": {},
    "theme_hits": {},
    "article_tone": {},
    "quotes": {},
}


def columns(con: object, table: str) -> list[str]:
    return [
        r[0]
        for r in con.execute(  # type: ignore[attr-defined]
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "ORDER BY ordinal_position",
            [table],
        ).fetchall()
    ]


def build_source(path: Path, rows: int) -> Path:
    """The real analysed sample the synthetic corpus is grown from."""
    if path.exists():
        return path
    need(RU_UA)
    with Workbench(path) as wb:
        for csv_path in sorted(RU_UA.glob("*.csv")):
            wb.ingest([csv_path], limit=rows, progress=False)
        wb.analyze(progress=False)
    return path


def replicate(src: Path, dst: Path, target: int) -> int:
    """Copy ``src`` to ``dst`` and add copies of every article until ``target`` articles."""
    shutil.copy(src, dst)
    with Workbench(dst) as wb:
        con = wb.con
        n0 = con.execute("SELECT count(*) FROM articles").fetchone()[0]
        copies = max(1, -(-target // n0))  # ceil
        cols = columns(con, "articles")
        swap = {
            "article_id": "a.article_id || '~' || k",
            "date": "CAST(a.date + CAST(k % 120 AS INTEGER) AS DATE)",
            "text": "''",
            "text_hash": "md5(a.text_hash || k)",
        }
        select = ", ".join(swap.get(c, f"a.{c}") for c in cols)
        con.execute("BEGIN")
        con.execute(
            f"INSERT INTO articles SELECT {select} FROM articles a, range(1, ?) t(k) "  # noqa: S608
            "QUALIFY row_number() OVER () <= ?",
            [copies, target - n0],
        )
        # Child rows follow the articles that now exist (ids 'x~k').
        for table, override in REPLICATE.items():
            override = {"article_id": "c.article_id || '~' || k", **override}
            sel = ", ".join(override.get(c, f"c.{c}") for c in columns(con, table))
            con.execute(
                f"INSERT INTO {table} SELECT {sel} FROM {table} c, range(1, ?) t(k) "  # noqa: S608
                "WHERE c.article_id || '~' || k IN (SELECT article_id FROM articles)",
                [copies],
            )
        con.execute("COMMIT")
        con.execute("CHECKPOINT")
        return con.execute("SELECT count(*) FROM articles").fetchone()[0]


def browser_seconds(html: Path) -> float | None:
    """Seconds from navigation until every chart has drawn, in headless Chromium."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from chromium_driver import Chromium, find_chromium

    binary = find_chromium()
    if binary is None:
        print("note: chromium not installed; browser render time not measured")
        return None
    with Chromium(binary) as c:
        t0 = time.perf_counter()
        c.open(html, settle=0)
        c.wait_for("document.body.getAttribute('data-wb-ready') === '1'", timeout=300)
        dt_s = time.perf_counter() - t0
        errors = c.log.errors()
        if errors:
            print("browser errors:", errors[:3])
    return dt_s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=100_000)
    ap.add_argument("--rows", type=int, default=25, help="rows per 2022 CSV in the sample")
    ap.add_argument("--source-db", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=WORK / "report")
    ap.add_argument("--reuse", action="store_true", help="reuse an existing synthetic db")
    ap.add_argument(
        "--refresh-aggregates",
        action="store_true",
        help="rebuild the pre-aggregates after replicating (as `analyze` leaves a database), "
        "so the report's queries are answered from them; without it they run on the base tables",
    )
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    header("report render time and size", vars(args))

    t = time.perf_counter()
    src = build_source(args.source_db or args.out / f"sample{args.rows}.duckdb", args.rows)
    print(f"sample: {src} ({time.perf_counter() - t:.1f} s)")
    db = args.out / f"synthetic{args.articles}.duckdb"
    t = time.perf_counter()
    if args.reuse and db.exists():
        with Workbench(db, read_only=True) as wb:
            n = int(wb.sql("SELECT count(*) AS n FROM articles")["n"].iloc[0])
    else:
        n = replicate(src, db, args.articles)
    print(f"synthetic db: {db} with {n:,} articles ({time.perf_counter() - t:.1f} s to build)")
    if args.refresh_aggregates:
        t = time.perf_counter()
        with Workbench(db) as wb:
            wb.refresh_aggregates()
        print(f"pre-aggregates rebuilt ({time.perf_counter() - t:.1f} s)")
    with Workbench(db, read_only=True) as wb:
        counts = wb.summary()
        print(
            "rows:",
            {
                k: counts[k]
                for k in ("sentences", "mentions", "entities", "article_themes", "quotes")
            },
        )
        t = time.perf_counter()
        cold = wb.report(args.out / "cold.html")
        first = time.perf_counter() - t
        t, cpu = time.perf_counter(), time.process_time()
        out = wb.report(args.out / f"report{args.articles}.html")
        warm, warm_cpu = time.perf_counter() - t, time.process_time() - cpu
    size = out.stat().st_size
    figure("articles", n)
    figure("report render, first call in process (imports, Vega bundle)", first, "s")
    figure("report render, warm", warm, "s", "< 20 s at 100k articles")
    figure("report render, warm, CPU time (all threads)", warm_cpu, "s")
    figure("report size", size / 1e6, "MB", f"< {SIZE_BUDGET_BYTES / 2**20:.0f} MiB")
    assert cold.exists()
    secs = browser_seconds(out)
    if secs is not None:
        figure("Chromium: open until every chart drawn", secs, "s")
    print("budget met" if size < SIZE_BUDGET_BYTES else "OVER BUDGET")


if __name__ == "__main__":
    main()
