"""Stories on real Reuters items: a first take joins its full story through the lead bands,
an item inside a digest does not, and a wire correction joins the item it corrects."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import storied_wb, story_of_url

from workbench import Workbench
from workbench.annotate import stories, story_rules
from workbench.annotate.stories import StoryOptions, _pair_sizes, _series, bodies

PICKS = {  # key: (file, headline start, date)
    "iea_take": ("reut2-013.sgm", "IEA SEES ONE PCT GROWTH IN 1987 OECD OIL DEMAND", "1987-04-06"),
    "iea_full": ("reut2-013.sgm", "IEA SEES ONE PCT GROWTH IN 1987 OECD OIL DEMAND", "1987-04-05"),
    "elder_fix": ("reut2-011.sgm", "CORRECTED-ELDER-BEERMAN", None),
    "elder": ("reut2-011.sgm", "ELDER-BEERMAN STORES CORP <ELDR> 4TH QTR", None),
}


@pytest.fixture(scope="module")
def wire(tmp_path_factory: pytest.TempPathFactory):
    """The IEA's oil-demand report (Apr 5) and the short take of it filed the next day, the
    Elder-Beerman earnings note and its correction, and a digest made of the short take
    followed by 14 other items of those days."""
    from conftest import REUTERS, config_limits

    from workbench.ingest.load import Article, load_reuters

    if not REUTERS.exists():
        pytest.skip(f"needs {REUTERS} (the ../shared corpora are not present)")
    arts = {
        f: [a for a in load_reuters(REUTERS / f, config_limits()) if isinstance(a, Article)]
        for f in sorted({f for f, _, _ in PICKS.values()})
    }
    rows = {}
    for key, (f, head, date) in PICKS.items():
        a = next(
            a
            for a in arts[f]
            if (a.title or "").startswith(head) and (date is None or a.date.isoformat() == date)
        )
        rows[key] = {"title": a.title, "text": a.text, "date": a.date.isoformat(),
                     "source": "Reuters", "url": f"https://x.test/{key}"}  # fmt: skip
    others = [a.text for a in arts["reut2-013.sgm"] if len(a.text) > 600 and "IEA" not in a.text][
        :14
    ]
    rows["digest"] = {"title": "WORLD NEWS HIGHLIGHTS", "date": "1987-04-06",
                      "text": "\n".join([rows["iea_take"]["text"], *others]),
                      "source": "Digest", "url": "https://x.test/digest"}  # fmt: skip
    w = storied_wb(tmp_path_factory.mktemp("wire"), list(rows.values()))
    yield w
    w.close()


def _bands_shared(wb: Workbench, a: str, b: str) -> tuple[int, int]:
    """(own bands, lead bands) the two articles share."""
    got = wb.sql(
        "SELECT count(*) FILTER (WHERE x.band < ?) AS own, count(*) FILTER (WHERE x.band >= ?) "
        "AS lead FROM story_bands x JOIN story_bands y ON x.band = y.band AND x.key = y.key "
        "JOIN articles ax ON ax.article_id = x.article_id "
        "JOIN articles ay ON ay.article_id = y.article_id WHERE ax.url = ? AND ay.url = ?",
        [
            story_rules.LEAD_BAND0,
            story_rules.LEAD_BAND0,
            f"https://x.test/{a}",
            f"https://x.test/{b}",
        ],
    )
    return int(got.own[0]), int(got.lead[0])


def test_a_first_take_joins_its_full_story_through_the_lead_bands(wire):
    assert story_of_url(wire, "iea_take") == story_of_url(wire, "iea_full")
    own, lead = _bands_shared(wire, "iea_take", "iea_full")
    assert lead >= 1  # the two open alike
    # at Jaccard ~0.15 the text's own bands alone would rarely propose the pair
    out = wire.stories(lead=False, progress=False)
    assert out["signed"] == 0 and out["rebanded"] == out["articles"] == 5
    if own == 0:
        assert story_of_url(wire, "iea_take") != story_of_url(wire, "iea_full")
    wire.stories(lead=True, progress=False)
    assert story_of_url(wire, "iea_take") == story_of_url(wire, "iea_full")


def test_an_item_inside_a_digest_is_not_its_copy(wire):
    """The digest opens with the short take and contains all of it, but the take is under
    a tenth of it: the size-ratio guard keeps containment from counting."""
    assert _bands_shared(wire, "iea_take", "digest")[1] >= 1  # a candidate by its lead
    assert story_of_url(wire, "digest") not in {
        story_of_url(wire, "iea_take"),
        story_of_url(wire, "iea_full"),
    }
    wire.stories(min_ratio=0.0, progress=False)
    assert story_of_url(wire, "digest") == story_of_url(wire, "iea_take")
    wire.stories(min_ratio=0.1, progress=False)
    assert story_of_url(wire, "digest") != story_of_url(wire, "iea_take")


def test_a_wire_correction_joins_the_item_it_corrects(wire):
    """ "CORRECTED-" re-issue of an earnings note with two figures and the note changed:
    the figures and table rules alone (no re-issue rule, no learned verifier) keep it apart."""
    assert story_of_url(wire, "elder_fix") == story_of_url(wire, "elder")
    wire.stories(reissue=False, learned=False, progress=False)
    assert story_of_url(wire, "elder_fix") != story_of_url(wire, "elder")
    wire.stories(reissue=True, learned=True, progress=False)
    assert story_of_url(wire, "elder_fix") == story_of_url(wire, "elder")


def test_reissue_cues_are_headline_words_only():
    cues = bodies([""], k=5, titles=[" ".join(story_rules.REISSUE_CUES)])[0].title
    heads = bodies(["", "", ""], k=5, titles=["RPT - FED ADDS RESERVES", "FED ADDS RESERVES",
                                             "REPORTERS CORRECT A STORY"])  # fmt: skip
    masks = story_rules.cue_masks([b.title for b in heads], cues)
    assert masks[0] != 0 and masks[1] == 0 and masks[2] == 0
    opts = StoryOptions()
    n = np.array([len(heads[0].title)]), np.array([len(heads[1].title)])
    inter = np.array([len(np.intersect1d(heads[0].title, heads[1].title))])
    again = story_rules.reissue_pairs((*n, inter), (masks[:1], masks[1:2]), np.array([0.7]), opts)
    assert again.tolist() == [True]
    low = story_rules.reissue_pairs((*n, inter), (masks[:1], masks[1:2]), np.array([0.5]), opts)
    assert low.tolist() == [False]  # too little of the shorter text in the longer


LEARNED = {  # key: (file, headline start): a rewrite and two template notes (hand lists 6-7)
    "doyon": ("reut2-001.sgm", "LAC <LAC> INTERSECTS MORE GOLD AT DOYON MINE"),
    "doyon_rewrite": ("reut2-001.sgm", "MORE GOLD DETECTED AT DOYON MINE"),
    "grumman": ("reut2-006.sgm", "GRUMMAN<GQ> UNIT GETS 303.9 MLN DLR SDI CONTRACT"),
    "lockheed": ("reut2-006.sgm", "LOCKHEED <LK> UNIT GETS 304 MLN DLR SDI CONTRACT"),
}


@pytest.fixture(scope="module")
def grey(tmp_path_factory: pytest.TempPathFactory):
    """Two wordings of the Lac Minerals drilling report (Jaccard 0.56, containment 0.73)
    and the Grumman and Lockheed SDI contract notes, one template for two companies
    (Jaccard 0.59, containment 0.77): both pairs in the learned verifier's grey zone."""
    from conftest import REUTERS, config_limits

    from workbench.ingest.load import Article, load_reuters

    if not REUTERS.exists():
        pytest.skip(f"needs {REUTERS} (the ../shared corpora are not present)")
    arts = {
        f: [a for a in load_reuters(REUTERS / f, config_limits()) if isinstance(a, Article)]
        for f in sorted({f for f, _ in LEARNED.values()})
    }
    rows = []
    for key, (f, head) in LEARNED.items():
        a = next(a for a in arts[f] if (a.title or "").startswith(head))
        rows.append({"title": a.title, "text": a.text, "date": a.date.isoformat(),
                     "source": "Reuters", "url": f"https://x.test/{key}"})  # fmt: skip
    w = storied_wb(tmp_path_factory.mktemp("grey"), rows)
    yield w
    w.close()


def test_the_learned_verifier_joins_a_rewrite_and_keeps_a_template_apart(grey):
    assert story_of_url(grey, "doyon") == story_of_url(grey, "doyon_rewrite")
    assert story_of_url(grey, "grumman") != story_of_url(grey, "lockheed")
    pair = grey.sql("SELECT jaccard, containment, reissue FROM story_pairs").to_dict("records")
    assert any(p["jaccard"] < 0.8 and p["containment"] < 0.8 and p["reissue"] for p in pair)
    grey.stories(learned=False, progress=False)  # the rules alone leave the rewrite apart
    try:
        assert story_of_url(grey, "doyon") != story_of_url(grey, "doyon_rewrite")
    finally:
        grey.stories(learned=True, progress=False)


def test_the_opening_is_the_word_set_of_the_first_words(grey):
    """A body's opening holds the words of its first OPENING_WORDS words, whatever follows."""
    rows = grey.sql("SELECT text FROM articles ORDER BY article_id").to_dict("records")
    full = stories.bodies([r["text"] for r in rows], k=5)
    head = [" ".join(stories.words(r["text"])[: story_rules.OPENING_WORDS]) for r in rows]
    cut = stories.bodies(head, k=5)
    for f, c, h in zip(full, cut, head, strict=True):
        assert 0 < len(f.opening) <= story_rules.OPENING_WORDS
        assert f.opening.tolist() == c.opening.tolist()
        assert len(f.opening) == len(set(h.split()))


def test_a_rewrite_keeps_its_opening_words_and_a_template_of_another_company_does_not(grey):
    got = grey.sql("SELECT url, title, text FROM articles").to_dict("records")
    by = {r["url"].rsplit("/", 1)[1]: r for r in got}
    keys = ["doyon", "doyon_rewrite", "grumman", "lockheed"]
    b = stories.bodies([by[k]["text"] for k in keys], k=5, titles=[by[k]["title"] for k in keys])
    sizes = stories._pair_sizes(b, b, np.array([0, 2]), np.array([1, 3]))
    x = story_rules.pair_features(sizes, np.zeros(2, dtype=bool))
    opening = x[:, story_rules.FEATURES.index("opening_jaccard")]
    assert opening[0] > opening[1]  # the Doyon rewrite's lede vs two companies' notes


def test_the_learned_verifier_reads_its_model_file():
    m = story_rules.verifier()
    assert m["features"] == list(story_rules.FEATURES) and len(m["coef"]) == len(m["features"])
    assert 0.5 <= m["threshold"] < 1.0
    x = np.zeros((2, len(story_rules.FEATURES)))
    x[0, story_rules.FEATURES.index("figure_share")] = 1.0  # a copy's figures all agree
    x[1, story_rules.FEATURES.index("no_title")] = 1.0
    z = x @ np.asarray(m["coef"]) + m["intercept"]
    want = 1 / (1 + np.exp(-z)) >= m["threshold"]
    assert (story_rules.verifier_accepts(x) == want).all()


def test_series_headlines_differ_only_in_numbers():
    heads = [
        ("Russia-Ukraine war: what we know on day 163 of the invasion",
         "Russia-Ukraine war: what we know on day 164 of the invasion", True),
        ("MIDWEST GRAIN FUTURES 12:40   EDT", "MIDWEST GRAIN FUTURES 12:50   EDT", True),
        ("U.S. TO SELL 13.2 BILLION DLRS IN BILLS", "U.S. TO SELL 12.8 BILLION DLRS IN BILLS", True),
        ("PEGASUS GOLD INC <PGULF> 4TH QTR NET", "CORRECTED - PEGASUS GOLD INC<PGULF> 4TH QTR NET",
         False),
        ("FED ADDS RESERVES", "FED ADDS RESERVES", False),
        ("DEATH TOLL RISES TO 40", "DEATH TOLL IN FLOODS RISES TO 52", False),
        ("Day 163", "", False),
    ]  # fmt: skip
    b = bodies([""] * 2 * len(heads), k=5, titles=[h for a, c, _ in heads for h in (a, c)])
    n = np.arange(0, 2 * len(heads), 2)
    got = _series(b, b, n, n + 1, _pair_sizes(b, b, n, n + 1)(2))
    assert got.tolist() == [w for _, _, w in heads]


@pytest.fixture(scope="module")
def days(tmp_path_factory: pytest.TempPathFactory):
    """The Guardian's "what we know on day 163" and "day 164" (carried-over paragraphs:
    Jaccard 0.54, containment 0.79): two issues of a series, not one story."""
    import csv

    from conftest import need_shared

    path = need_shared("corpora", "ru-ua-2022", "Guardians_Russia_Ukraine.csv")
    with open(path, encoding="utf-8", newline="") as fh:
        got = [r for r in csv.DictReader(fh) if re.search(r"what we know on day 16[34]\b",
                                                          r["headlines"])]  # fmt: skip
    rows = [{"title": r["headlines"], "text": r["articles"], "date": r["published"],
             "source": "Guardian", "url": f"https://x.test/day{r['headlines'].split()[-4]}"}
            for r in got]  # fmt: skip
    assert len(rows) == 2
    w = storied_wb(tmp_path_factory.mktemp("days"), rows)
    yield w
    w.close()


def test_two_issues_of_a_series_stay_apart(days):
    assert story_of_url(days, "day163") != story_of_url(days, "day164")
    t = days.sql("SELECT text, title FROM articles ORDER BY title")
    b = bodies(t["text"].tolist(), k=5, titles=t["title"].tolist())
    x = story_rules.pair_features(
        _pair_sizes(b, b, np.array([0]), np.array([1])), np.array([False])
    )
    assert story_rules.verifier_accepts(x).tolist() == [True]  # the model alone would take it
