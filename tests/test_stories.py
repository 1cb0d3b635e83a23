"""Stories (near-duplicates) on real 2022 articles: copies join, same-event stories do not."""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import RU_UA, storied_wb, story_of_url, write_jsonl

from workbench import Filter, Workbench
from workbench.annotate import stories
from workbench.annotate.stories import (
    StoryOptions,
    shingle_batch,
    shingles,
    signatures,
    similarity,
    trim_boilerplate,
)
from workbench.base import errors

GRINER_G = "Brittney Griner lawyers welcome prospect of Russia prisoner swap"
GRINER_NYT = "U.S. Offer to Swap Russian Arms Dealer for Griner"
LAVROV_G = "Russia may seek to occupy more territory in Ukraine"
LAVROV_NYT = "Russia Signals That It May Want a Bigger Chunk of Ukraine"


def _rows() -> list[dict[str, str]]:
    """Real Guardian/NYT articles (two same-day pairs on one event each, plus others)."""
    g = pd.read_csv(RU_UA / "Guardians_Russia_Ukraine.csv")
    n = pd.read_csv(RU_UA / "NYT_Russia_Ukraine.csv")
    out = []
    for df, outlet, titles in (
        (g, "Guardian", (GRINER_G, LAVROV_G)),
        (n, "NYT", (GRINER_NYT, LAVROV_NYT)),
    ):
        picked = df[df["headlines"].str.startswith(titles)]
        assert len(picked) == 2, titles
        others = df[~df.index.isin(picked.index)].head(6)
        for r in pd.concat([picked, others]).itertuples():
            date = str(r.published).replace("/", "-")[:10]
            out.append({"title": r.headlines, "text": r.articles, "date": date, "source": outlet})
    return out


def _wire_copy(row: dict[str, str]) -> dict[str, str]:
    """A reprint: new headline, byline + dateline + copyright lines, last paragraphs cut."""
    paras = [p for p in row["text"].split("\n") if p.strip()]
    keep = paras[: max(3, int(len(paras) * 0.7))]
    body = "\n\n".join(
        ["By Staff Reporter", f"MOSCOW (AP) — {keep[0]}", *keep[1:], "Copyright 2022 Wire Daily."]
    )
    day = pd.Timestamp(row["date"]) + pd.Timedelta(days=1)
    return {
        "title": "Griner swap talks: defence team cautiously hopeful",
        "text": body,
        "date": day.strftime("%Y-%m-%d"),
        "source": "Wire Daily",
    }


def _reworded(row: dict[str, str]) -> dict[str, str]:
    text = row["text"].replace("said", "stated", 2).replace("Russia", "Moscow", 1)
    return {
        "title": "Lavrov: Russia wants more of Ukraine",
        "text": text + "\n\nRead more: our full coverage of the war",
        "date": (pd.Timestamp(row["date"]) + pd.Timedelta(days=2)).strftime("%Y-%m-%d"),
        "source": "Wire Daily",
    }


@pytest.fixture(scope="module")
def syn(tmp_path_factory: pytest.TempPathFactory):
    if not RU_UA.exists():
        pytest.skip(f"needs {RU_UA} (the ../shared corpora are not present)")
    d = tmp_path_factory.mktemp("stories")
    rows = _rows()
    g_griner = next(r for r in rows if r["title"].startswith(GRINER_G))
    n_lavrov = next(r for r in rows if r["title"].startswith(LAVROV_NYT))
    rows += [_wire_copy(g_griner), _reworded(n_lavrov)]
    w = Workbench(d / "s.duckdb")
    w.ingest([write_jsonl(d / "wire.jsonl", rows)], source_name="x", progress=False)
    w.analyze(progress=False)
    yield w
    w.close()


def _id(wb: Workbench, source: str, title: str) -> str:
    return wb.sql(
        "SELECT article_id FROM articles WHERE source = ? AND starts_with(title, ?)",
        [source, title],
    ).iloc[0, 0]


def _story(wb: Workbench, aid: str) -> str:
    return wb.sql("SELECT story_id FROM story_clusters WHERE article_id = ?", [aid]).iloc[0, 0]


def test_boilerplate_lines_are_trimmed():
    text = (
        "By Jane Doe and John Roe\nLONDON, March 3 (Reuters) - Oil rose on Monday.\n"
        "Prices climbed further.\nCopyright 2022 The Associated Press. All rights reserved.\n"
        "Read more: oil markets"
    )
    assert trim_boilerplate(text) == "Oil rose on Monday.\nPrices climbed further."


def test_batch_signatures_are_datasketch_minhash_bit_for_bit():
    """The batch-vectorised shingles and MinHash equal the one-text-at-a-time shingles and
    datasketch's own affine32 MinHash, so stored signatures stay valid."""
    if not RU_UA.exists():
        pytest.skip(f"needs {RU_UA} (the ../shared corpora are not present)")
    from datasketch import MinHash

    texts = [r["text"] for r in _rows()] + ["", "too short", "By Jane Doe"]
    opts = StoryOptions()
    sets = shingle_batch(texts, opts.shingle)
    assert all(
        np.array_equal(a, shingles(t, opts.shingle)) for a, t in zip(sets, texts, strict=True)
    )
    assert len(sets[0]) > 100 and len(sets[-1]) == 0
    ref = MinHash(num_perm=opts.num_perm, seed=opts.seed, scheme="affine32")
    want = np.stack(
        [
            m.hashvalues
            for m in MinHash.generator(
                sets,
                num_perm=opts.num_perm,
                seed=opts.seed,
                hashfunc=int,
                permutations=ref.permutations,
                scheme="affine32",
            )
        ]
    )
    assert np.array_equal(signatures(sets, opts), want)


def test_trimmed_reheadlined_copy_joins_its_original(syn):
    orig = _id(syn, "Guardian", GRINER_G)
    copy = _id(syn, "Wire Daily", "Griner swap talks")
    assert _story(syn, copy) == _story(syn, orig)
    story = syn.story_of(copy)
    first = story[story.is_first].iloc[0]
    assert first.article_id == orig  # the earlier article is first seen
    row = story[story.article_id == copy].iloc[0]
    assert row.containment >= 0.9 and row.similarity < 0.9  # matched as a trimmed copy


def test_light_rewording_joins(syn):
    orig = _id(syn, "NYT", LAVROV_NYT)
    copy = _id(syn, "Wire Daily", "Lavrov: Russia wants")
    assert _story(syn, copy) == _story(syn, orig)


def test_same_event_by_two_outlets_stays_two_stories(syn):
    for g, n in ((GRINER_G, GRINER_NYT), (LAVROV_G, LAVROV_NYT)):
        a, b = _id(syn, "Guardian", g), _id(syn, "NYT", n)
        assert _story(syn, a) != _story(syn, b)
        texts = syn.sql("SELECT text FROM articles WHERE article_id IN (?, ?)", [a, b])["text"]
        jac, cont = similarity(*(shingles(t, 5) for t in texts))
        assert jac < 0.1 and cont < 0.2  # they share an event, not text


def test_story_dedup_changes_every_query_and_says_its_unit(syn):
    f = Filter(dedup="story")
    all_ = syn.top("source", 10)
    st = syn.top("source", 10, f)
    assert all_.attrs["unit"] == "articles" and st.attrs["unit"] == "stories"
    count = dict(zip(all_["key"], all_["articles"], strict=True))
    count_st = dict(zip(st["key"], st["articles"], strict=True))
    assert count["Wire Daily"] == 2 and "Wire Daily" not in count_st
    assert count_st["Guardian"] == count["Guardian"] and sum(count_st.values()) == 16
    assert len(syn.articles(f, None)) == 16 and len(syn.articles(None, None)) == 18
    assert syn.articles(Filter(dedup="text")).attrs["unit"] == "unique texts"
    cov = syn.coverage("source", "year", filter=f)
    assert cov["articles"].sum() == 16 and cov.attrs["unit"] == "stories"
    for frame in (
        syn.cooccurrence("country", "source", f),
        syn.compare(["Guardian", "NYT"], "country", f),
        syn.tone("source", None, f),
        syn.evidence("source", "NYT", f),
        syn.kwic("Griner", filter=f),
    ):
        assert frame.attrs["unit"] == "stories"
    assert "Wire Daily" not in set(syn.kwic("Griner", filter=f, n=None)["source"])
    assert "Wire Daily" in set(syn.kwic("Griner", n=None)["source"])
    # within a filter the story's earliest article *in the filter* stands for it
    only_wire = syn.articles(Filter(sources="Wire Daily", dedup="story"), None)
    assert len(only_wire) == 2


def test_syndication_who_ran_whose_story(syn):
    syn_ = syn.syndication()
    out = syn_["outlets"].set_index("source")
    assert out.loc["Wire Daily", "copies"] == 2 and out.loc["Wire Daily", "copy_share"] == 1.0
    assert out.loc["Guardian", "originated"] == 1 and out.loc["NYT", "originated"] == 1
    m = syn_["matrix"].set_index(["original", "republisher"])
    assert m.loc[("Guardian", "Wire Daily"), "median_lag_days"] == 1
    assert m.loc[("NYT", "Wire Daily"), "median_lag_days"] == 2
    from workbench.present import charts

    spec = charts.syndication_heatmap(syn_).to_dict()
    assert spec["layer"][0]["mark"]["type"] == "rect"


def test_incremental_add_and_threshold_change(syn, tmp_path):
    g = syn.sql(
        "SELECT title, text, date FROM articles WHERE source = 'Guardian' AND title LIKE ?",
        [LAVROV_G + "%"],
    ).iloc[0]
    copy = {
        "title": "Moscow eyes more land",
        "text": "By Agency Staff\n" + g.text,
        "date": str(g.date)[:10],
        "source": "Late Reprints",
    }
    syn.ingest([write_jsonl(tmp_path / "late.jsonl", [copy])], progress=False)
    out = syn.stories(progress=False)
    assert out["signed"] == 1 and not out["reclustered"]  # only the new article was read
    new = _id(syn, "Late Reprints", "Moscow eyes")
    assert _story(syn, new) == _story(syn, _id(syn, "Guardian", LAVROV_G))
    # stricter thresholds re-cluster from stored pairs: the reworded copy leaves its story
    reworded = _id(syn, "Wire Daily", "Lavrov: Russia wants")
    row = syn.story_of(reworded).set_index("article_id").loc[reworded]
    assert 0.8 <= row.similarity < 0.99 and row.containment < 0.99
    out = syn.stories(containment=0.99, jaccard=0.99, progress=False)
    assert out["signed"] == 0 and out["rebanded"] == 0 and out["reclustered"]
    assert _story(syn, reworded) == reworded
    syn.stories(containment=0.9, jaccard=0.8, progress=False)
    assert _story(syn, reworded) == _story(syn, _id(syn, "NYT", LAVROV_NYT))
    with pytest.raises(errors.BadOption, match="pair_floor"):
        syn.stories(jaccard=0.3, progress=False)


def test_story_dedup_before_stories_says_what_to_run(wb, tiny_articles):
    wb.ingest([tiny_articles], progress=False)
    with pytest.raises(errors.BadOption, match="workbench stories"):
        wb.articles(Filter(dedup="story"))


def test_explorer_stories_toggle_changes_the_numbers(syn):
    from workbench.explore.panels import Explorer

    ex = Explorer(syn, "source")
    assert ("Stories", "story") in ex.dedup.options
    before = dict(zip(ex.data["key"], ex.data["articles"], strict=True))
    ex.dedup.value = "story"
    after = dict(zip(ex.data["key"], ex.data["articles"], strict=True))
    assert before["Wire Daily"] == 2 and "Wire Daily" not in after
    assert "counted in stories" in ex.status.value


def test_report_has_syndication_section(syn, tmp_path):
    path = syn.report(tmp_path / "r.html")
    html = path.read_text(encoding="utf-8")
    assert 'id="syndication"' in html and "Wire Daily" in html
    assert "copy share" in html


def test_cli_stories_then_story_dedup(tmp_path):
    if not RU_UA.exists():
        pytest.skip(f"needs {RU_UA} (the ../shared corpora are not present)")
    from typer.testing import CliRunner

    from workbench.cli.main import app

    rows = _rows()[:3]
    rows.append(_wire_copy(next(r for r in rows if r["title"].startswith(GRINER_G))))
    db = str(tmp_path / "c.duckdb")
    runner = CliRunner()
    r = runner.invoke(app, ["ingest", str(write_jsonl(tmp_path / "w.jsonl", rows)), "--db", db])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["stories", "--db", db])
    assert r.exit_code == 0, r.output
    assert "stories per outlet" in r.output and "Wire Daily" in r.output
    r = runner.invoke(app, ["stories", "--max-lag-days", "0", "--db", db])
    assert r.exit_code == 0 and "'reclustered': True" in r.output, r.output
    r = runner.invoke(app, ["stories", "--no-tables", "--workers", "2", "--db", db])
    assert r.exit_code == 0 and "'reclustered': True" in r.output, r.output
    with Workbench(db) as wb:
        assert stories.stored_options(wb.con).tables is False
        assert stories.stored_options(wb.con).workers == 2
    r = runner.invoke(app, ["stories", "--no-learned", "--no-reissue", "--min-ratio", "0.2",
                            "--no-lead", "--reissue-containment", "0.7", "--db", db])  # fmt: skip
    assert r.exit_code == 0 and "'reclustered': True" in r.output, r.output
    with Workbench(db) as wb:
        got = stories.stored_options(wb.con)
        assert (got.learned, got.reissue, got.lead) == (False, False, False)
        assert (got.min_ratio, got.reissue_containment, got.tables) == (0.2, 0.7, False)
    r = runner.invoke(app, ["top", "source", "--dedup", "story", "--db", db])
    assert r.exit_code == 0 and "stories" in r.output, r.output
    assert "Wire Daily" not in r.output


# ---------------------------------------------------------------- templated wire items
FED = "FED ADDS RESERVES VIA CUSTOMER REPURCHASES"
PICKS = {  # (file, headline start, date): real Reuters-21578 items
    "fed_0311": ("reut2-003.sgm", FED, "1987-03-11"),
    "fed_0317": ("reut2-006.sgm", FED, "1987-03-17"),
    "goulds": ("reut2-007.sgm", "GOULDS PUMPS INC <GULD> SETS REGULAR", None),
    "russ": ("reut2-007.sgm", "RUSS TOGS INC <RTS> SETS QUARTERLY", None),
    "thompson_sets": ("reut2-007.sgm", "THOMPSON MEDICAL CO INC <TM> SETS", None),
    "thompson_declares": ("reut2-007.sgm", "THOMPSON MEDICAL CO INC <TM> DECLARES", None),
}


@pytest.fixture(scope="module")
def templated(tmp_path_factory: pytest.TempPathFactory):
    """Real Reuters items issued from one template: the Fed's repurchases on two days (one
    figure differs), two companies' one-line dividend notes, and one company's note sent
    twice under two headlines."""
    from conftest import REUTERS, config_limits

    from workbench.ingest.load import Article, load_reuters

    if not REUTERS.exists():
        pytest.skip(f"needs {REUTERS} (the ../shared corpora are not present)")
    arts = {}
    for f in sorted({f for f, _, _ in PICKS.values()}):
        arts[f] = [a for a in load_reuters(REUTERS / f, config_limits()) if isinstance(a, Article)]
    rows = []
    for key, (f, head, date) in PICKS.items():
        a = next(
            a
            for a in arts[f]
            if (a.title or "").startswith(head) and (date is None or a.date.isoformat() == date)
        )
        # the repeated note under another outlet: ingest folds same-outlet exact repeats
        source = "Reuters" if key != "thompson_declares" else "Reuters via a reseller"
        rows.append({"title": a.title, "text": a.text, "date": a.date.isoformat(),
                     "source": source, "url": f"https://x.test/{key}"})  # fmt: skip
    w = storied_wb(tmp_path_factory.mktemp("templated"), rows)
    yield w
    w.close()


def test_template_issues_with_other_figures_stay_apart(templated):
    same = lambda a, b: story_of_url(templated, a) == story_of_url(templated, b)  # noqa: E731
    assert not same("fed_0311", "fed_0317")  # one rate differs: another day's operation
    assert not same("goulds", "russ")  # one-line dividend notes of two companies
    assert same("thompson_sets", "thompson_declares")  # one note sent twice, re-headlined
    # without the checks the texts alone merge them (re-verified from stored signatures)
    out = templated.stories(figures=0.0, short_titles=0.0, tables=False, progress=False)
    assert out["signed"] == 0 and out["rebanded"] == 6
    assert same("fed_0311", "fed_0317") and same("goulds", "russ")
    templated.stories(figures=0.8, short_titles=0.5, tables=True, progress=False)
    assert not same("fed_0311", "fed_0317") and not same("goulds", "russ")


def test_index_of_an_older_release_is_reverified_not_resigned(templated):
    """A database whose stamp predates the verifier rules keeps its signatures (their
    format is unchanged) and has its bands and pairs rebuilt from them."""
    from workbench.annotate.stories import META_KEY
    from workbench.base import store

    con = templated.con
    raw = json.loads(store.get_meta(con, META_KEY))
    sigs = con.execute("SELECT article_id, minhash FROM story_signatures").fetchall()
    raw["bands"] = f"{raw['signature']}-t0.3-f0.5"  # the previous release's band stamp
    store.set_meta(con, META_KEY, json.dumps(raw))
    out = templated.stories(progress=False)
    assert out["signed"] == 0 and out["rebanded"] == 6 and out["reclustered"]
    assert con.execute("SELECT article_id, minhash FROM story_signatures").fetchall() == sigs
    # the previous release's normaliser (CRC-32 word hashes): signatures are rebuilt
    raw["signature"] = "n1-k5-p128-s1"
    store.set_meta(con, META_KEY, json.dumps(raw))
    stories = con.execute("SELECT article_id, story_id FROM story_clusters ORDER BY 1").fetchall()
    con.execute("UPDATE story_signatures SET minhash = ?", [bytes(4 * 128)])
    out = templated.stories(progress=False)
    assert out["signed"] == 6 and out["rebanded"] == 0 and out["reclustered"]
    assert sorted(con.execute("SELECT article_id, minhash FROM story_signatures").fetchall()) == (
        sorted(sigs)
    )
    assert con.execute("SELECT article_id, story_id FROM story_clusters ORDER BY 1").fetchall() == (
        stories
    )


BUBA = "BUNDESBANK LEAVES CREDIT POLICIES UNCHANGED"


@pytest.fixture(scope="module")
def recurring(tmp_path_factory: pytest.TempPathFactory):
    """The Bundesbank's council note, word for word the same after three meetings (real
    Reuters items of 5 Mar, 19 Mar and 2 Apr 1987), and a reseller's copy of the first
    the next day."""
    from conftest import REUTERS, config_limits

    from workbench.ingest.load import Article, load_reuters

    if not REUTERS.exists():
        pytest.skip(f"needs {REUTERS} (the ../shared corpora are not present)")
    rows = []
    for f in ("reut2-001.sgm", "reut2-007.sgm", "reut2-012.sgm"):
        a = next(
            a
            for a in load_reuters(REUTERS / f, config_limits())
            if isinstance(a, Article) and (a.title or "").startswith(BUBA)
        )
        rows.append({"title": a.title, "text": a.text, "date": a.date.isoformat(),
                     "source": "Reuters", "url": f"https://x.test/{a.date}"})  # fmt: skip
    assert len({r["text"] for r in rows}) == 1  # one text, three meetings
    copy = {**rows[0], "source": "Reseller", "date": "1987-03-06", "url": "https://x.test/copy"}
    w = storied_wb(tmp_path_factory.mktemp("recurring"), [*rows, copy])
    yield w
    w.close()


def test_a_note_repeated_after_another_meeting_is_another_story(recurring):
    story = lambda key: story_of_url(recurring, key)  # noqa: E731
    meetings = ["1987-03-05", "1987-03-19", "1987-04-02"]
    assert len({story(m) for m in meetings}) == 3  # 14 days apart: beyond the 7-day window
    assert story("copy") == story("1987-03-05")  # the next day's copy joins the first
    out = recurring.stories(max_lag_days=0, progress=False)  # no window: the text alone
    assert out["signed"] == 0 and out["rebanded"] == 0 and out["reclustered"]
    assert len({story(m) for m in [*meetings, "copy"]}) == 1
    recurring.stories(max_lag_days=7, progress=False)
    assert len({story(m) for m in meetings}) == 3
    with pytest.raises(errors.BadOption, match="max_lag_days"):
        StoryOptions(max_lag_days=-1)


def test_pairs_are_verified_from_stored_bodies_not_text(recurring):
    """Each signature keeps the compact body its pairs are verified on; an index without
    bodies (an earlier release) gets them from the text once, with the same pairs."""
    from workbench.annotate.stories import META_KEY, bodies, unpack_body
    from workbench.base import store

    con = recurring.con
    rows = con.execute(
        "SELECT a.title, a.text, s.body FROM story_signatures s JOIN articles a USING "
        "(article_id) ORDER BY s.seq"
    ).fetchall()
    made = bodies([t for _, t, _ in rows], k=5, titles=[h for h, _, _ in rows])
    for (_, _, raw), want in zip(rows, made, strict=True):
        got = unpack_body(raw)
        assert all(np.array_equal(g, w) for g, w in zip(got, want, strict=True))
    pairs = "SELECT * FROM story_pairs ORDER BY article_id, other_id"
    before = con.execute(pairs).fetchall()
    assert len(before) == 6  # every two of the four texts
    # stored bodies only: the texts could be anything now
    con.execute("UPDATE articles SET text = 'gone'")
    raw = json.loads(store.get_meta(con, META_KEY))
    raw["bands"] += "-older"
    store.set_meta(con, META_KEY, json.dumps(raw))
    out = recurring.stories(progress=False)
    assert out["signed"] == 0 and out["rebanded"] == 4
    assert con.execute(pairs).fetchall() == before
    # no stored bodies: read from the text (back again) and stored
    con.execute("UPDATE articles SET text = ?", [rows[0][1]])
    con.execute("UPDATE story_signatures SET body = NULL")
    raw["bands"] += "-again"
    store.set_meta(con, META_KEY, json.dumps(raw))
    recurring.stories(progress=False)
    assert con.execute(pairs).fetchall() == before
    assert (
        con.execute("SELECT count(*) FROM story_signatures WHERE body IS NULL").fetchone()[0] == 0
    )


def test_batch_verification_counts_what_intersect1d_counts():
    from workbench.annotate.stories import _overlaps

    rng = np.random.default_rng(7)
    left = [np.unique(rng.integers(0, 2**32, n, dtype=np.uint32)) for n in (0, 5, 300, 40)]
    right = [np.unique(np.concatenate([x[: len(x) // 2], rng.integers(0, 2**32, 30,
             dtype=np.uint32)])) for x in left] + [np.zeros(0, dtype=np.uint32)]  # fmt: skip
    li = np.array([0, 1, 2, 3, 2, 3, 1, 2])
    ri = np.array([0, 1, 2, 3, 3, 2, 4, 2])
    want = [len(np.intersect1d(left[i], right[j])) for i, j in zip(li, ri, strict=True)]
    assert _overlaps(left, right, li, ri).tolist() == want and want[2] >= 150


def test_shingling_in_worker_processes_changes_nothing(recurring):
    """``workers=2`` shingles in two processes, a batch each, while this one stores: the
    signatures, bodies and pairs are the same."""
    con = recurring.con
    q = (
        "SELECT s.article_id, s.seq, s.minhash, s.body, p.other_id, p.jaccard FROM "
        "story_signatures s LEFT JOIN story_pairs p USING (article_id) ORDER BY ALL"
    )
    before = con.execute(q).fetchall()
    out = recurring.stories(rebuild=True, workers=2, batch=1, progress=False)  # 4 batches
    assert out["signed"] == 4 and con.execute(q).fetchall() == before
    recurring.stories(rebuild=True, workers=1, batch=2000, progress=False)
    assert con.execute(q).fetchall() == before


TABLES = {  # real Reuters-21578 tables of 7 Apr 1987 (reut2-013/014.sgm), by their first line
    "euro_1030": "N.Y. EURODEPOSITS 1030 - APR 7",
    "euro_1200": "N.Y. EURODEPOSITS 1200 - APR 7",
    "jo_open": "JOHANNESBURG EXCHS OPENING - APRIL 7",
    "jo_close": "JOHANNESBURG EXCHS CLOSING - APRIL 7",
}


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory):
    """The same rates at two hours and at two sessions of one day, and a reseller's copy of
    the opening table with a line of its own added."""
    from conftest import REUTERS, config_limits

    from workbench.ingest.load import Article, load_reuters

    if not REUTERS.exists():
        pytest.skip(f"needs {REUTERS} (the ../shared corpora are not present)")
    arts = [a for f in ("reut2-013.sgm", "reut2-014.sgm")
            for a in load_reuters(REUTERS / f, config_limits()) if isinstance(a, Article)]  # fmt: skip
    rows = []
    for key, head in TABLES.items():
        a = next(a for a in arts if a.text.lstrip().startswith(head))
        rows.append({"title": a.title, "text": a.text, "date": a.date.isoformat(),
                     "source": "Reuters", "url": f"https://x.test/{key}"})  # fmt: skip
    copy = {**rows[2], "source": "Reseller", "url": "https://x.test/jo_copy"}
    copy["text"] = rows[2]["text"].rstrip() + "\nRates are indicative, from dealers."
    w = storied_wb(tmp_path_factory.mktemp("tables"), [*rows, copy])
    yield w
    w.close()


def test_a_table_of_another_hour_or_session_is_another_story(tables):
    story = lambda key: story_of_url(tables, key)  # noqa: E731
    assert story("euro_1030") != story("euro_1200")  # same rates, another hour
    assert story("jo_open") != story("jo_close")  # same rates, another session
    assert story("jo_copy") == story("jo_open")  # a copy with a line added joins
    # the texts alone merge them: it is the table rule that tells them apart
    out = tables.stories(tables=False, progress=False)
    assert out["signed"] == 0 and out["rebanded"] == 5
    assert story("euro_1030") == story("euro_1200") and story("jo_open") == story("jo_close")
    tables.stories(tables=True, progress=False)
    assert story("jo_open") != story("jo_close") and story("jo_copy") == story("jo_open")


def test_datasketch_parameters_come_from_the_disk_cache_in_a_later_process(
    tmp_path, monkeypatch
) -> None:
    from datasketch import MinHash, MinHashLSH

    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path))
    opts = stories.StoryOptions()
    monkeypatch.setattr(stories, "_PERM_CACHE", {})
    monkeypatch.setattr(stories, "_BANDS_CACHE", {})
    a, b = stories._permutations(opts)
    bands = stories.band_params(opts)
    m = MinHash(num_perm=opts.num_perm, seed=opts.seed, scheme="affine32")
    assert (a == m.permutations[0].astype("uint32")).all()
    assert (b == m.permutations[1].astype("uint32")).all()
    lsh = MinHashLSH(threshold=opts.lsh_threshold, num_perm=opts.num_perm)
    assert bands == (lsh.b, lsh.r)
    assert sorted(p.name.split("-")[0] for p in tmp_path.glob("*.pickle")) == ["lsh", "minhash"]
    # A later process: nothing in memory, and datasketch cannot be imported.
    monkeypatch.setattr(stories, "_PERM_CACHE", {})
    monkeypatch.setattr(stories, "_BANDS_CACHE", {})
    monkeypatch.setitem(sys.modules, "datasketch", None)
    a2, b2 = stories._permutations(opts)
    assert (a2 == a).all() and (b2 == b).all()
    assert stories.band_params(opts) == bands


def test_band_index_in_memory_gives_the_stored_index_s_pairs(tmp_path):
    """A run of many batches finds candidates in memory (:class:`stories.BandIndex`), one
    batch by a query of story_bands: the same signatures, pairs and stories, from no index
    and from a stored one loaded for an incremental add (two processes: see
    ``test_shingling_in_worker_processes_changes_nothing``)."""
    import shutil

    if not RU_UA.exists():
        pytest.skip(f"needs {RU_UA} (the ../shared corpora are not present)")
    rows = _rows()
    rows += [_wire_copy(rows[0]), _reworded(rows[9]), _wire_copy(rows[1]), _reworded(rows[8])]
    q = (
        "SELECT s.article_id, s.seq, s.minhash, s.body, p.other_id, p.jaccard, p.containment, "
        "c.story_id, c.similarity FROM story_signatures s LEFT JOIN story_pairs p USING "
        "(article_id) LEFT JOIN story_clusters c USING (article_id) ORDER BY ALL"
    )
    with Workbench(tmp_path / "b2000.duckdb") as w:
        w.ingest([write_jsonl(tmp_path / "first.jsonl", rows[:12])], progress=False)
    shutil.copy(tmp_path / "b2000.duckdb", tmp_path / "b3.duckdb")
    got = []
    for batch in (2000, 3):
        with Workbench(tmp_path / f"b{batch}.duckdb") as w:
            w.stories(progress=False, batch=batch)
            w.ingest([write_jsonl(tmp_path / "late.jsonl", rows[12:])], progress=False)
            out = w.stories(progress=False, batch=batch)  # on the stored index
            assert out["signed"] == 8 and out["cpu_s"]["candidates"] >= 0
            got.append(w.con.execute(q).fetchall())
    assert got[0] == got[1]
    assert sum(r[4] is not None for r in got[0]) >= 4  # the copies' pairs are there


@pytest.fixture(scope="module")
def copies(tmp_path_factory: pytest.TempPathFactory):
    """Two real Guardian articles and fourteen edited copies of each (a paragraph dropped,
    words changed): each later copy has many earlier candidates sharing more or fewer
    bands."""
    w = storied_wb(tmp_path_factory.mktemp("copies"), _copy_rows())
    yield w
    w.close()


def _copy_rows() -> list[dict[str, str]]:
    """The rows of :func:`copies`."""
    if not RU_UA.exists():
        pytest.skip(f"needs {RU_UA} (the ../shared corpora are not present)")
    rows = []
    for base in _rows()[:2]:
        paras = [p for p in base["text"].split("\n") if p.strip()]
        for i in range(15):
            kept = [p for j, p in enumerate(paras) if i == 0 or j != i % len(paras)]
            text = "\n\n".join(kept).replace("said", "stated", i % 4)
            day = pd.Timestamp(base["date"]) + pd.Timedelta(days=i % 3)
            rows.append({**base, "text": text, "date": day.strftime("%Y-%m-%d"),
                         "source": f"Outlet {i}", "title": f"{base['title']} ({i})"})  # fmt: skip
    return rows


def test_candidates_picked_in_numpy_are_pick_candidates_s(copies):
    """:class:`stories.BandIndex` counts and picks candidates in numpy; the rule it follows
    is :func:`story_rules.pick_candidates` (most bands in common, ties to the earliest, and
    the lead bands' own picks): the same picks from the stored index of real texts."""
    from workbench.annotate import story_rules

    con = copies.con
    bands = stories.BandIndex.of_stored(con)
    got = con.execute(
        "SELECT b.band, b.key, s.seq FROM story_bands b JOIN story_signatures s USING (article_id)"
    ).fetchnumpy()
    seq = np.sort(con.execute("SELECT seq FROM story_signatures").fetchnumpy()["seq"])
    rows = (
        np.asarray(got["band"], dtype=np.int64),
        np.asarray(got["key"], dtype=np.int64),
        np.searchsorted(seq, got["seq"]).astype(np.int64),
    )
    code = bands.hits(0, rows)  # every article against the articles before it
    m = len(bands.names)
    cand = pd.DataFrame({"seq": code >> 1, "lead": code & 1}).value_counts().unstack(fill_value=0)
    cand = cand.reindex(columns=[0, 1], fill_value=0).reset_index()
    cand = pd.DataFrame({"seq": cand["seq"] // m, "other_seq": cand["seq"] % m,
                         "shared": cand[0], "lead": cand[1]})  # fmt: skip
    cand["article_id"] = bands.names[cand["seq"]]
    cand["other_id"] = bands.names[cand["other_seq"]]
    sizes = []
    for top in (1, 3, 10):
        want = story_rules.pick_candidates(cand, top)
        row, other = stories._pick(code, m, stories.StoryOptions(max_candidates=top))
        picked = sorted(zip(want["seq"], want["other_seq"], strict=True))
        assert list(zip(row, other, strict=True)) == picked
        sizes.append(len(picked))
    assert sizes[0] < sizes[1] < sizes[2] < len(cand)  # the picking bites


def test_verifying_in_worker_processes_changes_no_pair(copies):
    """With ``workers=2`` each batch is verified in a worker process while this one computes
    the next batch's candidates: the same pairs, scores and stories as one process gives,
    for real texts whose copies fall in other batches than their originals."""
    con = copies.con
    q = (
        "SELECT p.article_id, p.other_id, p.jaccard, p.containment, p.reissue, c.story_id, "
        "c.is_first FROM story_pairs p JOIN story_clusters c USING (article_id) ORDER BY ALL"
    )
    one = copies.stories(rebuild=True, workers=1, batch=7, progress=False)
    before = con.execute(q).fetchall()
    two = copies.stories(rebuild=True, workers=2, batch=7, progress=False)  # 5 batches
    assert "waiting for the verifier" in two["cpu_s"] and "verify" not in two["cpu_s"]
    assert con.execute(q).fetchall() == before and two["pairs"] == one["pairs"]
    seqs = dict(con.execute("SELECT article_id, seq FROM story_signatures").fetchall())
    across = {(seqs[a] - 1) // 7 != (seqs[b] - 1) // 7 for a, b, *_ in before}
    assert len(before) > 100 and across == {True, False}  # pairs within and across batches
    copies.stories(rebuild=True, progress=False)


def test_texts_read_by_rowid_and_by_id_when_rows_moved(copies):
    """A batch's texts are read by the rowids listed with the ids; rowids that no longer
    point at those ids (rows moved) fall back to the id join: the same rows either way."""
    con = copies.con
    got = con.execute("SELECT article_id, rowid, text FROM articles ORDER BY article_id").fetchall()
    ids, rowids = [r[0] for r in got[:9]], np.array([r[1] for r in got[:9]], dtype=np.int64)
    want = [(r[0], r[2]) for r in got[:9]]
    assert [(a, t) for a, _, t in stories._texts_of(con, ids, rowids)] == want
    moved = stories._texts_of(con, ids, rowids[::-1].copy())
    assert [(a, t) for a, _, t in moved] == want and len({t for _, t in want}) == 9


def test_bodies_unpacked_as_a_column_are_unpack_body_s(copies):
    """Stored bodies read as one Arrow column (chunked, sliced, with a NULL of an index
    that has none yet) unpack to the fields :func:`stories.unpack_body` gives row by row;
    bodies held from a names lookup are what :meth:`stories._Texts.get_many` would read."""
    import pyarrow as pa

    from workbench.annotate.stories import unpack_bodies, unpack_body

    con = copies.con
    rows = con.execute(
        "SELECT article_id, CASE WHEN seq = 3 THEN NULL ELSE body END AS body "
        "FROM story_signatures ORDER BY seq"
    ).to_arrow_table()
    raw = rows.column("body").to_pylist()
    col = rows.column("body").combine_chunks()
    for part in (col, pa.chunked_array([col[:5], col[5:]]), col.slice(2, 9)):
        got = unpack_bodies(part)
        want = raw[2:11] if len(part) == 9 else raw
        assert len(got) == len(want) and sum(g is None for g in got) == 1
        for g, w in zip(got, want, strict=True):
            if w is None:
                assert g is None
                continue
            u = unpack_body(w)
            assert all(
                np.array_equal(x, y) and x.dtype == y.dtype for x, y in zip(g, u, strict=True)
            )
    assert len(unpack_body(raw[0]).shingles) > 100
    ids = rows.column("article_id").to_pylist()
    texts = stories._Texts(con, StoryOptions())
    texts.hold(rows)  # the NULL body is then read from the text, as without holding
    held = texts.get_many(ids[:6])
    fresh = stories._Texts(con, StoryOptions()).get_many(ids[:6])
    assert sorted(held) == sorted(fresh) == sorted(ids[:6]) and not texts.held
    for i in ids[:6]:
        assert all(np.array_equal(x, y) for x, y in zip(held[i], fresh[i], strict=True))


_STATE_SQL = (
    "SELECT s.article_id, s.seq, s.minhash, p.other_id, p.jaccard, p.containment, p.reissue, "
    "c.story_id, c.is_first, c.similarity, c.containment FROM story_signatures s "
    "LEFT JOIN story_pairs p USING (article_id) LEFT JOIN story_clusters c USING (article_id) "
    "ORDER BY ALL"
)


def test_index_kept_beside_the_database_then_an_add_is_the_full_cluster(tmp_path, monkeypatch):
    """An add probes the band index kept beside the database (``<db>.story-index``) and
    clusters from its own pairs only: the same pairs and stories as the stored index read
    from story_bands (folder removed: rebuilt; or a small database: only its keys' rows),
    and the same stories as a full re-cluster of every stored pair; real Guardian texts
    and edited copies, half of them added later."""
    import shutil

    from workbench.annotate import story_index

    monkeypatch.setattr(story_index, "MIN_ARTICLES", 1)  # the test corpus is small
    rows = _copy_rows()
    rows = rows[::2] + rows[1::2]  # copies of both texts before and after the add
    with Workbench(tmp_path / "a.duckdb") as w:
        w.ingest([write_jsonl(tmp_path / "first.jsonl", rows[:27])], progress=False)
        w.stories(progress=False, batch=7)  # four batches: the index built in memory
    assert (tmp_path / "a.duckdb.story-index" / "manifest.json").exists()
    for name in ("b", "c"):
        shutil.copy(tmp_path / "a.duckdb", tmp_path / f"{name}.duckdb")
    late = write_jsonl(tmp_path / "late.jsonl", rows[27:])
    got = {}
    for name in ("a", "b", "c"):
        if name == "c":
            monkeypatch.setattr(story_index, "MIN_ARTICLES", 10**9)
        with Workbench(tmp_path / f"{name}.duckdb") as w:
            w.ingest([late], progress=False)
            with monkeypatch.context() as m:
                if name == "a":  # the folder, not story_bands
                    m.setattr(stories.BandIndex, "of_stored", None)
                out = w.stories(progress=False)  # one batch
            assert out["signed"] == 3
            assert stories._NEW_PAIRS.complete and stories._NEW_PAIRS.rows == out["pairs"]
            got[name] = w.con.execute(_STATE_SQL).fetchall()
            summary = w.con.execute("SELECT * FROM stories ORDER BY ALL").fetchall()
            if name == "a":
                w.stories(jaccard=0.85, progress=False)
                w.stories(progress=False)  # back: every stored pair re-clustered
                assert w.con.execute(_STATE_SQL).fetchall() == got["a"]
                # the stories the add extended from their new rows alone: the same summary
                assert w.con.execute("SELECT * FROM stories ORDER BY ALL").fetchall() == summary
                assert any(r[4] > 2 for r in summary) and any(r[5] > 2 for r in summary)
    manifest = json.loads((tmp_path / "a.duckdb.story-index" / "manifest.json").read_text())
    assert [s["rows"] > 0 for s in manifest["segments"]] == [True, True]  # base + the add
    assert (tmp_path / "b.duckdb.story-index").exists()  # rebuilt beside the copy
    assert not (tmp_path / "c.duckdb.story-index").exists()
    assert got["a"] == got["b"] == got["c"]
    assert len({r[7] for r in got["a"]}) < 20 and sum(r[3] is not None for r in got["a"]) > 100


def _body_store(folder) -> list[bytes]:
    """The packed bodies the base segment of the index beside the database keeps."""
    seg = json.loads((folder / "manifest.json").read_text())["segments"][0]
    data = np.fromfile(folder / f"{seg['name']}.body.bin", dtype="<u4")
    off = np.load(folder / f"{seg['name']}.boff.npy")
    assert len(off) == seg["bodies"] + 1
    return [data[off[i] : off[i + 1]].tobytes() for i in range(seg["bodies"])]


def test_index_beside_the_database_keeps_the_bodies_an_add_reads(tmp_path, monkeypatch):
    """The base segment keeps every position's stored body (spooled by a run from no index;
    an earlier base's, the stored ones of a gap and the spooled ones when a delta is merged),
    and an add reads its candidates' bodies there instead of story_signatures: the same
    pairs and stories as an add on the index without its body store; real Guardian texts
    and edited copies."""
    import shutil

    from workbench.annotate import story_index

    monkeypatch.setattr(story_index, "MIN_ARTICLES", 1)
    rows = _copy_rows()[:24]
    folder = tmp_path / "w.duckdb.story-index"
    reads: list[tuple[int, bool]] = []
    real_rows = story_index.Stored._rows
    monkeypatch.setattr(story_index.Stored, "_rows", lambda self, pos, bodies: (
        reads.append((len(pos), bodies)), real_rows(self, pos, bodies))[1])  # fmt: skip
    stored = "SELECT body FROM story_signatures ORDER BY seq"
    with Workbench(tmp_path / "w.duckdb") as w:
        w.ingest([write_jsonl(tmp_path / "a.jsonl", rows[:12])], progress=False)
        w.stories(progress=False, batch=5)  # from no index: all spooled
        assert _body_store(folder) == [r[0] for r in w.con.execute(stored).fetchall()]
        assert not list(folder.glob("spool-*"))
    shutil.copy(tmp_path / "w.duckdb", tmp_path / "v.duckdb")
    shutil.copytree(folder, tmp_path / "v.duckdb.story-index")
    seg = json.loads((tmp_path / "v.duckdb.story-index" / "manifest.json").read_text())
    seg["segments"][0].pop("bodies")  # the same index without a body store
    (tmp_path / "v.duckdb.story-index" / "manifest.json").write_text(json.dumps(seg))
    got = {}
    for name in ("w", "v"):
        with Workbench(tmp_path / f"{name}.duckdb") as w:
            w.ingest([write_jsonl(tmp_path / "b.jsonl", rows[12:13])], progress=False)
            reads.clear()
            w.stories(progress=False)  # one article: a delta, its candidates in the base
            assert reads and all(not b for _, b in reads) == (name == "w")
            w.ingest([write_jsonl(tmp_path / "c.jsonl", rows[13:])], progress=False)
            w.stories(progress=False)  # the delta merged: base 12 + stored 1 + spooled 11
            got[name] = w.con.execute(_STATE_SQL).fetchall()
            want = [r[0] for r in w.con.execute(stored).fetchall()]
            if name == "w":
                assert len(want) == 24 and _body_store(folder) == want
    assert got["w"] == got["v"] and sum(r[3] is not None for r in got["w"]) > 50


def test_an_add_after_a_run_stopped_before_clustering_clusters_both(tmp_path, monkeypatch):
    """An add clusters its own articles by their seq range only when the counts say they
    are all that is unclustered; articles a stopped run signed but did not cluster are
    clustered with them (by the anti-join), the same stories as runs never stopped."""
    rows = _copy_rows()[:18]
    parts = [rows[:10], rows[10:14], rows[14:]]
    with Workbench(tmp_path / "w.duckdb") as w, Workbench(tmp_path / "x.duckdb") as x:
        for i, part in enumerate(parts):
            w.ingest([write_jsonl(tmp_path / f"w{i}.jsonl", part)], progress=False)
            x.ingest([write_jsonl(tmp_path / f"x{i}.jsonl", part)], progress=False)
            x.stories(progress=False)
            if i == 1:  # stopped after its batch was stored, before clustering
                with monkeypatch.context() as m:
                    m.setattr(stories, "_cluster", lambda *a, **k: (_ for _ in ()).throw(
                        KeyboardInterrupt))  # fmt: skip
                    with pytest.raises(KeyboardInterrupt):
                        w.stories(progress=False)
                continue
            out = w.stories(progress=False)
        assert out["signed"] == 4 and out["clustered"] == 8
        assert w.con.execute(_STATE_SQL).fetchall() == x.con.execute(_STATE_SQL).fetchall()
        summary = "SELECT * FROM stories ORDER BY ALL"
        assert w.con.execute(summary).fetchall() == x.con.execute(summary).fetchall()


def test_index_beside_the_database_is_trusted_only_when_it_matches(tmp_path, monkeypatch):
    """The folder is a cache of story_bands: a truncated segment, a foreign manifest, a
    folder newer than the database (an older copy put back) or older (a run stopped after
    its batches, before it saved) is not loaded, and the add then gives the pairs and
    stories of the stored index."""
    import shutil

    from workbench.annotate import story_index

    monkeypatch.setattr(story_index, "MIN_ARTICLES", 1)
    rows = _copy_rows()[:20]
    with Workbench(tmp_path / "w.duckdb") as w:
        w.ingest([write_jsonl(tmp_path / "first.jsonl", rows[:12])], progress=False)
        w.stories(progress=False, batch=5)
    folder = tmp_path / "w.duckdb.story-index"
    shutil.copy(tmp_path / "w.duckdb", tmp_path / "old.duckdb")
    shutil.copytree(folder, tmp_path / "old.story-index")
    with Workbench(tmp_path / "w.duckdb") as w:
        opts = StoryOptions()
        assert story_index.load(w.con, opts.band_stamp) is not None
        assert story_index.load(w.con, StoryOptions(lsh_threshold=0.4).band_stamp) is None
        w.ingest([write_jsonl(tmp_path / "late.jsonl", rows[12:])], progress=False)
        w.stories(progress=False)
        want = w.con.execute(_STATE_SQL).fetchall()
    shutil.copy(tmp_path / "old.duckdb", tmp_path / "w.duckdb")  # the folder is newer now
    with Workbench(tmp_path / "w.duckdb") as w:
        assert story_index.load(w.con, opts.band_stamp) is None
    shutil.copy(tmp_path / "old.duckdb", tmp_path / "w.duckdb")
    shutil.rmtree(folder)
    shutil.copytree(tmp_path / "old.story-index", folder)
    with Workbench(tmp_path / "w.duckdb") as w:  # a run stopped after its batches, unsaved
        w.ingest([write_jsonl(tmp_path / "late.jsonl", rows[12:])], progress=False)
        with monkeypatch.context() as m:
            m.setattr(story_index, "save", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt))
            with pytest.raises(KeyboardInterrupt):
                w.stories(progress=False)
        assert story_index.load(w.con, opts.band_stamp) is None  # the batches moved it
        w.stories(progress=False)
        assert w.con.execute(_STATE_SQL).fetchall() == want
    for spoil in ("truncate", "manifest"):
        shutil.copy(tmp_path / "old.duckdb", tmp_path / "w.duckdb")
        shutil.rmtree(folder)
        shutil.copytree(tmp_path / "old.story-index", folder)
        if spoil == "truncate":
            keys = next(folder.glob("seg-*.keys.npy"))
            keys.write_bytes(keys.read_bytes()[:-16])
        else:
            (folder / "manifest.json").write_text('{"format": 1, "token": "x"')
        with Workbench(tmp_path / "w.duckdb") as w:
            assert story_index.load(w.con, opts.band_stamp) is None
            w.ingest([write_jsonl(tmp_path / "late.jsonl", rows[12:])], progress=False)
            w.stories(progress=False)
            assert w.con.execute(_STATE_SQL).fetchall() == want
            assert story_index.load(w.con, opts.band_stamp) is not None  # written afresh
