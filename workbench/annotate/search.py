"""Full-text search over article title+text with DuckDB's ``fts`` extension, offline.

``INSTALL fts`` downloads from the internet; the pinned ``duckdb-extension-fts`` wheel ships
the binary for our DuckDB version, so we ``LOAD`` it by path. When the extension or the
index is unavailable (not installed, read-only database without an index, index older than
the last ingest) queries fall back to a case-insensitive substring search and say so once.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import duckdb

from ..base import store

INDEX_SCHEMA = "fts_main_articles"
_META_KEY = "fts_articles_indexed"
_warned: set[str] = set()


class SearchFallbackWarning(UserWarning):
    """Full-text queries run as substring search (no BM25 ranking, no stemming)."""


def _notice(key: str, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        warnings.warn(message, SearchFallbackWarning, stacklevel=3)


def extension_path() -> Path | None:
    """The ``fts.duckdb_extension`` shipped by the ``duckdb-extension-fts`` wheel, if any."""
    try:
        # Optional: the wheel may be absent (then there is no shipped extension).
        import duckdb_extension_fts
    except ImportError:
        return None
    base = Path(duckdb_extension_fts.__file__).parent / "extensions"
    want = base / f"v{duckdb.__version__}" / "fts.duckdb_extension"
    if want.exists():
        return want
    found = sorted(base.glob("*/fts.duckdb_extension"))
    return found[-1] if found else None


def load_fts(con: duckdb.DuckDBPyConnection) -> bool:
    """Load the fts extension into this connection; False (with a notice) if impossible."""
    row = con.execute(
        "SELECT loaded FROM duckdb_extensions() WHERE extension_name = 'fts'"
    ).fetchone()
    if row and row[0]:
        return True
    path = extension_path()
    if path is None:
        _notice(
            "missing",
            "full-text search: the duckdb-extension-fts package is not installed "
            f"(pip install duckdb-extension-fts=={duckdb.__version__}); using substring search",
        )
        return False
    try:
        con.execute(f"LOAD '{_lit(path)}'")
        return True
    except duckdb.Error as first:
        try:  # some builds only accept extensions from the local repository
            con.execute(f"INSTALL '{_lit(path)}'")
            con.execute("LOAD fts")
            return True
        except duckdb.Error:
            _notice(
                "load",
                f"full-text search: could not load {path} ({first}); using substring search",
            )
            return False


def _lit(path: Path) -> str:
    """A file path as a SQL string literal body (LOAD takes no parameters)."""
    return str(path).replace("'", "''")


def _fingerprint(con: duckdb.DuckDBPyConnection) -> str:
    """Changes whenever an article is added, removed or its text replaced."""
    n, h = con.execute(
        "SELECT count(*), coalesce(bit_xor(hash(article_id || text_hash)), 0) FROM articles"
    ).fetchone()
    return f"{n}:{h}"


def index_exists(con: duckdb.DuckDBPyConnection) -> bool:
    row = con.execute(
        "SELECT count(*) FROM duckdb_schemas() WHERE schema_name = ?", [INDEX_SCHEMA]
    ).fetchone()
    return bool(row[0])


def index_search(con: duckdb.DuckDBPyConnection) -> bool:
    """(Re)build the BM25 index over ``articles`` title+text. Needs a writable database.

    Returns False (with a notice) when the extension cannot be loaded.
    """
    if not load_fts(con):
        return False
    con.execute(
        "PRAGMA create_fts_index('articles', 'article_id', 'title', 'text', "
        "stemmer = 'porter', stopwords = 'english', lower = 1, strip_accents = 1, "
        "overwrite = 1)"
    )
    store.set_meta(con, _META_KEY, _fingerprint(con))
    _warned.discard("stale")
    return True


def bm25_query(con: duckdb.DuckDBPyConnection, text: str) -> str | None:
    """``text`` as the index sees it: its own tokenizer, without its stopwords and empty
    tokens, space-joined (``match_bm25`` stems each term itself). None when no term is left.

    ``match_bm25(..., conjunctive := 1)`` requires every query token to be in the index, and
    stopwords never are: "bank of japan" matched nothing before the query was cut this way.
    """
    rows = con.execute(
        f"SELECT t FROM (SELECT unnest({INDEX_SCHEMA}.tokenize(?)) AS t) "  # noqa: S608
        f"WHERE t <> '' AND t NOT IN (SELECT sw FROM {INDEX_SCHEMA}.stopwords)",
        [text],
    ).fetchall()
    terms = list(dict.fromkeys(r[0] for r in rows))
    return " ".join(terms) or None


def fts_query(con: duckdb.DuckDBPyConnection, text: str | None) -> str | None:
    """The BM25 query to bind for a full-text filter, or None to use substring search
    (no text, no usable index, or a query of stopwords only)."""
    if not text or not fts_ready(con):
        return None
    return bm25_query(con, text)


def fts_ready(con: duckdb.DuckDBPyConnection) -> bool:
    """True when ``match_bm25`` can answer for every article now in the table."""
    if not index_exists(con):
        _notice(
            "noindex",
            "full-text search: no index yet; run Workbench.index_search() (or analyze()) on a "
            "writable database for BM25 ranking. Using substring search.",
        )
        return False
    indexed = store.get_meta(con, _META_KEY)
    if indexed is None or indexed != _fingerprint(con):
        _notice(
            "stale",
            "full-text search: the index predates the last ingest; run Workbench.index_search() "
            "to refresh it. Using substring search meanwhile (complete, but unranked).",
        )
        return False
    return load_fts(con)
