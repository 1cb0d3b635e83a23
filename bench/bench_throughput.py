"""Throughput: end-to-end ingest + analyze vs spaCy's own ``nlp.pipe`` ceiling (issues 6, 20).

One sample of Reuters TRAIN (the first ``--n`` distinct articles in file order, written once
as JSONL), the same texts, the same model and components as ``workbench.nlp.extract.pipeline()``
(senter, ner, lookup lemmatizer), the same number of processes (``n_process`` = ``workers``).
Three sides, **each timed in a fresh Python process** (this script with ``--side``), as a new
``workbench analyze`` runs:

- **bare**: ``for doc in nlp.pipe(texts, batch_size=B, n_process=W): pass`` over the texts,
  already in memory, as stored (spaCy's ceiling: no I/O, no rows, no database);
- **prev**: the same over the pipeline before issue 20 (tok2vec, tagger, senter,
  attribute_ruler, rule lemmatizer, ner; parser excluded), for the extraction speed-up
  (``--prev-python PY``: under another interpreter, e.g. a venv of the pins before the
  change, so the speed-up is against that pipeline on the spaCy it shipped with);
- **analyze**: ``Workbench.ingest(jsonl)`` + ``analyze()`` (extract, resolve, themes, tone,
  quotes, stories, search index, aggregates) into a fresh DuckDB file.

Each side loads its spaCy pipeline before its clock starts; everything else a fresh process
pays (indexes, taxonomy, lexicons, imports) is on the clock of ``analyze``. B is the batch size
``extract`` uses (``extract.NLP_BATCH``) unless ``--batch`` says otherwise, so both sides parse
alike. The sides are interleaved (prev, bare, analyze; then analyze, bare, prev; ...), so
every round's bare ran next to the sides it is compared with, and each ratio is computed
**within a round**: the figure is the median of the per-round ratios, printed with their range
(outside load moves all sides of a round alike, and moves rounds apart). The measure is CPU
seconds of the side's process and its reaped children (user + system; DuckDB's threads
included); wall seconds are printed per round for reference only. ``--warm`` also times a
second ingest + analyze in the same process (what the first-call costs are). Words are
whitespace-split words of the texts (``articles.n_words``). Targets: extraction speed-up
(words/CPU-s, new / previous) >= 1.7; ingest+extract / bare >= 0.90; ingest+analyze / bare
>= 0.85; workbench / naive >= 2.0 (``naive``: a per-document ``nlp(text)`` loop with one
``INSERT`` per row, in this process, wall).

    .venv/bin/python bench/bench_throughput.py [--n 400] [--workers 1] [--rounds 3] [--no-naive]

``--paired`` adds, per round, one more fresh process that runs both pipelines alternately on
slices of ``2 * B`` texts and sums each one's CPU: the speed-up with the minute-to-minute drift
of these shared cores mostly cancelled (each slice's two sides run seconds apart).

``--before TREE`` (a ``git archive`` of the code before a change) times that tree's analyze
side too, in the same rounds, next to this tree's (before it in odd rounds, after it in even
ones), and prints its ratio and the after / before CPU per round: a change is measured against
the same minutes' bare. ``--no-prev`` leaves the previous pipeline out (the ratio alone). The
wall words/s of bare and analyze and their per-round ratio are printed beside the CPU figures
(with ``--workers`` > 1 they are what the two parallel sides give on the same cores).

``--same-output`` first checks that the previous and the new pipeline find the same entities
and sentence starts on every text (the dropped components feed neither).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
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
    on the instance: ``analyze`` calls them through ``self``). ``analyze`` runs extraction
    itself, as ``workbench analyze`` does (what it computes along extraction is timed there)."""
    from workbench import Workbench

    db = fresh_db("tp_workbench.duckdb")
    t0, c0 = time.perf_counter(), cpu_seconds()
    stage_cpu: dict[str, float] = {}
    stage_wall: dict[str, float] = {}
    with Workbench(db) as wb:
        for name in LATER_STAGES:
            setattr(wb, name, _timed(getattr(wb, name), stage_cpu, name))
        extract_ = wb.extract

        def timed_extract(**kw):
            w0 = time.perf_counter()
            try:
                return _timed(extract_, stage_cpu, "extract")(**kw)
            finally:
                stage_wall["extract"] = time.perf_counter() - w0

        wb.extract = timed_extract
        wb.ingest([sample], format="jsonl", progress=False)
        t1, c1 = time.perf_counter(), cpu_seconds()
        out = wb.analyze(workers=workers, progress=False)
        t2, c2 = time.perf_counter(), cpu_seconds()
        res = out["extract"]
        counts = {"articles": res.articles, "sentences": res.sentences, "mentions": res.mentions}
    return {
        "ingest": t1 - t0,
        "extract": stage_wall["extract"],
        "rest": t2 - t1 - stage_wall["extract"],
        "ingest_extract": t1 - t0 + stage_wall["extract"],
        "analyze": t2 - t0,
        "cpu_ingest_extract": c1 - c0 + stage_cpu["extract"],
        "cpu_analyze": c2 - c0,
        "cpu_analyze_less_resolve": c2 - c0 - stage_cpu.get("resolve", 0.0),
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


#: spaCy's usual batch size (``--same-output``; ``--batch 64`` times bare at it).
BARE_BATCH = 64


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


#: The sides of one round, each timed in its own fresh process.
SIDES = ("prev", "bare", "analyze")
#: ``--paired``: one more process per round that times both pipelines slice by slice.
PAIR = "pair"
#: ``--before TREE``: the analyze side once more per round, with another tree's code.
BEFORE = "before"


def _side_order(r: int, *, prev: bool = True) -> tuple[str, ...]:
    """prev, bare, analyze in odd rounds, reversed in even ones (ABC CBA ...): bare always
    runs next to each side it is compared with, and no side always runs first. Without
    ``prev`` (``--no-prev``: the ratio alone) bare and analyze alternate the same way."""
    sides = SIDES if prev else tuple(s for s in SIDES if s != "prev")
    return sides if r % 2 == 0 else sides[::-1]


def _round_sides(r: int, args: argparse.Namespace) -> tuple[str, ...]:
    """The sides of round ``r``: ``_side_order``, with ``before`` beside ``analyze`` (before
    it in even rounds, after it in odd ones), then ``pair``."""
    sides = list(_side_order(r, prev=not args.no_prev))
    if args.before:
        i = sides.index("analyze")
        sides.insert(i if r % 2 == 0 else i + 1, BEFORE)
    return (*sides, *((PAIR,) if args.paired else ()))


def _child_bare(texts: list[str], workers: int, batch: int, previous: bool) -> dict:
    """One bare ``nlp.pipe`` over the texts, the pipeline loaded before the clock starts."""
    import spacy

    from workbench.nlp.extract import pipeline

    nlp = previous_pipeline() if previous else pipeline()
    c0 = cpu_seconds()
    wall = run_bare(nlp, texts, workers, batch_size=batch)
    return {"cpu": cpu_seconds() - c0, "wall": wall, "spacy": spacy.__version__}


def _child_pair(texts: list[str], batch: int) -> dict:
    """Both pipelines in one process, alternating on slices of ``2 * batch`` texts (previous
    first on even slices, the new one first on odd ones), CPU summed per pipeline.

    Why: on these shared cores the CPU cost of the same work drifts by ~15 % between
    minutes; sides timed seconds apart on the same slice see the same drift, so their ratio
    keeps little of it. The first slice warms both (lemma cache, first batch) and is not
    counted."""
    from workbench.nlp.extract import pipeline

    nlps = {"prev": previous_pipeline(), "bare": pipeline()}
    step = 2 * batch
    for nlp in nlps.values():
        run_bare(nlp, texts[:step], 1, batch_size=batch)
    cpu = dict.fromkeys(nlps, 0.0)
    t0 = time.perf_counter()
    for i, lo in enumerate(range(step, len(texts), step)):
        for side in ("prev", "bare") if i % 2 == 0 else ("bare", "prev"):
            c0 = cpu_seconds()
            run_bare(nlps[side], texts[lo : lo + step], 1, batch_size=batch)
            cpu[side] += cpu_seconds() - c0
    out = {"cpu_prev": cpu["prev"], "cpu_bare": cpu["bare"], "cpu": sum(cpu.values())}
    return out | {"wall": time.perf_counter() - t0}


def _child_analyze(sample: Path, workers: int, warm: bool) -> dict:
    """Ingest + every stage of ``analyze()`` into a fresh file, as a new ``workbench`` process
    does it: the spaCy pipeline is loaded before the clock starts (bare loads it outside its
    clock too); every other first-call cost (indexes, taxonomy, lexicons, imports) is timed."""
    from workbench.nlp.extract import pipeline

    pipeline()
    w = run_workbench(sample, workers)
    out = {"cpu": w["cpu_analyze"], "wall": w["analyze"], "stage_cpu": w["stage_cpu"]}
    out |= {"cpu_ingest_extract": w["cpu_ingest_extract"], "counts": w["counts"]}
    if warm:  # the same again in this process: what the first-call costs were
        out["cpu_warm"] = run_workbench(sample, workers)["cpu_analyze"]
    return out


def child(argv: list[str]) -> None:
    """``--side SIDE``: time one side in this (fresh) process and print it as JSON."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--side", choices=(*SIDES, PAIR), required=True)
    ap.add_argument("--texts", type=Path, required=True)
    ap.add_argument("--sample", type=Path, required=True)
    ap.add_argument("--workers", type=int, required=True)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--warm", action="store_true")
    a = ap.parse_args(argv)
    if a.side == "analyze":
        out = _child_analyze(a.sample, a.workers, a.warm)
    else:
        texts = json.loads(a.texts.read_text(encoding="utf-8"))
        if a.side == PAIR:
            out = _child_pair(texts, a.batch)
        else:
            out = _child_bare(texts, a.workers, a.batch, a.side == "prev")
    print("RESULT " + json.dumps(out | {"load": bl.loadavg()}), flush=True)


def run_side(side: str, paths: tuple[Path, Path], args: argparse.Namespace, batch: int) -> dict:
    """One side in a fresh interpreter (this script, ``--side``); its JSON result. ``before``
    is the analyze side of the tree ``--before`` names, run from there with its own code."""
    script, env, cwd, python = __file__, None, None, sys.executable
    if side == "prev" and args.prev_python:  # this tree's code, another install's libraries
        python = str(args.prev_python)
        env = os.environ | {"PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    if side == BEFORE:
        tree = args.before.resolve()
        script, cwd, side = str(tree / "bench" / "bench_throughput.py"), tree, "analyze"
        env = os.environ | {"PYTHONPATH": str(tree)}
    cmd = [python, script, "--side", side, "--texts", str(paths[0])]
    cmd += ["--sample", str(paths[1]), "--workers", str(args.workers), "--batch", str(batch)]
    cmd += ["--warm"] if args.warm and side == "analyze" else []
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env, cwd=cwd)
    lines = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    if proc.returncode or not lines:
        raise SystemExit(f"bench side {side!r} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT ") :])


def _spread(label: str, values: list[float], target: str = "") -> float:
    """The median of per-round values, printed with their range."""
    m = statistics.median(values)
    lo, hi = min(values), max(values)
    bl.figure(f"{label} (median of {len(values)} rounds; range {lo:.3f}-{hi:.3f})", m, "", target)
    return m


def _report(words: int, rounds: list[dict[str, dict]]) -> dict[str, float]:
    """Per-round ratios (sides of the same round ran back to back) and their medians."""
    med = statistics.median
    sides = [s for s in SIDES if all(s in r for r in rounds)]
    cpu = {s: [r[s]["cpu"] for r in rounds] for s in sides}
    wall = {s: [r[s]["wall"] for r in rounds] for s in sides}
    for side, label in (("bare", "bare nlp.pipe"), ("analyze", "workbench ingest+analyze")):
        bl.figure(f"{label} (median CPU)", words / med(cpu[side]), "words/CPU-s")
        bl.figure(f"{label} (median wall)", words / med(wall[side]), "words/s")
    out = {}
    if "prev" in sides:
        bl.figure(
            "bare nlp.pipe, previous pipeline (median CPU)", words / med(cpu["prev"]), "words/CPU-s"
        )
        out["speedup_cpu"] = _spread(
            "extraction speed-up new / previous, per round (CPU)",
            [p / b for p, b in zip(cpu["prev"], cpu["bare"], strict=True)],
            ">= 1.7",
        )
    out["ratio_analyze_cpu"] = _spread(
        "ratio ingest+analyze (every stage) / bare, per round (CPU)",
        [b / a for b, a in zip(cpu["bare"], cpu["analyze"], strict=True)],
        ">= 0.85",
    )
    out["ratio_analyze_wall"] = _spread(
        "ratio ingest+analyze (every stage) / bare, per round (wall words/s)",
        [b / a for b, a in zip(wall["bare"], wall["analyze"], strict=True)],
    )
    ie = [r["analyze"]["cpu_ingest_extract"] for r in rounds]
    out["ratio_ingest_extract_cpu"] = _spread(
        "ratio ingest+extract / bare, per round (CPU)",
        [b / x for b, x in zip(cpu["bare"], ie, strict=True)],
        ">= 0.90",
    )
    less = [r["analyze"]["cpu"] - r["analyze"]["stage_cpu"]["resolve"] for r in rounds]
    out["ratio_analyze_less_resolve_cpu"] = _spread(
        "ratio ingest+analyze less resolve / bare, per round (CPU)",
        [b / x for b, x in zip(cpu["bare"], less, strict=True)],
    )
    if all(BEFORE in r for r in rounds):
        _report_before(rounds)
    if all(PAIR in r for r in rounds):
        out["speedup_paired_cpu"] = _spread(
            "extraction speed-up new / previous, paired slice by slice in one process (CPU)",
            [r[PAIR]["cpu_prev"] / r[PAIR]["cpu_bare"] for r in rounds],
            ">= 1.7",
        )
    if all("cpu_warm" in r["analyze"] for r in rounds):
        out["ratio_analyze_warm_cpu"] = _spread(
            "ratio ingest+analyze, second run in the process / bare, per round (CPU)",
            [r["bare"]["cpu"] / r["analyze"]["cpu_warm"] for r in rounds],
        )
    for name in LATER_STAGES:
        v = [r["analyze"]["stage_cpu"][name] for r in rounds]
        bl.figure(
            f"  CPU-s of {name} in analyze() (median; range {min(v):.2f}-{max(v):.2f})", med(v), "s"
        )
    return out


def _report_before(rounds: list[dict[str, dict]]) -> None:
    """The ratio with the ``--before`` tree's analyze, and each stage's CPU there."""
    _spread(
        "ratio ingest+analyze BEFORE / bare, per round (CPU)",
        [r["bare"]["cpu"] / r[BEFORE]["cpu"] for r in rounds],
    )
    _spread(
        "ratio ingest+analyze BEFORE / bare, per round (wall words/s)",
        [r["bare"]["wall"] / r[BEFORE]["wall"] for r in rounds],
    )
    _spread(
        "analyze CPU after / before, per round",
        [r["analyze"]["cpu"] / r[BEFORE]["cpu"] for r in rounds],
    )
    for key in ("cpu_ingest_extract", *LATER_STAGES):
        v = [r[BEFORE]["stage_cpu"][key] if key in LATER_STAGES else r[BEFORE][key] for r in rounds]
        bl.figure(
            f"  BEFORE: CPU-s of {key} (median; range {min(v):.2f}-{max(v):.2f})",
            statistics.median(v),
            "s",
        )


def _print_round(r: int, side: str, res: dict, batch: int) -> None:
    what = {"prev": f"bare previous pipeline (batch {batch})", "bare": f"bare (batch {batch})"}
    what[PAIR] = f"paired slices (batch {batch})"
    what[BEFORE] = "BEFORE tree: workbench ingest+analyze"
    line = f"round {r + 1}: {what.get(side, 'workbench ingest+analyze')}"
    line += f" {res['wall']:.1f}s, {res['cpu']:.2f} CPU-s (load {res['load']})"
    line += f" [spaCy {res['spacy']}]" if "spacy" in res else ""
    if side in ("analyze", BEFORE):
        line += f"; ingest+extract {res['cpu_ingest_extract']:.2f} CPU-s; later stages: "
        line += ", ".join(f"{k} {v:.2f}" for k, v in res["stage_cpu"].items() if k in LATER_STAGES)
        line += f"; second run {res['cpu_warm']:.2f} CPU-s" if "cpu_warm" in res else ""
    if side == PAIR:
        line += f": previous {res['cpu_prev']:.2f}, new {res['cpu_bare']:.2f} CPU-s"
        line += f" (ratio {res['cpu_prev'] / res['cpu_bare']:.3f})"
    print(line, flush=True)


def _setup(args: argparse.Namespace) -> tuple[Path, Path, int, list[str]]:
    """The sample, and its texts exactly as extract sees them (as stored), written once."""
    from workbench import Workbench

    sample = write_sample(args.n)
    probe = fresh_db("tp_probe.duckdb")
    with Workbench(probe) as wb:
        wb.ingest([sample], format="jsonl", progress=False)
        df = wb.sql("SELECT text, n_words FROM articles")  # extract's order: as stored
    texts = df["text"].tolist()
    texts_path = bl.WORK / f"tp_texts_{args.n}.json"
    texts_path.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    return sample, texts_path, int(df["n_words"].sum()), texts


def _others(args: argparse.Namespace, sample: Path, texts: list[str], words: int) -> dict:
    """``--same-output`` and the naive loop, in this process."""
    from workbench.nlp.extract import pipeline

    out: dict[str, float] = {}
    if not (args.same_output or not args.no_naive):
        return out
    nlp = pipeline()
    if args.same_output:
        tokens, ents, sents = same_output(previous_pipeline(), nlp, texts)
        print(f"previous vs new pipeline over {len(texts):,} texts ({tokens:,} tokens):")
        bl.figure("  documents whose entities differ", ents, "", "0")
        bl.figure("  documents whose sentence starts differ", sents, "", "0")
    if not args.no_naive:
        w_cpu = cpu_seconds()
        w_t = run_workbench(sample, args.workers)["ingest_extract"]
        w_cpu = cpu_seconds() - w_cpu
        n_t, n_counts = run_naive(nlp, sample)
        print(
            f"naive: {n_t:.1f}s {n_counts}; workbench ingest+extract {w_t:.1f}s ({w_cpu:.1f} CPU-s)"
        )
        bl.figure("naive nlp(text) + row inserts", words / n_t, "words/s")
        bl.figure("ratio workbench ingest+extract / naive (wall)", n_t / w_t, "", ">= 2.0")
        out |= {"naive_wps": words / n_t, "ratio_naive": n_t / w_t}
    return out


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=2000, help="articles (Reuters TRAIN sample)")
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (>= 3 for a figure)")
    ap.add_argument("--batch", type=int, default=0, help="bare batch size (0: extract's own)")
    ap.add_argument("--warm", action="store_true", help="also a second analyze per process")
    ap.add_argument("--no-naive", action="store_true", help="skip the naive loop")
    ap.add_argument(
        "--before",
        type=Path,
        help="a tree of the code before a change (git archive): its analyze side too, per round",
    )
    ap.add_argument(
        "--prev-python",
        type=Path,
        help="time the previous pipeline with this interpreter (a venv of the old pins: the "
        "speed-up against the pipeline as it shipped, on the spaCy it shipped with)",
    )
    ap.add_argument(
        "--no-prev",
        action="store_true",
        help="skip the previous pipeline (no extraction speed-up; the analyze ratio only)",
    )
    ap.add_argument(
        "--paired",
        action="store_true",
        help="also time both pipelines slice by slice in one process per round",
    )
    ap.add_argument(
        "--same-output", action="store_true", help="also compare entities and sentence starts"
    )
    args = ap.parse_args(argv)
    bl.need(bl.REUTERS)
    bl.WORK.mkdir(parents=True, exist_ok=True)
    from workbench.nlp.extract import NLP_BATCH

    batch = args.batch or NLP_BATCH
    sample, texts_path, words, texts = _setup(args)
    bl.header(
        "bench_throughput: ingest+analyze vs bare nlp.pipe, interleaved fresh processes",
        {
            "sample": f"{len(texts):,} Reuters TRAIN articles ({words:,} words), {sample}",
            "workers (n_process)": args.workers,
            "rounds": args.rounds,
            "bare batch size": batch,
            "workbench batch size": NLP_BATCH,
            "paired speed-up": "yes" if args.paired else "no",
        },
    )
    if args.rounds < 3:
        print(f"warning: {args.rounds} round(s): a smoke run, not a figure (use --rounds 3+)")
    rounds: list[dict[str, dict]] = []
    for r in range(args.rounds):
        rounds.append({})
        for side in _round_sides(r, args):
            rounds[-1][side] = run_side(side, (texts_path, sample), args, batch)
            _print_round(r, side, rounds[-1][side], batch)
    out = _report(words, rounds)
    out |= _others(args, sample, texts, words)
    print(f"loadavg after: {bl.loadavg()}")
    return out


if __name__ == "__main__":
    if "--side" in sys.argv[1:]:
        child(sys.argv[1:])
    else:
        main()
