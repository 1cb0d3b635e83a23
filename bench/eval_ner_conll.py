"""NER span F1 of the extraction pipeline on CoNLL-2003 ``eng.testa`` (PER, ORG, LOC).

    python bench/eval_ner_conll.py [--limit-docs N]

spaCy labels map PERSON -> PER, ORG -> ORG, GPE/LOC/FAC -> LOC (NORP, EVENT, ... and gold
MISC are left out). Each document's sentences are joined with newlines and run through the
SAME pipeline as ``workbench extract`` (no parser, senter on). A predicted span counts when
its (start token, end token, type) equals a gold span exactly; spans whose edges fall inside
a gold token count as false positives. "trimmed" drops a leading "the"/"The" from predicted
spans first (CoNLL never includes it; the resolve stage strips it too). In this copy,
``-DOCSTART-`` lines END each document.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchlib import machine, need  # noqa: E402

from workbench.base import config  # noqa: E402
from workbench.nlp.extract import pipeline  # noqa: E402
from workbench.nlp.pipeline import model_version  # noqa: E402

MAP = {"PERSON": "PER", "ORG": "ORG", "GPE": "LOC", "LOC": "LOC", "FAC": "LOC"}
TYPES = ("PER", "ORG", "LOC")


def read_docs(path: Path) -> list[list[list[tuple[str, str]]]]:
    """Documents -> sentences -> (token, IOB1 tag); ``-DOCSTART-`` closes a document."""
    docs: list[list[list[tuple[str, str]]]] = []
    doc: list[list[tuple[str, str]]] = []
    sent: list[tuple[str, str]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("-DOCSTART-"):
            if sent:
                doc.append(sent)
                sent = []
            if doc:
                docs.append(doc)
            doc = []
        elif not line.strip():
            if sent:
                doc.append(sent)
                sent = []
        else:
            parts = line.split()
            sent.append((parts[0], parts[-1]))
    if sent:
        doc.append(sent)
    if doc:
        docs.append(doc)
    return docs


def gold_spans(tags: list[str]) -> set[tuple[int, int, str]]:
    """IOB1 -> (start, end_exclusive, type) over token indexes."""
    spans = set()
    start, cur = None, None
    for i, tag in enumerate([*tags, "O"]):
        kind = tag[2:] if tag != "O" else None
        begins = tag.startswith("B-") or kind != cur
        if cur is not None and (kind is None or begins):
            spans.add((start, i, cur))
            cur = None
        if kind is not None and (cur is None or begins):
            start, cur = i, kind
    return {s for s in spans if s[2] in TYPES}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--file", default=str(config.SHARED_DIR / "gold/conll2003/eng.testa"))
    ap.add_argument("--limit-docs", type=int, default=None)
    args = ap.parse_args()
    path = need(Path(args.file))
    docs = read_docs(path)[: args.limit_docs]
    nlp = pipeline()
    print("machine:", json.dumps(machine()))
    print(
        f"file: {path}; documents: {len(docs)}; model: {model_version(nlp)}; "
        f"pipes: {nlp.pipe_names}"
    )
    texts: list[str] = []
    ends: list[tuple[dict[int, int], dict[int, int]]] = []
    gold: list[set[tuple[int, int, str]]] = []
    n_tokens = 0
    for doc in docs:
        pieces: list[str] = []
        start_tok: dict[int, int] = {}
        end_tok: dict[int, int] = {}
        spans: set[tuple[int, int, str]] = set()
        pos = k = 0
        for si, sent in enumerate(doc):
            if si:
                pieces.append("\n")
                pos += 1
            for ti, (tok, _) in enumerate(sent):
                if ti:
                    pieces.append(" ")
                    pos += 1
                start_tok[pos] = k + ti
                pieces.append(tok)
                pos += len(tok)
                end_tok[pos] = k + ti + 1
            spans |= {(k + a, k + b, t) for a, b, t in gold_spans([t for _, t in sent])}
            k += len(sent)
        n_tokens += k
        texts.append("".join(pieces))
        ends.append((start_tok, end_tok))
        gold.append(spans)
    t0 = time.perf_counter()
    preds_raw, preds_trim = [], []
    for d, (start_tok, end_tok) in zip(nlp.pipe(texts, batch_size=32), ends, strict=True):
        raw, trim = set(), set()
        for e in d.ents:
            t = MAP.get(e.label_)
            if not t:
                continue
            a, b = start_tok.get(e.start_char, -1), end_tok.get(e.end_char, -1)
            raw.add((a, b, t))
            first = e.text.split(" ", 1)[0]
            if first in ("the", "The") and " " in e.text:
                a = start_tok.get(e.start_char + 4, -1)
            trim.add((a, b, t))
        preds_raw.append(raw)
        preds_trim.append(trim)
    secs = time.perf_counter() - t0
    print(f"tokens: {n_tokens:,}; spaCy time {secs:.1f}s ({n_tokens / secs:,.0f} tokens/s)")
    for name, preds in (("raw", preds_raw), ("trimmed", preds_trim)):
        c: Counter[str] = Counter()
        for p, g in zip(preds, gold, strict=True):
            for t in TYPES:
                pt = {x for x in p if x[2] == t}
                gt = {x for x in g if x[2] == t}
                c[t + "tp"] += len(pt & gt)
                c[t + "fp"] += len(pt - gt)
                c[t + "fn"] += len(gt - pt)
        out = {}
        for t in (*TYPES, "ALL"):
            keys = TYPES if t == "ALL" else (t,)
            tp = sum(c[k + "tp"] for k in keys)
            fp = sum(c[k + "fp"] for k in keys)
            fn = sum(c[k + "fn"] for k in keys)
            p = tp / (tp + fp) if tp + fp else 0.0
            r = tp / (tp + fn) if tp + fn else 0.0
            f = 2 * p * r / (p + r) if p + r else 0.0
            out[t] = {"P": round(p, 4), "R": round(r, 4), "F1": round(f, 4), "gold": tp + fn}
        print(f"{name:8s}", json.dumps(out))


if __name__ == "__main__":
    main()
