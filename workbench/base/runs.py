"""The ``runs`` ledger and ctrl-C: every stage run is one row, and an interrupt always stops it.

Why one module: ingest and every analysis stage record themselves the same way (``recorded``),
and the same place decides what an interrupt is. SIGINT sets a flag before Python raises
``KeyboardInterrupt``, so an interrupt that DuckDB or pyarrow turns into their own exception
(``duckdb.InterruptException``, or a ``RuntimeError`` from inside a query) is still known to
be an interrupt: ``is_interrupt`` decides by the flag and the exception's type, never by its
message. The cleanup after an interrupt (rollback of the open transaction, the ``runs`` row)
runs with further SIGINTs deferred, so a second ctrl-C cannot leave the run ``running``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import duckdb

from . import errors, store
from .versions import versions

if TYPE_CHECKING:  # pragma: no cover
    from types import FrameType

#: Set by the SIGINT handler; cleared when a guarded block starts.
_requested = False
#: Run ids open in this process (outermost first): nested stage runs of ``analyze``.
_open: list[int] = []


def requested() -> bool:
    """Whether ctrl-C arrived since the current guarded block started."""
    return _requested


def is_interrupt(exc: BaseException) -> bool:
    """An interrupt, whatever type the library it surfaced through gave it."""
    return _requested or isinstance(exc, KeyboardInterrupt | duckdb.InterruptException)


def _raise_on_sigint(signum: int, frame: FrameType | None) -> None:
    global _requested
    _requested = True
    raise KeyboardInterrupt


def _defer_sigint(signum: int, frame: FrameType | None) -> None:
    global _requested
    _requested = True


@contextlib.contextmanager
def _handler(handler: Any) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # signals are delivered to the main thread only
        return
    old = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


@contextlib.contextmanager
def guard() -> Iterator[None]:
    """SIGINT raises ``KeyboardInterrupt`` as usual, and is remembered (see ``is_interrupt``)."""
    global _requested
    if not _open:
        _requested = False
    with _handler(_raise_on_sigint):
        yield


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """SIGINT only sets the flag: for short cleanup that must finish."""
    with _handler(_defer_sigint):
        yield


def check() -> None:
    """Raise ``KeyboardInterrupt`` if ctrl-C arrived and something swallowed it."""
    if _requested:
        raise KeyboardInterrupt


def start(con: duckdb.DuckDBPyConnection, kind: str, inputs: Any, options: dict) -> int:
    """Insert a ``running`` row and return its id.

    Not ``nextval('run_seq')``: DuckDB 1.5.5 does not log a sequence advanced by a SELECT,
    so after a kill -9 and WAL replay it hands out a run_id that exists. max + 1 over the
    table is crash-proof (one writing process). A run still ``running`` when an outermost
    run starts belongs to a process that died (DuckDB allows one writer): it is marked
    ``interrupted``; its committed work is kept.
    """
    if not _open:
        con.execute("UPDATE runs SET status = 'interrupted' WHERE status = 'running'")
    (run_id,) = con.execute(
        "INSERT INTO runs (run_id, kind, started_at, status, inputs, options, versions) "
        "SELECT coalesce(max(run_id), 0) + 1, ?, now(), 'running', ?, ?, ? FROM runs "
        "RETURNING run_id",
        [
            kind,
            json.dumps(inputs, default=str),
            json.dumps(options, default=str),
            json.dumps(versions()),
        ],
    ).fetchone()
    return int(run_id)


def finish(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    status: str,
    seconds: float,
    counts: dict[str, Any] | None = None,
) -> None:
    """Close the row: status, time and counts (the ingest columns plus every count as JSON)."""
    counts = counts or {}
    con.execute(
        "UPDATE runs SET finished_at = now(), status = ?, seconds = ?, n_inputs = ?, "
        "n_stored = ?, n_unchanged = ?, n_rejected = ?, n_duplicates = ?, counts = ? "
        "WHERE run_id = ?",
        [
            status,
            seconds,
            counts.get("inputs", counts.get("articles")),
            counts.get("stored"),
            counts.get("unchanged"),
            counts.get("rejected"),
            counts.get("duplicates"),
            json.dumps(counts, default=str),
            run_id,
        ],
    )


@dataclass
class Run:
    """A run in progress: ``counts`` (or ``result``, a dataclass) is written when it ends."""

    run_id: int
    kind: str
    counts: dict[str, Any] = field(default_factory=dict)
    result: Any = None
    #: what to tell the user on an interrupt (what was committed, how to resume)
    on_interrupt: Any = None

    def all_counts(self) -> dict[str, Any]:
        out = dict(self.counts)
        if dataclasses.is_dataclass(self.result) and not isinstance(self.result, type):
            out.update(dataclasses.asdict(self.result))
        elif isinstance(self.result, dict):
            out.update({k: v for k, v in self.result.items() if _jsonable(v)})
        return out


def _jsonable(value: Any) -> bool:
    return isinstance(value, str | int | float | bool | type(None) | dict | list)


@contextlib.contextmanager
def recorded(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    *,
    inputs: Any = None,
    options: dict[str, Any] | None = None,
) -> Iterator[Run]:
    """Record one stage run in ``runs`` (``ok``, ``failed`` or ``interrupted``).

    Inside the block ctrl-C is always honoured: the open transaction is rolled back, the
    row says ``interrupted`` and ``errors.Interrupted`` (a ``KeyboardInterrupt``) is raised
    with what was committed and how to resume.
    """
    with guard():
        with deferred():  # the row exists (or not) as a whole; a ctrl-C meanwhile waits
            run = Run(start(con, kind, inputs, options or {}), kind)
            _open.append(run.run_id)
        t0 = time.perf_counter()
        status = "failed"
        try:
            check()
            yield run
            check()  # an interrupt some library swallowed still stops the run
            status = "ok"
        except BaseException as exc:
            if not is_interrupt(exc):
                raise
            status = "interrupted"
            if isinstance(exc, errors.Interrupted):
                raise
            with deferred():
                store.rollback_open(con)  # before reading what was committed
                message = _interrupt_message(run)
            raise errors.Interrupted(message) from exc
        finally:
            with deferred():
                _open.pop()
                store.rollback_open(con)
                finish(con, run.run_id, status, time.perf_counter() - t0, run.all_counts())
            late = status == "ok" and _requested  # ctrl-C while the row was being closed
            _forget_if_outermost()
        if late:
            raise errors.Interrupted(errors.interrupted_after(kind, run.run_id))


def _forget_if_outermost() -> None:
    """Once no run is open, an old ctrl-C says nothing about later errors."""
    global _requested
    if not _open:
        _requested = False


def _interrupt_message(run: Run) -> str:
    try:
        detail = run.on_interrupt() if callable(run.on_interrupt) else run.on_interrupt
    except duckdb.Error:
        detail = ""
    return errors.interrupted(run.kind, run.run_id, detail or "")
