"""Stories: near-duplicate articles (wire copy, re-headlined or trimmed reprints) grouped.

An article's *body* is cut of boilerplate lines (bylines, datelines, copyright, "Read more",
"Reporting by ..."), normalised (case, punctuation, whitespace) and turned into word
shingles. A datasketch MinHash of the shingles goes through LSH banding (datasketch's
parameter choice for ``lsh_threshold``) to find candidate pairs, and each candidate is
verified by exact Jaccard and containment of the shingle sets:

- same story when Jaccard >= ``jaccard`` (default 0.8): a copy with a new headline, an added
  byline or dateline, light rewording;
- or containment >= ``containment`` (default 0.8) of the shorter text's shingles in the
  longer one: a copy with its last paragraphs dropped, a first take (only when the shorter
  has at least ``min_ratio`` of the longer's shingles: an item is no copy of a digest);
- or one headline carries a wire re-issue cue ("CORRECTED -", "RPT -") and the pair is a
  re-issue by :mod:`.story_rules` (``reissue``), whatever its figures;
- and in the first two cases the *figures* agree (``figures``, default 0.8 of the numbers of the
  text with fewer numbers occur in the other: a copy carries its original's numbers, the
  same template issued on another day does not), and when the shorter body is too short
  to tell items apart (under ``min_shingles`` shingles: one-line dividend notes) the
  headlines share at least ``short_titles`` (0.5) of their words;
- and when both texts are *tables* (mostly figures: rates, prices, counts), every term
  (word or figure) of the one with fewer occurs in the other (``tables``): the same rates
  at another hour or for another session differ in that term only (unless both are
  titled and their headlines agree by ``table_titles``: one company's table re-issued).

Candidates come from the text's own LSH bands and from the bands of a small MinHash of its
opening (``lead``, :mod:`.story_rules`): a first take shares its full story's opening but
few of its bands.

Shingles and MinHash signatures are computed a batch at a time with array operations over
code points (the MinHash is datasketch's ``affine32`` scheme, bit for bit); only the
boilerplate trimming runs text by text.

Everything persists in the database, so runs are incremental: ``story_signatures`` (the
MinHash of every article, with its processing order ``seq`` and the compact body its pairs
are verified on, so no text is read twice), ``story_bands`` (the LSH index:
one key per article and band), ``story_pairs`` (verified candidates with their Jaccard and
containment, down to ``pair_floor``), ``story_clusters`` and ``stories``. New articles are
compared against the stored index only, held in memory as integers (:class:`BandIndex`), so a
batch's candidates are binary searches. A large database keeps the index beside it as
memory-mapped sorted arrays (:mod:`.story_index`, a cache of story_bands rebuilt when it does
not match), so an add reads only the pages its keys touch, and the bodies of its candidates
from the body store kept there (a DuckDB read of them scans the whole body column); else a
run of many batches reads story_bands once, a single batch only the stored rows of its own
keys. An add clusters its
articles onto the stored stories from its own pairs, without reading every stored pair. The parameters that shape signatures and bands are
stamped in ``meta`` (``stories.params``); when they change, bands and pairs are rebuilt
from the stored signatures (signatures only when the shingling changes). Changing
``jaccard``/``containment`` (at or above the stored ``pair_floor``) or ``max_lag_days``
re-clusters from the
stored pairs without reading any text.

Clustering is greedy in processing order (date, then publication time, then id): an
article joins the story of its best verified match among the articles processed before
it, when both lie within ``max_lag_days`` (7) of each other and of the story's first
article, else starts a new story. Two existing stories are never merged, so an article that
contains two stories (a digest) joins one of them instead of chaining them together. The
story's *first* article is its earliest (date, publication time, id); ``similarity`` is the
exact Jaccard with it.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import hashlib
import json
import re
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from ..base import errors, store
from ..base.cache import cache_dir, cached_pickle
from ..base.filters import as_filter, compose, filtered_articles_sql
from ..base.progress import progress_bar
from . import story_index, story_rules

#: Version of the normaliser and boilerplate rules: part of the signature stamp.
NORMALISER_VERSION = "4"
#: Version of the pair verifier's rules (figures, short-text headlines): part of the band
#: stamp, so a change re-verifies from the stored signatures without re-signing.
VERIFIER_VERSION = "4"
META_KEY = "stories.params"
#: The processing order of articles (earliest first).
ORDER_SQL = "a.date NULLS LAST, a.published NULLS LAST, a.article_id"


@dataclass(frozen=True)
class StoryOptions:
    """Thresholds and sketch parameters (documented defaults).

    - ``jaccard``: same story when the exact Jaccard of the shingle sets is at least this.
    - ``containment``: same story when at least this share of the shorter text's shingles
      occur in the longer one (a trimmed copy, a first take), provided the shorter has at
      least ``min_shingles`` shingles and at least ``min_ratio`` of the longer's.
    - ``min_ratio``: containment counts only when the shorter text has at least this share
      of the longer one's shingles: an item is not a copy of the digest that carries it.
    - ``lead``: a trimmed copy keeps its original's opening, so texts whose first
      shingles agree are candidates whatever their lengths (:mod:`.story_rules`; False:
      Jaccard-tuned bands only).
    - ``table_titles``: two tables whose headlines (both present) share at least this
      share of their words are not held to the ``tables`` rule (one company's earnings
      table and its corrected issue); 0 turns the waiver off.
    - ``reissue``: a wire re-issue ("CORRECTED -", "RPT -", "REFILE-" in one headline, the
      headlines otherwise agreeing by ``short_titles``) is one story with its original when
      at least ``reissue_containment`` of the shorter text occurs in the longer, whatever
      its figures (:mod:`.story_rules`).
    - ``learned``: in the grey zone (Jaccard 0.3-0.8 or containment 0.5-0.9) a pair the
      rules leave apart is one story when the learned verifier (a logistic model on pair
      features, ``data/stories/verifier.json``, trained on hand-checked real pairs) gives
      it at least the model's threshold, unless the two headlines differ only in numbers
      (two issues of a series: "day 163" / "day 164"; :mod:`.story_rules`; stored like a
      re-issue).
    - ``lsh_threshold``: Jaccard at which LSH banding finds a candidate with probability
      about 1/2 (lower finds more trimmed copies, at more verification cost).
    - ``pair_floor``: verified pairs are kept down to this similarity, so thresholds can be
      lowered to it without re-reading text.
    - ``figures``: a verified pair also needs at least this share of the numbers of the text
      with fewer numbers to occur in the other (0 turns the check off).
    - ``short_titles``: when the shorter body has fewer than ``min_shingles`` shingles
      ("Qtly div 30 cts vs 30 cts prior / Pay April 30"), the text cannot tell one
      company's item from another's: the headlines must then share at least this share of
      their words (Jaccard; 0 turns the check off).
    - ``max_candidates``: an article is verified against at most this many earlier LSH
      candidates, those sharing the most bands with it (the likeliest matches): a story
      reprinted by hundreds of outlets costs each copy a bounded number of exact checks.
    - ``max_lag_days``: an article joins a story only when its date lies within this many
      days of the story's first article (and of the match it joins by); a note or table
      issued word for word again after another meeting or on another day is another item,
      and only its date tells. 0 turns the window off; undated articles are not held to it.
    - ``tables``: two *tables* (texts mostly figures, :data:`TABLE_FIGURES`) are one story
      only when every term (word or figure) of the one with fewer occurs in the other: the
      same rates at another hour ("1030" / "1200") or for another session ("OPENING" /
      "CLOSING") are another item (False turns the check off).
    - ``shingle``: words per shingle; ``num_perm``: MinHash permutations; ``seed``.
    - ``batch``: articles signed per transaction; ``workers``: processes that shingle the
      texts and verify each batch's candidates (1: in this process; 2 on a 2-core machine
      runs them beside DuckDB's work and the next batch's candidates; in a script, call from under ``if __name__ == "__main__":``, since the
      workers import the main module). Neither changes any result.
    """

    jaccard: float = 0.8
    containment: float = 0.8
    lsh_threshold: float = 0.3
    pair_floor: float = 0.5
    figures: float = 0.8
    short_titles: float = 0.5
    min_shingles: int = 30
    max_candidates: int = 10
    max_lag_days: int = 7
    tables: bool = True
    min_ratio: float = 0.1
    lead: bool = True
    table_titles: float = 0.8
    reissue: bool = True
    reissue_containment: float = 0.6
    learned: bool = True
    shingle: int = 5
    num_perm: int = 128
    seed: int = 1
    batch: int = 2000
    workers: int = 1

    def __post_init__(self) -> None:
        for name in ("jaccard", "containment", "lsh_threshold", "pair_floor"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not 0.0 < float(v) <= 1.0:
                raise errors.BadOption(f"stories: {name} must be a number in (0, 1], got {v!r}")
        for name in ("figures", "short_titles", "min_ratio", "table_titles", "reissue_containment"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not 0.0 <= float(v) <= 1.0:
                raise errors.BadOption(f"stories: {name} must be a number in [0, 1], got {v!r}")
        for name in ("min_shingles", "max_candidates", "shingle", "num_perm", "batch", "workers"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise errors.BadOption(f"stories: {name} must be a positive integer, got {v!r}")
        for name in ("tables", "lead", "reissue", "learned"):
            if not isinstance(getattr(self, name), bool):
                raise errors.BadOption(
                    f"stories: {name} must be True or False, got {getattr(self, name)!r}"
                )
        if not isinstance(self.max_lag_days, int) or self.max_lag_days < 0:
            raise errors.BadOption(
                "stories: max_lag_days must be a whole number of days >= 0 (0: no window), "
                f"got {self.max_lag_days!r}"
            )

    @property
    def signature_stamp(self) -> str:
        return f"n{NORMALISER_VERSION}-k{self.shingle}-p{self.num_perm}-s{self.seed}"

    @property
    def band_stamp(self) -> str:
        return (
            f"{self.signature_stamp}-t{self.lsh_threshold}-f{self.pair_floor}"
            f"-v{VERIFIER_VERSION}-g{self.figures}-h{self.short_titles}-m{self.min_shingles}"
            f"-c{self.max_candidates}-b{int(self.tables)}-r{self.min_ratio}-l{int(self.lead)}"
            f"{story_rules.LEAD_BANDS}x{story_rules.LEAD_ROWS}c{story_rules.LEAD_CANDIDATES}"
            f"-y{self.table_titles}-e{int(self.reissue)}{self.reissue_containment}"
            + (f"-w{story_rules.verifier()['stamp']}" if self.learned else "")
        )


# ---------------------------------------------------------------------------- text
_NAME = r"[A-Z][\w.'’-]+(?:[ \t]+[A-Z][\w.'’-]+){0,3}"
#: Whole lines that are bylines, credits, copyright, "Read more" and the like. Case matters
#: where the rule is about names ("By Jane Doe", not "by the end of the year" in a line of
#: hard-wrapped text).
_BOILERPLATE = re.compile(
    "|".join(
        [
            rf"^[ \t]*(?:By|BY)[ \t]+{_NAME}(?:[ \t]*(?:,|and|&)[ \t]*{_NAME})*"
            rf"(?:[ \t]*[,|–—-][ \t]*{_NAME})?[ \t]*$",
            r"^[ \t]*\(?(?i:reporting|additional reporting|writing|editing|compiled|edited)"
            r" by\b[^\n]{0,160}$",
            r"^[ \t]*(?:Copyright|COPYRIGHT|\([cC]\)|©)[^\n]{0,160}$",
            r"^[ \t]*(?:Read|READ|See|Click|Tap)[ \t]+(?i:more|also|here|the full)\b[^\n]{0,120}$",
            r"^[ \t]*(?:Related|RELATED|More on this|Follow us|Sign up|Subscribe|Share this|"
            r"Advertisement|ADVERTISEMENT)\b[^\n]{0,100}$",
            r"^[ \t]*(?:Posted|Published|Updated|Last updated)(?: on| at)?:?[ \t]+[^\n]{0,40}\d"
            r"[^\n]{0,40}$",
            r"^[ \t]*\(?(?:AP|Reuters?|AFP|UPI|dpa|Xinhua|TASS)\)?[ \t]*$",
        ]
    ),
)
#: Short lines with these anywhere are notices, not text.
_NOTICE = re.compile(
    r"all rights reserved|may not be published, broadcast|contributed to this report|"
    r"writers? contributed",
    re.IGNORECASE,
)
#: A dateline opening the first paragraph: "WASHINGTON (AP) — ", "LONDON, March 3 (Reuters) -".
_DATELINE = re.compile(
    r"^\s*[A-Z][A-Za-z .,'/-]{1,60}?(?:,\s*[A-Z][a-z]{2,8}\.?\s+\d{1,2})?\s*"
    r"\((?:AP|Reuters|AFP|UPI|dpa|Xinhua|TASS|Bloomberg)\)\s*[-—–:]+\s*"
)
_WORD = re.compile(r"\w+", re.UNICODE)
_FIGURE = re.compile(r"\d+(?:[.,/:-]\d+)*")


def trim_boilerplate(text: str) -> str:
    """The body without byline, dateline, copyright and "Read more" lines."""
    text = text or ""
    match = _BOILERPLATE.match
    kept = [ln for ln in text.splitlines() if ln.strip() and not (len(ln) < 300 and match(ln))]
    if any(w in text for w in ("eserved", "ESERVED", "ontributed", "ONTRIBUTED", "roadcast")):
        kept = [ln for ln in kept if len(ln) > 200 or not _NOTICE.search(ln)]
    if kept:
        kept[0] = _DATELINE.sub("", kept[0], count=1)
    return "\n".join(kept)


def _normal(text: str) -> str:
    return unicodedata.normalize("NFKC", trim_boilerplate(text)).casefold()


def words(text: str) -> list[str]:
    """Normalised words of the trimmed body (NFKC, case-folded, punctuation dropped)."""
    return _WORD.findall(_normal(text))


class Body(NamedTuple):
    """What verification compares: the shingle hashes, figures and headline words, and for
    a table (see :data:`TABLE_FIGURES`) its terms: its distinct words and figures."""

    shingles: np.ndarray
    figures: np.ndarray
    title: np.ndarray
    terms: np.ndarray = np.zeros(0, dtype=np.uint32)
    lead: np.ndarray = np.zeros(0, dtype=np.uint32)
    opening: np.ndarray = np.zeros(0, dtype=np.uint32)


def pack_body(b: Body) -> bytes:
    """A body as bytes (little-endian uint32): the six lengths, then shingles, figures,
    headline words, terms, lead shingles and opening words; what ``story_signatures.body``
    stores."""
    head = np.array([len(x) for x in b], dtype="<u4")
    parts = [head, *b]
    return np.concatenate(parts).astype("<u4").tobytes()


def unpack_body(raw: bytes) -> Body:
    """:func:`pack_body` read back (views on the bytes, no copy)."""
    a = np.frombuffer(raw, dtype="<u4")
    n = len(Body._fields)
    cuts = np.cumsum([n, *(int(x) for x in a[:n])])
    return Body(*(a[cuts[i] : cuts[i + 1]] for i in range(n)))


def unpack_bodies(column: pa.Array | pa.ChunkedArray) -> list[Body | None]:
    """:func:`unpack_body` of a column of packed bodies (Arrow binary, nulls allowed) at
    once: the lengths of every body's fields read in one array operation, each body's
    fields views on the column's one buffer (no Python bytes object per body)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    n = len(column)
    if n == 0:
        return []
    off_type = np.int64 if pa.types.is_large_binary(column.type) else np.int32
    _, off_buf, data_buf = column.buffers()
    offsets = np.frombuffer(off_buf, dtype=off_type)[column.offset : column.offset + n + 1]
    if data_buf is None or offsets[-1] == offsets[0]:
        data = np.zeros(0, dtype="<u4")
    else:
        base = int(offsets[0])
        data = np.frombuffer(data_buf, dtype="<u4", count=(int(offsets[-1]) - base) // 4,
                             offset=base)  # fmt: skip
        offsets = offsets - base
    valid = column.is_valid().to_numpy(zero_copy_only=False) & (offsets[1:] > offsets[:-1])
    made = iter(unpack_at(data, offsets[:-1][valid].astype(np.int64) // 4))
    return [next(made) if v else None for v in valid.tolist()]


def unpack_at(data: np.ndarray, at: np.ndarray) -> list[Body]:
    """The packed bodies starting at ``at`` (uint32 positions) of ``data`` (uint32 values:
    bodies as :func:`pack_body` stores them, one after another), views on it."""
    nf = len(Body._fields)
    if len(at) == 0:
        return []
    lens = data[at[:, None] + np.arange(nf)].astype(np.int64)
    ends = at[:, None] + nf + np.cumsum(lens, axis=1)
    cuts = np.concatenate([ends[:, :1] - lens[:, :1], ends], axis=1).tolist()
    d = data
    return [Body(d[a:b], d[b:c], d[c:e], d[e:f], d[f:g], d[g:h]) for a, b, c, e, f, g, h in cuts]


def shingles(text: str, k: int) -> np.ndarray:
    """Sorted unique 32-bit hashes of the word k-grams (CRC-32 of each word, combined)."""
    return shingle_batch([text], k)[0]


def shingle_batch(texts: Sequence[str], k: int) -> list[np.ndarray]:
    """:func:`shingles` of many texts at once."""
    return [b.shingles for b in bodies(texts, k=k)]


def titles_agree(a: np.ndarray, b: np.ndarray, share: float) -> bool:
    """Whether two headlines share at least ``share`` of their words (Jaccard); true when
    either is missing."""
    if len(a) == 0 or len(b) == 0:
        return True
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter >= share * (len(a) + len(b) - inter)


#: Character classes by code point (built once, from Python's own ``\w`` and ``\d``):
#: bit 1 word character, bit 2 decimal digit, bit 4 a figure's separator (``.,/:-``).
_CLASSES: np.ndarray | None = None
_WORD_BIT, _DIGIT_BIT, _SEP_BIT = np.uint8(1), np.uint8(2), np.uint8(4)
#: The word hash: a polynomial over code points modulo 2^64, then a 64-bit mixer.
_BASE = np.uint64(0x100000001B3)


def _classes() -> np.ndarray:
    global _CLASSES
    if _CLASSES is None:
        every = "".join(map(chr, range(0x110000)))
        table = np.zeros(0x110000, dtype=np.uint8)
        for pattern, bit in ((_WORD, _WORD_BIT), (re.compile(r"\d+"), _DIGIT_BIT)):
            for m in pattern.finditer(every):
                table[m.start() : m.end()] |= bit
        table[[ord(c) for c in ".,/:-"]] |= _SEP_BIT
        _CLASSES = table
    return _CLASSES


def _mix(h: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer (a bijection of uint64): spreads the polynomial's bits."""
    h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return h ^ (h >> np.uint64(31))


def _runs(
    cp: np.ndarray, inside: np.ndarray, owner: np.ndarray, count: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The hash and the text of every maximal run of ``inside`` code points, in order, and
    how many of its code points are ``count`` ones (zeros without ``count``)."""
    edge = np.diff(np.concatenate(([False], inside, [False])).astype(np.int8))
    starts, ends = np.flatnonzero(edge == 1), np.flatnonzero(edge == -1)
    if len(starts) == 0:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64), np.zeros(0, np.int64)
    lens = ends - starts
    first = np.cumsum(lens) - lens  # where each run begins among the inside code points
    offset = np.arange(int(lens.sum())) - np.repeat(first, lens)
    powers = np.ones(int(lens.max()), dtype=np.uint64)  # BASE^i, wrapping in 64 bits
    powers[1:] = np.cumprod(np.full(len(powers) - 1, _BASE, dtype=np.uint64))
    terms = cp[np.flatnonzero(inside)].astype(np.uint64) * powers[offset]
    h = np.add.reduceat(terms, first)  # sum of cp * BASE^offset, wrapping in 64 bits
    counted = np.zeros(len(starts), dtype=np.int64)
    if count is not None:
        before = np.concatenate(([0], np.cumsum(count, dtype=np.int64)))
        counted = before[ends] - before[starts]
    return _mix(h + lens.astype(np.uint64)), owner[starts], counted


def _code_points(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Code points of the texts (NFKC, case-folded) joined by NULs, and each one's text."""
    nfkc = unicodedata.normalize  # text by text: one odd character slows the whole string
    big = "\x00".join([nfkc("NFKC", t) for t in texts]).casefold()
    cp = np.frombuffer(big.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    return cp, np.cumsum(cp == 0)


def _sets(h: np.ndarray, owner: np.ndarray, n: int) -> list[np.ndarray]:
    """Sorted unique uint32 hashes (64-bit ones folded) per text ``0 .. n-1``."""
    folded = (h ^ (h >> np.uint64(32))) & np.uint64(0xFFFFFFFF)
    keyed = np.sort((owner.astype(np.uint64) << np.uint64(32)) | folded)
    fresh = np.ones(len(keyed), dtype=bool)  # np.unique is slower than this
    fresh[1:] = keyed[1:] != keyed[:-1]
    keyed = keyed[fresh]
    cuts = np.searchsorted((keyed >> np.uint64(32)).astype(np.int64), np.arange(n + 1))
    vals = (keyed & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    return [vals[cuts[i] : cuts[i + 1]] for i in range(n)]


def _kgrams(h: np.ndarray, owner: np.ndarray, n_texts: int, k: int) -> list[np.ndarray]:
    """Sorted unique hashes of the word k-grams of each text, from its words' hashes."""
    if len(h) < k:
        return [np.zeros(0, dtype=np.uint32) for _ in range(n_texts)]
    n = len(h) - k + 1
    acc = np.zeros(n, dtype=np.uint64)
    for j in range(k):  # polynomial combination, wrapping in 64 bits
        acc = acc * np.uint64(0x100000001B3) + h[j : j + n] + np.uint64(j + 1)
    inside = owner[:n] == owner[k - 1 :]  # k-gram i lies within one text
    return _sets(_mix(acc[inside]), owner[:n][inside], n_texts)


#: A text is a *table* (rates, prices, counts: "N.Y. EURODEPOSITS 1030 - APR 7 / One month
#: 6-3/8 6-1/4 ...") when its distinct figures make up at least this share of its distinct
#: terms (words without digits, and figures). The same table issued at another hour or for
#: another session differs from it in a term or two only ("1030" / "1200", "OPENING" /
#: "CLOSING"), so two tables are one story only when every term of the one with fewer
#: occurs in the other (a copy of a table repeats it, or adds lines to it).
TABLE_FIGURES = 0.15
#: Characters per pass of :func:`bodies`: arrays of a few MB are reused by the allocator,
#: larger ones are fresh memory every time (page faults cost more than the work here).
_CHUNK_CHARS = 1_000_000


def bodies(
    texts: Sequence[str],
    *,
    k: int,
    titles: Sequence[str | None] | None = None,
) -> list[Body]:
    """Shingles, figures and headline words of many texts at once.

    Only the boilerplate trimming runs per text. The trimmed texts are normalised and
    tokenised as arrays of code points (Python's ``\\w`` and ``\\d`` by a lookup table),
    about a million characters a pass; each word or figure is hashed by a polynomial over
    its code points, and the words' hashes are combined into k-grams in array passes.
    *Figures* are the distinct numbers of the trimmed body ("6-1/16", "275.00"); the
    headline's distinct words are kept for bodies too short to tell apart by their text.
    """
    trimmed = [trim_boilerplate(t) for t in texts]
    heads = [h if isinstance(h, str) else "" for h in titles] if titles is not None else None
    out: list[Body] = []
    start = 0
    while start < len(trimmed):
        end, size = start, 0
        while end < len(trimmed) and (end == start or size + len(trimmed[end]) <= _CHUNK_CHARS):
            size += len(trimmed[end])
            end += 1
        out += _bodies_pass(trimmed[start:end], k, None if heads is None else heads[start:end])
        start = end
    return out


def _bodies_pass(trimmed: list[str], k: int, titles: list[str] | None) -> list[Body]:
    """:func:`bodies` of trimmed texts, in one pass of array operations."""
    n = len(trimmed)
    table = _classes()
    cp, owner = _code_points(trimmed)
    cls = table[cp]
    digit = (cls & _DIGIT_BIT) > 0
    words_ = _runs(cp, (cls & _WORD_BIT) > 0, owner, digit)
    grams = _kgrams(words_[0], words_[1], n, k)
    joins = np.zeros_like(digit)  # a separator between two digits belongs to the figure
    joins[1:-1] = ((cls[1:-1] & _SEP_BIT) > 0) & digit[:-2] & digit[2:]
    hf, of, _ = _runs(cp, digit | joins, owner)
    figures = _sets(hf, of, n)
    terms = _table_terms(words_, (hf, of), figures)
    if titles is None:
        heads = [np.zeros(0, dtype=np.uint32) for _ in range(n)]
    else:
        tcp, towner = _code_points(titles)
        heads = _sets(*_runs(tcp, (table[tcp] & _WORD_BIT) > 0, towner)[:2], n)
    lead = _kgrams(*story_rules.lead_words(words_[0], words_[1], k), n, k)
    opening = _sets(*story_rules.opening_words(words_[0], words_[1]), n)
    return [Body(grams[i], figures[i], heads[i], terms[i], lead[i], opening[i]) for i in range(n)]


def _table_terms(
    words_: tuple[np.ndarray, np.ndarray, np.ndarray],
    figs: tuple[np.ndarray, np.ndarray],
    figures: list[np.ndarray],
) -> list[np.ndarray]:
    """The terms of each text that is a table (:data:`TABLE_FIGURES`), else nothing: its
    words without digits (hashes, texts, digit counts ``words_``) and its figures."""
    n = len(figures)
    hw, ow, digits = words_
    plain = digits == 0
    h = np.concatenate([hw[plain], figs[0] ^ np.uint64(0x9E3779B97F4A7C15)])
    terms = _sets(h, np.concatenate([ow[plain], figs[1]]), n)
    empty = np.zeros(0, dtype=np.uint32)
    return [
        t if len(f) and len(f) >= TABLE_FIGURES * len(t) else empty
        for f, t in zip(figures, terms, strict=True)
    ]


def figures_agree(a: np.ndarray, b: np.ndarray, share: float) -> bool:
    """Whether at least ``share`` of the figures of the text with fewer occur in the other.

    A copy carries its original's numbers; two issues of one template (the Fed's operation
    on another day, a decree for another brigade) share their words and differ in them."""
    small, big = (a, b) if len(a) <= len(b) else (b, a)
    if len(small) == 0:
        return True
    return len(np.intersect1d(small, big, assume_unique=True)) >= share * len(small)


def tables_agree(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether every term of the table with fewer terms occurs in the other; true unless
    both texts are tables (their ``Body.terms`` non-empty)."""
    if len(a) == 0 or len(b) == 0:
        return True
    small, big = (a, b) if len(a) <= len(b) else (b, a)
    return len(np.intersect1d(small, big, assume_unique=True)) == len(small)


def similarity(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(Jaccard, containment of the smaller set in the larger) of two sorted hash sets."""
    if len(a) == 0 or len(b) == 0:
        return 0.0, 0.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter), inter / min(len(a), len(b))


# ---------------------------------------------------------------------------- sketches
_PERM_CACHE: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
#: MurmurHash3's 32-bit finalizer, as datasketch's ``affine32`` scheme pre-mixes each input.
_FMIX32 = (
    np.uint32(16),
    np.uint32(0x85EBCA6B),
    np.uint32(13),
    np.uint32(0xC2B2AE35),
    np.uint32(16),
)


def _permutations(opts: StoryOptions) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's (a, b) permutation parameters for (num_perm, seed), as uint32."""
    key = (opts.num_perm, opts.seed)
    if key not in _PERM_CACHE:

        def build() -> tuple[np.ndarray, np.ndarray]:
            from datasketch import MinHash  # heavy (scipy, ~0.7-2 s): only on a cache miss

            m = MinHash(num_perm=opts.num_perm, seed=opts.seed, scheme="affine32")
            a, b = m.permutations
            return a.astype(np.uint32), b.astype(np.uint32)

        _PERM_CACHE[key] = cached_pickle(_datasketch_path("minhash-perms", key), build)
    return _PERM_CACHE[key]


def _datasketch_path(prefix: str, key: tuple) -> Path:
    """Cache file of a value datasketch derives from ``key`` (its version is in the key)."""
    tag = hashlib.sha256(repr((version("datasketch"), key)).encode()).hexdigest()[:16]
    return cache_dir() / f"{prefix}-{tag}.pickle"


#: Hash values per chunk of :func:`signatures` (fits a core's cache with its temporaries).
_SIGN_CHUNK = 131_072


def signatures(
    sets: Sequence[np.ndarray], opts: StoryOptions, *, perms: int | None = None
) -> np.ndarray:
    """MinHash signatures (rows of uint32) of shingle-hash sets.

    Bit for bit datasketch's ``affine32`` MinHash with the identity hash function (input
    pre-mixed by the MurmurHash3 finalizer, then ``a * h + b`` wrapping in 32 bits), computed
    for a whole batch at once: the permutations run over the batch's concatenated hashes and
    a segmented minimum reduces them per set. An empty set signs as all-maximum, as in
    datasketch. ``perms``: only the first that many permutations (a smaller sketch).
    """
    a, b = _permutations(opts)
    if perms is not None:
        a, b = a[:perms], b[:perms]
    out = np.full((len(sets), len(a)), np.uint32(0xFFFFFFFF), dtype=np.uint32)
    lens = np.fromiter((len(s) for s in sets), dtype=np.int64, count=len(sets))
    full = np.flatnonzero(lens)
    if len(full) == 0:
        return out
    h = np.concatenate([sets[i] for i in full]).astype(np.uint32, copy=False)
    s1, m1, s2, m2, s3 = _FMIX32
    h = h ^ (h >> s1)
    h = h * m1
    h = h ^ (h >> s2)
    h = h * m2
    h = h ^ (h >> s3)
    ends = np.cumsum(lens[full])
    starts = ends - lens[full]
    cols = np.empty((len(a), len(full)), dtype=np.uint32)
    lo = 0
    while lo < len(full):  # sets a cache-sized chunk at a time, every permutation over it
        hi = max(lo + 1, int(np.searchsorted(ends, starts[lo] + _SIGN_CHUNK, side="right")))
        part, at = h[starts[lo] : ends[hi - 1]], starts[lo:hi] - starts[lo]
        for p in range(len(a)):
            cols[p, lo:hi] = np.minimum.reduceat(part * a[p] + b[p], at)
        lo = hi
    out[full] = cols.T
    return out


_BANDS_CACHE: dict[tuple[float, int], tuple[int, int]] = {}


def band_params(opts: StoryOptions) -> tuple[int, int]:
    """(bands, rows) that datasketch's MinHashLSH picks for the threshold."""
    key = (opts.lsh_threshold, opts.num_perm)
    if key not in _BANDS_CACHE:

        def build() -> tuple[int, int]:
            from datasketch import MinHashLSH  # heavy (scipy): only on a cache miss

            lsh = MinHashLSH(threshold=opts.lsh_threshold, num_perm=opts.num_perm)
            return lsh.b, lsh.r

        _BANDS_CACHE[key] = cached_pickle(_datasketch_path("lsh-bands", key), build)
    return _BANDS_CACHE[key]


def band_keys(sigs: np.ndarray, opts: StoryOptions) -> np.ndarray:
    """One 63-bit key per (article, band): the band's hash values combined."""
    b, r = band_params(opts)
    out = np.zeros((len(sigs), b), dtype=np.uint64)
    s = sigs.astype(np.uint64)
    for i in range(b):
        acc = np.full(len(sigs), np.uint64(i + 1), dtype=np.uint64)
        for j in range(r):
            acc = acc * np.uint64(0x9E3779B97F4A7C15) + s[:, i * r + j]
        out[:, i] = acc >> np.uint64(1)  # fits BIGINT
    return out


class BandIndex:
    """The LSH index (``story_bands``) in memory as integers, for a run of many batches.

    Per band (the text's own bands and the lead bands from :data:`story_rules.LEAD_BAND0`):
    a few sorted runs of keys, each key with the position of its article (positions follow
    the processing order ``seq``). A batch is a new run, merged with the runs before it
    while they are no larger (a binary counter: each key is merged about log2(batches)
    times, not copied once per batch). A batch's candidates are binary searches of its
    keys in every run; a query of story_bands scans the whole table once per batch, a cost
    that grows with the index (10^6 articles: 37 M rows read 100 times)."""

    def __init__(self) -> None:
        self.runs: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
        self.names = np.zeros(0, dtype=object)
        #: The index kept beside the database, when loaded from there: its positions are
        #: named by a lookup of the picked ones; ``names`` then holds the later positions.
        self.stored: story_index.Stored | None = None
        #: The packed bodies of the batches added, for the next save's body store.
        self.spool: story_index.Spool | None = None

    @property
    def size(self) -> int:
        """Articles indexed."""
        return len(self.names) + (self.stored.n if self.stored is not None else 0)

    @classmethod
    def of_folder(cls, con: duckdb.DuckDBPyConnection, opts: StoryOptions) -> BandIndex | None:
        """The index kept beside the database (:mod:`.story_index`), None when it is missing
        or does not match the stored signatures and these options."""
        got = story_index.load(con, opts.band_stamp)
        if got is None:
            return None
        out = cls()
        out.runs, out.stored = got
        return out

    def name_all(self) -> None:
        """Name every position in memory (one read of story_signatures): for a run of many
        batches, which would otherwise look names up batch by batch."""
        if self.stored is not None:
            sig = self.con_names(self.stored.con)
            self.names = np.concatenate([sig, self.names])
            self.stored = dataclasses.replace(self.stored, n=0)

    @staticmethod
    def con_names(con: duckdb.DuckDBPyConnection) -> np.ndarray:
        sig = con.execute("SELECT article_id FROM story_signatures ORDER BY seq").to_arrow_table()
        return sig.column("article_id").to_numpy(zero_copy_only=False).astype(object)

    def _names(self, pos: np.ndarray, texts: _Texts | None = None) -> np.ndarray:
        """Article ids of index positions; ``texts``: the stored positions' bodies are read
        with their names and held there for the batch's verification."""
        if self.stored is None or self.stored.n == 0:
            return self.names[pos]
        n = self.stored.n
        out = np.empty(len(pos), dtype=object)
        old = pos < n
        out[~old] = self.names[pos[~old] - n]
        if old.any():
            out[old], held = self.stored.names_and_bodies(pos[old], bodies=texts is not None)
            for rows in held if texts is not None else []:
                texts.hold(rows)
        return out

    @classmethod
    def of_stored(
        cls, con: duckdb.DuckDBPyConnection, want: pd.DataFrame | None = None
    ) -> BandIndex:
        """The stored index of the signed articles: one scan of story_bands into arrays, each
        band sorted here. With ``want`` (the story_bands rows of a batch not stored yet), only
        the rows of its (band, key)s: all that batch's candidates need."""
        out = cls()
        out.names = cls.con_names(con)
        sql = _INDEX_SQL
        if want is not None:  # the batch's distinct keys first: a small join build side
            con.register("_wb_story_want", want[["band", "key"]])
            sql = _INDEX_OF_KEYS_SQL
        try:
            rows = con.execute(sql).to_arrow_table()
        finally:
            if want is not None:
                con.unregister("_wb_story_want")
        pos = rows.column("pos").to_numpy().astype(np.int32)
        band = rows.column("band").to_numpy()
        key = rows.column("key").to_numpy().astype(np.int64)
        order = np.argsort(band, kind="stable")  # SMALLINT: a radix sort
        band, key, pos = band[order].astype(np.int64), key[order], pos[order]
        for i, lo, hi in _band_runs(band):
            order = np.argsort(key[lo:hi])
            out.runs[i] = [(key[lo:hi][order], pos[lo:hi][order])]
        return out

    def add(
        self, ids: Sequence[str], rows: _BandRows, packed: list[bytes | None] | None = None
    ) -> int:
        """Index a batch (in processing order, after every article indexed so far; ``rows``
        its story_bands rows, positions counted from the batch's first article; ``packed``
        its stored bodies, for the spool); returns the position of its first article."""
        first = self.size
        if self.spool is not None:
            self.spool.add(first, packed)
        self.names = np.concatenate([self.names, np.array(ids, dtype=object)])
        for i, key, pos in _by_band(rows):
            order = np.argsort(key, kind="stable")
            runs = self.runs.setdefault(i, [])
            runs.append((key[order], (pos[order] + first).astype(np.int32)))
            while len(runs) > 1 and len(runs[-2][0]) <= len(runs[-1][0]):
                (ka, pa), (kb, pb) = runs.pop(-2), runs.pop()
                k = np.concatenate([ka, kb])
                order = np.argsort(k, kind="stable")  # two sorted runs: a linear merge
                runs.append((k[order], np.concatenate([pa, pb])[order]))
        return first

    def hits(self, first: int, rows: _BandRows) -> np.ndarray:
        """Every (article of the batch added at ``first``, earlier article, band) match
        as one sorted code ``((row * m + other) * 2 + is_lead)`` (``row`` from the batch's
        first article, ``other`` an index position, ``m`` the index size)."""
        m = self.size
        codes = [np.zeros(0, dtype=np.int64)]
        for i, key, pos in _by_band(rows):
            lead = int(i >= story_rules.LEAD_BAND0)
            order = np.argsort(key)  # sorted queries: cache-friendly binary searches
            key, pos = key[order], pos[order] + first
            for keys, where in self.runs.get(i, []):
                lo = np.searchsorted(keys, key, side="left")
                c = np.searchsorted(keys, key, side="right") - lo
                total = int(c.sum())
                if total == 0:
                    continue
                row = np.repeat(pos, c)
                other = where[np.repeat(lo - (np.cumsum(c) - c), c) + np.arange(total)]
                before = other < row
                codes.append(((row[before] - first) * m + other[before]) * 2 + lead)
        code = np.concatenate(codes)
        code.sort()
        return code

    def candidates(
        self, first: int, rows: _BandRows, opts: StoryOptions, texts: _Texts | None = None
    ) -> list[tuple[str, str]]:
        """(article_id, earlier article_id) of the candidates of the batch added at
        ``first``: by article, then processing order (``texts``: see :meth:`_names`)."""
        row, other = _pick(self.hits(first, rows), self.size, opts)
        return list(zip(self._names(row + first), self._names(other, texts), strict=True))


#: story_bands rows with their article's position in processing order (of :class:`BandIndex`).
_INDEX_SQL = (
    "SELECT o.band, o.key, s.pos FROM story_bands o JOIN (SELECT article_id, "
    "row_number() OVER (ORDER BY seq) - 1 AS pos FROM story_signatures) s "
    "ON s.article_id = o.article_id"
)
#: The same, of the (band, key)s of ``_wb_story_want`` only.
_INDEX_OF_KEYS_SQL = (
    "SELECT o.band, o.key, s.pos FROM (SELECT DISTINCT band, key FROM _wb_story_want) w "
    "JOIN story_bands o ON o.band = w.band AND o.key = w.key JOIN (SELECT article_id, "
    "row_number() OVER (ORDER BY seq) - 1 AS pos FROM story_signatures) s "
    "ON s.article_id = o.article_id"
)


#: A batch's story_bands rows as arrays: (band, key, position of the article in the batch).
_BandRows = tuple[np.ndarray, np.ndarray, np.ndarray]


def _by_band(rows: _BandRows) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """(band, keys, positions) of a batch's story_bands rows, band by band."""
    band, key, pos = rows
    order = np.argsort(band, kind="stable")
    band, key, pos = band[order], key[order], pos[order]
    for i, lo, hi in _band_runs(band):
        yield i, key[lo:hi], pos[lo:hi]


def _pick(code: np.ndarray, m: int, opts: StoryOptions) -> tuple[np.ndarray, np.ndarray]:
    """:func:`story_rules.pick_candidates` on the sorted codes of :meth:`BandIndex.hits`:
    (row, other) of each row's picked candidates, by row and then other."""
    if len(code) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    head = np.flatnonzero(np.concatenate(([True], code[1:] != code[:-1])))
    count = np.diff(np.append(head, len(code)))  # bands in common
    pair, lead = code[head] >> 1, (code[head] & 1).astype(bool)
    pair = np.unique(
        np.concatenate(
            [
                _top(pair[~lead], count[~lead], m, opts.max_candidates),
                _top(pair[lead], count[lead], m, story_rules.LEAD_CANDIDATES),
            ]
        )
    )
    return pair // m, pair % m


def _top(pair: np.ndarray, count: np.ndarray, m: int, k: int) -> np.ndarray:
    """The ``k`` pairs (``row * m + other``) of each row with the highest ``count``, ties to
    the earliest other: one sort of a code ordered by row, count descending, then other."""
    if len(pair) == 0:
        return pair
    span = int(count.max()) + 1
    code = (pair // m * span + (span - 1 - count)) * m + pair % m
    code.sort()
    row = code // (span * m)
    head = np.flatnonzero(np.concatenate(([True], row[1:] != row[:-1])))
    rank = np.arange(len(row)) - np.repeat(head, np.diff(np.append(head, len(row))))
    code = code[rank < k]
    return code // (span * m) * m + code % m


def _band_runs(values: np.ndarray) -> Iterator[tuple[int, int, int]]:
    """(value, start, end) of each run of equal values of a sorted array."""
    if len(values) == 0:
        return
    starts = np.flatnonzero(np.concatenate(([True], values[1:] != values[:-1])))[: len(values)]
    ends = np.append(starts[1:], len(values))
    for lo, hi in zip(starts.tolist(), ends.tolist(), strict=True):
        yield int(values[lo]), lo, hi


# ---------------------------------------------------------------------------- storage
#: CPU seconds of this process (DuckDB's threads included) per phase of the current run of
#: :func:`find_stories`, returned in its ``cpu_s``: what a profile of a large run reads.
_PHASES: collections.Counter[str] = collections.Counter()


@contextlib.contextmanager
def _timed(phase: str) -> Iterator[None]:
    start = time.process_time()
    try:
        yield
    finally:
        _PHASES[phase] += time.process_time() - start


def _stamp(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    raw = store.get_meta(con, META_KEY)
    return json.loads(raw) if raw else None


def is_ready(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether story clusters have been computed for this database."""
    try:
        return _stamp(con) is not None
    except duckdb.Error:
        return False


class _Texts:
    """Bodies of signed articles by id, kept in a bounded cache: read from their stored
    compact form, or (a database indexed before bodies were stored) computed from the text
    once and stored."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        opts: StoryOptions,
        size: int = 50_000,
        stored: story_index.Stored | None = None,
    ) -> None:
        self.con, self.opts, self.size = con, opts, size
        self.cache: OrderedDict[str, Body] = OrderedDict()
        #: The index beside the database, when its body store can serve bodies by id.
        self.stored = stored if stored is not None and stored.bodies is not None else None
        #: Bodies read ahead for the next :meth:`get_many` only: stored rows (article_id,
        #: body) or (ids, data, starts) of the index's body store.
        self.held: list[Any] = []

    def hold(self, rows: Any) -> None:
        """Bodies read with their candidates' names (:meth:`story_index.Stored.
        names_and_bodies`): the next :meth:`get_many` takes them instead of a query."""
        self.held.append(rows)

    def put(self, aid: str, s: Body) -> None:
        self.cache[aid] = s
        self.cache.move_to_end(aid)
        while len(self.cache) > self.size:
            self.cache.popitem(last=False)

    def get_many(self, ids: Iterable[str]) -> dict[str, Body]:
        ids = list(dict.fromkeys(ids))
        got = {i: self.cache[i] for i in ids if i in self.cache}
        held, self.held = self.held, []
        for rows in held:
            if isinstance(rows, tuple):  # the index's body store
                aids, made = rows[0], unpack_at(rows[1], rows[2])
            else:
                aids, made = rows.column("article_id").to_pylist(), unpack_bodies(rows["body"])
            for aid, body in zip(aids, made, strict=True):
                if body is not None and aid not in got:
                    got[aid] = body
        missing = [i for i in ids if i not in got]
        if held:  # only a single batch holds (BandIndex._names): no later batch to cache for
            got = {i: got[i] for i in ids if i in got}
        if missing and self.stored is not None:  # by position from the body store
            got.update(self._from_store(missing))
            missing = [i for i in missing if i not in got]
        if not missing:
            return got
        con = self.con
        con.register("_wb_story_want", pd.DataFrame({"article_id": missing}))
        try:
            rows = con.execute(
                "SELECT s.article_id, s.body FROM _wb_story_want w "
                "JOIN story_signatures s ON s.article_id = w.article_id"
            ).to_arrow_table()
            aids = rows.column("article_id").to_pylist()
            for aid, body in zip(aids, unpack_bodies(rows.column("body")), strict=True):
                if body is not None:
                    got[aid] = body
            old = []
            if len(got) < len(ids):
                old = con.execute(
                    "SELECT a.article_id, a.title, a.text FROM _wb_story_want w "
                    "JOIN story_signatures s ON s.article_id = w.article_id AND s.body IS NULL "
                    "JOIN articles a ON a.article_id = w.article_id"
                ).fetchall()
        finally:
            con.unregister("_wb_story_want")
        for start in range(0, len(old), 1000):  # bodies the index lacks: from the text, once
            chunk = old[start : start + 1000]
            made = _bodies_of(chunk, self.opts)
            fill = pd.DataFrame(
                {"article_id": [r[0] for r in chunk], "body": [pack_body(b) for b in made]}
            )
            con.register("_wb_story_fill", fill)
            try:
                con.execute(
                    "UPDATE story_signatures s SET body = f.body FROM _wb_story_fill f "
                    "WHERE s.article_id = f.article_id"
                )
            finally:
                con.unregister("_wb_story_fill")
            got.update(zip(fill["article_id"], made, strict=True))
        for i in missing:
            if i in got:
                self.put(i, got[i])
        return got

    def _from_store(self, ids: list[str]) -> dict[str, Body]:
        """Bodies of the ids the body store covers (their positions read by id: the id and
        seq columns, not the bodies), read from the pages they lie on."""
        stored = self.stored
        assert stored is not None and stored.bodies is not None
        self.con.register("_wb_story_want", pa.table({"article_id": pa.array(ids, pa.string())}))
        try:
            got = self.con.execute(
                "SELECT s.article_id, s.seq FROM _wb_story_want w "
                "JOIN story_signatures s ON s.article_id = w.article_id"
            ).fetchnumpy()
        finally:
            self.con.unregister("_wb_story_want")
        pos = np.asarray(got["seq"], dtype=np.int64) - stored.seq0
        ok = (pos >= 0) & (pos < stored.n_bodies)
        data, off = stored.bodies
        made = unpack_at(data, np.asarray(off[pos[ok]], dtype=np.int64))
        return dict(
            zip(np.asarray(got["article_id"], dtype=object)[ok].tolist(), made, strict=True)
        )


def _bodies_of(rows: Sequence[tuple[str, str | None, str]], opts: StoryOptions) -> list[Body]:
    """Bodies of (article_id, title, text) rows."""
    return bodies([r[2] for r in rows], k=opts.shingle, titles=[r[1] for r in rows])


def _signed_bodies(
    rows: Sequence[tuple[str, str | None, str]], opts: StoryOptions
) -> tuple[list[Body], np.ndarray]:
    """Bodies of (article_id, title, text) rows and their MinHash signatures: the work
    done per text, what a shingling worker returns."""
    made = _bodies_of(rows, opts)
    return made, signatures([b.shingles for b in made], opts)


def _reset(con: duckdb.DuckDBPyConnection, *, signatures_too: bool) -> None:
    story_index.forget(con)  # first: a reset stopped half-way leaves no index trusted
    for t in ("story_bands", "story_pairs", "story_clusters", "stories"):
        con.execute(f"DELETE FROM {store.quote_ident(t)}")  # noqa: S608
    if signatures_too:
        con.execute("DELETE FROM story_signatures")


class _Job(NamedTuple):
    """A batch's candidate pairs ready to verify: the distinct new and earlier articles
    (ids, and bodies as :func:`_pack_many` arrays: a worker receives a few arrays, not
    thousands of small ones) and each pair's positions in them."""

    a_ids: np.ndarray
    b_ids: np.ndarray
    li: np.ndarray
    ri: np.ndarray
    left: list[Body] | tuple[np.ndarray, ...]
    right: list[Body] | tuple[np.ndarray, ...]


def _pack_many(items: list[Body]) -> tuple[np.ndarray, ...]:
    """Bodies as one uint32 array per field (the values :func:`pack_body` stores) and one
    array of every field's length per body."""
    n = len(Body._fields)
    lens = np.array([[len(x) for x in b] for b in items], dtype=np.int64).reshape(-1, n)
    vals = [
        np.concatenate([np.zeros(0, np.uint32), *(b[f] for b in items)]).astype(np.uint32)
        for f in range(n)
    ]
    return (lens, *vals)


def _unpack_many(packed: tuple[np.ndarray, ...]) -> list[Body]:
    """:func:`_pack_many` read back (views on its arrays)."""
    lens, *vals = packed
    if len(lens) == 0:
        return []
    cuts = np.cumsum(lens, axis=0)[:-1]
    fields = [np.split(v, cuts[:, f]) for f, v in enumerate(vals)]
    return [Body(*x) for x in zip(*fields, strict=True)]


_PAIR_COLUMNS = ["article_id", "other_id", "jaccard", "containment", "reissue"]


def _verify_job(
    texts: _Texts, new: dict[str, Body], cand: list[tuple[str, str]], *, packed: bool = False
) -> _Job:
    """The bodies of the candidate pairs (article of the batch ``new``, earlier article),
    read here (the database is this process's), so that verification needs nothing else;
    ``packed`` for a worker process."""
    with _timed("bodies read"):
        others = texts.get_many(b for _, b in cand if b not in new)
    others.update(new)
    cand = [(a, b) for a, b in cand if b in others]
    li, a_ids = pd.factorize(np.array([a for a, _ in cand], dtype=object))
    ri, b_ids = pd.factorize(np.array([b for _, b in cand], dtype=object))
    return _Job(
        np.asarray(a_ids, dtype=object), np.asarray(b_ids, dtype=object), li, ri,
        *[_pack_many(x) if packed else x
          for x in ([new[a] for a in a_ids], [others[b] for b in b_ids])],
    )  # fmt: skip


def _verified(
    job: _Job, opts: StoryOptions
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(kept pair positions, their Jaccard, containment, re-issue flag) under the
    verifier's rules, in chunks; what a worker process runs for a batch."""
    out: list[list[np.ndarray]] = [[], [], [], []]
    a_bodies, b_bodies = (x if isinstance(x, list) else _unpack_many(x) for x in job[4:])
    for s in range(0, len(job.li), _CHUNK):  # small chunks: their arrays are reused
        lc, lu = pd.factorize(job.li[s : s + _CHUNK])
        rc, ru = pd.factorize(job.ri[s : s + _CHUNK])
        left, right = [a_bodies[i] for i in lu], [b_bodies[i] for i in ru]
        jac, cont, ok, again = _rules(left, right, lc, rc, opts)
        keep = np.flatnonzero(ok)
        for part, x in zip(out, (keep + s, jac[keep], cont[keep], again[keep]), strict=True):
            part.append(x)
    empty = (np.int64, np.float64, np.float64, bool)
    return tuple(  # type: ignore[return-value]
        np.concatenate(x) if x else np.zeros(0, dtype=t) for x, t in zip(out, empty, strict=True)
    )


def _pair_frame(job: _Job, done: tuple[np.ndarray, ...]) -> pd.DataFrame:
    """The story_pairs rows of a verified :class:`_Job`."""
    keep, jac, cont, again = done
    return pd.DataFrame(
        {
            "article_id": job.a_ids[job.li[keep]],
            "other_id": job.b_ids[job.ri[keep]],
            "jaccard": jac,
            "containment": cont,
            "reissue": again,
        },
        columns=_PAIR_COLUMNS,
    )


def _verify(
    texts: _Texts,
    new: dict[str, Body],
    cand: list[tuple[str, str]],
    opts: StoryOptions,
) -> pd.DataFrame:
    """The candidate pairs (article of the batch ``new``, earlier article) verified exactly;
    pairs at or above ``pair_floor`` (Jaccard or containment)."""
    job = _verify_job(texts, new, cand)
    with _timed("verify"):
        return _pair_frame(job, _verified(job, opts))


#: Candidate pairs verified at a time (at 10^6 articles 2,000 pairs a chunk cost 25% less
#: CPU than 5,000).
_CHUNK = 2000


def _flat(sets: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sets as one array: (values, start of each set, length of each set)."""
    lens = np.fromiter(map(len, sets), dtype=np.int64, count=len(sets))
    vals = np.concatenate(sets).astype(np.uint64) if len(sets) else np.zeros(0, np.uint64)
    return vals, np.cumsum(lens) - lens, lens


_Flat = tuple[np.ndarray, np.ndarray, np.ndarray]


def _overlaps(
    left: Sequence[np.ndarray], right: Sequence[np.ndarray], li: np.ndarray, ri: np.ndarray
) -> np.ndarray:
    """``len(intersect(left[li[p]], right[ri[p]]))`` for every pair ``p`` of sorted unique
    uint32 sets (see :func:`_overlaps_flat`)."""
    return _overlaps_flat(_flat(left), _flat(right), li, ri)


def _overlaps_flat(left: _Flat, right: _Flat, li: np.ndarray, ri: np.ndarray) -> np.ndarray:
    """:func:`_overlaps` of sets given as :func:`_flat` arrays, for many pairs at once: the
    sets as rows of two sparse 0/1 matrices, the rows of each pair multiplied elementwise
    (scipy merges two sorted rows in C, no Python work per pair or per set); a pair's
    overlap is the number of entries left in its row."""
    from scipy import sparse  # a dependency of datasketch; only here

    if len(ri) == 0:
        return np.zeros(len(ri), dtype=np.int64)
    rows = []
    for vals, starts, lens in (left, right):
        m = sparse.csr_array(
            (
                np.ones(len(vals), dtype=np.int8),
                vals.astype(np.int64),
                np.append(starts, len(vals)),
            ),
            shape=(len(lens), 1 << 32),
        )
        m.has_canonical_format = True  # each set is sorted and unique
        rows.append(m)
    a, b = rows[0][li], rows[1][ri]
    a.has_canonical_format = b.has_canonical_format = True
    return np.diff(a.multiply(b).indptr).astype(np.int64)


def _pair_sizes(
    left: list[Body], right: list[Body], li: np.ndarray, ri: np.ndarray
) -> Callable[[int], tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """For a :class:`Body` field, its set sizes on both sides of every pair and their overlap."""

    def sizes(field: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        lf, rf = _flat([x[field] for x in left]), _flat([x[field] for x in right])
        return lf[2][li], rf[2][ri], _overlaps_flat(lf, rf, li, ri)

    return sizes


def _rules(
    left: list[Body], right: list[Body], li: np.ndarray, ri: np.ndarray, opts: StoryOptions
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(Jaccard, containment as stored, kept, re-issue) of the pairs ``left[li[p]]``,
    ``right[ri[p]]`` under the verifier's rules (see the module docstring)."""

    sizes = _pair_sizes(left, right, li, ri)
    la, lb, inter = sizes(0)  # shingles
    small, large = np.minimum(la, lb), np.maximum(la, lb)
    with np.errstate(divide="ignore", invalid="ignore"):
        jac = np.where(small > 0, inter / (la + lb - inter), 0.0)
        cont = np.where(small > 0, inter / small, 0.0)
    fa, fb, fi = sizes(1)  # figures: of the text with fewer, at least ``figures`` shared
    ok = (np.minimum(fa, fb) == 0) | (fi >= opts.figures * np.minimum(fa, fb))
    short = small < opts.min_shingles  # a handful of shingles: the headline tells
    ta, tb, ti = sizes(2)
    heads = (ta == 0) | (tb == 0) | (ti >= opts.short_titles * (ta + tb - ti))
    ok &= ~short | heads
    if opts.tables:  # two tables: every term of the one with fewer in the other
        xa, xb, xi = sizes(3)
        with np.errstate(divide="ignore", invalid="ignore"):
            titled = np.where((ta > 0) & (tb > 0), ti / (ta + tb - ti), 0.0)
        ok &= (
            (xa == 0)
            | (xb == 0)
            | (xi >= np.minimum(xa, xb))
            | story_rules.tables_waived(titled, opts)
        )
    again = np.zeros(len(li), dtype=bool)
    if opts.reissue:  # a wire re-issue: its figures may differ
        cues = _reissue_cues(opts)
        masks = (
            story_rules.cue_masks([x.title for x in left], cues)[li],
            story_rules.cue_masks([x.title for x in right], cues)[ri],
        )
        again = story_rules.reissue_pairs((ta, tb, ti), masks, cont, opts)
        again &= (~short | heads) & (small >= opts.min_ratio * large)
    raw = cont
    cont = np.where(story_rules.containment_counts(small, large, opts), cont, jac)
    ok = (ok & (np.maximum(jac, cont) >= opts.pair_floor)) | again
    if opts.learned:
        left_ = ok & ((jac >= opts.jaccard) | (cont >= opts.containment) | again)
        grey = np.flatnonzero(~left_ & story_rules.grey_zone(jac, raw))
        hit = grey[_learned(left, right, li[grey], ri[grey], opts)]
        again[hit] = ok[hit] = True
    return jac, cont, ok, again


def _learned(
    left: list[Body], right: list[Body], li: np.ndarray, ri: np.ndarray, opts: StoryOptions
) -> np.ndarray:
    """Which of the grey-zone pairs the learned verifier takes (:mod:`.story_rules`)."""
    if len(li) == 0:
        return np.zeros(0, dtype=bool)
    cues = _reissue_cues(opts)
    ma = story_rules.cue_masks([x.title for x in left], cues)[li]
    mb = story_rules.cue_masks([x.title for x in right], cues)[ri]
    sizes = _pair_sizes(left, right, li, ri)
    x = story_rules.pair_features(sizes, (ma | mb) > 0)
    return story_rules.verifier_accepts(x) & ~_series(left, right, li, ri, sizes(2))


_NUMBERS: dict[int, np.ndarray] = {}


def _number_titles(titles: list[np.ndarray]) -> list[np.ndarray]:
    """The number words (:func:`story_rules.number_words`) of each headline, all headlines
    in one lookup."""
    if 0 not in _NUMBERS:
        words_ = " ".join(story_rules.number_words())
        _NUMBERS[0] = bodies([""], k=1, titles=[words_])[0].title  # sorted, unique
    nums = _NUMBERS[0]
    lens = np.fromiter(map(len, titles), dtype=np.int64, count=len(titles))
    if lens.sum() == 0:
        return [np.zeros(0, dtype=np.uint32) for _ in titles]
    flat = np.concatenate(titles)
    at = np.minimum(np.searchsorted(nums, flat), len(nums) - 1)
    hit = nums[at] == flat
    owner = np.repeat(np.arange(len(titles)), lens)
    counts = np.bincount(owner[hit], minlength=len(titles))
    return np.split(flat[hit], np.cumsum(counts)[:-1])


def _series(
    left: list[Body],
    right: list[Body],
    li: np.ndarray,
    ri: np.ndarray,
    titles: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> np.ndarray:
    """Which pairs' headlines differ only in numbers (:func:`story_rules.series_pairs`);
    only the headlines of ``li`` and ``ri`` are read."""
    lu, lp = np.unique(li, return_inverse=True)
    ru, rp = np.unique(ri, return_inverse=True)
    lt = _number_titles([left[i].title for i in lu])
    rt = _number_titles([right[i].title for i in ru])
    na = np.fromiter(map(len, lt), dtype=np.int64, count=len(lt))[lp]
    nb = np.fromiter(map(len, rt), dtype=np.int64, count=len(rt))[rp]
    return story_rules.series_pairs(titles, (na, nb, _overlaps(lt, rt, lp, rp)))


_CUES: dict[int, np.ndarray] = {}


def _reissue_cues(opts: StoryOptions) -> np.ndarray:
    """The headline-word hashes of the re-issue cues (:data:`story_rules.REISSUE_CUES`)."""
    if opts.shingle not in _CUES:
        words_ = " ".join(story_rules.REISSUE_CUES)
        _CUES[opts.shingle] = bodies([""], k=opts.shingle, titles=[words_])[0].title
    return _CUES[opts.shingle]


def _reband(
    con: duckdb.DuckDBPyConnection,
    texts: _Texts,
    opts: StoryOptions,
    seqs: list[int],
    bands: BandIndex | None,
    stats: dict[str, int],
    *,
    progress: bool,
) -> None:
    """Bands and pairs of the stored signatures ``seqs``, in their processing order."""
    with progress_bar(desc="stories (re-band)", unit="article", total=len(seqs),
                      enable=progress) as bar:  # fmt: skip
        for start in range(0, len(seqs), opts.batch):
            lo, hi = seqs[start], seqs[min(start + opts.batch, len(seqs)) - 1]
            rows = con.execute(
                "SELECT article_id, seq, minhash FROM story_signatures "
                "WHERE seq BETWEEN ? AND ? ORDER BY seq",
                [lo, hi],
            ).fetchall()
            sigs = np.stack([np.frombuffer(r[2], dtype=np.uint32) for r in rows])
            batch = ([r[0] for r in rows], [r[1] for r in rows], sigs)
            with store.transaction(con):
                stats["pairs"] += _band_and_pair(con, texts, opts, batch, None, bands)
            stats["rebanded"] += len(rows)
            bar.update(len(rows))


def _index(
    con: duckdb.DuckDBPyConnection,
    opts: StoryOptions,
    *,
    progress: bool,
    reband: bool,
    empty: bool = False,
) -> tuple[dict[str, int], story_index.Stored | None]:
    """Sign the articles without a signature, band and verify them (in batches); ``empty``:
    the story tables were just emptied (no stored index to read). Also returns the index
    loaded from beside the database, whose body store clustering may read."""
    texts = _Texts(con, opts)
    stats = {"signed": 0, "rebanded": 0, "pairs": 0}
    seqs = []
    if reband:  # bands/pairs from the stored signatures, in their processing order
        seqs = [
            r[0] for r in con.execute("SELECT seq FROM story_signatures ORDER BY seq").fetchall()
        ]
    got = con.execute(
        compose(
            "SELECT a.article_id, a.rowid FROM articles a WHERE NOT EXISTS (SELECT 1 FROM "
            "story_signatures s WHERE s.article_id = a.article_id) ORDER BY {order}",
            order=ORDER_SQL,
        )
    ).fetchall()
    todo, rowids = [r[0] for r in got], np.array([r[1] for r in got], dtype=np.int64)
    many = -(-len(seqs) // opts.batch) + -(-len(todo) // opts.batch) > 1
    bands, loaded = None, False
    if todo or seqs:
        with _timed("index load"):
            bands, loaded = _start_index(con, opts, many=many, reband=reband or empty)
    if bands is not None:
        texts.stored = bands.stored if bands.stored and bands.stored.bodies is not None else None
    folder = story_index.folder_of(con) if bands is not None and not reband else None
    if folder is not None and bands.size + len(todo) >= story_index.MIN_ARTICLES:  # type: ignore[union-attr]
        bands.spool = story_index.Spool(folder, bands.size)  # type: ignore[union-attr]
    try:
        if reband:
            _reband(con, texts, opts, seqs, bands, stats, progress=progress)
        _sign_todo(con, texts, opts, (todo, rowids), bands, stats, progress=progress)
        if bands is not None and (stats["signed"] or stats["rebanded"] or not loaded):
            with _timed("index save"):
                story_index.save(con, opts.band_stamp, bands.runs, bands.stored, bands.spool)
    finally:
        if bands is not None and bands.spool is not None:
            bands.spool.discard()
    return stats, texts.stored


def _start_index(
    con: duckdb.DuckDBPyConnection, opts: StoryOptions, *, many: bool, reband: bool
) -> tuple[BandIndex | None, bool]:
    """The band index for this run and whether it came from beside the database: after a
    reset an empty one; else the one beside the database when it matches, else the stored
    rows read whole for a run of many batches (or a database large enough to keep its
    index beside it); None for one batch of a small database (it reads the stored rows of
    its keys)."""
    if reband:
        return BandIndex(), False
    bands = BandIndex.of_folder(con, opts)
    if bands is not None:
        if many:
            bands.name_all()
        return bands, True
    if many:
        return BandIndex.of_stored(con), False
    big = con.execute("SELECT count(*) FROM story_signatures").fetchone()[0]
    if big >= story_index.MIN_ARTICLES and story_index.folder_of(con) is not None:
        return BandIndex.of_stored(con), False
    return None, False


def _sign_todo(
    con: duckdb.DuckDBPyConnection,
    texts: _Texts,
    opts: StoryOptions,
    todo: tuple[list[str], np.ndarray],
    bands: BandIndex | None,
    stats: dict[str, int],
    *,
    progress: bool,
) -> None:
    """Sign, band and verify the articles ``todo`` (ids, rowids), a batch per transaction."""
    next_seq = con.execute("SELECT coalesce(max(seq), 0) + 1 FROM story_signatures").fetchone()[0]
    with (
        progress_bar(desc="stories", unit="article", total=len(todo[0]), enable=progress) as bar,
        _worker_pool(opts, len(todo[0])) as pool,
    ):
        batches = _signed_batches(_new_bodies(con, todo, opts, pool), next_seq, opts)
        if pool is not None and bands is not None:
            _pipelined(con, texts, opts, batches, (bands, pool), (stats, bar))
            return
        for sig, batch, shingled in batches:
            with store.transaction(con):
                with _timed("signature write"):
                    store.insert_df(con, "story_signatures", sig)
                packed = sig["body"].tolist()
                stats["pairs"] += _band_and_pair(con, texts, opts, batch, shingled, bands, packed)
            _stored(texts, shingled, stats, bar)


_Batch = tuple[pd.DataFrame, tuple[list[str], list[int], np.ndarray], dict[str, "Body"]]


def _signed_batches(
    made: Iterator[tuple[list[str], list[Body], np.ndarray]], next_seq: int, opts: StoryOptions
) -> Iterator[_Batch]:
    """Each signed batch as (its story_signatures rows, (ids, seqs, signatures), bodies)."""
    for ids, sets, sigs in made:
        seq = list(range(next_seq, next_seq + len(ids)))
        next_seq += len(ids)
        frame = pd.DataFrame({"article_id": ids, "seq": seq,
                              "n_shingles": [len(s.shingles) for s in sets],
                              "minhash": [sig.tobytes() for sig in sigs],
                              "body": [pack_body(s) for s in sets]})  # fmt: skip
        frame["stamp"] = opts.signature_stamp
        yield frame, (ids, seq, sigs), dict(zip(ids, sets, strict=True))


def _stored(texts: _Texts, shingled: dict[str, Body], stats: dict[str, int], bar: Any) -> None:
    """A batch committed: its bodies cached for the next batches' verification."""
    for aid, s in shingled.items():
        texts.put(aid, s)
    stats["signed"] += len(shingled)
    bar.update(len(shingled))


class _Held(NamedTuple):
    """A batch whose transaction is open while a worker verifies its candidates."""

    tx: contextlib.ExitStack
    shingled: dict[str, Body]
    job: _Job
    future: Any


def _pipelined(
    con: duckdb.DuckDBPyConnection,
    texts: _Texts,
    opts: StoryOptions,
    batches: Iterator[_Batch],
    index: tuple[BandIndex, Any],
    counts: tuple[dict[str, int], Any],
) -> None:
    """Batches stored with verification beside: batch k's candidates are verified in a
    worker process while this one computes batch k+1's (they need only the in-memory
    index); then batch k's pairs are written and its transaction (signatures, bands,
    pairs, as in the serial loop) committed, before batch k+1's is opened."""
    bands, pool = index
    held: _Held | None = None
    try:
        for sig, batch, shingled in batches:
            frame, own = _band_frame(texts, opts, batch, shingled)
            cand = _candidates(bands, batch[0], frame, own, opts, texts, sig["body"].tolist())
            if held is not None:
                _finish(con, texts, held, counts)
                held = None
            tx = contextlib.ExitStack()
            tx.enter_context(store.transaction(con))
            held = _Held(tx, shingled, _Job(*[np.zeros(0)] * 4, [], []), None)
            with _timed("signature write"):
                store.insert_df(con, "story_signatures", sig)
            _write_bands(con, frame)
            job = _verify_job(texts, shingled, cand, packed=True)
            held = held._replace(job=job, future=pool.submit(_verified, job, opts))
        if held is not None:
            _finish(con, texts, held, counts)
            held = None
    except BaseException as exc:
        if held is not None:  # roll the open batch back
            held.tx.__exit__(type(exc), exc, exc.__traceback__)
        raise


def _finish(
    con: duckdb.DuckDBPyConnection, texts: _Texts, held: _Held, counts: tuple[dict[str, int], Any]
) -> None:
    """Write a held batch's verified pairs and commit its transaction."""
    with _timed("waiting for the verifier"):
        done = _result(held.future, "verifying")
    pairs = _pair_frame(held.job, done)
    _write_pairs(con, pairs)
    held.tx.close()  # COMMIT
    counts[0]["pairs"] += len(pairs)
    _stored(texts, held.shingled, *counts)


def _result(future: Any, what: str) -> Any:
    """A worker's result; a worker that ended early said as an option error."""
    from concurrent.futures.process import BrokenProcessPool

    try:
        return future.result()
    except BrokenProcessPool as exc:
        raise errors.BadOption(
            f"stories: a worker process ended before it was done {what} a batch. Worker "
            "processes import the main script: in a script, call stories under "
            '`if __name__ == "__main__":`, or use workers=1'
        ) from exc


@contextlib.contextmanager
def _worker_pool(opts: StoryOptions, n: int) -> Iterator[Any]:
    """``opts.workers`` processes for more than one batch, else None: a single batch (an
    incremental add) is done here, as starting processes costs more."""
    if opts.workers <= 1 or n <= opts.batch:
        yield None
        return
    # Only the multi-process path (about 45 ms: concurrent.futures and multiprocessing).
    import concurrent.futures
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")  # the parent holds DuckDB threads: no fork
    with concurrent.futures.ProcessPoolExecutor(opts.workers, mp_context=ctx) as pool:
        yield pool


def _texts_of(
    con: duckdb.DuckDBPyConnection, ids: list[str], rowids: np.ndarray
) -> list[tuple[str, Any, Any]]:
    """(article_id, title, text) of the articles, in the order of ``ids``: fetched by their
    ``rowids`` (read with the ids, this run; half the CPU of a join on the id), by id if
    a row has moved since."""
    con.register("_wb_story_read", pd.DataFrame({"rid": rowids, "i": range(len(ids))}))
    try:
        rows = con.execute(
            "SELECT a.article_id, a.title, a.text FROM _wb_story_read r "
            "JOIN articles a ON a.rowid = r.rid ORDER BY r.i"
        ).fetchall()
    finally:
        con.unregister("_wb_story_read")
    if [r[0] for r in rows] == ids:
        return rows
    con.register("_wb_story_read", pd.DataFrame({"article_id": ids, "i": range(len(ids))}))
    try:
        return con.execute(
            "SELECT a.article_id, a.title, a.text FROM _wb_story_read r "
            "JOIN articles a ON a.article_id = r.article_id ORDER BY r.i"
        ).fetchall()
    finally:
        con.unregister("_wb_story_read")


def _new_bodies(
    con: duckdb.DuckDBPyConnection,
    todo: tuple[list[str], np.ndarray],
    opts: StoryOptions,
    pool: Any = None,
) -> Iterator[tuple[list[str], list[Body], np.ndarray]]:
    """(ids, bodies, signatures) of the articles to sign, a batch at a time. With a worker
    ``pool`` the texts are shingled there, a batch per worker, while the caller bands and
    verifies the batch before: shingling (the regex work) is most of the cost, and a
    2-core machine then runs it beside DuckDB's work. ``todo``: the ids and their rowids."""
    todo, rowids = todo
    starts = range(0, len(todo), opts.batch)
    if pool is None:
        for start in starts:
            ids = todo[start : start + opts.batch]
            with _timed("text read"):
                rows = _texts_of(con, ids, rowids[start : start + opts.batch])
            with _timed("trim, shingle, sign"):
                made, sigs = _signed_bodies(rows, opts)
            yield ids, made, sigs
        return
    pending: collections.deque[tuple[list[str], Any]] = collections.deque()
    left = iter(starts)

    def submit() -> None:
        start = next(left, None)
        if start is not None:
            ids = todo[start : start + opts.batch]
            with _timed("text read"):
                rows = _texts_of(con, ids, rowids[start : start + opts.batch])
            pending.append((ids, pool.submit(_signed_bodies, rows, opts)))

    for _ in range(opts.workers):
        submit()
    while pending:
        ids, future = pending.popleft()
        with _timed("waiting for the workers"):
            done = _result(future, "shingling")
        submit()  # the workers shingle on while the caller stores this batch
        yield ids, *done


def _band_frame(
    texts: _Texts,
    opts: StoryOptions,
    batch: tuple[list[str], list[int], np.ndarray],
    shingled: dict[str, Body] | None,
) -> tuple[pd.DataFrame, int]:
    """The story_bands rows of a batch (ids, seqs, signatures): its own bands, article by
    article, then (``lead``) its lead bands; and the number of own bands per article."""
    ids, _, sigs = batch
    keys = band_keys(sigs, opts).astype(np.int64)
    b = keys.shape[1]
    frame = pd.DataFrame(
        {
            "band": np.tile(np.arange(b, dtype=np.int16), len(ids)),
            "key": keys.reshape(-1),
            "article_id": np.repeat(np.array(ids, dtype=object), b),
        }
    )
    if opts.lead:  # containment candidates: the lead's bands beside the text's own
        if shingled is None:
            with _timed("bodies read"):
                shingled = texts.get_many(ids)
        lead = [shingled[i].lead if i in shingled else np.zeros(0, np.uint32) for i in ids]
        n_sh = np.fromiter((len(shingled[i].shingles) if i in shingled else 0 for i in ids),
                           dtype=np.int64, count=len(ids))  # fmt: skip
        perms = story_rules.LEAD_BANDS * story_rules.LEAD_ROWS
        leads = signatures(lead, opts, perms=perms)
        frame = pd.concat(
            [frame, story_rules.lead_band_frame(ids, leads, n_sh, opts.min_shingles)],
            ignore_index=True,
        )
    return frame, b


def _candidates(
    bands: BandIndex,
    ids: list[str],
    frame: pd.DataFrame,
    own: int,
    opts: StoryOptions,
    texts: _Texts | None = None,
    packed: list[bytes | None] | None = None,
) -> list[tuple[str, str]]:
    """A batch's candidate pairs; its band rows (and ``packed`` bodies) added to ``bands``
    (``texts``: the bodies of candidates named by a lookup are read with their names,
    :meth:`BandIndex._names`)."""
    with _timed("candidates"):
        rows = _band_rows(ids, frame, own)
        return bands.candidates(bands.add(ids, rows, packed), rows, opts, texts)


def _write_bands(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame) -> None:
    with _timed("band write"):  # Arrow strings: DuckDB reads them without a Python call each
        store.insert_df(con, "story_bands", pa.Table.from_pandas(frame, preserve_index=False))


def _write_pairs(con: duckdb.DuckDBPyConnection, pairs: pd.DataFrame) -> None:
    with _timed("pair write"):
        table = pa.Table.from_pandas(pairs, preserve_index=False)
        store.insert_df(con, "story_pairs", table)
        _NEW_PAIRS.add(table)


class _PairLog:
    """The pairs written by this run, kept (up to :data:`_NEW_PAIRS_MAX` rows) so that an
    incremental cluster reads them instead of every stored pair: a new article's pairs are
    all written when it is banded, each with the new article first."""

    def __init__(self) -> None:
        self.clear(keep=False)

    def clear(self, *, keep: bool) -> None:
        """Start a run; ``keep``: its clustering is incremental (else nothing is kept)."""
        self.tables: list[pa.Table] = []
        self.rows, self.complete = 0, keep

    def add(self, table: pa.Table) -> None:
        self.rows += table.num_rows
        if self.rows > _NEW_PAIRS_MAX:
            self.tables, self.complete = [], False
        elif self.complete:
            self.tables.append(table)

    def table(self) -> pa.Table:
        names = pa.schema([(c, t) for c, t in zip(_PAIR_COLUMNS, _PAIR_TYPES, strict=True)])
        return pa.concat_tables([t.cast(names) for t in self.tables] or [names.empty_table()])


_NEW_PAIRS_MAX = 2_000_000
_PAIR_TYPES = [pa.string(), pa.string(), pa.float64(), pa.float64(), pa.bool_()]
_NEW_PAIRS = _PairLog()


def _band_and_pair(
    con: duckdb.DuckDBPyConnection,
    texts: _Texts,
    opts: StoryOptions,
    batch: tuple[list[str], list[int], np.ndarray],
    shingled: dict[str, Body] | None,
    bands: BandIndex | None,
    packed: list[bytes | None] | None = None,
) -> int:
    """Insert the band keys of a batch (ids, seqs, signatures), then its verified pairs;
    candidates from ``bands`` when given (kept up to date; ``packed``: the batch's stored
    bodies, for its spool), else from the stored rows of the batch's keys."""
    ids = batch[0]
    if shingled is None:
        with _timed("bodies read"):
            shingled = texts.get_many(ids)
    frame, own = _band_frame(texts, opts, batch, shingled)
    with _timed("candidates"):
        if bands is None:  # one batch: the stored rows of its keys, read before it is stored
            bands = BandIndex.of_stored(con, frame)
    _write_bands(con, frame)
    cand = _candidates(bands, ids, frame, own, opts, texts, packed)
    pairs = _verify(texts, shingled, cand, opts)
    _write_pairs(con, pairs)
    return len(pairs)


def _band_rows(ids: list[str], frame: pd.DataFrame, own: int) -> _BandRows:
    """A batch's story_bands ``frame`` (``own`` bands per article first, article by
    article, then the lead bands) as arrays with each row's position in the batch."""
    pos = np.repeat(np.arange(len(ids), dtype=np.int64), own)
    lead = pd.Index(ids).get_indexer(frame["article_id"].iloc[len(pos) :])
    return (
        frame["band"].to_numpy(dtype=np.int64),
        frame["key"].to_numpy(dtype=np.int64),
        np.concatenate([pos, lead.astype(np.int64)]),
    )


def _cluster(
    con: duckdb.DuckDBPyConnection,
    opts: StoryOptions,
    *,
    full: bool,
    signed: int = 0,
    stored: story_index.Stored | None = None,
) -> dict[str, int]:
    """Assign unclustered articles (all of them when ``full``) greedily in ``seq`` order.
    When they are exactly the ``signed`` articles of this run, their pairs are the ones it
    wrote (:class:`_PairLog`): only the stories they touch are read, not every pair."""
    if full:
        con.execute("DELETE FROM story_clusters")
        con.execute("DELETE FROM stories")
    todo = _unclustered(con, full=full, signed=signed)
    if not todo:
        return {"clustered": 0}
    with _pairs_of(con, not full and _NEW_PAIRS.complete and len(todo) == signed) as pairs:
        match = _best_matches(con, opts, pairs)
        story_of: dict[str, str] = {}
        start: dict[str, Any] = {}  # earliest date of each story
        if match and not full:  # the stories of earlier, already clustered matches
            _earlier_stories(con, match, story_of, start)
        rows = _assign(todo, match, story_of, start, lag=opts.max_lag_days)
        frame = pd.DataFrame(rows, columns=["story_id", "article_id"])
        store.insert_df(con, "story_clusters", frame)
        touched = sorted({sid for sid, _ in rows})
        if not full:  # an add: the stories whose first article stays, from their new rows
            touched = _extend_stories(con, opts, frame, pairs, stored)
        _finish_stories(con, opts, touched, pairs, stored)
    return {"clustered": len(rows)}


def _unclustered(con: duckdb.DuckDBPyConnection, *, full: bool, signed: int) -> list[Any]:
    """(article_id, date) of the signed articles without a story, in ``seq`` order. Every
    story_clusters row has a signature (only a reset deletes signatures, and it empties
    story_clusters too), so when the counts leave exactly this run's ``signed`` articles
    unclustered, they are the last ``signed`` seqs: read by that range (the table's last
    rows), not by an anti-join of every signature with every story_clusters row."""
    if not full and signed:
        n_sig, n_clu, top = con.execute(
            "SELECT (SELECT count(*) FROM story_signatures), (SELECT count(*) FROM "
            "story_clusters), (SELECT coalesce(max(seq), 0) FROM story_signatures)"
        ).fetchone()
        if n_sig - n_clu == signed:
            return con.execute(
                "SELECT s.article_id, a.date FROM story_signatures s "
                "JOIN articles a ON a.article_id = s.article_id WHERE s.seq > ? ORDER BY s.seq",
                [top - signed],
            ).fetchall()
    return con.execute(
        "SELECT s.article_id, a.date FROM story_signatures s "
        "JOIN articles a ON a.article_id = s.article_id WHERE NOT EXISTS (SELECT 1 FROM "
        "story_clusters c WHERE c.article_id = s.article_id) ORDER BY s.seq"
    ).fetchall()


@contextlib.contextmanager
def _pairs_of(con: duckdb.DuckDBPyConnection, new_only: bool) -> Iterator[str]:
    """The relation clustering reads pairs from: this run's pairs when ``new_only``, else
    ``story_pairs``."""
    if not new_only:
        yield "story_pairs"
        return
    con.register("_wb_story_new_pairs", _NEW_PAIRS.table())
    try:
        yield "_wb_story_new_pairs"
    finally:
        con.unregister("_wb_story_new_pairs")


def _best_matches(
    con: duckdb.DuckDBPyConnection, opts: StoryOptions, pairs: str = "story_pairs"
) -> dict[str, str]:
    """Each unclustered article's best qualifying earlier match within the lag window
    (ties: the earliest match), from the relation ``pairs`` (see :func:`_pairs_of`)."""
    lag = opts.max_lag_days
    new = (  # this run's pairs are all of unclustered articles
        "TRUE"
        if pairs != "story_pairs"
        else "p.article_id IN (SELECT s.article_id FROM story_signatures s WHERE NOT EXISTS "
        "(SELECT 1 FROM story_clusters c WHERE c.article_id = s.article_id))"
    )
    best = con.execute(
        compose(
            "SELECT p.article_id, p.other_id FROM {pairs} p "
            "JOIN story_signatures so ON so.article_id = p.other_id "
            "JOIN articles x ON x.article_id = p.article_id "
            "JOIN articles y ON y.article_id = p.other_id "
            "WHERE (p.jaccard >= ? OR p.containment >= ? OR p.reissue) "
            "AND (? = 0 OR x.date IS NULL OR y.date IS NULL OR abs(x.date - y.date) <= ?) "
            "AND {new} QUALIFY row_number() OVER (PARTITION BY p.article_id "
            "ORDER BY greatest(p.jaccard, p.containment) DESC, so.seq) = 1",
            pairs=store.quote_ident(pairs),
            new=new,
        ),
        [opts.jaccard, opts.containment, lag, lag],
    ).fetchall()
    return dict(best)


def _earlier_stories(
    con: duckdb.DuckDBPyConnection,
    match: dict[str, str],
    story_of: dict[str, str],
    start: dict[str, Any],
) -> None:
    """Fill ``story_of``/``start`` with the stored stories (and first dates) of matches
    that were clustered by an earlier run."""
    con.register("_wb_story_olds", pd.DataFrame({"article_id": list(set(match.values()))}))
    try:
        for aid, sid, first in con.execute(
            "SELECT c.article_id, c.story_id, s.first_date FROM story_clusters c "
            "JOIN _wb_story_olds o ON o.article_id = c.article_id "
            "LEFT JOIN stories s ON s.story_id = c.story_id"
        ).fetchall():
            story_of[aid], start[sid] = sid, first
    finally:
        con.unregister("_wb_story_olds")


def _assign(
    todo: list[Any],
    match: dict[str, str],
    story_of: dict[str, str],
    start: dict[str, Any],
    *,
    lag: int,
) -> list[tuple[str, str]]:
    """(story_id, article_id) per article in ``seq`` order: its match's story, unless that
    story began more than ``lag`` days before it; else a new story of its own."""
    rows = []
    for aid, day in todo:
        other = match.get(aid)
        sid = story_of.get(other) if other is not None else None
        first = start.get(sid) if sid is not None else None
        if lag and day is not None and first is not None and abs((day - first).days) > lag:
            sid = None  # the match's story began too long before: another issue
        if sid is None:
            sid, start[aid] = aid, day
        elif day is not None and (first is None or day < first):
            start[sid] = day
        story_of[aid] = sid
        rows.append((sid, aid))
    return rows


def _extend_stories(
    con: duckdb.DuckDBPyConnection,
    opts: StoryOptions,
    new: pd.DataFrame,
    pairs: str,
    stored: story_index.Stored | None = None,
) -> list[str]:
    """The stored stories that the ``new`` rows (story_id, article_id) join and whose first
    article stays first, brought up to date from those rows alone: the new rows' flag and
    similarity to the first, the story's size and outlets (an add touches thousands of
    stories of ~30 rows each: this reads ~1 new row per story, not every row); returns the
    other touched stories (new ones, or a new first) for :func:`_finish_stories`."""
    con.register("_wb_new_rows", new)
    try:
        con.execute(
            compose(
                "CREATE OR REPLACE TEMP TABLE _wb_heads AS SELECT u.story_id, u.article_id, "
                "u.old, a.source, row_number() OVER (PARTITION BY u.story_id ORDER BY {order}) "
                "= 1 AS first FROM (SELECT story_id, article_id, FALSE AS old FROM _wb_new_rows "
                "UNION ALL SELECT s.story_id, s.first_article_id, TRUE FROM stories s WHERE "
                "s.story_id IN (SELECT story_id FROM _wb_new_rows)) u "
                "JOIN articles a ON a.article_id = u.article_id",
                order=ORDER_SQL,
            )
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _wb_kept AS SELECT h.story_id, h.article_id, "
            "h.source, s.first_article_id AS first_id FROM _wb_heads h "
            "JOIN stories s ON s.story_id = h.story_id WHERE NOT h.old AND h.story_id IN "
            "(SELECT story_id FROM _wb_heads WHERE old AND first)"
        )
        multi = con.execute(
            compose(
                "SELECT k.article_id, k.first_id, coalesce(p.jaccard, q.jaccard), "
                "coalesce(p.containment, q.containment) FROM _wb_kept k "
                "LEFT JOIN {pairs} p ON p.article_id = k.article_id AND p.other_id = k.first_id "
                "LEFT JOIN {pairs} q ON q.article_id = k.first_id AND q.other_id = k.article_id",
                pairs=store.quote_ident(pairs),
            )
        ).fetchall()
        _store_similarities(con, _similarities(con, opts, multi, stored))
        con.execute(
            "UPDATE story_clusters c SET is_first = FALSE FROM _wb_kept k "
            "WHERE k.article_id = c.article_id"
        )
        # the summary _finish_stories gives, from the stored one and the new rows. The stored
        # outlets are distinct and sorted: only the new rows' outlets not among them are
        # added, then sorted (a list_distinct of every outlet cost twice as much at 10^6)
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _wb_grown AS SELECT story_id, first_article_id, "
            "first_date, first_source, size, len(o) AS n_outlets, CASE WHEN len(o) = 0 THEN "
            "NULL ELSE o END AS outlets FROM (SELECT s.story_id, s.first_article_id, "
            "s.first_date, s.first_source, s.size + n.k AS size, list_sort(list_concat(s.o, "
            "list_filter(list_distinct(n.src), lambda x: NOT list_contains(s.o, x)))) AS o FROM "
            "(SELECT *, coalesce(outlets, []::VARCHAR[]) AS o FROM stories) s JOIN "
            "(SELECT story_id, count(*) AS k, coalesce(list(source) FILTER (WHERE source IS "
            "NOT NULL), []::VARCHAR[]) AS src FROM _wb_kept GROUP BY story_id) n "
            "ON n.story_id = s.story_id)"
        )
        con.execute("DELETE FROM stories WHERE story_id IN (SELECT story_id FROM _wb_grown)")
        con.execute("INSERT INTO stories SELECT * FROM _wb_grown")
        rest = con.execute(
            "SELECT DISTINCT story_id FROM _wb_new_rows WHERE story_id NOT IN "
            "(SELECT story_id FROM _wb_kept) ORDER BY story_id"
        ).fetchall()
    finally:
        for t in ("_wb_heads", "_wb_kept", "_wb_grown"):
            con.execute(f"DROP TABLE IF EXISTS {t}")
        con.unregister("_wb_new_rows")
    return [r[0] for r in rest]


def _finish_stories(
    con: duckdb.DuckDBPyConnection,
    opts: StoryOptions,
    touched: list[str],
    pairs: str,
    stored: story_index.Stored | None = None,
) -> None:
    """First article, similarity to it, and the per-story summary of the touched stories
    (stored pairs read from ``pairs``, see :func:`_pairs_of`)."""
    if not touched:
        return
    con.register("_wb_touched", pd.DataFrame({"story_id": touched}))
    try:  # the touched stories' rows, read once: who is first, by the processing order
        con.execute(
            compose(
                "CREATE OR REPLACE TEMP TABLE _wb_members AS SELECT c.story_id, c.article_id, "
                "c.similarity, a.date, a.source, row_number() OVER (PARTITION BY c.story_id "
                "ORDER BY {order}) = 1 AS first FROM story_clusters c "
                "JOIN articles a ON a.article_id = c.article_id "
                "WHERE c.story_id IN (SELECT story_id FROM _wb_touched)",
                order=ORDER_SQL,
            )
        )
        con.execute(  # only the rows it changes: an add touches many stories' rows, few flags
            "UPDATE story_clusters c SET is_first = m.first FROM _wb_members m "
            "WHERE m.article_id = c.article_id AND c.is_first IS DISTINCT FROM m.first"
        )
        _store_similarities(con, _first_similarities(con, opts, pairs, stored))
        con.execute("DELETE FROM stories WHERE story_id IN (SELECT story_id FROM _wb_touched)")
        con.execute(
            "INSERT INTO stories SELECT story_id, any_value(article_id) FILTER (WHERE first), "
            "any_value(date) FILTER (WHERE first), any_value(source) FILTER (WHERE first), "
            "count(*), count(DISTINCT source), list(DISTINCT source ORDER BY source) "
            "FILTER (WHERE source IS NOT NULL) FROM _wb_members GROUP BY story_id"
        )
    finally:
        con.execute("DROP TABLE IF EXISTS _wb_members")
        con.unregister("_wb_touched")


def _first_similarities(
    con: duckdb.DuckDBPyConnection,
    opts: StoryOptions,
    pairs: str = "story_pairs",
    stored: story_index.Stored | None = None,
) -> list[tuple[str, Any, Any]]:
    """(article_id, jaccard, containment) to its story's first article, for the touched
    stories' rows that need it (``_wb_members`` of :func:`_finish_stories`). Only rows new to their story
    or whose story's first article changed (then to a new article): each such pair has a
    new article, so this run's pairs hold it when it was compared; else the texts give it."""
    multi = con.execute(
        compose(
            "SELECT c.article_id, f.article_id, coalesce(p.jaccard, q.jaccard), "
            "coalesce(p.containment, q.containment) FROM _wb_members c "
            "JOIN _wb_members f ON f.story_id = c.story_id AND f.first "
            "LEFT JOIN stories s ON s.story_id = c.story_id "
            "LEFT JOIN {pairs} p ON p.article_id = c.article_id AND p.other_id = f.article_id "
            "LEFT JOIN {pairs} q ON q.article_id = f.article_id AND q.other_id = c.article_id "
            "WHERE c.similarity IS NULL OR s.first_article_id IS DISTINCT FROM f.article_id",
            pairs=store.quote_ident(pairs),
        )
    ).fetchall()
    return _similarities(con, opts, multi, stored)


def _similarities(
    con: duckdb.DuckDBPyConnection,
    opts: StoryOptions,
    multi: list[tuple[Any, ...]],
    stored: story_index.Stored | None = None,
) -> list[tuple[str, Any, Any]]:
    """(article_id, jaccard, containment) of (article, first, stored jaccard, containment)
    rows: the stored pair's, else from the two bodies (``stored``: see :class:`_Texts`)."""
    texts = _Texts(con, opts, stored=stored)
    sims = []
    need = [x for a, f, jac, _ in multi if a != f and jac is None for x in (a, f)]
    sets = texts.get_many(need)
    for a, f, jac, cont in multi:
        if a == f:
            sims.append((a, 1.0, 1.0))
        elif jac is not None:
            sims.append((a, jac, cont))
        else:
            e = np.zeros(0, dtype=np.uint32)
            none = Body(e, e, e, e, e, e)
            jac, cont = similarity(sets.get(a, none).shingles, sets.get(f, none).shingles)
            sims.append((a, jac, cont))
    return sims


def _store_similarities(con: duckdb.DuckDBPyConnection, sims: list[tuple[str, Any, Any]]) -> None:
    """Write the similarities of :func:`_first_similarities` onto ``story_clusters``."""
    con.register("_wb_sims", pd.DataFrame(sims, columns=["article_id", "sim", "cont"]))
    try:
        con.execute(
            "UPDATE story_clusters c SET similarity = s.sim, containment = s.cont "
            "FROM _wb_sims s WHERE s.article_id = c.article_id"
        )
    finally:
        con.unregister("_wb_sims")


def find_stories(
    con: duckdb.DuckDBPyConnection,
    *,
    options: StoryOptions | None = None,
    rebuild: bool = False,
    progress: bool = True,
    **overrides: Any,
) -> dict[str, Any]:
    """Cluster the stored articles into stories, incrementally (see the module docstring).

    ``options`` or keyword overrides (``jaccard=0.85``) set the thresholds. Returns counts
    and what was redone: ``signed`` (new signatures), ``rebanded`` (signatures re-indexed
    because the LSH parameters changed), ``pairs`` and ``clustered``.
    """
    opts = options or StoryOptions()
    if overrides:
        opts = dataclasses.replace(opts, **overrides)
    t0 = time.perf_counter()
    _PHASES.clear()
    old = _stamp(con)
    sig_changed = rebuild or old is None or old.get("signature") != opts.signature_stamp
    band_changed = sig_changed or old.get("bands") != opts.band_stamp
    thr_changed = band_changed or (
        old["jaccard"],
        old["containment"],
        old.get("max_lag_days", 0),  # an index of an earlier release: no window
    ) != (opts.jaccard, opts.containment, opts.max_lag_days)
    if min(opts.jaccard, opts.containment) < opts.pair_floor:
        raise errors.BadOption(
            f"stories: jaccard={opts.jaccard} / containment={opts.containment} lie below "
            f"pair_floor={opts.pair_floor}, the lowest similarity kept; lower pair_floor too"
        )
    _NEW_PAIRS.clear(keep=not thr_changed)
    if sig_changed:
        _reset(con, signatures_too=True)
    elif band_changed:
        _reset(con, signatures_too=False)
    stats, stored = _index(
        con, opts, progress=progress, reband=band_changed and not sig_changed, empty=sig_changed
    )
    with store.transaction(con), _timed("cluster"):
        stats.update(_cluster(con, opts, full=thr_changed, signed=stats["signed"], stored=stored))
        stamp = {
            "signature": opts.signature_stamp,
            "bands": opts.band_stamp,
            "bands_rows": list(band_params(opts)),
            **dataclasses.asdict(opts),
        }
        store.set_meta(con, META_KEY, json.dumps(stamp, sort_keys=True))
    n = con.execute("SELECT count(*), count(DISTINCT story_id) FROM story_clusters").fetchone()
    stats.update(
        {
            "articles": n[0],
            "stories": n[1],
            "reclustered": bool(thr_changed),
            "seconds": round(time.perf_counter() - t0, 3),
            "cpu_s": {k: round(v, 3) for k, v in _PHASES.items()},
            "options": dataclasses.asdict(opts),
            "params_hash": hashlib.sha1(opts.band_stamp.encode()).hexdigest()[:12],
        }
    )
    return stats


def stored_options(con: duckdb.DuckDBPyConnection) -> StoryOptions | None:
    """The options the stored clusters were built with (None before the first run)."""
    stamp = _stamp(con)
    if stamp is None:
        return None
    names = {f.name for f in dataclasses.fields(StoryOptions)}
    return StoryOptions(**{k: v for k, v in stamp.items() if k in names})


# ---------------------------------------------------------------------------- analysis
_SYND_OUTLETS_SQL = """WITH fa AS ({fa}),
c AS (SELECT fa.article_id, fa.source, fa.date, sc.story_id, sc.is_first
      FROM fa JOIN story_clusters sc ON sc.article_id = fa.article_id),
sz AS (SELECT story_id, count(*) AS n FROM story_clusters GROUP BY 1)
SELECT c.source,
       count(*) AS articles,
       count(DISTINCT c.story_id) AS stories,
       count(*) FILTER (WHERE c.is_first AND sz.n > 1) AS originated,
       count(*) FILTER (WHERE NOT c.is_first) AS copies,
       count(*) FILTER (WHERE NOT c.is_first) / count(*) AS copy_share
FROM c JOIN sz ON sz.story_id = c.story_id
WHERE c.source IS NOT NULL
GROUP BY c.source
ORDER BY articles DESC, c.source"""

_SYND_MATRIX_SQL = """WITH fa AS ({fa}),
c AS (SELECT fa.article_id, fa.source, fa.date, sc.story_id, sc.is_first
      FROM fa JOIN story_clusters sc ON sc.article_id = fa.article_id),
f AS (SELECT sc.story_id, a.source, a.date FROM story_clusters sc
      JOIN articles a ON a.article_id = sc.article_id WHERE sc.is_first)
SELECT f.source AS original, c.source AS republisher,
       count(DISTINCT c.story_id) AS stories, count(*) AS copies,
       median(c.date - f.date) AS median_lag_days
FROM c JOIN f ON f.story_id = c.story_id
WHERE NOT c.is_first AND c.source IS NOT NULL AND f.source IS NOT NULL
GROUP BY 1, 2
ORDER BY stories DESC, original, republisher"""


def syndication(con: duckdb.DuckDBPyConnection, filter: Any = None) -> dict[str, pd.DataFrame]:
    """Who republished whom, over the filtered articles (the story's first article may lie
    outside the filter: it is where the story was first seen in the whole corpus).

    ``outlets``: per outlet ``articles``, ``stories`` (distinct), ``originated`` (stories it
    ran first that others copied), ``copies`` (articles that repeat an earlier article's
    story) and ``copy_share``. ``matrix``: per (``original``, ``republisher``) outlet pair,
    the stories the republisher ran after the original first did, copies, and the median lag
    in days.
    """
    if not is_ready(con):
        raise errors.BadOption(errors.stories_missing())
    f = as_filter(filter).replace(dedup="none")
    fa, params = filtered_articles_sql(f, columns="a.article_id, a.date, a.source")
    outlets = con.execute(compose(_SYND_OUTLETS_SQL, fa=fa), params).df()
    matrix = con.execute(compose(_SYND_MATRIX_SQL, fa=fa), params).df()
    for df in (outlets, matrix):
        df.attrs.update({"counts": "articles", "unit": "articles", "filter": f.describe()})
    return {"outlets": outlets, "matrix": matrix}
