"""Shareable HTML reports: one self-contained file that opens offline and stays interactive.

Why this shape:

- Analysts share findings with people who never run Jupyter, so the report is ONE ``.html``
  file: Vega, Vega-Lite and vega-embed are inlined (``vl_convert.javascript_bundle()``), the
  data are embedded, nothing is fetched (the page's CSP forbids it anyway).
- ipywidgets need a kernel; the report keeps slicing interactive with Vega-Lite parameters
  (dropdowns, sliders, legend and click selections) over data aggregated in DuckDB first,
  so the file size depends on the number of actors/periods shown, not on the corpus size.
- Every count traces to sentences: evidence tables list the KWIC sentences behind the top
  actors, countries and themes with their article ids.
- A hostile article must not turn the report into an attack: all article-derived text goes
  through Jinja2 autoescape, JSON inside ``<script>`` has ``<``, ``>`` and ``&`` escaped,
  only ``http(s)`` URLs become links, and a Content-Security-Policy allows exactly the two
  inline scripts (by SHA-256), no ``eval`` (Vega runs with its AST interpreter), no network.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import json
import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import altair as alt
import pandas as pd
from markupsafe import Markup, escape

from . import charts, config, errors, formatting, stories
from .filters import Filter, as_filter
from .outputs import check_output, write_refused
from .report_data import (
    KWIC_CONTEXT,
    NO_SOURCE,
    OTHER_SOURCES,
    TOP_CHART,
    TOP_EVIDENCE,
    TOP_THEMES,
    ReportData,
    iso_date,
)
from .report_data import country_name as country_name  # re-exported: tests use report.country_name
from .report_html import BOOTSTRAP_JS, CSS, TEMPLATE
from .report_notebook import notebook_page
from .report_page import Block, Cell, ChartData, Page, Section, cell_html, safe_url

if TYPE_CHECKING:
    from .core import Workbench

#: The name tests and bench/eval_actors.py use for the report's data.
_Data = ReportData

#: Stated size budget: a report must stay under this (the Reuters TRAIN corpus report is
#: far below it; see bench/RESULTS.md). All chart data are capped aggregates, so the size
#: does not grow with the number of articles.
SIZE_BUDGET_BYTES = 5 * 1024 * 1024

TEMPLATES = ("overview",)


# ---------------------------------------------------------------------- safe embedding
def script_json(obj: Any) -> Markup:
    """JSON that is safe inside ``<script type="application/json">``.

    ``<``, ``>`` and ``&`` become ``\\u003c`` etc., so neither ``</script>`` nor ``<!--`` can
    appear; U+2028/2029 are escaped for old JS parsers. ``JSON.parse`` gives back the same data.
    """
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    text = (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )
    return Markup(text)  # noqa: S704 - escaped above; no '<' can remain


def safe_inline_js(code: str) -> str:
    """JS source that cannot end its ``<script>`` element early."""
    return re.sub(r"<(/script|!--|script)", r"\\x3C\1", code, flags=re.IGNORECASE)


def csp_hash(code: str) -> str:
    """CSP source expression (``'sha256-…'``) for one inline script's exact text."""
    digest = hashlib.sha256(code.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def content_security_policy(scripts: Sequence[str]) -> str:
    """Nothing loads, nothing but the listed inline scripts runs, no eval, no forms/frames."""
    hashes = " ".join(csp_hash(s) for s in scripts)
    return (
        "default-src 'none'; "
        f"script-src {hashes}; "
        "style-src 'unsafe-inline'; "
        "img-src data:; font-src data:; "
        "connect-src 'none'; object-src 'none'; frame-src 'none'; "
        "base-uri 'none'; form-action 'none'"
    )


def _bundle_cache_path() -> Path:
    # Heavy (a bundled JavaScript engine): only when a report is written.
    import vl_convert

    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    tag = f"{vl_convert.get_vega_version()}-{vl_convert.get_vegalite_versions()[-1]}"
    tag += f"-{vl_convert.get_vega_embed_version()}"
    return base / "coverage-workbench" / f"vega-bundle-{tag}.js"


@functools.cache
def vega_bundle() -> str:
    """Vega + Vega-Lite + vega-embed as one script (built by vl-convert, cached on disk).

    Building takes seconds, so it is cached under ``~/.cache/coverage-workbench``; the cache
    is keyed by the bundled versions and checked against a hash stored next to it.
    """
    # Heavy (a bundled JavaScript engine): only when a report is written.
    import vl_convert

    path = _bundle_cache_path()
    sums = path.with_suffix(".sha256")
    if path.exists() and sums.exists():
        code = path.read_text(encoding="utf-8")
        if hashlib.sha256(code.encode()).hexdigest() == sums.read_text().strip():
            return code
    code = safe_inline_js(vl_convert.javascript_bundle())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(code, encoding="utf-8")
        sums.write_text(hashlib.sha256(code.encode()).hexdigest())
    except OSError:  # a read-only home is fine: we just rebuild next time
        pass
    return code


def vega_versions() -> str:
    # Heavy (a bundled JavaScript engine): only when a report is written.
    import vl_convert

    return (
        f"{vl_convert.get_vega_version()}, Vega-Lite {vl_convert.get_vegalite_versions()[-1]}, "
        f"vega-embed {vl_convert.get_vega_embed_version()}"
    )


# ---------------------------------------------------------------------- page model


STAMP_LABELS = [
    ("corpus_hash", "corpus hash"),
    ("articles", "articles"),
    ("date_range", "date range"),
    ("filters", "filters"),
    ("model", "model"),
    ("taxonomy_hash", "taxonomy hash"),
    ("registry_hash", "registry hash"),
    ("database", "database"),
    ("workbench_version", "workbench"),
    ("generated", "generated"),
]


def render_page(page: Page) -> str:
    """The complete HTML document for a page (autoescaped template + hashed scripts)."""
    # Only when a page is rendered.
    import jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    bundle = vega_bundle()
    boot = safe_inline_js(BOOTSTRAP_JS)
    html = env.from_string(TEMPLATE).render(
        title=page.title,
        lead=page.lead,
        stamp=page.stamp,
        stamp_rows=[(label, page.stamp.get(k, "")) for k, label in STAMP_LABELS],
        sections=page.sections,
        css=Markup(CSS),  # noqa: S704 - our constant
        vega_js=Markup(bundle),  # noqa: S704 - vl-convert bundle, '</script' neutralised
        bootstrap_js=Markup(boot),  # noqa: S704 - our constant
        specs_json=script_json(page.specs),
        csp=content_security_policy([bundle, boot]),
        cell_html=cell_html,
        vega_versions=vega_versions(),
    )
    return html


# ---------------------------------------------------------------------- data (DuckDB)


def kwic(sentence: str, start: int, end: int, matched: str | None) -> tuple[str, str, str]:
    """Split a sentence into (left, keyword, right), trimmed to ``KWIC_CONTEXT`` chars."""
    text = sentence or ""
    if not (0 <= start <= end <= len(text)) or (matched and text[start:end] != matched):
        pos = text.find(matched) if matched else -1
        if pos < 0:
            return "", text, ""
        start, end = pos, pos + len(matched or "")
    left, mid, right = text[:start], text[start:end], text[end:]
    if len(left) > KWIC_CONTEXT:
        left = "…" + left[-KWIC_CONTEXT:]
    if len(right) > KWIC_CONTEXT:
        right = right[:KWIC_CONTEXT] + "…"
    return left, mid, right


# ---------------------------------------------------------------------- charts
def _axis_format(unit: str) -> str:
    return {"day": "%d %b %Y", "week": "%d %b %Y", "month": "%b %Y"}.get(unit, "%Y")


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready rows: dates as ISO strings, numpy scalars as Python numbers."""
    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]) or (
            len(out) and isinstance(out[col].iloc[0], dt.date)
        ):
            out[col] = pd.to_datetime(out[col]).dt.strftime("%Y-%m-%d")
    return json.loads(out.to_json(orient="records", date_format="iso"))


def coverage_chart(df: pd.DataFrame, unit: str, sources: list[str]) -> ChartData:
    """Articles per period, stacked by source; click the legend to pick sources."""
    pick = alt.selection_point(fields=["source"], bind="legend", name="pick_source")
    order = [s for s in sources if s in set(df["source"])] + (
        [OTHER_SOURCES] if OTHER_SOURCES in set(df["source"]) else []
    )
    return (
        alt.Chart(alt.Data(name="coverage"))
        .mark_bar()
        .encode(
            x=alt.X("period:T", title=None, axis=alt.Axis(format=_axis_format(unit))),
            y=alt.Y("sum(articles):Q", title=f"articles per {unit}"),
            color=alt.Color("source:N", sort=order, title="source (click)"),
            opacity=alt.condition(pick, alt.value(1.0), alt.value(0.15)),
            tooltip=[
                alt.Tooltip("period:T", title=unit, format=_axis_format(unit)),
                "source:N",
                alt.Tooltip("sum(articles):Q", title="articles"),
            ],
        )
        .add_params(pick)
        .properties(width=860, height=240)
    ), {"coverage": _records(df)}


def ranked_bar_chart(
    df: pd.DataFrame,
    *,
    prefix: str,
    label: str,
    color: str,
    sources: list[str],
    types: Sequence[str] = (),
    default_top: int = 15,
    title: str = "articles",
    fixed_color: str | None = None,
) -> ChartData:
    """Top-N bars re-ranked in the browser as the dropdowns/slider change.

    The data are (item, type, source, articles) aggregates; the page filters by source and
    type, sums per item, ranks and keeps the top N, all in Vega.
    """
    # A search box over every outlet (the page's datalist offers them as you type): a
    # dropdown of 10^2-10^3 outlets cannot be read, a top-8 one cannot reach the others.
    src = alt.param(
        name=f"{prefix}_source",
        value="",
        bind=alt.binding(
            input="search",
            name=f"outlet ({len(sources):,}; empty = all) ",
            placeholder="type to search outlets",
        ),
    )
    top = alt.param(
        name=f"{prefix}_top",
        value=default_top,
        bind=alt.binding_range(min=3, max=TOP_CHART, step=1, name="show top "),
    )
    params: list[Any] = [src, top]
    cond = f"(!{prefix}_source || indexof(lower(datum.source), lower(trim({prefix}_source))) >= 0)"
    if types:
        typ = alt.param(
            name=f"{prefix}_type",
            value="all",
            bind=alt.binding_select(options=["all", *types], name="type "),
        )
        params.insert(0, typ)
        cond += f" && ({prefix}_type == 'all' || datum.type == {prefix}_type)"
    groupby = [label, color] if color != label else [label]
    return (
        alt.Chart(alt.Data(name=prefix))
        .transform_filter(cond)
        .transform_aggregate(articles="sum(articles)", groupby=groupby)
        .transform_window(
            rank="row_number()",
            sort=[alt.SortField("articles", order="descending"), alt.SortField(label)],
        )
        .transform_filter(f"datum.rank <= {prefix}_top")
        .mark_bar()
        .encode(
            y=alt.Y(f"{label}:N", sort="-x", title=None),
            x=alt.X("articles:Q", title=title, axis=alt.Axis(labelOverlap="greedy", format="~s")),
            color=alt.value(fixed_color)
            if fixed_color
            else alt.Color(f"{color}:N", legend=alt.Legend(title=color)),
            tooltip=[f"{label}:N", f"{color}:N", alt.Tooltip("articles:Q", format=",")],
        )
        .add_params(*params)
        .properties(width=620)
    ), {prefix: _records(df)}


def period_label(values: pd.Series, unit: str) -> list[str]:
    """Readable, sortable labels for period starts: "2020-W02", "2020-01" (one naming for
    every surface, ``formatting.period_label``)."""
    return [formatting.period_label(v, unit) for v in values]


def theme_heatmap(df: pd.DataFrame, unit: str) -> ChartData:
    """Theme x period heat map; click themes (shift-click to add) to draw their trend below."""
    df = df.copy()
    totals = df.groupby("theme")["articles"].sum().sort_values(ascending=False, kind="stable")
    shown = list(totals.index[:TOP_THEMES])
    df = df[df["theme"].isin(shown)]
    # every theme x period cell: a period without the theme is 0, never a blank
    full = pd.MultiIndex.from_product([sorted(set(df["period"])), shown], names=["period", "theme"])
    df = df.set_index(["period", "theme"]).reindex(full, fill_value=0).reset_index()
    df["when"] = period_label(df["period"], unit)
    # The trend below starts with the five largest themes: all of them is a tangle of lines.
    pick = alt.selection_point(
        fields=["theme"], name="pick_theme", value=[{"theme": t} for t in shown[:5]]
    )
    base = alt.Chart(alt.Data(name="themes"))
    order = sorted(set(df["when"]))
    more = f"the {len(shown)} largest of {len(totals):,} themes" if len(totals) > len(shown) else ""
    heat = (
        base.mark_rect()
        .encode(
            x=alt.X(
                "when:O",
                sort=order,
                title=unit,
                axis=alt.Axis(labelAngle=-90, labelOverlap="greedy", labelLimit=0),
            ),
            y=alt.Y("theme:N", title=more or None, sort=shown),
            color=alt.Color("articles:Q", scale=alt.Scale(scheme="blues"), title="articles"),
            opacity=alt.condition(pick, alt.value(1.0), alt.value(0.3)),
            tooltip=[alt.Tooltip("when:O", title=unit), "theme:N", "articles:Q"],
        )
        .add_params(pick)
        .properties(width=860)
    )
    lines = (
        base.transform_filter(pick)
        .mark_line(point=True)
        .encode(
            x=alt.X(
                "period:T",
                title=None,
                axis=alt.Axis(format=_axis_format(unit), tickCount=_tick_interval(unit)),
            ),
            y=alt.Y("articles:Q", title=f"articles per {unit}"),
            color=alt.Color("theme:N", legend=None),
            tooltip=["theme:N", alt.Tooltip("when:O", title=unit), "articles:Q"],
        )
        .properties(width=860, height=160)
    )
    return alt.vconcat(heat, lines), {"themes": _records(df)}


def _tick_interval(unit: str) -> dict[str, Any]:
    """One tick per period at most (a day axis otherwise ticks every 12 hours)."""
    if unit == "quarter":
        return {"interval": "month", "step": 3}
    return {"interval": unit if unit in ("day", "week", "month", "year") else "year", "step": 1}


def tone_chart(df: pd.DataFrame, unit: str) -> ChartData:
    """Mean article tone per period and source; click the legend to isolate sources."""
    pick = alt.selection_point(fields=["source"], bind="legend", name="pick_tone_source")
    base = alt.Chart(alt.Data(name="tone"))
    line = (
        base.mark_line(point=True)
        .encode(
            x=alt.X("period:T", title=None, axis=alt.Axis(format=_axis_format(unit))),
            y=alt.Y("tone:Q", title="mean tone (VADER compound)", scale=alt.Scale(zero=False)),
            color=alt.Color("source:N", title="source (click)"),
            opacity=alt.condition(pick, alt.value(1.0), alt.value(0.1)),
            tooltip=[
                alt.Tooltip("period:T", title=unit, format=_axis_format(unit)),
                "source:N",
                alt.Tooltip("tone:Q", format="+.3f"),
                "articles:Q",
            ],
        )
        .add_params(pick)
    )
    zero = base.mark_rule(color="#999", strokeDash=[3, 3]).encode(y=alt.datum(0))
    return alt.layer(line, zero).properties(width=860, height=220), {"tone": _records(df)}


def world_map(df: pd.DataFrame) -> dict[str, Any] | None:
    """Offline choropleth from ``workbench.charts`` (None when it cannot be drawn)."""
    try:
        agg = df.groupby(["iso3", "country"], as_index=False)["articles"].sum()
        agg = agg.rename(columns={"iso3": "key", "country": "label"})
        chart = charts.choropleth(
            agg, title="Articles per country (all sources)", width=860, height=380
        )
        # Built and checked by charts.choropleth; re-validating the inline world topology
        # against the schema costs seconds and adds nothing.
        return chart.to_dict(validate=False)
    except Exception as exc:  # the bar chart below still shows the numbers
        warnings.warn(f"world map skipped: {exc}", stacklevel=2)
        return None


def place_map(df: pd.DataFrame) -> dict[str, Any] | None:
    """Offline point map of the most covered towns (``charts.place_map``)."""
    if df.empty:
        return None
    try:
        chart = charts.place_map(
            df, title="Towns named in the articles (all sources)", width=860, height=380
        )
        return chart.to_dict(validate=False)
    except Exception as exc:  # the country chart still shows the numbers
        warnings.warn(f"place map skipped: {exc}", stacklevel=2)
        return None


# ---------------------------------------------------------------------- evidence tables
EVIDENCE_COLUMNS = ["date", "source", "before", "match", "after", "article", "ref"]


def evidence_rows(ev: pd.DataFrame, key: str) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for r in ev[ev["key"] == key].itertuples(index=False):
        start = int(r.start_char) - int(r.s_start)
        end = int(r.end_char) - int(r.s_start)
        left, mid, right = kwic(r.sentence, start, end, r.matched)
        date = iso_date(r.date)
        rows.append(
            [
                Cell(date, cls="num"),
                Cell(r.source or NO_SOURCE),
                Cell(kwic=(left, mid, right)),
                Cell(r.title or "(untitled)", cls="title", href=r.url),
                Cell(f"{r.article_id} #{int(r.sentence_idx)}", cls="ref"),
            ]
        )
    return rows


def add_evidence(
    page: Page, section: Section, ev: pd.DataFrame, items: list[tuple[str, str, int]]
) -> None:
    """One table per top item: (key, shown label, article count)."""
    if ev.empty:
        return
    for i, (key, label, n) in enumerate(items):
        rows = evidence_rows(ev, key)
        if not rows:
            continue
        section.blocks.append(
            Block(
                kind="table",
                open=i == 0,
                title=f"Evidence: {label}",
                subtitle=f"{n:,} articles; {len(rows)} example sentences, newest first",
                columns=["date", "source", "before", "match", "after", "article", "ref"],
                rows=rows,
            )
        )


# ---------------------------------------------------------------------- overview template
def overview_page(wb: Workbench, f: Filter, *, title: str | None = None) -> Page:
    """The built-in report: coverage, actors, countries, themes, tone, quotes, evidence."""
    data = ReportData(wb, f)
    stamp = data.stamp(f.describe())
    n = stamp["n_articles"]
    page = Page(
        title=title or "Coverage report",
        lead=(
            f"{n:,} articles, {stamp['date_range']}. Who is covered, where, about what, "
            "by whom and how. Charts are interactive (dropdowns, sliders, click the legends)."
        ),
        stamp=stamp,
    )
    unit = data.granularity(stamp["date_min"], stamp["date_max"])
    sources = data.top_sources()
    every = data.all_sources()

    # -- coverage
    sec = Section("coverage", "Coverage over time", f"Articles per {unit} by source.")
    page.sections.append(sec)
    cov = data.coverage(unit, sources)
    if cov.empty:
        sec.empty = "No dated articles in this selection."
    else:
        page.add_chart(sec, coverage_chart(cov, unit, sources))
    options = "".join(f'<option value="{escape(x)}">' for x in every)
    sec.blocks.append(
        Block(kind="html", html=Markup(f'<datalist id="wb-sources">{options}</datalist>'))  # noqa: S704 - escaped
    )

    # -- actors
    sec = Section(
        "actors",
        "Actors",
        "Most-covered people and organisations (articles mentioning them). Choose a type "
        "and a source, and how many to show.",
    )
    page.sections.append(sec)
    types = list(f.actor_types)
    act = data.actors(every, types)
    if act.empty:
        sec.empty = "No resolved actors yet: run `workbench analyze` on this database."
    else:
        page.add_chart(
            sec,
            ranked_bar_chart(
                act,
                prefix="actor",
                label="name",
                color="type",
                sources=every,
                types=[t for t in types if t in set(act["type"])],
            ),
        )
        tops = act.groupby(["entity_id", "name"], as_index=False)["articles"].sum()
        tops = tops.sort_values(["articles", "name"], ascending=[False, True]).head(TOP_EVIDENCE)
        ids = tops["entity_id"].tolist()
        add_evidence(
            page,
            sec,
            data.actor_evidence(ids),
            [(r.entity_id, r.name, int(r.articles)) for r in tops.itertuples()],
        )

    # -- countries
    sec = Section(
        "countries",
        "Countries",
        "Countries the articles are about (resolved place mentions). Choose a source and how "
        "many to show.",
    )
    page.sections.append(sec)
    cty = data.countries(every)
    if cty.empty:
        sec.empty = "No resolved countries yet: run `workbench analyze` on this database."
    else:
        m = world_map(cty)
        if m is not None:
            page.add_chart(sec, m)
        pm = place_map(data.places())
        if pm is not None:
            page.add_chart(sec, pm)
        page.add_chart(
            sec,
            ranked_bar_chart(
                cty,
                prefix="country",
                label="country",
                color="country",
                sources=every,
                fixed_color="#4c78a8",
            ),
        )
        tops = cty.groupby(["iso3", "country"], as_index=False)["articles"].sum()
        tops = tops.sort_values(["articles", "iso3"], ascending=[False, True]).head(TOP_EVIDENCE)
        add_evidence(
            page,
            sec,
            data.country_evidence(tops["iso3"].tolist()),
            [(r.iso3, f"{r.country} ({r.iso3})", int(r.articles)) for r in tops.itertuples()],
        )

    # -- themes
    sec = Section(
        "themes",
        "Themes",
        f"Articles per theme and {unit}. Click cells to compare themes (shift-click to add).",
    )
    page.sections.append(sec)
    th = data.themes(unit)
    if th.empty:
        sec.empty = "No themes tagged yet: run `workbench analyze` on this database."
    else:
        page.add_chart(sec, theme_heatmap(th, unit))
        tops = th.groupby("theme", as_index=False)["articles"].sum()
        tops = tops.sort_values(["articles", "theme"], ascending=[False, True]).head(TOP_EVIDENCE)
        add_evidence(
            page,
            sec,
            data.theme_evidence(tops["theme"].tolist()),
            [(r.theme, r.theme, int(r.articles)) for r in tops.itertuples()],
        )

    # -- tone
    sec = Section("tone", "Tone", f"Mean article tone per {unit} and source (-1 to +1).")
    page.sections.append(sec)
    tone = data.tone(unit, sources)
    if tone.empty:
        sec.empty = "No tone scores yet: run `workbench analyze` on this database."
    else:
        page.add_chart(sec, tone_chart(tone, unit))

    # -- quotes
    sec = Section("quotes", "Quotes", "Who is quoted most, with their latest quote.")
    page.sections.append(sec)
    sp = data.speakers()
    if sp.empty:
        sec.empty = "No quotes found yet: run `workbench analyze` on this database."
    else:
        rows = []
        for r in sp.itertuples(index=False):
            date = iso_date(r.date)
            quote = r.text if len(r.text) <= 240 else r.text[:240] + "…"
            rows.append(
                [
                    Cell(r.speaker),
                    Cell(int(r.quotes), cls="num"),
                    Cell(int(r.articles), cls="num"),
                    Cell(f"“{quote}”"),
                    Cell(date, cls="num"),
                    Cell(r.source or NO_SOURCE),
                    Cell(r.title or "(untitled)", href=r.url),
                ]
            )
        sec.blocks.append(
            Block(
                kind="table",
                cls="quotes",
                columns=[
                    "speaker",
                    "quotes",
                    "articles",
                    "latest quote",
                    "date",
                    "source",
                    "article",
                ],
                rows=rows,
            )
        )
    syndication_section(page, wb, f)
    return page


def syndication_section(page: Page, wb: Workbench, f: Filter) -> None:
    """Stories and copies per outlet, and who ran whose story (``wb.syndication()``)."""
    sec = Section(
        "syndication",
        "Syndication",
        "Stories (near-duplicate articles grouped) per outlet: how many it ran first and how "
        "many of its articles repeat an earlier article's story; below, who ran whose story.",
    )
    page.sections.append(sec)
    if not stories.is_ready(wb.con):
        sec.empty = "No story clusters yet: run `workbench stories` (or `analyze`) first."
        return
    syn = stories.syndication(wb.con, f)
    out = syn["outlets"].head(25)
    if out.empty:
        sec.empty = "No articles with an outlet in this selection."
        return
    sec.blocks.append(
        Block(
            kind="table",
            cls="syndication",
            columns=["outlet", "articles", "stories", "originated", "copies", "copy share"],
            rows=[
                [
                    Cell(r.source),
                    Cell(int(r.articles), cls="num"),
                    Cell(int(r.stories), cls="num"),
                    Cell(int(r.originated), cls="num"),
                    Cell(int(r.copies), cls="num"),
                    Cell(f"{r.copy_share:.1%}", cls="num"),
                ]
                for r in out.itertuples(index=False)
            ],
        )
    )
    if len(syn["matrix"]):
        page.add_chart(sec, charts.syndication_heatmap(syn["matrix"].head(400)).properties(
            width=600, height=300))  # fmt: skip


# ---------------------------------------------------------------------- entry point
def build_report(
    wb: Workbench,
    *,
    out: str | os.PathLike[str],
    template: str = "overview",
    notebook: str | os.PathLike[str] | None = None,
    filter: Filter | dict[str, Any] | None = None,
    title: str | None = None,
    timeout: int = 600,
    force: bool = False,
) -> Path:
    """Write one self-contained, offline, interactive HTML report and return its path.

    ``out`` is checked first (``outputs.check_output``): never the database or an input,
    never an existing file that is not an earlier report unless ``force``.

    ``template="overview"`` renders the built-in report from the database; ``notebook``
    (a path, or a name/number under ``notebooks/``) executes that notebook with nbclient
    against this database and renders its outputs into the same kind of page.
    """
    f = as_filter(filter)
    out = check_output(wb.con, out, force=force)
    if notebook is not None:
        page = notebook_page(wb, notebook, f, title=title, timeout=timeout)
    elif template == "overview":
        page = overview_page(wb, f, title=title)
    else:
        raise errors.BadOption(errors.unknown_option("report template", template, TEMPLATES))
    html = render_page(page)
    check_output(wb.con, out, force=force)  # again: the page took a while to build
    tmp = out.with_name(out.name + ".tmp")
    try:
        tmp.write_text(html, encoding="utf-8")
        tmp.replace(out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        write_refused(out, exc)
    size = out.stat().st_size
    if size > SIZE_BUDGET_BYTES:
        warnings.warn(
            f"report {out} is {size / 1e6:.1f} MB, over the {SIZE_BUDGET_BYTES / 1e6:.0f} MB "
            "budget; narrow the filter",
            stacklevel=2,
        )
    return out


def default_report_path(template: str = "overview") -> Path:
    return config.REPORTS_DIR / f"{template}.html"


__all__ = [
    "SIZE_BUDGET_BYTES",
    "build_report",
    "content_security_policy",
    "csp_hash",
    "kwic",
    "safe_url",
    "script_json",
]
