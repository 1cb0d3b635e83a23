"""Query API: every number checked against hand-written SQL on real analysed corpora.

``seed_wb`` (the seed article) and ``ru_ua_wb`` (25 rows of each 2022 corpus) are the
session fixtures of conftest: real ingest, real spaCy, real resolution/themes/tone/quotes.
"""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest

from workbench import Filter, Workbench
from workbench.base import errors
from workbench.resolve.places import admin1_point

ACTOR_TYPES = ("PERSON", "ORG")


@pytest.fixture(params=["seed_wb", "ru_ua_wb"])
def cwb(request: pytest.FixtureRequest) -> Workbench:
    return request.getfixturevalue(request.param)


def _hand_top(wb: Workbench, kind: str) -> pd.DataFrame:
    q = {
        "actor": "SELECT m.entity_id AS key, count(DISTINCT m.article_id) AS articles, "
        "count(*) AS mentions FROM mentions m JOIN entities e ON e.entity_id = m.entity_id "
        "WHERE e.type IN ('PERSON', 'ORG') GROUP BY 1",
        "country": "SELECT iso3 AS key, count(DISTINCT article_id) AS articles, "
        "sum(mentions) AS mentions FROM article_countries GROUP BY 1",
        "theme": "SELECT theme_id AS key, count(DISTINCT article_id) AS articles, "
        "sum(coalesce(hits, 1)) AS mentions FROM article_themes GROUP BY 1",
        "source": "SELECT source AS key, count(*) AS articles, count(*) AS mentions "
        "FROM articles WHERE source IS NOT NULL GROUP BY 1",
        "speaker": "SELECT speaker_entity_id AS key, count(DISTINCT article_id) AS articles, "
        "count(*) AS mentions FROM quotes WHERE speaker_entity_id IS NOT NULL "
        "AND NOT coalesce(fragment, false) GROUP BY 1",
    }[kind]
    return wb.sql(q).set_index("key").sort_index()


# ---------------------------------------------------------------------------- top
@pytest.mark.parametrize("kind", ["actor", "country", "theme", "source", "speaker"])
def test_top_matches_hand_sql(cwb: Workbench, kind: str):
    got = cwb.top(kind, n=None)
    hand = _hand_top(cwb, kind)
    assert len(got) == len(hand)
    g = got.set_index("key").sort_index()
    assert g["articles"].tolist() == hand["articles"].tolist()
    assert g["mentions"].tolist() == hand["mentions"].astype(int).tolist()
    total = cwb.sql("SELECT count(*) AS n FROM articles")["n"][0]
    assert (g["share"] - g["articles"] / total).abs().max() < 1e-12 if len(g) else True
    # ranked by articles, then mentions
    assert got["articles"].is_monotonic_decreasing
    assert got["label"].notna().all()


def test_seed_top_has_readable_labels(seed_wb: Workbench):
    countries = seed_wb.top("country", n=None).set_index("key")["label"]
    assert countries.get("CHN") == "China"
    actors = seed_wb.top("actor", n=None)
    names = dict(seed_wb.sql("SELECT entity_id, name FROM entities").values.tolist())
    assert [names[k] for k in actors["key"]] == actors["label"].tolist()


def test_top_with_filters_matches_hand_sql(ru_ua_wb: Workbench):
    sources = ru_ua_wb.sql("SELECT DISTINCT source FROM articles ORDER BY 1")["source"]
    src = sources.tolist()[:2]
    f = Filter(sources=src, date_from="2022-03-01", date_to="2022-06-30")
    got = ru_ua_wb.top("country", n=None, filter=f).set_index("key").sort_index()
    hand = (
        ru_ua_wb.sql(
            "SELECT ac.iso3 AS key, count(DISTINCT ac.article_id) AS articles "
            "FROM article_countries ac JOIN articles a ON a.article_id = ac.article_id "
            "WHERE a.source IN (?, ?) AND a.date BETWEEN ? AND ? GROUP BY 1",
            [*src, "2022-03-01", "2022-06-30"],
        )
        .set_index("key")
        .sort_index()
    )
    assert got["articles"].to_dict() == hand["articles"].to_dict()
    assert len(hand) > 0


# ---------------------------------------------------------------------------- coverage
def test_coverage_matches_hand_sql(ru_ua_wb: Workbench):
    df = ru_ua_wb.coverage(by="country", freq="month", n=None)
    keys = ru_ua_wb.top("country", n=None)["key"].tolist()
    assert list(dict.fromkeys(df["key"])) == keys  # ranked like top()
    hand = ru_ua_wb.sql(
        "SELECT date_trunc('month', a.date)::DATE AS period, ac.iso3 AS key, "
        "count(DISTINCT a.article_id) AS articles FROM article_countries ac "
        "JOIN articles a ON a.article_id = ac.article_id WHERE a.date IS NOT NULL "
        "GROUP BY 1, 2"
    )
    hand = {(pd.Timestamp(p), k): n for p, k, n in hand.values.tolist()}
    totals = ru_ua_wb.sql(
        "SELECT date_trunc('month', date)::DATE AS period, count(*) AS n FROM articles "
        "WHERE date IS NOT NULL GROUP BY 1"
    )
    totals = {pd.Timestamp(p): n for p, n in totals.values.tolist()}
    # one row per (period with articles) x key, zeros included
    assert len(df) == len(totals) * len(keys)
    for r in df.itertuples():
        p = pd.Timestamp(r.period)
        assert r.articles == hand.get((p, r.key), 0)
        assert r.total_articles == totals[p]
        assert r.share == pytest.approx(r.articles / totals[p])
        assert r.value == r.articles
    assert (df["articles"] == 0).any()  # honest zeros, not gaps
    norm = ru_ua_wb.coverage(by="country", freq="month", n=3, normalize=True)
    assert norm["value"].tolist() == norm["share"].tolist()


def test_coverage_values_week_and_filter(ru_ua_wb: Workbench):
    src = ru_ua_wb.sql("SELECT source FROM articles GROUP BY 1 ORDER BY count(*) DESC")["source"]
    f = Filter(sources=src[0])
    df = ru_ua_wb.coverage(by="country", freq="week", values=["ukr", "RUS"], filter=f)
    assert set(df["key"]) == {"UKR", "RUS"}
    assert all(pd.Timestamp(p).weekday() == 0 for p in df["period"])  # ISO weeks
    hand = ru_ua_wb.sql(
        "SELECT count(DISTINCT a.article_id) AS n FROM article_countries ac "
        "JOIN articles a ON a.article_id = ac.article_id "
        "WHERE ac.iso3 = 'UKR' AND a.source = ? AND a.date IS NOT NULL",
        [src[0]],
    )["n"][0]
    assert df.loc[df["key"] == "UKR", "articles"].sum() == hand
    vol = ru_ua_wb.coverage(by=None, freq="year", filter=f)
    n_src = ru_ua_wb.sql(
        "SELECT count(*) AS n FROM articles WHERE source = ? AND date IS NOT NULL", [src[0]]
    )["n"][0]
    assert vol["articles"].sum() == n_src


# ---------------------------------------------------------------------------- co-occurrence
def test_cooccurrence_counts_and_measures(ru_ua_wb: Workbench):
    df = ru_ua_wb.cooccurrence("country", n=None)
    assert (df["key_a"] < df["key_b"]).all()  # each unordered pair once
    hand = ru_ua_wb.sql(
        "SELECT x.iso3 AS a, y.iso3 AS b, count(DISTINCT x.article_id) AS n "
        "FROM article_countries x JOIN article_countries y "
        "ON x.article_id = y.article_id AND x.iso3 < y.iso3 GROUP BY 1, 2"
    )
    assert len(df) == len(hand) > 0
    per = ru_ua_wb.sql(
        "SELECT iso3, count(DISTINCT article_id) AS n FROM article_countries GROUP BY 1"
    )
    per = dict(per.values.tolist())
    total = ru_ua_wb.sql("SELECT count(*) AS n FROM articles")["n"][0]
    hand_n = {(a, b): n for a, b, n in hand.values.tolist()}
    for r in df.itertuples():
        assert r.articles == hand_n[(r.key_a, r.key_b)]
        assert (r.articles_a, r.articles_b, r.total_articles) == (per[r.key_a], per[r.key_b], total)
        lift = r.articles * total / (per[r.key_a] * per[r.key_b])
        assert r.lift == pytest.approx(lift)
        assert r.pmi == pytest.approx(math.log2(lift))
        if r.articles < total:
            assert r.npmi == pytest.approx(math.log2(lift) / -math.log2(r.articles / total))
    by_pmi = ru_ua_wb.cooccurrence("country", n=10, sort="pmi", min_articles=2)
    assert (by_pmi["articles"] >= 2).all()
    assert by_pmi["pmi"].is_monotonic_decreasing


def test_cooccurrence_across_kinds_with_top_limits(ru_ua_wb: Workbench):
    df = ru_ua_wb.cooccurrence("actor", "theme", n=None, top_a=5)
    top5 = set(ru_ua_wb.top("actor", n=5)["key"])
    assert set(df["key_a"]) <= top5
    pair = df.iloc[0]
    hand = ru_ua_wb.sql(
        "SELECT count(DISTINCT m.article_id) AS n FROM mentions m "
        "JOIN article_themes t ON t.article_id = m.article_id "
        "WHERE m.entity_id = ? AND t.theme_id = ?",
        [pair["key_a"], pair["key_b"]],
    )["n"][0]
    assert pair["articles"] == hand


# ---------------------------------------------------------------------------- compare
def test_compare_shares_match_hand_sql(ru_ua_wb: Workbench):
    df = ru_ua_wb.compare(by="country", n=4)
    hand = ru_ua_wb.sql(
        "SELECT a.source, ac.iso3 AS key, count(DISTINCT a.article_id) AS n "
        "FROM articles a JOIN article_countries ac ON ac.article_id = a.article_id GROUP BY 1, 2"
    )
    hand = {(s, k): n for s, k, n in hand.values.tolist()}
    per_source = dict(
        ru_ua_wb.sql("SELECT source, count(*) FROM articles GROUP BY 1").values.tolist()
    )
    assert len(df) == 4 * len(per_source)
    for r in df.itertuples():
        assert r.articles == hand.get((r.source, r.key), 0)
        assert r.share == pytest.approx(r.articles / per_source[r.source])
        assert r.ratio == pytest.approx(r.share / r.share_all)
    two = sorted(per_source)[:2]
    assert set(ru_ua_wb.compare(two, by="theme")["source"]) == set(two)
    with pytest.raises(errors.BadOption, match="compare"):
        ru_ua_wb.compare(by="source")


# ---------------------------------------------------------------------------- tone
def test_tone_by_date_and_key_match_hand_sql(ru_ua_wb: Workbench):
    df = ru_ua_wb.tone("date", "month")
    hand = ru_ua_wb.sql(
        "SELECT date_trunc('month', a.date)::DATE AS period, avg(t.tone) AS tone, "
        "count(*) AS n FROM articles a JOIN article_tone t ON t.article_id = a.article_id "
        "WHERE a.date IS NOT NULL GROUP BY 1 ORDER BY 1"
    )
    assert df["articles"].tolist() == hand["n"].tolist()
    assert df["tone"].tolist() == pytest.approx(hand["tone"].tolist())
    by_c = ru_ua_wb.tone("country", freq=None, n=3).set_index("key")
    for key, row in by_c.iterrows():
        h = ru_ua_wb.sql(
            "SELECT avg(t.tone) AS tone, count(*) AS n FROM article_tone t WHERE t.article_id IN "
            "(SELECT article_id FROM article_countries WHERE iso3 = ?)",
            [key],
        )
        assert row["articles"] == h["n"][0]
        assert row["tone"] == pytest.approx(h["tone"][0])


def test_tone_sentence_level_matches_hand_sql(ru_ua_wb: Workbench):
    df = ru_ua_wb.tone("actor", freq=None, n=2, level="sentence")
    assert len(df) == 2
    for r in df.itertuples():
        h = ru_ua_wb.sql(
            "SELECT avg(s.compound) AS tone, count(*) AS n FROM sentence_tone s WHERE "
            "(s.article_id, s.sentence_idx) IN (SELECT (article_id, sentence_idx) FROM mentions "
            "WHERE entity_id = ?)",
            [r.key],
        )
        assert r.sentences == h["n"][0]
        assert r.tone == pytest.approx(h["tone"][0])


# ---------------------------------------------------------------------------- quotes, articles
def test_quotes_of_an_actor_match_hand_sql(cwb: Workbench):
    speakers = cwb.top("speaker", n=1)
    if speakers.empty:
        pytest.skip("no attributed quotes in this corpus sample")
    key, name = speakers.iloc[0][["key", "label"]]
    got = cwb.quotes(actor=name, n=None)
    hand = cwb.sql(
        "SELECT count(*) AS n FROM quotes q LEFT JOIN entities e "
        "ON e.entity_id = q.speaker_entity_id WHERE q.speaker_entity_id = ? "
        "OR lower(e.name) = lower(?) OR lower(q.speaker) = lower(?)",
        [key, name, name],
    )["n"][0]
    assert len(got) == hand > 0
    texts = cwb.sql("SELECT article_id, text FROM articles")
    texts = dict(texts.values.tolist())
    for r in got.itertuples():
        assert r.text.strip() in texts[r.article_id] or r.start_char < r.end_char


def test_articles_listing(ru_ua_wb: Workbench):
    df = ru_ua_wb.articles(n=None, order="-date")
    assert len(df) == ru_ua_wb.sql("SELECT count(*) AS n FROM articles")["n"][0]
    assert df["date"].is_monotonic_decreasing
    assert ru_ua_wb.articles(n=5)["date"].is_monotonic_increasing


# ---------------------------------------------------------------------------- evidence, kwic
def _check_spans(wb: Workbench, df: pd.DataFrame) -> None:
    texts = dict(
        wb.sql(
            "SELECT article_id, text FROM articles WHERE article_id IN "
            "(SELECT unnest(?::VARCHAR[]))",
            [sorted(set(df["article_id"]))],
        ).values.tolist()
    )
    for r in df.itertuples():
        t = texts[r.article_id]
        assert r.keyword == t[r.start_char : r.end_char]
        assert r.left + r.keyword + r.right == t[r.sentence_start : r.sentence_end]
        assert r.sentence == t[r.sentence_start : r.sentence_end]


def test_evidence_behind_top_actor_and_theme(cwb: Workbench):
    actor = cwb.top("actor", n=1).iloc[0]
    ev = cwb.evidence("actor", actor["key"], n=None)
    assert len(ev) == actor["mentions"]
    assert ev["article_id"].nunique() == actor["articles"]
    _check_spans(cwb, ev)
    # by name, case-insensitive: same rows
    assert len(cwb.evidence("actor", actor["label"].upper(), n=None)) == len(ev)
    theme = cwb.top("theme", n=1)
    if len(theme):
        t = theme.iloc[0]
        ev_t = cwb.evidence("theme", t["key"], n=None)
        hand = cwb.sql("SELECT count(*) AS n FROM theme_hits WHERE theme_id = ?", [t["key"]])
        assert len(ev_t) == hand["n"][0]
        _check_spans(cwb, ev_t)


def test_evidence_for_a_coverage_cell(ru_ua_wb: Workbench):
    cov = ru_ua_wb.coverage(by="country", freq="month", n=1)
    cell = cov.sort_values("articles").iloc[-1]
    ev = ru_ua_wb.evidence("country", cell["key"], period=cell["period"], freq="month", n=None)
    p = pd.Timestamp(cell["period"])
    assert ev["date"].map(lambda d: (d.year, d.month) == (p.year, p.month)).all()
    # mentions resolving to the country are the spans behind article_countries
    assert 0 < ev["article_id"].nunique() <= cell["articles"]
    _check_spans(ru_ua_wb, ev)
    # co-occurrence cell: drill with the other key as a filter
    pair = ru_ua_wb.cooccurrence("country", n=1).iloc[0]
    ev2 = ru_ua_wb.evidence(
        "country", pair["key_a"], filter=Filter(countries=[pair["key_b"]]), n=None
    )
    assert ev2["article_id"].nunique() <= pair["articles"]


def test_kwic_term_counts_every_occurrence(cwb: Workbench):
    term = "russia"
    df = cwb.kwic(term, window=30, n=None, entity=False)
    sents = cwb.sql("SELECT text FROM sentences")["text"]
    rx = re.compile(r"\brussia\b", flags=re.IGNORECASE | re.ASCII)
    expected = sum(len(rx.findall(s)) for s in sents)
    assert len(df) == expected > 0
    texts = dict(cwb.sql("SELECT article_id, text FROM articles").values.tolist())
    for r in df.head(50).itertuples():
        assert texts[r.article_id][r.start_char : r.end_char].lower() == term
        assert len(r.left) <= 30 and len(r.right) <= 30
    assert len(cwb.kwic(term, n=3, entity=False)) == 3


def test_kwic_entity_lists_all_mentions(cwb: Workbench):
    actor = cwb.top("actor", n=1).iloc[0]
    df = cwb.kwic(actor["label"], window=20, n=None)
    assert df.attrs["kind"] == "entity"
    assert len(df) == actor["mentions"]
    with pytest.raises(errors.BadOption, match="no entity"):
        cwb.kwic("Nobody McNobodyface", entity=True)


# ---------------------------------------------------------------------------- sql twins, errors
def test_every_method_shows_its_sql(seed_wb: Workbench):
    calls = {
        "top": (("actor",), {}),
        "coverage": (("country",), {}),
        "cooccurrence": (("actor", "country"), {}),
        "compare": ((None, "country"), {}),
        "tone": (("country",), {"freq": None}),
        "quotes": ((), {}),
        "articles": ((), {}),
        "evidence": (("country", "CHN"), {}),
        "kwic": (("Russia",), {"entity": False}),
    }
    for method, (args, kw) in calls.items():
        q, params = getattr(seed_wb, method)(*args, **kw, sql=True)
        assert isinstance(q, str) and q.count("?") == len(params), method
        df = getattr(seed_wb, method)(*args, **kw)
        assert isinstance(df, pd.DataFrame), method
        if method != "kwic":  # kwic splits occurrences in Python after its SQL
            assert len(seed_wb.sql(q, params)) == len(df), method


@pytest.mark.parametrize(
    ("call", "needle"),
    [
        (lambda wb: wb.top("people"), "unknown kind"),
        (lambda wb: wb.coverage(freq="fortnight"), "unknown freq"),
        (lambda wb: wb.cooccurrence(sort="chi2"), "unknown sort"),
        (lambda wb: wb.top("actor", n=0), "positive integer"),
        (lambda wb: wb.tone(level="word"), "unknown level"),
        (lambda wb: wb.evidence("actor", ""), "non-empty"),
        (lambda wb: wb.kwic("x", window=-1), "non-negative"),
        (lambda wb: wb.top("actor", filter={"dedupe": "text"}), "unknown Filter field"),
    ],
)
def test_bad_options_explain_themselves(seed_wb: Workbench, call, needle):
    with pytest.raises(errors.BadOption, match=needle):
        call(seed_wb)


# ---------------------------------------------------------------------------- place_points
def test_place_points_are_top_places_with_their_points(ru_ua_wb: Workbench):
    """``place_points`` is ``top(place/admin1)`` plus each key's point; its attrs name the
    SQL that produced the whole frame (re-running it gives the same keys)."""
    raw = ru_ua_wb.sql(
        "SELECT coalesce(CAST(geonameid AS VARCHAR), iso3 || '.' || admin1) AS place,"
        " iso3 || '.' || admin1 AS admin1, iso3, lat, lon FROM mention_places"
    )
    assert len(raw) >= 10, "the 2022 sample resolves places below the country"
    pts = ru_ua_wb.place_points("place", n=None)
    top = ru_ua_wb.top("place", n=None)
    pd.testing.assert_frame_equal(pts[list(top.columns)], top)
    mean = raw.groupby("place")[["lat", "lon"]].mean()
    for _, row in pts.iterrows():
        assert row["lat"] == pytest.approx(mean.loc[row["key"], "lat"])
        assert row["lon"] == pytest.approx(mean.loc[row["key"], "lon"])
    q, params = ru_ua_wb.place_points("place", n=None, sql=True)
    assert (q, params) == (pts.attrs["sql"], pts.attrs["params"])
    pd.testing.assert_frame_equal(ru_ua_wb.sql(q, params), pts, check_dtype=False)
    assert pts.attrs["engine"] == "base" and pts.attrs["filter"] == "all articles"

    home = raw["iso3"].value_counts().index[0]
    divs = ru_ua_wb.place_points("admin1", n=2, country=home.lower())
    inside = ru_ua_wb.top("admin1", n=None, filter={"countries": (home,)})
    inside = inside[inside["key"].str.startswith(home + ".")].head(2)
    assert divs["key"].tolist() == inside["key"].tolist() and (divs["iso3"] == home).all()
    for _, row in divs.iterrows():  # a division's own point, where the gazetteer has one
        own = admin1_point(*row["key"].split(".", 1))
        assert own is None or (row["lat"], row["lon"]) == pytest.approx(own)
    assert divs.attrs["filter"] == f"countries: {home}"
    with pytest.raises(errors.BadOption, match="kind"):
        ru_ua_wb.place_points("country")
