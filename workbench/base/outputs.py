"""The one place that decides whether a file the workbench writes may go to a path.

Never the open database (or its write-ahead log), never an input of this database's runs,
never an existing file that is not an earlier output of ours (unless ``force``), and never a
folder or a place that cannot be written. Every refusal is one line: what, where, what to do.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb

from . import errors

#: Every report page carries this in its first bytes (present/templates/report.html.j2).
REPORT_MARK = b'<meta name="generator" content="coverage-workbench'
_HEAD_BYTES = 4096


def _forms(path: str) -> set[str]:
    """The spellings a path may have been recorded under (as given, absolute, resolved)."""
    forms = {path, os.path.abspath(path), os.path.realpath(path)}
    try:
        forms.add(os.path.relpath(path))
    except ValueError:  # pragma: no cover - another drive on Windows
        pass
    return forms


def database_files(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The open database file and its companions (write-ahead log, temporary file)."""
    row = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    if not row or not row[0]:
        return set()
    out: set[str] = set()
    for db in _forms(row[0]):
        out |= {db, db + ".wal", db + ".tmp"}
    return {os.path.realpath(p) for p in out} | out


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    row = con.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_catalog = current_database() AND table_name = ?",
        [name],
    ).fetchone()
    return bool(row[0])


def input_run(con: duckdb.DuckDBPyConnection, path: str) -> str | None:
    """Where ``path`` was read as an input of this database (a run, a file, an article's
    origin), or None. Origins of rows are ``<file>#row=N``."""
    forms = sorted(_forms(path))
    real = {os.path.realpath(p) for p in forms}
    ph = ", ".join("?" for _ in forms)
    if _has_table(con, "files"):
        if con.execute(f"SELECT count(*) FROM files WHERE path IN ({ph})", forms).fetchone()[0]:  # noqa: S608
            return "a file read by an ingest run of this database"
    ph = ", ".join("?" for _ in forms)
    for table in ("articles", "rejects", "duplicates"):
        if not _has_table(con, table):
            continue
        hit = con.execute(
            f"SELECT 1 FROM {table} WHERE split_part(origin, '#row=', 1) IN ({ph}) LIMIT 1",  # noqa: S608
            forms,
        ).fetchone()
        if hit:
            return f"an input of this database (an origin in {table})"
    if _has_table(con, "runs"):
        for run_id, inputs in con.execute(
            "SELECT run_id, inputs FROM runs WHERE inputs IS NOT NULL"
        ).fetchall():
            try:
                given = json.loads(inputs)
            except (TypeError, ValueError):
                continue
            for p in given if isinstance(given, list) else [given]:
                if isinstance(p, str) and os.path.realpath(p) in real:
                    return f"an input of run {run_id} of this database"
    return None


def is_our_report(path: Path) -> bool:
    """Whether an existing file is a report page this workbench wrote."""
    try:
        with path.open("rb") as fh:
            return REPORT_MARK in fh.read(_HEAD_BYTES)
    except OSError:
        return False


def check_output(
    con: duckdb.DuckDBPyConnection,
    out: str | os.PathLike[str],
    *,
    force: bool = False,
    what: str = "report",
    option: str = "--out",
    folder: bool = False,
) -> Path:
    """``out`` if ``what`` may be written there (its parent folder created), else
    ``errors.OutputRefused``. ``folder=True``: the output is a folder of parts, which
    may exist (its parts are replaced) but must not be a file."""
    path = Path(out)
    where = str(path)

    def refuse(why: str, todo: str) -> errors.OutputRefused:
        return errors.OutputRefused(errors.output_refused(where, why, todo))

    other = f"Choose another {option} for the {what}"
    if os.path.realpath(path) in database_files(con) or str(path) in database_files(con):
        raise refuse("it is the open database (or its log)", other + ".")
    used = input_run(con, str(path))
    if used:
        raise refuse(f"it is {used}", other + "; inputs are never overwritten.")
    if folder:
        if path.exists() and not path.is_dir():
            raise refuse("it exists and is not a folder", other + " (a folder).")
    elif path.is_dir():
        raise refuse("it is a folder", f"Give a file name, e.g. {option} {path / 'report.html'}.")
    elif path.exists() and not force and not is_our_report(path):
        raise refuse(
            f"it exists and is not a {what} written by the workbench",
            other + ", or add --force (force=True) to replace it.",
        )
    parent = path if folder else path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise refuse(f"its folder cannot be created ({exc.strerror or exc})", other + ".") from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise refuse(f"its folder {parent} is not writable", other + " in a writable folder.")
    return path


def write_refused(out: str | os.PathLike[str], exc: OSError, what: str = "report") -> None:
    """A write that failed anyway (disk full, permissions seen only on write) as one line."""
    raise errors.OutputRefused(
        errors.output_refused(
            str(out),
            f"writing failed ({exc.strerror or exc})",
            f"Choose another --out for the {what}.",
        )
    ) from None
