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
from ..base.progress import progress_bar

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


#: How ``PRAGMA create_fts_index`` is called, and what the incremental update repeats: a
#: change here (or of DuckDB, whose ``stem``/tokenizer may change) means a full rebuild.
_STEMMER = "porter"
_PRAGMA = (
    "PRAGMA create_fts_index('articles', 'article_id', 'title', 'text', "
    f"stemmer = '{_STEMMER}', stopwords = 'english', lower = 1, strip_accents = 1, "
    "overwrite = 1)"
)
_LAYOUT_KEY = "fts_articles_layout"
_DIGEST_KEY = "fts_articles_digests"
#: An article's indexed content: a new digest means re-index (title or text changed).
_DIGEST = "hash(a.article_id, a.text_hash, a.title)"


def _layout() -> str:
    return f"2|duckdb {duckdb.__version__}|{_PRAGMA}"


def _digests(con: duckdb.DuckDBPyConnection) -> str:
    """One scan of ``articles``: changes when any article is added, removed or re-titled."""
    n, h = con.execute(
        f"SELECT count(*), coalesce(bit_xor({_DIGEST}), 0) FROM articles a"  # noqa: S608
    ).fetchone()
    return f"{n}:{h}"


def index_search(
    con: duckdb.DuckDBPyConnection, *, full: bool = False, progress: bool = False
) -> bool:
    """Bring the BM25 index over ``articles`` title+text up to date. Needs a writable database.

    Only new, changed and removed articles are (re)indexed: the fts extension's own tables
    (``docs``, ``terms``, ``dict``, ``stats``) are updated as its ``create_fts_index`` would
    have built them, so ``match_bm25`` answers exactly as after a rebuild. A full rebuild runs
    with ``full=True``, when no index exists, or when the layout (options, DuckDB) changed.
    Returns False (with a notice) when the extension cannot be loaded. ``progress`` shows a
    bar of the articles indexed (a first build of 10^5 articles takes about a minute).
    """
    if not load_fts(con):
        return False
    if full or not _current(con):
        _rebuild(con, progress=progress)
    elif store.get_meta(con, _DIGEST_KEY) != _digests(con):
        _update(con, progress=progress)
    _warned.discard("stale")
    return True


def _current(con: duckdb.DuckDBPyConnection) -> bool:
    """An index this code can update: its layout stamp, and the digests it keeps in ``docs``
    (an index built by the extension alone, or by older code, has none)."""
    if not index_exists(con) or store.get_meta(con, _LAYOUT_KEY) != _layout():
        return False
    (n,) = con.execute(
        "SELECT count(*) FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = ? AND table_name = 'docs' AND column_name = 'digest'",
        [INDEX_SCHEMA],
    ).fetchone()
    return n == 1


def _rebuild(con: duckdb.DuckDBPyConnection, *, progress: bool = False) -> None:
    """A new index: the extension's ``create_fts_index`` lays out the schema (its tables,
    stopwords and macros) over an empty stand-in for ``articles``, and :func:`_update` adds
    every article, chunk by chunk, as it adds an append (the extension's own build of the
    full table costs ~35 s per 2x10^4 articles, in correlated updates over every posting)."""
    store.set_meta(con, _LAYOUT_KEY, "")
    try:
        # A temporary table shadows ``articles`` for the statements the pragma generates.
        con.execute(
            "CREATE OR REPLACE TEMP TABLE articles AS "
            "SELECT article_id, title, text FROM articles LIMIT 0"
        )
        con.execute(_PRAGMA)
    finally:
        con.execute("DROP TABLE IF EXISTS temp.main.articles")
    with store.transaction(con):
        con.execute(f"ALTER TABLE {INDEX_SCHEMA}.docs ADD COLUMN digest UBIGINT")
        store.set_meta(con, _LAYOUT_KEY, _layout())
    _update(con, progress=progress)


def _stamp(con: duckdb.DuckDBPyConnection) -> None:
    store.set_meta(con, _DIGEST_KEY, _digests(con))
    store.set_meta(con, _META_KEY, _fingerprint(con))


#: Articles indexed per transaction: bounds the memory of a large append (a chunk's postings
#: are held in a temporary table), and an interrupted update resumes from the last chunk.
CHUNK = 20_000

_GONE_SQL = """CREATE OR REPLACE TEMP TABLE fts_gone_ AS
SELECT d.docid FROM {s}.docs d
WHERE NOT EXISTS (SELECT 1 FROM articles a WHERE a.article_id = d.name AND {digest} = d.digest)"""
#: The next chunk of articles without a document of their digest; ``rid`` (the row id, valid
#: inside this transaction) lets the text be read for these rows alone.
_NEW_SQL = """CREATE OR REPLACE TEMP TABLE fts_new_ AS
SELECT (SELECT coalesce(max(docid), -1) + 1 FROM {s}.docs) + row_number() OVER (ORDER BY a.rowid)
       - 1 AS docid, a.rowid AS rid, a.article_id AS name, {digest} AS digest
FROM articles a ANTI JOIN {s}.docs d ON d.name = a.article_id AND d.digest = {digest}
ORDER BY a.rowid LIMIT ?"""
#: The extension's ``union_fields_query`` and ``stemmed_stopped`` over one chunk of new rows.
_NEW_TERMS_SQL = """CREATE OR REPLACE TEMP TABLE fts_new_terms_ AS
WITH n AS (SELECT n.docid, a.title, a.text FROM fts_new_ n JOIN articles a ON a.rowid = n.rid),
tokenized AS (
    SELECT unnest({s}.tokenize(n.title)) AS w, n.docid,
           (SELECT fieldid FROM {s}.fields WHERE field = 'title') AS fieldid FROM n
    UNION ALL
    SELECT unnest({s}.tokenize(n.text)) AS w, n.docid,
           (SELECT fieldid FROM {s}.fields WHERE field = 'text') AS fieldid FROM n)
SELECT stem(t.w, ?) AS term, t.docid, t.fieldid FROM tokenized t
WHERE t.w NOT NULL AND len(t.w) > 0 AND t.w NOT IN (SELECT sw FROM {s}.stopwords)"""


def _update(con: duckdb.DuckDBPyConnection, *, progress: bool = False) -> None:
    """Remove the documents whose article is gone or changed, then add the new ones chunk
    by chunk; each step keeps ``dict.df`` and ``stats`` what a rebuild would compute (ids
    may differ, scores do not)."""
    s = INDEX_SCHEMA
    with store.transaction(con):
        con.execute(_GONE_SQL.format(s=s, digest=_DIGEST))
        _remove_gone(con)
        _restat(con)
    k = CHUNK
    with progress_bar(desc="search index", unit="article", enable=progress) as bar:
        while k == CHUNK:
            with store.transaction(con):
                con.execute(_NEW_SQL.format(s=s, digest=_DIGEST), [CHUNK])
                (k,) = con.execute("SELECT count(*) FROM fts_new_").fetchone()
                if k:
                    _add_chunk(con)
                    _restat(con)
            bar.update(k)
    with store.transaction(con):
        _stamp(con)
    for t in ("fts_gone_", "fts_new_", "fts_new_terms_"):
        con.execute(f"DROP TABLE IF EXISTS {t}")


def _add_chunk(con: duckdb.DuckDBPyConnection) -> None:
    """Index the articles of ``fts_new_`` as its documents."""
    s = INDEX_SCHEMA
    con.execute(_NEW_TERMS_SQL.format(s=s), [_STEMMER])
    con.execute(
        f"INSERT INTO {s}.dict (termid, term, df) "  # noqa: S608
        f"SELECT (SELECT coalesce(max(termid), -1) FROM {s}.dict) + row_number() OVER "
        "(ORDER BY t.term), t.term, 0 "
        f"FROM (SELECT DISTINCT term FROM fts_new_terms_) t ANTI JOIN {s}.dict d USING (term)"
    )
    con.execute(
        f"INSERT INTO {s}.terms (docid, fieldid, termid) "  # noqa: S608
        f"SELECT t.docid, t.fieldid, d.termid FROM fts_new_terms_ t JOIN {s}.dict d USING (term)"
    )
    con.execute(
        f"UPDATE {s}.dict d SET df = d.df + x.n FROM (SELECT term, count(DISTINCT docid) AS n "  # noqa: S608
        "FROM fts_new_terms_ GROUP BY term) x WHERE d.term = x.term"
    )
    con.execute(
        f"INSERT INTO {s}.docs (docid, name, len, digest) "  # noqa: S608
        "SELECT n.docid, n.name, coalesce(c.len, 0), n.digest FROM fts_new_ n "
        "LEFT JOIN (SELECT docid, count(*) AS len FROM fts_new_terms_ GROUP BY docid) c "
        "USING (docid)"
    )


def _restat(con: duckdb.DuckDBPyConnection) -> None:
    """``stats`` as the extension computes it (one pass over ``docs``)."""
    s = INDEX_SCHEMA
    con.execute(f"DELETE FROM {s}.stats")  # noqa: S608
    con.execute(
        f"INSERT INTO {s}.stats SELECT COUNT(docs.docid) AS num_docs, "  # noqa: S608
        f"SUM(docs.len) / COUNT(docs.len) AS avgdl FROM {s}.docs AS docs"
    )


def _remove_gone(con: duckdb.DuckDBPyConnection) -> None:
    """Take the gone documents' postings out of ``terms``/``dict``/``docs``. The docid range
    bounds the scans (row-group zone maps), so a few removals need not read every posting."""
    s = INDEX_SCHEMA
    lo, hi = con.execute("SELECT min(docid), max(docid) FROM fts_gone_").fetchone()
    if lo is None:
        return
    within = "t.docid BETWEEN ? AND ? AND t.docid IN (SELECT docid FROM fts_gone_)"
    con.execute(
        f"UPDATE {s}.dict d SET df = d.df - x.n FROM (SELECT t.termid, "  # noqa: S608
        f"count(DISTINCT t.docid) AS n FROM {s}.terms t WHERE {within} GROUP BY t.termid) x "
        "WHERE d.termid = x.termid",
        [lo, hi],
    )
    con.execute(f"DELETE FROM {s}.dict WHERE df <= 0")  # noqa: S608
    con.execute(f"DELETE FROM {s}.terms t WHERE {within}", [lo, hi])  # noqa: S608
    con.execute(f"DELETE FROM {s}.docs t WHERE {within}", [lo, hi])  # noqa: S608


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
