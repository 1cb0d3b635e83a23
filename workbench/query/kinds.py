"""What a kind is (actor, person, org, country, region, theme, source, speaker, place,
admin1), in one registry both query engines read: the base tables (``query_base``) and the
pre-aggregates (``query_agg``).

A :class:`Kind` says where its (article, key, mentions) rows come from, how its key becomes
a label, which entity types it holds, where its evidence spans are and under which name the
pre-aggregates keep it. ``finish`` names countries and regions outside SQL,
``ENTITY_MATCH``/``find_entities`` find an entity by id, name or alias (case-insensitive),
and the co-occurrence tail scores ``pairs`` the same way on either engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..base import errors
from ..base.filters import compose
from ..base.store import in_list_params
from ..resolve.countries import country_name as _gazetteer_name

if TYPE_CHECKING:
    import duckdb

    from ..base.filters import Filter

SqlResult = tuple[str, list[Any]]

#: "No limit" as a bound LIMIT parameter (DuckDB needs a number there).
NO_LIMIT = 2**62

#: An entity by id, lower-cased name or lower-cased alias (params: id, name, alias), with
#: ``{id}`` the id column compared and ``{e}`` the alias of ``entities``.
ENTITY_MATCH = (
    "({id} = ? OR lower({e}.name) = ? "
    "OR list_contains(list_transform({e}.aliases, lambda x: lower(x)), ?))"
)
#: The entities :data:`ENTITY_MATCH` finds (params: id, name, alias).
ENTITY_LOOKUP = "SELECT e.entity_id FROM entities e WHERE " + ENTITY_MATCH.format(  # noqa: S608
    id="e.entity_id", e="e"
)


def entity_params(value: str) -> list[str]:
    """The parameters of :data:`ENTITY_MATCH` for a name or id as the user typed it."""
    return [value, value.lower(), value.lower()]


def find_entities(con: duckdb.DuckDBPyConnection, value: str) -> list[str]:
    """Entity ids whose id, name or alias is ``value`` (names and aliases case-insensitive)."""
    return [r[0] for r in con.execute(ENTITY_LOOKUP, entity_params(value)).fetchall()]


_ACTOR_DIM = (
    "SELECT m.article_id, m.entity_id AS key, count(*) AS mentions FROM mentions m "
    "JOIN entities e ON e.entity_id = m.entity_id WHERE e.type IN ({types}) "
    "AND m.article_id IN (SELECT article_id FROM fa) GROUP BY 1, 2"
)
_ACTOR_SENTENCES = (
    "SELECT DISTINCT m.article_id, m.sentence_idx, m.entity_id AS key FROM mentions m "
    "JOIN entities e ON e.entity_id = m.entity_id WHERE e.type IN ({types}) "
    "AND m.article_id IN (SELECT article_id FROM fa)"
)
_ACTOR_SPANS = (
    "SELECT m.article_id, m.sentence_idx, m.start_char, m.end_char, m.entity_id AS key "
    "FROM mentions m JOIN entities e ON e.entity_id = m.entity_id WHERE "
    + ENTITY_MATCH.format(id="e.entity_id", e="e")
)
_ENTITY_LABEL = ("LEFT JOIN entities {lab} ON {lab}.entity_id = {key}", "{lab}.name")
#: Keys of the place kinds (mention_places): a GeoNames id ("4180439"), or "USA.GA" for a
#: division without one; admin1 keys are "USA.GA".
_PLACE_KEY = "coalesce(CAST(p.geonameid AS VARCHAR), p.iso3 || '.' || p.admin1)"
_ADMIN1_KEY = "p.iso3 || '.' || p.admin1"
_PLACE_ON_MENTION = (
    "FROM mention_places p JOIN mentions m ON m.article_id = p.article_id "
    "AND m.start_char = p.start_char AND m.end_char = p.end_char "
)


@dataclass(frozen=True)
class Kind:
    """One kind of key a query can rank, count over time, pair or cite.

    ``dim``: (article_id, key, mentions) rows restricted to the CTE ``fa`` (``{types}``:
    entity-type placeholders). ``label``: (LEFT JOIN on ``{lab}``, label expression) for
    ``{key}``, or None when the key is its label (countries are named by :func:`finish`).
    ``types``: the entity types it holds, or None for ``Filter.actor_types`` (``actor``);
    ``()`` for kinds that are not entities. ``spans``: evidence rows (article_id,
    sentence_idx, start_char, end_char, key) with ``span_args`` saying how the searched
    value fills its parameters. ``sentences``: (article_id, sentence_idx, key) rows for
    sentence-level tone. ``agg``: its name in the pre-aggregates' ``agg_keys.kind``, or None
    when they do not hold it; ``agg_spans``: whether ``agg_spans`` holds its spans.
    """

    name: str
    noun: str
    dim: str
    label: tuple[str, str] | None = None
    types: tuple[str, ...] | None = ()
    spans: str | None = None
    span_args: tuple[str, ...] = ("as_is",)
    sentences: str | None = None
    agg: str | None = None
    agg_spans: bool = False

    @property
    def is_entity(self) -> bool:
        return self.types != ()

    def entity_types(self, f: Filter) -> tuple[str, ...]:
        """The entity types this kind counts under the filter (``actor``: its actor_types)."""
        return f.actor_types if self.types is None else self.types

    def dim_sql(self, f: Filter) -> SqlResult:
        """(article_id, key, mentions) rows of this kind, restricted to the CTE ``fa``."""
        if not self.is_entity:
            return self.dim, []
        types = self.entity_types(f)
        return compose(self.dim, types=in_list_params(types)), list(types)

    def sentence_sql(self, f: Filter) -> SqlResult:
        """(article_id, sentence_idx, key) rows of the sentences that mention a key."""
        if self.sentences is None:
            raise errors.BadOption(f"tone(by={self.name!r}, level='sentence') is not defined")
        if not self.is_entity:
            return self.sentences, []
        types = self.entity_types(f)
        return compose(self.sentences, types=in_list_params(types)), list(types)

    def span_sql(self, value: str) -> SqlResult:
        """Evidence spans of the key(s) ``value`` names (id, name, alias or label)."""
        assert self.spans is not None
        how: dict[str, Callable[[str], str]] = {
            "as_is": str, "lower": str.lower, "upper": str.upper}  # fmt: skip
        params: list[Any] = [how[a](value) for a in self.span_args]
        q = self.spans
        if self.types:  # person, org: one entity type of the actors
            q += " AND e.type IN (" + in_list_params(self.types) + ")"
            params += list(self.types)
        return q, params


_REGISTRY = (
    Kind(
        "actor",
        "actors",
        _ACTOR_DIM,
        _ENTITY_LABEL,
        None,
        _ACTOR_SPANS,
        ("as_is", "lower", "lower"),
        _ACTOR_SENTENCES,
        "entity",
        True,
    ),
    Kind(
        "person",
        "people",
        _ACTOR_DIM,
        _ENTITY_LABEL,
        ("PERSON",),
        _ACTOR_SPANS,
        ("as_is", "lower", "lower"),
        _ACTOR_SENTENCES,
        "entity",
        True,
    ),
    Kind(
        "org",
        "organisations",
        _ACTOR_DIM,
        _ENTITY_LABEL,
        ("ORG",),
        _ACTOR_SPANS,
        ("as_is", "lower", "lower"),
        _ACTOR_SENTENCES,
        "entity",
        True,
    ),
    Kind(
        "country",
        "countries",
        "SELECT ac.article_id, ac.iso3 AS key, sum(ac.mentions) AS mentions "
        "FROM article_countries ac WHERE ac.article_id IN (SELECT article_id FROM fa) "
        "GROUP BY 1, 2",
        spans="SELECT m.article_id, m.sentence_idx, m.start_char, m.end_char, "
        "m.country_iso3 AS key FROM mentions m WHERE m.country_iso3 = ?",
        span_args=("upper",),
        sentences="SELECT DISTINCT m.article_id, m.sentence_idx, m.country_iso3 AS key "
        "FROM mentions m WHERE m.country_iso3 IS NOT NULL "
        "AND m.article_id IN (SELECT article_id FROM fa)",
        agg="country",
        agg_spans=True,
    ),
    Kind(
        "region",
        "regions",
        "SELECT m.article_id, m.region AS key, count(*) AS mentions FROM mentions m "
        "WHERE m.region IS NOT NULL AND m.article_id IN (SELECT article_id FROM fa) "
        "GROUP BY 1, 2",
        spans="SELECT m.article_id, m.sentence_idx, m.start_char, m.end_char, m.region AS key "
        "FROM mentions m WHERE m.region = ?",
        sentences="SELECT DISTINCT m.article_id, m.sentence_idx, m.region AS key "
        "FROM mentions m WHERE m.region IS NOT NULL "
        "AND m.article_id IN (SELECT article_id FROM fa)",
        agg="region",
        agg_spans=True,
    ),
    Kind(
        "theme",
        "themes",
        "SELECT t.article_id, t.theme_id AS key, sum(coalesce(t.hits, 1)) AS mentions "
        "FROM article_themes t WHERE t.article_id IN (SELECT article_id FROM fa) GROUP BY 1, 2",
        ("LEFT JOIN themes {lab} ON {lab}.theme_id = {key}", "{lab}.label"),
        spans="SELECT h.article_id, h.sentence_idx, h.start_char, h.end_char, "
        "h.theme_id AS key FROM theme_hits h LEFT JOIN themes t ON t.theme_id = h.theme_id "
        "WHERE h.theme_id = ? OR lower(t.label) = ?",
        span_args=("as_is", "lower"),
        sentences="SELECT DISTINCT h.article_id, h.sentence_idx, h.theme_id AS key "
        "FROM theme_hits h WHERE h.article_id IN (SELECT article_id FROM fa)",
        agg="theme",
        agg_spans=True,
    ),
    Kind(
        "source",
        "outlets",
        "SELECT fa.article_id, fa.source AS key, 1 AS mentions FROM fa WHERE fa.source IS NOT NULL",
        spans="SELECT s.article_id, s.idx AS sentence_idx, s.start_char, s.end_char, "
        "fa.source AS key FROM sentences s JOIN fa ON fa.article_id = s.article_id "
        "WHERE s.idx = 0 AND fa.source = ?",
        sentences="SELECT st.article_id, st.sentence_idx, fa.source AS key "
        "FROM sentence_tone st JOIN fa ON fa.article_id = st.article_id "
        "WHERE fa.source IS NOT NULL",
        agg="source",
    ),
    Kind(
        "speaker",
        "speakers",
        "SELECT q.article_id, q.speaker_entity_id AS key, count(*) AS mentions FROM quotes q "
        "WHERE q.speaker_entity_id IS NOT NULL AND NOT coalesce(q.fragment, false) "
        "AND q.article_id IN (SELECT article_id FROM fa) GROUP BY 1, 2",
        _ENTITY_LABEL,
        spans="SELECT q.article_id, q.sentence_idx, q.start_char, q.end_char, "
        "coalesce(q.speaker_entity_id, q.speaker) AS key "
        "FROM quotes q LEFT JOIN entities e ON e.entity_id = q.speaker_entity_id "
        "WHERE q.speaker_entity_id = ? OR lower(e.name) = ? OR lower(q.speaker) = ?",
        span_args=("as_is", "lower", "lower"),
        agg="speaker",
    ),
    Kind(
        "place",
        "places",
        f"SELECT p.article_id, {_PLACE_KEY} AS key, count(*) AS mentions FROM mention_places p"  # noqa: S608
        " WHERE p.article_id IN (SELECT article_id FROM fa) GROUP BY 1, 2",
        (
            f"LEFT JOIN (SELECT {_PLACE_KEY} AS key, min(p.name) AS name FROM mention_places p"  # noqa: S608
            " GROUP BY 1) {lab} ON {lab}.key = {key}",
            "{lab}.name",
        ),
        spans=f"SELECT p.article_id, m.sentence_idx, p.start_char, p.end_char, {_PLACE_KEY} "
        f"AS key {_PLACE_ON_MENTION}WHERE {_PLACE_KEY} = ? OR lower(p.name) = ?",
        span_args=("as_is", "lower"),
    ),
    Kind(
        "admin1",
        "first-level divisions",
        f"SELECT p.article_id, {_ADMIN1_KEY} AS key, count(*) AS mentions"  # noqa: S608
        " FROM mention_places p WHERE coalesce(p.admin1, '') <> ''"
        " AND p.article_id IN (SELECT article_id FROM fa) GROUP BY 1, 2",
        (
            f"LEFT JOIN (SELECT {_ADMIN1_KEY} AS key,"  # noqa: S608
            " min(nullif(p.admin1_name, '')) AS name FROM mention_places p GROUP BY 1) {lab}"
            " ON {lab}.key = {key}",
            "{lab}.name",
        ),
        spans="SELECT p.article_id, m.sentence_idx, p.start_char, p.end_char, "
        f"{_ADMIN1_KEY} AS key {_PLACE_ON_MENTION}"
        "WHERE coalesce(p.admin1, '') <> '' "
        f"AND ({_ADMIN1_KEY} = ? OR lower(p.admin1_name) = ?)",
        span_args=("upper", "lower"),
    ),
)
#: Every kind by name.
REGISTRY: dict[str, Kind] = {k.name: k for k in _REGISTRY}
KINDS = tuple(REGISTRY)
#: Kinds the pre-aggregates hold; the others always run on the base tables.
AGG_KINDS = tuple(k.name for k in _REGISTRY if k.agg is not None)
#: Places below the country (``mention_places``): a town or state, and a first-level division.
PLACE_KINDS = ("place", "admin1")
#: The key of each place kind over ``mention_places p`` (the ``key`` its queries return).
PLACE_KEYS = {"place": _PLACE_KEY, "admin1": _ADMIN1_KEY}
#: Kinds the notebook explorers offer in their pickers.
EXPLORER_KINDS = (
    "actor",
    "person",
    "org",
    "country",
    "theme",
    "source",
    "speaker",
    "place",
    "admin1",
)
#: Kinds whose spans ``agg_spans`` holds.
SPAN_KINDS = tuple(k.name for k in _REGISTRY if k.agg_spans)


def kind(name: str | None) -> Kind:
    """The registry entry of a kind, or a BadOption naming the kinds there are."""
    if name not in REGISTRY:
        raise errors.BadOption(errors.unknown_option("kind", name, ", ".join(KINDS)))
    return REGISTRY[name]


#: How each kind's key becomes a label (LEFT JOIN on alias ``lab``), by kind.
LABEL_JOIN = {k.name: k.label for k in _REGISTRY if k.label is not None}


#: (source, grp) of every outlet with a value of one attribute (param: its JSON path).
OUTLET_GROUPS = (
    "SELECT s.source, json_extract_string(s.attrs, ?) AS grp FROM sources s WHERE grp IS NOT NULL"
)


def attribute_path(attribute: str) -> str:
    """The JSON path of an outlet attribute in ``sources.attrs``."""
    return f'$."{attribute}"'


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


def label_sql(kind: str | None, src: str, lab: str, *, col: str = "key") -> tuple[str, str]:
    """(join clause, label expression) for ``src.col`` (the key) of a kind."""
    k = REGISTRY.get(kind) if kind is not None else None
    key = f"{src}.{col}"
    if k is None or k.label is None:
        return "", key
    join, expr = k.label
    return join.format(lab=lab, key=key), f"coalesce({expr.format(lab=lab)}, {key})"


#: Keys present in the filter named by id or (lower-cased) label: ``coverage(values=...)``.
KEYS_GIVEN = (
    "SELECT DISTINCT {src}.key, 0 AS rank FROM {src} {join} "
    "WHERE {src}.key IN ({ph}) OR lower({label}) IN ({ph})"
)


def given_keys(kind: str, src: str, values: list[str]) -> SqlResult:
    """The keys CTE of ``coverage(values=...)``: the keys of ``src`` named by id or label."""
    join, label = label_sql(kind, src, "klab")
    q = compose(KEYS_GIVEN, src=src, join=join, label=label, ph=in_list_params(values))
    return q, [*values, *(v.lower() for v in values)]


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
    join_a, label_a = label_sql(kind_a, "s", "la", col="key_a")
    join_b, label_b = label_sql(kind_b, "s", "lb", col="key_b")
    order = {"articles": "s.articles", "lift": "s.lift", "pmi": "pmi", "npmi": "npmi"}[sort]
    q = compose(COOC_TAIL, label_a=label_a, label_b=label_b, join_a=join_a, join_b=join_b,
                order=order)  # fmt: skip
    return q, [n if n is not None else NO_LIMIT]
