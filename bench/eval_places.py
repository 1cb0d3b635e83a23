"""Article-level country sets vs Reuters-21578 TRAIN ``PLACES`` (precision, recall, micro-F1).

Needs a Reuters database that went through ``extract`` (it runs ``resolve`` itself unless
``--no-resolve``)::

    python bench/eval_places.py --build        # first time: ingest + extract (~45 min)
    python bench/eval_places.py [DB]           # later: resolve + score (DB: see --help)

Predicted set of an article = ISO3 rows of ``article_countries``. Reuters PLACES are
country slugs (``west-germany``, ``ussr``, ``uk``) mapped to ISO3 with the workbench resolver
plus a few fixed names; historical states map as the resolver does (USSR -> RUS, West/East
Germany -> DEU). Rows printed side by side: text mentions only; every row (text + dateline:
Reuters puts the place of the story in the dateline, "SALVADOR, Feb 26"); the STORED
``salient`` rows (the product's article country set, rule in ``workbench/resolve/stage.py``); and
the earlier script-only rule (dateline, or mentioned twice, or within 200 characters).

The salience rule was tuned on the TRAIN articles with an even NEWID and is reported on both
halves (``even (tuned)`` / ``odd (held out)``) as well as on all of TRAIN.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchlib import machine  # noqa: E402
from reuters_entities import add_args, open_reuters  # noqa: E402

from workbench.resolve.countries import resolve_country  # noqa: E402

FIXED = {
    "guinea-bissau": "GNB",
    "netherlands-antilles": "ANT",  # dissolved 2010; no current ISO3
    "trinidad-tobago": "TTO",
    "uae": "ARE",
    "uk": "GBR",  # the resolver reads lower-case "uk" as a word, not a country
    "us-virgin-islands": "VIR",
    "western-samoa": "WSM",
    "yemen-arab-republic": "YEM",
    "yemen-demo-republic": "YEM",
}


def slug_iso3(slug: str) -> str | None:
    if slug in FIXED:
        return FIXED[slug]
    code = resolve_country(slug.replace("-", " "))
    return code if code and not code.startswith("REG:") else None


def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "micro_f1": round(f, 4)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_args(ap)
    ap.add_argument("--errors", type=int, default=0, help="print N most frequent FP/FN codes")
    args = ap.parse_args()
    print("machine:", json.dumps(machine()))
    print("db:", args.db)
    wb = open_reuters(args)
    if wb is None:
        return
    with wb:
        gold_rows = wb.sql(
            "SELECT article_id, meta->'$.places' AS places,"
            " CAST(meta->>'$.newid' AS INTEGER) % 2 AS half FROM articles"
            " WHERE meta->>'$.lewissplit' = 'TRAIN' AND extracted_pipeline IS NOT NULL"
        )
        pred_rows = wb.sql(
            "SELECT article_id, iso3, mentions, first_pos, in_dateline, salient"
            " FROM article_countries"
        )
    slugs = sorted({s for p in gold_rows.places for s in json.loads(p or "[]")})
    mapping = {s: slug_iso3(s) for s in slugs}
    unmapped = [s for s, c in mapping.items() if c is None]
    print(
        f"TRAIN articles extracted: {len(gold_rows):,}; gold slugs: {len(slugs)}; "
        f"unmapped slugs: {unmapped}"
    )
    gold = {
        r.article_id: {mapping[s] for s in json.loads(r.places or "[]") if mapping.get(s)}
        for r in gold_rows.itertuples()
    }
    half = dict(zip(gold_rows.article_id, gold_rows.half, strict=True))
    variants = {
        "text mentions": lambda r: r.mentions > 0,
        "text + dateline (all rows)": lambda r: True,
        "salient (stored; product)": lambda r: bool(r.salient),
        "old script rule (>=2|<200|dl)": lambda r: (
            bool(r.in_dateline)
            or r.mentions >= 2
            or (r.first_pos is not None and r.first_pos == r.first_pos and r.first_pos < 200)
        ),
    }
    scopes = {
        "all TRAIN": (False, set(gold)),
        "TRAIN with >=1 gold place": (True, {a for a, g in gold.items() if g}),
        "TRAIN even NEWID (tuned)": (False, {a for a in gold if half[a] == 0}),
        "TRAIN odd NEWID (held out)": (False, {a for a in gold if half[a] == 1}),
    }
    for scope, (only_labelled, ids) in scopes.items():
        print(
            f"\n== {scope}: {len(ids):,} articles, {sum(len(gold[a]) for a in ids):,} gold places"
        )
        for name, keep in variants.items():
            pred: dict[str, set[str]] = {a: set() for a in ids}
            for r in pred_rows.itertuples():
                if r.article_id in pred and keep(r):
                    pred[r.article_id].add(r.iso3)
            tp = sum(len(pred[a] & gold[a]) for a in ids)
            fp = sum(len(pred[a] - gold[a]) for a in ids)
            fn = sum(len(gold[a] - pred[a]) for a in ids)
            exact = sum(pred[a] == gold[a] for a in ids) / max(1, len(ids))
            print(f"  {name:30s} {prf(tp, fp, fn)}  tp={tp} fp={fp} fn={fn} exact-set={exact:.3f}")
            if args.errors and only_labelled and name.startswith("salient"):
                fpc = Counter(c for a in ids for c in pred[a] - gold[a])
                fnc = Counter(c for a in ids for c in gold[a] - pred[a])
                print("    top FP:", fpc.most_common(args.errors))
                print("    top FN:", fnc.most_common(args.errors))


if __name__ == "__main__":
    main()
