"""Resolution stage: canonical actors and countries from STORED mentions (no spaCy).

Why a separate stage: spaCy is the slow part; the registry, the gazetteer and the rules
change often. ``resolve()`` re-reads ``mentions`` and ``articles`` and rebuilds:

- ``mentions.norm/entity_id/country_iso3/region/registry_hash`` (country_iso3 and region
  are set for place-like mentions: GPE, LOC, NORP, FAC and metonym ORGs such as "the
  Kremlin"; a person's affiliation lives on its entity, never on ``article_countries``);
- ``entities``: one row per canonical actor/place, with a stable readable id
  (``person:vladimir-putin``), aliases, affiliated country and counts;
- ``article_countries``: per article and ISO3 country, the mentions resolving to it, the
  first offset, the surface forms ("via"), and whether the dateline names it. Region codes
  (``REG:...``, e.g. "the West") never count as countries.

Articles are processed in keyset-paginated chunks, so article texts are never all in memory;
only the compact per-mention results are kept until the corpus-level merge.
"""

from __future__ import annotations

import functools
import json
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from . import actors, places, store
from .progress import progress_bar
from .registry import Registry, load_registry

if TYPE_CHECKING:  # pragma: no cover
    import os

    import duckdb

#: Labels whose mentions are resolved to countries/regions.
PLACE_LABELS = frozenset({"GPE", "LOC", "NORP", "FAC"})
#: ORG mentions also go to the country resolver (metonyms: Kremlin, White House, Pentagon).
COUNTRY_LABELS = PLACE_LABELS | {"ORG"}
#: Entity kinds: the id prefix and the group mentions are merged within.
_KIND = {
    "PERSON": "person",
    "ORG": "org",
    "GPE": "place",
    "LOC": "place",
    "FAC": "place",
    "NORP": "group",
}
CHUNK = 500
#: ``meta`` key of the bare surnames left apart as ambiguous (JSON: surname -> candidates).
AMBIGUOUS_META = "ambiguous_surnames"
#: Salience (``article_countries.salient``): the dateline or the headline names the country,
#: or the text mentions it at least SALIENT_MENTIONS times, or first within the opening
#: SALIENT_LEAD characters. Tuned on half of Reuters-21578 TRAIN, checked on the other half
#: (bench/eval_places.py, bench/RESULTS.md).
SALIENT_MENTIONS = 3
SALIENT_LEAD = 100
SALIENT_SQL = (
    f"(coalesce(in_dateline, false) OR mentions >= {SALIENT_MENTIONS}"
    f" OR coalesce(first_pos < {SALIENT_LEAD}, false))"
)
_BODY_NEXT = re.compile(
    r"\s+(?:regiment|battalion|brigade|militia|movement|group|party|steelworks"
    r"|plant|sea|river|forces|army|unit|foundation|institute)\b",
    re.IGNORECASE,
)
#: spaCy labels that are never actors (the registry's ``nonactors`` types add to them).
NONACTOR_LABELS = frozenset({"EVENT", "PRODUCT", "WORK_OF_ART", "LAW", "LANGUAGE"})
#: Labels under which en_core_web_sm often files a person's name ("Lyng" tagged ORG).
_PERSON_LIKE = frozenset({"ORG", "PRODUCT", "WORK_OF_ART"})


@dataclass
class ResolveResult:
    """What one ``resolve()`` call produced."""

    mentions: int = 0
    entities: int = 0
    people: int = 0
    article_countries: int = 0
    registry_hash: str = ""
    seconds: float = 0.0

    def __str__(self) -> str:
        return (
            f"resolve: {self.mentions:,} mentions -> {self.entities:,} entities "
            f"({self.people:,} people), {self.article_countries:,} article-country rows "
            f"in {self.seconds:.1f}s (registry {self.registry_hash})"
        )


@dataclass
class _Mention:
    """Compact per-mention result kept until the corpus merge."""

    rowid: int
    article_id: str
    start: int
    label: str
    norm: str
    key: str  # article-level linked name (people) or cleaned surface
    code: str | None  # ISO3 or REG:... from the resolver/registry
    affil: str | None  # person affiliation evidence (ISO3)
    alt: str | None = None  # place code of a lone one-word "person" ("Kherson" mis-tagged)
    self_mention: bool = False  # names the article's own outlet ("Vox" in a Vox article)
    end: int = 0
    place: Any = None  # places.Place below the country, for GPE/LOC/FAC mentions
    place_cands: Any = None  # its scored readings, until picked with the outlet's home
    relink: bool = False  # relabelled PERSON at corpus level: link within its article again
    pcue: int = 0  # words around it only a person takes ("Mr", "chairman", ", who")
    ocue: int = 0  # words around it only an organisation takes ("shares in", "company")


@functools.cache
def _country_lookup() -> tuple[Any, Callable[[str], str | None]]:
    """The other stage's resolver: article-level for places, cached word lookup for modifiers.
    One per process, so the words' answers (~1.5 ms each to compute) outlive a resolve run."""
    from .countries import CountryResolver

    resolver = CountryResolver()

    @functools.lru_cache(maxsize=50_000)
    def word(w: str) -> str | None:
        # Resolved as an ORG span: country-level names only ("Chinese", "Kremlin", "U.S."),
        # never a town that shares the word ("Council", Idaho).
        return resolver.resolve_article(w, [(0, len(w), w, "ORG")])[0]

    return resolver, word


def _is_country(word: Callable[[str], str | None], text: str) -> bool:
    code = word(text)
    return bool(code) and not str(code).startswith("REG:")


_TITLE_TOKEN = re.compile(r"[A-Za-z][\w.&'\u2019-]*")


def title_countries(title: str | None, word: Callable[[str], str | None]) -> set[str]:
    """Countries a headline names ("CHINA'S OIL OUTPUT RISES", "U.K. MONEY MARKET"): capitalised
    words and word pairs/triples that the country-level lookup resolves (names, demonyms,
    metonyms such as "White House"; never a town: the title has no context)."""
    if not title:
        return set()
    toks = [_POSSESSIVE_END.sub("", t) for t in _TITLE_TOKEN.findall(title)]
    toks = [t if re.search(r"\.\w", t) else t.rstrip(".") for t in toks]
    out: set[str] = set()
    i = 0
    while i < len(toks):
        for n in (3, 2, 1):
            part = toks[i : i + n]
            if len(part) == n and all(t[:1].isupper() for t in part):
                code = word(" ".join(part))
                if code and not code.startswith("REG:"):
                    out.add(code)
                    i += n
                    break
        else:
            i += 1
    return out


_POSSESSIVE_END = re.compile(r"['\u2019][sS]$")


def _dateline_place(dateline: str | None) -> str | None:
    """ "SALVADOR, Feb 26" -> "SALVADOR"; "NEW YORK, March 3 -" -> "NEW YORK"."""
    if not dateline:
        return None
    head = dateline.split(",", 1)[0].strip(" -\u2013")
    return head if head and any(c.isalpha() for c in head) else None


def _articles(con: duckdb.DuckDBPyConnection, chunk: int):
    """(article_id, text, dateline, title, source) of extracted articles, keyset-paginated."""
    last = ""
    while True:
        rows = con.execute(
            "SELECT article_id, text, meta->>'$.dateline', title, source FROM articles"
            " WHERE extracted_pipeline IS NOT NULL AND article_id > ?"
            " ORDER BY article_id LIMIT ?",
            [last, chunk],
        ).fetchall()
        if not rows:
            return
        last = rows[-1][0]
        yield rows


def _resolve_article(
    aid: str,
    text: str,
    rows: list[tuple[int, int, int, str, str]],
    reg: Registry,
    resolver: Any,
    word: Callable[[str], str | None],
    acronyms: dict[str, Counter[str]],
) -> list[_Mention]:
    """One article: clean, link people, resolve places, find person affiliations."""
    out: list[_Mention] = []
    norms = [actors.normalize(surface, label) for _, _, _, surface, label in rows]
    # "Ukraine Volodymyr Zelenskyy", "Bohdan Kisil Kyiv": country-level place words that NER
    # glued to a person name are not part of it.
    for i, r in enumerate(rows):
        if r[4] == "PERSON" and " " in norms[i]:
            norms[i] = actors.strip_places(norms[i], functools.partial(_is_country, word))
    # "Azov regiment", "Wagner group": a one-word "person" followed by a unit or body noun
    # is that body, not a person.
    rows = [
        (r[0], r[1], r[2], r[3], "ORG")
        if r[4] == "PERSON" and " " not in norms[i] and _BODY_NEXT.match(text, r[2])
        else r
        for i, r in enumerate(rows)
    ]
    # Places (and ORGs, for metonyms) through the article-level country resolver.
    cidx = [i for i, r in enumerate(rows) if r[4] in COUNTRY_LABELS]
    codes: list[str | None] = [None] * len(rows)
    if cidx:
        found = resolver.resolve_article(
            text, [(rows[i][1], rows[i][2], rows[i][3], rows[i][4]) for i in cidx]
        )
        for i, code in zip(cidx, found, strict=True):
            codes[i] = code
    for i, n in enumerate(norms):
        override = reg.place(n) if rows[i][4] in COUNTRY_LABELS else None
        if override:
            codes[i] = override
        elif reg.is_place(n) is False:
            codes[i] = None  # the registry says "not a place"
    # People: registry aliases first ("Zelinskyy"), then short forms -> full name.
    pidx = [i for i, r in enumerate(rows) if r[4] == "PERSON"]
    pnames = [reg.canonical(norms[i]) for i in pidx]
    linked = actors.link_people(pnames, [rows[i][1] for i in pidx])
    keys = list(norms)
    for i, name in zip(pidx, linked, strict=True):
        keys[i] = reg.canonical(name)
    # ORGs: "International Criminal Court (ICC)" defines ICC for this article (and the corpus).
    local: dict[str, str] = {}
    for i, (_, _s, e, _surface, label) in enumerate(rows):
        if label == "ORG":
            acr = actors.paren_acronym(text, e)
            if acr and acr != norms[i] and actors.acronym_of(norms[i]).startswith(acr[:2].upper()):
                local[acr] = norms[i]
                acronyms[acr][norms[i]] += 1
    orgs = [norms[i] for i, r in enumerate(rows) if r[4] == "ORG"]
    for i, r in enumerate(rows):
        if r[4] != "ORG":
            continue
        n = norms[i]
        if n in local:
            keys[i] = local[n]
        elif n.isupper() and len(n) <= 8:
            full = [o for o in orgs if o != n and actors.acronym_of(o) == n]
            if full:
                keys[i] = full[0]
        keys[i] = reg.canonical(keys[i])
    # A person's name tagged ORG/PRODUCT ("Lyng", "Volcker" after "Richard Lyng", "Paul
    # Volcker") is that person when exactly one full name of the article ends with it.
    labels = [r[4] for r in rows]
    fulls = {actors.fold(keys[i]): keys[i] for i in pidx if " " in keys[i]}
    for i, r in enumerate(rows):
        if r[4] not in _PERSON_LIKE or reg.types.get(actors.fold(reg.canonical(norms[i]))):
            continue
        toks = actors.fold(norms[i]).split()
        cands = {
            f
            for fk, f in fulls.items()
            if toks and (fk.split() == toks or fk.split()[-len(toks) :] == toks)
        }
        if len(cands) == 1:
            labels[i], keys[i], codes[i] = "PERSON", cands.pop(), None
    # One-word "people" not linked to a full name may be mis-tagged places ("Kherson");
    # their place reading is kept and chosen at corpus level (see _relabel).
    lone = [
        i
        for i in pidx
        if " " not in keys[i] and keys[i] == norms[i] and actors.fold(keys[i]) not in reg.aliases
    ]
    alts: dict[int, str | None] = {}
    if lone:
        found = resolver.resolve_article(
            text, [(rows[i][1], rows[i][2], rows[i][3], "GPE") for i in lone]
        )
        alts = dict(zip(lone, found, strict=True))
    gidx = [i for i in range(len(rows)) if labels[i] in places.HOME_LABELS and codes[i]]
    found_places = places.candidates_article(
        text,
        [(rows[i][1], rows[i][2], rows[i][3], labels[i]) for i in gidx],
        [codes[i] for i in gidx],
    )
    place_of = dict(zip(gidx, found_places, strict=True))
    for i, (rowid, s, e, surface, _label) in enumerate(rows):
        affil, label = None, labels[i]
        if label == "PERSON":
            # Read modifiers from where the name starts, so words stripped off the span
            # ("President of | Ukraine Volodymyr Zelenskyy") still count as its prefix.
            at = surface.find(norms[i]) if norms[i] else -1
            if at > 0:
                a = actors.affiliation(text, s + at, e, surface[at:], word)
            else:
                a = actors.affiliation(text, s, e, surface, word)
            affil = a.iso3 if a else None
        m = _Mention(rowid, aid, s, label, norms[i], keys[i], codes[i], affil, alts.get(i))
        scored = place_of.get(i)
        m.end, m.place_cands = e, scored or None  # picked once the outlet's home is known
        if rows[i][4] in ("PERSON", "ORG"):
            m.pcue, m.ocue = actors.name_cues(text, s, e)
            m.pcue += any(actors.is_title(w) for w in actors.strip_person(surface)[1])
        out.append(m)
    return out


def resolve(
    con: duckdb.DuckDBPyConnection,
    *,
    registry: Registry | str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> ResolveResult:
    """Rebuild actors, entities and article countries from stored mentions."""
    t0 = time.perf_counter()
    reg = registry if isinstance(registry, Registry) else load_registry(registry)
    resolver, word = _country_lookup()
    acronyms: dict[str, Counter[str]] = defaultdict(Counter)
    results: list[_Mention] = []
    datelines: dict[str, str] = {}
    in_title: list[tuple[str, str]] = []
    homes: dict[str, places.Home] = {}  # outlet -> the states its articles' places lie in
    own: dict[str, tuple[str, places.Home]] = {}  # article -> (outlet, its own share)
    total = con.execute(
        "SELECT count(*) FROM articles WHERE extracted_pipeline IS NOT NULL"
    ).fetchone()[0]
    with progress_bar(desc="resolve", unit="article", total=total, enable=progress) as bar:
        for chunk in _articles(con, CHUNK):
            lo, hi = chunk[0][0], chunk[-1][0]
            ment = con.execute(
                "SELECT article_id, rowid, start_char, end_char, text, label FROM mentions"
                " WHERE article_id BETWEEN ? AND ? ORDER BY article_id, start_char",
                [lo, hi],
            ).fetchall()
            by_article: dict[str, list[tuple[int, int, int, str, str]]] = defaultdict(list)
            for aid, rowid, s, e, surface, label in ment:
                by_article[aid].append((rowid, s, e, surface, label))
            for aid, text, dateline, title, source in chunk:
                for code in title_countries(title, word):
                    in_title.append((aid, code))
                rows = by_article.get(aid, [])
                if rows:
                    found = _resolve_article(aid, text, rows, reg, resolver, word, acronyms)
                    _mark_self_mentions(found, source)
                    results.extend(found)
                    if source:
                        states = places.article_states_of(text)
                        home = homes.setdefault(source, {})
                        for a, v in states.items():
                            home[a] = home.get(a, 0.0) + v
                        if any(m.place_cands for m in found):
                            own[aid] = (source, states)
                place = _dateline_place(dateline)
                if place:
                    code = reg.place(place) or _dateline_code(resolver, place, text)
                    if code and not code.startswith("REG:"):
                        datelines[aid] = code
            bar.update(len(chunk))
    _place_by_outlet(results, homes, own)
    ambiguous: dict[str, Counter[str]] = {}
    entity_of, entities = _entities(
        results, reg, acronyms, functools.partial(_is_country, word), ambiguous
    )
    res = ResolveResult(registry_hash=reg.hash, mentions=len(results))
    _write(con, results, entity_of, entities, datelines, in_title, reg.hash, ambiguous)
    res.entities = len(entities)
    res.people = sum(1 for e in entities if e["type"] == "PERSON")
    res.article_countries = con.execute("SELECT count(*) FROM article_countries").fetchone()[0]
    res.seconds = time.perf_counter() - t0
    return res


def _place_by_outlet(
    results: list[_Mention],
    homes: dict[str, places.Home],
    own: dict[str, tuple[str, places.Home]],
) -> None:
    """Pick each mention's place with its outlet's home states, read from the outlet's
    other articles ("Alexandria" in a Louisiana paper that never names Louisiana)."""
    aid, home = None, None
    for m in results:  # in article order: each article's home is computed once
        if m.place_cands is None:
            continue
        if m.article_id != aid:
            aid, home = m.article_id, None
            if aid in own:
                source, states = own[aid]
                home = places.home_without(homes[source], states)
        m.place = places.pick(m.place_cands, home=home)
        m.place_cands = None


#: Words an outlet's name may carry or drop ("Breitbart News" is "Breitbart").
_OUTLET_WORDS = frozenset({"news", "com", "the", "online", "daily", "network", "media", "net"})


def outlet_names(source: str | None) -> set[str]:
    """Folded names an outlet goes by: "breitbart-news" -> {"breitbart news", "breitbart"};
    "Vox" -> {"vox"}; "vox.com" -> {"vox com", "vox"}."""
    if not source:
        return set()
    key = actors.fold(re.sub(r"[._]", " ", source))
    out = {key} if len(key) >= 3 else set()
    core = " ".join(w for w in key.split() if w not in _OUTLET_WORDS)
    if len(core) >= 3:
        out.add(core)
    return out


def _mark_self_mentions(found: list[_Mention], source: str | None) -> None:
    """Mentions of the article's own outlet (by its ``source``) are self-mentions."""
    names = outlet_names(source)
    if not names:
        return
    for m in found:
        if m.label in ("ORG", "PERSON", "GPE", "WORK_OF_ART", "PRODUCT", "NORP"):
            if actors.fold(m.norm) in names or actors.fold(m.key) in names:
                m.self_mention = True


def _dateline_code(resolver: Any, place: str, text: str) -> str | None:
    """Country of a dateline place ("SALVADOR" -> BRA), decided with the article's places."""
    probe = place.title() if place.isupper() else place
    found = resolver.resolve_article(probe + ", " + text, [(0, len(probe), probe, "GPE")])
    return found[0] if found else None


_CONJUNCTION = re.compile(r"\s(?:and|&)\s", re.IGNORECASE)


def _relabel(
    results: list[_Mention], reg: Registry, is_place: Callable[[str], bool] | None = None
) -> None:
    """Corpus-level label fixes, decided by how the whole corpus uses a name.

    - a lone one-word PERSON that the corpus tags as a place, more often than as a lone
      person or more often than full person names carry the word, becomes that place, with
      its resolved country ("Kherson", "Donbass"; but "Kirby" of "John Kirby" stays a
      person, and one stray "Recapturing Kherson" does not make "Kherson" a name);
    - other non-person mentions of a name the corpus tags as a place more often
      ("Mariupol" tagged ORG) become that place;
    - ORG/PERSON mentions whose name the registry types take that type; a full name tagged
      both PERSON and ORG takes the type the corpus uses more often, PERSON on a tie
      ("Volodymyr Zelenskyy" tagged ORG is the person; "Drexel Burnham" tagged PERSON
      once, or any name ending in a company suffix, is the company); a one-word ORG is a
      person when tagged so more often and one full name carries it as surname; so do
      ones that equal it once country-level place words at the edges are dropped
      ("President of | Ukraine Volodymyr Zelenskyy" tagged ORG);
    - a one-word PERSON that opens an organisation name of the corpus ("Yukos USA") and
      ends no full person name is that organisation;
    - a PERSON name the corpus never gives a person cue ("Mr", a title, ", who") but gives
      organisation cues ("shares in", "company X", ", which", "X said its"; for one word
      also a shape no person has, "O2", "Blu-ray") is an organisation: one such cue for a
      one-word name that ends no full name; for a longer name whose first word is not a
      given name of the corpus ("Dresdner Kleinwort Wasserstein"), cues in a quarter of
      its mentions.
    """
    place_votes: Counter[str] = Counter(
        actors.fold(m.norm) for m in results if m.label in ("GPE", "LOC", "FAC")
    )
    lone_votes: Counter[str] = Counter(actors.fold(m.norm) for m in results if m.alt)
    other_votes: Counter[str] = Counter(
        actors.fold(m.key) for m in results if m.label not in PLACE_LABELS | {"PERSON"}
    )
    place_code: dict[str, str] = {}
    for k, c in Counter(
        (actors.fold(m.norm), m.code) for m in results if m.label in ("GPE", "LOC", "FAC")
    ).most_common():
        if c:
            place_code.setdefault(k, c)
    full_counts: Counter[str] = Counter(
        actors.fold(m.key) for m in results if m.label == "PERSON" and " " in m.key.strip()
    )
    full_people = set(full_counts)
    person_votes: Counter[str] = Counter(actors.fold(m.key) for m in results if m.label == "PERSON")
    surname_owners: dict[str, set[str]] = defaultdict(set)
    for k in full_people:
        surname_owners[k.rsplit(" ", 1)[-1]].add(k)
    name_support: Counter[str] = Counter()
    surname_weight: Counter[str] = Counter()
    for k, n in full_counts.items():
        for w in set(k.split()):
            name_support[w] += n
        if actors.is_full_name(k):
            surname_weight[actors.surname(k)] += n
    person_norms: Counter[str] = Counter(
        actors.fold(m.norm) for m in results if m.label == "PERSON"
    )
    _add_spelling_variants(surname_weight, {actors.fold(m.norm) for m in results})
    # First words of organisation names; "Lechin and Victor Lopez" (two people tagged ORG)
    # is none, "Harper and Row Publishers Inc" is one.
    org_heads: Counter[str] = Counter(
        actors.fold(m.norm).split(" ", 1)[0]
        for m in results
        if m.label == "ORG"
        and " " in actors.fold(m.norm)
        and (actors.is_company(m.norm) or not _CONJUNCTION.search(m.norm))
    )
    cues: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for m in results:
        if m.label in ("PERSON", "ORG"):
            c = cues[actors.fold(m.norm)]
            c[0] += m.pcue
            c[1] += m.ocue
            c[2] += 1
    # a first word is a given name only through names that read as people: "Manchester"
    # of "Manchester United" and "Manchester City" (both with team cues) is not one
    given = actors.given_names(
        k for k in full_people if cues[k][0] or not (cues[k][1] and 4 * cues[k][1] >= cues[k][2])
    )
    first_words = {k.split()[0] for k, c in full_counts.items() if c >= 2}
    label_votes: dict[str, Counter[str]] = defaultdict(Counter)
    for m in results:
        if m.label in ("ORG", "NORP", "GPE", "LOC"):
            label_votes[actors.fold(m.norm)][m.label] += 1
    for m in results:
        typed = reg.nonactor(m.key) or reg.nonactor(m.norm)
        if typed:  # "COVID-19" tagged ORG: a disease, never an actor
            m.label, m.code = typed, None
    for m in results:
        k = actors.fold(m.key)
        if m.label in NONACTOR_LABELS or m.label in reg.nonactors.values():
            continue
        if m.label in ("GPE", "LOC", "NORP") and (
            reg.is_place(m.norm) is False
            or (
                m.label != "NORP"
                and not m.code
                and person_norms[k] + surname_weight[k] > sum(label_votes[k].values())
            )
        ):
            # "Biden" tagged GPE, no country behind it, a person in the rest of the corpus
            m.code = None
            if person_norms[k] + surname_weight[k]:
                m.label, m.relink = "PERSON", True
                continue
        if m.label == "PERSON" and m.alt and place_votes[k]:
            if place_votes[k] > lone_votes[k] or place_votes[k] > name_support[k]:
                m.label, m.code = "GPE", m.alt
                continue
        if m.label == "PERSON" and not reg.types.get(actors.fold(reg.canonical(m.key))):
            n = actors.fold(m.norm)
            pc, oc, seen = cues[n]
            one_word = " " not in m.norm.strip()
            if not pc and (
                (
                    one_word
                    and not surname_weight[n]
                    and n not in first_words
                    and (oc or actors.name_shape_is_org(m.norm))
                )
                or (not one_word and n.split()[0] not in given and oc and 4 * oc >= seen)
            ):
                # "Sega", "O2", "Manchester United": never with a title, "Mr" or ", who",
                # but with "shares in", "company ...", "..., which", "... said its"
                m.label, m.key = "ORG", m.norm
                continue
            if org_heads[n] and " " not in n and not surname_weight[n]:
                # "Yukos" tagged PERSON 128 times: no full name of the corpus ends in it,
                # and it opens organisation names ("Yukos USA", "Baikal Finance Group")
                m.label, m.key = "ORG", m.norm
                continue
            votes = label_votes.get(n)
            if votes:
                top, c = votes.most_common(1)[0]
                if c > person_norms[n] + surname_weight[n]:
                    # "Labour" tagged PERSON 85 times, ORG 413: the corpus's reading wins
                    m.label, m.key = top, m.norm
                    continue
        if m.label not in PLACE_LABELS:
            typed = reg.types.get(actors.fold(reg.canonical(m.key)))
            if typed:
                m.label = typed
            elif m.label != "PERSON" and place_votes[k] > other_votes[k]:
                # "Mariupol" tagged ORG (or PRODUCT) in some sentences, a place in more.
                m.label, m.code = "GPE", m.code or place_code.get(k)
            elif " " in k and (k in full_people or m.label == "PERSON"):
                # One name, one type: the reading the corpus uses more often (PERSON on a
                # tie; the short forms linked to a person count for it): "Volodymyr
                # Zelenskyy" tagged ORG is the person, "Drexel Burnham" or "Courier Corp"
                # tagged PERSON once is the company.
                if actors.is_company(m.key) or other_votes[k] > person_votes[k]:
                    if m.label == "PERSON":
                        m.label = "ORG"
                elif m.label != "PERSON":
                    m.label = "PERSON"
            elif (
                m.label in _PERSON_LIKE
                and " " not in k
                and not actors.is_company(m.key)
                and not (org_heads[k] and not surname_weight[k])
                and max(person_votes[k], person_norms[k] + surname_weight[k]) > other_votes[k]
                and (len(surname_owners.get(k, ())) == 1 or person_norms[k] + surname_weight[k])
            ):
                # "Ongpin" or "Trump" tagged ORG: the corpus reads the word as a person more
                m.label, m.relink = "PERSON", True
            elif m.label != "PERSON" and is_place is not None and " " in m.key:
                name = actors.strip_places(m.key, is_place)
                if name != m.key:
                    canon = reg.canonical(name)
                    known = reg.types.get(actors.fold(canon))
                    if known == "PERSON" or (not known and actors.fold(name) in full_people):
                        m.label, m.key = "PERSON", name


def _add_spelling_variants(surname_weight: Counter[str], words: set[str]) -> None:
    """A one-word name spelt like a corpus surname ("Zelenskiy" / "Zelenskyy") gets that
    surname's weight as person evidence (same rule as :func:`actors.merge_people`)."""
    from rapidfuzz import fuzz, process

    by_initial: dict[str, list[str]] = defaultdict(list)
    for sn in surname_weight:
        if " " not in sn and len(sn) >= 5:
            by_initial[sn[:1]].append(sn)
    base = dict(surname_weight)
    for w in words:
        if " " in w or len(w) < 5 or not by_initial.get(w[:1]):
            continue
        for sn, _score, _i in process.extract(
            w, by_initial[w[:1]], scorer=fuzz.ratio, score_cutoff=actors.SURNAME_RATIO, limit=None
        ):
            if sn != w:
                surname_weight[w] += base[sn]


def _relink(results: list[_Mention], reg: Registry) -> None:
    """Within each article, after the corpus-level relabelling:

    - a word relabelled PERSON ("Trump" tagged ORG or GPE) links to the article's one full
      name with that surname, as :func:`actors.link_people` does for PERSON mentions;
    - a given name alone ("Joe" linked to "Joe Biden") is not that person when the corpus
      uses the word as the first name of people with different surnames.
    """
    full = {actors.fold(m.key) for m in results if m.label == "PERSON" and " " in m.key.strip()}
    given = actors.given_names(full)
    by_article: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for m in results:
        if m.label == "PERSON":
            k = actors.fold(m.key)
            if actors.is_full_name(k):
                by_article[m.article_id][actors.surname(k)].add(m.key)
    for m in results:
        if m.label != "PERSON":
            continue
        n = actors.fold(m.norm)
        if m.relink and " " not in n:
            owners = by_article[m.article_id].get(n, set())
            if len({actors.fold(o) for o in owners}) == 1:
                m.key = max(owners, key=len)
            continue
        k = actors.fold(m.key)
        if (
            n in given
            and " " not in n
            and k != n
            and k.split()[0] == n
            and actors.surname(k) != n
            and actors.fold(reg.canonical(m.norm)) == n
        ):
            m.key = m.norm


#: Generic last words an organisation's name may carry or drop ("Labour" / "Labour Party").
GENERIC_SUFFIXES = ("party",)


def _join_generic_suffix(results: list[_Mention]) -> None:
    """A bare organisation name joins its form with a generic suffix ("Labour" -> "Labour
    Party") in an article that names the suffixed form, and elsewhere only when the
    articles of both forms are mostly about the same country: the US "Congress" (articles
    about the USA) stays apart from India's "Congress Party"."""
    suffixed: dict[str, str] = {}
    for m in results:
        if m.label == "ORG":
            toks = actors.fold(m.key).split()
            if len(toks) >= 2 and toks[-1] in GENERIC_SUFFIXES:
                suffixed.setdefault(" ".join(toks[:-1]), m.key)
    if not suffixed:
        return
    home: dict[str, Counter[str]] = defaultdict(Counter)
    has: dict[str, set[str]] = defaultdict(set)
    for m in results:
        if m.label in ("GPE", "LOC") and m.code and not m.code.startswith("REG:"):
            home[m.article_id][m.code] += 1
        elif m.label == "ORG":
            has[m.article_id].add(actors.fold(m.key))

    def country_of(articles: set[str]) -> str | None:
        votes = Counter(home[a].most_common(1)[0][0] for a in articles if home[a])
        if not votes:
            return None
        top, n = votes.most_common(1)[0]
        return top if n * 2 > len(articles) else None

    bare_articles: dict[str, set[str]] = defaultdict(set)
    full_articles: dict[str, set[str]] = defaultdict(set)
    for m in results:
        if m.label != "ORG":
            continue
        k = actors.fold(m.key)
        if k in suffixed:
            bare_articles[k].add(m.article_id)
        elif k.rsplit(" ", 1)[0] in suffixed and k.rsplit(" ", 1)[-1] in GENERIC_SUFFIXES:
            full_articles[k.rsplit(" ", 1)[0]].add(m.article_id)
    same_country = {
        b
        for b in bare_articles
        if (c := country_of(bare_articles[b])) and c == country_of(full_articles[b])
    }
    for m in results:
        if m.label != "ORG":
            continue
        b = actors.fold(m.key)
        full = suffixed.get(b)
        if full and (b in same_country or actors.fold(full) in has[m.article_id]):
            m.key = full


def _entities(
    results: list[_Mention],
    reg: Registry,
    acronyms: dict[str, Counter[str]],
    is_place: Callable[[str], bool] | None = None,
    ambiguous: dict[str, Counter[str]] | None = None,
) -> tuple[list[str | None], list[dict[str, Any]]]:
    """Corpus-level merge: entity id per mention and the entity rows."""
    _relabel(results, reg, is_place)
    _relink(results, reg)
    _join_generic_suffix(results)
    # Corpus-wide acronyms: an acronym defined with exactly one full name maps to it.
    acr_full = {a: c.most_common(1)[0][0] for a, c in acronyms.items() if len(c) == 1}
    person_counts: Counter[str] = Counter(m.key for m in results if m.label == "PERSON")
    people = list(person_counts) + reg.people()
    person_canon = actors.merge_people(
        people,
        person_counts,
        no_merge=frozenset(reg.no_merge),
        pins=reg.pins,
        ambiguous=ambiguous,
    )

    def canonical(m: _Mention) -> str:
        if m.label == "PERSON":
            return reg.canonical(person_canon.get(actors.fold(m.key), m.key))
        if m.label == "ORG":
            return reg.canonical(acr_full.get(m.key, m.key))
        return m.key

    names_of = [canonical(m) for m in results]
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, m in enumerate(results):
        name = names_of[i]
        if not name or m.self_mention or reg.is_suppressed(name) or reg.is_suppressed(m.norm):
            continue
        groups[(_KIND.get(m.label, m.label.lower()), actors.fold(name) or name)].append(i)
    entity_of: list[str | None] = [None] * len(results)
    rows: list[dict[str, Any]] = []
    used: set[str] = set()
    for (kind, _key), idxs in groups.items():
        ms = [results[i] for i in idxs]
        name = _display(Counter(names_of[i] for i in idxs))
        eid = f"{kind}:{actors.slug(name)}"
        n = 2
        while eid in used:  # distinct folded keys with the same slug
            eid = f"{kind}:{actors.slug(name)}-{n}"
            n += 1
        used.add(eid)
        label = Counter(m.label for m in ms).most_common(1)[0][0]
        country = _entity_country(name, label, ms, reg)
        aliases = [a for a, _ in Counter(m.norm for m in ms).most_common() if a != name]
        for i in idxs:
            entity_of[i] = eid
        rows.append(
            {
                "entity_id": eid,
                "name": name,
                "type": label,
                "aliases": aliases,
                "country_iso3": country,
                "n_mentions": len(ms),
                "n_articles": len({m.article_id for m in ms}),
            }
        )
    return entity_of, rows


def _display(names: Counter[str]) -> str:
    """Most frequent form; ties go to the longer (fuller) one."""
    return max(names.items(), key=lambda kv: (kv[1], len(kv[0]), kv[0]))[0]


def _entity_country(name: str, label: str, ms: list[_Mention], reg: Registry) -> str | None:
    """Registry override, else majority evidence (affiliations for people, codes otherwise)."""
    override = reg.country(name)
    if override:
        return override
    if label == "PERSON":
        votes = Counter(m.affil for m in ms if m.affil)
    else:
        votes = Counter(m.code for m in ms if m.code and not m.code.startswith("REG:"))
    return votes.most_common(1)[0][0] if votes else None


def _write(
    con: duckdb.DuckDBPyConnection,
    results: list[_Mention],
    entity_of: list[str | None],
    entities: list[dict[str, Any]],
    datelines: dict[str, str],
    in_title: list[tuple[str, str]],
    reg_hash: str,
    ambiguous: dict[str, Counter[str]] | None = None,
) -> None:
    """Everything in one transaction: a failed resolve leaves the previous results intact."""
    iso = [m.code if m.code and not m.code.startswith("REG:") else None for m in results]
    region = [m.code if m.code and m.code.startswith("REG:") else None for m in results]
    upd = pa.table(
        {
            "rid": pa.array([m.rowid for m in results], pa.int64()),
            "norm": pa.array([m.norm for m in results], pa.string()),
            "entity_id": pa.array(entity_of, pa.string()),
            "country_iso3": pa.array(iso, pa.string()),
            "region": pa.array(region, pa.string()),
            "self": pa.array([m.self_mention for m in results], pa.bool_()),
        }
    )
    ents = pa.Table.from_pylist(
        [{**e, "registry_hash": reg_hash} for e in entities],
        schema=pa.schema(
            [
                ("entity_id", pa.string()),
                ("name", pa.string()),
                ("type", pa.string()),
                ("aliases", pa.list_(pa.string())),
                ("country_iso3", pa.string()),
                ("n_mentions", pa.int32()),
                ("n_articles", pa.int32()),
                ("registry_hash", pa.string()),
            ]
        ),
    )
    dl = pa.table(
        {
            "article_id": pa.array(list(datelines), pa.string()),
            "iso3": pa.array(list(datelines.values()), pa.string()),
        }
    )
    titles = pa.table(
        {
            "article_id": pa.array([a for a, _ in in_title], pa.string()),
            "iso3": pa.array([c for _, c in in_title], pa.string()),
        }
    )
    pl = [m for m in results if m.place is not None and m.code == m.place.iso3]
    place_rows = pa.table(
        {
            "article_id": pa.array([m.article_id for m in pl], pa.string()),
            "start_char": pa.array([m.start for m in pl], pa.int32()),
            "end_char": pa.array([m.end for m in pl], pa.int32()),
            **{
                f: pa.array([getattr(m.place, f) for m in pl], t)
                for f, t in (
                    ("geonameid", pa.int64()),
                    ("name", pa.string()),
                    ("fclass", pa.string()),
                    ("iso3", pa.string()),
                    ("admin1", pa.string()),
                    ("admin1_name", pa.string()),
                    ("lat", pa.float64()),
                    ("lon", pa.float64()),
                    ("confidence", pa.float64()),
                )
            },
            "registry_hash": pa.array([reg_hash] * len(pl), pa.string()),
        }
    )
    con.execute("BEGIN TRANSACTION")
    try:
        con.register("_wb_resolved", upd)
        con.execute(
            "UPDATE mentions SET norm = r.norm, entity_id = r.entity_id,"
            " country_iso3 = r.country_iso3, region = r.region, self_mention = r.self,"
            " registry_hash = ?"
            " FROM _wb_resolved r WHERE mentions.rowid = r.rid",
            [reg_hash],
        )
        con.unregister("_wb_resolved")
        con.execute("DELETE FROM entities")
        store.insert_df(con, "entities", ents)
        con.execute("DELETE FROM article_countries")
        con.register("_wb_datelines", dl)
        con.execute(
            """INSERT INTO article_countries
               (article_id, iso3, mentions, first_pos, via, in_dateline, registry_hash)
            WITH t AS (
                SELECT article_id, country_iso3 AS iso3, count(*) AS mentions,
                       min(start_char) AS first_pos,
                       list(DISTINCT norm ORDER BY norm) AS via
                FROM mentions WHERE country_iso3 IS NOT NULL GROUP BY ALL)
            SELECT coalesce(t.article_id, d.article_id), coalesce(t.iso3, d.iso3),
                   coalesce(t.mentions, 0), t.first_pos, coalesce(t.via, []),
                   d.article_id IS NOT NULL, ?
            FROM t FULL OUTER JOIN _wb_datelines d
              ON t.article_id = d.article_id AND t.iso3 = d.iso3""",
            [reg_hash],
        )
        con.unregister("_wb_datelines")
        con.register("_wb_titles", titles)
        con.execute(
            f"""UPDATE article_countries SET salient = {SALIENT_SQL}
            OR EXISTS (SELECT 1 FROM _wb_titles t WHERE t.article_id = article_countries.article_id
                       AND t.iso3 = article_countries.iso3)"""  # noqa: S608
        )
        con.unregister("_wb_titles")
        con.execute("DELETE FROM mention_places")
        store.insert_df(con, "mention_places", place_rows)
        store.set_meta(con, "registry_hash", reg_hash)
        store.set_meta(
            con,
            AMBIGUOUS_META,
            json.dumps({k: dict(v.most_common()) for k, v in (ambiguous or {}).items()}),
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
