"""The stage runner and the one transaction helper, on a real DuckDB file and real spaCy rows."""

from __future__ import annotations

import json

import pytest

from workbench.annotate import stages, tone
from workbench.base import store


@pytest.fixture
def extracted(wb, tiny_articles):
    wb.ingest([tiny_articles], progress=False)
    wb.extract(progress=False)
    return wb


def test_transaction_commits_whole_or_not_at_all(wb):
    con = wb.con
    seen = []
    with store.transaction(con, committed=lambda: seen.append("counted")):
        store.set_meta(con, "t.kept", "1")
    assert store.get_meta(con, "t.kept") == "1" and seen == ["counted"]
    with pytest.raises(ZeroDivisionError), store.transaction(con, committed=seen.clear):
        store.set_meta(con, "t.lost", "1")
        _ = 1 / 0
    assert store.get_meta(con, "t.lost") is None and seen == ["counted"]
    with store.transaction(con):  # the connection is usable again: nothing left open
        store.set_meta(con, "t.after", "1")
    assert store.get_meta(con, "t.after") == "1"


def _threads(con) -> int:
    return int(con.execute("SELECT current_setting('threads')").fetchone()[0])


def test_small_work_runs_on_one_duckdb_thread_and_the_setting_comes_back(wb):
    con = wb.con
    con.execute("SET threads = 2")
    with store.threads_for(con, 10):
        assert _threads(con) == 1
    assert _threads(con) == 2
    with store.threads_for(con, store.SMALL_WORK_ROWS + 1):
        assert _threads(con) == 2  # a large corpus keeps DuckDB's threads
    with pytest.raises(ZeroDivisionError), store.threads_for(con, 10):
        _ = 1 / 0
    assert _threads(con) == 2


def test_analyze_of_a_small_corpus_leaves_the_thread_setting_as_it_was(extracted):
    extracted.con.execute("SET threads = 2")
    extracted.analyze(progress=False)
    assert _threads(extracted.con) == 2
    assert extracted.sql("SELECT count(*) AS n FROM article_tone")["n"][0] == 3


def test_a_failed_chunk_keeps_the_committed_ones_and_the_next_run_resumes(extracted):
    con = extracted.con
    store.set_meta(con, "tone.version", tone.TONE_VERSION)  # else score_tone starts afresh
    ids = stages.pending_articles(con, tone.STAGE, tone.TONE_VERSION)
    assert len(ids) == 3
    calls = []

    def compute(part):
        calls.append(part)
        if len(calls) == 2:
            raise RuntimeError("compute failed on the second chunk")
        return tone._chunk_rows(con, part)

    stage = stages.Stage(tone.STAGE, tone.TONE_VERSION, ("sentence_tone", "article_tone"), 1)
    with pytest.raises(RuntimeError, match="second chunk"):
        stages.run(con, stage, compute, result=tone.ToneResult(), progress=False)
    # the first chunk is stored and marked done; the second left nothing behind
    assert extracted.sql("SELECT article_id FROM article_tone").article_id.tolist() == ids[:1]
    done = extracted.sql("SELECT article_id FROM stage_done WHERE stage = 'tone'")
    assert done.article_id.tolist() == ids[:1]
    run = extracted.sql("SELECT status, counts FROM runs WHERE kind = 'tone'").iloc[0]
    assert run.status == "failed" and json.loads(run.counts)["articles"] == 1

    res = tone.score_tone(con, progress=False, chunk=1)  # resumes: the two not done
    assert res.articles == 2
    assert sorted(extracted.sql("SELECT article_id FROM article_tone").article_id) == ids
    n_sent = extracted.sql("SELECT count(*) n FROM sentences").n[0]
    assert extracted.sql("SELECT count(*) n FROM sentence_tone").n[0] == n_sent  # no doubles
    last = extracted.sql(
        "SELECT status, seconds, counts FROM runs WHERE kind = 'tone' ORDER BY run_id DESC"
    ).iloc[0]
    assert last.status == "ok" and last.seconds >= 0
    assert json.loads(last.counts)["sentences"] == res.sentences > 0


def test_every_annotation_stage_replaces_its_rows_when_run_again(extracted):
    extracted.tag_themes(progress=False)
    extracted.score_tone(progress=False)
    extracted.find_quotes(progress=False)
    tables = ("article_themes", "theme_hits", "sentence_tone", "article_tone", "quotes")
    before = store.table_counts(extracted.con, tables)
    extracted.sql("DELETE FROM stage_done")  # every article pending again for every stage
    assert extracted.tag_themes(progress=False).articles == 3
    assert extracted.score_tone(progress=False).articles == 3
    assert extracted.find_quotes(progress=False).articles == 3
    assert store.table_counts(extracted.con, tables) == before
    assert before["quotes"] >= 1 and before["sentence_tone"] >= 3


_ALONG_TABLES = {
    "article_themes": "*",
    "theme_hits": "*",
    "sentence_tone": "*",
    "article_tone": "*",
    "stage_done": "stage, article_id, version, n",
}
_ALONG_WHERE = {"stage_done": " WHERE stage IN ('themes', 'tone')"}


def _stage_rows(w) -> dict[str, list]:
    return {
        t: w.con.execute(
            f"SELECT {cols} FROM {t}{_ALONG_WHERE.get(t, '')} ORDER BY ALL"  # noqa: S608
        ).fetchall()
        for t, cols in _ALONG_TABLES.items()
    }


@pytest.mark.parametrize("workers", [1, 2])
def test_themes_and_tone_computed_along_extraction_equal_the_stages_rows(
    tmp_path, seed_dir, tiny_articles, workers, monkeypatch
):
    from workbench import Workbench
    from workbench.annotate import themes

    with Workbench(tmp_path / "stages.duckdb") as w:
        w.ingest([seed_dir, tiny_articles], progress=False)
        w.extract(progress=False)  # no along: each stage reads the stored sentences
        themed, toned = w.tag_themes(progress=False), w.score_tone(progress=False)
        want = _stage_rows(w)
    with Workbench(tmp_path / "along.duckdb") as w:
        w.ingest([seed_dir, tiny_articles], progress=False)
        for mod in (themes, tone):  # analyze leaves the stages nothing to read back
            monkeypatch.setattr(mod, "_chunk_rows", lambda *a: pytest.fail("read back"))
        out = w.analyze(workers=workers, progress=False)
        got = _stage_rows(w)
        runs_ = dict(w.con.execute("SELECT kind, counts FROM runs").fetchall())
    assert len(want["theme_hits"]) > 0 and len(want["sentence_tone"]) > 10
    assert got == want
    # the stages report (and record) what was done along, as if they had done it
    assert (
        (out["themes"].articles, out["themes"].hits)
        == (themed.articles, themed.hits)
        == (4, len(want["theme_hits"]))
    )
    assert (out["tone"].articles, out["tone"].sentences) == (toned.articles, toned.sentences)
    assert json.loads(runs_["tone"])["sentences"] == toned.sentences


def test_no_bar_for_a_stage_with_nothing_pending(tmp_path, tiny_articles, capsys):
    """analyze shows the bars of the stages that do work; themes and tone, done along the
    extraction, print no "0 article" bar of their own."""
    from workbench import Workbench

    with Workbench(tmp_path / "bars.duckdb") as w:
        w.ingest([tiny_articles], progress=False)
        out = w.analyze(progress=True)
    err = capsys.readouterr().err
    assert out["themes"].articles == 3 and out["tone"].articles == 3
    assert "extract:" in err and "quotes:" in err
    assert "themes:" not in err and "tone:" not in err
