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
import functools
import hashlib
import json
import os
import re
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import altair as alt
import pandas as pd
import vl_convert
from markupsafe import Markup, escape

from ..annotate import stories
from ..base import config, errors
from ..base.filters import Filter, as_filter
from ..base.outputs import check_output, write_refused
from . import charts
from .report_data import (
    KWIC_CONTEXT,
    NO_SOURCE,
    TOP_CHART,
    TOP_EVIDENCE,
    TOP_THEMES,
    ReportData,
    iso_date,
)
from .report_data import country_name as country_name  # re-exported: tests use report.country_name
from .report_html import BOOTSTRAP_JS, CSS, TEMPLATE
from .report_notebook import notebook_page
from .report_page import Block, Cell, Page, Section, cell_html, safe_url

if TYPE_CHECKING:
    from ..core.workbench import Workbench

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
    # Not a direct dependency (altair brings it): imported where a page is rendered.
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


# ---------------------------------------------------------------------- keyword in context
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
def optional_chart(build: Callable[[], alt.TopLevelMixin], what: str) -> alt.TopLevelMixin | None:
    """A chart the section can do without (a map beside the bars that carry the same
    numbers): when it cannot be drawn the report says so in a warning and goes on."""
    try:
        return build()
    except Exception as exc:  # the bar chart below still shows the numbers
        warnings.warn(f"{what} skipped: {exc}", stacklevel=2)
        return None


# ---------------------------------------------------------------------- evidence tables
EVIDENCE_COLUMNS = ["date", "source", "before", "match", "after", "article", "ref"]


def evidence_rows(ev: pd.DataFrame, key: str) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for r in ev[ev["key"] == key].itertuples(index=False):
        if isinstance(r.sentence, str):
            start = int(r.start_char) - int(r.sentence_start)
            end = int(r.end_char) - int(r.sentence_start)
            left, mid, right = kwic(r.sentence, start, end, r.matched)
        else:  # no stored sentence: the span's own text
            left, mid, right = "", str(r.matched or ""), ""
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
    coverage_section(page, data, unit, sources, every)
    actors_section(page, data, f)
    countries_section(page, data)
    themes_section(page, data, unit)
    tone_section(page, data, unit, sources)
    quotes_section(page, data)
    syndication_section(page, wb, f)
    return page


def coverage_section(
    page: Page, data: ReportData, unit: str, sources: list[str], every: list[str]
) -> None:
    sec = Section("coverage", "Coverage over time", f"Articles per {unit} by source.")
    page.sections.append(sec)
    cov = data.coverage(unit, sources)
    if cov.empty:
        sec.empty = "No dated articles in this selection."
    else:
        page.add_chart(sec, charts.timeline(cov, stack=True, title="Articles by outlet", width=860))
    options = "".join(f'<option value="{escape(x)}">' for x in every)
    sec.blocks.append(
        Block(kind="html", html=Markup(f'<datalist id="wb-sources">{options}</datalist>'))  # noqa: S704 - escaped
    )


def _top_items(df: pd.DataFrame, n: int = TOP_EVIDENCE) -> pd.DataFrame:
    """The ``n`` keys with most articles over all outlets (key, label, articles)."""
    tops = df.groupby(["key", "label"], as_index=False)["articles"].sum()
    return tops.sort_values(["articles", "key"], ascending=[False, True]).head(n)


def actors_section(page: Page, data: ReportData, f: Filter) -> None:
    sec = Section(
        "actors",
        "Actors",
        "Most-covered people and organisations (articles mentioning them). Choose a type "
        "and a source, and how many to show.",
    )
    page.sections.append(sec)
    act = data.actors(list(f.actor_types))
    if act.empty:
        sec.empty = "No resolved actors yet: run `workbench analyze` on this database."
        return
    ranked_with_evidence(page, sec, data, act, "actor", "Most covered actors")


def ranked_with_evidence(
    page: Page,
    sec: Section,
    data: ReportData,
    frame: pd.DataFrame,
    kind: str,
    title: str,
    *,
    label: str = "{label}",
) -> None:
    """A per-outlet ranked bar chart of ``frame`` and, under it, the evidence of its top
    keys (``label`` formats each key's heading from its ``key`` and ``label``)."""
    page.add_chart(
        sec,
        charts.bars(frame, per_outlet=True, name=kind, max_top=TOP_CHART, width=620, title=title),
    )
    tops = _top_items(frame)
    add_evidence(
        page,
        sec,
        data.evidence(kind, tops["key"].tolist()),
        [
            (r.key, label.format(key=r.key, label=r.label), int(r.articles))
            for r in tops.itertuples()
        ],
    )


def countries_section(page: Page, data: ReportData) -> None:
    sec = Section(
        "countries",
        "Countries",
        "Countries the articles are about (resolved place mentions). Choose a source and how "
        "many to show.",
    )
    page.sections.append(sec)
    cty = data.countries()
    if cty.empty:
        sec.empty = "No resolved countries yet: run `workbench analyze` on this database."
        return
    totals = data.country_totals(cty)
    m = optional_chart(
        lambda: charts.choropleth(
            totals, title="Articles per country (all sources)", width=860, height=380
        ),
        "world map",
    )
    if m is not None:
        page.add_chart(sec, m)
    towns = data.places()
    if not towns.empty:
        pm = optional_chart(
            lambda: charts.place_map(
                towns, title="Towns named in the articles (all sources)", width=860, height=380
            ),
            "place map",
        )
        if pm is not None:
            page.add_chart(sec, pm)
    ranked_with_evidence(
        page, sec, data, cty, "country", "Most covered countries", label="{label} ({key})"
    )


def themes_section(page: Page, data: ReportData, unit: str) -> None:
    sec = Section(
        "themes",
        "Themes",
        f"Articles per theme and {unit}. Click cells to compare themes (shift-click to add).",
    )
    page.sections.append(sec)
    th = data.themes(unit)
    if th.empty or not th["articles"].any():
        sec.empty = "No themes tagged yet: run `workbench analyze` on this database."
        return
    page.add_chart(sec, charts.period_heatmap(th, keys=TOP_THEMES))
    tops = _top_items(th)
    add_evidence(
        page,
        sec,
        data.evidence("theme", tops["key"].tolist()),
        [(r.key, r.label, int(r.articles)) for r in tops.itertuples()],
    )


def tone_section(page: Page, data: ReportData, unit: str, sources: list[str]) -> None:
    sec = Section("tone", "Tone", f"Mean article tone per {unit} and source (-1 to +1).")
    page.sections.append(sec)
    tone = data.tone(unit, sources)
    if tone.empty:
        sec.empty = "No tone scores yet: run `workbench analyze` on this database."
        return
    page.add_chart(sec, charts.tone_timeline(tone, title="Tone by outlet", width=860, height=220))


def quotes_section(page: Page, data: ReportData) -> None:
    sec = Section("quotes", "Quotes", "Who is quoted most, with their latest quote.")
    page.sections.append(sec)
    sp = data.speakers()
    if sp.empty:
        sec.empty = "No quotes found yet: run `workbench analyze` on this database."
        return
    rows = []
    for r in sp.itertuples(index=False):
        quote = r.text if len(r.text) <= 240 else r.text[:240] + "…"
        rows.append(
            [
                Cell(r.speaker),
                Cell(int(r.quotes), cls="num"),
                Cell(int(r.articles), cls="num"),
                Cell(f"“{quote}”"),
                Cell(iso_date(r.date), cls="num"),
                Cell(r.source or NO_SOURCE),
                Cell(r.title or "(untitled)", href=r.url),
            ]
        )
    sec.blocks.append(
        Block(
            kind="table",
            cls="quotes",
            columns=["speaker", "quotes", "articles", "latest quote", "date", "source", "article"],
            rows=rows,
        )
    )


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
    syn = wb.syndication(f)
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
