"""Stories: containment candidates and the re-issue rule (used by :mod:`.stories`).

Jaccard-tuned LSH bands find a trimmed copy or a first take only by chance: a first take a
third the length of its full story has Jaccard 0.1-0.3 with it, however much of it the
full story contains. Such a copy keeps its original's *opening*, so every text with enough
shingles also gets a small MinHash of its first :data:`LEAD_SHINGLES` shingles (its
*lead*), banded under band numbers from :data:`LEAD_BAND0` in the same ``story_bands``
table. Two texts that open alike are candidates whatever their lengths; a digest that
carries an item in its middle does not open like it, and the size-ratio guard
(``min_ratio``) keeps containment from counting when the shorter text is a sliver of the
longer (an item inside a digest or a transcript).

Wire services re-issue an item to correct a figure or a name under a headline cue
(Reuters "CORRECTED -", "RPT -", "REFILE-"; AP "CORRECTS", "Correction:"; AFP
"CORRECTION", "REPEAT"): a convention of wire copy generally, not of one agency. A
re-issue changes figures, so the figures and table rules that keep template notes apart
would keep it from its original; when one headline carries such a cue, the headlines
without it agree and enough of the shorter text occurs in the longer, the pair is one
story (``reissue``).
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

import numpy as np
import pandas as pd

from ..base import config, errors

#: Shingles of a text's opening that make its lead (about the first 44 words at k=5).
LEAD_SHINGLES = 40
#: Lead MinHash: the first LEAD_BANDS * LEAD_ROWS permutations of the text's MinHash
#: scheme, in LEAD_BANDS bands of LEAD_ROWS rows (a lead Jaccard of 0.7 is a candidate with
#: probability 0.89, 0.9 with 0.999).
LEAD_BANDS, LEAD_ROWS = 8, 4
#: Band numbers of the lead bands in ``story_bands`` (the text's own bands are below).
LEAD_BAND0 = 1000
#: Earlier candidates by lead bands verified per article, beside ``max_candidates`` by its
#: own bands (a first take has one full story; a template's many issues open alike too).
LEAD_CANDIDATES = 3
#: Headline words that mark a wire re-issue (a correction or a repeat of an item).
REISSUE_CUES = ("corrected", "correction", "corrects", "rpt", "refile", "refiled", "repeat")


def lead_words(word_hash: np.ndarray, owner: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The hashes and owners of each text's first ``LEAD_SHINGLES + k - 1`` words (the
    words of its first LEAD_SHINGLES k-grams), from all words in text order."""
    return _first_words(word_hash, owner, LEAD_SHINGLES + k - 1)


#: Words of a text's opening whose set the learned verifier compares (about its first
#: sentence): a rewrite keeps its lede's words, another company's template note opens
#: with another name.
OPENING_WORDS = 20


def opening_words(word_hash: np.ndarray, owner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The hashes and owners of each text's first :data:`OPENING_WORDS` words."""
    return _first_words(word_hash, owner, OPENING_WORDS)


def _first_words(word_hash: np.ndarray, owner: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    if len(owner) == 0:
        return word_hash, owner
    starts = np.flatnonzero(np.concatenate(([True], owner[1:] != owner[:-1])))
    rank = np.arange(len(owner)) - np.repeat(starts, np.diff(np.append(starts, len(owner))))
    keep = rank < n
    return word_hash[keep], owner[keep]


def lead_band_frame(
    ids: list[str], sigs: np.ndarray, n_shingles: np.ndarray, min_shingles: int
) -> pd.DataFrame:
    """``story_bands`` rows of the lead MinHashes ``sigs`` (one row of uint32 per id) of the
    texts with at least ``min_shingles`` shingles (a shorter one is no trimmed copy the
    containment rule would take, and empty leads would all collide)."""
    keep = np.flatnonzero(n_shingles >= min_shingles)
    s = sigs[keep].astype(np.uint64)
    cols = []
    for i in range(LEAD_BANDS):
        acc = np.full(len(keep), np.uint64(LEAD_BAND0 + i + 1), dtype=np.uint64)
        for j in range(LEAD_ROWS):
            acc = acc * np.uint64(0x9E3779B97F4A7C15) + s[:, i * LEAD_ROWS + j]
        cols.append(acc >> np.uint64(1))  # fits BIGINT
    keys = np.stack(cols, axis=1) if cols else np.zeros((0, 0), dtype=np.uint64)
    return pd.DataFrame(
        {
            "band": np.tile(
                np.arange(LEAD_BAND0, LEAD_BAND0 + LEAD_BANDS, dtype=np.int16), len(keep)
            ),  # fmt: skip
            "key": keys.reshape(-1).astype(np.int64),
            "article_id": np.repeat(np.array(ids, dtype=object)[keep], LEAD_BANDS),
        }
    )


def pick_candidates(cand: pd.DataFrame, max_candidates: int) -> pd.DataFrame:
    """Of each article's earlier candidates (``shared``: its own bands in common, ``lead``:
    lead bands in common), the ``max_candidates`` sharing the most bands, and the
    :data:`LEAD_CANDIDATES` sharing the most lead bands: a first take shares few of its full
    story's own bands."""
    order = ["article_id", "shared", "other_seq"]
    own = cand[cand["shared"] > 0].sort_values(order, ascending=[True, False, True])
    own = own.groupby("article_id", sort=False).head(max_candidates)
    lead = cand[cand["lead"] > 0].sort_values(
        ["article_id", "lead", "other_seq"], ascending=[True, False, True]
    )
    lead = lead.groupby("article_id", sort=False).head(LEAD_CANDIDATES)
    both = pd.concat([own, lead], ignore_index=True)
    return both.drop_duplicates(["article_id", "other_id"]).sort_values(["article_id", "other_seq"])


def cue_masks(titles: list[np.ndarray], cue_hashes: np.ndarray) -> np.ndarray:
    """A bit mask per headline of the re-issue cue words it holds (bit i: ``cue_hashes[i]``),
    for all headlines in one pass."""
    lens = np.fromiter((len(t) for t in titles), dtype=np.int64, count=len(titles))
    if lens.sum() == 0:
        return np.zeros(len(titles), dtype=np.int64)
    flat = np.concatenate(titles)
    owner = np.repeat(np.arange(len(titles)), lens)
    at = np.minimum(np.searchsorted(cue_hashes, flat), len(cue_hashes) - 1)
    hit = cue_hashes[at] == flat  # a headline's words are unique: the sum is the OR
    bits = np.left_shift(1, at[hit]).astype(np.float64)
    return np.bincount(owner[hit], weights=bits, minlength=len(titles)).astype(np.int64)


#: Set bits of every cue mask (at most len(REISSUE_CUES) bits).
_POP = np.array([bin(i).count("1") for i in range(1 << len(REISSUE_CUES))], dtype=np.int64)


def _popcount(x: np.ndarray) -> np.ndarray:
    return _POP[x]


def reissue_pairs(
    titles: tuple[np.ndarray, np.ndarray, np.ndarray],
    masks: tuple[np.ndarray, np.ndarray],
    cont: np.ndarray,
    opts: Any,
) -> np.ndarray:
    """Which pairs are a wire re-issue and its original: a cue in either headline, the
    headlines without their cue words sharing at least ``short_titles`` of their words, and
    containment of at least ``reissue_containment``.

    ``titles``: headline word counts of both sides and their overlap; ``masks``: the cue
    masks (:func:`cue_masks`) of both sides."""
    ta, tb, ti = titles
    ma, mb = masks
    ca, cb, cboth = _popcount(ma), _popcount(mb), _popcount(ma & mb)
    inter = ti - cboth
    union = (ta - ca) + (tb - cb) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        agree = np.where(union > 0, inter / union, 0.0)
    cued = (ma | mb) > 0
    return (
        cued
        & (ta > 0)
        & (tb > 0)
        & (agree >= opts.short_titles)
        & (cont >= opts.reissue_containment)
    )


def containment_counts(small: np.ndarray, large: np.ndarray, opts: Any) -> np.ndarray:
    """Whether containment may count for each pair: the shorter has at least
    ``min_shingles`` shingles and at least ``min_ratio`` of the longer's."""
    return (small >= opts.min_shingles) & (small >= opts.min_ratio * large)


def tables_waived(titled_agree: np.ndarray, opts: Any) -> np.ndarray:
    """Pairs the table rule does not hold apart: two titled tables whose headlines share at
    least ``table_titles`` of their words are one company's or one report's table (an
    earnings note and its corrected or expanded issue); untitled tables (rates, prices
    issued hour by hour) keep the rule."""
    if opts.table_titles <= 0:
        return np.zeros(len(titled_agree), dtype=bool)
    return titled_agree >= opts.table_titles


#: Names of the pair features of :func:`pair_features`, in column order.
FEATURES = (
    "jaccard", "containment", "cover_longer", "size_ratio", "log_shorter",
    "figure_share", "no_figures", "title_jaccard", "no_title", "both_tables",
    "term_share", "lead_share", "cue", "figures_missing", "figures_shared",
    "opening_jaccard",
)  # fmt: skip


def pair_features(sizes: Any, cued: np.ndarray) -> np.ndarray:
    """The features of each pair the learned verifier reads (one row per pair, columns
    :data:`FEATURES`), from ``sizes(field)``: both sides' set sizes of a body field and their
    overlap (shingles, figures, headline words, table terms, lead shingles), and ``cued``: a
    re-issue cue in either headline. Besides the share of the figures, their counts: a
    rewrite that drops one of forty figures is not a template note with one of its two
    figures changed (``figures_missing``, ``figures_shared``: log1p of the figures of the
    text with fewer absent from, and present in, the other). ``opening_jaccard``: of the
    word sets of both openings (:data:`OPENING_WORDS`), which a rewrite keeps and a
    template note of another company or day does not."""

    def share(a: np.ndarray, b: np.ndarray, i: np.ndarray, *, union: bool = False) -> np.ndarray:
        den = (a + b - i) if union else np.minimum(a, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(den > 0, i / np.maximum(den, 1), 0.0)

    la, lb, inter = sizes(0)
    small, large = np.minimum(la, lb), np.maximum(la, lb)
    fa, fb, fi = sizes(1)
    ta, tb, ti = sizes(2)
    xa, xb, xi = sizes(3)
    pa, pb, pi = sizes(4)
    oa, ob, oi = sizes(5)
    with np.errstate(divide="ignore", invalid="ignore"):
        cover = np.where(large > 0, inter / np.maximum(large, 1), 0.0)
        ratio = np.where(large > 0, small / np.maximum(large, 1), 0.0)
    no_fig = np.minimum(fa, fb) == 0
    cols = [
        share(la, lb, inter, union=True), share(la, lb, inter), cover, ratio,
        np.log1p(small), np.where(no_fig, 1.0, share(fa, fb, fi)), no_fig,
        share(ta, tb, ti, union=True), (ta == 0) | (tb == 0), (xa > 0) & (xb > 0),
        np.where((xa > 0) & (xb > 0), share(xa, xb, xi), 1.0), share(pa, pb, pi), cued,
        np.log1p(np.minimum(fa, fb) - fi), np.log1p(fi), share(oa, ob, oi, union=True),
    ]  # fmt: skip
    return np.column_stack([np.asarray(c, dtype=np.float64) for c in cols])


#: Headline words that are numbers: every digit string of up to NUMBER_DIGITS digits
#: (leading zeros too: "12:01" is "12" and "01"), hashed as headline words are.
NUMBER_DIGITS = 4


def number_words() -> list[str]:
    """The number words :func:`series_pairs` knows (hashed by the caller's tokenizer)."""
    return [f"{i:0{n}d}" for n in range(1, NUMBER_DIGITS + 1) for i in range(10**n)]


def series_pairs(
    titles: tuple[np.ndarray, np.ndarray, np.ndarray],
    numbers: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> np.ndarray:
    """Pairs whose headlines (both present) differ only in numbers, on both sides: two
    issues of one series ("what we know on day 163" / "day 164", a futures table at "12:40"
    / "12:50", "to sell 13.2 billion" / "12.8 billion"), not one story in two versions.

    ``titles``: headline word counts of both sides and their overlap; ``numbers``: the
    same of their number words (:func:`number_words`)."""
    ta, tb, ti = titles
    na, nb, ni = numbers
    words = ti - ni  # shared words that are not numbers
    return (ta > 0) & (tb > 0) & (ta - na == words) & (tb - nb == words) & (na > ni) & (nb > ni)


def grey_zone(jac: np.ndarray, cont: np.ndarray) -> np.ndarray:
    """Pairs in the grey zone the learned verifier decides: Jaccard 0.3-0.8 or containment
    0.5-0.9 (below both, a pair shares too little; above, the thresholds decide)."""
    return ((jac >= 0.3) & (jac < 0.8)) | ((cont >= 0.5) & (cont < 0.9))


#: The learned verifier's coefficients (written by ``bench/synd_verifier.py fit``).
VERIFIER_PATH = config.DATA_DIR / "stories" / "verifier.json"


@functools.cache
def verifier() -> dict[str, Any]:
    """The learned verifier (features, coefficients, intercept, threshold) and a stamp of
    its file, so that a new model re-verifies the stored pairs."""
    if not VERIFIER_PATH.exists():
        raise errors.BadOption(
            f"stories: the learned verifier's model {VERIFIER_PATH} is missing; restore it from "
            "the repository (data/stories/verifier.json) or pass learned=False "
            "(workbench stories --no-learned)"
        )
    raw = VERIFIER_PATH.read_bytes()
    model = json.loads(raw)
    if list(model["features"]) != list(FEATURES):
        raise errors.BadOption(
            f"{VERIFIER_PATH}: features {model['features']} are not {list(FEATURES)}; "
            "refit it with bench/synd_verifier.py fit"
        )
    return {**model, "stamp": hashlib.sha256(raw).hexdigest()[:8]}


def verifier_accepts(x: np.ndarray) -> np.ndarray:
    """Whether the learned verifier's probability of "one story" reaches its threshold for
    each row of pair features (:func:`pair_features`)."""
    m = verifier()
    z = x @ np.asarray(m["coef"], dtype=np.float64) + float(m["intercept"])
    return 1.0 / (1.0 + np.exp(-z)) >= float(m["threshold"])
