"""Quotes: the seed's Kirby quotes, attribution patterns, speaker linking, provenance."""

from __future__ import annotations

import re

import pandas as pd

from workbench.annotate.quotes import _Mention, find_spans, quotes_in


def test_seed_kirby_quotes(seed_wb):
    q = seed_wb.sql(
        "SELECT q.*, e.name FROM quotes q LEFT JOIN entities e"
        " ON e.entity_id = q.speaker_entity_id ORDER BY quote_idx"
    )
    assert len(q) == 3  # the scare quote "fruitful" is not a quotation
    assert q.name.tolist() == ["John Kirby"] * 3
    assert q.text[0].startswith("This war could actually end right now")
    assert q.text[1].startswith("We hope that President Xi will press President Putin")
    assert q.text[2].startswith("We encourage President Xi to play a constructive role")
    assert q.cue.tolist() == ["told", "told", "continued"]
    assert q.method.tolist() == ["after-speaker", "continuation", "after-verb"]
    text = seed_wb.sql("SELECT text FROM articles").text[0]
    sents = seed_wb.sql("SELECT idx, start_char, end_char FROM sentences")
    for r in q.itertuples():
        assert text[r.start_char : r.end_char].strip() == r.text
        assert text[r.start_char - 1] == '"' and text[r.end_char] == '"'
        assert text[r.speaker_start : r.speaker_end] == r.speaker
        s = sents[sents.idx == r.sentence_idx].iloc[0]
        assert s.start_char <= r.start_char < s.end_char
    assert q.speaker[2] == "Kirby"  # the short form, linked to the canonical actor


def test_quotes_of_actor_and_incremental(seed_wb):
    assert len(seed_wb.quotes("John Kirby", n=None)) == 3
    assert len(seed_wb.quotes("kirby", n=None)) == 3
    assert seed_wb.quotes("Xi Jinping", n=None).empty
    assert seed_wb.find_quotes(progress=False).articles == 0


def _mentions(text: str, names: dict[str, str | None], label: str = "PERSON") -> list[_Mention]:
    out = []
    for name, eid in names.items():
        for m in re.finditer(re.escape(name), text):
            out.append(_Mention(m.start(), m.end(), name, label, eid))
    return out


def _run(text: str, names: dict[str, str | None]) -> list:
    return quotes_in(text, [(0, 0)], _mentions(text, names))


def test_attribution_patterns():
    text = (
        "“We will not give up,” said Ann Lee on Monday.\n\n"
        "Bob Smith told reporters: “The deal is done and we are happy with it.”\n\n"
        '"Nothing has changed at all," the ministry spokesman said.\n\n'
        "“Prices will rise again next year, there is no doubt” — Carl Jung"
    )
    qs = _run(text, {"Ann Lee": "p:ann", "Bob Smith": "p:bob", "Carl Jung": "p:carl"})
    got = [(q.text, q.speaker, q.entity_id, q.method) for q in qs]
    assert got == [
        ("We will not give up,", "Ann Lee", "p:ann", "after-verb"),
        ("The deal is done and we are happy with it.", "Bob Smith", "p:bob", "before"),
        ("Nothing has changed at all,", "the ministry spokesman", None, "after-speaker"),
        ("Prices will rise again next year, there is no doubt", "Carl Jung", "p:carl", "dash"),
    ]


def test_pronoun_speaker_resolved_to_recent_person():
    text = (
        "Defence minister Oleksii Reznikov visited the front.\n\n"
        '"Our troops are holding the line everywhere," he said.'
    )
    (q,) = _run(text, {"Oleksii Reznikov": "p:rez"})
    assert (q.speaker, q.entity_id, q.method, q.cue) == ("he", "p:rez", "pronoun", "said")
    # no person before it: the pronoun stays unlinked
    (q2,) = _run('"Our troops are holding the line everywhere," he said.', {})
    assert q2.speaker == "he" and q2.entity_id is None


def test_multi_sentence_and_cross_paragraph_quotes():
    text = (
        '"The first sentence of the statement. And a second one follows here.\n\n'
        '"The quotation goes on in a new paragraph," the president said.'
    )
    spans = find_spans(text)
    assert len(spans) == 1
    (q,) = _run(text, {})
    assert q.text.startswith("The first sentence") and q.text.endswith("new paragraph,")
    assert q.speaker == "the president" and q.cue == "said"


def test_scare_quotes_and_titles_skipped():
    text = 'He called the plan "fruitful" and watched "War and Peace" on Sunday.'
    assert _run(text, {}) == []


def test_ru_ua_quotes_have_provenance(ru_ua_wb):
    q = ru_ua_wb.sql("SELECT q.*, a.text AS atext FROM quotes q JOIN articles a USING (article_id)")
    assert len(q) > 20
    for r in q.itertuples():
        assert r.atext[r.start_char : r.end_char].strip() == r.text
        if pd.notna(r.speaker_start):
            assert r.atext[int(r.speaker_start) : int(r.speaker_end)] == r.speaker
    linked = q[q.speaker_entity_id.notna()]
    assert len(linked) > 5
    known = set(ru_ua_wb.sql("SELECT entity_id FROM entities").entity_id)
    assert set(linked.speaker_entity_id) <= known


def test_pronouns_respect_gender_and_type():
    text = (
        "John Smith rose first. Then Elizabeth Warren spoke and she was brief.\n\n"
        '"We will review the contract carefully," he said in a statement.\n\n'
        "The Ministry of Defence published a note.\n\n"
        '"Troops are regrouping near the city," it said.\n\n'
        '"Cover-up," said Elizabeth Warren.'
    )
    people = _mentions(text, {"John Smith": "person:smith", "Elizabeth Warren": "person:warren"})
    orgs = _mentions(text, {"Ministry of Defence": "org:mod"}, label="ORG")
    qs = quotes_in(text, [(0, 0)], people + orgs)
    got = [(q.speaker, q.entity_id, q.fragment) for q in qs]
    assert got == [
        ("he", "person:smith", False),  # not the nearer Elizabeth Warren ("she")
        ("it", "org:mod", False),  # the organisation that is the subject before it
        ("Elizabeth Warren", "person:warren", True),  # <= 3 words: a fragment
    ]


def test_fragments_and_unlinked_speakers_are_not_ranked(seed_wb):
    q = seed_wb.sql("SELECT fragment FROM quotes")
    assert len(q) and q.fragment.notna().all()
    top = seed_wb.top("speaker", n=None)
    assert set(top.label) <= set(seed_wb.sql("SELECT name FROM entities").name)


def test_line_wrapped_names_and_statements_are_not_cut_speakers():
    # newswire text is hard-wrapped: a name may span a line break (Reuters-21578)
    text = (
        'Some 31 markets will not be affected. "We no longer need as many sales locations,"'
        " explained John H.\nRollins, national manager of Sears.\n    "
        'In a statement posted on Twitter, Anthony Blinken said, "The United States strongly'
        ' condemns the attack on the port today."\n\n'
        'The club rejected the offer. "The board continues to believe that the business plan is aggressive," the'
        " statement said."
    )
    qs = _run(text, {"John H.\nRollins": "p:rollins", "Anthony Blinken": "p:blinken"})
    got = [(q.speaker, q.entity_id) for q in qs]
    assert got[:2] == [("John H.\nRollins", "p:rollins"), ("Anthony Blinken", "p:blinken")]
    assert all(q.speaker is None for q in qs[2:])  # "the statement" names nobody


def test_pronouns_skip_modifiers_chains_and_take_unnamed_speakers():
    text = (
        "Traffic doubled, said Sandvine's chief technology officer Marc Morin.\n\n"
        '"It is a clarion call for the whole industry," he said.\n\n'
        "Acme chairwoman, Jane Roe, said the deal was fair.\n\n"
        '"We are dealing with people who are terminally ill," she said.\n\n'
        "For Rick Dean, the future is exciting. He has worked on Finding Nemo and Cars.\n\n"
        '"The film world and the video world were two separate worlds," he said.\n\n'
        "Prices will rise, an industry source said, citing Paul Gallant's data.\n\n"
        '"There are no other markets left to promote at all," he said.\n\n'
        "Investors will hesitate, the sources said.\n\n"
        '"There is a distinct exchange rate risk here," they added.\n\n'
        "The summary was published on Monday.\n\n"
        '"An example of such a policy would be a new regime," the summary said.'
    )
    people = _mentions(
        text,
        {
            "Sandvine": "person:sandvine",
            "Marc Morin": "person:morin",
            "Acme": "person:acme",
            "Jane Roe": "person:roe",
            "Rick Dean": "person:dean",
            "Finding Nemo": "person:nemo",
            "Paul Gallant": "person:gallant",
        },
    )
    starts = [0] + [m.end() for m in re.finditer(r"(?<=[.!?])\s+(?=[A-Z\"])|\n\n", text)]
    sents = [(s, i) for i, s in enumerate(sorted(set(starts)))]
    got = [(q.speaker, q.entity_id) for q in quotes_in(text, sents, people)]
    assert got == [
        ("he", "person:morin"),  # not the possessive "Sandvine's" before his title
        ("she", "person:roe"),  # not "Acme" before "chairwoman", and she is a chairwoman
        ("he", "person:dean"),  # "He has worked on Finding Nemo": the chain goes on
        ("an industry source", None),  # the unnamed speaker, not Paul Gallant
        ("the sources", None),
        (None, None),  # "the summary said": a document names nobody; 8+ words keep it
    ]


def test_pronouns_skip_teams_bands_titles_and_speaker_phrases_skip_owners():
    text = (
        "Franz Ferdinand frontman Alex Kapranos said the tour was over.\n\n"
        '"We are going home for a long rest now," he said.\n\n'
        "Robben scored twice. The Premiership leaders are top and Everton manager David Moyes"
        " is happy.\n\n"
        '"It was a very special night for all of us," he said.\n\n'
        "Alison Howe, producer of Later... With Jools Holland, booked the group.\n\n"
        '"They played like they were headlining the main stage," she said.\n\n'
        '"We need money for the port and the roads," said the mayor of Mykolaiv.\n\n'
        '"The vote on the bill will happen next week," said the West Virginia Democrat.\n\n'
        '"It was a fantastic game of football," said the Old Trafford boss.\n\n'
        '"We are ready to start the launch on schedule," The message accompanying the'
        " pictures said."
    )
    people = _mentions(
        text,
        {
            "Franz Ferdinand": "person:franz-ferdinand",
            "Alex Kapranos": "person:kapranos",
            "Robben": "person:robben",
            "Premiership": "person:premiership",
            "Everton": "person:everton",
            "David Moyes": "person:moyes",
            "Alison Howe": "person:howe",
            "Jools Holland": "person:holland",
            "Mykolaiv": "person:mykolaivna",
        },
    )
    places = _mentions(text, {"West Virginia": "place:wv"}, label="GPE")
    places += _mentions(text, {"Old Trafford": "org:old-trafford"}, label="ORG")
    starts = [0] + [m.end() for m in re.finditer(r"(?<=[.!?])\s+(?=[A-Z\"])|\n\n", text)]
    sents = [(s, i) for i, s in enumerate(sorted(set(starts)))]
    got = [(q.speaker, q.entity_id) for q in quotes_in(text, sents, people + places)]
    assert got == [
        ("he", "person:kapranos"),  # the band modifies "frontman"
        ("he", "person:moyes"),  # "the Premiership", "Everton manager": not people here
        ("she", "person:howe"),  # not the name inside the show title
        ("the mayor of Mykolaiv", None),  # a name after "of" does not speak
        ("the West Virginia Democrat", None),  # a place before a noun only modifies it
        ("the Old Trafford boss", None),  # an organisation before a role noun owns it
        (None, None),  # a document with a trailing clause names nobody
    ]
