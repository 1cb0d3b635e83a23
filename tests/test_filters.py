"""Filter: construction, validation, bound parameters, dedup and full-text search.

The database tests use a small real corpus (seed-format files, real ingest, real spaCy
analysis): the same three texts published by two outlets, plus an outlet whose name is an
SQL injection attempt.
"""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

import pytest
from conftest import write_seed_article

from workbench import Filter, Workbench
from workbench.annotate.search import SearchFallbackWarning
from workbench.base import errors
from workbench.base.filters import as_filter, filter_sql, filtered_articles_sql

EVIL = "x'); DROP TABLE articles; --"

TEXTS = {
    "a.txt": (
        "2022-03-01",
        "Ukrainian President Volodymyr Zelenskyy spoke with Joe Biden in Kyiv about "
        "sanctions on Russia. Zelenskyy asked for more air defence.",
    ),
    "b.txt": (
        "2022-03-02",
        "The Kremlin said Vladimir Putin met Chinese officials in Moscow. "
        '"We want peace," Putin said.',
    ),
    "c.txt": (
        "2022-04-10",
        "Oil prices rose as OPEC cut output and traders in London watched Saudi Arabia.",
    ),
}


def _write(folder: Path, names: list[str]) -> Path:
    folder.mkdir(parents=True)
    for name in names:
        date, body = TEXTS[name]
        write_seed_article(folder, name, date, body)
    return folder


@pytest.fixture(scope="module")
def wire_wb(tmp_path_factory: pytest.TempPathFactory):
    """Three texts from outlet 'Wire', the same texts re-published by 'Paper', one text
    from an outlet named like an injection attack; analysed and search-indexed."""
    root = tmp_path_factory.mktemp("wire")
    w = Workbench(root / "wire.duckdb")
    w.ingest([_write(root / "wire", list(TEXTS))], source_name="Wire", progress=False)
    w.ingest([_write(root / "paper", list(TEXTS))], source_name="Paper", progress=False)
    w.ingest([_write(root / "evil", ["c.txt"])], source_name=EVIL, progress=False)
    w.analyze(progress=False)
    yield w
    w.close()


# ---------------------------------------------------------------------------- construction
def test_strings_become_tuples_and_dates():
    f = Filter(sources="Wire", countries=["rus", "ukr", "rus"], date_from="2022-03", date_to="2022")
    assert f.sources == ("Wire",)
    assert f.countries == ("RUS", "UKR")  # upper-cased, duplicates dropped
    assert f.date_from == dt.date(2022, 3, 1)
    assert f.date_to == dt.date(2022, 12, 31)
    assert Filter(date_to="2024-02").date_to == dt.date(2024, 2, 29)
    assert Filter(date_from=dt.datetime(2022, 5, 6, 12)).date_from == dt.date(2022, 5, 6)
    assert Filter(text="  ").text is None
    assert Filter(dedup="TEXT").dedup == "text"
    assert Filter().is_empty and not f.is_empty


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"dedup": "fuzzy"}, "dedup mode"),
        ({"date_from": "2022-13-01"}, "is not a date"),
        ({"date_to": "yesterday"}, "is not a date"),
        ({"date_from": "2022-05-01", "date_to": "2022-04-01"}, "swap them"),
        ({"countries": ["Russia"]}, "alpha-3"),
        ({"tone_min": "low"}, "not a number"),
        ({"tone_min": 0.5, "tone_max": -0.5}, "tone range is empty"),
        ({"sources": 5}, "must be a string or a list"),
    ],
)
def test_validation_errors_say_what_is_wrong(kwargs, needle):
    with pytest.raises(errors.BadOption, match=needle):
        Filter(**kwargs)


def test_as_filter_accepts_dict_and_overrides():
    assert as_filter(None) == Filter()
    assert as_filter({"sources": ["A"]}) == Filter(sources=("A",))
    assert as_filter(Filter(sources="A"), text="oil").text == "oil"
    with pytest.raises(errors.BadOption, match="unknown Filter field"):
        as_filter({"source": "A"})
    with pytest.raises(errors.BadOption):
        as_filter("sources=A")  # type: ignore[arg-type]


def test_replace_revalidates():
    f = Filter(sources="A")
    assert f.replace(countries="chn").countries == ("CHN",)
    with pytest.raises(errors.BadOption):
        f.replace(dedup="nope")


def test_describe_names_every_restriction():
    f = Filter(date_from="2022-01-01", sources="A", countries="RUS", text="gas", dedup="text")
    d = f.describe()
    for part in ("2022-01-01", "sources: A", "countries: RUS", "'gas'", "dedup: text"):
        assert part in d
    assert Filter().describe() == "all articles"


# ---------------------------------------------------------------------------- SQL shape
def test_values_never_appear_in_the_sql_text():
    f = Filter(
        date_from="2021-01-01",
        date_to="2023-01-01",
        sources=[EVIL, "Wire"],
        actors=["Putin'--"],
        countries=["RUS"],
        themes=["war'; --"],
        text="oil' OR 1=1 --",
        tone_min=-0.5,
        tone_max=0.9,
    )
    for fts in (False, True):
        sql, params = filter_sql(f, fts=fts)
        assert sql.count("?") == len(params)
        for value in (EVIL, "Putin'--", "war'; --", "oil' OR 1=1", "RUS", "Wire", "2021"):
            assert value not in sql
        assert EVIL in params and "RUS" in params
    assert filter_sql(Filter()) == ("TRUE", [])
    with pytest.raises(errors.BadOption):
        filter_sql(f, alias="a; DROP TABLE x")


def test_dedup_is_applied_after_the_filter():
    sql, _ = filtered_articles_sql(Filter(sources="Paper", dedup="text"))
    # QUALIFY runs over the rows the WHERE clause kept, so a copy in another outlet
    # cannot hide the one the filter asks for.
    assert sql.index("WHERE") < sql.index("QUALIFY")
    assert "QUALIFY" not in filtered_articles_sql(Filter())[0]


# ---------------------------------------------------------------------------- on a real DB
def test_injection_source_is_just_a_name(wire_wb: Workbench):
    n_before = wire_wb.sql("SELECT count(*) AS n FROM articles")["n"][0]
    df = wire_wb.top("source", filter=Filter(sources=[EVIL]))
    assert df["key"].tolist() == [EVIL]
    assert df["articles"].tolist() == [1]
    # other fields too: the strings are compared, never executed
    for f in (
        Filter(actors=[EVIL]),
        Filter(themes=[EVIL]),
        Filter(text=EVIL),
        Filter(countries=["XXX"], sources=[EVIL]),
    ):
        assert wire_wb.articles(f).empty
    assert wire_wb.kwic(EVIL).empty
    assert wire_wb.evidence("actor", EVIL).empty
    tables = wire_wb.sql("SELECT table_name FROM information_schema.tables")["table_name"]
    assert "articles" in set(tables)
    assert wire_wb.sql("SELECT count(*) AS n FROM articles")["n"][0] == n_before == 7


def test_dedup_text_counts_identical_texts_once(wire_wb: Workbench):
    hand = wire_wb.sql("SELECT count(DISTINCT text_hash) AS n, count(*) AS m FROM articles")
    assert (hand["n"][0], hand["m"][0]) == (3, 7)
    assert len(wire_wb.articles(Filter(dedup="text"))) == 3
    assert len(wire_wb.articles()) == 7
    # within one outlet nothing collapses, and the outlet's own copies are the ones kept
    paper = wire_wb.articles(Filter(sources="Paper", dedup="text"))
    assert len(paper) == 3 and set(paper["source"]) == {"Paper"}
    # actor counts: Putin's article exists twice (Wire, Paper) -> 1 article when deduped
    putin = wire_wb.sql("SELECT e.entity_id FROM entities e WHERE e.name = 'Vladimir Putin'")[
        "entity_id"
    ]
    assert len(putin) == 1
    key = putin[0]
    raw = wire_wb.top("actor", n=None)
    dedup = wire_wb.top("actor", n=None, filter=Filter(dedup="text"))
    assert raw.set_index("key").loc[key, "articles"] == 2
    assert dedup.set_index("key").loc[key, "articles"] == 1


def test_date_source_and_country_filters_match_hand_sql(wire_wb: Workbench):
    f = Filter(date_from="2022-03-02", date_to="2022-04-30", sources=["Wire", "Paper"])
    got = set(wire_wb.articles(f, n=None)["article_id"])
    hand = set(
        wire_wb.sql(
            "SELECT article_id FROM articles WHERE date BETWEEN ? AND ? AND source IN (?, ?)",
            ["2022-03-02", "2022-04-30", "Wire", "Paper"],
        )["article_id"]
    )
    assert got == hand and len(got) == 4
    rus = set(wire_wb.articles(Filter(countries="RUS"), n=None)["article_id"])
    hand_rus = set(
        wire_wb.sql("SELECT DISTINCT article_id FROM article_countries WHERE iso3 = 'RUS'")[
            "article_id"
        ]
    )
    assert rus == hand_rus and rus


def test_actor_filter_takes_names_ids_and_aliases(wire_wb: Workbench):
    ent = wire_wb.sql(
        "SELECT entity_id, name FROM entities WHERE name = 'Volodymyr Zelenskyy'"
    ).iloc[0]
    by_name = wire_wb.articles(Filter(actors=["volodymyr zelenskyy"]), n=None)
    by_id = wire_wb.articles(Filter(actors=[ent["entity_id"]]), n=None)
    hand = wire_wb.sql(
        "SELECT DISTINCT article_id FROM mentions WHERE entity_id = ?", [ent["entity_id"]]
    )
    assert set(by_name["article_id"]) == set(by_id["article_id"]) == set(hand["article_id"])
    assert len(hand) == 2  # Wire and Paper


def test_tone_filter_matches_hand_sql(wire_wb: Workbench):
    got = set(wire_wb.articles(Filter(tone_min=0.0), n=None)["article_id"])
    hand = set(wire_wb.sql("SELECT article_id FROM article_tone WHERE tone >= 0")["article_id"])
    assert got == hand


def test_full_text_search_uses_bm25_index(wire_wb: Workbench):
    # analyze() built the index; match_bm25 answers and ranks
    df = wire_wb.articles(Filter(text="opec output"), order="relevance")
    assert len(df) == 3 and df["score"].notna().all()
    # stemming: "prices" matches "price"; all words must occur
    assert len(wire_wb.articles(Filter(text="price"))) == 3
    assert wire_wb.articles(Filter(text="opec putin")).empty
    q, params = wire_wb.articles(Filter(text="opec"), sql=True)
    assert "match_bm25" in q and "opec" in params


def test_search_falls_back_when_index_is_stale(tmp_path: Path):
    w = Workbench(tmp_path / "fts.duckdb")
    try:
        w.ingest([_write(tmp_path / "one", ["a.txt"])], source_name="Wire", progress=False)
        assert w.index_search() is True
        w.ingest([_write(tmp_path / "two", ["c.txt"])], source_name="Wire", progress=False)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            df = w.articles(Filter(text="OPEC"))
        # the new article is found by the substring fallback, with a notice
        assert len(df) == 1 and df["score"].isna().all()
        assert any(issubclass(c.category, SearchFallbackWarning) for c in caught)
        q, _ = w.articles(Filter(text="OPEC"), sql=True)
        assert "ILIKE" in q and "match_bm25" not in q
        w.index_search()
        q, _ = w.articles(Filter(text="OPEC"), sql=True)
        assert "match_bm25" in q
    finally:
        w.close()


def test_read_only_workbench_cannot_build_the_index(tmp_path: Path):
    ro = Workbench(tmp_path / "none.duckdb", read_only=True)
    with pytest.raises(errors.BadOption, match="read-only"):
        ro.index_search()
