"""Tone: sentence and article sentiment with VADER (read per actor, country … by ``query.tone``).

Why VADER (vaderSentiment 3.3.2, Hutto & Gilbert, ICWSM 2014): a packaged, documented,
rule-based lexicon method that needs no weights and no network, and whose scores an analyst
can reproduce. Per sentence it gives ``pos``, ``neu``, ``neg`` (proportions summing to 1) and
``compound`` (normalised sum of valences, in [-1, 1]); VADER's authors call a sentence
positive at ``compound >= 0.05`` and negative at ``compound <= -0.05``.

Article tone = the mean of its sentences' compound scores (``n_sentences`` is stored with it),
so one strongly worded sentence in a long neutral article moves the tone only a little.
Actor and country tone (``query.tone(level="sentence")``) are the mean compound of the
sentences that mention them (each sentence once per actor, however often it names it).

Caveat to tell readers: lexicon tone of *news* mostly reflects the events reported ("war",
"killed" are negative words) rather than the outlet's stance toward an actor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from vaderSentiment.vaderSentiment import (
    BOOSTER_DICT,
    N_SCALAR,
    SentimentIntensityAnalyzer,
    SentiText,
    negated,
)

from ..base import store
from . import stages

if TYPE_CHECKING:  # pragma: no cover
    import duckdb

STAGE = "tone"
#: Version of the method: bump when the scoring changes (re-scores everything).
TONE_VERSION = "vader-3.3.2-mean-v1"
POSITIVE = 0.05
NEGATIVE = -0.05
CHUNK = 1000


@dataclass
class ToneResult:
    articles: int = 0
    sentences: int = 0
    seconds: float = 0.0

    def __str__(self) -> str:
        return (
            f"tone ({TONE_VERSION}): {self.articles:,} articles, {self.sentences:,} sentences "
            f"scored in {self.seconds:.1f}s"
        )


class _Vader(SentimentIntensityAnalyzer):
    """VADER with the same scores at about half the cost.

    Why: upstream rebuilds the sentence's lower-cased word list in every negation, idiom and
    "but" check (several times per sentiment word) and copies the text character by
    character to swap emojis that news text hardly ever has. Here the list is built once per
    sentence and a text without any emoji character skips the copy; every rule is upstream's
    (``tests/test_tone.py`` compares both on real sentences)."""

    def __init__(self) -> None:
        super().__init__()
        # the upstream loop replaces single characters found in the emoji table
        self._emoji_chars = frozenset(k for k in self.emojis if len(k) == 1)
        self._words: list[str] | None = None
        self._lower: list[str] = []

    def polarity_scores(self, text: str) -> dict[str, float]:
        if not isinstance(text, str) or not self._emoji_chars.isdisjoint(text):
            return super().polarity_scores(text)
        text = text.strip()
        sentitext = SentiText(text)
        words = sentitext.words_and_emoticons
        lower = self._lowered(words)
        sentiments: list[float] = []
        last = len(words) - 1
        for i, item in enumerate(words):
            low = lower[i]
            if low in BOOSTER_DICT or (i < last and low == "kind" and lower[i + 1] == "of"):
                sentiments.append(0)
                continue
            sentiments = self.sentiment_valence(0, sentitext, item, i, sentiments)
        sentiments = self._but_check(words, sentiments)
        return self.score_valence(sentiments, text)

    def _lowered(self, words: list[str]) -> list[str]:
        if words is not self._words:
            self._words, self._lower = words, [str(w).lower() for w in words]
        return self._lower

    def _but_check(self, words: list[str], sentiments: list[float]) -> list[float]:
        if "but" not in self._lowered(words):
            return sentiments
        return SentimentIntensityAnalyzer._but_check(words, sentiments)

    def _negation_check(self, valence: float, words: list[str], start_i: int, i: int) -> float:
        low = self._lowered(words)
        before = low[i - (start_i + 1)]
        if start_i == 0:
            return valence * N_SCALAR if negated([before]) else valence
        if start_i == 1:
            if low[i - 2] == "never" and low[i - 1] in ("so", "this"):
                return valence * 1.25
            if low[i - 2] == "without" and low[i - 1] == "doubt":
                return valence
            return valence * N_SCALAR if negated([before]) else valence
        if start_i == 2:
            if (low[i - 3] == "never" and low[i - 2] in ("so", "this")) or low[i - 1] in (
                "so",
                "this",
            ):
                return valence * 1.25
            if low[i - 3] == "without" and (low[i - 2] == "doubt" or low[i - 1] == "doubt"):
                return valence
            return valence * N_SCALAR if negated([before]) else valence
        return valence


_ANALYZER: Any = None


def analyzer() -> Any:
    """One shared VADER analyzer (loading its lexicon takes ~0.1 s)."""
    global _ANALYZER
    if _ANALYZER is None:
        _ANALYZER = _Vader()
    return _ANALYZER


def sentence_scores(text: str) -> dict[str, float]:
    """VADER scores of one sentence: compound in [-1, 1]; pos/neu/neg proportions."""
    return analyzer().polarity_scores(text)


def score_tone(
    con: duckdb.DuckDBPyConnection,
    *,
    progress: bool = True,
    chunk: int = CHUNK,
    counted: ToneResult | None = None,
) -> ToneResult:
    """Score sentences of the articles not yet scored (all of them when the method changed).
    ``counted``: the result of an :func:`along`, whose counts this run continues."""
    return stages.run(
        con,
        stages.Stage(STAGE, TONE_VERSION, ("sentence_tone", "article_tone"), chunk),
        lambda ids: _chunk_rows(con, ids),
        result=counted if isinstance(counted, ToneResult) else ToneResult(),
        prepare=lambda: _prepare(con),
        progress=progress,
    )


def _prepare(con: duckdb.DuckDBPyConnection) -> None:
    """A changed method scores every article again."""
    if store.get_meta(con, "tone.version") != TONE_VERSION:
        stages.forget(con, STAGE)
        store.set_meta(con, "tone.version", TONE_VERSION)


def along(con: duckdb.DuckDBPyConnection, *, chunk: int = CHUNK) -> stages.Along:
    """The stage computed during extraction (``stages.Along``): its ``prepare`` runs now,
    and ``score_tone`` then continues its counts. VADER is loaded here, so forked
    extraction workers inherit it."""
    with store.transaction(con):
        _prepare(con)
    analyzer()
    stage = stages.Stage(STAGE, TONE_VERSION, ("sentence_tone", "article_tone"), chunk)
    return stages.Along(stage, _along_rows, ToneResult())


_SENTENCE_COLS = ("compound", "pos", "neg", "neu")


def _chunk_rows(con: duckdb.DuckDBPyConnection, ids: list[str]) -> stages.Chunk:
    """The compute step: ``sentence_tone`` and ``article_tone`` rows of a chunk of articles."""
    with stages.ids_view(con, "_wb_tone_ids", ids):
        rows = con.execute(
            "SELECT s.article_id, s.idx, s.text FROM sentences s"
            " JOIN _wb_tone_ids USING (article_id) ORDER BY s.article_id, s.idx"
        ).fetchall()
    return _rows_of(rows, ids)


def _along_rows(sentences: pa.Table) -> stages.Chunk:
    """The stage's rows of new sentence rows in memory (``stages.Along``)."""
    cols = (sentences.column(c).to_pylist() for c in ("article_id", "idx", "text"))
    return _rows_of(list(zip(*cols, strict=True)), stages.article_ids_of(sentences))


def _rows_of(rows: list[tuple[str, int, str | None]], ids: list[str]) -> stages.Chunk:
    """``sentence_tone`` and ``article_tone`` rows of (article_id, idx, text) rows."""
    sia = analyzer()
    st: dict[str, list] = {k: [] for k in ("article_id", "sentence_idx", *_SENTENCE_COLS)}
    per_article: dict[str, list[float]] = {a: [] for a in ids}
    for aid, idx, text in rows:
        s = sia.polarity_scores(text or "")
        st["article_id"].append(aid)
        st["sentence_idx"].append(idx)
        for k in _SENTENCE_COLS:
            st[k].append(float(s[k]))
        per_article[aid].append(float(s["compound"]))
    n = [len(per_article[a]) for a in ids]
    at = pa.table(
        {
            "article_id": pa.array(ids, pa.string()),
            "tone": pa.array(
                [sum(v) / len(v) if (v := per_article[a]) else None for a in ids], pa.float64()
            ),
            "n_sentences": pa.array(n, pa.int32()),
        }
    )
    return stages.Chunk(
        rows={"sentence_tone": pa.table(st), "article_tone": at},
        done=n,
        tally={"sentences": len(rows)},
    )
