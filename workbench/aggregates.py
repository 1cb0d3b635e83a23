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
stale aggregate is never used. The planner of ``workbench.query`` asks :func:`serves` (only
date/outlet filters, no dedup, fresh) before it runs a plan on them; the SQL that reads them
is ``workbench.query_agg`` (same columns and numbers as the base tables: ``tests/test_engines.py``).
"""

from __future__ import annotations

import time
from typing import Any

import duckdb

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
        "FROM quotes WHERE speaker_entity_id IS NOT NULL AND NOT coalesce(fragment, false) "
        "GROUP BY ALL"
    ),
}
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


def _pair_sql(kind_a: str, kind_b: str) -> str:
    """Per-article pairs of one kind pair (both sides from ``agg_article_keys``)."""
    types = ", ".join(f"'{t}'" for t in PAIR_ETYPES)  # fixed constants, not user values

    def side(kind: str, x: str) -> str:
        etype = f" AND {x}.etype IN ({types})" if kind == "entity" else ""
        return f"{x}.kind = '{kind}'{etype}"

    wa, wb = side(kind_a, "a"), side(kind_b, "b")
    same = " AND a.key < b.key" if kind_a == kind_b else ""
    return (
        "SELECT a.kind AS kind_a, a.etype AS etype_a, a.key AS key_a, b.kind AS kind_b, "  # noqa: S608
        "b.etype AS etype_b, b.key AS key_b, date_trunc('month', a.date)::DATE AS date, "
        "a.source, count(*)::BIGINT AS articles "
        f"FROM agg_article_keys a JOIN agg_article_keys b ON b.aid = a.aid "
        f"WHERE {wa} AND {wb}{same} GROUP BY ALL"
    )


def _refresh_sql() -> list[tuple[str, str]]:
    """(table, CREATE statement) in build order; every statement is fixed SQL."""
    union = " UNION ALL ".join(
        f"SELECT '{kind}' AS kind, d.* FROM ({sql}) d"  # noqa: S608 - fixed SQL
        for kind, sql in _DIMS.items()
    )
    pairs = " UNION ALL ".join(_pair_sql(a, b) for a, b in PAIR_KINDS)
    return [
        # one row per article, numbered in (date NULLS LAST, article_id) order: ``aid`` is
        # the sort key of every evidence/articles/quotes listing, and an integer join key
        (
            "agg_articles",
            "SELECT (row_number() OVER (ORDER BY a.date NULLS LAST, a.article_id))::INTEGER AS aid,"
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
            f"FROM ({union}) d JOIN agg_articles a ON a.article_id = d.article_id "
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
            "SELECT s.kind, s.etype, s.key, a.aid, a.date, a.source, s.sentence_idx, "
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
            "JOIN agg_articles a ON a.article_id = s.article_id "
            "ORDER BY s.kind, s.key, a.aid, s.start_char",
        ),
        # sentence offsets (the text is ``articles.text[start:end]``, see extract.doc_rows)
        (
            "agg_sentences",
            "SELECT a.aid, s.idx, s.start_char, s.end_char FROM sentences s "
            "JOIN agg_articles a ON a.article_id = s.article_id ORDER BY a.aid, s.idx",
        ),
        (
            "agg_quotes",
            "SELECT a.aid, a.date, a.source, q.quote_idx, q.speaker_entity_id, "
            "lower(q.speaker) AS speaker_lc, q.sentence_idx, q.start_char, q.end_char, "
            "q.speaker, q.cue, q.text FROM quotes q "
            "JOIN agg_articles a ON a.article_id = q.article_id ORDER BY a.aid, q.quote_idx",
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
    """Rebuild the ``agg_*`` tables from the base tables in one transaction: all of them, or
    (unless ``full``) only the tables an older layout lacks when the rows are unchanged.

    Returns the row count of each table, ``seconds`` (all), ``table_seconds`` (the rebuilt
    tables) and ``rebuilt``."""
    t0 = time.perf_counter()
    out: dict[str, Any] = {}
    secs: dict[str, float] = {}
    only = None if full else _upgrade_tables(con)
    con.execute("BEGIN TRANSACTION")
    try:
        for table, sql in _refresh_sql():
            if only is not None and table not in only:
                continue
            t1 = time.perf_counter()
            con.execute(f"CREATE OR REPLACE TABLE {store.quote_ident(table)} AS {sql}")
            secs[table] = round(time.perf_counter() - t1, 2)
        store.set_meta(con, _META_KEY, fingerprint(con))
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    for table in TABLES:
        out[table] = con.execute(f"SELECT count(*) FROM {store.quote_ident(table)}").fetchone()[0]  # noqa: S608
    out["seconds"] = time.perf_counter() - t0
    out["table_seconds"] = secs
    out["rebuilt"] = list(secs)
    return out


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
