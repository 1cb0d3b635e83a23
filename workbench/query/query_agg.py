"""The pre-aggregate engine: the SQL of a query plan over the ``agg_*`` tables.

The tables (``workbench.query.aggregates``) hold per-(day, outlet, key) counts, pair roll-ups and
narrow listing tables; a date/outlet-filtered plan reads them instead of scanning the
analysis tables, with the same columns and numbers (``tests/test_engines.py`` runs every
plan on both engines). :func:`can_answer` says which plans they hold; the planner in
``workbench.query.api`` also asks ``aggregates.serves`` (only date/outlet filters, no dedup,
built from the current rows).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable
from typing import Any

import duckdb

from ..base import store
from ..base.filters import Filter, compose, filter_sql
from .aggregates import _KEY_COLS, PAIR_ETYPES, PAIR_KINDS
from .kinds import (
    AGG_KINDS,
    KEYS_ALL,
    KEYS_N,
    NO_LIMIT,
    OUTLET_GROUPS,
    SPAN_KINDS,
    SqlResult,
    attribute_path,
    cooccurrence_tail,
    find_entities,
    given_keys,
    kind,
    label_sql,
)
from .plans import Plan


def _where(f: Filter, alias: str) -> tuple[str, list[Any]]:
    """The filter over an ``agg_*`` alias. The pre-aggregates serve only date and outlet
    filters (``aggregates.serves``), over which ``filter_sql`` reads just ``date`` and
    ``source``: the same WHERE as on the base tables."""
    return filter_sql(f, alias)


_LO, _HI = "0001-01-01", "9999-12-31"


_TONE_KEYS = "tone_rows, tone_n, tone_sum, tone_sq, tone_neg, tone_pos"


def _top_n(n: int | None) -> int:
    return n if n is not None else NO_LIMIT


def _rows(f: Filter, *, grain: str = "month", tone: bool = False) -> tuple[str, list[Any]]:
    """Per-key rows covering the filter's dates exactly: whole months (``grain="week"``:
    ISO weeks) from ``agg_keys_m``/``agg_keys_w``, the days of partly covered ones from
    ``agg_keys`` (``grain="day"``: days only). Exact because each article has one date."""
    lo = str(f.date_from) if f.date_from is not None else _LO
    hi = str(f.date_to) if f.date_to is not None else _HI
    cols = _KEY_COLS + (", " + _TONE_KEYS if tone else "")
    if grain == "day":
        return f"SELECT {cols} FROM agg_keys", []  # noqa: S608 - fixed SQL
    table = {"month": "agg_keys_m", "week": "agg_keys_w"}[grain]
    start = f"date_trunc('{grain}', date)::DATE"
    end = {"month": "last_day(date)", "week": f"{start} + 6"}[grain]
    if f.date_from is None and f.date_to is None:
        return f"SELECT {cols} FROM {table}", []  # noqa: S608 - fixed SQL
    q = f"SELECT {cols} FROM {table} WHERE {start} >= ?::DATE AND {end} <= ?::DATE"  # noqa: S608
    params: list[Any] = [lo, hi]
    for d0, d1 in _edge_days(f, grain):  # constant day ranges: zone maps skip the rest
        q += f" UNION ALL SELECT {cols} FROM agg_keys WHERE date >= ?::DATE AND date <= ?::DATE"  # noqa: S608
        params += [d0, d1]
    return q, params


def _edge_days(f: Filter, grain: str = "month") -> list[tuple[str, str]]:
    """The day ranges (0-2, ISO strings) of the filter's window that lie in partly covered
    months (``grain="week"``: ISO weeks); an open end has no partly covered period."""

    def day(v: Any) -> dt.date | None:
        return None if v is None else dt.date.fromisoformat(str(v)[:10])

    def start(d: dt.date) -> dt.date:
        return d.replace(day=1) if grain == "month" else d - dt.timedelta(days=d.weekday())

    def end(d: dt.date) -> dt.date:
        if grain == "month":
            return d.replace(day=calendar.monthrange(d.year, d.month)[1])
        return start(d) + dt.timedelta(days=6)

    lo, hi = day(f.date_from), day(f.date_to)
    if lo is not None and hi is not None and start(lo) == start(hi):
        whole = lo == start(lo) and hi == end(hi)
        return [] if whole else [(lo.isoformat(), hi.isoformat())]
    out = []
    if lo is not None and lo != start(lo):
        out.append((lo.isoformat(), end(lo).isoformat()))
    if hi is not None and hi != end(hi):
        out.append((start(hi).isoformat(), hi.isoformat()))
    return out


def _kind(name: str, f: Filter) -> tuple[str, list[Any]]:
    """WHERE fragment on ``agg_keys k`` selecting one query kind."""
    k = kind(name)
    if k.agg == "entity":
        types = k.entity_types(f)
        return (f"k.kind = 'entity' AND k.etype IN ({store.in_list_params(types)})",
                list(types))  # fmt: skip
    return "k.kind = ?", [k.agg]


def top(con: duckdb.DuckDBPyConnection, p: Plan) -> SqlResult:
    f, n = p.filter, p["n"]
    if p["by"] is not None:
        return _top_by(f, p.kind, p["by"], n)
    wk, pk = _where(f, "k")
    wd, pd_ = _where(f, "d")
    if p.kind == "source":
        q = (
            "WITH t AS (SELECT d.source AS key, sum(d.articles) AS articles FROM agg_daily d "  # noqa: S608
            f"WHERE {wd} AND d.source IS NOT NULL GROUP BY 1), "
            f"tot AS (SELECT sum(articles) AS n FROM agg_daily d WHERE {wd}) "
            "SELECT t.key, t.key AS label, t.articles::BIGINT AS articles, "
            "t.articles::BIGINT AS mentions, t.articles / tot.n AS share "
            "FROM t CROSS JOIN tot ORDER BY articles DESC, mentions DESC, t.key LIMIT ?"
        )
        return q, [*pd_, *pd_, _top_n(n)]
    kw, kp = _kind(p.kind, f)
    join, label = label_sql(p.kind, "t", "lab")
    rows, p_rows = _rows(f)
    q = (
        "WITH t AS (SELECT k.key, sum(k.articles) AS articles, sum(k.mentions) AS mentions "  # noqa: S608
        f"FROM ({rows}) k WHERE {kw} AND {wk} GROUP BY 1), "
        f"tot AS (SELECT sum(articles) AS n FROM agg_daily d WHERE {wd}) "
        f"SELECT t.key, {label} AS label, t.articles::BIGINT AS articles, "
        "t.mentions::BIGINT AS mentions, t.articles / tot.n AS share "
        f"FROM t {join} CROSS JOIN tot "
        "ORDER BY articles DESC, mentions DESC, t.key LIMIT ?"
    )
    return q, [*p_rows, *kp, *pk, *pd_, _top_n(n)]


def _top_by(f: Filter, name: str, by: str, n: int | None) -> SqlResult:
    """``top(by=attribute)``: the per-(day, outlet) rows summed per group of outlets."""
    wd, pd_ = _where(f, "d")
    if name == "source":
        t = (
            "SELECT g.grp, d.source AS key, sum(d.articles) AS articles, "  # noqa: S608
            "sum(d.articles) AS mentions FROM agg_daily d JOIN g ON g.source = d.source "
            f"WHERE {wd} GROUP BY 1, 2"
        )
        p_t = list(pd_)
    else:
        wk, pk = _where(f, "k")
        kw, kp = _kind(name, f)
        rows, p_rows = _rows(f)
        t = (
            "SELECT g.grp, k.key, sum(k.articles) AS articles, sum(k.mentions) AS mentions "  # noqa: S608
            f"FROM ({rows}) k JOIN g ON g.source = k.source WHERE {kw} AND {wk} GROUP BY 1, 2"
        )
        p_t = [*p_rows, *kp, *pk]
    join, label = label_sql(name, "r", "lab")
    q = (
        f"WITH g AS ({OUTLET_GROUPS}), t AS ({t}), "  # noqa: S608
        "tot AS (SELECT g.grp, sum(d.articles) AS n FROM agg_daily d "
        f"JOIN g ON g.source = d.source WHERE {wd} GROUP BY 1), "
        "r AS (SELECT t.*, row_number() OVER (PARTITION BY t.grp ORDER BY t.articles DESC, "
        "t.mentions DESC, t.key) AS rk FROM t) "
        f"SELECT r.grp, r.key, {label} AS label, r.articles::BIGINT AS articles, "
        "r.mentions::BIGINT AS mentions, r.articles / tot.n AS share "
        f"FROM r JOIN tot ON tot.grp = r.grp {join} WHERE r.rk <= ? ORDER BY r.grp, r.rk"
    )
    return q, [attribute_path(by), *p_t, *pd_, _top_n(n)]


def coverage(con: duckdb.DuckDBPyConnection, p: Plan) -> SqlResult:
    """Top ``n`` keys, the given ``values`` (ids or labels) or the volume (``by=None``)."""
    f, by, freq, values = p.filter, p.kind, p["freq"], p["values"]
    wk, pk = _where(f, "k")
    wd, pd_ = _where(f, "d")
    per = (
        "per AS (SELECT date_trunc(?, d.date)::DATE AS period, sum(d.articles)::BIGINT "  # noqa: S608
        f"AS total_articles FROM agg_daily d WHERE {wd} AND d.date IS NOT NULL GROUP BY 1)"
    )
    if by is None:
        q = (
            f"WITH {per} SELECT period, 'all' AS key, 'all articles' AS label, "  # noqa: S608
            "total_articles AS articles, total_articles AS mentions, total_articles, "
            "1.0 AS share FROM per ORDER BY 1"
        )
        return q, [freq, *pd_]
    join, label = label_sql(by, "t", "lab")
    if by == "source":  # one key per article: its outlet (mentions = articles)
        kk = (
            "SELECT d.date, d.source AS key, d.articles, d.articles AS mentions "  # noqa: S608
            f"FROM agg_daily d WHERE {wd} AND d.source IS NOT NULL"
        )
        p_kk = list(pd_)
    else:
        kw, kp = _kind(by, f)
        rows, p_rows = _rows(f, grain={"day": "day", "week": "week"}.get(freq, "month"))
        kk, p_kk = f"SELECT k.* FROM ({rows}) k WHERE {kw} AND {wk}", [*p_rows, *kp, *pk]  # noqa: S608
    if values is None:
        keys = (
            "SELECT key, row_number() OVER (ORDER BY sum(articles) DESC, sum(mentions) "
            "DESC, key) AS rank FROM kk GROUP BY key ORDER BY rank LIMIT ?"
        )
        p_keys: list[Any] = [_top_n(p["n"])]
    else:
        keys, p_keys = given_keys(by, "kk", values)
    q = (
        f"WITH {per}, "  # noqa: S608
        f"kk AS ({kk}), "
        f"keys AS ({keys}), "
        "cnt AS (SELECT date_trunc(?, kk.date)::DATE AS period, kk.key, "
        "sum(kk.articles)::BIGINT AS articles, sum(kk.mentions)::BIGINT AS mentions "
        "FROM kk WHERE kk.date IS NOT NULL AND kk.key IN (SELECT key FROM keys) "
        "GROUP BY 1, 2) "
        f"SELECT per.period, t.key, {label} AS label, coalesce(cnt.articles, 0) AS articles, "
        "coalesce(cnt.mentions, 0) AS mentions, per.total_articles, "
        "coalesce(cnt.articles, 0) / per.total_articles AS share "
        "FROM per CROSS JOIN keys t LEFT JOIN cnt ON cnt.period = per.period "
        f"AND cnt.key = t.key {join} ORDER BY per.period, t.rank, t.key"
    )
    return q, [freq, *pd_, *p_kk, *p_keys, freq]


# ---------------------------------------------------------------------------- co-occurrence
def _side(name: str, f: Filter) -> tuple[str | None, tuple[str, ...] | None]:
    """(aggregate kind, entity types or None) of a query kind."""
    k = kind(name)
    return k.agg, (k.entity_types(f) if k.agg == "entity" else None)


def serves_pairs(kind_a: str, kind_b: str, f: Filter) -> bool:
    """Whether ``agg_pairs*`` hold this kind pair (entities of ``PAIR_ETYPES`` only)."""
    (ka, ta), (kb, tb) = _side(kind_a, f), _side(kind_b, f)
    if (ka, kb) not in PAIR_KINDS or (ka == kb and kind_a != kind_b):
        return False
    return all(set(t) <= set(PAIR_ETYPES) for t in (ta, tb) if t is not None)


def _pair_rows(
    con: duckdb.DuckDBPyConnection, kind_a: str, kind_b: str, f: Filter
) -> tuple[str, list[Any]]:
    """(key_a, key_b, source, articles) rows covering the filter's dates exactly: all-time
    rows without dates, else whole months from ``agg_pairs_m`` and the days of partly
    covered months from a join of ``agg_article_keys`` on the article, restricted to the
    ``aid`` range of those days (aids follow dates, so the range is contiguous and
    ``agg_article_keys``, sorted by (kind, aid), is read only there)."""
    (ka, ta), (kb, tb) = _side(kind_a, f), _side(kind_b, f)

    def cond(x: str, kind: str, types: tuple[str, ...] | None, suffix: str) -> tuple[str, list]:
        c = f"{x}.kind{suffix} = ?"
        if types is None:
            return c, [kind]
        return f"{c} AND {x}.etype{suffix} IN ({store.in_list_params(types)})", [kind, *types]

    ca, pa = cond("p", ka, ta, "_a")
    cb, pb = cond("p", kb, tb, "_b")
    if f.date_from is None and f.date_to is None:
        q = f"SELECT p.key_a, p.key_b, p.source, p.articles FROM agg_pairs p WHERE {ca} AND {cb}"  # noqa: S608
        return q, [*pa, *pb]
    lo = str(f.date_from) if f.date_from is not None else _LO
    hi = str(f.date_to) if f.date_to is not None else _HI
    ea, qa = cond("a", ka, ta, "")
    eb, qb = cond("b", kb, tb, "")
    same = " AND a.key < b.key" if ka == kb else ""
    whole = "date_trunc('month', {x}.date) >= ?::DATE AND last_day({x}.date) <= ?::DATE"
    q = (
        "SELECT p.key_a, p.key_b, p.source, p.articles FROM agg_pairs_m p "  # noqa: S608
        f"WHERE {ca} AND {cb} AND {whole.format(x='p')}"
    )
    params: list[Any] = [*pa, *pb, lo, hi]
    for d0, d1 in _edge_days(f):
        a0, a1 = con.execute(
            "SELECT min(aid), max(aid) FROM agg_articles WHERE date >= ?::DATE AND date <= ?::DATE",
            [d0, d1],
        ).fetchone()
        if a0 is None:
            continue
        q += (
            " UNION ALL SELECT a.key, b.key, a.source, count(*) FROM agg_article_keys a "  # noqa: S608
            f"JOIN agg_article_keys b ON b.aid = a.aid WHERE {ea} AND {eb}{same} "
            "AND a.aid >= ? AND a.aid <= ? AND b.aid >= ? AND b.aid <= ? "
            "AND a.date >= ?::DATE AND a.date <= ?::DATE GROUP BY ALL"
        )
        params += [*qa, *qb, a0, a1, a0, a1, d0, d1]
    return q, params


_COOC_SQL = """WITH na AS (SELECT k.key, sum(k.articles)::BIGINT AS n, sum(k.mentions)::BIGINT AS m
           FROM ({rows}) k WHERE {kw_a} AND {wk} GROUP BY 1),
nb AS (SELECT k.key, sum(k.articles)::BIGINT AS n, sum(k.mentions)::BIGINT AS m
       FROM ({rows}) k WHERE {kw_b} AND {wk} GROUP BY 1),
tot AS (SELECT sum(d.articles)::BIGINT AS n FROM agg_daily d WHERE {wd}),
ka AS ({keys_a}),
kb AS ({keys_b}),
pairs AS (
    SELECT p.key_a, p.key_b, sum(p.articles)::BIGINT AS articles FROM ({pairs}) p
    WHERE {wp} AND p.key_a IN (SELECT key FROM ka) AND p.key_b IN (SELECT key FROM kb)
    GROUP BY 1, 2 HAVING sum(p.articles) >= ?),
{tail}"""


def cooccurrence(con: duckdb.DuckDBPyConnection, p: Plan) -> SqlResult:
    """From the pair roll-ups; only for kind pairs :func:`serves_pairs` accepts."""
    f, (kind_a, kind_b) = p.filter, p.kinds
    top_a, top_b = p["top_a"], p["top_b"]
    wk, pk = _where(f, "k")
    wd, pd_ = _where(f, "d")
    wp, pp = _where(f.replace(date_from=None, date_to=None), "p")  # dates: in _pair_rows
    rows, p_rows = _rows(f)
    kw_a, p_kw_a = _kind(kind_a, f)
    kw_b, p_kw_b = _kind(kind_b, f)
    pairs, p_pairs = _pair_rows(con, kind_a, kind_b, f)
    keys_a = compose(KEYS_N if top_a else KEYS_ALL, n="na")
    keys_b = compose(KEYS_N if top_b else KEYS_ALL, n="nb")
    tail, tail_params = cooccurrence_tail(kind_a, kind_b, p["sort"], p["n"])
    q = _COOC_SQL.format(rows=rows, kw_a=kw_a, kw_b=kw_b, wk=wk, wd=wd, keys_a=keys_a,
                         keys_b=keys_b, pairs=pairs, wp=wp, tail=tail)  # fmt: skip
    params = [*p_rows, *p_kw_a, *pk, *p_rows, *p_kw_b, *pk, *pd_]
    params += [top_a] if top_a else []
    params += [top_b] if top_b else []
    return q, [*params, *p_pairs, *pp, p["min_articles"], *tail_params]


# ---------------------------------------------------------------------------- compare, tone
def compare(con: duckdb.DuckDBPyConnection, p: Plan) -> SqlResult:
    """The filter already holds the compared sources."""
    f, by = p.filter, p.kind
    wk, pk = _where(f, "k")
    wd, pd_ = _where(f, "d")
    kw, kp = _kind(by, f)
    join, label = label_sql(by, "t", "lab")
    rows, p_rows = _rows(f)
    q = (
        f"WITH kk AS (SELECT k.* FROM ({rows}) k WHERE {kw} AND {wk}), "  # noqa: S608
        "st AS (SELECT d.source, sum(d.articles)::BIGINT AS source_articles FROM agg_daily d "
        f"WHERE {wd} AND d.source IS NOT NULL GROUP BY 1), "
        "keys AS (SELECT key, row_number() OVER (ORDER BY sum(articles) DESC, "
        "sum(mentions) DESC, key) AS rank, sum(articles)::BIGINT AS all_articles "
        "FROM kk GROUP BY key ORDER BY rank LIMIT ?), "
        "cnt AS (SELECT source, key, sum(articles)::BIGINT AS articles, "
        "sum(mentions)::BIGINT AS mentions FROM kk WHERE key IN (SELECT key FROM keys) "
        "GROUP BY 1, 2), "
        "tot AS (SELECT sum(source_articles) AS n FROM st) "
        f"SELECT st.source, t.key, {label} AS label, "
        "coalesce(cnt.articles, 0) AS articles, coalesce(cnt.mentions, 0) AS mentions, "
        "st.source_articles, coalesce(cnt.articles, 0) / st.source_articles AS share, "
        "t.all_articles / tot.n AS share_all, "
        "(coalesce(cnt.articles, 0) / st.source_articles) / (t.all_articles / tot.n) AS ratio "
        "FROM st CROSS JOIN keys t CROSS JOIN tot "
        f"LEFT JOIN cnt ON cnt.source = st.source AND cnt.key = t.key {join} "
        "ORDER BY t.rank, st.source"
    )
    return q, [*p_rows, *kp, *pk, *pd_, _top_n(p["n"])]


#: avg / stddev_samp / counts of article tone from the ``tone_*`` sums of a group.
_TONE_STATS = (
    "sum(x.tone_rows)::BIGINT AS articles, "
    "sum(x.tone_sum) / nullif(sum(x.tone_n), 0) AS tone, "
    "CASE WHEN sum(x.tone_n) > 1 THEN sqrt(greatest((sum(x.tone_sq) - sum(x.tone_sum) ^ 2 "
    "/ sum(x.tone_n)) / (sum(x.tone_n) - 1), 0)) END AS tone_sd, "
    "sum(x.tone_neg)::BIGINT AS negative, sum(x.tone_pos)::BIGINT AS positive"
)


def tone(con: duckdb.DuckDBPyConnection, p: Plan) -> SqlResult:
    """Article-level tone from the tone sums of ``agg_daily``/``agg_keys*``."""
    f, by, freq = p.filter, p.kind, p["freq"]
    wd, pd_ = _where(f, "d")
    period = "date_trunc(?, x.date)::DATE" if freq else "NULL::DATE"
    p_period = [freq] if freq else []
    dated = "AND x.date IS NOT NULL" if freq else ""
    if by in ("date", "source"):
        key = "'all'" if by == "date" else "d.source"
        notnull = "" if by == "date" else "AND d.source IS NOT NULL"
        src = f"SELECT d.*, {key} AS key FROM agg_daily d WHERE {wd} {notnull}"  # noqa: S608
        p_src = list(pd_)
    else:
        wk, pk = _where(f, "k")
        kw, kp = _kind(by, f)
        grain = {"day": "day", "week": "week"}.get(freq or "month", "month")
        rows, p_rows = _rows(f, grain=grain, tone=True)
        src = f"SELECT k.* FROM ({rows}) k WHERE {kw} AND {wk}"  # noqa: S608
        p_src = [*p_rows, *kp, *pk]
    if by == "date":
        keys, p_keys = "SELECT 'all' AS key", []
        join, label = "", "'all articles'"
    else:
        keys = "SELECT key FROM src GROUP BY key ORDER BY sum(articles) DESC, key LIMIT ?"
        p_keys = [_top_n(p["n"])]
        join, label = label_sql(by, "t", "lab")
    q = (
        f"WITH src AS ({src}), keys AS ({keys}), "  # noqa: S608
        f"t AS (SELECT {period} AS period, x.key, {_TONE_STATS} FROM src x "
        f"WHERE x.key IN (SELECT key FROM keys) {dated} GROUP BY 1, 2 "
        "HAVING sum(x.tone_rows) > 0) "
        f"SELECT t.period, t.key, {label} AS label, t.articles, t.tone, t.tone_sd, t.negative, "
        f"t.positive FROM t {join} ORDER BY t.period NULLS FIRST, t.articles DESC, t.key"
    )
    return q, [*p_src, *p_keys, *p_period]


# ---------------------------------------------------------------------------- listings
# Late materialisation: the first ``n`` rows are picked from narrow, ``aid``-ordered tables
# (ids, dates and offsets only; ``aid`` order = ``date NULLS LAST, article_id``), and only
# those rows are joined to the article text. The base tables are not sorted by article, so
# the text lookup gets *constant* predicates -- the picked ids and their date span -- that
# DuckDB checks in the scan (zone maps on ``date`` skip the rest when articles are stored in
# date order); a join alone would read every article's text.
_LOOKUP_MAX = 1000  # more picked articles than this: a plain join


def _lookup(
    con: duckdb.DuckDBPyConnection, picked: str, params: list[Any], alias: str = "a",
    dates: bool = True,
) -> tuple[str, list[Any]]:  # fmt: skip
    """Constant predicates on ``<alias>.article_id`` (and ``.date``) matching the articles of
    the ``picked`` rows (a query with an ``aid`` column)."""
    rows = con.execute(
        f"SELECT DISTINCT ar.article_id, ar.date FROM ({picked}) p "  # noqa: S608
        "JOIN agg_articles ar ON ar.aid = p.aid ORDER BY 1",
        params,
    ).fetchall()
    if len(rows) > _LOOKUP_MAX:
        return "TRUE", []  # see _mat: then not materialised
    if not rows:
        return "FALSE", []
    ids = [r[0] for r in rows]
    # one list parameter: a long IN (...) list would become a join that reads every row
    where, out = f"{alias}.article_id = ANY(?::VARCHAR[])", [ids]
    known = [r[1] for r in rows if r[1] is not None]
    if dates and known:
        span = f"{alias}.date >= ? AND {alias}.date <= ?"
        if len(known) < len(rows):
            span = f"({span} OR {alias}.date IS NULL)"
        where += f" AND {span}"
        out += [min(known), max(known)]
    return where, out


def _limit(n: int | None) -> str:
    """``LIMIT ?`` or nothing: n=None lists everything (no 2**62 top-n)."""
    return "" if n is None else "LIMIT ?"


def _p_limit(n: int | None) -> list[Any]:
    return [] if n is None else [n]


def _mat(lookup: str) -> str:
    """CTE keyword for the looked-up rows: MATERIALIZED keeps the constant predicates a
    filter of that one scan (inside a join, DuckDB would turn them into a join that reads
    every row); without them (too many rows picked) the CTE is inlined."""
    return "NOT MATERIALIZED" if lookup == "TRUE" else "MATERIALIZED"


#: ``left(regexp_replace(a.text, '\s+', ' ', 'g'), 200)`` (``query.articles``) without
#: running the regex over whole texts: collapsing whitespace runs of a prefix gives a prefix
#: of the collapsed text, so 2,000 characters suffice unless they collapse below 200.
_SNIPPET = (
    "CASE WHEN length(a.text) <= 2000 OR length(regexp_replace(left(a.text, 2000), '\\s+', "
    "' ', 'g')) >= 200 THEN left(regexp_replace(left(a.text, 2000), '\\s+', ' ', 'g'), 200) "
    "ELSE left(regexp_replace(a.text, '\\s+', ' ', 'g'), 200) END"
)


def articles(con: duckdb.DuckDBPyConnection, p: Plan) -> SqlResult:
    """From ``agg_articles`` (no text search here: order is date or -date), then the texts."""
    f, n = p.filter, p["n"]
    wx, px = _where(f, "x")
    order = "-date" if p["order"] == "-date" else "date"
    ob = {"date": "{x}.aid", "-date": "{x}.date DESC NULLS LAST, {x}.article_id"}[order]
    picked = (
        "SELECT x.aid, x.article_id, x.date, x.source, x.n_words, x.tone "  # noqa: S608
        f"FROM agg_articles x WHERE {wx} ORDER BY {ob.format(x='x')} {_limit(n)}"
    )
    p_picked = [*px, *_p_limit(n)]
    look, p_look = _lookup(con, picked, p_picked)
    q = (
        f"WITH top AS ({picked}), txt AS {_mat(look)} (SELECT a.article_id, a.title, a.text "  # noqa: S608
        f"FROM articles a WHERE {look}) "
        "SELECT top.article_id, top.date, top.source, a.title, top.n_words, top.tone, "
        f"NULL::DOUBLE AS score, {_SNIPPET} AS snippet "
        f"FROM top JOIN txt a ON a.article_id = top.article_id ORDER BY {ob.format(x='top')}"
    )
    return q, [*p_picked, *p_look]


_PICK_SPANS = """SELECT s.key, s.aid, s.date, s.source, s.sentence_idx, s.start_char,
    s.end_char FROM agg_spans s WHERE {where} ORDER BY s.aid, s.start_char {limit}"""

_SPANS_SQL = """WITH sp AS ({picked}),
x AS (SELECT sp.*, ar.article_id FROM sp JOIN agg_articles ar ON ar.aid = sp.aid),
sn AS (SELECT g.* FROM agg_sentences g WHERE g.aid IN (SELECT aid FROM sp)),
txt AS {mat} (SELECT a.article_id, a.text FROM articles a WHERE {lookup})
SELECT {cols}
FROM x JOIN txt a ON a.article_id = x.article_id
LEFT JOIN sn s ON s.aid = x.aid AND s.idx = x.sentence_idx
ORDER BY x.aid, x.start_char"""

_EVIDENCE_COLS = """x.key, x.article_id, x.date, x.source, x.sentence_idx,
       x.start_char, x.end_char, s.start_char AS sentence_start, s.end_char AS sentence_end,
       substr(a.text, s.start_char + 1, s.end_char - s.start_char) AS sentence,
       substr(a.text, {lo} + 1, greatest(x.start_char - {lo}, 0)) AS "left",
       substr(a.text, x.start_char + 1, x.end_char - x.start_char) AS keyword,
       substr(a.text, x.end_char + 1, greatest({hi} - x.end_char, 0)) AS "right\""""

_KWIC_COLS = """x.key, x.article_id, x.date, x.source, x.sentence_idx, x.start_char, x.end_char,
       substr(a.text, s.start_char + 1, s.end_char - s.start_char) AS sentence,
       substr(a.text, greatest(x.start_char - ?, 0) + 1,
              x.start_char - greatest(x.start_char - ?, 0)) AS "left",
       substr(a.text, x.start_char + 1, x.end_char - x.start_char) AS keyword,
       substr(a.text, x.end_char + 1, ?) AS "right\""""


def _span_keys(con: duckdb.DuckDBPyConnection, name: str, value: str) -> list[str]:
    """The keys the base engine's evidence matches for ``value`` (ids, names, aliases,
    labels)."""
    k = kind(name)
    if k.agg == "entity":
        return find_entities(con, value)
    if name == "theme":
        rows = con.execute("SELECT theme_id FROM themes WHERE lower(label) = ?", [value.lower()])
        return list(dict.fromkeys([value, *(r[0] for r in rows.fetchall())]))
    return [value.upper() if name == "country" else value]


def _spans(
    con: duckdb.DuckDBPyConnection, name: str, keys: list[str], f: Filter, n: int | None,
    cols: str, p_cols: list[Any],
) -> SqlResult:  # fmt: skip
    ws, ps = _where(f, "s")
    if not keys:
        keys = [""]  # no such key: an empty frame with the right columns
    k = kind(name)
    where = f"s.kind = ? AND s.key IN ({store.in_list_params(keys)}) AND {ws}"
    params: list[Any] = [k.agg, *keys, *ps]
    if k.types:  # person, org
        where += f" AND s.etype IN ({store.in_list_params(k.types)})"
        params += list(k.types)
    picked = _PICK_SPANS.format(where=where, limit=_limit(n))
    params += _p_limit(n)
    look, p_look = _lookup(con, picked, params)
    q = _SPANS_SQL.format(picked=picked, cols=cols, lookup=look, mat=_mat(look))
    return q, [*params, *p_look, *p_cols]


def evidence(con: duckdb.DuckDBPyConnection, p: Plan) -> SqlResult:
    """For the kinds in ``SPAN_KINDS``, from ``agg_spans``."""
    lo, hi = "coalesce(s.start_char, x.start_char)", "coalesce(s.end_char, x.end_char)"
    cols = _EVIDENCE_COLS.format(lo=lo, hi=hi)
    keys = _span_keys(con, p.kind, p["value"])
    return _spans(con, p.kind, keys, p.filter, p["n"], cols, [])


def kwic(con: duckdb.DuckDBPyConnection, p: Plan) -> SqlResult:
    """The entity mentions of ``kwic`` (resolved ``ids``) from ``agg_spans``."""
    w = p["window"]
    return _spans(con, "actor", list(p["ids"]), p.filter, p["n"], _KWIC_COLS, [w, w, w])


_KWIC_COUNT = """SELECT count(*), count(DISTINCT s.aid) FROM agg_spans s WHERE {where}"""


def kwic_totals(con: duckdb.DuckDBPyConnection, p: Plan) -> SqlResult:
    """All the entity's occurrences and their articles, counted on ``agg_spans`` (on the
    base tables this count scans every mention: seconds at 10^6 articles)."""
    ws, ps = _where(p.filter, "s")
    ids = list(p["ids"])  # only called for an entity kwic, which has ids
    where = f"s.kind = ? AND s.key IN ({store.in_list_params(ids)}) AND {ws}"
    return _KWIC_COUNT.format(where=where), [kind("actor").agg, *ids, *ps]


#: quote columns as ``query.quotes`` returns them, all from ``agg_quotes x`` (no lookup)
_QUOTE_COLS = """ar.article_id, x.date, x.source, x.quote_idx, x.sentence_idx, x.start_char,
       x.end_char, x.speaker, x.speaker_entity_id, e.name AS speaker_name, x.cue, x.text"""

_QUOTES_SQL = """WITH qq AS ({picked})
SELECT {cols}
FROM qq JOIN agg_quotes x ON x.aid = qq.aid AND x.quote_idx = qq.quote_idx
JOIN agg_articles ar ON ar.aid = x.aid
LEFT JOIN entities e ON e.entity_id = x.speaker_entity_id
WHERE {span}
ORDER BY x.aid, x.quote_idx"""


def quotes(con: duckdb.DuckDBPyConnection, p: Plan) -> SqlResult:
    """From ``agg_quotes`` (it carries the displayed columns): the first ``n`` (aid,
    quote_idx) are picked from the narrow id columns, then only their ``aid`` range of
    ``agg_quotes`` (sorted by aid: zone maps) is read for the text."""
    f, n, actor = p.filter, p["n"], p["actor"]
    where, params = _where(f, "x")
    lim, p_lim = _limit(n), _p_limit(n)
    pick = "SELECT x.aid, x.quote_idx FROM agg_quotes x WHERE {w} ORDER BY x.aid, x.quote_idx "
    if actor:
        ids = list(dict.fromkeys([actor, *find_entities(con, actor)]))  # the id itself too
        # two pushed-down filters, each its own first n, instead of one OR over every row
        w_id = f"{where} AND x.speaker_entity_id IN ({store.in_list_params(ids)})"
        w_lc = f"{where} AND x.speaker_lc = ?"
        picked = (
            f"SELECT * FROM (({pick.format(w=w_id)}{lim}) UNION "  # noqa: S608
            f"({pick.format(w=w_lc)}{lim})) u ORDER BY aid, quote_idx {lim}"
        )
        params = [*params, *ids, *p_lim, *params, actor.lower(), *p_lim, *p_lim]
    else:
        picked = pick.format(w=where) + lim
        params = [*params, *p_lim]
    rows = con.execute(f"SELECT min(aid), max(aid) FROM ({picked})", params).fetchone()  # noqa: S608
    span, p_span = "x.aid >= ? AND x.aid <= ?", [rows[0], rows[1]]
    if rows[0] is None:
        span, p_span = "FALSE", []
    q = _QUOTES_SQL.format(picked=picked, cols=_QUOTE_COLS, span=span)
    return q, [*params, *p_span]


#: The builder of each query on this engine.
BUILD: dict[str, Callable[[duckdb.DuckDBPyConnection, Plan], SqlResult]] = {
    "top": top,
    "coverage": coverage,
    "cooccurrence": cooccurrence,
    "compare": compare,
    "tone": tone,
    "quotes": quotes,
    "articles": articles,
    "evidence": evidence,
    "kwic": kwic,
}


def can_answer(p: Plan) -> bool:
    """Whether the pre-aggregates hold what the plan asks (its filter aside: see
    ``aggregates.serves``)."""
    if p.query in ("top", "compare"):
        return p.kind in AGG_KINDS
    if p.query == "coverage":
        return p.kind is None or p.kind in AGG_KINDS
    if p.query == "cooccurrence":
        return serves_pairs(*p.kinds, p.filter)  # type: ignore[arg-type]
    if p.query == "tone":
        return p["level"] == "article"
    if p.query == "evidence":
        return p.kind in SPAN_KINDS
    if p.query == "kwic":
        return bool(p["ids"])
    return p.query in ("quotes", "articles")
