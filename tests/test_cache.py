"""The on-disk cache: pickles and the key-by-key tables of the large name indexes."""

from __future__ import annotations

import os
import pickle

import pytest

from workbench.base.cache import DiskTable, cached_pickle, store_table


def _rows() -> dict[str, tuple]:
    return {"paris": (("FRA", "", 1.0, "city"),), "georgia": ((1, "GA"), (2, "")), "b": ()}


def test_a_table_reads_what_was_written_key_by_key(tmp_path) -> None:
    rows = _rows()
    table = store_table(tmp_path / "x-0123456789abcdef.index.sqlite", rows)
    assert isinstance(table, DiskTable)
    assert len(table) == 3 and bool(table)
    assert table.get("paris") == rows["paris"] and table["georgia"] == rows["georgia"]
    assert table.get("b") == () and "b" in table  # an empty value is still a key
    assert table.get("nowhere") is None and table.get("nowhere", ()) == ()
    assert "nowhere" not in table and 3 not in table
    with pytest.raises(KeyError):
        table["nowhere"]
    assert list(table.items()) == list(rows.items())  # the order it was written in
    assert dict(table) == rows


def test_a_key_the_table_lacks_costs_no_read_and_old_tables_still_read(tmp_path) -> None:
    import sqlite3

    rows = _rows()
    table = store_table(tmp_path / "x-0123456789abcdef.index.sqlite", rows)
    assert table._crcs is not None and len(table._crcs) == 3

    def no_read(*_a):
        raise AssertionError("a key the table lacks was read from SQLite")

    fresh = DiskTable(table._path)
    fresh._query = no_read  # type: ignore[method-assign]
    assert fresh.get("nowhere") is None and "nowhere" not in fresh and "Paris" not in fresh
    with pytest.raises(AssertionError):
        fresh.get("paris")  # a key it holds is read
    # a table written before the CRCs were kept (no table h) reads every key
    old = tmp_path / "y-0123456789abcdef.index.sqlite"
    con = sqlite3.connect(old)
    con.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v BLOB)")
    con.execute("CREATE TABLE n (v INTEGER)")
    con.execute("INSERT INTO n VALUES (1)")
    con.execute("INSERT INTO t VALUES (?, ?)", ("paris", pickle.dumps(rows["paris"])))
    con.commit()
    con.close()
    legacy = DiskTable(old)
    assert legacy._crcs is None and legacy.get("paris") == rows["paris"]
    assert legacy.get("nowhere") is None


def test_a_table_pickles_as_its_path_and_a_lost_file_rebuilds(tmp_path) -> None:
    path = tmp_path / "places-0123456789abcdef.pickle"
    table_path = tmp_path / "places-0123456789abcdef.index.sqlite"
    builds = []

    def build() -> DiskTable:
        builds.append(1)
        return store_table(table_path, _rows())

    first = cached_pickle(path, build)
    assert path.stat().st_size < 500  # the pickle holds the path, not the rows
    again = cached_pickle(path, build)
    assert builds == [1] and again.get("paris") == first.get("paris")
    table_path.unlink()
    with pytest.raises(OSError):
        pickle.loads(pickle.dumps(first))
    assert cached_pickle(path, build).get("georgia") == _rows()["georgia"] and builds == [1, 1]


def test_a_table_in_a_forked_child_opens_its_own_connection(tmp_path) -> None:
    table = store_table(tmp_path / "t-0123456789abcdef.index.sqlite", _rows())
    assert table.get("paris")
    pid = os.fork()
    if pid == 0:  # the child reads a key the parent never read, on its own connection
        os._exit(0 if table.get("georgia") == _rows()["georgia"] else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_an_unwritable_folder_keeps_the_rows_in_memory(tmp_path) -> None:
    blocker = tmp_path / "not-a-folder"  # a file where the cache folder should be
    blocker.write_text("x")
    got = store_table(blocker / "x-0123456789abcdef.index.sqlite", _rows())
    assert got == _rows() and not isinstance(got, DiskTable)


def test_a_new_index_removes_the_tables_of_the_old_one(tmp_path) -> None:
    old = tmp_path / "gazetteer-0123456789abcdef.index.sqlite"
    other = tmp_path / "places-0123456789abcdef.index.sqlite"
    for p in (old, other):
        p.write_text("x")
    current = tmp_path / "gazetteer-fedcba9876543210.pickle"
    table = tmp_path / "gazetteer-fedcba9876543210.index.sqlite"
    cached_pickle(current, lambda: store_table(table, _rows()))
    assert not old.exists() and other.exists() and table.exists() and current.exists()
