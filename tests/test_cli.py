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
