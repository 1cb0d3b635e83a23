"""Build an evaluation database: ingest a corpus, then store sentences with tokens and lemmas.

Why a separate builder: the theme evaluation needs only tokens and lemmas, so when the full
extraction stage (``Workbench.extract``) is unavailable or too slow on a shared 2-core machine,
this fills ``sentences`` in the same shape with the extraction pipeline less its NER (senter
and the lookup lemmatizer of ``workbench.nlp.extract.pipeline()``): tokens, sentence boundaries
and lemmas are those of ``extract`` (NER sets none of them). ``--previous`` uses the lemma
pipeline before issue 20 instead (tok2vec, tagger, attribute_ruler, rule lemmatizer,
senter), for comparing the two on the same articles.

    python bench/build_corpus_db.py /tmp/wb_bbc.duckdb ../shared/corpora/bbc-news
    python bench/build_corpus_db.py /tmp/wb_reuters.duckdb '../shared/corpora/reuters21578/reut2-*.sgm'
    python bench/build_corpus_db.py DB PATH --previous  # POS-tagger + rule lemmatizer lemmas
    python bench/build_corpus_db.py DB PATH --full      # use Workbench.analyze() instead
    python bench/build_corpus_db.py DB --relemmatize    # stored tokens -> lookup lemmas

``--relemmatize`` rewrites the lemmas of an existing database with the lookup lemmatizer
(its lemma is a function of the token alone, so this is exactly what the current pipeline
stores for the same tokens): a database built with ``--previous`` becomes one of the current
pipeline without re-running the senter.
"""

from __future__ import annotations

import argparse
import platform
import time

import pandas as pd

from workbench import Workbench
from workbench.base import store
from workbench.nlp.extract import pipeline
from workbench.nlp.pipeline import load_model


def lemma_pipeline(*, previous: bool = False):  # noqa: ANN201 - spacy Language
    """senter + lookup lemmatizer (extract's, less NER), or the previous tagger-based one."""
    if not previous:
        nlp = pipeline()
        nlp.disable_pipe("ner")  # this process only builds evaluation databases
        return nlp
    nlp = load_model(exclude=("parser", "ner"))
    if "senter" in nlp.disabled:
        nlp.enable_pipe("senter")
    return nlp


def lemma_sentences(wb: Workbench, batch: int = 200, *, previous: bool = False) -> int:
    """Store sentences (tokens, lemmas, absolute token_starts) for articles without any."""
    nlp = lemma_pipeline(previous=previous)
    print(f"pipeline: {nlp.pipe_names}", flush=True)
    todo = wb.sql(
        "SELECT article_id, text FROM articles a WHERE NOT EXISTS "
        "(SELECT 1 FROM sentences s WHERE s.article_id = a.article_id) ORDER BY article_id"
    )
    n = 0
    t0 = time.time()
    for lo in range(0, len(todo), batch):
        chunk = todo.iloc[lo : lo + batch]
        rows = []
        for aid, doc in zip(chunk.article_id, nlp.pipe(chunk.text, batch_size=64), strict=True):
            for i, sent in enumerate(doc.sents):
                toks = [t for t in sent if not t.is_space]
                rows.append(
                    {
                        "article_id": aid,
                        "idx": i,
                        "start_char": sent.start_char,
                        "end_char": sent.end_char,
                        "text": sent.text,
                        "tokens": [t.text for t in toks],
                        "lemmas": [t.lemma_ for t in toks],
                        "token_starts": [t.idx for t in toks],
                        "pipeline_id": None,
                    }
                )
        store.insert_df(wb.con, "sentences", pd.DataFrame(rows))
        n += len(chunk)
        print(f"  {n}/{len(todo)} articles, {time.time() - t0:.0f}s", flush=True)
    return n


def relemmatize(wb: Workbench) -> int:
    """Replace every stored lemma by the lookup lemmatizer's lemma of its token."""
    from workbench.nlp.pipeline import LookupLemmatizer

    table = LookupLemmatizer("en").table
    rows = wb.sql("SELECT article_id, idx, tokens FROM sentences")
    lemmas = [[table.get(t.lower(), t.lower()) for t in toks] for toks in rows.tokens]
    new = pd.DataFrame({"article_id": rows.article_id, "idx": rows.idx, "lemmas": lemmas})
    wb.con.register("relemma", new)
    wb.con.execute(
        "UPDATE sentences s SET lemmas = r.lemmas FROM relemma r"
        " WHERE s.article_id = r.article_id AND s.idx = r.idx"
    )
    wb.con.unregister("relemma")
    return len(new)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("db")
    ap.add_argument("paths", nargs="*")
    ap.add_argument("--relemmatize", action="store_true", help="lookup lemmas of stored tokens")
    ap.add_argument("--full", action="store_true", help="run Workbench.analyze() instead")
    ap.add_argument("--previous", action="store_true", help="the pre-issue-20 lemmas")
    ap.add_argument("--limit", type=int, default=None, help="articles per input (sample)")
    args = ap.parse_args()
    if not args.paths and not args.relemmatize:
        ap.error("give the corpus PATHS to ingest (or --relemmatize an existing DB)")
    print(f"machine: {platform.platform()}, python {platform.python_version()}")
    t0 = time.time()
    if args.relemmatize:
        with Workbench(args.db) as wb:
            print(f"relemmatized {relemmatize(wb):,} sentences in {time.time() - t0:.0f}s")
        return
    with Workbench(args.db) as wb:
        print(wb.ingest(args.paths, progress=False, limit=args.limit))
        print(f"ingest {time.time() - t0:.0f}s")
        if args.full:
            wb.analyze(progress=False)
        else:
            lemma_sentences(wb, previous=args.previous)
        print(wb.sql("SELECT count(*) AS sentences FROM sentences"))
    print(f"total {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
