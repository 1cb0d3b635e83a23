"""The full-text index updated in place equals one built from scratch.

On real Reuters-21578 articles in a real DuckDB file: an append, a changed title, a removed
article and a replaced text each leave ``fts_main_articles`` (and every BM25 score and
ranking) as ``PRAGMA create_fts_index`` over the same articles would build it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import REUTERS, need_shared

from workbench import Workbench
from workbench.annotate import search
from workbench.base import store
from workbench.base.filters import Filter

QUERIES = ["oil prices", "bank of japan", "opec output", "trade deficit", "wheat", "zanzibarite"]


@pytest.fixture(scope="module")
def reuters_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Half of one Reuters-21578 file (~470 articles) ingested, not indexed."""
    need_shared("corpora", "reuters21578", "reut2-000.sgm")
    path = tmp_path_factory.mktemp("search") / "r.duckdb"
    with Workbench(path) as w:
        w.ingest([REUTERS / "reut2-000.sgm"], progress=False)
        w.con.execute("DELETE FROM articles WHERE hash(article_id) % 2 = 1")
    return path


@pytest.fixture
def held_out(reuters_file: Path, tmp_path: Path):
    """A copy whose index covers four fifths of the articles; the fifth is kept in ``held``."""
    path = tmp_path / "r.duckdb"
    shutil.copy(reuters_file, path)
    w = Workbench(path)
    w.con.execute(
        "CREATE TABLE held AS SELECT * FROM articles WHERE hash(article_id) % 5 = 0; "
        "DELETE FROM articles WHERE article_id IN (SELECT article_id FROM held)"
    )
    assert w.index_search()
    yield w
    w.close()


def snapshot(w: Workbench) -> dict[str, list]:
    """The index by article and term (ids aside), and every query's ranking and scores."""
    con = w.con
    out = {
        "docs": "SELECT name, len FROM fts_main_articles.docs ORDER BY ALL",
        "dict": "SELECT term, df FROM fts_main_articles.dict ORDER BY ALL",
        "stats": "SELECT num_docs, avgdl FROM fts_main_articles.stats",
        "terms": "SELECT d.name, t.fieldid, k.term, count(*) FROM fts_main_articles.terms t "
        "JOIN fts_main_articles.docs d USING (docid) JOIN fts_main_articles.dict k USING (termid) GROUP BY ALL ORDER BY ALL",
    }
    snap = {k: con.execute(q).fetchall() for k, q in out.items()}
    for q in QUERIES:
        ranked = w.articles(Filter(text=q), order="relevance", n=None)
        snap[q] = list(zip(ranked.article_id, ranked.score, strict=True))
        loose = con.execute(
            "SELECT article_id, fts_main_articles.match_bm25(article_id, ?) AS s FROM articles "
            "WHERE s IS NOT NULL ORDER BY s DESC, article_id",
            [q],
        ).fetchall()
        snap[q + " (any word)"] = loose
    return snap


def assert_same(got: dict[str, list], want: dict[str, list]) -> None:
    assert got.keys() == want.keys()
    for key, rows in want.items():
        if key in ("docs", "dict", "stats", "terms"):
            assert got[key] == rows, key
            continue
        assert [r[0] for r in got[key]] == [r[0] for r in rows], key
        assert all(abs(a[1] - b[1]) < 1e-9 for a, b in zip(got[key], rows, strict=True)), key


def rebuilt(w: Workbench) -> dict[str, list]:
    """The extension's own build from scratch over the same articles (the reference)."""
    w.con.execute(search._PRAGMA)
    snap = snapshot(w)
    assert w.index_search()  # that index has none of this code's digests: built anew
    assert search._current(w.con)
    assert_same(snapshot(w), snap)
    return snap


def test_an_append_equals_a_rebuild(held_out: Workbench, monkeypatch, capsys) -> None:
    w = held_out
    monkeypatch.setattr(search, "CHUNK", 25)  # several transactions
    n_before = w.con.execute("SELECT num_docs FROM fts_main_articles.stats").fetchone()[0]
    w.con.execute("INSERT INTO articles SELECT * FROM held")
    (n_held,) = w.con.execute("SELECT count(*) FROM held").fetchone()
    capsys.readouterr()
    assert w.index_search()  # progress shown by default: the articles indexed
    assert f"search index: {n_held}" in capsys.readouterr().err.replace("\r", "\n")
    assert w.con.execute("SELECT num_docs FROM fts_main_articles.stats").fetchone()[0] > n_before
    assert search.fts_ready(w.con)
    got = snapshot(w)
    assert len(got["oil prices"]) >= 10 and len(got["wheat (any word)"]) >= 5
    # A wrong document frequency would show: the comparison is not blind.
    w.con.execute("UPDATE fts_main_articles.dict SET df = df + 1 WHERE term = 'oil'")
    broken = snapshot(w)
    assert broken["dict"] != got["dict"] and broken["oil prices"] != got["oil prices"]
    assert_same(got, rebuilt(w))


def test_changed_removed_and_replaced_articles_equal_a_rebuild(held_out: Workbench) -> None:
    w, con = held_out, held_out.con
    con.execute("INSERT INTO articles SELECT * FROM held")
    assert w.index_search()
    opec = list(w.articles(Filter(text="opec"), order="relevance", n=None).article_id)
    gone, retitled, replaced = opec[0], opec[1], opec[2]
    con.execute("DELETE FROM articles WHERE article_id = ?", [gone])
    con.execute("UPDATE articles SET title = 'Zanzibarite found' WHERE article_id = ?", [retitled])
    con.execute(
        "UPDATE articles SET title = 'Grain', text = 'Wheat and more wheat.', text_hash = 'x' "
        "WHERE article_id = ?",
        [replaced],
    )
    assert w.index_search()
    got = snapshot(w)
    assert [r[0] for r in got["zanzibarite"]] == [retitled]
    hits = set(w.articles(Filter(text="opec"), n=None).article_id)
    assert gone not in hits and replaced not in hits and retitled in hits
    assert replaced in {r[0] for r in got["wheat"]}
    assert_same(got, rebuilt(w))


def test_nothing_new_touches_nothing(held_out: Workbench, monkeypatch) -> None:
    def redo(*_a: object) -> None:
        raise AssertionError("an index_search with nothing new redid work")

    monkeypatch.setattr(search, "_update", redo)
    monkeypatch.setattr(search, "_rebuild", redo)
    assert held_out.index_search() and search.fts_ready(held_out.con)


def test_an_index_of_another_layout_is_rebuilt(held_out: Workbench) -> None:
    w, con = held_out, held_out.con
    # An index built by the earlier code: no digests, no layout stamp.
    con.execute("ALTER TABLE fts_main_articles.docs DROP COLUMN digest")
    store.set_meta(con, "fts_articles_layout", "1")
    con.execute("INSERT INTO articles SELECT * FROM held")
    assert w.index_search()
    got = snapshot(w)
    assert store.get_meta(con, "fts_articles_layout") == search._layout()
    assert_same(got, rebuilt(w))


def test_an_interrupted_update_resumes_exactly(held_out: Workbench, monkeypatch) -> None:
    w = held_out
    monkeypatch.setattr(search, "CHUNK", 25)
    add, calls = search._add_chunk, []

    def stopped_in_the_second_chunk(*args: object) -> None:
        calls.append(args)
        add(*args)
        if len(calls) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(search, "_add_chunk", stopped_in_the_second_chunk)
    w.con.execute("INSERT INTO articles SELECT * FROM held")
    with pytest.raises(KeyboardInterrupt):
        search.index_search(w.con)
    with pytest.warns(search.SearchFallbackWarning, match="predates"):
        assert not search.fts_ready(w.con)  # substring search answers meanwhile
    monkeypatch.setattr(search, "_add_chunk", add)
    assert w.index_search()
    assert search.fts_ready(w.con)
    assert_same(snapshot(w), rebuilt(w))
