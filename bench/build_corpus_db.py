"""Build an evaluation database: ingest a corpus, then store sentences with tokens and lemmas.

Why a separate builder: the theme evaluation needs only tokens and lemmas, so when the full
extraction stage (``Workbench.extract``) is unavailable or too slow on a shared 2-core machine,
this fills ``sentences`` in the same shape with a lemma-only pipeline (tok2vec, tagger,
attribute_ruler, lemmatizer, senter: no parser, no NER). Lemmas are identical to the full
pipeline's (the tagger does not depend on the parser); sentence boundaries come from the
senter instead of the parser.

    python bench/build_corpus_db.py /tmp/wb_bbc.duckdb ../shared/corpora/bbc-news
    python bench/build_corpus_db.py /tmp/wb_reuters.duckdb '../shared/corpora/reuters21578/reut2-*.sgm'
    python bench/build_corpus_db.py DB PATH --full      # use Workbench.analyze() instead
"""

from __future__ import annotations

import argparse
import platform
import time

import pandas as pd

from workbench import Workbench, store
from workbench.nlp import load_model


def lemma_sentences(wb: Workbench, batch: int = 200) -> int:
    """Store sentences (tokens, lemmas, absolute token_starts) for articles without any."""
    nlp = load_model(exclude=("parser", "ner"))
    if "senter" in nlp.disabled:
        nlp.enable_pipe("senter")
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("db")
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--full", action="store_true", help="run Workbench.analyze() instead")
    ap.add_argument("--limit", type=int, default=None, help="articles per input (sample)")
    args = ap.parse_args()
    print(f"machine: {platform.platform()}, python {platform.python_version()}")
    t0 = time.time()
    with Workbench(args.db) as wb:
        print(wb.ingest(args.paths, progress=False, limit=args.limit))
        print(f"ingest {time.time() - t0:.0f}s")
        if args.full:
            wb.analyze(progress=False)
        else:
            lemma_sentences(wb)
        print(wb.sql("SELECT count(*) AS sentences FROM sentences"))
    print(f"total {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
