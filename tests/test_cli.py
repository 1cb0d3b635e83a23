"""The CLI: every command has help; errors are one clear line, not a traceback."""

from __future__ import annotations

import typer
from conftest import SEED
from typer.testing import CliRunner

from workbench.cli.main import app

runner = CliRunner()


def commands():
    group = typer.main.get_group(app)
    return sorted(group.commands.items())


def test_every_command_has_help():
    missing = [name for name, cmd in commands() if not (cmd.help or "").strip()]
    assert not missing, f"commands without help: {missing}"
    for name, cmd in commands():
        for param in cmd.params:
            if param.param_type_name == "option":
                assert (param.help or "").strip(), f"{name} {param.name} has no help"
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0, result.output


def test_ingest_and_summary_via_cli(tmp_path):
    db = tmp_path / "c.duckdb"
    r = runner.invoke(app, ["ingest", str(SEED), "--db", str(db)])
    assert r.exit_code == 0, r.output
    assert "1 stored" in r.output
    r = runner.invoke(app, ["summary", "--db", str(db), "--json"])
    assert r.exit_code == 0 and '"articles": 1' in r.output
    r = runner.invoke(
        app,
        [
            "sql",
            "SELECT count(*) AS n FROM articles WHERE date = ?",
            "--db",
            str(db),
            "-p",
            "2023-03-20",
        ],
    )
    assert r.exit_code == 0 and "1" in r.output


def test_bad_format_is_a_clear_error(tmp_path):
    r = runner.invoke(
        app, ["ingest", str(SEED), "--db", str(tmp_path / "x.duckdb"), "--format", "docx"]
    )
    assert r.exit_code != 0
    assert "unknown format" in r.output
    assert "Traceback" not in r.output


#: Every query verb of the shell beside the Workbench call it must equal.
QUERY_VERBS = {
    "top": (["actor", "--n", "5"], lambda wb, f: wb.top("actor", 5, f)),
    "cooccurrence": (
        ["actor", "country", "--n", "5"],
        lambda wb, f: wb.cooccurrence("actor", "country", f, 5),
    ),
    "compare": (["--by", "country", "--n", "3"], lambda wb, f: wb.compare(None, "country", f, 3)),
    "articles": (["--n", "7"], lambda wb, f: wb.articles(f, 7)),
    "evidence": (["country", "RUS", "--n", "4"], lambda wb, f: wb.evidence("country", "RUS", f, 4)),
}


def test_query_verbs_share_the_filter_options(ru_ua_wb):
    """One set of filter options (--source, --from, …) on every query verb, and each verb
    prints what the Workbench method returns for the same Filter."""
    import io

    import pandas as pd

    from workbench import Filter

    source = ru_ua_wb.top("source", 1)["key"][0]
    f = Filter(sources=(source,), date_from="2022-02-01")
    opts = ["--db", str(ru_ua_wb.path), "--source", source, "--from", "2022-02-01"]
    wants = {verb: call(ru_ua_wb, f) for verb, (_args, call) in QUERY_VERBS.items()}
    ru_ua_wb.close()  # the CLI opens the file itself
    for verb, (args, _call) in QUERY_VERBS.items():
        r = runner.invoke(app, [verb, *args, *opts, "--format", "csv"])
        assert r.exit_code == 0, (verb, r.output)
        want = wants[verb]
        got = pd.read_csv(io.StringIO(r.output))
        assert len(want) > 0, verb
        assert (len(got), list(got.columns)) == (len(want), list(want.columns)), verb
    r = runner.invoke(app, ["evidence", "country", "RUS", "--n", "2", *opts, "--sql"])
    assert r.exit_code == 0, r.output
    assert "params:" in r.output and source in r.output
