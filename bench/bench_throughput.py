"""Throughput: end-to-end ingest + analyze vs spaCy's own ``nlp.pipe`` ceiling (issues 6, 20).

One process, one sample of Reuters TRAIN (the first ``--n`` distinct articles in file order,
written once as JSONL), the same texts, the same model and components as
``workbench.nlp.extract.pipeline()`` (senter, ner, lookup lemmatizer), the same number of
processes (``n_process`` = ``workers``):

- **bare**: ``for doc in nlp.pipe(texts, batch_size=64, n_process=W): pass`` over the texts
  already in memory (spaCy's ceiling: no I/O, no rows, no database);
- **bare, previous pipeline**: the same over the pipeline before issue 20 (tok2vec, tagger,
  senter, attribute_ruler, rule lemmatizer, ner; parser excluded), for the speed-up;
- both bare runs again at the batch size ``extract`` uses (``extract.NLP_BATCH``, 16) when it
  is not 64: the targets stay against batch 64, and these lines show how much of a ratio is
  the batch size rather than the pipeline;
- **workbench**: ``Workbench.ingest(jsonl)`` + ``extract(workers=W)`` + the rest of
  ``analyze()`` (resolve, themes, tone, quotes, search index, aggregates) into a fresh DuckDB
  file; ingest+extract and ingest+analyze are both reported against bare;
- **naive**: a per-document ``nlp(text)`` loop, one ``INSERT`` per article, sentence and
  mention (what a first script usually does), into a fresh DuckDB file.

The variants alternate (``--rounds``, best of each kept) so background load hits all.
Words are whitespace-split words of the article texts (``articles.n_words``), the same
count for all. CPU seconds (this process + reaped workers) hardly move with outside load,
wall time does: the speed-up and the ratios are given in both (CPU: the median of the
rounds; with 2 rounds their mean). The CPU seconds of each stage inside ``analyze()`` are
printed too, and the ratio without ``resolve``. Targets: extraction speed-up
(words/CPU-s, new / previous) >= 1.7; ingest+extract / bare >= 0.90; ingest+analyze / bare
>= 0.85; workbench / naive >= 2.0.

    .venv/bin/python bench/bench_throughput.py [--n 2000] [--workers 2] [--rounds 2] [--same-output]

``--same-output`` first checks that the previous and the new pipeline find the same entities
and sentence starts on every text (the dropped components feed neither).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import time
from pathlib import Path

import benchlib as bl


def write_sample(n: int) -> Path:
    """The first ``n`` distinct Reuters TRAIN articles as JSONL (cached)."""
    from workbench.ingest.load import Article, load

    out = bl.WORK / f"reuters_sample_{n}.jsonl"
    if out.exists():
        return out
    seen: set[str] = set()
    tmp = out.with_suffix(".part")
    with tmp.open("w", encoding="utf-8") as fh:
        for a in load([bl.REUTERS_GLOB]):
            if not isinstance(a, Article) or a.article_id in seen:
                continue
            seen.add(a.article_id)
            row = {"text": a.text, "date": a.date.isoformat() if a.date else None}
            row |= {"title": a.title, "source": a.source or "Reuters"}
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            if len(seen) >= n:
                break
    tmp.rename(out)
    return out


def cpu_seconds() -> float:
    """User + system CPU of this process and of its reaped children (worker processes)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def fresh_db(name: str) -> Path:
    db = bl.WORK / name
    for p in (db, Path(str(db) + ".wal")):
        if p.exists():
            p.unlink()
    return db


#: The stages ``Workbench.analyze`` runs after extraction, in its order (the methods timed).
LATER_STAGES = (
    "resolve",
    "tag_themes",
    "score_tone",
    "find_quotes",
    "find_stories",
    "index_search",
    "refresh_aggregates",
)


def _timed(fn, cpu: dict[str, float], name: str):
    def call(*a, **k):
        c0 = cpu_seconds()
        try:
            return fn(*a, **k)
        finally:
            cpu[name] = cpu.get(name, 0.0) + cpu_seconds() - c0

    return call


def run_workbench(sample: Path, workers: int) -> dict:
    """Wall and CPU seconds of ingest, extract and the rest of ``analyze`` into a fresh file,
    and the CPU seconds of each later stage inside that ``analyze()`` (its methods wrapped
    on the instance: ``analyze`` calls them through ``self``)."""
    from workbench import Workbench

    db = fresh_db("tp_workbench.duckdb")
    t = [time.perf_counter()]
    c = [cpu_seconds()]
    stage_cpu: dict[str, float] = {}
    with Workbench(db) as wb:
        for name in LATER_STAGES:
            setattr(wb, name, _timed(getattr(wb, name), stage_cpu, name))
        wb.ingest([sample], format="jsonl", progress=False)
        t.append(time.perf_counter())
        c.append(cpu_seconds())
        res = wb.extract(workers=workers, progress=False)
        t.append(time.perf_counter())
        c.append(cpu_seconds())
        wb.analyze(workers=workers, progress=False)  # extraction done: every later stage
        t.append(time.perf_counter())
        c.append(cpu_seconds())
        counts = {"articles": res.articles, "sentences": res.sentences, "mentions": res.mentions}
    return {
        "ingest": t[1] - t[0],
        "extract": t[2] - t[1],
        "rest": t[3] - t[2],
        "ingest_extract": t[2] - t[0],
        "analyze": t[3] - t[0],
        "cpu_ingest_extract": c[2] - c[0],
        "cpu_analyze": c[3] - c[0],
        "cpu_analyze_less_resolve": c[3] - c[0] - stage_cpu.get("resolve", 0.0),
        "stage_cpu": stage_cpu,
        "counts": counts,
    }


def previous_pipeline():
    """The extraction pipeline before issue 20: every component but the parser, senter on."""
    from workbench.nlp.pipeline import load_model

    nlp = load_model(exclude=("parser",))
    if "senter" in nlp.disabled:
        nlp.enable_pipe("senter")
    return nlp


#: The batch size of the bare ``nlp.pipe`` figures (spaCy's usual; the targets are against it).
BARE_BATCH = 64
SIDE_NAMES = {
    "prev": "bare previous pipeline",
    "bare": "bare",
    "prev_wb": "bare previous pipeline",
    "bare_wb": "bare",
}


def run_bare(nlp, texts: list[str], workers: int, *, batch_size: int = BARE_BATCH) -> float:
    t0 = time.perf_counter()
    kw = {"n_process": workers} if workers > 1 else {}
    for _doc in nlp.pipe(texts, batch_size=batch_size, **kw):
        pass
    return time.perf_counter() - t0


def run_naive(nlp, sample: Path) -> tuple[float, dict]:
    """Per-document ``nlp(text)``; one INSERT per article, sentence and mention."""
    import duckdb

    from workbench.base import store
    from workbench.ingest.load import Article, load
    from workbench.nlp.extract import MENTION_LABELS

    db = fresh_db("tp_naive.duckdb")
    con = duckdb.connect(str(db))
    store.migrate(con)
    n_s = n_m = 0
    t0 = time.perf_counter()
    for a in load([sample], format="jsonl"):
        if not isinstance(a, Article):
            continue
        con.execute(
            "INSERT INTO articles (article_id, date, title, source, text, origin, format,"
            " text_hash, n_chars, n_words) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [a.article_id, a.date, a.title, a.source, a.text, a.origin, a.format, a.text_hash]
            + [len(a.text), len(a.text.split())],
        )
        doc = nlp(a.text)
        for i, s in enumerate(doc.sents):
            con.execute(
                "INSERT INTO sentences (article_id, idx, start_char, end_char, text, tokens,"
                " lemmas) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [a.article_id, i, s.start_char, s.end_char, s.text]
                + [[t.text for t in s], [t.lemma_ for t in s]],
            )
            n_s += 1
            for e in s.ents:
                if e.label_ not in MENTION_LABELS:  # the labels extract stores
                    continue
                con.execute(
                    "INSERT INTO mentions (article_id, sentence_idx, start_char, end_char,"
                    " text, label) VALUES (?, ?, ?, ?, ?, ?)",
                    [a.article_id, i, e.start_char, e.end_char, e.text, e.label_],
                )
                n_m += 1
    dt_ = time.perf_counter() - t0
    con.close()
    return dt_, {"sentences": n_s, "mentions": n_m}


def same_output(old, new, texts: list[str]) -> tuple[int, int, int]:
    """(tokens, docs whose entities differ, docs whose sentence starts differ) between the
    previous and the new pipeline: only the lemmas may change."""
    tokens = ents = sents = 0
    for a, b in zip(old.pipe(texts, batch_size=64), new.pipe(texts, batch_size=64), strict=True):
        tokens += len(a)
        ents += [(e.start_char, e.end_char, e.label_) for e in a.ents] != [
            (e.start_char, e.end_char, e.label_) for e in b.ents
        ]
        sents += [t.is_sent_start for t in a] != [t.is_sent_start for t in b]
    return tokens, ents, sents


def _batch_figures(words: int, cpu_of: dict, wbt: list[dict], batch: int, med) -> None:
    """The bare figures again at the batch size ``extract`` uses (``NLP_BATCH``): what part
    of a ratio above is the batch size, and what is the pipeline."""
    print(f"bare nlp.pipe at the workbench's batch size ({batch}):")
    bl.figure("  bare nlp.pipe", words / med(cpu_of["bare_wb"]), "words/CPU-s")
    bl.figure("  bare nlp.pipe, previous pipeline", words / med(cpu_of["prev_wb"]), "words/CPU-s")
    bl.figure(
        "  extraction speed-up new / previous, both at this batch (CPU)",
        med(cpu_of["prev_wb"]) / med(cpu_of["bare_wb"]),
        "",
    )
    bl.figure(
        f"  speed-up new at {batch} / previous at {BARE_BATCH} (CPU)",
        med(cpu_of["prev"]) / med(cpu_of["bare_wb"]),
        "",
    )
    for key, label in (("ingest_extract", "ingest+extract"), ("analyze", "ingest+analyze")):
        cpu = med([x[f"cpu_{key}"] for x in wbt])
        bl.figure(f"  ratio {label} / bare at this batch (CPU)", med(cpu_of["bare_wb"]) / cpu, "")


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=2000, help="articles (Reuters TRAIN sample)")
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--rounds", type=int, default=2, help="alternating bare/workbench rounds")
    ap.add_argument("--no-naive", action="store_true", help="skip the naive loop")
    ap.add_argument(
        "--same-output", action="store_true", help="also compare entities and sentence starts"
    )
    args = ap.parse_args(argv)
    bl.need(bl.REUTERS)
    bl.WORK.mkdir(parents=True, exist_ok=True)
    sample = write_sample(args.n)

    from workbench import Workbench
    from workbench.nlp.extract import NLP_BATCH, pipeline

    nlp = pipeline()  # the extraction pipeline, loaded (and cached) before any timing
    old = previous_pipeline()
    # The texts exactly as extract sees them: as stored.
    probe = fresh_db("tp_probe.duckdb")
    with Workbench(probe) as wb:
        wb.ingest([sample], format="jsonl", progress=False)
        df = wb.sql("SELECT text, n_words FROM articles")
    texts = df["text"].tolist()
    words = int(df["n_words"].sum())
    bl.header(
        "bench_throughput: ingest+analyze vs nlp.pipe (new and previous pipeline) vs naive",
        {
            "sample": f"{len(texts):,} Reuters TRAIN articles ({words:,} words), {sample}",
            "model": nlp.meta["name"] + "-" + nlp.meta["version"],
            "components": nlp.pipe_names,
            "previous components": old.pipe_names,
            "workers (n_process)": args.workers,
            "rounds": args.rounds,
        },
    )
    if args.same_output:
        tokens, ents, sents = same_output(old, nlp, texts)
        print(f"previous vs new pipeline over {len(texts):,} texts ({tokens:,} tokens):")
        bl.figure("  documents whose entities differ", ents, "", "0")
        bl.figure("  documents whose sentence starts differ", sents, "", "0")
    sides = {"prev": old, "bare": nlp}
    if NLP_BATCH != BARE_BATCH:
        sides |= {"prev_wb": old, "bare_wb": nlp}
    wall: dict[str, list[float]] = {k: [] for k in sides}
    cpu_of: dict[str, list[float]] = {k: [] for k in sides}
    wbt: list[dict] = []
    for r in range(args.rounds):
        for key, pipe in sides.items():
            bs = NLP_BATCH if key.endswith("_wb") else BARE_BATCH
            c0 = cpu_seconds()
            wall[key].append(run_bare(pipe, texts, args.workers, batch_size=bs))
            cpu_of[key].append(cpu_seconds() - c0)
            print(
                f"round {r + 1}: {SIDE_NAMES[key]} (batch {bs}) {wall[key][-1]:.1f}s,"
                f" {cpu_of[key][-1]:.1f} CPU-s (load {bl.loadavg()})",
                flush=True,
            )
        w = run_workbench(sample, args.workers)
        wbt.append(w)
        print(
            f"round {r + 1}: workbench ingest {w['ingest']:.1f}s + extract {w['extract']:.1f}s"
            f" + rest of analyze {w['rest']:.1f}s = {w['analyze']:.1f}s;"
            f" CPU ingest+extract {w['cpu_ingest_extract']:.1f}s, analyze"
            f" {w['cpu_analyze']:.1f}s {w['counts']} (load {bl.loadavg()})",
            flush=True,
        )
        print(
            f"round {r + 1}: CPU-s of the later stages inside analyze(): "
            + ", ".join(f"{k} {v:.2f}" for k, v in w["stage_cpu"].items()),
            flush=True,
        )
    bare, cpu_bare, prev, cpu_prev = wall["bare"], cpu_of["bare"], wall["prev"], cpu_of["prev"]

    def med(v: list[float]) -> float:
        return statistics.median(v)

    b = min(bare)
    out = {"bare_wps": words / b, "bare_wpcpu": words / med(cpu_bare)}
    bl.figure("bare nlp.pipe", words / b, "words/s")
    bl.figure("bare nlp.pipe", words / med(cpu_bare), "words/CPU-s")
    bl.figure("bare nlp.pipe, previous pipeline", words / min(prev), "words/s")
    bl.figure("bare nlp.pipe, previous pipeline", words / med(cpu_prev), "words/CPU-s")
    out["speedup_cpu"] = med(cpu_prev) / med(cpu_bare)
    bl.figure("extraction speed-up new / previous (CPU time)", out["speedup_cpu"], "", ">= 1.7")
    bl.figure("extraction speed-up new / previous (wall, best)", min(prev) / b, "")
    for key, label, target in (
        ("ingest_extract", "ingest+extract", ">= 0.90"),
        ("analyze", "ingest+analyze (every stage)", ">= 0.85"),
    ):
        best = min(x[key] for x in wbt)
        cpu = med([x[f"cpu_{key}"] for x in wbt])
        bl.figure(f"workbench {label}", words / best, "words/s")
        bl.figure(f"workbench {label}", words / cpu, "words/CPU-s")
        bl.figure(f"ratio {label} / bare (wall, best of rounds)", b / best, "", target)
        bl.figure(f"ratio {label} / bare (CPU time, median)", med(cpu_bare) / cpu, "", target)
        out[f"ratio_{key}"] = b / best
        out[f"ratio_{key}_cpu"] = med(cpu_bare) / cpu
    # resolve is the corpus-level stage (actors, countries); the ratio without it shows
    # what the per-article stages cost on their own.
    cpu = med([x["cpu_analyze_less_resolve"] for x in wbt])
    bl.figure(
        "ratio ingest+analyze less resolve / bare (CPU time, median)", med(cpu_bare) / cpu, ""
    )
    out["ratio_analyze_less_resolve_cpu"] = med(cpu_bare) / cpu
    for name in LATER_STAGES:
        bl.figure(
            f"  CPU-s of {name} in analyze() (median)",
            med([x["stage_cpu"][name] for x in wbt]),
            "s",
        )
    if "bare_wb" in cpu_of:
        _batch_figures(words, cpu_of, wbt, NLP_BATCH, med)
    w_total = min(x["ingest_extract"] for x in wbt)
    if not args.no_naive:
        c0 = cpu_seconds()
        n_t, n_counts = run_naive(nlp, sample)
        n_cpu = cpu_seconds() - c0
        print(f"naive: {n_t:.1f}s, {n_cpu:.1f} CPU-s {n_counts} (load {bl.loadavg()})", flush=True)
        bl.figure("naive nlp(text) + row inserts", words / n_t, "words/s")
        bl.figure("ratio workbench / naive", n_t / w_total, "", ">= 2.0")
        out["naive_wps"] = words / n_t
        out["ratio_naive"] = n_t / w_total
    print(f"loadavg after: {bl.loadavg()}")
    return out


if __name__ == "__main__":
    main()
