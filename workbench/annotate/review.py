"""Entity review: likely splits and merges of the resolved actors, with their evidence.

Why: automatic canonicalisation decides from corpus evidence, and where the evidence is
thin it leaves names apart (a bare "Clinton" with Hillary and Bill both in the corpus).
:func:`entity_review` lists those decisions so an analyst can check them, and
:func:`accept` writes the chosen suggestions to the user registry in one step (then
``resolve()`` re-applies everything from stored mentions, without spaCy).

Rows (one per finding):

- ``ambiguous surname``: a bare surname no full name dominates (its candidates and their
  full-name mention counts); suggestion ``pin: {Surname: Full Name}``;
- ``label conflict``: one name filed under two kinds (``person:x`` and ``place:x``/
  ``org:x``); suggestion ``places: {X: null}`` or a typed actor entry;
- ``possible over-merge``: a person whose aliases carry a different surname or a
  generational suffix the name lacks; suggestion ``split: [alias]``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import yaml

from ..base import config, store
from ..nlp import actors
from ..resolve.stage import AMBIGUOUS_META

if TYPE_CHECKING:  # pragma: no cover
    import os

    import duckdb

#: Kinds a person's name is confused with (EVENT, PRODUCT, ... are not actors anyway).
_CONFLICT_TYPES = frozenset({"ORG", "GPE", "LOC", "NORP"})
COLUMNS = ["kind", "entity_ids", "names", "articles", "evidence", "context", "suggestion"]


def _context(con: duckdb.DuckDBPyConnection, entity_id: str | None) -> str | None:
    """The sentence of one mention of the entity (the earliest article), for a glance."""
    if not entity_id:
        return None
    row = con.execute(
        "SELECT s.text FROM mentions m JOIN sentences s"
        " ON s.article_id = m.article_id AND s.idx = m.sentence_idx"
        " WHERE m.entity_id = ? ORDER BY m.article_id, m.start_char LIMIT 1",
        [entity_id],
    ).fetchone()
    return " ".join(row[0].split())[:200] if row else None


#: One entity as the review reads it: (entity_id, name, type, n_articles).
_Entity = tuple[str, str, str, int]


def entity_review(con: duckdb.DuckDBPyConnection, *, limit: int = 50) -> pd.DataFrame:
    """Likely splits and merges, most articles first (columns: :data:`COLUMNS`)."""
    ents = con.execute("SELECT entity_id, name, type, aliases, n_articles FROM entities").fetchall()
    by_fold: dict[str, list[_Entity]] = {}
    for eid, name, typ, _aliases, n in ents:
        by_fold.setdefault(actors.fold(name), []).append((eid, name, typ, n or 0))
    rows = [
        *_ambiguous_rows(con, by_fold),
        *_conflict_rows(con, by_fold),
        *_overmerge_rows(con, ents),
    ]
    df = pd.DataFrame(rows, columns=COLUMNS)
    if df.empty:
        return df
    return (
        df.sort_values(["articles", "kind"], ascending=[False, True])
        .head(limit)
        .reset_index(drop=True)
    )


def _ambiguous_rows(
    con: duckdb.DuckDBPyConnection, by_fold: dict[str, list[_Entity]]
) -> list[dict[str, Any]]:
    """Bare surnames resolve() left apart (stored under AMBIGUOUS_META), with their
    candidates; the suggestion pins the most mentioned candidate."""
    rows: list[dict[str, Any]] = []
    amb = json.loads(store.get_meta(con, AMBIGUOUS_META) or "{}")
    for bare, cands in amb.items():
        mine = [e for e in by_fold.get(actors.fold(bare), []) if e[2] == "PERSON"]
        eid = mine[0][0] if mine else None
        top = max(cands.items(), key=lambda kv: kv[1])[0] if cands else None
        rows.append(
            {
                "kind": "ambiguous surname",
                "entity_ids": [eid] if eid else [],
                "names": [bare, *cands],
                "articles": mine[0][3] if mine else 0,
                "evidence": "full-name mentions: "
                + ", ".join(f"{k} {v}" for k, v in cands.items()),
                "context": _context(con, eid),
                "suggestion": {"pin": {bare: top}} if top else None,
            }
        )
    return rows


def _conflict_rows(
    con: duckdb.DuckDBPyConnection, by_fold: dict[str, list[_Entity]]
) -> list[dict[str, Any]]:
    """Names filed both as a person and as an org/place; the suggestion keeps the reading
    with more articles."""
    rows: list[dict[str, Any]] = []
    for _key, group in by_fold.items():
        kinds = {e[2] for e in group}
        if "PERSON" in kinds and len(kinds) > 1:
            person = next(e for e in group if e[2] == "PERSON")
            for e in group:
                if e[2] not in _CONFLICT_TYPES:
                    continue
                rows.append(
                    {
                        "kind": "label conflict",
                        "entity_ids": [person[0], e[0]],
                        "names": [person[1], e[1]],
                        "articles": person[3] + e[3],
                        "evidence": f"tagged PERSON in {person[3]} articles, {e[2]} in {e[3]}",
                        "context": _context(con, e[0]),
                        "suggestion": _conflict_fix(person, e),
                    }
                )
    return rows


def _conflict_fix(person: _Entity, e: _Entity) -> dict[str, Any]:
    """Registry entry that settles one label conflict in favour of the commoner reading."""
    if person[3] >= e[3]:  # the person reading is the corpus's usual one
        return (
            {"places": {e[1]: None}}
            if e[0].startswith("place:")
            else {"actors": [{"name": person[1], "type": "PERSON"}]}
        )
    return {"actors": [{"name": e[1], "type": e[2]}]}


def _overmerge_rows(con: duckdb.DuckDBPyConnection, ents: list[Any]) -> list[dict[str, Any]]:
    """People whose aliases carry another surname (or a suffix the name lacks); the
    suggestion splits those aliases off."""
    rows: list[dict[str, Any]] = []
    for eid, name, typ, aliases, n in ents:
        if typ != "PERSON" or " " not in name:
            continue
        key = actors.fold(name)
        sn = actors.surname(key)
        odd = [
            a
            for a in aliases or []
            if actors.is_full_name(actors.fold(a)) and actors.surname(actors.fold(a)) != sn
        ]
        if odd:
            rows.append(
                {
                    "kind": "possible over-merge",
                    "entity_ids": [eid],
                    "names": [name, *odd],
                    "articles": n or 0,
                    "evidence": f"aliases with another surname or suffix: {', '.join(odd[:5])}",
                    "context": _context(con, eid),
                    "suggestion": {"split": odd},
                }
            )
    return rows


def accept(suggestions: Any, path: str | os.PathLike[str] | None = None) -> Path:
    """Add suggestions (rows of :func:`entity_review`, a frame of them, or registry
    mappings) to the user registry file (default ``data/registry/user.yaml``); returns it.
    Run ``resolve()`` afterwards to apply them."""
    if isinstance(suggestions, pd.DataFrame):
        items = list(suggestions["suggestion"])
    elif isinstance(suggestions, dict) and "suggestion" in suggestions:
        items = [suggestions["suggestion"]]
    elif isinstance(suggestions, dict):
        items = [suggestions]
    else:
        items = [
            s["suggestion"] if isinstance(s, dict) and "suggestion" in s else s for s in suggestions
        ]
    target = Path(path) if path is not None else config.REGISTRY_DIR / "user.yaml"
    data: dict[str, Any] = {}
    if target.is_file():
        data = yaml.safe_load(target.read_text(encoding="utf-8")) or {}
    for item in items:
        if not item:
            continue
        for section, value in item.items():
            if isinstance(value, dict):
                data.setdefault(section, {}).update(value)
            else:
                cur = data.setdefault(section, [])
                cur.extend(v for v in value if v not in cur)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(data, sort_keys=True, allow_unicode=True), encoding="utf-8")
    return target
