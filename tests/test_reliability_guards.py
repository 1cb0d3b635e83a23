"""Guards against the files users point the workbench at: where reports may be written,
damaged and foreign database files, hostile YAML, full-text queries with stopwords,
malformed query parameters, and the taxonomy a database was tagged with.

All on real files: real DuckDB databases, real YAML, real Reuters articles.
"""

from __future__ import annotations

import hashlib
import os
import time
import tracemalloc
from pathlib import Path

import duckdb
import pytest
from conftest import REUTERS, need_shared
from typer.testing import CliRunner

from workbench import Workbench
from workbench.annotate import search, themes
from workbench.base import errors
from workbench.base.filters import Filter, filtered_articles_sql
from workbench.cli.main import app
from workbench.resolve.registry import load_registry


def one_line(text: str) -> str:
    return " ".join(text.split())


def cli(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(app, list(args))
    assert not isinstance(res.exception, Exception) or isinstance(res.exception, SystemExit), (
        f"traceback instead of a message: {res.exception!r}"
    )
    assert "Traceback" not in res.output
    return res.exit_code, one_line(res.output)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def small_db(tmp_path: Path, tiny_articles: Path) -> Path:
    """A closed workbench database with three ingested articles (no analysis)."""
    db = tmp_path / "small.duckdb"
    with Workbench(db) as w:
        w.ingest([tiny_articles], progress=False)
    return db


# ------------------------------------------------------------------ where a report may go
def test_report_never_overwrites_the_database_or_its_log(small_db: Path) -> None:
    before = digest(small_db)
    rc, out = cli("report", "--db", str(small_db), "--out", str(small_db))
    assert rc == 2 and f"cannot write {small_db}: it is the open database" in out
    assert digest(small_db) == before
    with Workbench(small_db, read_only=True) as w:
        assert w.sql("SELECT count(*) n FROM articles").n[0] == 3
        with pytest.raises(errors.OutputRefused, match="open database"):
            w.report(Path(str(small_db) + ".wal"))


def test_report_never_overwrites_an_input(small_db: Path, tiny_articles: Path) -> None:
    victim = tiny_articles / "a.txt"
    before = digest(victim)
    for given in (str(victim), os.path.relpath(victim)):
        rc, out = cli("report", "--db", str(small_db), "--out", given, "--force")
        assert rc == 2 and "it is an input of" in out and "inputs are never overwritten" in out
    assert digest(victim) == before


def test_report_into_a_folder_or_unwritable_place_is_one_clear_line(
    small_db: Path, tmp_path: Path
) -> None:
    rc, out = cli("report", "--db", str(small_db), "--out", str(tmp_path))
    assert rc == 2 and "it is a folder" in out and "Give a file name" in out
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    rc, out = cli("report", "--db", str(small_db), "--out", str(blocker / "r.html"))
    assert rc == 2 and "its folder cannot be created" in out and "Choose another --out" in out


def test_existing_file_needs_force_an_earlier_report_does_not(seed_wb: Workbench, tmp_path):
    notes = tmp_path / "notes.html"
    notes.write_text("<p>my own notes</p>")
    with pytest.raises(errors.OutputRefused, match="not a report written by the workbench"):
        seed_wb.report(notes)
    assert notes.read_text() == "<p>my own notes</p>"
    assert seed_wb.report(notes, force=True) == notes and "coverage-workbench" in notes.read_text()
    seed_wb.report(notes)  # now an earlier report of ours: replaced without --force


def test_parquet_parts_never_go_to_the_database(small_db: Path) -> None:
    from workbench.nlp import distributed

    with Workbench(small_db) as w, pytest.raises(errors.OutputRefused, match="open database"):
        distributed.run(w.con, str(small_db))


# ------------------------------------------------------------------ damaged / foreign files
def _corrupt(db: Path, start: int) -> None:
    data = bytearray(db.read_bytes())
    data[start:] = os.urandom(len(data) - start)
    db.write_bytes(bytes(data))


@pytest.mark.parametrize("where", ["header", "blocks"])
def test_damaged_database_is_not_reported_as_in_use(small_db: Path, where: str) -> None:
    _corrupt(small_db, 4096 if where == "header" else 12288)
    for ro in (False, True):
        with pytest.raises(errors.DatabaseDamaged) as info:
            Workbench(small_db, read_only=ro).summary()
        msg = str(info.value)
        assert "is damaged" in msg and "in use" not in msg and "backup" in msg
    rc, out = cli("summary", "--db", str(small_db))
    assert rc == 2 and f"database {small_db} is damaged" in out and "in use" not in out


def test_a_file_that_is_not_duckdb_says_so(tmp_path: Path) -> None:
    notes = tmp_path / "notes.duckdb"
    notes.write_text("these are my notes, not a database\n" * 50)
    before = digest(notes)
    rc, out = cli("ingest", "--db", str(notes), str(tmp_path / "nothing"))
    assert rc == 2 and "is not a DuckDB database file" in out and "in use" not in out
    assert digest(notes) == before


def test_another_applications_database_is_refused_untouched(tmp_path, tiny_articles) -> None:
    other = tmp_path / "crm.duckdb"
    con = duckdb.connect(str(other))
    con.execute("CREATE TABLE customers (id INTEGER, name VARCHAR)")
    con.execute("INSERT INTO customers VALUES (1, 'Ada')")
    con.execute("CREATE SCHEMA sales; CREATE VIEW sales.v AS SELECT 1 AS x")
    con.close()
    rc, out = cli("ingest", "--db", str(other), str(tiny_articles))
    assert rc == 2 and "is not a workbench database" in out and "main.customers" in out
    rc, out = cli("summary", "--db", str(other))
    assert rc == 2 and "is not a workbench database" in out
    con = duckdb.connect(str(other), read_only=True)
    tables = sorted(r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall())
    con.close()
    assert tables == ["customers"]  # nothing added


def test_an_empty_duckdb_file_becomes_a_workbench_database(tmp_path, tiny_articles) -> None:
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    rc, out = cli("ingest", "--db", str(empty), str(tiny_articles))
    assert rc == 0 and "3 stored" in out


# ------------------------------------------------------------------ hostile YAML
def billion_laughs(path: Path, *, key: str = "themes") -> Path:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    if key == "themes":
        lines.append("themes:\n  - id: lol\n    label: LOL\n    terms: *a9")
    else:
        lines.append("actors:\n  - name: Lol\n    type: PERSON\n    aliases: *a9")
    path.write_text("\n".join(lines) + "\n")
    assert path.stat().st_size < 1000
    return path


def test_billion_laughs_taxonomy_fails_fast(tmp_path: Path) -> None:
    bomb = billion_laughs(tmp_path / "lol.yaml")
    tracemalloc.start()
    t0 = time.perf_counter()
    with pytest.raises(errors.BadTaxonomy, match="expands to more than"):
        themes.load_taxonomy([bomb])
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert seconds < 10 and peak < 200e6, (seconds, peak)
    rc, out = cli("tag-themes", "--db", str(tmp_path / "t.duckdb"), "--taxonomy", str(bomb))
    assert rc == 2 and f"theme taxonomy {bomb}" in out and "aliases" in out


def test_billion_laughs_registry_fails_fast(tmp_path: Path) -> None:
    bomb = billion_laughs(tmp_path / "reg.yaml", key="actors")
    t0 = time.perf_counter()
    with pytest.raises(errors.RegistryError, match="expands to more than"):
        load_registry(bomb)
    assert time.perf_counter() - t0 < 10


@pytest.mark.parametrize("style", ["flow", "block"])
def test_deep_taxonomy_is_a_clear_error_not_recursion(tmp_path: Path, style: str) -> None:
    deep = tmp_path / "deep.yaml"
    if style == "flow":
        deep.write_text("themes:\n  - id: d\n    label: D\n    terms: " + "[" * 5000 + "]" * 5000)
    else:
        deep.write_text("".join("  " * i + "k:\n" for i in range(5000)))
    rc, out = cli("tag-themes", "--db", str(tmp_path / "t.duckdb"), "--taxonomy", str(deep))
    assert rc == 2 and "nesting deeper than" in out and "RecursionError" not in out


def test_shipped_yaml_loads_within_the_limits() -> None:
    assert len(themes.load_taxonomy()) > 10
    assert load_registry().hash != "none"


# ------------------------------------------------------------------ full-text with stopwords
@pytest.fixture(scope="module")
def reuters_wb(tmp_path_factory: pytest.TempPathFactory):
    """One Reuters-21578 file (1,000 documents) ingested and indexed for BM25."""
    need_shared("corpora", "reuters21578", "reut2-000.sgm")
    w = Workbench(tmp_path_factory.mktemp("reuters") / "r.duckdb")
    w.ingest([REUTERS / "reut2-000.sgm"], progress=False)
    assert w.index_search()
    yield w
    w.close()


def substring_ids(w: Workbench, text: str) -> set[str]:
    sql, params = filtered_articles_sql(Filter(text=text), columns="a.article_id")
    return {r[0] for r in w.con.execute(sql, params).fetchall()}


@pytest.mark.parametrize("query", ["bank of japan", "oil and gas", "the price of oil"])
def test_bm25_agrees_with_substring_search_on_queries_with_stopwords(reuters_wb, query) -> None:
    assert search.fts_ready(reuters_wb.con)
    bm25 = set(reuters_wb.articles(Filter(text=query), n=None).article_id)
    sub = substring_ids(reuters_wb, query)
    assert len(sub) >= 5
    # The same articles up to stemming (oil/oils, gas/gases) and substrings (Japan/Japanese).
    assert len(bm25 & sub) >= 0.8 * len(sub), (len(bm25), len(sub), len(bm25 & sub))
    assert len(bm25) <= 1.25 * len(sub)
    content = " ".join(w for w in query.split() if w not in {"of", "and", "the"})
    assert bm25 == set(reuters_wb.articles(Filter(text=content), n=None).article_id)
    top = reuters_wb.top("source", 5, Filter(text=query))
    assert top.articles.sum() == len(bm25)


def test_bm25_query_drops_punctuation_and_falls_back_for_stopwords_only(reuters_wb) -> None:
    oil = set(reuters_wb.articles(Filter(text="oil"), n=None).article_id)
    assert oil and set(reuters_wb.articles(Filter(text="(oil)"), n=None).article_id) == oil
    assert search.fts_query(reuters_wb.con, "of the") is None  # substring search answers
    assert len(reuters_wb.articles(Filter(text="of the"), n=None)) == len(
        substring_ids(reuters_wb, "of the")
    )


# ------------------------------------------------------------------ query parameters
@pytest.mark.parametrize("period", ["junk", "2023-13", 12, ["2022"], float("nan")])
def test_evidence_period_junk_is_a_workbench_error(seed_wb: Workbench, period) -> None:
    with pytest.raises(errors.BadOption, match="is not a date"):
        seed_wb.evidence("country", "CHN", period=period)


def test_evidence_period_accepts_dates_and_coverage_periods(seed_wb: Workbench) -> None:
    cov = seed_wb.coverage("country", "month", n=1)
    p = cov.period.iloc[0]
    n = len(seed_wb.evidence("country", cov.key.iloc[0], period=p))
    assert n > 0 and n == len(
        seed_wb.evidence("country", cov.key.iloc[0], period=str(p)[:7], freq="month")
    )


def test_other_query_params_are_checked(seed_wb: Workbench) -> None:
    with pytest.raises(errors.BadOption, match="values"):
        seed_wb.coverage("country", values=5)
    with pytest.raises(errors.BadOption, match="actor"):
        seed_wb.quotes(actor=5)


# ------------------------------------------------------------------ the taxonomy in use
def test_analyze_keeps_the_taxonomy_given_to_themes(tmp_path: Path, tiny_articles: Path) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text(
        "themes:\n  - id: cartel_watch\n    label: Cartel watch\n"
        "    terms: [OPEC, output, oil]\n    min_score: 1.0\n"
    )
    db = tmp_path / "tax.duckdb"
    with Workbench(db) as w:
        w.ingest([tiny_articles], progress=False)
        w.extract(progress=False)
    rc, out = cli("tag-themes", "--db", str(db), "--taxonomy", str(mine))
    assert rc == 0 and "cartel_watch" in out
    with Workbench(db) as w:
        w.analyze(progress=False)
        assert "cartel_watch" in set(w.themes().theme_id)
        assert w.sql("SELECT count(*) n FROM article_themes WHERE theme_id = 'cartel_watch'").n[0]
        assert w.summary()["taxonomy"]["user_files"] == [str(mine.resolve())]
    rc, out = cli("summary", "--db", str(db))
    assert rc == 0 and f"taxonomy: shipped + {mine.resolve()}" in out
    mine.unlink()  # a remembered file that is gone is a clear error, not a silent switch
    with Workbench(db) as w:
        with pytest.raises(errors.BadTaxonomy, match="last tagged with it"):
            w.tag_themes(progress=False)
    rc, out = cli("tag-themes", "--db", str(db), "--shipped")
    assert rc == 0 and "cartel_watch" not in out
    with Workbench(db) as w:
        assert w.summary()["taxonomy"]["user_files"] == []
        w.tag_themes(progress=False)
        assert "cartel_watch" not in set(w.themes().theme_id)
