"""Bad input: a generated hostile corpus where every input is stored, rejected with a reason,
or linked as a duplicate -- and the totals reconcile exactly with what was generated.

Quick mode: one seed, a 10k-row CSV. ``make stress`` (WORKBENCH_STRESS=1): three seeds and a
100k-row CSV. The ledger of expected fates lives in ``corpus_gen.py``.
"""

from __future__ import annotations

import json
import os
import tracemalloc
from pathlib import Path

import pytest
from conftest import STRESS
from corpus_gen import make_corpus
from typer.testing import CliRunner

from workbench import Workbench
from workbench.base import config
from workbench.cli.main import app
from workbench.ingest.load import Article, Limits, Reject, load

SEEDS = [0, 1, 2] if STRESS else [0]
CSV_ROWS = 100_000 if STRESS else 10_000


def ledger(wb: Workbench) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """What the database holds: stored origin -> text, reject origin -> reason,
    duplicate origin -> origin of the stored article it duplicates."""
    stored = dict(wb.con.execute("SELECT origin, text FROM articles").fetchall())
    rejected = dict(wb.con.execute("SELECT origin, reason FROM rejects").fetchall())
    dups = dict(
        wb.con.execute(
            "SELECT d.origin, a.origin FROM duplicates d JOIN articles a USING (article_id)"
        ).fetchall()
    )
    return stored, rejected, dups


@pytest.mark.parametrize("seed", SEEDS)
def test_hostile_corpus_every_input_accounted_for(tmp_path: Path, seed: int) -> None:
    exp = make_corpus(tmp_path / f"corpus{seed}", seed=seed, csv_rows=CSV_ROWS)
    with Workbench(tmp_path / "h.duckdb") as wb:
        r = wb.ingest([tmp_path / f"corpus{seed}"], progress=False)
        got = {"inputs": r.inputs, "stored": r.stored, "rejected": r.rejected}
        got["duplicates"] = r.duplicates
        lost = exp.inputs - (r.stored + r.rejected + r.duplicates + r.unchanged)
        print(f"\nbad-input seed={seed} csv_rows={CSV_ROWS}: {json.dumps(got)} lost={lost}")
        print("  reject reasons:", json.dumps(dict(sorted(r.reject_reasons.items()))))
        assert got == exp.counts() and r.unchanged == 0 and lost == 0

        # Input by input, the database says what the ledger says.
        stored, rejected, dups = ledger(wb)
        assert rejected == exp.rejected
        assert dups == exp.duplicates
        assert stored.keys() == exp.stored.keys()
        wrong_text = [o for o, t in exp.stored.items() if stored[o] != t]
        assert not wrong_text, wrong_text[:5]
        details = wb.sql("SELECT count(*) n FROM rejects WHERE coalesce(detail, '') = ''").n[0]
        assert details == 0  # every reject says why

        # Encodings are recorded; fallbacks are flagged.
        enc = dict(wb.con.execute("SELECT origin, encoding FROM articles").fetchall())
        notes = dict(wb.con.execute("SELECT origin, decode_note FROM articles").fetchall())
        latin = str(tmp_path / f"corpus{seed}" / "d_enc_a_latin1.txt")
        assert enc[latin] == "cp1252" and "not valid UTF-8" in notes[latin]

        # Near-duplicates: a case-only variant is stored but shares the text_hash.
        for first, variant in exp.near_duplicates:
            rows = wb.sql(
                "SELECT article_id, text_hash FROM articles WHERE origin IN (?, ?)",
                [first, variant],
            )
            assert rows.article_id.nunique() == 2 and rows.text_hash.nunique() == 1

        # The run records the same totals.
        run = wb.sql("SELECT * FROM runs WHERE run_id = ?", [r.run_id]).iloc[0]
        assert (run.status, run.n_inputs, run.n_stored) == ("ok", exp.inputs, len(exp.stored))
        assert (run.n_rejected, run.n_duplicates) == (len(exp.rejected), len(exp.duplicates))

        # Idempotent: the same corpus again changes nothing and is fully accounted for.
        before = ledger(wb)
        r2 = wb.ingest([tmp_path / f"corpus{seed}"], progress=False)
        assert ledger(wb) == before
        assert (r2.inputs, r2.stored, r2.unchanged) == (exp.inputs, 0, len(exp.stored))
        assert (r2.rejected, r2.duplicates) == (len(exp.rejected), len(exp.duplicates))


def test_50mb_file_is_rejected_without_reading_it(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    with open(big, "wb") as fh:
        for _ in range(50):
            fh.write(b" date 2022-01-01 " + b"news " * (1 << 18))
    assert big.stat().st_size > 50 * 10**6 > config.MAX_FILE_BYTES
    tracemalloc.start()
    try:
        items = list(load([big]))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    (rej,) = items
    assert isinstance(rej, Reject) and rej.reason == "too_large"
    assert "max_file_bytes" in rej.detail and rej.first_bytes.startswith(" date 2022")
    assert peak < 1 << 20, f"peak Python allocation {peak:,} bytes for a rejected 50 MB file"


def test_oversized_records_inside_streams_are_bounded(tmp_path: Path) -> None:
    """A 16 MB SGML element, JSON line or CSV line with 1 MB limits: rejected with a reason,
    the records after it still load, and memory stays bounded by the limits (plus a 1 MiB
    read chunk), far below the record's size."""
    big = "x" * 16_000_000
    sgm = tmp_path / "r.sgm"
    sgm.write_text(
        '<REUTERS NEWID="1"><DATE>26-FEB-1987</DATE><TEXT><BODY>'
        + big
        + '</BODY></TEXT></REUTERS>\n<REUTERS NEWID="2"><DATE>27-FEB-1987</DATE><TEXT><BODY>'
        "Small one.</BODY></TEXT></REUTERS>\n",
        encoding="latin-1",
    )
    (tmp_path / "r.jsonl").write_text(
        json.dumps({"date": "2022-01-01", "text": big})
        + "\n"
        + json.dumps({"date": "2022-01-02", "text": "Small one."})
        + "\n"
    )
    (tmp_path / "r.csv").write_text(
        f"date,text\n2022-01-01,{big}\n2022-01-02,Small one.\n2022-01-03,{'y' * 20_000}\n"
    )
    limits = Limits(max_file_bytes=1 << 20, max_article_chars=10_000)
    tracemalloc.start()
    try:
        items = list(load([tmp_path], limits=limits))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    fates = {i.origin.rsplit("/", 1)[-1]: getattr(i, "reason", "stored") for i in items}
    assert fates == {
        "r.csv#row=2": "too_long",
        "r.csv#row=3": "stored",
        "r.csv#row=4": "too_long",
        "r.jsonl#line=1": "too_long",
        "r.jsonl#line=2": "stored",
        "r.sgm#NEWID=1": "too_large",
        "r.sgm#NEWID=2": "stored",
    }
    assert all(i.text == "Small one." for i in items if isinstance(i, Article))
    assert peak < 6 * (1 << 20), f"peak Python allocation {peak:,} bytes for 16 MB records"


def test_limits_are_cli_options(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    tmp_path = tmp_path / "in"
    tmp_path.mkdir()
    (tmp_path / "a.txt").write_text(" date 2022-01-01 " + "word " * 400)
    (tmp_path / "b.txt").write_text(" date 2022-01-01 " + "word " * 40)
    (tmp_path / "c.txt").write_text(" date 2022-01-01 short text")
    res = CliRunner().invoke(
        app,
        ["ingest", str(tmp_path), "--db", str(db), "--max-file-bytes", "1000"]
        + ["--max-article-chars", "100"],
    )
    assert res.exit_code == 0, res.output
    with Workbench(db, read_only=True) as wb:
        reasons = dict(wb.con.execute("SELECT origin, reason FROM rejects").fetchall())
        assert {Path(k).name: v for k, v in reasons.items()} == {
            "a.txt": "too_large",
            "b.txt": "too_long",
        }
        assert wb.sql("SELECT text FROM articles").text.tolist() == ["short text"]


@pytest.mark.skipif(
    os.geteuid() == 0, reason="running as root: chmod 000 does not stop root from reading"
)
def test_permission_denied_files_and_folders(tmp_path: Path) -> None:
    f = tmp_path / "locked.txt"
    f.write_text(" date 2022-01-01 text")
    f.chmod(0)
    d = tmp_path / "lockeddir"
    d.mkdir()
    (d / "x.txt").write_text(" date 2022-01-01 text")
    d.chmod(0)
    try:
        got = {Path(i.origin).name: i.reason for i in load([tmp_path]) if isinstance(i, Reject)}
    finally:
        d.chmod(0o755)
    assert got == {"locked.txt": "unreadable", "lockeddir": "unreadable"}
