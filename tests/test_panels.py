"""Widget explorers, exercised in-process: set a widget value, the chart data and the evidence
table follow (compared with the query method the panel is meant to call)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import altair as alt
import pandas as pd
import pytest
from conftest import write_seed_article

from workbench import Filter, Workbench
from workbench.base import errors
from workbench.explore import panels


@pytest.fixture(scope="module")
def explorer(ru_ua_wb):
    return panels.Explorer(ru_ua_wb, "actor", n=8)


def _spec_x(ex: panels.Explorer) -> str:
    return ex.chart.spec["encoding"]["x"]["field"]


# --------------------------------------------------------------------------- setup / open


def test_setup_renders_offline():
    panels.setup()
    assert alt.renderers.active == "jupyter"
    assert alt.JupyterChart._is_offline
    js = str(alt.JupyterChart._esm)
    assert "vega" in js and len(js) > 100_000  # the bundled runtime, not a CDN import stub
    assert 'from "https://' not in js and "esm.sh" not in js
    chart = alt.JupyterChart(alt.Chart(pd.DataFrame({"a": [1]})).mark_point().encode(x="a"))
    assert chart._esm == js


def test_open_workbench_missing_file_says_what_to_do(tmp_path):
    with pytest.raises(errors.WorkbenchError, match="make demo"):
        panels.open_workbench(tmp_path / "nope.duckdb")


def test_open_workbench_while_another_process_writes(tmp_path):
    path = tmp_path / "busy.duckdb"
    Workbench(path).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; con = duckdb.connect(sys.argv[1]); print('ready', flush=True);"
            " sys.stdin.read()",
            str(path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(errors.DatabaseInUse, match=f"PID {holder.pid}.*writing to it"):
            panels.open_workbench(path)
    finally:
        holder.communicate("", timeout=30)
    wb = panels.open_workbench(path)  # the writer is gone: opens read-only
    assert wb.read_only
    wb.close()


# --------------------------------------------------------------------------- explorer


def test_initial_view_is_the_ranking_with_evidence_for_the_top_item(explorer, ru_ua_wb):
    ex = explorer
    expected = ru_ua_wb.top("actor", 8, ex.filter)
    pd.testing.assert_frame_equal(ex.data.reset_index(drop=True), expected)
    assert _spec_x(ex) == "articles"
    assert ex.focus == (expected.key[0],)
    assert len(ex.evidence) > 0 and set(ex.evidence.key) == {expected.key[0]}
    assert "<mark>" in ex.table.value and ex.evidence.article_id[0] in ex.table.value


def test_top_n_and_share_toggle(explorer):
    ex = explorer
    ex.top_n.value = 4
    assert len(ex.data) == 4
    ex.measure.value = "share"
    assert _spec_x(ex) == "share"
    ex.measure.value = "count"
    assert _spec_x(ex) == "articles"
    ex.top_n.value = 8


def test_outlet_and_date_range_restrict_data_and_evidence(explorer, ru_ua_wb):
    ex = explorer
    source = ex.sources.options[0][1]
    ex.sources.value = (source,)
    assert ex.filter.sources == (source,)
    pd.testing.assert_frame_equal(
        ex.data.reset_index(drop=True),
        ru_ua_wb.top(
            "actor",
            8,
            Filter(sources=source, date_from=ex.date_from.value, date_to=ex.date_to.value),
        ),
    )
    assert set(ex.evidence.source) == {source}
    lo, hi = dt.date(2022, 6, 1), dt.date(2022, 6, 30)
    ex.date_from.value, ex.date_to.value = lo, hi
    dates = pd.to_datetime(ex.evidence.date).dt.date
    assert len(ex.evidence) == 0 or (dates.between(lo, hi)).all()
    pd.testing.assert_frame_equal(
        ex.data.reset_index(drop=True),
        ru_ua_wb.top("actor", 8, Filter(sources=source, date_from=lo, date_to=hi)),
    )
    ex.sources.value = ()
    ex.date_from.value, ex.date_to.value = ex._date_bounds()


def test_an_empty_date_range_is_a_message_not_an_exception(explorer):
    ex = explorer
    ex.date_to.value = dt.date(2022, 5, 1)
    before = ex.data
    ex.date_from.value = dt.date(2022, 8, 1)
    assert "date range is empty" in ex.status.value
    assert ex.data is before  # nothing re-queried
    ex.date_from.value, ex.date_to.value = ex._date_bounds()
    assert "date range is empty" not in ex.status.value


def test_dedup_mode_reaches_the_filter(explorer, ru_ua_wb):
    explorer.dedup.value = "text"
    assert explorer.filter.dedup == "text"
    pd.testing.assert_frame_equal(
        explorer.data.reset_index(drop=True), ru_ua_wb.top("actor", 8, explorer.filter)
    )
    explorer.dedup.value = "none"


def test_search_narrows_the_picker_and_keeps_picked_items(explorer):
    ex = explorer
    first = ex.picker.options[0]
    ex.picker.value = (first[1],)
    word = ex.picker.options[1][0].split()[0].lower()
    ex.search.value = word
    labels = [label.lower() for label, _ in ex.picker.options]
    assert all(word in lab for lab in labels if lab != first[0].lower())
    assert ex.picker.value == (first[1],)
    ex.search.value = ""
    assert len(ex.picker.options) == len(ex._choices)
    ex.picker.value = ()


def test_picking_shows_coverage_over_time_and_their_sentences(explorer, ru_ua_wb):
    ex = explorer
    keys = tuple(v for _, v in ex.picker.options[:2])
    ex.picker.value = keys
    assert "period" in ex.data.columns and set(ex.data.key) == set(keys)
    expected = ru_ua_wb.coverage("actor", "month", False, ex.filter, values=keys)
    pd.testing.assert_frame_equal(ex.data.reset_index(drop=True), expected)
    assert ex.chart.spec["encoding"]["x"]["field"] == "period"
    assert set(ex.evidence.key) <= set(keys) and len(ex.evidence) > 0
    ex.measure.value = "share"
    assert (ex.data.value == ex.data.share).all()
    ex.measure.value = "count"
    ex.picker.value = ()
    assert "period" not in ex.data.columns


def test_clicking_a_bar_shows_that_items_sentences(explorer):
    ex = explorer
    key = ex.data.key[2]
    ex.chart._vl_selections = {
        panels.PICK: {"value": {"vlPoint": {"or": [{"key": key}]}}, "store": []}
    }
    assert ex.focus == (key,)
    assert set(ex.evidence.key) == {key}
    ex.top_n.value = 7  # any control change returns to the default focus
    assert ex.focus == (ex.data.key[0],)


@pytest.mark.parametrize("kind", ["country", "theme", "source", "place", "admin1"])
def test_other_kinds(ru_ua_wb, kind):
    ex = panels.Explorer(ru_ua_wb, kind, n=5)
    want = ru_ua_wb.top(kind, n=5)  # 4 sources in this corpus, so not always 5
    assert 0 < len(ex.data) == len(want) and list(ex.data.key) == list(want.key)
    assert len(ex.evidence) > 0
    ex.picker.value = (ex.picker.options[0][1],)
    assert set(ex.data.key) == {ex.picker.options[0][1]}


def test_unknown_kind():
    with pytest.raises(errors.BadOption, match="explorer kind"):
        panels.Explorer(None, "planet")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- evidence table


@pytest.fixture(scope="module")
def hostile_wb(tmp_path_factory):
    """An article whose text and URL try to inject markup into the evidence table."""
    d = tmp_path_factory.mktemp("hostile")
    write_seed_article(
        d,
        "x.txt",
        "2022-03-01",
        'Vladimir Putin said <script>alert("x")</script> & <b>bold</b> things in Moscow. '
        "Vladimir Putin met officials in Moscow again.",
    )
    wb = Workbench(d / "h.duckdb")
    wb.ingest([d / "x.txt"], progress=False)
    wb.analyze(progress=False)
    yield wb
    wb.close()


def test_evidence_table_escapes_article_text(hostile_wb):
    ex = panels.Explorer(hostile_wb, "actor")
    assert len(ex.evidence) > 0
    page = ex.table.value
    assert "<script>" not in page and "<b>bold</b>" not in page
    assert "&lt;script&gt;" in page and "&amp;" in page


def test_evidence_links_only_http_urls():
    df = pd.DataFrame(
        {
            "article_id": ["a1", "a2"],
            "date": [dt.date(2022, 1, 1)] * 2,
            "source": ["S", "S"],
            "url": ["https://example.org/a?x=1&y=2", "javascript:alert(1)"],
            "left": ["x "] * 2,
            "keyword": ["k"] * 2,
            "right": [" y"] * 2,
        }
    )
    page = panels.evidence_html(df)
    assert 'href="https://example.org/a?x=1&amp;y=2"' in page
    assert "javascript:" not in page and "<code>a2</code>" in page
    assert "No sentences" in panels.evidence_html(df.iloc[:0])


def test_overview_shows_the_corpus_numbers(ru_ua_wb):
    box = panels.overview(ru_ua_wb)
    s = ru_ua_wb.summary()
    assert f"{s['articles']:,}" in box.value and s["date_min"] in box.value


@pytest.mark.parametrize("kind", ["place", "admin1"])
def test_place_kinds_follow_the_filter_and_the_picker(outlets_wb, kind):
    """Towns/states and first-level divisions on the Reuters articles: the ranking, the
    coverage of picked places and their sentences are the query layer's."""
    ex = panels.Explorer(outlets_wb, kind, n=6)
    assert ex.top_n.max == min(panels.MAX_TOP_N, len(ex._choices)) > 10
    pd.testing.assert_frame_equal(
        ex.data.reset_index(drop=True), outlets_wb.top(kind, 6, ex.filter)
    )
    assert ex.data["label"].ne(ex.data["key"]).all()  # named, not "5128638" or "USA.NY"
    top = ex.data["key"].iloc[0]
    assert len(ex.evidence) > 0 and set(ex.evidence.key) == {top}
    assert "Pick " + ("states/provinces" if kind == "admin1" else "places") == ex.picker.description
    keys = tuple(ex.data["key"].iloc[:2])
    ex.picker.value = keys
    pd.testing.assert_frame_equal(
        ex.data.reset_index(drop=True),
        outlets_wb.coverage(kind, "month", False, ex.filter, values=keys),
    )
    assert set(ex.evidence.key) <= set(keys) and len(ex.evidence) > 0
