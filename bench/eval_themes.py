"""Theme tagging vs gold labels: BBC News folders and Reuters-21578 TRAIN TOPICS.

Inputs are databases built by ``bench/build_corpus_db.py`` (articles + stored sentences with
lemmas); this script (re-)tags them with the shipped taxonomy and prints the figures.

    python bench/build_corpus_db.py /tmp/wb_bbc.duckdb ../shared/corpora/bbc-news
    python bench/build_corpus_db.py /tmp/wb_reuters.duckdb '../shared/corpora/reuters21578/reut2-*.sgm'
    python bench/eval_themes.py --bbc /tmp/wb_bbc.duckdb --reuters /tmp/wb_reuters.duckdb

BBC: each theme maps to at most one BBC category (``BBC_MAP``, fixed before measuring);
an article's predicted category is the mapped category of its highest-scoring ASSIGNED
theme; an article with no mapped theme assigned has no prediction (a miss for its category).

Reuters: TRAIN documents (LEWISSPLIT="TRAIN") with TOPICS="YES"; a theme's gold set is the
articles carrying any topic mapped to it (``REUTERS_MAP``); predicted = theme assigned.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections import Counter

from workbench import Workbench
from workbench.annotate.themes import load_taxonomy, tag_themes

BBC_MAP: dict[str, str] = {
    # business
    "economy": "business",
    "monetary_policy": "business",
    "currency": "business",
    "markets_finance": "business",
    "corporate_business": "business",
    "mergers_acquisitions": "business",
    "trade": "business",
    "energy": "business",
    "agriculture_food": "business",
    "commodities_metals": "business",
    "labour_employment": "business",
    "property_housing": "business",
    "transport_logistics": "business",
    # entertainment
    "film": "entertainment",
    "music": "entertainment",
    "tv_broadcasting": "entertainment",
    "arts_culture": "entertainment",
    # politics
    "elections": "politics",
    "government_politics": "politics",
    "fiscal_policy": "politics",
    "migration_borders": "politics",
    # sport
    "sport": "sport",
    # tech
    "technology": "tech",
    "cybersecurity": "tech",
    "science_space": "tech",
}
#: A stricter score floor, to show the precision/recall trade-off against narrow topics.
STRONG = 4.0
BBC_CATS = ["business", "entertainment", "politics", "sport", "tech"]

REUTERS_MAP: dict[str, list[str]] = {
    "energy": ["crude", "nat-gas", "fuel", "heat", "gas", "propane", "jet", "naphtha"],
    "trade": ["trade"],
    "currency": ["money-fx", "dlr", "yen", "dmk"],
    "monetary_policy": ["interest", "money-supply"],
    "agriculture_food": [
        "grain",
        "wheat",
        "corn",
        "soybean",
        "oilseed",
        "sugar",
        "coffee",
        "cocoa",
        "rice",
        "barley",
        "livestock",
        "cotton",
    ],
    "mergers_acquisitions": ["acq"],
    "corporate_business": ["earn"],
    "transport_logistics": ["ship"],
    "commodities_metals": ["gold", "silver", "copper", "iron-steel", "alum", "zinc", "tin"],
    "labour_employment": ["jobs"],
    "economy": ["gnp", "cpi", "ipi", "retail", "bop", "wpi"],
}


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def retag(wb: Workbench) -> None:
    t0 = time.perf_counter()
    res = tag_themes(wb.con, taxonomy=load_taxonomy(), progress=False)
    n_words = wb.sql("SELECT sum(len(tokens))::BIGINT AS n FROM sentences").n[0]
    dt = time.perf_counter() - t0
    print(f"  {res}")
    print(f"  tagging from stored sentences: {n_words:,} tokens in {dt:.1f}s")


def eval_bbc(path: str) -> float:
    print(f"\n== BBC News ({path})")
    with Workbench(path) as wb:
        retag(wb)
        gold = dict(
            wb.sql("SELECT article_id, meta->>'$.label' AS label FROM articles")
            .itertuples(index=False)
            .__iter__()
        )
        tags = wb.sql("SELECT article_id, theme_id, score FROM article_themes")
    best: dict[str, tuple[float, str]] = {}
    for aid, tid, score in tags.itertuples(index=False):
        cat = BBC_MAP.get(tid)
        if cat and score > best.get(aid, (-1.0, ""))[0]:
            best[aid] = (score, cat)
    pred = {aid: best.get(aid, (0.0, "none"))[1] for aid in gold}
    print(f"  articles: {len(gold):,} (labels {dict(Counter(gold.values()))})")
    print(f"  no mapped theme assigned: {sum(1 for v in pred.values() if v == 'none'):,}")
    print(f"  {'category':15s} {'P':>6s} {'R':>6s} {'F1':>6s} {'n':>6s}")
    f1s = []
    for cat in BBC_CATS:
        tp = sum(1 for a in gold if gold[a] == cat and pred[a] == cat)
        fp = sum(1 for a in gold if gold[a] != cat and pred[a] == cat)
        fn = sum(1 for a in gold if gold[a] == cat and pred[a] != cat)
        p, r, f = prf(tp, fp, fn)
        f1s.append(f)
        print(f"  {cat:15s} {p:6.3f} {r:6.3f} {f:6.3f} {tp + fn:6d}")
    acc = sum(1 for a in gold if gold[a] == pred[a]) / len(gold)
    macro = sum(f1s) / len(f1s)
    print(f"  macro-F1 {macro:.3f}   accuracy {acc:.3f}")
    confusion = Counter((gold[a], pred[a]) for a in gold if gold[a] != pred[a])
    print(f"  top confusions (gold -> predicted): {confusion.most_common(6)}")
    return macro


def eval_reuters(path: str) -> None:
    print(f"\n== Reuters-21578 TRAIN TOPICS ({path})")
    with Workbench(path) as wb:
        retag(wb)
        docs = wb.sql(
            "SELECT article_id, meta->>'$.topics' AS topics FROM articles"
            " WHERE (meta->>'$.lewissplit') = 'TRAIN' AND (meta->>'$.has_topics') = 'YES'"
        )
        tags = wb.sql("SELECT article_id, theme_id, score FROM article_themes")
    topics = {a: set(json.loads(t or "[]")) for a, t in docs.itertuples(index=False)}
    print(f"  TRAIN documents with TOPICS=YES: {len(topics):,}")
    print(f"  {'':55s} assigned (score >= min_score)   strong (score >= {STRONG})")
    print(
        f"  {'theme':22s} {'topics':26s} {'gold':>5s} {'P':>6s} {'R':>6s} {'F1':>6s}"
        f"   {'P':>6s} {'R':>6s} {'F1':>6s}"
    )
    f1s: dict[float, list[float]] = {0.0: [], STRONG: []}
    for theme, tlist in REUTERS_MAP.items():
        cells = []
        for floor in (0.0, STRONG):
            pred = set(tags.article_id[(tags.theme_id == theme) & (tags.score >= floor)])
            tp = fp = fn = 0
            for aid, ts in topics.items():
                g = bool(ts & set(tlist))
                p_ = aid in pred
                tp += g and p_
                fp += (not g) and p_
                fn += g and not p_
            p, r, f = prf(tp, fp, fn)
            f1s[floor].append(f)
            cells.append(f"{p:6.3f} {r:6.3f} {f:6.3f}")
        shown = ",".join(tlist) if len(tlist) < 4 else ",".join(tlist[:3]) + ",…"
        print(f"  {theme:22s} {shown:26s} {tp + fn:5d} {cells[0]}   {cells[1]}")
    macro = [sum(v) / len(v) for v in f1s.values()]
    print(f"  macro-F1 over mapped themes: assigned {macro[0]:.3f}, strong {macro[1]:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bbc", help="database built from ../shared/corpora/bbc-news")
    ap.add_argument("--reuters", help="database built from the Reuters-21578 SGML files")
    args = ap.parse_args()
    tax = load_taxonomy()
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, python {platform.python_version()}"
    )
    print(f"taxonomy: {len(tax)} themes, hash {tax.hash}")
    print(f"BBC mapping: {json.dumps(BBC_MAP)}")
    if args.bbc:
        eval_bbc(args.bbc)
    if args.reuters:
        eval_reuters(args.reuters)


if __name__ == "__main__":
    main()
