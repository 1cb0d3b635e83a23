"""Counts that never mislead and one formatting layer (issue 18): true totals with "showing
N of M", the full grid of a heat map, explorer bars drawn as the data says, period labels,
tables for people and CSV/JSON for machines, commands that only read."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from workbench import Workbench
from workbench.base.formatting import cell, period_label
from workbench.cli.main import app
from workbench.explore import panels
from workbench.present import charts, report
from workbench.resolve import countries

runner = CliRunner()


# --------------------------------------------------------------------------- drawn bars


def _drawn_bars(chart) -> dict[str, float]:
    """Name -> drawn bar length, read from the SVG Vega renders for the chart."""
    svg = charts.to_svg(chart)
    out: dict[str, float] = {}
    for aria, d in re.findall(
        r'<path aria-label="([^"]*)"[^>]*aria-roledescription="bar" d="([^"]*)"', svg
    ):
        name = re.search(r"name: (.*?)(?:; id: |; articles: |$)", aria).group(1)
        if "h" in d:
            width = abs(float(re.search(r"h(-?[\d.]+)", d).group(1)))
        else:  # rounded ends: the path's right-most x
            nums = [float(x) for x in re.findall(r"-?[\d.]+(?:e-?\d+)?", d)]
            width = max(nums[0::2])
        out[name.replace("&amp;", "&")] = width
    return out


def _assert_bars_match(ex: panels.Explorer, value: str) -> None:
    drawn = _drawn_bars(ex.chart.chart)
    data = ex.data.set_index("label")[value]
    assert len(drawn) == len(data), (len(drawn), len(data))
    top = float(data.max())
    scale = max(drawn.values()) / top
    for name, width in drawn.items():
        assert width == pytest.approx(float(data[name]) * scale, rel=0.02, abs=0.6), name


def test_source_explorer_draws_the_bars_its_data_holds(outlets_wb):
    ex = panels.Explorer(outlets_wb, "source", n=10)
    assert len(ex.data) == 10 and ex.data["articles"].is_monotonic_decreasing
    _assert_bars_match(ex, "articles")
    assert "counted in articles" in ex.status.value
    ex.measure.value = "share"
    _assert_bars_match(ex, "share")
    assert "counted in share of the filtered articles" in ex.status.value
    ex.measure.value = "count"
    _assert_bars_match(ex, "articles")
    ex.top_n.value = 25
    assert len(ex.data) == 25
    _assert_bars_match(ex, "articles")
    second = ex.data["key"].iloc[1]
    ex.sources.value = tuple(k for k in ex.data["key"].iloc[:5] if k != second)
    _assert_bars_match(ex, "articles")
    assert second not in set(ex.data["key"])


def test_top_n_reaches_every_outlet_and_pools_the_tail(outlets_wb):
    """The slider goes up to the number of outlets; past charts.MAX_BARS the tail is one
    grey bar whose length is the tail's articles (each article has one outlet)."""
    ex = panels.Explorer(outlets_wb, "source", n=10)
    n = outlets_wb.summary()["n_sources"]
    assert ex.top_n.max == n > charts.MAX_BARS
    ex.top_n.value = n
    assert len(ex.data) == n  # every row stays in panel.data
    drawn = _drawn_bars(ex.chart.chart)
    assert len(drawn) == charts.MAX_BARS
    tail = ex.data["articles"].iloc[charts.MAX_BARS - 1 :]
    other = f"{len(tail)} other sources"
    head = ex.data.set_index("label")["articles"].iloc[: charts.MAX_BARS - 1]
    scale = drawn[head.index[0]] / head.iloc[0]
    assert drawn[other] == pytest.approx(tail.sum() * scale, rel=0.02)
    for name, v in head.items():
        assert drawn[name] == pytest.approx(v * scale, rel=0.02, abs=0.6), name
    subtitle = ex.chart.spec["title"]["subtitle"]
    assert f"top {charts.MAX_BARS - 1} of {n} sources, then the other {len(tail)} together" in (
        subtitle
    )
    svg = charts.to_svg(ex.chart.chart)
    assert svg.index(f"label: {other}") > svg.index(f"label: {head.index[-1]}")  # drawn last
    ex.measure.value = "share"
    pooled = ex.chart.chart.data.iloc[-1]
    assert pooled["share"] == pytest.approx(ex.data["share"].iloc[charts.MAX_BARS - 1 :].sum())
    # A click on the pooled bar reads no sentences of a key that does not exist.
    ex.chart._vl_selections = {
        panels.PICK: {"value": {"vlPoint": {"or": [{"key": ""}]}}, "store": []}
    }
    assert ex.clicked == ()


def test_actor_bars_past_the_readable_count_say_what_they_leave_out(outlets_wb):
    """Articles of different actors overlap, so their tail cannot be summed into one bar: the
    chart draws the top MAX_BARS and its subtitle says so."""
    ex = panels.Explorer(outlets_wb, "actor", n=charts.MAX_BARS + 20)
    assert len(ex.data) == charts.MAX_BARS + 20
    drawn = _drawn_bars(ex.chart.chart)
    assert len(drawn) == charts.MAX_BARS
    assert set(drawn) == set(ex.data["label"].iloc[: charts.MAX_BARS])
    # The filter line (the explorer's date window) comes first, then what was left out.
    assert ex.chart.spec["title"]["subtitle"][-1] == (
        f"showing the top {charts.MAX_BARS} of {len(ex.data)} actors"
    )


def test_top_n_keeps_keys_that_share_a_label(outlets_wb):
    df = outlets_wb.top("source", 10)
    df.loc[df.index[:2], "label"] = "Same Name"  # two outlets displayed alike
    drawn = _drawn_bars(charts.bars(df))
    assert len(drawn) == 10
    assert {f"Same Name · {k}" for k in df["key"][:2]} <= set(drawn)


# --------------------------------------------------------------------------- true totals


def test_overview_and_summary_count_every_outlet(tmp_path: Path, outlets_export: Path):
    wb = Workbench(tmp_path / "o.duckdb")
    wb.ingest([outlets_export], progress=False)
    n = len({r["source"] for r in json.loads(outlets_export.read_text())})
    assert n > 100
    s = wb.summary()
    assert s["n_sources"] == n and len(s["sources"]) == 20
    assert (
        f'outlets</div><div style="font-size:20px;font-weight:600">{n}<'
        in panels.overview(wb).value
    )
    wb.close()
    r = runner.invoke(app, ["summary", "--db", str(tmp_path / "o.duckdb")])
    assert f"; {n} outlets;" in r.output.replace("\n", " ")


def test_kwic_states_the_true_total(ru_ua_wb):
    term = "said"  # a word, not an entity name (those list resolved mentions)
    rx = re.compile(r"\b" + term + r"\b", re.IGNORECASE | re.ASCII)
    sents = ru_ua_wb.sql("SELECT article_id, text FROM sentences")
    hits = sents["text"].map(lambda t: len(rx.findall(t)))
    total, articles = int(hits.sum()), sents.loc[hits > 0, "article_id"].nunique()
    assert total > 40
    df = ru_ua_wb.kwic(term, n=40, entity=False)
    assert len(df) == 40 and df.attrs["total"] == total and df.attrs["total_articles"] == articles
    whole = ru_ua_wb.kwic(term, n=None, entity=False)
    assert len(whole) == total and whole.attrs["total"] == total
    ru_ua_wb.close()  # the CLI opens the file itself
    r = runner.invoke(app, ["kwic", term, "--db", str(ru_ua_wb.path), "--n", "5"])
    assert r.exit_code == 0, r.output
    title = " ".join(r.output.split("┏")[0].split())
    assert title == (
        f"{term} — {total:,} occurrences in {articles:,} articles (term match); "
        f"showing 5 of {total:,} (--n)"
    )


def test_heatmap_grid_is_whole_and_zero_cells_are_drawn(outlets_wb):
    grid = outlets_wb.cooccurrence("theme", "country", top_a=10, top_b=12)
    every = outlets_wb.cooccurrence("theme", "country", top_a=10, top_b=12, n=None)
    assert len(grid) == len(every) > 50  # the default n=50 no longer cuts the grid
    chart = charts.heatmap(grid)
    data = pd.DataFrame(chart.to_dict()["datasets"].popitem()[1])
    rows, cols = grid["label_a"].nunique(), grid["label_b"].nunique()
    assert len(data) == rows * cols
    zeros = data[data["articles"] == 0]
    assert len(zeros) == rows * cols - len(grid)
    merged = data.merge(grid, on=["label_a", "label_b"], suffixes=("", "_q"))
    assert (merged["articles"] == merged["articles_q"]).all()


# --------------------------------------------------------------------------- naming


def test_one_country_name_on_every_surface(ru_ua_wb):
    top = ru_ua_wb.top("country", 30)
    for key, label in zip(top["key"], top["label"], strict=True):
        assert report.country_name(key) == countries.country_name(key) == label
    assert report.country_name("RUS") == "Russia"


def test_period_labels_and_cells():
    assert period_label("2020-01-06", "week") == "2020-W02"
    assert period_label("2020-01-01", "month") == "2020-01"
    assert period_label("2020-04-01", "quarter") == "2020-Q2"
    assert period_label("2020-03-09", "day") == "2020-03-09"
    assert period_label(pd.NaT, "month") == ""
    assert cell(pd.Timestamp("2020-03-09")) == "2020-03-09"
    assert cell(32086380.0) == "32,086,380"
    assert cell(float("nan")) == "" and cell(None) == "" and cell(pd.NaT) == ""
    assert cell(0.12345) == "0.1235"


def test_tone_by_source_has_no_period_column(ru_ua_wb):
    df = ru_ua_wb.tone("source", freq=None)
    assert "period" not in df.columns and len(df) == 4
    assert "period" in ru_ua_wb.tone("source", freq="month").columns


# --------------------------------------------------------------------------- CLI output


def test_cli_tables_for_people_and_csv_json_for_machines(ru_ua_wb):
    db = str(ru_ua_wb.path)
    q = (
        "SELECT date, sum(n_words) AS words, max(url) AS url FROM articles "
        "WHERE date = (SELECT min(date) FROM articles) GROUP BY date"
    )
    [(day, words)] = ru_ua_wb.sql(
        "SELECT min(date)::VARCHAR, (SELECT sum(n_words) FROM articles WHERE date = "
        "(SELECT min(date) FROM articles)) FROM articles"
    ).itertuples(index=False)
    weeks_expected = sorted(
        {period_label(p, "week") for p in ru_ua_wb.coverage("source", "week")["period"]}
    )
    ru_ua_wb.close()  # the CLI opens the file itself
    r = runner.invoke(app, ["sql", q, "--db", db])
    assert r.exit_code == 0, r.output
    [row] = [ln for ln in r.output.splitlines() if day in ln]
    assert re.fullmatch(rf"│ {day} │ +{int(words):,} │ +│", row.strip()), row
    assert "00:00:00" not in r.output and "nan" not in r.output
    r = runner.invoke(app, ["sql", q, "--db", db, "--format", "csv"])
    assert r.output == f"date,words,url\n{day},{int(words)},\n"
    r = runner.invoke(app, ["sql", q, "--db", db, "--format", "json"])
    assert json.loads(r.output) == [{"date": day, "words": int(words), "url": None}]
    r = runner.invoke(app, ["coverage", "--by", "source", "--freq", "week", "--db", db])
    weeks = re.findall(r"│ (\d{4}-W\d{2}) │", r.output)
    assert weeks == weeks_expected
    r = runner.invoke(app, ["coverage", "--by", "source", "--freq", "month", "--db", db])
    assert re.search(r"│ 2022-0\d │", r.output) and "-01 00" not in r.output


def test_help_fits_the_terminal():
    r = runner.invoke(app, ["ingest", "--help"], terminal_width=80)
    assert r.exit_code == 0
    assert all(len(ln) <= 80 for ln in r.output.splitlines()), r.output
    flat = " ".join(r.output.split())
    assert "auto, seed, csv, jsonl, json, parquet, reuters, labelled, html, warc." in flat
    assert "…" not in r.output


def test_reading_commands_never_write(ru_ua_wb, tmp_path: Path):
    path = ru_ua_wb.path
    ru_ua_wb.close()  # (closing checkpoints: measure after it)
    before = (path.stat().st_mtime_ns, path.stat().st_size)
    holder = subprocess.Popen(  # a notebook holding the database open read-only
        [
            sys.executable,
            "-c",
            "import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True);"
            " print('ready', flush=True); sys.stdin.read()",
            str(path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        for args in (["quotes"], ["themes"], ["tone"], ["quotes", "--actor", "Zelenskyy"]):
            r = runner.invoke(app, [*args, "--db", str(path)])
            assert r.exit_code == 0, (args, r.output)
            assert "0 articles" not in r.output  # no recompute summary
        r = runner.invoke(app, ["quotes", "--db", str(path), "--limit", "3"])
        assert re.match(r"[\d,]+ quotations; showing 3 of [\d,]+ \(--limit\)", r.output), r.output
    finally:
        holder.communicate("", timeout=30)
    assert (path.stat().st_mtime_ns, path.stat().st_size) == before
