"""Normalisation rules: surfaces, titles, affiliation, in-article linking, corpus merging."""

from __future__ import annotations

from collections import Counter

import pytest

from workbench.nlp import actors

# A tiny modifier lookup for unit tests (the real one is the country resolver, tested in
# test_resolve.py on real text).
WORDS = {
    "Chinese": "CHN",
    "China": "CHN",
    "Russia": "RUS",
    "U.S.": "USA",
    "Russian": "RUS",
    "West": "REG:WEST",
    "Brazil": "BRA",
    "South Africa": "ZAF",
    "Africa": "REG:AFRICA",
}


def country_of(word: str) -> str | None:
    return WORDS.get(word)


@pytest.mark.parametrize(
    ("surface", "label", "expected"),
    [
        ("Xi's", "PERSON", "Xi"),
        ("Putin\u2019s", "PERSON", "Putin"),
        ('"Kirby,', "PERSON", "Kirby"),
        ("President Vladimir Putin", "PERSON", "Vladimir Putin"),
        ("Chinese President Xi Jinping", "PERSON", "Xi Jinping"),
        ("National Security Council spokesperson John Kirby", "PERSON", "John Kirby"),
        ("Mr. Putin", "PERSON", "Putin"),
        ("Sen. Bernie Sanders", "PERSON", "Bernie Sanders"),
        ("Putin said", "PERSON", "Putin"),
        ("Ursula von der Leyen", "PERSON", "Ursula von der Leyen"),
        ("the International Criminal Court", "ORG", "International Criminal Court"),
        ("The United States", "GPE", "United States"),
        ("U.S.", "GPE", "U.S."),
        ("Reuters.", "ORG", "Reuters"),
        ("Russia's", "GPE", "Russia"),
        ("Office of the President of", "ORG", "Office of the President"),
        ("Philippe Sands QC", "PERSON", "Philippe Sands"),
        ("The Lib Dems", "PERSON", "Lib Dems"),
        ("John TrumpTrump", "PERSON", "John Trump"),
    ],
)
def test_normalize(surface: str, label: str, expected: str) -> None:
    assert actors.normalize(surface, label) == expected


def test_fold_and_slug_ignore_case_and_accents() -> None:
    assert actors.fold("Zelénskyy") == actors.fold("ZELENSKYY") == "zelenskyy"
    assert actors.slug("Vladimir  Putin") == "vladimir-putin"
    assert actors.acronym_of("International Criminal Court") == "ICC"
    assert actors.paren_acronym("the Court (ICC) said", 9) == "ICC"


def _aff(text: str, name: str) -> str | None:
    start = text.index(name)
    a = actors.affiliation(text, start, start + len(name), name, country_of)
    return a.iso3 if a else None


def test_affiliation_from_modifiers_and_appositions() -> None:
    assert _aff("Chinese President Xi Jinping landed.", "Xi Jinping") == "CHN"
    assert _aff("Talks with Russia's Putin ended.", "Putin") == "RUS"
    assert _aff("Russian Foreign Minister Sergei Lavrov said.", "Sergei Lavrov") == "RUS"
    assert _aff("said U.S. national security spokesperson John Kirby.", "John Kirby") == "USA"
    assert _aff("John Kirby, the U.S. national security spokesperson, said.", "John Kirby") == "USA"
    # The whole phrase tagged as one span.
    s = "Chinese President Xi Jinping"
    assert actors.affiliation(s, 0, len(s), s, country_of).iso3 == "CHN"


def test_affiliation_in_lists_of_leaders() -> None:
    text = (
        "President of Brazil Jair Bolsonaro, President of the People's Republic of China "
        "Xi Jinping, President of the Republic of South Africa Cyril Ramaphosa, Vice "
        "President of Brazil Hamilton Mourao, and others."
    )
    assert _aff(text, "Jair Bolsonaro") == "BRA"  # not CHN from the next list item
    assert _aff(text, "Xi Jinping") == "CHN"
    assert _aff(text, "Cyril Ramaphosa") == "ZAF"  # multi-word country; not BRA after it


def test_no_affiliation_without_a_title_or_possessive() -> None:
    assert _aff("Troops stayed in Russia as Putin spoke.", "Putin") is None
    assert _aff("The West blamed President Xi.", "Xi") is None  # regions never affiliate
    assert _aff("John Kirby, who visited Russia, said.", "John Kirby") is None
    assert _aff("Kirby said.", "Kirby") is None


def test_link_people_short_forms_to_full_names() -> None:
    norms = ["Xi Jinping", "Vladimir Putin", "Putin", "Xi", "Kirby", "John Kirby"]
    starts = [0, 10, 20, 30, 40, 50]
    assert actors.link_people(norms, starts) == [
        "Xi Jinping",
        "Vladimir Putin",
        "Vladimir Putin",
        "Xi Jinping",
        "John Kirby",  # the full name may come later in the article
        "John Kirby",
    ]


def test_link_people_picks_the_nearest_preceding_of_two() -> None:
    norms = ["Joe Biden", "Biden", "Hunter Biden", "Biden"]
    out = actors.link_people(norms, [0, 10, 20, 30])
    assert out == ["Joe Biden", "Joe Biden", "Hunter Biden", "Hunter Biden"]


def test_merge_people_spelling_variants_but_not_namesakes() -> None:
    names = [
        "Volodymyr Zelensky",
        "Volodymyr Zelenskyy",
        "Volodymyr Zelenskiy",
        "George Bush",
        "Jeb Bush",
        "Bush",
        "Vladimir Putin",
        "Putin",
        "Kirby",
    ]
    counts = Counter(
        {"Volodymyr Zelenskyy": 5, "George Bush": 2, "Jeb Bush": 2, "Vladimir Putin": 3}
    )
    canon = actors.merge_people(names, counts)
    zel = {canon[actors.fold(n)] for n in names[:3]}
    assert zel == {"Volodymyr Zelenskyy"}
    assert canon["george bush"] == "George Bush" and canon["jeb bush"] == "Jeb Bush"
    assert canon["bush"] == "Bush"  # two candidates, neither dominant: kept apart
    assert canon["putin"] == "Vladimir Putin"  # exactly one full name with that surname
    assert canon["kirby"] == "Kirby"


def test_merge_people_respects_registry_splits() -> None:
    canon = actors.merge_people(["Vladimir Putin", "Putin"], no_merge=frozenset({"putin"}))
    assert canon["putin"] == "Putin"


def test_merge_people_ignores_middle_initials_with_evidence() -> None:
    names = [
        "Vladimir Putin",
        "Vladimir V. Putin",
        "Joe Biden",
        "Joseph R. Biden Jr.",
        "Joseph Biden",
    ]
    counts = Counter({"Vladimir Putin": 9, "Vladimir V. Putin": 2, "Joseph Biden": 3})
    canon = actors.merge_people(names, counts)
    assert canon["vladimir v putin"] == "Vladimir Putin"
    # a suffix names another person (Jr. / Sr.): only the registry says they are one
    assert canon["joseph r biden jr"] == "Joseph R. Biden Jr."
    assert canon["joe biden"] == "Joe Biden"  # a different first name is no evidence


def test_middle_initials_that_tell_people_apart_stay() -> None:
    names = ["George Bush", "George W. Bush", "George H.W. Bush"]
    canon = actors.merge_people(names, Counter({"George Bush": 3}))
    assert len({canon[actors.fold(n)] for n in names}) == 3  # two sets of initials: no merge
    # a single initialled form still stays apart when the registry splits the surname
    canon = actors.merge_people(["Jeb Bush", "Jeb E. Bush"], no_merge=frozenset({"bush"}))
    assert canon["jeb e bush"] == "Jeb E. Bush"
    # a full middle name is not an initial: left to the registry
    canon = actors.merge_people(["Joseph Biden", "Joseph Robinette Biden"])
    assert canon["joseph robinette biden"] == "Joseph Robinette Biden"


def test_name_core() -> None:
    assert actors.name_core("vladimir v putin") == ("vladimir putin", ("v",))
    assert actors.name_core("joseph r biden jr") == ("joseph biden jr", ("r",))
    assert actors.name_core("xi jinping") == ("xi jinping", ())
    assert actors.name_core("martin luther king jr") == ("martin king jr", ("luther",))
    assert actors.surname("donald trump jr") == "trump jr"
    assert actors.surname("ronald reagan") == "reagan"


def test_bare_surname_joins_the_dominant_full_name_only() -> None:
    names = ["Ronald Reagan", "Nancy Reagan", "Reagan", "Donald Trump", "Donald Trump Jr.",
             "Ivanka Trump", "Trump", "Trump Jr.", "Trump Donald", "Hillary Clinton",
             "Bill Clinton", "Clinton"]  # fmt: skip
    counts = Counter({"Ronald Reagan": 40, "Nancy Reagan": 3, "Donald Trump": 90,
                      "Donald Trump Jr.": 6, "Ivanka Trump": 5, "Trump Donald": 2,
                      "Hillary Clinton": 10, "Bill Clinton": 8})  # fmt: skip
    ambiguous: dict[str, Counter[str]] = {}
    canon = actors.merge_people(names, counts, ambiguous=ambiguous)
    assert canon["reagan"] == "Ronald Reagan"  # 40 of 43 full-name mentions
    assert canon["nancy reagan"] == "Nancy Reagan"  # family members stay distinct
    assert canon["trump"] == "Donald Trump"
    assert canon["donald trump jr"] == "Donald Trump Jr."  # a suffix is another person
    assert canon["trump jr"] == "Donald Trump Jr."
    assert canon["trump donald"] == "Donald Trump"  # reversed name
    assert canon["clinton"] == "Clinton" and set(ambiguous["Clinton"]) == {
        "Hillary Clinton",
        "Bill Clinton",
    }
    pinned = actors.merge_people(names, counts, pins={"clinton": "Bill Clinton"})
    assert pinned["clinton"] == "Bill Clinton"
    # a spelling variant of a surname joins it ("Zelensky" / "Zelenskyy")
    canon = actors.merge_people(
        ["Volodymyr Zelenskyy", "Zelensky"], Counter({"Volodymyr Zelenskyy": 3})
    )
    assert canon["zelensky"] == "Volodymyr Zelenskyy"


def test_link_people_keeps_suffixes_and_cleans_glued_names() -> None:
    norms = ["Donald Trump", "Donald Trump Jr.", "Trump", "Trump Jr.", "Donald"]
    out = actors.link_people(norms, [0, 10, 20, 30, 40])
    assert out[:4] == ["Donald Trump", "Donald Trump Jr.", "Donald Trump", "Donald Trump Jr."]
    assert actors.normalize("John TrumpTrump", "PERSON") == "John Trump"
    assert actors.normalize("Mr. Trump's", "PERSON") == "Trump"
    assert actors.given_names(["joe biden", "joe manchin", "xi jinping"]) == {"joe"}


PLACES = {"Ukraine", "Ukrainian", "Kyiv", "Jordan", "Israel", "United States", "Russia"}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Ukraine Volodymyr Zelenskyy", "Volodymyr Zelenskyy"),
        ("Bohdan Kisil Kyiv", "Bohdan Kisil"),
        ("United States Joe Biden", "Joe Biden"),
        ("Russia's Vladimir Putin", "Vladimir Putin"),
        ("Ukrainian Volodymyr Zelenskyy Kyiv", "Volodymyr Zelenskyy"),
        ("Michael Jordan", "Michael Jordan"),  # two name words must remain
        ("Israel Katz", "Israel Katz"),
        ("Vladimir Putin", "Vladimir Putin"),
    ],
)
def test_strip_places_from_person_names(name: str, expected: str) -> None:
    assert actors.strip_places(name, PLACES.__contains__) == expected


def test_merge_people_keeps_surnames_other_people_carry_apart() -> None:
    # "Davies" and "Davis" are each the surname of someone else in the corpus: two names,
    # not one misspelt; a spelling nobody else carries still joins ("Zelenskiy").
    names = ["David Davis", "David Davies", "Evan Davis", "Quentin Davies"]
    names += ["Volodymyr Zelenskyy", "Volodymyr Zelenskiy", "Olena Zelenska"]
    counts = Counter({"David Davis": 20, "Volodymyr Zelenskyy": 5})
    canon = actors.merge_people(names, counts)
    assert canon["david davies"] == "David Davies"
    assert canon["david davis"] == "David Davis"
    assert canon["volodymyr zelenskiy"] == "Volodymyr Zelenskyy"


def test_team_and_band_cues_and_punctuation_words_in_names():
    def cues(text: str, name: str) -> tuple[int, int]:
        s = text.index(name)
        return actors.name_cues(text, s, s + len(name))

    assert cues("Everton manager David Moyes was happy.", "Everton") == (0, 1)
    assert cues("They beat Everton 2-1 on Saturday.", "Everton")[1] == 2  # "beat X", "X 2-1"
    assert cues("Manchester United are top of the table.", "Manchester United") == (0, 1)
    assert cues("Brentford v Manchester United was replayed.", "Brentford")[1] == 1
    # two people joined by "and" take a plural verb; neither is a team
    assert cues("Smith and Jones are friends.", "Jones") == (0, 0)
    assert cues("Mr Smith said he was happy.", "Smith") == (2, 0)
    assert actors.strip_person("DJ Norman Cook - aka")[0] == "DJ Norman Cook"
