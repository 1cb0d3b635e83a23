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
  ``workbench.query.api`` (``entity`` rows carry the entity type in ``etype``, so ``actor``,
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
stale aggregate is never used. The planner of ``workbench.query.api`` asks :func:`serves` (only
date/outlet filters, no dedup, fresh) before it runs a plan on them; the SQL that reads them
is ``workbench.query.query_agg`` (same columns and numbers as the base tables: ``tests/test_engines.py``).
"""

from __future__ import annotations

import time
from typing import Any

import duckdb

from ..annotate import tone
from ..base import store
from ..base.filters import Filter, as_filter

#: kind -> (SQL of (article_id, etype, key, mentions) rows without its WHERE/GROUP BY, the
#: table or alias holding ``article_id``, its conditions) -- mirrors workbench.query.api's dims.
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
_VERSION = "agg4"  # bump when the tables change: an older build is then stale
#: Tables whose definition changed since an older ``_VERSION``: :func:`refresh` rebuilds only
#: these when the stored stamp is that version's stamp of the CURRENT rows (nothing else
#: changed), e.g. agg2 -> agg3: ``agg_quotes`` carries the displayed quote columns. agg4
#: counts positive/negative tone as annotate/tone.py does (>= / <=), so every tone column is rebuilt.
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
    f"count(*) FILTER (WHERE t.tone <= {tone.NEGATIVE}) AS tone_neg, "
    f"count(*) FILTER (WHERE t.tone >= {tone.POSITIVE}) AS tone_pos"
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
    return [
        *_article_tables_sql(),
        *_key_tables_sql(arts, only=only),
        *_pair_tables_sql(),
        *_listing_tables_sql(arts),
    ]


def _article_tables_sql() -> list[tuple[str, str]]:
    """``agg_articles`` and ``agg_daily`` of a full build (an incremental refresh numbers its
    changed articles in :func:`_place_changed` and adds ``agg_daily`` by delta instead)."""
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
    ]


def _key_tables_sql(arts: str, *, only: bool) -> list[tuple[str, str]]:
    """``agg_article_keys`` (read from the articles numbered in ``arts``) and the per-day,
    -week and -month key sums built from it."""
    union = " UNION ALL ".join(
        f"SELECT '{kind}' AS kind, d.* FROM ({_dim_sql(kind, only=only)}) d"  # noqa: S608 - fixed SQL
        for kind in _DIMS
    )
    return [
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
    ]


def _pair_tables_sql() -> list[tuple[str, str]]:
    """The monthly pair roll-ups of ``PAIR_KINDS`` and their all-time sums."""
    pairs = " UNION ALL ".join(_pair_sql(a, b) for a, b in PAIR_KINDS)
    return [
        # articles shared by two keys, per month and outlet (partial months: agg_article_keys)
        ("agg_pairs_m", f"SELECT * FROM ({pairs}) ORDER BY kind_a, kind_b, date, key_a, key_b"),  # noqa: S608
        (
            "agg_pairs",
            "SELECT kind_a, etype_a, key_a, kind_b, etype_b, key_b, source, "
            "sum(articles)::BIGINT AS articles FROM agg_pairs_m GROUP BY ALL "
            "ORDER BY kind_a, kind_b, key_a, key_b",
        ),
    ]


def _listing_tables_sql(arts: str) -> list[tuple[str, str]]:
    """The narrow per-article listing tables (spans, sentences, quotes) of the articles
    numbered in ``arts``, each in the order its listing reads it."""
    return [
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
    with store.transaction(con):
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
    f"sum(t.sgn) FILTER (WHERE t.tone <= {tone.NEGATIVE}) AS tone_neg, "
    f"sum(t.sgn) FILTER (WHERE t.tone >= {tone.POSITIVE}) AS tone_pos"
)
_TONE_NAMES = ("tone_rows", "tone_n", "tone_sum", "tone_sq", "tone_neg", "tone_pos")
_ART_COLS = "aid, article_id, date, source, n_words, tone, has_tone"


def _incremental(con: duckdb.DuckDBPyConnection, secs: dict[str, float]) -> int | None:
    """Update the aggregates by delta for the articles whose digest changed (inside the
    caller's transaction); the number of such articles, or None when a full rebuild is due
    (too many changed, or no room left in an ``aid`` gap)."""
    t1 = time.perf_counter()
    _find_changed(con)
    secs["digests"] = round(time.perf_counter() - t1, 2)
    (k,) = con.execute(f"SELECT count(*) FROM {_IDS}").fetchone()  # noqa: S608
    (total,) = con.execute("SELECT count(*) FROM articles").fetchone()
    if k > FULL_SHARE * max(total, 1):
        return None
    if k == 0:
        return 0
    t1 = time.perf_counter()
    ids = f"(SELECT article_id FROM {_IDS})"  # noqa: S608 - fixed SQL
    if not _place_changed(con, ids):
        return None
    sql = _signed_rows(con)
    secs["changed rows"] = round(time.perf_counter() - t1, 2)
    sums = _delta_sums()
    for table, (keys, delta) in sums.items():
        t1 = time.perf_counter()
        _add_delta(con, table, keys, delta)
        secs[table] = round(time.perf_counter() - t1, 2)
    t1 = time.perf_counter()
    _replace_article_rows(con, ids, sql)
    secs["per-article tables"] = round(time.perf_counter() - t1, 2)
    _drop_temps(con, sums)
    return int(k)


def _find_changed(con: duckdb.DuckDBPyConnection) -> None:
    """``_agg_dig`` (the current digests) and ``_IDS`` (the articles whose digest differs
    from the stored one: changed, added or removed)."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE _agg_dig AS {_DIGEST_SQL}")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_IDS} AS SELECT coalesce(n.article_id, o.article_id) "  # noqa: S608
        f"AS article_id FROM _agg_dig n FULL JOIN {DIGESTS} o ON o.article_id = n.article_id "
        "WHERE n.digest IS DISTINCT FROM o.digest"
    )


def _place_changed(con: duckdb.DuckDBPyConnection, ids: str) -> bool:
    """``_agg_old`` (the changed articles' stored rows) and ``_agg_new`` (their new rows,
    numbered); False when an ``aid`` gap has no room left for its new articles."""
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
        return False
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _agg_new AS SELECT coalesce(p.aid, CASE "  # noqa: S608
        f"WHEN g.succ IS NULL THEN coalesce(g.pred, 0) + g.r * {AID_STEP} "
        f"WHEN g.pred IS NULL THEN g.succ - (g.k + 1 - g.r) * {AID_STEP} "
        "ELSE g.pred + (g.succ - g.pred) * g.r // (g.k + 1) END)::BIGINT AS aid, "
        "p.article_id, p.date, p.source, p.n_words, p.tone, p.has_tone "
        "FROM _agg_place p LEFT JOIN _agg_gaps g ON g.article_id = p.article_id"
    )
    return True


def _signed_rows(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """``_agg_sa``/``_agg_sk``: the changed articles' old rows (``sgn`` -1) and new ones
    (+1), so one GROUP BY gives each sum's delta; the per-article SQL of the new rows."""
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
    return sql


def _delta_sums() -> dict[str, tuple[tuple[str, ...], str]]:
    """table -> (its key columns, the SELECT of its signed delta), in update order (the
    week/month and all-time sums read the deltas of the tables before them)."""
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
    return sums


def _replace_article_rows(con: duckdb.DuckDBPyConnection, ids: str, sql: dict[str, str]) -> None:
    """Per-article rows: the changed articles' old rows out, their new rows in."""
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


def _drop_temps(con: duckdb.DuckDBPyConnection, sums: dict[str, Any]) -> None:
    """Drop the temporary tables of an incremental refresh."""
    for t in ("_agg_dig", _IDS, "_agg_old", "_agg_place", "_agg_gaps", "_agg_new", "_agg_sa",
              "_agg_ak", "_agg_sk", *(f"_agg_delta_{t}" for t in sums)):  # fmt: skip
        con.execute(f"DROP TABLE IF EXISTS {store.quote_ident(t)}")


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
