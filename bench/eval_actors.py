"""Top people, actors and speakers on a corpus the registry was not written for (issue 14).

    python bench/eval_actors.py CORPUS [--db DB] [--build] [--limit N]
                                [--quotes-sample N --seed S]

Builds (``--build``) a database of the corpus at ``$WORKBENCH_BENCH_DIR/actors-<corpus>.duckdb``
(ru-ua: the first ``--limit`` rows of each of the four 2022 CSVs; bbc-politics: the 417 BBC
politics articles; bbc-business/-tech/-entertainment/-sport: the first ``--limit`` files of
that folder; reuters-notused: ``--limit`` Reuters-21578 NOT-USED documents in a fixed hash
order, none of them in the PEOPLE bench), resolves it with the current code and prints:

- the top-20 people and top-20 actors (``wb.top``), with two automatic checks: entries that
  share a surname (likely one person split in two) and entries the non-actor lexicon names;
- the top-10 speakers (quotes linked to an actor, fragments left out) and the speaker table
  of the report (``ReportData.speakers``);
- with ``--quotes-sample N``, N random attributed quotations (speaker phrase, resolved
  speaker, method and the text around it) for a hand check of the speaker.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchlib import WORK, need  # noqa: E402

from workbench import Filter, Workbench  # noqa: E402
from workbench.base import config  # noqa: E402
from workbench.nlp.actors import fold  # noqa: E402

SHARED = config.SHARED_DIR
CORPORA = {
    "ru-ua": SHARED / "corpora" / "ru-ua-2022",
    "bbc-politics": SHARED / "corpora" / "bbc-news" / "politics",
    **{
        f"bbc-{t}": SHARED / "corpora" / "bbc-news" / t
        for t in ("business", "tech", "entertainment", "sport")
    },
    "reuters-notused": SHARED / "corpora" / "reuters21578",
}


_NO_FRAGMENT = "NOT coalesce(q.fragment, false)"
_SPEAKERS_SQL = (
    "SELECT e.name AS speaker, count(*) AS quotes FROM quotes q JOIN entities e"
    " ON e.entity_id = q.speaker_entity_id WHERE NOT coalesce(q.fragment, false)"
    " GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10"
)
_SAMPLE_SQL = (
    "SELECT q.article_id, q.quote_idx, q.speaker, e.name, q.method, q.start_char,"
    " q.end_char, q.speaker_start, q.speaker_end, a.text FROM quotes q"
    " JOIN articles a USING (article_id) LEFT JOIN entities e"
    " ON e.entity_id = q.speaker_entity_id WHERE q.speaker IS NOT NULL"
    " AND NOT coalesce(q.fragment, false) ORDER BY q.article_id, q.quote_idx"
)


def build(wb: Workbench, corpus: str, limit: int) -> None:
    root = need(CORPORA[corpus])
    t0 = time.perf_counter()
    if corpus == "ru-ua":
        for csv_path in sorted(root.glob("*.csv")):
            wb.ingest([csv_path], limit=limit, progress=False)
    elif corpus == "reuters-notused":
        wb.ingest([str(root / "reut2-*.sgm")], progress=False)
        wb.sql(
            "DELETE FROM articles WHERE article_id NOT IN (SELECT article_id FROM articles"
            " WHERE meta->>'$.lewissplit' = 'NOT-USED' ORDER BY hash(article_id) LIMIT ?)",
            [limit],
        )
    elif corpus == "bbc-politics":
        wb.ingest([root], format="labelled", progress=False)
    else:
        wb.ingest([root], format="labelled", limit=limit, progress=False)
    print(wb.extract(progress=False))
    print(f"build: {time.perf_counter() - t0:.0f}s")


def _has(wb: Workbench, table: str, column: str) -> bool:
    return column in set(wb.sql(f"DESCRIBE {table}").column_name)  # noqa: S608


def checks(df, lexicon: set[str]) -> list[str]:
    """Entries of one top list that look like one person twice, or a non-actor."""
    out = []
    names = list(df.label)
    for i, a in enumerate(names):
        fa = fold(str(a)).split()
        if fold(str(a)) in lexicon:
            out.append(f"non-actor: {a}")
        for b in names[i + 1 :]:
            fb = fold(str(b)).split()
            if fa and fb and (fa[-1] == fb[-1]) and (len(fa) == 1 or len(fb) == 1):
                out.append(f"possible split: {a} / {b}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("corpus", choices=sorted(CORPORA))
    ap.add_argument("--db", default=None)
    ap.add_argument("--build", action="store_true")
    ap.add_argument("--limit", type=int, default=100, help="ru-ua: rows per CSV")
    ap.add_argument("--no-resolve", action="store_true")
    ap.add_argument("--quotes-sample", type=int, default=0)
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument(
        "--lexicon",
        default=str(Path(__file__).resolve().parents[1] / "data" / "registry" / "nonactors.yaml"),
        help="non-actor lexicon the top lists are checked against",
    )
    args = ap.parse_args()
    path = Path(args.db or WORK / f"actors-{args.corpus}.duckdb")
    if not path.exists() and not args.build:
        print(f"skip: {path} does not exist; build it with --build")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    import yaml

    lex = yaml.safe_load(Path(args.lexicon).read_text(encoding="utf-8"))["nonactors"]
    lexicon = {fold(n) for names in lex.values() for n in names}
    with Workbench(path) as wb:
        if args.build and not wb.sql("SELECT count(*) AS n FROM articles").n[0]:
            build(wb, args.corpus, args.limit)
        if not args.no_resolve:
            print(wb.resolve(progress=False))
            print(wb.find_quotes(progress=False))
        n = wb.sql("SELECT count(*) AS n FROM articles WHERE extracted_pipeline IS NOT NULL").n[0]
        print(f"corpus: {args.corpus}, {n} articles, db {path}")
        for kind in ("person", "actor"):
            top = wb.top(kind, n=20)
            print(f"\ntop-20 {kind}:")
            for r in top.itertuples():
                print(f"  {r.label:<40} {r.articles:>5} {r.share:.3f}  {r.key}")
            print("  checks:", checks(top, lexicon) or "none")
        frag = _has(wb, "quotes", "fragment")
        sp = wb.sql(_SPEAKERS_SQL if frag else _SPEAKERS_SQL.replace(_NO_FRAGMENT, "true"))
        print("\ntop-10 speakers (linked, no fragments):")
        for r in sp.itertuples():
            print(f"  {r.speaker:<40} {r.quotes:>5}")
        from workbench.present.report_data import ReportData

        rs = ReportData(wb, Filter()).speakers()
        print("report speaker table:", list(zip(rs.speaker, rs.quotes, strict=True))[:10])
        q = wb.sql("SELECT count(*) AS n, count(speaker) AS attributed FROM quotes")
        print(f"quotes: {q.n[0]}, attributed {q.attributed[0]}")
        if frag:
            f = wb.sql("SELECT count(*) AS n FROM quotes WHERE fragment").n[0]
            print(f"fragments (<= 3 words): {f}")
        if args.quotes_sample:
            sample_quotes(wb, args.quotes_sample, args.seed)


def sample_quotes(wb: Workbench, n: int, seed: int) -> None:
    """N random attributed, non-fragment quotations with their context, for a hand check."""
    frag = _has(wb, "quotes", "fragment")
    rows = wb.sql(_SAMPLE_SQL if frag else _SAMPLE_SQL.replace(_NO_FRAGMENT, "true"))
    rng = random.Random(seed)
    idx = sorted(rng.sample(range(len(rows)), min(n, len(rows))))
    for k, i in enumerate(idx, 1):
        r = rows.iloc[i]
        lo = max(0, min(r.start_char, r.speaker_start or r.start_char) - 250)
        hi = max(r.end_char, r.speaker_end or r.end_char) + 60
        ctx = " ".join(r.text[lo:hi].split())
        print(f"\n[{k}] {r.article_id[:10]}#{r.quote_idx} speaker={r.speaker!r} -> {r['name']!r}")
        print(f"    method={r.method}  ...{ctx}...")


if __name__ == "__main__":
    main()
