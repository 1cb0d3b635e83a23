"""Pre-aggregates answer date/source-filtered top/coverage exactly like the query module."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench import aggregates, query
from workbench.filters import Filter

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
            want = query.top(con, kind, 15, f)
            _same(aggregates.top(con, kind, 15, f), want)
            checked += len(want)
    assert checked > 100  # real rows were compared, not empty frames


def test_coverage_matches_query_module(agg_wb) -> None:
    con = agg_wb.con
    for f in filters(agg_wb)[:4]:
        for by, freq, norm in (("actor", "month", False), ("country", "week", True),
                               ("theme", "quarter", True), ("person", "day", False),
                               (None, "month", False)):  # fmt: skip
            want = query.coverage(con, by, freq, norm, f, 5)
            got = aggregates.coverage(con, by, freq, norm, f, 5)
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
