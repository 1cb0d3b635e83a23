"""Outlet metadata: ``sources`` maps each outlet to any attributes (country, type,
partisanship, owner, …), from a CSV/YAML file the analyst keeps, or from the export itself
when its records carry per-outlet fields. The attributes select outlets for a ``Filter``
and group them for comparisons ("coverage across partisanship").
"""

from __future__ import annotations

import csv
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..base import errors

if TYPE_CHECKING:  # pragma: no cover
    import duckdb

#: Record fields that describe the outlet rather than the article (read from ``meta``).
OUTLET_FIELD = re.compile(
    r"^(?:(?:source|outlet|media|publisher)_\w+|partisanship|leaning|bias|political_bias|"
    r"media_type|outlet_type)$",
    re.IGNORECASE,
)
_NAME_COLUMNS = ("source", "outlet", "name", "publisher", "media")


def load_file(con: duckdb.DuckDBPyConnection, path: str | os.PathLike[str]) -> int:
    """Read outlet attributes from CSV (a ``source``/``outlet`` column plus any others) or
    YAML (``outlet: {attr: value}`` or a list of mappings with ``source``); the file's
    values replace earlier ones of the same attribute. Returns the outlets written."""
    p = Path(path)
    if not p.is_file():
        raise errors.WorkbenchError(f"source metadata file not found: {p}")
    rows = _read_yaml(p) if p.suffix.lower() in (".yaml", ".yml") else _read_csv(p)
    return _upsert(con, rows, origin=str(p), replace=True)


def _read_csv(p: Path) -> list[dict[str, Any]]:
    with open(p, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        name = next((h for h in header if h.strip().lower() in _NAME_COLUMNS), None)
        if name is None:
            raise errors.WorkbenchError(
                f"{p}: no outlet column (one of {', '.join(_NAME_COLUMNS)}) among {header[:12]}"
            )
        return [
            {"source": r[name].strip(), **{k: v for k, v in r.items() if k != name and v}}
            for r in reader
            if r.get(name) and r[name].strip()
        ]


def _read_yaml(p: Path) -> list[dict[str, Any]]:
    # About 40 ms (PyYAML): only when a sources file is read.
    import yaml

    data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    if isinstance(data, dict):
        data = data.get("sources", data)
    if isinstance(data, dict):
        return [{"source": str(k), **(v or {})} for k, v in data.items()]
    if isinstance(data, list) and all(isinstance(r, dict) and r.get("source") for r in data):
        return [{**r, "source": str(r["source"])} for r in data]
    raise errors.WorkbenchError(
        f"{p}: expected `outlet: {{attribute: value}}` mappings or a list of mappings with "
        "a `source` key"
    )


def _upsert(
    con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]], *, origin: str, replace: bool
) -> int:
    """Merge attributes per outlet; ``replace=False`` keeps values already present (the
    analyst's file wins over what an export says)."""
    old = {s: json.loads(a) for s, a in con.execute("SELECT source, attrs FROM sources").fetchall()}
    out = []
    for r in rows:
        src = r["source"]
        new = {k: v for k, v in r.items() if k != "source" and v not in (None, "")}
        attrs = {**old.get(src, {}), **new} if replace else {**new, **old.get(src, {})}
        out.append((src, json.dumps(attrs, default=str, sort_keys=True), origin))
    if out:
        con.executemany("INSERT OR REPLACE INTO sources VALUES (?, ?, ?)", out)
    return len(out)


def fill_from_articles(con: duckdb.DuckDBPyConnection, run_id: int | None = None) -> list[str]:
    """Per-outlet fields of the stored records (``outlet_country``, ``partisanship``, …):
    each outlet gets the value when all its articles (of ingest run ``run_id``, else all)
    agree on it; values already known are kept. Returns the fields used."""
    run = "AND run_id = ?" if run_id is not None else ""
    p_run = [run_id] if run_id is not None else []
    keys = [
        k
        for (k,) in con.execute(
            f"SELECT DISTINCT unnest(json_keys(meta)) FROM articles WHERE meta IS NOT NULL {run}",  # noqa: S608
            p_run,
        ).fetchall()
        if OUTLET_FIELD.match(k)
    ]
    per: dict[str, dict[str, Any]] = {}
    for k in keys:
        inner = f"FROM articles WHERE source IS NOT NULL {run}"  # a fixed clause
        q = (
            "SELECT source, min(v) FROM (SELECT source, json_extract_string(meta, ?) AS v "  # noqa: S608
            + inner
            + ") WHERE v IS NOT NULL GROUP BY source HAVING count(DISTINCT v) = 1"
        )
        for src, v in con.execute(q, [f'$."{k}"', *p_run]).fetchall():
            per.setdefault(src, {})[k] = v
    _upsert(con, [{"source": s, **a} for s, a in per.items()], origin="input", replace=False)
    return sorted(keys)


def table(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per outlet, one column per attribute (empty when not known)."""
    rows = con.execute("SELECT source, attrs FROM sources ORDER BY source").fetchall()
    return pd.DataFrame([{"source": s, **json.loads(a)} for s, a in rows], dtype=object)


def where(con: duckdb.DuckDBPyConnection, **attrs: Any) -> tuple[str, ...]:
    """Outlets whose attributes equal the given values, e.g. ``partisanship="left"``: pass
    them as ``Filter(sources=...)``."""
    if not attrs:
        raise errors.BadOption("sources_where needs at least one attribute=value")
    conds = " AND ".join("json_extract_string(attrs, ?) = ?" for _ in attrs)
    params: list[Any] = []
    for k, v in attrs.items():
        params += [f'$."{k}"', str(v)]
    q = f"SELECT source FROM sources WHERE {conds} ORDER BY source"  # noqa: S608 - fixed
    return tuple(r[0] for r in con.execute(q, params).fetchall())


def groups(con: duckdb.DuckDBPyConnection, attribute: str) -> dict[str, tuple[str, ...]]:
    """``value -> outlets`` for one attribute (outlets without it are left out)."""
    rows = con.execute(
        "SELECT json_extract_string(attrs, ?) AS v, list(source ORDER BY source) "
        "FROM sources WHERE v IS NOT NULL GROUP BY v ORDER BY v",
        [f'$."{attribute}"'],
    ).fetchall()
    if not rows:
        known = sorted(set().union(*[set(c) for c in [table(con).columns]]) - {"source"})
        raise errors.BadOption(
            f"no outlet has the attribute {attribute!r}; known attributes: {known or 'none'} "
            "(load them with wb.load_sources(PATH) or `workbench sources --load PATH`)"
        )
    return {v: tuple(s) for v, s in rows}
