"""The base-table engine: the SQL of every query plan over the analysis tables themselves.

Each builder takes a :class:`~workbench.query.plans.Plan` and returns the ``(query, params)`` it
runs; it answers every filter (entities, countries, themes, text search, tone, dedup).
``workbench.query.api`` validates, plans, picks the engine, runs and finishes the frame.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from ..annotate import search, stories
from ..annotate import tone as tone_stage
from ..base import errors
from ..base.filters import Filter, compose, filtered_articles_sql
from ..base.store import in_list_params
from .kinds import (
    ENTITY_MATCH,
    KEYS_ALL,
    KEYS_N,
    NO_LIMIT,
    OUTLET_GROUPS,
    SqlResult,
    attribute_path,
    cooccurrence_tail,
    entity_params,
    given_keys,
    kind,
    label_sql,
)
from .plans import Plan


def _limit(n: int | None) -> int:
    return n if n is not None else NO_LIMIT


def articles_cte(con: duckdb.DuckDBPyConnection, f: Filter) -> SqlResult:
    """The filtered-articles CTE body (columns needed by the aggregations)."""
    if f.dedup == "story" and not stories.is_ready(con):
        raise errors.BadOption(errors.stories_missing())
    q = search.fts_query(con, f.text)
    return filtered_articles_sql(
        f, fts=q is not None, fts_query=q, columns="a.article_id, a.date, a.source"
    )


# ---------------------------------------------------------------------------- top
_TOP_SQL = """WITH fa AS ({fa}),
d AS ({dim}),
tot AS (SELECT count(*) AS n FROM fa)
SELECT d.key, {label} AS label,
       count(DISTINCT d.article_id) AS articles,
       sum(d.mentions)::BIGINT AS mentions,
       count(DISTINCT d.article_id) / any_value(tot.n) AS share
FROM d {join} CROSS JOIN tot
GROUP BY d.key, label
ORDER BY articles DESC, mentions DESC, d.key
LIMIT ?"""


_TOP_BY_SQL = """WITH fa AS ({fa}),
d AS ({dim}),
g AS ({groups}),
fg AS (SELECT fa.article_id, g.grp FROM fa JOIN g ON g.source = fa.source),
tot AS (SELECT grp, count(*) AS n FROM fg GROUP BY grp),
c AS (SELECT fg.grp, d.key, count(DISTINCT d.article_id) AS articles,
             sum(d.mentions)::BIGINT AS mentions
      FROM d JOIN fg ON fg.article_id = d.article_id GROUP BY 1, 2),
r AS (SELECT c.*, row_number() OVER (PARTITION BY c.grp
                                     ORDER BY c.articles DESC, c.mentions DESC, c.key) AS rk
      FROM c)
SELECT r.grp, r.key, {label} AS label, r.articles, r.mentions, r.articles / tot.n AS share
FROM r JOIN tot ON tot.grp = r.grp {join}
WHERE r.rk <= ?
ORDER BY r.grp, r.rk"""


def top(con: duckdb.DuckDBPyConnection, p: Plan) -> SqlResult:
    fa, p_fa = articles_cte(con, p.filter)
    dim, p_dim = kind(p.kind).dim_sql(p.filter)
    if p["by"] is None:
        join, label = label_sql(p.kind, "d", "lab")
        q = compose(_TOP_SQL, fa=fa, dim=dim, label=label, join=join)
        return q, [*p_fa, *p_dim, _limit(p["n"])]
    join, label = label_sql(p.kind, "r", "lab")
    q = compose(_TOP_BY_SQL, fa=fa, dim=dim, groups=OUTLET_GROUPS, label=label, join=join)
    return q, [*p_fa, *p_dim, attribute_path(p["by"]), _limit(p["n"])]


# ---------------------------------------------------------------------------- coverage
_COVERAGE_SQL = """WITH fa AS ({fa}),
d AS ({dim}),
per AS (SELECT date_trunc(?, fa.date)::DATE AS period, count(*) AS total_articles
        FROM fa WHERE fa.date IS NOT NULL GROUP BY 1),
keys AS ({keys}),
cnt AS (SELECT date_trunc(?, fa.date)::DATE AS period, d.key,
               count(DISTINCT d.article_id) AS articles, sum(d.mentions)::BIGINT AS mentions
        FROM d JOIN fa ON fa.article_id = d.article_id
        WHERE fa.date IS NOT NULL AND d.key IN (SELECT key FROM keys)
        GROUP BY 1, 2)
SELECT per.period, k.key, {label} AS label,
       coalesce(cnt.articles, 0) AS articles, coalesce(cnt.mentions, 0) AS mentions,
       per.total_articles, coalesce(cnt.articles, 0) / per.total_articles AS share
FROM per CROSS JOIN keys k
LEFT JOIN cnt ON cnt.period = per.period AND cnt.key = k.key
{join}
ORDER BY per.period, k.rank, k.key"""

KEYS_TOP = (
    "SELECT key, row_number() OVER (ORDER BY count(DISTINCT article_id) DESC, "
    "sum(mentions) DESC, key) AS rank FROM d GROUP BY key ORDER BY rank LIMIT ?"
)
_VOLUME_SQL = """WITH fa AS ({fa})
SELECT date_trunc(?, fa.date)::DATE AS period, 'all' AS key, 'all articles' AS label,
       count(*) AS articles, count(*) AS mentions, count(*) AS total_articles, 1.0 AS share
FROM fa WHERE fa.date IS NOT NULL GROUP BY 1 ORDER BY 1"""


def coverage(con: duckdb.DuckDBPyConnection, p: Plan) -> SqlResult:
    fa, p_fa = articles_cte(con, p.filter)
    freq, by, vals = p["freq"], p.kind, p["values"]
    if by is None:
        return compose(_VOLUME_SQL, fa=fa), [*p_fa, freq]
    dim, p_dim = kind(by).dim_sql(p.filter)
    if vals is not None:
        keys, p_keys = given_keys(by, "d", vals)
    else:
        keys, p_keys = KEYS_TOP, [_limit(p["n"])]
    join, label = label_sql(by, "k", "lab")
    q = compose(_COVERAGE_SQL, fa=fa, dim=dim, keys=keys, label=label, join=join)
    return q, [*p_fa, *p_dim, freq, *p_keys, freq]


# ---------------------------------------------------------------------------- co-occurrence
_COOC_SQL = """WITH fa AS ({fa}),
da AS ({dim_a}),
db AS ({dim_b}),
tot AS (SELECT count(*) AS n FROM fa),
na AS (SELECT key, count(DISTINCT article_id) AS n, sum(mentions) AS m FROM da GROUP BY key),
nb AS (SELECT key, count(DISTINCT article_id) AS n, sum(mentions) AS m FROM db GROUP BY key),
ka AS ({keys_a}),
kb AS ({keys_b}),
pairs AS (
    SELECT da.key AS key_a, db.key AS key_b, count(DISTINCT da.article_id) AS articles
    FROM da JOIN db ON db.article_id = da.article_id
    WHERE da.key IN (SELECT key FROM ka) AND db.key IN (SELECT key FROM kb) {same}
    GROUP BY 1, 2
    HAVING count(DISTINCT da.article_id) >= ?),
{tail}"""


def cooccurrence(con: duckdb.DuckDBPyConnection, p: Plan) -> SqlResult:
    kind_a, kind_b = p.kinds
    top_a, top_b = p["top_a"], p["top_b"]
    fa, p_fa = articles_cte(con, p.filter)
    dim_a, p_a = kind(kind_a).dim_sql(p.filter)
    dim_b, p_b = kind(kind_b).dim_sql(p.filter)
    tail, p_tail = cooccurrence_tail(kind_a, kind_b, p["sort"], p["n"])
    q = compose(
        _COOC_SQL,
        fa=fa,
        dim_a=dim_a,
        dim_b=dim_b,
        keys_a=compose(KEYS_N if top_a else KEYS_ALL, n="na"),
        keys_b=compose(KEYS_N if top_b else KEYS_ALL, n="nb"),
        same="AND da.key < db.key" if kind_a == kind_b else "",
        tail=tail,
    )
    params = [*p_fa, *p_a, *p_b]
    params += [top_a] if top_a else []
    params += [top_b] if top_b else []
    return q, [*params, p["min_articles"], *p_tail]


# ---------------------------------------------------------------------------- compare sources
_COMPARE_SQL = """WITH fa AS ({fa}),
d AS ({dim}),
st AS (SELECT fa.source, count(*) AS source_articles FROM fa
       WHERE fa.source IS NOT NULL GROUP BY 1),
keys AS (SELECT key, row_number() OVER (ORDER BY count(DISTINCT article_id) DESC,
                sum(mentions) DESC, key) AS rank,
                count(DISTINCT article_id) AS all_articles
         FROM d GROUP BY key ORDER BY rank LIMIT ?),
cnt AS (SELECT fa.source, d.key, count(DISTINCT d.article_id) AS articles,
               sum(d.mentions)::BIGINT AS mentions
        FROM d JOIN fa ON fa.article_id = d.article_id
        WHERE d.key IN (SELECT key FROM keys) GROUP BY 1, 2),
tot AS (SELECT sum(source_articles) AS n FROM st)
SELECT st.source, k.key, {label} AS label,
       coalesce(cnt.articles, 0) AS articles, coalesce(cnt.mentions, 0) AS mentions,
       st.source_articles, coalesce(cnt.articles, 0) / st.source_articles AS share,
       k.all_articles / tot.n AS share_all,
       (coalesce(cnt.articles, 0) / st.source_articles) / (k.all_articles / tot.n) AS ratio
FROM st CROSS JOIN keys k CROSS JOIN tot
LEFT JOIN cnt ON cnt.source = st.source AND cnt.key = k.key
{join}
ORDER BY k.rank, st.source"""


def compare(con: duckdb.DuckDBPyConnection, p: Plan) -> SqlResult:
    fa, p_fa = articles_cte(con, p.filter)
    dim, p_dim = kind(p.kind).dim_sql(p.filter)
    join, label = label_sql(p.kind, "k", "lab")
    q = compose(_COMPARE_SQL, fa=fa, dim=dim, label=label, join=join)
    return q, [*p_fa, *p_dim, _limit(p["n"])]


# ---------------------------------------------------------------------------- tone
_TONE_ARTICLE_SQL = """WITH fa AS ({fa}),
d AS ({dim}),
keys AS ({keys}),
x AS (SELECT {period} AS period, d.key, t.tone
      FROM d JOIN fa ON fa.article_id = d.article_id
      JOIN article_tone t ON t.article_id = d.article_id
      WHERE d.key IN (SELECT key FROM keys) {dated})
SELECT x.period, x.key, {label} AS label, count(*) AS articles,
       avg(x.tone) AS tone, stddev_samp(x.tone) AS tone_sd,
       count(*) FILTER (WHERE x.tone <= ?) AS negative,
       count(*) FILTER (WHERE x.tone >= ?) AS positive
FROM x {join}
GROUP BY x.period, x.key, label
ORDER BY x.period NULLS FIRST, articles DESC, x.key"""

_TONE_SENTENCE_SQL = """WITH fa AS ({fa}),
d AS ({dim}),
keys AS ({keys}),
x AS (SELECT {period} AS period, d.key, d.article_id, s.compound
      FROM d JOIN fa ON fa.article_id = d.article_id
      JOIN sentence_tone s ON s.article_id = d.article_id AND s.sentence_idx = d.sentence_idx
      WHERE d.key IN (SELECT key FROM keys) {dated})
SELECT x.period, x.key, {label} AS label, count(*) AS sentences,
       count(DISTINCT x.article_id) AS articles,
       avg(x.compound) AS tone, stddev_samp(x.compound) AS tone_sd,
       count(*) FILTER (WHERE x.compound <= ?) AS negative,
       count(*) FILTER (WHERE x.compound >= ?) AS positive
FROM x {join}
GROUP BY x.period, x.key, label
ORDER BY x.period NULLS FIRST, sentences DESC, x.key"""

_TONE_KEYS_TOP = (
    "SELECT key, row_number() OVER (ORDER BY count(DISTINCT article_id) DESC, key) AS rank "
    "FROM d GROUP BY key ORDER BY rank LIMIT ?"
)
#: The one "key" of tone by date: every filtered article (or sentence).
_DATE_DIM = {
    "article": "SELECT fa.article_id, 'all' AS key, 1 AS mentions FROM fa",
    "sentence": "SELECT st.article_id, st.sentence_idx, 'all' AS key FROM sentence_tone st "
    "WHERE st.article_id IN (SELECT article_id FROM fa)",
}


def tone(con: duckdb.DuckDBPyConnection, p: Plan) -> SqlResult:
    by, freq, level = p.kind, p["freq"], p["level"]
    fa, p_fa = articles_cte(con, p.filter)
    p_period = [freq] if freq else []
    period = "date_trunc(?, fa.date)::DATE" if freq else "NULL::DATE"
    dated = "AND fa.date IS NOT NULL" if freq else ""
    if by == "date":
        dim, p_dim = _DATE_DIM[level], []
        keys, p_keys = "SELECT 'all' AS key", []
        join, label = "", "'all articles'"
    else:
        k = kind(by)
        dim, p_dim = k.dim_sql(p.filter) if level == "article" else k.sentence_sql(p.filter)
        keys, p_keys = _TONE_KEYS_TOP, [_limit(p["n"])]
        join, label = label_sql(by, "x", "lab")
    template = _TONE_ARTICLE_SQL if level == "article" else _TONE_SENTENCE_SQL
    q = compose(
        template, fa=fa, dim=dim, keys=keys, period=period, dated=dated, label=label, join=join
    )
    # VADER's cut-offs, as annotate/tone.py scores them (the aggregates count them the same way).
    return q, [*p_fa, *p_dim, *p_keys, *p_period, tone_stage.NEGATIVE, tone_stage.POSITIVE]


# ---------------------------------------------------------------------------- quotes
_QUOTES_SQL = """WITH fa AS ({fa})
SELECT q.article_id, fa.date, fa.source, q.quote_idx, q.sentence_idx, q.start_char,
       q.end_char, q.speaker, q.speaker_entity_id, e.name AS speaker_name, q.cue, q.text
FROM quotes q JOIN fa ON fa.article_id = q.article_id
LEFT JOIN entities e ON e.entity_id = q.speaker_entity_id
WHERE {who}
ORDER BY fa.date NULLS LAST, q.article_id, q.quote_idx
LIMIT ?"""
#: A quote's speaker: the entity (id, name or alias) or the speaker string as written.
_WHO = (
    "(q.speaker_entity_id IN (SELECT e.entity_id FROM entities e WHERE {match}) "
    "OR q.speaker_entity_id = ? OR lower(q.speaker) = ?)"
)


def quotes(con: duckdb.DuckDBPyConnection, p: Plan) -> SqlResult:
    fa, p_fa = articles_cte(con, p.filter)
    actor = p["actor"]
    if actor:
        who = compose(_WHO, match=ENTITY_MATCH.format(id="e.entity_id", e="e"))
        p_who = [*entity_params(actor), actor, actor.lower()]
    else:
        who, p_who = "TRUE", []
    q = compose(_QUOTES_SQL, fa=fa, who=who)
    return q, [*p_fa, *p_who, _limit(p["n"])]


# ---------------------------------------------------------------------------- articles
_ARTICLES_SQL = """WITH fa AS ({fa})
SELECT fa.article_id, fa.date, fa.source, a.title, a.n_words, t.tone, {score} AS score,
       left(regexp_replace(a.text, '\\s+', ' ', 'g'), 200) AS snippet
FROM fa JOIN articles a ON a.article_id = fa.article_id
LEFT JOIN article_tone t ON t.article_id = fa.article_id
ORDER BY {order}
LIMIT ?"""


def articles(con: duckdb.DuckDBPyConnection, p: Plan) -> SqlResult:
    fa, p_fa = articles_cte(con, p.filter)
    bm25 = search.fts_query(con, p.filter.text)
    order = p["order"]
    if bm25 is not None:
        score = "fts_main_articles.match_bm25(fa.article_id, ?, conjunctive := 1)"
        p_score = [bm25]
    else:
        score, p_score = "NULL::DOUBLE", []
        order = "date" if order == "relevance" else order
    ob = {
        "date": "fa.date NULLS LAST, fa.article_id",
        "-date": "fa.date DESC NULLS LAST, fa.article_id",
        "relevance": "score DESC NULLS LAST, fa.article_id",
    }[order]
    q = compose(_ARTICLES_SQL, fa=fa, score=score, order=ob)
    return q, [*p_fa, *p_score, _limit(p["n"])]


# ---------------------------------------------------------------------------- evidence / kwic
_EVIDENCE_SQL = """WITH fa AS ({fa}),
sp0 AS ({spans}),
sp AS (SELECT sp0.*, fa.date, fa.source FROM sp0 JOIN fa ON fa.article_id = sp0.article_id
       ORDER BY fa.date NULLS LAST, sp0.article_id, sp0.start_char
       LIMIT ?)
SELECT sp.key, sp.article_id, sp.date, sp.source, sp.sentence_idx,
       sp.start_char, sp.end_char, s.start_char AS sentence_start, s.end_char AS sentence_end,
       s.text AS sentence,
       substr(a.text, {lo} + 1, greatest(sp.start_char - {lo}, 0)) AS "left",
       substr(a.text, sp.start_char + 1, sp.end_char - sp.start_char) AS keyword,
       substr(a.text, sp.end_char + 1, greatest({hi} - sp.end_char, 0)) AS "right"
FROM sp
JOIN articles a ON a.article_id = sp.article_id
LEFT JOIN sentences s ON s.article_id = sp.article_id AND s.idx = sp.sentence_idx
ORDER BY sp.date NULLS LAST, sp.article_id, sp.start_char"""


def evidence(con: duckdb.DuckDBPyConnection, p: Plan) -> SqlResult:
    fa, p_fa = articles_cte(con, p.filter)
    spans, p_spans = kind(p.kind).span_sql(p["value"])
    lo = "coalesce(s.start_char, sp.start_char)"
    hi = "coalesce(s.end_char, sp.end_char)"
    q = compose(_EVIDENCE_SQL, fa=fa, spans=spans, lo=lo, hi=hi)
    return q, [*p_fa, *p_spans, _limit(p["n"])]


_KWIC_ENTITY_SQL = """WITH fa AS ({fa}),
sp AS (SELECT m.article_id, m.sentence_idx, m.start_char, m.end_char, m.entity_id AS key
       FROM mentions m WHERE m.entity_id IN ({ids}))
SELECT sp.key, sp.article_id, fa.date, fa.source, sp.sentence_idx, sp.start_char, sp.end_char,
       s.text AS sentence,
       substr(a.text, greatest(sp.start_char - ?, 0) + 1,
              sp.start_char - greatest(sp.start_char - ?, 0)) AS "left",
       substr(a.text, sp.start_char + 1, sp.end_char - sp.start_char) AS keyword,
       substr(a.text, sp.end_char + 1, ?) AS "right"
FROM sp JOIN fa ON fa.article_id = sp.article_id
JOIN articles a ON a.article_id = sp.article_id
LEFT JOIN sentences s ON s.article_id = sp.article_id AND s.idx = sp.sentence_idx
ORDER BY fa.date NULLS LAST, sp.article_id, sp.start_char
LIMIT ?"""

_KWIC_TERM_SQL = """WITH fa AS ({fa})
SELECT s.article_id, fa.date, fa.source, s.idx AS sentence_idx, s.start_char AS sentence_start,
       s.text AS sentence, a.text AS article_text
FROM sentences s JOIN fa ON fa.article_id = s.article_id
JOIN articles a ON a.article_id = s.article_id
WHERE regexp_matches(s.text, ?)
ORDER BY fa.date NULLS LAST, s.article_id, s.idx
LIMIT ?"""

_KWIC_ENTITY_COUNT = """WITH fa AS ({fa})
SELECT count(*), count(DISTINCT m.article_id)
FROM mentions m JOIN fa ON fa.article_id = m.article_id WHERE m.entity_id IN ({ids})"""

_KWIC_TERM_COUNT = """WITH fa AS ({fa})
SELECT coalesce(sum(len(regexp_extract_all(s.text, ?))), 0), count(DISTINCT s.article_id)
FROM sentences s JOIN fa ON fa.article_id = s.article_id WHERE regexp_matches(s.text, ?)"""


def kwic(con: duckdb.DuckDBPyConnection, p: Plan) -> SqlResult:
    """The entity mentions (``ids``), or the sentences matching the term's ``pattern``."""
    fa, p_fa = articles_cte(con, p.filter)
    limit, ids = _limit(p["n"]), p["ids"]
    if ids:
        window = p["window"]
        q = compose(_KWIC_ENTITY_SQL, fa=fa, ids=in_list_params(ids))
        return q, [*p_fa, *ids, window, window, window, limit]
    return compose(_KWIC_TERM_SQL, fa=fa), [*p_fa, p["pattern"], limit]


def kwic_totals(con: duckdb.DuckDBPyConnection, p: Plan) -> SqlResult:
    """All occurrences and their articles, not only the ``n`` listed."""
    fa, p_fa = articles_cte(con, p.filter)
    if p["ids"]:
        q = compose(_KWIC_ENTITY_COUNT, fa=fa, ids=in_list_params(p["ids"]))
        return q, [*p_fa, *p["ids"]]
    return compose(_KWIC_TERM_COUNT, fa=fa), [*p_fa, p["pattern"], p["pattern"]]


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
    """The base tables answer every plan."""
    return True
