"""Learned ranking of a toponym's candidate countries: features, training, export.

Each gold toponym whose readings were weighed against its article (``_resolve_stage``) gives
one row per candidate country (features: ``workbench.resolve.countries.RANK_FEATURES``), labelled 1
when that country is the gold one.  A LightGBM binary model (hyperparameters fixed below, in
advance, never tuned on a test fold) scores the rows; the top-scoring candidate is the
answer.  The model is exported as plain trees (JSON) so that the product needs no LightGBM
at run time: ``workbench.resolve.countries`` walks them.

Run:  .venv/bin/python bench/country_ranker.py   (= ``make model``): trains on LGL +
GeoWebNews + GeoVirus and writes data/gazetteer/country_ranker.json.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench.resolve import countries

#: The modules of country resolution whose source keys the cached features.
_COUNTRY_MODULES = ("countries", "context", "gazetteer", "weights")

SEED = 15
PARAMS = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 8,
    "min_data_in_leaf": 20,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "num_threads": 1,
    "deterministic": True,
    "force_row_wise": True,
    "verbose": -1,
}
ROUNDS = 150
#: Features in which a candidate's score may only rise (more evidence for it never hurts).
MONOTONE_UP = frozenset(
    "rules_pick rule_margin country_share country_votes support_names home admin_votes "
    "possible_admin dateline_country dateline_admin qualifier_country qualifier_admin "
    "local_home same_sentence states_vote competes support_share".split()
)
#: The features that carry the rules' own decision.
RULE_FEATURES = ("rules_pick", "rules_reason", "rule_score", "rule_margin")
#: Models fixed in advance (none tuned on a test fold).  ``trees``: LightGBM with these
#: parameter overrides; ``linear``: an L2 logistic model of standardised features.
MODELS = {
    "monotone": {"kind": "trees", "params": {}, "monotone": True},
    # Strongly regularised: ~10k rows, a few hundred of them decisive.
    "monotone-strong": {
        "kind": "trees",
        "params": {"num_leaves": 4, "min_data_in_leaf": 50, "lambda_l2": 10.0},
        "rounds": 100,
        "monotone": True,
    },
    "logistic": {"kind": "linear", "C": 0.1},
    # The article's evidence alone, without the rules' pick, score and deciding rule: can a
    # model learn the decision instead of copying it?
    "evidence-only": {"kind": "linear", "C": 0.1, "drop": RULE_FEATURES},
}
#: "Defer to the rules unless confident": the logit by which the model's pick must beat the
#: rules' pick to overrule it.  Chosen per fold on its training sets only (nested).
MARGINS = (0.0, 1.0, 2.0, 4.0)
#: Every variant a fold may choose: the rules alone first (so they win every tie).
VARIANTS = {"rules": None} | {f"{m}@{d:g}": (m, d) for m in MODELS for d in MARGINS}
CACHE = Path(os.environ.get("WORKBENCH_RANKER_CACHE", "/tmp/places/ranker-features.pickle"))


@dataclass
class Mention:
    set: str
    doc: int
    gold: str
    rules: str | None  # the rules' answer
    prior: str | None  # name + population prior only (no article)
    rows: list[tuple[str, list[float]]]  # candidate countries and their features


def extract(name: str, items: list) -> list[Mention]:
    """Features of every gold toponym (its article context only, never its gold label)."""
    out = []
    for it in items:
        if it.gold == "REGION":
            continue
        answer, stage = countries._resolve_stage(it.phrase, it.text, it.start)
        rows = countries._rank_features(stage) if stage is not None else []
        prior = countries.resolve_country(it.phrase)
        out.append(Mention(name, it.doc, it.gold, answer, prior, rows))
    return out


def extract_all(gold_sets: dict[str, list]) -> dict[str, list[Mention]]:
    """Per set, cached in /tmp keyed by the module source (features change with it)."""
    here = Path(__file__).parent
    src = b"".join(
        p.read_bytes()
        for p in (
            *(Path(countries.__file__).with_name(f"{m}.py") for m in _COUNTRY_MODULES),
            here / "country_ranker.py",
            here / "eval_geoparsing.py",
        )
    )
    tag = hashlib.sha1(src).hexdigest()[:12]
    try:
        with CACHE.open("rb") as f:
            cached = pickle.load(f)
        if cached["tag"] == tag and set(cached["sets"]) >= set(gold_sets):
            return {k: [Mention(**m) for m in cached["sets"][k]] for k in gold_sets}
    except (OSError, pickle.PickleError, EOFError, KeyError, AttributeError, TypeError):
        pass
    with _rules_only():
        sets = {k: extract(k, v) for k, v in gold_sets.items()}
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    with CACHE.open("wb") as f:
        plain = {k: [vars(m) for m in ms] for k, ms in sets.items()}
        pickle.dump({"tag": tag, "sets": plain}, f)
    return sets


class _rules_only:
    """Rules' answers while extracting (the shipped ranker must not feed its own features)."""

    def __enter__(self):
        self.old = countries._ranker
        countries._ranker = lambda: None

    def __exit__(self, *exc):
        countries._ranker = self.old


def matrix(mentions: list[Mention]) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the mentions with at least two candidates of which one is gold."""
    xs, ys = [], []
    for m in mentions:
        if len(m.rows) < 2 or not any(c == m.gold for c, _ in m.rows):
            continue
        for code, x in m.rows:
            xs.append(x)
            ys.append(float(code == m.gold))
    return np.asarray(xs, dtype=np.float64), np.asarray(ys)


def train(mentions: list[Mention], model: str = "monotone", *, seed: int = SEED) -> dict:
    """The exported model (see :func:`export`, :func:`export_linear`) fitted on ``mentions``."""
    spec = MODELS[model]
    x, y = matrix(mentions)
    if spec["kind"] == "linear":
        return export_linear(x, y, c=spec["C"], drop=spec.get("drop", ()))
    import lightgbm as lgb

    data = lgb.Dataset(x, y, feature_name=list(countries.RANK_FEATURES), free_raw_data=False)
    params = {**PARAMS, **spec["params"], "seed": seed}
    if spec["monotone"]:
        params["monotone_constraints"] = [int(f in MONOTONE_UP) for f in countries.RANK_FEATURES]
    booster = lgb.train(params, data, num_boost_round=spec.get("rounds", ROUNDS))
    out = export(booster)
    # The exported trees must score exactly as LightGBM does.
    trees = tuple(countries._tree(t) for t in out["trees"])
    head = x[:500]
    ours = np.array([countries._tree_score(trees, row) for row in head])
    assert np.allclose(ours, booster.predict(head, raw_score=True), atol=1e-4)
    out["params"] = {**params, "rounds": spec.get("rounds", ROUNDS)}
    return out


def export_linear(x: np.ndarray, y: np.ndarray, *, c: float, drop: tuple = ()) -> dict:
    """An L2 logistic model over the features (a not-applicable value counts as 0 plus a
    0/1 "not applicable" column), standardised on the training rows; ``drop``: features
    given weight 0."""
    from sklearn.linear_model import LogisticRegression

    z = _linear_inputs(x)
    n = len(countries.RANK_FEATURES)
    keep = np.ones(z.shape[1], dtype=bool)
    for f in drop:
        i = countries.RANK_FEATURES.index(f)
        keep[[i, n + i]] = False
    mean, scale = z.mean(axis=0), z.std(axis=0)
    scale[scale == 0] = 1.0
    clf = LogisticRegression(C=c, max_iter=5000, random_state=SEED)
    clf.fit(((z - mean) / scale)[:, keep], y)
    w = np.zeros(z.shape[1])
    w[keep] = clf.coef_[0] / scale[keep]
    mean = np.where(keep, mean, 0.0)
    return {
        "what": "country ranker for workbench.resolve.countries (see bench/country_ranker.py)",
        "version": 2,
        "kind": "linear",
        "features": list(countries.RANK_FEATURES),
        "params": {"C": c, "drop": list(drop)},
        "coef": [round(float(v), 8) for v in w],
        "intercept": round(float(clf.intercept_[0] - (w * mean).sum()), 8),
    }


def _linear_inputs(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    na = x == countries.NA
    return np.hstack([np.where(na, 0.0, x), na.astype(np.float64)])


def scorer(spec: dict):
    """A function of one feature vector: the model's logit."""
    if spec.get("kind") == "linear":
        coef, b = np.asarray(spec["coef"]), spec["intercept"]
        return lambda row: float(_linear_inputs(np.asarray([row]))[0] @ coef + b)
    trees = tuple(countries._tree(t) for t in spec["trees"])
    return lambda row: countries._tree_score(trees, row)


def fit(mentions: list[Mention], variant: str, *, seed: int = SEED) -> dict | None:
    """The exported model of a variant with its margin (None for the rules alone)."""
    if VARIANTS[variant] is None:
        return None
    model, delta = VARIANTS[variant]
    return {**train(mentions, model, seed=seed), "delta": delta, "variant": variant}


def inner_scores(train_sets: dict[str, list[Mention]]) -> dict[str, float]:
    """Every variant's mean accuracy by leave-one-set-out over ``train_sets`` alone."""
    accs: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for held, test in train_sets.items():
        pool = [m for k, ms in train_sets.items() if k != held for m in ms]
        accs["rules"].append(accuracy([m.rules for m in test], test))
        for model in MODELS:
            spec = train(pool, model)
            for d in MARGINS:
                preds = predict({**spec, "delta": d}, test)
                accs[f"{model}@{d:g}"].append(accuracy(preds, test))
    return {v: sum(a) / len(a) for v, a in accs.items()}


def choose_variant(train_sets: dict[str, list[Mention]]) -> tuple[str, dict[str, float]]:
    """The variant (model and margin) with the best inner mean; the rules win ties."""
    means = inner_scores(train_sets)
    return max(means, key=means.__getitem__), means


def export(booster) -> dict:
    """Plain trees: {"f": feature index, "t": threshold, "l": left, "r": right} or a leaf."""

    def node(n: dict):
        if "leaf_value" in n:
            return round(float(n["leaf_value"]), 6)
        assert n["decision_type"] == "<=", n["decision_type"]
        return {
            "f": int(n["split_feature"]),
            "t": float(n["threshold"]),
            "l": node(n["left_child"]),
            "r": node(n["right_child"]),
        }

    dump = booster.dump_model()
    return {
        "what": "country ranker for workbench.resolve.countries (see bench/country_ranker.py)",
        "version": 2,
        "kind": "trees",
        "features": list(countries.RANK_FEATURES),
        "params": {**PARAMS, "rounds": ROUNDS},
        "trees": [node(t["tree_structure"]) for t in dump["tree_info"]],
    }


def predict(spec: dict | None, mentions: list[Mention]) -> list[str | None]:
    """The answer per mention: the rules' where there is nothing to rank, else the top row
    when it beats the rules' pick by the model's ``delta``."""
    if spec is None:
        return [m.rules for m in mentions]
    score = scorer(spec)
    out = []
    for m in mentions:
        if len(m.rows) < 2:
            out.append(m.rules)
            continue
        scores = {c: score(x) for c, x in m.rows}
        out.append(countries._overrule(m.rules, scores, spec["delta"]))
    return out


def reach(mentions: list[Mention]) -> float:
    """The ranker's ceiling: right when the rules are, or when the gold is a ranked row."""
    ok = sum(m.rules == m.gold or (len(m.rows) > 1 and m.gold in dict(m.rows)) for m in mentions)
    return ok / max(1, len(mentions))


def accuracy(preds: list, mentions: list[Mention]) -> float:
    return sum(p == m.gold for p, m in zip(preds, mentions, strict=True)) / max(1, len(mentions))


def load_gold() -> dict[str, list]:
    sys.path.insert(0, str(Path(__file__).parent))
    import eval_geoparsing as eg

    nearest = eg.NearestCountry()
    return {
        "LGL": eg.load_lgl(eg.GOLD_DIR / "lgl.xml"),
        "GeoWebNews": eg.load_gwn(eg.GOLD_DIR, nearest),
        "GeoVirus": eg.load_geovirus(eg.GOLD_DIR / "GeoVirus.xml", nearest),
    }


def shipped_variant(sets: dict[str, list[Mention]]) -> tuple[str, dict[str, float]]:
    """The model variant with the best leave-one-set-out mean over all three sets (never
    the rules: the file is the opt-in ranker), and every variant's mean."""
    means = inner_scores(sets)
    return max((v for v in means if v != "rules"), key=means.__getitem__), means


def main() -> int:
    t0 = time.perf_counter()
    sets = extract_all(load_gold())
    allm = [m for ms in sets.values() for m in ms]
    variant, means = shipped_variant(sets)
    spec = fit(allm, variant)
    spec["loso_mean"] = {v: round(a, 6) for v, a in means.items()}
    countries.RANKER_PATH.write_text(json.dumps(spec, separators=(",", ":")) + "\n")
    print(
        f"variant {variant} (leave-one-set-out mean {means[variant]:.4f}, rules "
        f"{means['rules']:.4f}); trained on {len(allm)} toponyms ({', '.join(sets)}), "
        f"{len(matrix(allm)[0])} candidate rows; wrote {countries.RANKER_PATH} "
        f"({countries.RANKER_PATH.stat().st_size:,} bytes) in {time.perf_counter() - t0:.1f} s"
    )
    for name, ms in sets.items():
        print(
            f"  {name:<11} rules={accuracy([m.rules for m in ms], ms):.4f}  "
            f"model (trained on all three, in-sample)={accuracy(predict(spec, ms), ms):.4f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
