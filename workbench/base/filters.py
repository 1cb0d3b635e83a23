"""The one filter object every query, chart, panel and report takes.

A :class:`Filter` says *which articles count*. :func:`filter_sql` turns it into a WHERE
fragment over ``articles`` with every value bound as a ``?`` parameter (never interpolated);
:func:`filtered_articles_sql` wraps that into the ``SELECT`` every query starts from, applying
the dedup mode.

Semantics: fields combine with AND; the values inside one field combine with OR
(``Filter(countries=("RUS", "UKR"))`` = articles that mention Russia *or* Ukraine).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from . import errors
from .store import in_list_params

DEDUP_MODES = ("none", "text", "story")

#: What a count is a count of, per dedup mode (frames say it in ``attrs["unit"]``).
DEDUP_UNITS = {"none": "articles", "text": "unique texts", "story": "stories"}

#: Entity types that count as "actors" unless ``Filter.entity_types`` says otherwise.
DEFAULT_ACTOR_TYPES = ("PERSON", "ORG")

_TUPLE_FIELDS = ("sources", "actors", "countries", "themes", "entity_types")


def _to_tuple(name: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Iterable):
        raise errors.BadOption(
            f"Filter.{name} must be a string or a list of strings, got {type(value).__name__}"
        )
    out = []
    for v in value:
        if v is None:
            continue
        if not isinstance(v, str):
            v = str(v)
        v = v.strip()
        if v:
            out.append(v)
    return tuple(dict.fromkeys(out))  # order kept, duplicates dropped


def _to_date(name: str, value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        return value.to_pydatetime().date()
    if isinstance(value, str):
        s = value.strip()
        try:
            if re.fullmatch(r"\d{4}", s):
                return dt.date(int(s), 1, 1) if name == "date_from" else dt.date(int(s), 12, 31)
            if re.fullmatch(r"\d{4}-\d{2}", s):
                y, m = (int(x) for x in s.split("-"))
                if name == "date_from":
                    return dt.date(y, m, 1)
                nxt = dt.date(y + (m == 12), m % 12 + 1, 1)
                return nxt - dt.timedelta(days=1)
            return dt.date.fromisoformat(s[:10])
        except ValueError:
            pass
    raise errors.BadOption(
        f"Filter.{name}={value!r} is not a date; use YYYY-MM-DD (or YYYY-MM / YYYY), "
        "a datetime.date, or None"
    )


def _to_float(name: str, value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise errors.BadOption(f"Filter.{name}={value!r} is not a number") from None


@dataclass(frozen=True)
class Filter:
    """Which articles count. Empty fields mean "no restriction".

    - ``date_from``/``date_to``: inclusive; ``"2022-03"`` or ``"2022"`` expand to the whole
      month/year. Undated articles are excluded as soon as either bound is set.
    - ``sources``: exact outlet names (``articles.source``).
    - ``actors``: entity ids or canonical names/aliases (case-insensitive); articles that
      mention any of them.
    - ``countries``: ISO 3166-1 alpha-3 codes; articles linked to any of them
      (``article_countries``).
    - ``themes``: theme ids or labels; articles tagged with any of them.
    - ``entity_types``: which entity types count as *actors* in actor queries (default
      PERSON and ORG). It does not restrict the articles.
    - ``text``: full-text query; BM25 over title+text when the index is built
      (``Workbench.index_search()``), else a case-insensitive substring search. All words
      must occur.
    - ``tone_min``/``tone_max``: inclusive bounds on the article tone (``article_tone.tone``).
    - ``dedup="text"`` counts articles with identical text (``text_hash``) once: syndicated
      copies collapse to the earliest (then lowest ``article_id``) copy *within the filter*.
      ``dedup="story"`` counts each story once (near-duplicates: re-headlined, trimmed or
      lightly edited copies, see ``workbench.annotate.stories``; needs ``wb.stories()`` first):
      the story's earliest article within the filter stands for it.

    Strings are accepted where tuples are expected, and date strings are parsed, so
    ``Filter(sources="Guardian", date_from="2022-03")`` works.
    """

    date_from: dt.date | str | None = None
    date_to: dt.date | str | None = None
    sources: tuple[str, ...] = field(default_factory=tuple)
    actors: tuple[str, ...] = field(default_factory=tuple)
    countries: tuple[str, ...] = field(default_factory=tuple)
    themes: tuple[str, ...] = field(default_factory=tuple)
    entity_types: tuple[str, ...] = field(default_factory=tuple)
    text: str | None = None
    tone_min: float | None = None
    tone_max: float | None = None
    dedup: str = "none"

    def __post_init__(self) -> None:
        put = object.__setattr__
        for name in _TUPLE_FIELDS:
            put(self, name, _to_tuple(name, getattr(self, name)))
        put(self, "countries", tuple(c.upper() for c in self.countries))
        put(self, "entity_types", tuple(t.upper() for t in self.entity_types))
        put(self, "date_from", _to_date("date_from", self.date_from))
        put(self, "date_to", _to_date("date_to", self.date_to))
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise errors.BadOption(
                f"Filter date range is empty: date_from={self.date_from} is after "
                f"date_to={self.date_to}; swap them"
            )
        bad = [c for c in self.countries if not re.fullmatch(r"[A-Z]{3}", c)]
        if bad:
            raise errors.BadOption(
                f"Filter.countries takes ISO 3166-1 alpha-3 codes (e.g. 'RUS'); got {bad!r}"
            )
        text = self.text.strip() if isinstance(self.text, str) else self.text
        if text is not None and not isinstance(text, str):
            raise errors.BadOption(f"Filter.text must be a string, got {type(text).__name__}")
        put(self, "text", text or None)
        put(self, "tone_min", _to_float("tone_min", self.tone_min))
        put(self, "tone_max", _to_float("tone_max", self.tone_max))
        if self.tone_min is not None and self.tone_max is not None:
            if self.tone_min > self.tone_max:
                raise errors.BadOption(
                    f"Filter tone range is empty: tone_min={self.tone_min} > "
                    f"tone_max={self.tone_max}"
                )
        dedup = (self.dedup or "none").lower() if isinstance(self.dedup, str) else self.dedup
        if dedup not in DEDUP_MODES:
            raise errors.BadOption(errors.unknown_option("dedup mode", self.dedup, DEDUP_MODES))
        put(self, "dedup", dedup)

    # ------------------------------------------------------------------ helpers
    def replace(self, **changes: Any) -> Filter:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    @property
    def is_empty(self) -> bool:
        return self == Filter()

    def describe(self) -> str:
        """Short human-readable summary, for chart subtitles and report captions."""
        parts = []
        if self.date_from or self.date_to:
            parts.append(f"{self.date_from or '…'} to {self.date_to or '…'}")
        for name in ("sources", "actors", "countries", "themes"):
            vals = getattr(self, name)
            if vals:
                parts.append(f"{name}: {', '.join(vals)}")
        if self.entity_types:
            parts.append(f"actor types: {', '.join(self.entity_types)}")
        if self.text:
            parts.append(f"text: {self.text!r}")
        if self.tone_min is not None or self.tone_max is not None:
            parts.append(
                f"tone {self.tone_min if self.tone_min is not None else '…'} to "
                f"{self.tone_max if self.tone_max is not None else '…'}"
            )
        if self.dedup != "none":
            parts.append(f"dedup: {self.dedup}")
        return "; ".join(parts) or "all articles"

    @property
    def actor_types(self) -> tuple[str, ...]:
        return self.entity_types or DEFAULT_ACTOR_TYPES


def as_filter(value: Filter | dict[str, Any] | None = None, **kw: Any) -> Filter:
    """Accept a Filter, a dict of its fields, or None (+ keyword overrides)."""
    if value is None:
        base = Filter()
    elif isinstance(value, Filter):
        base = value
    elif isinstance(value, dict):
        unknown = set(value) - {f.name for f in dataclasses.fields(Filter)}
        if unknown:
            raise errors.BadOption(
                f"unknown Filter field(s) {sorted(unknown)}; valid: "
                f"{[f.name for f in dataclasses.fields(Filter)]}"
            )
        base = Filter(**value)
    else:
        raise errors.BadOption(f"filter must be a Filter, a dict or None, not {type(value)!r}")
    kw = {k: v for k, v in kw.items() if v is not None and v != () and v != []}
    return dataclasses.replace(base, **kw) if kw else base


def _like_pattern(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def text_words(text: str) -> list[str]:
    """The words of a full-text query (as the substring fallback sees them)."""
    return [w for w in re.split(r"\s+", text.strip()) if w]


def compose(template: str, **parts: str) -> str:
    """Fill the ``{name}`` slots of a SQL template with trusted SQL fragments.

    The one place query text is assembled. Only placeholders (``?``), identifiers passed
    through ``store.quote_ident``/fixed aliases, and other composed fragments go in, never
    values: values travel separately as bound parameters.
    """
    return template.format(**parts)


_ACTOR_SQL = (
    "{a}.article_id IN (SELECT m.article_id FROM mentions m "
    "JOIN entities e ON e.entity_id = m.entity_id "
    "WHERE e.entity_id IN ({ph}) OR lower(e.name) IN ({ph}) "
    "OR list_has_any(list_transform(e.aliases, lambda x: lower(x)), [{ph}]))"
)
_COUNTRY_SQL = (
    "{a}.article_id IN (SELECT ac.article_id FROM article_countries ac WHERE ac.iso3 IN ({ph}))"
)
_THEME_SQL = (
    "{a}.article_id IN (SELECT atm.article_id FROM article_themes atm "
    "LEFT JOIN themes t ON t.theme_id = atm.theme_id "
    "WHERE atm.theme_id IN ({ph}) OR lower(t.label) IN ({ph}))"
)
_FTS_SQL = (
    "{a}.article_id IN (SELECT s.article_id FROM (SELECT article_id, "
    "fts_main_articles.match_bm25(article_id, ?, conjunctive := 1) AS score "
    "FROM articles) s WHERE s.score IS NOT NULL)"
)
_TONE_SQL = "{a}.article_id IN (SELECT t.article_id FROM article_tone t WHERE {conds})"
_ARTICLES_SQL = "SELECT {columns} FROM articles a WHERE {where}"
_STORY_SQL = (
    "SELECT {columns} FROM articles a "
    "LEFT JOIN story_clusters story_ ON story_.article_id = a.article_id WHERE {where} "
    "QUALIFY row_number() OVER (PARTITION BY coalesce(story_.story_id, a.article_id) "
    "ORDER BY a.date NULLS LAST, a.published NULLS LAST, a.article_id) = 1"
)


def filter_sql(
    f: Filter | None, alias: str = "a", *, fts: bool = False, fts_query: str | None = None
) -> tuple[str, list[Any]]:
    """WHERE fragment over ``articles AS <alias>`` and its bound parameters.

    ``fts=True`` uses the BM25 index (``fts_main_articles.match_bm25``) for ``text``; the
    caller decides (see ``search.fts_query``, which also gives ``fts_query``: the text cut to
    the index's own terms, bound instead of ``text``). Dedup is not part of the WHERE clause: use
    :func:`filtered_articles_sql`.
    """
    f = f or Filter()
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", alias):
        raise errors.BadOption(f"invalid table alias {alias!r}")
    a = alias
    clauses: list[str] = []
    params: list[Any] = []
    if f.date_from is not None:
        clauses.append(f"{a}.date >= ?")
        params.append(f.date_from)
    if f.date_to is not None:
        clauses.append(f"{a}.date <= ?")
        params.append(f.date_to)
    if f.sources:
        clauses.append(f"{a}.source IN ({in_list_params(f.sources)})")
        params.extend(f.sources)
    if f.actors:
        low = [x.lower() for x in f.actors]
        clauses.append(compose(_ACTOR_SQL, a=a, ph=in_list_params(f.actors)))
        params.extend([*f.actors, *low, *low])
    if f.countries:
        clauses.append(compose(_COUNTRY_SQL, a=a, ph=in_list_params(f.countries)))
        params.extend(f.countries)
    if f.themes:
        clauses.append(compose(_THEME_SQL, a=a, ph=in_list_params(f.themes)))
        params.extend([*f.themes, *(x.lower() for x in f.themes)])
    if f.text:
        if fts:
            clauses.append(compose(_FTS_SQL, a=a))
            params.append(fts_query or f.text)
        else:
            for w in text_words(f.text):
                clauses.append(f"(coalesce({a}.title, '') || ' ' || {a}.text) ILIKE ? ESCAPE '\\'")
                params.append(_like_pattern(w))
    if f.tone_min is not None or f.tone_max is not None:
        conds = []
        if f.tone_min is not None:
            conds.append("t.tone >= ?")
            params.append(f.tone_min)
        if f.tone_max is not None:
            conds.append("t.tone <= ?")
            params.append(f.tone_max)
        clauses.append(compose(_TONE_SQL, a=a, conds=" AND ".join(conds)))
    return (" AND ".join(clauses) or "TRUE"), params


def filtered_articles_sql(
    f: Filter | None, *, fts: bool = False, fts_query: str | None = None, columns: str = "a.*"
) -> tuple[str, list[Any]]:
    """``SELECT <columns> FROM articles a WHERE …`` with the dedup mode applied.

    ``dedup="text"`` keeps one article per ``text_hash`` among the articles that pass the
    filter (earliest date, then lowest ``article_id``), so a copy outside the filter never
    hides one inside it. ``dedup="story"`` keeps one article per story
    (``story_clusters``) the same way; articles not clustered yet count as their own story.
    """
    f = f or Filter()
    where, params = filter_sql(f, "a", fts=fts, fts_query=fts_query)
    if f.dedup == "story":
        return compose(_STORY_SQL, columns=columns, where=where), params
    sql = compose(_ARTICLES_SQL, columns=columns, where=where)
    if f.dedup == "text":
        sql += (
            " QUALIFY row_number() OVER (PARTITION BY a.text_hash "
            "ORDER BY a.date NULLS LAST, a.article_id) = 1"
        )
    return sql, params
