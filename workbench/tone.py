"""Tone: sentence and article sentiment with VADER, and tone per actor / per country.

Why VADER (vaderSentiment 3.3.2, Hutto & Gilbert, ICWSM 2014): a packaged, documented,
rule-based lexicon method that needs no weights and no network, and whose scores an analyst
can reproduce. Per sentence it gives ``pos``, ``neu``, ``neg`` (proportions summing to 1) and
``compound`` (normalised sum of valences, in [-1, 1]); VADER's authors call a sentence
positive at ``compound >= 0.05`` and negative at ``compound <= -0.05``.

Article tone = the mean of its sentences' compound scores (``n_sentences`` is stored with it),
so one strongly worded sentence in a long neutral article moves the tone only a little.
Actor and country tone are the mean compound of the sentences that mention them (each
sentence once per actor, however often it names the actor).

Caveat to tell readers: lexicon tone of *news* mostly reflects the events reported ("war",
"killed" are negative words) rather than the outlet's stance toward an actor.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

from . import store
from .filters import Filter, filter_sql
from .progress import progress_bar
from .themes import delete_for, mark_done, pending_articles

if TYPE_CHECKING:  # pragma: no cover
    import duckdb

STAGE = "tone"
#: Version of the method: bump when the scoring changes (re-scores everything).
TONE_VERSION = "vader-3.3.2-mean-v1"
POSITIVE = 0.05
NEGATIVE = -0.05
CHUNK = 1000


@dataclass
class ToneResult:
    articles: int = 0
    sentences: int = 0
    seconds: float = 0.0

    def __str__(self) -> str:
        return (
            f"tone ({TONE_VERSION}): {self.articles:,} articles, {self.sentences:,} sentences "
            f"scored in {self.seconds:.1f}s"
        )


_ANALYZER: Any = None


def analyzer() -> Any:
    """One shared VADER analyzer (loading its lexicon takes ~0.1 s)."""
    global _ANALYZER
    if _ANALYZER is None:
        # Loads the VADER lexicon: only when tone is scored.
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        _ANALYZER = SentimentIntensityAnalyzer()
    return _ANALYZER


def sentence_scores(text: str) -> dict[str, float]:
    """VADER scores of one sentence: compound in [-1, 1]; pos/neu/neg proportions."""
    return analyzer().polarity_scores(text)


def score_tone(
    con: duckdb.DuckDBPyConnection, *, progress: bool = True, chunk: int = CHUNK
) -> ToneResult:
    """Score sentences of the articles not yet scored (all of them when the method changed)."""
    t0 = time.perf_counter()
    result = ToneResult()
    if store.get_meta(con, "tone.version") != TONE_VERSION:
        con.execute("DELETE FROM stage_done WHERE stage = ?", [STAGE])
        store.set_meta(con, "tone.version", TONE_VERSION)
    ids = pending_articles(con, STAGE, TONE_VERSION)
    sia = analyzer()
    with progress_bar(desc="tone", unit="article", total=len(ids), enable=progress) as bar:
        for lo in range(0, len(ids), chunk):
            part = ids[lo : lo + chunk]
            con.register("_wb_tone_ids", pa.table({"article_id": pa.array(part, pa.string())}))
            try:
                rows = con.execute(
                    "SELECT s.article_id, s.idx, s.text FROM sentences s"
                    " JOIN _wb_tone_ids USING (article_id) ORDER BY s.article_id, s.idx"
                ).fetchall()
            finally:
                con.unregister("_wb_tone_ids")
            st: dict[str, list] = {
                k: [] for k in ("article_id", "sentence_idx", "compound", "pos", "neg", "neu")
            }
            per_article: dict[str, list[float]] = {a: [] for a in part}
            for aid, idx, text in rows:
                s = sia.polarity_scores(text or "")
                st["article_id"].append(aid)
                st["sentence_idx"].append(idx)
                for k in ("compound", "pos", "neg", "neu"):
                    st[k].append(float(s[k]))
                per_article[aid].append(float(s["compound"]))
            at = pa.table(
                {
                    "article_id": pa.array(part, pa.string()),
                    "tone": pa.array(
                        [sum(v) / len(v) if (v := per_article[a]) else None for a in part],
                        pa.float64(),
                    ),
                    "n_sentences": pa.array([len(per_article[a]) for a in part], pa.int32()),
                }
            )
            con.execute("BEGIN TRANSACTION")
            try:
                delete_for(con, ("sentence_tone", "article_tone"), part)
                store.insert_df(con, "sentence_tone", pa.table(st))
                store.insert_df(con, "article_tone", at)
                mark_done(con, STAGE, TONE_VERSION, part, [len(per_article[a]) for a in part])
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            result.articles += len(part)
            result.sentences += len(rows)
            bar.update(len(part))
    result.seconds = time.perf_counter() - t0
    return result


_GROUP_SQL = """
WITH hits AS (
    SELECT DISTINCT m.{key} AS key, m.article_id, m.sentence_idx
    FROM mentions m
    WHERE m.{key} IS NOT NULL {extra}
      AND m.article_id IN (SELECT a.article_id FROM articles a WHERE {where})
)
SELECT h.key AS {key}, {name_col}
       count(*) AS n_sentences,
       count(DISTINCT h.article_id) AS n_articles,
       avg(t.compound) AS tone,
       avg(CASE WHEN t.compound >= {pos} THEN 1.0 ELSE 0.0 END) AS share_positive,
       avg(CASE WHEN t.compound <= {neg} THEN 1.0 ELSE 0.0 END) AS share_negative
FROM hits h
JOIN sentence_tone t ON t.article_id = h.article_id AND t.sentence_idx = h.sentence_idx
{join}
GROUP BY ALL
HAVING count(*) >= ?
ORDER BY n_sentences DESC, h.key
"""


def _group_tone(
    con: duckdb.DuckDBPyConnection,
    key: str,
    values: list[str] | None,
    flt: Filter | None,
    min_sentences: int,
    limit: int | None,
) -> pd.DataFrame:
    where, params = filter_sql(flt, "a")
    extra = ""
    bound: list[Any] = []
    if values:
        extra = f"AND m.{key} IN ({store.in_list_params(values)})"
        bound.extend(values)
    if key == "entity_id":
        name_col = "e.name, e.type,"
        join = "LEFT JOIN entities e ON e.entity_id = h.key"
    else:
        name_col = ""
        join = ""
    sql = _GROUP_SQL.format(
        key=key,
        extra=extra,
        where=where,
        name_col=name_col,
        join=join,
        pos=POSITIVE,
        neg=NEGATIVE,
    )
    bound = [*bound, *params, int(min_sentences)]
    if limit is not None:
        sql += " LIMIT ?"
        bound.append(int(limit))
    return con.execute(sql, bound).df()


def _entity_ids(con: duckdb.DuckDBPyConnection, names: list[str] | str | None) -> list[str] | None:
    """Entity ids for ids, canonical names or aliases (case-insensitive)."""
    if names is None:
        return None
    if isinstance(names, str):
        names = [names]
    out: list[str] = []
    for n in names:
        rows = con.execute(
            "SELECT entity_id FROM entities WHERE entity_id = ? OR lower(name) = lower(?)"
            " OR list_contains(list_transform(aliases, x -> lower(x)), lower(?))",
            [n, n, n],
        ).fetchall()
        out.extend(r[0] for r in rows)
    return out or ["\x00no-such-entity"]


def tone_by_actor(
    con: duckdb.DuckDBPyConnection,
    actors: list[str] | str | None = None,
    *,
    filter: Filter | None = None,
    min_sentences: int = 1,
    limit: int | None = None,
) -> pd.DataFrame:
    """Mean sentence tone per canonical actor (entity), over the sentences mentioning it.

    ``actors``: entity ids, canonical names or aliases (None = all); ``filter`` restricts
    the articles. Columns: entity_id, name, type, n_sentences, n_articles, tone,
    share_positive, share_negative.
    """
    return _group_tone(con, "entity_id", _entity_ids(con, actors), filter, min_sentences, limit)


def tone_by_country(
    con: duckdb.DuckDBPyConnection,
    countries: list[str] | str | None = None,
    *,
    filter: Filter | None = None,
    min_sentences: int = 1,
    limit: int | None = None,
) -> pd.DataFrame:
    """Mean sentence tone per ISO3 country, over sentences with a mention resolved to it."""
    if isinstance(countries, str):
        countries = [countries]
    vals = [c.upper() for c in countries] if countries else None
    return _group_tone(con, "country_iso3", vals, filter, min_sentences, limit)
