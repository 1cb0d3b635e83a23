"""Copy a database back to schema version 3, so the code at ``d83d9f5`` can re-resolve it.

    python bench/downgrade_db.py SRC DST

The before/after figures of issue 14 run both versions of the code on the *same* stored
mentions (one spaCy extraction): the copy drops what schema versions 4-7 added (run counts,
raw pages, outlet metadata, self-mention and fragment columns) and their version rows.
"""

from __future__ import annotations

import shutil
import sys

import duckdb

_DROP = [
    "ALTER TABLE runs DROP COLUMN IF EXISTS counts",
    "DROP TABLE IF EXISTS pages_html",
    "DROP TABLE IF EXISTS sources",
    "ALTER TABLE mentions DROP COLUMN IF EXISTS self_mention",
    "ALTER TABLE quotes DROP COLUMN IF EXISTS fragment",
    "DELETE FROM schema_version WHERE version > 3",
]


def main() -> None:
    src, dst = sys.argv[1:3]
    shutil.copyfile(src, dst)
    con = duckdb.connect(dst)
    for stmt in _DROP:
        con.execute(stmt)
    con.close()
    print(f"{dst}: schema version 3")


if __name__ == "__main__":
    main()
