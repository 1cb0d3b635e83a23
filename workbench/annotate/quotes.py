"""Direct quotations and who said them, linked to canonical actors.

Why rules, not a model: attribution in news follows a handful of conventions, and an
analyst must be able to see why a quote was given to a speaker (``method`` and ``cue`` are
stored). The stage reads ``articles.text``, the stored ``sentences`` (provenance) and
``mentions`` (speaker -> ``entity_id``); it never re-runs spaCy.

1. Quotations: curly (“…”) and straight ("…") double quotes, straight ones classified as
   opening/closing by their neighbours. A quote may span sentences, and may continue across
   paragraphs (a paragraph that ends inside a quote and a next paragraph that opens with a
   quote mark continue the same quotation - the newswire convention).
2. Attribution, first match wins:
   - ``after-verb``: “…,” said Kirby / “…,” continued the spokesman;
   - ``after-speaker``: “…,” Kirby told reporters / “…,” he said;
   - ``dash``: “…” — John Kirby;
   - ``before``: Kirby said: “…” / He told the BBC on Monday: “…”;
   - ``continuation``: an unattributed quote in the same paragraph right after an attributed
     one has the same speaker.
   After-quote cues apply only when the quotation does not end with a full stop (news style:
   “…,” X said).
3. Speaker linking: the last PERSON mention inside the speaker phrase (else ORG/GPE/NORP),
   its ``entity_id`` from the resolve stage (so "Kirby" -> "John Kirby"). A pronoun
   (he/she) is linked to the first PERSON mention of the nearest sentence before the quote
   (within three paragraphs, outside quotations) that names a person whose gender does not
   contradict it (gender read from
   the article itself: "Mr."/"Mrs." before the name, or "he"/"his"/"she"/"her" in the
   sentence that names the person), and never an organisation or place; "it" and "they"
   stay unlinked (too often the nearest organisation is not the one speaking). An
   unlinked speaker is kept on the quote and never ranked as a speaker.
4. Unattributed quotations are kept only when they look like speech (>= 8 words);
   scare quotes ("fruitful") are skipped. Attributed quotations of at most
   FRAGMENT_WORDS words ("feebly", "cover-up") are stored with ``fragment`` set and left
   out of "who is quoted" by default.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from ..base import store
from ..nlp.actors import is_title, name_cues
from . import stages

if TYPE_CHECKING:  # pragma: no cover
    import duckdb

STAGE = "quotes"
QUOTES_VERSION = "quotes-v11"
CHUNK = 500
MIN_UNATTRIBUTED_WORDS = 8
#: Quotations of at most this many words are fragments (scare quotes, single terms).
FRAGMENT_WORDS = 3
_MALE = frozenset({"he", "him", "his", "himself"})
_FEMALE = frozenset({"she", "her", "hers", "herself"})
_TITLE_M, _TITLE_F = r"Mr|Sir|Lord|King|Prince", r"Mrs|Ms|Miss|Lady|Dame|Queen|Princess"
_GENDER_TITLE = re.compile(rf"\b(?:({_TITLE_M})|({_TITLE_F}))\.?\s+$")
_GENDER_TITLE_IN = re.compile(rf"^(?:({_TITLE_M})|({_TITLE_F}))\.?\s+\S")
_PRONOUN_WORD = re.compile(r"\b(he|him|his|himself|she|her|hers|herself)\b", re.IGNORECASE)
#: A gendered role noun right before a name: "chairwoman, Meredith Hellicar".
_ROLE_GENDER = re.compile(
    r"\b(?:spokes|chair|business|congress|police|sales|council|anchor|ombuds|assembly)(wo)?man"
    r",?\s+$",
    re.IGNORECASE,
)

CUE_VERBS = (
    "said|says|say|told|tells|added|adds|continued|continues|stated|states|asked|asks|"
    "explained|explains|noted|notes|wrote|writes|tweeted|declared|declares|insisted|insists|"
    "warned|warns|argued|argues|replied|replies|announced|announces|claimed|claims|stressed|"
    "stresses|emphasised|emphasized|urged|urges|remarked|commented|acknowledged|admitted|"
    "admits|recalled|suggested|suggests|vowed|pledged|posted|concluded|responded|cautioned|"
    "predicted|complained|conceded|observed|pointed out|went on|underlined|underscored|"
    "reiterated|reiterates|confirmed|confirms|added that|according to"
)
_VERB = rf"(?P<verb>{CUE_VERBS})"
PRONOUNS = {"he", "she", "they", "i", "we", "it"}
_DET_START = re.compile(
    r"^(?:the|a|an|one|another|his|her|their|its|our|two|three|some|several|many|both)\b",
    re.IGNORECASE,
)
_SPK = r"[^,;:\n\"“”()]{1,120}?"

_AFTER_VERB = re.compile(rf"^[\s,]*{_VERB}\s+(?P<spk>[^,;:.\n\"“”()]{{1,100}})", re.IGNORECASE)
_AFTER_SPK = re.compile(rf"^[\s,]*(?P<spk>{_SPK})\s+{_VERB}\b")
_AFTER_APPOS = re.compile(
    rf"^[\s,]*(?P<spk>[A-Z][^,;:\n\"“”()]{{0,60}}),[^\"“”\n]{{1,140}}?,\s+{_VERB}\b"
)
_DASH = re.compile(r"^\s*[,]?\s*(?:—|–|--|-)\s*(?P<spk>[A-Z][^.\n\"“”]{1,80})")
_BEFORE = re.compile(
    rf"(?P<spk>(?<![\w'’])[A-Z][^,;\n\"“”()]{{0,110}}?|\b[Hh]e|\b[Ss]he|\b[Tt]hey)\s+{_VERB}\b"
    r"(?P<tail>[^\"“”\n.;]{0,60}?)[:,]?\s*$"
)
#: Masks for abbreviations so "U.S." / "Mr." do not end a speaker phrase (same length).
_ABBREV = re.compile(r"\b(?:[A-Z]\.){1,3}|\b(?:Mr|Mrs|Ms|Dr|Gen|Lt|Col|Sgt|St|Sen|Rep|Gov)\.")
#: Words that end a verb-first speaker phrase ("said Kirby on Monday").
_SPK_STOP = re.compile(
    r"\s+(?:on|in|at|during|after|before|when|while|who|which|that|last|this|yesterday|today|"
    r"adding|according|as|to|from|earlier|later|late)\b.*$",
    re.S,
)
_WORD = re.compile(r"\w+")
_LEAD = re.compile(r"^\s*(?:the|a|an)\s+", re.IGNORECASE)
_QUOTE_MARK = re.compile(r"[\"“”]")
_SENT_BREAK = re.compile(r"[.!?][\"”’]?\s")
OPEN_CURLY, CLOSE_CURLY = "“", "”"


@dataclass
class Quote:
    start: int  # content start (after the opening mark)
    end: int  # content end (before the closing mark)
    text: str
    speaker: str | None = None
    speaker_start: int | None = None
    speaker_end: int | None = None
    entity_id: str | None = None
    cue: str | None = None
    method: str | None = None
    sentence_idx: int | None = None

    @property
    def fragment(self) -> bool:
        """At most FRAGMENT_WORDS words: a term or scare quote, not a statement."""
        return len(_WORD.findall(self.text)) <= FRAGMENT_WORDS


#: A line break inside a line-wrapped sentence ("John H.\nRollins" in newswire text); a
#: paragraph break ("\n\n", "\n    ") is not one.
_WRAP = re.compile(r"(?<=\S)\n(?=\S)")


def _mask(s: str) -> str:
    """Same-length text for the speaker patterns: abbreviation dots and line wraps hidden."""
    return _WRAP.sub(" ", _ABBREV.sub(lambda m: m.group(0).replace(".", "·"), s))


def _straight_role(text: str, i: int) -> str:
    """'open', 'close' or '?' for a straight double quote at ``i``, from its neighbours."""
    prev = text[i - 1] if i > 0 else " "
    nxt = text[i + 1] if i + 1 < len(text) else " "
    if (prev.isspace() or prev in "([{—–-/") and not nxt.isspace():
        return "open"
    if not prev.isspace() and (nxt.isspace() or nxt in ".,;:!?)]}—–-'’" or i + 1 == len(text)):
        return "close"
    return "?"


def find_spans(text: str) -> list[tuple[int, int]]:
    """(content_start, content_end) of each double-quoted span, paragraph continuations joined."""
    marks: list[tuple[int, str]] = []
    for m in re.finditer(r"[\"“”]|\n\s*\n", text):
        ch = m.group(0)
        if ch == OPEN_CURLY:
            marks.append((m.start(), "open"))
        elif ch == CLOSE_CURLY:
            marks.append((m.start(), "close"))
        elif ch == '"':
            role = _straight_role(text, m.start())
            if role == "?":
                role = "close" if marks and marks[-1][1] == "open" else "open"
            marks.append((m.start(), role))
        else:
            marks.append((m.end(), "para"))
    spans: list[tuple[int, int]] = []
    open_at: int | None = None
    after_para = False  # a paragraph break was crossed while a quote was open
    for pos, role in marks:
        if role == "para":
            if open_at is not None:
                after_para = True
            continue
        if role == "open":
            if open_at is not None and after_para and _at_para_start(text, pos):
                after_para = False  # the newswire continuation mark: same quotation
                continue
            open_at = pos
            after_para = False
        elif open_at is not None:
            spans.append((open_at + 1, pos))
            open_at = None
            after_para = False
    return [(s, e) for s, e in spans if e > s]


def _at_para_start(text: str, pos: int) -> bool:
    j = pos - 1
    while j >= 0 and text[j] in " \t\r":
        j -= 1
    return j < 0 or text[j] == "\n"


def _para_start(text: str, pos: int) -> int:
    j = text.rfind("\n", 0, pos)
    return 0 if j < 0 else j + 1


def _para_end(text: str, pos: int) -> int:
    j = text.find("\n", pos)
    return len(text) if j < 0 else j


@dataclass
class _Mention:
    start: int
    end: int
    text: str
    label: str
    entity_id: str | None


#: Entity kinds (id prefixes) that are never a person.
_NOT_PERSON = frozenset(
    {"org", "place", "group", "disease", "event", "product", "nonactor", "abbreviation"}
)


def _kind(entity_id: str | None) -> str | None:
    return entity_id.split(":", 1)[0] if entity_id and ":" in entity_id else None


def _is_person(m: _Mention) -> bool:
    """A person by its resolved entity (a spaCy PERSON may have become a place)."""
    kind = _kind(m.entity_id)
    if kind == "person":
        return True
    return kind not in _NOT_PERSON and m.label == "PERSON"


def _clean_speaker(text: str, s: int, e: int) -> tuple[int, int]:
    """Trim whitespace and a trailing possessive/comma from a speaker span."""
    while s < e and not text[s].isalnum():
        s += 1
    while e > s and not (text[e - 1].isalnum() or text[e - 1] in ".’'"):
        e -= 1
    if text[max(s, e - 2) : e] in ("’s", "'s"):
        e -= 2
    return s, e


#: A speaker phrase is never a prepositional phrase ("In a statement ..., Blinken said") nor
#: the document itself ("the statement said": who issued it is named elsewhere).
_NOT_SPEAKER = re.compile(r"^(?:in|on|at|according|after|before|from|with|by|for)\b", re.IGNORECASE)
#: A document as the speaker phrase: it speaks only through an issuer it names ("the World
#: Bank report said" -> World Bank); "the statement said" alone names nobody.
_DOCUMENT = re.compile(
    r"^(?:(?:the|a|an|its|their|his|her|this|that)\s+)?(?:[\w'’.-]+\s+){0,3}"
    r"(?:statement|report|complaint|summary|letter|document|study|survey|filing|memo"
    r"|memorandum|communiqu[eé]|lawsuit|ruling|draft|resolution|declaration|notice|circular"
    r"|prospectus|bulletin|editorial|decree|judgment|judgement|verdict|message|post|tweet"
    r"|video|caption|announcement|release|note|e-mail|email|article|advert|advertisement"
    r"|website|blog|poster|leaflet|manifesto|petition|book|film|song|album)s?"
    r"(?:\s+(?:accompanying|attached|posted|published|issued|released|sent|seen|quoted"
    r"|on|in|from|of|to|by|with)\b.*)?$",
    re.IGNORECASE,
)

#: Role nouns a name may modify ("Franz Ferdinand frontman Alex Kapranos", "Everton
#: winger"), besides the title words: jobs, positions in a team or band, professions.
ROLE_NOUNS = frozenset(
    """
    frontman frontwoman singer vocalist guitarist drummer bassist keyboardist rapper
    songwriter composer conductor musician pianist violinist band-mate bandmate actor
    actress star co-star director producer presenter host anchor author writer novelist
    poet playwright screenwriter comedian designer photographer artist dancer model
    winger striker forward midfielder defender goalkeeper keeper full-back fullback
    centre-back skipper captain coach manager boss chairman owner player team-mate
    teammate substitute sprinter runner jockey trainer rider driver bowler batsman
    spokesman spokeswoman spokesperson analyst economist editor columnist critic
    """.split()
)

#: Head nouns of an unnamed speaker a later "he"/"she"/"they" may refer to ("said one
#: banker. '...,' he added"), and of an organisation an "it" may refer to.
PERSON_NOUNS = frozenset(
    """
    source banker dealer trader diplomat spokesman spokeswoman spokesperson official aide
    analyst economist minister executive director officer observer expert insider employee
    worker witness resident lawyer attorney investor broker strategist delegate member
    activist campaigner man woman engineer scientist researcher doctor teacher student
    player fan customer consumer buyer seller owner manager president chairman chairwoman
    chief secretary negotiator envoy ambassador leader governor mayor senator legislator
    lawmaker politician commander general colonel officer soldier farmer producer exporter
    importer participant organiser organizer consultant adviser advisor specialist
    representative partner founder boss head judge prosecutor police policeman
    """.split()
)
ORG_NOUNS = frozenset(
    """
    company firm group bank ministry agency government party union board commission council
    committee court airline carrier club department office organisation organization
    association institute fund authority regulator exchange network newspaper paper channel
    broadcaster operator maker manufacturer producer retailer supplier utility body team
    army military corporation conglomerate giant insurer lender bureau federation magazine
    journal website site publication station charity watchdog
    """.split()
)
_DETS = r"(?:the|a|an|one|another|two|three|several|some|other|many|most|its|their)"
_NOMINAL_VERBS = (
    r"(?:said|says|say|told|tells|added|adds|stated|explained|noted|warned|argued|denied"
    r"|denies|insisted|confirmed|announced|claimed|admitted|stressed|believes|believed"
    r"|described|describes|revealed|reveals|commented|replied|recalled|joked|conceded)"
)
_NOMINAL_BEFORE = re.compile(
    rf"(?P<n>\b{_DETS}\s+(?:[\w'’.&-]+\s+){{0,4}}?(?P<head>[a-z][\w-]*))\s+{_NOMINAL_VERBS}\b",
    re.IGNORECASE,
)
_NOMINAL_AFTER = re.compile(
    rf"\b(?:{_NOMINAL_VERBS}|according to)\s+(?P<n>{_DETS}\s+(?:[\w'’.&-]+\s+){{0,4}}?"
    r"(?P<head>[a-z][\w-]*))(?=\s*[,.;:]|\s+(?:on|in|at|who|of|from|for|after|with)\b)",
    re.IGNORECASE,
)
_NOMINAL_BARE = re.compile(rf"(?P<n>\b(?P<head>[A-Za-z][a-z-]+s))\s+{_NOMINAL_VERBS}\b")
#: A name spaCy did not tag, as the subject of a speech verb ("..., Attiya said.").
_NAME_SAID = re.compile(
    rf"(?:^|(?<=[,;]\s)|(?<=\.\s)|(?<=[\"”]\s)|(?<=\n)|(?<=\s\s))(?P<n>(?P<head>[A-Z][a-z'’-]+)"
    rf"(?:\s+[A-Z][a-z'’-]+)?)\s+{_NOMINAL_VERBS}\b"
)
_NOT_NAME = frozenset(
    """
    the a an he she it they we i you this that these those there here his her its their
    one some officials but and or so if when then also earlier later meanwhile however
    """.split()
)
#: An organisation spaCy did not tag, by its acronym ("In a statement the RSPCA said").
_ACRONYM_SAID = re.compile(
    rf"(?P<n>\b(?:the\s+)?(?P<head>[A-Z][A-Z&]{{1,9}}))(?:['’]s)?\s+{_NOMINAL_VERBS}\b"
)
#: A mention that is the subject or object of a speech verb ("..., the Bundesbank said").
#: (an apposition between them says nothing of its own: "Natalie, who he says asked" is no
#: speaker of "says")
_SPEECH_AFTER = re.compile(
    rf"(?:['’]s)?\s*(?:,(?![^,\n]*\b(?:he|she|they|it|we|I)\b)[^,\n]{{1,80}}?,?\s+)?"
    rf"{_NOMINAL_VERBS}\b"
)
_SPEECH_BEFORE = re.compile(rf"\b{_NOMINAL_VERBS}\s+(?:the\s+|[\w-]+\s+){{0,4}}$")


_OF_BEFORE = re.compile(r"\bof\s+(?:the\s+)?$", re.IGNORECASE)
#: A fixture tagged as one name ("Brentford v Manchester United").
_FIXTURE = re.compile(r"\s(?:v|vs)\.?\s")
#: A name inside a show title ("Later... With Jools Holland"): a capital "With" mid-sentence.
_TITLE_WITH = re.compile(r"(?:[^.!?\s]|\.\.\.|…)\s+With\s+$")

#: Roles a definite phrase uses for a person named elsewhere ("the President", "the Exxon
#: chairman"): "the" + one of these is not an unnamed speaker, the named person is.
NAMED_ROLES = frozenset(
    """
    president minister chairman chairwoman chief secretary leader governor mayor senator
    ambassador envoy commander general colonel judge prosecutor head founder boss
    negotiator manager director executive owner partner
    """.split()
)


def _nominal_fits(head: str, pronoun: str) -> bool:
    """Whether an unnamed speaker's head noun agrees with the pronoun in number, gender and
    type: "one banker" -> he/she, "the sources" -> they, "the ministry" -> it."""
    h = head.lower()
    if pronoun == "it":
        return h in ORG_NOUNS
    if pronoun == "they":
        return (h.endswith("s") and h[:-1] in PERSON_NOUNS) or h in ("people", "men", "women")
    if h not in PERSON_NOUNS or (pronoun == "he" and h.endswith("woman")):
        return False
    return not (pronoun == "she" and h.endswith("man") and not h.endswith("woman"))


def _plausible_speaker(phrase: str) -> bool:
    p = phrase.strip()
    if not p or _NOT_SPEAKER.match(p):
        return False
    words = _WORD.findall(p)
    if not words or len(words) > 12:
        return False
    if p.lower() in PRONOUNS:
        return True
    return p[0].isupper() or bool(_DET_START.match(p))


class Attributor:
    """Attribution for one article: text, sentence starts and mentions."""

    def __init__(
        self, text: str, sentence_starts: list[tuple[int, int]], mentions: list[_Mention]
    ) -> None:
        self.text = text
        self.masked = _mask(text)
        self.sent_starts = [s for s, _ in sentence_starts]
        self.sent_idx = [i for _, i in sentence_starts]
        self.mentions = sorted(mentions, key=lambda m: m.start)
        self.m_starts = [m.start for m in self.mentions]
        self.spans = find_spans(text)  # read by the genders and by attribute()
        self.gender = self._genders()
        self.not_person = self._org_like()

    def _org_like(self) -> set[str]:
        """People by their tag that this text treats as a team, band, fixture or
        competition ("Everton manager", "the Premiership", "Brentford v Manchester United",
        "Later... With Jools Holland"): no "he"/"she" refers to them."""
        cues: dict[str, list[int]] = {}
        out: set[str] = set()
        for m in self.mentions:
            if not _is_person(m):
                continue
            key = m.entity_id or m.text
            if _FIXTURE.search(m.text) or _TITLE_WITH.search(
                self.text[max(0, m.start - 12) : m.start]
            ):
                out.add(key)
            pc, oc = name_cues(self.text, m.start, m.end)
            c = cues.setdefault(key, [0, 0])
            c[0] += pc
            c[1] += oc
        return out | {k for k, (pc, oc) in cues.items() if oc > pc}

    def _genders(self) -> dict[str, str]:
        """Gender ("m"/"f") of each person (entity id, else surface) from this text: a
        gendered title right before a mention, or a third-person pronoun later in the
        sentence that names the person with no other person between."""
        votes: dict[str, list[int]] = {}
        spans = self.spans
        people = [m for m in self.mentions if _is_person(m) and self._outside(m.start, spans)]
        for i, m in enumerate(people):
            key = m.entity_id or m.text
            v = votes.setdefault(key, [0, 0])
            t = _GENDER_TITLE.search(
                self.text[max(0, m.start - 9) : m.start]
            ) or _GENDER_TITLE_IN.match(m.text)
            if t:
                v[0 if t.group(1) else 1] += 2
            r = _ROLE_GENDER.search(self.text[max(0, m.start - 16) : m.start])
            if r:
                v[1 if r.group(1) else 0] += 2
            k = bisect.bisect_right(self.sent_starts, m.start)
            end = self.sent_starts[k] if k < len(self.sent_starts) else len(self.text)
            if i + 1 < len(people):
                end = min(end, people[i + 1].start)
            end = min(end, m.end + 200)
            mark = _QUOTE_MARK.search(self.text, m.end, end)
            p = _PRONOUN_WORD.search(self.text, m.end, mark.start() if mark else end)
            if p:
                v[0 if p.group(1).lower() in _MALE else 1] += 1
        return {k: ("m" if a > b else "f") for k, (a, b) in votes.items() if a != b}

    def gender_of(self, m: _Mention) -> str | None:
        return self.gender.get(m.entity_id or m.text)

    def sentence_of(self, pos: int) -> int | None:
        k = bisect.bisect_right(self.sent_starts, pos) - 1
        return self.sent_idx[k] if k >= 0 else (self.sent_idx[0] if self.sent_idx else None)

    def sentence_start(self, pos: int) -> int:
        k = bisect.bisect_right(self.sent_starts, pos) - 1
        return self.sent_starts[k] if k >= 0 else 0

    def mentions_in(self, s: int, e: int) -> list[_Mention]:
        lo = bisect.bisect_left(self.m_starts, s)
        out = []
        for m in self.mentions[lo:]:
            if m.start >= e:
                break
            if m.end <= e:
                out.append(m)
        return out

    def link(
        self, q: Quote, s: int, e: int, cue: str, method: str, spans: list, prev: Quote | None
    ) -> bool:
        """Set the quote's speaker from the phrase text[s:e]; False if it is not a speaker."""
        s, e = _clean_speaker(self.text, s, e)
        phrase = self.text[s:e]
        chosen = self._phrase_mention(s, e)
        if chosen is None and _DOCUMENT.match(phrase):
            return False
        q.cue, q.method = cue.lower(), method
        if chosen is not None:
            q.speaker, q.speaker_start, q.speaker_end = chosen.text, chosen.start, chosen.end
            q.entity_id = chosen.entity_id or self.same_surname(chosen.text, q.start)
            return True
        words = list(_WORD.finditer(phrase))
        last = words[-1].group(0).lower() if words else ""
        if last in PRONOUNS:  # "It is not without reason that they say" -> "they"
            s, e = s + words[-1].start(), s + words[-1].end()
            phrase = self.text[s:e]
        elif not _DET_START.match(phrase) and len(words) > 6:
            q.cue = q.method = None
            return False
        q.speaker, q.speaker_start, q.speaker_end = phrase, s, e
        pron = phrase.lower()
        if pron in ("he", "she", "it", "they"):
            self._link_pronoun(q, pron, spans, prev)
        elif phrase[:1].isupper() and not _DET_START.match(phrase):
            q.entity_id = self.same_surname(phrase, q.start)
        return True

    def _phrase_mention(self, s: int, e: int) -> _Mention | None:
        """The mention in text[s:e] that speaks: its last person, else its last heading
        organisation or place; None when the phrase names neither."""
        inside = self.mentions_in(s, e)
        # "The mayor of Mykolaiv", "the wife of X": a name after "of" is not the speaker
        people = [
            m for m in inside if _is_person(m) and not _OF_BEFORE.search(self.text[s : m.start])
        ]
        # an organisation speaks only when it heads the phrase ("the IAEA said"), not in
        # "the Deputy Head of the Office of the President", and not as the modifier of a
        # role ("the French president", "Russia's foreign minister"); a nationality never
        others = [
            m
            for m in inside
            if not _is_person(m)
            and m.label in ("ORG", "GPE")
            and not (m.entity_id or "").startswith(("group:", "disease:", "event:"))
            and not _WORD.search(_LEAD.sub("", self.text[s : m.start]))
            and not any(
                is_title(w) or w.lower() in ROLE_NOUNS for w in _WORD.findall(self.text[m.end : e])
            )
            # a place before a noun only modifies it ("the West Virginia Democrat")
            and not (m.label == "GPE" and _WORD.search(self.text[m.end : e]))
        ]
        return people[-1] if people else (others[-1] if others else None)

    def _link_pronoun(self, q: Quote, pron: str, spans: list, prev: Quote | None) -> None:
        """A pronoun speaker takes its antecedent's entity (or span, for an unnamed
        speaker); a he/she without one takes the previous nearby quote's person."""
        ante = self.antecedent(q.start, spans, pron)
        if isinstance(ante, _Mention):
            q.entity_id, q.method = ante.entity_id, "pronoun"
        elif ante is not None:  # an unnamed speaker ("one banker") or an untagged name
            q.speaker_start, q.speaker_end = ante
            q.speaker, q.method = self.text[ante[0] : ante[1]], "pronoun"
            if q.speaker[:1].isupper() and not _DET_START.match(q.speaker):
                q.entity_id = self.same_surname(q.speaker, q.start)
        elif pron in ("he", "she") and (
            prev is not None
            and prev.entity_id
            and self.near(prev.start, q.start)
            and _kind(prev.entity_id) not in _NOT_PERSON
            and self.gender.get(prev.entity_id) in (None, "f" if pron == "she" else "m")
        ):
            q.entity_id, q.method = prev.entity_id, "pronoun"

    def near(self, a: int, b: int, paragraphs: int = 3) -> bool:
        """Whether position ``a`` lies within ``paragraphs`` paragraphs before ``b``."""
        return self.text.count("\n\n", a, b) < paragraphs

    def same_surname(self, phrase: str, pos: int) -> str | None:
        """Entity of the nearest PERSON mention (before ``pos`` first) whose last word is the
        phrase's last word: "Tagliapietra" -> "Simone Tagliapietra" in the same article."""
        words = _WORD.findall(phrase)
        if not words:
            return None
        key = words[-1]
        best: tuple[int, str] | None = None
        for m in self.mentions:
            if not m.entity_id or not _is_person(m):
                continue
            mw = _WORD.findall(m.text)
            if mw and mw[-1] == key:
                dist = pos - m.start if m.start <= pos else 10**9 + m.start - pos
                if best is None or dist < best[0]:
                    best = (dist, m.entity_id)
        return best[1] if best else None

    def _outside(self, pos: int, spans: list[tuple[int, int]]) -> bool:
        return not any(s - 1 <= pos < e + 1 for s, e in spans)

    def _modifier(self, m: _Mention) -> bool:
        """A mention that modifies the noun after it ("Sandvine's chief technology officer
        Marc Morin", "James Hardie chairwoman"), so not the sentence's subject."""
        nxt = self.text[m.end : m.end + 40]
        w = re.match(r"(?:['’]s)?[ \t]+(?:[\w-]+[ \t]+){0,2}?([\w-]+)", nxt)
        return bool(w) and (is_title(w.group(1)) or w.group(1).lower() in ROLE_NOUNS)

    def _speaks(self, m: _Mention) -> bool:
        """Whether the mention is the speaker of a speech verb in its sentence."""
        if _SPEECH_AFTER.match(self.masked, m.end, m.end + 120):
            return True
        return bool(_SPEECH_BEFORE.search(self.masked, max(0, m.start - 60), m.start))

    def _nominals(
        self, lo: int, hi: int, spans: list[tuple[int, int]], pronoun: str
    ) -> tuple[int, int] | None:
        """The first unnamed speaker ("an industry source said", "said one banker") in
        text[lo:hi], outside quotations and naming no person, that agrees with the pronoun."""
        found: list[tuple[int, int]] = []
        rxs = (_NOMINAL_BEFORE, _NOMINAL_AFTER)
        rxs += (_NOMINAL_BARE,) if pronoun == "they" else ()
        rxs += (_NAME_SAID,) if pronoun in ("he", "she") else ()
        rxs += (_ACRONYM_SAID,) if pronoun == "it" else ()
        for rx in rxs:
            for m in rx.finditer(self.masked, lo, hi):
                a, b = m.span("n")
                if not self._outside(a, spans):
                    continue
                if rx is _NAME_SAID or rx is _ACRONYM_SAID:
                    if m.group("head").lower() in _NOT_NAME or is_title(m.group("head")):
                        continue
                    if self.mentions_in(a, b) or any(
                        x.start < b and a < x.end for x in self.mentions_in(a - 40, b + 40)
                    ):
                        continue
                elif not _nominal_fits(m.group("head"), pronoun) or (
                    m.group("n").lower().startswith("the ")
                    and m.group("head").lower() in NAMED_ROLES
                ):
                    continue
                if any(_is_person(x) for x in self.mentions_in(a, b)):
                    continue
                found.append((a, b))
        return min(found) if found else None

    def antecedent(
        self, pos: int, spans: list[tuple[int, int]], pronoun: str = "he"
    ) -> _Mention | tuple[int, int] | None:
        """What a pronoun before ``pos`` refers to. Sentences are read backwards (outside
        quotes, within three paragraphs); the first that names a compatible mention - a
        PERSON of a compatible gender for he/she, an organisation for it - gives its first
        such mention (the subject: "Mr. Yashin spoke ... with the journalist Yuri Dud"),
        or an unnamed speaker ("said one banker") named before it, skipping modifiers
        ("Sandvine's chief ... Marc Morin") and preferring the speaker of a speech verb
        ("..., the Bundesbank said"). A sentence whose subject is the same pronoun ("He
        has worked on Finding Nemo", "Besides Baker's remarks ..., he said") only passes
        the chain on. An unnamed speaker is returned as its span; "they"
        refers only to such phrases ("the sources said")."""
        si = bisect.bisect_right(self.sent_starts, pos) - 1
        hi = pos
        while hi > 0:
            lo = self.sent_starts[si] if si >= 0 else 0
            if not self.near(hi, pos) and not self.near(lo, pos):
                return None
            cands = [
                m
                for m in self.mentions_in(lo, hi)
                if self._fits(m, spans, pronoun) and self.near(m.start, pos)
            ]
            nominal = self._nominals(lo, hi, spans, pronoun)
            if nominal is not None and not self.near(nominal[0], pos):
                nominal = None
            if cands:
                if not self._same_pronoun(lo, hi, cands[0].start, spans, pronoun):
                    subj = [c for c in cands if not self._modifier(c)] or cands
                    best = next((c for c in subj if self._speaks(c)), subj[0])
                    return nominal if nominal and nominal[0] < best.start else best
            elif nominal is not None:
                return nominal
            if lo <= 0:
                return None
            hi, si = lo, si - 1
        return None

    def _fits(self, m: _Mention, spans: list[tuple[int, int]], pronoun: str) -> bool:
        """Whether a named mention outside quotes can be what the pronoun refers to: an
        organisation for "it", a person of a compatible gender for he/she, none for "they"."""
        if m.entity_id is None or not self._outside(m.start, spans):
            return False
        if pronoun == "it":
            return _kind(m.entity_id) == "org"
        if pronoun == "they":
            return False
        want = "f" if pronoun in _FEMALE else "m"
        return (
            _is_person(m)
            and (m.entity_id or m.text) not in self.not_person
            and self.gender_of(m) in (None, want)
        )

    def _same_pronoun(
        self, lo: int, hi: int, first: int, spans: list[tuple[int, int]], pronoun: str
    ) -> bool:
        """Whether the sentence text[lo:hi] has the same he/she as its subject (before its
        first candidate at ``first``, or as ", he said."): it only passes the chain on."""
        p = _PRONOUN_WORD.search(self.text, lo, first)
        return pronoun in ("he", "she") and (
            (p is not None and p.group(1).lower() == pronoun and self._outside(p.start(), spans))
            or any(
                self._outside(lo + x.start(), spans)
                for x in re.finditer(
                    rf"[,\"”]\s*{pronoun}\s+(?:said|says|added)\s*\.",
                    self.masked[lo:hi],
                    re.I,
                )
            )
        )

    def attribute(self, spans: list[tuple[int, int]]) -> list[Quote]:
        """The article's quotes with their speakers, tried in order: an attribution after
        the quote, one before it, or the previous quote's speaker (a continuation); an
        unattributed quote shorter than MIN_UNATTRIBUTED_WORDS words is dropped."""
        text = self.text
        quotes: list[Quote] = []
        for s, e in spans:
            q = Quote(start=s, end=e, text=text[s:e].strip(), sentence_idx=self.sentence_of(s))
            prev = quotes[-1] if quotes else None
            done = (
                self._attribute_after(q, s, e, spans, prev)
                or self._attribute_before(q, s, spans, prev)
                or (prev is not None and self._continuation(q, prev, s))
            )
            if not done and len(_WORD.findall(q.text)) < MIN_UNATTRIBUTED_WORDS:
                continue
            quotes.append(q)
        return quotes

    def _attribute_after(
        self, q: Quote, s: int, e: int, spans: list[tuple[int, int]], prev: Quote | None
    ) -> bool:
        """A speaker right after the quote, in its paragraph: "..., said X" or "..., X
        said" (only when the quote ends open: a comma, ?, !, a dash or a word), else a dash
        ("... - X")."""
        text, masked = self.text, self.masked
        close = e + 1
        stop = min(_para_end(masked, close), close + 200)
        post = masked[close:stop]
        content = text[s:e].rstrip()
        tail_ok = bool(content) and (
            content[-1] in ",?!—–-…" or post.startswith(",") or content[-1].isalnum()
        )
        done = False
        if tail_ok:
            m = _AFTER_VERB.match(post)
            if m:
                spk = _SPK_STOP.sub("", m.group("spk"))
                if _plausible_speaker(spk):
                    a = close + m.start("spk")
                    done = self.link(q, a, a + len(spk), m.group("verb"), "after-verb", spans, prev)
            for rx in (_AFTER_SPK, _AFTER_APPOS):
                if done:
                    break
                m = rx.match(post)
                if m and _plausible_speaker(m.group("spk")):
                    a, b = close + m.start("spk"), close + m.end("spk")
                    done = self.link(q, a, b, m.group("verb"), "after-speaker", spans, prev)
        if not done:
            m = _DASH.match(post)
            if m and _plausible_speaker(m.group("spk")):
                a = close + m.start("spk")
                done = self.link(q, a, close + m.end("spk"), "—", "dash", spans, prev)
        return done

    def _attribute_before(
        self, q: Quote, s: int, spans: list[tuple[int, int]], prev: Quote | None
    ) -> bool:
        """A speaker before the quote in its sentence and paragraph ("X said: ...")."""
        masked = self.masked
        lo = max(_para_start(masked, s), self.sentence_start(max(s - 2, 0)))
        pre = masked[lo : s - 1]
        m = _BEFORE.search(pre)
        while m and _NOT_SPEAKER.match(m.group("spk")):
            # "In a statement posted on Twitter, Blinken said": the next candidate
            m = _BEFORE.search(pre, m.start("spk") + 1)
        if m and _plausible_speaker(m.group("spk")):
            a, b = lo + m.start("spk"), lo + m.end("spk")
            return self.link(q, a, b, m.group("verb"), "before", spans, prev)
        return False

    def _continuation(self, q: Quote, prev: Quote, s: int) -> bool:
        """The previous attributed quote's speaker, when this quote follows it in the same
        sentence (or its attribution sentence) and paragraph."""
        text, masked = self.text, self.masked
        same_para = _para_start(text, prev.start) == _para_start(text, s)
        gap = masked[prev.end + 1 : s - 1].strip()
        # same sentence, or the gap is just the previous quote's attribution sentence
        one_sentence = not _SENT_BREAK.search(gap[:-1])
        if prev.method and (same_para or not gap) and one_sentence and len(gap) < 300:
            q.speaker, q.speaker_start, q.speaker_end = (
                prev.speaker,
                prev.speaker_start,
                prev.speaker_end,
            )
            q.entity_id, q.cue, q.method = prev.entity_id, prev.cue, "continuation"
            return True
        return False


def quotes_in(
    text: str, sentence_starts: list[tuple[int, int]], mentions: list[_Mention]
) -> list[Quote]:
    """All quotations of one article with their attribution."""
    att = Attributor(text, sentence_starts, mentions)
    return att.attribute(list(att.spans))


@dataclass
class QuoteResult:
    articles: int = 0
    quotes: int = 0
    attributed: int = 0
    linked: int = 0
    seconds: float = 0.0

    def __str__(self) -> str:
        return (
            f"quotes: {self.articles:,} articles, {self.quotes:,} quotations, "
            f"{self.attributed:,} with a speaker, {self.linked:,} linked to an actor "
            f"in {self.seconds:.1f}s"
        )


_COLS = (
    "article_id",
    "quote_idx",
    "sentence_idx",
    "start_char",
    "end_char",
    "text",
    "speaker",
    "speaker_entity_id",
    "speaker_start",
    "speaker_end",
    "cue",
    "method",
    "fragment",
)
_INT_COLS = frozenset({"quote_idx", "sentence_idx", "start_char", "end_char"})
_INT_COLS |= {"speaker_start", "speaker_end"}


_SCHEMA = pa.schema(
    [
        (c, pa.int32() if c in _INT_COLS else (pa.bool_() if c == "fragment" else pa.string()))
        for c in _COLS
    ]
)


def find_quotes(
    con: duckdb.DuckDBPyConnection, *, progress: bool = True, chunk: int = CHUNK
) -> QuoteResult:
    """Quotes for the articles not yet processed; everything again when the actor registry
    (speaker links) or the method changed."""
    version = f"{QUOTES_VERSION}:{store.get_meta(con, 'registry_hash') or '-'}"
    return stages.run(
        con,
        stages.Stage(STAGE, version, ("quotes",), chunk),
        lambda ids: _chunk_rows(con, ids),
        result=QuoteResult(),
        progress=progress,
    )


def _chunk_inputs(
    con: duckdb.DuckDBPyConnection, ids: list[str]
) -> tuple[dict[str, str], dict[str, list[tuple[int, int]]], dict[str, list[_Mention]]]:
    """Per article of a chunk: its text, (start, idx) of its sentences, its mentions."""
    with stages.ids_view(con, "_wb_q_ids", ids):
        texts = dict(
            con.execute(
                "SELECT article_id, text FROM articles JOIN _wb_q_ids USING (article_id)"
            ).fetchall()
        )
        sents: dict[str, list[tuple[int, int]]] = {}
        for aid, idx, start in con.execute(
            "SELECT article_id, idx, start_char FROM sentences"
            " JOIN _wb_q_ids USING (article_id) ORDER BY article_id, start_char"
        ).fetchall():
            sents.setdefault(aid, []).append((start, idx))
        ments: dict[str, list[_Mention]] = {}
        for aid, s, e, t, lab, eid in con.execute(
            "SELECT article_id, start_char, end_char, text, label, entity_id"
            " FROM mentions JOIN _wb_q_ids USING (article_id)"
        ).fetchall():
            ments.setdefault(aid, []).append(_Mention(s, e, t, lab, eid))
    return texts, sents, ments


def _chunk_rows(con: duckdb.DuckDBPyConnection, ids: list[str]) -> stages.Chunk:
    """The compute step: ``quotes`` rows of a chunk of articles."""
    texts, sents, ments = _chunk_inputs(con, ids)
    rows: dict[str, list[Any]] = {c: [] for c in _COLS}
    counts = []
    attributed = linked = 0
    for aid in ids:
        qs = quotes_in(texts.get(aid, ""), sents.get(aid, []), ments.get(aid, []))
        counts.append(len(qs))
        for i, q in enumerate(qs):
            values = (aid, i, q.sentence_idx, q.start, q.end, q.text, q.speaker, q.entity_id)
            values += (q.speaker_start, q.speaker_end, q.cue, q.method, q.fragment)
            for c, v in zip(_COLS, values, strict=True):
                rows[c].append(v)
            attributed += q.speaker is not None
            linked += q.entity_id is not None
    return stages.Chunk(
        rows={"quotes": pa.table(rows, schema=_SCHEMA)},
        done=counts,
        tally={"quotes": sum(counts), "attributed": attributed, "linked": linked},
    )
