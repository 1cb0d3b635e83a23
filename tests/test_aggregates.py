"""Pre-aggregates answer date/source-filtered queries exactly like the base-table queries.

Every comparison switches the aggregates off for the reference answer (``_base``) and checks
that the other answer really came from them (``_via_aggregates``)."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench.base.filters import Filter
from workbench.query import aggregates, query_agg
from workbench.query import api as query

KINDS = ("actor", "person", "org", "country", "region", "theme", "source", "speaker")


def _same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    cols = [c for c in want.columns if c in got.columns]
    assert cols == list(want.columns)
    pd.testing.assert_frame_equal(
        got[cols].reset_index(drop=True),
        want.reset_index(drop=True),
        check_dtype=False,
        check_exact=False,
    )


@pytest.fixture(scope="module")
def agg_wb(ru_ua_wb):
    aggregates.refresh(ru_ua_wb.con)
    return ru_ua_wb


def filters(wb) -> list[Filter]:
    src = wb.sql("SELECT source FROM articles GROUP BY 1 ORDER BY count(*) DESC, 1")["source"]
    return [
        Filter(),
        Filter(date_from="2022-03-01", date_to="2022-05-31"),
        Filter(date_from="2022-03-09", date_to="2022-05-18"),  # partial months and weeks
        Filter(sources=(src[0], src[1])),
        Filter(date_from="2022-04-01", sources=(src[0],), entity_types=("PERSON", "GPE")),
    ]


def test_top_matches_query_module(agg_wb) -> None:
    con = agg_wb.con
    assert aggregates.is_fresh(con)
    checked = 0
    for f in filters(agg_wb):
        assert aggregates.serves(con, f)
        for kind in KINDS:
            want = _base(query.top, con, kind, 15, f)
            _same(_via_aggregates(query.top, con, kind, 15, f), want)
            checked += len(want)
    assert checked > 100  # real rows were compared, not empty frames


def test_coverage_matches_query_module(agg_wb) -> None:
    con = agg_wb.con
    for f in filters(agg_wb)[:4]:
        for by, freq, norm in (("actor", "month", False), ("country", "week", True),
                               ("theme", "quarter", True), ("person", "day", False),
                               ("source", "week", True), (None, "month", False)):  # fmt: skip
            want = _base(query.coverage, con, by, freq, norm, f, 5)
            got = _via_aggregates(query.coverage, con, by, freq, norm, f, 5)
            assert len(want) > 0
            _same(got, want)


def test_stale_or_unsupported_filters_are_refused(agg_wb) -> None:
    con = agg_wb.con
    assert not aggregates.serves(con, Filter(countries=("UKR",)))
    assert not aggregates.serves(con, Filter(dedup="text"))
    assert not aggregates.serves(con, Filter(text="grain"))
    # New rows make the aggregates stale until refresh() runs again.
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            "INSERT INTO article_themes (article_id, theme_id, score, hits) "
            "SELECT article_id, 'x-test', 1.0, 1 FROM articles LIMIT 1"
        )
        assert not aggregates.is_fresh(con)
        assert not aggregates.serves(con, Filter())
    finally:
        con.execute("ROLLBACK")
    assert aggregates.is_fresh(con)


def _base(fn, *args, **kw) -> pd.DataFrame:
    """The query module's own answer (base tables), with the aggregates switched off."""
    with pytest.MonkeyPatch.context() as m:
        m.setattr(aggregates, "serves", lambda con, f: False)
        return fn(*args, **kw)


def _via_aggregates(fn, *args, **kw) -> pd.DataFrame:
    df = fn(*args, **kw)
    assert df.attrs.get("engine") == "aggregates", fn
    return df


def test_cooccurrence_matches_query_module(agg_wb) -> None:
    con = agg_wb.con
    checked = 0
    for f in filters(agg_wb)[:4]:
        for a, b, kw in (("actor", "actor", {"n": 40}), ("actor", "country", {"n": 50}),
                         ("theme", "country", {"n": None, "top_a": 10, "top_b": 12}),
                         ("person", "person", {"n": 30, "sort": "pmi", "min_articles": 2}),
                         ("org", "country", {"n": 20, "sort": "npmi"})):  # fmt: skip
            want = _base(query.cooccurrence, con, a, b, f, **kw)
            got = _via_aggregates(query.cooccurrence, con, a, b, f, **kw)
            _same(got, want)
            checked += len(want)
    assert checked > 200
    # kinds without pair roll-ups, other entity types: the base tables answer
    for a, b, f in (("actor", "theme", Filter()), ("country", "actor", Filter()),
                    ("actor", "actor", Filter(entity_types=("PERSON", "GPE")))):  # fmt: skip
        assert query.cooccurrence(con, a, b, f).attrs.get("engine") == "base"


def test_compare_and_tone_match_query_module(agg_wb) -> None:
    con = agg_wb.con
    src = filters(agg_wb)[3].sources
    for f in filters(agg_wb):
        for by in ("actor", "country", "theme"):
            for sources in (None, src):
                want = _base(query.compare, con, sources, by, f, 10)
                _same(_via_aggregates(query.compare, con, sources, by, f, 10), want)
        for by, freq in (("date", "month"), ("date", "week"), ("source", None),
                         ("actor", None), ("country", "quarter"), ("person", "day")):  # fmt: skip
            want = _base(query.tone, con, by, freq, f, 8)
            assert len(want) > 0
            _same(_via_aggregates(query.tone, con, by, freq, f, 8), want)


def test_listings_match_query_module(agg_wb) -> None:
    con = agg_wb.con
    actor = query.top(con, "actor", 1)["key"][0]
    theme = query.top(con, "theme", 1)["key"][0]
    speaker = query.top(con, "speaker", 1)["key"][0]
    name = agg_wb.sql("SELECT name FROM entities WHERE entity_id = ?", [actor])["name"][0]
    for f in filters(agg_wb)[:4]:
        for order in ("date", "-date"):
            want = _base(query.articles, con, f, 30, order=order)
            _same(_via_aggregates(query.articles, con, f, 30, order=order), want)
        for kind, value in (("actor", actor), ("actor", name.upper()), ("person", actor),
                            ("country", "ukr"), ("theme", theme)):  # fmt: skip
            want = _base(query.evidence, con, kind, value, f, 25)
            _same(_via_aggregates(query.evidence, con, kind, value, f, 25), want)
        for n in (25, None):
            want = _base(query.kwic, con, name, 40, f, n)
            assert len(want) > 0 or f.sources
            _same(query.kwic(con, name, 40, f, n), want)
        for who in (None, speaker, name.lower(), "he"):
            want = _base(query.quotes, con, who, f, 20)
            _same(_via_aggregates(query.quotes, con, who, f, 20), want)


def test_coverage_of_picked_values_matches_query_module(agg_wb) -> None:
    con = agg_wb.con
    actors = query.top(con, "actor", 3)
    picked = {"actor": [actors["key"][0], actors["label"][1].upper()],
              "country": ["ukr", "Russia"], "theme": [query.top(con, "theme", 1)["key"][0]],
              "source": [filters(agg_wb)[3].sources[0]]}  # fmt: skip
    for f in filters(agg_wb)[:3]:
        for by, vals in picked.items():
            want = _base(query.coverage, con, by, "month", True, f, values=vals)
            assert len(want) > 0
            _same(_via_aggregates(query.coverage, con, by, "month", True, f, values=vals), want)


#: windows with edges in partly covered months/weeks: inside one month and one week,
#: open-ended, ending on a Sunday / a month's last day
EDGE_WINDOWS = (
    Filter(date_from="2022-03-09", date_to="2022-03-24"),
    Filter(date_from="2022-04-05", date_to="2022-04-07"),
    Filter(date_from="2022-04-13"),
    Filter(date_to="2022-03-27"),
    Filter(date_from="2022-02-28", date_to="2022-04-30"),
)


def test_edge_days() -> None:
    days = query_agg._edge_days
    assert days(Filter(date_from="2022-03-09", date_to="2022-05-18")) == [
        ("2022-03-09", "2022-03-31"), ("2022-05-01", "2022-05-18")]  # fmt: skip
    assert days(Filter(date_from="2022-03-01", date_to="2022-05-31")) == []
    assert days(Filter(date_from="2022-03-09", date_to="2022-03-10")) == [
        ("2022-03-09", "2022-03-10")]  # fmt: skip
    assert days(Filter(date_to="2024-02-28")) == [("2024-02-01", "2024-02-28")]
    assert days(Filter(date_from="2022-02-01")) == []
    assert days(Filter(date_from="2022-03-09", date_to="2022-05-18"), "week") == [
        ("2022-03-09", "2022-03-13"), ("2022-05-16", "2022-05-18")]  # fmt: skip
    assert days(Filter(date_from="2022-03-07", date_to="2022-03-27"), "week") == []
    assert days(Filter(), "week") == []


def test_edge_windows_match_query_module(agg_wb) -> None:
    con = agg_wb.con
    for f in EDGE_WINDOWS:
        for a, b, kw in (("actor", "actor", {"n": 40}),
                         ("theme", "country", {"n": None, "top_a": 10, "top_b": 12})):  # fmt: skip
            want = _base(query.cooccurrence, con, a, b, f, **kw)
            _same(_via_aggregates(query.cooccurrence, con, a, b, f, **kw), want)
        for by, freq in (("actor", "month"), ("country", "week")):
            want = _base(query.coverage, con, by, freq, True, f, 5)
            _same(_via_aggregates(query.coverage, con, by, freq, True, f, 5), want)
        _same(
            _via_aggregates(query.top, con, "theme", 10, f), _base(query.top, con, "theme", 10, f)
        )
        for who in (None, "he"):
            want = _base(query.quotes, con, who, f, 15)
            _same(_via_aggregates(query.quotes, con, who, f, 15), want)
    assert len(_base(query.quotes, con, None, EDGE_WINDOWS[2], None)) > 0
    _same(_via_aggregates(query.quotes, con, None, EDGE_WINDOWS[2], None),
          _base(query.quotes, con, None, EDGE_WINDOWS[2], None))  # fmt: skip


def test_refresh_upgrades_only_changed_tables(agg_wb) -> None:
    """An older layout of the SAME rows: only the tables it lacks are rebuilt; changed rows
    (or no stamp) rebuild everything."""
    con = agg_wb.con
    stamp = aggregates.fingerprint(con)
    old = "agg2;" + stamp.partition(";")[2]
    con.execute("CREATE OR REPLACE TABLE agg_quotes AS SELECT aid FROM agg_quotes LIMIT 0")
    store_meta = "INSERT OR REPLACE INTO meta VALUES (?, ?)"
    con.execute(store_meta, [aggregates._META_KEY, old])
    assert not aggregates.is_fresh(con)
    assert aggregates._upgrade_tables(con) == ("agg_quotes",)
    out = aggregates.refresh(con)
    assert out["rebuilt"] == ["agg_quotes"]
    assert aggregates.is_fresh(con) and out["agg_quotes"] > 0
    want = _base(query.quotes, con, None, Filter(), 10)
    _same(_via_aggregates(query.quotes, con, None, Filter(), 10), want)
    con.execute(store_meta, [aggregates._META_KEY, old.replace("quotes=", "quotes=9")])
    assert aggregates._upgrade_tables(con) is None  # other rows: a full rebuild
    con.execute(store_meta, [aggregates._META_KEY, stamp])
    assert aggregates.is_fresh(con)


def test_snippet_of_a_prefix_is_the_snippet(agg_wb) -> None:
    texts = ["a  b\n\n c" * 300, " " * 1900 + "ab  c" + "\n" * 300 + "z " * 300, "é " * 1500,
             "x" + " " * 2500 + "y", "short  text", None]  # fmt: skip
    full = "left(regexp_replace(a.text, '\\s+', ' ', 'g'), 200)"
    rows = agg_wb.con.execute(
        f"SELECT {full}, {query_agg._SNIPPET} FROM unnest(?::VARCHAR[]) a(text)",  # noqa: S608
        [texts],
    ).fetchall()
    assert len(rows) == len(texts) and all(x == y for x, y in rows)


def _agg_tables(con) -> dict[str, pd.DataFrame]:
    """Every ``agg_*`` table as sorted rows, ``aid`` replaced by the article it numbers (an
    incremental refresh numbers new articles inside gaps, a full build evenly)."""
    out = {}
    for table in aggregates.TABLES:  # fixed names: no user value reaches this SQL
        cols = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
        rest = ", ".join(f"x.{c}" for c in cols if c != "aid")
        q = f"SELECT {rest} FROM {table} x"  # noqa: S608
        if "aid" in cols and table != "agg_articles":
            q += " JOIN agg_articles ar USING (aid)"
            q = q.replace("SELECT ", "SELECT ar.article_id AS art, ", 1)
        df = con.execute(q).df()
        out[table] = df.sort_values(list(df.columns)).reset_index(drop=True)
    return out


def test_incremental_refresh_equals_a_full_rebuild(agg_wb, tmp_path) -> None:
    """Appended articles (real spaCy output; resolve re-runs corpus-wide) and a re-scored
    article update the aggregates by delta; every table and a query answer equal a full
    rebuild of the same rows, and an append keeps the listing order (``aid``)."""
    import shutil

    from conftest import RU_UA

    from workbench import Workbench

    agg_wb.con.execute("CHECKPOINT")
    shutil.copy(agg_wb.path, tmp_path / "inc.duckdb")
    with Workbench(tmp_path / "inc.duckdb") as w:
        con = w.con
        assert aggregates.refresh(con)["changed"] == 0  # nothing changed: nothing redone
        csv = sorted(RU_UA.glob("*.csv"))[0]
        (before,) = con.execute("SELECT count(*) FROM articles").fetchone()
        added = w.ingest([csv], limit=33, progress=False).stored
        assert added >= 5
        done = w.analyze(progress=False)["aggregates"]  # aggregates.refresh(), by delta
        assert done["rebuilt"] == [] and done["changed"] >= added
        (last,) = con.execute(
            "SELECT value FROM meta WHERE key = ?", [aggregates._META_KEY]
        ).fetchone()
        assert aggregates.is_fresh(con) and last == aggregates.fingerprint(con)
        out = aggregates.refresh(con)
        assert out["changed"] == 0 and out["rebuilt"] == []
        # One article re-scored: only its rows move.
        con.execute(
            "UPDATE article_tone SET tone = -0.5 WHERE article_id = "
            "(SELECT min(article_id) FROM article_tone)"
        )
        assert aggregates.refresh(con)["changed"] == 1
        inc = _agg_tables(con)
        order = con.execute("SELECT article_id FROM agg_articles ORDER BY aid").df()
        want_top = {k: _base(query.top, con, k, 15, Filter()) for k in ("actor", "theme")}
        got_top = {k: _via_aggregates(query.top, con, k, 15, Filter()) for k in want_top}
        full = aggregates.refresh(con, full=True)
        assert full["changed"] is None and "agg_keys" in full["rebuilt"]
        ref = _agg_tables(con)
        assert order.equals(con.execute("SELECT article_id FROM agg_articles ORDER BY aid").df())
    n_rows = 0
    for table, want in ref.items():
        pd.testing.assert_frame_equal(inc[table], want, check_dtype=False, check_exact=False)
        n_rows += len(want)
    assert n_rows > 1000 and len(inc["agg_articles"]) == before + added
    for k, want in want_top.items():
        _same(got_top[k], want)
