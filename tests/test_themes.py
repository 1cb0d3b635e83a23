"""Themes: the seed's themes with evidence, taxonomy hash, re-tagging from stored NLP output."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.annotate.themes import (
    ArticleTokens,
    Tagger,
    Taxonomy,
    load_taxonomy,
    parse_themes,
    tag_sentences,
)
from workbench.base import errors, store
from workbench.nlp.extract import _sentence_tokens

SEED_THEMES = {"armed_conflict", "war_crimes_justice", "sanctions", "diplomacy", "ceasefire_peace"}


def test_shipped_taxonomy_is_valid_and_sized():
    tax = load_taxonomy()
    assert 30 <= len(tax) <= 50
    for t in tax.themes.values():
        assert t.label and t.description and t.patterns, t.id
        assert t.parent is None or t.parent in tax.themes
    assert tax.hash == load_taxonomy().hash  # content hash is stable


def test_seed_tagged_with_core_themes_and_evidence(seed_wb):
    tags = seed_wb.sql("SELECT theme_id, score, hits FROM article_themes")
    assert SEED_THEMES <= set(tags.theme_id)
    text = seed_wb.sql("SELECT text FROM articles").text[0]
    hits = seed_wb.sql(
        "SELECT h.*, s.start_char AS s0, s.end_char AS s1 FROM theme_hits h JOIN sentences s"
        " ON s.article_id = h.article_id AND s.idx = h.sentence_idx"
    )
    for theme in SEED_THEMES:
        ev = hits[hits.theme_id == theme]
        assert len(ev) >= 1, theme
        assert int(tags[tags.theme_id == theme].hits.iloc[0]) == len(ev)
        for r in ev.itertuples():
            assert text[r.start_char : r.end_char] == r.matched_text
            assert r.s0 <= r.start_char < r.end_char <= r.s1
    words = {(r.theme_id, r.matched_text.lower()) for r in hits.itertuples()}
    assert ("war_crimes_justice", "war crimes") in words
    assert ("war_crimes_justice", "international criminal court") in words
    assert ("ceasefire_peace", "ceasefire") in words
    assert ("sanctions", "sanctioning") in words or ("sanctions", "sanction") in words
    # the ICC's "Criminal"/"Court" are not separate crime evidence (contained in a longer hit)
    assert not (hits.matched_text == "Criminal").any()


def test_taxonomy_hash_stamped_everywhere(seed_wb):
    h = store.get_meta(seed_wb.con, "themes.taxonomy_hash")
    assert h == load_taxonomy().hash
    for table in ("themes", "article_themes", "theme_hits"):
        q = f"SELECT DISTINCT taxonomy_hash FROM {store.quote_ident(table)}"  # noqa: S608
        got = seed_wb.sql(q).taxonomy_hash.tolist()
        assert got == [h], table


def test_unchanged_taxonomy_is_incremental(seed_wb):
    before = seed_wb.sql("SELECT * FROM theme_hits ORDER BY start_char, theme_id")
    res = seed_wb.tag_themes(progress=False)
    assert res.articles == 0 and not res.retagged_all
    after = seed_wb.sql("SELECT * FROM theme_hits ORDER BY start_char, theme_id")
    assert before.equals(after)


USER_TAXONOMY = """
themes:
  - id: state_visits
    label: State visits
    description: Leaders travelling abroad.
    terms: [land in, three-day visit]
    patterns:
      - [{LEMMA: land}, {LOWER: in}, {IS_ALPHA: true}]
  - id: sanctions
    label: Sanctions (narrow)
    description: Only the word embargo.
    terms: [embargo]
"""


def test_retag_after_taxonomy_edit_reuses_stored_sentences(wb, seed_dir, tmp_path, monkeypatch):
    wb.ingest([seed_dir], progress=False)
    wb.extract(progress=False)
    first = wb.tag_themes(progress=False)
    assert first.retagged_all and first.articles == 1
    sentences_before = wb.sql("SELECT * FROM sentences ORDER BY idx")

    # Any attempt to load a trained pipeline (NER, tagger) now fails loudly.
    import spacy

    import workbench.nlp.pipeline

    def boom(*a, **k):
        raise AssertionError("re-tagging must not load a spaCy model")

    monkeypatch.setattr(workbench.nlp.pipeline, "load_model", boom)
    monkeypatch.setattr(spacy, "load", boom)

    user = tmp_path / "mine.yaml"
    user.write_text(USER_TAXONOMY)
    res = wb.tag_themes(taxonomy=user, progress=False)
    assert res.retagged_all and res.articles == 1
    assert res.taxonomy_hash != first.taxonomy_hash
    tags = wb.sql("SELECT theme_id FROM article_themes").theme_id.tolist()
    assert "state_visits" in tags
    assert "sanctions" not in tags  # replaced by the user's narrower definition
    ev = wb.sql("SELECT matched_text FROM theme_hits WHERE theme_id = 'state_visits'")
    assert {"landed in Russia", "three-day visit"} <= set(ev.matched_text)
    # one set of rows, all stamped with the new hash; stored NLP output untouched
    assert wb.sql("SELECT DISTINCT taxonomy_hash FROM theme_hits").taxonomy_hash.tolist() == [
        res.taxonomy_hash
    ]
    assert wb.sql("SELECT count(*) n FROM themes").n[0] == len(load_taxonomy(user))
    assert wb.sql("SELECT * FROM sentences ORDER BY idx").equals(sentences_before)
    # the database remembers the user file until told otherwise
    assert not wb.tag_themes(progress=False).retagged_all
    # back to the shipped taxonomy: same result as the first run
    res2 = wb.tag_themes(taxonomy=[], progress=False)
    assert res2.retagged_all and res2.taxonomy_hash == first.taxonomy_hash


def test_bad_taxonomy_names_file_and_theme(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("themes:\n  - id: oops\n    label: Oops\n")
    with pytest.raises(errors.BadTaxonomy, match=r"bad.yaml, theme 'oops'.*at least one"):
        load_taxonomy(bad)
    bad.write_text("themes:\n  - id: x\n    patterns: [[{DEP: nsubj}]]\n")
    with pytest.raises(errors.BadTaxonomy, match="not available on stored sentences"):
        load_taxonomy(bad)
    with pytest.raises(errors.BadTaxonomy, match="file not found"):
        load_taxonomy(tmp_path / "missing.yaml")


def _sents(nlp, text: str) -> list[tuple[int, list[str], list[str], list[int]]]:
    doc = nlp(text)
    return [
        (
            i,
            [t.text for t in s if not t.is_space],
            [t.lemma_ for t in s if not t.is_space],
            [t.idx for t in s if not t.is_space],
        )
        for i, s in enumerate(doc.sents)
    ]


def test_matching_rules_on_real_lemmas(extract_nlp):
    nlp = extract_nlp
    tax = Taxonomy(
        {
            t.id: t
            for t in parse_themes(
                {
                    "themes": [
                        {"id": "a", "terms": ["impose sanction"], "exact": ["US"]},
                        {"id": "b", "terms": ["peace talks", "talk"], "min_score": 1.0},
                    ]
                },
                "test",
            )
        }
    )
    tagger = Tagger(tax)
    text = "The US imposed sanctions. Let us hold peace talks. They talk."
    assigned, hits, n = tag_sentences(tagger, _sents(nlp, text))
    got = {(h.theme_id, text[h.start_char : h.end_char]) for h in hits}
    # lemma match ("imposed sanctions"), case-sensitive acronym (not "us"), longest span wins
    assert ("a", "imposed sanctions") in got and ("a", "US") in got
    assert ("a", "us") not in got
    assert ("b", "peace talks") in got and ("b", "talks") not in got
    assert ("b", "talk") in got
    assert set(assigned) == {"a", "b"}
    assert n == len([w for _, toks, _, _ in _sents(nlp, text) for w in toks])


def test_score_rule_threshold(extract_nlp):
    nlp = extract_nlp
    tax = Taxonomy(
        {t.id: t for t in parse_themes({"themes": [{"id": "w", "terms": ["war"]}]}, "t")}
    )
    tagger = Tagger(tax)
    once, _, _ = tag_sentences(tagger, _sents(nlp, "The war began."))
    twice, hits, _ = tag_sentences(tagger, _sents(nlp, "The war began. The war ended."))
    assert once == {}  # one hit: score 1.0 < 1.5
    assert twice["w"][1] == 2 and twice["w"][0] == pytest.approx(1 + 0.6931, abs=1e-3)


def test_user_file_from_env(monkeypatch, tmp_path: Path):
    user = tmp_path / "env.yaml"
    user.write_text("themes:\n  - id: zz_custom\n    terms: [widget]\n")
    monkeypatch.setenv("WORKBENCH_THEMES", str(user))
    tax = load_taxonomy()
    assert "zz_custom" in tax.themes and "armed_conflict" in tax.themes


def test_cli_themes_tone_quotes(wb, tiny_articles):
    from typer.testing import CliRunner

    from workbench.cli.main import app

    wb.ingest([tiny_articles], progress=False)
    wb.extract(progress=False)
    path = str(wb.path)
    wb.close()
    runner = CliRunner()
    res = runner.invoke(app, ["themes", "--db", path])  # reads only: nothing tagged yet
    assert res.exit_code == 0 and "no articles tagged with themes yet" in res.output
    res = runner.invoke(app, ["tag-themes", "--db", path])
    assert res.exit_code == 0, res.output
    assert f"{len(load_taxonomy())} themes" in res.output and "energy" in res.output
    res = runner.invoke(app, ["score-tone", "--db", path])
    assert res.exit_code == 0, res.output
    assert "3 articles" in res.output
    res = runner.invoke(app, ["find-quotes", "--db", path])
    assert res.exit_code == 0, res.output
    assert "We want peace" in res.output and "Putin" in res.output
    bad = runner.invoke(app, ["tag-themes", "--db", path, "--taxonomy", "/nonexistent.yaml"])
    assert bad.exit_code == 2 and "file not found" in bad.output


def test_same_hits_in_the_extraction_vocab_as_in_a_blank_one(seed_wb, extract_nlp):
    """The stage builds article Docs in extraction's vocabulary when it is loaded (no
    lexeme made twice); matching must not depend on which vocabulary it is."""
    import spacy

    rows = seed_wb.sql(
        "SELECT article_id, idx, tokens, lemmas, token_starts FROM sentences ORDER BY 1, 2"
    )
    sents = [
        (int(r.idx), list(r.tokens), list(r.lemmas), [int(x) for x in r.token_starts])
        for r in rows.itertuples()
    ]
    tax = load_taxonomy()
    got = []
    for vocab in (spacy.blank("en").vocab, extract_nlp.vocab):
        assigned, hits, n = tag_sentences(Tagger(tax, vocab=vocab), sents)
        got.append((assigned, [(h.theme_id, h.pattern, h.start_char, h.end_char) for h in hits]))
    assert got[0] == got[1]
    assert SEED_THEMES <= set(got[0][0])
    stored = seed_wb.sql("SELECT theme_id, pattern, start_char, end_char FROM theme_hits")
    assert sorted(got[0][1]) == sorted(stored.itertuples(index=False, name=None))


def test_chunk_tokens_read_column_wise_equal_the_sentence_rows(wb, tiny_articles, monkeypatch):
    """The stage flattens a chunk's token lists column-wise; every article must get the
    tokens that its sentence rows give one by one, also with empty words, NULL lemmas
    and lists of unequal length (those take the row-by-row way)."""
    from workbench.annotate import themes
    from workbench.annotate.themes import ArticleTokens, _article_sentences, _article_tokens

    wb.ingest([tiny_articles], progress=False)
    wb.extract(progress=False)
    ids = [r[0] for r in wb.con.execute("SELECT article_id FROM articles ORDER BY 1").fetchall()]
    row_by_row: list[int] = []

    def counted(*a):
        row_by_row.append(1)
        return _article_sentences(*a)

    monkeypatch.setattr(themes, "_article_sentences", counted)

    def both() -> tuple[list, list]:
        row_by_row.clear()
        column_wise = [(a, vars(t)) for a, t in _article_tokens(wb.con, ids)]
        row_wise = [(a, vars(ArticleTokens.of(s))) for a, s in _article_sentences(wb.con, ids)]
        return column_wise, row_wise

    col, row = both()
    assert col == row and len(col) == len(ids) and not row_by_row
    assert all(t["words"] and len(set(map(len, t.values()))) == 1 for _, t in col)
    # an empty word and a NULL lemma in one sentence: still column-wise
    before = col[0][1]
    wb.con.execute(
        "UPDATE sentences SET tokens = list_concat([''], tokens[2:]),"
        " lemmas = list_concat(lemmas[1:1], [NULL], lemmas[3:]) WHERE idx = 0 AND article_id = ?",
        [ids[0]],
    )
    col, row = both()
    assert col == row and not row_by_row
    after = col[0][1]
    assert after["words"] == before["words"][1:]  # the empty word is not a token
    assert after["lemmas"][0] == after["words"][0].lower()  # a NULL lemma is the word
    # a lemma list one shorter than its tokens: zipped row by row
    wb.con.execute(
        "UPDATE sentences SET lemmas = lemmas[:len(lemmas) - 1] WHERE idx = 0 AND article_id = ?",
        [ids[1]],
    )
    col, row = both()
    assert col == row and row_by_row


def test_token_patterns_match_inside_sentences_at_article_offsets(extract_nlp):
    """The Matcher runs on the sentences that could hold a hit: a hit in a later sentence
    keeps its article offsets, and words that are adjacent only across a sentence break
    (a blank line) do not match, as when the whole article was matched."""
    pat = [{"LOWER": "phone"}, {"LOWER": "call"}]
    tax = Taxonomy(
        {t.id: t for t in parse_themes({"themes": [{"id": "p", "patterns": [pat]}]}, "t")}
    )
    tagger = Tagger(tax)
    text = "Give me your phone\n\nCall centres closed. Later a phone call came. Phone call two."
    groups, _ = _sentence_tokens(extract_nlp(text))  # the sentences as extract stores them
    sents = [(i, toks, lems, starts) for i, (toks, lems, starts) in enumerate(groups)]
    _, hits, _ = tag_sentences(tagger, sents)
    got = sorted((h.sentence_idx, text[h.start_char : h.end_char]) for h in hits)
    assert got == [(2, "phone call"), (3, "Phone call")]
    tok = ArticleTokens.of(sents)
    whole = tagger.token_m(tagger._doc(tok.words, tok.lemmas, tok.spaces))
    inside = [(s, e) for _, s, e in whole if tok.sent_of[s] == tok.sent_of[e - 1]]
    assert len(whole) == 3 and sorted(inside) == sorted((h.tok_start, h.tok_end) for h in hits)


def test_a_parsed_taxonomy_file_is_kept_on_disk_per_content(tmp_path, monkeypatch):
    """A new process loads a file's parsed themes from the cache instead of parsing the YAML;
    an edited file is parsed again."""
    from workbench.annotate import themes

    cache, user = tmp_path / "cache", tmp_path / "mine.yaml"
    monkeypatch.setenv("WORKBENCH_CACHE", str(cache))
    user.write_text("themes:\n  - id: drought\n    terms: [drought, dry spell]\n")
    monkeypatch.setattr(themes, "_FILE_THEMES", {})
    first = load_taxonomy([user])
    assert len(list(cache.glob("theme-file-*.pickle"))) >= 2  # shipped files and mine
    monkeypatch.setattr(themes, "_FILE_THEMES", {})  # as in a new process
    parse = themes._parse_file
    monkeypatch.setattr(themes, "_parse_file", lambda *a: pytest.fail("parsed again"))
    again = load_taxonomy([user])
    assert again.themes == first.themes and again.hash == first.hash
    user.write_text("themes:\n  - id: drought\n    terms: [drought, water shortage]\n")
    monkeypatch.setattr(themes, "_parse_file", parse)
    edited = load_taxonomy([user])
    assert edited.hash != first.hash
    assert [p.key for p in edited.themes["drought"].patterns][-1] == "water shortage"


def test_phrase_words_are_kept_on_disk_per_taxonomy(tmp_path, monkeypatch):
    """The taxonomy's phrases split once by blank English, then read from the cache file:
    the same words; another taxonomy gets its own file (which replaces the old one)."""
    import spacy

    from workbench.annotate import themes

    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path))
    tax = load_taxonomy([])
    words = themes._phrase_words(tax)
    (cached,) = tmp_path.glob("theme-phrases-*.pickle")
    blank = spacy.blank("en")
    assert words == {k: [t.text for t in blank.make_doc(k)] for k in words}
    assert "peace talks" in words or len(words) > 1000
    assert themes._phrase_words(tax) == words
    assert list(tmp_path.glob("theme-phrases-*")) == [cached]
    other = Taxonomy(
        {t.id: t for t in parse_themes({"themes": [{"id": "w", "terms": ["war crimes"]}]}, "t")}
    )
    assert themes._phrase_words(other) == {"war crimes": ["war", "crimes"]}
    (new,) = tmp_path.glob("theme-phrases-*.pickle")
    assert new != cached
