"""Canonical people vs Reuters-21578 TRAIN ``PEOPLE`` (recall and precision after slug mapping).

    python bench/eval_people.py [DB] [--build] [--no-resolve]   (DB: see eval_places.py)

Reuters PEOPLE are lower-case slugs of 267 names, mostly surnames ("reagan", "volcker",
"de-larosiere", "bresser-pereira"). A canonical person (entity name, e.g. "Ronald Reagan")
matches a slug when the slug's words are the last words of the name's slug
("ronald-reagan" ends with "reagan") or equal it.

- recall: gold (article, slug) pairs with a matching canonical person in that article;
- precision: among canonical people whose name maps to ANY of the 267 slugs (the gold only
  labels those people, so other people cannot be judged), the share labelled in that article;
- full-name share: matched gold pairs whose canonical name has two or more words (short
  forms linked to a full name, within the article or across the corpus);
- canonical coverage: for each gold person, the share of the articles listing that person
  that the *single* best entity covers (one person should be one entity), with that
  entity's precision (of its articles, the share that list the person); micro-averaged
  over all gold (article, person) pairs, and for the 20 most frequent people.

``--half a|b`` scores only the TRAIN articles whose md5(article_id) is even (a) or odd (b):
thresholds are tuned on half a and reported on half b (bench/RESULTS.md, issue 14).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchlib import REUTERS, machine, need  # noqa: E402
from reuters_entities import add_args, open_reuters  # noqa: E402

from workbench.nlp.actors import slug  # noqa: E402


def matches(name_slug: str, gold_slug: str) -> bool:
    return name_slug == gold_slug or name_slug.endswith("-" + gold_slug)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_args(ap)
    ap.add_argument("--errors", type=int, default=0, help="print N most frequent misses")
    ap.add_argument("--half", choices=("a", "b", "all"), default="all", help="score one half")
    ap.add_argument("--top", type=int, default=20, help="people listed for canonical coverage")
    ap.add_argument(
        "--dominant-share",
        type=float,
        default=None,
        help="override workbench.nlp.actors.DOMINANT_SHARE (for tuning on half a)",
    )
    args = ap.parse_args()
    vocab = need(REUTERS / "all-people-strings.lc.txt").read_text().split()
    by_last: dict[str, list[str]] = defaultdict(list)
    for s in vocab:
        by_last[s.split("-")[-1]].append(s)
    if args.dominant_share is not None:
        import workbench.nlp.actors

        workbench.nlp.actors.DOMINANT_SHARE = args.dominant_share
    print("machine:", json.dumps(machine()))
    print("db:", args.db, "| people vocabulary:", len(vocab))
    wb = open_reuters(args)
    if wb is None:
        return
    with wb:
        arts = wb.sql(
            "SELECT article_id, meta->'$.people' AS people FROM articles"
            " WHERE meta->>'$.lewissplit' = 'TRAIN' AND extracted_pipeline IS NOT NULL"
        )
        ents = wb.sql(
            "SELECT DISTINCT m.article_id, e.name FROM mentions m JOIN entities e"
            " USING (entity_id) WHERE e.type = 'PERSON'"
        )
        types = wb.sql("SELECT type, count(*) AS n FROM entities GROUP BY 1 ORDER BY 2 DESC")
    print("entities:", dict(zip(types.type, types.n, strict=True)))
    gold = {
        r.article_id: set(json.loads(r.people or "[]"))
        for r in arts.itertuples()
        if args.half == "all" or _half(r.article_id) == args.half
    }
    print("half:", args.half)
    pred: dict[str, set[str]] = defaultdict(set)
    for r in ents.itertuples():
        if r.article_id in gold:
            pred[r.article_id].add(r.name)

    def slugs_of(name: str) -> set[str]:
        ns = slug(name)
        last = ns.split("-")[-1]
        return {g for g in by_last.get(last, []) if matches(ns, g)}

    tp = fn = 0
    full = 0
    judged = correct = 0
    misses: Counter[str] = Counter()
    wrong: Counter[str] = Counter()
    for aid, g in gold.items():
        names = pred.get(aid, set())
        found: set[str] = set()
        for n in names:
            ss = slugs_of(n)
            if ss:
                judged += 1
                if ss & g:
                    correct += 1
                else:
                    wrong[n] += 1
            for s in ss & g:
                if s not in found and len(n.split()) >= 2:
                    full += 1
                found |= {s}
        tp += len(found & g)
        fn += len(g - found)
        misses.update(g - found)
    n_gold = tp + fn
    recall = tp / n_gold if n_gold else 0.0
    precision = correct / judged if judged else 0.0
    print(
        f"TRAIN articles: {len(gold):,}; with gold people: {sum(1 for g in gold.values() if g):,};"
        f" gold (article, person) pairs: {n_gold:,}"
    )
    print(
        f"recall {recall:.4f} ({tp}/{n_gold}); precision {precision:.4f} ({correct}/{judged});"
        f" matched via a full canonical name: {full / max(1, tp):.3f}"
    )
    if args.errors:
        print("top missed slugs:", misses.most_common(args.errors))
        print("top unlabelled predictions:", wrong.most_common(args.errors))
    canonical_coverage(gold, pred, slugs_of, top=args.top)


def _half(article_id: str) -> str:
    return "a" if hashlib.md5(article_id.encode()).digest()[0] % 2 == 0 else "b"  # noqa: S324


def canonical_coverage(
    gold: dict[str, set[str]], pred: dict[str, set[str]], slugs_of, *, top: int
) -> None:
    """Per gold person: the single entity covering most of its articles, and its precision."""
    listing: dict[str, set[str]] = defaultdict(set)
    for aid, g in gold.items():
        for s in g:
            listing[s].add(aid)
    arts_of: dict[str, set[str]] = defaultdict(set)
    for aid, names in pred.items():
        for n in names:
            arts_of[n].add(aid)
    cand: dict[str, set[str]] = defaultdict(set)
    for n in arts_of:
        for s in slugs_of(n):
            cand[s].add(n)
    covered = total = 0
    rows = []
    for s, arts in listing.items():
        best, hit = None, 0
        for n in cand.get(s, ()):
            h = len(arts_of[n] & arts)
            if h > hit or (h == hit and best is not None and len(arts_of[n]) < len(arts_of[best])):
                best, hit = n, h
        covered += hit
        total += len(arts)
        prec = hit / len(arts_of[best]) if best else 0.0
        others = sorted(
            (n for n in cand.get(s, ()) if n != best and arts_of[n] & arts),
            key=lambda n: -len(arts_of[n] & arts),
        )
        rows.append((len(arts), s, best, hit, prec, others))
    print(
        f"canonical coverage (micro): {covered / max(1, total):.4f} ({covered}/{total}),"
        f" {len(listing)} gold people"
    )
    print(f"{'person':<18} {'articles':>8} {'coverage':>8} {'precision':>9}  best entity | others")
    for n, s, best, hit, prec, others in sorted(rows, key=lambda r: (-r[0], r[1]))[:top]:
        print(f"{s:<18} {n:>8} {hit / n:>8.3f} {prec:>9.3f}  {best} | {', '.join(others[:3])}")


if __name__ == "__main__":
    main()
