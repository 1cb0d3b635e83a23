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

Since the second version (``_VERSION``) also: ``agg_articles`` (every article numbered
``aid`` in listing order, ``date NULLS LAST, article_id``), ``agg_article_keys`` (the distinct
keys of each article), tone sums in ``agg_daily``/``agg_keys*``, monthly pair roll-ups
``agg_pairs_m``/``agg_pairs`` (``PAIR_KINDS``), and narrow ``agg_spans``/``agg_sentences``/
``agg_quotes`` from which listings pick their first ``n`` rows before reading any text.
Since ``agg3``: ``agg_quotes`` carries the displayed quote columns (speaker, cue, text,
offsets), so ``quotes`` reads only the picked rows' ``aid`` range of it; partly covered
months/weeks of a date window are read as constant day (and, for pairs, ``aid``) ranges
(:func:`_edge_days`), so zone maps skip the rest; :func:`refresh` rebuilds only the tables
changed since an older layout (``_UPGRADES``) when the rows it was built from are unchanged.

All are rebuilt by :func:`refresh` (``Workbench.analyze`` calls it last) in one transaction
and stamped with a fingerprint of the rows they were built from (:func:`is_fresh`), so a
stale aggregate is never used. ``workbench.query`` asks :func:`serves` (only date/outlet
filters, no dedup, fresh) at the top of ``top``, ``coverage``, ``cooccurrence`` (and
:func:`serves_pairs`), ``compare``, ``tone`` (article level), ``quotes``, ``articles``,
``evidence`` (``SPAN_KINDS``) and ``kwic`` (entities); the functions here return the same
columns and numbers (tested against the base-table queries in ``tests/test_aggregates.py``).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import time
from typing import Any

import duckdb
import pandas as pd

from . import store
from .filters import Filter, as_filter, compose
from .kinds import ENTITY_LOOKUP, KEYS_ALL, KEYS_N, cooccurrence_tail, finish

#: kind -> (SQL of (article_id, etype, key, mentions) rows without its WHERE/GROUP BY, the
#: table or alias holding ``article_id``, its conditions) -- mirrors workbench.query's dims.
_DIMS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "entity": (
        "SELECT m.article_id, e.type AS etype, m.entity_id AS key, count(*) AS mentions "
        "FROM mentions m JOIN entities e ON e.entity_id = m.entity_id",
        "m",
        (),
    ),
    "country": (
        "SELECT article_id, NULL AS etype, iso3 AS key, sum(mentions) AS mentions "
        "FROM article_countries",
        "article_countries",
        (),
    ),
    "region": (
        "SELECT article_id, NULL AS etype, region AS key, count(*) AS mentions FROM mentions",
        "mentions",
        ("region IS NOT NULL",),
    ),
    "theme": (
        "SELECT article_id, NULL AS etype, theme_id AS key, sum(coalesce(hits, 1)) AS mentions "
        "FROM article_themes",
        "article_themes",
        (),
    ),
    "speaker": (
        "SELECT article_id, NULL AS etype, speaker_entity_id AS key, count(*) AS mentions "
        "FROM quotes",
        "quotes",
        ("speaker_entity_id IS NOT NULL", "NOT coalesce(fragment, false)"),
    ),
}
#: The changed articles of an incremental refresh (a temporary table of ``article_id``).
_IDS = "_agg_ids"


def _dim_sql(kind: str, *, only: bool = False) -> str:
    """One kind's (article_id, etype, key, mentions) rows; ``only``: of the changed articles."""
    sql, alias, conds = _DIMS[kind]
    mine = f"{alias}.article_id IN (SELECT article_id FROM {_IDS})"  # noqa: S608 - fixed SQL
    where = [*conds, *([mine] if only else [])]
    return sql + (f" WHERE {' AND '.join(where)}" if where else "") + " GROUP BY ALL"


_SOURCE_TABLES = ("articles", "sentences", "mentions", "entities", "article_countries",
                  "article_themes", "theme_hits", "article_tone", "quotes")  # fmt: skip
_META_KEY = "aggregates_fingerprint"
_VERSION = "agg3"  # bump when the tables change: an older build is then stale
#: Tables whose definition changed since an older ``_VERSION``: :func:`refresh` rebuilds only
#: these when the stored stamp is that version's stamp of the CURRENT rows (nothing else
#: changed), e.g. agg2 -> agg3: ``agg_quotes`` carries the displayed quote columns.
_UPGRADES: dict[str, tuple[str, ...]] = {"agg2": ("agg_quotes",)}

#: Entity types whose pairs are pre-counted (actor x actor, actor x country).
PAIR_ETYPES = ("PERSON", "ORG")
#: Kind pairs with monthly pair roll-ups (``agg_pairs_m``/``agg_pairs``); others fall back.
PAIR_KINDS = (("entity", "entity"), ("entity", "country"), ("theme", "country"))
TABLES = ("agg_articles", "agg_daily", "agg_article_keys", "agg_keys", "agg_keys_m",
          "agg_keys_w", "agg_pairs_m", "agg_pairs", "agg_spans", "agg_sentences",
          "agg_quotes")  # fmt: skip


_STAMPS = ("registry_hash", "themes.taxonomy_hash", "tone.version")


def fingerprint(con: duckdb.DuckDBPyConnection) -> str:
    """Row counts, the last run and the registry/taxonomy/tone stamps, in ONE query: cheap
    enough to check on every query (counts come from table metadata, stamps from ``meta``)."""
    q = store.quote_ident
    counts = ", ".join(f"(SELECT count(*) FROM {q(t)})" for t in _SOURCE_TABLES)  # noqa: S608
    stamps = ", ".join("(SELECT value FROM meta WHERE key = ?)" for _ in _STAMPS)
    row = con.execute(
        f"SELECT {counts}, (SELECT max(run_id) FROM runs WHERE kind = 'ingest'), {stamps}",  # noqa: S608
        list(_STAMPS),
    ).fetchone()
    n = len(_SOURCE_TABLES)
    parts = [f"{t}={v}" for t, v in zip(_SOURCE_TABLES, row[:n], strict=True)]
    parts += [f"run={row[n]}", *map(str, row[n + 1 :])]
    return ";".join([_VERSION, *parts])


#: Article-tone sums over rows of ``agg_articles t`` (avg, stddev_samp and counts follow).
_TONE_COLS = (
    "count(*) FILTER (WHERE t.has_tone) AS tone_rows, count(t.tone) AS tone_n, "
    "sum(t.tone) AS tone_sum, sum(t.tone * t.tone) AS tone_sq, "
    "count(*) FILTER (WHERE t.tone < -0.05) AS tone_neg, "
    "count(*) FILTER (WHERE t.tone > 0.05) AS tone_pos"
)
_TONE_SUMS = (
    "sum(tone_rows)::BIGINT AS tone_rows, sum(tone_n)::BIGINT AS tone_n, "
    "sum(tone_sum) AS tone_sum, sum(tone_sq) AS tone_sq, sum(tone_neg)::BIGINT AS tone_neg, "
    "sum(tone_pos)::BIGINT AS tone_pos"
)
_KEY_COLS = "kind, etype, key, date, source, articles, mentions"


def _pair_sql(kind_a: str, kind_b: str, keys: str = "agg_article_keys") -> str:
    """Per-article pairs of one kind pair (both sides from ``keys``: ``agg_article_keys``, or
    the signed rows ``_agg_sk`` of an incremental refresh, whose pairs are counted +/-1)."""
    types = ", ".join(f"'{t}'" for t in PAIR_ETYPES)  # fixed constants, not user values

    def side(kind: str, x: str) -> str:
        etype = f" AND {x}.etype IN ({types})" if kind == "entity" else ""
        return f"{x}.kind = '{kind}'{etype}"

    wa, wb = side(kind_a, "a"), side(kind_b, "b")
    same = " AND a.key < b.key" if kind_a == kind_b else ""
    signed = keys != "agg_article_keys"
    n = "sum(a.sgn)::BIGINT" if signed else "count(*)::BIGINT"
    on = "b.aid = a.aid AND b.sgn = a.sgn" if signed else "b.aid = a.aid"
    return (
        "SELECT a.kind AS kind_a, a.etype AS etype_a, a.key AS key_a, b.kind AS kind_b, "  # noqa: S608
        "b.etype AS etype_b, b.key AS key_b, date_trunc('month', a.date)::DATE AS date, "
        f"a.source, {n} AS articles "
        f"FROM {keys} a JOIN {keys} b ON {on} "
        f"WHERE {wa} AND {wb}{same} GROUP BY ALL"
    )


#: Step between the ``aid`` of neighbouring articles after a full build: an incremental
#: refresh numbers articles added later between two neighbours inside that gap.
AID_STEP = 1 << 16
#: More changed articles than this share of the corpus: a full rebuild (cheaper than deltas).
FULL_SHARE = 0.5
#: Per article, a sum of row hashes over every column the ``agg_*`` tables are built from:
#: an incremental refresh recomputes the articles whose digest changed (new, re-analysed,
#: re-resolved or deleted ones), whichever stage changed them.
DIGESTS = "agg_digests"
_DIGEST_SQL = (
    "SELECT article_id, sum(h)::HUGEINT AS digest FROM ("
    "SELECT a.article_id, hash('a', a.date, a.source, a.n_words, t.tone, "
    "t.article_id IS NOT NULL)::HUGEINT AS h "
    "FROM articles a LEFT JOIN article_tone t ON t.article_id = a.article_id "
    "UNION ALL SELECT m.article_id, hash('m', m.entity_id, e.type, m.country_iso3, m.region, "
    "m.sentence_idx, m.start_char, m.end_char)::HUGEINT FROM mentions m "
    "LEFT JOIN entities e ON e.entity_id = m.entity_id "
    "WHERE m.entity_id IS NOT NULL OR m.country_iso3 IS NOT NULL OR m.region IS NOT NULL "
    "UNION ALL SELECT article_id, hash('c', iso3, mentions)::HUGEINT FROM article_countries "
    "UNION ALL SELECT article_id, hash('t', theme_id, hits)::HUGEINT FROM article_themes "
    "UNION ALL SELECT article_id, hash('h', theme_id, sentence_idx, start_char, end_char)"
    "::HUGEINT FROM theme_hits "
    "UNION ALL SELECT article_id, hash('s', idx, start_char, end_char)::HUGEINT FROM sentences "
    "UNION ALL SELECT article_id, hash('q', quote_idx, speaker_entity_id, fragment, speaker, "
    "sentence_idx, start_char, end_char, cue, text)::HUGEINT FROM quotes"
    ") GROUP BY article_id"
)


def _refresh_sql(arts: str = "agg_articles", *, only: bool = False) -> list[tuple[str, str]]:
    """(table, SELECT) in build order; every statement is fixed SQL. ``only``: the per-article
    tables' rows of the changed articles, numbered in ``arts`` (an incremental refresh)."""
    union = " UNION ALL ".join(
        f"SELECT '{kind}' AS kind, d.* FROM ({_dim_sql(kind, only=only)}) d"  # noqa: S608 - fixed SQL
        for kind in _DIMS
    )
    pairs = " UNION ALL ".join(_pair_sql(a, b) for a, b in PAIR_KINDS)
    return [
        # one row per article, numbered in (date NULLS LAST, article_id) order, AID_STEP
        # apart: ``aid`` is the sort key of every evidence/articles/quotes listing, and an
        # integer join key
        (
            "agg_articles",
            "SELECT (row_number() OVER (ORDER BY a.date NULLS LAST, a.article_id) * "  # noqa: S608
            f"{AID_STEP})::BIGINT AS aid,"
            " a.article_id, a.date, a.source, a.n_words, t.tone, t.article_id IS NOT NULL "
            "AS has_tone FROM articles a LEFT JOIN article_tone t ON t.article_id = a.article_id "
            "ORDER BY aid",
        ),
        (
            "agg_daily",
            "SELECT t.date, t.source, count(*) AS articles, sum(t.n_words)::BIGINT AS words, "  # noqa: S608
            f"{_TONE_COLS} FROM agg_articles t GROUP BY ALL ORDER BY date, source",
        ),
        # one row per (article, key): distinct keys of an article, with its occurrences
        (
            "agg_article_keys",
            f"SELECT d.kind, d.etype, d.key, a.aid, a.date, a.source, d.mentions::INTEGER AS mentions "  # noqa: S608
            f"FROM ({union}) d JOIN {arts} a ON a.article_id = d.article_id "
            "ORDER BY d.kind, a.aid",
        ),
        (
            "agg_keys",
            "SELECT k.kind, k.etype, k.key, k.date, k.source, count(*) AS articles, "  # noqa: S608
            f"sum(k.mentions)::BIGINT AS mentions, {_TONE_COLS} "
            "FROM agg_article_keys k JOIN agg_articles t ON t.aid = k.aid "
            "GROUP BY ALL ORDER BY k.kind, k.date, k.key",
        ),
        (
            "agg_keys_m",
            "SELECT kind, etype, key, date_trunc('month', date)::DATE AS date, source, "  # noqa: S608
            "sum(articles)::BIGINT AS articles, sum(mentions)::BIGINT AS mentions, "
            f"{_TONE_SUMS} FROM agg_keys GROUP BY ALL ORDER BY kind, date, key",
        ),
        (
            "agg_keys_w",
            "SELECT kind, etype, key, date_trunc('week', date)::DATE AS date, source, "  # noqa: S608
            "sum(articles)::BIGINT AS articles, sum(mentions)::BIGINT AS mentions, "
            f"{_TONE_SUMS} FROM agg_keys GROUP BY ALL ORDER BY kind, date, key",
        ),
        # articles shared by two keys, per month and outlet (partial months: agg_article_keys)
        ("agg_pairs_m", f"SELECT * FROM ({pairs}) ORDER BY kind_a, kind_b, date, key_a, key_b"),  # noqa: S608
        (
            "agg_pairs",
            "SELECT kind_a, etype_a, key_a, kind_b, etype_b, key_b, source, "
            "sum(articles)::BIGINT AS articles FROM agg_pairs_m GROUP BY ALL "
            "ORDER BY kind_a, kind_b, key_a, key_b",
        ),
        # evidence spans (ids and offsets only), each key's spans contiguous, in listing order
        (
            "agg_spans",
            "SELECT s.kind, s.etype, s.key, a.aid, a.date, a.source, s.sentence_idx, "  # noqa: S608
            "s.start_char, s.end_char FROM ("
            "SELECT 'entity' AS kind, e.type AS etype, m.entity_id AS key, m.article_id, "
            "m.sentence_idx, m.start_char, m.end_char FROM mentions m "
            "JOIN entities e ON e.entity_id = m.entity_id "
            "UNION ALL SELECT 'country', NULL, m.country_iso3, m.article_id, m.sentence_idx, "
            "m.start_char, m.end_char FROM mentions m WHERE m.country_iso3 IS NOT NULL "
            "UNION ALL SELECT 'region', NULL, m.region, m.article_id, m.sentence_idx, "
            "m.start_char, m.end_char FROM mentions m WHERE m.region IS NOT NULL "
            "UNION ALL SELECT 'theme', NULL, h.theme_id, h.article_id, h.sentence_idx, "
            "h.start_char, h.end_char FROM theme_hits h) s "
            f"JOIN {arts} a ON a.article_id = s.article_id "
            "ORDER BY s.kind, s.key, a.aid, s.start_char",
        ),
        # sentence offsets (the text is ``articles.text[start:end]``, see extract.doc_rows)
        (
            "agg_sentences",
            "SELECT a.aid, s.idx, s.start_char, s.end_char FROM sentences s "  # noqa: S608
            f"JOIN {arts} a ON a.article_id = s.article_id ORDER BY a.aid, s.idx",
        ),
        (
            "agg_quotes",
            "SELECT a.aid, a.date, a.source, q.quote_idx, q.speaker_entity_id, "  # noqa: S608
            "lower(q.speaker) AS speaker_lc, q.sentence_idx, q.start_char, q.end_char, "
            "q.speaker, q.cue, q.text FROM quotes q "
            f"JOIN {arts} a ON a.article_id = q.article_id ORDER BY a.aid, q.quote_idx",
        ),
    ]


def _upgrade_tables(con: duckdb.DuckDBPyConnection) -> tuple[str, ...] | None:
    """The tables to rebuild when the aggregates are an older layout (``_UPGRADES``) of the
    current rows; None when a full rebuild is needed."""
    try:
        stamp = store.get_meta(con, _META_KEY)
    except duckdb.Error:
        return None
    if stamp is None:
        return None
    old, _, rest = stamp.partition(";")
    now = fingerprint(con)
    if old not in _UPGRADES or rest != now.partition(";")[2]:
        return None
    return _UPGRADES[old]


def refresh(con: duckdb.DuckDBPyConnection, *, full: bool = False) -> dict[str, Any]:
    """Bring the ``agg_*`` tables up to date in one transaction: by delta for the articles
    whose rows changed since the last build (``DIGESTS``), or rebuilt: all of them when
    ``full``, when the layout is another one or most articles changed; only the tables an
    older layout lacks when the rows are unchanged.

    Returns the row count of each table, ``seconds`` (all), ``table_seconds`` (the rebuilt
    or updated tables), ``rebuilt`` and ``changed`` (articles updated by delta; None after
    a rebuild)."""
    t0 = time.perf_counter()
    out: dict[str, Any] = {}
    secs: dict[str, float] = {}
    only = None if full else _upgrade_tables(con)
    changed: int | None = None
    con.execute("BEGIN TRANSACTION")
    try:
        if not full and only is None and _incremental_ok(con):
            changed = _incremental(con, secs)
        if changed is None:
            secs.clear()
            for table, sql in _refresh_sql():
                if only is not None and table not in only:
                    continue
                t1 = time.perf_counter()
                con.execute(f"CREATE OR REPLACE TABLE {store.quote_ident(table)} AS {sql}")
                secs[table] = round(time.perf_counter() - t1, 2)
            if only is None:
                t1 = time.perf_counter()
                con.execute(f"CREATE OR REPLACE TABLE {DIGESTS} AS {_DIGEST_SQL}")
                secs[DIGESTS] = round(time.perf_counter() - t1, 2)
        store.set_meta(con, _META_KEY, fingerprint(con))
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    for table in TABLES:
        out[table] = con.execute(f"SELECT count(*) FROM {store.quote_ident(table)}").fetchone()[0]  # noqa: S608
    out["seconds"] = time.perf_counter() - t0
    out["table_seconds"] = secs
    out["rebuilt"] = [] if changed is not None else [t for t in secs if t != DIGESTS]
    out["changed"] = changed
    return out


def _incremental_ok(con: duckdb.DuckDBPyConnection) -> bool:
    """An incremental refresh needs a complete build of this layout (with its digests)."""
    stamp = store.get_meta(con, _META_KEY)
    if stamp is None or stamp.partition(";")[0] != _VERSION:
        return False
    have = {
        r[0]
        for r in con.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_catalog = current_database() AND table_schema = 'main'"
        ).fetchall()
    }
    return {*TABLES, DIGESTS} <= have


#: Signed article-tone sums over ``t`` rows carrying ``sgn`` (+1 added, -1 removed).
_TONE_DELTA = (
    "sum(t.sgn) FILTER (WHERE t.has_tone) AS tone_rows, "
    "sum(t.sgn) FILTER (WHERE t.tone IS NOT NULL) AS tone_n, "
    "sum(t.sgn * t.tone) AS tone_sum, sum(t.sgn * t.tone * t.tone) AS tone_sq, "
    "sum(t.sgn) FILTER (WHERE t.tone < -0.05) AS tone_neg, "
    "sum(t.sgn) FILTER (WHERE t.tone > 0.05) AS tone_pos"
)
_TONE_NAMES = ("tone_rows", "tone_n", "tone_sum", "tone_sq", "tone_neg", "tone_pos")
_ART_COLS = "aid, article_id, date, source, n_words, tone, has_tone"


def _incremental(con: duckdb.DuckDBPyConnection, secs: dict[str, float]) -> int | None:
    """Update the aggregates by delta for the articles whose digest changed (inside the
    caller's transaction); the number of such articles, or None when a full rebuild is due
    (too many changed, or no room left in an ``aid`` gap)."""
    t1 = time.perf_counter()
    con.execute(f"CREATE OR REPLACE TEMP TABLE _agg_dig AS {_DIGEST_SQL}")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_IDS} AS SELECT coalesce(n.article_id, o.article_id) "  # noqa: S608
        f"AS article_id FROM _agg_dig n FULL JOIN {DIGESTS} o ON o.article_id = n.article_id "
        "WHERE n.digest IS DISTINCT FROM o.digest"
    )
    secs["digests"] = round(time.perf_counter() - t1, 2)
    (k,) = con.execute(f"SELECT count(*) FROM {_IDS}").fetchone()  # noqa: S608
    (total,) = con.execute("SELECT count(*) FROM articles").fetchone()
    if k > FULL_SHARE * max(total, 1):
        return None
    if k == 0:
        return 0
    t1 = time.perf_counter()
    ids = f"(SELECT article_id FROM {_IDS})"  # noqa: S608 - fixed SQL
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _agg_old AS SELECT {_ART_COLS} FROM agg_articles "  # noqa: S608
        f"WHERE article_id IN {ids}"
    )
    # New rows keep their aid when the date (the sort key with the id) is unchanged; the
    # others are numbered inside the gap between their kept neighbours.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _agg_place AS "  # noqa: S608
        "SELECT a.article_id, a.date, a.source, a.n_words, t.tone, "
        "t.article_id IS NOT NULL AS has_tone, o.aid FROM articles a "
        "LEFT JOIN article_tone t ON t.article_id = a.article_id "
        "LEFT JOIN _agg_old o ON o.article_id = a.article_id AND o.date IS NOT DISTINCT FROM a.date "
        f"WHERE a.article_id IN {ids}"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _agg_gaps AS WITH r AS ("  # noqa: S608
        f"SELECT aid, date, article_id FROM agg_articles WHERE article_id NOT IN {ids} "
        "UNION ALL SELECT aid, date, article_id FROM _agg_place), "
        "w AS (SELECT aid, date, article_id, "
        "max(aid) OVER (ORDER BY date NULLS LAST, article_id "
        "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS pred, "
        "min(aid) OVER (ORDER BY date NULLS LAST, article_id "
        "ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS succ FROM r) "
        "SELECT article_id, pred, succ, "
        "row_number() OVER (PARTITION BY pred, succ ORDER BY date NULLS LAST, article_id) AS r, "
        "count(*) OVER (PARTITION BY pred, succ) AS k FROM w WHERE aid IS NULL"
    )
    (room,) = con.execute(
        "SELECT coalesce(bool_and(pred IS NULL OR succ IS NULL OR succ - pred > k), true) "
        "FROM _agg_gaps"
    ).fetchone()
    if not room:
        return None
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _agg_new AS SELECT coalesce(p.aid, CASE "  # noqa: S608
        f"WHEN g.succ IS NULL THEN coalesce(g.pred, 0) + g.r * {AID_STEP} "
        f"WHEN g.pred IS NULL THEN g.succ - (g.k + 1 - g.r) * {AID_STEP} "
        "ELSE g.pred + (g.succ - g.pred) * g.r // (g.k + 1) END)::BIGINT AS aid, "
        "p.article_id, p.date, p.source, p.n_words, p.tone, p.has_tone "
        "FROM _agg_place p LEFT JOIN _agg_gaps g ON g.article_id = p.article_id"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _agg_sa AS SELECT -1 AS sgn, {_ART_COLS} FROM _agg_old "  # noqa: S608
        f"UNION ALL SELECT 1, {_ART_COLS} FROM _agg_new"
    )
    sql = dict(_refresh_sql("_agg_new", only=True))
    con.execute(f"CREATE OR REPLACE TEMP TABLE _agg_ak AS {sql['agg_article_keys']}")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _agg_sk AS SELECT -1 AS sgn, k.* FROM agg_article_keys k "
        "WHERE k.aid IN (SELECT aid FROM _agg_old) UNION ALL SELECT 1, * FROM _agg_ak"
    )
    secs["changed rows"] = round(time.perf_counter() - t1, 2)
    tone_keys = (*_KEY_COLS.split(", ")[:5],)
    sums = {
        "agg_daily": (
            ("date", "source"),
            "SELECT t.date, t.source, sum(t.sgn) AS articles, sum(t.sgn * t.n_words) AS words, "  # noqa: S608
            f"{_TONE_DELTA} FROM _agg_sa t GROUP BY ALL",
        ),
        "agg_keys": (
            tone_keys,
            "SELECT k.kind, k.etype, k.key, k.date, k.source, sum(k.sgn) AS articles, "  # noqa: S608
            f"sum(k.sgn * k.mentions) AS mentions, {_TONE_DELTA} FROM _agg_sk k "
            "JOIN _agg_sa t ON t.aid = k.aid AND t.sgn = k.sgn GROUP BY ALL",
        ),
    }
    for grain, table in (("month", "agg_keys_m"), ("week", "agg_keys_w")):
        sums[table] = (
            tone_keys,
            f"SELECT kind, etype, key, date_trunc('{grain}', date)::DATE AS date, source, "  # noqa: S608
            "sum(articles) AS articles, sum(mentions) AS mentions, "
            + ", ".join(f"sum({c}) AS {c}" for c in _TONE_NAMES)
            + " FROM _agg_delta_agg_keys GROUP BY ALL",
        )
    pair_keys = ("kind_a", "etype_a", "key_a", "kind_b", "etype_b", "key_b", "date", "source")
    sums["agg_pairs_m"] = (
        pair_keys,
        " UNION ALL ".join(_pair_sql(a, b, "_agg_sk") for a, b in PAIR_KINDS),
    )
    sums["agg_pairs"] = (
        tuple(c for c in pair_keys if c != "date"),
        "SELECT kind_a, etype_a, key_a, kind_b, etype_b, key_b, source, "
        "sum(articles) AS articles FROM _agg_delta_agg_pairs_m GROUP BY ALL",
    )
    for table, (keys, delta) in sums.items():
        t1 = time.perf_counter()
        _add_delta(con, table, keys, delta)
        secs[table] = round(time.perf_counter() - t1, 2)
    # Per-article rows: the changed articles' old rows out, their new rows in.
    t1 = time.perf_counter()
    old = "(SELECT aid FROM _agg_old)"
    for table in ("agg_article_keys", "agg_spans", "agg_sentences", "agg_quotes"):
        con.execute(f"DELETE FROM {table} WHERE aid IN {old}")  # noqa: S608
    con.execute(f"DELETE FROM agg_articles WHERE aid IN {old}")  # noqa: S608
    con.execute(f"INSERT INTO agg_articles ({_ART_COLS}) SELECT {_ART_COLS} FROM _agg_new")  # noqa: S608
    con.execute("INSERT INTO agg_article_keys SELECT * FROM _agg_ak")
    for table in ("agg_spans", "agg_sentences", "agg_quotes"):
        con.execute(f"INSERT INTO {table} {sql[table]}")  # noqa: S608
    con.execute(f"DELETE FROM {DIGESTS} WHERE article_id IN {ids}")  # noqa: S608
    con.execute(
        f"INSERT INTO {DIGESTS} SELECT d.* FROM _agg_dig d WHERE d.article_id IN {ids}"  # noqa: S608
    )
    secs["per-article tables"] = round(time.perf_counter() - t1, 2)
    for t in ("_agg_dig", _IDS, "_agg_old", "_agg_place", "_agg_gaps", "_agg_new", "_agg_sa",
              "_agg_ak", "_agg_sk", *(f"_agg_delta_{t}" for t in sums)):  # fmt: skip
        con.execute(f"DROP TABLE IF EXISTS {store.quote_ident(t)}")
    return int(k)


def _add_delta(
    con: duckdb.DuckDBPyConnection, table: str, keys: tuple[str, ...], delta: str
) -> None:
    """Add the signed rows ``delta`` to the sums of ``table`` per ``keys`` (NULL keys match
    NULL); a row whose article count falls to zero goes, as a full build would not have it.
    The delta stays as ``_agg_delta_<table>`` for the roll-ups built from it."""
    q = store.quote_ident
    tmp = q(f"_agg_delta_{table}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {tmp} AS {delta}")
    cols = [r[0] for r in con.execute(f"DESCRIBE {tmp}").fetchall()]  # noqa: S608
    values = [c for c in cols if c not in keys]
    on = " AND ".join(f"t.{q(k)} IS NOT DISTINCT FROM d.{q(k)}" for k in keys)
    kl = ", ".join(q(k) for k in keys)
    summed = ", ".join(f"sum({q(c)}) AS {q(c)}" for c in values)
    plain = ", ".join(q(c) for c in cols)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _agg_merged AS SELECT {kl}, {summed} FROM ("  # noqa: S608
        f"SELECT {plain} FROM {q(table)} t WHERE EXISTS (SELECT 1 FROM {tmp} d WHERE {on}) "
        f"UNION ALL SELECT {plain} FROM {tmp}) GROUP BY ALL"
    )
    con.execute(f"DELETE FROM {q(table)} t WHERE EXISTS (SELECT 1 FROM {tmp} d WHERE {on})")  # noqa: S608
    out = []
    for c in cols:
        if c in ("tone_sum", "tone_sq"):  # a sum over no tone is NULL, as in a full build
            out.append(f"CASE WHEN coalesce(tone_n, 0) = 0 THEN NULL ELSE {q(c)} END")
        elif c in keys:
            out.append(q(c))
        else:
            out.append(f"coalesce({q(c)}, 0)")
    con.execute(
        f"INSERT INTO {q(table)} ({plain}) SELECT {', '.join(out)} FROM _agg_merged "  # noqa: S608
        "WHERE articles <> 0"
    )
    con.execute("DROP TABLE _agg_merged")


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


_TONE_KEYS = "tone_rows, tone_n, tone_sum, tone_sq, tone_neg, tone_pos"


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
    return finish(df, [(kind, "label")])


def coverage(
    con: duckdb.DuckDBPyConnection,
    by: str | None = "actor",
    freq: str = "month",
    normalize: bool = False,
    filter: Filter | dict[str, Any] | None = None,
    n: int | None = 10,
    values: list[str] | None = None,
) -> pd.DataFrame:
    """``query.coverage`` (top ``n`` keys, the given ``values`` -- ids or labels, already
    upper-cased for countries -- or the volume with ``by=None``) from the aggregates."""
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
        kk, p_kk = f"SELECT k.* FROM ({rows}) k WHERE {kw} AND {wk}", [*p_rows, *kp, *pk]  # noqa: S608
        if by == "source":  # one key per article: its outlet (mentions = articles)
            kk = (
                "SELECT d.date, d.source AS key, d.articles, d.articles AS mentions "  # noqa: S608
                f"FROM agg_daily d WHERE {wd} AND d.source IS NOT NULL"
            )
            p_kk = list(pd_)
        if values is None:
            keys = (
                "SELECT key, row_number() OVER (ORDER BY sum(articles) DESC, sum(mentions) "
                "DESC, key) AS rank FROM kk GROUP BY key ORDER BY rank LIMIT ?"
            )
            p_keys: list[Any] = [n if n is not None else 2**62]
        else:  # as query._KEYS_GIVEN: keys present in the filter, by id or label
            ph = store.in_list_params(values)
            kjoin = re.sub(r"\blab\b", "klab", join).replace("t.key", "kk.key")
            klabel = re.sub(r"\blab\b", "klab", label).replace("t.key", "kk.key")
            keys = (
                f"SELECT DISTINCT kk.key, 0 AS rank FROM kk {kjoin} "  # noqa: S608
                f"WHERE kk.key IN ({ph}) OR lower({klabel}) IN ({ph})"
            )
            p_keys = [*values, *(v.lower() for v in values)]
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
        params = [freq, *pd_, *p_kk, *p_keys, freq]
    df = con.execute(q, params).df()
    value = "share" if normalize else "articles"
    df.attrs.update({"kind": by, "freq": freq, "value": value, "counts": "articles", "sql": q,
                     "params": params, "source": "aggregates"})  # fmt: skip
    df["value"] = df[value]
    return finish(df, [(by, "label")])


# ---------------------------------------------------------------------------- co-occurrence
def _side(kind: str, f: Filter) -> tuple[str, tuple[str, ...] | None]:
    """(aggregate kind, entity types or None) of a query kind."""
    if kind in ("actor", "person", "org"):
        return "entity", {"person": ("PERSON",), "org": ("ORG",)}.get(kind, f.actor_types)
    return kind, None


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


def cooccurrence(
    con: duckdb.DuckDBPyConnection,
    kind_a: str,
    kind_b: str,
    filter: Filter | dict[str, Any] | None = None,
    n: int | None = 50,
    *,
    min_articles: int = 1,
    sort: str = "articles",
    top_a: int | None = None,
    top_b: int | None = None,
) -> pd.DataFrame:
    """``query.cooccurrence`` from the pair roll-ups (same columns and numbers); only for
    filters :func:`serves` and kind pairs :func:`serves_pairs` accepts."""
    f = as_filter(filter)
    wk, pk = _where(f, "k")
    wd, pd_ = _where(f, "d")
    wp, pp = _where(f.replace(date_from=None, date_to=None), "p")  # dates: in _pair_rows
    rows, p_rows = _rows(f)
    kw_a, p_kw_a = _kind(kind_a, f)
    kw_b, p_kw_b = _kind(kind_b, f)
    pairs, p_pairs = _pair_rows(con, kind_a, kind_b, f)
    keys_a = compose(KEYS_N if top_a else KEYS_ALL, n="na")
    keys_b = compose(KEYS_N if top_b else KEYS_ALL, n="nb")
    q, tail_params = cooccurrence_tail(kind_a, kind_b, sort, n)
    q = _COOC_SQL.format(rows=rows, kw_a=kw_a, kw_b=kw_b, wk=wk, wd=wd, keys_a=keys_a,
                         keys_b=keys_b, pairs=pairs, wp=wp, tail=q)  # fmt: skip
    params = [*p_rows, *p_kw_a, *pk, *p_rows, *p_kw_b, *pk, *pd_]
    params += [top_a] if top_a else []
    params += [top_b] if top_b else []
    params += [*p_pairs, *pp, min_articles, *tail_params]
    df = con.execute(q, params).df()
    df.attrs.update({"kind_a": kind_a, "kind_b": kind_b, "counts": "articles",
                     "measure": "lift, pmi (log2 lift), npmi", "filter": f.describe(),
                     "sql": q, "params": params, "source": "aggregates"})  # fmt: skip
    return finish(df, [(kind_a, "label_a"), (kind_b, "label_b")])


# ---------------------------------------------------------------------------- compare, tone
def compare(
    con: duckdb.DuckDBPyConnection,
    by: str,
    filter: Filter | dict[str, Any] | None = None,
    n: int | None = 15,
) -> pd.DataFrame:
    """``query.compare`` (the filter already holds the compared sources) from ``agg_keys*``."""
    f = as_filter(filter)
    wk, pk = _where(f, "k")
    wd, pd_ = _where(f, "d")
    kw, kp = _kind(by, f)
    join, label = _label(by)
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
    params = [*p_rows, *kp, *pk, *pd_, n if n is not None else 2**62]
    df = con.execute(q, params).df()
    df.attrs.update({"kind": by, "counts": "articles", "filter": f.describe(), "sql": q,
                     "params": params, "source": "aggregates"})  # fmt: skip
    return finish(df, [(by, "label")])


#: avg / stddev_samp / counts of article tone from the ``tone_*`` sums of a group.
_TONE_STATS = (
    "sum(x.tone_rows)::BIGINT AS articles, "
    "sum(x.tone_sum) / nullif(sum(x.tone_n), 0) AS tone, "
    "CASE WHEN sum(x.tone_n) > 1 THEN sqrt(greatest((sum(x.tone_sq) - sum(x.tone_sum) ^ 2 "
    "/ sum(x.tone_n)) / (sum(x.tone_n) - 1), 0)) END AS tone_sd, "
    "sum(x.tone_neg)::BIGINT AS negative, sum(x.tone_pos)::BIGINT AS positive"
)


def tone(
    con: duckdb.DuckDBPyConnection,
    by: str = "date",
    freq: str | None = "month",
    filter: Filter | dict[str, Any] | None = None,
    n: int | None = 20,
) -> pd.DataFrame:
    """``query.tone(level="article")`` from the tone sums of ``agg_daily``/``agg_keys*``."""
    f = as_filter(filter)
    wd, pd_ = _where(f, "d")
    period = "date_trunc(?, x.date)::DATE" if freq else "NULL::DATE"
    p_period = [freq] if freq else []
    dated = "AND x.date IS NOT NULL" if freq else ""
    limit = n if n is not None else 2**62
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
        p_keys = [limit]
        join, label = _label(by)
    q = (
        f"WITH src AS ({src}), keys AS ({keys}), "  # noqa: S608
        f"t AS (SELECT {period} AS period, x.key, {_TONE_STATS} FROM src x "
        f"WHERE x.key IN (SELECT key FROM keys) {dated} GROUP BY 1, 2 "
        "HAVING sum(x.tone_rows) > 0) "
        f"SELECT t.period, t.key, {label} AS label, t.articles, t.tone, t.tone_sd, t.negative, "
        f"t.positive FROM t {join} ORDER BY t.period NULLS FIRST, t.articles DESC, t.key"
    )
    params = [*p_src, *p_keys, *p_period]
    df = con.execute(q, params).df()
    df.attrs.update({"kind": by, "freq": freq, "level": "article", "counts": "articles",
                     "filter": f.describe(), "sql": q, "params": params,
                     "source": "aggregates"})  # fmt: skip
    return finish(df, [(by, "label")])


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
        "JOIN agg_articles ar ON ar.aid = p.aid",
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


def articles(
    con: duckdb.DuckDBPyConnection,
    filter: Filter | dict[str, Any] | None = None,
    n: int | None = 100,
    order: str = "date",
) -> pd.DataFrame:
    """``query.articles`` (no text search) from ``agg_articles``, then the ``n`` texts."""
    f = as_filter(filter)
    wx, px = _where(f, "x")
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
    params = [*p_picked, *p_look]
    df = con.execute(q, params).df()
    df.attrs.update({"counts": "articles", "filter": f.describe(), "sql": q, "params": params,
                     "source": "aggregates"})  # fmt: skip
    return df


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

SPAN_KINDS = ("actor", "person", "org", "country", "region", "theme")


def _span_keys(con: duckdb.DuckDBPyConnection, kind: str, value: str) -> list[str]:
    """The keys ``query.evidence`` matches for ``value`` (ids, names, aliases, labels)."""
    if kind in ("actor", "person", "org"):
        v = value.lower()
        return [r[0] for r in con.execute(ENTITY_LOOKUP, [value, v, v]).fetchall()]
    if kind == "theme":
        rows = con.execute("SELECT theme_id FROM themes WHERE lower(label) = ?", [value.lower()])
        return list(dict.fromkeys([value, *(r[0] for r in rows.fetchall())]))
    return [value.upper() if kind == "country" else value]


def _spans(
    con: duckdb.DuckDBPyConnection, kind: str, keys: list[str], f: Filter, n: int | None,
    cols: str, p_cols: list[Any],
) -> pd.DataFrame:  # fmt: skip
    ws, ps = _where(f, "s")
    if not keys:
        keys = [""]  # no such key: an empty frame with the right columns
    where = f"s.kind = ? AND s.key IN ({store.in_list_params(keys)}) AND {ws}"
    params: list[Any] = ["entity" if kind in ("actor", "person", "org") else kind, *keys, *ps]
    if kind in ("person", "org"):
        where += " AND s.etype = ?"
        params.append(kind.upper())
    picked = _PICK_SPANS.format(where=where, limit=_limit(n))
    params += _p_limit(n)
    look, p_look = _lookup(con, picked, params)
    q = _SPANS_SQL.format(picked=picked, cols=cols, lookup=look, mat=_mat(look))
    params = [*params, *p_look, *p_cols]
    df = con.execute(q, params).df()
    df.attrs.update({"sql": q, "params": params, "source": "aggregates"})
    return df


def evidence(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    value: str,
    filter: Filter | dict[str, Any] | None = None,
    n: int | None = 200,
) -> pd.DataFrame:
    """``query.evidence`` for the kinds in ``SPAN_KINDS`` from ``agg_spans``."""
    f = as_filter(filter)
    lo, hi = "coalesce(s.start_char, x.start_char)", "coalesce(s.end_char, x.end_char)"
    cols = _EVIDENCE_COLS.format(lo=lo, hi=hi)
    df = _spans(con, kind, _span_keys(con, kind, value), f, n, cols, [])
    df.attrs.update({"kind": kind, "value": value, "counts": "spans", "filter": f.describe()})
    return df


def kwic_entity(
    con: duckdb.DuckDBPyConnection,
    ids: list[str],
    window: int,
    filter: Filter | dict[str, Any] | None = None,
    n: int | None = 200,
) -> pd.DataFrame:
    """The entity branch of ``query.kwic`` (resolved ``ids``) from ``agg_spans``."""
    f = as_filter(filter)
    return _spans(con, "actor", list(ids), f, n, _KWIC_COLS, [window, window, window])


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


def quotes(
    con: duckdb.DuckDBPyConnection,
    actor: str | None = None,
    filter: Filter | dict[str, Any] | None = None,
    n: int | None = 100,
) -> pd.DataFrame:
    """``query.quotes`` from ``agg_quotes`` (it carries the displayed columns): the first
    ``n`` (aid, quote_idx) are picked from the narrow id columns, then only their ``aid``
    range of ``agg_quotes`` (sorted by aid: zone maps) is read for the text."""
    f = as_filter(filter)
    where, params = _where(f, "x")
    lim, p_lim = _limit(n), _p_limit(n)
    pick = "SELECT x.aid, x.quote_idx FROM agg_quotes x WHERE {w} ORDER BY x.aid, x.quote_idx "
    if actor:
        a = actor.lower()
        found = [r[0] for r in con.execute(ENTITY_LOOKUP, [actor, a, a]).fetchall()]
        ids = list(dict.fromkeys([actor, *found]))  # the id itself even if not in entities
        # two pushed-down filters, each its own first n, instead of one OR over every row
        w_id = f"{where} AND x.speaker_entity_id IN ({store.in_list_params(ids)})"
        w_lc = f"{where} AND x.speaker_lc = ?"
        picked = (
            f"SELECT * FROM (({pick.format(w=w_id)}{lim}) UNION "  # noqa: S608
            f"({pick.format(w=w_lc)}{lim})) u ORDER BY aid, quote_idx {lim}"
        )
        params = [*params, *ids, *p_lim, *params, a, *p_lim, *p_lim]
    else:
        picked = pick.format(w=where) + lim
        params = [*params, *p_lim]
    rows = con.execute(f"SELECT min(aid), max(aid) FROM ({picked})", params).fetchone()  # noqa: S608
    span, p_span = "x.aid >= ? AND x.aid <= ?", [rows[0], rows[1]]
    if rows[0] is None:
        span, p_span = "FALSE", []
    q = _QUOTES_SQL.format(picked=picked, cols=_QUOTE_COLS, span=span)
    params = [*params, *p_span]
    df = con.execute(q, params).df()
    df.attrs.update({"counts": "quotes", "filter": f.describe(), "sql": q, "params": params,
                     "source": "aggregates"})  # fmt: skip
    return df
