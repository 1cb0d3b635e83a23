"""One on-disk cache of derived data (name indexes, tokenized phrases, library parameters):
``$WORKBENCH_CACHE``, else ``$XDG_CACHE_HOME/coverage-workbench`` (``~/.cache``).

Each entry is rebuilt from its inputs when missing or unreadable, so the folder can be
deleted at any time; a read-only or missing folder only costs the rebuild."""

from __future__ import annotations

import bisect
import os
import pickle
import re
import sqlite3
import zlib
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

_T = TypeVar("_T")


def cache_dir() -> Path:
    """The cache folder (not created here)."""
    if os.environ.get("WORKBENCH_CACHE"):
        return Path(os.environ["WORKBENCH_CACHE"])
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "coverage-workbench"


def cached_pickle(path: Path, build: Callable[[], _T]) -> _T:
    """``build()``'s result, pickled at ``path`` so later processes load it instead.

    The file name is ``<prefix>-<16 hex digits>.pickle`` (a hash of what the value is built
    from); after a new one is written, older files of the same prefix are deleted. A
    read-only or missing cache folder keeps the in-memory result."""
    try:
        with path.open("rb") as f:
            return pickle.load(f)
    except (OSError, pickle.PickleError, EOFError, AttributeError, ValueError):
        pass
    value = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as f:
            pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        return value
    _drop_stale(path)
    return value


def _drop_stale(path: Path) -> None:
    """Delete older ``<prefix>-<hash>.pickle`` files beside ``path``, and their tables
    (``<prefix>-<hash>.<part>.sqlite``, :func:`store_table`)."""
    prefix = re.escape(path.name.rsplit("-", 1)[0])
    stale = re.compile(prefix + r"-[0-9a-f]{16}(?:\.pickle|\.[a-z0-9_]+\.sqlite)")
    own = path.name.removesuffix(".pickle") + "."
    try:
        for old in path.parent.iterdir():
            if not old.name.startswith(own) and stale.fullmatch(old.name):
                try:
                    old.unlink()
                except OSError:
                    pass
    except OSError:
        pass


class DiskTable(Mapping[str, Any]):
    """A read-only ``str`` -> value table in an SQLite file, read one key at a time.

    For the large name indexes of which one run reads a few thousand keys: opening it costs
    nothing, where unpickling the whole dict costs ~0.5 s per 20 MB in every new process.
    Values read are kept in memory. Pickles as its path (the pickle of an object that holds
    one stays small); unpickling it raises ``OSError`` when the file is gone, so
    :func:`cached_pickle` rebuilds. Safe across ``fork`` (one connection per process).

    The CRC-32s of its keys are read whole when it opens (4 bytes a key, :func:`store_table`):
    most keys asked for are not in the table (a text's capitalised words), and such a key
    then costs no SQLite read."""

    def __init__(self, path: Path) -> None:
        self._path = Path(path)
        self._memo: dict[str, Any] = {}
        self._pid = -1
        self._con: sqlite3.Connection | None = None
        try:
            self._len = int(self._query("SELECT v FROM n", ())[0])
        except (sqlite3.Error, TypeError) as exc:  # unreadable: the caller rebuilds
            raise OSError(f"cache table {self._path} is unreadable: {exc}") from exc
        self._crcs = _read_crcs(self)

    def _query(self, sql: str, args: tuple) -> Any:
        if self._con is None or self._pid != os.getpid():
            if not self._path.is_file():
                raise FileNotFoundError(f"cache table {self._path} is missing")
            uri = f"{self._path.resolve().as_uri()}?mode=ro&immutable=1"
            self._con = sqlite3.connect(uri, uri=True, check_same_thread=False)
            self._pid = os.getpid()
        return self._con.execute(sql, args).fetchone()

    def get(self, key: str, default: Any = None) -> Any:
        value = self._memo.get(key, _UNREAD)
        if value is _UNREAD and self._crcs is not None and not _has_crc(self._crcs, key):
            value = _MISSING
            if len(self._memo) < 1_000_000:
                self._memo[key] = value
        if value is _UNREAD:
            row = self._query("SELECT v FROM t WHERE k = ?", (key,))
            value = pickle.loads(row[0]) if row else _MISSING
            if len(self._memo) < 1_000_000:
                self._memo[key] = value
        return default if value is _MISSING else value

    def __getitem__(self, key: str) -> Any:
        value = self.get(key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key, _MISSING) is not _MISSING

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[str]:
        return (k for k, _v in self._rows())

    def items(self) -> Iterator[tuple[str, Any]]:  # type: ignore[override]
        """Every row, in the order of the dict it was written from: a full read (for builds and benchmarks, not lookups)."""
        return ((k, pickle.loads(v)) for k, v in self._rows())

    def values(self) -> Iterator[Any]:  # type: ignore[override]
        return (v for _k, v in self.items())

    def _rows(self) -> Iterator[tuple[str, bytes]]:
        self._query("SELECT 1", ())
        assert self._con is not None
        yield from self._con.execute("SELECT k, v FROM t ORDER BY rowid")

    def __reduce__(self) -> tuple[type, tuple[Path]]:
        return (DiskTable, (self._path,))


_MISSING = object()
_UNREAD = object()


def _crc(key: str) -> int:
    return zlib.crc32(key.encode("utf-8", "surrogatepass"))


def _crc_blob(keys: Iterable[str]) -> bytes:
    """The sorted CRC-32s of ``keys`` as 4-byte unsigned integers."""
    return array("I", sorted({_crc(k) for k in keys})).tobytes()


def _read_crcs(table: DiskTable) -> array | None:
    """The table's key CRCs, or None (a table written without them: every key is read)."""
    try:
        row = table._query("SELECT v FROM h", ())
    except sqlite3.Error:
        return None
    crcs = array("I")
    if row is None or crcs.itemsize != 4:
        return None
    crcs.frombytes(row[0])
    return crcs


def _has_crc(crcs: array, key: str) -> bool:
    h = _crc(key)
    i = bisect.bisect_left(crcs, h)
    return i < len(crcs) and crcs[i] == h


def store_table(path: Path, rows: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> Any:
    """``rows`` written to an SQLite file at ``path`` and read back as a :class:`DiskTable`;
    where the cache folder cannot be written, the rows as an in-memory dict."""
    data = dict(rows.items() if isinstance(rows, Mapping) else rows)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.unlink(missing_ok=True)
        con = sqlite3.connect(tmp)
        try:
            con.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v BLOB)")  # rowid: dict order
            con.execute("CREATE TABLE n (v INTEGER)")
            con.execute("INSERT INTO n VALUES (?)", (len(data),))
            con.execute("CREATE TABLE h (v BLOB)")  # the keys' CRCs (DiskTable)
            con.execute("INSERT INTO h VALUES (?)", (_crc_blob(data),))
            dump = pickle.dumps
            con.executemany(
                "INSERT INTO t VALUES (?, ?)",
                ((k, dump(v, protocol=pickle.HIGHEST_PROTOCOL)) for k, v in data.items()),
            )
            con.commit()
        finally:
            con.close()
        os.replace(tmp, path)
        return DiskTable(path)
    except (OSError, sqlite3.Error):
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        return data
