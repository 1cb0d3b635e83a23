"""Concurrency: DuckDB allows one writing process per file (or many read-only ones).

A second writer, or a reader while a writer holds the file, gets one clear "database ... is in
use by ... (PID n: command)" message saying what to do -- from the Python API
(``errors.DatabaseInUse``) and from the CLI (exit status 2, no traceback). Read-only opens
work side by side while no writer holds the file, and a killed holder leaves no stale lock.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import SEED
from typer.testing import CliRunner

from workbench import Workbench
from workbench.base import errors
from workbench.cli.main import app

HOLD = """
import sys
from workbench import Workbench
wb = Workbench(sys.argv[1], read_only=sys.argv[2] == "ro")
wb.con
print("ready", flush=True)
sys.stdin.read()  # hold the file until the test closes our stdin
wb.close()
"""


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "shared.duckdb"
    with Workbench(path) as wb:
        wb.ingest([SEED], progress=False)
    return path


@contextmanager
def holder(db: Path, mode: str) -> Iterator[subprocess.Popen]:
    """Another process (a notebook kernel, say) holding ``db`` open ``rw`` or ``ro``."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(db), mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.strip() == "ready", proc.stderr.read()
        yield proc
    finally:
        if proc.poll() is None:
            proc.stdin.close()
            proc.wait(timeout=60)


def one_line(text: str) -> str:
    return " ".join(text.split())


def test_second_writer_gets_a_clear_message_from_the_api(db: Path) -> None:
    with holder(db, "rw") as proc:
        with pytest.raises(errors.DatabaseInUse) as info:
            Workbench(db).summary()
    msg = one_line(str(info.value))
    assert f"database {db} is in use by another process (PID {proc.pid}:" in msg
    assert "-c" in msg  # the holder's command line, so the user knows which one to close
    assert "one writing process at a time" in msg and "read_only=True" in msg


def test_reader_while_a_writer_holds_is_told_what_to_do(db: Path) -> None:
    with holder(db, "rw") as proc:
        with pytest.raises(errors.DatabaseInUse) as info:
            Workbench(db, read_only=True).summary()
    msg = one_line(str(info.value))
    assert f"is in use by another process (PID {proc.pid}:" in msg
    assert "wait for it to finish" in msg and "open a copy of the file" in msg


def test_notebooks_open_read_only_and_say_what_to_do_when_a_writer_holds(db: Path) -> None:
    from workbench.explore import panels

    wb = panels.open_workbench(db)  # what every curated notebook calls first
    try:
        assert wb.read_only and wb.summary()["articles"] == 1
    finally:
        wb.close()
    with holder(db, "rw"):
        with pytest.raises(errors.DatabaseInUse, match="wait for it to finish"):
            panels.open_workbench(db)


def test_cli_second_writer_exit_2_without_traceback(db: Path) -> None:
    exe = str(Path(sys.executable).with_name("workbench"))
    with holder(db, "rw") as proc:
        res = subprocess.run(
            [exe, "ingest", str(SEED), "--db", str(db)], capture_output=True, text=True
        )
        ro = CliRunner().invoke(app, ["summary", "--db", str(db)])
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr and "File " not in res.stderr
    assert one_line(res.stderr).startswith(f"error: database {db} is in use by another process")
    assert f"PID {proc.pid}" in res.stderr
    assert ro.exit_code == 2 and "Traceback" not in ro.output
    assert "is in use by another process" in one_line(ro.output)


def test_read_only_opens_share_the_file_while_no_writer_holds_it(db: Path) -> None:
    with holder(db, "ro"):
        with Workbench(db, read_only=True) as wb:
            assert wb.summary()["articles"] == 1
        res = CliRunner().invoke(
            app, ["sql", "SELECT count(*) AS n FROM articles", "--db", str(db)]
        )
        assert res.exit_code == 0 and "1" in res.output
        # A reader blocks writers too, and the writer is told so.
        with pytest.raises(errors.DatabaseInUse, match="in use by another process"):
            Workbench(db).summary()


def test_a_killed_writer_leaves_no_stale_lock(db: Path) -> None:
    with holder(db, "rw") as proc:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        with Workbench(db) as wb:  # the OS released the lock with the process
            assert wb.summary()["articles"] == 1


def test_same_process_mixed_modes_get_a_clear_message(db: Path) -> None:
    ro = Workbench(db, read_only=True)
    try:
        assert ro.summary()["articles"] == 1
        with pytest.raises(errors.DatabaseInUse, match="already open read-only in this process"):
            Workbench(db).summary()
    finally:
        ro.close()
    with Workbench(db) as wb:  # closed: now it opens read-write
        assert wb.summary()["articles"] == 1
