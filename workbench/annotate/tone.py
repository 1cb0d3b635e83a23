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
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

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


_ANALYZER: Any = None


def analyzer() -> Any:
    """One shared VADER analyzer (loading its lexicon takes ~0.1 s)."""
    global _ANALYZER
    if _ANALYZER is None:
        _ANALYZER = SentimentIntensityAnalyzer()
    return _ANALYZER


def sentence_scores(text: str) -> dict[str, float]:
    """VADER scores of one sentence: compound in [-1, 1]; pos/neu/neg proportions."""
    return analyzer().polarity_scores(text)


def score_tone(
    con: duckdb.DuckDBPyConnection, *, progress: bool = True, chunk: int = CHUNK
) -> ToneResult:
    """Score sentences of the articles not yet scored (all of them when the method changed)."""

    def prepare() -> None:
        if store.get_meta(con, "tone.version") != TONE_VERSION:
            stages.forget(con, STAGE)
            store.set_meta(con, "tone.version", TONE_VERSION)

    return stages.run(
        con,
        stages.Stage(STAGE, TONE_VERSION, ("sentence_tone", "article_tone"), chunk),
        lambda ids: _chunk_rows(con, ids),
        result=ToneResult(),
        prepare=prepare,
        progress=progress,
    )


_SENTENCE_COLS = ("compound", "pos", "neg", "neu")


def _chunk_rows(con: duckdb.DuckDBPyConnection, ids: list[str]) -> stages.Chunk:
    """The compute step: ``sentence_tone`` and ``article_tone`` rows of a chunk of articles."""
    with stages.ids_view(con, "_wb_tone_ids", ids):
        rows = con.execute(
            "SELECT s.article_id, s.idx, s.text FROM sentences s"
            " JOIN _wb_tone_ids USING (article_id) ORDER BY s.article_id, s.idx"
        ).fetchall()
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
