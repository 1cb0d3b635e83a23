"""Scale-out extraction on a Dask ``distributed`` cluster -> partitioned Parquet -> DuckDB.

Why Dask (not Ray): the job is an embarrassingly parallel map of one Python function over
partitions of articles, with pandas/Arrow in and Parquet out. Dask ``distributed`` is pure
Python, pip-installable, already pinned in the ``dask``/``dev`` extras, runs the same code on
a laptop (``LocalCluster``), a university HPC system (``dask-jobqueue``: SLURM, PBS, SGE),
Kubernetes (``dask-kubernetes``) or a plain set of machines (``dask scheduler`` +
``dask worker``), and speaks pandas/Parquet natively. Ray would add a large binary runtime
(raylet, plasma object store) and an actor model we do not need, for no gain on a map.

How it runs (``run()``):

1. the driver reads the articles not yet extracted from the DuckDB file in keyset-paginated
   partitions (``partition_size`` articles each; only ``article_id`` and ``text``) and
   submits them to the cluster, never more than ``2 x workers`` partitions in flight, so
   driver memory stays bounded whatever the corpus size;
2. each worker runs :func:`extract_partition`, i.e. THE SAME code as the single-machine
   stage (``workbench.nlp.extract.pipeline`` for the model/components and
   ``workbench.nlp.extract.doc_rows`` for the rows), and writes
   ``<out>/sentences/part-NNNNNN.parquet``, ``<out>/mentions/part-NNNNNN.parquet`` and
   ``<out>/articles/part-NNNNNN.parquet`` (the ids it finished). Files are written under a
   temporary name and renamed, so a killed worker never leaves a half-written part;
3. :func:`load_parquet` loads the parts into the DuckDB file in one transaction and marks
   the articles extracted (``articles.extracted_pipeline``), exactly as ``extract()`` does.

The Parquet parts are plain Hive-style datasets: DuckDB reads them directly
(``SELECT * FROM read_parquet('<out>/mentions/*.parquet')``), and so do Spark
(``spark.read.parquet("<out>/mentions")``) and Trino (an external Hive table on the folder).

On a real cluster: start ``dask scheduler`` on one host and ``dask worker tcp://host:8786
--nworkers N --nthreads 1`` on each machine (with this package and the spaCy model
installed), then ``workbench extract --engine dask --scheduler tcp://host:8786 --out DIR``
where ``DIR`` is a path every worker can write (a shared file system) -- or an fsspec URL
such as ``s3://bucket/prefix`` when ``s3fs`` is installed on the workers and the driver.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..base import config, errors, store
from ..base.outputs import check_output
from ..base.progress import progress_bar
from .extract import NLP_BATCH, extract_rows, pending, pipeline, pipeline_id

if TYPE_CHECKING:  # pragma: no cover
    import duckdb

#: Sub-folders of the output directory, one Parquet dataset each.
DATASETS = ("sentences", "mentions", "articles")


@dataclass
class DistributedResult:
    """What one scale-out run did."""

    articles: int = 0
    sentences: int = 0
    mentions: int = 0
    words: int = 0
    partitions: int = 0
    seconds: float = 0.0
    load_seconds: float = 0.0
    out: str = ""
    scheduler: str = ""
    pipeline_id: int | None = None
    workers: int = 0
    parts: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        if not self.articles:
            return "extract (dask): nothing new to process"
        return (
            f"extract (dask): {self.articles:,} articles in {self.partitions} partitions on "
            f"{self.workers} workers ({self.scheduler}) -> {self.sentences:,} sentences, "
            f"{self.mentions:,} mentions in {self.seconds:.1f}s; Parquet under {self.out}, "
            f"loaded into DuckDB in {self.load_seconds:.1f}s"
        )


# --------------------------------------------------------------------------- worker side


def _write_atomic(table: pa.Table, path: str) -> None:
    """Write a Parquet file under a temporary name, then rename (no half-written parts)."""
    # Optional: fsspec comes with the `dask` extra, which only this engine needs.
    import fsspec

    fs, _, (real,) = fsspec.get_fs_token_paths(path)
    parent = real.rsplit("/", 1)[0]
    fs.makedirs(parent, exist_ok=True)
    tmp = f"{parent}/.tmp-{uuid.uuid4().hex}.parquet"
    with fs.open(tmp, "wb") as fh:
        pq.write_table(table, fh, compression="zstd")
    fs.mv(tmp, real)


def extract_partition(
    part: int,
    ids: list[str],
    texts: list[str],
    out: str,
    *,
    model: str | None,
    pid: int | None,
    batch_size: int = NLP_BATCH,
) -> dict[str, Any]:
    """Worker task: extract one partition and write its three Parquet parts; return counts.

    The spaCy pipeline is loaded once per worker process (``nlp.load_model`` is cached).
    """
    nlp = pipeline(model)
    s_tab, m_tab, a_tab = extract_rows(nlp, ids, texts, pid, batch_size=batch_size)
    name = f"part-{part:06d}.parquet"
    for ds, tab in zip(DATASETS, (s_tab, m_tab, a_tab), strict=True):
        _write_atomic(tab, f"{out.rstrip('/')}/{ds}/{name}")
    return {
        "part": part,
        "articles": a_tab.num_rows,
        "sentences": s_tab.num_rows,
        "mentions": m_tab.num_rows,
        "words": sum(a_tab.column("words").to_pylist()),
    }


# --------------------------------------------------------------------------- driver side


def pending_partitions(
    con: duckdb.DuckDBPyConnection, size: int, limit: int | None = None
) -> Iterator[tuple[list[str], list[str]]]:
    """(ids, texts) of unextracted articles, ``size`` at a time (the single-machine reader)."""
    return pending(con, size, limit)


def _glob(out: str, ds: str) -> str:
    return f"{out.rstrip('/')}/{ds}/part-*.parquet"


def clear_parts(out: str) -> int:
    """Remove the ``part-*.parquet`` files of an earlier run under ``out`` (nothing else),
    so that parts of two runs are never mixed; returns how many were removed."""
    # Optional: fsspec comes with the `dask` extra, which only this engine needs.
    import fsspec

    n = 0
    for ds in DATASETS:
        fs, _, paths = fsspec.get_fs_token_paths(_glob(out, ds))
        for p in paths:
            fs.rm(p)
            n += 1
    return n


def load_parquet(con: duckdb.DuckDBPyConnection, out: str, pid: int) -> dict[str, int]:
    """Load the Parquet parts under ``out`` into DuckDB in one transaction.

    Rows of articles already extracted are not loaded twice: only articles whose
    ``extracted_pipeline`` is still NULL take their rows from the parts; they are then
    marked with ``pid``. Safe to repeat.
    """
    cols_s = "article_id, idx, start_char, end_char, text, tokens, lemmas, token_starts"
    cols_m = "article_id, sentence_idx, start_char, end_char, text, label, norm"
    todo = (
        "(SELECT DISTINCT p.article_id FROM read_parquet(?) p JOIN articles a"
        " ON a.article_id = p.article_id WHERE a.extracted_pipeline IS NULL)"
    )
    with store.transaction(con):
        con.execute(f"CREATE OR REPLACE TEMP TABLE _wb_todo AS {todo}", [_glob(out, "articles")])  # noqa: S608
        n = con.execute("SELECT count(*) FROM _wb_todo").fetchone()[0]
        for table, cols, ds in (
            ("sentences", cols_s, "sentences"),
            ("mentions", cols_m, "mentions"),
        ):
            con.execute(
                f"DELETE FROM {store.quote_ident(table)} WHERE article_id IN "  # noqa: S608
                "(SELECT article_id FROM _wb_todo)"
            )
            con.execute(
                f"INSERT INTO {store.quote_ident(table)} ({cols}, pipeline_id) "  # noqa: S608
                f"SELECT {cols}, ?::INTEGER FROM read_parquet(?) "
                "WHERE article_id IN (SELECT article_id FROM _wb_todo)",
                [pid, _glob(out, ds)],
            )
        con.execute(
            "UPDATE articles SET extracted_pipeline = ? WHERE article_id IN "
            "(SELECT article_id FROM _wb_todo)",
            [pid],
        )
        con.execute("DROP TABLE _wb_todo")
    return {"articles": int(n)}


def _client(scheduler: str | None, workers: int) -> tuple[Any, Any]:
    """A client on ``scheduler`` (``tcp://host:8786``) or on a fresh LocalCluster."""
    try:
        # Optional: the `dask` extra, needed only by this engine.
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - the dask extra is missing
        raise errors.BadOption(
            "the dask engine needs the 'dask' extra: pip install 'coverage-workbench[dask]'"
        ) from None
    if scheduler:
        return Client(scheduler), None
    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=40,
    )
    return Client(cluster), cluster


@contextlib.contextmanager
def _cluster(client: Any, scheduler: str | None, workers: int) -> Iterator[Any]:
    """The client to use: the one given (left open), else one this run starts and closes."""
    if client is not None:
        yield client
        return
    client, cluster = _client(scheduler, workers)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


@dataclass(frozen=True)
class _Job:
    """What every partition task gets besides its articles."""

    out: str
    model: str | None
    pid: int
    batch_size: int


def _map_partitions(
    client: Any,
    parts: Iterator[tuple[list[str], list[str]]],
    job: _Job,
    res: DistributedResult,
    bar: Any,
) -> None:
    """Submit ``extract_partition`` per partition, never more than ``2 x workers`` in flight
    (driver memory stays bounded), and add each finished one's counts to ``res``."""
    # Optional: the `dask` extra, needed only by this engine.
    from distributed import as_completed

    ac = as_completed()
    n_sub = 0

    def submit_next() -> bool:
        nonlocal n_sub
        nxt = next(parts, None)
        if nxt is None:
            return False
        ids, texts = nxt
        ac.add(
            client.submit(
                extract_partition,
                n_sub,
                ids,
                texts,
                job.out,
                model=job.model,
                pid=job.pid,
                batch_size=job.batch_size,
                pure=False,
                key=f"wb-extract-{n_sub}-{uuid.uuid4().hex[:8]}",
            )
        )
        n_sub += 1
        return True

    for _ in range(max(2, 2 * max(1, res.workers))):
        if not submit_next():
            break
    for fut in ac:
        info = fut.result()
        res.partitions += 1
        res.articles += info["articles"]
        res.sentences += info["sentences"]
        res.mentions += info["mentions"]
        res.words += info["words"]
        res.parts.append(f"part-{info['part']:06d}.parquet")
        bar.update(info["articles"])
        submit_next()


def run(
    con: duckdb.DuckDBPyConnection,
    out: str | os.PathLike[str],
    *,
    scheduler: str | None = None,
    workers: int = 2,
    model: str | None = None,
    partition_size: int = config.EXTRACT_BATCH * 4,
    batch_size: int = NLP_BATCH,
    limit: int | None = None,
    load: bool = True,
    progress: bool = True,
    client: Any = None,
) -> DistributedResult:
    """Extract the pending articles on a Dask cluster, write Parquet parts, load them.

    ``scheduler`` is the address of a running ``dask scheduler``; without it a LocalCluster
    with ``workers`` single-threaded worker processes is started (and closed). ``client``
    reuses an existing ``distributed.Client``. ``load=False`` only writes the Parquet.
    """
    if partition_size < 1:
        raise errors.BadOption(f"partition_size must be >= 1 (got {partition_size})")
    t0 = time.perf_counter()
    out = str(out)
    if "://" not in out:  # a local folder: never the database, an input, or a file
        check_output(con, out, what="Parquet parts", folder=True)
    nlp = pipeline(model)  # the driver needs it only for the pipeline row (model, components)
    pid = pipeline_id(con, nlp)
    res = DistributedResult(out=out, pipeline_id=pid)
    total = con.execute(
        "SELECT count(*) FROM articles WHERE extracted_pipeline IS NULL"
    ).fetchone()[0]
    total = min(total, limit) if limit is not None else total
    if not total:
        res.seconds = time.perf_counter() - t0
        return res
    clear_parts(out)
    with _cluster(client, scheduler, workers) as cl:
        res.scheduler = scheduler or "LocalCluster"
        res.workers = len(cl.scheduler_info(n_workers=-1)["workers"])
        with progress_bar(
            desc="extract (dask)", unit="article", total=total, enable=progress
        ) as bar:
            parts = pending_partitions(con, partition_size, limit)
            _map_partitions(cl, parts, _Job(out, model, pid, batch_size), res, bar)
    res.seconds = time.perf_counter() - t0
    if load and res.articles:
        t1 = time.perf_counter()
        load_parquet(con, out, pid)
        res.load_seconds = time.perf_counter() - t1
        res.seconds = time.perf_counter() - t0
    return res
