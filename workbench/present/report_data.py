"""The numbers of one report, each asked of the query API (``workbench.query.api``).

Shared by the overview report (``report``) and the notebook report (``report_notebook``),
below both. No SQL here: a report shows what ``wb.top``/``coverage``/``compare``/``tone``
would show for the same filter, reshaped for its charts (outlets past the top pooled as
"other sources", articles without an outlet as "(no source)").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..base import versions
from ..base.filters import Filter
from ..query import api as query
from ..resolve.countries import country_name as _gazetteer_name

if TYPE_CHECKING:
    from ..core.workbench import Workbench

#: How many items the charts offer (per entity type for actors) and evidence rows per item.
TOP_CHART = 40
TOP_EVIDENCE = 5
EVIDENCE_PER_ITEM = 3
TOP_SOURCES = 8
#: Themes drawn in the theme x period heat map (the largest; the title says of how many).
TOP_THEMES = 25
#: Towns on the place map.
TOP_PLACES = 150
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
    """The numbers of one report for one filter, from the query API."""

    def __init__(self, wb: Workbench, f: Filter) -> None:
        self.wb = wb
        self.con = wb.con
        self.f = f
        self._sources: pd.DataFrame | None = None
        self._n: int | None = None

    # -- header ----------------------------------------------------------------
    def stamp(self, title_filter: str) -> dict[str, Any]:
        sel = query.selection(self.con, self.f)
        prov = query.provenance(self.con)
        n, dmin, dmax = sel["articles"], sel["date_min"], sel["date_max"]
        self._n = n
        date_range = (
            f"{iso_date(dmin)} to {iso_date(dmax)}" if pd.notna(dmin) else "(no dated articles)"
        )
        if sel["undated"]:
            date_range += f" ({sel['undated']:,} undated)"
        return {
            "corpus_hash": sel["corpus_hash"][:16] if n else "(empty)",
            "articles": f"{n:,}",
            "n_articles": n,
            "date_min": as_date(dmin),
            "date_max": as_date(dmax),
            "date_range": date_range,
            "filters": title_filter,
            "model": "; ".join(prov["models"]) or "(not extracted yet)",
            "taxonomy_hash": ", ".join(prov["taxonomy_hash"]) or "(not computed)",
            "registry_hash": ", ".join(prov["registry_hash"]) or "(not computed)",
            "database": self.wb.path.name,
            "workbench_version": versions.workbench_version(),
            "generated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        }

    # -- dimensions --------------------------------------------------------------
    def _outlets(self) -> pd.DataFrame:
        if self._sources is None:
            self._sources = query.top(self.con, "source", None, self.f)
        return self._sources

    def _unsourced(self) -> int:
        """Articles of the selection without an outlet (counted under "(no source)")."""
        if self._n is None:
            self._n = query.selection(self.con, self.f)["articles"]
        return self._n - int(self._outlets()["articles"].sum())

    def top_sources(self) -> list[str]:
        return self._outlets()["label"].head(TOP_SOURCES).tolist()

    def all_sources(self) -> list[str]:
        """Every outlet of the selection, largest first: the pickers list them all."""
        return [*self._outlets()["label"], *([NO_SOURCE] if self._unsourced() else [])]

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
        """Articles per period for the top outlets, the rest pooled as "other sources"."""
        vol = query.coverage(self.con, None, unit, filter=self.f)
        if vol.empty:
            return vol
        parts = []
        if sources:
            per = query.coverage(self.con, "source", unit, filter=self.f, n=None, values=sources)
            parts.append(per[["period", "key", "label", "articles"]])
            done = per.groupby("period")["articles"].sum()
        else:
            done = pd.Series(dtype="int64")
        rest = vol[["period", "articles"]].copy()
        rest["articles"] -= rest["period"].map(done).fillna(0).astype("int64")
        rest = rest[rest["articles"] > 0].assign(key=OTHER_SOURCES, label=OTHER_SOURCES)
        parts.append(rest[["period", "key", "label", "articles"]])
        out = pd.concat(parts, ignore_index=True)
        out.attrs.update({**vol.attrs, "kind": "source", "filter": self.f.describe()})
        return out

    def _per_outlet(self, kind: str, f: Filter, n: int | None) -> pd.DataFrame:
        """(source, key, label, articles) of the ``n`` top keys per outlet (``compare``), with
        the articles that have no outlet as "(no source)" so the sums are the totals."""
        cmp = query.compare(self.con, None, kind, f, n)
        rows = cmp.loc[cmp["articles"] > 0, ["source", "key", "label", "articles"]]
        if not self._unsourced():
            return rows
        tot = query.top(self.con, kind, None, f).set_index("key")
        keys = cmp["key"].drop_duplicates() if len(cmp) else tot.index[:n].to_series()
        seen = rows.groupby("key")["articles"].sum().reindex(keys, fill_value=0)
        rest = pd.DataFrame(
            {"source": NO_SOURCE, "key": keys.to_numpy(),
             "label": tot["label"].reindex(keys).to_numpy(),
             "articles": (tot["articles"].reindex(keys).fillna(0) - seen).to_numpy()}
        )  # fmt: skip
        rest["articles"] = rest["articles"].astype("int64")
        rows = pd.concat([rows, rest[rest["articles"] > 0]], ignore_index=True)
        return rows

    def actors(self, types: Sequence[str]) -> pd.DataFrame:
        """Per-outlet article counts of the ``TOP_CHART`` top actors of each entity type."""
        parts = [
            self._per_outlet("actor", self.f.replace(entity_types=(t,)), TOP_CHART).assign(type=t)
            for t in types
        ]
        out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
        out.attrs.update({"kind": "actor", "filter": self.f.describe()})
        return out

    def countries(self) -> pd.DataFrame:
        """Per-outlet article counts of every country (an outlet picked in the page ranks
        among all countries, and the world map sums them)."""
        out = self._per_outlet("country", self.f, None)
        out.attrs.update({"kind": "country", "filter": self.f.describe()})
        return out

    @staticmethod
    def country_totals(per_outlet: pd.DataFrame) -> pd.DataFrame:
        """Articles per country over all outlets (the world map), from :meth:`countries`."""
        out = per_outlet.groupby(["key", "label"], as_index=False)["articles"].sum()
        out.attrs.update(per_outlet.attrs)
        return out.sort_values(["articles", "key"], ascending=[False, True], ignore_index=True)

    def places(self, n: int = TOP_PLACES) -> pd.DataFrame:
        """The most covered towns (GeoNames feature class P) with their points."""
        pts = self.wb.place_points("place", None, self.f)
        if pts.empty:
            return pts
        out = pts[pts["fclass"] == "P"].head(n).reset_index(drop=True)
        out.attrs.update(pts.attrs)
        return out

    def themes(self, unit: str) -> pd.DataFrame:
        """Articles per theme and period, every theme (the heat map keeps the largest)."""
        out = query.coverage(self.con, "theme", unit, filter=self.f, n=None)
        out.attrs["filter"] = self.f.describe()  # the chart subtitle, whichever engine ran
        return out

    def tone(self, unit: str, sources: list[str]) -> pd.DataFrame:
        """Mean article tone per period for the top outlets, the rest pooled (weighted by
        articles) as "other sources"."""
        every = query.tone(self.con, "date", unit, self.f)
        if every.empty:
            return every
        per = query.tone(self.con, "source", unit, self.f, None)
        top = per[per["label"].isin(sources)][["period", "label", "tone", "articles"]]
        top = top.assign(weighted=top["tone"] * top["articles"])
        done = top.groupby("period")[["weighted", "articles"]].sum()
        rest = every[["period", "tone", "articles"]].set_index("period")
        rest = rest.assign(weighted=rest["tone"] * rest["articles"])
        rest = rest.sub(done.reindex(rest.index).fillna(0), fill_value=0)
        rest = rest[rest["articles"] > 0]
        rest = rest.assign(tone=rest["weighted"] / rest["articles"], label=OTHER_SOURCES)
        rest = rest.reset_index()[["period", "label", "tone", "articles"]]
        out = pd.concat([top.drop(columns="weighted"), rest], ignore_index=True)
        out["articles"] = out["articles"].astype("int64")
        out.attrs.update({**every.attrs, "kind": "source", "filter": self.f.describe()})
        return out.sort_values(["period", "label"], ignore_index=True)

    def speakers(self) -> pd.DataFrame:
        """The most quoted resolved speakers with their newest quote."""
        top = query.top(self.con, "speaker", TOP_EVIDENCE * 3, self.f)
        if top.empty:
            return pd.DataFrame()
        last = query.latest_evidence(self.con, "speaker", top["key"].tolist(), self.f, 1)
        out = top.merge(last, on="key", how="inner")
        return out.rename(columns={"label": "speaker", "mentions": "quotes", "matched": "text"})

    # -- evidence (KWIC) ---------------------------------------------------------
    def evidence(self, kind: str, keys: list[str]) -> pd.DataFrame:
        """The newest sentences behind the top keys, one per article."""
        return query.latest_evidence(self.con, kind, keys, self.f, EVIDENCE_PER_ITEM)
