"""Pre-aggregates that keep widget queries instant on large corpora (issue 6).

Why: on 10^6 articles / 3x10^7 mentions, ranking actors or drawing a timeline from the base
tables scans and de-duplicates tens of millions of (article, key) rows per widget move. Most
widget moves only change the date window or the outlets, and every article has exactly ONE
date and ONE source, so "distinct articles per key" can be pre-counted per
``(date, source, key)`` and *summed* over any date range / source set without losing
exactness:

- ``agg_daily(date, source, articles, words)`` -- articles per day and outlet;
- ``agg_keys_m`` -- ``agg_keys`` summed per month (whole months of a date window are read
  from it, the days of partly covered months from ``agg_keys``: still exact);
- ``agg_keys(kind, etype, key, date, source, articles, mentions)`` -- per day, outlet and
  key: distinct articles mentioning the key and the occurrences in them, for the kinds of
  ``workbench.query`` (``entity`` rows carry the entity type in ``etype``, so ``actor``,
  ``person`` and ``org`` all come from them; ``country``, ``region``, ``theme``, ``speaker``).

Both are rebuilt by :func:`refresh` (cheap: one ``GROUP BY`` per kind; ``Workbench.analyze``
should call it last) and stamped with a fingerprint of the row counts they were built from
(:func:`is_fresh`), so a stale aggregate is never used.

Hook for ``workbench.query`` (the only change it needs): at the top of ``top()`` and
``coverage()``::

    if aggregates.serves(con, f):          # filter uses only dates/sources, aggregates fresh
        return aggregates.top(con, kind, n, f)     # same columns, same numbers

:func:`top` and :func:`coverage` return the same columns and numbers as the query module's
functions for such filters (tested against them in ``tests/test_aggregates.py``).
"""

from __future__ import annotations

import time
from typing import Any

import duckdb
import pandas as pd

from . import store
from .filters import Filter, as_filter

#: (kind, SQL of (article_id, etype, key, mentions) rows) -- mirrors workbench.query's dims.
_DIMS = {
    "entity": (
        "SELECT m.article_id, e.type AS etype, m.entity_id AS key, count(*) AS mentions "
        "FROM mentions m JOIN entities e ON e.entity_id = m.entity_id GROUP BY ALL"
    ),
    "country": (
        "SELECT article_id, NULL AS etype, iso3 AS key, sum(mentions) AS mentions "
        "FROM article_countries GROUP BY ALL"
    ),
    "region": (
        "SELECT article_id, NULL AS etype, region AS key, count(*) AS mentions "
        "FROM mentions WHERE region IS NOT NULL GROUP BY ALL"
    ),
    "theme": (
        "SELECT article_id, NULL AS etype, theme_id AS key, sum(coalesce(hits, 1)) AS mentions "
        "FROM article_themes GROUP BY ALL"
    ),
    "speaker": (
        "SELECT article_id, NULL AS etype, speaker_entity_id AS key, count(*) AS mentions "
        "FROM quotes WHERE speaker_entity_id IS NOT NULL GROUP BY ALL"
    ),
}
_SOURCE_TABLES = ("articles", "mentions", "entities", "article_countries", "article_themes",
                  "quotes")  # fmt: skip
_META_KEY = "aggregates_fingerprint"


def fingerprint(con: duckdb.DuckDBPyConnection) -> str:
    """Row counts, the last run and the registry/taxonomy stamps: cheap enough to check on
    every query (counts come from table metadata, stamps from ``meta``)."""
    counts = store.table_counts(con, _SOURCE_TABLES)
    last_run = con.execute("SELECT max(run_id) FROM runs").fetchone()[0]
    stamps = [store.get_meta(con, k) for k in ("registry_hash", "themes.taxonomy_hash")]
    parts = [f"{k}={v}" for k, v in counts.items()] + [f"run={last_run}", *map(str, stamps)]
    return ";".join(parts)


def refresh(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Rebuild ``agg_daily`` and ``agg_keys`` from the base tables in one transaction."""
    t0 = time.perf_counter()
    union = " UNION ALL ".join(
        f"SELECT '{kind}' AS kind, d.* FROM ({sql}) d"  # noqa: S608 - fixed SQL
        for kind, sql in _DIMS.items()
    )
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            "CREATE OR REPLACE TABLE agg_daily AS SELECT date, source, count(*) AS articles,"
            " sum(n_words)::BIGINT AS words FROM articles GROUP BY ALL ORDER BY date, source"
        )
        con.execute(
            "CREATE OR REPLACE TABLE agg_keys AS "  # noqa: S608 - fixed SQL, no values
            f"SELECT d.kind, d.etype, d.key, a.date, a.source, count(*) AS articles, "
            f"sum(d.mentions)::BIGINT AS mentions FROM ({union}) d "
            "JOIN articles a ON a.article_id = d.article_id "
            "GROUP BY ALL ORDER BY d.kind, a.date, d.key"
        )
        con.execute(
            "CREATE OR REPLACE TABLE agg_keys_m AS SELECT kind, etype, key, "
            "date_trunc('month', date)::DATE AS date, source, sum(articles)::BIGINT AS articles,"
            " sum(mentions)::BIGINT AS mentions FROM agg_keys GROUP BY ALL "
            "ORDER BY kind, date, key"
        )
        con.execute(
            "CREATE OR REPLACE TABLE agg_keys_w AS SELECT kind, etype, key, "
            "date_trunc('week', date)::DATE AS date, source, sum(articles)::BIGINT AS articles,"
            " sum(mentions)::BIGINT AS mentions FROM agg_keys GROUP BY ALL "
            "ORDER BY kind, date, key"
        )
        store.set_meta(con, _META_KEY, fingerprint(con))
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    n = con.execute("SELECT count(*) FROM agg_keys").fetchone()[0]
    return {"agg_keys": n, "seconds": time.perf_counter() - t0}


def is_fresh(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the aggregates exist and were built from the current rows."""
    try:
        stamp = store.get_meta(con, _META_KEY)
    except duckdb.Error:
        return False
    return stamp is not None and stamp == fingerprint(con)


def serves(con: duckdb.DuckDBPyConnection, f: Filter | dict[str, Any] | None) -> bool:
    """Whether the aggregates can answer exactly: only date/source filters, no dedup."""
    f = as_filter(f)
    only_dates_sources = not (
        f.actors or f.countries or f.themes or f.text
        or f.tone_min is not None or f.tone_max is not None or f.dedup != "none"
    )  # fmt: skip
    return only_dates_sources and is_fresh(con)


def _where(f: Filter, alias: str) -> tuple[str, list[Any]]:
    clauses, params = [], []
    if f.date_from is not None:
        clauses.append(f"{alias}.date >= ?")
        params.append(f.date_from)
    if f.date_to is not None:
        clauses.append(f"{alias}.date <= ?")
        params.append(f.date_to)
    if f.sources:
        clauses.append(f"{alias}.source IN ({store.in_list_params(f.sources)})")
        params.extend(f.sources)
    return " AND ".join(clauses) or "TRUE", params


_LO, _HI = "0001-01-01", "9999-12-31"


def _rows(f: Filter, *, grain: str = "month") -> tuple[str, list[Any]]:
    """Per-key rows covering the filter's dates exactly: whole months (``grain="week"``:
    ISO weeks) from ``agg_keys_m``/``agg_keys_w``, the days of partly covered ones from
    ``agg_keys`` (``grain="day"``: days only). Exact because each article has one date."""
    lo = str(f.date_from) if f.date_from is not None else _LO
    hi = str(f.date_to) if f.date_to is not None else _HI
    cols = "kind, etype, key, date, source, articles, mentions"
    if grain == "day":
        return f"SELECT {cols} FROM agg_keys", []  # noqa: S608 - fixed SQL
    table = {"month": "agg_keys_m", "week": "agg_keys_w"}[grain]
    start = f"date_trunc('{grain}', date)::DATE"
    end = {"month": "last_day(date)", "week": f"{start} + 6"}[grain]
    if f.date_from is None and f.date_to is None:
        return f"SELECT {cols} FROM {table}", []  # noqa: S608 - fixed SQL
    q = (
        f"SELECT {cols} FROM {table} WHERE {start} >= ?::DATE AND {end} <= ?::DATE "  # noqa: S608
        f"UNION ALL SELECT {cols} FROM agg_keys WHERE date >= ?::DATE AND date <= ?::DATE "
        f"AND NOT ({start} >= ?::DATE AND {end} <= ?::DATE)"
    )
    return q, [lo, hi, lo, hi, lo, hi]


def _kind(kind: str, f: Filter) -> tuple[str, list[Any]]:
    """WHERE fragment on ``agg_keys k`` selecting one query kind."""
    if kind in ("actor", "person", "org"):
        types = {"person": ("PERSON",), "org": ("ORG",)}.get(kind, f.actor_types)
        return (f"k.kind = 'entity' AND k.etype IN ({store.in_list_params(types)})",
                list(types))  # fmt: skip
    return "k.kind = ?", [kind]


_LABELS = {
    "actor": ("LEFT JOIN entities lab ON lab.entity_id = t.key", "coalesce(lab.name, t.key)"),
    "theme": ("LEFT JOIN themes lab ON lab.theme_id = t.key", "coalesce(lab.label, t.key)"),
}


def _label(kind: str) -> tuple[str, str]:
    base = "actor" if kind in ("person", "org", "speaker") else kind
    return _LABELS.get(base, ("", "t.key"))


def top(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    n: int | None = 20,
    filter: Filter | dict[str, Any] | None = None,
) -> pd.DataFrame:
    """``query.top`` from the aggregates (same columns: key, label, articles, mentions, share)."""
    from .query import _finish

    f = as_filter(filter)
    wk, pk = _where(f, "k")
    wd, pd_ = _where(f, "d")
    if kind == "source":
        q = (
            "WITH t AS (SELECT d.source AS key, sum(d.articles) AS articles FROM agg_daily d "  # noqa: S608
            f"WHERE {wd} AND d.source IS NOT NULL GROUP BY 1), "
            f"tot AS (SELECT sum(articles) AS n FROM agg_daily d WHERE {wd}) "
            "SELECT t.key, t.key AS label, t.articles::BIGINT AS articles, "
            "t.articles::BIGINT AS mentions, t.articles / tot.n AS share "
            "FROM t CROSS JOIN tot ORDER BY articles DESC, mentions DESC, t.key LIMIT ?"
        )
        params = [*pd_, *pd_, n if n is not None else 2**62]
    else:
        kw, kp = _kind(kind, f)
        join, label = _label(kind)
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
        params = [*p_rows, *kp, *pk, *pd_, n if n is not None else 2**62]
    df = con.execute(q, params).df()
    df.attrs.update({"kind": kind, "counts": "articles", "sql": q, "params": params,
                     "source": "aggregates"})  # fmt: skip
    return _finish(df, [(kind, "label")])


def coverage(
    con: duckdb.DuckDBPyConnection,
    by: str | None = "actor",
    freq: str = "month",
    normalize: bool = False,
    filter: Filter | dict[str, Any] | None = None,
    n: int | None = 10,
) -> pd.DataFrame:
    """``query.coverage`` (top ``n`` keys, or the volume with ``by=None``) from the aggregates."""
    from .query import _finish

    f = as_filter(filter)
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
        params: list[Any] = [freq, *pd_]
    else:
        kw, kp = _kind(by, f)
        join, label = _label(by)
        rows, p_rows = _rows(f, grain={"day": "day", "week": "week"}.get(freq, "month"))
        q = (
            f"WITH {per}, "  # noqa: S608
            f"kk AS (SELECT k.* FROM ({rows}) k WHERE {kw} AND {wk}), "
            "keys AS (SELECT key, row_number() OVER (ORDER BY sum(articles) DESC, "
            "sum(mentions) DESC, key) AS rank FROM kk GROUP BY key ORDER BY rank LIMIT ?), "
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
        params = [freq, *pd_, *p_rows, *kp, *pk, n if n is not None else 2**62, freq]
    df = con.execute(q, params).df()
    value = "share" if normalize else "articles"
    df.attrs.update({"kind": by, "freq": freq, "value": value, "counts": "articles", "sql": q,
                     "params": params, "source": "aggregates"})  # fmt: skip
    df["value"] = df[value]
    return _finish(df, [(by, "label")])
