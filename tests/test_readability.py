"""Charts and pickers at the scale of a real corpus (issue 18): 110 outlets, heavy-tailed.

Every chart is rendered by Vega (vl-convert, offline) on ``outlets_wb`` and checked for what a
reader meets: legend entries, overlapping labels, the number of marks; the report is opened in
headless Chromium to check that its outlet search reaches every outlet and that the evidence
follows it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from chromium_driver import Chromium, find_chromium

from workbench.present import charts
from workbench.present.charts import MAX_OUTLETS, OTHER_OUTLETS


def _svg(chart) -> str:
    return charts.to_svg(chart)


def _legend_entries(svg: str) -> int:
    return len(re.findall(r'role-legend-symbol|aria-roledescription="legend symbol"', svg)) or len(
        re.findall(r'class="mark-symbol role-legend-symbol', svg)
    )


def _visible_axis_labels(svg: str) -> list[tuple[float, float, str]]:
    """(x, y, text) of the axis labels Vega left visible (overlap hiding sets opacity 0)."""
    out = []
    for block in re.findall(r'<g class="mark-text role-axis-label"[^>]*>(.*?)</g>', svg, re.S):
        for attrs, text in re.findall(r"<text ([^>]*)>([^<]*)</text>", block):
            if 'opacity="0"' in attrs:
                continue
            m = re.search(r'transform="translate\(([-\d.]+),([-\d.]+)\)', attrs)
            if m:
                out.append((float(m.group(1)), float(m.group(2)), text))
    return out


def _no_overlap(labels: list[tuple[float, float, str]], char_px: float = 5.5) -> bool:
    row = sorted((x, t) for x, y, t in labels if abs(y - labels[0][1]) < 1)
    return all(
        b[0] - a[0] >= (len(a[1]) + len(b[1])) / 2 * char_px
        for a, b in zip(row, row[1:], strict=False)
    )


def test_source_comparison_pools_small_outlets(outlets_wb):
    df = outlets_wb.compare(None, "country", n=6)
    assert df["source"].nunique() > 100
    chart = charts.source_comparison(df)
    data = list(chart.to_dict()["datasets"].values())[0]
    outlets = {r["source"] for r in data}
    assert len(outlets) == MAX_OUTLETS + 1 and OTHER_OUTLETS in outlets
    svg = _svg(chart)
    assert _legend_entries(svg) == MAX_OUTLETS + 1
    assert "entries" not in svg  # no "…N entries" legend truncation
    other = [r for r in data if r["source"] == OTHER_OUTLETS]
    small = df[~df["source"].isin(outlets)]
    for r in other:
        assert r["articles"] == int(small.loc[small["key"] == r["key"], "articles"].sum())


def test_world_map_uses_a_log_scale_on_heavy_tails(outlets_wb):
    top = outlets_wb.top("country", None)
    assert top["articles"].max() / top["articles"].min() >= 20
    spec = charts.choropleth(top).to_dict(validate=False)
    assert spec["layer"][1]["encoding"]["color"]["scale"]["type"] == "log"
    svg = _svg(charts.choropleth(top))
    fills = set(re.findall(r'fill="(rgb\([^)]*\))"', svg))
    assert len(fills) >= 8  # a spread of shades, not one dark country and pale others


def test_bars_and_heatmap_labels_do_not_overlap(outlets_wb):
    bars = charts.bars(outlets_wb.top("source", 30))
    svg = _svg(bars)
    assert svg.count('aria-roledescription="bar"') == 30
    x_labels = [lab for lab in _visible_axis_labels(svg) if re.fullmatch(r"[\d,.]+", lab[2])]
    assert x_labels and _no_overlap(x_labels)
    grid = outlets_wb.cooccurrence("theme", "country", top_a=10, top_b=12)
    svg = _svg(charts.heatmap(grid))
    rows, cols = grid["label_a"].nunique(), grid["label_b"].nunique()
    assert svg.count('aria-roledescription="rect mark"') == rows * cols  # every cell drawn


# --------------------------------------------------------------------------- report in Chromium


@pytest.fixture(scope="module")
def browser():
    binary = find_chromium()
    if binary is None:
        pytest.skip("Chromium not found (apt-get install -y chromium) - needs a real browser")
    with Chromium(binary) as c:
        yield c


def test_report_outlet_search_reaches_every_outlet_and_evidence_follows(
    outlets_wb, browser: Chromium, tmp_path: Path
):
    path = outlets_wb.report(tmp_path / "outlets.html")
    c = browser
    c.open(path, settle=0.2)
    c.wait_for("document.body.getAttribute('data-wb-ready') === '1'", timeout=120)
    every = outlets_wb.sql("SELECT DISTINCT source FROM articles")["source"]
    listed = c.eval("Array.from(document.querySelectorAll('#wb-sources option')).map(o => o.value)")
    assert sorted(listed) == sorted(every) and len(listed) > 100
    assert c.eval("document.querySelector('input[name=actor_source]').getAttribute('list')") == (
        "wb-sources"
    )
    # A small outlet, far below the top 8, typed into the actors' search box.
    small = outlets_wb.sql(
        "SELECT source, count(*) n FROM articles a JOIN mentions m USING (article_id) "
        "GROUP BY source HAVING n >= 3 ORDER BY n, source LIMIT 1"
    )["source"][0]
    labels_js = (
        "Array.from(document.querySelector('input[name=actor_source]')"
        ".closest('[data-wb-chart]').querySelectorAll('.mark-rect path'))"
        ".map(p => p.getAttribute('aria-label') || '')"
    )
    before = c.eval(labels_js)
    c.eval(
        "(() => { const s = document.querySelector('input[name=actor_source]');"
        f" s.value = {small!r}; s.dispatchEvent(new Event('input')); }})()"
    )
    c.wait_for(f"JSON.stringify({labels_js}) !== JSON.stringify({before!r})")
    after = c.eval(labels_js)
    expected = outlets_wb.sql(
        "SELECT e.name, count(DISTINCT m.article_id) AS n FROM mentions m "
        "JOIN articles a USING (article_id) JOIN entities e USING (entity_id) "
        "WHERE a.source = ? AND e.type IN ('PERSON', 'ORG') GROUP BY e.name",
        [small],
    )
    drawn = {
        re.search(r"name: ([^;]*)", x).group(1): int(re.search(r"articles: ([\d,]+)", x).group(1))
        for x in after
    }
    assert drawn and set(drawn.values()) <= set(expected["n"])
    shown = c.eval(
        "Array.from(document.querySelectorAll('#actors details.evidence tbody tr'))"
        ".filter(tr => tr.offsetParent !== null).map(tr => tr.children[1].textContent)"
    )
    assert all(small.lower() in s.lower() for s in shown)
    assert c.log.errors() == []


def test_network_labels_do_not_cover_each_other(outlets_wb):
    pairs = outlets_wb.cooccurrence("actor", n=60)
    chart = charts.network(pairs)
    spec = chart.to_dict()
    nodes = set(pairs["key_a"]) | set(pairs["key_b"])
    text_layer = spec["layer"][2]
    labels = spec["datasets"][text_layer["data"]["name"]]
    assert 0 < len(labels) <= len(nodes)
    largest = max(labels, key=lambda r: r["articles"] or 0)
    assert largest["articles"] == max(pairs["articles_a"].max(), pairs["articles_b"].max())
    px = 520 / 2.3
    boxes = [
        (r["x"] * px - len(r["label"]) * 2.8, -r["y"] * px - 18, len(r["label"]) * 5.6)
        for r in labels
    ]
    for i, (x1, y1, w1) in enumerate(boxes):
        for x2, y2, w2 in boxes[i + 1 :]:
            assert x1 + w1 < x2 or x2 + w2 < x1 or abs(y1 - y2) > 12


def test_period_heatmap_draws_every_cell_of_at_most_25_themes(outlets_wb):
    from workbench.present import charts

    th = outlets_wb.coverage("theme", "day", n=None)
    n_themes = th["key"].nunique()
    n_days = th["period"].nunique()
    assert n_themes > charts.HEATMAP_KEYS
    spec = charts.period_heatmap(th).to_dict()
    (cells,) = spec["datasets"].values()
    assert len(cells) == charts.HEATMAP_KEYS * n_days
    assert sum(c["articles"] == 0 for c in cells) > 0  # zero cells present, drawn as 0
    title = spec["vconcat"][0]["encoding"]["y"]["title"]
    assert title == f"the {charts.HEATMAP_KEYS} largest of {n_themes} themes"


def test_report_theme_heatmap_labels_whole_periods(outlets_wb):
    """Point 13: the heat map's period labels were cut ("20-01-06"); each one drawn is a
    whole period label of the data."""
    import vl_convert as vlc

    from workbench.base.formatting import period_label

    th = outlets_wb.coverage("theme", "day", n=None)
    svg = vlc.vegalite_to_svg(charts.period_heatmap(th).to_dict())
    first_axis = re.search(r'<g class="mark-text role-axis-label"[^>]*>(.*?)</g>', svg, re.S)
    drawn = [t for a, t in re.findall(r"<text ([^>]*)>([^<]*)</text>", first_axis.group(1))]
    periods = {period_label(p, "day") for p in th["period"]}
    assert drawn and set(drawn) <= periods
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", t) for t in drawn)


def test_network_draws_one_node_per_name(outlets_wb):
    """Point 13: three "Trump" nodes with overlapping labels; each drawn node has its own name."""
    pairs = outlets_wb.cooccurrence("actor", n=60)
    spec = charts.network(pairs).to_dict()
    nodes = spec["datasets"][spec["layer"][1]["data"]["name"]]
    names = [r["label"] for r in nodes]
    assert len(names) == len(set(pairs["key_a"]) | set(pairs["key_b"])) > 10
    assert len(set(names)) == len(names)


def test_theme_trend_draws_at_most_max_lines_and_says_so(outlets_wb):
    """Point 13: the theme trend chart had ~45 lines; past charts.MAX_LINES it keeps the
    largest keys (by their total) and its subtitle says how many it left out."""
    trends = outlets_wb.coverage("theme", "day", n=None)
    n_themes = trends["key"].nunique()
    assert n_themes > charts.MAX_LINES
    spec = charts.timeline(trends).to_dict()
    (rows,) = spec["datasets"].values()
    drawn = {r["key"] for r in rows}
    totals = trends.groupby("key")["articles"].sum().sort_values(ascending=False, kind="stable")
    assert drawn == set(totals.index[: charts.MAX_LINES])
    assert f"the {charts.MAX_LINES} largest of {n_themes} themes" in " ".join(
        spec["title"]["subtitle"]
    )


def test_a_long_filter_subtitle_is_cut_to_the_chart(outlets_wb):
    """A filter naming 15 outlets ran 1,100 px past a 480 px chart; the subtitle is cut at a
    comma and ends with an ellipsis, while the frame keeps the whole description."""
    from workbench.base.filters import Filter

    outlets = list(outlets_wb.top("source", 15)["key"])
    df = outlets_wb.top("country", 12, Filter(sources=outlets))
    assert len(df.attrs["filter"]) > charts.SUBTITLE_CHARS
    (line,) = charts.bars(df).to_dict()["title"]["subtitle"]
    assert line.startswith("Filter: ") and line.endswith(" …")
    assert len(line) <= len("Filter: ") + charts.SUBTITLE_CHARS + 1
    assert df.attrs["filter"].startswith(line[len("Filter: ") : -2])
