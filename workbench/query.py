"""Query API: the slices analysts ask for, aggregated in DuckDB, every number traceable.

Every function takes a DuckDB connection and a :class:`~workbench.filters.Filter` (or a dict
of its fields, or None), returns a pandas DataFrame, and with ``sql=True`` returns the
``(query, params)`` it would run instead, so the numbers can be re-derived by hand.

What is counted, everywhere:

- ``articles``: distinct articles (after the filter and its dedup mode). The unit of every
  share, ranking and association measure. With ``Filter(dedup="text")`` each counted
  article stands for a unique text, with ``dedup="story"`` for a story (near-duplicates
  grouped, see ``workbench.stories``); every frame says which in ``attrs["unit"]``
  (``articles``, ``unique texts`` or ``stories``). The pre-aggregates serve only
  ``dedup="none"``; other modes run on the base tables.
- ``mentions``: occurrences inside those articles: entity mentions for actors, resolved
  mentions for countries (``article_countries.mentions``), pattern hits for themes
  (``article_themes.hits``), quotes for speakers, 1 per article for sources.
- ``share``: ``articles`` divided by the number of filtered articles in the same frame
  (period, source, or the whole filter).

Kinds (``kind``/``by``): ``actor`` (entities of ``Filter.actor_types``, default PERSON and
ORG), ``person``, ``org``, ``country`` (ISO3), ``region`` (non-country region codes),
``theme``, ``source`` and ``speaker`` (quotes attributed to a resolved actor; unlinked
speaker strings such as "he" are left out, see ``quotes()`` for them). Every result has
``key`` (the id) and ``label`` (the readable name).
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
import math
import re
from collections.abc import Callable
from typing import Any, TypeVar

import duckdb
import numpy as np
import pandas as pd

from . import aggregates, errors, search, stories
from .filters import DEDUP_UNITS, Filter, as_filter, compose, filtered_articles_sql
from .kinds import (
    ENTITY_LOOKUP,
    KEYS_ALL,
    KEYS_N,
    SqlResult,
    cooccurrence_tail,
    finish,
    label_sql,
)
from .store import in_list_params, quote_ident

#: Kinds the pre-aggregates (aggregates.py) hold; the others always run on the base tables.
_AGG_KINDS = ("actor", "person", "org", "country", "region", "theme", "source", "speaker")
#: Places below the country (``mention_places``): a town or state, and a first-level division.
PLACE_KINDS = ("place", "admin1")
KINDS = (*_AGG_KINDS, *PLACE_KINDS)
FREQS = ("day", "week", "month", "quarter", "year")
SORTS = ("articles", "pmi", "npmi", "lift")


# ---------------------------------------------------------------------------- building blocks
def _check(what: str, value: Any, allowed: tuple[Any, ...]) -> None:
    if value not in allowed:
        raise errors.BadOption(errors.unknown_option(what, value, ", ".join(map(str, allowed))))


def _check_n(n: int | None, name: str = "n") -> None:
    if n is not None and (not isinstance(n, int) or n < 1):
        raise errors.BadOption(f"{name} must be a positive integer or None, got {n!r}")


_F = TypeVar("_F", bound=Callable[..., Any])


def counts_unit(fn: _F) -> _F:
    """Stamp ``attrs["unit"]`` (articles / unique texts / stories) on the returned frame."""
    sig = inspect.signature(fn)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kw: Any) -> Any:
        out = fn(*args, **kw)
        if isinstance(out, pd.DataFrame):
            f = as_filter(sig.bind(*args, **kw).arguments.get("filter"))
            out.attrs["unit"] = DEDUP_UNITS[f.dedup]
        return out

    return wrapper  # type: ignore[return-value]


def _fa(con: duckdb.DuckDBPyConnection, f: Filter) -> SqlResult:
    """The filtered-articles CTE body (columns needed by the aggregations)."""
    if f.dedup == "story":
        if not stories.is_ready(con):
            raise errors.BadOption(errors.stories_missing())
    q = search.fts_query(con, f.text)
    return filtered_articles_sql(
        f, fts=q is not None, fts_query=q, columns="a.article_id, a.date, a.source"
    )


_DIM_SQL = {
    "actor": (
        "SELECT m.article_id, m.entity_id AS key, count(*) AS mentions FROM mentions m "
        "JOIN entities e ON e.entity_id = m.entity_id WHERE e.type IN ({types}) "
        "AND m.article_id IN (SELECT article_id FROM fa) GROUP BY 1, 2"
    ),
    "country": (
        "SELECT ac.article_id, ac.iso3 AS key, sum(ac.mentions) AS mentions "
        "FROM article_countries ac WHERE ac.article_id IN (SELECT article_id FROM fa) "
        "GROUP BY 1, 2"
    ),
    "region": (
        "SELECT m.article_id, m.region AS key, count(*) AS mentions FROM mentions m "
        "WHERE m.region IS NOT NULL AND m.article_id IN (SELECT article_id FROM fa) GROUP BY 1, 2"
    ),
    "theme": (
        "SELECT t.article_id, t.theme_id AS key, sum(coalesce(t.hits, 1)) AS mentions "
        "FROM article_themes t WHERE t.article_id IN (SELECT article_id FROM fa) GROUP BY 1, 2"
    ),
    "source": (
        "SELECT fa.article_id, fa.source AS key, 1 AS mentions FROM fa WHERE fa.source IS NOT NULL"
    ),
    "speaker": (
        "SELECT q.article_id, q.speaker_entity_id AS key, count(*) AS mentions FROM quotes q "
        "WHERE q.speaker_entity_id IS NOT NULL AND NOT coalesce(q.fragment, false) "
        "AND q.article_id IN (SELECT article_id FROM fa) GROUP BY 1, 2"
    ),
}
#: Keys of the place kinds (mention_places): a GeoNames id ("4180439"), or "USA.GA" for a
#: division without one; admin1 keys are "USA.GA".
_DIM_SQL["place"] = (
    "SELECT p.article_id, coalesce(CAST(p.geonameid AS VARCHAR), p.iso3 || '.' || p.admin1)"
    " AS key, count(*) AS mentions FROM mention_places p"
    " WHERE p.article_id IN (SELECT article_id FROM fa) GROUP BY 1, 2"
)
_DIM_SQL["admin1"] = (
    "SELECT p.article_id, p.iso3 || '.' || p.admin1 AS key, count(*) AS mentions"
    " FROM mention_places p WHERE coalesce(p.admin1, '') <> ''"
    " AND p.article_id IN (SELECT article_id FROM fa) GROUP BY 1, 2"
)


def _dim(kind: str, f: Filter) -> SqlResult:
    """(article_id, key, mentions) rows of one kind, restricted to the CTE ``fa``."""
    _check("kind", kind, KINDS)
    if kind in ("actor", "person", "org"):
        types = {"person": ("PERSON",), "org": ("ORG",)}.get(kind, f.actor_types)
        return compose(_DIM_SQL["actor"], types=in_list_params(types)), list(types)
    return _DIM_SQL[kind], []


def _run(
    con: duckdb.DuckDBPyConnection, q: str, params: list[Any], meta: dict[str, Any]
) -> pd.DataFrame:
    df = con.execute(q, params).df()
    meta = {**meta, "sql": q, "params": params}
    df.attrs.update(meta)
    return df


def _fstr(f: Filter) -> str:
    return f.describe()


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


@counts_unit
def top(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    n: int | None = 20,
    filter: Filter | dict[str, Any] | None = None,
    *,
    sql: bool = False,
) -> pd.DataFrame | SqlResult:
    """The ``n`` most covered actors/countries/themes/sources/… in the filtered articles.

    Columns: ``key``, ``label``, ``articles`` (distinct articles that mention it — the
    ranking), ``mentions`` (occurrences in them), ``share`` (articles / filtered articles).
    """
    _check_n(n)
    f = as_filter(filter)
    if not sql and kind in _AGG_KINDS and aggregates.serves(con, f):
        return aggregates.top(con, kind, n, f)  # same numbers, from the pre-aggregates
    fa, p_fa = _fa(con, f)
    dim, p_dim = _dim(kind, f)
    join, label = label_sql(kind, "d", "lab")
    q = compose(_TOP_SQL, fa=fa, dim=dim, label=label, join=join)
    params = [*p_fa, *p_dim, n if n is not None else 2**62]
    if sql:
        return q, params
    df = _run(con, q, params, {"kind": kind, "counts": "articles", "filter": _fstr(f)})
    return finish(df, [(kind, "label")])


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

_KEYS_TOP = (
    "SELECT key, row_number() OVER (ORDER BY count(DISTINCT article_id) DESC, "
    "sum(mentions) DESC, key) AS rank FROM d GROUP BY key ORDER BY rank LIMIT ?"
)
_KEYS_GIVEN = (
    "SELECT DISTINCT d.key, 0 AS rank FROM d {join} WHERE d.key IN ({ph}) OR {label} IN ({ph})"
)

_VOLUME_SQL = """WITH fa AS ({fa})
SELECT date_trunc(?, fa.date)::DATE AS period, 'all' AS key, 'all articles' AS label,
       count(*) AS articles, count(*) AS mentions, count(*) AS total_articles, 1.0 AS share
FROM fa WHERE fa.date IS NOT NULL GROUP BY 1 ORDER BY 1"""


@counts_unit
def coverage(
    con: duckdb.DuckDBPyConnection,
    by: str | None = "actor",
    freq: str = "month",
    normalize: bool = False,
    filter: Filter | dict[str, Any] | None = None,
    n: int | None = 10,
    values: list[str] | tuple[str, ...] | str | None = None,
    *,
    sql: bool = False,
) -> pd.DataFrame | SqlResult:
    """Attention over time: articles per period for the top ``n`` keys (or ``values``).

    One row per (period, key), zeros included, for every period that has at least one
    filtered, dated article (undated articles are left out). ``articles`` counts distinct
    articles mentioning the key in the period, ``mentions`` the occurrences in them,
    ``total_articles`` all filtered articles of the period, and
    ``share = articles / total_articles``. ``value`` is ``share`` when ``normalize`` else
    ``articles`` (what charts plot). ``by=None`` gives the total article volume.
    ``freq``: day, week (ISO weeks, starting Monday), month, quarter, year.
    """
    _check("freq", freq, FREQS)
    _check_n(n)
    f = as_filter(filter)
    vals = None if values is None else [values] if isinstance(values, str) else values
    if vals is not None and (
        not isinstance(vals, (list, tuple)) or not all(isinstance(v, str) for v in vals)
    ):
        raise errors.BadOption(
            f"coverage(values=...) must be a string or a list of strings, got {values!r}"
        )
    vals = None if vals is None else list(vals)
    if vals is not None and not vals:
        raise errors.BadOption("coverage(values=...) is empty; pass None for the top n")
    if by == "country" and vals:
        vals = [v.upper() for v in vals]
    if not sql and (by is None or by in _AGG_KINDS) and aggregates.serves(con, f):
        return aggregates.coverage(con, by, freq, normalize, f, n, vals)  # pre-aggregated
    fa, p_fa = _fa(con, f)
    if by is None:
        q = compose(_VOLUME_SQL, fa=fa)
        params: list[Any] = [*p_fa, freq]
    else:
        dim, p_dim = _dim(by, f)
        if vals is not None:
            kjoin, klabel = label_sql(by, "d", "klab")
            keys = compose(
                _KEYS_GIVEN,
                join=kjoin,
                label=f"lower({klabel})",
                ph=in_list_params(vals),
            )
            p_keys = [*vals, *(v.lower() for v in vals)]
        else:
            keys, p_keys = _KEYS_TOP, [n if n is not None else 2**62]
        join, label = label_sql(by, "k", "lab")
        q = compose(_COVERAGE_SQL, fa=fa, dim=dim, keys=keys, label=label, join=join)
        params = [*p_fa, *p_dim, freq, *p_keys, freq]
    if sql:
        return q, params
    value = "share" if normalize else "articles"
    df = _run(
        con,
        q,
        params,
        {"kind": by, "freq": freq, "value": value, "counts": "articles", "filter": _fstr(f)},
    )
    df["value"] = df[value]
    return finish(df, [(by, "label")])


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


@counts_unit
def cooccurrence(
    con: duckdb.DuckDBPyConnection,
    kind_a: str = "actor",
    kind_b: str | None = None,
    filter: Filter | dict[str, Any] | None = None,
    n: int | None = 50,
    *,
    min_articles: int = 1,
    sort: str = "articles",
    top_a: int | None = None,
    top_b: int | None = None,
    sql: bool = False,
) -> pd.DataFrame | SqlResult:
    """Which keys appear in the same articles, with counts and association measures.

    Unit: articles. For each pair, ``articles`` = filtered articles that mention both,
    ``articles_a``/``articles_b`` = articles mentioning each, ``total_articles`` = N.

    - ``lift = articles · N / (articles_a · articles_b)``: how many times more often the pair
      shares an article than if the two were independent (1 = independent).
    - ``pmi = log2(lift)`` (pointwise mutual information, in bits; 0 = independent).
    - ``npmi = pmi / -log2(articles / N)``, in [-1, 1]; 1 = they only ever appear together.

    PMI and lift favour rare pairs; rank by ``articles`` (default) or set ``min_articles``
    when sorting by ``pmi``/``npmi``/``lift``. With ``kind_b`` omitted or equal to ``kind_a``,
    each unordered pair is listed once (``key_a < key_b``). ``top_a``/``top_b`` restrict
    each side to its most covered keys first (for heatmap grids); such a grid is returned
    whole (``n`` is raised to ``top_a · top_b``), so no drawn cell is cut to a blank.
    """
    kind_b = kind_b or kind_a
    _check("sort", sort, SORTS)
    for name, v in (("n", n), ("top_a", top_a), ("top_b", top_b)):
        _check_n(v, name)
    if n is not None and top_a is not None and top_b is not None:
        n = max(n, top_a * top_b)
    if not isinstance(min_articles, int) or min_articles < 1:
        raise errors.BadOption(f"min_articles must be a positive integer, got {min_articles!r}")
    f = as_filter(filter)
    if not sql and aggregates.serves(con, f) and aggregates.serves_pairs(kind_a, kind_b, f):
        return aggregates.cooccurrence(  # same numbers, from the pair roll-ups
            con, kind_a, kind_b, f, n, min_articles=min_articles, sort=sort, top_a=top_a,
            top_b=top_b,
        )  # fmt: skip
    fa, p_fa = _fa(con, f)
    dim_a, p_a = _dim(kind_a, f)
    dim_b, p_b = _dim(kind_b, f)
    keys_a = compose(KEYS_N if top_a else KEYS_ALL, n="na")
    keys_b = compose(KEYS_N if top_b else KEYS_ALL, n="nb")
    tail, p_tail = cooccurrence_tail(kind_a, kind_b, sort, n)
    q = compose(
        _COOC_SQL,
        fa=fa,
        dim_a=dim_a,
        dim_b=dim_b,
        keys_a=keys_a,
        keys_b=keys_b,
        same="AND da.key < db.key" if kind_a == kind_b else "",
        tail=tail,
    )
    params = [*p_fa, *p_a, *p_b]
    params += [top_a] if top_a else []
    params += [top_b] if top_b else []
    params += [min_articles, *p_tail]
    if sql:
        return q, params
    df = _run(
        con,
        q,
        params,
        {
            "kind_a": kind_a,
            "kind_b": kind_b,
            "counts": "articles",
            "measure": "lift, pmi (log2 lift), npmi",
            "filter": _fstr(f),
        },
    )
    return finish(df, [(kind_a, "label_a"), (kind_b, "label_b")])


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


@counts_unit
def compare(
    con: duckdb.DuckDBPyConnection,
    sources: list[str] | tuple[str, ...] | str | None = None,
    by: str = "actor",
    filter: Filter | dict[str, Any] | None = None,
    n: int | None = 15,
    *,
    sql: bool = False,
) -> pd.DataFrame | SqlResult:
    """How outlets differ: for the ``n`` keys most covered across ``sources``, each outlet's
    share of its own articles that mention the key.

    Unit: articles. ``share = articles / source_articles`` (within the outlet);
    ``share_all`` = the same over all compared outlets together; ``ratio = share /
    share_all`` (> 1: the outlet covers the key more than the compared outlets on average).
    ``sources=None`` compares every outlet the filter admits.
    """
    if by == "source":
        raise errors.BadOption(
            "compare(by='source') compares sources with themselves; pick "
            "actor, country, theme, region or speaker"
        )
    _check_n(n)
    f = as_filter(filter)
    if sources is not None:
        f = f.replace(sources=sources)
    if not sql and by in _AGG_KINDS and aggregates.serves(con, f):
        return aggregates.compare(con, by, f, n)  # same numbers, from the pre-aggregates
    fa, p_fa = _fa(con, f)
    dim, p_dim = _dim(by, f)
    join, label = label_sql(by, "k", "lab")
    q = compose(_COMPARE_SQL, fa=fa, dim=dim, label=label, join=join)
    params = [*p_fa, *p_dim, n if n is not None else 2**62]
    if sql:
        return q, params
    df = _run(con, q, params, {"kind": by, "counts": "articles", "filter": _fstr(f)})
    return finish(df, [(by, "label")])


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
       count(*) FILTER (WHERE x.tone < -0.05) AS negative,
       count(*) FILTER (WHERE x.tone > 0.05) AS positive
FROM x {join}
GROUP BY x.period, x.key, label
ORDER BY x.period NULLS FIRST, articles DESC, x.key"""

_TONE_SENTENCE_DIM = {
    "actor": (
        "SELECT DISTINCT m.article_id, m.sentence_idx, m.entity_id AS key FROM mentions m "
        "JOIN entities e ON e.entity_id = m.entity_id WHERE e.type IN ({types}) "
        "AND m.article_id IN (SELECT article_id FROM fa)"
    ),
    "country": (
        "SELECT DISTINCT m.article_id, m.sentence_idx, m.country_iso3 AS key FROM mentions m "
        "WHERE m.country_iso3 IS NOT NULL AND m.article_id IN (SELECT article_id FROM fa)"
    ),
    "region": (
        "SELECT DISTINCT m.article_id, m.sentence_idx, m.region AS key FROM mentions m "
        "WHERE m.region IS NOT NULL AND m.article_id IN (SELECT article_id FROM fa)"
    ),
    "theme": (
        "SELECT DISTINCT h.article_id, h.sentence_idx, h.theme_id AS key FROM theme_hits h "
        "WHERE h.article_id IN (SELECT article_id FROM fa)"
    ),
    "source": (
        "SELECT st.article_id, st.sentence_idx, fa.source AS key FROM sentence_tone st "
        "JOIN fa ON fa.article_id = st.article_id WHERE fa.source IS NOT NULL"
    ),
    "date": (
        "SELECT st.article_id, st.sentence_idx, 'all' AS key FROM sentence_tone st "
        "WHERE st.article_id IN (SELECT article_id FROM fa)"
    ),
}

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
       count(*) FILTER (WHERE x.compound < -0.05) AS negative,
       count(*) FILTER (WHERE x.compound > 0.05) AS positive
FROM x {join}
GROUP BY x.period, x.key, label
ORDER BY x.period NULLS FIRST, sentences DESC, x.key"""

_TONE_KEYS_TOP = (
    "SELECT key, row_number() OVER (ORDER BY count(DISTINCT article_id) DESC, key) AS rank "
    "FROM d GROUP BY key ORDER BY rank LIMIT ?"
)


@counts_unit
def tone(
    con: duckdb.DuckDBPyConnection,
    by: str = "date",
    freq: str | None = "month",
    filter: Filter | dict[str, Any] | None = None,
    n: int | None = 20,
    *,
    level: str = "article",
    sql: bool = False,
) -> pd.DataFrame | SqlResult:
    """Mean tone by date, actor, country, region, theme or source (VADER compound, -1..1).

    ``level="article"``: the mean of article tones (``article_tone.tone``) over the articles
    that mention the key; ``articles`` counts them. ``level="sentence"``: the mean compound
    score of the sentences that mention the key (actor/country mentions, theme hits), which
    is closer to how the key itself is discussed; ``sentences`` and ``articles`` count them.
    ``negative``/``positive`` count units below -0.05 / above 0.05.

    ``by="date"`` gives one series per ``freq`` period; for other ``by`` values ``freq=None``
    (default for them is still ``"month"``; pass None) gives one row per key, else one row
    per (period, key). Undated articles are left out whenever a period is asked for.
    """
    _check("level", level, ("article", "sentence"))
    _check("by", by, (*_AGG_KINDS, "date"))
    if by == "speaker":
        raise errors.BadOption("tone(by='speaker') is not defined; use quotes(actor=...)")
    if by == "date" and freq is None:
        raise errors.BadOption("tone(by='date') needs freq: day, week, month, quarter or year")
    if freq is not None:
        _check("freq", freq, FREQS)
    _check_n(n)
    f = as_filter(filter)
    if not sql and level == "article" and aggregates.serves(con, f):
        return _no_period(aggregates.tone(con, by, freq, f, n), freq)  # from the tone sums
    fa, p_fa = _fa(con, f)
    p_period = [freq] if freq else []
    period = "date_trunc(?, fa.date)::DATE" if freq else "NULL::DATE"
    dated = "AND fa.date IS NOT NULL" if freq else ""
    if level == "article":
        if by == "date":
            dim, p_dim = "SELECT fa.article_id, 'all' AS key, 1 AS mentions FROM fa", []
        else:
            dim, p_dim = _dim(by, f)
        template = _TONE_ARTICLE_SQL
    else:
        base = "actor" if by in ("actor", "person", "org") else by
        if base == "actor":
            types = {"person": ("PERSON",), "org": ("ORG",)}.get(by, f.actor_types)
            dim = compose(_TONE_SENTENCE_DIM["actor"], types=in_list_params(types))
            p_dim = list(types)
        else:
            dim, p_dim = _TONE_SENTENCE_DIM[base], []
        template = _TONE_SENTENCE_SQL
    if by == "date":
        keys, p_keys = "SELECT 'all' AS key", []
    else:
        keys, p_keys = _TONE_KEYS_TOP, [n if n is not None else 2**62]
    join, label = label_sql(by, "x", "lab") if by != "date" else ("", "'all articles'")
    q = compose(
        template, fa=fa, dim=dim, keys=keys, period=period, dated=dated, label=label, join=join
    )
    params = [*p_fa, *p_dim, *p_keys, *p_period]
    if sql:
        return q, params
    df = _run(
        con,
        q,
        params,
        {"kind": by, "freq": freq, "level": level, "counts": f"{level}s", "filter": _fstr(f)},
    )
    return _no_period(finish(df, [(by, "label")]), freq)


def _no_period(df: pd.DataFrame, freq: str | None) -> pd.DataFrame:
    """Without a ``freq`` there is no period: no column of NaT that reads as missing data."""
    if freq is None and "period" in df.columns:
        attrs = dict(df.attrs)
        df = df.drop(columns="period")
        df.attrs.update(attrs)
    return df


# ---------------------------------------------------------------------------- quotes
_QUOTES_SQL = """WITH fa AS ({fa})
SELECT q.article_id, fa.date, fa.source, q.quote_idx, q.sentence_idx, q.start_char,
       q.end_char, q.speaker, q.speaker_entity_id, e.name AS speaker_name, q.cue, q.text
FROM quotes q JOIN fa ON fa.article_id = q.article_id
LEFT JOIN entities e ON e.entity_id = q.speaker_entity_id
WHERE {who}
ORDER BY fa.date NULLS LAST, q.article_id, q.quote_idx
LIMIT ?"""


@counts_unit
def quotes(
    con: duckdb.DuckDBPyConnection,
    actor: str | None = None,
    filter: Filter | dict[str, Any] | None = None,
    n: int | None = 100,
    *,
    sql: bool = False,
) -> pd.DataFrame | SqlResult:
    """Quotes (one row each, with offsets), optionally only those attributed to ``actor``
    (entity id, canonical name, or the speaker string as written; case-insensitive)."""
    _check_n(n)
    if actor is not None and not isinstance(actor, str):
        raise errors.BadOption(f"quotes(actor=...) must be a name or id (a string), got {actor!r}")
    f = as_filter(filter)
    if not sql and aggregates.serves(con, f):
        return aggregates.quotes(con, actor, f, n)  # the first n quotes, then their text
    fa, p_fa = _fa(con, f)
    if actor:
        who = (
            "(q.speaker_entity_id = ? OR lower(e.name) = ? OR lower(q.speaker) = ? "
            "OR list_contains(list_transform(e.aliases, lambda x: lower(x)), ?))"
        )
        p_who = [actor, actor.lower(), actor.lower(), actor.lower()]
    else:
        who, p_who = "TRUE", []
    q = compose(_QUOTES_SQL, fa=fa, who=who)
    params = [*p_fa, *p_who, n if n is not None else 2**62]
    if sql:
        return q, params
    return _run(con, q, params, {"counts": "quotes", "filter": _fstr(f)})


# ---------------------------------------------------------------------------- articles
_ARTICLES_SQL = """WITH fa AS ({fa})
SELECT fa.article_id, fa.date, fa.source, a.title, a.n_words, t.tone, {score} AS score,
       left(regexp_replace(a.text, '\\s+', ' ', 'g'), 200) AS snippet
FROM fa JOIN articles a ON a.article_id = fa.article_id
LEFT JOIN article_tone t ON t.article_id = fa.article_id
ORDER BY {order}
LIMIT ?"""


@counts_unit
def articles(
    con: duckdb.DuckDBPyConnection,
    filter: Filter | dict[str, Any] | None = None,
    n: int | None = 100,
    *,
    order: str = "date",
    sql: bool = False,
) -> pd.DataFrame | SqlResult:
    """The filtered articles themselves (one row each): id, date, source, title, words, tone,
    BM25 ``score`` (when ``Filter.text`` is set and the index is ready) and a snippet.

    ``order``: ``date`` (oldest first), ``-date`` (newest first) or ``relevance`` (BM25).
    """
    _check("order", order, ("date", "-date", "relevance"))
    _check_n(n)
    f = as_filter(filter)
    if not sql and aggregates.serves(con, f):  # no text search: order is date or -date
        return aggregates.articles(con, f, n, "-date" if order == "-date" else "date")
    fa, p_fa = _fa(con, f)
    bm25 = search.fts_query(con, f.text)
    use_fts = bm25 is not None
    if use_fts:
        score = "fts_main_articles.match_bm25(fa.article_id, ?, conjunctive := 1)"
        p_score = [bm25]
    else:
        score, p_score = "NULL::DOUBLE", []
    if order == "relevance" and not use_fts:
        order = "date"
    ob = {
        "date": "fa.date NULLS LAST, fa.article_id",
        "-date": "fa.date DESC NULLS LAST, fa.article_id",
        "relevance": "score DESC NULLS LAST, fa.article_id",
    }[order]
    q = compose(_ARTICLES_SQL, fa=fa, score=score, order=ob)
    params = [*p_fa, *p_score, n if n is not None else 2**62]
    if sql:
        return q, params
    return _run(con, q, params, {"counts": "articles", "filter": _fstr(f)})


# ---------------------------------------------------------------------------- evidence / kwic
_SPANS = {
    "actor": (
        "SELECT m.article_id, m.sentence_idx, m.start_char, m.end_char, m.entity_id AS key "
        "FROM mentions m JOIN entities e ON e.entity_id = m.entity_id "
        "WHERE (e.entity_id = ? OR lower(e.name) = ? "
        "OR list_contains(list_transform(e.aliases, lambda x: lower(x)), ?))"
    ),
    "country": (
        "SELECT m.article_id, m.sentence_idx, m.start_char, m.end_char, m.country_iso3 AS key "
        "FROM mentions m WHERE m.country_iso3 = ?"
    ),
    "region": (
        "SELECT m.article_id, m.sentence_idx, m.start_char, m.end_char, m.region AS key "
        "FROM mentions m WHERE m.region = ?"
    ),
    "theme": (
        "SELECT h.article_id, h.sentence_idx, h.start_char, h.end_char, h.theme_id AS key "
        "FROM theme_hits h LEFT JOIN themes t ON t.theme_id = h.theme_id "
        "WHERE h.theme_id = ? OR lower(t.label) = ?"
    ),
    "speaker": (
        "SELECT q.article_id, q.sentence_idx, q.start_char, q.end_char, "
        "coalesce(q.speaker_entity_id, q.speaker) AS key "
        "FROM quotes q LEFT JOIN entities e ON e.entity_id = q.speaker_entity_id "
        "WHERE q.speaker_entity_id = ? OR lower(e.name) = ? OR lower(q.speaker) = ?"
    ),
    "source": (
        "SELECT s.article_id, s.idx AS sentence_idx, s.start_char, s.end_char, fa.source AS key "
        "FROM sentences s JOIN fa ON fa.article_id = s.article_id "
        "WHERE s.idx = 0 AND fa.source = ?"
    ),
    "place": (
        "SELECT p.article_id, m.sentence_idx, p.start_char, p.end_char, "
        "coalesce(CAST(p.geonameid AS VARCHAR), p.iso3 || '.' || p.admin1) AS key "
        "FROM mention_places p JOIN mentions m ON m.article_id = p.article_id "
        "AND m.start_char = p.start_char AND m.end_char = p.end_char "
        "WHERE coalesce(CAST(p.geonameid AS VARCHAR), p.iso3 || '.' || p.admin1) = ? "
        "OR lower(p.name) = ?"
    ),
    "admin1": (
        "SELECT p.article_id, m.sentence_idx, p.start_char, p.end_char, "
        "p.iso3 || '.' || p.admin1 AS key "
        "FROM mention_places p JOIN mentions m ON m.article_id = p.article_id "
        "AND m.start_char = p.start_char AND m.end_char = p.end_char "
        "WHERE coalesce(p.admin1, '') <> '' "
        "AND (p.iso3 || '.' || p.admin1 = ? OR lower(p.admin1_name) = ?)"
    ),
}

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


def _period_start(period: Any, freq: str) -> dt.date:
    """A period's first day from a date, a timestamp (a coverage row's ``period``) or an
    ISO string (``2022-03-07``, ``2022-03``, ``2022``); anything else is a BadOption."""
    bad = errors.BadOption(
        f"period={period!r} is not a date; give the period's first day as YYYY-MM-DD "
        f"(or YYYY-MM / YYYY), a datetime.date, or a coverage row's period (freq={freq!r})"
    )
    if isinstance(period, bool) or not isinstance(period, (str, dt.date, pd.Timestamp)):
        if not isinstance(period, np.datetime64):
            raise bad
    try:
        ts = pd.Timestamp(period.strip() if isinstance(period, str) else period)
    except (ValueError, TypeError, OverflowError):
        raise bad from None
    if pd.isna(ts):
        raise bad
    return ts.date()


def _period_filter(f: Filter, period: Any, freq: str) -> Filter:
    """Narrow the filter's date range to one ``freq`` period starting at ``period``."""
    _check("freq", freq, FREQS)
    start = _period_start(period, freq)
    if freq == "week":
        start -= dt.timedelta(days=start.weekday())
        end = start + dt.timedelta(days=6)
    elif freq == "day":
        end = start
    else:
        months = {"month": 1, "quarter": 3, "year": 12}[freq]
        start = start.replace(day=1)
        if freq == "quarter":
            start = start.replace(month=(start.month - 1) // 3 * 3 + 1)
        if freq == "year":
            start = start.replace(month=1)
        m = start.month - 1 + months
        end = dt.date(start.year + m // 12, m % 12 + 1, 1) - dt.timedelta(days=1)
    lo = max(start, f.date_from) if f.date_from else start
    hi = min(end, f.date_to) if f.date_to else end
    if lo > hi:
        raise errors.BadOption(f"period {period} ({freq}) lies outside the filter's date range")
    return f.replace(date_from=lo, date_to=hi)


@counts_unit
def evidence(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    value: str,
    filter: Filter | dict[str, Any] | None = None,
    n: int | None = 200,
    *,
    period: Any = None,
    freq: str = "month",
    sql: bool = False,
) -> pd.DataFrame | SqlResult:
    """The spans behind a number: one row per mention (actor/country/region), theme hit,
    quote (speaker) or lead sentence (source), with article offsets and its sentence.

    Columns: ``key``, ``article_id``, ``date``, ``source``, ``sentence_idx``,
    ``start_char``/``end_char`` (the span, as offsets into ``articles.text``),
    ``sentence_start``/``sentence_end``, ``sentence``, and ``left``/``keyword``/``right``
    (the sentence cut at the span; ``left + keyword + right`` = the sentence text).

    Drill-downs: a coverage cell → ``period=`` (+ ``freq=``); a co-occurrence cell →
    ``filter=f.replace(countries=("CHN",))`` etc.; a tone cell → ``tone_min``/``tone_max``.
    """
    _check("kind", kind, KINDS)
    _check_n(n)
    if not isinstance(value, str) or not value:
        raise errors.BadOption(f"evidence needs a non-empty value (id or name), got {value!r}")
    f = as_filter(filter)
    if period is not None:
        f = _period_filter(f, period, freq)
    if not sql and kind in aggregates.SPAN_KINDS and aggregates.serves(con, f):
        return aggregates.evidence(con, kind, value, f, n)  # first n spans, then their text
    fa, p_fa = _fa(con, f)
    base = "actor" if kind in ("person", "org") else kind
    spans = _SPANS[base]
    v = value.upper() if base == "country" else value
    p_spans = {
        "actor": [v, v.lower(), v.lower()],
        "theme": [v, v.lower()],
        "speaker": [v, v.lower(), v.lower()],
        "place": [v, v.lower()],
        "admin1": [v.upper(), v.lower()],
    }.get(base, [v])
    if kind in ("person", "org"):
        spans += " AND e.type = ?"
        p_spans.append(kind.upper())
    lo = "coalesce(s.start_char, sp.start_char)"
    hi = "coalesce(s.end_char, sp.end_char)"
    q = compose(_EVIDENCE_SQL, fa=fa, spans=spans, lo=lo, hi=hi)
    params = [*p_fa, *p_spans, n if n is not None else 2**62]
    if sql:
        return q, params
    return _run(
        con, q, params, {"kind": kind, "value": value, "counts": "spans", "filter": _fstr(f)}
    )


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


def _flat(s: str) -> str:
    return re.sub(r"\s+", " ", s)


@counts_unit
def kwic(
    con: duckdb.DuckDBPyConnection,
    term_or_entity: str,
    window: int = 60,
    filter: Filter | dict[str, Any] | None = None,
    n: int | None = 200,
    *,
    entity: bool | None = None,
    sql: bool = False,
) -> pd.DataFrame | SqlResult:
    """Keyword in context: every occurrence with ``window`` characters either side.

    If ``term_or_entity`` names an entity (id, canonical name or alias; ``entity=None``
    decides automatically), its resolved mentions are listed, so "Putin" finds "Vladimir
    Putin", "Putin's" and "President Putin" alike. Otherwise it is a case-insensitive
    whole-word match in sentence text. Columns: ``key`` (entity id or the term),
    ``article_id``, ``date``, ``source``, ``sentence_idx``, ``start_char``/``end_char``
    (article offsets of the keyword), ``sentence``, ``left``/``keyword``/``right``.
    """
    if not isinstance(term_or_entity, str) or not term_or_entity.strip():
        raise errors.BadOption("kwic needs a non-empty term or entity")
    if not isinstance(window, int) or window < 0:
        raise errors.BadOption(f"window must be a non-negative integer, got {window!r}")
    _check_n(n)
    term = term_or_entity.strip()
    f = as_filter(filter)
    fa, p_fa = _fa(con, f)
    ids: list[str] = []
    if entity is not False:
        ids = [
            r[0] for r in con.execute(ENTITY_LOOKUP, [term, term.lower(), term.lower()]).fetchall()
        ]
        if entity and not ids:
            raise errors.BadOption(f"no entity named {term!r}; try wb.top('actor') for names")
    limit = n if n is not None else 2**62
    if ids:
        q = compose(_KWIC_ENTITY_SQL, fa=fa, ids=in_list_params(ids))
        params = [*p_fa, *ids, window, window, window, limit]
        if sql:
            return q, params
        if aggregates.serves(con, f):  # first n spans, then their text
            df = aggregates.kwic_entity(con, ids, window, f, n)
            df.attrs.update({"kind": "entity", "value": term, "counts": "mentions"})
        else:
            df = _run(con, q, params, {"kind": "entity", "value": term, "counts": "mentions"})
        for c in ("left", "right"):
            df[c] = df[c].map(_flat)
        return _kwic_totals(
            con, df, n, compose(_KWIC_ENTITY_COUNT, fa=fa, ids=in_list_params(ids)), [*p_fa, *ids]
        )
    pattern = r"(?i)\b" + re.escape(term) + r"\b"
    q = compose(_KWIC_TERM_SQL, fa=fa)
    params = [*p_fa, pattern, limit]
    if sql:
        return q, params
    rows = con.execute(q, params).fetchall()
    rx = re.compile(r"\b" + re.escape(term) + r"\b", re.IGNORECASE | re.ASCII)  # as RE2
    out = []
    for art, date, source, idx, s_start, sent, text in rows:
        for m in rx.finditer(sent):
            start = s_start + m.start()
            end = s_start + m.end()
            out.append(
                {
                    "key": term,
                    "article_id": art,
                    "date": date,
                    "source": source,
                    "sentence_idx": idx,
                    "start_char": start,
                    "end_char": end,
                    "sentence": sent,
                    "left": _flat(text[max(start - window, 0) : start]),
                    "keyword": text[start:end],
                    "right": _flat(text[end : end + window]),
                }
            )
            if len(out) >= limit:
                break
        if len(out) >= limit:
            break
    cols = [
        "key",
        "article_id",
        "date",
        "source",
        "sentence_idx",
        "start_char",
        "end_char",
        "sentence",
        "left",
        "keyword",
        "right",
    ]
    df = pd.DataFrame(out, columns=cols)
    df.attrs.update(
        {"kind": "term", "value": term, "counts": "occurrences", "sql": q, "params": params}
    )
    return _kwic_totals(con, df, n, compose(_KWIC_TERM_COUNT, fa=fa), [*p_fa, pattern, pattern])


_KWIC_ENTITY_COUNT = """WITH fa AS ({fa})
SELECT count(*), count(DISTINCT m.article_id)
FROM mentions m JOIN fa ON fa.article_id = m.article_id WHERE m.entity_id IN ({ids})"""

_KWIC_TERM_COUNT = """WITH fa AS ({fa})
SELECT coalesce(sum(len(regexp_extract_all(s.text, ?))), 0), count(DISTINCT s.article_id)
FROM sentences s JOIN fa ON fa.article_id = s.article_id WHERE regexp_matches(s.text, ?)"""


def _kwic_totals(
    con: duckdb.DuckDBPyConnection, df: pd.DataFrame, n: int | None, q: str, params: list
) -> pd.DataFrame:
    """``attrs["total"]``/``["total_articles"]``: all occurrences, not only the ``n`` listed
    (counted only when the list was cut), so a printed total is never the print limit."""
    if n is not None and len(df) >= n:
        total, articles = con.execute(q, params).fetchone()
    else:
        total, articles = len(df), df["article_id"].nunique()
    df.attrs.update({"total": int(total), "total_articles": int(articles)})
    return df


def pmi(articles: int, articles_a: int, articles_b: int, total: int) -> float:
    """PMI in bits, as :func:`cooccurrence` computes it (for hand checks and notebooks)."""
    return math.log2(articles * total / (articles_a * articles_b))


# ---------------------------------------------------------------------------- report reads
# What a shareable report needs beyond the nine queries: the selection's size and
# provenance (its header stamp), and the newest sentences behind its top keys.
_SELECTION_SQL = """WITH fa AS ({fa})
SELECT count(*) AS n, min(fa.date) AS date_min, max(fa.date) AS date_max,
       count(*) FILTER (WHERE fa.date IS NULL) AS undated,
       sha256(coalesce(string_agg(a.text_hash, ',' ORDER BY fa.article_id), '')) AS corpus_hash
FROM fa JOIN articles a ON a.article_id = fa.article_id"""


def selection(con: duckdb.DuckDBPyConnection, filter: Any = None) -> dict[str, Any]:
    """How many articles the filter admits, their date range, how many are undated, and a
    hash of their texts (so two reports can be told to rest on the same articles)."""
    f = as_filter(filter)
    fa, p_fa = _fa(con, f)
    n, dmin, dmax, undated, digest = con.execute(compose(_SELECTION_SQL, fa=fa), p_fa).fetchone()
    return {
        "articles": int(n),
        "date_min": dmin,
        "date_max": dmax,
        "undated": int(undated),
        "corpus_hash": str(digest),
        "filter": _fstr(f),
    }


def provenance(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Which spaCy pipelines, taxonomies and registries produced the stored analysis
    (``(model, workbench version)`` pairs, and the hashes recorded in ``meta`` and rows)."""
    meta = dict(con.execute("SELECT key, value FROM meta").fetchall())

    def hashes(column: str, tables: tuple[str, ...]) -> list[str]:
        found = [str(meta[column])] if meta.get(column) else []
        for t in tables:
            found += [
                r[0]
                for r in con.execute(
                    compose(
                        "SELECT DISTINCT {c} FROM {t} WHERE {c} IS NOT NULL ORDER BY 1",
                        c=quote_ident(column),
                        t=quote_ident(t),
                    )
                ).fetchall()
            ]
        return list(dict.fromkeys(found))

    return {
        "models": [
            f"{m} (spaCy pipeline; workbench {v})"
            for m, v in con.execute(
                "SELECT DISTINCT model, workbench_version FROM pipelines ORDER BY 1, 2"
            ).fetchall()
        ],
        "taxonomy_hash": hashes("taxonomy_hash", ("themes",)),
        "registry_hash": hashes("registry_hash", ("entities", "article_countries")),
    }


#: (key, article_id) pairs per kind, from the smallest table that has them.
_LATEST_PICK = {
    "actor": "SELECT entity_id AS key, article_id FROM mentions WHERE entity_id IN ({ph})",
    "country": "SELECT iso3 AS key, article_id FROM article_countries WHERE iso3 IN ({ph})",
    "theme": "SELECT theme_id AS key, article_id FROM article_themes WHERE theme_id IN ({ph})",
    "speaker": (
        "SELECT speaker_entity_id AS key, article_id FROM quotes "
        "WHERE speaker_entity_id IN ({ph}) AND NOT coalesce(fragment, false)"
    ),
}
#: The spans of the picked articles ({ids}: article placeholders, {keys}: key placeholders).
_LATEST_HITS = {
    "actor": (
        "SELECT entity_id AS key, article_id, sentence_idx, start_char, end_char, "
        "text AS matched FROM mentions WHERE article_id IN ({ids}) AND entity_id IN ({keys})"
    ),
    "country": (
        "SELECT country_iso3 AS key, article_id, sentence_idx, start_char, end_char, "
        "text AS matched FROM mentions WHERE article_id IN ({ids}) AND country_iso3 IN ({keys})"
    ),
    "theme": (
        "SELECT theme_id AS key, article_id, sentence_idx, start_char, end_char, "
        "matched_text AS matched FROM theme_hits "
        "WHERE article_id IN ({ids}) AND theme_id IN ({keys})"
    ),
    "speaker": (
        "SELECT speaker_entity_id AS key, article_id, sentence_idx, start_char, end_char, "
        "text AS matched FROM quotes WHERE article_id IN ({ids}) "
        "AND speaker_entity_id IN ({keys}) AND NOT coalesce(fragment, false)"
    ),
}
_LATEST_SQL = """WITH fa AS ({fa}),
p AS (SELECT DISTINCT key, article_id FROM ({pick}))
SELECT p.key, p.article_id, fa.date, fa.source, a.title, a.url
FROM p JOIN fa ON fa.article_id = p.article_id JOIN articles a ON a.article_id = p.article_id
QUALIFY row_number() OVER (PARTITION BY p.key
                           ORDER BY fa.date DESC NULLS LAST, p.article_id) <= ?
ORDER BY p.key, fa.date DESC NULLS LAST, p.article_id"""


def latest_evidence(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    keys: list[str],
    filter: Any = None,
    per_key: int = 3,
) -> pd.DataFrame:
    """The newest ``per_key`` articles behind each key (entity ids, ISO3 codes, theme ids,
    speaker entity ids) with the first span in each: its sentence, offsets and title/url.

    Three small steps, so the big tables are read only for the few chosen articles: pick
    (key, article) pairs by date from the article-level table, read the spans of just those
    articles, then their sentences. ``matched`` is the span's text as stored (the quote for
    speakers); ``sentence_start`` is the sentence's offset in the article.
    """
    _check("kind", kind, tuple(_LATEST_PICK))
    _check_n(per_key, "per_key")
    f = as_filter(filter)
    cols = ["key", "article_id", "date", "source", "title", "url", "sentence_idx",
            "start_char", "end_char", "matched", "sentence", "sentence_start"]  # fmt: skip
    if not keys:
        return pd.DataFrame(columns=cols)
    fa, p_fa = _fa(con, f)
    pick = compose(_LATEST_PICK[kind], ph=in_list_params(keys))
    picks = con.execute(compose(_LATEST_SQL, fa=fa, pick=pick), [*p_fa, *keys, per_key]).df()
    if picks.empty:
        return pd.DataFrame(columns=cols)
    ids = sorted(set(picks["article_id"]))
    hits = con.execute(
        compose(_LATEST_HITS[kind], ids=in_list_params(ids), keys=in_list_params(keys)),
        [*ids, *keys],
    ).df()
    hits = hits.sort_values(["key", "article_id", "sentence_idx", "start_char"])
    hits = hits.drop_duplicates(["key", "article_id"])
    sents = con.execute(
        compose(
            "SELECT article_id, idx AS sentence_idx, text AS sentence, "
            "start_char AS sentence_start FROM sentences WHERE article_id IN ({ph})",
            ph=in_list_params(ids),
        ),
        ids,
    ).df()
    out = picks.merge(hits, on=["key", "article_id"]).merge(
        sents, on=["article_id", "sentence_idx"], how="left"
    )
    out.attrs.update({"kind": kind, "counts": "articles", "filter": _fstr(f)})
    return out[cols]
