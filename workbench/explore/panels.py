"""ipywidgets explorers for the notebooks: pick a slice, see the chart, read the sentences.

The explorers hold no SQL of their own: every number comes from a ``Workbench`` query method
(``top``, ``coverage``, ``kwic``/``evidence``) and every chart from ``workbench.present.charts``, so a
panel shows exactly what the same call in a notebook cell would return.

State is exposed for tests and for copying into an analysis:

- ``panel.filter``: the :class:`~workbench.base.filters.Filter` the widgets describe;
- ``panel.data``: the DataFrame behind the chart;
- ``panel.evidence``: the DataFrame behind the evidence table.

Charts render with Altair's ``JupyterChart`` widget in offline mode: the Vega JavaScript comes
from ``vl-convert`` (bundled once, cached on disk), never from a CDN.
"""

from __future__ import annotations

import datetime as dt
import html
import os
import tempfile
from pathlib import Path
from typing import Any

import altair as alt
import ipywidgets as w
import pandas as pd
import vl_convert as vlc

from ..annotate import stories
from ..base import config, errors
from ..base.cache import cache_dir
from ..base.filters import DEDUP_UNITS, Filter
from ..base.store import in_list_params
from ..core.workbench import Workbench
from ..present import charts
from ..query.kinds import EXPLORER_KINDS as KINDS

#: The Top-N slider's ceiling (the number of keys when fewer); past ``charts.MAX_BARS`` the
#: chart pools the tail into one bar while ``panel.data`` keeps every row.
MAX_TOP_N = 200

# --------------------------------------------------------------------------- setup


def _offline_js() -> str:
    """The JupyterChart front-end with Vega bundled in (vl-convert), cached on disk.

    Bundling takes seconds, so it is done once per altair/vl-convert version.
    """
    path = cache_dir() / f"jupyterchart-altair{alt.__version__}-vlc{vlc.__version__}.js"
    if path.exists():
        return path.read_text(encoding="utf-8")
    alt.JupyterChart.enable_offline(True)
    js = str(alt.JupyterChart._esm)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(js)
        os.replace(tmp, path)
    except OSError:  # a read-only home only costs the bundling time again
        pass
    return js


def setup() -> None:
    """Make charts display offline in Jupyter: call once at the top of a notebook.

    Every Altair chart then displays as a ``JupyterChart`` widget whose JavaScript is bundled
    locally (no CDN, no network), and the workbench chart theme is enabled.
    """
    if not alt.JupyterChart._is_offline:
        alt.JupyterChart._esm = _offline_js()
        alt.JupyterChart._is_offline = True
    alt.renderers.enable("jupyter", offline=True)
    alt.theme.enable(charts.THEME)


def open_workbench(path: str | os.PathLike[str] | None = None) -> Workbench:
    """Open a database read-only for exploring, with a message that says what to do when it
    is missing or another process is writing to it."""
    p = Path(path) if path else config.DEFAULT_DB
    if not p.exists():
        raise errors.WorkbenchError(
            f"database {p} does not exist. Build it with `make demo` (the bundled sample) or "
            "`workbench ingest … && workbench analyze`, or point WORKBENCH_DB (or the DB "
            "parameter of this notebook) at an existing .duckdb file."
        )
    wb = Workbench(p, read_only=True)
    wb.con  # noqa: B018 - open now, so a lock conflict surfaces here with its message
    return wb


# --------------------------------------------------------------------------- evidence table

_SAFE_SCHEMES = ("http://", "https://")


def _esc(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return html.escape(str(value), quote=True)


def _article_cell(row: pd.Series) -> str:
    aid = _esc(row.get("article_id"))
    url = row.get("url")
    if isinstance(url, str) and url.lower().startswith(_SAFE_SCHEMES):
        return f'<a href="{_esc(url)}" target="_blank" rel="noopener noreferrer">{aid}</a>'
    return f"<code>{aid}</code>"


def _sentence_cell(row: pd.Series) -> str:
    """The sentence with the matched span marked (``left``/``keyword``/``right`` columns)."""
    if {"left", "keyword", "right"} <= set(row.index):
        return f"{_esc(row['left'])}<mark>{_esc(row['keyword'])}</mark>{_esc(row['right'])}"
    return _esc(row.get("sentence", row.get("text")))


def evidence_html(df: pd.DataFrame, *, empty: str = "No sentences match this selection.") -> str:
    """An HTML table of evidence sentences; every value from the corpus is escaped."""
    if df is None or len(df) == 0:
        return f"<p><em>{html.escape(empty)}</em></p>"
    head = "<tr><th>date</th><th>source</th><th>article</th><th>sentence</th></tr>"
    rows = []
    for _, row in df.iterrows():
        date = row.get("date")
        date = date.date() if isinstance(date, pd.Timestamp) else date
        rows.append(
            f"<tr><td>{_esc(date)}</td><td>{_esc(row.get('source'))}</td>"
            f"<td>{_article_cell(row)}</td><td>{_sentence_cell(row)}</td></tr>"
        )
    return (
        '<table class="wb-evidence" style="border-collapse:collapse;font-size:13px">'
        f"<thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"
    )


# --------------------------------------------------------------------------- explorer

PICK = "pick"  # name of the click selection on the ranked bars


def _label(name: Any, n: Any) -> str:
    return f"{name} ({n})" if n is not None and pd.notna(n) else str(name)


def _with_urls(wb: Workbench, df: pd.DataFrame) -> pd.DataFrame:
    """Add each evidence row's article ``url`` so the table can link to the original."""
    if len(df) == 0 or "url" in df.columns:
        return df
    ids = list(dict.fromkeys(df["article_id"]))
    urls = wb.sql(
        f"SELECT article_id, url FROM articles WHERE article_id IN ({in_list_params(ids)})",  # noqa: S608
        ids,
    )
    return df.merge(urls, on="article_id", how="left")


class Explorer:
    """Slice the coverage of one kind of thing: ``actor`` (or ``person``/``org``/``speaker``),
    ``country``, ``place`` (a town or state), ``admin1`` (a state or province), ``theme`` or
    ``source``.

    Nothing picked: ranked bars of the top N under the filter (click a bar to read its
    sentences). Items picked: their coverage over time, as article counts or as a share of the
    period's articles. The evidence table lists the sentences behind the picked (or clicked, or
    top) items, with dates, outlets and article links.

    >>> ex = Explorer(wb, "actor"); ex                        # doctest: +SKIP
    >>> ex.picker.value = ("Q7747",); ex.data, ex.evidence     # doctest: +SKIP
    """

    def __init__(
        self,
        wb: Workbench,
        kind: str = "actor",
        *,
        n: int = 10,
        freq: str = "month",
        evidence_rows: int = 12,
        choices: int = 500,
    ) -> None:
        if kind not in KINDS:
            raise errors.BadOption(errors.unknown_option("explorer kind", kind, KINDS))
        setup()
        self.wb, self.kind, self.freq, self.evidence_rows = wb, kind, freq, evidence_rows
        self.data = pd.DataFrame()
        self.evidence = pd.DataFrame()
        self.focus: tuple[str, ...] = ()  # the keys whose sentences the table shows
        self.clicked: tuple[str, ...] = ()
        self._muted = False

        self._make_controls(n=n, choices=choices)
        self._connect()
        self.refresh()

    def _make_controls(self, *, n: int, choices: int) -> None:
        """The filter, picker and measure widgets, their options read from the database
        (``choices`` keys listed, the Top-N slider starting at ``n``)."""
        lo, hi = self._date_bounds()
        style = {"description_width": "initial"}
        self.date_from = w.DatePicker(description="From", value=lo, style=style)
        self.date_to = w.DatePicker(description="to", value=hi, style=style)
        self.dedup = w.ToggleButtons(options=self._dedup_options(), value="none",
                                     style={"button_width": "110px"})  # fmt: skip
        self.sources = w.SelectMultiple(
            options=self._options("source", choices), rows=5, description="Outlets", style=style
        )
        self._choices = self._options(self.kind, choices)
        things = charts.plural(self.kind)
        self.search = w.Text(placeholder=f"type to search {things}", description="Find")
        self.picker = w.SelectMultiple(
            options=self._choices, rows=5, description=f"Pick {things}", style=style
        )
        most = max(3, min(MAX_TOP_N, len(self._choices)))
        self.top_n = w.IntSlider(
            value=min(max(n, 3), most), min=3, max=most, description="Top N", style=style
        )
        self.measure = w.ToggleButtons(
            options=[("Counts", "count"), ("Share", "share")],
            value="count",
            tooltips=["articles", "share of the filtered articles"],
            style={"button_width": "80px"},
        )
        self.status = w.HTML()
        self.table = w.HTML()
        self.chart: alt.JupyterChart | None = None  # made by the first refresh (see _draw)

    def _connect(self) -> None:
        """Observe the controls (any change redraws) and lay them out in ``self.widget``."""
        self.search.observe(self._on_search, names="value")
        for widget in (
            self.date_from,
            self.date_to,
            self.dedup,
            self.sources,
            self.picker,
            self.top_n,
            self.measure,
        ):
            widget.observe(self._on_change, names="value")
        self.widget = w.VBox(
            [
                w.HBox([self.date_from, self.date_to, self.dedup]),
                w.HBox([self.sources, w.VBox([self.search, self.picker])]),
                w.HBox([self.top_n, self.measure]),
                self.status,
                w.Box(),  # the chart's place, filled by refresh()
                self.table,
            ],
            layout=w.Layout(width="100%"),
        )

    # ------------------------------------------------------------------ options
    def _date_bounds(self) -> tuple[dt.date | None, dt.date | None]:
        s = self.wb.summary()
        lo, hi = s.get("date_min"), s.get("date_max")
        return (
            dt.date.fromisoformat(lo) if lo else None,
            dt.date.fromisoformat(hi) if hi else None,
        )

    def _options(self, kind: str, limit: int) -> list[tuple[str, str]]:
        df = self.wb.top(kind, limit, Filter())
        return [(_label(r.label, r.articles), str(r.key)) for r in df.itertuples()]

    def _dedup_options(self) -> list[tuple[str, str]]:
        """All copies / identical texts once / Stories (once stories were computed)."""
        opts = [("All copies", "none"), ("Unique texts", "text")]
        if stories.is_ready(self.wb.con):
            opts.append(("Stories", "story"))
        return opts

    # ------------------------------------------------------------------ state
    @property
    def filter(self) -> Filter:
        """The Filter the controls describe. Picked items are the *selection* (what the chart
        and evidence follow), not a restriction, so the ranking still shows the whole field."""
        return Filter(
            date_from=self.date_from.value,
            date_to=self.date_to.value,
            sources=tuple(self.sources.value),
            dedup=self.dedup.value,
        )

    @property
    def picked(self) -> tuple[str, ...]:
        return tuple(self.picker.value)

    # ------------------------------------------------------------------ callbacks
    def _on_search(self, change: dict[str, Any]) -> None:
        """Narrow the picker's options to the search text; picked items stay listed."""
        q = (change["new"] or "").strip().lower()
        keep = set(self.picker.value)
        opts = [o for o in self._choices if not q or q in o[0].lower() or o[1] in keep]
        self._muted = True
        try:
            self.picker.options = opts
            self.picker.value = tuple(v for _, v in opts if v in keep)
        finally:
            self._muted = False

    def _on_change(self, _change: dict[str, Any]) -> None:
        if not self._muted:
            self.clicked = ()
            self.refresh()

    def _on_click(self, change: dict[str, Any]) -> None:
        """A click on a bar (the chart's point selection) shows that item's sentences."""
        sel = (change["new"] or {}).get(PICK) or {}
        value = sel.get("value") or {}
        points = value.get("vlPoint", {}).get("or", []) if isinstance(value, dict) else []
        self.clicked = tuple(str(p["key"]) for p in points if p.get("key"))  # not the pooled bar
        self._show_evidence(self._current_filter())

    def _current_filter(self) -> Filter | None:
        try:
            return self.filter
        except errors.WorkbenchError as exc:
            self.status.value = f'<span style="color:#b00">{html.escape(str(exc))}</span>'
            return None

    # ------------------------------------------------------------------ queries
    def refresh(self) -> None:
        """Re-run the queries for the current widget values (a bad date range shows a message
        in the panel instead of raising)."""
        f = self._current_filter()
        if f is None:
            return
        share = self.measure.value == "share"
        if self.picked:
            self.data = self.wb.coverage(self.kind, self.freq, share, f, values=self.picked)
            chart = charts.timeline(self.data, title=f"Coverage per {self.freq}")
        else:
            self.data = self.wb.top(self.kind, self.top_n.value, f)
            chart = charts.bars(self.data, "share" if share else "articles", select=PICK)
        self._draw(chart)
        counted = html.escape(DEDUP_UNITS[f.dedup])
        unit = f"share of the filtered {counted}" if share else counted
        self.status.value = (
            f"<small>{html.escape(f.describe())} · {len(self.data)} rows · "
            f"counted in {unit}</small>"
        )
        self._show_evidence(f)

    _CHART_SLOT = 4  # index of the chart in ``self.widget.children``

    def _draw(self, chart: alt.TopLevelMixin) -> None:
        """Show ``chart``. The chart widget is created holding the first chart, so no front
        end ever receives a stand-in spec to embed and then re-embed over while it draws."""
        if self.chart is None:
            self.chart = alt.JupyterChart(chart)
            self.chart.observe(self._on_click, names="_vl_selections")
            kids = list(self.widget.children)
            kids[self._CHART_SLOT].close()
            kids[self._CHART_SLOT] = self.chart
            self.widget.children = tuple(kids)
        else:
            self.chart.chart = chart

    def _show_evidence(self, f: Filter | None) -> None:
        if f is None:
            return
        if self.clicked:
            focus = self.clicked
        elif self.picked:
            focus = self.picked
        else:
            focus = tuple(str(k) for k in self.data.get("key", pd.Series(dtype=str)).head(1))
        self.focus = focus
        per = max(1, self.evidence_rows // max(1, len(focus)))
        frames = [self.wb.evidence(self.kind, key, f, per) for key in focus]
        frames = [x for x in frames if len(x)]
        ev = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        self.evidence = _with_urls(self.wb, ev)
        names = dict((v, k) for k, v in self._choices)
        shown = ", ".join(names.get(k, k).rsplit(" (", 1)[0] for k in focus) or "nothing"
        self.table.value = (
            f"<p><b>Evidence</b> — sentences mentioning {html.escape(shown)} "
            f"({len(self.evidence)} shown)</p>" + evidence_html(self.evidence)
        )

    # ------------------------------------------------------------------ display
    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


# --------------------------------------------------------------------------- overview


def overview(wb: Workbench) -> w.HTML:
    """The corpus at a glance, as a small HTML widget: articles, words, period, outlets,
    duplicates, rejects (by reason) and how far each analysis stage got."""
    s = wb.summary()
    period = f"{s.get('date_min') or '—'} → {s.get('date_max') or '—'}"
    cards = [
        ("articles", f"{s['articles']:,}"),
        ("words", f"{s['words']:,}"),
        ("period", period),
        ("outlets", f"{s.get('n_sources', len(s.get('sources', {}))):,}"),
        ("undated", f"{s.get('undated', 0):,}"),
        ("duplicates", f"{s.get('duplicates', 0):,}"),
        ("rejected", f"{s.get('rejects', 0):,}"),
    ]
    stages = [(k, s[k]) for k in ("sentences", "mentions", "entities", "article_themes", "quotes")]
    reasons = ", ".join(f"{k}: {v}" for k, v in s.get("reject_reasons", {}).items()) or "none"
    card = (
        '<div style="display:inline-block;margin:4px 14px 4px 0">'
        '<div style="font-size:11px;color:#666;text-transform:uppercase">{}</div>'
        '<div style="font-size:20px;font-weight:600">{}</div></div>'
    )
    body = "".join(card.format(html.escape(k), html.escape(v)) for k, v in cards)
    rows = " · ".join(f"{html.escape(k)} {v:,}" for k, v in stages)
    return w.HTML(
        f"<div>{body}</div><div><small>reject reasons: {html.escape(reasons)}</small></div>"
        f"<div><small>analysed rows: {rows}</small></div>"
    )
