"""Query API: the slices analysts ask for, aggregated in DuckDB, every number traceable.

Every function takes a DuckDB connection and a :class:`~workbench.base.filters.Filter` (or a dict
of its fields, or None), returns a pandas DataFrame, and with ``sql=True`` returns the
``(query, params)`` it would run instead, so the numbers can be re-derived by hand.

Each function validates its options and writes ONE :class:`~workbench.query.plans.Plan`; the
planner (:func:`choose_engine`) runs it on the pre-aggregates (``query_agg``) when they hold
the kind, the filter has only dates and outlets, and they are fresh, else on the base
tables (``query_base``). Both give the same frame; ``engine=`` forces one. Every frame
carries in ``attrs``: ``filter`` (its description), ``unit``, ``sql`` and ``params`` (what
actually ran), ``engine`` (``base`` or ``aggregates``) and what the query says it counts
(``kind``, ``freq``, ``counts``, …).

What is counted, everywhere:

- ``articles``: distinct articles (after the filter and its dedup mode). The unit of every
  share, ranking and association measure. With ``Filter(dedup="text")`` each counted
  article stands for a unique text, with ``dedup="story"`` for a story (near-duplicates
  grouped, see ``workbench.annotate.stories``); every frame says which in ``attrs["unit"]``
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
import math
import re
from collections.abc import Callable
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from ..annotate import sources
from ..base import errors
from ..base.filters import DEDUP_UNITS, Filter, as_filter, compose
from ..base.store import in_list_params, quote_ident
from ..resolve import places
from . import aggregates, query_agg, query_base
from .kinds import (
    AGG_KINDS,
    KINDS,
    NO_LIMIT,
    PLACE_KEYS,
    PLACE_KINDS,
    SqlResult,
    find_entities,
    finish,
    kind,
)
from .plans import ENGINES, Plan

__all__ = ["KINDS", "PLACE_KINDS", "FREQS", "SORTS", "as_filter", "choose_engine"]

FREQS = ("day", "week", "month", "quarter", "year")
SORTS = ("articles", "pmi", "npmi", "lift")
_EXECUTORS = {"base": query_base, "aggregates": query_agg}
#: Post-processing of a frame after its SQL ran (the same on either engine).
_Post = Callable[[duckdb.DuckDBPyConnection, Plan, pd.DataFrame], pd.DataFrame]


# ---------------------------------------------------------------------------- building blocks
def _check(what: str, value: Any, allowed: tuple[Any, ...]) -> None:
    if value not in allowed:
        raise errors.BadOption(errors.unknown_option(what, value, ", ".join(map(str, allowed))))


def _check_n(n: int | None, name: str = "n") -> None:
    if n is not None and (not isinstance(n, int) or n < 1):
        raise errors.BadOption(f"{name} must be a positive integer or None, got {n!r}")


def choose_engine(con: duckdb.DuckDBPyConnection, plan: Plan, engine: str | None = None) -> str:
    """The engine that runs ``plan``: the pre-aggregates when they hold it, its filter has
    only dates and outlets (no dedup) and they are fresh, else the base tables. ``engine``
    forces one; forcing the aggregates where they cannot answer is an error."""
    if engine is not None:
        _check("engine", engine, ENGINES)
    if engine == "base":
        return "base"
    ok = query_agg.can_answer(plan) and aggregates.serves(con, plan.filter)
    if engine == "aggregates" and not ok:
        raise errors.BadOption(
            f"the pre-aggregates cannot answer this {plan.query} (kinds {plan.kinds}, filter "
            f"{plan.filter.describe()}): they hold date/outlet filters without dedup and must be "
            "fresh (wb.refresh_aggregates()); use engine=None or 'base'"
        )
    return "aggregates" if ok else "base"


def run(
    con: duckdb.DuckDBPyConnection,
    plan: Plan,
    *,
    sql: bool = False,
    engine: str | None = None,
    post: _Post | None = None,
) -> pd.DataFrame | SqlResult:
    """Execute a plan on the engine :func:`choose_engine` picks; with ``sql`` return the
    ``(query, params)`` that engine would run. The frame's ``attrs`` are stamped here, once,
    whichever engine answered."""
    used = choose_engine(con, plan, engine)
    q, params = _EXECUTORS[used].BUILD[plan.query](con, plan)
    if sql:
        return q, params
    return _execute(con, plan, used, q, params, post)


def _execute(
    con: duckdb.DuckDBPyConnection,
    plan: Plan,
    used: str,
    q: str,
    params: list[Any],
    post: _Post | None,
) -> pd.DataFrame:
    """Run the SQL built for ``plan`` on engine ``used``, finish the frame and stamp its
    ``attrs`` (the one place that does, so every reader tells the same truth)."""
    df = finish(con.execute(q, params).df(), list(plan.labels))
    df.attrs["engine"] = used  # a post step may count on the same engine
    if post is not None:
        df = post(con, plan, df)
    df.attrs.update(plan.meta)
    df.attrs.update(
        {
            "filter": plan.filter.describe(),
            "unit": DEDUP_UNITS[plan.filter.dedup],
            "sql": q,
            "params": params,
            "engine": used,
        }
    )
    return df


# ---------------------------------------------------------------------------- top
def top(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    n: int | None = 20,
    filter: Filter | dict[str, Any] | None = None,
    *,
    by: str | None = None,
    sql: bool = False,
    engine: str | None = None,
) -> pd.DataFrame | SqlResult:
    """The ``n`` most covered actors/countries/themes/sources/… in the filtered articles.

    Columns: ``key``, ``label``, ``articles`` (distinct articles that mention it — the
    ranking), ``mentions`` (occurrences in them), ``share`` (articles / filtered articles).

    ``by``: an outlet attribute (``wb.sources()``: country, type, partisanship, …): the top
    ``n`` within each group of outlets sharing a value of it, in a first column named after
    the attribute (outlets without it are left out); ``share`` is of the group's filtered
    articles. With a dedup mode each group is deduplicated on its own, as its own filter.
    """
    _check_n(n)
    _kind(kind)
    f = as_filter(filter)
    if by is not None:
        groups = sources.groups(con, by)  # names the known attributes when there is none
        if f.dedup != "none":  # a story counts once per group: one filter per group
            return _top_per_group(con, kind, n, f, by, groups, sql=sql, engine=engine)
    plan = Plan(
        "top", f, (kind,), {"n": n, "by": by}, {"kind": kind, "counts": "articles", "by": by},
        ((kind, "label"),),
    )  # fmt: skip
    return run(con, plan, sql=sql, engine=engine, post=_group_column)


def _group_column(con: duckdb.DuckDBPyConnection, plan: Plan, df: pd.DataFrame) -> pd.DataFrame:
    """The group column (SQL alias ``grp``) named after the attribute."""
    return df.rename(columns={"grp": plan["by"]}) if plan["by"] else df


def _top_per_group(
    con: duckdb.DuckDBPyConnection, kind: str, n: int | None, f: Filter, by: str,
    groups: dict[str, tuple[str, ...]], *, sql: bool, engine: str | None,
) -> pd.DataFrame | SqlResult:  # fmt: skip
    """``top(by=...)`` under a dedup mode: each group's own top (its own representatives)."""
    frames, queries = [], []
    for value, outlets in groups.items():
        keep = tuple(o for o in outlets if not f.sources or o in f.sources)
        if keep:
            out = top(con, kind, n, f.replace(sources=keep), sql=sql, engine=engine)
            if isinstance(out, tuple):
                queries.append(out)
                continue
            out.insert(0, by, value)
            frames.append(out)
    if sql:
        return "\n;\n".join(q for q, _ in queries), [p for _, ps in queries for p in ps]
    if not frames:
        return pd.DataFrame(columns=[by, "key", "label", "articles", "mentions", "share"])
    df = pd.concat(frames, ignore_index=True)
    df.attrs.update({**frames[0].attrs, "by": by, "filter": f.describe()})
    return df


def _kind(name: str | None) -> None:
    """A BadOption unless ``name`` is a kind of the registry."""
    kind(name)


# ---------------------------------------------------------------------------- coverage
def _values(by: str | None, values: Any) -> list[str] | None:
    """``coverage(values=...)`` as a list (country codes upper-cased), or None for top n."""
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
    return vals


def _value_column(con: duckdb.DuckDBPyConnection, plan: Plan, df: pd.DataFrame) -> pd.DataFrame:
    df["value"] = df[plan.meta["value"]]
    return df


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
    engine: str | None = None,
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
    if by is not None:
        _kind(by)
    vals = _values(by, values)
    value = "share" if normalize else "articles"
    plan = Plan(
        "coverage",
        as_filter(filter),
        (by,),
        {"freq": freq, "n": n, "values": vals},
        {"kind": by, "freq": freq, "value": value, "counts": "articles"},
        ((by, "label"),),
    )
    return run(con, plan, sql=sql, engine=engine, post=_value_column)


# ---------------------------------------------------------------------------- co-occurrence
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
    engine: str | None = None,
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
    _kind(kind_a)
    _kind(kind_b)
    plan = Plan(
        "cooccurrence",
        as_filter(filter),
        (kind_a, kind_b),
        {"n": n, "min_articles": min_articles, "sort": sort, "top_a": top_a, "top_b": top_b},
        {
            "kind_a": kind_a,
            "kind_b": kind_b,
            "counts": "articles",
            "measure": "lift, pmi (log2 lift), npmi",
        },  # fmt: skip
        ((kind_a, "label_a"), (kind_b, "label_b")),
    )
    return run(con, plan, sql=sql, engine=engine)


# ---------------------------------------------------------------------------- compare sources
def compare(
    con: duckdb.DuckDBPyConnection,
    sources: list[str] | tuple[str, ...] | str | None = None,
    by: str = "actor",
    filter: Filter | dict[str, Any] | None = None,
    n: int | None = 15,
    *,
    sql: bool = False,
    engine: str | None = None,
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
    _kind(by)
    f = as_filter(filter)
    if sources is not None:
        f = f.replace(sources=sources)
    plan = Plan("compare", f, (by,), {"n": n}, {"kind": by, "counts": "articles"}, ((by, "label"),))
    return run(con, plan, sql=sql, engine=engine)


# ---------------------------------------------------------------------------- tone
def _no_period(con: duckdb.DuckDBPyConnection, plan: Plan, df: pd.DataFrame) -> pd.DataFrame:
    """Without a ``freq`` there is no period: no column of NaT that reads as missing data."""
    if plan["freq"] is None and "period" in df.columns:
        attrs = dict(df.attrs)
        df = df.drop(columns="period")
        df.attrs.update(attrs)
    return df


def tone(
    con: duckdb.DuckDBPyConnection,
    by: str = "date",
    freq: str | None = "month",
    filter: Filter | dict[str, Any] | None = None,
    n: int | None = 20,
    *,
    level: str = "article",
    sql: bool = False,
    engine: str | None = None,
) -> pd.DataFrame | SqlResult:
    """Mean tone by date, actor, country, region, theme or source (VADER compound, -1..1).

    ``level="article"``: the mean of article tones (``article_tone.tone``) over the articles
    that mention the key; ``articles`` counts them. ``level="sentence"``: the mean compound
    score of the sentences that mention the key (actor/country mentions, theme hits), which
    is closer to how the key itself is discussed; ``sentences`` and ``articles`` count them.
    ``negative``/``positive`` count units at or below -0.05 / at or above 0.05 (VADER's
    cut-offs, as ``annotate/tone.py`` labels them).

    ``by="date"`` gives one series per ``freq`` period; for other ``by`` values ``freq=None``
    (default for them is still ``"month"``; pass None) gives one row per key, else one row
    per (period, key). Undated articles are left out whenever a period is asked for.
    """
    _check("level", level, ("article", "sentence"))
    _check("by", by, (*AGG_KINDS, "date"))
    if by == "speaker":
        raise errors.BadOption("tone(by='speaker') is not defined; use quotes(actor=...)")
    if by == "date" and freq is None:
        raise errors.BadOption("tone(by='date') needs freq: day, week, month, quarter or year")
    if freq is not None:
        _check("freq", freq, FREQS)
    _check_n(n)
    plan = Plan(
        "tone",
        as_filter(filter),
        (by,),
        {"freq": freq, "n": n, "level": level},
        {"kind": by, "freq": freq, "level": level, "counts": f"{level}s"},
        ((by, "label"),),
    )
    return run(con, plan, sql=sql, engine=engine, post=_no_period)


# ---------------------------------------------------------------------------- quotes
def quotes(
    con: duckdb.DuckDBPyConnection,
    actor: str | None = None,
    filter: Filter | dict[str, Any] | None = None,
    n: int | None = 100,
    *,
    sql: bool = False,
    engine: str | None = None,
) -> pd.DataFrame | SqlResult:
    """Quotes (one row each, with offsets), optionally only those attributed to ``actor``
    (entity id, canonical name, or the speaker string as written; case-insensitive)."""
    _check_n(n)
    if actor is not None and not isinstance(actor, str):
        raise errors.BadOption(f"quotes(actor=...) must be a name or id (a string), got {actor!r}")
    plan = Plan("quotes", as_filter(filter), (), {"actor": actor, "n": n}, {"counts": "quotes"})
    return run(con, plan, sql=sql, engine=engine)


# ---------------------------------------------------------------------------- articles
def articles(
    con: duckdb.DuckDBPyConnection,
    filter: Filter | dict[str, Any] | None = None,
    n: int | None = 100,
    *,
    order: str = "date",
    sql: bool = False,
    engine: str | None = None,
) -> pd.DataFrame | SqlResult:
    """The filtered articles themselves (one row each): id, date, source, title, words, tone,
    BM25 ``score`` (when ``Filter.text`` is set and the index is ready) and a snippet.

    ``order``: ``date`` (oldest first), ``-date`` (newest first) or ``relevance`` (BM25).
    """
    _check("order", order, ("date", "-date", "relevance"))
    _check_n(n)
    plan = Plan("articles", as_filter(filter), (), {"n": n, "order": order}, {"counts": "articles"})
    return run(con, plan, sql=sql, engine=engine)


# ---------------------------------------------------------------------------- evidence / kwic
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
    engine: str | None = None,
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
    _kind(kind)
    _check_n(n)
    if not isinstance(value, str) or not value:
        raise errors.BadOption(f"evidence needs a non-empty value (id or name), got {value!r}")
    f = as_filter(filter)
    if period is not None:
        f = _period_filter(f, period, freq)
    plan = Plan(
        "evidence", f, (kind,), {"value": value, "n": n},
        {"kind": kind, "value": value, "counts": "spans"},
    )  # fmt: skip
    return run(con, plan, sql=sql, engine=engine)


def _flat(s: str) -> str:
    return re.sub(r"\s+", " ", s)


_KWIC_COLS = ["key", "article_id", "date", "source", "sentence_idx", "start_char", "end_char",
              "sentence", "left", "keyword", "right"]  # fmt: skip


def _occurrences(plan: Plan, df: pd.DataFrame) -> pd.DataFrame:
    """The term's whole-word occurrences in the matched sentences (``n`` at most), each
    with ``window`` characters of the article either side."""
    term, window = plan["term"], plan["window"]
    limit = plan["n"] if plan["n"] is not None else NO_LIMIT
    rx = re.compile(r"\b" + re.escape(term) + r"\b", re.IGNORECASE | re.ASCII)  # as RE2
    out = []
    for art, stamp, source, idx, s_start, sent, text in df.itertuples(index=False):
        date = None if pd.isna(stamp) else stamp.date()
        for m in rx.finditer(sent):
            start, end = s_start + m.start(), s_start + m.end()
            out.append(
                (term, art, date, source, idx, start, end, sent,
                 _flat(text[max(start - window, 0) : start]), text[start:end],
                 _flat(text[end : end + window]))
            )  # fmt: skip
            if len(out) >= limit:
                return pd.DataFrame(out, columns=_KWIC_COLS)
    return pd.DataFrame(out, columns=_KWIC_COLS)


def _kwic_post(con: duckdb.DuckDBPyConnection, plan: Plan, df: pd.DataFrame) -> pd.DataFrame:
    """Occurrences out of the term's sentences, flattened context, and ``attrs["total"]``/
    ``["total_articles"]``: all occurrences, not only the ``n`` listed (counted only when
    the list was cut), so a printed total is never the print limit."""
    if plan["ids"]:
        for c in ("left", "right"):
            df[c] = df[c].map(_flat)
    else:
        df = _occurrences(plan, df)
    n = plan["n"]
    if n is not None and len(df) >= n:
        engine = query_agg if plan["ids"] and df.attrs.get("engine") == "aggregates" else query_base
        total, arts = con.execute(*engine.kwic_totals(con, plan)).fetchone()
    else:
        total, arts = len(df), df["article_id"].nunique()
    df.attrs.update({"total": int(total), "total_articles": int(arts)})
    return df


def kwic(
    con: duckdb.DuckDBPyConnection,
    term_or_entity: str,
    window: int = 60,
    filter: Filter | dict[str, Any] | None = None,
    n: int | None = 200,
    *,
    entity: bool | None = None,
    sql: bool = False,
    engine: str | None = None,
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
    ids = find_entities(con, term) if entity is not False else []
    if entity and not ids:
        raise errors.BadOption(f"no entity named {term!r}; try wb.top('actor') for names")
    meta = {"kind": "entity", "value": term, "counts": "mentions"}
    if not ids:
        meta = {"kind": "term", "value": term, "counts": "occurrences"}
    plan = Plan(
        "kwic",
        as_filter(filter),
        (),
        {
            "term": term,
            "window": window,
            "n": n,
            "ids": ids,
            "pattern": r"(?i)\b" + re.escape(term) + r"\b",
        },  # fmt: skip
        meta,
    )
    return run(con, plan, sql=sql, engine=engine, post=_kwic_post)


def pmi(articles: int, articles_a: int, articles_b: int, total: int) -> float:
    """PMI in bits, as :func:`cooccurrence` computes it (for hand checks and notebooks)."""
    return math.log2(articles * total / (articles_a * articles_b))


# ---------------------------------------------------------------------------- report reads
# What maps and a shareable report need beyond the nine queries: places with their map
# points, the selection's size and provenance (its header stamp), and the newest sentences
# behind its top keys.
_POINTS_SQL = """WITH t AS ({top}),
pts AS (SELECT {key} AS key, any_value(p.iso3) AS iso3, any_value(p.fclass) AS fclass,
               avg(p.lat) AS lat, avg(p.lon) AS lon
        FROM mention_places p GROUP BY 1)
SELECT t.*, pts.iso3, pts.fclass, pts.lat, pts.lon
FROM t LEFT JOIN pts ON pts.key = t.key
WHERE ? IS NULL OR pts.iso3 = ?
ORDER BY t.articles DESC, t.mentions DESC, t.key
LIMIT ?"""


def _division_points(con: duckdb.DuckDBPyConnection, plan: Plan, df: pd.DataFrame) -> pd.DataFrame:
    """A division's own point (the gazetteer's), not the mean of its mentioned towns."""
    if plan.kind == "admin1":
        for i, k in enumerate(df["key"]):
            pt = places.admin1_point(*k.split(".", 1))
            if pt is not None:
                df.loc[i, ["lat", "lon"]] = pt
    return df


def place_points(
    con: duckdb.DuckDBPyConnection,
    kind: str = "place",
    n: int | None = 200,
    filter: Filter | dict[str, Any] | None = None,
    *,
    country: str | None = None,
    sql: bool = False,
) -> pd.DataFrame | SqlResult:
    """``top("place" | "admin1")`` with each key's ``iso3``, ``fclass``, ``lat`` and ``lon``
    (for ``charts.place_map`` / ``charts.admin1_map``): a town's point is the mean of its
    stored mentions' points, a division's the gazetteer's. ``country`` (ISO3) keeps the
    places inside it, among the articles that mention it; ``n`` applies after that."""
    _check("kind", kind, PLACE_KINDS)
    _check_n(n)
    f = as_filter(filter)
    iso3 = country.upper() if country is not None else None
    if iso3 is not None:
        f = f.replace(countries=(iso3,))
    plan = Plan(
        "top", f, (kind,), {"n": None, "by": None},
        {"kind": kind, "counts": "articles", "by": None}, ((kind, "label"),),
    )  # fmt: skip
    used = choose_engine(con, plan)
    top_q, top_params = _EXECUTORS[used].BUILD["top"](con, plan)
    q = compose(_POINTS_SQL, top=top_q, key=PLACE_KEYS[kind])
    params = [*top_params, iso3, iso3, n if n is not None else NO_LIMIT]
    if sql:
        return q, params
    return _execute(con, plan, used, q, params, _division_points)


_SELECTION_SQL = """WITH fa AS ({fa})
SELECT count(*) AS n, min(fa.date) AS date_min, max(fa.date) AS date_max,
       count(*) FILTER (WHERE fa.date IS NULL) AS undated,
       sha256(coalesce(string_agg(a.text_hash, ',' ORDER BY fa.article_id), '')) AS corpus_hash
FROM fa JOIN articles a ON a.article_id = fa.article_id"""


def selection(con: duckdb.DuckDBPyConnection, filter: Any = None) -> dict[str, Any]:
    """How many articles the filter admits, their date range, how many are undated, and a
    hash of their texts (so two reports can be told to rest on the same articles)."""
    f = as_filter(filter)
    fa, p_fa = query_base.articles_cte(con, f)
    n, dmin, dmax, undated, digest = con.execute(compose(_SELECTION_SQL, fa=fa), p_fa).fetchone()
    return {
        "articles": int(n),
        "date_min": dmin,
        "date_max": dmax,
        "undated": int(undated),
        "corpus_hash": str(digest),
        "filter": f.describe(),
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
    fa, p_fa = query_base.articles_cte(con, f)
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
    out.attrs.update({"kind": kind, "counts": "articles", "filter": f.describe()})
    return out[cols]
