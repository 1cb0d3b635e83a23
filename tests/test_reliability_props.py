"""Property tests (hypothesis) for the loaders and normalisers.

Arbitrary bytes as files, arbitrary strings as CSV cells and JSONL lines never crash a batch,
and every record is accounted for; ids are stable and whitespace/Unicode-normalisation
invariant; what is ingested reads back as the cleaned text; dates round-trip.
Quick mode runs a few dozen examples per property; ``make stress`` runs many more.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
import signal
import tempfile
import threading
import unicodedata
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import STRESS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench import Workbench
from workbench.ingest.load import (
    Article,
    Limits,
    Reject,
    article_id,
    clean_str,
    decode_bytes,
    load,
    make_article,
    normalise_text,
    origin_bytes,
    origin_text,
    parse_date,
)

#: Examples per property: pure functions are cheap; each database example ingests a file.
EXAMPLES = 1000 if STRESS else 100
DB_EXAMPLES = 300 if STRESS else 20
_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large]
PROPS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=_HEALTH)
DB_PROPS = settings(max_examples=DB_EXAMPLES, deadline=None, suppress_health_check=_HEALTH)
#: Text that can be written to a UTF-8 file (no lone surrogates).
FILE_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)
ANY_TEXT = st.text(max_size=200)  # includes lone surrogates, NUL, controls
DATES = st.dates(dt.date(1800, 1, 1), dt.date(2020, 12, 31))
WS = st.text(st.sampled_from(" \t\n\r\u00a0\u2003\u3000"), min_size=1, max_size=4)


@contextmanager
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as d:
        yield Path(d)


@pytest.fixture(scope="module")
def shared_wb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workbench]:
    """One database for all examples of the module (opening one per example is slow);
    every example writes under its own folder and source name, so examples never collide."""
    with Workbench(tmp_path_factory.mktemp("props") / "p.duckdb") as wb:
        yield wb


@contextmanager
def scratch_wb(wb: Workbench) -> Iterator[tuple[Path, Workbench, str]]:
    with scratch() as d:
        yield d, wb, uuid.uuid4().hex


def assert_accounted(r, n_expected: int | None = None) -> None:
    assert r.inputs == r.stored + r.rejected + r.duplicates + r.unchanged
    if n_expected is not None:
        assert r.inputs == n_expected


def assert_clean(a: Article) -> None:
    for value in (a.text, a.title, a.source, a.url):
        if value is not None:
            assert value == value.strip() or value is not a.text
            assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]", value)
    assert a.text.strip()


# ----------------------------------------------------------------------------- bytes


@PROPS
@given(st.binary(max_size=3000))
def test_decode_never_raises(data: bytes) -> None:
    text, enc, _note = decode_bytes(data)
    assert text is None or isinstance(text, str)
    assert enc


@DB_PROPS
@given(
    data=st.one_of(
        st.binary(max_size=2000),
        FILE_TEXT.map(lambda t: (" date 2022-01-01 " + t).encode()),
        FILE_TEXT.map(lambda t: ('<REUTERS NEWID="1"><DATE>1-MAR-1987</DATE>' + t).encode()),
    ),
    ext=st.sampled_from([".txt", ".csv", ".jsonl", ".sgm", ".tsv", ".json", ".parquet"]),
)
def test_arbitrary_bytes_as_any_format_never_crash_the_batch(
    shared_wb: Workbench, data: bytes, ext: str
) -> None:
    with scratch_wb(shared_wb) as (d, wb, tag):
        (d / "in").mkdir()
        (d / "in" / f"f{ext}").write_bytes(data)
        good = f"A good article after the bad one ({tag})."
        (d / "in" / "good.txt").write_text(f" date 2022-01-01 {good}")
        r = wb.ingest([d / "in"], progress=False)
        assert_accounted(r)
        assert r.inputs >= 2 and r.stored >= 1  # the bad file is accounted, the good one stored
        assert wb.sql("SELECT count(*) n FROM articles WHERE text = ?", [good]).n[0] == 1
        assert wb.sql("SELECT count(*) n FROM rejects WHERE detail IS NULL").n[0] == 0


# ----------------------------------------------------------------------------- CSV / JSONL


@DB_PROPS
@given(st.lists(st.tuples(FILE_TEXT, FILE_TEXT, FILE_TEXT), min_size=1, max_size=12))
def test_csv_cells_round_trip_and_every_row_is_accounted(
    shared_wb: Workbench, rows: list[tuple[str, ...]]
) -> None:
    with scratch_wb(shared_wb) as (d, wb, tag):
        p = d / f"x{tag}.csv"  # the file stem is the source: unique per example
        with open(p, "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["date", "title", "text"])
            for title, text, _ in rows:
                w.writerow(["2022-01-01", title, text])
            for cells in rows:  # ragged rows of arbitrary cells
                w.writerow(cells)
        r = wb.ingest([p], progress=False)
        assert_accounted(r, 2 * len(rows))
        got = dict(
            wb.con.execute(
                "SELECT origin, text FROM articles WHERE source = ?", [f"x{tag}"]
            ).fetchall()
        )
        for i, (_title, text, _) in enumerate(rows):
            origin = f"{p}#row={i + 2}"
            expected = clean_str(text).strip()
            if expected:  # stored, or a duplicate of an earlier equal row
                if origin in got:
                    assert got[origin] == expected
            else:
                assert origin not in got


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT,
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(ANY_TEXT, kids, max_size=3),
    max_leaves=8,
)


@DB_PROPS
@given(
    st.lists(
        st.one_of(
            JSON_VALUES.map(lambda v: json.dumps(v)),
            st.fixed_dictionaries(
                {"date": st.one_of(ANY_TEXT, DATES.map(str), st.integers()), "text": ANY_TEXT},
                optional={"title": ANY_TEXT, "source": ANY_TEXT, "meta": JSON_VALUES},
            ).map(json.dumps),
            FILE_TEXT.filter(lambda s: "\n" not in s and "\r" not in s),
        ),
        min_size=1,
        max_size=10,
    )
)
def test_jsonl_lines_never_crash_and_each_line_is_one_record(
    shared_wb: Workbench, lines: list[str]
) -> None:
    with scratch_wb(shared_wb) as (d, wb, tag):
        p = d / f"x{tag}.jsonl"
        p.write_text("\n".join(lines) + "\n", encoding="utf-8")
        records = [ln for ln in p.read_text(encoding="utf-8").split("\n") if ln.strip()]
        r = wb.ingest([p], progress=False)
        assert_accounted(r, max(1, len(records)))  # a file with no record is one reject
        texts = wb.con.execute("SELECT text FROM articles WHERE run_id = ?", [r.run_id])
        for (text,) in texts.fetchall():
            assert text and text == text.strip()


# ----------------------------------------------------------------------------- normalisers


@PROPS
@given(ANY_TEXT, ANY_TEXT, ANY_TEXT, JSON_VALUES)
def test_make_article_never_raises_and_output_is_clean(text, title, source, meta) -> None:
    item = make_article(
        text=text,
        date_value="2022-01-01",
        origin="x",
        fmt="jsonl",
        limits=Limits(),
        title=title,
        source=source,
        meta={"m": meta},
    )
    if isinstance(item, Article):
        assert_clean(item)
        json.dumps(item.meta, ensure_ascii=False).encode("utf-8")  # storable as UTF-8
    else:
        assert item.reason == "empty"


@PROPS
@given(st.lists(st.text(min_size=1, max_size=8).filter(str.strip), min_size=1), WS, DATES)
def test_ids_are_stable_and_whitespace_invariant(words: list[str], ws: str, date) -> None:
    words = [normalise_text(w) for w in words if normalise_text(w)]
    text = " ".join(words)
    spaced = ws + ws.join(words) + ws
    assert article_id(text, date, "S") == article_id(text, date, "S")  # stable
    assert article_id(spaced, date, "S") == article_id(text, date, "S")
    nfd = unicodedata.normalize("NFD", text)
    assert article_id(nfd, date, "S") == article_id(text, date, "S")
    if text:
        assert article_id(text, date, "S") != article_id(text, date, "T")
        assert article_id(text, date, "S") != article_id(text, date + dt.timedelta(1), "S")


@DB_PROPS
@given(FILE_TEXT, DATES)
def test_seed_file_round_trip(shared_wb: Workbench, body: str, date) -> None:
    """Ingest then read back: the stored text is the cleaned body, and the id matches."""
    with scratch_wb(shared_wb) as (d, wb, tag):
        p = d / "a.txt"
        p.write_bytes(f" date {date.isoformat()} {body}".encode())
        r = wb.ingest([p], source_name=tag, progress=False)
        assert_accounted(r, 1)
        expected = clean_str(body).strip()
        rows = wb.con.execute(
            "SELECT article_id, date, text FROM articles WHERE source = ?", [tag]
        ).fetchall()
        if rows:
            ((aid, got_date, got_text),) = rows
            assert got_text == expected and got_date == date
            assert aid == article_id(expected, date, tag)
        else:
            (reason,) = wb.con.execute(
                "SELECT reason FROM rejects WHERE run_id = ?", [r.run_id]
            ).fetchone()
            assert reason in {"empty", "binary"}, reason
            assert reason == "binary" or not expected


@PROPS
@given(st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)))
def test_parse_date_round_trips_dates(d: dt.date) -> None:
    assert parse_date(d.isoformat()) == (d, None)
    assert parse_date(f"{d.year:04d}/{d.month}/{d.day}")[0] == d
    mon = d.strftime("%b").upper()
    assert parse_date(f"{d.day}-{mon}-{d.year:04d} 10:11:12.13")[0] == d


@PROPS
@given(st.datetimes(dt.datetime(1800, 1, 2), dt.datetime(9999, 12, 30)), st.booleans())
def test_parse_date_round_trips_timestamps(ts: dt.datetime, utc: bool) -> None:
    ts = ts.replace(microsecond=0)
    s = ts.isoformat() + ("Z" if utc else "")
    assert parse_date(s) == (ts.date(), ts)


@PROPS
@given(st.one_of(ANY_TEXT, st.integers(), st.floats(), st.dates().map(str)))
def test_parse_date_only_raises_value_error(value: object) -> None:
    try:
        d, _ = parse_date(value)
    except ValueError:
        return
    assert isinstance(d, dt.date)


def test_load_accounts_for_every_item_type() -> None:
    """A plain check that the property helpers see both kinds of item."""
    with scratch() as d:
        (d / "a.txt").write_text(" date 2022-01-01 text")
        (d / "b.txt").write_text("")
        kinds = sorted(type(i).__name__ for i in load([d]))
    assert kinds == [Article.__name__, Reject.__name__]


# ----------------------------------------------------------------------------- issue 13

#: Issue-13 database properties: a few seconds each in quick mode.
PROPS_13 = settings(
    max_examples=DB_EXAMPLES * 2 if STRESS else 8, deadline=None, suppress_health_check=_HEALTH
)
#: A file name as POSIX allows it: any bytes but ``/`` and NUL, not hidden, not ``.``/``..``.
NAME_BYTES = st.binary(min_size=1, max_size=40).filter(
    lambda b: b"/" not in b and b"\x00" not in b and not b.startswith(b".")
)


@PROPS_13
@given(st.lists(NAME_BYTES, min_size=1, max_size=5, unique=True))
def test_file_names_of_arbitrary_bytes_are_stored_and_recoverable(
    shared_wb: Workbench, names: list[bytes]
) -> None:
    with scratch_wb(shared_wb) as (d, wb, tag):
        folder = os.fsencode(d)
        for i, name in enumerate(names):
            with open(folder + b"/" + name, "wb") as fh:
                fh.write(f" date 2022-01-01 {tag} article {i}".encode())
        r = wb.ingest([d], progress=False)
        assert_accounted(r, len(names))
        assert r.stored == len(names)
        origins = [
            o
            for (o,) in wb.con.execute(
                "SELECT origin FROM articles WHERE run_id = ?", [r.run_id]
            ).fetchall()
        ]
        assert sorted(origin_bytes(o) for o in origins) == sorted(folder + b"/" + n for n in names)
        for o in origins:  # valid text, and the same text again from the name's bytes
            assert o.encode("utf-8") and origin_text(os.fsdecode(origin_bytes(o))) == o


CP1252_TEXT = st.text(
    st.characters(codec="cp1252", blacklist_categories=("Cs", "Cc")), min_size=1, max_size=60
).filter(lambda t: t.strip() and '"' not in t and "," not in t)


@PROPS_13
@given(st.lists(st.tuples(CP1252_TEXT, st.sampled_from(["utf-8", "cp1252"])), max_size=8))
def test_each_csv_row_keeps_its_own_encoding(
    shared_wb: Workbench, rows: list[tuple[str, str]]
) -> None:
    """Rows in UTF-8 and cp1252 mixed in one file: every row reads back as written, and
    a row decoded as cp1252 says so."""
    with scratch_wb(shared_wb) as (d, wb, tag):
        p = d / f"x{tag}.csv"
        data = [b"date,text\n"]
        for i, (text, enc) in enumerate(rows):
            data.append(f"2022-01-01,{i} {text}\n".encode(enc))
        p.write_bytes(b"".join(data))
        r = wb.ingest([p], progress=False)
        assert_accounted(r, max(1, len(rows)))
        got = {
            o: (t, e, n)
            for o, t, e, n in wb.con.execute(
                "SELECT origin, text, encoding, decode_note FROM articles WHERE source = ?",
                [f"x{tag}"],
            ).fetchall()
        }
        for i, (text, enc) in enumerate(rows):
            origin = f"{p}#row={i + 2}"
            if origin not in got:
                continue  # a duplicate of an equal earlier row, or a text that cleans to ""
            stored, encoding, note = got[origin]
            raw = f"{i} {text}".encode(enc)
            try:
                raw.decode("utf-8")
                valid_utf8 = True
            except UnicodeDecodeError:
                valid_utf8 = False
            if enc == "utf-8" or valid_utf8:  # bytes valid as UTF-8 read as UTF-8
                assert encoding == "utf-8" and note is None
                assert stored == clean_str(raw.decode("utf-8")).strip()
            else:
                assert encoding == "cp1252" and "not valid UTF-8" in note
                assert stored == clean_str(f"{i} {text}").strip()


#: One ingest step: options, and a ctrl-C after that many seconds (None: runs to the end).
STEPS = st.lists(
    st.tuples(
        st.fixed_dictionaries({"allow_undated": st.booleans(), "long": st.booleans()}),
        st.one_of(st.none(), st.floats(0.0, 0.25)),
    ),
    min_size=1,
    max_size=3 if not STRESS else 8,
)


def _interrupt_corpus(d: Path, tag: str) -> int:
    """A few inputs whose fate depends on the options (undated, long) -> number of inputs."""
    (d / "in").mkdir()
    rows = ["date,text"]
    for i in range(40):
        date = "" if i % 5 == 0 else f"2022-01-{i % 28 + 1:02d}"
        text = f"{tag} row {i} " + ("long words " * 30 if i % 7 == 0 else "short")
        rows.append(f"{date},{text}")
    (d / "in" / "t.csv").write_text("\n".join(rows) + "\n")
    for i in range(6):
        (d / "in" / f"s{i}.txt").write_text(f" date 2022-02-0{i + 1} {tag} seed {i}")
    (d / "in" / "bad.txt").write_text("no header at all")
    return 40 + 6 + 1


@settings(PROPS_13, max_examples=100 if STRESS else 4)
@given(STEPS)
def test_every_input_has_one_fate_after_any_runs_and_interrupts(
    shared_wb: Workbench, steps: list[tuple[dict[str, bool], float | None]]
) -> None:
    """Any sequence of ingests with other options, each maybe interrupted by a real SIGINT
    at any moment: every input keeps exactly one fate, and a final run accounts for all."""
    with scratch_wb(shared_wb) as (d, wb, tag):
        n_inputs = _interrupt_corpus(d, tag)
        old = signal.signal(signal.SIGINT, lambda *_: None)  # a late signal hits nothing
        try:
            for options, delay in steps:
                kw = {"allow_undated": options["allow_undated"], "batch_size": 7}
                kw["max_article_chars"] = 100 if options["long"] else 10_000
                timer = None
                if delay is not None:
                    timer = threading.Timer(delay, os.kill, (os.getpid(), signal.SIGINT))
                    timer.start()
                try:
                    r = _ingest(wb, d / "in", **kw)
                except KeyboardInterrupt:
                    r = None
                finally:
                    if timer is not None:
                        timer.cancel()
                        timer.join()
                if r is not None:
                    assert_accounted(r, n_inputs)
                _assert_one_fate(wb, d)
        finally:
            signal.signal(signal.SIGINT, old)
        r = _ingest(wb, d / "in", allow_undated=False)
        assert_accounted(r, n_inputs)
        assert len(_assert_one_fate(wb, d)) == n_inputs
        status = wb.con.execute(
            "SELECT count(*) FROM runs WHERE status = 'running' OR status IS NULL"
        ).fetchone()[0]
        assert status == 0


def _ingest(wb: Workbench, path: Path, **kw):
    from workbench.ingest.load import Limits
    from workbench.ingest.writer import ingest

    limits = Limits(
        max_article_chars=kw.pop("max_article_chars", 10_000),
        allow_undated=kw.pop("allow_undated"),
    )
    return ingest(wb.con, [path], limits=limits, progress=False, **kw)


def _assert_one_fate(wb: Workbench, d: Path) -> dict[str, int]:
    n = dict(
        wb.con.execute(
            "SELECT origin, count(*) FROM (SELECT origin FROM articles UNION ALL "
            "SELECT origin FROM duplicates UNION ALL SELECT origin FROM rejects) "
            "WHERE starts_with(origin, ?) GROUP BY 1",
            [str(d)],
        ).fetchall()
    )
    assert all(v == 1 for v in n.values()), {k: v for k, v in n.items() if v > 1}
    return n
