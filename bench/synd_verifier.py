"""The learned grey-zone verifier of issue 17: pair features, training, cross-validation.

    python bench/synd_verifier.py features   # feature tables of the tuning material
    python bench/synd_verifier.py cv         # 5-fold cross-validation within it
    python bench/synd_verifier.py fit        # write data/story_verifier.json

Tuning material only: hand lists 1-3 and 6-8 (real pairs, the source databases under
``WORKBENCH_BENCH_DIR``) and the synthetic ``pairs --part tune`` set (Reuters + BBC and
their copies; every pair of it that shares word 5-grams, labelled by descent). Lists 4, 5 and
9 are not read here: they score the shipped verifier once, through the pipeline.
Features are :func:`workbench.annotate.story_rules.pair_features`, computed by the same
array code as the pipeline's; a pair is in the training set when it is in the grey zone
(:func:`~workbench.annotate.story_rules.grey_zone`), the rules do not accept it already
and its dates are within the lag window.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from benchlib import REPO, WORK

from workbench.annotate import stories, story_rules

TRAIN_LISTS = [REPO / "bench" / f"syndication_handcheck{s}.csv" for s in ("", 2, 3, 6, 7, 8)]
FEATURES_CSV = WORK / "synd-verifier-features.csv"
MODEL = REPO / "data" / "stories" / "verifier.json"


def pair_table(
    arts: dict[str, tuple[str, str, Any]], pairs: list[tuple[str, str]], opts: stories.StoryOptions
) -> pd.DataFrame:
    """Features, rule outcome and lag of ``pairs`` of articles ``arts`` (id: title, text,
    date), through the pipeline's own body and size code."""
    ids = sorted({x for p in pairs for x in p})
    pos = {a: i for i, a in enumerate(ids)}
    bod = stories.bodies([arts[a][1] for a in ids], k=opts.shingle,
                         titles=[arts[a][0] for a in ids])  # fmt: skip
    li = np.array([pos[a] for a, _ in pairs], dtype=np.int64)
    ri = np.array([pos[b] for _, b in pairs], dtype=np.int64)
    jac, cont, ok, again = stories._rules(bod, bod, li, ri, opts)
    cues = stories._reissue_cues(opts)
    masks = story_rules.cue_masks([b.title for b in bod], cues)
    sizes = stories._pair_sizes(bod, bod, li, ri)
    x = story_rules.pair_features(sizes, (masks[li] | masks[ri]) > 0)
    out = pd.DataFrame(x, columns=list(story_rules.FEATURES))
    out["series"] = stories._series(bod, bod, li, ri, sizes(2))
    out["article_a"], out["article_b"] = [a for a, _ in pairs], [b for _, b in pairs]
    out["accepted"] = ok & ((jac >= opts.jaccard) | (cont >= opts.containment) | again)
    out["rule_ok"] = ok
    day = [(arts[a][2], arts[b][2]) for a, b in pairs]
    out["lag"] = [abs((pd.Timestamp(d1) - pd.Timestamp(d2)).days) if pd.notna(d1) and pd.notna(d2)
                  else 0 for d1, d2 in day]  # fmt: skip
    out["grey"] = story_rules.grey_zone(out["jaccard"].to_numpy(), out["containment"].to_numpy())
    return out


def _articles(db: Path, ids: list[str] | None = None) -> dict[str, tuple[str, str, Any]]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    q = "SELECT article_id, coalesce(title, ''), text, date FROM articles"
    rows = con.execute(q + (" WHERE list_contains(?, article_id)" if ids is not None else ""),
                       [ids] if ids is not None else []).fetchall()  # fmt: skip
    con.close()
    return {a: (h, t, d) for a, h, t, d in rows}


def real_table(opts: stories.StoryOptions) -> pd.DataFrame:
    """The hand-labelled pairs of the training lists."""
    rows = [
        dict(r, list=p.name) for p in TRAIN_LISTS for r in csv.DictReader(open(p, encoding="utf-8"))
    ]
    parts = []
    for part in sorted({r["part"] for r in rows}):
        sub = [r for r in rows if r["part"] == part]
        ids = sorted({x for r in sub for x in (r["article_a"], r["article_b"])})
        arts = _articles(WORK / f"synd-src-{part}.duckdb", ids)
        t = pair_table(arts, [(r["article_a"], r["article_b"]) for r in sub], opts)
        t["label"] = [r["label"] == "same" for r in sub]
        t["source"] = [r["list"] for r in sub]
        parts.append(t)
    return pd.concat(parts, ignore_index=True)


def synthetic_table(
    opts: stories.StoryOptions, *, limit: int = 4000, seed: int = 17
) -> pd.DataFrame:
    """Every pair sharing word 5-grams of the synthetic tune set (``pairs --part tune``),
    similar enough to be in the pool (Jaccard >= 0.3 or containment >= 0.5), labelled by
    descent (one original, or two originals judged the same on hand list 1)."""
    import eval_syndication as ev
    import synd_handcheck as hc

    db, origin, _, remap = ev.build("tune", limit, seed)
    arts = _articles(db)
    labels = {frozenset(remap.get(a) or a for a in p): s for p, s in ev.handchecked().items()}
    root = ev.gold_roots(((k, v[0]) for k, v in arts.items()), origin, labels)
    ids = sorted(arts)
    bod = stories.bodies([arts[a][1] for a in ids], k=opts.shingle)
    co = hc._shared_counts([b.shingles for b in bod])
    pairs = []
    for i, j, n in zip(co.row, co.col, co.data, strict=True):
        small = min(len(bod[i].shingles), len(bod[j].shingles))
        if n >= 0.3 * small:  # a cheap floor; the table keeps the grey zone
            pairs.append((ids[i], ids[j]))
    t = pair_table(arts, pairs, opts)
    t["label"] = [root[a] == root[b] for a, b in pairs]
    t["source"] = "synthetic tune"
    return t


def training_rows(
    t: pd.DataFrame, opts: stories.StoryOptions, *, synthetic: bool = False
) -> pd.DataFrame:
    """The grey-zone pairs the rules leave apart, in the lag window, less those whose
    headlines differ only in numbers (never taken); the synthetic pairs only with
    ``synthetic`` (in cross-validation they lower the precision on real pairs: their copy
    edits are not real rewrites)."""
    lag_ok = (t["lag"] <= opts.max_lag_days) | (opts.max_lag_days == 0)
    keep = t["grey"] & ~t["accepted"] & lag_ok & ~t["series"]
    if not synthetic:
        keep &= t["source"] != "synthetic tune"
    return t[keep].reset_index(drop=True)


def fit_model(x: np.ndarray, y: np.ndarray, w: np.ndarray, c: float) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000))
    model.fit(x, y, logisticregression__sample_weight=w)
    return model


def weights(t: pd.DataFrame) -> np.ndarray:
    """Real and synthetic pairs carry equal total weight (the synthetic ones outnumber)."""
    real = (t["source"] != "synthetic tune").to_numpy()
    w = np.ones(len(t))
    if real.any() and (~real).any():
        w[~real] = real.sum() / (~real).sum()
    return w


def cmd_features(args: argparse.Namespace) -> None:
    opts = stories.StoryOptions(learned=False)
    t = pd.concat([real_table(opts), synthetic_table(opts)], ignore_index=True)
    t.to_csv(args.out, index=False)
    g = training_rows(t, opts, synthetic=True)
    print(f"{len(t)} pairs; grey zone, not accepted, in the lag window: {len(g)} "
          f"({int(g['label'].sum())} same) by source:")  # fmt: skip
    print(g.groupby("source")["label"].agg(["count", "sum"]).to_string())


def cv_predictions(g: pd.DataFrame, c: float, seed: int = 17) -> np.ndarray:
    """Out-of-fold probabilities, 5 stratified folds."""
    from sklearn.model_selection import StratifiedKFold

    x, y = g[list(story_rules.FEATURES)].to_numpy(), g["label"].to_numpy()
    strata = y.astype(int) * 2 + (g["source"] == "synthetic tune").to_numpy()
    out = np.zeros(len(g))
    for tr, te in StratifiedKFold(5, shuffle=True, random_state=seed).split(x, strata):
        m = fit_model(x[tr], y[tr], weights(g.iloc[tr]), c)
        out[te] = m.predict_proba(x[te])[:, 1]
    return out


def held_out_synthetic(t: pd.DataFrame, g: pd.DataFrame, c: float) -> np.ndarray:
    """Probabilities of the synthetic grey-zone pairs by a model fit on all of ``g`` (real
    pairs only: the synthetic ones are then out of sample)."""
    feats = list(story_rules.FEATURES)
    m = fit_model(g[feats].to_numpy(), g["label"].to_numpy(), weights(g), c)
    return m.predict_proba(t[feats].to_numpy())[:, 1]


def cmd_cv(args: argparse.Namespace) -> None:
    """Out-of-fold acceptances on the real pairs (and the synthetic ones with
    ``--synthetic``); without it the synthetic grey-zone pairs are scored by the model fit
    on all real pairs, out of sample."""
    opts = stories.StoryOptions(learned=False)
    t = pd.read_csv(args.features)
    g = training_rows(t, opts, synthetic=args.synthetic)
    syn = training_rows(t, opts, synthetic=True)
    syn = syn[syn["source"] == "synthetic tune"].reset_index(drop=True)
    for c in args.c:
        p, scored = cv_predictions(g, c, args.seed), g
        if not args.synthetic:
            p = np.concatenate([p, held_out_synthetic(syn, g, c)])
            scored = pd.concat([g, syn], ignore_index=True)
        real = (scored["source"] != "synthetic tune").to_numpy()
        y = scored["label"].to_numpy().astype(bool)
        for thr in args.thresholds:
            acc = p >= thr
            row = {"C": c, "threshold": thr}
            for name, m in (("real", real), ("synthetic", ~real)):
                tp, fp = int((acc & y & m).sum()), int((acc & ~y & m).sum())
                row[name] = {"grey_same": int((y & m).sum()), "accepted_same": tp,
                             "grey_different": int((~y & m).sum()), "accepted_different": fp,
                             "precision": round(tp / (tp + fp), 3) if tp + fp else None}  # fmt: skip
            print(json.dumps(row))


def cmd_fit(args: argparse.Namespace) -> None:
    opts = stories.StoryOptions(learned=False)
    g = training_rows(pd.read_csv(args.features), opts, synthetic=args.synthetic)
    x, y = g[list(story_rules.FEATURES)].to_numpy(), g["label"].to_numpy()
    m = fit_model(x, y, weights(g), args.c)
    sc, lr = m.named_steps["standardscaler"], m.named_steps["logisticregression"]
    coef = lr.coef_[0] / sc.scale_
    model = {
        "features": list(story_rules.FEATURES),
        "coef": [round(float(v), 6) for v in coef],
        "intercept": round(float(lr.intercept_[0] - (coef * sc.mean_).sum()), 6),
        "threshold": args.threshold,
        "trained_on": "hand lists 1-3, 6-8"
        + (" and the synthetic pairs --part tune set" if args.synthetic else "")
        + f": {len(g)} grey-zone pairs ({int(y.sum())} same), logistic, C={args.c}",
    }
    Path(args.out).write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(model, indent=1))


def main(argv: list[str] | None = None) -> None:
    random.seed(0)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("features")
    p.add_argument("--out", default=str(FEATURES_CSV))
    p = sub.add_parser("cv")
    p.add_argument("--features", default=str(FEATURES_CSV))
    p.add_argument("--c", type=float, nargs="+", default=[1.0, 3.0])
    p.add_argument("--thresholds", type=float, nargs="+", default=[0.5, 0.6, 0.7, 0.8, 0.9])
    p.add_argument("--seed", type=int, default=17)
    p.add_argument("--synthetic", action="store_true", help="train on the synthetic pairs too")
    p = sub.add_parser("fit")
    p.add_argument("--features", default=str(FEATURES_CSV))
    p.add_argument("--c", type=float, default=3.0)
    p.add_argument("--threshold", type=float, default=0.8)
    p.add_argument("--synthetic", action="store_true")
    p.add_argument("--out", default=str(MODEL))
    args = ap.parse_args(argv)
    {"features": cmd_features, "cv": cmd_cv, "fit": cmd_fit}[args.cmd](args)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
