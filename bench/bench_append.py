"""An append that costs the append: ``analyze`` of 1% new articles into an N-article
database vs the same articles into an empty one (issue 20, target ratio <= 3).

1. **base**: an analysed database (``--base``, default: ``bench_throughput``'s 400 Reuters
   TRAIN articles, ingested and analysed here when missing).
2. **scaled**: ``bench_scale_queries.build_scale`` replicates it to ``--articles`` (new ids,
   shifted dates; every per-article table), plus ``stage_done`` and the ``meta`` stamps (so
   themes/tone/quotes see the copies as done, as in a real analysed corpus); then
   ``analyze()`` (entities, stories, search index) and a full ``aggregates.refresh()``.
3. **append**: the next ``--articles / 100`` distinct Reuters TRAIN articles (real text,
   not in the base) are ingested and ``Workbench.analyze()`` runs every stage: extraction
   (spaCy) of the new articles, resolve, themes, tone, quotes, stories, search index and
   the aggregates -- timed, per stage from ``runs``.
4. **empty**: the same new articles into a fresh file, the same calls, timed.

    python bench/bench_append.py --articles 20000
    python bench/bench_append.py --articles 1000000 --phase build   # long: build once,
    python bench/bench_append.py --articles 1000000 --phase timed   # time the append later
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import benchlib as bl
from bench_resolve_scale import replicate_kept
from bench_scale_queries import build_scale
from bench_throughput import (
    LATER_STAGES,
    _timed,
    cpu_seconds,
    fresh_db,
    run_workbench,
    write_sample,
)


def _replicate_stage_done(db: Path, base: Path) -> int:
    """``stage_done`` rows for the copies ``a~k`` of every base article, resolve's kept
    per-article results of each copy, and the base's ``meta`` stamps (taxonomy, tone,
    registry: without them a stage redoes every article)."""
    from workbench.base import store

    con = store.connect(str(db))
    lit = "'" + str(base).replace("'", "''") + "'"
    con.execute(f"ATTACH {lit} AS base (READ_ONLY)")
    con.execute(
        "INSERT INTO stage_done SELECT d.stage, a.article_id, d.version, d.n, d.done_at "
        "FROM base.stage_done d JOIN articles a ON split_part(a.article_id, '~', 1) = d.article_id"
    )
    (n_base,) = con.execute("SELECT count(*) FROM base.articles").fetchone()
    (n_all,) = con.execute("SELECT count(*) FROM articles").fetchone()
    replicate_kept(con, n_all // n_base)
    con.execute(
        "INSERT OR REPLACE INTO meta SELECT * FROM base.meta WHERE key NOT LIKE 'aggregates%'"
        " AND key NOT LIKE 'search%' AND key NOT LIKE 'stories%'"
    )
    con.execute("DETACH base")
    (n,) = con.execute("SELECT count(*) FROM stage_done").fetchone()
    con.close()
    return n


def _replicate_story_signatures(db: Path, base: Path) -> int:
    """Each copy's story signature and body: its base article's (the same text gives the
    same signature), numbered in the order ``find_stories`` signs articles in. The stories
    stamp is stored with its band part cleared, so the next ``find_stories`` re-bands and
    verifies every stored signature in that order (``stories._reband``), as a run that
    signed them would have, but shingles no text: at 10^6 shingling the 2,500 copies of
    each text was the build's longest step. Each copy gets its own MinHash
    (:func:`_distinct_copies`). Returns the signatures written."""
    from workbench.annotate import stories
    from workbench.base import store
    from workbench.base.filters import compose

    con = store.connect(str(db))
    lit = "'" + str(base).replace("'", "''") + "'"
    con.execute(f"ATTACH {lit} AS base (READ_ONLY)")
    rows = con.execute(
        "SELECT article_id, minhash, body FROM base.story_signatures ORDER BY 1"
    ).fetchall()
    (copies,) = con.execute(
        "SELECT max(split_part(article_id, '~', 2)::INTEGER) + 1 FROM articles"
    ).fetchone()
    _copy_keys(con, rows, int(copies or 1))
    sql = compose(
        "INSERT INTO story_signatures (article_id, seq, n_shingles, minhash, stamp, body) "
        "SELECT a.article_id, row_number() OVER (ORDER BY {order}), s.n_shingles, "
        "coalesce(m.minhash, s.minhash), s.stamp, coalesce(m.body, s.body) FROM articles a "
        "JOIN base.story_signatures s ON split_part(a.article_id, '~', 1) = s.article_id "
        "LEFT JOIN _wb_keys m ON m.article_id = a.article_id",
        order=stories.ORDER_SQL,
    )
    con.execute(sql)
    con.execute("DROP TABLE _wb_keys")
    (stamp,) = con.execute(
        "SELECT value FROM base.meta WHERE key = ?", [stories.META_KEY]
    ).fetchone()
    con.execute("DETACH base")
    stamp = json.loads(stamp)
    stamp["bands"] = "re-band: signatures replicated"
    store.set_meta(con, stories.META_KEY, json.dumps(stamp, sort_keys=True))
    (n,) = con.execute("SELECT count(*) FROM story_signatures").fetchone()
    con.close()
    return n


def _distinct_copies(con: Any) -> int:
    """Give copy ``k > 0`` of each text band keys of its own: its MinHash is copy 0's with
    each value XORed with a per-copy random word, and so are the lead shingles of its stored
    body (the lead bands' input; the shingles that verification compares are kept). LSH then
    pairs an article only with articles of its own copy: the base's pairs and stories, copy
    by copy (the lead bands up to MinHash chance). With the base's keys every copy of a text
    shares every band with its other copies, so banding costs copies^2 per text (at 10^6,
    2,500 copies: the build's re-band never ended), a cost no corpus of distinct articles
    has. An appended article still meets copy 0 (the base's own keys). Idempotent; returns
    the signatures changed."""

    rows = con.execute(
        "SELECT split_part(article_id, '~', 1), minhash, body FROM story_signatures"
        " WHERE article_id LIKE '%~0' ORDER BY 1"
    ).fetchall()
    (copies,) = con.execute(
        "SELECT coalesce(max(split_part(article_id, '~', 2)::INTEGER), 0) + 1"
        " FROM story_signatures WHERE article_id LIKE '%~%'"
    ).fetchone()
    if not rows or copies < 2:
        return 0
    (done,) = con.execute(
        "SELECT count(*) FROM story_signatures a JOIN story_signatures b"
        " ON b.article_id = split_part(a.article_id, '~', 1) || '~1'"
        " WHERE a.article_id = ? AND a.minhash IS DISTINCT FROM b.minhash",
        [rows[0][0] + "~0"],
    ).fetchone()
    if done:
        return 0
    _copy_keys(con, rows, copies)
    con.execute(
        "UPDATE story_signatures SET minhash = m.minhash, body = m.body FROM _wb_keys m"
        " WHERE story_signatures.article_id = m.article_id"
    )
    (n,) = con.execute("SELECT count(*) FROM _wb_keys").fetchone()
    con.execute("DROP TABLE _wb_keys")
    _reband_next(con)
    return int(n)


def _copy_keys(con: Any, rows: list[tuple[str, bytes, bytes | None]], copies: int) -> int:
    """The temporary table ``_wb_keys``: the MinHash and body of copies ``1..copies-1`` of
    each base text ``rows`` (base id, MinHash, body) with keys of their own (see
    :func:`_distinct_copies`); returns its rows."""
    import numpy as np
    import pyarrow as pa

    from workbench.annotate import stories

    con.execute(
        "CREATE OR REPLACE TEMP TABLE _wb_keys (article_id VARCHAR, minhash BLOB, body BLOB)"
    )
    if not rows:
        return 0
    sigs = np.stack([np.frombuffer(r[1], dtype=np.uint32) for r in rows])
    bodies = [None if r[2] is None else stories.unpack_body(r[2]) for r in rows]
    for lo in range(1, copies, 100):
        aid, mh, body = [], [], []
        for k in range(lo, min(copies, lo + 100)):
            rng = np.random.default_rng(k)
            salt = rng.integers(0, 2**32, sigs.shape[1], dtype=np.uint32)
            lead = np.uint32(rng.integers(1, 2**32))
            aid += [f"{r[0]}~{k}" for r in rows]
            mh += [x.tobytes() for x in sigs ^ salt]
            # each set of a body stays sorted (verification merges sorted rows)
            body += [
                None if b is None else stories.pack_body(b._replace(lead=np.sort(b.lead ^ lead)))
                for b in bodies
            ]
        part = pa.table({"article_id": aid, "minhash": pa.array(mh, pa.binary()),
                         "body": pa.array(body, pa.binary())})  # fmt: skip
        con.register("_wb_part", part)
        con.execute("INSERT INTO _wb_keys SELECT * FROM _wb_part")
        con.unregister("_wb_part")
    (n,) = con.execute("SELECT count(*) FROM _wb_keys").fetchone()
    return int(n)


def _reband_next(con: Any) -> None:
    """Clear the band part of the stories stamp: the next ``find_stories`` re-bands and
    verifies every stored signature in processing order (``stories._reband``)."""
    from workbench.annotate import stories
    from workbench.base import store

    stamp = json.loads(store.get_meta(con, stories.META_KEY) or "{}")
    stamp["bands"] = "re-band: signatures replicated"
    store.set_meta(con, stories.META_KEY, json.dumps(stamp, sort_keys=True))


def _reset_peak_rss() -> None:
    """Start this process's peak-RSS counter (VmHWM) afresh (Linux; a no-op elsewhere)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _peak_rss_mb() -> float:
    """This process's peak RSS since the last reset, in MB (0 where unknown)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _runqueue_wait_s() -> float:
    """Seconds this process's main thread has waited for a CPU, runnable but not running
    (Linux ``schedstat``; 0 elsewhere): wall less CPU less this is time spent waiting on
    I/O or locks, not on other processes."""
    try:
        return int(Path("/proc/self/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def _waited(fn, waits: dict[str, float], name: str):
    """``fn`` with its main thread's run-queue wait added to ``waits[name]``."""

    def call(*a, **k):
        w0 = _runqueue_wait_s()
        try:
            return fn(*a, **k)
        finally:
            waits[name] = round(waits.get(name, 0.0) + _runqueue_wait_s() - w0, 2)

    return call


def _peaked(fn, peaks: dict[str, float], name: str):
    """``fn`` with its own peak RSS recorded in ``peaks[name]`` (this process only)."""

    def call(*a, **k):
        _reset_peak_rss()
        try:
            return fn(*a, **k)
        finally:
            peaks[name] = max(peaks.get(name, 0.0), round(_peak_rss_mb()))

    return call


def _logged(fn, name: str):
    """``fn`` printing its wall and CPU seconds and the process's RSS high-water mark when
    it ends (the build's stages run for minutes to hours at 10^6: show where it is)."""

    def call(*a, **k):
        t0, c0, w0 = time.perf_counter(), cpu_seconds(), _runqueue_wait_s()
        print(f"  {time.strftime('%H:%M:%S')} {name} ...", flush=True)
        out = fn(*a, **k)
        print(f"  {time.strftime('%H:%M:%S')} {name}: {time.perf_counter() - t0:.0f} s wall, "
              f"{cpu_seconds() - c0:.0f} s CPU, {_runqueue_wait_s() - w0:.0f} s waiting for a "
              f"CPU, peak RSS {_peak_rss_mb():.0f} MB, load {bl.loadavg()}", flush=True)  # fmt: skip
        return out

    return call


def timed_analyze(db: Path, new: Path, memory: str = "", workers: int = 1) -> dict[str, Any]:
    """Wall and CPU seconds of ingest + analyze of ``new`` into ``db``, and per stage (wall
    from ``runs``, CPU around each stage's method)."""
    from workbench import Workbench

    stage_cpu: dict[str, float] = {}
    peaks: dict[str, float] = {}
    waits: dict[str, float] = {}
    with Workbench(db) as wb:
        if memory:
            wb.con.execute("SET memory_limit = ?", [memory])
        for name in ("ingest", "extract", *LATER_STAGES):
            timed = _timed(getattr(wb, name), stage_cpu, name)
            setattr(wb, name, _waited(_peaked(timed, peaks, name), waits, name))
        (last,) = wb.con.execute("SELECT coalesce(max(run_id), 0) FROM runs").fetchone()
        t0, c0, w0 = time.perf_counter(), cpu_seconds(), _runqueue_wait_s()
        wb.ingest([new], format="jsonl", progress=False)
        out = wb.analyze(workers=workers, progress=False)
        wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
        wait = _runqueue_wait_s() - w0
        stages = dict(
            wb.con.execute(
                "SELECT kind, round(sum(seconds), 2) FROM runs WHERE run_id > ? GROUP BY 1",
                [last],
            ).fetchall()
        )
        agg = out["aggregates"]
        n = wb.sql("SELECT count(*) n FROM articles").n[0]
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "runqueue_wait_s": round(wait, 2),
        "loadavg_after": bl.loadavg(),
        "articles_after": int(n),
        "stages_s": stages,
        "stages_cpu_s": {k: round(v, 2) for k, v in stage_cpu.items()},
        "stages_peak_rss_mb": peaks,
        "stages_runqueue_wait_s": waits,
        "aggregates_changed": agg.get("changed"),
        "aggregates_table_s": agg.get("table_seconds"),
    }


def _scaled_file(args: argparse.Namespace, base: Path) -> Path | None:
    """The ``--articles`` file replicated from ``base`` and analysed (built unless
    ``--phase timed``); None after ``--phase build``."""
    from workbench import Workbench

    if args.phase == "timed":
        scaled = bl.WORK / f"append_scaled_{args.articles}.duckdb"
        if not scaled.exists():
            raise SystemExit(f"{scaled} is missing: run --phase build first")
        if args.restamp:
            _restamp(scaled)
        if args.warm:
            _finish(scaled, args.memory)
        return _timed_copy(scaled) if args.on_copy else scaled
    scaled = fresh_db(f"append_scaled_{args.articles}.duckdb")
    t0 = time.perf_counter()
    counts = build_scale(base, scaled, args.articles)
    counts["stage_done"] = _replicate_stage_done(scaled, base)
    if args.story_signatures:
        counts["story_signatures"] = _replicate_story_signatures(scaled, base)
    print(f"  {time.strftime('%H:%M:%S')} replicated: {counts}", flush=True)
    with Workbench(scaled) as wb:
        if args.memory:
            wb.con.execute("SET memory_limit = ?", [args.memory])
        # The rest of an analysed corpus: entities, stories, search index, aggregates.
        for name in ("extract", *LATER_STAGES):
            setattr(wb, name, _logged(getattr(wb, name), name))
        out = wb.analyze(progress=False)  # a fresh file: its aggregates refresh is a full build
    print(f"scaled database: {counts}, built in {time.perf_counter() - t0:.0f} s "
          f"(aggregates build {out['aggregates'].get('seconds')} s)", flush=True)  # fmt: skip
    return None if args.phase == "build" else scaled


def _restamp(scaled: Path) -> None:
    """Mark resolve's kept per-article results as this code's (its rules stamp hashes the
    code of ``stage``, ``countries``, ``context``, ``gazetteer``): a file built by other code
    is then timed on the corpus merge, not on a full per-article resolve of every article.
    Right only when that code's per-article results are the same (row hashes)."""
    from workbench.base import store
    from workbench.resolve import stage
    from workbench.resolve.registry import load_registry

    con = store.connect(str(scaled))
    try:
        store.set_meta(con, stage.CACHE_META, stage.rules_stamp(load_registry(None).hash))
    finally:
        con.close()
    print("  resolve's kept results restamped to this code", flush=True)


def _finish(scaled: Path, memory: str) -> None:
    """The untimed ``analyze`` of ``--warm``, logged stage by stage; it also finishes a build
    that was stopped (stories before :func:`_distinct_copies` get their own keys first)."""
    from workbench import Workbench

    t0 = time.perf_counter()
    with Workbench(scaled) as wb:
        if memory:
            wb.con.execute("SET memory_limit = ?", [memory])
        print(f"  distinct copies' band keys: {_logged(_distinct_copies, 'keys')(wb.con)} rows")
        for name in ("extract", *LATER_STAGES):
            setattr(wb, name, _logged(getattr(wb, name), name))
        wb.analyze(progress=False)
    print(f"untimed analyze of the scaled file: {time.perf_counter() - t0:.0f} s", flush=True)


def _timed_copy(scaled: Path) -> Path:
    """A copy of ``scaled`` to time the append on (the built file stays as built), or
    ``scaled`` itself when the disk has no room for one (said so)."""
    import shutil

    size = scaled.stat().st_size
    free = shutil.disk_usage(scaled.parent).free
    if free < size + 3 * 2**30:
        print(f"  no room for a copy ({free >> 30} GB free): the append is timed in place")
        return scaled
    if Path(str(scaled) + ".wal").exists():  # the copy is of the file alone: checkpoint it
        from workbench.base import store

        store.connect(str(scaled)).close()
    copy = fresh_db(scaled.stem + "_timed.duckdb")  # a stale WAL would be replayed on it
    t0 = time.perf_counter()
    shutil.copyfile(scaled, copy)
    print(f"  timed on a copy, {copy} ({size >> 20} MB, {time.perf_counter() - t0:.0f} s)")
    return copy


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--articles", type=int, default=20_000)
    ap.add_argument("--base", type=Path, default=None)
    ap.add_argument("--share", type=float, default=0.01, help="appended share of --articles")
    ap.add_argument("--memory", default="", help="DuckDB memory_limit of the timed runs (6GB)")
    ap.add_argument("--workers", type=int, default=1, help="analyze(workers=) of the timed runs")
    ap.add_argument(
        "--story-signatures",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="build: replicate the base's story signatures instead of shingling every copy",
    )
    ap.add_argument(
        "--phase",
        choices=("all", "build", "timed"),
        default="all",
        help="build: only the scaled database; timed: reuse the one built",
    )
    ap.add_argument(
        "--warm",
        action="store_true",
        help="with --phase timed: one untimed analyze of the scaled file first (state that "
        "code other than the build's keeps; finishes a stopped build)",
    )
    ap.add_argument(
        "--on-copy",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="with --phase timed: time the append on a copy of the scaled file (re-runnable)",
    )
    ap.add_argument(
        "--restamp",
        action="store_true",
        help="with --phase timed: resolve's kept results count as this code's (a file built "
        "by other code whose per-article results are the same)",
    )
    ap.add_argument(
        "--only",
        choices=("both", "empty", "append"),
        default="both",
        help="time only the empty or only the append side (the two may then run apart)",
    )
    return ap


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    bl.need(bl.REUTERS)
    bl.WORK.mkdir(parents=True, exist_ok=True)
    base = args.base
    if base is None:
        base = bl.WORK / "tp_workbench.duckdb"
        if not base.exists():
            run_workbench(write_sample(400), 1)
    from workbench import Workbench
    from workbench.nlp.extract import pipeline

    # A copy, analysed by this code (stage versions current), is what gets replicated.
    copy = bl.WORK / "append_base.duckdb"
    copy.write_bytes(base.read_bytes())
    base = copy
    with Workbench(base) as wb:
        wb.analyze(progress=False)
        n_base = int(wb.sql("SELECT count(*) n FROM articles").n[0])
    m = max(1, round(args.articles * args.share))
    lines = write_sample(n_base + m).read_text(encoding="utf-8").splitlines()[n_base:]
    new = bl.WORK / f"append_{m}.jsonl"
    new.write_text("\n".join(lines) + "\n", encoding="utf-8")
    bl.header(
        "bench_append: analyze of an append vs the same articles into an empty database",
        {"base": str(base), "articles": args.articles, "appended": len(lines)},
    )
    pipeline()  # the model load is in neither timing
    scaled = None if args.only == "empty" else _scaled_file(args, base)
    if scaled is None and args.only != "empty":
        return
    if args.only != "append":
        empty = timed_analyze(fresh_db("append_empty.duckdb"), new, args.memory, args.workers)
        print("empty:", json.dumps(empty), flush=True)
    if scaled is None:
        return
    append = timed_analyze(scaled, new, args.memory, args.workers)
    print("append:", json.dumps(append), flush=True)
    if args.only == "append":
        return
    bl.figure("append analyze wall / empty analyze wall", append["wall_s"] / empty["wall_s"], "",
              "<= 3")  # fmt: skip
    bl.figure("append analyze CPU / empty analyze CPU", append["cpu_s"] / empty["cpu_s"], "")
    print(f"loadavg: {bl.loadavg()}")


if __name__ == "__main__":
    main()
