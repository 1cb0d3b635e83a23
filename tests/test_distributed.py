"""Scale-out extraction on a Dask cluster gives the same rows as the single-machine stage.

One LocalCluster (2 worker processes, 1 thread each) serves the module; starting it and
loading spaCy in each worker costs a few seconds (spawned processes, no fork).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from conftest import SEED
from typer.testing import CliRunner

from workbench import Workbench
from workbench.cli.main import app
from workbench.nlp import distributed

pytest.importorskip("distributed")

SENT_COLS = "article_id, idx, start_char, end_char, text, tokens, lemmas, token_starts"
MENT_COLS = "article_id, sentence_idx, start_char, end_char, text, label, norm"


@pytest.fixture(scope="module")
def scheduler():
    from distributed import LocalCluster

    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
    )
    yield cluster.scheduler_address
    cluster.close()


@pytest.fixture
def corpus(tmp_path: Path, tiny_articles: Path) -> Path:
    """The seed article plus three small articles: real text, several partitions."""
    shutil.copy(SEED, tiny_articles / SEED.name)
    return tiny_articles


def rows(con: duckdb.DuckDBPyConnection, table: str, cols: str) -> list[tuple]:
    return con.execute(f"SELECT {cols} FROM {table} ORDER BY ALL").fetchall()  # noqa: S608


def test_dask_matches_single_machine(tmp_path: Path, corpus: Path, scheduler: str) -> None:
    with Workbench(tmp_path / "local.duckdb") as local:
        local.ingest([corpus], progress=False)
        single = local.extract(progress=False)
        want_s = rows(local.con, "sentences", SENT_COLS)
        want_m = rows(local.con, "mentions", MENT_COLS)
    assert single.articles == 4 and want_s and want_m

    out = tmp_path / "parts"
    with Workbench(tmp_path / "dask.duckdb") as wb:
        wb.ingest([corpus], progress=False)
        res = distributed.run(
            wb.con, out, scheduler=scheduler, partition_size=1, progress=False, load=False
        )
        assert (res.articles, res.partitions, res.workers) == (4, 4, 2)
        # The partitioned Parquet is readable as-is (what Spark/Trino would read too).
        parquet = duckdb.connect()
        got_pq = parquet.execute(
            f"SELECT {MENT_COLS} FROM read_parquet(?) ORDER BY ALL",  # noqa: S608
            [str(out / "mentions" / "part-*.parquet")],
        ).fetchall()
        assert got_pq == want_m
        assert sorted(p.name for p in (out / "sentences").iterdir()) == [
            f"part-{i:06d}.parquet" for i in range(4)
        ]
        assert wb.sql("SELECT count(*) AS n FROM sentences")["n"][0] == 0  # not loaded yet

        loaded = distributed.load_parquet(wb.con, str(out), res.pipeline_id)
        assert loaded == {"articles": 4}
        assert rows(wb.con, "sentences", SENT_COLS) == want_s
        assert rows(wb.con, "mentions", MENT_COLS) == want_m
        # Loading again changes nothing; every article is marked extracted.
        assert distributed.load_parquet(wb.con, str(out), res.pipeline_id) == {"articles": 0}
        assert len(rows(wb.con, "mentions", MENT_COLS)) == len(want_m)
        pending = wb.sql("SELECT count(*) AS n FROM articles WHERE extracted_pipeline IS NULL")
        assert pending["n"][0] == 0
        # ...so the single-machine stage finds nothing left to do.
        assert wb.extract(progress=False).articles == 0


def test_cli_engine_dask(tmp_path: Path, corpus: Path, scheduler: str) -> None:
    db = tmp_path / "cli.duckdb"
    with Workbench(db) as wb:
        wb.ingest([corpus], progress=False)
    out = tmp_path / "cli-parts"
    args = ["extract", "--db", str(db), "--engine", "dask", "--scheduler", scheduler]
    result = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "4 articles" in result.output
    parts = str(out / "sentences" / "part-*.parquet")
    with Workbench(db, read_only=True) as wb:
        stored = wb.sql("SELECT count(DISTINCT article_id) AS a, count(*) AS s FROM sentences")
        in_parquet = wb.sql("SELECT count(*) AS s FROM read_parquet(?)", [parts])
        left = wb.sql("SELECT count(*) AS n FROM articles WHERE extracted_pipeline IS NULL")
    assert (stored["a"][0], stored["s"][0], left["n"][0]) == (4, in_parquet["s"][0], 0)
    # A second run has nothing to do and leaves the Parquet of the first in place.
    again = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert again.exit_code == 0 and "nothing new" in again.output
    assert len(list((out / "sentences").glob("part-*.parquet"))) == 1


def test_bad_engine_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["extract", "--db", str(tmp_path / "x.duckdb"), "--engine", "spark"]
    )
    assert result.exit_code == 2
    assert "--engine must be 'local' or 'dask'" in result.output
