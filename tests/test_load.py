"""Loaders: every input becomes an article or a reject with a reason."""

from __future__ import annotations

import datetime as dt

from conftest import SEED, write_seed_article

from workbench.ingest.load import Article, Reject, decode_bytes, load, parse_date


def items(path, **kw):
    return list(load([path], **kw))


def test_seed_article_loads_with_date_and_text():
    (a,) = items(SEED)
    assert isinstance(a, Article)
    assert a.date == dt.date(2023, 3, 20)
    assert a.text.startswith("Chinese President Xi Jinping landed in Russia")
    assert a.title is None  # the format has no title line: none is invented
    assert a.format == "seed"


def test_ids_are_stable_and_whitespace_insensitive(tmp_path):
    write_seed_article(tmp_path, "a.txt", "2022-01-02", "Hello   world.\n")
    write_seed_article(tmp_path, "b.txt", "2022-01-02", "Hello world.")
    a, b = items(tmp_path)
    assert a.article_id == b.article_id


def test_leading_whitespace_before_date_header(tmp_path):
    (tmp_path / "x.txt").write_text("\n\n   date 2021-05-06   Body text here.")
    (a,) = items(tmp_path / "x.txt")
    assert a.date == dt.date(2021, 5, 6) and a.text == "Body text here."


def test_parse_date_formats():
    assert parse_date("2022/06/23")[0] == dt.date(2022, 6, 23)
    assert parse_date("2022-08-01T16:23:25Z")[0] == dt.date(2022, 8, 1)
    d, ts = parse_date("26-FEB-1987 15:01:01.79")
    assert d == dt.date(1987, 2, 26) and ts.hour == 15


def test_bad_text_files_are_rejected_with_reasons(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.txt").write_bytes(b"   \n\t ")
    (tmp_path / "nodate.txt").write_text("Just a story with no header.")
    (tmp_path / "impossible.txt").write_text(" date 2023-02-30 Text.")
    (tmp_path / "future.txt").write_text(" date 2999-01-01 Text.")
    (tmp_path / "binary.bin").write_bytes(b"\x00\x01\x02PNG\x00" * 100)
    (tmp_path / "big.txt").write_text(" date 2022-01-01 " + "word " * 5000)
    got = {p.origin.rsplit("/", 1)[-1]: p for p in _load_limited(tmp_path)}
    assert all(isinstance(v, Reject) for v in got.values()), got
    assert got["empty.txt"].reason == "empty"
    assert got["blank.txt"].reason == "empty"
    assert got["nodate.txt"].reason == "no_date"
    assert got["impossible.txt"].reason == "bad_date"
    assert got["future.txt"].reason == "future_date"
    assert got["binary.bin"].reason == "binary"
    assert got["big.txt"].reason == "too_large"


def _load_limited(path):
    from workbench.ingest.load import Limits

    return list(load([path], limits=Limits(max_file_bytes=10_000)))


def test_decoding_fallbacks():
    assert decode_bytes("café".encode())[1] == "utf-8"
    text, enc, note = decode_bytes("café – ok".encode("cp1252"))
    assert text == "café – ok" and enc == "cp1252" and "UTF-8" in note
    assert decode_bytes("hi".encode("utf-16"))[0] == "hi"
    assert decode_bytes("hello there".encode("utf-16-le"))[0] == "hello there"
    assert decode_bytes(b"\xef\xbb\xbfbom")[0] == "bom"


def test_csv_mapping_autodetect_and_malformed_rows(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text(
        'published,headlines,articles\n2022/06/23,"T1","Body, with ""quotes""\nand a '
        'newline"\n2022/06/24,T2\nnot-a-date,T3,Body3\n2022-06-25,T4,"Body4"\n'
    )
    out = items(p)
    assert [type(x).__name__ for x in out] == ["Article", "Reject", "Reject", "Article"]
    assert out[0].title == "T1" and "newline" in out[0].text and out[0].source == "x"
    assert out[1].reason == "malformed_row" and out[1].origin.endswith("#row=3")
    assert out[2].reason == "bad_date"


def test_jsonl_and_parquet_with_explicit_columns(tmp_path):
    import pandas as pd

    df = pd.DataFrame(
        {"body": ["A text.", "B text."], "day": ["2022-01-01", "2022-01-02"], "outlet": ["X", "Y"]}
    )
    df.to_parquet(tmp_path / "d.parquet")
    df.to_json(tmp_path / "d.jsonl", orient="records", lines=True)
    with open(tmp_path / "d.jsonl", "a") as fh:
        fh.write("{broken json\n")
    cols = {"text": "body", "date": "day", "source": "outlet"}
    pq = items(tmp_path / "d.parquet", columns=cols)
    js = items(tmp_path / "d.jsonl", columns=cols)
    assert [a.source for a in pq] == ["X", "Y"]
    assert [a.article_id for a in pq] == [a.article_id for a in js[:2]]
    assert js[2].reason == "malformed_row"


def test_truncated_sgml(tmp_path):
    p = tmp_path / "r.sgm"
    p.write_text(
        '<REUTERS NEWID="1"><DATE>26-FEB-1987 15:01:01.79</DATE><TEXT><TITLE>T'
        "</TITLE><BODY>Cocoa &lt;prices&gt; rose.&#3;</BODY></TEXT></REUTERS>\n"
        '<REUTERS NEWID="2"><DATE>26-FEB-1987</DATE><TEXT><BODY>cut off here',
        encoding="latin-1",
    )
    a, r = items(p)
    assert a.text == "Cocoa <prices> rose." and a.title == "T"
    assert r.reason == "truncated_sgml" and r.origin.endswith("#NEWID=2")


def test_symlink_loop_is_reported(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    write_seed_article(d, "a.txt", "2022-01-01", "Text.")
    (d / "loop").symlink_to(d, target_is_directory=True)
    out = items(d)
    assert sum(isinstance(x, Article) for x in out) == 1
    assert any(isinstance(x, Reject) and x.reason == "symlink_loop" for x in out)
