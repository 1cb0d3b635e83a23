"""Cheap shared fixtures: a temp DuckDB, the model once per session, tiny article sets.

Fixtures that need ``../shared`` skip with a reason when it is absent, so a fresh clone
without the corpora still passes.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from workbench import Workbench
from workbench.base import config

SHARED = config.SHARED_DIR
SEED = config.SAMPLE_DIR / "000_72473b0eed05bfc9.txt"
RU_UA = SHARED / "corpora" / "ru-ua-2022"
REUTERS = SHARED / "corpora" / "reuters21578"
BBC = SHARED / "corpora" / "bbc-news"
STRESS = bool(os.environ.get("WORKBENCH_STRESS"))


def need_shared(*parts: str) -> Path:
    """Path under ../shared, or skip the test with the reason."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs {path} (the ../shared corpora are not present in this checkout)")
    return path


@pytest.fixture(scope="session")
def nlp():
    """The default spaCy pipeline, loaded once."""
    from workbench.nlp.pipeline import load_model

    return load_model()


@pytest.fixture(scope="session")
def extract_nlp():
    """The extraction pipeline (``workbench.nlp.extract.pipeline()``), loaded once."""
    from workbench.nlp.extract import pipeline

    return pipeline()


@pytest.fixture
def wb(tmp_path: Path):
    """A fresh, empty Workbench on a temp DuckDB file."""
    w = Workbench(tmp_path / "t.duckdb")
    yield w
    w.close()


@pytest.fixture
def seed_dir(tmp_path: Path) -> Path:
    d = tmp_path / "seed"
    d.mkdir()
    shutil.copy(SEED, d / SEED.name)
    return d


def write_seed_article(folder: Path, name: str, date: str, body: str) -> Path:
    """Write one article in the seed format."""
    p = folder / name
    p.write_text(f" date {date} {body}", encoding="utf-8")
    return p


@pytest.fixture
def tiny_articles(tmp_path: Path) -> Path:
    """Three small, valid seed-format articles."""
    d = tmp_path / "tiny"
    d.mkdir()
    write_seed_article(
        d,
        "a.txt",
        "2022-03-01",
        "Ukrainian President Volodymyr Zelenskyy "
        "spoke with Joe Biden in Kyiv about sanctions on Russia.",
    )
    write_seed_article(
        d,
        "b.txt",
        "2022-03-02",
        "The Kremlin said Vladimir Putin met "
        'Chinese officials in Moscow. "We want peace," Putin said.',
    )
    write_seed_article(
        d,
        "c.txt",
        "2022-04-10",
        "Oil prices rose as OPEC cut output and traders in London watched Saudi Arabia.",
    )
    return d


@pytest.fixture(scope="session")
def seed_wb(tmp_path_factory: pytest.TempPathFactory):
    """The seed article ingested and analysed (all stages), read-write, once per session."""
    w = Workbench(tmp_path_factory.mktemp("seed") / "seed.duckdb")
    w.ingest([SEED], progress=False)
    w.analyze(progress=False)
    yield w
    w.close()


@pytest.fixture(scope="session")
def ru_ua_wb(tmp_path_factory: pytest.TempPathFactory):
    """A sample of the four 2022 Russia-Ukraine corpora (25 rows each), analysed."""
    if not RU_UA.exists():
        pytest.skip(f"needs {RU_UA} (the ../shared corpora are not present)")
    w = Workbench(tmp_path_factory.mktemp("ruua") / "ruua.duckdb")
    for csv_path in sorted(RU_UA.glob("*.csv")):
        w.ingest([csv_path], limit=25, progress=False)
    w.analyze(progress=False)
    yield w
    w.close()


def _tokenise(text: str) -> str:
    """Spaces around punctuation, as some exports store their ``content`` column."""
    import re

    return re.sub(r"([,.;:!?’'()])", r" \1 ", text)


@pytest.fixture(scope="session")
def guardian_json_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Guardian Russia-Ukraine articles as a folder of pretty-printed JSON files, one
    article each (the common export shape): ``source, date, title, content`` (tokenised),
    ``content_original`` (the untokenised text) and a list field, spread over 3 outlets."""
    import csv
    import json

    path = need_shared("corpora", "ru-ua-2022", "Guardians_Russia_Ukraine.csv")
    out = tmp_path_factory.mktemp("export") / "articles"
    out.mkdir()
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    outlets = ["The Guardian", "The Observer", "Guardian Weekly"]
    for i, r in enumerate(rows):
        record = {
            "source": outlets[i % 3],
            "date": r["published"],
            "title": r["headlines"],
            "content": _tokenise(r["articles"]),
            "content_original": r["articles"],
            "authors": ["staff"],
        }
        (out / f"{i:04d}.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
    return out


_OUTLET_WORDS = (
    "Daily Evening Morning Weekly Sunday National Citizen Herald Tribune Courier Gazette "
    "Ledger Post Times Star Chronicle Observer Record Journal Sentinel Examiner Monitor"
).split()


def outlet_names(n: int) -> list[str]:
    """``n`` distinct generated outlet names ("The Morning Ledger", "Star Courier 2", …)."""
    names: list[str] = []
    i = 0
    while len(names) < n:
        a, b = (
            _OUTLET_WORDS[i % len(_OUTLET_WORDS)],
            _OUTLET_WORDS[(i * 7 + 3) % len(_OUTLET_WORDS)],
        )
        name = f"The {a} {b}" if a != b else f"{a} News"
        if i >= len(_OUTLET_WORDS) ** 2 // 2:
            name += f" {i}"
        if name not in names:
            names.append(name)
        i += 1
    return names


@pytest.fixture(scope="session")
def outlets_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Reuters-21578 articles spread over 110 generated outlets with a heavy-tailed size
    (Zipf-like: a few large outlets, a long tail of small ones), as one JSON array file with
    per-article outlet metadata (country, type, partisanship)."""
    import json
    import random

    from workbench.ingest.load import Article, load_reuters

    path = need_shared("corpora", "reuters21578", "reut2-000.sgm")
    arts = [a for a in load_reuters(path, config_limits()) if isinstance(a, Article)][:240]
    names = outlet_names(110)
    weights = [1 / (r + 1) ** 1.1 for r in range(len(names))]
    rng = random.Random(18)
    picks = rng.choices(range(len(names)), weights=weights, k=len(arts))
    picks[: len(names)] = range(len(names))  # every outlet has at least one article
    rng.shuffle(picks)
    kinds, leanings = ("newspaper", "broadcaster", "wire", "online"), ("left", "centre", "right")
    records = [
        {
            "source": names[o],
            "date": a.date.isoformat(),
            "title": a.title,
            "text": a.text,
            "outlet_country": ("USA", "GBR", "CAN", "AUS")[o % 4],
            "outlet_type": kinds[o % len(kinds)],
            "partisanship": leanings[o % 3],
        }
        for a, o in zip(arts, picks, strict=True)
    ]
    out = tmp_path_factory.mktemp("outlets") / "outlets.json"
    out.write_text(json.dumps(records, indent=1), encoding="utf-8")
    return out


def config_limits():
    from workbench.ingest.load import Limits

    return Limits()


@pytest.fixture(scope="session")
def outlets_wb(tmp_path_factory: pytest.TempPathFactory, outlets_export: Path):
    """``outlets_export`` ingested and analysed (all stages): a 110-outlet corpus."""
    w = Workbench(tmp_path_factory.mktemp("outlets_db") / "outlets.duckdb")
    w.ingest([outlets_export], progress=False)
    w.analyze(progress=False)
    yield w
    w.close()


def write_jsonl(path: Path, rows: list[dict[str, str]]) -> Path:
    """``rows`` as a JSON Lines file at ``path``."""
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def story_of_url(wb, key: str) -> str:
    """The story id of the article whose url is ``https://x.test/{key}``."""
    return wb.sql(
        "SELECT c.story_id FROM story_clusters c JOIN articles a USING (article_id) "
        "WHERE a.url = ?",
        [f"https://x.test/{key}"],
    ).iloc[0, 0]


def storied_wb(folder: Path, rows: list[dict[str, str]]) -> Workbench:
    """A Workbench in ``folder`` with ``rows`` ingested and its stories found."""
    w = Workbench(folder / "w.duckdb")
    w.ingest([write_jsonl(folder / "w.jsonl", rows)], progress=False)
    w.stories(progress=False)
    return w
