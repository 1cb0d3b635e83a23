"""The ledger against hostile names, folders, encodings and repeated runs (issue 13).

Every input keeps exactly one fate (stored, duplicate or rejected) whatever its file name's
bytes, its folder depth, its rows' encodings, its column types or the options of earlier
runs; and every stage run is a row of ``runs``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from corpus_gen import make_deep_chain, remove_deep_chain
from typer.testing import CliRunner

from workbench import Workbench
from workbench.cli.main import app
from workbench.ingest.load import origin_bytes

runner = CliRunner()


def fates(wb: Workbench) -> dict[str, list[str]]:
    """origin -> every fate the database records for it (one expected)."""
    out: dict[str, list[str]] = {}
    for origin, fate in wb.con.execute(
        "SELECT origin, 'stored' FROM articles UNION ALL "
        "SELECT origin, 'duplicate' FROM duplicates UNION ALL "
        "SELECT origin, 'rejected:' || reason FROM rejects"
    ).fetchall():
        out.setdefault(origin, []).append(fate)
    return out


# ----------------------------------------------------------------------------- file names


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file names are bytes")
def test_file_names_that_are_not_utf8_are_stored_losslessly(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    names = [
        b"caf\xe9-latin1.txt",
        b"\xff\xfe-bad.txt",
        b"ok.txt",
        b"back\\slash.txt",
        b"mixed-\xe2\x80\x99-\x80.txt",
        "déjà-utf8.txt".encode(),
        b"z\xc3(.txt",
        b"tab\tname.txt",
        b"empty-\xff.txt",
    ]
    raw = os.fsencode(folder)
    for i, name in enumerate(names):
        body = b"" if name.startswith(b"empty") else f" date 2022-01-0{i + 1} text {i}".encode()
        with open(raw + b"/" + name, "wb") as fh:
            fh.write(body)
        os.utime(raw + b"/" + name, (1e9, 1e9))  # not "racy": recorded as read
    with Workbench(tmp_path / "n.duckdb") as wb:
        r = wb.ingest([folder], progress=False)
        assert (r.inputs, r.stored, r.rejected) == (9, 8, 1), str(r)
        got = fates(wb)
        assert all(len(v) == 1 for v in got.values()) and len(got) == 9
        # Stored as valid text, and each origin gives back the exact bytes of its name.
        assert {origin_bytes(o).rsplit(b"/", 1)[1] for o in got} == set(names)
        for origin in got:
            origin.encode("utf-8")
            assert os.path.exists(origin_bytes(origin))
        assert got[str(folder / "ok.txt")] == ["stored"]
        # A rerun reads nothing again (the files table matches the names) and stores nothing.
        r2 = wb.ingest([folder], progress=False)
        assert (r2.stored, r2.unchanged, r2.rejected, r2.skipped_files) == (0, 8, 1, 9)
    res = runner.invoke(app, ["rejects", "--db", str(tmp_path / "n.duckdb")])
    assert res.exit_code == 0 and "empty-" in res.output


def test_a_folder_nested_1100_deep_is_walked(tmp_path: Path) -> None:
    top = tmp_path / "deep"
    top.mkdir()
    (top / "top.txt").write_text(" date 2022-01-01 the top-level file")
    make_deep_chain(top, 1100, "x.txt", b" date 2022-01-02 the file at the bottom")
    with Workbench(tmp_path / "d.duckdb") as wb:
        r = wb.ingest([top], progress=False)
        texts = sorted(wb.sql("SELECT text FROM articles").text)
        assert texts == ["the file at the bottom", "the top-level file"], str(r)
        assert r.inputs == r.stored + r.rejected
    remove_deep_chain(top, 1100, "x.txt")


# ----------------------------------------------------------------------------- encodings


def _rows(n: int, start: int = 0) -> str:
    return "".join(
        f'2022-01-{i % 28 + 1:02d},"Row {i}: Zelenskyy’s “plan” for Kyiv, café {i}."\n'
        for i in range(start, start + n)
    )


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
@pytest.mark.parametrize("where", ["after the first MiB", "inside the first MiB"])
def test_each_row_is_decoded_on_its_own(tmp_path: Path, fmt: str, where: str) -> None:
    """UTF-8 rows stay intact and a cp1252 row keeps its characters, with a note."""
    bad_text = "Naïve “café” – ïle, résumé."
    n_before = (16_000 if fmt == "csv" else 20_000) if where == "after the first MiB" else 20
    if fmt == "csv":
        head = ("date,text\n" + _rows(n_before)).encode()
        bad = f'2022-02-01,"{bad_text}"\n'.encode("cp1252")
        tail = _rows(5, start=n_before).encode()
        row_of_bad = n_before + 2
    else:

        def lines(n: int, start: int = 0) -> str:
            return (
                "".join(
                    json.dumps({"date": "2022-01-01", "text": f"Row {i}: Zelenskyy’s “plan”."})
                    + "\n"
                    for i in range(start, start + n)
                )
                .replace("\\u2019", "’")
                .replace("\\u201c", "“")
                .replace("\\u201d", "”")
            )

        head = lines(n_before).encode()
        bad = ('{"date": "2022-02-01", "text": "' + bad_text + '"}\n').encode("cp1252")
        tail = lines(5, start=n_before).encode()
        row_of_bad = n_before + 1
    assert (len(head) > 1 << 20) == (where == "after the first MiB")
    p = tmp_path / f"mixed.{fmt}"
    p.write_bytes(head + bad + tail)
    with Workbench(tmp_path / "e.duckdb") as wb:
        r = wb.ingest([p], progress=False)
        assert r.stored == n_before + 6 and r.rejected == 0, str(r)
        key = "row" if fmt == "csv" else "line"
        row = wb.sql(
            "SELECT text, encoding, decode_note FROM articles WHERE origin = ?",
            [f"{p}#{key}={row_of_bad}"],
        ).iloc[0]
        assert row.text == bad_text and row.encoding == "cp1252"
        assert f"line {row_of_bad if fmt == 'jsonl' else row_of_bad}" in row.decode_note
        others = wb.sql(
            "SELECT text, encoding, decode_note FROM articles WHERE origin <> ?",
            [f"{p}#{key}={row_of_bad}"],
        )
        assert others.text.str.contains("Zelenskyy’s “plan”").all()
        assert not others.text.str.contains("â€|\ufffd").any()
        assert set(others.encoding) == {"utf-8"} and others.decode_note.isna().all()


# ----------------------------------------------------------------------------- one fate


def test_one_fate_per_input_across_runs(tmp_path: Path) -> None:
    """Rejected in one run, stored by a later one with other options: the reject goes (and
    the run says so); runs with the first options again do not reject it a second time."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "undated.csv").write_text("date,text\n,An article without a date.\n")
    (folder / "dated.txt").write_text(" date 2022-01-01 A dated article.")
    (folder / "t.csv").write_text("date,words\n2022-01-02,First story.\n2022-01-03,Second.\n")
    db = tmp_path / "f.duckdb"
    with Workbench(db) as wb:
        r1 = wb.ingest([folder], progress=False)
        assert (r1.stored, r1.rejected) == (1, 2), str(r1)
        assert set(wb.summary()["reject_reasons"]) == {"no_date", "no_text_column"}
        r2 = wb.ingest([folder], progress=False, allow_undated=True)
        assert (r2.stored, r2.rejects_cleared) == (1, 1), str(r2)
        (counts,) = wb.con.execute(
            "SELECT counts FROM runs WHERE run_id = ?", [r2.run_id]
        ).fetchone()
        assert json.loads(counts)["rejects_cleared"] == 1
        r3 = wb.ingest([folder], progress=False, text="words")
        assert (r3.stored, r3.rejects_cleared) == (2, 1), str(r3)
        for options in ({}, {"allow_undated": True}, {"text": "words"}, {}):
            r = wb.ingest([folder], progress=False, **options)
            assert r.inputs == r.stored + r.unchanged + r.duplicates + r.rejected
            assert r.stored == 0, str(r)
            got = fates(wb)
            assert all(len(v) == 1 for v in got.values()), got
            s = wb.summary()
            assert (s["articles"], s["rejects"]) == (4, 0), (options, got)
            assert set(got) == {
                f"{folder / 'undated.csv'}#row=2",
                str(folder / "dated.txt"),
                f"{folder / 't.csv'}#row=2",
                f"{folder / 't.csv'}#row=3",
            }


def test_a_new_reason_replaces_the_old_one(tmp_path: Path) -> None:
    p = tmp_path / "a.txt"
    p.write_text(" date 2022-01-01 " + "word " * 50)
    with Workbench(tmp_path / "r.duckdb") as wb:
        wb.ingest([p], progress=False, max_article_chars=10)
        wb.ingest([p], progress=False, max_file_bytes=20)
        assert fates(wb) == {str(p): ["rejected:too_large"]}


# ----------------------------------------------------------------------------- columns


def test_timezone_aware_parquet_and_iso_strings_give_the_same_instant(tmp_path: Path) -> None:
    """08:00 in Tokyo on 1 March is 23:00 UTC on 28 February, from either kind of input."""
    tokyo = dt.timezone(dt.timedelta(hours=9))
    stamp = dt.datetime(2022, 3, 1, 8, 0, tzinfo=tokyo)
    pq.write_table(
        pa.table(
            {
                "published": pa.array([stamp], pa.timestamp("us", tz="Asia/Tokyo")),
                "text": ["From Parquet."],
            }
        ),
        tmp_path / "p.parquet",
    )
    (tmp_path / "j.jsonl").write_text(
        json.dumps({"published": stamp.isoformat(), "text": "From JSON."}) + "\n"
    )
    with Workbench(tmp_path / "tz.duckdb") as wb:
        wb.ingest([tmp_path / "p.parquet", tmp_path / "j.jsonl"], progress=False)
        got = wb.sql("SELECT text, date, published FROM articles ORDER BY text")
        assert set(got.date.astype(str)) == {"2022-02-28"}
        assert set(got.published.astype(str)) == {"2022-02-28 23:00:00"}


def test_parquet_list_and_binary_text_is_never_stored_as_a_python_repr(tmp_path: Path) -> None:
    p = tmp_path / "t.parquet"
    pq.write_table(
        pa.table(
            {
                "date": ["2022-01-01"] * 3,
                "paragraphs": pa.array(
                    [["First paragraph.", "Second paragraph."], ["Only one."], None],
                    pa.list_(pa.string()),
                ),
            }
        ),
        p,
    )
    pq.write_table(
        pa.table(
            {
                "date": ["2022-01-01", "2022-01-02", "2022-01-03"],
                "text": pa.array(
                    ["Café in UTF-8.".encode(), "Café in cp1252.".encode("cp1252"), b"\x00" * 40],
                    pa.binary(),
                ),
            }
        ),
        tmp_path / "b.parquet",
    )
    pq.write_table(
        pa.table({"date": ["2022-01-01"], "text": pa.array([[1, 2]], pa.list_(pa.int64()))}),
        tmp_path / "n.parquet",
    )
    with Workbench(tmp_path / "l.duckdb") as wb:
        wb.ingest([tmp_path], progress=False, text="paragraphs")
        wb.ingest([tmp_path / "b.parquet", tmp_path / "n.parquet"], progress=False)
        got = dict(wb.con.execute("SELECT origin, text FROM articles").fetchall())
        notes = dict(wb.con.execute("SELECT origin, decode_note FROM articles").fetchall())
        assert got[f"{p}#row=1"] == "First paragraph.\n\nSecond paragraph."
        assert "joined" in notes[f"{p}#row=1"]
        assert got[f"{tmp_path / 'b.parquet'}#row=1"] == "Café in UTF-8."
        assert got[f"{tmp_path / 'b.parquet'}#row=2"] == "Café in cp1252."
        assert "cp1252" in notes[f"{tmp_path / 'b.parquet'}#row=2"]
        assert not any(t.startswith(("[", "b'", 'b"')) for t in got.values())
        rejects = dict(wb.con.execute("SELECT origin, reason FROM rejects").fetchall())
        assert rejects[f"{tmp_path / 'b.parquet'}#row=3"] == "bad_text"
        assert rejects[f"{tmp_path / 'n.parquet'}#row=1"] == "bad_text"
        assert rejects[f"{p}#row=3"] == "empty"


def test_a_huge_max_file_bytes_reads_files_in_a_bounded_way(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    for i in range(3):
        (tmp_path / "in" / f"{i}.txt").write_text(f" date 2022-01-0{i + 1} article {i}")
    db = tmp_path / "m.duckdb"
    res = runner.invoke(
        app, ["ingest", str(tmp_path / "in"), "--db", str(db), "--max-file-bytes", str(10**14)]
    )
    assert res.exit_code == 0, res.output
    with Workbench(db, read_only=True) as wb:
        assert wb.summary()["articles"] == 3 and wb.summary()["rejects"] == 0


def test_the_database_given_as_input_is_refused_with_a_reason(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    (tmp_path / "a.txt").write_text(" date 2022-01-01 one article")
    assert runner.invoke(app, ["ingest", str(tmp_path / "a.txt"), "--db", str(db)]).exit_code == 0
    res = runner.invoke(app, ["ingest", str(db), "--db", str(db)])
    assert res.exit_code == 2
    assert "is this workbench's database file" in " ".join(res.output.split())


# ----------------------------------------------------------------------------- runs


def test_every_stage_run_is_recorded(seed_wb: Workbench) -> None:
    runs = seed_wb.sql(
        "SELECT run_id, kind, status, seconds, n_inputs, counts FROM runs ORDER BY run_id"
    )
    kinds = list(runs.kind)
    for kind in ("ingest", "extract", "resolve", "themes", "tone", "quotes", "analyze"):
        assert kind in kinds, kinds
    assert set(runs.status) == {"ok"} and runs.seconds.notna().all()
    extract = runs[runs.kind == "extract"].iloc[0]
    assert extract.n_inputs == 1 and json.loads(extract.counts)["sentences"] > 0
    # the stages ran inside the analyze run
    analyze = runs[runs.kind == "analyze"].iloc[0]
    assert analyze.run_id < extract.run_id
