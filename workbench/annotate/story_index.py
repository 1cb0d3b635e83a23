"""The stories' LSH band index kept beside the database, so an incremental add loads it in
one cheap read instead of querying ``story_bands``.

``story_bands`` in the database stays the truth; this folder (``<database>.story-index``)
is a cache of it as sorted integer arrays: per band the 63-bit keys in order, each with
the position of its article in processing order (``seq``). A *segment* is four ``.npy``
files (band ids, band offsets, keys, positions), opened memory-mapped, so a batch's binary
searches touch only the pages they need. The index is a large *base* segment and at most
one *delta* segment of the rows added since, merged into a new base when it grows past an
eighth of the base.

The base segment also keeps the *bodies* of its positions (``story_signatures.body``, the
packed bytes, in position order: ``.body.bin`` and its offsets ``.boff.npy``), so an add
reads its candidates' bodies from the pages they lie on: from DuckDB, 10^5 bodies spread
over 10^6 rows cost a scan of the whole body column (seconds in a fresh process). A run
spools the bodies of the batches it indexes (:class:`Spool`, a file in the folder) and a
new base takes them over, with the earlier base's and, for a gap between the two, the
stored ones; positions past the body store (the delta's) are read from story_signatures,
where they are the last rows.

It is trusted only when all of these hold, else rebuilt from ``story_bands``:

- its ``manifest.json`` names the band parameters of this run (``StoryOptions.band_stamp``);
- its token equals the one stored in the database's ``meta`` (:data:`META_KEY`), written
  after the files and dropped whenever the story tables are reset;
- it covers exactly the stored signatures (their count and first and last ``seq``);
- every segment file opens with the shapes the manifest gives.

Files are written under new names and fsynced, then the manifest is replaced atomically,
then the token is stored: a run stopped at any point leaves a folder that the next run
either trusts whole or rebuilds; unreferenced files are removed by the next save.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from ..base import store

#: meta key of the token that ties the folder to the database's story tables.
META_KEY = "stories.index"
FORMAT = 1
#: Indexes of fewer signed articles are not kept beside the database: a query of their
#: story_bands rows is cheap, and small databases get no extra folder.
MIN_ARTICLES = 20_000
_PARTS = ("bands", "start", "keys", "pos")
#: A new base reads the stored bodies of a gap before its spooled ones only up to this share
#: of its positions (the old delta's rows: the table's last); a larger gap (a re-band, an
#: index rebuilt from story_bands) gets no body store, and adds read bodies from DuckDB.
GAP_SHARE = 0.25

#: Runs of (keys, positions) per band, as :class:`..stories.BandIndex` holds them.
Runs = dict[int, list[tuple[np.ndarray, np.ndarray]]]


@dataclass
class Stored:
    """A loaded index: its base and delta runs (memory-mapped views) and how to name a
    position (``seq0 + position`` in story_signatures: the signatures are contiguous)."""

    con: duckdb.DuckDBPyConnection
    folder: Path
    n: int
    seq0: int
    manifest: dict[str, Any]
    base: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    #: The base's body store: packed bodies as uint32 and each position's start in them
    #: (``n_bodies + 1`` offsets), positions ``0 .. n_bodies - 1``.
    bodies: tuple[np.ndarray, np.ndarray] | None = None
    n_bodies: int = 0

    def names(self, pos: np.ndarray) -> np.ndarray:
        """Article ids of stored positions (any order, repeats allowed)."""
        return self.names_and_bodies(pos, bodies=False)[0]

    def names_and_bodies(
        self, pos: np.ndarray, *, bodies: bool = True
    ) -> tuple[np.ndarray, list[Any]]:
        """:meth:`names`, and with ``bodies`` the bodies of the distinct positions: for those
        in the body store (ids, uint32 data, each one's start in it), and the stored rows of
        the rest (an Arrow table of ``article_id``, ``body``), read with their names (the
        body column is most of what a scan of story_signatures reads)."""
        uniq, back = np.unique(pos, return_inverse=True)
        kept = int(np.searchsorted(uniq, self.n_bodies)) if bodies and self.bodies else 0
        names = np.empty(len(uniq), dtype=object)
        held: list[Any] = []
        for part, with_body in ((uniq[:kept], False), (uniq[kept:], bodies)):
            if len(part) == 0:
                continue
            got = self._rows(part, with_body)
            at = np.searchsorted(uniq, got.column("seq").to_numpy() - self.seq0)
            names[at] = got.column("article_id").to_numpy(zero_copy_only=False)
            if with_body:
                held.append(got.drop_columns(["seq"]))
        if kept:
            data, off = self.bodies  # type: ignore[misc]
            held.append((names[:kept].tolist(), data, np.asarray(off[uniq[:kept]])))
        return names[back], held

    def _rows(self, pos: np.ndarray, bodies: bool) -> pa.Table:
        """story_signatures rows (seq, article_id[, body]) of sorted distinct positions (a
        join on ``seq``: its range prunes the row groups outside it)."""
        want = pa.table({"seq": pa.array(pos + self.seq0, pa.int64())})
        self.con.register("_wb_story_seqs", want)
        try:
            return self.con.execute(_NAMES_SQL[bodies]).to_arrow_table()
        finally:
            self.con.unregister("_wb_story_seqs")


#: The stored rows of the positions in ``_wb_story_seqs``: names, or names and bodies.
_NAMES_SQL = {
    False: "SELECT s.seq, s.article_id FROM _wb_story_seqs w "
    "JOIN story_signatures s ON s.seq = w.seq",
    True: "SELECT s.seq, s.article_id, s.body FROM _wb_story_seqs w "
    "JOIN story_signatures s ON s.seq = w.seq",
}


def folder_of(con: duckdb.DuckDBPyConnection) -> Path | None:
    """``<database file>.story-index``; None for an in-memory database."""
    row = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    if not row or not row[0] or row[0] == ":memory:":
        return None
    return Path(os.path.abspath(row[0] + ".story-index"))


def _coverage(con: duckdb.DuckDBPyConnection) -> tuple[int, int, int]:
    n, lo, hi = con.execute(
        "SELECT count(*), coalesce(min(seq), 0), coalesce(max(seq), -1) FROM story_signatures"
    ).fetchone()
    return int(n), int(lo), int(hi)


def forget(con: duckdb.DuckDBPyConnection) -> None:
    """Untrust the folder (the story tables are being reset)."""
    con.execute("DELETE FROM meta WHERE key = ?", [META_KEY])


def load(con: duckdb.DuckDBPyConnection, stamp: str) -> tuple[Runs, Stored] | None:
    """The index beside the database when it is trustworthy (see the module docstring)."""
    token = store.get_meta(con, META_KEY)
    folder = folder_of(con) if token is not None else None
    if folder is None or token is None:
        return None
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        n, seq0, seq_max = _coverage(con)
        if (
            manifest.get("format") != FORMAT
            or manifest.get("token") != token
            or manifest.get("stamp") != stamp
            or [manifest.get(k) for k in ("n", "seq0", "seq_max")] != [n, seq0, seq_max]
        ):
            return None
        segments = [_open(folder, seg) for seg in manifest["segments"]]
        held = _open_bodies(folder, manifest["segments"][0]) if segments else None
    except (OSError, ValueError, KeyError, TypeError):
        return None  # missing, half-written or foreign: rebuilt from story_bands
    stored = Stored(con, folder, n, seq0, manifest, segments[0] if segments else {})
    if held is not None:
        stored.bodies, stored.n_bodies = held, len(held[1]) - 1
    runs: Runs = {}
    for seg in segments:
        for band, run in seg.items():
            runs.setdefault(band, []).append(run)
    return runs, stored


def _open(folder: Path, seg: dict[str, Any]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """A segment's runs by band, memory-mapped; a file of the wrong shape is an error."""
    arr = {p: np.load(folder / f"{seg['name']}.{p}.npy", mmap_mode="r") for p in _PARTS}
    rows, nb = int(seg["rows"]), int(seg["bands"])
    if (
        arr["keys"].shape != (rows,)
        or arr["pos"].shape != (rows,)
        or arr["bands"].shape != (nb,)
        or arr["start"].shape != (nb + 1,)
        or (nb and int(arr["start"][-1]) != rows)
    ):
        raise ValueError(f"story index segment {seg['name']}: shapes do not match its manifest")
    start = np.asarray(arr["start"]).tolist()
    return {
        int(b): (arr["keys"][start[j] : start[j + 1]], arr["pos"][start[j] : start[j + 1]])
        for j, b in enumerate(np.asarray(arr["bands"]).tolist())
    }


def _open_bodies(folder: Path, seg: dict[str, Any]) -> tuple[np.ndarray, np.ndarray] | None:
    """A base segment's body store (data, offsets), memory-mapped; None when it has none."""
    rows = seg.get("bodies")
    if not rows:
        return None
    off = np.load(folder / f"{seg['name']}.boff.npy", mmap_mode="r")
    path = folder / f"{seg['name']}.body.bin"
    size = path.stat().st_size
    if off.shape != (int(rows) + 1,) or size % 4 or int(off[-1]) * 4 != size or int(off[0]):
        raise ValueError(f"story index segment {seg['name']}: its bodies do not match")
    data = np.asarray(np.memmap(path, dtype="<u4", mode="r")) if size else np.zeros(0, "<u4")
    return data, np.asarray(off)  # plain views: a memmap's slices cost a Python call each


class Spool:
    """The packed bodies of the batches a run indexes, in position order from ``first``,
    written to a file in the index folder as they come (memory stays bounded): what the
    next base's body store takes over. A batch without packed bodies (a re-band) or out of
    order ends it."""

    def __init__(self, folder: Path, first: int) -> None:
        folder.mkdir(exist_ok=True)
        self.path = folder / f"spool-{uuid.uuid4().hex}.tmp"
        self.fh: Any = self.path.open("wb")
        self.first, self.count, self.ok = first, 0, True
        self.lens: list[np.ndarray] = []

    def add(self, first: int, packed: list[bytes | None] | None) -> None:
        if not self.ok:
            return
        if packed is None or first != self.first + self.count or any(b is None for b in packed):
            self.ok = False
            return
        self.fh.write(b"".join(packed))  # type: ignore[arg-type]
        self.lens.append(np.fromiter(map(len, packed), dtype=np.int64, count=len(packed)))  # type: ignore[arg-type]
        self.count += len(packed)

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self.fh.close()
            self.path.unlink()


def _write_bodies(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    name: str,
    n: int,
    seq0: int,
    sources: tuple[Stored | None, Spool | None],
) -> int:
    """The body store of a new base segment ``name`` of ``n`` positions: the earlier base's
    bodies, the stored ones of the gap after them and the spooled ones (renamed when they
    are all of it); the positions it covers (0: none written)."""
    stored, spool = sources
    have = stored.n_bodies if stored is not None and stored.bodies is not None else 0
    tail = spool.first if spool is not None and spool.ok and spool.count else n
    if spool is not None and spool.ok and spool.first + spool.count != n:
        tail = n  # the spool does not reach the last position: not used
    if tail < have or (tail - have) > GAP_SHARE * n or n == 0:
        return 0
    lens: list[np.ndarray] = []
    body = folder / f"{name}.body.bin"
    if have == 0 and tail == 0 and spool is not None:  # a run from no index: all spooled
        spool.fh.flush()
        os.fsync(spool.fh.fileno())
        spool.fh.close()
        os.replace(spool.path, body)
        lens = spool.lens
    else:
        with body.open("wb") as fh:
            if have:
                data, off = stored.bodies  # type: ignore[union-attr,misc]
                fh.write(memoryview(np.ascontiguousarray(data[: int(off[have])])).cast("B"))
                lens.append(np.diff(np.asarray(off[: have + 1])) * 4)
            if tail > have:
                got = con.execute(
                    "SELECT body FROM story_signatures WHERE seq BETWEEN ? AND ? ORDER BY seq",
                    [seq0 + have, seq0 + tail - 1],
                ).to_arrow_table()
                col = got.column("body")
                if col.null_count or len(col) != tail - have:
                    fh.close()
                    body.unlink()
                    return 0
                raw = col.to_pylist()
                fh.write(b"".join(raw))
                lens.append(np.fromiter(map(len, raw), dtype=np.int64, count=len(raw)))
            if tail < n and spool is not None:
                spool.fh.flush()
                spool.fh.close()
                with spool.path.open("rb") as src:
                    while chunk := src.read(1 << 24):
                        fh.write(chunk)
                lens += spool.lens
            fh.flush()
            os.fsync(fh.fileno())
    size = np.concatenate([np.zeros(0, np.int64), *lens])
    off = np.concatenate([[0], np.cumsum(size // 4)]).astype(np.int64)
    with (folder / f"{name}.boff.npy").open("wb") as fh:
        np.save(fh, off)
        fh.flush()
        os.fsync(fh.fileno())
    return n


def save(
    con: duckdb.DuckDBPyConnection,
    stamp: str,
    runs: Runs,
    stored: Stored | None,
    spool: Spool | None = None,
) -> bool:
    """Write the index ``runs`` (every stored signature's rows) beside the database and store
    its token; False (and the folder untrusted) when it is not kept or cannot be written.
    ``spool``: the bodies this run indexed (see :func:`_write_bodies`), consumed here."""
    try:
        return _save(con, stamp, runs, stored, spool)
    finally:
        if spool is not None:
            spool.discard()


def _save(
    con: duckdb.DuckDBPyConnection,
    stamp: str,
    runs: Runs,
    stored: Stored | None,
    spool: Spool | None,
) -> bool:
    folder = folder_of(con)
    n, seq0, seq_max = _coverage(con)
    forget(con)
    if folder is None or n < MIN_ARTICLES or seq_max - seq0 + 1 != n or n >= 2**31:
        return False
    base = stored.base if stored is not None and stored.folder == folder else {}
    kept = bool(base) and all(b in runs and runs[b][0][0] is base[b][0] for b in base)
    rest = {b: rs[1:] if kept and b in base else rs for b, rs in runs.items()}
    n_rest = sum(len(k) for rs in rest.values() for k, _ in rs)
    n_base = sum(len(k) for k, _ in base.values())
    token = uuid.uuid4().hex
    try:
        folder.mkdir(exist_ok=True)
        if kept and stored is not None and n_rest * 8 <= n_base:
            segments = [stored.manifest["segments"][0], _write(folder, token, "d", rest)]
        else:
            seg = _write(folder, token, "b", runs)
            reuse = stored if stored is not None and stored.folder == folder else None
            seg["bodies"] = _write_bodies(con, folder, seg["name"], n, seq0, (reuse, spool))
            segments = [seg]
        manifest = {"format": FORMAT, "token": token, "stamp": stamp, "n": n, "seq0": seq0,
                    "seq_max": seq_max, "segments": segments}  # fmt: skip
        tmp = folder / f"manifest.{token}.tmp"
        _write_synced(tmp, json.dumps(manifest).encode())
        os.replace(tmp, folder / "manifest.json")
    except OSError:
        return False
    store.set_meta(con, META_KEY, token)
    _tidy(folder, {s["name"] for s in segments})
    return True


def _write(folder: Path, token: str, kind: str, runs: Runs) -> dict[str, Any]:
    """One segment of ``runs`` merged band by band; its manifest entry."""
    bands = sorted(b for b, rs in runs.items() if any(len(k) for k, _ in rs))
    keys, pos = [], []
    for b in bands:
        k = np.concatenate([np.asarray(x) for x, _ in runs[b]])
        p = np.concatenate([np.asarray(x) for _, x in runs[b]])
        order = np.argsort(k, kind="stable")  # sorted runs: a merge
        keys.append(k[order])
        pos.append(p[order].astype(np.int32))
    sizes = [len(k) for k in keys]
    arrays = {
        "bands": np.array(bands, dtype=np.int64),
        "start": np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
        "keys": np.concatenate([np.zeros(0, np.int64), *keys]),
        "pos": np.concatenate([np.zeros(0, np.int32), *pos]),
    }
    name = f"seg-{kind}-{token}"
    for part, a in arrays.items():
        path = folder / f"{name}.{part}.npy"
        with path.open("wb") as fh:
            np.save(fh, a)
            fh.flush()
            os.fsync(fh.fileno())
    return {"name": name, "rows": int(sum(sizes)), "bands": len(bands)}


def _write_synced(path: Path, data: bytes) -> None:
    with path.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _tidy(folder: Path, live: set[str]) -> None:
    """Remove the segment files and manifests of earlier or stopped saves."""
    for path in folder.iterdir():
        name = path.name
        stale = (
            (name.startswith("seg-") and name.split(".")[0] not in live)
            or (name.startswith("manifest.") and name.endswith(".tmp"))
            or name.startswith("spool-")
        )
        if stale:
            with contextlib.suppress(OSError):
                path.unlink()
