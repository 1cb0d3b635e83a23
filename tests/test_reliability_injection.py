"""Injection: every filter field, query-method argument and CLI option that reaches SQL is fed
quote/comment/semicolon payloads. Nothing executes: every table and row count is unchanged,
and a payload stored as data (an outlet named ``x'); DROP TABLE articles; --``) is matched as
the literal value it is -- exactly its own articles, never all of them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SEED, STRESS
from typer.testing import CliRunner

from workbench import Workbench
from workbench.base import errors, store
from workbench.base.filters import Filter
from workbench.cli.main import app

PAYLOADS = [
    "x'); DROP TABLE articles; --",
    '" OR 1=1 --',
    "' OR '1'='1",
    "\\",
    "a\x00b",
    "Zelenskyy’s 🇺🇦 Ünïcödé",
    "%",
    "_",
    "*/ SELECT 1; /*",
    "'; ATTACH 'evil.duckdb' AS e; --",
    "$1 ? :name",
    "); DELETE FROM mentions; SELECT (",
]


#: The CLI matrix runs a command per payload and case: quick mode takes a representative few.
CLI_PAYLOADS = PAYLOADS if STRESS else [PAYLOADS[0], PAYLOADS[1], PAYLOADS[4], PAYLOADS[11]]


def snapshot(wb: Workbench) -> dict[str, int]:
    """Every table of the database with its row count (tables dropped or emptied show)."""
    tables = wb.con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1"
    ).fetchall()
    return {t: store.table_counts(wb.con, [t])[t] for (t,) in tables}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory):
    """A small analysed database whose outlets, titles and texts are the payloads."""
    d = tmp_path_factory.mktemp("inject")
    rows = [
        {
            "date": f"2022-03-{i + 1:02d}",
            "source": p,
            "title": p,
            "text": f"Officials in Kyiv said {p} while Vladimir Putin spoke in Moscow.",
        }
        for i, p in enumerate(PAYLOADS)
    ]
    (d / "hostile.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    wb = Workbench(d / "inject.duckdb")
    wb.ingest([SEED, d / "hostile.jsonl"], progress=False)
    wb.analyze(progress=False)
    yield wb, snapshot(wb)
    wb.close()


def call(fn, *args, **kw):
    """Run a query; a BadOption (validation said no) is a fine answer, anything else raises."""
    try:
        return fn(*args, **kw)
    except errors.BadOption:
        return None


@pytest.mark.parametrize("payload", PAYLOADS)
def test_filter_fields_and_query_methods_bind_payloads(hostile, payload: str) -> None:
    wb, before = hostile
    total = before["articles"]
    literal = wb.sql("SELECT count(*) n FROM articles WHERE source = ?", [payload]).n[0]

    got = wb.articles(Filter(sources=[payload]), n=None)
    assert len(got) == literal  # exactly its own articles (0 for the NUL one), not all
    assert literal < total
    if literal:
        assert set(got.source) == {payload}
        top = wb.top("source", n=None, filter=Filter(sources=[payload]))
        assert len(top) == 1

    for field in ("actors", "themes", "entity_types"):
        for method in (wb.articles, lambda f: wb.top("actor", filter=f)):
            res = call(method, Filter(**{field: [payload]}))
            assert res is None or len(res) < total or field == "entity_types"
    res = call(wb.articles, Filter(text=payload), n=None)
    assert res is None or len(res) < total
    for field in ("countries", "date_from", "date_to", "tone_min", "dedup"):
        with pytest.raises(errors.BadOption):
            Filter(**{field: [payload] if field == "countries" else payload})

    for fn, args, kw in [
        (wb.top, (payload,), {}),
        (wb.coverage, (payload,), {}),
        (wb.coverage, ("source",), {"freq": payload}),
        (wb.coverage, ("source",), {"values": [payload]}),
        (wb.cooccurrence, (payload, "country"), {}),
        (wb.compare, ([payload],), {}),
        (wb.compare, (["Reuters"],), {"by": payload}),
        (wb.tone, (payload,), {}),
        (wb.quotes, (payload,), {}),
        (wb.articles, (), {"order": payload}),
        (wb.evidence, ("actor", payload), {}),
        (wb.evidence, ("source", payload), {}),
        (wb.evidence, (payload, "x"), {}),
        (wb.kwic, (payload,), {}),
        (wb.kwic, (payload,), {"entity": True}),
        (wb.mentions_of, (payload,), {}),
        (wb.entities, (payload,), {}),
        (wb.evidence, ("theme", payload), {}),
    ]:
        call(fn, *args, **kw)
    evid = call(wb.evidence, "source", payload, n=None)
    if evid is not None and literal:
        assert set(
            wb.sql(
                "SELECT source FROM articles WHERE article_id IN (SELECT unnest(?))",
                [list(evid.article_id.unique())],
            ).source
        ) <= {payload}

    assert wb.sql("SELECT ?::VARCHAR AS v", [payload]).v[0] == payload
    assert snapshot(wb) == before


def test_quote_ident_makes_any_name_an_identifier(tmp_path: Path) -> None:
    with Workbench(tmp_path / "q.duckdb") as wb:
        wb.ingest([SEED], progress=False)
        before = snapshot(wb)
        for payload in PAYLOADS:
            if "\x00" in payload:
                with pytest.raises(errors.BadOption):
                    store.quote_ident(payload)
                continue
            name, col = store.quote_ident(payload), store.quote_ident(payload + "_col")
            wb.con.execute(f"CREATE TABLE {name} ({col} VARCHAR)")  # noqa: S608
            wb.con.execute(f"INSERT INTO {name} VALUES (?)", [payload])  # noqa: S608
            assert wb.con.execute(f"SELECT {col} FROM {name}").fetchall() == [(payload,)]  # noqa: S608
            assert store.table_counts(wb.con, [payload]) == {payload: 1}
            wb.con.execute(f"DROP TABLE {name}")  # noqa: S608
            assert snapshot(wb) == before


CLI_CASES = [
    ["top", "source", "--source", "{p}"],
    ["top", "actor", "--actor", "{p}"],
    ["top", "theme", "--theme", "{p}"],
    ["top", "{p}"],
    ["top", "source", "--text", "{p}"],
    ["top", "source", "--from", "{p}"],
    ["top", "source", "--country", "{p}"],
    ["top", "source", "--dedup", "{p}"],
    ["coverage", "--by", "{p}"],
    ["coverage", "--by", "source", "--freq", "{p}", "--source", "{p}"],
    ["kwic", "{p}"],
    ["kwic", "Kyiv", "--source", "{p}", "--sql"],
    ["entities", "--type", "{p}"],
    ["quotes", "--actor", "{p}"],
    ["sql", "SELECT ?::VARCHAR AS v, count(*) AS n FROM articles WHERE source = ?"]
    + ["-p", "{p}", "-p", "{p}"],
]


@pytest.mark.parametrize("payload", CLI_PAYLOADS)
def test_cli_options_bind_payloads(hostile, payload: str) -> None:
    wb, before = hostile
    runner = CliRunner()
    for case in CLI_CASES:
        args = [a.replace("{p}", payload) for a in case] + ["--db", str(wb.path)]
        wb.close()  # the CLI opens the file itself (read-only or read-write)
        res = runner.invoke(app, args)
        assert res.exit_code in (0, 2), (args, res.output, res.exception)
        assert "Traceback" not in res.output, (args, res.output)
        if res.exit_code == 2:
            assert res.output.lstrip().startswith(("error:", "Usage:")), (args, res.output)
    assert snapshot(wb) == before


def test_cli_ingest_options_are_values_not_sql(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.csv").write_text("date,body\n2022-01-01,Some text here.\n")
    db = tmp_path / "i.duckdb"
    runner = CliRunner()
    for p in CLI_PAYLOADS:
        res = runner.invoke(
            app, ["ingest", str(tmp_path / "in"), "--db", str(db), "--source-name", p, "--text", p]
        )
        assert res.exit_code == 0, res.output
        res = runner.invoke(
            app, ["ingest", str(tmp_path / "in"), "--db", str(db), "--source-name", p,
                  "--text", "body"],
        )  # fmt: skip
        assert res.exit_code == 0, res.output
    with Workbench(db, read_only=True) as wb:
        counts = snapshot(wb)
        sources = set(wb.sql("SELECT source FROM articles").source)
        reasons = set(wb.sql("SELECT reason FROM rejects").reason)
    # --source-name with a payload names the outlet literally (NUL removed); the only
    # source-independent text is stored once per payload outlet. Each run's no_text_column
    # reject (the payload as --text) is cleared when the next run stores that row: one fate
    # per input.
    assert sources == {p.replace("\x00", "") for p in CLI_PAYLOADS}
    assert counts["articles"] == len(sources) and reasons == set()


def test_cli_sql_errors_are_one_message_not_a_traceback(hostile) -> None:
    """``workbench sql`` runs read-only: a payload as the query is a parse/permission error,
    reported in one message (exit 2), and changes nothing."""
    wb, before = hostile
    wb.close()
    for query in ["SELEC 1", PAYLOADS[0], "DROP TABLE articles", "SELECT * FROM nowhere"]:
        res = CliRunner().invoke(app, ["sql", query, "--db", str(wb.path)])
        assert res.exit_code == 2, (query, res.output)
        assert res.output.startswith("error: ") and "Traceback" not in res.output
    assert snapshot(wb) == before
