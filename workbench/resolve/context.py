"""The article context of country resolution: the evidence an article gives.

:func:`_article_context` reads a text once (names, the dateline, qualifiers, local cues,
house style) into a :class:`_Context` of country votes that :mod:`.countries` scores
readings against.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from ..nlp.actors import COMPANY_WORDS
from .gazetteer import (
    _COMPASS,
    _CONNECT,
    STRONG_KINDS,
    Cand,
    _clean,
    _gazetteer,
    _in_text,
    _key,
    _lookup,
    is_region,
)
from .weights import (
    BIG_CITY,
    DATELINE_SPAN,
    DOMINANCE,
    HOME_MIN_SHARE,
    HOME_MIN_VOTES,
    PARTIAL_CITY_MIN,
    SCAN_RUN_MAX,
    SEEN_MIN,
    SHARED_ABBREV_TOWNS,
    SMALL_CITY,
    STYLE_MAX,
    V_ADMIN_STATE,
    V_DATELINE,
    V_DEFERRED,
    V_DEMONYM,
    V_NAME,
    V_QUALIFIED,
    WEAK_MAX,
    WEAK_VOTE,
)

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
    cosentence: dict[str, set[str]] = field(default_factory=dict)  # key -> countries named
    # in a sentence with it ("four in Santa Catarina" after "Of Brazil's cases")
    org_names: frozenset[str] = (
        frozenset()
    )  # names that begin a company's ("Piedmont Aviation Inc")
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

    def org_evidence(
        self, code: str, admin1: str, key: str, orgs: frozenset[str] | set[str]
    ) -> bool:
        """Another name, or the dateline, speaks for ``code`` (and for its state
        ``admin1`` when given): not ``key``, not a house-style cue, not a name the article
        uses as an organisation's."""
        return any(
            (a.get((code, admin1), 0.0) if admin1 else c.get(code, 0.0)) > 0.0
            for k, (c, a) in self.by_key.items()
            if k != "#cue"
            and k not in orgs
            and not (k == key or k.startswith(key + " ") or key.startswith(k + " "))
        )

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


def _qualifier_readings(after: str) -> tuple[str, list[Cand]] | None:
    """The qualifier phrase after a name (", Texas" / ", Ont.") and its state or country
    readings; None without one."""
    m = _QUAL.match(after)
    if not m:
        return None
    for phrase in (m.group(1), m.group(1).split()[0]):
        cands = _lookup(phrase)
        strong = [c for c in cands if c.kind in {"admin", "country", "abbrev"}]
        if strong:
            return phrase, strong
    return None


def _best_qualifier(strong: Sequence[Cand], code: str | None) -> tuple[str, str]:
    """The qualifier's reading: of country ``code`` if one is, else the heaviest."""
    best = max(strong, key=lambda c: (c.code == code, c.weight))
    return best.code, best.admin1 if best.kind == "admin" else ""


#: After a qualifier's phrase: the next item of a list, and that item's words.
_LIST_NEXT = re.compile(r"\s*(?:,|and\b|&)\s*([A-Z][\w.'’]*(?:\s[A-Z][\w.'’]*)?)")


def _list_item_after(cands: Sequence[Cand], qual: tuple[str, str], after: str) -> bool:
    """ "Geneva, Brussels, New York, Beijing": ", New York" is the next item of a list, not
    the state of "Brussels", when no reading of the name lies in that state and another
    item follows that is not the state's own country ("Stroud, Ontario, Canada")."""
    if not qual[1] or any(c.code == qual[0] and c.admin1 == qual[1] for c in cands):
        return False
    m = _QUAL.match(after)
    nxt = _LIST_NEXT.match(after, m.end()) if m else None
    if nxt is None:
        return False
    return not any(c.code == qual[0] and c.kind in {"country", "abbrev"} for c in _lookup(nxt[1]))


def _bare_qualifier(after: str) -> tuple[str, str] | None:
    """``countries._qualifier`` without an article: the heaviest reading of the qualifier."""
    found = _qualifier_readings(after)
    return None if found is None else _best_qualifier(found[1], None)


#: Words of a scan: a hyphen separates words ("Athens-Clarke County" -> Athens, Clarke
#: County), and the whole hyphenated form is still tried first ("Winston-Salem").
_SCAN_WORD = re.compile(r"[A-Za-z\u00C0-\u024F][\w'’]*+(?:\.(?=[A-Za-z])[\w'’]*+)*+\.?")
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
    # Only capitalised words and connectors: a run never holds another word, and the text
    # between two kept words then holds letters, which ends a run as that word did.
    words = [
        (m.start(), m.end(), w)
        for m in _SCAN_WORD.finditer(text)
        if (w := m.group())[0].isupper() or w in _CONNECT
    ]
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
#: A country's possessive before a name places it: "the USA's West Coast". (The word
#: boundary is tested after the first letter, ``(?<!\w.)``, so that ``re`` skips ahead to
#: capitals instead of trying every character: the same matches.)
_OWNER = re.compile(
    r"([A-Z](?<!\w.)[\w.]*(?: [A-Z][\w.]*)?)['’]s ([A-Z][\w'’\-]*(?: [A-Z][\w'’\-]*){0,3})"
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
#: The two branches of ``_LOCAL_SCAN`` searched apart (see :func:`_local_scan`).
_LOCAL_NAME = re.compile(rf"({_NAME}(?: {_NAME}){{0,2}})(?={_LOCAL_AFTER.pattern})")
_LOCAL_OF = re.compile(
    rf"(?:[Cc]ity|[Tt]own|[Vv]illage|[Tt]ownship|[Bb]orough) of ({_NAME}(?: {_NAME})?)"
)
#: Every ``_LOCAL_OF`` match holds one of these one character after its start.
_LOCAL_OF_NEEDLES = ("ity of ", "own of ", "ownship of ", "illage of ", "orough of ")
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


#: Where each cue of ``_WEAK_CUES`` is read (:func:`_cue_count`): substrings (or a regex)
#: one of which every match holds at most the given number of characters after its start
#: ("a.m" in "7:30 a.m", 6 at most); None for the address cue (counted once, elsewhere).
#: Month words: none begins inside another (their later letters are lower case), so a
#: regex finds every occurrence.
_MONTH_ANCHOR = re.compile("|".join(_MONTH_WORDS))
_CUE_ANCHORS: tuple[tuple[tuple[str, ...] | re.Pattern[str], int] | None, ...] = (
    (("$",), 0),
    (("a.m", "p.m"), 6),
    (_MONTH_ANCHOR, 0),
    (re.compile(r"\(|-| \d{5}"), 3),  # "(" of "(555)", the "-" of "555-", " 12345" of "NJ 12345"
    None,
    (_WEAK_CUES[5][2], 1),
    (("£",), 0),
    (_WEAK_CUES[7][2], 0),
    (_WEAK_CUES[8][2], 9),  # "Borough Council"
    (re.compile("[ap]m"), 5),  # "10.30pm"
    (_MONTH_ANCHOR, 5),  # "21st March"
    (_WEAK_CUES[11][2], 1),
)


def _anchor_starts(text: str, anchors: tuple[str, ...] | re.Pattern[str]) -> list[int]:
    """Where the anchors occur in ``text``, ascending (overlapping occurrences too)."""
    if isinstance(anchors, re.Pattern):
        return [m.start() for m in anchors.finditer(text)]
    at: set[int] = set()
    for s in anchors:
        i = text.find(s)
        while i >= 0:
            at.add(i)
            i = text.find(s, i + 1)
    return sorted(at)


def _matches_near(
    pattern: re.Pattern[str], text: str, at: list[int], before: int, pos: int = 0
) -> Iterable[re.Match[str]]:
    """``pattern.finditer(text, pos)``, tried only at the ``before`` + 1 positions up to
    each anchor start in ``at``: the same matches when every match holds an anchor at most
    ``before`` characters after its start (and none is empty), at a fraction of the cost of a
    pattern that ``re`` must try at every character."""
    p = pos
    for a in at:
        q = max(p, a - before)
        while q <= a:
            m = pattern.match(text, q)
            if m is None:
                q += 1
                continue
            yield m
            q = max(m.end(), q + 1)
        p = max(p, q)


def _cue_count(i: int, text: str, found: dict[int, list[int]] | None = None) -> int:
    """``len(_WEAK_CUES[i][0].findall(text))``, read only near the cue's anchors (0 at once
    when the text holds none: then it holds none of the cue's needles either). ``found``
    keeps the anchor starts of this text between cues."""
    anchors, before = _CUE_ANCHORS[i] or ((), 0)
    found = {} if found is None else found
    at = found.get(id(anchors))
    if at is None:
        at = found[id(anchors)] = _anchor_starts(text, anchors)
    return sum(1 for _ in _matches_near(_WEAK_CUES[i][0], text, at, before)) if at else 0


def _local_scan(text: str) -> list[tuple[str, int, int, bool]]:
    """``_LOCAL_SCAN.finditer(text)`` as (name, its start, match end, whether a cue word
    follows the name): its two branches searched apart, the one starting first (the first
    branch on a tie) taken, as the alternation does; the second branch only near its
    needles."""
    at = _anchor_starts(text, _LOCAL_OF_NEEDLES)
    out: list[tuple[str, int, int, bool]] = []
    pos = 0
    a = _LOCAL_NAME.search(text)
    b = next(iter(_matches_near(_LOCAL_OF, text, at, 1)), None) if at else None
    while a is not None or b is not None:
        if a is not None and (b is None or a.start() <= b.start()):
            out.append((a.group(1), a.start(1), a.end(), True))
            pos = a.end()
        else:
            assert b is not None
            out.append((b.group(1), b.start(1), b.end(), False))
            pos = b.end()
        if a is not None and a.start() < pos:
            a = _LOCAL_NAME.search(text, pos)
        if b is not None and b.start() < pos:
            b = next(iter(_matches_near(_LOCAL_OF, text, at, 1, pos)), None)
    return out


#: A street, not the town it is named after ("Memphis St.", "Augusta Road").
_STREET_AFTER = re.compile(
    r" (?:St|Street|Ave|Avenue|Rd|Road|Ln|Lane|Dr|Drive|Blvd|Boulevard|Pike|Hwy|Highway"
    r"|Pkwy|Parkway|Terrace)\b"
)


_POSSESSIVE = ("'s", "’s")


def _is_local(text: str, start: int, end: int) -> bool:
    return bool(
        _LOCAL_AFTER.match(text, end, end + 40)
        or _LOCAL_BEFORE.search(text, max(0, start - 20), start)
    )


#: A company's name: capitalised words or initials ("S.G."), joined by spaces, "and" or
#: "&", ending in a company word ("Piedmont Aviation Inc", "Midland Bank Plc", "S.G.
#: Warburg and Co Ltd", "Piedmont Airlines"), at most three words before the last (a local
#: body named after its town, "Springfield Performing Arts Development Corp", is longer);
#: a full stop after a word ends it, and "of" before or after makes it part of a longer
#: name ("the Paris Group of Six", "Cablevision Industries of California Inc").
#: "International" is left out: "Vancouver International Airport" is a place's.
_COMPANY_END = (COMPANY_WORDS - {"international"}) | {"airlines", "airways"}
_ORG_WORD = r"(?:[A-Z]\.(?:[A-Z]\.)+|[A-Z][\w'’&\-]*)"
#: The first word is ``_ORG_WORD`` with its capital taken out and the lookbehinds
#: (``(?<![\w.])(?<!\bof )``) tested after it: the same matches, but ``re`` skips ahead to
#: capitals instead of trying every character.
_ORG_RUN = re.compile(
    rf"[A-Z](?<![\w.].)(?<!\bof .)(?:\.(?:[A-Z]\.)+|[\w'’&\-]*)(?:(?:\s{{1,3}}(?:and|&)\s{{1,3}}|\s{{1,3}}){_ORG_WORD}){{0,2}}"
    r"(?:\s{1,3}(?:and|&))?\s{1,3}(?=[A-Z])(?i:"
    + "|".join(sorted(_COMPANY_END, key=len, reverse=True))
    + r")\b(?!\s+of\b)"
)


def _org_names(text: str) -> tuple[frozenset[str], frozenset[int]]:
    """Keys of the names that begin a company's name in the text ("Piedmont" of "Piedmont
    Aviation Inc"), and where those company names start: there the name is no evidence of
    the place it is named after."""
    out: set[str] = set()
    starts: set[int] = set()
    for m in _ORG_RUN.finditer(text):
        words = [w for w in m.group().split() if w not in ("and", "&")]
        at = m.start()
        if words[0] in ("The", "THE"):
            at = text.index(words[1], at + len(words[0]))
            words = words[1:]
        starts.add(at)
        first = 1 if len(words) > 2 and words[0].endswith(".") else 0  # "S.G. Warburg"
        for i in range(first + 1):
            out.update(_key(" ".join(words[i:k])) for k in range(i + 1, len(words)))
    return frozenset(out), frozenset(starts)


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
    mentions: list[tuple[int, str, str]] = field(default_factory=list)  # start, key, country
    org_starts: frozenset[int] = frozenset()  # where a company's name begins


_LOWER_WORD = re.compile(r"\b[a-z]+\b")


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
    p = _Pass1(frozenset(_LOWER_WORD.findall(text)))
    ctx.org_names, p.org_starts = _org_names(text)
    for start, end, surface in list(_scan(text, p.lower_words, p.surnames)):
        _read_mention(ctx, p, text, start, end, surface)
    _read_dateline(ctx, text)
    _read_shared_abbrevs(ctx, p)
    if "County" in text or "Parish" in text:
        _read_town_county_pairs(ctx, text)
    _second_pass(ctx, p)
    _read_local_and_owners(ctx, text)
    addresses = list(_ADDRESS_TOWN.finditer(text))
    for m in addresses:
        ctx.local_keys.add(_key(m.group(1)))
    _style_votes(ctx, text, len(addresses))
    ctx.surnames = p.surnames
    ctx.cosentence = _cosentence(text, p.mentions)
    ctx.towns = p.towns_in
    ctx.streets = {k for k, v in p.street.items() if v}
    return ctx


_SENTENCE_END = re.compile(r"[.!?][\"'”’)]*\s+(?=[\"“‘(]?[A-Z0-9])|\n")
#: ``_SENTENCE_END`` with its first character read before the branch (the same matches;
#: ``re`` skips ahead to the characters that can start one).
_SENTENCE_END_FAST = re.compile(r"[.!?\n](?:(?<=[.!?])[\"'”’)]*\s+(?=[\"“‘(]?[A-Z0-9])|(?<=\n))")


def _cosentence(text: str, mentions: list[tuple[int, str, str]]) -> dict[str, set[str]]:
    """Each name's countries named by another name in one of its sentences."""
    if not any(m[2] for m in mentions):
        return {}
    ends = [m.end() for m in _SENTENCE_END_FAST.finditer(text)]
    by_sentence: dict[int, list[tuple[str, str]]] = {}
    for start, key, code in mentions:
        by_sentence.setdefault(bisect.bisect_right(ends, start), []).append((key, code))
    out: dict[str, set[str]] = {}
    for names in by_sentence.values():
        for key, _ in names:
            near = {
                c
                for k, c in names
                if c and not (k == key or k.startswith(key + " ") or key.startswith(k + " "))
            }
            if near:
                out.setdefault(key, set()).update(near)
    return out


def _read_mention(ctx: _Context, p: _Pass1, text: str, start: int, end: int, surface: str) -> None:
    """What one scanned name tells about the article, and its first-pass vote."""
    cands, key, facts = _name_facts(surface)
    p.street[key] = p.street.get(key, True) and bool(_STREET_AFTER.match(text, end, end + 12))
    if key in p.surnames and facts.town_only:
        return  # "Connie Yates ... Yates said": the person throughout the article
    if start in p.org_starts and not facts.strong:
        return  # "Piedmont Aviation Inc": a company, no vote for Italy's Piedmont
    p.mentions.append((start, key, facts.country))
    _note_mention(ctx, p, text, start, end, surface, key, cands, facts)
    qual = _bare_qualifier(text[end : end + 40])
    if qual and _list_item_after(cands, qual, text[end : end + 80]):
        qual = None
    if qual:
        ctx.qualifiers[end] = qual
        qual_cands = [c for c in cands if c.code == qual[0]]
        if qual_cands:
            best = max(qual_cands, key=lambda c: (not qual[1] or c.admin1 == qual[1], c.weight))
            ctx.vote(key, best.code, qual[1] or best.admin1, V_QUALIFIED, V_QUALIFIED)
            return
    _vote_dominant(ctx, p, surface, key, cands)


@dataclass(frozen=True)
class _NameFacts:
    """What a scanned name's readings say whatever the article (one per surface)."""

    town_only: bool  # every reading a city or a bare county
    strong: bool  # a country-level reading
    country: str  # the one country among its country / code readings, else ""
    possible: frozenset[tuple[str, str]]  # the states it could lie in
    towns: frozenset[tuple[str, str]]  # the states of its town readings
    shared: bool  # a state abbreviation of several countries ("WA")
    initials: tuple[str, frozenset[str]] | None  # "South Africa" -> ("SA", {"ZAF"})


@functools.lru_cache(maxsize=50_000)
def _name_facts(surface: str) -> tuple[tuple[Cand, ...], str, _NameFacts]:
    """A scanned name's readings, key and :class:`_NameFacts`, memoised: names recur within
    an article and across a corpus."""
    cands = _in_text(_lookup(surface), _clean(surface))
    key = _key(surface)
    weak = _gazetteer().weak_alt
    located = tuple(c for c in cands if f"{key}|{c.code}|{c.admin1}" not in weak) if weak else cands
    countries = {c.code for c in cands if c.kind in {"country", "abbrev"}}
    initials = None
    if " " in surface:  # "South Africa(ns)" defines "SA", "New Jersey" "NJ"
        codes = frozenset(c.code for c in cands if c.kind in _INITIAL_KINDS)
        caps = "".join(w[0] for w in surface.split() if w[:1].isupper())
        if codes and len(caps) >= 2:
            initials = (caps, codes)
    facts = _NameFacts(
        town_only=all(c.kind in {"city", "county_bare"} for c in cands),
        strong=any(c.kind in STRONG_KINDS for c in cands),
        country=next(iter(countries)) if len(countries) == 1 else "",
        possible=frozenset(
            (c.code, c.admin1)
            for c in located
            if c.admin1 and (c.kind in {"admin", "county"} or c.weight >= PARTIAL_CITY_MIN)
        ),
        towns=frozenset((c.code, c.admin1) for c in located if c.kind == "city" and c.admin1),
        shared=len({c.code for c in cands}) > 1 and all(c.kind == "admin" for c in cands),
        initials=initials,
    )
    return cands, key, facts


def _note_mention(
    ctx: _Context,
    p: _Pass1,
    text: str,
    start: int,
    end: int,
    surface: str,
    key: str,
    cands: tuple[Cand, ...],
    facts: _NameFacts,
) -> None:
    """A name's local cue, the states it could lie in, its town states, a shared state
    abbreviation ("WA"), and the initials a multiword name defines ("SA", "NJ")."""
    lower_words = p.lower_words
    if _is_local(text, start, end) and not surface.endswith(_POSSESSIVE):
        ctx.local_keys.add(key)  # not "Australia's native birds": the country's
    if facts.possible and not (" " not in surface and surface.casefold() in lower_words):
        ctx.possible.setdefault(key, set()).update(facts.possible)
    if surface.casefold() not in lower_words:
        p.towns_in.setdefault(key, set()).update(facts.towns)
    if facts.shared:
        p.shared_abbrevs.setdefault(key, cands)  # "WA": Washington or Western Australia
    if facts.initials is not None:
        ctx.initials.setdefault(facts.initials[0], set()).update(facts.initials[1])


def _vote_dominant(
    ctx: _Context, p: _Pass1, surface: str, key: str, cands: tuple[Cand, ...]
) -> None:
    """A name that clearly stands for one reading votes now (pass 1), later (a smaller
    town: pass 2) or once the country-or-state question is settled ("Georgia")."""
    best = _dominant(cands)
    if best is None or best.kind == "region":
        return
    if (
        best.kind in {"city", "subdiv", "county_bare"}
        and " " not in surface
        and surface.casefold() in p.lower_words
    ):
        return  # "Mobile", "Reading", "Power" (County): also an ordinary word in this text
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
    qual = _bare_qualifier(text[m.end(1) : m.end(1) + 40]) if m.group(2) else None
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


#: A consolidated town and county: "Athens-Clarke County", "Paris-Henry County Rescue Squad".
_TOWN_COUNTY = re.compile(
    r"\b([A-Z][\w'’]+(?: [A-Z][\w'’]+)?)-([A-Z][\w'’]+(?: [A-Z][\w'’]+)?) (County|Parish)\b"
)


def _read_town_county_pairs(ctx: _Context, text: str) -> None:
    """A town joined to a county ("Athens-Clarke County") is the town of the country (and
    state) where a town of that name and a county of that name lie together: one sense of
    the town's name throughout the article, like a qualifier."""
    for m in _TOWN_COUNTY.finditer(text):
        county = {(c.code, c.admin1) for c in _lookup(f"{m.group(2)} {m.group(3)}")}
        towns = {(c.code, c.admin1) for c in _lookup(m.group(1)) if c.kind == "city"}
        both = {a for a in towns & county if a[1]}
        if len({a[0] for a in both}) != 1:
            continue
        key = _key(m.group(1))
        code = next(iter(both))[0]
        ctx.states[key] = code
        admin1 = next(iter(both))[1] if len(both) == 1 else ""
        ctx.vote(key, code, admin1, V_QUALIFIED, V_QUALIFIED)


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
    for name, start, end, cued in _local_scan(text):
        if name.endswith(_POSSESSIVE):
            continue  # "Australia's native birds": the country's
        cue = _LOCAL_AFTER.match(text, end) if cued else None
        if cue and _lookup(text[start : cue.end()]):
            continue  # "Mexico City", "Kansas City": a name of its own, no cue for "Mexico"
        ctx.local_keys.add(_key(name))
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
    found: dict[int, list[int]] = {}  # anchor starts by anchor set (two cues share months)
    for i, (pattern, group, _needles) in enumerate(_WEAK_CUES):
        n = n_addresses if pattern is _ADDRESS_TOWN else _cue_count(i, text, found)
        if n:
            code = max(group, key=lambda c: (ctx.country.get(c, 0.0), c == group[0]))
            style[code] += min(WEAK_MAX, WEAK_VOTE * n)
    for code, v in style.items():
        if v:
            ctx.vote("#cue", code, "", min(STYLE_MAX, v), 0.0)
