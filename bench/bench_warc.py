"""WARC ingest throughput and peak memory (issue 19): ``workbench ingest crawl.warc.gz``.

A synthetic crawl is built from the 91 real pages of ``../shared/corpora/article-extraction-dev``
replicated ``--copies`` times (55 -> 5,005 pages): copy k gets its own URL (``?copy=k``), its
own WARC-Date and the words "Replica k." at the start of one of the article's own paragraphs
(found from the ground-truth body) so that it is a distinct article, not an exact duplicate. The archive also carries one 404 and one image response per
copy (counted as summary rejects) and a request record per page (ignored), as a crawler writes.

The ingest runs as a fresh ``workbench ingest --workers N`` subprocess; the parent samples the
resident set size of it and its children (the extraction pool) with psutil every 50 ms and
reports the peak. pages/s = 200 HTML responses / wall seconds of the whole command.

    python bench/bench_warc.py [--copies 55] [--workers 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import benchlib as bl

DATA = bl.config.SHARED_DIR / "corpora" / "article-extraction-dev"


def build(out: Path, copies: int) -> int:
    """Write the synthetic crawl; return the number of 200 HTML responses in it."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    gt = json.loads((DATA / "ground-truth.json").read_text())
    pages = {k: gzip.decompress((DATA / "html" / f"{k}.html.gz").read_bytes()) for k in gt}
    anchors = {k: _anchors(v["articleBody"]) for k, v in gt.items()}
    n = 0
    t0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    tmp = out.with_suffix(".part")
    with open(tmp, "wb") as fh:
        w = WARCWriter(fh, gzip=True)

        def response(url: str, body: bytes, status: str, ctype: str, when: dt.datetime) -> None:
            headers = StatusAndHeaders(status, [("Content-Type", ctype)], protocol="HTTP/1.1")
            rec = w.create_warc_record(
                url,
                "response",
                payload=io.BytesIO(body),
                http_headers=headers,
                warc_headers_dict={"WARC-Date": when.strftime("%Y-%m-%dT%H:%M:%SZ")},
            )
            w.write_record(rec)

        for k in range(copies):
            when = t0 + dt.timedelta(hours=k)
            for key, html in pages.items():
                url = f"{gt[key]['url']}{'&' if '?' in gt[key]['url'] else '?'}copy={k}"
                w.write_record(
                    w.create_warc_record(
                        url, "request", payload=io.BytesIO(b"GET / HTTP/1.1\r\n\r\n")
                    )
                )
                body = _vary(html, anchors[key], k) if k else html
                response(url, body, "200 OK", "text/html; charset=utf-8", when)
                n += 1
            response(
                f"https://example.com/missing?copy={k}", b"gone", "404 Not Found", "text/html", when
            )
            response(
                f"https://example.com/logo.png?copy={k}",
                b"\x89PNG" + b"\0" * 200,
                "200 OK",
                "image/png",
                when,
            )
    tmp.rename(out)
    return n


def _anchors(body: str) -> list[bytes]:
    """Starts of the article's longest paragraphs: where a copy's added words go, so that
    they land in the extracted body (not in a menu the extractor drops)."""
    paras = sorted((p.strip() for p in body.splitlines() if len(p.strip()) > 40), key=len)
    return [p[:30].encode() for p in reversed(paras[-5:])]


def _vary(html: bytes, anchors: list[bytes], k: int) -> bytes:
    """Copy ``k`` of a page: "Replica k." before a body paragraph (else after the first
    ``</p>``), so every copy is a distinct article with its own id."""
    for a in anchors:
        if a in html:
            return html.replace(a, f"Replica {k}. ".encode() + a, 1)
    return html.replace(b"</p>", f"</p><p>Replica {k} of this page.</p>".encode(), 1)


def measure(cmd: list[str]) -> tuple[float, float, float, str]:
    """(wall seconds, peak RSS MB of the process tree, CPU seconds of the tree, output)."""
    import resource

    import psutil

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ps = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        rss = 0
        try:
            for p in [ps, *ps.children(recursive=True)]:
                try:
                    rss += p.memory_info().rss
                except psutil.Error:
                    pass
        except psutil.Error:
            pass
        peak = max(peak, rss)
        time.sleep(0.05)
    secs = time.perf_counter() - t0
    out = proc.stdout.read() if proc.stdout else ""
    if proc.returncode:
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{out}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the pool workers included
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return secs, peak / 2**20, cpu, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--copies", type=int, default=55)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    bl.need(DATA)
    bl.WORK.mkdir(parents=True, exist_ok=True)
    warc = bl.WORK / f"crawl_x{args.copies}.warc.gz"
    n = build(warc, args.copies) if not warc.exists() else 91 * args.copies
    db = bl.WORK / f"crawl_x{args.copies}.duckdb"
    for p in (db, Path(f"{db}.wal")):
        if p.exists():
            p.unlink()
    bl.header(
        "bench_warc: workbench ingest of a synthetic WARC",
        {
            "warc": f"{warc} ({warc.stat().st_size / 2**20:.1f} MB, {n:,} HTML pages, "
            f"{2 * args.copies} 404/image responses, {n:,} request records)",
            "workers": args.workers,
        },
    )
    exe = Path(sys.executable).with_name("workbench")
    cmd = [str(exe), "ingest", str(warc), "--db", str(db), "--workers", str(args.workers)]
    env_note = os.environ.get("PYTHONPATH", "")
    print("command:", " ".join(cmd), f"(PYTHONPATH={env_note})" if env_note else "")
    load0 = bl.loadavg()
    secs, peak, cpu, out = measure(cmd)
    print(" ".join(out.split()[-60:]))
    bl.figure(f"ingest {n:,} WARC pages, {args.workers} workers", n / secs, "pages/s")
    bl.figure("wall time", secs, "s")
    bl.figure("peak RSS, ingest process + extraction pool", peak, "MB")
    bl.figure("CPU time, ingest process + pool", cpu, "s")
    bl.figure("CPU per page", cpu / n, "s")
    bl.figure(
        f"pages/s on {args.workers} idle cores (workers / CPU per page)", args.workers * n / cpu
    )
    print(f"load average 1 min: {load0} before, {bl.loadavg()} after")


if __name__ == "__main__":
    main()
