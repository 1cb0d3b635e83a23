"""Themes: a transparent, editable taxonomy matched on STORED tokens and lemmas.

Why this design: analysts must be able to read, trust and change the themes. Each theme is
a YAML entry (``data/themes/*.yaml`` plus user files) with words/phrases and spaCy Matcher
patterns; every tag is stored with the words that triggered it (``theme_hits``, absolute
character offsets into ``articles.text``). Tagging rebuilds spaCy ``Doc`` objects from the
``sentences`` table (tokens + lemmas) over a blank vocabulary, so editing the taxonomy
re-tags the corpus in seconds without re-running the tagger, parser or NER.

Matching (per theme, per pattern):

- ``terms``: a word or phrase, matched case-insensitively on the surface form (LOWER) *or*
  on the lemma (LEMMA, lower-cased): ``sanction`` matches "sanctions" and "sanctioning"
  (stored lemmas: extraction's lookup lemmatizer; rows of older pipelines, the rule one);
- ``exact``: case-sensitive surface forms (ORTH), for acronyms such as ``ICC`` or ``UN``;
- ``patterns``: spaCy ``Matcher`` token patterns (``LEMMA`` values are lower-cased).

Overlapping matches of one theme keep the longest span; a match strictly inside a longer
match of another theme is dropped; a match may not cross a sentence.

Score (documented rule, ``SCORING_VERSION``): for theme *t* in an article, each distinct
pattern *p* with *n_p* hits contributes ``weight_p * (1 + ln n_p)`` (repeats count less than
new evidence); the sum is divided by ``max(1, sqrt(n_tokens / 400))`` so long articles need
more evidence. The theme is assigned when ``score >= min_score`` (default 1.5: one pattern
twice or two distinct patterns in an article of up to 400 tokens). ``article_themes`` holds
assigned themes only, and ``theme_hits`` the evidence of every assigned theme.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from ..base import config, errors, store, yamlsafe
from ..base.cache import cache_dir, cached_pickle
from ..nlp import pipeline as nlp
from . import stages

if TYPE_CHECKING:  # pragma: no cover
    import duckdb

    # Heavy: spaCy (about 1.7 s), only when themes are tagged.
    from spacy.language import Language
    from spacy.tokens import Doc
    from spacy.vocab import Vocab

#: Bumped when the matching or scoring rule changes: part of the taxonomy hash.
SCORING_VERSION = "themes-v1"
#: Default assignment threshold (see the module docstring).
DEFAULT_MIN_SCORE = 1.5
#: Reference article length (tokens) for the length factor.
REFERENCE_TOKENS = 400
#: Environment variable naming extra taxonomy files (``os.pathsep``-separated).
ENV_THEMES = "WORKBENCH_THEMES"
#: Articles per read/write chunk.
CHUNK = 500
STAGE = "themes"

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_THEME_KEYS = {
    "id",
    "label",
    "description",
    "parent",
    "terms",
    "exact",
    "patterns",
    "min_score",
}
_MATCHER_ATTRS = {"LEMMA", "LOWER", "ORTH", "TEXT", "IS_ALPHA", "IS_DIGIT", "IS_PUNCT", "LENGTH"}


@dataclass(frozen=True)
class Pattern:
    """One piece of evidence: its display key, kind, weight and spec."""

    key: str
    kind: str  # "term" | "exact" | "pattern"
    weight: float
    spec: Any


@dataclass(frozen=True)
class Theme:
    id: str
    label: str
    description: str
    parent: str | None
    min_score: float
    patterns: tuple[Pattern, ...]
    source: str = ""

    def canonical(self) -> dict[str, Any]:
        """What the hash covers: everything that can change a result (not the file name)."""
        return {
            "id": self.id,
            "label": self.label,
            "description": self.description,
            "parent": self.parent,
            "min_score": self.min_score,
            "patterns": [[p.kind, p.key, p.weight, p.spec] for p in self.patterns],
        }


@dataclass(frozen=True)
class Taxonomy:
    themes: dict[str, Theme]
    files: tuple[str, ...] = field(default_factory=tuple)

    @property
    def hash(self) -> str:
        """Content hash (SHA-256, 16 hex digits) of the parsed themes and the scoring rule."""
        payload = {
            "scoring": SCORING_VERSION,
            "themes": [self.themes[k].canonical() for k in sorted(self.themes)],
        }
        blob = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def __len__(self) -> int:
        return len(self.themes)

    def frame(self) -> pa.Table:
        """Rows of the ``themes`` table."""
        ids = sorted(self.themes)
        t = self.themes
        h = self.hash
        return pa.table(
            {
                "theme_id": ids,
                "label": [t[i].label for i in ids],
                "description": [t[i].description for i in ids],
                "parent": [t[i].parent for i in ids],
                "taxonomy_hash": [h] * len(ids),
                "n_patterns": pa.array([len(t[i].patterns) for i in ids], pa.int32()),
                "source": [t[i].source for i in ids],
            }
        )


# ---------------------------------------------------------------------------- loading


def taxonomy_files(extra: str | os.PathLike[str] | Sequence[Any] | None = None) -> list[Path]:
    """Shipped files (sorted), then ``WORKBENCH_THEMES`` files, then ``extra`` files."""
    files = sorted(config.THEMES_DIR.glob("*.yaml")) + sorted(config.THEMES_DIR.glob("*.yml"))
    env = os.environ.get(ENV_THEMES)
    if env:
        files += [Path(p) for p in env.split(os.pathsep) if p]
    if extra is not None:
        if isinstance(extra, (str, os.PathLike)):
            extra = [extra]
        files += [Path(p) for p in extra]
    return files


#: The user taxonomy files last tagged with (absolute paths): used again until told otherwise.
META_EXTRA = "themes.user_files"


def user_files(tax: Taxonomy) -> list[str]:
    """The files of ``tax`` beyond the shipped ones and ``WORKBENCH_THEMES`` (absolute)."""
    standing = {os.path.abspath(p) for p in taxonomy_files(None)}
    return [os.path.abspath(f) for f in tax.files if os.path.abspath(f) not in standing]


def remembered_taxonomy(con: duckdb.DuckDBPyConnection) -> list[Path] | None:
    """The user taxonomy files this database was last tagged with (``META_EXTRA``), so that
    ``analyze`` after ``tag-themes --taxonomy X`` keeps X; None when there are none.
    ``tag_themes(taxonomy=[])`` goes back to the shipped taxonomy."""
    raw = store.get_meta(con, META_EXTRA)
    files = [Path(p) for p in json.loads(raw)] if raw else []
    for p in files:
        if not p.is_file():
            raise _bad(
                str(p),
                "file not found; this database was last tagged with it (tag-themes --taxonomy). "
                "Restore it, pass --taxonomy again, or go back to the shipped taxonomy with "
                "`workbench tag-themes --shipped` (tag_themes(taxonomy=[]))",
            )
    return files or None


def _bad(where: str, what: str) -> errors.BadTaxonomy:
    return errors.BadTaxonomy(errors.bad_taxonomy(where, what))


def _parse_entry(value: Any, kind: str, where: str) -> Pattern:
    weight = 1.0
    if isinstance(value, dict):
        if "text" not in value:
            raise _bad(where, f"a {kind} entry mapping needs 'text' (got {value!r})")
        weight = value.get("weight", 1.0)
        value = value["text"]
    if not isinstance(value, (str, int, float)) or not str(value).strip():
        raise _bad(where, f"{kind} entries must be non-empty strings (got {value!r})")
    if not isinstance(weight, (int, float)) or not 0 < float(weight) <= 10:
        raise _bad(where, f"weight must be a number in (0, 10] (got {weight!r})")
    return Pattern(key=str(value).strip(), kind=kind, weight=float(weight), spec=None)


def _parse_pattern(value: Any, where: str) -> Pattern:
    weight = 1.0
    if isinstance(value, dict):
        weight = float(value.get("weight", 1.0))
        value = value.get("pattern")
    if not isinstance(value, list) or not value or not all(isinstance(t, dict) for t in value):
        raise _bad(where, f"a Matcher pattern is a list of token dicts (got {value!r})")
    spec = []
    for tok in value:
        new: dict[str, Any] = {}
        for k, v in tok.items():
            ku = str(k).upper()
            if ku == "OP":
                new["OP"] = v
                continue
            if ku not in _MATCHER_ATTRS:
                raise _bad(
                    where,
                    f"token attribute {k!r} is not available on stored sentences; "
                    f"use one of {sorted(_MATCHER_ATTRS)}",
                )
            if ku == "LEMMA":
                v = _lower_values(v)
            new[ku] = v
        spec.append(new)
    key = " ".join(json.dumps(t, sort_keys=True, separators=(",", ":")) for t in spec)
    return Pattern(key=key, kind="pattern", weight=weight, spec=spec)


def _lower_values(v: Any) -> Any:
    if isinstance(v, str):
        return v.lower()
    if isinstance(v, dict):
        return {k: _lower_values(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_lower_values(x) for x in v]
    return v


def parse_themes(data: Any, source: str) -> list[Theme]:
    """Validate one file's parsed YAML into themes, naming the file and theme on error."""
    if isinstance(data, dict):
        data = data.get("themes")
    if not isinstance(data, list):
        raise _bad(source, "expected a top-level 'themes:' list")
    out = []
    for i, entry in enumerate(data):
        where = f"{source}, theme #{i + 1}"
        if not isinstance(entry, dict):
            raise _bad(where, f"each theme is a mapping (got {entry!r})")
        tid = entry.get("id")
        if not isinstance(tid, str) or not _ID.match(tid):
            raise _bad(where, f"id must match {_ID.pattern} (got {tid!r})")
        where = f"{source}, theme {tid!r}"
        unknown = set(entry) - _THEME_KEYS
        if unknown:
            raise _bad(where, f"unknown keys {sorted(unknown)}; allowed: {sorted(_THEME_KEYS)}")
        pats: list[Pattern] = []
        pats += [_parse_entry(v, "term", where) for v in entry.get("terms") or []]
        pats += [_parse_entry(v, "exact", where) for v in entry.get("exact") or []]
        pats += [_parse_pattern(v, where) for v in entry.get("patterns") or []]
        if not pats:
            raise _bad(where, "a theme needs at least one of terms, exact, patterns")
        min_score = entry.get("min_score", DEFAULT_MIN_SCORE)
        if not isinstance(min_score, (int, float)) or min_score <= 0:
            raise _bad(where, f"min_score must be a positive number (got {min_score!r})")
        out.append(
            Theme(
                id=tid,
                label=str(entry.get("label") or tid),
                description=str(entry.get("description") or ""),
                parent=entry.get("parent") or None,
                min_score=float(min_score),
                patterns=tuple(pats),
                source=source,
            )
        )
    return out


def load_taxonomy(extra: str | os.PathLike[str] | Sequence[Any] | None = None) -> Taxonomy:
    """Shipped themes plus user files; a user theme with a shipped id replaces it."""
    themes: dict[str, Theme] = {}
    files = taxonomy_files(extra)
    for path in files:
        if not path.is_file():
            raise _bad(str(path), "file not found (check the path or WORKBENCH_THEMES)")
        for theme in _file_themes(path):
            themes[theme.id] = theme
    if not themes:
        raise _bad(str(config.THEMES_DIR), "no themes found")
    for t in themes.values():
        if t.parent is not None and t.parent not in themes:
            raise _bad(f"{t.source}, theme {t.id!r}", f"parent {t.parent!r} is not a theme id")
    return Taxonomy(themes=themes, files=tuple(str(f) for f in files))


#: Parsed themes per file name and content: each analyze() and every notebook call reads
#: the taxonomy, and parsing the shipped YAML costs ~0.2 s every time (reading it, little).
_FILE_THEMES: dict[tuple[str, bytes], tuple[Theme, ...]] = {}


def _file_themes(path: Path) -> tuple[Theme, ...]:
    """The themes of one taxonomy file, parsed once per content of the file: in this
    process, and on disk (``$WORKBENCH_CACHE``, keyed by the file's name and text and by
    this module's code), so a new process loads them in ~2 ms instead of parsing ~0.2 s."""
    text = path.read_text(encoding="utf-8")
    key = (path.name, hashlib.sha256(text.encode()).digest())
    hit = _FILE_THEMES.get(key)
    if hit is not None:
        return hit
    tag = hashlib.sha256(key[0].encode() + b"\0" + key[1] + _parser_hash()).hexdigest()
    name = hashlib.sha256(path.name.encode()).hexdigest()[:8]
    cache = cache_dir() / f"theme-file-{name}-{tag[:16]}.pickle"
    themes = cached_pickle(cache, lambda: _parse_file(path, text))
    if len(_FILE_THEMES) > 64:  # bounded: a notebook that edits a file many times
        _FILE_THEMES.clear()
    _FILE_THEMES[key] = themes
    return themes


@functools.cache
def _parser_hash() -> bytes:
    """This module's code: a change to the parsing rules parses every file again."""
    return hashlib.sha256(Path(__file__).read_bytes()).digest()


def _parse_file(path: Path, text: str) -> tuple[Theme, ...]:
    try:
        data = yamlsafe.load(text)
    except yaml.YAMLError as exc:
        raise _bad(str(path), f"invalid YAML: {exc}") from None
    seen: set[str] = set()
    out = []
    for theme in parse_themes(data, path.name):
        if theme.id in seen:
            raise _bad(path.name, f"theme id {theme.id!r} appears twice in this file")
        seen.add(theme.id)
        out.append(theme)
    return tuple(out)


# ---------------------------------------------------------------------------- matching


@dataclass
class Hit:
    sentence_idx: int
    start_char: int
    end_char: int
    theme_id: str
    pattern: str
    matched_text: str
    weight: float
    tok_start: int
    tok_end: int


@dataclass
class ArticleTokens:
    """An article's stored tokens as matched: empty words dropped, lemmas lower-cased (a
    missing lemma is the word), the sentence, start and end of each token, and whether
    whitespace follows it."""

    words: list[str]
    lemmas: list[str]
    sent_of: list[int]
    starts: list[int]
    ends: list[int]
    spaces: list[bool]

    @classmethod
    def of(cls, sentences: Sequence[tuple[int, list[str], list[str], list[int]]]) -> ArticleTokens:
        """From stored (idx, tokens, lemmas, token_starts) rows, in order."""
        words: list[str] = []
        lemmas: list[str] = []
        starts: list[int] = []
        sent_of: list[int] = []
        for idx, toks, lems, offs in sentences:
            for w, lem, off in zip(toks or [], lems or [], offs or [], strict=False):
                if not w:
                    continue
                words.append(w)
                lemmas.append((lem or w).lower())
                starts.append(int(off))
                sent_of.append(int(idx))
        ends = [s + len(w) for s, w in zip(starts, words, strict=True)]
        spaces = [e < s for e, s in zip(ends, starts[1:], strict=False)] + [False] * bool(words)
        return cls(words, lemmas, sent_of, starts, ends, spaces)


class Tagger:
    """Compiled matchers for one taxonomy (no weights).

    ``vocab``: the vocabulary the article Docs are built in; by default the one of a
    spaCy pipeline of this language already loaded in this process (extraction's: every
    stored word already has its lexeme there), else a blank English one. Lexical
    attributes (LOWER, ORTH, IS_ALPHA, ...) are the language's own either way."""

    def __init__(self, taxonomy: Taxonomy, *, vocab: Vocab | None = None) -> None:
        # Heavy (about a second): only when themes are tagged.
        from spacy.matcher import Matcher, PhraseMatcher

        self.taxonomy = taxonomy
        self.vocab: Vocab = vocab if vocab is not None else _default_vocab()
        phrase_words = _phrase_words(taxonomy)
        self.lemma_m = PhraseMatcher(self.vocab, attr="LEMMA")
        self.lower_m = PhraseMatcher(self.vocab, attr="LOWER")
        self.orth_m = PhraseMatcher(self.vocab, attr="ORTH")
        self.token_m = Matcher(self.vocab)
        self.keys: dict[int, tuple[str, Pattern]] = {}
        self.required: list[list[tuple[str, frozenset[str]]]] = []
        for theme in taxonomy.themes.values():
            for i, pat in enumerate(theme.patterns):
                name = f"{theme.id}\x1f{i}"
                self.keys[self.vocab.strings.add(name)] = (theme.id, pat)
                if pat.kind == "pattern":
                    self.token_m.add(name, [pat.spec])
                    self.required.append(_required_sets(pat.spec))
                    continue
                words = phrase_words[pat.key]
                if pat.kind == "exact":
                    self.orth_m.add(name, [self._doc(words, words)])
                else:
                    low = [w.lower() for w in words]
                    pdoc = self._doc(low, low)
                    self.lemma_m.add(name, [pdoc])
                    self.lower_m.add(name, [pdoc])

    def _doc(self, words: list[str], lemmas: list[str], spaces: list[bool] | None = None) -> Doc:
        """A Doc of ``words`` with ``lemmas`` (strings added to the vocabulary once each)."""
        # Heavy: spaCy (about 1.7 s), only when themes are tagged.
        from spacy.attrs import LEMMA
        from spacy.tokens import Doc

        doc = Doc(self.vocab, words=words, spaces=spaces)
        if words:
            add = self.vocab.strings.add
            doc.from_array(LEMMA, np.fromiter(map(add, lemmas), np.uint64, len(lemmas)))
        return doc

    def article_doc(
        self, sentences: Sequence[tuple[int, list[str], list[str], list[int]]]
    ) -> tuple[Doc, list[int], list[int], list[int]]:
        """One Doc for an article from stored (idx, tokens, lemmas, token_starts) rows."""
        tok = ArticleTokens.of(sentences)
        return self._doc(tok.words, tok.lemmas, tok.spaces), tok.sent_of, tok.starts, tok.ends

    def _token_patterns_possible(self, words: list[str], lemmas: list[str]) -> bool:
        """Cheap pre-check: could any Matcher pattern match (all its required words occur)?
        The spaCy Matcher is the slowest part of tagging; most articles can skip it."""
        orth = set(words)
        seen = {
            "ORTH": orth,
            "TEXT": orth,
            "LOWER": {w.lower() for w in orth},
            "LEMMA": set(lemmas),
        }
        return any(all(vals & seen[attr] for attr, vals in req) for req in self.required)

    def _token_pattern_sentences(self, tok: ArticleTokens) -> list[tuple[int, int]]:
        """Token ranges of the sentences in which some Matcher pattern could match.

        Why: a hit never crosses a sentence (``match_tokens`` drops those), so running the
        Matcher on these sentences alone finds every hit it keeps, at a fraction of the
        cost of the whole article (its predicates are called per token and pattern)."""
        if not self._token_patterns_possible(tok.words, tok.lemmas):
            return []
        out = []
        sent_of, n = tok.sent_of, len(tok.words)
        a = 0
        while a < n:
            b = a + 1
            while b < n and sent_of[b] == sent_of[a]:
                b += 1
            if self._token_patterns_possible(tok.words[a:b], tok.lemmas[a:b]):
                out.append((a, b))
            a = b
        return out

    def match(
        self, sentences: Sequence[tuple[int, list[str], list[str], list[int]]]
    ) -> tuple[list[Hit], int]:
        """All hits of all themes in one article (longest span per theme), and its token count."""
        return self.match_tokens(ArticleTokens.of(sentences))

    def match_tokens(self, tok: ArticleTokens) -> tuple[list[Hit], int]:
        """:meth:`match` of an article's tokens."""
        words, lemmas, sent_of, starts, ends = (
            tok.words,
            tok.lemmas,
            tok.sent_of,
            tok.starts,
            tok.ends,
        )
        if not words:
            return [], 0
        doc = self._doc(words, lemmas, tok.spaces)
        found: set[tuple[int, int, int]] = set()
        for m in (self.lemma_m, self.lower_m, self.orth_m):
            if not len(m):
                continue
            for key, s, e in m(doc):
                found.add((key, s, e))
        if len(self.token_m):
            for a, b in self._token_pattern_sentences(tok):
                for key, s, e in self.token_m(doc[a:b]):  # offsets within the span
                    found.add((key, a + s, a + e))
        by_theme: dict[str, list[tuple[int, int, Pattern]]] = defaultdict(list)
        keys = self.keys
        for key, s, e in found:
            if sent_of[s] != sent_of[e - 1]:
                continue
            theme_id, pat = keys[key]
            by_theme[theme_id].append((s, e, pat))
        hits: list[Hit] = []
        for theme_id, spans in by_theme.items():
            # longest first, then strongest, then leftmost; drop overlaps
            spans.sort(key=lambda x: (-(x[1] - x[0]), -x[2].weight, x[0]))
            taken: list[tuple[int, int]] = []
            for s, e, pat in spans:
                if any(s < te and ts < e for ts, te in taken):
                    continue
                taken.append((s, e))
                hits.append(
                    Hit(
                        sentence_idx=sent_of[s],
                        start_char=starts[s],
                        end_char=ends[e - 1],
                        theme_id=theme_id,
                        pattern=pat.key,
                        matched_text=doc[s:e].text,
                        weight=pat.weight,
                        tok_start=s,
                        tok_end=e,
                    )
                )
        # A hit strictly inside a longer hit of another theme is that theme's word, not
        # evidence of its own ("Criminal" in "International Criminal Court").
        inner = _contained(hits)
        hits = [h for h in hits if (h.tok_start, h.tok_end) not in inner]
        hits.sort(key=lambda h: (h.start_char, h.theme_id))
        return hits, len(words)


@functools.cache
def _blank_english() -> Language:
    """spaCy's blank English pipeline: its tokenizer splits the taxonomy's phrases."""
    # Heavy: spaCy (about 1.7 s), only when themes are tagged.
    import spacy

    return spacy.blank("en")


def _phrase_words(taxonomy: Taxonomy) -> dict[str, list[str]]:
    """Every term and exact phrase of ``taxonomy`` split by blank English's tokenizer.

    Why on disk (``$WORKBENCH_CACHE``, keyed by the taxonomy hash and the spaCy version,
    which fix the split): a process that tags after extracting then needs no blank pipeline
    and no tokenizer run over ~1,200 phrases (~0.4 s of its first ``tag_themes``)."""
    import spacy

    keys = sorted(
        {p.key for t in taxonomy.themes.values() for p in t.patterns if p.kind != "pattern"}
    )
    tag = hashlib.sha256(json.dumps([taxonomy.hash, spacy.__version__, keys]).encode())
    path = cache_dir() / f"theme-phrases-{tag.hexdigest()[:16]}.pickle"
    return cached_pickle(
        path, lambda: {k: [t.text for t in _blank_english().make_doc(k)] for k in keys}
    )


def _default_vocab() -> Vocab:
    return nlp.loaded_vocab("en") or _blank_english().vocab


#: Taggers by (taxonomy hash, vocabulary): compiling the matchers costs ~0.4 s a call.
_TAGGERS: dict[tuple[str, int], Tagger] = {}


def tagger_for(taxonomy: Taxonomy) -> Tagger:
    """The compiled Tagger of ``taxonomy`` in the default vocabulary (made once per process)."""
    vocab = _default_vocab()
    key = (taxonomy.hash, id(vocab))
    tagger = _TAGGERS.get(key)
    if tagger is None:
        if len(_TAGGERS) >= 4:
            _TAGGERS.pop(next(iter(_TAGGERS)))
        tagger = _TAGGERS[key] = Tagger(taxonomy, vocab=vocab)
    return tagger


def _contained(hits: Sequence[Hit]) -> set[tuple[int, int]]:
    """Token spans strictly inside another hit's span, in O(n log n)."""
    spans = sorted({(h.tok_start, h.tok_end) for h in hits})
    out: set[tuple[int, int]] = set()
    max_end_before = -1  # max end over spans starting strictly before the current start
    i = 0
    while i < len(spans):
        start = spans[i][0]
        j = i
        while j < len(spans) and spans[j][0] == start:
            j += 1
        group = spans[i:j]  # same start, sorted by end; the last is the longest
        for s, e in group:
            if max_end_before >= e or e < group[-1][1]:
                out.add((s, e))
        max_end_before = max(max_end_before, group[-1][1])
        i = j
    return out


def _required_sets(spec: list[dict[str, Any]]) -> list[tuple[str, frozenset[str]]]:
    """(attr, allowed values) of the tokens a Matcher pattern cannot do without."""
    out = []
    for tok in spec:
        if tok.get("OP") not in (None, "+", "{1,}"):
            continue
        for attr in ("LEMMA", "LOWER", "ORTH", "TEXT"):
            v = tok.get(attr)
            if isinstance(v, str):
                out.append((attr, frozenset([v])))
            elif isinstance(v, dict) and isinstance(v.get("IN"), list):
                out.append((attr, frozenset(map(str, v["IN"]))))
    return out


def score_hits(hits: Iterable[Hit], n_tokens: int) -> dict[str, tuple[float, int, int]]:
    """theme_id -> (score, hits, distinct patterns) by the documented rule."""
    counts: dict[str, dict[str, list[float]]] = defaultdict(dict)
    for h in hits:
        counts[h.theme_id].setdefault(h.pattern, [h.weight, 0.0])[1] += 1
    length = max(1.0, math.sqrt(max(n_tokens, 1) / REFERENCE_TOKENS))
    out = {}
    for theme_id, pats in counts.items():
        evidence = sum(w * (1.0 + math.log(n)) for w, n in pats.values())
        n_hits = int(sum(n for _, n in pats.values()))
        out[theme_id] = (evidence / length, n_hits, len(pats))
    return out


def tag_sentences(
    tagger: Tagger, sentences: Sequence[tuple[int, list[str], list[str], list[int]]]
) -> tuple[dict[str, tuple[float, int, int]], list[Hit], int]:
    """Assigned themes (score, hits, patterns), their evidence, and the token count."""
    return tag_tokens(tagger, ArticleTokens.of(sentences))


def tag_tokens(
    tagger: Tagger, tokens: ArticleTokens
) -> tuple[dict[str, tuple[float, int, int]], list[Hit], int]:
    """:func:`tag_sentences` of an article's tokens."""
    hits, n_tokens = tagger.match_tokens(tokens)
    scores = score_hits(hits, n_tokens)
    themes = tagger.taxonomy.themes
    assigned = {t: v for t, v in scores.items() if v[0] >= themes[t].min_score}
    return assigned, [h for h in hits if h.theme_id in assigned], n_tokens


# ---------------------------------------------------------------------------- storage


@dataclass
class ThemeResult:
    taxonomy_hash: str
    themes: int
    articles: int = 0
    tagged_articles: int = 0
    article_themes: int = 0
    hits: int = 0
    retagged_all: bool = False
    seconds: float = 0.0

    def __str__(self) -> str:
        mode = "re-tagged all articles (taxonomy changed)" if self.retagged_all else "incremental"
        return (
            f"themes {self.taxonomy_hash} ({self.themes} themes, {mode}): "
            f"{self.articles:,} articles read, {self.tagged_articles:,} tagged, "
            f"{self.article_themes:,} article-theme tags, {self.hits:,} evidence hits "
            f"in {self.seconds:.1f}s"
        )


def _article_sentences(
    con: duckdb.DuckDBPyConnection, ids: list[str]
) -> Iterator[tuple[str, list[tuple[int, list[str], list[str], list[int]]]]]:
    """(article_id, its stored sentences in order) for a chunk of ids."""
    with stages.ids_view(con, "_wb_theme_ids", ids):
        rows = con.execute(
            "SELECT s.article_id, s.idx, s.tokens, s.lemmas, s.token_starts FROM sentences s"
            " JOIN _wb_theme_ids i USING (article_id) ORDER BY s.article_id, s.idx"
        ).fetchall()
    cur: str | None = None
    buf: list[tuple[int, list[str], list[str], list[int]]] = []
    for aid, idx, toks, lems, offs in rows:
        if aid != cur:
            if cur is not None:
                yield cur, buf
            cur, buf = aid, []
        buf.append((idx, toks, lems, offs))
    if cur is not None:
        yield cur, buf


def _article_tokens(
    con: duckdb.DuckDBPyConnection, ids: list[str]
) -> Iterator[tuple[str, ArticleTokens]]:
    """(article_id, its tokens) for a chunk of ids, flattened column-wise (Arrow) rather
    than sentence by sentence; rows whose three lists are not parallel (or NULL) go the
    sentence-by-sentence way of :meth:`ArticleTokens.of`, which zips them."""
    with stages.ids_view(con, "_wb_theme_ids", ids):
        tab = con.execute(
            "SELECT s.article_id, s.idx, s.tokens, s.lemmas, s.token_starts FROM sentences s"
            " JOIN _wb_theme_ids i USING (article_id) ORDER BY s.article_id, s.idx"
        ).to_arrow_table()
    flat = _tokens_of_table(tab)
    if flat is None:
        yield from ((aid, ArticleTokens.of(s)) for aid, s in _article_sentences(con, ids))
        return
    yield from flat


def _tokens_of_table(tab: pa.Table) -> Iterator[tuple[str, ArticleTokens]] | None:
    """(article_id, its tokens) of sentence rows (each article's rows together, in ``idx``
    order), column-wise; None when some row's three lists are not parallel (or NULL)."""
    if not tab.num_rows:
        return iter(())
    toks, lems, offs = (
        tab.column(c).combine_chunks() for c in ("tokens", "lemmas", "token_starts")
    )
    n = pc.list_value_length(toks)
    if (
        toks.null_count or lems.null_count or offs.null_count
        or not pc.all(pc.equal(n, pc.list_value_length(lems))).as_py()
        or not pc.all(pc.equal(n, pc.list_value_length(offs))).as_py()
        or offs.flatten().null_count
    ):  # fmt: skip
        return None
    return _flat_tokens(tab, n, (toks, lems, offs))


def _flat_tokens(
    tab: pa.Table, n: pa.Array, lists: tuple[pa.Array, pa.Array, pa.Array]
) -> Iterator[tuple[str, ArticleTokens]]:
    """:func:`_tokens_of_table` once the lists are known to be parallel."""
    toks, lems, offs = lists
    counts = n.to_numpy(zero_copy_only=False)
    aids = tab.column("article_id").to_pylist()
    first = [i for i in range(len(aids)) if i == 0 or aids[i] != aids[i - 1]]
    article_of = np.repeat(np.repeat(np.arange(len(first)), np.diff([*first, len(aids)])), counts)
    sent_of = np.repeat(tab.column("idx").to_numpy(), counts)
    flat_w, flat_l, flat_o = toks.flatten(), lems.flatten(), offs.flatten()
    keep = pc.fill_null(pc.not_equal(flat_w, ""), False)
    if not pc.all(keep).as_py():  # empty (or NULL) words are not tokens
        mask = keep.to_numpy(zero_copy_only=False)
        flat_w, flat_l, flat_o = flat_w.filter(keep), flat_l.filter(keep), flat_o.filter(keep)
        article_of, sent_of = article_of[mask], sent_of[mask]
    words = flat_w.to_pylist()
    lemmas = [(lem or w).lower() for w, lem in zip(words, flat_l.to_pylist(), strict=True)]
    starts = flat_o.to_pylist()
    ends = [s + len(w) for s, w in zip(starts, words, strict=True)]
    spaces = [e < s for e, s in zip(ends, starts[1:], strict=False)] + [False] * bool(words)
    sent_list = sent_of.tolist()
    bounds = [0, *(np.flatnonzero(np.diff(article_of)) + 1).tolist(), len(words)]
    for a, b in itertools.pairwise(bounds):
        if a == b:
            continue
        spaces[b - 1] = False  # the last token of an article
        yield (
            aids[first[int(article_of[a])]],
            ArticleTokens(
                words[a:b], lemmas[a:b], sent_list[a:b], starts[a:b], ends[a:b], spaces[a:b]
            ),
        )


_AT_COLS = ("article_id", "theme_id", "score", "hits", "n_patterns", "taxonomy_hash")
_TH_COLS = (
    "article_id",
    "sentence_idx",
    "start_char",
    "end_char",
    "theme_id",
    "pattern",
    "matched_text",
    "taxonomy_hash",
)


def _chunk_rows(
    tagger: Tagger, con: duckdb.DuckDBPyConnection, ids: list[str], h: str
) -> stages.Chunk:
    """The compute step: ``article_themes`` and ``theme_hits`` rows of a chunk of articles."""
    return _rows_of(tagger, _article_tokens(con, ids), ids, h)


def _rows_of(
    tagger: Tagger, articles: Iterable[tuple[str, ArticleTokens]], ids: list[str], h: str
) -> stages.Chunk:
    """The stage's rows of ``articles`` (article_id, tokens); ``ids``: the chunk's articles."""
    at: dict[str, list] = {k: [] for k in _AT_COLS}
    th: dict[str, list] = {k: [] for k in _TH_COLS}
    n_by_id = dict.fromkeys(ids, 0)
    tagged = 0
    for aid, tokens in articles:
        assigned, hits, _ = tag_tokens(tagger, tokens)
        n_by_id[aid] = len(assigned)
        tagged += bool(assigned)
        for theme_id, (score, n_hits, n_pat) in sorted(assigned.items()):
            for k, v in zip(
                _AT_COLS, (aid, theme_id, round(score, 4), n_hits, n_pat, h), strict=True
            ):
                at[k].append(v)
        for hit in hits:
            row = (aid, hit.sentence_idx, hit.start_char, hit.end_char, hit.theme_id)
            row += (hit.pattern, hit.matched_text, h)
            for k, v in zip(_TH_COLS, row, strict=True):
                th[k].append(v)
    return stages.Chunk(
        rows={"article_themes": pa.table(at), "theme_hits": pa.table(th)},
        done=[n_by_id[i] for i in ids],
        tally={
            "tagged_articles": tagged,
            "article_themes": len(at["article_id"]),
            "hits": len(th["article_id"]),
        },
    )


def _along_rows(tax: Taxonomy, h: str, sentences: pa.Table) -> stages.Chunk:
    """The stage's rows of new sentence rows in memory (``stages.Along``): the same tokens
    the stage reads back from ``sentences``, without the read."""
    tab = sentences.select(["article_id", "idx", "tokens", "lemmas", "token_starts"])
    ids = stages.article_ids_of(tab)
    flat = _tokens_of_table(tab)
    if flat is None:
        by_id: dict[str, list] = {i: [] for i in ids}
        for aid, *row in zip(*(c.to_pylist() for c in tab.columns), strict=True):
            by_id[aid].append(tuple(row))
        flat = ((aid, ArticleTokens.of(rows)) for aid, rows in by_id.items())
    return _rows_of(tagger_for(tax), flat, ids, h)


def _prepared(con: duckdb.DuckDBPyConnection, tax: Taxonomy, *, retag: bool) -> Callable[[], None]:
    """The stage's ``prepare``: a new taxonomy (``retag``) replaces ``themes`` and clears
    its tags."""
    h = tax.hash

    def prepare() -> None:
        if retag:
            for t in ("themes", "article_themes", "theme_hits"):
                con.execute(f"DELETE FROM {store.quote_ident(t)}")  # noqa: S608
            stages.forget(con, STAGE)
            store.insert_df(con, "themes", tax.frame())
            store.set_meta(con, "themes.taxonomy_hash", h)
            store.set_meta(con, "themes.files", json.dumps(list(tax.files)))
        store.set_meta(con, META_EXTRA, json.dumps(user_files(tax)))

    return prepare


def along(con: duckdb.DuckDBPyConnection, *, chunk: int = CHUNK) -> stages.Along:
    """The stage as ``tag_themes(taxonomy=None)`` would run it, computed during extraction
    (``stages.Along``): its ``prepare`` runs now, and ``tag_themes`` then continues its
    counts. The tagger is compiled here, so forked extraction workers inherit it."""
    tax = load_taxonomy(remembered_taxonomy(con))
    h = tax.hash
    previous = store.get_meta(con, "themes.taxonomy_hash")
    result = ThemeResult(taxonomy_hash=h, themes=len(tax), retagged_all=previous != h)
    with store.transaction(con):
        _prepared(con, tax, retag=previous != h)()
    tagger_for(tax)
    stage = stages.Stage(STAGE, h, ("article_themes", "theme_hits"), chunk)
    return stages.Along(stage, functools.partial(_along_rows, tax, h), result)


def tag_themes(
    con: duckdb.DuckDBPyConnection,
    *,
    taxonomy: str | os.PathLike[str] | Sequence[Any] | Taxonomy | None = None,
    progress: bool = True,
    chunk: int = CHUNK,
    counted: ThemeResult | None = None,
) -> ThemeResult:
    """Tag articles from stored sentences: only new ones, or all when the taxonomy changed.

    ``taxonomy=None`` uses the user files this database was last tagged with
    (``remembered_taxonomy``), ``[]`` the shipped taxonomy only. ``counted``: the result of
    an :func:`along` of the same taxonomy, whose counts this run continues.

    A taxonomy change first replaces ``themes`` and clears ``article_themes`` and
    ``theme_hits`` in one transaction (the new hash goes on every row and in
    ``meta['themes.taxonomy_hash']``), so the tables never mix two taxonomies; the articles
    are then tagged one transaction per chunk, and an interrupted run resumes.
    """
    given = taxonomy
    if taxonomy is None:
        taxonomy = remembered_taxonomy(con)
    tax = taxonomy if isinstance(taxonomy, Taxonomy) else load_taxonomy(taxonomy)
    h = tax.hash
    previous = store.get_meta(con, "themes.taxonomy_hash")
    if isinstance(counted, ThemeResult) and counted.taxonomy_hash == h:
        result = counted  # tagged along during extraction (``along``)
    else:
        result = ThemeResult(taxonomy_hash=h, themes=len(tax), retagged_all=previous != h)
    prepare = _prepared(con, tax, retag=previous != h)
    return stages.run(
        con,
        stages.Stage(STAGE, h, ("article_themes", "theme_hits"), chunk),
        lambda ids: _chunk_rows(tagger_for(tax), con, ids, h),
        result=result,
        prepare=prepare,
        options={"taxonomy": list(tax.files) if isinstance(given, Taxonomy) else given},
        progress=progress,
    )
