"""A new user's own export (issue 18): JSON files and folders, the columns used for each
field printed and recorded, numeric dates whose order the user states, HTML named as HTML."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
from pathlib import Path

import pytest
from conftest import RU_UA, need_shared
from typer.testing import CliRunner

from workbench.cli.main import app
from workbench.ingest.load import Article, Limits, Reject, load, parse_date

runner = CliRunner()


def _guardian_rows(n: int) -> list[dict[str, str]]:
    need_shared("corpora", "ru-ua-2022")
    with open(RU_UA / "Guardians_Russia_Ukraine.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))[:n]


def test_json_folder_is_read_one_article_per_file(wb, guardian_json_export: Path):
    files = sorted(guardian_json_export.glob("*.json"))
    result = wb.ingest(guardian_json_export, progress=False)
    assert result.rejected == 0 and result.stored + result.duplicates == len(files)
    origins = {r[0] for r in wb.con.execute("SELECT origin FROM articles").fetchall()}
    assert str(files[0]) in origins  # one file, one article: the file's own name
    [used] = result.columns_used
    assert used["format"] == "json" and used["rows"] == len(files)
    assert used["columns"] == {
        "text": "content",
        "date": "date",
        "title": "title",
        "source": "source",
    }
    warnings = " ".join(used["warnings"])
    assert "'content_original' may hold the original of 'content'" in warnings
    assert "--text content_original" in warnings and "looks tokenised" in warnings
    options = json.loads(wb.con.execute("SELECT options FROM runs").fetchone()[0])
    assert options["columns_used"][0]["columns"]["text"] == "content"
    n_sources = wb.con.execute("SELECT count(DISTINCT source) FROM articles").fetchone()[0]
    assert n_sources == 3


def test_the_given_text_column_is_used_without_warning(wb, guardian_json_export: Path):
    result = wb.ingest(guardian_json_export, text="content_original", progress=False)
    [used] = result.columns_used
    assert used["columns"]["text"] == "content_original" and used["given"] == ["text"]
    assert used["warnings"] == []
    row = _guardian_rows(1)[0]
    stored = wb.con.execute(
        "SELECT text FROM articles WHERE title = ?", [row["headlines"]]
    ).fetchone()[0]
    assert stored == row["articles"].strip()


def test_json_array_and_json_lines_saved_as_json(tmp_path: Path):
    rows = _guardian_rows(5)
    records = [
        {"date": r["published"], "headline": r["headlines"], "body": r["articles"]} for r in rows
    ]
    (tmp_path / "array.json").write_text(json.dumps(records, indent=1), encoding="utf-8")
    (tmp_path / "lines.json").write_text("\n".join(json.dumps(r) for r in records[:2]))
    (tmp_path / "broken.json").write_text('[{"date": "2022-01-01", "body": "x"}, {"date": ')
    (tmp_path / "numbers.json").write_text("[1, 2]")
    items = list(load([tmp_path]))
    stored = [i for i in items if isinstance(i, Article)]
    by_origin = {i.origin: i for i in items}
    assert len(stored) == 5 + 2 + 1
    assert by_origin[f"{tmp_path / 'array.json'}#item=5"].title == rows[4]["headlines"]
    assert (
        by_origin[f"{tmp_path / 'lines.json'}#value=2"].date == parse_date(rows[1]["published"])[0]
    )
    bad = by_origin[f"{tmp_path / 'broken.json'}#item=2"]
    assert (
        isinstance(bad, Reject) and bad.reason == "malformed_row" and "invalid JSON" in bad.detail
    )
    num = by_origin[f"{tmp_path / 'numbers.json'}#item=1"]
    assert isinstance(num, Reject) and "int where an object" in num.detail


def test_numeric_dates_need_their_order_and_date_format_is_tried_first(tmp_path: Path):
    with pytest.raises(ValueError, match="--monthfirst"):
        parse_date("9/6/17")
    assert parse_date("9/6/17", dayfirst=False) == (dt.date(2017, 9, 6), None)
    assert parse_date("9/6/17", dayfirst=True) == (dt.date(2017, 6, 9), None)
    assert parse_date("09.06.2017 14:30", dayfirst=True)[1] == dt.datetime(2017, 6, 9, 14, 30)
    with pytest.raises(ValueError, match="not a valid date read month first"):
        parse_date("25/12/2017", dayfirst=False)
    assert parse_date("2017|06|09", formats=["%Y|%m|%d"]) == (dt.date(2017, 6, 9), None)
    assert parse_date("Mon, 09 Mar 2020 10:00:00 GMT")[1] == dt.datetime(2020, 3, 9, 10)
    assert parse_date("March 9, 2020")[0] == dt.date(2020, 3, 9)
    rows = _guardian_rows(3)
    with open(tmp_path / "us.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["date", "text"])
        for r in rows:
            d = parse_date(r["published"])[0]
            w.writerow([f"{d.month}/{d.day}/{d.year % 100:02d}", r["articles"]])
    plain = list(load([tmp_path / "us.csv"]))
    assert all(isinstance(i, Reject) and "ambiguous date" in i.detail for i in plain)
    us = list(load([tmp_path / "us.csv"], limits=Limits(dayfirst=False)))
    assert [a.date for a in us] == [parse_date(r["published"])[0] for r in rows]


def test_raw_html_reaching_the_text_loader_is_named_as_html(tmp_path: Path):
    pages = need_shared("corpora", "article-extraction-dev", "html")
    page = sorted(pages.glob("*.html.gz"))[0]
    (tmp_path / "page.txt").write_bytes(gzip.decompress(page.read_bytes()))
    [item] = list(load([tmp_path / "page.txt"], format="seed"))
    assert isinstance(item, Reject) and item.reason == "html"
    assert "HTML page" in item.detail and "extract the article text" in item.detail


def test_cli_ingest_prints_the_columns_used(tmp_path: Path, guardian_json_export: Path):
    db = tmp_path / "c.duckdb"
    r = runner.invoke(
        app, ["ingest", str(guardian_json_export), "--db", str(db)], terminal_width=200
    )
    assert r.exit_code == 0, r.output
    n = len(list(guardian_json_export.glob("*.json")))
    lines = [ln for ln in r.output.splitlines() if ln.startswith(("columns", "warning"))]
    assert lines[0] == (
        f"columns (json, {n:,} records, e.g. {guardian_json_export / '0000.json'}): "
        "text <- 'content', date <- 'date', title <- 'title', source <- 'source'; "
        "not found: url"
    )
    assert lines[1] == (
        "warning: text: 'content_original' may hold the original of 'content'; "
        "pass --text content_original to use it"
    )


def test_make_lab_passes_options_and_is_root_safe(tmp_path: Path):
    import os
    import shutil
    import subprocess

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    root = Path(__file__).resolve().parents[1]
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    for stamp in (".installed", ".installed-lab"):
        (venv / stamp).touch()
    (venv / "bin" / "python").touch()
    out = subprocess.run(
        ["make", "-n", "-C", str(root), "lab", f"VENV={venv}", "LAB_ARGS=--port 8890 --no-browser"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    [cmd] = [ln for ln in out.splitlines() if "jupyter lab" in ln]
    assert cmd.endswith("--port 8890 --no-browser")
    assert ("--allow-root" in cmd) == (os.geteuid() == 0)


def test_source_metadata_from_the_export_and_a_file(tmp_path: Path, outlets_export: Path):
    from collections import Counter

    from workbench import Filter, Workbench

    records = json.loads(outlets_export.read_text())
    truth = {r["source"]: r["partisanship"] for r in records}
    wb = Workbench(tmp_path / "s.duckdb")
    result = wb.ingest([outlets_export], progress=False)
    assert result.source_fields == ["outlet_country", "outlet_type", "partisanship"]
    table = wb.sources().set_index("source")
    assert len(table) == len(truth) > 100
    assert table["partisanship"].to_dict() == truth
    # the analyst's file adds columns and wins over the export
    big = Counter(r["source"] for r in records).most_common(1)[0][0]
    (tmp_path / "outlets.csv").write_text(f"outlet,owner,partisanship\n{big},Acme,centre\n")
    assert wb.load_sources(tmp_path / "outlets.csv") == 1
    assert wb.sources().set_index("source").loc[big, ["owner", "partisanship"]].tolist() == [
        "Acme",
        "centre",
    ]
    wb.ingest([outlets_export], progress=False, rescan=True)  # the export does not undo it
    assert wb.sources().set_index("source").loc[big, "partisanship"] == "centre"
    truth[big] = "centre"
    left = wb.sources_where(partisanship="left")
    assert set(left) == {s for s, p in truth.items() if p == "left"}
    n_left = wb.articles(Filter(sources=left)).shape[0]
    stored = wb.sql("SELECT source, count(*) AS n FROM articles GROUP BY source")
    per = dict(zip(stored["source"], stored["n"], strict=True))
    assert n_left == sum(per[s] for s in left)
    by = wb.top_by_source("partisanship", "source", None)
    assert set(by["partisanship"]) == {"left", "centre", "right"}
    for r in by.itertuples():
        assert r.articles == per[r.key] and truth[r.key] == r.partisanship
    wb.close()
