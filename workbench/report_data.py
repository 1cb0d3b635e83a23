"""The numbers of one report: aggregates over one filtered article set, read from DuckDB.

Shared by the overview report (``report``) and the notebook report (``report_notebook``),
below both; every value is bound as a parameter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from . import versions
from .countries import country_name as _gazetteer_name
from .filters import Filter, compose, filtered_articles_sql
from .store import in_list_params, quote_ident

if TYPE_CHECKING:
    from .core import Workbench

#: How many items the charts offer (per entity type for actors) and evidence rows per item.
TOP_CHART = 40
TOP_EVIDENCE = 5
EVIDENCE_PER_ITEM = 3
TOP_SOURCES = 8
#: Themes drawn in the theme x period heat map (the largest; the title says of how many).
TOP_THEMES = 25
MAX_PERIODS = 160
KWIC_CONTEXT = 90
OTHER_SOURCES = "other sources"
NO_SOURCE = "(no source)"


def as_date(value: Any) -> dt.date | None:
    """A plain date from DuckDB/pandas date-ish values (NaT/None -> None)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return None


def iso_date(value: Any) -> str:
    d = as_date(value)
    return d.isoformat() if d else ""


def country_name(iso3: str) -> str:
    """The one country naming of every surface (``countries.country_name``: "Russia")."""
    return _gazetteer_name(iso3) or iso3


class ReportData:
    """Aggregates for one filtered article set; every value bound as a parameter."""

    def __init__(self, wb: Workbench, f: Filter) -> None:
        self.wb = wb
        self.f = f
        sql, params = filtered_articles_sql(
            f, columns="a.article_id, a.date, a.title, a.source, a.url, a.text_hash"
        )
        self.cte = compose("WITH fa AS ({sql})", sql=sql)
        self.params = params
        self.tables = set(
            wb.con.execute("SELECT table_name FROM information_schema.tables").df()["table_name"]
        )

    def q(self, body: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        return self.wb.con.execute(
            compose("{cte} {body}", cte=self.cte, body=body), [*self.params, *params]
        ).df()

    def has_rows(self, table: str) -> bool:
        if table not in self.tables:
            return False
        sql = compose("SELECT EXISTS (SELECT 1 FROM {t})", t=quote_ident(table))
        return bool(self.wb.con.execute(sql).fetchone()[0])

    # -- header ----------------------------------------------------------------
    def stamp(self, title_filter: str) -> dict[str, Any]:
        n, dmin, dmax, corpus = self.q(
            "SELECT count(*) AS n, min(date) AS dmin, max(date) AS dmax, "
            "sha256(coalesce(string_agg(text_hash, ',' ORDER BY article_id), '')) AS h FROM fa"
        ).iloc[0]
        undated = int(self.q("SELECT count(*) AS n FROM fa WHERE date IS NULL")["n"].iloc[0])
        con = self.wb.con
        models = []
        if self.has_rows("pipelines"):
            models = [
                f"{m} (spaCy pipeline; workbench {v})"
                for m, v in con.execute(
                    "SELECT DISTINCT model, workbench_version FROM pipelines ORDER BY 1, 2"
                ).fetchall()
            ]
        meta = dict(con.execute("SELECT key, value FROM meta").fetchall())

        def hashes(column: str, tables: Sequence[str], meta_key: str) -> str:
            found: list[str] = []
            if meta.get(meta_key):
                found.append(str(meta[meta_key]))
            for t in tables:
                if t in self.tables:
                    found += [
                        r[0]
                        for r in con.execute(
                            compose(
                                "SELECT DISTINCT {c} FROM {t} WHERE {c} IS NOT NULL",
                                c=quote_ident(column),
                                t=quote_ident(t),
                            )
                        ).fetchall()
                    ]
            return ", ".join(dict.fromkeys(found)) or "(not computed)"

        date_range = (
            f"{iso_date(dmin)} to {iso_date(dmax)}" if pd.notna(dmin) else "(no dated articles)"
        )
        if undated:
            date_range += f" ({undated:,} undated)"
        return {
            "corpus_hash": str(corpus)[:16] if n else "(empty)",
            "articles": f"{int(n):,}",
            "n_articles": int(n),
            "date_min": as_date(dmin),
            "date_max": as_date(dmax),
            "date_range": date_range,
            "filters": title_filter,
            "model": "; ".join(models) or "(not extracted yet)",
            "taxonomy_hash": hashes("taxonomy_hash", ["themes"], "taxonomy_hash"),
            "registry_hash": hashes(
                "registry_hash", ["entities", "article_countries"], "registry_hash"
            ),
            "database": self.wb.path.name,
            "workbench_version": versions.workbench_version(),
            "generated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        }

    # -- dimensions --------------------------------------------------------------
    def top_sources(self) -> list[str]:
        df = self.q(
            "SELECT coalesce(source, ?) AS s, count(*) AS n FROM fa GROUP BY 1 "
            "ORDER BY n DESC, s LIMIT ?",
            [NO_SOURCE, TOP_SOURCES],
        )
        return df["s"].tolist()

    def all_sources(self) -> list[str]:
        """Every outlet of the selection, largest first: the pickers list them all."""
        df = self.q(
            "SELECT coalesce(source, ?) AS s, count(*) AS n FROM fa GROUP BY 1 ORDER BY n DESC, s",
            [NO_SOURCE],
        )
        return df["s"].tolist()

    def granularity(self, dmin: Any, dmax: Any) -> str:
        if not isinstance(dmin, dt.date) or not isinstance(dmax, dt.date):
            return "month"
        days = (dmax - dmin).days
        for unit, per in (("day", 1), ("week", 7), ("month", 30.4), ("quarter", 91.3)):
            if days / per <= MAX_PERIODS:
                return unit
        return "year"

    # -- aggregates --------------------------------------------------------------
    def coverage(self, unit: str, sources: list[str]) -> pd.DataFrame:
        return self.q(
            "SELECT date_trunc(?, date)::DATE AS period, "
            "CASE WHEN list_contains(?, coalesce(source, ?)) THEN coalesce(source, ?) "
            "ELSE ? END AS source, count(*) AS articles "
            "FROM fa WHERE date IS NOT NULL GROUP BY ALL ORDER BY period, source",
            [unit, sources, NO_SOURCE, NO_SOURCE, OTHER_SOURCES],
        )

    def actors(self, sources: list[str], types: Sequence[str]) -> pd.DataFrame:
        if not (self.has_rows("mentions") and self.has_rows("entities")):
            return pd.DataFrame()
        return self.q(
            compose(
                ", per AS (SELECT e.entity_id, e.name, e.type, "
                "CASE WHEN list_contains(?, coalesce(fa.source, ?)) THEN coalesce(fa.source, ?) "
                "ELSE ? END AS source, count(DISTINCT m.article_id) AS articles, "
                "count(*) AS mentions "
                "FROM mentions m JOIN fa ON fa.article_id = m.article_id "
                "JOIN entities e ON e.entity_id = m.entity_id "
                "WHERE e.type IN ({ph}) GROUP BY ALL), "
                "tops AS (SELECT entity_id FROM per GROUP BY entity_id, type "
                "QUALIFY row_number() OVER (PARTITION BY type "
                "ORDER BY sum(articles) DESC, entity_id) <= ?) "
                "SELECT per.* FROM per JOIN tops USING (entity_id) "
                "ORDER BY articles DESC, name",
                ph=in_list_params(types),
            ),
            [sources, NO_SOURCE, NO_SOURCE, OTHER_SOURCES, *types, TOP_CHART],
        )

    def countries(self, sources: list[str]) -> pd.DataFrame:
        if not self.has_rows("article_countries"):
            return pd.DataFrame()
        df = self.q(
            "SELECT ac.iso3, "
            "CASE WHEN list_contains(?, coalesce(fa.source, ?)) THEN coalesce(fa.source, ?) "
            "ELSE ? END AS source, count(DISTINCT ac.article_id) AS articles, "
            "sum(ac.mentions) AS mentions "
            "FROM article_countries ac JOIN fa ON fa.article_id = ac.article_id "
            "GROUP BY ALL ORDER BY articles DESC, iso3",
            [sources, NO_SOURCE, NO_SOURCE, OTHER_SOURCES],
        )
        df["country"] = [country_name(c) for c in df["iso3"]]
        return df

    def places(self, n: int = 150) -> pd.DataFrame:
        """The most covered towns (``mention_places``, fclass P) with their points."""
        if not self.has_rows("mention_places"):
            return pd.DataFrame()
        return self.q(
            "SELECT CAST(p.geonameid AS VARCHAR) AS key, min(p.name) AS label, "
            "min(p.iso3) AS iso3, avg(p.lat) AS lat, avg(p.lon) AS lon, "
            "count(DISTINCT p.article_id) AS articles, count(*) AS mentions "
            "FROM mention_places p JOIN fa ON fa.article_id = p.article_id "
            "WHERE p.fclass = 'P' GROUP BY 1 ORDER BY articles DESC, key LIMIT ?",
            [n],
        )

    def themes(self, unit: str) -> pd.DataFrame:
        if not self.has_rows("article_themes"):
            return pd.DataFrame()
        return self.q(
            "SELECT date_trunc(?, fa.date)::DATE AS period, coalesce(t.label, atm.theme_id) "
            "AS theme, count(DISTINCT atm.article_id) AS articles "
            "FROM article_themes atm JOIN fa ON fa.article_id = atm.article_id "
            "LEFT JOIN themes t ON t.theme_id = atm.theme_id "
            "WHERE fa.date IS NOT NULL GROUP BY ALL ORDER BY period, theme",
            [unit],
        )

    def tone(self, unit: str, sources: list[str]) -> pd.DataFrame:
        if not self.has_rows("article_tone"):
            return pd.DataFrame()
        return self.q(
            "SELECT date_trunc(?, fa.date)::DATE AS period, "
            "CASE WHEN list_contains(?, coalesce(fa.source, ?)) THEN coalesce(fa.source, ?) "
            "ELSE ? END AS source, avg(t.tone) AS tone, count(*) AS articles "
            "FROM article_tone t JOIN fa ON fa.article_id = t.article_id "
            "WHERE fa.date IS NOT NULL AND t.tone IS NOT NULL GROUP BY ALL "
            "ORDER BY period, source",
            [unit, sources, NO_SOURCE, NO_SOURCE, OTHER_SOURCES],
        )

    def speakers(self) -> pd.DataFrame:
        if not self.has_rows("quotes"):
            return pd.DataFrame()
        return self.q(
            ", q AS (SELECT e.name AS speaker, q.text, q.article_id, "
            "fa.date, fa.source, fa.title, fa.url "
            "FROM quotes q JOIN fa ON fa.article_id = q.article_id "
            "JOIN entities e ON e.entity_id = q.speaker_entity_id "
            "WHERE NOT coalesce(q.fragment, false)) "
            "SELECT speaker, count(*) OVER (PARTITION BY speaker) AS quotes, "
            "count(DISTINCT article_id) OVER (PARTITION BY speaker) AS articles, "
            "text, article_id, date, source, title, url FROM q "
            "QUALIFY row_number() OVER (PARTITION BY speaker "
            "ORDER BY date DESC NULLS LAST, article_id, text) = 1 "
            "ORDER BY quotes DESC, speaker LIMIT ?",
            [TOP_EVIDENCE * 3],
        )

    # -- evidence (KWIC) ---------------------------------------------------------
    def _evidence(
        self, pick_sql: str, hits_sql: str, keys: list[str], n_key_params: int = 1
    ) -> pd.DataFrame:
        """Sentences behind the top cells: one per article, newest articles first.

        Three small steps, so the big tables are only read for the few chosen rows: pick
        (key, article) pairs by date from an article-level table (``pick_sql``, its key list
        bound ``n_key_params`` times), fetch the hits of just those articles (``hits_sql``:
        ``{ids}`` = article placeholders, then the key placeholders), then their sentences.
        """
        if not keys or not self.has_rows("sentences"):
            return pd.DataFrame()
        picks = self.q(
            compose(
                ", p AS (SELECT DISTINCT key, article_id FROM ({pick})) "
                "SELECT p.key, p.article_id, fa.date, fa.source, fa.title, fa.url "
                "FROM p JOIN fa ON fa.article_id = p.article_id "
                "QUALIFY row_number() OVER (PARTITION BY p.key "
                "ORDER BY fa.date DESC NULLS LAST, p.article_id) <= ? "
                "ORDER BY p.key, fa.date DESC NULLS LAST, p.article_id",
                pick=pick_sql,
            ),
            [*keys * n_key_params, EVIDENCE_PER_ITEM],
        )
        if picks.empty:
            return picks
        ids = sorted(set(picks["article_id"]))
        hits = self.wb.con.execute(
            compose(hits_sql, ids=in_list_params(ids), keys=in_list_params(keys)),
            [*ids, *keys],
        ).df()
        hits = hits.sort_values(["key", "article_id", "sentence_idx", "start_char"])
        hits = hits.drop_duplicates(["key", "article_id"])
        sents = self.wb.con.execute(
            compose(
                "SELECT article_id, idx AS sentence_idx, text AS sentence, start_char AS s_start "
                "FROM sentences WHERE article_id IN ({ph})",
                ph=in_list_params(ids),
            ),
            ids,
        ).df()
        out = picks.merge(hits, on=["key", "article_id"]).merge(
            sents, on=["article_id", "sentence_idx"]
        )
        return out

    def actor_evidence(self, ids: list[str]) -> pd.DataFrame:
        return self._evidence(
            compose(
                "SELECT entity_id AS key, article_id FROM mentions WHERE entity_id IN ({ph})",
                ph=in_list_params(ids),
            ),
            "SELECT entity_id AS key, article_id, sentence_idx, start_char, end_char, "
            "text AS matched FROM mentions WHERE article_id IN ({ids}) AND entity_id IN ({keys})",
            ids,
        )

    def country_evidence(self, iso3s: list[str]) -> pd.DataFrame:
        return self._evidence(
            compose(
                "SELECT iso3 AS key, article_id FROM article_countries WHERE iso3 IN ({ph})",
                ph=in_list_params(iso3s),
            ),
            "SELECT country_iso3 AS key, article_id, sentence_idx, start_char, end_char, "
            "text AS matched FROM mentions "
            "WHERE article_id IN ({ids}) AND country_iso3 IN ({keys})",
            iso3s,
        )

    def theme_evidence(self, labels: list[str]) -> pd.DataFrame:
        if not self.has_rows("theme_hits"):
            return pd.DataFrame()
        label = "coalesce(t.label, x.theme_id)"
        return self._evidence(
            compose(
                "SELECT {label} AS key, x.article_id FROM article_themes x "
                "LEFT JOIN themes t ON t.theme_id = x.theme_id WHERE {label} IN ({ph})",
                label=label,
                ph=in_list_params(labels),
            ),
            compose(
                "SELECT {label} AS key, x.article_id, x.sentence_idx, x.start_char, x.end_char, "
                "x.matched_text AS matched FROM theme_hits x "
                "LEFT JOIN themes t ON t.theme_id = x.theme_id "
                "WHERE x.article_id IN ({{ids}}) AND {label} IN ({{keys}})",
                label=label,
            ),
            labels,
        )
