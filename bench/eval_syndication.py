"""Near-duplicate stories (issue 17): pair precision/recall, counts per outlet, scale.

    python bench/eval_syndication.py pairs        # labelled set; tune: Reuters+BBC, test: 2022
    python bench/eval_syndication.py candidates   # real candidate pairs to check by hand
    python bench/eval_syndication.py counts       # articles / unique texts / stories, rankings
    python bench/eval_syndication.py scale --n 100000
    python bench/eval_syndication.py add --before B.duckdb --db W.duckdb  # only the 1% add
    python bench/eval_syndication.py handcheck-draw   # hand check 5: unmerged real pairs
    python bench/eval_syndication.py handcheck-score  # its real-data recall (files only)
    python bench/eval_syndication.py labelled-set     # synthetic test + list 5, P and R

The labelled set: real articles plus one copy of every other one with realistic copy edits
(new headline, byline/dateline/copyright/"Read more" lines added, last paragraphs dropped or
reordered, light rewording), drawn by a seeded RNG; a pair is positive when both articles
descend from one original, or when the two originals are a real near-duplicate pair judged
"same" by hand (``bench/syndication_handcheck.csv``). Pairs of two real articles that were
not checked by hand are left out of the scores (their count is printed).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import json
import os
import random
import re
import resource
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from itertools import combinations
from pathlib import Path
from typing import Any

import pandas as pd
from benchlib import REPO, RU_UA, WORK, header, need

from workbench import Filter, Workbench
from workbench.annotate.stories import (
    StoryOptions,
    bodies,
    figures_agree,
    shingles,
    similarity,
    tables_agree,
    titles_agree,
)
from workbench.base import config
from workbench.base.filters import compose, filtered_articles_sql

REUTERS = config.SHARED_DIR / "corpora" / "reuters21578"
BBC = config.SHARED_DIR / "corpora" / "bbc-news"
PARTS = ("test", "tune")
HANDCHECK = REPO / "bench" / "syndication_handcheck.csv"
#: Later hand checks of merged real pairs (fresh samples, never tuned on when drawn).
HANDCHECKS = [HANDCHECK, *(REPO / "bench" / f"syndication_handcheck{i}.csv" for i in (2, 3, 4))]
#: Hand checks of unmerged pool pairs: list 5 held out (recall, ``labelled-set``), lists 6-7
#: tuning material (rules, the learned verifier).
POOL_CHECKS = [REPO / "bench" / f"syndication_handcheck{i}.csv" for i in (5, 6, 7)]

NAMES = ["Maria Lopez", "John Smith", "Anna Kowalski", "David Chen", "Sarah O'Neill", "Tom Berg"]
CITIES = ["WASHINGTON", "LONDON", "MOSCOW", "KYIV", "NEW YORK", "BRUSSELS", "TOKYO", "PARIS"]
AGENCIES = ["AP", "Reuters", "AFP"]
COPYRIGHT = [
    "Copyright 2022 The Associated Press. All rights reserved.",
    "© 2022 Thomson Reuters",
    "Copyright (c) Agence France-Presse",
    "This material may not be published, broadcast, rewritten or redistributed.",
]
TAILS = ["Read more: the latest coverage", "Related: more from our newsroom", "Sign up for alerts"]
SWAPS = {
    "said": "says",
    "says": "said",
    "percent": "per cent",
    "also": "additionally",
    "about": "around",
    "told": "informed",
    "but": "however",
    "big": "large",
    "more than": "over",
}
COPY_OUTLETS = [f"Reprint {c}" for c in "ABCDEFGH"]


# ---------------------------------------------------------------------------- copy edits
def paragraphs(text: str) -> list[str]:
    """Blank-line or indented-line paragraphs (Reuters texts are hard-wrapped)."""
    parts = re.split(r"\n\s*\n|\n(?=[ \t]{2,}\S)", text)
    return [p.strip() for p in parts if p.strip()]


def reword(text: str, rng: random.Random, rate: float) -> str:
    """Light wording changes: swap or drop about ``rate`` of the words."""
    words = text.split(" ")
    n = max(1, int(len(words) * rate))
    for i in rng.sample(range(len(words)), min(n, len(words))):
        w = words[i]
        low = w.lower()
        if low in SWAPS:
            words[i] = SWAPS[low]
        elif len(w) > 3 and rng.random() < 0.5:
            words[i] = ""  # a dropped word
        else:
            words[i] = w + (" the" if rng.random() < 0.5 else ",")
    return re.sub(r" {2,}", " ", " ".join(words))


def make_copy(text: str, rng: random.Random) -> tuple[str, list[str]]:
    """A realistic reprint and the list of edits made."""
    paras = paragraphs(text)
    edits: list[str] = ["headline"]
    if len(paras) >= 4 and rng.random() < 0.5:
        keep = rng.randint(max(2, int(len(paras) * 0.6)), len(paras) - 1)
        paras = paras[:keep]
        edits.append(f"drop_last_{len(paragraphs(text)) - keep}")
    if len(paras) >= 3 and rng.random() < 0.3:
        paras[-1], paras[-2] = paras[-2], paras[-1]
        edits.append("reorder_last")
    if rng.random() < 0.5:
        rate = rng.choice([0.01, 0.02, 0.03])
        paras = [reword(p, rng, rate) for p in paras]
        edits.append(f"reword_{rate}")
    if rng.random() < 0.6:
        paras[0] = f"{rng.choice(CITIES)} ({rng.choice(AGENCIES)}) — {paras[0]}"
        edits.append("dateline")
    if rng.random() < 0.6:
        paras.insert(0, f"By {rng.choice(NAMES)}")
        edits.append("byline")
    if rng.random() < 0.5:
        paras.append(rng.choice(COPYRIGHT))
        edits.append("copyright")
    if rng.random() < 0.3:
        paras.append(rng.choice(TAILS))
        edits.append("read_more")
    return "\n\n".join(paras), edits


# ---------------------------------------------------------------------------- corpora
def load_part(part: str, limit: int, rng: random.Random) -> list[dict[str, Any]]:
    """Real articles of one part (stored once through a scratch ingest, so ids match), each
    with ``flagged``: it has a real near-duplicate candidate (a pair at or above the pair
    floor) in its corpus."""
    paths = {"tune": [REUTERS, BBC], "test": [RU_UA]}[part]
    for p in paths:
        need(p)
    db = WORK / f"synd-src-{part}.duckdb"
    if not db.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        with Workbench(db) as wb:
            wb.ingest([str(p) for p in paths], allow_undated=True, progress=False)
            wb.stories(progress=False)
    with Workbench(db, read_only=True) as wb:
        rows = wb.sql(
            "SELECT article_id, date, source, title, text, article_id IN (SELECT article_id "
            "FROM story_pairs UNION SELECT other_id FROM story_pairs) AS flagged "
            "FROM articles WHERE n_words >= 60 ORDER BY article_id"
        ).to_dict("records")
    if part == "tune":  # Reuters and BBC in proportion, seeded
        rng.shuffle(rows)
        rows = sorted(rows[:limit], key=lambda r: r["article_id"])
    for r in rows:
        r["date"] = str(r["date"])[:10] if pd.notna(r["date"]) else "2005-01-01"
        r["source"] = r["source"] or "bbc"
    return rows


def _hash(text: str) -> str:
    from workbench.ingest.load import hash_text, normalise_text

    return hash_text(normalise_text(text))


def build(part: str, limit: int, seed: int) -> tuple[Path, dict[str, str], list[dict], dict]:
    """The labelled DB: real articles + copies; returns (db, origin of each copy title, rows)."""
    rng = random.Random(seed)
    labels = handchecked()
    checked = {a for pair in labels for a in pair}
    base = load_part(part, limit, rng)
    # an article with a real near-duplicate candidate stays only when its pairs were checked
    # by hand, so every pair of two different originals has a known label
    with Workbench(WORK / f"synd-src-{part}.duckdb", read_only=True) as wb:
        cand = wb.sql("SELECT article_id, other_id FROM story_pairs").itertuples(index=False)
        unchecked = {x for a, b in cand if frozenset((a, b)) not in labels for x in (a, b)}
    base = [r for r in base if r["article_id"] not in unchecked]
    print(
        f"pool: {len(base)} real articles ({sum(r['article_id'] in checked for r in base)} "
        f"in hand-checked pairs; {len(unchecked)} with unchecked candidates left out)"
    )
    rows, origin = [], {}
    for i, r in enumerate(base):
        rows.append({**r, "real": True})
        if i % 2 == 0:
            text, edits = make_copy(r["text"], rng)
            day = dt.date.fromisoformat(r["date"]) + dt.timedelta(days=rng.randint(0, 3))
            title = f"copy {i}: {'+'.join(edits)}"
            origin[title] = r["article_id"]
            rows.append(
                {
                    "title": title,
                    "text": text,
                    "date": day.isoformat(),
                    "source": rng.choice(COPY_OUTLETS),
                }
            )
    db = WORK / f"synd-{part}-{seed}.duckdb"
    for p in (db, Path(str(db) + ".wal")):
        p.unlink(missing_ok=True)
    src = WORK / f"synd-{part}-{seed}.jsonl"
    with src.open("w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps({k: r[k] for k in ("title", "text", "date", "source")}) + "\n")
    with Workbench(db) as wb:
        wb.ingest([src], progress=False)
        stored = wb.sql("SELECT article_id, source, date, text_hash FROM articles")
    # ids hash text, date and outlet: map the originals' ids to this DB's (BBC got a date)
    now = {(s, str(d)[:10], h): a for a, s, d, h in stored.itertuples(index=False)}
    remap = {r["article_id"]: now.get((r["source"], r["date"], _hash(r["text"]))) for r in base}
    origin = {t: remap.get(o) or o for t, o in origin.items()}
    return db, origin, rows, remap


def handchecked(path: Path = HANDCHECK) -> dict[frozenset[str], bool]:
    if not path.exists():
        return {}
    with path.open(encoding="utf-8") as fh:
        return {
            frozenset((r["article_a"], r["article_b"])): r["label"] == "same"
            for r in csv.DictReader(fh)
        }


def gold_roots(
    id_titles: Iterable[tuple[str, str]], origin: dict[str, str], labels: dict[frozenset[str], bool]
) -> dict[str, str]:
    """Each article's gold story key: the original it descends from (``origin`` maps a copy's
    title to its original's id), with originals judged the same story by hand joined."""
    pairs = list(id_titles)
    by_title = {title: aid for aid, title in pairs}
    orig = {aid: aid for aid, _ in pairs}
    for title, o in origin.items():
        if title in by_title:
            orig[by_title[title]] = o
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    for pair, same in labels.items():
        a, b = tuple(pair)
        if same and a in orig and b in orig:
            parent[find(a)] = find(b)
    return {aid: find(o) for aid, o in orig.items()}


def score(wb: Workbench, origin: dict[str, str], labels: dict[frozenset[str], bool]) -> dict:
    """Pair precision/recall of the stored stories: two articles belong together when they
    descend from one original, or from two originals judged the same story by hand."""
    arts = wb.sql("SELECT article_id, title FROM articles")
    root = gold_roots(zip(arts.article_id, arts.title, strict=True), origin, labels)
    gold: dict[str, set[str]] = defaultdict(set)
    for aid in arts.article_id:
        gold[root[aid]].add(aid)
    story = dict(wb.sql("SELECT article_id, story_id FROM story_clusters").itertuples(index=False))
    pred: dict[str, set[str]] = defaultdict(set)
    for aid, sid in story.items():
        pred[sid].add(aid)
    tp = fp = fn = 0
    fps, fns = [], []
    for members in pred.values():
        for a, b in combinations(sorted(members), 2):
            if root[a] == root[b]:
                tp += 1
            else:
                fp += 1
                fps.append((a, b))
    for members in gold.values():
        for a, b in combinations(sorted(members), 2):
            if story.get(a) != story.get(b):
                fn += 1
                fns.append((a, b))
    return {
        "precision": round(tp / (tp + fp), 4) if tp + fp else None,
        "recall": round(tp / (tp + fn), 4) if tp + fn else None,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "fp_examples": fps[:5],
        "fn_examples": fns[:8],
    }


def cmd_pairs(args: argparse.Namespace) -> None:
    header("syndication pairs", {"part": args.part, "limit": args.limit, "seed": args.seed})
    db, origin, rows, remap = build(args.part, args.limit, args.seed)
    labels = {
        frozenset(remap.get(a) or a for a in pair): same for pair, same in handchecked().items()
    }
    print(f"articles: {len(rows)} ({len(origin)} synthetic copies); hand labels: {len(labels)}")
    with Workbench(db) as wb:
        t = time.perf_counter()
        wb.stories(
            progress=False,
            shingle=args.shingle,
            lsh_threshold=args.lsh,
            max_lag_days=args.max_lag_days,
        )
        print(f"clustered in {time.perf_counter() - t:.1f}s (shingle {args.shingle})")
        grid = [(j, c) for j in args.jaccard for c in args.containment]
        for j, c in grid:
            wb.stories(jaccard=j, containment=c, progress=False)
            s = score(wb, origin, labels)
            if not args.examples:
                s = {k: v for k, v in s.items() if not k.endswith("_examples")}
            print(json.dumps({"jaccard": j, "containment": c, **s}, default=str))
        if args.misses:
            wb.stories(jaccard=StoryOptions().jaccard, containment=StoryOptions().containment,
                       progress=False)  # fmt: skip
            s = score(wb, origin, labels)
            for a, b in s["fn_examples"]:
                ta, tb = (wb.sql("SELECT title, text FROM articles WHERE article_id = ?", [x])
                          .iloc[0] for x in (a, b))  # fmt: skip
                jac, con = similarity(shingles(ta.text, 5), shingles(tb.text, 5))
                print(f"MISS J={jac:.2f} C={con:.2f} {ta.title[:60]!r} <> {tb.title[:60]!r}")


# ---------------------------------------------------------------------------- candidates
def cmd_candidates(args: argparse.Namespace) -> None:
    """Real pairs above the pair floor (all of the 2022 corpora's, a stratified sample of
    Reuters and BBC), with both texts' openings and endings, for labelling by hand."""
    rng = random.Random(args.seed)
    out = []
    for part, per_corpus in (("test", None), ("tune", args.sample)):
        load_part(part, 10**9, random.Random(0))
        with Workbench(WORK / f"synd-src-{part}.duckdb", read_only=True) as wb:
            pairs = wb.sql(
                "SELECT p.article_id AS a, p.other_id AS b, p.jaccard, p.containment, "
                "x.source AS sa, y.source AS sb, x.text AS ta, y.text AS tb, x.title AS ha, "
                "y.title AS hb FROM story_pairs p JOIN articles x ON x.article_id = p.article_id "
                "JOIN articles y ON y.article_id = p.other_id ORDER BY p.jaccard DESC"
            ).to_dict("records")
        if per_corpus is not None and len(pairs) > per_corpus:
            pairs = sorted(rng.sample(pairs, per_corpus), key=lambda r: -r["jaccard"])
        for r in pairs:
            out.append({"part": part, **r})
    with open(args.out, "w", encoding="utf-8") as fh:
        for i, r in enumerate(out):
            fh.write(
                f"### {i} [{r['part']}] J={r['jaccard']:.3f} C={r['containment']:.3f} "
                f"{r['a']} ({r['sa']}) | {r['b']} ({r['sb']})\n"
                f"A: {r['ha']!r}\n   {r['ta'][:400]!r}\n   ...{r['ta'][-200:]!r}\n"
                f"B: {r['hb']!r}\n   {r['tb'][:400]!r}\n   ...{r['tb'][-200:]!r}\n\n"
            )
    print(f"{len(out)} pairs written to {args.out}")


def cmd_sample(args: argparse.Namespace) -> None:
    """A fresh random sample of the real pairs the pipeline *merges* at the defaults (both
    corpora pooled; pairs of earlier hand checks left out), for a precision check by hand:
    each pair with its headlines, openings, endings and the words each text has that the
    other lacks (where templated items differ: names, figures, days). The pairs are those
    the thresholds merge before the lag window, so the sample can be judged blind to it."""
    from workbench.annotate.stories import words

    old = {p: s for path in [*HANDCHECKS, *POOL_CHECKS] for p, s in handchecked(path).items()}
    pool = []
    for part in args.parts:
        load_part(part, 10**9, random.Random(0))
        with Workbench(WORK / f"synd-src-{part}.duckdb", read_only=True) as wb:
            pairs = wb.sql(
                "SELECT p.article_id AS a, p.other_id AS b, p.jaccard, p.containment, "
                "x.source AS sa, y.source AS sb, x.text AS ta, y.text AS tb, x.title AS ha, "
                "y.title AS hb, x.date AS da, y.date AS db FROM story_pairs p "
                "JOIN articles x ON x.article_id = p.article_id "
                "JOIN articles y ON y.article_id = p.other_id "
                "WHERE p.jaccard >= ? OR p.containment >= ? ORDER BY p.article_id, p.other_id",
                [args.jaccard, args.containment],
            ).to_dict("records")
        pool += [{"part": part, **r} for r in pairs if frozenset((r["a"], r["b"])) not in old]
    rng = random.Random(args.seed)
    picked = sorted(rng.sample(pool, min(args.n, len(pool))), key=lambda r: -r["jaccard"])
    print(f"{len(pool)} merged real pairs not checked before; {len(picked)} sampled")
    with open(args.out, "w", encoding="utf-8") as fh:
        for i, r in enumerate(picked):
            wa, wb_ = set(words(r["ta"])), set(words(r["tb"]))
            fh.write(
                f"### {i} [{r['part']}] J={r['jaccard']:.3f} C={r['containment']:.3f} "
                f"{r['a']} ({r['sa']}) | {r['b']} ({r['sb']})\n"
                f"A: {r['ha']!r} ({len(r['ta'])} chars, {str(r['da'])[:10]})\n"
                f"   {r['ta'][:300]!r}\n"
                f"   ...{r['ta'][-150:]!r}\n"
                f"B: {r['hb']!r} ({len(r['tb'])} chars, {str(r['db'])[:10]})\n"
                f"   {r['tb'][:300]!r}\n"
                f"   ...{r['tb'][-150:]!r}\n"
                f"only A: {' '.join(sorted(wa - wb_)[:40])}\n"
                f"only B: {' '.join(sorted(wb_ - wa)[:40])}\n\n"
            )
    print(f"written to {args.out}")


def cmd_realpairs(args: argparse.Namespace) -> None:
    """Precision/recall on the hand-checked real pairs, similarity recomputed at ``--shingle``
    (the pipeline's rule: Jaccard >= j or, when the shorter has enough shingles,
    containment >= c; and with ``--max-lag-days`` the two dates at most that many days
    apart)."""
    rows = list(csv.DictReader(open(args.labels, encoding="utf-8")))
    text, day = {}, {}
    for part in sorted({r["part"] for r in rows}):
        with Workbench(WORK / f"synd-src-{part}.duckdb", read_only=True) as wb:
            ids = [x for r in rows if r["part"] == part for x in (r["article_a"], r["article_b"])]
            q = (
                "SELECT article_id, title, text, date FROM articles "
                "WHERE list_contains(?, article_id)"
            )
            for a, h, t, d in wb.sql(q, [ids]).itertuples(index=False):
                text[a], day[a] = (h, t), (None if pd.isna(d) else pd.Timestamp(d))
    opts = StoryOptions(figures=args.figures, short_titles=args.short_titles, tables=args.tables)
    floor = opts.min_shingles
    sims = []
    for r in rows:
        pair = [text[r[k]] for k in ("article_a", "article_b")]
        a, b = bodies([t for _, t in pair], k=args.shingle, titles=[h for h, _ in pair])
        jac, con = similarity(a.shingles, b.shingles)
        short = min(len(a.shingles), len(b.shingles)) < floor
        if (
            not figures_agree(a.figures, b.figures, opts.figures)
            or (short and not titles_agree(a.title, b.title, opts.short_titles))
            or (opts.tables and not tables_agree(a.terms, b.terms))
        ):
            jac = con = 0.0  # the pipeline drops the pair
        da, db = day[r["article_a"]], day[r["article_b"]]
        if args.max_lag_days and da is not None and db is not None:
            if abs((da - db).days) > args.max_lag_days:
                jac = con = 0.0  # outside the lag window
        sims.append((r, jac, jac if short else con))
    for j in args.jaccard:
        for c in args.containment:
            out = {"shingle": args.shingle, "jaccard": j, "containment": c,
                   "max_lag_days": args.max_lag_days}  # fmt: skip
            for part in sorted({r["part"] for r in rows}):
                tp = fp = fn = 0
                for r, jac, con in sims:
                    if r["part"] != part:
                        continue
                    pred, gold = jac >= j or con >= c, r["label"] == "same"
                    tp, fp, fn = (
                        tp + (pred and gold),
                        fp + (pred and not gold),
                        fn + (gold and not pred),
                    )
                out[part] = {"tp": tp, "fp": fp, "fn": fn,
                             "precision": round(tp / (tp + fp), 3) if tp + fp else None,
                             "recall": round(tp / (tp + fn), 3) if tp + fn else None}  # fmt: skip
            print(json.dumps(out))


# ---------------------------------------------------------------------------- counts
def cmd_counts(args: argparse.Namespace) -> None:
    header("syndication counts", {})
    for part in ("test", "tune"):
        load_part(part, 10**9, random.Random(0))
        with Workbench(WORK / f"synd-src-{part}.duckdb") as wb:
            wb.stories(progress=False)
            per = {}
            for mode in ("none", "text", "story"):
                df = wb.top("source", None, Filter(dedup=mode))
                per[mode] = dict(zip(df["key"], df["articles"], strict=True))
            print(f"-- {part}: outlet | articles | unique texts | stories | copy share")
            for src in sorted(per["none"], key=lambda s: -per["none"][s]):
                a, t, s = per["none"][src], per["text"].get(src, 0), per["story"].get(src, 0)
                print(f"{src} | {a} | {t} | {s} | {1 - s / a:.3f}")
            if part == "tune":  # Reuters: rank of gold PLACES / TOPICS by dedup mode
                for field in ("places", "topics"):
                    ranks = {}
                    for mode in ("none", "story"):
                        fa, params = filtered_articles_sql(
                            Filter(sources=["Reuters"], dedup=mode),
                            columns="a.article_id, a.meta",
                        )
                        q = compose(
                            "WITH fa AS ({fa}) SELECT v AS key, count(*) AS n FROM (SELECT "
                            "unnest(from_json(json_extract(fa.meta, ?), '[\"VARCHAR\"]')) AS v "
                            "FROM fa) GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 15",
                            fa=fa,
                        )
                        ranks[mode] = wb.sql(q, [*params, f"$.{field}"])
                    a, b = ranks["none"], ranks["story"]
                    rank_b = {k: i + 1 for i, k in enumerate(b["key"])}
                    n_b = dict(zip(b["key"], b["n"], strict=True))
                    print(f"-- Reuters {field}: rank | key | articles | stories | rank by stories")
                    for i, r in enumerate(a.itertuples()):
                        print(f"{i + 1} | {r.key} | {r.n} | {n_b.get(r.key, '-')} | "
                              f"{rank_b.get(r.key, '>15')}")  # fmt: skip
        print()


# ---------------------------------------------------------------------------- scale
def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_s() -> float:
    """CPU seconds of this process and of its ended children (the shingling workers)."""
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


class PeakRSS:
    """Peak resident memory of this process and its children (the shingling workers) while
    the block runs (sampled every 0.1 s)."""

    def __enter__(self) -> PeakRSS:
        import threading

        import psutil

        self.proc, self.peak, self.stop = psutil.Process(), 0, threading.Event()
        self.base = self.proc.memory_info().rss
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def _run(self) -> None:
        import psutil

        while not self.stop.wait(0.1):
            rss = self.proc.memory_info().rss
            for kid in self.proc.children(recursive=True):
                try:
                    rss += kid.memory_info().rss
                except psutil.Error:
                    pass  # ended meanwhile
            self.peak = max(self.peak, rss)

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()

    def __str__(self) -> str:
        return f"peak RSS {self.peak / 2**20:.0f} MB (at start {self.base / 2**20:.0f} MB)"


def write_direct(
    db: Path, base: list[dict], n: int, rng: random.Random, *, copy_from: Path | None = None
) -> None:
    """The replicas written straight into ``articles`` (ingest is not what is measured, and
    at 10^6 it would take most of an hour here): the same rows ``scale`` ingests. With
    ``copy_from`` (a smaller replica database), its articles are copied first and only the
    rest are written."""
    from workbench.base import store
    from workbench.ingest.records import hash_text, normalise_text

    with Workbench(db) as wb:
        have = 0
        if copy_from is not None:
            cols = ", ".join(store.quote_ident(c) for c in wb.sql(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = 'articles' "
                "AND database_name = current_database()")["column_name"])  # fmt: skip
            path = str(copy_from).replace("'", "''")
            wb.con.execute(f"ATTACH '{path}' AS src (READ_ONLY)")  # a path, not a value
            wb.con.execute(f"INSERT INTO articles ({cols}) SELECT {cols} FROM src.articles "  # noqa: S608
                           "WHERE article_id < ?", [f"{n:016x}"])  # fmt: skip
            wb.con.execute("DETACH src")
            have = wb.sql("SELECT count(*) AS n FROM articles").n[0]
            print(f"copied {have} articles from {copy_from}")
        rows = []
        for i in range(have, n):
            r = base[i % len(base)]
            text = r["text"] if i < len(base) else make_copy(r["text"], rng)[0]
            rows.append(
                {
                    "article_id": f"{i:016x}",
                    "date": r["date"],
                    "title": f"r{i}",
                    "source": f"{r['source']}-{i // len(base)}",
                    "text": text,
                    "origin": "synthetic",
                    "format": "jsonl",
                    "text_hash": hash_text(normalise_text(text)),
                    "n_chars": len(text),
                    "n_words": len(text.split()),
                }
            )
            if len(rows) == 50_000 or i == n - 1:
                frame = pd.DataFrame(rows)
                frame["date"] = pd.to_datetime(frame["date"]).dt.date
                store.insert_df(wb.con, "articles", frame)
                rows = []


def cmd_shingle(args: argparse.Namespace) -> None:
    """CPU seconds to shingle and sign ``n`` real texts (Reuters and BBC, seeded sample),
    the best of ``repeat`` runs: the per-article fixed cost of a full run."""
    from workbench.annotate.stories import bodies, signatures

    header("syndication shingle", {"n": args.n, "repeat": args.repeat})
    rows = load_part("tune", 10**9, random.Random(args.seed))[: args.n]
    texts, titles = [r["text"] for r in rows], [r["title"] for r in rows]
    opts = StoryOptions()
    signatures([b.shingles for b in bodies(texts[:10], k=5)], opts)  # tables, permutations
    best = {"bodies": float("inf"), "signatures": float("inf")}
    for _ in range(args.repeat):
        c = time.process_time()
        made = bodies(texts, k=opts.shingle, titles=titles)
        best["bodies"] = min(best["bodies"], time.process_time() - c)
        c = time.process_time()
        signatures([b.shingles for b in made], opts)
        best["signatures"] = min(best["signatures"], time.process_time() - c)
    chars = sum(len(t) for t in texts)
    print(f"{len(texts)} texts, {chars / len(texts):.0f} chars each: bodies "
          f"{best['bodies']:.3f}s, signatures {best['signatures']:.3f}s CPU (best of "
          f"{args.repeat}); load {os.getloadavg()}")  # fmt: skip


def cmd_scale(args: argparse.Namespace) -> None:
    """Synthetic replicas: real Reuters/BBC/2022 articles and edited copies of them (each copy
    a new outlet and date) up to ``n``; then a 1% incremental add."""
    header("syndication scale", {"n": args.n})
    rng = random.Random(args.seed)
    base = load_part("tune", 10**9, rng) + load_part("test", 10**9, rng)
    WORK.mkdir(parents=True, exist_ok=True)
    db = Path(args.db) if args.db else WORK / f"synd-scale-{args.n}{'-direct' * args.direct}.duckdb"
    src, extra = WORK / f"synd-scale-{args.n}.jsonl", WORK / f"synd-scale-{args.n}-add.jsonl"
    n_add = args.n // 100
    if args.direct and not db.exists():
        t = time.perf_counter()
        copy_from = Path(args.copy_from) if args.copy_from else None
        write_direct(db, base, args.n + n_add, rng, copy_from=copy_from)
        print(f"generated and inserted (no ingest): {time.perf_counter() - t:.1f}s")
    if args.generate_only:
        return
    if not db.exists():
        with src.open("w", encoding="utf-8") as fh, extra.open("w", encoding="utf-8") as fx:
            for i in range(args.n + n_add):
                r = base[i % len(base)]
                text = r["text"] if i < len(base) else make_copy(r["text"], rng)[0]
                row = {"title": f"r{i}", "text": text, "date": r["date"],
                       "source": f"{r['source']}-{i // len(base)}"}  # fmt: skip
                (fh if i < args.n else fx).write(json.dumps(row) + "\n")
        t = time.perf_counter()
        with Workbench(db) as wb:
            wb.ingest([src], progress=False)
        print(f"ingest: {time.perf_counter() - t:.1f}s")
    if not re.fullmatch(r"\d+(?:\.\d+)?\s*[KMGT]i?B", args.memory_limit):
        raise SystemExit(f"--memory-limit {args.memory_limit!r}: give a size such as 3GB")
    with Workbench(db) as wb:
        wb.con.execute(f"SET memory_limit = '{args.memory_limit}'")  # checked just above
        extra_titles = [f"r{i}" for i in range(args.n, args.n + n_add)]
        if args.partial:  # a stopped --generate-only: the rows it wrote, the last 1% added
            have = wb.sql("SELECT count(*) AS n FROM articles").n[0]
            if wb.sql("SELECT count(*) AS n FROM duckdb_tables() WHERE table_name = ?",
                      ["_scale_add"]).n[0]:  # fmt: skip
                have += wb.sql("SELECT count(*) AS n FROM _scale_add s WHERE NOT EXISTS "
                               "(SELECT 1 FROM articles a WHERE a.article_id = s.article_id)").n[0]  # fmt: skip
            extra_titles = [f"r{i}" for i in range(have - have // 100, have)]
        if args.direct:  # the 1% set aside, put back after the full run
            wb.sql("CREATE TABLE IF NOT EXISTS _scale_add AS SELECT * FROM articles "
                   "WHERE list_contains(?, title)", [extra_titles])  # fmt: skip
        wb.sql("DELETE FROM articles WHERE list_contains(?, title)", [extra_titles])
        wb.sql("DELETE FROM articles WHERE starts_with(title, 'zr')")  # an earlier add
        _time_runs(wb, args, extra)


@contextlib.contextmanager
def _profiled(path: str | None) -> Iterator[None]:
    """A cProfile of the block written to ``path`` (and its top lines printed), if given."""
    if not path:
        yield
        return
    import cProfile
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    try:
        yield
    finally:
        prof.disable()
        prof.dump_stats(path)
        pstats.Stats(prof).sort_stats("cumulative").print_stats(30)


def _time_runs(wb: Workbench, args: argparse.Namespace, extra: Path) -> None:
    """The timed full run from no index, the 1% add (``extra`` when ingested) put back
    and added, then a threshold change."""
    n = wb.sql("SELECT count(*) AS n FROM articles").n[0]
    t = time.perf_counter()
    from workbench.annotate.stories import _reset

    _reset(wb.con, signatures_too=True)  # a full run starts from no index at all
    wb.con.execute("CHECKPOINT")
    print(f"emptied the story tables of an earlier run: {time.perf_counter() - t:.1f}s")
    t, c = time.perf_counter(), cpu_s()
    with PeakRSS() as mem:
        out = wb.stories(
            rebuild=True, progress=args.progress, batch=args.batch, workers=args.workers
        )
    full, full_cpu = time.perf_counter() - t, cpu_s() - c
    print(f"full: {n} articles, {out['stories']} stories, {out['pairs']} pairs, "
          f"{full:.1f}s wall, {full_cpu:.1f}s CPU, {mem}; load {os.getloadavg()}")  # fmt: skip
    print(f"  CPU s by phase (this process): {json.dumps(out['cpu_s'])}")
    if args.direct:
        wb.sql("INSERT INTO articles SELECT * FROM _scale_add")
    else:
        wb.ingest([extra], progress=False, rescan=True)
    if args.stop_before_add:  # the state `add` starts from: the 1% stored, not clustered
        wb.con.execute("CHECKPOINT")
        print(f"stopped before the add: {wb.path} (and its .story-index folder)")
        return
    _timed_add(wb, args, (full, full_cpu))
    t, c = time.perf_counter(), cpu_s()
    with PeakRSS() as mem:
        out = wb.stories(jaccard=0.85, progress=False)
    print(f"threshold change (jaccard 0.85): re-clustered in {time.perf_counter() - t:.1f}s "
          f"wall, {cpu_s() - c:.1f}s CPU, {mem}; load {os.getloadavg()}")  # fmt: skip
    print(f"  CPU s by phase (this process): {json.dumps(out['cpu_s'])}")
    wb.stories(jaccard=0.8, progress=False)


def _timed_add(wb: Workbench, args: argparse.Namespace, full: tuple[float, float] | None) -> None:
    """The timed 1% add (its articles stored, not clustered yet); ``full``: the full run's
    (wall, CPU) seconds, to print the add as a share of them."""
    t, c = time.perf_counter(), cpu_s()
    with PeakRSS() as mem, _profiled(args.profile_add):
        out = wb.stories(progress=False, batch=args.batch, workers=args.workers)
    inc, inc_cpu = time.perf_counter() - t, cpu_s() - c
    share = ""
    if full:
        share = f" ({inc / full[0]:.1%} of the full run's wall, {inc_cpu / full[1]:.1%} of its CPU)"
    print(f"incremental: +{out['signed']} articles in {inc:.2f}s wall, {inc_cpu:.2f}s CPU"
          f"{share}; {mem}; load {os.getloadavg()}")  # fmt: skip
    print(f"  CPU s by phase (this process): {json.dumps(out['cpu_s'])}")
    folder = Path(str(wb.path) + ".story-index")
    if folder.exists():
        size = sum(p.stat().st_size for p in folder.iterdir()) / 2**20
        print(f"  band index beside the database: {size:.0f} MB in {folder}")


def _copy_db(src: Path, dst: Path) -> None:
    """A database file and its ``.story-index`` folder copied together (the folder's token
    must match the file's ``meta``)."""
    import shutil

    folder, to = Path(f"{src}.story-index"), Path(f"{dst}.story-index")
    for p in (dst, Path(f"{dst}.wal")):
        p.unlink(missing_ok=True)
    shutil.rmtree(to, ignore_errors=True)
    shutil.copyfile(src, dst)
    if folder.exists():
        shutil.copytree(folder, to)


def outputs_digest(wb: Workbench) -> dict[str, Any]:
    """Row counts and order-free hashes of every story_clusters row (story id, is_first,
    similarity, containment) and every story_pairs and stories row: two runs' outputs agree
    when these do."""
    q = {
        "story_clusters": "SELECT count(*), bit_xor(hash(article_id, story_id, is_first, "
        "similarity, containment)), sum(hash(article_id, story_id, is_first, similarity, "
        "containment) % 1000000007) FROM story_clusters",
        "story_pairs": "SELECT count(*), bit_xor(hash(article_id, other_id, jaccard, "
        "containment, reissue)), sum(hash(article_id, other_id, jaccard, containment, "
        "reissue) % 1000000007) FROM story_pairs",
        "stories": "SELECT count(*), bit_xor(hash(story_id, first_article_id, first_date, "
        "first_source, size, n_outlets, outlets)), sum(hash(story_id, first_article_id, "
        "first_date, first_source, size, n_outlets, outlets) % 1000000007) FROM stories",
    }
    return {t: [int(x) for x in wb.con.execute(sql).fetchone()] for t, sql in q.items()}


def cmd_add(args: argparse.Namespace) -> None:
    """Only the 1% add at scale, repeatably: ``--before`` (a ``scale --stop-before-add``
    database with its .story-index folder) is copied to ``--db`` and the add timed there,
    ``--repeat`` times; then the outputs' digest (:func:`outputs_digest`), and with
    ``--dump`` the story_clusters and story_pairs rows as Parquet (to join two runs)."""
    header("syndication add", {"before": args.before, "batch": args.batch})
    before, db = Path(args.before), Path(args.db)
    for i in range(args.repeat):
        t = time.perf_counter()
        _copy_db(before, db)
        print(f"try {i + 1}: copied {before} to {db} in {time.perf_counter() - t:.1f}s")
        with Workbench(db) as wb:
            wb.con.execute(f"SET memory_limit = '{args.memory_limit}'")
            _timed_add(wb, args, tuple(args.full) if args.full else None)
            if i == args.repeat - 1:
                print(f"  outputs: {json.dumps(outputs_digest(wb))}")
                if args.dump:
                    for t_ in ("story_clusters", "story_pairs"):
                        path = f"{args.dump}.{t_}.parquet".replace("'", "''")
                        wb.con.execute(f"COPY (SELECT * FROM {t_} ORDER BY ALL) TO '{path}'")  # noqa: S608


# ---------------------------------------------------------------------------- hand check 5
HANDCHECK5 = REPO / "bench" / "syndication_handcheck5.csv"
HANDCHECK5_POOL = REPO / "bench" / "syndication_handcheck5_pool.json"


def cmd_handcheck_draw(args: argparse.Namespace) -> None:
    """The unmerged close real pairs (``synd_handcheck.pool``) of both parts, a seeded
    sample by band written blind for labelling, its pool counts to ``--pool-out``, the
    sample with its scores to ``--out`` (label column empty)."""
    import synd_handcheck as hc

    old = {pair: same for path in HANDCHECKS for pair, same in handchecked(path).items()}
    held = hc.pair_ids(args.exclude)  # later lists: left out of the pool, labels unread
    rows, merged = [], {}
    for part in PARTS:
        load_part(part, 10**9, random.Random(0))
        got, merged[part] = hc.pool(WORK / f"synd-src-{part}.duckdb", part, set(old))
        rows += [r for r in got if frozenset((r["article_a"], r["article_b"])) not in held]
    counts: dict[str, int] = defaultdict(int)
    known: dict[str, dict[str, int]] = defaultdict(lambda: {"same": 0, "different": 0})
    for r in rows:  # pairs of lists 1-4 in the pool count with their labels
        if r["old"]:
            known[r["band"]][
                "same" if old[frozenset((r["article_a"], r["article_b"]))] else "different"
            ] += 1
        else:
            counts[r["band"]] += 1
    rows = [r for r in rows if not r["old"]]
    picked = hc.draw(rows, args.per_band, args.seed)
    print(f"{len(rows)} unmerged close pairs {dict(sorted(counts.items()))}; "
          f"merged pairs {merged}; {len(picked)} drawn")  # fmt: skip
    Path(args.pool_out).write_text(json.dumps({
        "seed": args.seed, "per_band": args.per_band, "lag_days": hc.LAG_DAYS,
        "excluded_lists": [Path(x).name for x in args.exclude],
        "max_df": hc.MAX_DF, "merged_pairs": merged, "pool": dict(sorted(counts.items())),
        "known_unmerged": dict(sorted(known.items())),
    }, indent=1) + "\n", encoding="utf-8")  # fmt: skip
    arts = {}
    for part in PARTS:
        with Workbench(WORK / f"synd-src-{part}.duckdb", read_only=True) as wb:
            ids = [x for r in picked if r["part"] == part for x in (r["article_a"], r["article_b"])]
            q = "SELECT * FROM articles WHERE list_contains(?, article_id)"
            arts.update({x["article_id"]: x for x in wb.sql(q, [ids]).to_dict("records")})
    cols = ["n", "part", "band", "article_a", "source_a", "article_b", "source_b", "jaccard",
            "containment", "min_shingles", "label", "class", "note"]  # fmt: skip
    with open(args.out, "w", encoding="utf-8", newline="") as fh, \
            open(args.blind, "w", encoding="utf-8") as bl:  # fmt: skip
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        for i, r in enumerate(picked):
            w.writerow(
                {"n": i, **{k: r[k] for k in cols[1:-3]}, "label": "", "class": "", "note": ""}
            )
            bl.write(hc.blind_entry(i, r, arts[r["article_a"]], arts[r["article_b"]]))
    print(f"written to {args.out} (scores) and {args.blind} (blind diffs)")


def cmd_handcheck_score(args: argparse.Namespace) -> None:
    """Recall on real pairs from the hand-check files alone (no database needed)."""
    import synd_handcheck as hc

    info = hc.load_pool_counts(Path(args.pool))
    sample = hc.read_labels(Path(args.labels))
    for r in sample:  # a stricter reading of "same story": these classes count as apart
        if r["class"] in args.different_classes:
            r["label"] = "different"
    if args.after:  # the stories of a changed pipeline (source databases in that folder)
        pairs = {
            w: set().union(*(hc.story_pairs_of(Path(d) / f"synd-src-{p}.duckdb") for p in PARTS))
            for w, d in (("before", WORK), ("after", args.after))
        }
        known = sum(k["same"] for k in info["known_unmerged"].values())
        out = hc.estimate_after(sample, info["pool"], pairs["before"], pairs["after"],
                                hc.read_labels(Path(args.precision)), known_same=known,
                                reps=args.reps)  # fmt: skip
        print(json.dumps(out, indent=1))
        return
    out = hc.estimate(
        sample,
        info["pool"],
        sum(info["merged_pairs"].values()),
        hc.read_labels(Path(args.precision)),
        known=info["known_unmerged"],
        reps=args.reps,
    )
    print(json.dumps(out, indent=1))


HANDCHECK5_MERGED = REPO / "bench" / "syndication_handcheck5_merged.csv"


def _merged_at_draw(path: Path) -> set[frozenset[str]]:
    """The pairs of articles in one story when list 5's pool was drawn (round 5's defaults)."""
    with path.open(encoding="utf-8") as fh:
        return {frozenset((r["article_a"], r["article_b"])) for r in csv.DictReader(fh)}


HELD_OUT = {
    5: (HANDCHECK5, HANDCHECK5_POOL),
    9: tuple(REPO / "bench" / f"syndication_handcheck9{x}" for x in (".csv", "_pool.json")),
}


def _weighted_part(args: argparse.Namespace, n: int, after: set) -> tuple[dict, Any]:
    """Held-out list ``n`` at the stories of ``--after``, weighted to its pool (drawn at
    round 5's merged pairs): the estimate and its totals with replicates."""
    import synd_handcheck as hc

    labels, pool = HELD_OUT[n]
    info = hc.load_pool_counts(pool)
    sample, prec = hc.read_labels(labels), hc.read_labels(HANDCHECKS[-1])
    before = _merged_at_draw(HANDCHECK5_MERGED)
    known = sum(k["same"] for k in info["known_unmerged"].values())
    kw = {"known_same": known, "reps": args.reps}
    totals = hc.after_totals(sample, info["pool"], before, after, prec, **kw)
    return hc.estimate_after(sample, info["pool"], before, after, prec, **kw), totals


def _whole_pool_part(args: argparse.Namespace, after: set) -> tuple[dict, Any]:
    """Round 5's whole pool: lists 5-8 (each a stratified draw from what the lists before
    it left, so together every pair they hold) counted as labelled, and list 9 weighted to
    the rest. Lists 6-8 train the learned verifier, so this is in-sample in part."""
    import synd_handcheck as hc

    labels, pool = HELD_OUT[9]
    info = hc.load_pool_counts(pool)
    known = sum(k["same"] for k in hc.load_pool_counts(HANDCHECK5_POOL)["known_unmerged"].values())
    exact = [r for n in (5, 6, 7, 8)
             for r in hc.read_labels(REPO / "bench" / f"syndication_handcheck{n}.csv")]  # fmt: skip
    totals = hc.after_totals(hc.read_labels(labels), info["pool"],
                             _merged_at_draw(HANDCHECK5_MERGED), after,
                             hc.read_labels(HANDCHECKS[-1]), known_same=known,
                             reps=args.reps, exact=exact)  # fmt: skip
    p, r = hc._pr(totals[0])
    return {"totals": [round(x, 1) for x in totals[0]], "precision": round(p, 4),
            "precision_bootstrap_95": hc.percentile_ci([hc._pr(t)[0] for t in totals[1]]),
            "recall": round(r, 4),
            "recall_bootstrap_95": hc.percentile_ci([hc._pr(t)[1] for t in totals[1]])}, totals  # fmt: skip


def _unweighted_part(args: argparse.Namespace, after: set) -> dict:
    """Lists 4 + 5 unweighted: the hand-checked pairs as they stand, with replicates."""
    import synd_handcheck as hc

    hits = [(r["label"] == "same", frozenset((r["article_a"], r["article_b"])) in after)
            for r in [*hc.read_labels(HANDCHECK5), *hc.read_labels(HANDCHECKS[-1])]]  # fmt: skip

    def counts(v: list[tuple[bool, bool]]) -> tuple[int, int, int]:
        return (
            sum(s and m for s, m in v),
            sum(s and not m for s, m in v),
            sum(m and not s for s, m in v),
        )

    tp, fn, fp = counts(hits)
    rng = random.Random(17)
    boot = [counts(rng.choices(hits, k=len(hits))) for _ in range(args.reps)]
    p_lo, p_hi = hc.wilson(tp, tp + fp)
    r_lo, r_hi = hc.wilson(tp, tp + fn)
    return {"true": tp, "missed": fn, "false": fp, "precision": round(tp / (tp + fp), 4),
            "precision_wilson_95": [round(p_lo, 4), round(p_hi, 4)],
            "recall": round(tp / (tp + fn), 4),
            "recall_wilson_95": [round(r_lo, 4), round(r_hi, 4)], "replicates": boot}  # fmt: skip


def cmd_labelled_set(args: argparse.Namespace) -> None:
    """The Done-when's labelled set at the default options: the synthetic copy-edit pairs of
    ``--part`` (never tuned on) and the held-out hand-checked real pairs (lists ``--lists``,
    each weighted to its pool; list 5 unweighted with list 4), P and R of each part and of
    the synthetic part with each real part."""
    import synd_handcheck as hc

    header("syndication labelled set", {"part": args.part, "after": args.after})
    db, origin, _, remap = build(args.part, args.limit, args.seed)
    labels = {frozenset(remap.get(a) or a for a in p): s for p, s in handchecked().items()}
    with Workbench(db) as wb:
        wb.stories(progress=False)
        syn = score(wb, origin, labels)
    tp, fn, fp = syn["tp"], syn["fn"], syn["fp"]
    p_lo, p_hi = hc.wilson(tp, tp + fp)
    r_lo, r_hi = hc.wilson(tp, tp + fn)
    out: dict[str, Any] = {f"synthetic ({args.part})": {
        "true": tp, "missed": fn, "false": fp, "precision": syn["precision"],
        "precision_wilson_95": [round(p_lo, 4), round(p_hi, 4)],
        "recall": syn["recall"], "recall_wilson_95": [round(r_lo, 4), round(r_hi, 4)]}}  # fmt: skip
    after = set().union(
        *(hc.story_pairs_of(Path(args.after) / f"synd-src-{p}.duckdb") for p in PARTS)
    )
    for n in args.lists:
        weighted, totals = _weighted_part(args, n, after)
        out[f"real, list {n} weighted to its pool"] = weighted
        out[f"combined (synthetic + list {n} weighted)"] = hc.combined((tp, fn, fp), totals)
    if 9 in args.lists:
        whole, totals = _whole_pool_part(args, after)
        out["real, round 5's whole pool (lists 5-8 as labelled + list 9 weighted)"] = whole
        out["combined (synthetic + the whole pool)"] = hc.combined((tp, fn, fp), totals)
    unweighted = _unweighted_part(args, after)
    boot = unweighted.pop("replicates")
    out["real, lists 4 + 5 unweighted"] = unweighted
    out["combined (synthetic + lists 4-5 unweighted)"] = hc.combined(
        (tp, fn, fp), ((unweighted["true"], unweighted["missed"], unweighted["false"]), boot)
    )
    print(json.dumps(out, indent=1))


def cmd_candidate_misses(args: argparse.Namespace) -> None:
    """Verifier-accepted real pairs that candidate generation never proposed (no labels)."""
    import synd_handcheck as hc

    held = hc.pair_ids(args.exclude)
    for part in PARTS:
        out = hc.candidate_misses(WORK / f"synd-src-{part}.duckdb", held)
        print(json.dumps({"part": part, **out}))


def _why(r: dict, pair: list, day: dict, stored: set, opts: StoryOptions) -> str:
    """The first thing that keeps one real pair apart at the defaults."""
    a, b = bodies([t for _, t in pair], k=opts.shingle, titles=[h for h, _ in pair])
    jac, con = similarity(a.shingles, b.shingles)
    short = min(len(a.shingles), len(b.shingles)) < opts.min_shingles
    if not (jac >= opts.jaccard or (con >= opts.containment and not short)):
        return "short: containment not used" if short and con >= opts.containment else "below"
    if not figures_agree(a.figures, b.figures, opts.figures):
        return "figures rule"
    if short and not titles_agree(a.title, b.title, opts.short_titles):
        return "short-titles rule"
    if opts.tables and not tables_agree(a.terms, b.terms):
        return "table rule"
    da, db = day[r["article_a"]], day[r["article_b"]]
    if da is not None and db is not None and abs((da - db).days) > opts.max_lag_days:
        return "lag window"
    key = (r["article_a"], r["article_b"])
    return "clustering (pair verified)" if key in stored or key[::-1] in stored else "LSH missed"


def cmd_handcheck_why(args: argparse.Namespace) -> None:
    """For each pair of a hand list: its label, class and what keeps it apart at the
    defaults (with ``--write``, into the list's ``apart_by`` column, after labelling)."""
    rows = list(csv.DictReader(open(args.labels, encoding="utf-8")))
    text, day, stored = {}, {}, set()
    for part in sorted({r["part"] for r in rows}):
        with Workbench(WORK / f"synd-src-{part}.duckdb", read_only=True) as wb:
            ids = [x for r in rows if r["part"] == part for x in (r["article_a"], r["article_b"])]
            q = "SELECT article_id, title, text, date FROM articles WHERE list_contains(?, article_id)"
            for a, h, t, d in wb.sql(q, [ids]).itertuples(index=False):
                text[a], day[a] = (h, t), (None if pd.isna(d) else pd.Timestamp(d))
            stored |= set(
                wb.sql("SELECT article_id, other_id FROM story_pairs").itertuples(
                    index=False, name=None
                )
            )
    opts = StoryOptions()
    tally: dict[tuple, int] = defaultdict(int)
    for r in rows:
        why = _why(r, [text[r["article_a"]], text[r["article_b"]]], day, stored, opts)
        tally[(r["label"], why)] += 1
        r["apart_by"] = why
        if args.verbose:
            print(f"{r['n']:>4} {r['band']} {r['label']:<9} {why:<28} {r.get('class', '')}")
    for (label, why), n in sorted(tally.items()):
        print(f"{label:<9} {why:<28} {n}")
    if args.write:
        with open(args.labels, "w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)


def _handcheck_parsers(sub: Any) -> None:
    """The hand-check 5 commands' options."""
    p = sub.add_parser("handcheck-draw")
    p.add_argument("--per-band", type=int, default=26)
    p.add_argument("--seed", type=int, default=2055)
    p.add_argument("--out", default=str(WORK / "synd-handcheck5-scores.csv"))
    p.add_argument("--blind", default=str(WORK / "synd-handcheck5-blind.txt"))
    p.add_argument("--pool-out", default=str(HANDCHECK5_POOL))
    p.add_argument("--exclude", nargs="*", default=[],
                   help="later hand lists whose pairs leave the pool (only their ids read)")  # fmt: skip
    p = sub.add_parser("handcheck-score")
    p.add_argument("--labels", default=str(HANDCHECK5))
    p.add_argument("--pool", default=str(HANDCHECK5_POOL))
    p.add_argument("--precision", default=str(HANDCHECKS[-1]))
    p.add_argument("--reps", type=int, default=10_000)
    p.add_argument("--different-classes", nargs="*", default=[])
    p.add_argument("--after", help="folder of source databases clustered by a changed "
                   "pipeline: recall/precision of its stories on this list (totals only)")  # fmt: skip
    p = sub.add_parser("labelled-set")
    p.add_argument("--part", choices=["tune", "test"], default="test")
    p.add_argument("--limit", type=int, default=4000)
    p.add_argument("--seed", type=int, default=17)
    p.add_argument("--reps", type=int, default=10_000)
    p.add_argument("--lists", type=int, nargs="+", choices=sorted(HELD_OUT), default=[5, 9],
                   help="held-out hand lists, each weighted to its pool")  # fmt: skip
    p.add_argument("--after", default=str(WORK),
                   help="folder of the source databases clustered at the defaults")  # fmt: skip
    p = sub.add_parser("candidate-misses")
    p.add_argument("--exclude", nargs="*", default=[str(HANDCHECK5)])
    p = sub.add_parser("handcheck-why")
    p.add_argument("--labels", default=str(HANDCHECK5))
    p.add_argument("--verbose", action="store_true")
    p.add_argument("--write", action="store_true")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pairs")
    p.add_argument("--part", choices=["tune", "test"], default="test")
    p.add_argument("--limit", type=int, default=4000)
    p.add_argument("--seed", type=int, default=17)
    p.add_argument("--jaccard", type=float, nargs="+", default=[StoryOptions().jaccard])
    p.add_argument("--containment", type=float, nargs="+", default=[StoryOptions().containment])
    p.add_argument("--misses", action="store_true")
    p.add_argument("--shingle", type=int, default=5)
    p.add_argument("--lsh", type=float, default=0.3)
    p.add_argument("--examples", action="store_true")
    p.add_argument("--max-lag-days", type=int, default=StoryOptions().max_lag_days)
    p = sub.add_parser("candidates")
    p.add_argument("--sample", type=int, default=90)
    p.add_argument("--seed", type=int, default=17)
    p.add_argument("--out", default=str(WORK / "synd-candidates.txt"))
    sub.add_parser("counts")
    p = sub.add_parser("sample")
    p.add_argument("--n", type=int, default=110)
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--jaccard", type=float, default=0.8)
    p.add_argument("--containment", type=float, default=0.9)
    p.add_argument("--out", default=str(WORK / "synd-sample.txt"))
    p.add_argument("--parts", nargs="+", choices=PARTS, default=["test", "tune"])
    p = sub.add_parser("realpairs")
    p.add_argument("--shingle", type=int, default=5)
    p.add_argument("--jaccard", type=float, nargs="+", default=[0.8])
    p.add_argument("--containment", type=float, nargs="+", default=[0.9])
    p.add_argument("--figures", type=float, default=StoryOptions().figures)
    p.add_argument("--short-titles", type=float, default=StoryOptions().short_titles)
    p.add_argument("--labels", default=str(HANDCHECK))
    p.add_argument("--tables", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--max-lag-days", type=int, default=StoryOptions().max_lag_days)
    _handcheck_parsers(sub)
    p = sub.add_parser("shingle")
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--seed", type=int, default=17)
    p = sub.add_parser("scale")
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=17)
    p.add_argument("--batch", type=int, default=5000)
    p.add_argument("--direct", action="store_true", help="insert replicas without ingest")
    p.add_argument("--progress", action="store_true")
    p.add_argument("--generate-only", action="store_true", help="only write the replicas")
    p.add_argument("--workers", type=int, default=1, help="shingling processes")
    p.add_argument("--memory-limit", default="3GB", help="DuckDB's memory_limit")
    p.add_argument("--db", help="the replica database (default: by --n, in the work folder)")
    p.add_argument("--copy-from", help="with --direct: copy a smaller replica's articles first")
    p.add_argument("--partial", action="store_true",
                   help="cluster the replicas a stopped --generate-only wrote")  # fmt: skip
    p.add_argument("--profile-add", help="write a cProfile of the 1%% add to this file")
    p.add_argument("--stop-before-add", action="store_true",
                   help="stop after the full run, the 1%% stored (a state for `add`)")  # fmt: skip
    p = sub.add_parser("add", help="time only the 1%% add from a saved state")
    p.add_argument("--before", required=True, help="a `scale --stop-before-add` database")
    p.add_argument("--db", required=True, help="where to copy it and add")
    p.add_argument("--batch", type=int, default=10_000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--memory-limit", default="3GB", help="DuckDB's memory_limit")
    p.add_argument("--profile-add", help="write a cProfile of the (last) add to this file")
    p.add_argument("--dump", help="write the outputs as PREFIX.<table>.parquet")
    p.add_argument("--full", type=float, nargs=2, metavar=("WALL", "CPU"),
                   help="the full run's seconds, to print the add as a share of them")  # fmt: skip
    args = ap.parse_args(argv)
    {"pairs": cmd_pairs, "candidates": cmd_candidates, "counts": cmd_counts,
     "scale": cmd_scale, "add": cmd_add, "shingle": cmd_shingle, "realpairs": cmd_realpairs, "sample": cmd_sample,
     "handcheck-draw": cmd_handcheck_draw, "handcheck-score": cmd_handcheck_score,
     "handcheck-why": cmd_handcheck_why, "labelled-set": cmd_labelled_set,
     "candidate-misses": cmd_candidate_misses}[args.cmd](args)  # fmt: skip
    sys.stdout.flush()


if __name__ == "__main__":
    main()
