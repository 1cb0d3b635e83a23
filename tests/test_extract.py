"""Extraction stage on real text with the real model: offsets, sentences, increments, crashes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import SEED, write_seed_article

from workbench import Workbench
from workbench.base import store
from workbench.nlp.extract import extract


@pytest.fixture(scope="module")
def seed_x(tmp_path_factory: pytest.TempPathFactory):
    """The seed ingested and extracted (no resolve), once for this module."""
    w = Workbench(tmp_path_factory.mktemp("x") / "x.duckdb")
    w.ingest([SEED], progress=False)
    w.first = w.extract(progress=False)
    yield w
    w.close()


def test_seed_mentions_trace_to_text_and_sentence(seed_x: Workbench) -> None:
    text = seed_x.sql("SELECT text FROM articles").text[0]
    sents = seed_x.sql("SELECT * FROM sentences ORDER BY idx")
    ments = seed_x.sql("SELECT * FROM mentions ORDER BY start_char")
    assert seed_x.first.articles == 1 and len(sents) == seed_x.first.sentences > 5
    assert list(sents.idx) == list(range(len(sents)))
    by_idx = {r.idx: r for r in sents.itertuples()}
    for m in ments.itertuples():
        assert text[m.start_char : m.end_char] == m.text
        s = by_idx[m.sentence_idx]
        assert s.start_char <= m.start_char < m.end_char <= s.end_char
        assert m.text in s.text
    labels = set(ments.label)
    assert {"PERSON", "GPE", "ORG"} <= labels
    people = set(ments[ments.label == "PERSON"].text)
    assert {"Xi Jinping", "Vladimir Putin", "John Kirby", "Zelinskyy"} <= people


def test_sentences_tokens_lemmas_absolute_offsets(seed_x: Workbench) -> None:
    text = seed_x.sql("SELECT text FROM articles").text[0]
    for s in seed_x.sql("SELECT * FROM sentences").itertuples():
        assert text[s.start_char : s.end_char] == s.text
        assert len(s.tokens) == len(s.lemmas) == len(s.token_starts) > 0
        for tok, start in zip(s.tokens, s.token_starts, strict=True):
            assert text[start : start + len(tok)] == tok
            assert not tok.isspace()
    lemmas = {lem for ls in seed_x.sql("SELECT lemmas FROM sentences").lemmas for lem in ls}
    assert {"invade", "be", "war"} <= lemmas  # the lemmatizer ran ("invaded" -> "invade")


def test_pipeline_runs_only_what_later_stages_read(extract_nlp) -> None:  # type: ignore[no-untyped-def]
    assert extract_nlp.pipe_names == ["senter", "ner", "lookup_lemmatizer"]
    doc = extract_nlp("Sanctions were imposed. Officials in Kenya said the talks failed.")
    lemmas = [t.lemma_ for t in doc]
    # POS-free, lower-cased lookup: sentence-initial and inflected forms are lemmatised
    assert lemmas[:3] == ["sanction", "be", "impose"] and "talk" in lemmas and "fail" in lemmas
    assert [s.text for s in doc.sents][1].startswith("Officials")
    assert [(e.text, e.label_) for e in doc.ents] == [("Kenya", "GPE")]


def test_pipeline_row_records_model_and_components(seed_x: Workbench) -> None:
    p = seed_x.sql("SELECT * FROM pipelines")
    assert len(p) == 1
    comps = list(p.components[0])
    assert comps[:2] == ["senter", "ner"] and len(comps) == 3
    # the lemma table's package version is part of the pipeline's identity
    assert comps[2].startswith("lookup_lemmatizer(spacy-lookups-data==1.0.")
    assert "3.8" in p.model[0] and p.workbench_version[0]
    pids = seed_x.sql(
        "SELECT DISTINCT pipeline_id FROM sentences UNION SELECT DISTINCT "
        "pipeline_id FROM mentions UNION SELECT extracted_pipeline FROM articles"
    )
    assert list(pids.iloc[:, 0]) == [p.pipeline_id[0]]


def test_database_of_the_previous_pipeline_keeps_its_rows(
    wb: Workbench, tiny_articles: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Articles extracted by the tagger-based pipeline keep their rows and pipeline id; new
    articles get a new pipeline id; later stages read both (re-extraction stays optional)."""
    import workbench.nlp.extract as x
    from workbench.nlp.pipeline import load_model

    previous = load_model(exclude=("parser",))
    if "senter" in previous.disabled:
        previous.enable_pipe("senter")
    wb.ingest([tiny_articles], progress=False)
    monkeypatch.setattr(x, "pipeline", lambda model=None: previous)
    old = wb.extract(progress=False)
    monkeypatch.undo()
    write_seed_article(tiny_articles, "new.txt", "2022-06-01", "Sanctions on Russia widened.")
    wb.ingest([tiny_articles], progress=False)
    new = wb.analyze(progress=False)["extract"]
    assert (old.articles, new.articles) == (3, 1) and old.pipeline_id != new.pipeline_id
    rows = wb.sql("SELECT pipeline_id, components FROM pipelines ORDER BY 1")
    assert "tagger" in list(rows.components[0]) and "tagger" not in list(rows.components[1])
    by_pid = wb.sql("SELECT extracted_pipeline p, count(*) n FROM articles GROUP BY 1 ORDER BY 1")
    assert list(by_pid.n) == [3, 1]
    tagged = wb.sql("SELECT count(DISTINCT article_id) n FROM stage_done").n[0]
    assert tagged == 4


def test_second_extract_processes_nothing(seed_x: Workbench) -> None:
    before = store.table_counts(seed_x.con, ["sentences", "mentions", "pipelines"])
    again = seed_x.extract(progress=False)
    assert again.articles == 0 and again.mentions == 0
    assert store.table_counts(seed_x.con, ["sentences", "mentions", "pipelines"]) == before


def test_blank_line_starts_a_sentence(wb: Workbench, tmp_path: Path) -> None:
    d = tmp_path / "p"
    d.mkdir()
    write_seed_article(d, "a.txt", "2022-03-01", "Talks in Geneva\n\nOfficials from Kenya met.")
    wb.ingest([d], progress=False)
    wb.extract(progress=False)
    texts = list(wb.sql("SELECT text FROM sentences ORDER BY idx").text)
    assert texts == ["Talks in Geneva", "Officials from Kenya met."]


def test_crash_mid_run_keeps_whole_articles_and_resumes(
    wb: Workbench, tiny_articles: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wb.ingest([tiny_articles], progress=False)
    real = store.insert_df
    calls = {"n": 0}

    def flaky(con, table, df, **kw):  # type: ignore[no-untyped-def]
        if table == "mentions":
            calls["n"] += 1
            if calls["n"] == 2:
                raise RuntimeError("disk full (simulated)")
        return real(con, table, df, **kw)

    monkeypatch.setattr(store, "insert_df", flaky)
    with pytest.raises(RuntimeError, match="simulated"):
        extract(wb.con, chunk_size=1, progress=False)
    monkeypatch.setattr(store, "insert_df", real)
    done = wb.sql("SELECT article_id FROM articles WHERE extracted_pipeline IS NOT NULL")
    assert len(done) == 1  # the first chunk committed, the second rolled back
    orphans = wb.sql(
        "SELECT count(*) AS n FROM sentences WHERE article_id NOT IN "
        "(SELECT article_id FROM articles WHERE extracted_pipeline IS NOT NULL)"
    ).n[0]
    assert orphans == 0
    resumed = extract(wb.con, chunk_size=1, progress=False)
    assert resumed.articles == 2
    per_article = wb.sql("SELECT article_id, count(*) AS n FROM sentences GROUP BY ALL")
    assert len(per_article) == 3
    dup = wb.sql(
        "SELECT count(*) AS n FROM (SELECT article_id, idx FROM sentences "
        "GROUP BY ALL HAVING count(*) > 1)"
    ).n[0]
    assert dup == 0


def test_workers_two_gives_the_same_rows(tmp_path: Path, tiny_articles: Path) -> None:
    """The process pool (several tasks, several commits, a limit) stores what one process
    stores; the limit stops exactly there and the next run completes the corpus."""
    for i in range(9):
        write_seed_article(
            tiny_articles,
            f"more{i}.txt",
            f"2022-05-{i + 1:02d}",
            f"Talks number {i} between Antony Blinken and Wang Yi took place in Geneva. "
            f"Officials in Beijing and Washington said little.\n\nEurope watched.",
        )
    rows = []
    for workers in (1, 2):
        with Workbench(tmp_path / f"w{workers}.duckdb") as w:
            w.ingest([tiny_articles], progress=False)
            opts = {"workers": workers, "batch_size": 2, "chunk_size": 3, "progress": False}
            first = extract(w.con, limit=7, **opts)
            rest = extract(w.con, **opts)
            assert (first.articles, rest.articles, first.workers) == (7, 5, workers)
            assert first.words > 0 and first.mentions > 0
            rows.append(
                (
                    w.sql(
                        "SELECT article_id, sentence_idx, start_char, end_char, label, norm "
                        "FROM mentions ORDER BY ALL"
                    ).to_dict("records"),
                    w.sql(
                        "SELECT article_id, idx, start_char, end_char, array_to_string(lemmas, ' ') l "
                        "FROM sentences "
                        "ORDER BY article_id, idx"
                    ).to_dict("records"),
                    w.sql("SELECT count(*) n FROM articles WHERE extracted_pipeline IS NULL").n[0],
                )
            )
    assert rows[0] == rows[1] and rows[0][0] and rows[0][2] == 0


def test_default_workers_follow_the_pending_articles(
    tmp_path: Path, tiny_articles: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``workers`` unset: one process for a small batch, a pool of up to the usable cores
    (and at most MAX_AUTO_WORKERS) once enough articles are pending; the pool stores what
    one process stores."""
    from workbench.nlp import extract as ex

    per = ex.AUTO_ARTICLES_PER_WORKER
    assert [ex.auto_workers(n, cores=2) for n in (0, per - 1, 2 * per, 100 * per)] == [1, 1, 2, 2]
    assert ex.auto_workers(100 * per, cores=64) == ex.MAX_AUTO_WORKERS
    assert ex.auto_workers(100 * per, cores=1) == 1
    assert 1 <= ex.usable_cores() <= (os.cpu_count() or 1)

    def analysed(name: str) -> tuple[int, list[dict]]:
        with Workbench(tmp_path / name) as w:
            w.ingest([tiny_articles], progress=False)
            out = w.analyze(progress=False)
            rows = w.sql(
                "SELECT m.article_id, m.start_char, m.label, m.entity_id, s.idx, s.text "
                "FROM mentions m JOIN sentences s USING (article_id) ORDER BY ALL"
            ).to_dict("records")
            return out["extract"].workers, rows

    small = analysed("small.duckdb")
    assert small[0] == 1 and small[1]
    monkeypatch.setattr(ex, "AUTO_ARTICLES_PER_WORKER", 1)  # 3 articles now "enough"
    monkeypatch.setattr(ex, "usable_cores", lambda: 2)
    pooled = analysed("pooled.duckdb")
    assert pooled == (2, small[1])


def test_bad_workers_is_a_clear_error(wb: Workbench) -> None:
    from workbench.base import errors

    with pytest.raises(errors.BadOption, match="workers"):
        wb.extract(workers=0, progress=False)


def test_reextracted_articles_are_reprocessed_by_later_stages(
    wb: Workbench, tiny_articles: Path
) -> None:
    wb.ingest([tiny_articles], progress=False)
    wb.analyze(progress=False)
    done = "SELECT count(*) n FROM stage_done WHERE article_id = ?"
    aid = wb.sql("SELECT min(article_id) a FROM articles").a[0]
    before = wb.sql(done, [aid]).n[0]
    assert before >= 3  # themes, tone, quotes
    wb.con.execute("UPDATE articles SET extracted_pipeline = NULL WHERE article_id = ?", [aid])
    out = wb.analyze(progress=False)
    assert out["extract"].articles == 1
    assert (out["tone"].articles, wb.sql(done, [aid]).n[0]) == (1, before)
