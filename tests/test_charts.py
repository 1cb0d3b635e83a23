"""Every chart builder renders offline (vl-convert, external URLs refused), the map included.

Charts are built from the real query frames of the analysed seed (``seed_wb``) and, for the
map, the 2022 corpora sample (``ru_ua_wb``).
"""

from __future__ import annotations

import json
import re
from typing import Any

import altair as alt
import pandas as pd
import pytest

from workbench import Workbench
from workbench.base import errors
from workbench.present import charts


def _units(spec: Any) -> list[dict[str, Any]]:
    """Every unit spec (a dict with a ``mark``) inside a Vega-Lite spec."""
    found = []
    if isinstance(spec, dict):
        if "mark" in spec:
            found.append(spec)
        for v in spec.values():
            found.extend(_units(v))
    elif isinstance(spec, list):
        for v in spec:
            found.extend(_units(v))
    return found


def _check_spec(chart: alt.TopLevelMixin) -> dict[str, Any]:
    spec = chart.to_dict()
    text = json.dumps(spec)
    assert '"url"' not in text  # all data inline: renders offline, in reports too
    units = _units(spec)
    assert units
    for u in units:
        assert "tooltip" in u.get("encoding", {}), f"mark without tooltip: {u['mark']}"
    return spec


def _render(chart: alt.TopLevelMixin) -> str:
    _check_spec(chart)
    svg = charts.to_svg(chart)  # allowed_base_urls=[]: any fetch would fail
    assert svg.startswith("<svg") and "</svg>" in svg
    return svg


def _marks(svg: str, role: str) -> int:
    return len(re.findall(rf'aria-roledescription="{role}"', svg))


@pytest.fixture(scope="module")
def frames(seed_wb: Workbench) -> dict[str, pd.DataFrame]:
    return {
        "coverage": seed_wb.coverage(by="country", freq="day", n=4),
        "top": seed_wb.top("actor", n=10),
        "cooc": seed_wb.cooccurrence("actor", n=20),
        "heat": seed_wb.cooccurrence("country", "theme", n=None, top_a=5),
        "tone": seed_wb.tone("country", freq="day", n=3),
        "countries": seed_wb.top("country", n=None),
    }


def test_theme_is_registered_and_active():
    assert "workbench" in alt.theme.names()
    assert alt.theme.active == "workbench"


def test_timeline_lines_and_small_multiples(frames):
    df = frames["coverage"]
    svg = _render(charts.timeline(df))
    assert _marks(svg, "line mark") >= 1
    for label in df["label"].unique():
        assert label in svg  # legend names the series
    svg = _render(charts.timeline(df, value="share", facet=True))
    assert _marks(svg, "line mark") == df["key"].nunique()


def test_bars_rank_labels(frames):
    df = frames["top"]
    svg = _render(charts.bars(df))
    assert _marks(svg, "bar") == len(df)
    assert df["label"].iloc[0] in svg


def test_heatmap_and_pmi_heatmap(frames):
    df = frames["heat"]
    assert len(df)
    svg = _render(charts.heatmap(df))
    assert _marks(svg, "rect mark") == len(df)
    svg = _render(charts.heatmap(df, value="pmi"))
    assert _marks(svg, "rect mark") == len(df)


def test_network_layout_and_render(frames):
    df = frames["cooc"]
    chart = charts.network(df)
    spec = _check_spec(chart)
    nodes = set(df["key_a"]) | set(df["key_b"])
    layer_rows = [len(v) for v in spec["datasets"].values()]
    assert len(nodes) in layer_rows and len(df) in layer_rows
    svg = charts.to_svg(chart)
    assert _marks(svg, "circle") == len(nodes)
    assert _marks(svg, "rule mark") == len(df)
    # reproducible layout: same seed, same spec
    assert json.dumps(charts.network(df).to_dict()) == json.dumps(spec)


def test_source_comparison(ru_ua_wb: Workbench):
    df = ru_ua_wb.compare(by="country", n=5)
    assert df["source"].nunique() == 4
    svg = _render(charts.source_comparison(df))
    assert _marks(svg, "bar") == len(df)  # zero shares are drawn (zero width)
    _render(charts.source_comparison(df, value="ratio"))


def test_tone_timeline(frames):
    df = frames["tone"]
    svg = _render(charts.tone_timeline(df))
    assert _marks(svg, "line mark") >= 1
    with pytest.raises(errors.BadOption, match="freq"):
        charts.tone_timeline(df.assign(period=pd.NaT))


def _map_paths(svg: str) -> int:
    return _marks(svg, "geoshape")


def test_world_map_renders_offline_with_country_paths(frames):
    df = frames["countries"]
    chart = charts.choropleth(df)
    spec = _check_spec(chart)
    assert "topojson" in json.dumps(spec)
    svg = charts.to_svg(chart)
    n_geo = len(charts._topology()["objects"]["countries"]["geometries"])
    drawn = sum(1 for k in df["key"] if charts._numeric(k) in charts._geo_ids())
    # background: every country; foreground: the covered ones
    assert _map_paths(svg) == n_geo + drawn
    assert drawn >= 1
    png = charts.to_png(chart)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_world_map_on_the_2022_corpora_names_what_it_cannot_draw(ru_ua_wb: Workbench):
    df = ru_ua_wb.top("country", n=None)
    fake = pd.DataFrame(
        {"key": ["XKX", "REG:WEST"], "label": ["Kosovo", "the West"], "articles": [3, 2]}
    )
    chart = charts.choropleth(pd.concat([df, fake], ignore_index=True))
    subtitle = " ".join(chart.to_dict()["title"]["subtitle"])
    assert "Kosovo" in subtitle and "the West" in subtitle
    svg = charts.to_svg(chart)
    assert _map_paths(svg) > len(charts._topology()["objects"]["countries"]["geometries"])
    assert "RUS" not in subtitle


def test_charts_refuse_raw_rows_and_wrong_frames():
    big = pd.DataFrame({"label": [f"x{i}" for i in range(6000)], "articles": range(6000)})
    with pytest.raises(errors.BadOption, match="aggregate"):
        charts.bars(big)
    with pytest.raises(errors.BadOption, match="lacks columns"):
        charts.timeline(pd.DataFrame({"x": [1]}))
