"""Every query plan gives the same frame and the same metadata on both engines.

The base tables (``query_base``) and the pre-aggregates (``query_agg``) run each plan of
``workbench.query.api`` (every query x kind x date/outlet filter the aggregates hold) on a real
DuckDB built from real spaCy output; only ``engine``, ``sql`` and ``params`` may differ."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from workbench.base import errors
from workbench.base.filters import Filter
from workbench.query import api as query
from workbench.query.kinds import AGG_KINDS, SPAN_KINDS

#: attrs that say how a frame was computed, not what it holds
HOW = ("engine", "sql", "params")


@pytest.fixture(scope="module")
def con(ru_ua_wb):
    ru_ua_wb.refresh_aggregates()
    return ru_ua_wb.con


@pytest.fixture(scope="module")
def filters(con) -> list[Filter]:
    src = [r[0] for r in con.execute(
        "SELECT source FROM articles GROUP BY 1 ORDER BY count(*) DESC, 1").fetchall()]  # fmt: skip
    return [
        Filter(),
        Filter(date_from="2022-03-09", date_to="2022-05-18"),  # partial months and weeks
        Filter(date_from="2022-04-01", sources=(src[0], src[1])),
    ]


def both(fn, *args, **kw) -> pd.DataFrame:
    """The frame of each engine, asserted equal in rows, columns and metadata."""
    base = fn(*args, **kw, engine="base")
    agg = fn(*args, **kw, engine="aggregates")
    assert (base.attrs["engine"], agg.attrs["engine"]) == ("base", "aggregates")
    assert {k: v for k, v in base.attrs.items() if k not in HOW} == {
        k: v for k, v in agg.attrs.items() if k not in HOW
    }, (fn.__name__, args, kw)
    assert list(agg.columns) == list(base.columns), (fn.__name__, args, kw)
    pd.testing.assert_frame_equal(agg, base, check_dtype=False, check_exact=False)
    for df in (base, agg):  # sql=True shows what ran on that engine
        engine = df.attrs["engine"]
        assert fn(*args, **kw, engine=engine, sql=True) == (df.attrs["sql"], df.attrs["params"])
    return base


def test_rankings_and_timelines(con, filters) -> None:
    rows = 0
    for f in filters:
        for kind in AGG_KINDS:
            rows += len(both(query.top, con, kind, 12, f))
            rows += len(both(query.coverage, con, kind, "week", True, f, 4))
            if kind != "source":
                rows += len(both(query.compare, con, None, kind, f, 6))
            if kind != "speaker":
                rows += len(both(query.tone, con, kind, None, f, 6))
        rows += len(both(query.coverage, con, None, "month", False, f))
        rows += len(both(query.tone, con, "date", "month", f))
        actors = query.top(con, "actor", 2, f)["label"].tolist()
        rows += len(both(query.coverage, con, "actor", "month", False, f, values=actors))
        rows += len(both(query.coverage, con, "country", "day", False, f, values=["ukr"]))
    assert rows > 1000  # real rows compared, not empty frames


def test_cooccurrence(con, filters) -> None:
    rows = 0
    for f in filters:
        for a, b, kw in (("actor", "actor", {"n": 30}), ("actor", "country", {"n": 30}),
                         ("person", "person", {"sort": "pmi", "min_articles": 2}),
                         ("org", "country", {"sort": "npmi"}),
                         ("theme", "country", {"n": None, "top_a": 8, "top_b": 10})):  # fmt: skip
            rows += len(both(query.cooccurrence, con, a, b, f, **kw))
    assert rows > 200


def test_listings(con, filters) -> None:
    rows = counted = 0
    for f in filters:
        rows += len(both(query.articles, con, f, 20, order="-date"))
        rows += len(both(query.articles, con, f, 20))
        for kind in SPAN_KINDS:
            key = query.top(con, kind, 1)["key"][0]
            rows += len(both(query.evidence, con, kind, key, f, 15))
        name = query.top(con, "actor", 1)["label"][0]
        rows += len(both(query.evidence, con, "actor", name.upper(), f, 15))
        k = both(query.kwic, con, name, 30, f, 25)
        rows += len(k)
        counted += k.attrs["total"] > len(k)  # the list was cut: the total was counted
        speaker = query.top(con, "speaker", 1)["key"][0]
        for who in (None, speaker, name.lower(), "he"):
            rows += len(both(query.quotes, con, who, f, 15))
    assert rows > 300
    assert counted, "no kwic list was cut, so neither engine's total count ran"


def test_planner_picks_the_engine_that_can_answer(con) -> None:
    assert query.top(con, "actor").attrs["engine"] == "aggregates"
    for call in (
        lambda e: query.top(con, "place", engine=e),  # not pre-aggregated
        lambda e: query.top(con, "actor", filter=Filter(countries=("UKR",)), engine=e),
        lambda e: query.tone(con, "actor", level="sentence", engine=e),
        lambda e: query.cooccurrence(con, "country", "actor", engine=e),
        lambda e: query.kwic(con, "sanctions", entity=False, engine=e),
    ):
        assert call(None).attrs["engine"] == "base"
        with pytest.raises(errors.BadOption, match="pre-aggregates cannot answer"):
            call("aggregates")


@pytest.fixture
def grouped(con):
    """Outlets of the corpus in two groups of a made-up attribute (one outlet without it);
    the sources table is put back afterwards."""
    saved = con.execute("SELECT * FROM sources").fetchall()
    outlets = [r[0] for r in con.execute(
        "SELECT source FROM articles GROUP BY 1 ORDER BY count(*) DESC, 1").fetchall()]  # fmt: skip
    groups = {outlets[0]: "x", outlets[1]: "y", outlets[2]: "x"}
    con.executemany(
        "INSERT OR REPLACE INTO sources VALUES (?, ?, 'test')",
        [(o, json.dumps({"desk": g})) for o, g in groups.items()],
    )
    yield groups
    con.execute("DELETE FROM sources")
    if saved:
        con.executemany("INSERT INTO sources VALUES (?, ?, ?)", saved)


def test_top_by_outlet_attribute(con, filters, grouped) -> None:
    """``top(by=...)`` = one ``top`` per group of outlets (the loop it replaces), on both
    engines, and under a dedup mode (each group deduplicated as its own filter)."""
    rows = 0
    for f in [*filters, Filter(dedup="text")]:
        for kind in ("actor", "country", "theme", "source", "speaker"):
            got = query.top(con, kind, 4, f, by="desk")
            want = []
            for value in ("x", "y"):
                keep = tuple(o for o, g in grouped.items() if g == value)
                keep = tuple(o for o in keep if not f.sources or o in f.sources)
                if keep:
                    one = query.top(con, kind, 4, f.replace(sources=keep))
                    want.append(one.assign(desk=value)[["desk", *one.columns]])
            want_df = pd.concat(want, ignore_index=True)
            pd.testing.assert_frame_equal(got, want_df, check_dtype=False, check_exact=False)
            rows += len(got)
            if f.dedup == "none":
                both(query.top, con, kind, 4, f, by="desk")
    assert rows > 100
    with pytest.raises(errors.BadOption, match="no outlet has the attribute"):
        query.top(con, "actor", by="no-such-attribute")


def test_an_entity_is_found_by_name_in_any_case(ru_ua_wb, con) -> None:
    """One entity lookup (id, name or alias, case-insensitive) behind mentions_of, kwic,
    evidence and quotes."""
    top = query.top(con, "actor", 1)
    key, name = top["key"][0], top["label"][0]
    want = ru_ua_wb.mentions_of(key)
    assert len(want) == top["mentions"][0]
    for spelled in (name, name.upper(), name.lower()):
        pd.testing.assert_frame_equal(ru_ua_wb.mentions_of(spelled), want)
        assert query.kwic(con, spelled, n=None)["key"].eq(key).all()
        assert len(query.evidence(con, "actor", spelled, n=None)) == len(want)
