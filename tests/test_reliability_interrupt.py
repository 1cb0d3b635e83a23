"""Ctrl-C (SIGINT) on the real ``workbench ingest`` / ``workbench analyze`` processes.

Each interrupt must be honoured promptly (the process exits within seconds on a loaded CI
machine; typically under one), with status 130 and a message that says what was committed
and how to resume; the run is recorded as ``interrupted``; the batch in flight is rolled
back (what the database holds is what the message counted); no valid input becomes a
``store_error`` reject; and the same command again completes the work, each input once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import STRESS, write_seed_article

from workbench import Workbench

WORKBENCH = str(Path(sys.executable).with_name("workbench"))
#: Seconds from SIGINT to exit allowed on a loaded 2-core CI machine.
PROMPT = 5.0
ROWS = 3000
WORDS = "minister talks border ceasefire sanctions summit election protest energy gas".split()


class Proc:
    """A CLI process whose stderr is collected as it comes (progress bars, the message)."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.p = subprocess.Popen(
            [WORKBENCH, *args],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.err = b""
        self._t = threading.Thread(target=self._read, daemon=True)
        self._t.start()

    def _read(self) -> None:
        assert self.p.stderr is not None
        while chunk := self.p.stderr.read1(4096):
            self.err += chunk

    def wait_for(self, pred, timeout: float = 120) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end and self.p.poll() is None:
            if pred():
                return True
            time.sleep(0.005)
        return False

    def interrupt(self, second_after: float | None = None) -> float:
        """SIGINT (and optionally a second one); returns the seconds until the exit."""
        t0 = time.monotonic()
        self.p.send_signal(signal.SIGINT)
        if second_after is not None:
            time.sleep(second_after)
            if self.p.poll() is None:
                self.p.send_signal(signal.SIGINT)
        self.p.wait(60)
        took = time.monotonic() - t0
        self._t.join(10)
        return took

    @property
    def text(self) -> str:
        return " ".join(self.err.decode(errors="replace").split())


def wal(db: Path) -> int:
    try:
        return (db.parent / (db.name + ".wal")).stat().st_size
    except FileNotFoundError:
        return 0


@pytest.fixture(scope="module")
def csv_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("intr")
    for k in range(2):
        with open(d / f"c{k}.csv", "w") as fh:
            fh.write("date,text\n")
            for i in range(ROWS):
                body = " ".join(WORDS[(i + j) % len(WORDS)] for j in range(150))
                fh.write(f"2022-01-{i % 28 + 1:02d},{body} {k}-{i}\n")
    return d


POINTS = [(0.1, None), (0.4, None), (0.25, 0.03)] + (
    [(0.05, None), (0.6, None), (0.8, 0.01), (0.5, 0.2)] if STRESS else []
)


@pytest.mark.parametrize(("fraction", "second"), POINTS)
def test_ctrl_c_during_ingest_is_always_honoured(
    tmp_path: Path, csv_corpus: Path, fraction: float, second: float | None
) -> None:
    db = tmp_path / "i.duckdb"
    env = {"WORKBENCH_INGEST_BATCH": "250"}
    proc = Proc(["ingest", str(csv_corpus), "--db", str(db)], env)
    # ~1.2 KB of WAL per row: interrupt at ``fraction`` of the corpus, mid-run.
    target = int(fraction * 2 * ROWS * 1200)
    assert proc.wait_for(lambda: wal(db) >= target), "finished before the interrupt point"
    took = proc.interrupt(second)
    assert proc.p.returncode == 130, proc.text
    assert took < PROMPT, f"{took:.1f}s from ctrl-C to exit"
    assert "interrupted: ingest run 1" in proc.text and "To resume" in proc.text, proc.text
    with Workbench(db) as wb:
        status, n_stored = wb.con.execute("SELECT status, n_stored FROM runs").fetchone()
        stored = wb.sql("SELECT count(*) n FROM articles").n[0]
        assert status == "interrupted"
        assert stored == n_stored and f"{n_stored:,} stored" in proc.text  # rolled back
        assert 0 < stored < 2 * ROWS
        assert wb.sql("SELECT count(*) n FROM rejects").n[0] == 0  # never a store_error
        r = wb.ingest([csv_corpus], progress=False)  # the same command again completes it
        assert (r.stored, r.unchanged, r.rejected) == (2 * ROWS - stored, stored, 0)
        assert wb.sql("SELECT count(DISTINCT origin) n FROM articles").n[0] == 2 * ROWS
        runs = wb.sql("SELECT status FROM runs ORDER BY run_id").status.tolist()
        assert runs == ["interrupted", "ok"]


@pytest.fixture(scope="module")
def articles_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("an")
    (d / "in").mkdir()
    for i in range(32):
        write_seed_article(
            d / "in",
            f"{i:03d}.txt",
            f"2022-03-{i % 28 + 1:02d}",
            f"Story {i}. Ukrainian President Volodymyr Zelenskyy spoke with Joe Biden in "
            f'Kyiv about sanctions on Russia. "We want peace," Putin said in Moscow. {i}',
        )
    with Workbench(d / "base.duckdb") as wb:
        wb.ingest([d / "in"], progress=False)
    return d / "base.duckdb"


def _copy(src: Path, dst: Path) -> Path:
    dst.write_bytes(src.read_bytes())
    return dst


@pytest.mark.parametrize("stage", ["extract", "later"])
def test_ctrl_c_during_analyze_is_always_honoured(
    tmp_path: Path, articles_db: Path, stage: str
) -> None:
    db = _copy(articles_db, tmp_path / "a.duckdb")
    proc = Proc(["analyze", "--db", str(db)], {"WORKBENCH_EXTRACT_BATCH": "4"})
    if stage == "extract":  # after the first chunks are committed
        ok = proc.wait_for(lambda: b"extract:" in proc.err and wal(db) > 20_000)
    else:  # in a stage after extraction (themes and tone are done along it)
        ok = proc.wait_for(lambda: b"resolve:" in proc.err)
    assert ok, proc.text[-2000:]
    took = proc.interrupt()
    assert proc.p.returncode == 130, proc.text[-2000:]
    assert took < PROMPT, f"{took:.1f}s from ctrl-C to exit"
    assert "interrupted: " in proc.text and "To resume" in proc.text, proc.text[-2000:]
    assert "articles extracted" in proc.text
    with Workbench(db) as wb:
        runs = dict(
            wb.con.execute("SELECT kind, status FROM runs WHERE kind <> 'ingest'").fetchall()
        )
        assert runs["analyze"] == "interrupted", runs
        if stage == "extract":
            assert runs["extract"] == "interrupted", runs
        else:  # extraction complete; the later stage in flight recorded as interrupted
            assert runs["extract"] == "ok", runs
            assert [k for k, v in runs.items() if v == "interrupted"] != ["analyze"], runs
        # nothing half-written: every sentence belongs to an article marked extracted
        orphans = wb.sql(
            "SELECT count(*) n FROM sentences WHERE article_id IN "
            "(SELECT article_id FROM articles WHERE extracted_pipeline IS NULL)"
        ).n[0]
        assert orphans == 0
        wb.analyze(progress=False)  # the same command again completes it
        assert wb.sql("SELECT count(*) n FROM articles WHERE extracted_pipeline IS NULL").n[0] == 0
        assert "running" not in wb.sql("SELECT status FROM runs").status.tolist()
