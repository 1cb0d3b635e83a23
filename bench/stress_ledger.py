"""The ledger under fire: a hostile corpus, ctrl-C and kill -9 over ``ingest`` and ``analyze``.

The corpus is ``tests/corpus_gen.make_corpus`` (empty, binary, impossible/future dates, every
encoding, oversized files and records, malformed CSV/JSONL/SGML, duplicates, symlink loops,
FIFOs, ...) plus the kinds of issue 13: file names that are not UTF-8 (and a backslash), a
folder nested 1,100 deep, a CSV mixing UTF-8 and cp1252 rows, Parquet list/binary/int-list
"text". Every input has an expected fate.

The real CLI runs under a seeded schedule: ``workbench ingest`` is interrupted with SIGINT or
SIGKILL at random points of its progress (a fraction of the inputs read), then run to the
end; then ``workbench analyze`` the same way (points after the first commits and in
the later stages), then to the end. Reported: inputs given, stored, duplicates, rejected by
reason, lost (an expected input with no fate) = 0, counted twice (an input with two fates)
= 0, wrong fate = 0; every SIGINT answered with status 130 and the message; the slowest
SIGINT-to-exit; no run left ``running``; every stored article analysed.

    .venv/bin/python bench/stress_ledger.py [--seed 0] [--csv-rows 300] [--interrupts 4]

Exit status 1 if any figure that must be 0 is not.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the hostile corpus generator and its ledger

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from corpus_gen import make_corpus, make_deep_chain, remove_deep_chain  # noqa: E402

from workbench import Workbench  # noqa: E402
from workbench.base import config  # noqa: E402
from workbench.ingest.load import origin_text  # noqa: E402

WORKBENCH = str(Path(sys.executable).with_name("workbench"))


def add_issue13_kinds(root: Path, stored: dict, rejected: dict) -> None:
    """The hostile kinds of issue 13, with their expected fates (origin -> fate)."""
    x = root / "x_issue13"
    x.mkdir()
    raw = os.fsencode(x)
    for i, name in enumerate([b"caf\xe9.txt", b"\xff\xfe.txt", b"back\\slash.txt"]):
        with open(raw + b"/" + name, "wb") as fh:
            fh.write(f" date 2022-05-0{i + 1} A file whose name is hostile, number {i}.".encode())
        stored[origin_text(os.fsdecode(raw + b"/" + name))] = "stored"
    with open(raw + b"/empty-\xff.txt", "wb"):
        pass
    rejected[origin_text(os.fsdecode(raw + b"/empty-\xff.txt"))] = "empty"
    deep = x / "deep"
    deep.mkdir()
    make_deep_chain(
        deep, 1100, "bottom.txt", b" date 2022-05-09 The file at the bottom of a very deep folder."
    )
    stored[str(deep) + "/d" * 1100 + "/bottom.txt"] = "stored"
    rows = [f'2022-06-{i + 1:02d},"Row {i}: Zelenskyy’s “plan”."\n'.encode() for i in range(20)]
    rows[7] = '2022-06-08,"Naïve “café” – cp1252 row."\n'.encode("cp1252")
    (x / "mixed.csv").write_bytes(b"date,text\n" + b"".join(rows))
    for i in range(20):
        stored[f"{x / 'mixed.csv'}#row={i + 2}"] = "stored"
    pq.write_table(
        pa.table(
            {
                "date": ["2022-07-01", "2022-07-02", "2022-07-03"],
                "text": pa.array(
                    [["Paragraph one.", "Paragraph two."], ["Only one paragraph."], None],
                    pa.list_(pa.string()),
                ),
            }
        ),
        x / "lists.parquet",
    )
    stored[f"{x / 'lists.parquet'}#row=1"] = stored[f"{x / 'lists.parquet'}#row=2"] = "stored"
    rejected[f"{x / 'lists.parquet'}#row=3"] = "empty"
    pq.write_table(
        pa.table({"date": ["2022-07-04"], "text": pa.array([[1, 2]], pa.list_(pa.int64()))}),
        x / "ints.parquet",
    )
    rejected[f"{x / 'ints.parquet'}#row=1"] = "bad_text"


class Proc:
    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.p = subprocess.Popen(
            [WORKBENCH, *args],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.err = self.out = b""
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()
        self.t_out = threading.Thread(target=self._read_out, daemon=True)
        self.t_out.start()

    def _read(self) -> None:
        while chunk := self.p.stderr.read1(4096):  # type: ignore[union-attr]
            self.err += chunk

    def _read_out(self) -> None:
        while chunk := self.p.stdout.read1(4096):  # type: ignore[union-attr]
            self.out += chunk

    def until(self, pred, timeout: float = 600) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end and self.p.poll() is None:
            if pred():
                return True
            time.sleep(0.003)
        return False

    def finish(self) -> int:
        self.p.wait()
        self.t.join(10)
        self.t_out.join(10)
        return self.p.returncode

    def done(self) -> bool:
        """The command printed its final result (a signal now meets interpreter exit)."""
        return b" inputs -> " in self.out or b" articles (" in self.out


def progress(err: bytes) -> int:
    """The last count of the ingest progress bar (``ingest: 1234doc``)."""
    found = re.findall(rb"ingest: (\d+)doc", err[-400:])
    return int(found[-1]) if found else 0


def hit(proc: Proc, sig: int, events: list[dict], phase: str, where: str) -> None:
    """Send ``sig``; record how it was answered."""
    if proc.p.poll() is not None or proc.done():
        events.append({"phase": phase, "signal": "none", "where": "finished before the point"})
        proc.finish()
        return
    t0 = time.monotonic()
    proc.p.send_signal(sig)
    said = None  # when the message appeared (the CLI prints it after closing the database)
    while proc.p.poll() is None:
        if said is None and b"interrupted:" in proc.err:
            said = time.monotonic() - t0
        time.sleep(0.003)
    rc = proc.finish()
    took = time.monotonic() - t0
    if rc == 0 and proc.done():  # it had printed its result: the signal met interpreter exit
        events.append({"phase": phase, "signal": "none", "where": "finished as it was sent"})
        return
    text = " ".join(proc.err.decode(errors="replace").split())
    events.append(
        {
            "phase": phase,
            "signal": signal.Signals(sig).name,
            "where": where,
            "rc": rc,
            "seconds_to_exit": round(took, 2),
            "seconds_to_message": round(said if said is not None else took, 2),
            # what to resume after, or (ctrl-C as the run ended) that nothing needs resuming
            "message": sig != signal.SIGINT or "interrupted" in text,
            "said": text[text.find("interrupted") :][:160] if "interrupted" in text else "",
        }
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--csv-rows", type=int, default=300)
    ap.add_argument("--interrupts", type=int, default=4, help="per phase (ingest, analyze)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="stress-ledger-") as tmp:
        tmp_path = Path(tmp)
        corpus = tmp_path / "corpus"
        big_mb = config.MAX_FILE_BYTES // (1 << 20) + 1
        exp = make_corpus(corpus, seed=args.seed, csv_rows=args.csv_rows, big_mb=big_mb)
        expected: dict[str, str] = {o: "stored" for o in exp.stored}
        expected |= {o: f"rejected:{r}" for o, r in exp.rejected.items()}
        expected |= {o: "duplicate" for o in exp.duplicates}
        extra_stored: dict[str, str] = {}
        extra_rejected: dict[str, str] = {}
        add_issue13_kinds(corpus, extra_stored, extra_rejected)
        expected |= extra_stored
        expected |= {o: f"rejected:{r}" for o, r in extra_rejected.items()}

        env = {"WORKBENCH_INGEST_BATCH": "40", "WORKBENCH_EXTRACT_BATCH": "16"}
        ingest_args = ["ingest", str(corpus), "--db"]

        db = tmp_path / "stress.duckdb"
        events: list[dict] = []
        for k in range(args.interrupts):
            sig = signal.SIGINT if k % 2 == 0 else signal.SIGKILL
            fraction = rng.uniform(0.05, 0.95)
            p = Proc([*ingest_args, str(db)], env)
            target = int(fraction * len(expected))  # inputs counted by the progress bar
            p.until(lambda p=p, target=target: progress(p.err) >= target)
            hit(p, sig, events, "ingest", f"progress >= {fraction:.2f} of the inputs")
        p = Proc([*ingest_args, str(db)], env)
        assert p.finish() == 0, p.err.decode()[-2000:]

        stages = [b"extract:", b"resolve:", b"themes:", b"tone:", b"quotes:"]
        for k in range(args.interrupts):
            sig = signal.SIGINT if k % 2 == 0 else signal.SIGKILL
            stage = stages[0] if k == 0 else rng.choice(stages)
            delay = rng.uniform(0.0, 1.5)
            p = Proc(["analyze", "--db", str(db)], env)
            p.until(lambda p=p, stage=stage: stage in p.err)
            time.sleep(delay)
            hit(p, sig, events, "analyze", f"{delay:.2f}s into {stage.decode()[:-1]}")
        p = Proc(["analyze", "--db", str(db)], env)
        assert p.finish() == 0, p.err.decode()[-2000:]

        remove_deep_chain(corpus / "x_issue13" / "deep", 1100, "bottom.txt")
        with Workbench(db, read_only=True) as wb:
            got: dict[str, list[str]] = {}
            for origin, fate in wb.con.execute(
                "SELECT origin, 'stored' FROM articles UNION ALL "
                "SELECT origin, 'duplicate' FROM duplicates UNION ALL "
                "SELECT origin, 'rejected:' || reason FROM rejects"
            ).fetchall():
                got.setdefault(origin, []).append(fate)
            s = wb.summary()
            runs = Counter(
                f"{k}:{st}" for k, st in wb.con.execute("SELECT kind, status FROM runs").fetchall()
            )
            not_analysed = wb.con.execute(
                "SELECT count(*) FROM articles WHERE extracted_pipeline IS NULL"
            ).fetchone()[0]
    fates = Counter(v[0] for v in got.values() if len(v) == 1)
    sigints = [e for e in events if e["signal"] == "SIGINT"]
    figures = {
        "command": " ".join(["bench/stress_ledger.py", *sys.argv[1:]]),
        "seed": args.seed,
        "csv_rows": args.csv_rows,
        "inputs_given": len(expected),
        "stored": fates["stored"],
        "duplicates": fates["duplicate"],
        "rejected": sum(v for k, v in fates.items() if k.startswith("rejected:")),
        "rejected_by_reason": {
            k.split(":", 1)[1]: v for k, v in sorted(fates.items()) if k.startswith("rejected:")
        },
        "lost": sum(1 for o in expected if o not in got),
        "counted_twice": sum(1 for v in got.values() if len(v) > 1),
        "wrong_fate": sum(1 for o, f in expected.items() if o in got and got[o] != [f]),
        "unexpected_inputs": sum(1 for o in got if o not in expected),
        "summary_articles_plus_duplicates_plus_rejects": s["articles"]
        + s["duplicates"]
        + s["rejects"],
        "interrupts": events,
        "sigint_answered_130_with_message": sum(
            1 for e in sigints if e["rc"] == 130 and e["message"]
        ),
        "sigints": len(sigints),
        "slowest_sigint_to_exit_s": max((e["seconds_to_exit"] for e in sigints), default=None),
        "runs": dict(sorted(runs.items())),
        "runs_left_running": sum(v for k, v in runs.items() if k.endswith(":running")),
        "articles_not_analysed": not_analysed,
        "seconds": round(time.perf_counter() - t_start, 1),
    }
    for key in ("inputs_given", "stored", "duplicates", "rejected", "lost", "counted_twice"):
        print(f"{key:>16}: {figures[key]:,}")
    print(f"{'by reason':>16}: {json.dumps(figures['rejected_by_reason'])}")
    for key in ("wrong_fate", "unexpected_inputs", "runs_left_running", "articles_not_analysed"):
        print(f"{key:>16}: {figures[key]:,}")
    print(
        f"{'SIGINT':>16}: {figures['sigint_answered_130_with_message']}/{figures['sigints']} "
        f"answered rc 130 + message, slowest {figures['slowest_sigint_to_exit_s']} s to exit"
    )
    for e in events:
        print(f"{'':>16}  {e['phase']:<7} {e['signal']:<7} {e['where']}: rc {e.get('rc')}")
    print(f"{'runs':>16}: {json.dumps(figures['runs'])}")
    print(f"{'seconds':>16}: {figures['seconds']}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    bad = [
        figures[k]
        for k in ("lost", "counted_twice", "wrong_fate", "unexpected_inputs", "runs_left_running")
    ]
    bad.append(figures["articles_not_analysed"])
    bad.append(figures["sigints"] - figures["sigint_answered_130_with_message"])
    bad.append(figures["inputs_given"] - figures["stored"] - figures["duplicates"])
    bad[-1] -= figures["rejected"]
    return 1 if any(bad) else 0


if __name__ == "__main__":
    raise SystemExit(main())
