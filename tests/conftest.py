"""Cheap shared fixtures: a temp DuckDB, the model once per session, tiny article sets.

Fixtures that need ``../shared`` skip with a reason when it is absent, so a fresh clone
without the corpora still passes.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from workbench import Workbench, config

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
    from workbench.nlp import load_model

    return load_model()


@pytest.fixture(scope="session")
def extract_nlp():
    """The extraction pipeline (``workbench.extract.pipeline()``), loaded once."""
    from workbench.extract import pipeline

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
