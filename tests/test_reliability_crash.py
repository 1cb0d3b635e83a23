"""Crash safety: ``kill -9`` the real ``workbench ingest`` / ``workbench extract`` process at
random points, then rerun.

Kill points: the test watches the DuckDB write-ahead log (``<db>.wal``), which grows at every
commit, and sends SIGKILL once it passes a random fraction (seeded) of the size an
uninterrupted run reaches -- so kills land between and inside batches all along the run, not
only at start-up. Small batches (``WORKBENCH_INGEST_BATCH``/``WORKBENCH_EXTRACT_BATCH``) give
many commits to land between.

After each kill: the database opens; nothing is half-written (ingest: every stored input is one
the ledger expects, with all columns; extract: every sentence/mention belongs to an article
marked extracted and every extracted article has its sentences); the rerun (in process, the same
code the CLI calls) completes; and the final rows equal those of an uninterrupted run.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import STRESS
from corpus_gen import make_corpus

from workbench import Workbench

WORKBENCH = str(Path(sys.executable).with_name("workbench"))
SEEDS = range(6) if STRESS else range(2)
EXTRACT_SEEDS = range(6) if STRESS else range(1)


def cli(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [WORKBENCH, *args],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def wal_size(db: Path) -> int:
    try:
        return (db.parent / (db.name + ".wal")).stat().st_size
    except FileNotFoundError:
        return 0


def run_watching_wal(args: list[str], db: Path, env: dict[str, str]) -> int:
    """Run to the end; return the largest WAL size seen (the scale for kill points)."""
    proc = cli(args, env)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, wal_size(db))
        time.sleep(0.005)
    _, err = proc.communicate()
    assert proc.returncode == 0, err.decode()
    return peak


def kill_at(args: list[str], db: Path, env: dict[str, str], fraction: float, peak: int) -> str:
    """Start the command and SIGKILL it once the WAL reaches ``fraction`` of ``peak``."""
    proc = cli(args, env)
    target = max(1, int(fraction * peak))
    while proc.poll() is None and wal_size(db) < target:
        time.sleep(0.002)
    if proc.poll() is not None:
        proc.communicate()
        return "finished before the kill point"
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    return f"killed at WAL >= {target:,} bytes"


def ingest_ledger(db: Path) -> tuple[dict, dict, dict]:
    with Workbench(db) as wb:  # read-write: the crashed file must open for writing too
        con = wb.con
        stored = dict(con.execute("SELECT origin, text FROM articles").fetchall())
        rejected = dict(con.execute("SELECT origin, reason FROM rejects").fetchall())
        dups = dict(con.execute("SELECT origin, article_id FROM duplicates").fetchall())
        bad = con.execute(
            "SELECT count(*) FROM articles WHERE text = '' OR n_chars <> length(text) "
            "OR text_hash IS NULL OR run_id NOT IN (SELECT run_id FROM runs)"
        ).fetchone()[0]
        assert bad == 0
    return stored, rejected, dups


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("crash") / "corpus"
    exp = make_corpus(root, seed=7, csv_rows=20_000 if STRESS else 800, big_mb=0)
    return root, exp


@pytest.fixture(scope="module")
def ingest_reference(corpus, tmp_path_factory: pytest.TempPathFactory):
    root, exp = corpus
    db = tmp_path_factory.mktemp("ref") / "ref.duckdb"
    env = {"WORKBENCH_INGEST_BATCH": "40"}
    peak = run_watching_wal(["ingest", str(root), "--db", str(db)], db, env)
    ledger = ingest_ledger(db)
    assert ledger[0] == exp.stored and ledger[1] == exp.rejected
    assert ledger[2].keys() == exp.duplicates.keys()
    return ledger, peak, env


@pytest.mark.parametrize("seed", SEEDS)
def test_kill_ingest_then_rerun(tmp_path: Path, corpus, ingest_reference, seed: int) -> None:
    root, exp = corpus
    (ref_stored, ref_rejected, ref_dups), peak, env = ingest_reference
    db = tmp_path / "c.duckdb"
    args = ["ingest", str(root), "--db", str(db)]
    what = kill_at(args, db, env, random.Random(seed).uniform(0.05, 0.95), peak)

    if db.exists():
        stored, rejected, dups = ingest_ledger(db)
        # Whatever survived is exactly what the uninterrupted run has for those inputs.
        assert all(ref_stored[o] == t for o, t in stored.items())
        assert all(ref_rejected[o] == r for o, r in rejected.items())
        assert all(ref_dups[o] == a for o, a in dups.items())
        print(
            f"\ningest seed={seed}: {what}; survived {len(stored)} stored, "
            f"{len(rejected)} rejected, {len(dups)} duplicates of "
            f"{len(ref_stored)}/{len(ref_rejected)}/{len(ref_dups)}"
        )
    with Workbench(db) as wb:  # the rerun, in process (the same code as the CLI's)
        wb.ingest([root], progress=False)
    assert ingest_ledger(db) == (ref_stored, ref_rejected, ref_dups)
    n = len(ref_stored) + len(ref_rejected) + len(ref_dups)
    print(
        f"  after rerun: inputs {exp.inputs}, stored {len(ref_stored)}, rejected "
        f"{len(ref_rejected)}, duplicates {len(ref_dups)}, lost {exp.inputs - n}"
    )
    assert n == exp.inputs
    with Workbench(db, read_only=True) as wb:
        runs = wb.sql("SELECT status FROM runs ORDER BY run_id").status.tolist()
    assert runs[-1] == "ok" and "running" not in runs  # the killed run says "interrupted"


# ----------------------------------------------------------------------------- extract


def _articles(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    people = ["Vladimir Putin", "Joe Biden", "Olaf Scholz", "Xi Jinping", "Emmanuel Macron"]
    places = ["Kyiv", "Moscow", "Berlin", "Beijing", "Paris", "Warsaw", "Ankara"]
    out = []
    for i in range(n):
        p, q = rng.sample(people, 2)
        a, b = rng.sample(places, 2)
        out.append(
            f"Report {i}. {p} met {q} in {a} on Tuesday to discuss grain exports. "
            f"Officials in {b} said talks would continue. {q} told reporters the meeting "
            f"was useful."
        )
    return out


def extract_state(db: Path) -> tuple[list, list]:
    with Workbench(db) as wb:
        con = wb.con
        orphans = con.execute(
            "SELECT count(*) FROM (SELECT article_id FROM sentences UNION ALL "
            "SELECT article_id FROM mentions) x JOIN articles a USING (article_id) "
            "WHERE a.extracted_pipeline IS NULL"
        ).fetchone()[0]
        assert orphans == 0, "sentences/mentions of an article not marked extracted"
        unknown = con.execute(
            "SELECT count(*) FROM sentences WHERE article_id NOT IN (SELECT article_id FROM "
            "articles)"
        ).fetchone()[0]
        assert unknown == 0
        hollow = con.execute(
            "SELECT count(*) FROM articles a WHERE extracted_pipeline IS NOT NULL AND NOT "
            "EXISTS (SELECT 1 FROM sentences s WHERE s.article_id = a.article_id)"
        ).fetchone()[0]
        assert hollow == 0, "an article marked extracted has no sentences"
        sents = con.execute(
            "SELECT article_id, idx, start_char, end_char, text FROM sentences ORDER BY ALL"
        ).fetchall()
        ments = con.execute(
            "SELECT article_id, sentence_idx, start_char, end_char, label FROM mentions "
            "ORDER BY ALL"
        ).fetchall()
    return sents, ments


@pytest.fixture(scope="module")
def extract_base(tmp_path_factory: pytest.TempPathFactory):
    d = tmp_path_factory.mktemp("xbase")
    (d / "in").mkdir()
    for i, text in enumerate(_articles(120 if STRESS else 30, seed=1)):
        (d / "in" / f"{i:04d}.txt").write_text(f" date 2022-03-{i % 28 + 1:02d} {text}")
    base = d / "base.duckdb"
    with Workbench(base) as wb:
        wb.ingest([d / "in"], progress=False)
    ref = d / "ref.duckdb"
    shutil.copy(base, ref)
    env = {"WORKBENCH_EXTRACT_BATCH": "3"}
    peak = run_watching_wal(["extract", "--db", str(ref)], ref, env)
    state = extract_state(ref)
    assert state[0] and state[1]
    return base, state, peak, env


@pytest.mark.parametrize("seed", EXTRACT_SEEDS)
def test_kill_extract_then_rerun(tmp_path: Path, extract_base, seed: int) -> None:
    base, (ref_sents, ref_ments), peak, env = extract_base
    db = tmp_path / "x.duckdb"
    shutil.copy(base, db)
    args = ["extract", "--db", str(db)]
    what = kill_at(args, db, env, random.Random(100 + seed).uniform(0.05, 0.95), peak)
    sents, ments = extract_state(db)
    assert set(sents) <= set(ref_sents) and set(ments) <= set(ref_ments)
    print(f"\nextract seed={seed}: {what}; survived {len(sents)}/{len(ref_sents)} sentences")
    with Workbench(db) as wb:  # the rerun, in process, with the default chunk size
        wb.extract(progress=False)
    assert extract_state(db) == (ref_sents, ref_ments)
    print(f"  after rerun: {len(ref_sents)} sentences, {len(ref_ments)} mentions, as uninterrupted")
