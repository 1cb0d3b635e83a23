"""SQL pieces about kinds that both query engines use: the base-table one (``query``) and
the pre-aggregated one (``aggregates``). Below both, so neither imports the other for them.

``label_sql`` turns a kind's key into its readable label, ``finish`` names countries and
regions outside SQL, ``ENTITY_LOOKUP`` finds an entity by id, name or alias, and the
co-occurrence tail scores ``pairs`` the same way on either engine.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .countries import country_name as _gazetteer_name
from .filters import compose

SqlResult = tuple[str, list[Any]]

#: How each kind's key becomes a label (LEFT JOIN on alias ``lab``).
LABEL_JOIN = {
    "actor": ("LEFT JOIN entities {lab} ON {lab}.entity_id = {src}.key", "{lab}.name"),
    "speaker": ("LEFT JOIN entities {lab} ON {lab}.entity_id = {src}.key", "{lab}.name"),
    "theme": ("LEFT JOIN themes {lab} ON {lab}.theme_id = {src}.key", "{lab}.label"),
    "place": (
        "LEFT JOIN (SELECT coalesce(CAST(p.geonameid AS VARCHAR), p.iso3 || '.' || p.admin1)"
        " AS key, min(p.name) AS name FROM mention_places p GROUP BY 1) {lab}"
        " ON {lab}.key = {src}.key",
        "{lab}.name",
    ),
    "admin1": (
        "LEFT JOIN (SELECT p.iso3 || '.' || p.admin1 AS key,"
        " min(nullif(p.admin1_name, '')) AS name FROM mention_places p GROUP BY 1) {lab}"
        " ON {lab}.key = {src}.key",
        "{lab}.name",
    ),
}

#: An entity by id, lower-cased name or lower-cased alias (params: id, name, alias).
ENTITY_LOOKUP = (
    "SELECT entity_id FROM entities WHERE entity_id = ? OR lower(name) = ? "
    "OR list_contains(list_transform(aliases, lambda x: lower(x)), ?)"
)

#: Key lists of the co-occurrence CTEs ``na``/``nb``: all keys, or the top ``?`` by articles.
KEYS_ALL = "SELECT key FROM {n}"
KEYS_N = "SELECT key FROM {n} ORDER BY n DESC, m DESC, key LIMIT ?"

#: ``scored`` and the final SELECT of a co-occurrence (needs CTEs
#: ``pairs(key_a, key_b, articles)``, ``na``/``nb(key, n)`` and ``tot(n)``).
COOC_TAIL = """scored AS (
    SELECT p.key_a, p.key_b, p.articles, na.n AS articles_a, nb.n AS articles_b,
           tot.n AS total_articles,
           p.articles * tot.n / (na.n * nb.n) AS lift
    FROM pairs p JOIN na ON na.key = p.key_a JOIN nb ON nb.key = p.key_b CROSS JOIN tot)
SELECT s.key_a, {label_a} AS label_a, s.key_b, {label_b} AS label_b,
       s.articles, s.articles_a, s.articles_b, s.total_articles,
       s.lift, log2(s.lift) AS pmi,
       CASE WHEN s.articles < s.total_articles
            THEN log2(s.lift) / -log2(s.articles / s.total_articles) ELSE 1.0 END AS npmi
FROM scored s {join_a} {join_b}
ORDER BY {order} DESC, s.articles DESC, s.key_a, s.key_b
LIMIT ?"""


def label_sql(kind: str, src: str, lab: str) -> tuple[str, str]:
    """(join clause, label expression) for ``src.key``."""
    base = "actor" if kind in ("person", "org") else kind
    if base in LABEL_JOIN:
        join, expr = LABEL_JOIN[base]
        return (
            join.format(lab=lab, src=src),
            f"coalesce({expr.format(lab=lab)}, {src}.key)",
        )
    return "", f"{src}.key"


def country_name(code: str | None) -> str | None:
    """Readable name for an ISO3 or region code (the code itself when unknown)."""
    if code is None:
        return None
    return _gazetteer_name(code) or code


def finish(df: pd.DataFrame, kind_cols: list[tuple[str | None, str]]) -> pd.DataFrame:
    """Country labels (outside SQL: a 1:1 renaming, not an aggregation)."""
    for kind, col in kind_cols:
        if kind in ("country", "region") and col in df.columns:
            key = col.replace("label", "key")
            names: dict[Any, str | None] = {}  # one lookup per distinct code, not per row
            df[col] = [names[k] if k in names else names.setdefault(k, country_name(k))
                       for k in df[key].tolist()]  # fmt: skip
    return df


def cooccurrence_tail(kind_a: str, kind_b: str, sort: str, n: int | None) -> SqlResult:
    """The scoring CTE and final SELECT of a co-occurrence (labels, measures, order)."""
    join_a, label_a = label_sql(kind_a, "s", "la")
    join_b, label_b = label_sql(kind_b, "s", "lb")
    join_a = join_a.replace("s.key", "s.key_a")
    join_b = join_b.replace("s.key", "s.key_b")
    label_a = label_a.replace("s.key", "s.key_a")
    label_b = label_b.replace("s.key", "s.key_b")
    order = {"articles": "s.articles", "lift": "s.lift", "pmi": "pmi", "npmi": "npmi"}[sort]
    q = compose(COOC_TAIL, label_a=label_a, label_b=label_b, join_a=join_a, join_b=join_b,
                order=order)  # fmt: skip
    return q, [n if n is not None else 2**62]
