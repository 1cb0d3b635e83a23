"""Extraction stage: spaCy over the articles not yet processed -> sentences and raw mentions.

Why this shape:

- Articles stream from DuckDB through one cursor (never the whole corpus in memory) into one
  ``nlp.pipe`` call, or, with ``workers`` > 1, into a process pool whose workers parse and
  build the rows themselves and return Arrow tables: the parent never unpickles a Doc.
- Only what a later stage reads runs: the ``senter`` (sentence boundaries at a fraction of
  the parser's cost), ``ner`` (mentions) and a POS-free lookup lemmatizer (lemmas, read by
  the themes stage only; ``nlp.LookupLemmatizer``). The parser, the tagger, its ``tok2vec``
  and the attribute ruler are not run: no stage reads POS tags or dependencies (quotes and
  tone work on the stored tokens), and without them extraction is about twice as fast.
- Each chunk is written in ONE transaction (sentences, mentions, ``articles.extracted_pipeline``):
  an article is either fully extracted or not at all, so a crash or Ctrl-C loses at most
  the chunk in flight, and the next run picks up where this one stopped.
- Everything after NER (actors, countries) is done by ``resolve/stage.py`` from stored rows, so
  registry edits never need spaCy again.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import functools
import multiprocessing as mp
import os
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from ..base import config, errors, runs, store
from ..base.progress import progress_bar
from ..base.versions import workbench_version
from .actors import normalize
from .pipeline import LOOKUP_LEMMATIZER, add_lookup_lemmatizer, load_model, model_version
from .pipeline import components as nlp_components

if TYPE_CHECKING:  # pragma: no cover
    import duckdb
    from spacy.language import Language
    from spacy.tokens import Doc

#: Entity labels stored as mentions (people, organisations, places, groups, events, ...).
MENTION_LABELS = frozenset(
    {"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "EVENT", "LAW", "PRODUCT", "WORK_OF_ART"}
)
#: Pipes never loaded: the parser (the senter gives sentence boundaries) and the rule
#: lemmatizer (replaced by the lookup lemmatizer, which needs no POS tags).
EXCLUDE = ("parser", "lemmatizer")
#: The model's components a later stage reads (plus whatever embedding layer they listen to).
NEEDED = ("senter", "ner")
#: Documents per ``nlp.pipe`` batch. Why 16, not spaCy's usual 64: the NER parses each batch in
#: length-sorted sub-batches of a quarter of it, and on news articles (~200 words) sub-batches
#: of 4 documents cost 10-20 % less CPU than 16 (the step's precomputed features stay in
#: cache); same entities and sentences (bench/RESULTS.md, issue 20, fourth round).
NLP_BATCH = 16
#: Articles per task of a pool worker (one Arrow result per task back to the parent).
POOL_TASK = 64
#: ``workers=None`` (the default): one process per this many articles pending, up to the
#: usable cores and :data:`MAX_AUTO_WORKERS`. A pool pays for itself from ~100 articles
#: (2 cores: 100 articles 2.6-3.0 s wall vs 3.1-3.3 s in one process, 1,000 articles 12.0-12.6 vs
#: 19.7-19.8 s; bench/RESULTS.md, issue 20, eighth round); 200 keeps small runs in one process.
AUTO_ARTICLES_PER_WORKER = 200
#: Each worker holds its own copy of the model (~290 MB RSS with ``en_core_web_sm``).
MAX_AUTO_WORKERS = 4


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def auto_workers(pending: int, *, cores: int | None = None) -> int:
    """The extraction processes ``workers=None`` means for ``pending`` articles."""
    cores = usable_cores() if cores is None else cores
    return max(1, min(cores, MAX_AUTO_WORKERS, pending // AUTO_ARTICLES_PER_WORKER))


@dataclass
class ExtractResult:
    """What one ``extract()`` call did."""

    articles: int = 0
    sentences: int = 0
    mentions: int = 0
    words: int = 0
    seconds: float = 0.0
    pipeline_id: int | None = None
    model: str = ""
    workers: int = 1

    @property
    def words_per_second(self) -> float:
        return self.words / self.seconds if self.seconds else 0.0

    def __str__(self) -> str:
        if not self.articles:
            return "extract: nothing new to process"
        return (
            f"extract: {self.articles:,} articles, {self.sentences:,} sentences, "
            f"{self.mentions:,} mentions in {self.seconds:.1f}s "
            f"({self.words_per_second:,.0f} words/s, {self.model}, workers={self.workers})"
        )


def pipeline(model: str | None = None) -> Language:
    """The extraction pipeline: senter, ner and the lookup lemmatizer (``en_core_web_sm``;
    a model whose NER listens to a shared ``tok2vec``/``transformer`` keeps that too)."""
    nlp = load_model(model, exclude=EXCLUDE)
    if LOOKUP_LEMMATIZER in nlp.pipe_names:  # the cached pipeline, already set up
        return nlp
    if "senter" in nlp.disabled:
        nlp.enable_pipe("senter")
    keep = set(NEEDED)
    for name, proc in nlp.pipeline:
        if keep & set(getattr(proc, "listening_components", ()) or ()):
            keep.add(name)
    for name in list(nlp.pipe_names):
        if name not in keep:
            nlp.disable_pipe(name)
    add_lookup_lemmatizer(nlp)
    return nlp


def pipeline_id(con: duckdb.DuckDBPyConnection, nlp: Language) -> int:
    """The ``pipelines`` row for this model + workbench version + components (created once)."""
    model = model_version(nlp)
    version = workbench_version()
    components = nlp_components(nlp)
    for pid, comps in con.execute(
        "SELECT pipeline_id, components FROM pipelines WHERE model = ? AND workbench_version = ?"
        " ORDER BY pipeline_id",
        [model, version],
    ).fetchall():
        if list(comps or []) == components:
            return int(pid)
    pid = int(con.execute("SELECT coalesce(max(pipeline_id), 0) + 1 FROM pipelines").fetchone()[0])
    con.execute(
        "INSERT INTO pipelines VALUES (?, ?, ?, ?, ?)",
        [pid, model, version, components, dt.datetime.now(dt.UTC).replace(tzinfo=None)],
    )
    return pid


def pending(
    con: duckdb.DuckDBPyConnection, size: int, limit: int | None = None
) -> Iterator[tuple[list[str], list[str]]]:
    """(ids, texts) of unextracted articles, at most ``size`` at a time, up to ``limit``.

    One streaming query on its own cursor (a snapshot taken at the start), so the corpus is
    scanned once whatever its size -- the keyset pagination it replaces rescanned
    ``articles`` for every chunk (quadratic at 10^6 articles) -- while the caller commits
    chunks through ``con`` between reads.
    """
    cur = store.cursor(con)
    try:
        reader = cur.execute(
            "SELECT article_id, text FROM articles WHERE extracted_pipeline IS NULL"
        ).to_arrow_reader(size)
        left = limit
        for batch in reader:
            ids, texts = batch.column(0).to_pylist(), batch.column(1).to_pylist()
            for i in range(0, len(ids), size):
                if left is not None and left <= 0:
                    return
                n = size if left is None else min(size, left)
                chunk = ids[i : i + n]
                yield chunk, texts[i : i + n]
                if left is not None:
                    left -= len(chunk)
    finally:
        cur.close()


def doc_rows(
    doc: Doc, article_id: str, pid: int, sent: dict[str, list], ment: dict[str, list]
) -> int:
    """Append one doc's sentences and mentions to column lists; returns its word count.

    Whitespace-only tokens are dropped; sentence offsets are those of their first and last
    non-space tokens, absolute in ``articles.text`` (the doc is the whole article text).
    """
    groups, words = _sentence_tokens(doc)
    starts = _append_sentences(sent, groups, article_id=article_id, text=doc.text)
    _append_mentions(ment, doc, starts, article_id=article_id)
    return words


#: One sentence's non-space tokens: (texts, lemmas, start offsets).
_SentenceTokens = tuple[list[str], list[str], list[int]]


def _sentence_tokens(doc: Doc) -> tuple[list[_SentenceTokens], int]:
    """The doc's sentences as token lists, and its word count (non-space tokens)."""
    # A blank line always starts a sentence (the senter sometimes runs across paragraphs;
    # single newlines are hard wraps in Reuters and stay inside sentences).
    toks = [(t.text, t.lemma_, t.idx, t.is_sent_start, t.is_space) for t in doc]
    groups: list[_SentenceTokens] = []
    cur_t: list[str] = []
    cur_l: list[str] = []
    cur_s: list[int] = []
    words = 0
    brk = False
    for orth, lemma, idx, is_start, is_space in toks:
        if is_space:
            brk = brk or orth.count("\n") >= 2
            continue
        if (is_start or brk) and cur_t:
            groups.append((cur_t, cur_l, cur_s))
            cur_t, cur_l, cur_s = [], [], []
        brk = False
        words += 1
        cur_t.append(orth)
        cur_l.append(lemma)
        cur_s.append(idx)
    if cur_t:
        groups.append((cur_t, cur_l, cur_s))
    return groups, words


def _append_sentences(
    sent: dict[str, list], groups: list[_SentenceTokens], *, article_id: str, text: str
) -> list[int]:
    """Append the sentence rows; returns their start offsets (to place mentions)."""
    starts: list[int] = []
    for n_sent, (cur_t, cur_l, cur_s) in enumerate(groups):
        s0 = cur_s[0]
        s1 = cur_s[-1] + len(cur_t[-1])
        sent["article_id"].append(article_id)
        sent["idx"].append(n_sent)
        sent["start_char"].append(s0)
        sent["end_char"].append(s1)
        sent["text"].append(text[s0:s1])
        sent["tokens"].append(cur_t)
        sent["lemmas"].append(cur_l)
        sent["token_starts"].append(cur_s)
        starts.append(s0)
    return starts


def _append_mentions(
    ment: dict[str, list], doc: Doc, starts: list[int], *, article_id: str
) -> None:
    """Append the mention rows of the doc's actor-like entities, each with its sentence."""
    for ent in doc.ents:
        label = ent.label_
        if label not in MENTION_LABELS:
            continue
        s0 = ent.start_char
        etext = ent.text
        ment["article_id"].append(article_id)
        ment["sentence_idx"].append(max(0, bisect.bisect_right(starts, s0) - 1))
        ment["start_char"].append(s0)
        ment["end_char"].append(ent.end_char)
        ment["text"].append(etext)
        ment["label"].append(label)
        ment["norm"].append(_normalize(etext, label))


#: ``actors.normalize`` per (surface, label): the same names recur in article after article.
_normalize = functools.lru_cache(maxsize=1 << 16)(normalize)

_SENT_COLS = (
    "article_id",
    "idx",
    "start_char",
    "end_char",
    "text",
    "tokens",
    "lemmas",
    "token_starts",
)
_MENT_COLS = ("article_id", "sentence_idx", "start_char", "end_char", "text", "label", "norm")
_SENT_SCHEMA = pa.schema(
    [
        ("article_id", pa.string()),
        ("idx", pa.int32()),
        ("start_char", pa.int32()),
        ("end_char", pa.int32()),
        ("text", pa.string()),
        ("tokens", pa.list_(pa.string())),
        ("lemmas", pa.list_(pa.string())),
        ("token_starts", pa.list_(pa.int32())),
        ("pipeline_id", pa.int32()),
    ]
)
_MENT_SCHEMA = pa.schema(
    [
        ("article_id", pa.string()),
        ("sentence_idx", pa.int32()),
        ("start_char", pa.int32()),
        ("end_char", pa.int32()),
        ("text", pa.string()),
        ("label", pa.string()),
        ("norm", pa.string()),
        ("pipeline_id", pa.int32()),
    ]
)


#: One chunk's later-stage rows computed along (``stages.Along``): per part of the chunk (a
#: pool task, or the whole chunk), its sentences and each along's ``Chunk``.
_AlongParts = list[tuple[pa.Table, list[Any]]]


def _write_tables(
    con: duckdb.DuckDBPyConnection,
    pid: int,
    ids: list[str],
    s_tab: pa.Table,
    m_tab: pa.Table,
    along: tuple[Sequence[Any], _AlongParts] = ((), []),
) -> None:
    """One transaction per chunk: rows + the articles' ``extracted_pipeline`` marker, and the
    rows of the stages computed along (each written as its stage runner would)."""
    stages_along, parts = along

    def committed() -> None:
        for sents, outs in parts:
            if sents.num_rows:
                for a, out in zip(stages_along, outs, strict=True):
                    a.committed(sents, out)

    shield = runs.deferred if stages_along else contextlib.nullcontext
    with store.transaction(con, committed=committed, shield=shield):
        store.insert_df(con, "sentences", s_tab)
        store.insert_df(con, "mentions", m_tab)
        con.execute(
            "UPDATE articles SET extracted_pipeline = ? WHERE article_id = ANY(?::VARCHAR[])",
            [pid, ids],
        )
        for sents, outs in parts:
            if sents.num_rows:
                for a, out in zip(stages_along, outs, strict=True):
                    a.write(con, sents, out)


def along_rows(computes: Sequence[Any], s_tab: pa.Table) -> list[Any]:
    """Each along-computed stage's rows of one part's sentences (empty: nothing to do)."""
    return [c(s_tab) for c in computes] if s_tab.num_rows else [None] * len(computes)


def _clear_orphans(con: duckdb.DuckDBPyConnection) -> None:
    """Rows of articles marked unprocessed (e.g. reset by hand to re-run a new model) are
    replaced, not doubled, and the later stages (themes, tone, quotes) forget them, so
    ``analyze()`` recomputes them from the new sentences."""
    for table in ("sentences", "mentions", "stage_done"):
        con.execute(
            f"DELETE FROM {store.quote_ident(table)} WHERE article_id IN "  # noqa: S608
            "(SELECT article_id FROM articles WHERE extracted_pipeline IS NULL)"
        )


def extract(
    con: duckdb.DuckDBPyConnection,
    *,
    model: str | None = None,
    workers: int | None = None,
    batch_size: int = NLP_BATCH,
    chunk_size: int = config.EXTRACT_BATCH,
    progress: bool = True,
    limit: int | None = None,
    along: Sequence[Any] = (),
) -> ExtractResult:
    """Run spaCy over the articles whose ``extracted_pipeline`` is NULL and store the rows.

    ``workers`` > 1 runs that many worker processes, each parsing whole tasks of
    ``POOL_TASK`` articles; ``None`` picks the count from the pending articles and the
    usable cores (:func:`auto_workers`); ``batch_size`` documents go through ``nlp.pipe`` at a time;
    ``chunk_size`` articles are committed per transaction;
    ``limit`` stops after that many articles (for samples);
    ``along``: later stages (``annotate.stages.Along``) computed on each chunk's sentences
    while they are in memory (in the workers when ``workers`` > 1), stored in its transaction.
    """
    if workers is not None and workers < 1:
        raise errors.BadOption(f"workers must be >= 1 (got {workers})")
    t0 = time.perf_counter()
    nlp = pipeline(model)
    total = con.execute(
        "SELECT count(*) FROM articles WHERE extracted_pipeline IS NULL"
    ).fetchone()[0]
    if limit is not None:
        total = min(total, limit)
    if workers is None:
        workers = auto_workers(total)
    result = ExtractResult(model=model_version(nlp), workers=workers)
    if not total:
        result.seconds = time.perf_counter() - t0
        return result
    _clear_orphans(con)
    pid = pipeline_id(con, nlp)
    result.pipeline_id = pid

    def write(
        ids: list[str], s_tab: pa.Table, m_tab: pa.Table, words: int, parts: _AlongParts
    ) -> None:
        runs.check()  # a ctrl-C some library swallowed stops before the next commit
        _write_tables(con, pid, ids, s_tab, m_tab, (along, parts))
        result.articles += len(ids)
        result.sentences += s_tab.num_rows
        result.mentions += m_tab.num_rows
        result.words += words
        bar.update(len(ids))

    with progress_bar(desc="extract", unit="article", total=total, enable=progress) as bar:
        if workers > 1:
            computes = [a.compute for a in along]
            _extract_pool(
                con, (model, computes), pid, workers, batch_size, chunk_size, limit, write
            )
        else:
            _extract_serial(nlp, con, pid, batch_size, chunk_size, limit, (write, along))
    result.seconds = time.perf_counter() - t0
    return result


def _extract_serial(
    nlp: Language,
    con: duckdb.DuckDBPyConnection,
    pid: int,
    batch_size: int,
    chunk_size: int,
    limit: int | None,
    sink: tuple[Any, Sequence[Any]],
) -> None:
    """One process: a single ``nlp.pipe`` over the streamed texts, one write per chunk (with
    the rows of the stages computed along)."""
    write, along = sink
    computes = [a.compute for a in along]

    def flush(ids: list[str], sent: dict[str, list], ment: dict[str, list], words: int) -> None:
        s_tab, m_tab = _tables(pid, sent, ment)
        parts = [(s_tab, along_rows(computes, s_tab))] if along else []
        write(ids, s_tab, m_tab, words, parts)

    def source() -> Iterator[tuple[str, str]]:
        for ids, texts in pending(con, chunk_size, limit):
            yield from zip(texts, ids, strict=True)

    ids, sent, ment = [], _empty(_SENT_COLS), _empty(_MENT_COLS)
    words = 0
    for doc, aid in nlp.pipe(source(), batch_size=batch_size, as_tuples=True):
        words += doc_rows(doc, aid, pid, sent, ment)
        ids.append(aid)
        if len(ids) >= chunk_size:
            flush(ids, sent, ment, words)
            ids, sent, ment, words = [], _empty(_SENT_COLS), _empty(_MENT_COLS), 0
    if ids:
        flush(ids, sent, ment, words)


#: the pipeline inside a pool worker (inherited from the parent by fork, else loaded once)
_WORKER_NLP: Language | None = None
#: the compute steps of the stages run along, inside a pool worker
_WORKER_ALONG: Sequence[Any] = ()


def _worker_init(model: str | None, computes: Sequence[Any] = ()) -> None:
    global _WORKER_NLP, _WORKER_ALONG
    _WORKER_NLP = pipeline(model)
    _WORKER_ALONG = computes


def _worker_task(args: tuple[list[str], list[str], int, int]) -> tuple[Any, ...]:
    """One task's (sentences, mentions, articles) tables and its along-computed rows."""
    ids, texts, pid, batch_size = args
    tables = extract_rows(_WORKER_NLP, ids, texts, pid, batch_size=batch_size)
    return (*tables, along_rows(_WORKER_ALONG, tables[0]) if _WORKER_ALONG else None)


def _extract_pool(
    con: duckdb.DuckDBPyConnection,
    setup: tuple[str | None, Sequence[Any]],
    pid: int,
    workers: int,
    batch_size: int,
    chunk_size: int,
    limit: int | None,
    write: Any,
) -> None:
    """``workers`` processes, each parsing whole tasks and returning Arrow rows; the parent
    only reads texts and writes tables. No spaCy Doc crosses a process boundary (that
    pickling is most of ``nlp.pipe(n_process=...)``'s overhead), and at most
    ``2 x workers`` tasks are in flight, so memory stays bounded. Results are written in
    submission order, ``chunk_size`` articles per transaction. ``setup``: the model and the
    compute steps of the stages run along (in the workers, on each task's sentences)."""
    methods = mp.get_all_start_methods()
    ctx = mp.get_context("fork" if "fork" in methods else "spawn")
    task = max(1, min(POOL_TASK, chunk_size))
    inflight: deque = deque()
    done: list[tuple[Any, ...]] = []

    def collect(tables: tuple[Any, ...], final: bool = False) -> None:
        if tables:
            done.append(tables)
        n = sum(t[2].num_rows for t in done)
        if done and (n >= chunk_size or final):
            s_tab, m_tab, a_tab = (pa.concat_tables(t[i] for t in done) for i in range(3))
            parts = [(t[0], t[3]) for t in done if t[3] is not None]
            done.clear()
            ids = a_tab.column("article_id").to_pylist()
            write(ids, s_tab, m_tab, sum(a_tab.column("words").to_pylist()), parts)

    with ctx.Pool(workers, initializer=_worker_init, initargs=setup) as pool:
        for ids, texts in pending(con, task, limit):
            inflight.append(pool.apply_async(_worker_task, ((ids, texts, pid, batch_size),)))
            if len(inflight) >= 2 * workers:
                collect(inflight.popleft().get())
        while inflight:
            collect(inflight.popleft().get())
        collect((), final=True)


def _empty(cols: tuple[str, ...]) -> dict[str, list]:
    return {c: [] for c in cols}


def _tables(pid: int, sent: dict[str, list], ment: dict[str, list]) -> tuple[pa.Table, pa.Table]:
    s_tab = pa.table({**sent, "pipeline_id": [pid] * len(sent["idx"])}, schema=_SENT_SCHEMA)
    m_tab = pa.table({**ment, "pipeline_id": [pid] * len(ment["label"])}, schema=_MENT_SCHEMA)
    return s_tab, m_tab


_ARTICLES_SCHEMA = pa.schema([("article_id", pa.string()), ("words", pa.int64())])


def extract_rows(
    nlp: Any, ids: list[str], texts: list[str], pid: int | None, *, batch_size: int = NLP_BATCH
) -> tuple[pa.Table, pa.Table, pa.Table]:
    """Sentences, mentions and (article_id, words) of ``texts`` as Arrow tables.

    A pure function of its inputs, shared by the pool workers and the Dask workers
    (``workbench.nlp.distributed``): the per-document code is :func:`doc_rows`, the
    tables have the single-machine stage's Arrow schemas (``pipeline_id`` included).
    """
    sent: dict[str, list] = {c: [] for c in _SENT_COLS}
    ment: dict[str, list] = {c: [] for c in _MENT_COLS}
    words: list[int] = []
    done: list[str] = []
    for doc, aid in nlp.pipe(zip(texts, ids, strict=True), as_tuples=True, batch_size=batch_size):
        words.append(doc_rows(doc, aid, pid or 0, sent, ment))
        done.append(aid)
    s_tab, m_tab = _tables(pid, sent, ment)
    a_tab = pa.table({"article_id": done, "words": words}, schema=_ARTICLES_SCHEMA)
    return s_tab, m_tab, a_tab
