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
    "possible_admin dateline_country dateline_admin qualifier_country qualifier_admin".split()
)
#: Variants fixed in advance; inner leave-one-set-out on a fold's training sets picks one.
#: ``delta``: the logit by which the model's pick must beat the rules' pick to overrule it
#: (None: the rules alone).
VARIANTS = {
    "rules": {"delta": None},
    "free": {"delta": 0.0, "monotone": False},
    "free+margin": {"delta": 2.0, "monotone": False},
    "monotone": {"delta": 0.0, "monotone": True},
    "monotone+margin": {"delta": 2.0, "monotone": True},
    # Stacking: keep the rules' pick unless a model of "the rules' runner-up is right and
    # the rules are wrong" (features of both readings and their difference) says so
    # (logit > 0: probability > 0.5).
    "override": {"delta": None, "stack": True, "logit": 0.0},
    # Added after "override" was seen on the outer folds (it lost everywhere): only when the
    # model is sure (logit > 2, p > 0.88).
    "override+margin": {"delta": None, "stack": True, "logit": 2.0},
}
SHIPPED = "monotone+margin"
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


def train(mentions: list[Mention], *, seed: int = SEED, monotone: bool = True):
    import lightgbm as lgb

    x, y = matrix(mentions)
    data = lgb.Dataset(x, y, feature_name=list(countries.RANK_FEATURES), free_raw_data=False)
    params = {**PARAMS, "seed": seed}
    if monotone:
        params["monotone_constraints"] = [int(f in MONOTONE_UP) for f in countries.RANK_FEATURES]
    return lgb.train(params, data, num_boost_round=ROUNDS)


def _pair(m: Mention) -> tuple[str, list[float]] | None:
    """The rules' runner-up (by rule score) and the stacked features (rules' row, its row)."""
    if len(m.rows) < 2:
        return None
    by = dict(m.rows)
    if m.rules not in by:
        return None
    alt = max((r for r in m.rows if r[0] != m.rules), key=lambda r: r[1][2])
    return alt[0], [
        *by[m.rules],
        *alt[1],
        *(a - b for a, b in zip(alt[1], by[m.rules], strict=True)),
    ]


def fit_override(mentions: list[Mention], *, seed: int = SEED) -> dict:
    import lightgbm as lgb

    xs, ys = [], []
    for m in mentions:
        pr = _pair(m)
        if pr is not None:
            xs.append(pr[1])
            ys.append(float(pr[0] == m.gold and m.rules != m.gold))
    data = lgb.Dataset(np.asarray(xs), np.asarray(ys), free_raw_data=False)
    booster = lgb.train({**PARAMS, "seed": seed}, data, num_boost_round=ROUNDS)
    spec = export(booster)
    spec["stack"] = True
    return spec


def fit(mentions: list[Mention], variant: str, *, seed: int = SEED) -> dict | None:
    """The exported model of a variant (None for the rules alone)."""
    v = VARIANTS[variant]
    if v.get("stack"):
        return {**fit_override(mentions, seed=seed), "variant": variant, "logit": v["logit"]}
    if v["delta"] is None:
        return None
    spec = export(train(mentions, seed=seed, monotone=v["monotone"]))
    spec["delta"] = v["delta"]
    spec["variant"] = variant
    return spec


def choose_variant(train_sets: dict[str, list[Mention]]) -> tuple[str, dict[str, float]]:
    """Inner leave-one-set-out over the training sets only: the variant with the best mean."""
    means = {}
    for variant in VARIANTS:
        accs = []
        for held in train_sets:
            tr = [m for k, ms in train_sets.items() if k != held for m in ms]
            accs.append(accuracy(predict(fit(tr, variant), train_sets[held]), train_sets[held]))
        means[variant] = sum(accs) / len(accs)
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
        "version": 1,
        "features": list(countries.RANK_FEATURES),
        "params": {**PARAMS, "rounds": ROUNDS},
        "trees": [node(t["tree_structure"]) for t in dump["tree_info"]],
    }


def predict(spec: dict | None, mentions: list[Mention]) -> list[str | None]:
    """The answer per mention: the rules' where there is nothing to rank, else the top row
    when it beats the rules' pick by the model's ``delta``."""
    if spec is None:
        return [m.rules for m in mentions]
    trees = tuple(countries._tree(t) for t in spec["trees"])
    out = []
    if spec.get("stack"):
        for m in mentions:
            pr = _pair(m)
            sure = pr and countries._tree_score(trees, pr[1]) > spec["logit"]
            out.append(pr[0] if sure else m.rules)
        return out
    for m in mentions:
        if len(m.rows) < 2:
            out.append(m.rules)
            continue
        scores = {c: countries._tree_score(trees, x) for c, x in m.rows}
        out.append(countries._overrule(m.rules, scores, spec["delta"]))
    return out


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


def main() -> int:
    t0 = time.perf_counter()
    sets = extract_all(load_gold())
    allm = [m for ms in sets.values() for m in ms]
    booster = train(allm, monotone=VARIANTS[SHIPPED]["monotone"])
    spec = export(booster)
    spec["delta"] = VARIANTS[SHIPPED]["delta"]
    spec["variant"] = SHIPPED
    # The exported trees must score exactly as LightGBM does.
    x, _ = matrix(allm)
    trees = tuple(countries._tree(t) for t in spec["trees"])
    ours = np.array([countries._tree_score(trees, row) for row in x])
    assert np.allclose(ours, booster.predict(x, raw_score=True), atol=1e-4)
    countries.RANKER_PATH.write_text(json.dumps(spec, separators=(",", ":")) + "\n")
    print(
        f"trained on {len(allm)} toponyms ({', '.join(sets)}), {len(x)} candidate rows; "
        f"wrote {countries.RANKER_PATH} ({countries.RANKER_PATH.stat().st_size:,} bytes) "
        f"in {time.perf_counter() - t0:.1f} s"
    )
    for name, ms in sets.items():
        print(
            f"  {name:<11} rules={accuracy([m.rules for m in ms], ms):.4f}  "
            f"model (trained on all three, in-sample)={accuracy(predict(spec, ms), ms):.4f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
