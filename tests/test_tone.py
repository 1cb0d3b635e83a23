"""Tone: VADER sentence/article tone on real stored sentences, per actor and per country."""

from __future__ import annotations

import pytest
from conftest import BBC

from workbench.annotate.tone import TONE_VERSION, sentence_scores
from workbench.base.filters import Filter


def test_hand_picked_sentences_have_sensible_sign():
    good = sentence_scores("The talks were a great success and both leaders were delighted.")
    bad = sentence_scores("The bombing killed dozens of children in a horrific atrocity.")
    flat = sentence_scores("The meeting is scheduled for Tuesday in Geneva.")
    assert good["compound"] > 0.5
    assert bad["compound"] < -0.5
    assert abs(flat["compound"]) < 0.05
    for s in (good, bad, flat):
        assert -1 <= s["compound"] <= 1
        assert s["pos"] + s["neu"] + s["neg"] == pytest.approx(1, abs=0.01)


def test_seed_sentences_and_article_tone(seed_wb):
    n_sent = seed_wb.sql("SELECT count(*) n FROM sentences").n[0]
    st = seed_wb.sql("SELECT * FROM sentence_tone")
    assert len(st) == n_sent
    assert st.compound.between(-1, 1).all()
    art = seed_wb.sql("SELECT * FROM article_tone")
    assert len(art) == 1 and art.n_sentences[0] == n_sent
    assert art.tone[0] == pytest.approx(st.compound.mean())
    # a war article: the Kirby sentence about bombing cities and war crimes reads negative
    row = seed_wb.sql(
        "SELECT t.compound FROM sentence_tone t JOIN sentences s"
        " ON s.article_id = t.article_id AND s.idx = t.sentence_idx"
        " WHERE s.text LIKE '%cease bombing Ukrainian cities%'"
    )
    assert len(row) == 1 and row.compound[0] < -0.05
    assert art.tone[0] < 0


def _sentence_tone(wb, by, **kw):
    """Tone per key over the sentences that name it: the query API is the one reader."""
    return wb.tone(by, None, n=None, level="sentence", **kw)


def test_tone_by_actor_matches_hand_sql(seed_wb):
    every = _sentence_tone(seed_wb, "actor")
    df = every[every.label == "John Kirby"].reset_index(drop=True)
    assert len(df) == 1
    hand = seed_wb.sql(
        "SELECT avg(t.compound) tone, count(*) n FROM sentence_tone t WHERE (t.article_id,"
        " t.sentence_idx) IN (SELECT DISTINCT article_id, sentence_idx FROM mentions"
        " WHERE entity_id = ?)",
        [df.key[0]],
    )
    assert df.sentences[0] == hand.n[0] > 0
    assert df.tone[0] == pytest.approx(hand.tone[0])
    assert {"Xi Jinping", "Vladimir Putin", "John Kirby"} <= set(every.label)
    assert every.tone.between(-1, 1).all()


def test_tone_by_country_matches_hand_sql(seed_wb):
    df = _sentence_tone(seed_wb, "country")
    assert {"CHN", "RUS", "UKR", "USA"} <= set(df.key)
    rus = df[df.key == "RUS"].reset_index(drop=True)
    hand = seed_wb.sql(
        "SELECT avg(compound) tone, count(*) n FROM sentence_tone WHERE (article_id,"
        " sentence_idx) IN (SELECT DISTINCT article_id, sentence_idx FROM mentions"
        " WHERE country_iso3 = 'RUS')"
    )
    assert rus.sentences[0] == hand.n[0]
    assert rus.tone[0] == pytest.approx(hand.tone[0])
    # the filter restricts articles; a date outside the corpus leaves nothing
    assert _sentence_tone(seed_wb, "country", filter=Filter(date_from="2030-01-01")).empty


def test_tone_incremental_and_versioned(seed_wb):
    res = seed_wb.score_tone(progress=False)
    assert res.articles == 0
    assert seed_wb.sql("SELECT value FROM meta WHERE key = 'tone.version'").value[0] == (
        TONE_VERSION
    )


def test_ru_ua_tone_in_range(ru_ua_wb):
    st = ru_ua_wb.sql("SELECT compound, pos, neu, neg FROM sentence_tone")
    assert len(st) == ru_ua_wb.sql("SELECT count(*) n FROM sentences").n[0] > 100
    assert st.compound.between(-1, 1).all()
    art = ru_ua_wb.sql("SELECT tone FROM article_tone WHERE tone IS NOT NULL")
    assert art.tone.between(-1, 1).all() and len(art) > 50


def test_positive_and_negative_counts_use_the_stage_cutoffs(ru_ua_wb):
    """The query counts a unit positive/negative exactly where tone.py labels it (VADER's
    >= 0.05 / <= -0.05), on the base tables and the pre-aggregates alike."""
    from workbench.annotate import tone as tone_stage

    con = ru_ua_wb.con
    pos, neg = con.execute(
        "SELECT count(*) FILTER (WHERE tone >= ?), count(*) FILTER (WHERE tone <= ?) "
        "FROM article_tone",
        [tone_stage.POSITIVE, tone_stage.NEGATIVE],
    ).fetchone()
    for engine in ("base", "aggregates"):
        row = ru_ua_wb.tone("source", None, n=None, engine=engine)
        assert (int(row["positive"].sum()), int(row["negative"].sum())) == (pos, neg), engine
    st = ru_ua_wb.tone("date", "year", level="sentence", engine="base")
    s_pos, s_neg = con.execute(
        "SELECT count(*) FILTER (WHERE compound >= ?), count(*) FILTER (WHERE compound <= ?) "
        "FROM sentence_tone s JOIN articles a USING (article_id) WHERE a.date IS NOT NULL",
        [tone_stage.POSITIVE, tone_stage.NEGATIVE],
    ).fetchone()
    assert (int(st["positive"].sum()), int(st["negative"].sum())) == (s_pos, s_neg)


#: Sentences that reach every rule of VADER's scoring (negation at each distance, "never so",
#: "without doubt", "kind of", "but", "least", "no", ALL CAPS, idioms, boosters, emojis).
_RULE_SENTENCES = (
    "VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!",
    "The plot was good, but the characters are uncompelling and the dialog is not great.",
    "At least it isn't a horrible book.",
    "The book was only kind of good.",
    "Today only kinda sux! But I'll get by, lol",
    "Catch utf-8 emoji such as 💘 and 💋 and 😁",
    "It was never so bad, without doubt never this good, and no one was happy.",
    "He was not at all pleased; she was least happy, very least sad, nor angry or no good.",
    "That was the bomb, a bad ass cut the mustard moment, sort of great?? Really???",
    "   leading and trailing spaces are stripped. ",
    "",
)


def test_the_fast_analyzer_scores_exactly_as_upstream_vader():
    """The shipped analyzer (one lower-cased word list per sentence, no emoji copy for text
    without emojis) against upstream ``SentimentIntensityAnalyzer`` on rule-covering
    sentences and, when the shared corpora are there, every line of 150 BBC articles."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    from workbench.annotate.tone import analyzer

    texts = list(_RULE_SENTENCES)
    if BBC.exists():
        for path in sorted(BBC.glob("*/*.txt"))[::15]:
            texts += path.read_text(encoding="latin-1").splitlines()
    upstream, fast = SentimentIntensityAnalyzer(), analyzer()
    assert type(fast) is not SentimentIntensityAnalyzer
    differ = [t for t in texts if fast.polarity_scores(t) != upstream.polarity_scores(t)]
    assert differ == []
    assert len(texts) > (1_000 if BBC.exists() else 10)
