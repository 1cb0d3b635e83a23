"""Actor normalisation: surface cleaning, title stripping, in-article linking, corpus merging.

Raw NER strings are not actors: "Chinese President Xi Jinping", "President Xi", "Xi" and
"Xi's" are one person. This module turns stored mention surfaces into canonical actors
without spaCy, so the registry or these rules can change and be re-applied to stored spans:

- :func:`normalize` cleans a surface (possessives, stray punctuation, leading "the",
  titles and roles for people);
- :func:`title_prefix` / :func:`affiliation_words` find the modifier words around a person
  span ("Chinese President", "Russia's", ", the U.S. national security spokesperson");
- :func:`link_people` links short forms to the full name within one article;
- :func:`merge_people` merges full-name variants across the corpus with rapidfuzz, and
  attaches bare surnames only when exactly one full name in the corpus carries that surname.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz

#: Words that are titles or roles, never part of a person's name (lower case, no dots).
TITLE_WORDS = frozenset(
    """
    president presidents vice prime minister ministers chancellor secretary spokesperson
    spokesman spokeswoman spokespeople sen senator senators rep reps representative gov
    governor mr mrs ms miss mx dr prof professor gen general lt col colonel maj major capt
    captain adm admiral sgt cpl pvt king queen prince princess sheikh emir sultan pope
    chairman chairwoman chairperson chair ceo cfo coo cto director leader premier mayor
    ambassador envoy judge justice commissioner chief deputy foreign defence defense finance
    treasury speaker advisor adviser officer official head founder cardinal rev reverend
    father lord lady sir dame commander marshal inspector attorney prosecutor coach manager
    president-elect ex-president former acting interim incumbent late crown supreme
    archbishop bishop rabbi imam ayatollah sec insp supt det pres premier-elect executive
    analyst economist editor correspondent reporter negotiator minister-president
    """.split()
)

#: Lower-case descriptors that may sit between a country modifier and a title
#: ("U.S. national security spokesperson", "Russian foreign minister").
DESCRIPTOR_WORDS = frozenset(
    """
    national security foreign defence defense interior finance economy economic trade
    state federal top senior chief deputy vice former then acting interim new incoming
    outgoing military army navy air force intelligence health energy justice home council
    government opposition party presidential royal supreme central bank white house
    kremlin communist labour labor conservative democratic republican and of the
    """.split()
)

#: Last words that make a name a company ("Courier Corp", "Fiat SpA"), never a person.
COMPANY_WORDS = frozenset(
    """
    inc corp corporation co cos company plc ltd llc lp spa sa ag nv bv gmbh kg ab asa oy
    holdings holding group bancorp bank securities industries international partners
    """.split()
)


def is_company(name: str) -> bool:
    """ "Courier Corp", "Tenneco Inc.", "Fiat SpA" -> True; "Vladimir Putin" -> False."""
    words = name.lower().replace(".", "").replace(",", " ").split()
    return len(words) >= 2 and words[-1] in COMPANY_WORDS


_WS = re.compile(r"\s+")
_PARAGRAPH = re.compile(r"\n[ \t\r]*\n")
_POSSESSIVE = re.compile(r"(?:['\u2019]s|(?<=s)['\u2019])$", re.IGNORECASE)
_EDGE_PUNCT = "\"'\u201c\u201d\u2018\u2019`()[]{}<>,;:!?*\u2013\u2014-_/|#@"
_LEADING_THE = re.compile(r"^the\s+", re.IGNORECASE)
#: A span cut before its head ("Office of the President of | Ukraine"): the link words go.
_TRAILING_LINK = re.compile(r"(?:\s+(?:of|the|and|for|on|in|to))+$", re.IGNORECASE)
_ACRONYM_PAREN = re.compile(r"\s*\(\s*([A-Z][A-Za-z0-9&.\-]{1,11})\s*\)")


def clean_surface(text: str) -> str:
    """Collapse whitespace, strip possessives and stray punctuation at both ends."""
    s = _WS.sub(" ", text).strip()
    for _ in range(3):  # '"Putin's",' needs a few passes
        before = s
        s = s.strip(_EDGE_PUNCT + " ")
        s = _POSSESSIVE.sub("", s).rstrip()
        if s.endswith(".") and not _keeps_period(s):
            s = s[:-1].rstrip()
        if s == before:
            break
    return s


def _keeps_period(s: str) -> bool:
    """Trailing periods of abbreviations stay ("U.S.", "Jr.", "Inc.")."""
    last = s.rsplit(" ", 1)[-1]
    return "." in last[:-1] or len(last) <= 4


def _word_key(word: str) -> str:
    return word.lower().strip(".,").replace("\u2019", "'")


#: Letters after a name, never part of it ("Philippe Sands QC", "Jane Smith MP").
POSTNOMINALS = frozenset({"qc", "kc", "mp", "mep", "msp", "obe", "mbe", "cbe", "kbe", "phd"})


def is_title(word: str) -> bool:
    return _word_key(word) in TITLE_WORDS


def strip_person(surface: str) -> tuple[str, list[str]]:
    """Split a cleaned PERSON surface into (name, prefix words removed).

    Everything up to the last title word is a prefix when at least one name-like word
    follows ("National Security Council spokesperson John Kirby" -> "John Kirby");
    lower-case words at the end are dropped ("Putin said").
    """
    words = surface.split(" ")
    last_title = -1
    for i, w in enumerate(words[:-1]):
        if is_title(w):
            last_title = i
    prefix = words[: last_title + 1]
    name = words[last_title + 1 :]
    while len(name) > 1 and (
        name[-1][:1].islower()
        or _word_key(name[-1]) in POSTNOMINALS
        or not any(c.isalnum() for c in name[-1])  # "DJ Norman Cook - aka"
    ):
        name.pop()
    # A leading lower-case or demonym-like word left alone before a name ("ex Putin").
    while len(name) > 1 and name[0][:1].islower() and name[0].lower() not in _PARTICLES:
        prefix.append(name.pop(0))
    return " ".join(name), prefix


_PARTICLES = frozenset({"de", "da", "van", "von", "der", "bin", "al", "el", "la", "le", "di", "du"})


_GLUED = re.compile(r"\b([A-Z][a-z\u00e0-\u00ff'\u2019-]{2,})\1\b")


def unglue(name: str) -> str:
    """A token repeated without a space by page scraping ("John TrumpTrump") -> once."""
    return _GLUED.sub(r"\1", name)


def normalize(text: str, label: str) -> str:
    """The normalised surface stored in ``mentions.norm`` (no spaCy needed)."""
    if label == "PERSON" and _PARAGRAPH.search(text.strip()):
        # A name never spans a paragraph break ("Bohdan Kisil\n\nKyiv", a signature block;
        # a single newline is a hard line wrap, "Paul\nVolcker"): keep the paragraph with
        # the most words (the first of equals).
        parts = [p for p in _PARAGRAPH.split(text) if p.strip()]
        text = max(parts, key=lambda p: (len(p.split()), -parts.index(p)))
    s = unglue(clean_surface(text))
    if label == "PERSON":
        name, _ = strip_person(_LEADING_THE.sub("", s))  # no name starts with "the"
        return name or s
    s = _LEADING_THE.sub("", s)
    return _TRAILING_LINK.sub("", s) or s


@functools.lru_cache(maxsize=1 << 18)
def fold(name: str) -> str:
    """Case- and accent-insensitive key ("Zelenskyy" == "ZELENSKYY" == "Zelénskyy"); cached:
    resolve folds the same names tens of times per mention (a third of its time uncached)."""
    nfkd = unicodedata.normalize("NFKD", name)
    ascii_ = "".join(c for c in nfkd if not unicodedata.combining(c))
    return _WS.sub(" ", re.sub(r"[^\w\s]", "", ascii_.replace("-", " ")).lower()).strip()


def slug(name: str) -> str:
    """Readable, stable id part: "Vladimir Putin" -> "vladimir-putin"."""
    return re.sub(r"\s+", "-", fold(name)) or "x"


def acronym_of(name: str) -> str:
    """Initials of the capitalised words: "International Criminal Court" -> "ICC"."""
    skip = {"of", "the", "and", "for", "on", "in", "de", "des", "du", "la", "le", "&"}
    return "".join(w[0].upper() for w in name.split() if w.lower() not in skip and w[:1].isalpha())


def paren_acronym(article_text: str, end: int) -> str | None:
    """An acronym in parentheses right after a span: "Court (ICC)" -> "ICC"."""
    m = _ACRONYM_PAREN.match(article_text, end)
    return m.group(1) if m else None


# --------------------------------------------------------------------------- affiliation
#: A sentence end (not an abbreviation such as "U.S." or "Gen."): lower-case word + stop.
_SENT_END = re.compile(r"(?<=[a-z0-9)\"\u201d]{3})[.!?]\s")
_TOKEN = re.compile(r"[\w.'\u2019\-]+|[,;:()\"\u201c\u201d]")


def prefix_words(article_text: str, start: int, *, window: int = 80) -> list[str]:
    """Words right before a span, nearest last, within its line ("Chinese President")."""
    lo = max(0, start - window)
    chunk = article_text[lo:start]
    cut = max([chunk.rfind("\n")] + [m.end() for m in _SENT_END.finditer(chunk)])
    if cut >= 0:
        chunk = chunk[cut:]
    return _TOKEN.findall(chunk)


def suffix_words(article_text: str, end: int, *, window: int = 80) -> list[str]:
    """Words right after a span, up to the end of an apposition (", Russia's president,")."""
    chunk = article_text[end : end + window]
    return _TOKEN.findall(chunk.split("\n", 1)[0])


#: Nouns that, right before a name, make it an organisation or a product ("network
#: monitoring company Sandvine", "building products group James Hardie").
ORG_HEAD_WORDS = frozenset(
    """
    company companies firm firms group groups bank banks maker makers manufacturer
    retailer retailers carrier airline operator operators giant giants club clubs brand
    network networks chain supplier producer broker brokerage insurer lender studio label
    publisher developer chipmaker carmaker automaker conglomerate subsidiary rival rivals
    console consoles service services site website format technology software product
    products device devices handset handsets game games publishers developers studios
    labels manufacturers suppliers producers brands watchdog agency
    """.split()
)
#: Words after a possessive that only an organisation has ("Sega's shares").
_ORG_POSSESSED = frozenset(
    """
    shares shareholders board profits profit sales revenue revenues website stock
    headquarters products customers subscribers employees stores shops subsidiary
    subsidiaries brand brands range console consoles network networks stake chairman
    """.split()
)
_PERSON_TITLES = frozenset({"mr", "mrs", "ms", "miss", "sir", "lady", "lord", "dame", "dr"})
_ORG_BEFORE = re.compile(
    r"(?:\b(?:shares|stake|stakes|investment|holding|holdings|bid)\s+(?:in|of|for)"
    r"|\b(?:developed|made|published|manufactured|produced)\s+by"
    r"|\b(?:executive|officer|director|chairman|chairwoman|head|founder|boss|president"
    r"|managing|analyst|economist|engineer|spokesman|spokeswoman|spokesperson)\s+(?:of|for|at)"
    r"|\b(?:at|from|by|with|for|of|against|to)\s+the|\bthe)\s+$",
    re.IGNORECASE,
)
_ORG_AFTER = re.compile(
    r"^(?:,\s+which\b|\s+(?:said|says|has|had|is|was|will|would)\s+(?:it|its)\b"
    r"|\s+(?:shares|plc|inc|ltd|corp|group)\b|\s+said\s+in\s+a\s+statement\b"
    # a team or band: its members, fans or staff after it ("Everton manager David Moyes",
    # "Franz Ferdinand frontman"), a fixture or score ("Brentford v", "Chelsea 2-1"),
    # or a plural verb no single person takes ("United are", "Everton have won")
    r"|\s+(?:fans|supporters|squad|players|team-mates|teammates|manager|boss"
    r"|coach|striker|strikers|midfielder|defender|winger|goalkeeper|keeper|skipper|chairman"
    r"|frontman|frontwoman|singer|guitarist|drummer|bassist|line-up|lineup)\b"
    r"|\s+(?:v|vs)\.?\s+[A-Z]|\s+\d{1,2}-\d{1,2}\b"
    r"|\s+(?:are|were|have\s+(?:been|won|lost|beaten|signed|drawn|played)))",
    re.IGNORECASE,
)
_JOINED = re.compile(r"(?:\band|&|,)\s+$", re.IGNORECASE)
#: Before a name: a win or defeat over it ("beat Everton", "lost to Chelsea").
_ORG_BEFORE_TEAM = re.compile(
    r"\b(?:beat|beating|defeated|thrashed|lost\s+to|drew\s+with|signed\s+for|fans\s+of)\s+$",
    re.IGNORECASE,
)
_PERSON_AFTER = re.compile(
    r"^(?:,\s+who\b|,\s+\d{1,2},|\s+(?:said|says|told|added)\s+(?:he|she)\b"
    r"|\s+(?:himself|herself)\b)",
    re.IGNORECASE,
)


def name_cues(article_text: str, start: int, end: int) -> tuple[int, int]:
    """(person cues, organisation cues) around one name, from the words that only a
    person or only an organisation takes: "Mr X", "chairman X", "X, who", "X, 46,",
    "X said he" versus "company X", "shares in X", "the X", "X's shares", "X, which",
    "X said its", "X said in a statement"."""
    before = prefix_words(article_text, start, window=40)
    after = article_text[end : end + 40]
    prev = _word_key(before[-1]) if before else ""
    person = int(prev in _PERSON_TITLES or (bool(prev) and is_title(prev)))
    person += bool(_PERSON_AFTER.match(after))
    org = int(
        prev in ORG_HEAD_WORDS or bool(_ORG_BEFORE.search(article_text[max(0, start - 25) : start]))
    )
    # "Smith and Jones are": a plural of two people, not one name
    joined = bool(_JOINED.search(article_text[max(0, start - 6) : start]))
    org += bool(_ORG_AFTER.match(after)) and not joined
    org += bool(_ORG_BEFORE_TEAM.search(article_text[max(0, start - 25) : start]))
    m = re.match(r"['\u2019]s\s+([A-Za-z-]+)", after)
    if m and m.group(1).lower() in _ORG_POSSESSED:
        org += 1
    return person, org


def name_shape_is_org(name: str) -> bool:
    """A one-word name no person has: a digit ("O2"), a lower-case part after a hyphen
    ("Blu-ray"), or all capitals ("GPRS")."""
    if " " in name.strip() or not name:
        return False
    return (
        any(c.isdigit() for c in name)
        or bool(re.search(r"-[a-z]", name))
        or (len(name) >= 2 and name.isalpha() and name.isupper())
    )


@dataclass
class Affiliation:
    """Country evidence for one person mention: the modifier and where it was found."""

    iso3: str
    via: str


def affiliation(
    article_text: str,
    start: int,
    end: int,
    surface: str,
    country_of: Callable[[str], str | None],
) -> Affiliation | None:
    """Country of a person from modifiers and appositions, or None.

    ``country_of`` maps a modifier word ("Chinese", "Russia's", "U.S.", "Kremlin") to an
    ISO3 code (regions and unknowns: None). Evidence counts only next to a title/role
    ("Chinese President Xi"), as a possessive ("Russia's Putin"), or in an apposition
    (", the U.S. national security spokesperson").
    """
    # Inside the span ("Chinese President Xi Jinping" tagged whole) is nearest the name.
    _, inner = strip_person(clean_surface(surface))
    words = prefix_words(article_text, start) + inner
    found = _scan_prefix(words, country_of)
    if found:
        return found
    return _scan_apposition(suffix_words(article_text, end), country_of)


def _country_word(word: str, country_of: Callable[[str], str | None]) -> str | None:
    w = word.strip(',;:"()\u201c\u201d')
    if not w or not (w[:1].isupper()):
        return None
    code = country_of(_POSSESSIVE.sub("", w))
    return code if code and not code.startswith("REG:") else None


def _country_at(
    words: Sequence[str], i: int, country_of: Callable[[str], str | None]
) -> tuple[str | None, int]:
    """Country named by the words ending at ``i`` ("South Africa", "U.S."); (code, first)."""
    for n in (3, 2):
        lo = i - n + 1
        if lo >= 0 and all(w[:1].isupper() for w in words[lo : i + 1]):
            code = _country_word(" ".join(words[lo : i + 1]), country_of)
            if code:
                return code, lo
    return _country_word(words[i], country_of), i


#: Words between a title and a country: "President of the (Islamic) Republic of Iran".
_OF = frozenset(
    {
        "of",
        "the",
        "republic",
        "federation",
        "kingdom",
        "state",
        "people's",
        "islamic",
        "federal",
        "democratic",
        "arab",
        "socialist",
        "united",
        "union",
    }
)


def _scan_prefix(
    words: Sequence[str], country_of: Callable[[str], str | None]
) -> Affiliation | None:
    """Walk back from the name over titles and descriptors to a country modifier.

    "Chinese President", "Russia's", "U.S. national security spokesperson" and
    "President of Brazil" count; a country not attached to a title does not.
    """
    saw_title = False
    i = len(words) - 1
    steps = 0
    while i >= 0 and steps < 8:
        w = words[i]
        code, lo = _country_at(words, i, country_of)
        if code:
            via = " ".join(words[lo : i + 1])
            if saw_title or _POSSESSIVE.search(w):
                return Affiliation(code, via)
            # "President of (the) Brazil Jair Bolsonaro": title + of + country + name.
            j = lo - 1
            while j >= 0 and words[j].lower() in _OF:
                j -= 1
            if j < lo - 1 and j >= 0 and is_title(words[j]):
                return Affiliation(code, " ".join(words[j : i + 1]))
            return None
        if is_title(w):
            saw_title = True
        elif not (_word_key(w) in DESCRIPTOR_WORDS or (w[:1].isupper() and saw_title)):
            return None  # "said", a comma, another name before any title: no evidence
        i -= 1
        steps += 1
    return None


def _scan_apposition(
    words: Sequence[str], country_of: Callable[[str], str | None]
) -> Affiliation | None:
    """ "John Kirby, the U.S. national security spokesperson, said": a title and a country
    between the comma and the end of the apposition, and no other name in between."""
    if not words or words[0] != ",":
        return None
    saw_title = False
    found: Affiliation | None = None
    i = 1
    while i < min(len(words), 10):
        w = words[i]
        if w in {",", ";", ")", "(", ":", ".", "\u2013", "\u2014", "-"}:
            break
        code, _ = _country_word(w, country_of), i
        if code is None and i + 1 < len(words) and w[:1].isupper():
            code2, _lo = _country_at(words, min(i + 2, len(words) - 1), country_of)
            if code2 and _lo == i:
                code, i = code2, min(i + 2, len(words) - 1)
        if code:
            found = found or Affiliation(code, w)
        elif is_title(w):
            saw_title = True
        elif _word_key(w) in DESCRIPTOR_WORDS or w.lower() in {"a", "an", "who", "is"}:
            pass
        elif w[:1].isupper():
            return None  # another name: a list of people, not an apposition
        else:
            break  # "said", "told": the apposition ended
        i += 1
    return found if found and saw_title else None


# --------------------------------------------------------------------------- linking
@dataclass
class PersonCluster:
    """One person within one article: its full name and every mention index."""

    name: str
    members: list[int] = field(default_factory=list)


def link_people(norms: Sequence[str], starts: Sequence[int]) -> list[str]:
    """Within one article, map each person surface to the article's fullest form.

    "Putin" -> "Vladimir Putin" when the article names him in full; "Xi" -> "Xi Jinping"
    (surname first; the corpus step undoes such a link when the word is a given name, see
    :func:`given_names`); with two candidates ("Joe Biden", "Hunter Biden"), the nearest
    full name before the short form wins, else the first after it. A suffixed name ("Donald
    Trump Jr.") is reached only by a form with the suffix ("Trump Jr.").
    """
    full = [(i, n) for i, n in enumerate(norms) if len(n.split()) >= 2]
    out = list(norms)
    for i, n in enumerate(norms):
        parts = n.split()
        if not parts:
            continue
        key = fold(n)
        cands: list[tuple[int, str]] = []
        for j, f in full:
            fk = fold(f)
            if fk == key:
                continue
            ftoks = fk.split()
            ktoks = key.split()
            if len(ktoks) >= len(ftoks):
                continue
            if ftoks[-1] in _SUFFIXES and ktoks[-1] not in _SUFFIXES:
                continue  # "Donald Trump" / "Trump" are not "Donald Trump Jr."
            if ftoks[-len(ktoks) :] == ktoks or (len(ktoks) == 1 and ftoks[0] == ktoks[0]):
                cands.append((j, f))
        if not cands:
            continue
        names = {fold(f) for _, f in cands}
        if len(names) == 1:
            out[i] = max((f for _, f in cands), key=len)
            continue
        before = [(starts[j], f) for j, f in cands if starts[j] <= starts[i]]
        after = [(starts[j], f) for j, f in cands if starts[j] > starts[i]]
        out[i] = max(before)[1] if before else min(after)[1]
    # Longest-form closure: "Putin" -> "Vladimir Putin" -> "Vladimir Vladimirovich Putin".
    return out


#: Generational suffixes: part of the name, a different person ("Donald Trump Jr.").
_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv"})


def _split_suffix(toks: list[str]) -> tuple[list[str], list[str]]:
    cut = len(toks)
    while cut > 1 and toks[cut - 1] in _SUFFIXES:
        cut -= 1
    return toks[:cut], toks[cut:]


def surname(key: str) -> str:
    """The folded family name with its generational suffix: "donald trump jr" -> "trump jr",
    "ronald reagan" -> "reagan", "trump" -> "trump"."""
    base, suffix = _split_suffix(key.split())
    return " ".join(base[-1:] + suffix)


def name_core(key: str) -> tuple[str, tuple[str, ...]]:
    """A folded full name as (first + last word [+ suffix], the middle words).

    "vladimir v putin" -> ("vladimir putin", ("v",)); "joseph r biden jr" ->
    ("joseph biden jr", ("r",)) (a suffix marks another person, so it stays);
    "xi jinping" -> ("xi jinping", ()).
    """
    base, suffix = _split_suffix(key.split())
    if len(base) <= 2:
        return " ".join(base + suffix), ()
    return " ".join([base[0], base[-1], *suffix]), tuple(base[1:-1])


def strip_places(name: str, is_place: Callable[[str], bool], *, keep: int = 2) -> str:
    """Drop place names that NER glued to the edges of a person name.

    "Ukraine Volodymyr Zelenskyy" -> "Volodymyr Zelenskyy", "Bohdan Kisil Kyiv" ->
    "Bohdan Kisil", "United States Joe Biden" -> "Joe Biden". A word (or two) goes only when
    ``is_place`` says it names a country-level place and at least ``keep`` name words
    remain, so "Michael Jordan" and "Israel Katz" are left alone.
    """
    words = name.split()
    changed = True
    while changed and len(words) > keep:
        changed = False
        for n in (2, 1):  # leading "United States", "Russia's", "Ukrainian"
            head = " ".join(words[:n])
            if len(words) - n >= keep and is_place(_POSSESSIVE.sub("", head)):
                words = words[n:]
                changed = True
                break
        if changed:
            continue
        for n in (2, 1):
            tail = " ".join(words[-n:])
            if len(words) - n >= keep and is_place(tail):
                words = words[:-n]
                changed = True
                break
    return " ".join(words)


#: A bare surname joins the corpus's dominant full name with that surname when that name
#: carries at least this share of the surname's full-name mentions (tuned on half of
#: Reuters-21578 TRAIN, bench/eval_people.py; see bench/RESULTS.md, issue 14).
DOMINANT_SHARE = 0.75
#: Bare surnames at least this similar (rapidfuzz ratio, same first letter, 5+ letters)
#: are spelling variants of the surname ("Zelensky" / "Zelenskyy").
SURNAME_RATIO = 88.0


def is_full_name(key: str) -> bool:
    """Two or more name words besides a suffix and particles: "donald trump jr" yes,
    "trump jr" and "von der leyen" no."""
    base = _split_suffix(key.split())[0]
    return sum(1 for t in base if t not in _PARTICLES) >= 2


def given_names(full_keys: Iterable[str]) -> set[str]:
    """Words that the corpus uses as given names: first word of full names with two or more
    different surnames ("joe" of "joe biden" and "joe manchin"). Such a word alone is
    never linked to one of them."""
    lasts: dict[str, set[str]] = defaultdict(set)
    for k in full_keys:
        toks = k.split()
        if len(toks) >= 2:
            lasts[toks[0]].add(surname(k))
    return {w for w, ss in lasts.items() if len(ss) >= 2}


#: Full names merge as spellings of one another only when their first words are at least
#: this similar (rapidfuzz ratio) ...
FIRST_NAME_RATIO = 85
#: ... and their last words at least this similar; the whole name must also reach the
#: ``threshold`` of :func:`merge_people`.
LAST_NAME_RATIO = 80


def merge_people(
    names: Iterable[str],
    counts: Counter[str] | None = None,
    *,
    no_merge: frozenset[str] = frozenset(),
    pins: dict[str, str] | None = None,
    threshold: float = 90.0,
    dominant_share: float | None = None,
    ambiguous: dict[str, Counter[str]] | None = None,
) -> dict[str, str]:
    """Corpus-wide canonical name for every person name (folded key -> canonical surface).

    Full names (two or more words) merge when rapidfuzz says they are the same string up
    to spelling ("Volodymyr Zelensky" / "Volodymyr Zelenskiy") *and* their first and last
    words agree closely, unless both surnames are also carried by other people of the
    corpus ("David Davis" / "David Davies" beside "Evan Davis" and "Quentin Davies"); a reversed name ("Trump Donald") joins the order the corpus uses
    more. A bare surname (or surname + suffix, "Trump Jr.") joins the full name that
    carries at least ``dominant_share`` of the full-name mentions of that surname (or of a
    close spelling of it); otherwise it stays apart and, when ``ambiguous`` is given, is
    recorded there with its candidates. Names in ``no_merge`` (registry splits) stay
    apart; ``pins`` (folded surname -> canonical name) decide a surname outright.
    """
    counts = counts or Counter()
    share = DOMINANT_SHARE if dominant_share is None else dominant_share
    by_key, weight = _weigh_names(names, counts)
    keys = sorted(by_key, key=lambda k: (-weight[k], k))
    full_keys = [k for k in keys if is_full_name(k)]
    canon = _reversed_names(full_keys, by_key, weight, no_merge=no_merge)
    full_keys = [k for k in full_keys if k not in canon]
    _merge_full_names(full_keys, canon, no_merge=no_merge, threshold=threshold)
    _follow_chains(canon)
    _attach_surnames(
        keys,
        canon,
        by_key,
        weight,
        no_merge=no_merge,
        pins=pins or {},
        share=share,
        ambiguous=ambiguous,
    )
    return {k: by_key[v] for k, v in canon.items()}


def _weigh_names(names: Iterable[str], counts: Counter[str]) -> tuple[dict[str, str], Counter[str]]:
    """Fold every name to its key; a key's weight is the mentions of all its surfaces, and
    its surface is the most mentioned one."""
    by_key: dict[str, str] = {}
    weight: Counter[str] = Counter()
    for n in names:
        k = fold(n)
        if not k:
            continue
        weight[k] += counts[n]
        if k not in by_key or counts[n] > counts[by_key[k]]:
            by_key[k] = n
    return by_key, weight


def _reversed_names(
    full_keys: Sequence[str],
    by_key: dict[str, str],
    weight: Counter[str],
    *,
    no_merge: frozenset[str],
) -> dict[str, str]:
    """A two-word name whose reversal the corpus uses more ("trump donald") points at that
    order; the pointer may be followed later (:func:`_follow_chains`)."""
    canon: dict[str, str] = {}
    for k in full_keys:
        toks = k.split()
        rev = " ".join(reversed(toks))
        if len(toks) == 2 and rev in by_key and weight[rev] > weight[k] and k not in no_merge:
            canon[k] = rev
    return canon


def _merge_full_names(
    full_keys: Sequence[str],
    canon: dict[str, str],
    *,
    no_merge: frozenset[str],
    threshold: float,
) -> None:
    """Full names, most mentioned first, join the first earlier name (same surname initial)
    that is a spelling of them; the rest are canonical themselves. Fills ``canon``."""
    cmp = _comparable(full_keys, no_merge)
    # Given names each surname is carried with: a surname the corpus also gives to other
    # people is a name of its own, not a misspelling ("David Davies" beside "David Davis"
    # when "Quentin Davies" and "Evan Davis" exist too).
    firsts: dict[str, set[str]] = defaultdict(set)
    for k in full_keys:
        toks = cmp[k].split()
        firsts[toks[-1]].add(toks[0])
    blocks: dict[str, list[str]] = defaultdict(list)
    for k in full_keys:
        if k in no_merge:
            canon[k] = k
            continue
        ck = cmp[k]
        toks = ck.split()
        target = None
        for other in blocks[toks[-1][:1]]:
            if _spelling_match(cmp[other], ck, firsts, threshold=threshold):
                target = other
                break
        if target is None:
            blocks[toks[-1][:1]].append(k)
            canon[k] = k
        else:
            canon[k] = canon[target]


def _spelling_match(co: str, ck: str, firsts: dict[str, set[str]], *, threshold: float) -> bool:
    """Two comparable full names are one person spelt two ways: same words count, same
    middle initials, close first and last words and whole name, and not two surnames that
    other people of the corpus carry too."""
    otoks = co.split()
    toks = ck.split()
    return co == ck or (
        len(otoks) == len(toks)
        and _same_initials(otoks[1:-1], toks[1:-1])
        and fuzz.ratio(otoks[0], toks[0]) >= FIRST_NAME_RATIO
        and fuzz.ratio(otoks[-1], toks[-1]) >= LAST_NAME_RATIO
        and fuzz.ratio(co, ck) >= threshold
        and not (
            otoks[-1] != toks[-1]
            and firsts[otoks[-1]] - {otoks[0]}
            and firsts[toks[-1]] - {toks[0]}
        )
    )


def _follow_chains(canon: dict[str, str]) -> None:
    """Reversed names point at a key that may have merged on: follow to the end."""
    for k in list(canon):
        while canon[k] != canon.get(canon[k], canon[k]):
            canon[k] = canon[canon[k]]


def _attach_surnames(
    keys: Sequence[str],
    canon: dict[str, str],
    by_key: dict[str, str],
    weight: Counter[str],
    *,
    no_merge: frozenset[str],
    pins: dict[str, str],
    share: float,
    ambiguous: dict[str, Counter[str]] | None,
) -> None:
    """Every key not yet in ``canon`` (bare surnames and the like) joins a pinned name or
    the dominant owner of its surname, or stays itself (recorded in ``ambiguous`` when
    several owners compete). Fills ``canon``; a pinned name's surface joins ``by_key``."""
    owners: dict[str, Counter[str]] = defaultdict(Counter)
    for k in canon:
        if is_full_name(k):
            owners[surname(k)][canon[k]] += weight[k]
    given = given_names(k for k in canon if is_full_name(k))
    by_initial: dict[str, list[str]] = defaultdict(list)
    for sn in owners:
        by_initial[sn[:1]].append(sn)
    for k in keys:
        if k in canon:
            continue
        canon[k] = k
        if k in no_merge:
            continue
        pinned = pins.get(k)
        if pinned:
            target = fold(pinned)
            canon[k] = canon.get(target, target)
            by_key.setdefault(canon[k], pinned)
            continue
        votes = _surname_votes(k, owners, by_initial, given)
        if not votes:
            continue
        total = sum(votes.values())
        top, n = max(votes.items(), key=lambda kv: (kv[1], kv[0]))
        if len(votes) == 1 or (total and n / total >= share):
            canon[k] = top
        elif ambiguous is not None:
            ambiguous[by_key[k]] = Counter({by_key[o]: c for o, c in votes.items()})


def _surname_votes(
    k: str,
    owners: dict[str, Counter[str]],
    by_initial: dict[str, list[str]],
    given: set[str],
) -> Counter[str]:
    """Full-name mentions per canonical name carrying surname ``k``; when none does, those
    of close spellings of it (5+ letters, one word, not a given name of the corpus)."""
    votes = Counter(owners.get(surname(k), Counter()))
    if not votes and len(k) >= 5 and " " not in k and k not in given:
        for sn in by_initial.get(k[:1], ()):
            if " " not in sn and fuzz.ratio(sn, k) >= SURNAME_RATIO:
                votes.update(owners[sn])
    return votes


def _same_initials(a: Sequence[str], b: Sequence[str]) -> bool:
    """Middle initials must agree for a spelling match ("george w bush" is not "george hw
    bush"); longer middle words are left to the fuzzy ratio."""
    return all(x == y or (len(x) > 2 and len(y) > 2) for x, y in zip(a, b, strict=True))


def _comparable(full_keys: Sequence[str], no_merge: frozenset[str]) -> dict[str, str]:
    """The form each full name is compared in: without middle initials and suffixes
    ("vladimir v putin" -> "vladimir putin") when that is unambiguous, else the name itself.

    Evidence rule: the middle may be dropped only when it is initials and the corpus has no
    other middle for the same first and last name ("george w bush" next to "george hw
    bush" are two people; "joseph r biden" next to "joseph robinette biden" is left to the
    registry), and never for a surname or name the registry splits.
    """
    cores = {k: name_core(k) for k in full_keys}
    middles: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    for core, middle in cores.values():
        if middle:
            middles[core].add(middle)
    out: dict[str, str] = {}
    for k, (core, middle) in cores.items():
        safe = (
            all(len(t) == 1 for t in middle)
            and len(middles[core]) <= 1
            and core not in no_merge
            and core.split()[-1] not in no_merge
        )
        out[k] = core if safe else k
    return out
