"""Ingest into a real DuckDB file: counts reconcile, re-ingest is idempotent."""

from __future__ import annotations

import os
import time

from conftest import BBC, REUTERS, RU_UA, SEED, need_shared, write_seed_article

from workbench import Workbench

TABLES = ("articles", "rejects", "duplicates")


def counts(wb):
    sql = "SELECT count(*) n FROM {}"
    return {t: wb.sql(sql.format(t)).n[0] for t in TABLES}


def test_seed_ingests_as_one_article(wb):
    r = wb.ingest([SEED], progress=False)
    assert (r.inputs, r.stored, r.rejected) == (1, 1, 0)
    row = wb.sql("SELECT date::VARCHAR d, text FROM articles").iloc[0]
    assert row.d == "2023-03-20"
    assert row.text.startswith("Chinese President Xi Jinping landed in Russia")
    assert wb.summary()["articles"] == 1


def test_reingest_is_idempotent_and_duplicates_are_linked(wb, tmp_path, tiny_articles):
    write_seed_article(
        tiny_articles,
        "dup.txt",
        "2022-03-01",
        "Ukrainian President Volodymyr "
        "Zelenskyy spoke with Joe Biden in Kyiv about sanctions on Russia.",
    )
    (tiny_articles / "bad.txt").write_text("no header")
    r1 = wb.ingest([tiny_articles], progress=False)
    before = counts(wb)
    r2 = wb.ingest([tiny_articles], progress=False)
    assert counts(wb) == before == {"articles": 3, "rejects": 1, "duplicates": 1}
    assert (r1.stored, r1.duplicates, r1.rejected) == (3, 1, 1)
    assert (r2.stored, r2.unchanged, r2.duplicates) == (0, 3, 1)
    runs = wb.sql("SELECT kind, status, n_inputs FROM runs ORDER BY run_id")
    assert list(runs.status) == ["ok", "ok"] and list(runs.n_inputs) == [5, 5]


def test_bad_rows_never_abort_the_batch(wb, tmp_path):
    p = tmp_path / "x.csv"
    lines = ["date,text"] + [f"2022-01-{i % 28 + 1:02d},Article number {i}" for i in range(50)]
    lines.insert(10, "2022-01-01,too,many,fields")
    lines.insert(20, "2022-02-31,impossible date")
    p.write_text("\n".join(lines) + "\n")
    r = wb.ingest([p], progress=False)
    assert (r.stored, r.rejected) == (50, 2)
    assert r.inputs == r.stored + r.rejected + r.duplicates + r.unchanged


def test_schema_version_recorded(wb):
    wb.ingest([SEED], progress=False)
    assert wb.sql("SELECT max(version) v FROM schema_version").v[0] >= 1
    path = wb.path
    wb.close()
    ro = Workbench(path, read_only=True)
    assert ro.summary()["articles"] == 1
    ro.close()


def test_reuters_train_counts_add_up(wb):
    need_shared("corpora", "reuters21578")
    r = wb.ingest([str(REUTERS / "reut2-*.sgm")], progress=False)
    print(r)
    assert r.inputs == r.stored + r.duplicates + r.rejected
    elements = sum(p.read_bytes().count(b"<REUTERS ") for p in REUTERS.glob("reut2-*.sgm"))
    empty_files = sum(1 for p in REUTERS.glob("reut2-*.sgm") if b"<REUTERS " not in p.read_bytes())
    assert elements == 15390
    assert r.inputs == elements + empty_files
    dmin, dmax = wb.sql("SELECT min(date)::VARCHAR a, max(date)::VARCHAR b FROM articles").iloc[0]
    assert dmin == "1987-02-26" and dmax.startswith("1987-")
    meta = wb.sql("SELECT meta->>'$.places' p FROM articles WHERE meta->>'$.newid' = '1'").p[0]
    assert "usa" in meta


def test_2022_csvs_and_bbc_ingest_with_dates_and_labels(wb):
    need_shared("corpora", "ru-ua-2022")
    need_shared("corpora", "bbc-news")
    wb.ingest([RU_UA], progress=False)
    per = wb.sql(
        "SELECT source, count(*) n, min(date)::VARCHAR a, max(date)::VARCHAR b "
        "FROM articles GROUP BY 1 ORDER BY 1"
    ).set_index("source")
    assert per.loc["Guardians_Russia_Ukraine", "a"] == "2022-02-24"
    assert per.loc["NYT_Russia_Ukraine", "b"] == "2022-07-31"
    assert (
        per.n.sum()
        + wb.sql("SELECT count(*) n FROM duplicates").n[0]
        + wb.sql("SELECT count(*) n FROM rejects").n[0]
        == 188 + 219 + 816 + 980
    )
    r = wb.ingest([BBC], progress=False)
    assert r.rejected == 1  # README.TXT at the root has no label
    labels = (
        wb.sql(
            "SELECT meta->>'$.label' l, count(*) n FROM articles WHERE format = "
            "'labelled' GROUP BY 1"
        )
        .set_index("l")
        .n
    )
    assert set(labels.index) == {"business", "entertainment", "politics", "sport", "tech"}
    assert labels.sum() + r.duplicates == 2225
    sport199 = wb.sql("SELECT encoding, text FROM articles WHERE origin LIKE '%sport/199.txt'")
    assert len(sport199) == 1 and sport199.encoding[0] == "cp1252"


def _age(folder, seconds=60):
    """Backdate every file: files modified within the last 2 s are never recorded as done."""
    t = time.time() - seconds
    for p in folder.rglob("*"):
        if p.is_file():
            os.utime(p, (t, t))


def test_unchanged_files_are_not_parsed_again(wb, tiny_articles, monkeypatch):
    (tiny_articles / "bad.txt").write_text("no header")
    _age(tiny_articles)
    r1 = wb.ingest([tiny_articles], progress=False)
    assert r1.skipped_files == 0
    assert wb.sql("SELECT count(*) n FROM files").n[0] == 4  # 3 articles + the reject

    import workbench.ingest.writer as ingest_mod

    def parse_nothing(*args, **kwargs):
        raise AssertionError("an unchanged file was parsed again")

    monkeypatch.setattr(ingest_mod, "load_file", parse_nothing)
    r2 = wb.ingest([tiny_articles], progress=False)
    # Counted exactly as a re-read counts them: articles already present, the reject again.
    assert (r2.inputs, r2.stored, r2.unchanged, r2.rejected) == (4, 0, 3, 1)
    assert r2.reject_reasons == r1.reject_reasons and r2.skipped_files == 4
    monkeypatch.undo()

    # A changed file is read again; --rescan reads them all.
    changed = sorted(tiny_articles.glob("*.txt"))[0]
    changed.write_text(changed.read_text() + " One more sentence.")
    os.utime(changed, (time.time() - 30, time.time() - 30))
    r3 = wb.ingest([tiny_articles], progress=False)
    assert (r3.stored, r3.skipped_files) == (1, 3)
    r4 = wb.ingest([tiny_articles], progress=False, rescan=True)
    assert (r4.skipped_files, r4.stored, r4.unchanged, r4.rejected) == (0, 0, 3, 1)


def test_just_written_files_are_not_recorded(wb, tiny_articles):
    """A file written during the run's timestamp granularity could change unseen."""
    wb.ingest([tiny_articles], progress=False)
    assert wb.sql("SELECT count(*) n FROM files").n[0] == 0
    assert wb.ingest([tiny_articles], progress=False).skipped_files == 0


def test_ingest_caps_duckdb_memory_and_restores_it(wb, tiny_articles):
    before = wb.sql("SELECT current_setting('memory_limit') m").m[0]
    seen = []
    import workbench.ingest.writer as ingest_mod

    real = ingest_mod._write_batch

    def spy(con, *args, **kwargs):
        seen.append(con.execute("SELECT current_setting('memory_limit')").fetchone()[0])
        return real(con, *args, **kwargs)

    ingest_mod._write_batch = spy
    try:
        for _ in range(3):  # no drift from the printed (truncated) value
            ingest_mod.ingest(
                wb.con, [tiny_articles], progress=False, rescan=True, memory_limit="64MB"
            )
    finally:
        ingest_mod._write_batch = real
    assert seen and all(m == "61.0 MiB" for m in seen)  # DuckDB's rendering of 64MB
    assert wb.sql("SELECT current_setting('memory_limit') m").m[0] == before
    # The buffer pool really is back (DuckDB's RESET leaves it capped): a 200 MB string
    # cannot spill to disk and fails under the ingest cap.
    q = "SELECT length(string_agg(repeat('x', 1000), ',')) n FROM range(200000)"
    assert wb.sql(q).n[0] == 200_199_999


def test_the_database_in_the_input_folder_is_not_an_input(tmp_path, tiny_articles):
    with Workbench(tiny_articles / "corpus.duckdb") as w:
        r = w.ingest([tiny_articles], progress=False)
        assert (r.inputs, r.stored, r.rejected) == (3, 3, 0)


def test_long_articles_ingest_and_the_cache_is_trimmed_after_each_batch(wb, tmp_path):
    """900 KB articles, one per batch, under the default settings: every batch is followed
    by the cache trim (``ingest.trim_cache``) and the limit is back after it."""
    import json

    import workbench.ingest.writer as ingest_mod

    before = wb.sql("SELECT current_setting('memory_limit') m").m[0]
    path = tmp_path / "long.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for i in range(3):
            words = " ".join(f"word{i}x{k}" for k in range(90_000))[:900_000]
            fh.write(json.dumps({"text": words, "date": f"2022-03-0{i + 1}"}) + "\n")
    limits = []
    real = ingest_mod._restore_memory_limit

    def spy(con, old):
        limits.append(con.execute("SELECT current_setting('memory_limit')").fetchone()[0])
        return real(con, old)

    ingest_mod._restore_memory_limit = spy
    try:
        r = ingest_mod.ingest(wb.con, [path], format="jsonl", batch_size=1, progress=False)
    finally:
        ingest_mod._restore_memory_limit = real
    assert (r.stored, r.rejected) == (3, 0)
    lengths = wb.sql("SELECT length(text) n FROM articles ORDER BY date").n.tolist()
    assert lengths == [900_000] * 3
    assert limits.count("30.5 MiB") >= 3  # the trim ran after each of the three batches
    assert wb.sql("SELECT current_setting('memory_limit') m").m[0] == before


def test_tables_keep_small_row_groups_after_a_reopen(tmp_path):
    """DuckDB keeps no row-group size in the file: every connection attaches it with
    ``store.ROW_GROUP_SIZE``, so an append after a reopen does not merge row groups."""
    from workbench.base import store

    path = tmp_path / "rg.duckdb"
    q = "SELECT max(count) AS n FROM pragma_storage_info('t') WHERE column_id = 0"
    for _ in range(2):
        with Workbench(path) as w:
            w.con.execute("CREATE TABLE IF NOT EXISTS t (i BIGINT)")
            for _ in range(3):
                w.con.execute("INSERT INTO t SELECT range FROM range(7000)")
            w.con.execute("CHECKPOINT")
    with Workbench(path, read_only=True) as w:
        assert w.sql("SELECT count(*) n FROM t").n[0] == 42_000
        assert w.sql(q).n[0] == store.ROW_GROUP_SIZE
