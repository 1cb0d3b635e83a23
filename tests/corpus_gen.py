"""A generated hostile corpus for the reliability suites, with the expected fate of every input.

``make_corpus(root, seed=..., csv_rows=...)`` writes valid articles mixed with every bad kind
the loaders must survive, and returns an ``Expected`` ledger: one entry per input (a file, a
CSV/JSONL row, an SGML element, a folder the walk must refuse) saying whether it must be
*stored*, *rejected* (with which reason) or linked as a *duplicate*. The reliability tests
reconcile the database against this ledger exactly.

Near-duplicate policy (documented here and asserted by the tests):

- whitespace-only, Unicode-normalisation (NFC/NFD), BOM and encoding differences (the same
  text as UTF-8, latin-1 or UTF-16) give the same ``article_id`` -> an exact duplicate, linked
  in ``duplicates`` and not stored twice;
- case-only differences give a new ``article_id`` but the same ``text_hash`` -> stored, and
  counted once by the query layer's dedup mode ``"text"``;
- the same text with another date or source is another article (stored).

Hidden files (names starting with ``.``) are not inputs: the walk skips them on purpose
(``.DS_Store``, editor swap files), so the generator writes one and expects nothing from it.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import random
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from workbench.base import config

WORDS = (
    "minister talks border ceasefire sanctions summit election protest energy gas oil trade "
    "market court refugees aid missile drone village city council report officials said "
    "spokesperson agreement convoy harbour grain export inflation bank rates strike vote"
).split()
SOURCES = ("Daily Planet", "Le Monde", "Kyiv Post", "The Hindu", "El País")


@dataclass
class Expected:
    """The fate of every generated input, keyed by the origin the loaders report."""

    stored: dict[str, str] = field(default_factory=dict)  # origin -> stored text (stripped)
    rejected: dict[str, str] = field(default_factory=dict)  # origin -> reason
    duplicates: dict[str, str] = field(default_factory=dict)  # origin -> origin it duplicates
    near_duplicates: list[tuple[str, str]] = field(default_factory=list)  # same text_hash
    big_file: Path | None = None

    @property
    def inputs(self) -> int:
        return len(self.stored) + len(self.rejected) + len(self.duplicates)

    def counts(self) -> dict[str, int]:
        return {
            "inputs": self.inputs,
            "stored": len(self.stored),
            "rejected": len(self.rejected),
            "duplicates": len(self.duplicates),
        }


def sentence(rng: random.Random, n: int = 12) -> str:
    words = [rng.choice(WORDS) for _ in range(n)]
    return " ".join(words).capitalize() + "."


def body(rng: random.Random, tag: str, sentences: int = 3) -> str:
    """Article text, unique through ``tag``."""
    return f"Report {tag}: " + " ".join(sentence(rng) for _ in range(sentences))


def rand_date(rng: random.Random) -> dt.date:
    return dt.date(2000, 1, 1) + dt.timedelta(days=rng.randrange(0, 8000))


def seed_bytes(date: str, text: str, enc: str = "utf-8") -> bytes:
    return f" date {date} {text}".encode(enc)


def make_corpus(root: Path, *, seed: int = 0, csv_rows: int = 10_000, big_mb: int = 50) -> Expected:
    """Write the hostile corpus under ``root`` (which must not exist) and return its ledger."""
    rng = random.Random(seed)
    root.mkdir(parents=True)
    exp = Expected()

    def put(name: str, data: bytes) -> Path:
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        return p

    # --- valid seed-format articles (names sort first, so they are the originals) --------
    valid: list[tuple[Path, str, str]] = []
    for i in range(20 + rng.randrange(10)):
        text, date = body(rng, f"valid-{seed}-{i}"), rand_date(rng).isoformat()
        p = put(f"a_valid_{i:03d}.txt", seed_bytes(date, text))
        exp.stored[str(p)] = text
        valid.append((p, date, text))
    # leading whitespace and newlines before the header are allowed
    text = body(rng, "leading-ws")
    p = put("a_leading_ws.txt", b"\n\n \t" + seed_bytes("2021-05-06", text))
    exp.stored[str(p)] = text

    # --- empty / whitespace / no header / dates ---------------------------------------
    exp.rejected[str(put("b_empty.txt", b""))] = "empty"
    exp.rejected[str(put("b_whitespace.txt", b" \n\t\r\n   \n"))] = "empty"
    exp.rejected[str(put("b_header_only.txt", b" date 2022-01-01   \n"))] = "empty"
    exp.rejected[str(put("b_no_header.txt", body(rng, "nohdr").encode()))] = "no_date"
    exp.rejected[str(put("b_header_later.txt", b"Title\n date 2022-01-01 text"))] = "no_date"
    for k, bad in enumerate(("2023-02-30", "2022-13-01", "2021-00-10", "2022-02-29", "99-99")):
        exp.rejected[str(put(f"b_impossible_{k}.txt", seed_bytes(bad, body(rng, bad))))] = (
            "bad_date"
        )
    exp.rejected[str(put("b_too_old.txt", seed_bytes("1700-01-01", body(rng, "old"))))] = "bad_date"
    horizon = dt.date.today() + dt.timedelta(days=config.FUTURE_DATE_HORIZON_DAYS)
    beyond = horizon + dt.timedelta(days=1)
    exp.rejected[str(put("b_future.txt", seed_bytes(beyond.isoformat(), body(rng, "fut"))))] = (
        "future_date"
    )
    exp.rejected[str(put("b_far_future.txt", seed_bytes("2999-01-01", body(rng, "ff"))))] = (
        "future_date"
    )
    text = body(rng, "at-horizon")  # exactly on the horizon is still allowed
    exp.stored[str(put("b_at_horizon.txt", seed_bytes(horizon.isoformat(), text)))] = text

    # --- binary --------------------------------------------------------------------------
    exp.rejected[str(put("c_nul.txt", b" date 2022-01-01 abc\x00\x01\x02" * 200))] = "binary"
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(rng.randrange(256) for _ in range(3000))
    exp.rejected[str(put("c_image.txt", png))] = "binary"
    ctrl = bytes(rng.choice(range(1, 9)) for _ in range(2000))
    exp.rejected[str(put("c_control.txt", ctrl))] = "binary"

    # --- encodings: all decode to the same text ------------------------------------------
    accented = "Café in São Paulo: Zelenskyy’s “peace” plan – naïve? " + body(rng, "enc")
    latin = accented.replace("’", "'").replace("“", '"').replace("”", '"').replace("–", "-")
    p = put("d_enc_a_latin1.txt", seed_bytes("2022-03-01", latin, "latin-1"))
    exp.stored[str(p)] = latin
    latin_orig = str(p)
    exp.stored[str(put("d_enc_a_cp1252.txt", seed_bytes("2022-03-02", accented, "cp1252")))] = (
        accented
    )
    utf8_orig = str(put("d_enc_a_utf8.txt", seed_bytes("2022-03-03", accented)))
    exp.stored[utf8_orig] = accented
    variants = {
        "d_enc_v_utf8_bom.txt": b"\xef\xbb\xbf" + seed_bytes("2022-03-03", accented),
        "d_enc_v_utf16_bom.txt": seed_bytes("2022-03-03", accented, "utf-16"),
        "d_enc_v_utf16be_bom.txt": b"\xfe\xff" + seed_bytes("2022-03-03", accented, "utf-16-be"),
        "d_enc_v_utf16le_nobom.txt": seed_bytes("2022-03-03", accented, "utf-16-le"),
        "d_enc_v_utf16be_nobom.txt": seed_bytes("2022-03-03", accented, "utf-16-be"),
        "d_enc_v_utf8_nfd.txt": seed_bytes("2022-03-03", unicodedata.normalize("NFD", accented)),
    }
    for name, data in variants.items():  # the same article, other bytes: exact duplicates
        exp.duplicates[str(put(name, data))] = utf8_orig
    exp.duplicates[str(put("d_enc_v_latin1_as_utf8.txt", seed_bytes("2022-03-01", latin)))] = (
        latin_orig
    )

    # --- size limits (defaults: config.MAX_FILE_BYTES, config.MAX_ARTICLE_CHARS) ----------
    if big_mb:
        big = root / "e_big_50mb.txt"
        chunk = seed_bytes("2022-01-01", "word " * 200_000)
        with open(big, "wb") as fh:
            for _ in range(big_mb * (1 << 20) // len(chunk) + 1):
                fh.write(chunk)
        exp.rejected[str(big)] = "too_large"
        exp.big_file = big
    long_text = "lorem " * (config.MAX_ARTICLE_CHARS // 6 + 100)
    exp.rejected[str(put("e_too_long.txt", seed_bytes("2022-01-01", long_text)))] = "too_long"

    # --- duplicates and near-duplicates of the valid articles ---------------------------
    p0, d0, t0 = valid[0]
    exp.duplicates[str(put("z_copy.txt", p0.read_bytes()))] = str(p0)
    spaced = "  ".join(t0.split(" ")).replace(". ", ".\n\n")
    exp.duplicates[str(put("z_whitespace_variant.txt", seed_bytes(d0, spaced + "\n")))] = str(p0)
    p1, d1, t1 = valid[1]
    upper = t1.upper()
    p = put("z_case_variant.txt", seed_bytes(d1, upper))
    exp.stored[str(p)] = upper
    exp.near_duplicates.append((str(p1), str(p)))
    other_day = (dt.date.fromisoformat(d1) + dt.timedelta(days=1)).isoformat()
    exp.stored[str(put("z_other_date.txt", seed_bytes(other_day, t1)))] = t1
    (root / "zz_link.txt").symlink_to(p0)
    exp.duplicates[str(root / "zz_link.txt")] = str(p0)

    # --- paths: symlink loops, dangling links, FIFOs, folders named *.txt, hidden --------
    (root / "f_loop").symlink_to(root, target_is_directory=True)
    exp.rejected[str(root / "f_loop")] = "symlink_loop"
    (root / "f_dangling.txt").symlink_to(root / "does-not-exist.txt")
    exp.rejected[str(root / "f_dangling.txt")] = "unreadable"
    (root / "f_self.txt").symlink_to(root / "f_self.txt")
    exp.rejected[str(root / "f_self.txt")] = "unreadable"
    os.mkfifo(root / "f_fifo.txt")
    exp.rejected[str(root / "f_fifo.txt")] = "not_a_file"
    text = body(rng, "in-folder-named-txt")
    exp.stored[str(put("f_folder.txt/x/y/inner.txt", seed_bytes("2020-02-02", text)))] = text
    put(".DS_Store", b"\x00\x00\x00\x01Bud1" * 10)  # hidden: not an input
    text = body(rng, "locked")
    locked = put("f_locked.txt", seed_bytes("2020-02-03", text))
    locked.chmod(0)
    if os.geteuid() == 0:  # root reads mode-000 files (as in CI): the file is simply stored
        exp.stored[str(locked)] = text
    else:
        exp.rejected[str(locked)] = "unreadable"

    # --- labelled folder (<root>/<label>/NNN.txt, first line the title) -----------------
    text = body(rng, "labelled")
    exp.stored[str(put("sport/001.txt", f"A title\n\n{text}\n".encode()))] = text
    exp.rejected[str(put("sport/002.txt", b"Only a title\n"))] = "empty"

    # --- Reuters SGML: good, bad date, empty, entities, repeated NEWID, truncated, garbled
    _write_sgml(root / "g_reuters.sgm", rng, exp)
    garbage = bytes(rng.randrange(32, 127) for _ in range(5000)).replace(b"<", b"(")
    exp.rejected[str(put("g_garbled.sgm", garbage))] = "empty"

    # --- JSON Lines and Parquet ----------------------------------------------------------
    _write_jsonl(root / "h_rows.jsonl", rng, exp)
    _write_parquet(root / "h_rows.parquet", rng, exp)
    exp.rejected[str(put("h_corrupt.parquet", b"PAR1" + b"\x00garbage" * 50))] = "malformed_file"

    # --- CSVs: a big ragged one, an unterminated quote, no text column, header only ------
    _write_big_csv(root / "i_big.csv", rng, exp, csv_rows)
    p = put("i_unterminated.csv", b'date,text\n2022-01-01,"unterminated\n2022-01-02,next row\n')
    exp.stored[f"{p}#row=2"] = "unterminated\n2022-01-02,next row"  # the csv module joins it
    for name, enc in (("i_utf16le_nobom.csv", "utf-16-le"), ("i_cp1252.csv", "cp1252")):
        texts = [f"Café – naïve “quotes” {body(rng, name + str(k))}" for k in range(2)]
        rows = "".join(f'2022-01-0{k + 1},"{t}"\r\n' for k, t in enumerate(texts))
        p = put(name, ("date,text\r\n" + rows).encode(enc))
        for k, t in enumerate(texts):
            exp.stored[f"{p}#row={k + 2}"] = t
    exp.rejected[str(put("i_no_text.csv", b"date,foo\n2022-01-01,bar\n"))] = "no_text_column"
    exp.rejected[str(put("i_empty.csv", b""))] = "empty"
    return exp


def _write_sgml(path: Path, rng: random.Random, exp: Expected) -> None:
    def el(newid: str, date: str | None, text_el: str, close: bool = True) -> str:
        d = f"<DATE>{date}</DATE>\n" if date is not None else ""
        tail = "</REUTERS>\n" if close else "\n"
        return (
            f'<REUTERS TOPICS="YES" LEWISSPLIT="TRAIN" NEWID="{newid}">\n{d}'
            f"<PLACES><D>usa</D></PLACES>\n<TEXT>{text_el}</TEXT>\n{tail}"
        )

    def txt(title: str, b: str) -> str:
        return f"<TITLE>{title}</TITLE><DATELINE>NEW YORK, Feb 26 -</DATELINE><BODY>{b}</BODY>"

    parts = ['<!DOCTYPE lewis SYSTEM "lewis.dtd">\n']
    b1 = body(rng, "sgml-1")
    parts.append(el("1", "26-FEB-1987 15:01:01.79", txt("COCOA &lt;UP&gt;", b1 + "&#3;")))
    exp.stored[f"{path}#NEWID=1"] = b1
    parts.append(el("2", "31-FEB-1987 10:00:00.00", txt("BAD DATE", body(rng, "sgml-2"))))
    exp.rejected[f"{path}#NEWID=2"] = "bad_date"
    parts.append(el("3", "26-FEB-1987 15:01:01.79", ""))
    exp.rejected[f"{path}#NEWID=3"] = "empty"
    b4 = body(rng, "sgml-4")
    parts.append(el("4", "27-FEB-1987", txt("ENTITIES", b4 + " &#99999999; &#55296; &#233;")))
    exp.stored[f"{path}#NEWID=4"] = b4 + " \ufffd \ufffd é"
    b5 = body(rng, "sgml-5")
    parts.append(el("1", "28-FEB-1987", txt("REPEATED NEWID", b5)))
    exp.stored[f"{path}#NEWID=1@element5"] = b5
    parts.append(el("6", None, txt("NO DATE", body(rng, "sgml-6"))))
    exp.rejected[f"{path}#NEWID=6"] = "no_date"
    parts.append(el("7", "1-MAR-1987", txt("TRUNCATED", body(rng, "sgml-7")[:30]), close=False))
    exp.rejected[f"{path}#NEWID=7"] = "truncated_sgml"
    b8 = body(rng, "sgml-8")
    parts.append(el("8", "2-MAR-1987", txt("LAST GOOD", b8)))
    exp.stored[f"{path}#NEWID=8"] = b8
    parts.append('<REUTERS NEWID="9" cut off mid-tag')
    exp.rejected[f"{path}#NEWID=element9"] = "truncated_sgml"
    path.write_bytes("".join(parts).encode("latin-1"))


def _write_jsonl(path: Path, rng: random.Random, exp: Expected) -> None:
    lines: list[str] = []

    def add(line: str, fate: tuple[str, str] | None) -> None:
        lines.append(line)
        if fate is None:
            return
        origin = f"{path}#line={len(lines)}"
        kind, value = fate
        getattr(exp, kind)[origin] = value

    for i in range(5):
        t = body(rng, f"jsonl-{i}")
        row = {"date": rand_date(rng).isoformat(), "title": f"T{i}", "source": "Wire", "text": t}
        add(json.dumps(row), ("stored", t))
    add("{broken json", ("rejected", "malformed_row"))
    add("[1, 2, 3]", ("rejected", "malformed_row"))
    add('"just a string"', ("rejected", "malformed_row"))
    add(json.dumps({"foo": 1, "bar": "x"}), ("rejected", "no_text_column"))
    add("", None)  # blank line: not a record
    add("   ", None)
    t = body(rng, "surrogate")
    add('{"date": "2022-01-01", "text": "' + t + ' \\ud800 end"}', ("stored", t + " \ufffd end"))
    t = body(rng, "nul")
    add('{"date": "2022-01-02", "text": "' + t + '\\u0000 end"}', ("stored", t + " end"))
    t = body(rng, "numeric-date")
    add(json.dumps({"date": 20220103, "text": t}), ("stored", t))
    add(json.dumps({"date": "2022-02-30T10:00:00", "text": "x"}), ("rejected", "bad_date"))
    add(json.dumps({"date": "0001-01-01T00:00:00+01:00", "text": "y"}), ("rejected", "bad_date"))
    add(json.dumps({"date": None, "text": "z"}), ("rejected", "no_date"))
    add(json.dumps({"date": "2022-01-04", "text": "   "}), ("rejected", "empty"))
    add(json.dumps({"date": "2022-01-05", "text": None}), ("rejected", "empty"))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _write_parquet(path: Path, rng: random.Random, exp: Expected) -> None:
    import pandas as pd

    texts = [body(rng, f"parquet-{i}") for i in range(3)]
    df = pd.DataFrame(
        {
            "published": ["2022-05-01", "2022-05-02", "not a date"],
            "headline": ["P0", "P1", "P2"],
            "body": texts,
        }
    )
    df.to_parquet(path)
    exp.stored[f"{path}#row=1"] = texts[0]
    exp.stored[f"{path}#row=2"] = texts[1]
    exp.rejected[f"{path}#row=3"] = "bad_date"


def _write_big_csv(path: Path, rng: random.Random, exp: Expected, rows: int) -> None:
    """A large CSV with ragged rows, embedded newlines/quotes/commas, bad values, duplicates."""
    header = ["date", "title", "source", "text"]
    kept: list[tuple[str, list[str]]] = []  # (origin, row) of stored rows, for duplicates
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for i in range(rows):
            origin = f"{path}#row={i + 2}"
            r = rng.random()
            date = rand_date(rng).isoformat()
            src = rng.choice(SOURCES)
            if r < 0.70 or not kept:
                t = body(rng, f"csv-{i}", sentences=1 + rng.randrange(3))
                if rng.random() < 0.3:
                    t = t.replace(": ", ':\n"quoted, with comma"\n', 1)
                row = [date, f"Title {i}", src, t]
                exp.stored[origin] = t
                kept.append((origin, row))
            elif r < 0.74:
                row = [date, "too many", src, "text", "extra"]
                exp.rejected[origin] = "malformed_row"
            elif r < 0.78:
                row = [date, "too few", src]
                exp.rejected[origin] = "malformed_row"
            elif r < 0.80:
                row = [date, "empty text", src, rng.choice(["", "   ", "\n\t"])]
                exp.rejected[origin] = "empty"
            elif r < 0.81:
                row = ["", "", "", ""]
                exp.rejected[origin] = "empty"
            elif r < 0.84:
                row = [rng.choice(["2022-02-30", "yesterday", "2022/13/01"]), "bad", src, "x"]
                exp.rejected[origin] = "bad_date"
            elif r < 0.86:
                row = ["", "no date", src, body(rng, f"nodate-{i}")]
                exp.rejected[origin] = "no_date"
            elif r < 0.88:
                row = ["2999-12-31", "future", src, body(rng, f"future-{i}")]
                exp.rejected[origin] = "future_date"
            elif r < 0.94:
                first, orig = rng.choice(kept)
                row = [orig[0], "another title", orig[2], orig[3]]
                exp.duplicates[origin] = first
            else:
                first, orig = rng.choice(kept)
                row = [orig[0], orig[1], orig[2], "  " + orig[3].replace(" ", "\n ", 2) + " "]
                exp.duplicates[origin] = first
            w.writerow(row)


def remove_deep_chain(top: Path, depth: int, leaf: str) -> None:
    """Remove ``top/d/d/.../leaf`` (``depth`` levels) bottom-up through directory fds:
    ``shutil.rmtree`` recurses per level and fails at this depth."""
    fds = [os.open(top, os.O_RDONLY)]
    try:
        for _ in range(depth):
            fds.append(os.open("d", os.O_RDONLY, dir_fd=fds[-1]))
        os.unlink(leaf, dir_fd=fds[-1])
        for i in range(depth, 0, -1):
            os.close(fds.pop())
            os.rmdir("d", dir_fd=fds[i - 1])
    finally:
        for fd in fds:
            os.close(fd)


def make_deep_chain(top: Path, depth: int, leaf: str, data: bytes) -> None:
    """Write ``top/d/d/.../leaf`` (``depth`` levels), one relative mkdir/open at a time: the
    whole path is too long for one system call."""
    fd = os.open(top, os.O_RDONLY)
    try:
        for _ in range(depth):
            os.mkdir("d", dir_fd=fd)
            new = os.open("d", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = new
        out = os.open(leaf, os.O_WRONLY | os.O_CREAT, dir_fd=fd)
        os.write(out, data)
        os.close(out)
    finally:
        os.close(fd)
