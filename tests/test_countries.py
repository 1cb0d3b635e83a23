"""Country resolver: names, demonyms, metonyms, regions, context, ISO helpers."""

from __future__ import annotations

import pytest
import yaml
from conftest import SEED
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import workbench
from workbench.base import config
from workbench.resolve.countries import (
    REGIONS,
    CountryResolver,
    country_name,
    is_region,
    iso3_to_numeric,
    resolve_country,
)


@pytest.mark.parametrize(
    ("name", "iso3"),
    [
        ("Kremlin", "RUS"),
        ("the Kremlin", "RUS"),
        ("Beijing", "CHN"),
        ("U.S.", "USA"),
        ("US", "USA"),
        ("America", "USA"),
        ("White House", "USA"),
        ("Chinese", "CHN"),
        ("Russian", "RUS"),
        ("Russians", "RUS"),
        ("Ukrainian", "UKR"),
        ("Ukraine's", "UKR"),
        ("West Germany", "DEU"),
        ("USSR", "RUS"),
        ("Soviet Union", "RUS"),
        ("Britain", "GBR"),
        ("UK", "GBR"),
        ("Scotland", "GBR"),
        ("Downing Street", "GBR"),
        ("Holland", "NLD"),
        ("South Korea", "KOR"),
        ("North Korea", "PRK"),
        ("Ivory Coast", "CIV"),
        ("Burma", "MMR"),
        ("Czechia", "CZE"),
        ("DRC", "COD"),
        ("Zaire", "COD"),
        ("Paris", "FRA"),
        ("Moscow-based", "RUS"),
        ("Kyiv", "UKR"),
        ("Tbilisi", "GEO"),
        ("Crimea", "UKR"),
    ],
)
def test_names_resolve_to_iso3(name: str, iso3: str) -> None:
    assert resolve_country(name) == iso3


def test_package_reexport_is_the_resolver() -> None:
    assert workbench.resolve_country("Kremlin") == "RUS"


@pytest.mark.parametrize(
    "name",
    [
        "the West",
        "Europe",
        "EU",
        "European Union",
        "Africa",
        "Middle East",
        "Gulf",
        "Asia",
        "Latin America",
        "Western",
    ],
)
def test_regions_are_never_countries(name: str) -> None:
    code = resolve_country(name)
    assert is_region(code), (name, code)
    assert code in REGIONS


def test_every_curated_region_name_resolves_to_its_region() -> None:
    data = yaml.safe_load((config.GAZETTEER_DIR / "regions.yaml").read_text(encoding="utf-8"))
    for code, entry in data.items():
        for name in entry.get("names", []):
            assert resolve_country(name) == code, name


def test_unknown_and_lowercase_words_are_none() -> None:
    assert resolve_country("us") is None  # the pronoun, not the country
    assert resolve_country("Qwertyzzz") is None
    assert resolve_country("") is None
    assert resolve_country("   ") is None


def test_lowercase_slugs_resolve_only_to_country_level_names() -> None:
    # Reuters PLACES slugs are lower case; a town that shares an ordinary word must not match.
    assert resolve_country("china") == "CHN"
    assert resolve_country("west germany") == "DEU"
    assert resolve_country("ussr") == "RUS"
    assert resolve_country("usa") == "USA"
    assert resolve_country("paris") is None


def test_georgia_is_decided_by_the_article() -> None:
    us = "Georgia officials met in Atlanta on Monday. Neighbouring Alabama said it would help."
    ge = "Georgia said Russia had moved troops. Officials in Tbilisi condemned the move."
    assert resolve_country("Georgia", context=us, start=0) == "USA"
    assert resolve_country("Georgia", context=ge, start=0) == "GEO"
    assert resolve_country("Georgia") == "GEO"  # no context: the country


def test_paris_texas_and_london_ontario() -> None:
    texas = (
        "Storms hit north Texas overnight. In Paris, the mayor said Lamar County "
        "roads were closed, and Dallas sent crews."
    )
    start = texas.index("Paris")
    assert resolve_country("Paris", context=texas, start=start) == "USA"
    assert resolve_country("Paris, Texas") == "USA"
    ontario = "LONDON, Ont. - City council in London voted on Tuesday, Ontario officials said."
    assert resolve_country("London", context=ontario, start=ontario.index("London v")) == "CAN"
    assert resolve_country("London") == "GBR"


def test_country_name_used_as_a_town_in_local_news() -> None:
    text = (
        "A Lebanon woman was charged on Friday, the sheriff's office said. "
        "Lebanon police said she lives near Harrisburg, Pa."
    )
    assert resolve_country("Lebanon", context=text, start=2) == "USA"
    world = "Israel and Lebanon exchanged fire near the border, officials in Beirut said."
    assert resolve_country("Lebanon", context=world, start=world.index("Lebanon")) == "LBN"


def test_common_nouns_are_not_places() -> None:
    # "Council" (Idaho) and "Police" (Poland) are small towns, but on their own they are nouns.
    assert resolve_country("Council") is None
    assert resolve_country("Police") is None
    assert resolve_country("Council Bluffs") == "USA"


def test_local_us_article_reads_paris_as_the_texas_town() -> None:
    text = (
        "Lamar County sales tax still booming. Paris and Roxton continue to reap sales tax "
        "benefits from the construction of natural gas pipelines through Lamar County, "
        "Texas. Paris showed a 22 percent increase in January, the comptroller said at "
        "7 p.m. Tuesday."
    )
    assert resolve_country("Paris", context=text, start=text.index("Paris")) == "USA"
    assert resolve_country("Roxton", context=text, start=text.index("Roxton")) == "USA"


def test_london_with_ontario_is_canadian() -> None:
    text = (
        "City Hall Digest. London city council will hire outside experts to defend its "
        "rejection of a clinic in north London. Developers have appealed to the Ontario "
        "Municipal Board, and Toronto lawyers will argue the case."
    )
    assert resolve_country("London", context=text, start=text.index("London")) == "CAN"


def test_street_address_and_dateline_make_a_country_name_a_town() -> None:
    obit = (
        "Services will be held Tuesday at 11:45 in The Church of The Brethren, "
        "400 S. Locust St., Lebanon. Interment in Indiantown Gap National Cemetery."
    )
    assert resolve_country("Lebanon", context=obit, start=obit.index("Lebanon")) == "USA"
    ap = (
        "Prosecution rests in Ohio bathtub drowning trial. LEBANON (AP) — A forensic "
        "pathologist testified in the trial of a Warren County man on Friday."
    )
    assert resolve_country("LEBANON", context=ap, start=ap.index("LEBANON")) == "USA"
    assert resolve_country("Lebanon") == "LBN"


def test_qualified_dateline_gives_a_town_the_gazetteer_lacks() -> None:
    text = "Peabody closing coal mine. RIDGE FARM, Ill. (AP) — Peabody Energy says it is closing."
    assert resolve_country("RIDGE FARM", context=text, start=text.index("RIDGE")) == "USA"


def test_british_local_news_keeps_small_places_british() -> None:
    text = (
        "Ever-popular Mr Ice Cream dies aged 72. Cambridge's Mr Ice Cream has died. He sold "
        "ice cream on Chesterton Road and at Cherry Hinton Hall for 40 years, and the "
        "council said the city would miss him. He came to England from Italy and worked "
        "near Newmarket, Suffolk. Tributes were paid by the Cambridge MP and councillors; "
        "a funeral will be held on 5 March at 2pm."
    )
    for name in ("Chesterton", "Cherry Hinton"):
        assert resolve_country(name, context=text, start=text.index(name)) == "GBR"


def test_surnames_and_prefixed_names_are_not_places() -> None:
    # "Alfie Evans" is a person, not Evans County, Georgia; "St. Paris" (Ohio) is not Paris.
    text = (
        "Pope Francis tweeted prayers for Alfie Evans. Alfie Evans is being treated in "
        "Liverpool, northern England, and his parents want him moved to a hospital in Rome."
    )
    assert resolve_country("Rome", context=text, start=text.index("Rome")) == "ITA"
    ohio = (
        "Family mourns four children. ST. PARIS — A fire killed four children in St. Paris, "
        "according to the Champaign County Sheriff's Office in Ohio, at 3 a.m. Saturday."
    )
    assert resolve_country("St. Paris", context=ohio, start=ohio.index("St. Paris")) == "USA"
    assert resolve_country("Czechs") == "CZE"


def test_iso_helpers() -> None:
    assert country_name("RUS") == "Russia"
    assert country_name("USA") == "United States"
    assert country_name("REG:WEST") == REGIONS["REG:WEST"]
    assert iso3_to_numeric("USA") == "840"
    assert iso3_to_numeric("AFG") == "004"
    assert iso3_to_numeric("XKX") is None
    assert iso3_to_numeric("REG:EUROPE") is None
    assert iso3_to_numeric(None) is None
    assert is_region("REG:EU") and not is_region("DEU") and not is_region(None)


def test_resolver_labels_and_home_country_fallback() -> None:
    text = (
        "The White House said Chelsea fans travelled from Atlanta to Smallvillex, Georgia, "
        "where Smallvillex police met them."
    )
    spans = [
        (text.index("White House"), text.index("White House") + 11, "White House", "ORG"),
        (text.index("Chelsea"), text.index("Chelsea") + 7, "Chelsea", "ORG"),
        (text.index("Smallvillex"), text.index("Smallvillex") + 11, "Smallvillex", "GPE"),
        (text.index("Georgia"), text.index("Georgia") + 7, "Georgia", "GPE"),
    ]
    assert CountryResolver().resolve_article(text, spans) == ["USA", None, "USA", "USA"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.text(max_size=40),
    context=st.none() | st.text(max_size=200),
    start=st.none() | st.integers(min_value=-5, max_value=300),
)
def test_arbitrary_strings_never_raise(text: str, context: str | None, start: int | None) -> None:
    code = resolve_country(text, context=context, start=start)
    assert code is None or (len(code) == 3 and code.isupper()) or is_region(code)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=200), data=st.data())
def test_resolve_article_arbitrary_spans(text: str, data: st.DataObject) -> None:
    spans = data.draw(
        st.lists(
            st.tuples(
                st.integers(0, 250),
                st.integers(0, 250),
                st.text(max_size=20),
                st.sampled_from(["GPE", "LOC", "NORP", "ORG", "FAC", "PERSON", "X"]),
            ),
            max_size=5,
        )
    )
    out = CountryResolver().resolve_article(text, spans)
    assert len(out) == len(spans)


def test_seed_article_spans_resolve_to_the_four_countries(nlp) -> None:
    text = SEED.read_text(encoding="utf-8")
    doc = nlp(text)
    spans = [
        (e.start_char, e.end_char, e.text, e.label_)
        for e in doc.ents
        if e.label_ in {"GPE", "NORP", "LOC"}
    ]
    codes = CountryResolver().resolve_article(text, spans)
    countries = {c for c in codes if c and not is_region(c)}
    assert countries == {"CHN", "RUS", "UKR", "USA"}
    west = [c for (_, _, surface, _), c in zip(spans, codes, strict=True) if "West" in surface]
    assert west and all(is_region(c) for c in west)


def test_arabic_names_without_their_article_and_leading_marks() -> None:
    # GeoNames writes "‘Afrīn" and "Al Qāmishlī"; news writes "Afrin" and "Qamishli".
    text = (
        "Turkish forces pressed into the Kurdish enclave of Afrin for a fourth day. A "
        "Kurdish official said Turkey also fired on Qamishli, a city in northeastern Syria."
    )
    for name in ("Afrin", "Qamishli"):
        assert resolve_country(name, context=text, start=text.index(name)) == "SYR"


def test_index_cache_removes_stale_pickles(tmp_path) -> None:
    from workbench.base.cache import cached_pickle

    stale = tmp_path / "gazetteer-0123456789abcdef.pickle"
    other = tmp_path / "vega-bundle.js"
    odd = tmp_path / "gazetteer-notes.pickle"
    places = tmp_path / "places-0123456789abcdef.pickle"  # another index's file
    for p in (stale, other, odd, places):
        p.write_text("x")
    current = tmp_path / "gazetteer-fedcba9876543210.pickle"
    builds = []

    def build() -> dict[str, int]:
        builds.append(1)
        return {"built": len(builds)}

    assert cached_pickle(current, build) == {"built": 1}
    assert not stale.exists()
    assert current.exists() and other.exists() and odd.exists() and places.exists()
    assert cached_pickle(current, build) == {"built": 1} and len(builds) == 1
    fresh = tmp_path / "missing" / "gazetteer-fedcba9876543210.pickle"
    assert cached_pickle(fresh, build) == {"built": 2} and fresh.exists()


def test_acronyms_the_article_defines_or_qualifies() -> None:
    za = (
        "Mining affects the livelihoods of millions of South Africans. That SA holds "
        "unparalleled reserves of platinum is well known."
    )
    assert resolve_country("SA", context=za, start=za.index("SA ")) == "ZAF"
    au = "Adelaide is the capital of South Australia. SA voters go to the polls in March."
    assert resolve_country("SA", context=au, start=au.index("SA ")) == "AUS"
    nj = "The Allendale Woman's Club of New Jersey is a member of the NJ State Federation."
    assert resolve_country("NJ", context=nj, start=nj.index("NJ")) == "USA"
    sc = "HORRY COUNTY, SC (WMBF) - A homeless man and his dog stand by the road."
    assert resolve_country("SC", context=sc, start=sc.index("SC")) == "USA"
    assert resolve_country("SA") is None  # no article: an unknown acronym stays unknown


def test_possessive_country_and_in_place_locate_a_name() -> None:
    race = (
        "Thunder Snow won the Dubai World Cup in Meydan by five lengths over the USA's West "
        "Coast. The Emirati colt kept West Coast at bay over the final furlong."
    )
    for i in (race.index("West Coast"), race.rindex("West Coast")):
        assert resolve_country("West Coast", context=race, start=i) == "USA"
    trade = (
        "China warned of a trade war, said Jon Taylor, a professor at the University of "
        "St. Thomas in Houston, Texas. Beijing said it would respond in kind."
    )
    name = "University of St. Thomas"
    assert resolve_country(name, context=trade, start=trade.index(name)) == "USA"
    spans = [(trade.index(name), trade.index(name) + len(name), name, "FAC")]
    assert CountryResolver().resolve_article(trade, spans) == ["USA"]
    # an organisation's possessive is no place; "St. Gregory of Narek in Vatican" places
    # the statue, not Narek; a weak place yields to the article's home country.
    org = "Dominica's OAS envoy spoke. Trinidad missed a meeting at the OAS in Washington."
    assert resolve_country("OAS", context=org, start=org.rindex("OAS")) == "USA"
    kenya = (
        "Kenya has received many tourists, most of whom troop to Kogelo in Nyanza province "
        "to visit the ancestral home. Nairobi and Mombasa hotels in Kenya are full."
    )
    assert resolve_country("Kogelo", context=kenya, start=kenya.index("Kogelo")) == "KEN"


def test_caption_name_is_no_dateline_and_a_named_state_outweighs_a_hamlet_abroad() -> None:
    # "JEWELL:" is a photo credit (Jewell County, Kansas), not a dateline; "NSW" is the
    # only other evidence, and Glenrock (a Wyoming hamlet in GeoNames) is the Newcastle park.
    text = (
        "JEWELL: Boyd Carney, from NSW National Parks and Wildlife Service, on the shore of "
        "Glenrock Lagoon. In a fast-growing city, Glenrock is a much-needed escape valve."
    )
    for name in ("Glenrock", "Glenrock Lagoon"):
        assert resolve_country(name, context=text, start=text.index(name)) == "AUS"
    # a dateline of a bare county name with a dash still counts ("FALLS VILLAGE—")
    ct = "Board approves budget. FALLS VILLAGE—The Region 1 Board of Education met Monday."
    from workbench.resolve.countries import _article_context

    assert _article_context(ct).dateline[0] == "USA"
    assert _article_context(text).dateline is None


def test_a_surname_stays_a_person_throughout_the_article() -> None:
    # "Connie Yates" makes every later "Yates" the mother, not Yates County, New York.
    text = (
        "Alfie Evans's parents, Tom Evans and Connie Yates, want to take their son to the "
        "Bambino Gesu hospital in Rome. Yates said the family would keep fighting. The "
        "British courts have ruled against them; London's High Court heard the case again, "
        "and the United States offered help."
    )
    assert resolve_country("Rome", context=text, start=text.index("Rome")) == "ITA"
    from workbench.resolve.countries import _article_context

    assert "yates" not in _article_context(text).by_key


def test_compass_part_of_a_county_is_the_county() -> None:
    # "West Surrey" is part of Surrey (England), not the city of Surrey, British Columbia.
    text = (
        "Hampshire racing driver Rob Collard drives for West Surrey Racing in the British "
        "Touring Car Championship, which starts on 7 April at Brands Hatch."
    )
    assert resolve_country("West Surrey", context=text, start=text.index("West Surrey")) == "GBR"


def test_a_state_named_in_passing_does_not_make_a_world_city_its_hamlet() -> None:
    # London, California (under 2,000 people) is not the designer's London.
    text = (
        "The skirt sold out in California and New York stores. It was designed by a Spanish "
        "artist who is based in London, and it has since been sold in Stockholm."
    )
    assert resolve_country("London", context=text, start=text.index("London")) == "GBR"


def test_a_shared_state_abbreviation_is_the_state_of_the_articles_towns() -> None:
    # "WA" is Washington or Western Australia; Rockingham and Safety Bay have towns only in
    # Western Australia, and the treatment plant the gazetteer lacks falls back to Australia.
    text = (
        "The Water Corporation warned people not to swim near an outlet off Rockingham, and "
        "dead fish washed up on the Safety Bay foreshore on March 28. Wastewater in WA is "
        "diluted before release; a $158 million upgrade of the Woodman Point plant is due."
    )
    for name in ("WA", "Rockingham", "Woodman Point"):
        assert resolve_country(name, context=text, start=text.index(name)) == "AUS"
    us = "Spokane and Tacoma voters backed the levy. Turnout in WA was high, officials said."
    assert resolve_country("WA", context=us, start=us.index("WA")) == "USA"


def test_iso_codes_are_codes_only_when_given_as_one() -> None:
    text = (
        "Marchers from BLM filled the street in Toronto, and CAN and ARE were the words on "
        "the signs. Canada's police said the crowd was peaceful."
    )
    assert resolve_country("BLM") == "BLM"  # an explicit code
    assert resolve_country("CAN") == "CAN"
    for word in ("BLM", "CAN", "ARE"):
        assert resolve_country(word, context=text, start=text.index(word)) is None
    spans = [(text.index("BLM"), text.index("BLM") + 3, "BLM", "ORG")]
    spans.append((text.index("CAN"), text.index("CAN") + 3, "CAN", "GPE"))
    assert CountryResolver().resolve_article(text, spans) == [None, None]
    assert resolve_country("USA", context=text, start=0) == "USA"  # written as a name


def test_a_saints_church_is_no_mention_of_the_town() -> None:
    assert resolve_country("St. John's") == "ATG"
    assert resolve_country("St. John's Church") is None
    text = "The president walked from the White House to St. John's Church in Washington."
    start = text.index("St. John's")
    assert resolve_country("St. John's Church", context=text, start=start) == "USA"


def test_georgia_in_a_us_state_race_is_the_state() -> None:
    race = (
        "The Senate run-off in Georgia pits David Perdue against Jon Ossoff. Ossoff rallied "
        "supporters in Atlanta, and Stacey Abrams campaigned in Savannah and Macon."
    )
    assert resolve_country("Georgia", context=race, start=race.index("Georgia")) == "USA"
    war = "Georgia and Russia fought over South Ossetia; Tbilisi says Moscow lied."
    assert resolve_country("Georgia", context=war, start=0) == "GEO"
    # The state's votes go to the USA, so an unknown place of the race article is American.
    spans = [(race.index("Georgia"), race.index("Georgia") + 7, "Georgia", "GPE")]
    assert CountryResolver().resolve_article(race, spans) == ["USA"]


def test_explain_lists_candidates_scores_and_features() -> None:
    text = "PARIS, Texas (AP) - The Paris school board met on Tuesday in Lamar County."
    out = resolve_country("Paris", context=text, start=text.index("Paris school"), explain=True)
    assert out["answer"] == "USA"
    codes = [c["code"] for c in out["candidates"]]
    assert {"USA", "FRA"} <= set(codes)
    usa = next(c for c in out["candidates"] if c["code"] == "USA")
    assert usa["features"]["rules_pick"] == 1.0
    assert usa["features"]["dateline_country"] == 1.0
    fra = next(c for c in out["candidates"] if c["code"] == "FRA")
    assert fra["features"]["prior"] > usa["features"]["prior"]  # France's Paris is bigger
    assert out["decided_by"] in {"scored", "ranker"}
    assert resolve_country("Paris", context=text, start=text.index("Paris school")) == "USA"
    assert resolve_country("Qwertyvillez", explain=True) == {
        "answer": None,
        "decided_by": "none",
        "candidates": [],
    }


def test_learned_ranker_file_matches_the_features_and_is_opt_in(monkeypatch) -> None:
    import json

    from workbench.resolve import countries

    spec = json.loads(countries.RANKER_PATH.read_text(encoding="utf-8"))
    assert tuple(spec["features"]) == countries.RANK_FEATURES
    assert countries.RANKER_PATH.stat().st_size < 200_000
    text = "PARIS, Texas (AP) - The Paris school board met on Tuesday in Lamar County."
    start = text.index("Paris school")
    countries._ranker.cache_clear()
    try:
        monkeypatch.setenv("WORKBENCH_COUNTRY_RANKER", "1")
        assert countries._ranker() is not None
        out = resolve_country("Paris", context=text, start=start, explain=True)
        assert out["decided_by"] == "ranker"
        scores = {c["code"]: c["ranker_score"] for c in out["candidates"]}
        assert scores["USA"] > scores["FRA"]
        assert out["answer"] == "USA"
        monkeypatch.setenv("WORKBENCH_COUNTRY_RANKER", "0")
        countries._ranker.cache_clear()
        assert countries._ranker() is None
    finally:
        countries._ranker.cache_clear()


def test_weak_cue_needles_never_skip_a_match():
    """A cue's regex is skipped when none of its needles is in the text, so every text
    one of its matches is found in must hold a needle: checked on the sample article and,
    when ../shared is present, on every LGL and GeoVirus article."""
    import xml.etree.ElementTree as ET

    from conftest import SHARED

    from workbench.resolve.countries import _WEAK_CUES

    texts = [SEED.read_text(encoding="utf-8")]
    gold = SHARED / "gold" / "geoparsing"
    for name, tag in (("lgl.xml", "text"), ("GeoVirus.xml", "text")):
        if (gold / name).exists():
            texts += [
                a.findtext(tag) or "" for a in ET.parse(gold / name).getroot().iter("article")
            ]
    matched = 0
    for pattern, _group, needles in _WEAK_CUES:
        for text in texts:
            for m in pattern.finditer(text):
                matched += 1
                if needles:
                    assert any(s in m.group() for s in needles), (pattern.pattern, m.group())
    assert matched > 0


def test_fast_scans_find_the_same_matches_as_the_plain_regexes():
    """The cue counts read near their anchors, the two-branch local scan and the regexes
    whose boundary test moved after the first letter give what the plain regexes give: on
    the sample article, on edge cases and, when ../shared is present, on every LGL and
    GeoVirus article."""
    import re
    import xml.etree.ElementTree as ET

    from conftest import SHARED

    from workbench.resolve import context as C

    texts = [SEED.read_text(encoding="utf-8")]
    texts += [
        "Call (555) 123-4567 or 111-222-333-4444, NJ 07001; AB 12345x. 7:30 a.m. 10.30pm 9am",
        "On March 21st, 21 March, May 5. 3rd Sept the Borough Council and County Council met.",
        "Town of Lebanon police, the Township of Wall, City of Dublin, Mexico City police",
        "S.G. Warburg and Co Ltd, the Piedmont Aviation Inc; head of Acme Corp; X.Of Acme Inc",
        "the USA's West Coast, Britain's Lake District; 3M's Post-it; O'Neill's Bar",
    ]
    gold = SHARED / "gold" / "geoparsing"
    for name in ("lgl.xml", "GeoVirus.xml"):
        if (gold / name).exists():
            texts += [
                a.findtext("text") or "" for a in ET.parse(gold / name).getroot().iter("article")
            ]
    plain_owner = re.compile(C._OWNER.pattern.replace("([A-Z](?<!\\w.)", "\\b([A-Z]", 1))
    head = "[A-Z](?<![\\w.].)(?<!\\bof .)(?:\\.(?:[A-Z]\\.)+|[\\w'’&\\-]*)"
    plain_org = re.compile(
        "(?<![\\w.])(?<!\\bof )" + C._ORG_WORD + C._ORG_RUN.pattern.removeprefix(head)
    )
    assert plain_owner.pattern != C._OWNER.pattern and plain_org.pattern != C._ORG_RUN.pattern

    def spans(it):
        return [(m.span(), m.groups()) for m in it]

    found = 0
    for text in texts:
        assert spans(C._OWNER.finditer(text)) == spans(plain_owner.finditer(text))
        assert spans(C._ORG_RUN.finditer(text)) == spans(plain_org.finditer(text))
        local = [
            (
                m.group(1) or m.group(2),
                m.start(1) if m.group(1) else m.start(2),
                m.end(),
                bool(m.group(1)),
            )
            for m in C._LOCAL_SCAN.finditer(text)
        ]
        assert C._local_scan(text) == local
        for i, (pattern, _group, _needles) in enumerate(C._WEAK_CUES):
            if C._CUE_ANCHORS[i] is not None:
                n = len(pattern.findall(text))
                assert C._cue_count(i, text) == n, (pattern.pattern, text[:60])
                found += n
    assert found > 0


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=" \t\n'\"’‘`“”–—()[]{}<>*#,;:!?.-sSthTHEeab\u017f\u00e9", max_size=14))
def test_clean_returns_a_clean_surface_unchanged(surface: str) -> None:
    """``_clean``'s shortcut (no step would change the surface) gives what its five steps
    give, on strings made of the characters those steps look at."""
    import re

    from workbench.resolve import gazetteer as G

    s = G._WS.sub(" ", surface.translate(G._QUOTES)).strip()
    s = G._THE.sub("", G._POSS.sub("", G._EDGE.sub("", s)))
    assert G._clean.__wrapped__(surface) == G._EDGE.sub("", s)
    text = 'Paris, Ky. (AP) - He left.\nThen "Why?" she asked. (It was 3 p.m.) Done'
    ends = [m.end() for m in re.finditer(r"[.!?][\"'”’)]*\s+(?=[\"“‘(]?[A-Z0-9])|\n", text)]
    from workbench.resolve import context as C

    assert [m.end() for m in C._SENTENCE_END_FAST.finditer(text)] == ends and len(ends) == 4


def test_saint_names_and_every_towns_alternate_names_are_indexed() -> None:
    # GeoNames writes "Saint Albans"; text writes "St. Albans" (the West Virginia city).
    text = "Mounds were built from St. Albans to Kanawha City, West Virginia, by the Adena."
    assert resolve_country("St. Albans", context=text, start=text.index("St. Albans")) == "USA"
    assert resolve_country("Auschwitz") == "POL"  # an alternate name of Oswiecim (34k people)
    assert resolve_country("St. John's Church") is None  # an alternate name that is a building


def test_a_town_qualified_by_a_state_it_has_no_reading_in_is_a_town_of_that_state() -> None:
    text = "The truck was pulled over in Stroud, Ontario, Canada, on Tuesday."
    assert resolve_country("Stroud") == "GBR"
    assert resolve_country("Stroud", context=text, start=text.index("Stroud")) == "CAN"
    spans = [(text.index("Stroud"), text.index("Stroud") + 6, "Stroud", "GPE")]
    assert CountryResolver().resolve_article(text, spans) == ["CAN"]
    # A list of states is no qualifier; a country-level name keeps its country.
    listed = "Flights resumed to Guam, Louisiana and Nevada after the storm."
    assert resolve_country("Guam", context=listed, start=listed.index("Guam")) == "GUM"


def test_a_towns_demonym_follows_the_town_the_article_names() -> None:
    assert resolve_country("Londoner") == "GBR"
    text = (
        "LONDON, Ont. - City council met on Tuesday in London, Ontario. Every Londoner will "
        "get a chance to weigh in, the Middlesex County clerk said."
    )
    assert resolve_country("Londoner", context=text, start=text.index("Londoner")) == "CAN"
    spans = [(text.index("Londoner"), text.index("Londoner") + 8, "Londoner", "NORP")]
    assert CountryResolver().resolve_article(text, spans) == ["CAN"]


def test_republic_of_congo_is_congo_brazzaville_and_its_short_name_follows() -> None:
    text = (
        "Nine people have died from Ebola in the Republic of Congo this month, near the "
        "Gabon border. The government of Congo has announced a quarantine. Zaire/Congo has "
        "seen the most outbreaks."
    )
    assert resolve_country("Republic of Congo") == "COG"
    assert resolve_country("Congo", context=text, start=text.index("Congo has")) == "COG"


def test_a_countrys_possessive_and_a_city_named_after_it_are_no_local_cues() -> None:
    text = (
        "Western Australian authorities say a toxin killed the birds near Esperance. Birds "
        "Australia, the group dedicated to the study of Australia's native birds, said so."
    )
    assert resolve_country("Australia", context=text, start=text.index("Australia's")) == "AUS"
    text = (
        "Cases were reported in Texas, California and Missouri. Mexican officials closed "
        "schools in Mexico City, and the outbreak in Mexico is deteriorating."
    )
    assert resolve_country("Mexico", context=text, start=text.index("Mexico is")) == "MEX"


def test_a_name_used_as_a_local_unit_is_the_unit_of_the_articles_country() -> None:
    text = (
        "Carbon monoxide killed three people in a caravan park in Cornwall in South West "
        "England. Devon and Cornwall police were alerted, and Cornwall Fire and Rescue "
        "Service attended."
    )
    start = text.index("Cornwall Fire")
    assert resolve_country("Cornwall", context=text, start=start) == "GBR"
    text = (
        "The American Legion will lead the parade on Memorial Day. In 2006, Dublin City "
        "Council committed $250,000 to the project, the Dublin Mayor said."
    )
    start = text.index("Dublin Mayor")
    assert resolve_country("Dublin") == "IRL"
    assert resolve_country("Dublin", context=text, start=start) == "USA"


def test_a_town_joined_to_a_county_is_the_town_where_both_lie() -> None:
    text = (
        "Within the next week, all residents of Paris and Henry County will receive a letter "
        "from the Paris-Henry County Rescue Squad asking for a donation."
    )
    assert resolve_country("Paris", context=text, start=text.index("Paris")) == "USA"
    text = "Road work is expected this week in Athens-Clarke County: West Broad Street is closed."
    assert resolve_country("Athens", context=text, start=text.index("Athens")) == "USA"


def test_a_country_named_in_the_names_sentence_supports_its_reading() -> None:
    def bra_score(text: str) -> float:
        start = text.index("Santa Catarina")
        ex = resolve_country("Santa Catarina", context=text, start=start, explain=True)
        assert ex["answer"] == "BRA"
        return next(c["rule_score"] for c in ex["candidates"] if c["code"] == "BRA")

    same = "Cases rose in Texas. Of Brazil's cases, four are in Santa Catarina."
    apart = "Cases rose in Texas and Brazil. Of the cases, four are in Santa Catarina."
    assert bra_score(same) > bra_score(apart)


def test_a_pipeline_and_an_ocean_are_no_mentions_of_a_country() -> None:
    # "Nord" is a region of Burkina Faso, France and Haiti; "Indian" is India's demonym.
    assert resolve_country("Nord") == "BFA"
    text = "Gas flows through the Nord Stream 1 pipeline fell, and a yacht left the Indian Ocean."
    for name in ("Nord Stream 1", "Indian Ocean", "Irish Sea", "Norte Chico"):
        assert resolve_country(name) is None, name
    assert resolve_country("Nord Stream 1", context=text, start=text.index("Nord")) is None


def test_a_state_listed_among_states_of_one_country_is_that_countrys() -> None:
    text = (
        "Cases were reported in New Jersey, New York, Ohio and Texas, most of them in "
        "Newark, Trenton and Princeton, New Jersey. The FDA in Washington warned consumers "
        "in the United States. Illnesses in Canada occurred in British Columbia, Alberta, "
        "Manitoba, Ontario and New Brunswick."
    )
    start = text.index("New Brunswick")
    assert resolve_country("New Brunswick", context=text, start=start) == "CAN"
    spans = [(start, start + 13, "New Brunswick", "GPE")]
    assert CountryResolver().resolve_article(text, spans) == ["CAN"]


def test_a_small_states_parish_does_not_outweigh_a_big_city_of_its_name() -> None:
    # Seychelles' "Saint Louis" and Antigua's "Saint Paul" parishes share a key with the US
    # cities; a subdivision weighs like its share of its country's people.
    for city in ("St. Louis", "St. Paul", "Saint Louis"):
        assert resolve_country(city) == "USA", city
    text = "ST. LOUIS, March 3 - Monsanto Co said it would sell its unit."
    assert resolve_country("ST. LOUIS", context=text, start=0) == "USA"
    assert resolve_country("Kherson") == "UKR"
    assert resolve_country("Bavaria") == "DEU"


def test_a_lone_words_reading_is_the_full_paths_and_skips_the_context_when_none(
    monkeypatch,
) -> None:
    from workbench.resolve import countries

    r = CountryResolver()
    words = ["Chinese", "Kremlin", "U.S.", "White House", "Council", "OIL", "RISES"]
    words += ["Paris, Texas", "Londoner", "Georgia", "St. Louis", "Nord Stream 1", "Indian"]
    full = {w: r.resolve_article(w, [(0, len(w), w, "ORG")])[0] for w in words}
    assert {w: r.resolve_word(w) for w in words} == full
    assert full["Chinese"] == "CHN" and full["Council"] is None
    # a word with no country-level reading is answered without an article context
    monkeypatch.setattr(countries, "_article_context", lambda text: 1 / 0)
    assert r.resolve_word("Council") is None and r.resolve_word("RISES") is None
    with pytest.raises(ZeroDivisionError):
        r.resolve_word("Chinese")


def test_ordinary_words_lists_the_planet_and_oceans_are_no_places() -> None:
    """A bare county name that the text also writes in lower case ("Power", Idaho's Power
    County) casts no vote; ", New York" inside a list of cities is no state of "Brussels";
    "Earth" is the world; an ocean gets no home-country guess."""
    from workbench.resolve.context import _article_context

    kremlin = (
        "Power supplies to Europe were discussed. Power engineers from Hungary and Russia met. "
        "We are very happy to welcome the Prime Minister of Hungary, Mr Orban, here in Moscow. "
        "The power grid and the nuclear power plant in Paks were on the agenda; the United "
        "States was not."
    )
    assert resolve_country("Moscow", context=kremlin, start=kremlin.index("Moscow")) == "RUS"
    speech = (
        "We are ready to look for the key to the end of the war in all possible formats: "
        "Paris, Berlin, Minsk. Istanbul, Geneva, Brussels, New York, Beijing - I don't care "
        "where in the world to negotiate peace in Ukraine."
    )
    usa = {a: v for a, v in _article_context(speech).admin.items() if a[0] == "USA"}
    assert usa == {("USA", "NY"): 2.0}  # "New York" itself; not "Brussels, New York"
    qualified = "Stroud, Ontario, Canada, and Bradford lie north of Toronto."
    assert _article_context(qualified).qualifiers[len("Stroud")] == ("CAN", "08")
    space = "The agencies will cooperate on remote sensing of the Earth and on Earth's climate."
    assert resolve_country("Earth", context=space, start=space.index("Earth")) == "REG:WORLD"
    sea = "Russian ships patrol the Arctic Ocean and the North Atlantic, far from Moscow."
    spans = [
        (sea.index(n), sea.index(n) + len(n), n, "LOC")
        for n in ("the Arctic Ocean", "the North Atlantic")
    ]
    assert CountryResolver().resolve_article(sea, spans) == [None, None]
    assert resolve_country("Atlantic City") == "USA"


def test_a_small_town_that_is_also_an_ordinary_word_is_the_word() -> None:
    """ "Homeland" (a town of 7,000 in California) in a speech that also writes "homeland"
    is the word, in both resolution paths; a small town with no lower-case twin stays."""
    speech = (
        "We are fighting for the Homeland. Every Ukrainian defends our homeland, Kyiv and "
        "Kharkiv, against Russia."
    )
    start = speech.index("Homeland")
    assert resolve_country("Homeland", context=speech, start=start) is None
    spans = [(start, start + len("Homeland"), "Homeland", "LOC")]
    assert CountryResolver().resolve_article(speech, spans) == [None]
    plain = "The fire reached Homeland and Perris in Riverside County, California."
    assert resolve_country("Homeland", context=plain, start=plain.index("Homeland")) == "USA"


def test_a_place_name_that_begins_a_companys_name_is_no_mention_of_the_place() -> None:
    """Reuters-21578 TRAIN: "Piedmont" (Piedmont Aviation Inc) is not Italy's Piedmont and
    "Midland" (Midland Bank Plc) no Canadian town, in the text path and in the span path
    (a one-word ORG tag elsewhere counts too); with its state named ("Midland, Texas") or
    as a state or big city ("Arizona Public Service Co") the name keeps its place."""
    usair = (
        "USAir Group Inc said Piedmont Aviation\nInc has agreed to be acquired for 69 dlrs "
        "per share.\n    The company, in a newspaper advertisement, said it has\nstarted a "
        "tender offer for all Piedmont shares at that price,\nand the Piedmont board, with "
        "two directors absent, has\nunanimously approved the bid."
    )
    at = usair.index("Piedmont shares")
    assert resolve_country("Piedmont", context=usair, start=at) is None
    assert resolve_country("Piedmont") == "ITA"
    midland = (
        "MIDLAND RIGHTS ISSUE STILL EXPECTED SAY ANALYSTS LONDON, March\n4 - Midland Bank "
        "Plc's <MDBL.L> 1986 results suggest its shares\nshow further recovery potential, "
        "although a rights issue is\nstill expected in the next few months, banking analysts "
        "said.\nMidland Chairman Sir Donald Barron would not comment on the\nrights question "
        "at a news conference."
    )
    at = midland.index("Midland Chairman")
    spans = [(at, at + 7, "Midland", "GPE"), (0, 7, "MIDLAND", "ORG")]
    assert CountryResolver().resolve_article(midland, spans)[0] is None
    # a company's name tagged ORG counts in the span path; a one-word ORG tag does not
    plain = "Midland reported a profit of 434 mln stg, dealers in London said. Midland rose."
    at = plain.rindex("Midland")
    spans = [(0, 7, "Midland", "ORG"), (at, at + 7, "Midland", "GPE")]
    assert CountryResolver().resolve_article(plain, spans)[1] == "CAN"
    spans[0] = (0, 7, "Midland Bank Plc", "ORG")
    assert CountryResolver().resolve_article(plain, spans)[1] is None
    texas = (
        "It sold the properties to Parker and Parsley Petroleum Co, Midland, Texas. "
        "Midland Bank Plc was not involved."
    )
    at = texas.index("Midland, Texas")
    assert resolve_country("Midland", context=texas, start=at) == "USA"
    power = "Arizona Public Service Co said Arizona regulators approved the rate."
    at = power.index("Arizona regulators")
    assert resolve_country("Arizona", context=power, start=at) == "USA"


def test_a_dateline_names_its_place_whatever_companies_bear_its_name() -> None:
    """Reuters-21578 TRAIN: the dateline "NORFOLK, Va." of a Norfolk Southern Corp story
    is the city, as the resolve stage probes it (the place, a comma, the text)."""
    story = (
        "Norfolk Southern Corp said it\ncompleted the purchase of 112 mln tons of "
        "recoverable coal\nreserves in Pike County, Ky., from Rouge Steel."
    )
    probe = "Norfolk, " + story
    spans = [(0, len("Norfolk"), "Norfolk", "GPE")]
    assert CountryResolver().resolve_article(probe, spans) == ["USA"]
    assert resolve_country("Norfolk", context=probe, start=0) == "USA"
    later = probe.index("Norfolk", 3)
    assert resolve_country("Norfolk", context=probe, start=later) is None


def test_a_groups_name_is_not_read_through_a_town_one_of_its_words_names() -> None:
    """ru-ua-2022 (Zelenskyy's office): "Roman Mashovets", tagged NORP, is a deputy head of
    the Office, not a Romanian (through the town of Roman); "Romanian" stays Romania's."""
    text = (
        "Deputy Head of the Office of the President Roman Mashovets reported on the "
        "situation at the front. Romanian partners joined the call."
    )
    at = text.index("Roman Mashovets")
    spans = [
        (at, at + len("Roman Mashovets"), "Roman Mashovets", "NORP"),
        (text.index("Romanian"), text.index("Romanian") + 8, "Romanian", "NORP"),
    ]
    assert CountryResolver().resolve_article(text, spans) == [None, "ROU"]


def test_a_big_citys_exonym_is_only_a_little_below_its_main_name() -> None:
    """Zelenskyy's releases: "Frankfurt" (Frankfurt am Main, 650k) and "Odessa" (Odesa,
    1M) outrank the towns that bear the name as their own (Odessa, Texas: 114k);
    "Zion" (an alternate name of Jerusalem) does not become a Jerusalem exonym."""
    assert resolve_country("Frankfurt") == "DEU"
    assert resolve_country("Odessa") == "UKR"
    text = "Ukraine's delegation flew to Frankfurt, then met investors in Germany."
    assert resolve_country("Frankfurt", context=text, start=text.index("Frankfurt")) == "DEU"
    utah = "Zion National Park in Utah drew visitors from St. George and Springdale."
    assert resolve_country("Zion National Park", context=utah, start=0) == "USA"
